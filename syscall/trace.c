// SPDX-License-Identifier: MIT
/*
 * The trace hook (hooks.h): per syscall number, how many calls, how many ended in an error, and a
 * log2 histogram of their latency from entry to the handler's return (ctx->start_ns and
 * ctx->end_ns, taken by the gateway; the pre-hooks are included). Relaxed counters: each is exact,
 * a snapshot of several is not a transaction. Latencies of 2^31 ns (about 2 s) and more all land in
 * the last bucket (sleeping syscalls do that).
 */
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>

#define TRACE_HOOK_NAME "trace"

struct trace_counters {
	HX_ATOMIC(uint64_t) calls;
	HX_ATOMIC(uint64_t) errors;
	HX_ATOMIC(uint64_t) latency[HX_TRACE_BUCKETS];
};

static struct trace_counters counters[HX_SYSCALL_MAX];

/* Bucket b holds [2^b, 2^(b+1)) ns; 0 and 1 ns go to bucket 0, 2^31 ns and more to the last. */
static unsigned bucket_of(uint64_t ns)
{
	unsigned bucket;

	if (ns < 2)
		return 0;
	bucket = 63u - (unsigned)__builtin_clzll(ns);
	return bucket < HX_TRACE_BUCKETS ? bucket : HX_TRACE_BUCKETS - 1;
}

static void trace_post(struct hx_syscall_ctx *ctx, long result, void *unused)
{
	struct trace_counters *c;
	uint64_t now = ctx->end_ns ? ctx->end_ns : hx_time_ns();
	uint64_t latency = now > ctx->start_ns ? now - ctx->start_ns : 0;

	if (ctx->nr >= HX_SYSCALL_MAX)
		return; /* no such number: nothing to count it under */
	/* The number came from user space: clamp it after the bound check (as the gateway does). */
	c = &counters[hx_index_nospec(ctx->nr, HX_SYSCALL_MAX)];
	/* Relaxed, all three: statistics; nothing is published with them. */
	atomic_fetch_add_explicit(&c->calls, 1, memory_order_relaxed);
	if (result < 0)
		atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->latency[bucket_of(latency)], 1, memory_order_relaxed);
}

static struct hx_syscall_hook trace_hook = {
	.name = TRACE_HOOK_NAME,
	.priority = HX_HOOK_TRACE,
	.post = trace_post,
};

struct hx_syscall_hook *hx_trace_hook(void)
{
	return &trace_hook;
}

int hx_trace_get(uint64_t nr, struct hx_trace_stats *out)
{
	const struct trace_counters *c;

	if (nr >= HX_SYSCALL_MAX || !out)
		return -HX_EINVAL;
	c = &counters[nr];
	/* Relaxed: a snapshot (see the top). */
	out->calls = atomic_load_explicit(&c->calls, memory_order_relaxed);
	out->errors = atomic_load_explicit(&c->errors, memory_order_relaxed);
	for (unsigned b = 0; b < HX_TRACE_BUCKETS; b++)
		out->latency[b] = atomic_load_explicit(&c->latency[b], memory_order_relaxed);
	return 0;
}

void hx_trace_reset(void)
{
	/* Relaxed: counts that race with the reset may survive it; a reset is not a barrier. */
	for (unsigned nr = 0; nr < HX_SYSCALL_MAX; nr++) {
		atomic_store_explicit(&counters[nr].calls, 0, memory_order_relaxed);
		atomic_store_explicit(&counters[nr].errors, 0, memory_order_relaxed);
		for (unsigned b = 0; b < HX_TRACE_BUCKETS; b++)
			atomic_store_explicit(&counters[nr].latency[b], 0, memory_order_relaxed);
	}
}
