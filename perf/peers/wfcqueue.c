// SPDX-License-Identifier: MIT
/*
 * liburcu's wait-free concurrent queue (urcu/wfcqueue.h, cds_wfcq_*) as a benchmark adapter.
 * Called through liburcu-common.so (no _LGPL_SOURCE inlining: the benchmark stays MIT).
 *
 * Unbounded: the benchmark's capacity is ignored and a producer never waits for room. A message
 * needs a node; each producer takes nodes from its own preallocated pool (a ring, touched before
 * timing starts), sized for every message it sends up to 2^18 nodes, so in practice each node is
 * used once and no malloc or free runs while timing. The consumer copies the message out of the
 * node and marks the node free; a producer that wraps around its pool onto a node the consumer has
 * not taken yet spins (counted as pool_waits_per_msg; zero unless noted).
 *
 * Dequeue: __cds_wfcq_dequeue_nonblocking (one consumer, so no dequeue lock). It returns
 * CDS_WFCQ_WOULDBLOCK when a producer has swapped the tail but not yet linked its node; the
 * consumer pauses and retries. (The library's __cds_wfcq_dequeue_blocking would instead retry ten
 * times and then poll() for 10 ms.)
 *
 * Blocking consumer: wfcqueue itself cannot sleep on empty. The adapter adds the eventcount that
 * liburcu's own call_rcu thread uses with this queue: cds_wfcq_enqueue returns false when the queue
 * was empty, and only then does the producer check whether the consumer sleeps and futex-wake it.
 */
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/wfcqueue.h>

#include "perf/bench_queue.h"

#define CACHELINE 64
#define MAX_POOL  (1u << 18)

struct node {
	struct cds_wfcq_node link;
	atomic_uint in_use; /* 1 from the producer's enqueue until the consumer copied it out */
	uint32_t pad;
	unsigned char data[];
};

struct producer_pool {
	unsigned char *nodes;
	size_t count;
	size_t next;
	uint64_t waits;
};

struct wfcq {
	struct __cds_wfcq_head head;
	size_t msg_size;
	size_t stride;
	_Alignas(CACHELINE) struct cds_wfcq_tail tail;
	_Alignas(CACHELINE) atomic_uint consumer_waiting;
	atomic_uint event; /* futex word: bumped for each wake */
	_Alignas(CACHELINE) atomic_ullong pool_waits;
};

static long futex(atomic_uint *word, int op, unsigned int value)
{
	return syscall(SYS_futex, (unsigned int *)word, op, value, NULL, NULL, 0);
}

static int wfcq_create(size_t capacity, size_t msg_size, int producers, void **out)
{
	struct wfcq *queue = aligned_alloc(CACHELINE, sizeof(struct wfcq));

	(void)capacity;
	(void)producers;
	if (!queue)
		return -1;
	memset(queue, 0, sizeof(*queue));
	__cds_wfcq_init(&queue->head, &queue->tail);
	queue->msg_size = msg_size;
	queue->stride = (sizeof(struct node) + msg_size + 7) & ~(size_t)7;
	*out = queue;
	return 0;
}

static void wfcq_destroy(void *opaque)
{
	free(opaque);
}

static void *wfcq_producer_attach(void *opaque, int index, uint64_t messages)
{
	struct wfcq *queue = opaque;
	struct producer_pool *pool = calloc(1, sizeof(*pool));

	(void)index;
	if (!pool)
		return NULL;
	pool->count = messages < 1 ? 1 : messages > MAX_POOL ? MAX_POOL : (size_t)messages;
	pool->nodes = aligned_alloc(CACHELINE, (pool->count * queue->stride + CACHELINE - 1) &
	                                           ~(size_t)(CACHELINE - 1));
	if (!pool->nodes) {
		free(pool);
		return NULL;
	}
	/* Touch every page now, in the producer's thread: no page faults while timing. */
	memset(pool->nodes, 0, pool->count * queue->stride);
	return pool;
}

static void wfcq_producer_detach(void *opaque, void *producer)
{
	struct wfcq *queue = opaque;
	struct producer_pool *pool = producer;

	if (!pool)
		return;
	atomic_fetch_add_explicit(&queue->pool_waits, pool->waits, memory_order_relaxed);
	free(pool->nodes);
	free(pool);
}

