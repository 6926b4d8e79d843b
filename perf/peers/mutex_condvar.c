// SPDX-License-Identifier: MIT
/*
 * The textbook blocking queue: a ring of fixed-size messages under one pthread mutex, with two
 * condition variables (not full, not empty). Signals are sent only when the other side has a
 * waiter (counted under the mutex), and after unlocking. No spinning before sleeping.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/bench_queue.h"

struct mutex_ring {
	pthread_mutex_t lock;
	pthread_cond_t not_full;
	pthread_cond_t not_empty;
	unsigned char *slots;
	size_t capacity;
	size_t msg_size;
	size_t head; /* next to take */
	size_t count;
	int senders_waiting;
	int receiver_waiting;
	bool stopped;
};

static int mutex_create(size_t capacity, size_t msg_size, int producers, void **out)
{
	struct mutex_ring *ring = calloc(1, sizeof(*ring));

	(void)producers;
	if (!ring)
		return -1;
	ring->slots = calloc(capacity, msg_size);
	if (!ring->slots) {
		free(ring);
		return -1;
	}
	ring->capacity = capacity;
	ring->msg_size = msg_size;
	pthread_mutex_init(&ring->lock, NULL);
	pthread_cond_init(&ring->not_full, NULL);
	pthread_cond_init(&ring->not_empty, NULL);
	*out = ring;
	return 0;
}

static void mutex_destroy(void *opaque)
{
	struct mutex_ring *ring = opaque;

	pthread_cond_destroy(&ring->not_full);
	pthread_cond_destroy(&ring->not_empty);
	pthread_mutex_destroy(&ring->lock);
	free(ring->slots);
	free(ring);
}

static int mutex_send(void *opaque, void *producer, const void *msg, const atomic_bool *stop)
{
	struct mutex_ring *ring = opaque;
	size_t tail;
	bool wake;

	(void)producer;
	(void)stop; /* ring->stopped, set under the lock by wake_all */
	pthread_mutex_lock(&ring->lock);
	while (ring->count == ring->capacity && !ring->stopped) {
		ring->senders_waiting++;
		pthread_cond_wait(&ring->not_full, &ring->lock);
		ring->senders_waiting--;
	}
	if (ring->stopped) {
		pthread_mutex_unlock(&ring->lock);
		return -1;
	}
	tail = ring->head + ring->count;
	if (tail >= ring->capacity)
		tail -= ring->capacity;
	memcpy(ring->slots + tail * ring->msg_size, msg, ring->msg_size);
	ring->count++;
	wake = ring->receiver_waiting;
	pthread_mutex_unlock(&ring->lock);
	if (wake)
		pthread_cond_signal(&ring->not_empty);
	return 0;
}

/* Under the lock, with count > 0. Returns whether a sender waits. */
static bool take_locked(struct mutex_ring *ring, void *msg)
{
	memcpy(msg, ring->slots + ring->head * ring->msg_size, ring->msg_size);
	ring->head = ring->head + 1 == ring->capacity ? 0 : ring->head + 1;
	ring->count--;
	return ring->senders_waiting > 0;
}

static bool mutex_try_recv(void *opaque, void *msg)
{
	struct mutex_ring *ring = opaque;
	bool wake;

	pthread_mutex_lock(&ring->lock);
	if (ring->count == 0) {
		pthread_mutex_unlock(&ring->lock);
		return false;
	}
	wake = take_locked(ring, msg);
	pthread_mutex_unlock(&ring->lock);
	if (wake)
		pthread_cond_signal(&ring->not_full);
	return true;
}

static int mutex_recv(void *opaque, void *msg, const atomic_bool *stop)
{
	struct mutex_ring *ring = opaque;
	bool wake;

	(void)stop;
	pthread_mutex_lock(&ring->lock);
	while (ring->count == 0 && !ring->stopped) {
		ring->receiver_waiting = 1;
		pthread_cond_wait(&ring->not_empty, &ring->lock);
		ring->receiver_waiting = 0;
	}
	if (ring->count == 0) {
		pthread_mutex_unlock(&ring->lock);
		return -1;
	}
	wake = take_locked(ring, msg);
	pthread_mutex_unlock(&ring->lock);
	if (wake)
		pthread_cond_signal(&ring->not_full);
	return 0;
}

static void mutex_wake_all(void *opaque)
{
	struct mutex_ring *ring = opaque;

	pthread_mutex_lock(&ring->lock);
	ring->stopped = true;
	pthread_mutex_unlock(&ring->lock);
	pthread_cond_broadcast(&ring->not_full);
	pthread_cond_broadcast(&ring->not_empty);
}

const struct bench_impl bench_mutex_condvar = {
	.name = "mutex_condvar",
	.summary = "ring under one pthread mutex, condition variables for not-full / not-empty",
	.producer_wait = "pthread_cond_wait(not_full) at once when full (no spinning)",
	.consumer_spin_wait = "lock, check, unlock in a loop, one pause after each empty check",
	.consumer_block_wait = "pthread_cond_wait(not_empty) at once when empty (no spinning)",
	.bounded = true,
	.create = mutex_create,
	.destroy = mutex_destroy,
	.send = mutex_send,
	.try_recv = mutex_try_recv,
	.recv = mutex_recv,
	.wake_all = mutex_wake_all,
};
