// SPDX-License-Identifier: MIT
/*
 * The process syscalls: exit, write, getpid, clock_gettime, sleep, yield (syscall/syscalls.tbl,
 * docs/syscalls.md). Each handler runs after the gateway checked every argument against its table
 * rule, so the ranges, the enum and the pointers' user ranges hold on entry; what a rule cannot
 * promise (a page unmapped by another thread after the check) is still caught by the copies.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

/* hx_sys_write copies user bytes through a stack buffer of this size. */
#define WRITE_CHUNK 256u

/* Prototypes of the handlers (the generated syscall_table.c declares them too). */
long hx_sys_exit(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_write(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_getpid(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_clock_gettime(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_sleep(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_yield(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_spawn(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_wait(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);

/* The process backend (hx_syscall_set_process_ops); NULL: spawn and wait are -HX_ENOSYS. */
static HX_ATOMIC(const struct hx_process_ops *) process_ops;

const struct hx_process_ops *hx_syscall_set_process_ops(const struct hx_process_ops *ops)
{
	/* Release: a handler that loads the new pointer (acquire, below) sees the ops' fields. */
	return atomic_exchange_explicit(&process_ops, ops, memory_order_acq_rel);
}

/*
 * exit(status) - mark the caller exited with @status (0..HX_PROCESS_EXIT_MAX, checked by the
 * table) and return 0. The handler does not end anything itself: the kernel's return-to-user path
 * sees caller->exited and ends the process instead of returning to it; a hosted caller (tests,
 * fuzzers) sees 0 and the mark. A second exit overwrites the status (the process never runs
 * again in the kernel, so only a hosted caller can make one).
 */
long hx_sys_exit(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	struct hx_syscall_caller *caller = ctx->caller;

	caller->exit_status = (int32_t)(int64_t)args[0];
	/* Release: whoever sees exited == 1 with an acquire load (the return path, a parent's
	 * wait) also sees exit_status. */
	atomic_store_explicit(&caller->exited, 1, memory_order_release);
	return 0;
}

/*
 * write(buf, len) - copy @len bytes (at most HX_WRITE_MAX, checked by the table) from user @buf
 * to the console, WRITE_CHUNK bytes at a time through a stack buffer (no allocation, bounded
 * stack). Returns len. A fault (a page unmapped after the table's check) returns -HX_EFAULT:
 * the chunks before the faulting one have been written, nothing of the faulting one is. Each
 * chunk is one hx_console_write, so another task's output may come between two chunks of a
 * write longer than WRITE_CHUNK.
 */
long hx_sys_write(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	char chunk[WRITE_CHUNK];
	uint64_t buf = args[0];
	uint64_t len = args[1];
	uint64_t done = 0;

	if (len > HX_WRITE_MAX) /* the table's rule; kept so the loop bound never rests on it */
		return hx_syscall_fail(ctx, -HX_EINVAL, 1, "len above HX_WRITE_MAX");
	while (done < len) {
		size_t n = (size_t)HX_MIN(len - done, (uint64_t)WRITE_CHUNK);
		int err = hx_copy_from_user(ctx, chunk, buf + done, n);

		if (err)
			return hx_syscall_fail(ctx, err, 0, "buffer not readable");
		hx_console_write(chunk, n);
		done += n;
	}
	return (long)len;
}

/* getpid() - the caller's process id. Never fails. */
long hx_sys_getpid(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	return (long)ctx->caller->pid;
}

/*
 * clock_gettime(clock, now) - store the clock's value in ns at user @now (8 bytes, 8-aligned,
 * checked writable by the table). HX_CLOCK_MONOTONIC is hx_time_ns(). Returns 0, -HX_EINVAL
 * (another clock: the table refuses it first), -HX_EFAULT (@now stopped being writable).
 */
long hx_sys_clock_gettime(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	uint64_t now;
	int err;

	if (args[0] != HX_CLOCK_MONOTONIC)
		return hx_syscall_fail(ctx, -HX_EINVAL, 0, "unknown clock");
	now = hx_time_ns();
	err = hx_copy_to_user(ctx, args[1], &now, sizeof(now));
	if (err)
		return hx_syscall_fail(ctx, err, 1, "now not writable");
	return 0;
}

/*
 * sleep(ns) - return after at least @ns nanoseconds (at most HX_SLEEP_MAX_NS, checked by the
 * table; 0 returns at once). Waits with hx_futex_wait on a word of its own that nobody wakes, so
 * only the deadline ends the wait; a spurious return waits again until hx_time_ns() really
 * reached the deadline. now + ns saturates at UINT64_MAX - 1, a finite deadline (UINT64_MAX
 * would be HX_FOREVER). Not interruptible: there are no signals yet. Returns 0.
 */
long hx_sys_sleep(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	HX_ATOMIC(uint32_t) word = 0;
	uint64_t ns = args[0];
	uint64_t now, deadline;

	if (ns == 0)
		return 0;
	now = hx_time_ns();
	deadline = now >= UINT64_MAX - 1 || ns > UINT64_MAX - 1 - now ? UINT64_MAX - 1 : now + ns;
	while (hx_time_ns() < deadline)
		(void)hx_futex_wait(&word, 0, deadline); /* 0 (spurious) or -HX_ETIMEDOUT */
	return 0;
}

/* yield() - let other runnable tasks run (hx_yield). Returns 0. */
long hx_sys_yield(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	hx_yield();
	return 0;
}

/*
 * spawn(name) - copy the program name in (the table checked that the string is readable within
 * HX_PROGRAM_NAME_MAX + 1 bytes) and let the process backend start it as a child of the caller.
 * Returns the child's pid or the backend's error; -HX_ENOSYS without a backend.
 */
long hx_sys_spawn(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	/* Acquire: pairs with the exchange in hx_syscall_set_process_ops. */
	const struct hx_process_ops *ops = atomic_load_explicit(&process_ops, memory_order_acquire);
	char name[HX_PROGRAM_NAME_MAX + 1];
	long len, pid;

	if (!ops || !ops->spawn)
		return hx_syscall_fail(ctx, -HX_ENOSYS, -1, "no process backend");
	len = hx_strncpy_from_user(ctx, name, args[0], sizeof(name));
	if (len < 0)
		return hx_syscall_fail(ctx, len, 0, "name not readable");
	if (len == 0)
		return hx_syscall_fail(ctx, -HX_ENOENT, 0, "empty program name");
	pid = ops->spawn(ctx->caller, name);
	if (pid < 0)
		return hx_syscall_fail(ctx, pid, 0, "spawn failed");
	return pid;
}

struct wait_copy {
	struct hx_syscall_ctx *ctx;
	uint64_t status_addr; /* 0: the caller passed NULL */
};

/* wait's collect callback: the status reaches the user before the child is collected. */
static int copy_status_out(void *collect_ctx, int32_t status)
{
	struct wait_copy *copy = collect_ctx;

	if (copy->status_addr == 0)
		return 0;
	return hx_copy_to_user(copy->ctx, copy->status_addr, &status, sizeof(status));
}

/*
 * wait(pid, status, deadline) - let the backend wait for child @pid; the status is copied out
 * before the child is collected, so a fault (-HX_EFAULT) leaves it for the next wait. Returns
 * @pid or an error; -HX_ENOSYS without a backend.
 */
long hx_sys_wait(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	/* Acquire: pairs with the exchange in hx_syscall_set_process_ops. */
	const struct hx_process_ops *ops = atomic_load_explicit(&process_ops, memory_order_acquire);
	struct wait_copy copy = { .ctx = ctx, .status_addr = args[1] };
	long result;

	if (!ops || !ops->wait)
		return hx_syscall_fail(ctx, -HX_ENOSYS, -1, "no process backend");
	result = ops->wait(ctx->caller, args[0], args[2], copy_status_out, &copy);
	if (result == -HX_EFAULT)
		return hx_syscall_fail(ctx, result, 1, "status not writable");
	if (result < 0)
		return hx_syscall_fail(ctx, result, 0, "wait failed");
	return result;
}
