// SPDX-License-Identifier: MIT
/*
 * Vyukov's bounded MPMC queue (see vyukov_queue.h). Each cell carries a sequence number: for
 * position p in cell p & mask, seq == p means "free for p's producer", seq == p + 1 "holds p's
 * message", seq == p + capacity "free for the producer of the next lap". Producers and consumers
 * claim positions with a CAS on their own counter, which live on separate cache lines.
 */
#include "perf/peers/vyukov_queue.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CACHELINE 64

struct cell {
	_Atomic size_t seq;
	unsigned char data[];
};

struct vyukov_queue {
	unsigned char *cells;
	size_t mask;
	size_t msg_size;
	size_t stride;
	_Alignas(CACHELINE) _Atomic size_t enqueue_pos;
	_Alignas(CACHELINE) _Atomic size_t dequeue_pos;
	_Alignas(CACHELINE) char pad;
};

static inline struct cell *cell_at(const struct vyukov_queue *queue, size_t pos)
{
	return (struct cell *)(queue->cells + (pos & queue->mask) * queue->stride);
}

/* The same copy as ipc/channel.c's copy_message: fixed sizes become single moves. */
static inline void copy_message(void *dst, const void *src, size_t size)
{
	switch (size) {
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	case 32:
		memcpy(dst, src, 32);
		break;
	case 64:
		memcpy(dst, src, 64);
		break;
	default:
		memcpy(dst, src, size);
		break;
	}
}

struct vyukov_queue *vyukov_queue_create(size_t capacity, size_t msg_size)
{
	struct vyukov_queue *queue;

	if (capacity < 2 || (capacity & (capacity - 1)) != 0 || msg_size == 0)
		return NULL;
	queue = aligned_alloc(CACHELINE, sizeof(*queue));
	if (!queue)
		return NULL;
	memset(queue, 0, sizeof(*queue));
	/* The channel's stride: an 8-byte sequence number, the message, rounded up to 8 bytes. */
	queue->stride = (sizeof(struct cell) + msg_size + 7) & ~(size_t)7;
	queue->mask = capacity - 1;
	queue->msg_size = msg_size;
	queue->cells = aligned_alloc(CACHELINE, (capacity * queue->stride + CACHELINE - 1) &
	                                            ~(size_t)(CACHELINE - 1));
	if (!queue->cells) {
		free(queue);
		return NULL;
	}
	for (size_t i = 0; i < capacity; i++)
		atomic_init(&cell_at(queue, i)->seq, i);
	atomic_init(&queue->enqueue_pos, 0);
	atomic_init(&queue->dequeue_pos, 0);
	return queue;
}

void vyukov_queue_destroy(struct vyukov_queue *queue)
{
	if (!queue)
		return;
	free(queue->cells);
	free(queue);
}

bool vyukov_queue_try_enqueue(struct vyukov_queue *queue, const void *msg)
{
	/* Relaxed: a guess until the CAS; the cell's seq orders the data. */
	size_t pos = atomic_load_explicit(&queue->enqueue_pos, memory_order_relaxed);
	struct cell *cell;

	for (;;) {
		intptr_t dif;

		cell = cell_at(queue, pos);
		/* Acquire: pairs with the consumer's release store that freed the cell. */
		dif = (intptr_t)atomic_load_explicit(&cell->seq, memory_order_acquire) -
		      (intptr_t)pos;
		if (dif == 0) {
			/* Relaxed: the CAS only decides who owns the position. */
			if (atomic_compare_exchange_weak_explicit(&queue->enqueue_pos, &pos,
			                                          pos + 1, memory_order_relaxed,
			                                          memory_order_relaxed))
				break;
		} else if (dif < 0) {
			return false; /* full */
		} else {
			pos = atomic_load_explicit(&queue->enqueue_pos, memory_order_relaxed);
		}
	}
	copy_message(cell->data, msg, queue->msg_size);
	/* Release: pairs with the consumer's acquire load; the message is visible first. */
	atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
	return true;
}

bool vyukov_queue_try_dequeue(struct vyukov_queue *queue, void *msg)
{
	size_t pos = atomic_load_explicit(&queue->dequeue_pos, memory_order_relaxed);
	struct cell *cell;

	for (;;) {
		intptr_t dif;

		cell = cell_at(queue, pos);
		/* Acquire: pairs with the producer's release publish. */
		dif = (intptr_t)atomic_load_explicit(&cell->seq, memory_order_acquire) -
		      (intptr_t)(pos + 1);
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&queue->dequeue_pos, &pos,
			                                          pos + 1, memory_order_relaxed,
			                                          memory_order_relaxed))
				break;
		} else if (dif < 0) {
			return false; /* empty, or the producer of pos is still copying */
		} else {
			pos = atomic_load_explicit(&queue->dequeue_pos, memory_order_relaxed);
		}
	}
	copy_message(msg, cell->data, queue->msg_size);
	/* Release: pairs with the next lap's producer's acquire load; our read is done. */
	atomic_store_explicit(&cell->seq, pos + queue->mask + 1, memory_order_release);
	return true;
}

size_t vyukov_queue_msg_size(const struct vyukov_queue *queue)
{
	return queue->msg_size;
}
