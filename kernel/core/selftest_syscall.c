// SPDX-License-Identifier: MIT
/*
 * `selftest=syscall`: the syscall framework (//syscall) inside the booted kernel. The same gateway,
 * table, validation, hooks and handlers the hosted tests exercise, dispatched here through
 * helix_syscall_entry by the boot task bound to a process whose "user" space is kernel heap
 * memory (there is no ring 3 yet: the tasks issue adds it). Checks: results of getpid,
 * clock_gettime, write and a channel's create/send/recv/close through handles; refusals (-ENOSYS,
 * -EFAULT outside the range, -EINVAL for a bad clock, -EBADF for a stale handle); a copy that
 * faults inside the user range (a second process over unmapped memory) returns -EFAULT through
 * the exception table; the audit and trace hooks see every dispatch.
 */
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/arch/uaccess.h>
#include <helix/errors.h>
#include <helix/fmt.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/string.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

#include "kernel.h"

#define PAGE       ((uint64_t)HX_USER_PAGE_SIZE)
#define USER_PAGES 4
#define LOW_BASE   0x400000ull /* unmapped since hx_mmu_drop_identity_map */
#define LOW_LIMIT  0x800000ull

#define EXPECT HX_SELFTEST_EXPECT
#define fail   hx_selftest_mismatch

static long sys(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return helix_syscall_entry(nr, a0, a1, a2, a3, 0, 0);
}

/* Results and refusals with the process bound; @user is its first user address. */
static const char *dispatches(uint64_t user, uint64_t limit)
{
	static const char greeting[] = "selftest syscall: hello through the gateway\n";
	uint8_t *mem = (uint8_t *)(uintptr_t)user;
	uint64_t now, before = hx_time_ns();
	long chan, dup;

	EXPECT("getpid", sys(HX_SYS_getpid, 0, 0, 0, 0), 7);
	/* This caller is bound by hand, not a process: the process layer must not take it for one.
	 */
	hx_memcpy(mem + 256, "hello", sizeof("hello"));
	EXPECT("spawn from a caller that is not a process", sys(HX_SYS_spawn, user + 256, 0, 0, 0),
	       -HX_ENOSYS);
	EXPECT("wait from a caller that is not a process", sys(HX_SYS_wait, 1, 0, HX_NOWAIT, 0),
	       -HX_ENOSYS);
	EXPECT("clock_gettime", sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, user, 0, 0), 0);
	hx_memcpy(&now, mem, sizeof(now));
	if (now < before || now > hx_time_ns())
		return "clock_gettime wrote a time outside the call";
	EXPECT("clock_gettime with clock 0", sys(HX_SYS_clock_gettime, 0, user, 0, 0), -HX_EINVAL);
	EXPECT("clock_gettime past the limit",
	       sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, limit - 4, 0, 0), -HX_EFAULT);
	EXPECT("clock_gettime to a kernel address",
	       sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, (uint64_t)(uintptr_t)&now, 0, 0),
	       -HX_EFAULT);

	hx_memcpy(mem + 64, greeting, sizeof(greeting) - 1);
	EXPECT("write", sys(HX_SYS_write, user + 64, sizeof(greeting) - 1, 0, 0),
	       sizeof(greeting) - 1);
	EXPECT("write of HX_WRITE_MAX + 1 bytes", sys(HX_SYS_write, user, HX_WRITE_MAX + 1, 0, 0),
	       -HX_EINVAL);
	EXPECT("unknown syscall", sys(200, 0, 0, 0, 0), -HX_ENOSYS);
	EXPECT("huge syscall number", sys(UINT64_MAX, 0, 0, 0, 0), -HX_ENOSYS);

	chan = sys(HX_SYS_chan_create, 4, 16, 0, 0);
	if (chan <= 0)
		return fail("chan_create", chan, 1);
	for (int i = 0; i < 16; i++)
		mem[256 + i] = (uint8_t)(i * 3 + 1);
	EXPECT("chan_send", sys(HX_SYS_chan_send, (uint64_t)chan, user + 256, 16, HX_NOWAIT), 0);
	EXPECT("chan_send of 8 bytes", sys(HX_SYS_chan_send, (uint64_t)chan, user + 256, 8, 0),
	       -HX_EMSGSIZE);
	EXPECT("chan_recv", sys(HX_SYS_chan_recv, (uint64_t)chan, user + 512, 16, HX_NOWAIT), 0);
	if (hx_memcmp(mem + 256, mem + 512, 16) != 0)
		return "chan_recv returned other bytes than chan_send sent";
	EXPECT("chan_recv when empty",
	       sys(HX_SYS_chan_recv, (uint64_t)chan, user + 512, 16, HX_NOWAIT), -HX_EAGAIN);
	dup = sys(HX_SYS_handle_dup, (uint64_t)chan, HX_RIGHT_READ, 0, 0);
	if (dup <= 0)
		return fail("handle_dup", dup, 1);
	EXPECT("chan_send on a read-only handle",
	       sys(HX_SYS_chan_send, (uint64_t)dup, user + 256, 16, HX_NOWAIT), -HX_EACCES);
	EXPECT("chan_close", sys(HX_SYS_chan_close, (uint64_t)chan, 0, 0, 0), 0);
	EXPECT("chan_send after close",
	       sys(HX_SYS_chan_send, (uint64_t)chan, user + 256, 16, HX_NOWAIT), -HX_EPIPE);
	EXPECT("handle_close", sys(HX_SYS_handle_close, (uint64_t)chan, 0, 0, 0), 0);
	EXPECT("a closed handle", sys(HX_SYS_chan_close, (uint64_t)chan, 0, 0, 0), -HX_EBADF);
	EXPECT("handle_close of the dup", sys(HX_SYS_handle_close, (uint64_t)dup, 0, 0, 0), 0);
	return NULL;
}

