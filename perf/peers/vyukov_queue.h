/* SPDX-License-Identifier: MIT */
/*
 * Dmitry Vyukov's bounded MPMC queue (1024cores.net, "Bounded MPMC queue", 2010), written from the
 * published algorithm for the channel benchmark: the raw-speed reference the channel is compared
 * with. Messages are @msg_size bytes, set at run time, copied exactly as ipc/channel.c copies them
 * (fixed-size moves for 8/16/32/64 bytes), in slots of the same stride, so a comparison measures
 * only what the channel adds (blocking, close, exactly-once under close, statistics).
 *
 * Concurrency guarantee: any number of producers and any number of consumers, concurrently (the
 * benchmark uses one consumer). Neither side ever blocks: try_enqueue fails when full, try_dequeue
 * when empty (or when the next message's producer has claimed but not yet published its slot).
 * Capacity: a power of two.
 */
#ifndef HELIX_PERF_VYUKOV_QUEUE_H
#define HELIX_PERF_VYUKOV_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct vyukov_queue;

/* A queue of @capacity (a power of two >= 2) messages of @msg_size bytes; NULL on a bad argument
 * or when memory runs out. */
struct vyukov_queue *vyukov_queue_create(size_t capacity, size_t msg_size);
void vyukov_queue_destroy(struct vyukov_queue *queue);

/* Copy @msg in; false when the queue is full. Any thread. */
bool vyukov_queue_try_enqueue(struct vyukov_queue *queue, const void *msg);

/* Copy the oldest message out into @msg; false when none is ready. Any thread. */
bool vyukov_queue_try_dequeue(struct vyukov_queue *queue, void *msg);

size_t vyukov_queue_msg_size(const struct vyukov_queue *queue);

#endif /* HELIX_PERF_VYUKOV_QUEUE_H */
