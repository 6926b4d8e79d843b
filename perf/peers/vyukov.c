// SPDX-License-Identifier: MIT
/*
 * Vyukov's bounded MPMC queue (vyukov_queue.c) used MPSC, as a benchmark adapter: no blocking
 * anywhere. A producer facing a full queue spins with a pause; the consumer spins with a pause.
 */
#include <stdio.h>

#include "perf/bench_queue.h"
#include "perf/peers/vyukov_queue.h"

static int vyukov_create(size_t capacity, size_t msg_size, int producers, void **queue)
{
	(void)producers;
	*queue = vyukov_queue_create(capacity, msg_size);
	if (!*queue) {
		fprintf(stderr, "vyukov_queue_create(%zu, %zu) failed\n", capacity, msg_size);
		return -1;
	}
	return 0;
}

static void vyukov_destroy(void *queue)
{
	vyukov_queue_destroy(queue);
}

static int vyukov_send(void *queue, void *producer, const void *msg, const atomic_bool *stop)
{
	(void)producer;
	while (!vyukov_queue_try_enqueue(queue, msg)) {
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return -1;
		bench_pause();
	}
	return 0;
}

static bool vyukov_try_recv(void *queue, void *msg)
{
	return vyukov_queue_try_dequeue(queue, msg);
}

static void vyukov_wake_all(void *queue)
{
	(void)queue; /* nobody sleeps */
}

const struct bench_impl bench_vyukov = {
	.name = "vyukov",
	.summary = "Vyukov bounded MPMC queue used MPSC (perf/peers/vyukov_queue.c): no blocking",
	.producer_wait = "try_enqueue in a loop, one pause after each failure (never sleeps)",
	.consumer_spin_wait = "try_dequeue in a loop, one pause after each failure",
	.consumer_block_wait = NULL,
	.bounded = true,
	.create = vyukov_create,
	.destroy = vyukov_destroy,
	.send = vyukov_send,
	.try_recv = vyukov_try_recv,
	.wake_all = vyukov_wake_all,
};
