/* SPDX-License-Identifier: MIT */
/*
 * The syscall framework: descriptors generated from the one table (syscall/syscalls.tbl), the
 * registry, the calling process as the framework sees it, and the gateway helix_syscall_entry.
 * docs/syscalls.md is the reference for every syscall; docs/syscall-framework.md explains the path
 * of a call.
 *
 * Concurrency: helix_syscall_entry may run on any number of tasks at once. Registering or
 * unregistering a syscall or a hook (hooks.h) is safe while others dispatch: unregistering waits
 * until no dispatch that could still see the old entry is in flight (an SRCU grace period,
 * helix/srcu.h), so it must not be called from inside a handler or a hook.
 */
#ifndef HELIX_SYSCALL_SYSCALL_H
#define HELIX_SYSCALL_SYSCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/syscall/numbers.h> /* generated: HX_SYS_<name>, HX_SYSCALL_STATIC_COUNT */

HX_BEGIN_DECLS

struct hx_uspace;       /* uaccess.h: a process's user address space */
struct hx_handle_table; /* handles.h: a process's handles */
struct hx_policy;       /* hooks.h: a process's allow/deny rules */
struct hx_kobject;      /* handles.h: a kernel object reachable through a handle */

/* Numbers: 0 .. HX_SYSCALL_STATIC_COUNT-1 come from the table (never reused); modules register at
 * run time in [HX_SYSCALL_DYNAMIC_BASE, HX_SYSCALL_MAX). */
#define HX_SYSCALL_DYNAMIC_BASE 256u
#define HX_SYSCALL_MAX          512u
#define HX_SYSCALL_ARGS         6

/* ---- Argument descriptors (one per argument in the table) --------------------------------------
 */

enum hx_arg_kind {
	HX_ARG_NONE = 0, /* unused slot: its raw value is ignored (as Linux does) */
	HX_ARG_INT,      /* signed integer in [min, max] */
	HX_ARG_UINT,     /* unsigned integer in [min, max] (min/max read as uint64_t) */
	HX_ARG_FLAGS,    /* unsigned; no bit outside mask */
	HX_ARG_ENUM,     /* one of enum_values[0 .. enum_count) */
	HX_ARG_UPTR,     /* user pointer to a buffer: size fixed, or from another argument */
	HX_ARG_UARRAY,   /* user pointer to count elements of size bytes; count from another arg */
	HX_ARG_USTR,     /* user pointer to a NUL-terminated string of at most max bytes (no NUL) */
	HX_ARG_HANDLE,   /* a handle of object type handle_type with at least rights */
	HX_ARG_DEADLINE, /* an absolute hx_time_ns() deadline, HX_NOWAIT or HX_FOREVER: any value */
};

/* User access modes: what the kernel will do through a pointer. */
#define HX_UACCESS_READ  0x1u /* the kernel reads user memory (an "in" pointer) */
#define HX_UACCESS_WRITE 0x2u /* the kernel writes user memory (an "out" pointer) */
#define HX_UACCESS_NULL  0x4u /* NULL is allowed (then the length must be 0 or is ignored) */

#define HX_ARG_NO_LEN 0xffu /* len_arg: the size is fixed (size) */

struct hx_syscall_arg {
	const char *name;
	uint8_t kind;    /* enum hx_arg_kind */
	uint8_t access;  /* UPTR/UARRAY/USTR: HX_UACCESS_* */
	uint8_t len_arg; /* UPTR: index of the length argument, or HX_ARG_NO_LEN; UARRAY: count */
	uint8_t align;   /* UPTR/UARRAY: required alignment (1 = any) */
	uint32_t size;   /* UPTR with HX_ARG_NO_LEN: fixed size; UARRAY: element size */
	int64_t min;     /* INT: signed bounds; UINT: bounds as uint64_t */
	int64_t max;     /* USTR: maximum length without the NUL */
	uint64_t mask;   /* FLAGS: allowed bits */
	const int64_t *enum_values;
	uint8_t enum_count;
	uint16_t handle_type; /* HANDLE: enum hx_kobject_type (HX_KOBJ_ANY: any) */
	uint32_t rights;      /* HANDLE: rights required (HX_RIGHT_*) */
};

struct hx_syscall_ctx;