/* A process over unmapped memory: the range rule passes, the copy faults and is fixed up. */
static const char *faulting_copy(struct hx_syscall_caller *caller)
{
	struct hx_uspace us;
	uint64_t fixups = hx_arch_uaccess_fixups();
	int err = hx_uspace_kernel_init(&us, LOW_BASE, LOW_LIMIT);

	if (err)
		return fail("hx_uspace_kernel_init over unmapped memory", err, 0);
	caller->uspace = &us;
	EXPECT("write from unmapped user memory", sys(HX_SYS_write, LOW_BASE, 16, 0, 0),
	       -HX_EFAULT);
	if (hx_arch_uaccess_fixups() == fixups)
		return "the faulting copy did not go through the exception table";
	return NULL;
}

static const char *with_hooks(struct hx_audit_ring *audit)
{
	struct hx_audit_record records[64];
	struct hx_trace_stats stats;
	uint64_t cursor = 0, dropped = 0;
	size_t count;

	hx_trace_reset();
	EXPECT("getpid with hooks", sys(HX_SYS_getpid, 0, 0, 0, 0), 7);
	EXPECT("unknown syscall with hooks", sys(300, 0, 0, 0, 0), -HX_ENOSYS);
	count = hx_audit_read(audit, &cursor, records, HX_ARRAY_SIZE(records), &dropped);
	if (count != 2 || dropped != 0)
		return fail("audit records", (long)count, 2);
	if (records[0].nr != HX_SYS_getpid || records[0].result != 7 || records[0].pid != 7 ||
	    records[1].nr != 300 || records[1].result != -HX_ENOSYS)
		return "audit records do not match the dispatches";
	if (hx_trace_get(HX_SYS_getpid, &stats) != 0 || stats.calls != 1 || stats.errors != 0)
		return "trace did not count getpid";
	return NULL;
}

const char *hx_selftest_syscall(void)
{
	struct hx_syscall_caller caller = { .pid = 7 };
	struct hx_syscall_caller *previous;
	struct hx_audit_ring *audit = NULL;
	struct hx_uspace us;
	const char *result = NULL;
	uint8_t *mem = hx_alloc((USER_PAGES + 1) * PAGE);
	uint64_t user;
	int err;

	if (!mem || hx_handles_create(&caller.handles) != 0) {
		hx_free(mem);
		return "no memory for the test process";
	}
	user = HX_ALIGN_UP((uint64_t)(uintptr_t)mem, PAGE);
	err = hx_uspace_kernel_init(&us, user, user + USER_PAGES * PAGE);
	if (err) {
		result = fail("hx_uspace_kernel_init over the heap", err, 0);
		goto out;
	}
	caller.uspace = &us;
	previous = hx_syscall_set_caller(&caller);

	result = dispatches(user, user + USER_PAGES * PAGE);
	if (!result && (err = hx_audit_create(16, &audit)) != 0)
		result = fail("hx_audit_create", err, 0);
	if (!result) {
		if (hx_syscall_hook_register(hx_audit_hook(audit)) ||
		    hx_syscall_hook_register(hx_trace_hook())) {
			result = "registering the audit and trace hooks failed";
		} else {
			result = with_hooks(audit);
		}
		hx_syscall_hook_unregister(hx_audit_hook(audit));
		hx_syscall_hook_unregister(hx_trace_hook());
		hx_audit_destroy(audit);
	}
	if (!result)
		result = faulting_copy(&caller);
	hx_syscall_set_caller(previous);
out:
	hx_handles_destroy(caller.handles);
	hx_free(mem);
	return result;
}
