// SPDX-License-Identifier: MIT
/*
 * DPDK's rte_ring (Debian libdpdk-dev) as two benchmark adapters: the classic multi-producer ring
 * (MP enqueue, SC dequeue) and its RTS mode (Relaxed Tail Sync: RING_F_MP_RTS_ENQ, SC dequeue).
 * Messages go through the _elem API with esize = msg_size (8 or 64 bytes: multiples of 4).
 *
 * No EAL: the ring lives in memory we allocate (rte_ring_get_memsize_elem) and is set up with
 * rte_ring_init, which only fills in the header; enqueue and dequeue are inline functions that use
 * nothing from EAL. RING_F_EXACT_SZ makes the capacity exactly what the benchmark asks for (the
 * ring itself is then the next power of two above it).
 *
 * No blocking: a producer facing a full ring spins with a pause; the consumer spins with a pause.
 * Inside an MP enqueue a producer also waits (rte_wait_until_equal_32, spinning with rte_pause) for
 * every producer that claimed before it to update the tail: that wait is DPDK's, not ours, and is
 * where a preempted producer stalls the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_version.h>

#include "perf/bench_queue.h"

struct dpdk_queue {
	struct rte_ring *ring;
	unsigned int esize;
	bool rts;
};

const char *bench_dpdk_version(void);
const char *bench_dpdk_version(void)
{
	return rte_version();
}

static int dpdk_create_mode(size_t capacity, size_t msg_size, bool rts, void **out)
{
	struct dpdk_queue *queue;
	unsigned int flags = RING_F_SC_DEQ | RING_F_EXACT_SZ | (rts ? RING_F_MP_RTS_ENQ : 0);
	unsigned int ring_size;
	ssize_t bytes;
	int err;

	if (msg_size % 4 != 0 || capacity == 0 || capacity >= (1u << 30)) {
		fprintf(stderr, "rte_ring: message size %zu is not a multiple of 4\n", msg_size);
		return -1;
	}
	/* What rte_ring_create_elem does for RING_F_EXACT_SZ: room for count + 1, rounded up. */
	ring_size = rte_align32pow2((unsigned int)capacity + 1);
	bytes = rte_ring_get_memsize_elem((unsigned int)msg_size, ring_size);
	if (bytes < 0) {
		fprintf(stderr, "rte_ring_get_memsize_elem(%zu, %u): %zd\n", msg_size, ring_size,
		        bytes);
		return -1;
	}
	queue = calloc(1, sizeof(*queue));
	if (!queue)
		return -1;
	queue->esize = (unsigned int)msg_size;
	queue->rts = rts;
	queue->ring =
	    aligned_alloc(RTE_CACHE_LINE_SIZE * 2, ((size_t)bytes + RTE_CACHE_LINE_SIZE * 2 - 1) &
	                                               ~(size_t)(RTE_CACHE_LINE_SIZE * 2 - 1));
	if (!queue->ring) {
		free(queue);
		return -1;
	}
	memset(queue->ring, 0, (size_t)bytes);
	err = rte_ring_init(queue->ring, rts ? "bench_rts" : "bench_mp", (unsigned int)capacity,
	                    flags);
	if (err != 0) {
		fprintf(stderr, "rte_ring_init(%zu, flags %#x): %d\n", capacity, flags, err);
		free(queue->ring);
		free(queue);
		return -1;
	}
	*out = queue;
	return 0;
}

static int dpdk_mp_create(size_t capacity, size_t msg_size, int producers, void **out)
{
	(void)producers;
	return dpdk_create_mode(capacity, msg_size, false, out);
}

static int dpdk_rts_create(size_t capacity, size_t msg_size, int producers, void **out)
{
	(void)producers;
	return dpdk_create_mode(capacity, msg_size, true, out);
}

static void dpdk_destroy(void *opaque)
{
	struct dpdk_queue *queue = opaque;

	if (!queue)
		return;
	free(queue->ring);
	free(queue);
}

static int dpdk_mp_send(void *opaque, void *producer, const void *msg, const atomic_bool *stop)
{
	struct dpdk_queue *queue = opaque;

	(void)producer;
	/* rte_ring_mp_enqueue_elem takes a non-const pointer but only reads it. */
	while (rte_ring_mp_enqueue_elem(queue->ring, (void *)(uintptr_t)msg, queue->esize) != 0) {
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return -1;
		bench_pause();
	}
	return 0;
}

static int dpdk_rts_send(void *opaque, void *producer, const void *msg, const atomic_bool *stop)
{
	struct dpdk_queue *queue = opaque;

	(void)producer;
	while (rte_ring_mp_rts_enqueue_bulk_elem(queue->ring, msg, queue->esize, 1, NULL) == 0) {
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return -1;
		bench_pause();
	}
	return 0;
}

static bool dpdk_try_recv(void *opaque, void *msg)
{
	struct dpdk_queue *queue = opaque;

	return rte_ring_sc_dequeue_elem(queue->ring, msg, queue->esize) == 0;
}

static void dpdk_wake_all(void *opaque)
{
	(void)opaque; /* nobody sleeps */
}

static void dpdk_extra(void *opaque, uint64_t messages, struct bench_extra *out)
{
	struct dpdk_queue *queue = opaque;

	(void)messages;
	bench_extra_add(out, "ring_size", (double)rte_ring_get_size(queue->ring));
	bench_extra_add(out, "ring_capacity", (double)rte_ring_get_capacity(queue->ring));
}

const struct bench_impl bench_dpdk_mp = {
	.name = "dpdk_mp",
	.summary = "DPDK rte_ring, MP enqueue / SC dequeue, _elem API, rte_ring_init on our memory "
	           "(no EAL)",
	.producer_wait = "rte_ring_mp_enqueue_elem in a loop, one pause after each failure (never "
	                 "sleeps); inside, DPDK spins until earlier producers update the tail",
	.consumer_spin_wait = "rte_ring_sc_dequeue_elem in a loop, one pause after each failure",
	.consumer_block_wait = NULL,
	.bounded = true,
	.create = dpdk_mp_create,
	.destroy = dpdk_destroy,
	.send = dpdk_mp_send,
	.try_recv = dpdk_try_recv,
	.wake_all = dpdk_wake_all,
	.extra = dpdk_extra,
};

const struct bench_impl bench_dpdk_rts = {
	.name = "dpdk_rts",
	.summary = "DPDK rte_ring in RTS mode (RING_F_MP_RTS_ENQ) / SC dequeue, _elem API, "
	           "rte_ring_init on our memory (no EAL)",
	.producer_wait = "rte_ring_mp_rts_enqueue_bulk_elem(n=1) in a loop, one pause after each "
	                 "failure (never sleeps); RTS lets the last producer out move the tail",
	.consumer_spin_wait = "rte_ring_sc_dequeue_elem in a loop, one pause after each failure",
	.consumer_block_wait = NULL,
	.bounded = true,
	.create = dpdk_rts_create,
	.destroy = dpdk_destroy,
	.send = dpdk_rts_send,
	.try_recv = dpdk_try_recv,
	.wake_all = dpdk_wake_all,
	.extra = dpdk_extra,
};