/*
 * A handler gets the context and the six raw register values (also in ctx->args). It runs after
 * the pre-hooks allowed the call and after every argument passed its table rule; HANDLE arguments
 * are already resolved into ctx->objects[i] (a reference held until the post-hooks ran). Returns a
 * result >= 0 or a negative HX_E* code.
 */
typedef long (*hx_syscall_fn)(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);

struct hx_syscall_desc {
	uint32_t nr;
	const char *name;
	const char *summary;
	uint8_t nargs;
	struct hx_syscall_arg args[HX_SYSCALL_ARGS];
	/* The errors the handler itself documents (the table's `error` lines), as negative codes;
	 * the errors of the argument rules come on top (docs/syscalls.md). The syscall fuzzer
	 * holds every handler to this list. NULL/0: none (a dynamic syscall may leave it empty). */
	const int *errors;
	uint8_t nerrors;
	hx_syscall_fn handler;
};

/* ---- The calling process ----------------------------------------------------------------------
 */

/*
 * What the framework knows of a calling process. The kernel's process (kernel/core/process.c)
 * embeds one;
 * hosted tests and fuzzers make their own and bind it to a thread with hx_syscall_set_caller.
 */
struct hx_syscall_caller {
	uint64_t pid;
	struct hx_uspace *uspace;        /* the user address range its pointers must lie in */
	struct hx_handle_table *handles; /* may be NULL: then every handle is -HX_EBADF */
	const struct hx_policy *policy;  /* may be NULL: the policy hook allows everything */
	/* Set by the exit syscall; the return-to-user path ends the process instead of returning.
	 */
	HX_ATOMIC(uint32_t) exited;
	int32_t exit_status;
};

/* Why a call was refused: the first failing rule (sticky), for the audit hook and the tests. */
struct hx_syscall_failure {
	int error;          /* the negative HX_E* code; 0: nothing failed */
	int arg;            /* the argument index, -1 when not about one argument */
	const char *reason; /* static text, e.g. "pointer wraps around", "denied by policy" */
	const char *by;     /* who refused: "validation", a hook's name, or the handler's */
};

/* One dispatch, from entry to the last post-hook. Lives on the dispatching task's stack. */
struct hx_syscall_ctx {
	uint64_t nr;
	uint64_t args[HX_SYSCALL_ARGS];
	struct hx_syscall_caller *caller;
	const struct hx_syscall_desc *desc;          /* NULL for an unknown number */
	struct hx_kobject *objects[HX_SYSCALL_ARGS]; /* resolved HANDLE arguments */
	struct hx_syscall_failure failure;
	/* hx_time_ns() at entry and after the handler, taken only when a hook is registered (one
	 * clock read each, shared by every hook: the clock costs 20-50 ns here). */
	uint64_t start_ns;
	uint64_t end_ns;
};

/*
 * hx_syscall_fail - record a refusal in @ctx unless one is recorded already (the first wins) and
 * return @error, so handlers can write `return hx_syscall_fail(ctx, -HX_EINVAL, 2, "why");`.
 */
long hx_syscall_fail(struct hx_syscall_ctx *ctx, long error, int arg, const char *reason);

/* ---- The gateway -------------------------------------------------------------------------------
 */

/*
 * helix_syscall_entry - the one entry for every syscall: the kernel's SYSCALL stub calls it with
 * the user's rax (nr) and rdi, rsi, rdx, r10, r8, r9; hosted tests and fuzzers call it directly on
 * a thread bound to a caller. Steps: clamp nr; pre-hooks (may deny); table rules for every
 * argument; handler; post-hooks (always, with the result). Task context; may sleep (handlers
 * block). Returns the handler's result, or a negative HX_E*: -HX_ENOSYS for an unregistered
 * number, the denying hook's error, the first failed rule's error, -HX_ESRCH when no caller is
 * bound to this task.
 */
long helix_syscall_entry(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                         uint64_t a4, uint64_t a5);

/*
 * hx_syscall_dispatch - helix_syscall_entry with an explicit caller and a context the caller
 * provides (zeroed by this function) so it can read ctx->failure afterwards. Same contract.
 */
long hx_syscall_dispatch(struct hx_syscall_caller *caller, struct hx_syscall_ctx *ctx, uint64_t nr,
                         const uint64_t args[HX_SYSCALL_ARGS]);