static int wfcq_send(void *opaque, void *producer, const void *msg, const atomic_bool *stop)
{
	struct wfcq *queue = opaque;
	struct producer_pool *pool = producer;
	struct node *node = (struct node *)(pool->nodes + pool->next * queue->stride);

	/* Acquire: pairs with the consumer's release store after it copied the message out. */
	if (atomic_load_explicit(&node->in_use, memory_order_acquire)) {
		pool->waits++;
		while (atomic_load_explicit(&node->in_use, memory_order_acquire)) {
			if (atomic_load_explicit(stop, memory_order_relaxed))
				return -1;
			bench_pause();
		}
	}
	pool->next = pool->next + 1 == pool->count ? 0 : pool->next + 1;
	atomic_store_explicit(&node->in_use, 1, memory_order_relaxed);
	memcpy(node->data, msg, queue->msg_size);
	cds_wfcq_node_init(&node->link);
	/* The enqueue's xchg is a full barrier: it publishes the node, and orders it before the
	 * load of consumer_waiting below (the consumer's side: seq_cst store, then cds_wfcq_empty).
	 */
	if (!cds_wfcq_enqueue(&queue->head, &queue->tail, &node->link) &&
	    atomic_load(&queue->consumer_waiting) && atomic_exchange(&queue->consumer_waiting, 0)) {
		atomic_fetch_add(&queue->event, 1);
		futex(&queue->event, FUTEX_WAKE_PRIVATE, 1);
	}
	return 0;
}

/* 1: a message was copied out; 0: empty; -1: a producer is between its xchg and its link. */
static int wfcq_take(struct wfcq *queue, void *msg)
{
	struct cds_wfcq_node *link = __cds_wfcq_dequeue_nonblocking(&queue->head, &queue->tail);
	struct node *node;

	if (link == NULL)
		return 0;
	if (link == CDS_WFCQ_WOULDBLOCK)
		return -1;
	node = caa_container_of(link, struct node, link);
	memcpy(msg, node->data, queue->msg_size);
	/* Release: pairs with the producer's acquire load when it reuses the node. */
	atomic_store_explicit(&node->in_use, 0, memory_order_release);
	return 1;
}

static bool wfcq_try_recv(void *opaque, void *msg)
{
	return wfcq_take(opaque, msg) == 1;
}

static int wfcq_recv(void *opaque, void *msg, const atomic_bool *stop)
{
	struct wfcq *queue = opaque;

	for (;;) {
		int taken = wfcq_take(queue, msg);
		unsigned int event;

		if (taken == 1)
			return 0;
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return -1;
		if (taken < 0) {
			bench_pause(); /* a producer is linking its node: it is running, or will
			                  soon */
			continue;
		}
		event = atomic_load(&queue->event);
		atomic_store(&queue->consumer_waiting, 1); /* seq_cst: before the emptiness check */
		if (cds_wfcq_empty(&queue->head, &queue->tail) &&
		    !atomic_load_explicit(stop, memory_order_relaxed))
			futex(&queue->event, FUTEX_WAIT_PRIVATE, event);
		atomic_store(&queue->consumer_waiting, 0);
	}
}

static void wfcq_wake_all(void *opaque)
{
	struct wfcq *queue = opaque;

	atomic_fetch_add(&queue->event, 1);
	futex(&queue->event, FUTEX_WAKE_PRIVATE, 1);
}

static void wfcq_extra(void *opaque, uint64_t messages, struct bench_extra *out)
{
	struct wfcq *queue = opaque;

	bench_extra_add(out, "pool_waits_per_msg",
	                messages ? (double)atomic_load(&queue->pool_waits) / (double)messages : 0);
}

const struct bench_impl bench_wfcqueue = {
	.name = "wfcqueue",
	.summary = "liburcu wfcqueue (cds_wfcq_*), unbounded, nodes from per-producer preallocated "
	           "pools; capacity ignored",
	.producer_wait = "never waits for room (unbounded); cds_wfcq_enqueue is one xchg",
	.consumer_spin_wait = "__cds_wfcq_dequeue_nonblocking in a loop, one pause after each "
	                      "empty or WOULDBLOCK",
	.consumer_block_wait = "nonblocking dequeue; on empty a futex eventcount (the harness's: "
	                       "producers wake only on the empty -> non-empty edge); pause on "
	                       "WOULDBLOCK",
	.bounded = false,
	.create = wfcq_create,
	.destroy = wfcq_destroy,
	.producer_attach = wfcq_producer_attach,
	.producer_detach = wfcq_producer_detach,
	.send = wfcq_send,
	.try_recv = wfcq_try_recv,
	.recv = wfcq_recv,
	.wake_all = wfcq_wake_all,
	.extra = wfcq_extra,
};
