// SPDX-License-Identifier: MIT
/*
 * A Linux pipe as a queue: the kernel's own bounded MPSC byte queue, with its own blocking. Every
 * message is one write(2) of msg_size bytes (<= PIPE_BUF, so atomic: several producers share the
 * write end and their messages never interleave) and one read(2) of msg_size bytes.
 *
 * Capacity: F_SETPIPE_SZ asks for capacity x msg_size bytes rounded up to a page; the kernel
 * rounds that up to a power-of-two number of pages and returns what it set, which is recorded
 * (pipe_bytes, pipe_capacity_msgs). So the pipe holds at least the asked number of messages, and
 * more where the bytes round up: capacity 64 with 8-byte messages is one page, 512 messages.
 * The kernel's unit is a page (a slot of its ring of pipe_buffers), not a byte: a write appends to
 * the last page only while that page has room at its end, and a page becomes free only when the
 * consumer has read all of it. From a full pipe, one read makes no room for a writer; it waits
 * until the consumer has emptied a whole page (checked here: a full one-page pipe takes no new
 * message after one read). Writers are therefore released a page at a time.
 *
 * File descriptions: pipe2 gives each end its own open file description, so O_NONBLOCK set on the
 * read end leaves the write end blocking (checked at create). The read end is always non-blocking
 * (the harness calls try_recv in spinning mode and recv in blocking mode on the same queue and does
 * not say which in advance); the blocking receive sleeps in poll(2) instead of read(2).
 *
 * Stop: wake_all signals an eventfd that a blocked consumer polls alongside the pipe, then reads
 * the pipe empty until no producer is inside write(). One drain is not enough: a read that empties
 * a page of a full pipe wakes one writer, whose message takes a whole page again (the kernel tries
 * to merge into the last page only before a writer sleeps), so a one-page pipe lets one blocked
 * writer through per drain (seen here: 13 of 16 producers still in write() after a single drain).
 * To know when to stop draining, each producer owns a flag on its own cache line: it sets the flag
 * (seq_cst), then checks the stop flag, then writes, then clears it. The harness sets stop
 * (seq_cst) before calling wake_all, which then reads the flags: of the two orders at least one
 * side sees the other's store (Dekker), so once wake_all finds every flag clear, every later send
 * sees stop and never writes. That handshake costs every send one xchg on a line no other thread
 * writes.
 *
 * Nothing is closed before destroy, which runs after every thread was joined, so no thread can
 * ever use a descriptor number that was closed and reused; for the same reason the read end is
 * never closed under a writer, so SIGPIPE/EPIPE cannot happen and the process's SIGPIPE
 * disposition is left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "perf/bench_queue.h"

#define CACHELINE      64
/* wake_all drains for at most this long; then the harness's grace period takes over. */
#define DRAIN_LIMIT_NS (2 * 1000000000LL)

struct pipe_producer {
	/* 1 from just before the producer's stop check until its write() returned. */
	_Alignas(CACHELINE) atomic_bool writing;
};

struct pipe_queue {
	int read_fd;  /* O_NONBLOCK */
	int write_fd; /* blocking: a producer sleeps in write() on a full pipe */
	int stop_fd;  /* eventfd: readable once wake_all has run */
	size_t msg_size;
	size_t pipe_bytes;    /* what F_SETPIPE_SZ actually set */
	atomic_bool reported; /* one error message per queue, not one per spin */
	int producer_count;
	struct pipe_producer *producers; /* producer_count of them, cache-line aligned */
};

static void pipe_report(struct pipe_queue *queue, const char *what, ssize_t got, int err)
{
	if (atomic_exchange(&queue->reported, true))
		return;
	if (got < 0)
		fprintf(stderr, "pipe: %s: %s\n", what, strerror(err));
	else
		fprintf(stderr, "pipe: %s returned %zd bytes, not a %zu-byte message\n", what, got,
		        queue->msg_size);
}

static void pipe_close_all(struct pipe_queue *queue)
{
	if (queue->read_fd >= 0)
		close(queue->read_fd);
	if (queue->write_fd >= 0)
		close(queue->write_fd);
	if (queue->stop_fd >= 0)
		close(queue->stop_fd);
	free(queue->producers);
	free(queue);
}

