// SPDX-License-Identifier: MIT
/*
 * Concurrency Kit's ck_ring (Debian libck-dev 0.7.1) as a benchmark adapter, in its MPSC mode:
 * producers ck_ring_enqueue_mpsc_<type>, the one consumer ck_ring_dequeue_mpsc_<type>.
 *
 * Messages are copied into the ring's slots: CK_RING_PROTOTYPE(name, type) generates the typed
 * interface whose slots are `struct type` values, so an 8- or 64-byte message is one fixed-size
 * memcpy in and one out, like every other bounded peer (not a pointer to a separately allocated
 * message, which is what the untyped ck_ring_buffer_t interface carries).
 *
 * Dequeue: ck_ring_dequeue_mpsc_<type>. It is _ck_ring_dequeue_sc, the same code as the spsc
 * dequeue: the single consumer owns c_head, so it needs no CAS (trydequeue_mpmc would add one that
 * one consumer never needs, the Vyukov-vs-DPDK-SC difference). It is correct with many producers
 * because an MP enqueue publishes by moving p_tail strictly in ticket order, after its copy and a
 * store fence (_ck_ring_enqueue_mp waits for p_tail == its ticket first), so every slot below the
 * p_tail the consumer loads is complete. The mpsc name is the one whose contract ("any number of
 * producers with up to one concurrent consumer") is this use; the spsc one promises correctness
 * only with a single producer, even though it compiles to the same instructions.
 *
 * Capacity: ck_ring's size must be a power of two and the ring holds size - 1 entries (the MP
 * enqueue fails once producer - consumer reaches the mask). The ring is created with size =
 * the benchmark's capacity, so it holds capacity - 1 messages (63 or 1023): one fewer than asked
 * rather than twice as many (size 2 x capacity would hold 127 or 2047 and change the full-queue
 * behaviour the capacity column stands for).
 *
 * No blocking: ck has none. A producer facing a full ring pauses and retries; the consumer pauses
 * after each empty attempt; blocking mode is n/a. Inside the MP enqueue, after winning the CAS on
 * p_head and copying, a producer spins (ck_pr_stall, no way out) until every earlier producer has
 * moved p_tail: a producer preempted between its reserve and its publish holds up all later
 * producers and the consumer. With 8 producers on 2 CPUs that can stop progress for seconds; the
 * harness's watchdog reports it as "stalled", which is ck_ring's result, not something to work
 * around here. The stop flag cannot reach that inner wait: such a producer leaves when the one it
 * waits for gets a CPU again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_ring.h>

#include "perf/bench_queue.h"

#define CACHELINE 64

/* The two message sizes the benchmark uses; each gets its own typed ring interface. */
struct ck_msg8 {
	unsigned char bytes[8];
};
struct ck_msg64 {
	unsigned char bytes[64];
};

CK_RING_PROTOTYPE(msg8, ck_msg8)
CK_RING_PROTOTYPE(msg64, ck_msg64)

struct ck_queue {
	/* ck_ring pads c_head and p_tail/p_head onto cache lines of their own if it is aligned. */
	_Alignas(CACHELINE) ck_ring_t ring;
	_Alignas(CACHELINE) void *slots; /* capacity slots of struct ck_msg8 or ck_msg64 */
	size_t msg_size;
};

static int ck_create(size_t capacity, size_t msg_size, int producers, void **out)
{
	struct ck_queue *queue;

	(void)producers;
	if (msg_size != sizeof(struct ck_msg8) && msg_size != sizeof(struct ck_msg64)) {
		fprintf(stderr, "ck_ring: message size %zu has no typed ring (8 or 64 only)\n",
		        msg_size);
		return -1;
	}
	if (capacity < 2 || capacity > (1u << 30) || (capacity & (capacity - 1)) != 0) {
		fprintf(stderr, "ck_ring: capacity %zu is not a power of two\n", capacity);
		return -1;
	}
	queue = aligned_alloc(CACHELINE, sizeof(*queue));
	if (!queue)
		return -1;
	memset(queue, 0, sizeof(*queue));
	queue->msg_size = msg_size;
	queue->slots = aligned_alloc(CACHELINE, capacity * msg_size);
	if (!queue->slots) {
		free(queue);
		return -1;
	}
	memset(queue->slots, 0, capacity * msg_size);
	ck_ring_init(&queue->ring, (unsigned int)capacity);
	*out = queue;
	return 0;
}

static void ck_destroy(void *opaque)
{
	struct ck_queue *queue = opaque;

	if (!queue)
		return;
	free(queue->slots);
	free(queue);
}

static bool ck_try_send(struct ck_queue *queue, const void *msg)
{
	/* The typed enqueue takes a non-const pointer but only reads it (memcpy from it). */
	void *entry = (void *)(uintptr_t)msg;

	if (queue->msg_size == sizeof(struct ck_msg8))
		return ck_ring_enqueue_mpsc_msg8(&queue->ring, queue->slots, entry);
	return ck_ring_enqueue_mpsc_msg64(&queue->ring, queue->slots, entry);
}

static int ck_send(void *opaque, void *producer, const void *msg, const atomic_bool *stop)
{
	struct ck_queue *queue = opaque;

	(void)producer;
	while (!ck_try_send(queue, msg)) {
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return -1;
		bench_pause();
	}
	return 0;
}

static bool ck_try_recv(void *opaque, void *msg)
{
	struct ck_queue *queue = opaque;

	if (queue->msg_size == sizeof(struct ck_msg8))
		return ck_ring_dequeue_mpsc_msg8(&queue->ring, queue->slots, msg);
	return ck_ring_dequeue_mpsc_msg64(&queue->ring, queue->slots, msg);
}

static void ck_wake_all(void *opaque)
{
	(void)opaque; /* nobody sleeps */
}

static void ck_extra(void *opaque, uint64_t messages, struct bench_extra *out)
{
	struct ck_queue *queue = opaque;

	(void)messages;
	bench_extra_add(out, "ring_size", (double)ck_ring_capacity(&queue->ring));
	bench_extra_add(out, "ring_capacity", (double)(ck_ring_capacity(&queue->ring) - 1));
}

const struct bench_impl bench_ck_ring = {
	.name = "ck_ring",
	.summary = "Concurrency Kit ck_ring (libck-dev 0.7.1), MPSC, typed CK_RING_PROTOTYPE slots "
	           "(messages copied in); ring size = capacity, so it holds capacity - 1 messages",
	.producer_wait =
	    "ck_ring_enqueue_mpsc_<type> in a loop, one pause after each failure (never "
	    "sleeps); inside, ck spins until earlier producers have moved p_tail",
	.consumer_spin_wait =
	    "ck_ring_dequeue_mpsc_<type> (single-consumer, no CAS) in a loop, one "
	    "pause after each failure",
	.consumer_block_wait = NULL,
	.bounded = true,
	.create = ck_create,
	.destroy = ck_destroy,
	.send = ck_send,
	.try_recv = ck_try_recv,
	.wake_all = ck_wake_all,
	.extra = ck_extra,
};
