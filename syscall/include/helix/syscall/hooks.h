/* SPDX-License-Identifier: MIT */
/*
 * Syscall hooks: pre-hooks see the number and the raw arguments before anything else and may deny
 * the call with an error (seccomp's idea); post-hooks see the result of every dispatch, denied or
 * not. Hooks run in priority order, lowest value first (security, then audit, then tracing), FIFO
 * among equal priorities; the first denying pre-hook ends the pre-hook walk.
 *
 * Concurrency: register and unregister from any task while others dispatch. The hook list is an
 * immutable array replaced on every change (copy on write); dispatchers read it inside an SRCU
 * read-side section (helix/srcu.h), and unregister returns only after a grace period, when no
 * dispatch can still call the hook: its memory is the caller's again. Never call register or
 * unregister from inside a hook or handler (the grace period would wait for itself).
 *
 * Built in: the policy hook (per-process allow/deny rules), the audit hook (a bounded ring of
 * records that never blocks, oldest dropped and counted) and the trace hook (per-syscall counts,
 * errors and a latency histogram).
 */
#ifndef HELIX_SYSCALL_HOOKS_H
#define HELIX_SYSCALL_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/syscall/syscall.h>

HX_BEGIN_DECLS

enum hx_hook_priority {
	HX_HOOK_SECURITY = 0,
	HX_HOOK_AUDIT = 100,
	HX_HOOK_TRACE = 200,
};

#define HX_HOOKS_MAX 16

struct hx_syscall_hook {
	const char *name;
	int priority; /* enum hx_hook_priority, or any value between */
	/* 0 to allow, a negative HX_E* to deny (the dispatch returns it). NULL: no pre-hook. A
	 * denying hook may fill ctx->failure itself (argument, reason, by) when it is still empty;
	 * otherwise the gateway records "denied by a pre-hook" with the hook's name. */
	int (*pre)(struct hx_syscall_ctx *ctx, void *arg);
	/* Sees every dispatch's @result. NULL: no post-hook. */
	void (*post)(struct hx_syscall_ctx *ctx, long result, void *arg);
	void *arg;
	/* Private to hooks.c. */
	uint64_t order; /* registration sequence: FIFO among equal priorities */
	bool registered;
};

/*
 * hx_syscall_hook_register - add @hook (not copied: it must stay valid until unregistered). Task
 * context, allocates. Returns 0, -HX_EINVAL (NULL, no name, neither pre nor post), -HX_EEXIST
 * (already registered), -HX_ENOSPC (HX_HOOKS_MAX hooks), -HX_ENOMEM.
 */
int hx_syscall_hook_register(struct hx_syscall_hook *hook);

/*
 * hx_syscall_hook_unregister - remove @hook; returns when no dispatch can still run it. Task
 * context, may sleep, never from a hook or handler. Returns 0, -HX_ENOENT (not registered),
 * -HX_ENOMEM.
 */
int hx_syscall_hook_unregister(struct hx_syscall_hook *hook);

/* hx_syscall_hook_count - how many hooks are registered now. Any context. */
size_t hx_syscall_hook_count(void);

/* ---- The policy hook (security priority) --------------------------------------------------------
 */

/*
 * A process's rules (struct hx_syscall_caller.policy): a default action, and per syscall number
 * either an action or a flags rule: argument @arg must have no bit outside @allowed, else @error.
 * An action is 0 (allow) or a negative HX_E* (deny with it).
 */
#define HX_POLICY_MAX_RULES 32

struct hx_policy_rule {
	uint32_t nr;
	int action;       /* 0 allow, or -HX_E* */
	int8_t flags_arg; /* -1: no flags rule; else the argument index checked */
	uint64_t allowed; /* flags rule: allowed bits */
	int flags_error;  /* flags rule: the error when a bit outside @allowed is set */
};

struct hx_policy {
	int default_action; /* for numbers without a rule: 0 or -HX_E* */
	uint32_t count;
	struct hx_policy_rule rules[HX_POLICY_MAX_RULES];
};

/* Builders: 0, or -HX_EINVAL (bad action/arg index), -HX_ENOSPC (full). The policy must not
 * change while a process using it dispatches: build it, then attach it. */
void hx_policy_init(struct hx_policy *policy, int default_action);
int hx_policy_set(struct hx_policy *policy, uint32_t nr, int action);
int hx_policy_restrict_flags(struct hx_policy *policy, uint32_t nr, int arg, uint64_t allowed,
                             int error);

/* The policy hook: register it once (hx_syscall_hook_register(hx_policy_hook())). */
struct hx_syscall_hook *hx_policy_hook(void);

/* ---- The audit hook (audit priority) ------------------------------------------------------------
 */

struct hx_audit_record {
	uint64_t seq; /* 0, 1, 2 ... in the order dispatches finished */
	uint64_t time_ns;
	uint64_t pid;
	uint64_t nr;
	uint64_t args[HX_SYSCALL_ARGS];
	int64_t result;
	int8_t failed_arg;  /* -1 when the refusal was not about one argument or nothing failed */
	const char *reason; /* static text, or NULL */
	const char *by;     /* who refused, or NULL */
};

struct hx_audit_ring; /* opaque */

/*
 * hx_audit_create - a ring of @capacity records (a power of two, 2 .. 65536) and a hook that
 * writes one record per dispatch into it, never blocking: when the ring is full the oldest record
 * is overwritten and counted as dropped. 0 and *@out, -HX_EINVAL, -HX_ENOMEM.
 */
int hx_audit_create(size_t capacity, struct hx_audit_ring **out);
void hx_audit_destroy(struct hx_audit_ring *ring); /* unregister its hook first */
struct hx_syscall_hook *hx_audit_hook(struct hx_audit_ring *ring);

/*
 * hx_audit_read - copy up to @max records with seq >= *@cursor, oldest first, and advance
 * *@cursor past them. Records overwritten before they could be read are skipped and added to
 * *@dropped (if not NULL). Returns the number copied. Any task; concurrent with writers.
 */
size_t hx_audit_read(struct hx_audit_ring *ring, uint64_t *cursor, struct hx_audit_record *out,
                     size_t max, uint64_t *dropped);

/* Records ever written and ever overwritten unread by anybody (the ring's own count). */
uint64_t hx_audit_written(const struct hx_audit_ring *ring);
uint64_t hx_audit_overwritten(const struct hx_audit_ring *ring);

/* ---- The trace hook (trace priority) ------------------------------------------------------------
 */

#define HX_TRACE_BUCKETS 32 /* bucket b counts latencies in [2^b, 2^(b+1)) ns; bucket 0 also 0 */

struct hx_trace_stats {
	uint64_t calls;
	uint64_t errors; /* results < 0 */
	uint64_t latency[HX_TRACE_BUCKETS];
};

/* The trace hook's per-number statistics (relaxed counters: a snapshot, not a transaction). */
struct hx_syscall_hook *hx_trace_hook(void);
/* Copy the statistics of @nr; -HX_EINVAL for nr >= HX_SYSCALL_MAX. */
int hx_trace_get(uint64_t nr, struct hx_trace_stats *out);
void hx_trace_reset(void);

HX_END_DECLS

#endif /* HELIX_SYSCALL_HOOKS_H */
