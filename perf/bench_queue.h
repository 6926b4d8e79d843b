/* SPDX-License-Identifier: MIT */
/*
 * The one interface the channel benchmark drives every implementation through: the helix channel
 * and each peer queue is an adapter (a table of functions) over it, so every implementation runs in
 * the same harness, with the same messages and the same measurement code.
 *
 * Threads: one consumer calls try_recv/recv; any number of producers call send, each with the
 * context producer_attach returned for it. @stop is set by the harness when a configuration runs
 * out of time; then wake_all is called once, and every wait inside send/recv must end soon after
 * (returning -1) so the threads can be joined.
 */
#ifndef HELIX_PERF_BENCH_QUEUE_H
#define HELIX_PERF_BENCH_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Extra per-run numbers an adapter reports (e.g. the channel's sleep and wake counters). */
#define BENCH_MAX_EXTRA 8
struct bench_extra {
	int count;
	const char *names[BENCH_MAX_EXTRA];
	double values[BENCH_MAX_EXTRA];
};

struct bench_impl {
	const char *name;    /* short, used in benchmark names: "helix", "vyukov", ... */
	const char *summary; /* what it is, one line */
	/* Wait policies, one line each (also written into the JSON context). */
	const char *producer_wait;       /* a producer facing a full queue */
	const char *consumer_spin_wait;  /* the consumer facing an empty queue, spinning mode */
	const char *consumer_block_wait; /* blocking mode; NULL: cannot block, reported as n/a */
	bool bounded;                    /* false: capacity is ignored (unbounded queue) */

	/* 0 and *@queue, or -1 (the reason on stderr). @producers may send concurrently. */
	int (*create)(size_t capacity, size_t msg_size, int producers, void **queue);
	void (*destroy)(void *queue);
	/* Called in the producer's own thread before timing starts; NULL when not needed. @messages
	 * is how many this producer will send. Returns the producer's context (may be NULL). */
	void *(*producer_attach)(void *queue, int index, uint64_t messages);
	void (*producer_detach)(void *queue, void *producer);
	/* Send one message, waiting as the producer_wait policy says. 0, or -1 when @stop was set.
	 */
	int (*send)(void *queue, void *producer, const void *msg, const atomic_bool *stop);
	/* One non-blocking receive attempt: true when a message was copied into @msg. */
	bool (*try_recv)(void *queue, void *msg);
	/* A blocking receive (NULL when the implementation cannot block): 0, or -1 when @stop. */
	int (*recv)(void *queue, void *msg, const atomic_bool *stop);
	/* After *stop was set: wake every sleeper so it sees the flag. */
	void (*wake_all)(void *queue);
	/* Optional: counters from the finished run. */
	void (*extra)(void *queue, uint64_t messages, struct bench_extra *out);
};

extern const struct bench_impl bench_helix;
extern const struct bench_impl bench_vyukov;
extern const struct bench_impl bench_dpdk_mp;
extern const struct bench_impl bench_dpdk_rts;
extern const struct bench_impl bench_wfcqueue;
extern const struct bench_impl bench_mutex_condvar;
extern const struct bench_impl bench_eventfd_ring;
extern const struct bench_impl bench_ck_ring;
extern const struct bench_impl bench_pipe;

/* A spin-wait hint for the harness and the spinning peers. */
static inline void bench_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

static inline void bench_extra_add(struct bench_extra *out, const char *name, double value)
{
	if (out->count < BENCH_MAX_EXTRA) {
		out->names[out->count] = name;
		out->values[out->count] = value;
		out->count++;
	}
}

#endif /* HELIX_PERF_BENCH_QUEUE_H */
