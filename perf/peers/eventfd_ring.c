// SPDX-License-Identifier: MIT
/*
 * A lock-free ring signalled through eventfds: the common "queue plus a file descriptor to sleep
 * on" design (what an epoll loop would wait on). The ring is the Vyukov queue (vyukov_queue.c);
 * one eventfd wakes the consumer when data arrives, a second one (EFD_SEMAPHORE) wakes producers
 * when room appears.
 *
 * Sleeping is the symmetric Dekker handshake: each side announces itself with a seq_cst store or
 * RMW and re-checks; each fast path pays a full fence (mfence) before reading the other side's
 * flag, and a write(2) only when someone sleeps. (The helix channel makes the fast-path half of
 * this fence a compiler barrier and moves the cost to the sleeper with membarrier(2).) No spinning
 * before sleeping on either side.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "perf/bench_queue.h"
#include "perf/peers/vyukov_queue.h"

#define CACHELINE 64

struct eventfd_ring {
	struct vyukov_queue *ring;
	int data_fd;  /* the consumer sleeps in read() */
	int space_fd; /* producers sleep in read(); semaphore mode: one write wakes one */
	_Alignas(CACHELINE) atomic_uint consumer_waiting;
	_Alignas(CACHELINE) atomic_uint space_waiters;
};

static void fd_post(int fd, uint64_t value)
{
	/* Only EAGAIN (counter at its maximum) can fail here, and then a reader is awake anyway. */
	if (write(fd, &value, sizeof(value)) != sizeof(value))
		return;
}

static void fd_wait(int fd)
{
	uint64_t value;

	/* EINTR or a spurious return: the caller re-checks. */
	if (read(fd, &value, sizeof(value)) != sizeof(value))
		return;
}

static int efd_create(size_t capacity, size_t msg_size, int producers, void **out)
{
	struct eventfd_ring *queue = aligned_alloc(CACHELINE, sizeof(struct eventfd_ring));

	(void)producers;
	if (!queue)
		return -1;
	queue->ring = vyukov_queue_create(capacity, msg_size);
	queue->data_fd = eventfd(0, EFD_CLOEXEC);
	queue->space_fd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	atomic_init(&queue->consumer_waiting, 0);
	atomic_init(&queue->space_waiters, 0);
	if (!queue->ring || queue->data_fd < 0 || queue->space_fd < 0) {
		fprintf(stderr, "eventfd ring: create failed\n");
		vyukov_queue_destroy(queue->ring);
		if (queue->data_fd >= 0)
			close(queue->data_fd);
		if (queue->space_fd >= 0)
			close(queue->space_fd);
		free(queue);
		return -1;
	}
	*out = queue;
	return 0;
}

static void efd_destroy(void *opaque)
{
	struct eventfd_ring *queue = opaque;

	vyukov_queue_destroy(queue->ring);
	close(queue->data_fd);
	close(queue->space_fd);
	free(queue);
}

static int efd_send(void *opaque, void *producer, const void *msg, const atomic_bool *stop)
{
	struct eventfd_ring *queue = opaque;

	(void)producer;
	while (!vyukov_queue_try_enqueue(queue->ring, msg)) {
		bool sent;

		/* seq_cst RMW: announce, then re-check (pairs with the fence in notify_space). */
		atomic_fetch_add(&queue->space_waiters, 1);
		sent = vyukov_queue_try_enqueue(queue->ring, msg);
		if (!sent && !atomic_load(stop))
			fd_wait(queue->space_fd);
		atomic_fetch_sub(&queue->space_waiters, 1);
		if (sent)
			break;
		if (atomic_load(stop))
			return -1;
	}
	/* Publish, then look for a sleeping consumer: a full fence (pairs with its seq_cst store).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&queue->consumer_waiting, memory_order_relaxed) &&
	    atomic_exchange(&queue->consumer_waiting, 0))
		fd_post(queue->data_fd, 1);
	return 0;
}

static void notify_space(struct eventfd_ring *queue)
{
	/* A slot was freed, then look for sleeping producers: a full fence (pairs with their RMW).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&queue->space_waiters, memory_order_relaxed))
		fd_post(queue->space_fd, 1);
}

static bool efd_try_recv(void *opaque, void *msg)
{
	struct eventfd_ring *queue = opaque;

	if (!vyukov_queue_try_dequeue(queue->ring, msg))
		return false;
	notify_space(queue);
	return true;
}

static int efd_recv(void *opaque, void *msg, const atomic_bool *stop)
{
	struct eventfd_ring *queue = opaque;

	for (;;) {
		bool taken;

		if (efd_try_recv(queue, msg))
			return 0;
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return -1;
		atomic_store(&queue->consumer_waiting, 1); /* seq_cst: before the re-check */
		taken = vyukov_queue_try_dequeue(queue->ring, msg);
		if (!taken)
			fd_wait(queue->data_fd);
		atomic_store(&queue->consumer_waiting, 0);
		if (taken) {
			notify_space(queue);
			return 0;
		}
	}
}

static void efd_wake_all(void *opaque)
{
	struct eventfd_ring *queue = opaque;

	fd_post(queue->data_fd, 1);
	fd_post(queue->space_fd, 1u << 20); /* a permit for every sleeping producer */
}

const struct bench_impl bench_eventfd_ring = {
	.name = "eventfd_ring",
	.summary = "Vyukov ring + eventfd(2) wakeups (data: plain, space: EFD_SEMAPHORE), "
	           "full fences on the fast paths",
	.producer_wait = "when full: announce (seq_cst RMW), re-try, then read(space eventfd) at "
	                 "once (no spinning); every send pays one mfence to check for a sleeper",
	.consumer_spin_wait = "try_dequeue in a loop, one pause after each failure (each take pays "
	                      "one mfence to check for sleeping producers)",
	.consumer_block_wait = "announce (seq_cst store), re-try, then read(data eventfd) at once "
	                       "(no spinning)",
	.bounded = true,
	.create = efd_create,
	.destroy = efd_destroy,
	.send = efd_send,
	.try_recv = efd_try_recv,
	.recv = efd_recv,
	.wake_all = efd_wake_all,
};