static int pipe_create(size_t capacity, size_t msg_size, int producers, void **out)
{
	struct pipe_queue *queue = calloc(1, sizeof(*queue));
	long page = sysconf(_SC_PAGESIZE);
	size_t want;
	int fds[2], flags, size;

	if (!queue)
		return -1;
	queue->read_fd = queue->write_fd = queue->stop_fd = -1;
	queue->msg_size = msg_size;
	atomic_init(&queue->reported, false);
	if (msg_size == 0 || msg_size > PIPE_BUF) {
		fprintf(stderr, "pipe: a %zu-byte message is not atomic (PIPE_BUF %d)\n", msg_size,
		        PIPE_BUF);
		free(queue);
		return -1;
	}
	if (producers < 1) {
		free(queue);
		return -1;
	}
	queue->producer_count = producers;
	queue->producers =
	    aligned_alloc(CACHELINE, (size_t)producers * sizeof(struct pipe_producer));
	if (!queue->producers) {
		free(queue);
		return -1;
	}
	for (int i = 0; i < producers; i++)
		atomic_init(&queue->producers[i].writing, false);
	if (page <= 0)
		page = 4096;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fprintf(stderr, "pipe: pipe2: %s\n", strerror(errno));
		pipe_close_all(queue); /* the descriptors are still -1; frees the producers */
		return -1;
	}
	queue->read_fd = fds[0];
	queue->write_fd = fds[1];
	want = (capacity * msg_size + (size_t)page - 1) / (size_t)page * (size_t)page;
	if (want > INT_MAX) {
		fprintf(stderr, "pipe: %zu bytes is too large for F_SETPIPE_SZ\n", want);
		pipe_close_all(queue);
		return -1;
	}
	/* Returns the size set: the request rounded up to a power-of-two number of pages. */
	size = fcntl(queue->write_fd, F_SETPIPE_SZ, (int)want);
	if (size < 0) {
		fprintf(stderr, "pipe: F_SETPIPE_SZ %zu: %s (see /proc/sys/fs/pipe-max-size)\n",
		        want, strerror(errno));
		pipe_close_all(queue);
		return -1;
	}
	queue->pipe_bytes = (size_t)size;
	flags = fcntl(queue->read_fd, F_GETFL);
	if (flags < 0 || fcntl(queue->read_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		fprintf(stderr, "pipe: O_NONBLOCK on the read end: %s\n", strerror(errno));
		pipe_close_all(queue);
		return -1;
	}
	/* Producers must block in write(): the write end's own description stays blocking. */
	flags = fcntl(queue->write_fd, F_GETFL);
	if (flags < 0 || (flags & O_NONBLOCK)) {
		fprintf(stderr, "pipe: the write end shares O_NONBLOCK with the read end\n");
		pipe_close_all(queue);
		return -1;
	}
	queue->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (queue->stop_fd < 0) {
		fprintf(stderr, "pipe: eventfd: %s\n", strerror(errno));
		pipe_close_all(queue);
		return -1;
	}
	*out = queue;
	return 0;
}

static void pipe_destroy(void *opaque)
{
	if (opaque)
		pipe_close_all(opaque);
}

static void *pipe_producer_attach(void *opaque, int index, uint64_t messages)
{
	struct pipe_queue *queue = opaque;

	(void)messages;
	if (index < 0 || index >= queue->producer_count)
		return NULL;
	return &queue->producers[index];
}

static int pipe_send(void *opaque, void *producer, const void *msg, const atomic_bool *stop)
{
	struct pipe_queue *queue = opaque;
	struct pipe_producer *self = producer;
	int result = -1;

	/* seq_cst store, then the stop check: pairs with the harness's seq_cst store of stop and
	 * wake_all's seq_cst loads of the flags (see the top of the file). */
	atomic_store(&self->writing, true);
	while (!atomic_load(stop)) {
		ssize_t written = write(queue->write_fd, msg, queue->msg_size);

		if (written == (ssize_t)queue->msg_size) {
			result = 0;
			break;
		}
		if (written < 0 && errno == EINTR)
			continue;
		pipe_report(queue, "write", written, errno);
		break;
	}
	/* Release: wake_all may stop draining once it reads this. */
	atomic_store_explicit(&self->writing, false, memory_order_release);
	return result;
}

/* 1: a message was read; 0: the pipe is empty; -1: anything else (reported). */
static int pipe_take(struct pipe_queue *queue, void *msg)
{
	for (;;) {
		/* All writes are whole messages and all reads ask for exactly one, so the pipe
		 * always holds whole messages and a read returns one or nothing. */
		ssize_t got = read(queue->read_fd, msg, queue->msg_size);

		if (got == (ssize_t)queue->msg_size)
			return 1;
		if (got < 0 && errno == EAGAIN)
			return 0;
		if (got < 0 && errno == EINTR)
			continue;
		pipe_report(queue, "read", got, errno);
		return -1;
	}
}