/*
 * hx_syscall_current_caller / hx_syscall_set_caller - the caller bound to the running task
 * (kernel: the current process; hosted: a thread-local). set returns the previous one. Task
 * context.
 */
struct hx_syscall_caller *hx_syscall_current_caller(void);
struct hx_syscall_caller *hx_syscall_set_caller(struct hx_syscall_caller *caller);

/* ---- The registry ------------------------------------------------------------------------------
 */

/*
 * hx_syscall_register - add @desc (not copied: it must stay valid until unregistered) at
 * desc->nr, which must lie in [HX_SYSCALL_DYNAMIC_BASE, HX_SYSCALL_MAX). Task context.
 * Returns 0, -HX_EINVAL (NULL, no handler, nr outside the dynamic range, a malformed argument
 * rule), -HX_EEXIST (the number is taken).
 */
int hx_syscall_register(const struct hx_syscall_desc *desc);

/*
 * hx_syscall_unregister - remove the dynamic syscall at @nr; returns once no dispatch can still
 * call it. Task context, may sleep; never from a handler or hook. Returns 0, -HX_EINVAL (a static
 * or out-of-range number), -HX_ENOENT (nothing registered there).
 */
int hx_syscall_unregister(uint32_t nr);

/*
 * hx_syscall_desc_check - 0 when @desc is well formed: a name, a handler, nargs <= 6, no rule in
 * an unused slot, every len/count argument an integer argument of the same call, power-of-two
 * alignments, min <= max, a non-empty enum, a known handle type and rights within HX_RIGHTS_ALL.
 * Else -HX_EINVAL. Registration applies it; a test applies it to every entry of the static table.
 */
int hx_syscall_desc_check(const struct hx_syscall_desc *desc);

/* hx_syscall_lookup - the descriptor at @nr, or NULL. Any context. The pointer stays valid only
 * for static entries, or while the caller holds hx_syscall_read_lock. */
const struct hx_syscall_desc *hx_syscall_lookup(uint64_t nr);

/* hx_syscall_by_name - the number of the syscall called @name, or -HX_ENOENT. Any context. */
long hx_syscall_by_name(const char *name);

/*
 * hx_syscall_set_router - the router the router_call syscall routes through (the kernel's one
 * router; a hosted test's own); NULL detaches it (router_call then fails with -HX_ENOSYS). Returns
 * the previous one. Task context; the caller keeps the router alive while it is attached.
 */
struct hx_router;
struct hx_router *hx_syscall_set_router(struct hx_router *router);

/*
 * The process backend behind spawn and wait: the kernel's process layer (kernel/core/process.c);
 * a hosted test's fake. Both functions run on the calling process's task and may sleep.
 *
 * spawn: start the program @name (a NUL-terminated copy in kernel memory, 1..HX_PROGRAM_NAME_MAX
 *   characters) as a child of @parent. Returns the child's pid, or -HX_ENOENT, -HX_ENOEXEC,
 *   -HX_ENOMEM, -HX_EAGAIN.
 * wait: wait until child @pid of @parent has ended, until @deadline_ns; store its status in
 *   *@status and collect it only when @collect(@collect_ctx, *status) returns 0 (the syscall copies
 *   the status out there: a fault leaves the child uncollected). Returns @pid, or -HX_ECHILD,
 *   -HX_EAGAIN (HX_NOWAIT), -HX_ETIMEDOUT, or @collect's error.
 */
struct hx_process_ops {
	long (*spawn)(struct hx_syscall_caller *parent, const char *name);
	long (*wait)(struct hx_syscall_caller *parent, uint64_t pid, uint64_t deadline_ns,
	             int (*collect)(void *collect_ctx, int32_t status), void *collect_ctx);
};

/*
 * hx_syscall_set_process_ops - the backend spawn and wait use; NULL detaches it (both then fail
 * with -HX_ENOSYS). Returns the previous one. Task context; @ops must stay valid while attached.
 */
const struct hx_process_ops *hx_syscall_set_process_ops(const struct hx_process_ops *ops);

/* The generated table: HX_SYSCALL_STATIC_COUNT entries indexed by number; a retired number's
 * entry has a NULL handler (and dispatches to -HX_ENOSYS). */
extern const struct hx_syscall_desc hx_syscall_static_table[];

HX_END_DECLS

#endif /* HELIX_SYSCALL_SYSCALL_H */