static bool pipe_try_recv(void *opaque, void *msg)
{
	return pipe_take(opaque, msg) == 1;
}

static int pipe_recv(void *opaque, void *msg, const atomic_bool *stop)
{
	struct pipe_queue *queue = opaque;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = queue->read_fd, .events = POLLIN },
			{ .fd = queue->stop_fd, .events = POLLIN },
		};
		int taken = pipe_take(queue, msg);

		if (taken == 1)
			return 0;
		if (taken < 0 || atomic_load_explicit(stop, memory_order_relaxed))
			return -1;
		/* Sleeps until a writer makes the pipe readable or wake_all signals the eventfd,
		 * which stays readable: a stop between the check above and this call is seen. */
		if (poll(fds, 2, -1) < 0 && errno != EINTR) {
			pipe_report(queue, "poll", -1, errno);
			return -1;
		}
	}
}

static void signal_stop(int fd)
{
	uint64_t one = 1;

	/* Only EAGAIN (counter at its maximum) can fail, and then the eventfd is readable anyway.
	 */
	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return;
}

static bool any_producer_writing(struct pipe_queue *queue)
{
	for (int i = 0; i < queue->producer_count; i++)
		if (atomic_load(&queue->producers[i].writing)) /* seq_cst: see pipe_send */
			return true;
	return false;
}

static long long monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void pipe_wake_all(void *opaque)
{
	struct pipe_queue *queue = opaque;
	unsigned char buffer[4096];
	/* Whole messages only: the consumer may be reading at the same time and must stay aligned.
	 */
	size_t chunk = sizeof(buffer) / queue->msg_size * queue->msg_size;
	long long deadline = monotonic_ns() + DRAIN_LIMIT_NS;
	struct timespec nap = { 0, 100 * 1000 };

	signal_stop(queue->stop_fd);
	/* Keep the pipe empty until no producer is inside write(): each drain lets blocked writers
	 * through, and they then see the stop flag. The messages read here are lost, which is fine
	 * for a stopped run. */
	for (;;) {
		while (read(queue->read_fd, buffer, chunk) > 0)
			;
		if (!any_producer_writing(queue))
			break;
		if (monotonic_ns() > deadline) {
			fprintf(stderr, "pipe: producers still in write() %.1f s after the stop\n",
			        (double)DRAIN_LIMIT_NS / 1e9);
			break;
		}
		nanosleep(&nap, NULL); /* let the woken writers run (2 CPUs here) */
	}
}

static void pipe_extra(void *opaque, uint64_t messages, struct bench_extra *out)
{
	struct pipe_queue *queue = opaque;

	(void)messages;
	bench_extra_add(out, "pipe_bytes", (double)queue->pipe_bytes);
	bench_extra_add(out, "pipe_capacity_msgs", (double)(queue->pipe_bytes / queue->msg_size));
}

const struct bench_impl bench_pipe = {
	.name = "pipe",
	.summary = "Linux pipe2(2), one write/read per message (<= PIPE_BUF: atomic); F_SETPIPE_SZ "
	           "to capacity x msg_size rounded up to pages (kernel: power-of-two pages), so it "
	           "holds >= capacity messages; room returns a page at a time",
	.producer_wait = "write() on the blocking write end: sleeps in the kernel at once when the "
	                 "pipe is full, woken when the consumer has emptied a whole page; every "
	                 "send pays one xchg on its own line (the stop handshake)",
	.consumer_spin_wait = "read() on the O_NONBLOCK read end in a loop, one pause after each "
	                      "EAGAIN",
	.consumer_block_wait =
	    "read() on the O_NONBLOCK read end; on EAGAIN poll() on the pipe and "
	    "a stop eventfd at once (sleeps in the kernel, no spinning), then "
	    "read() again: two syscalls per wake-up",
	.bounded = true,
	.create = pipe_create,
	.destroy = pipe_destroy,
	.producer_attach = pipe_producer_attach,
	.send = pipe_send,
	.try_recv = pipe_try_recv,
	.recv = pipe_recv,
	.wake_all = pipe_wake_all,
	.extra = pipe_extra,
};
