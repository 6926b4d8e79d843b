// SPDX-License-Identifier: MIT
/*
 * `selftest=vm`: per-process address spaces (helix/arch/vm.h) in the booted kernel, and the user
 * access backend over them (hx_uspace_kernel_init_vm). One vm gets a layout: RW_PAGES writable
 * pages at VM_LOW, one read-only page right after them, an unmapped hole after that, a writable
 * page at the very top of the user range and an executable one in between. Then: argument
 * refusals, queries and counters, writes and reads through the direct map, hx_vm_check on mapped,
 * unmapped, read-only, wrapping and out-of-range ranges; with the vm active, copies through the
 * user addresses (and their faults, through the exception table), the probe, a page unmapped
 * after the probe, the kernel at work; running out of frames; and 100 vms made and destroyed.
 * Every frame and heap block taken comes back.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/arch/cpu.h>
#include <helix/arch/memory.h>
#include <helix/arch/uaccess.h>
#include <helix/arch/vm.h>
#include <helix/errors.h>
#include <helix/fmt.h>
#include <helix/frames.h>
#include <helix/heap.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/string.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

#include "kernel.h"
#include "sched.h"

#define PAGE     ((uint64_t)HX_VM_PAGE_SIZE)
#define RW_PAGES 3
#define VM_LOW   0x400000ull                /* RW_PAGES writable pages */
#define VM_RO    (VM_LOW + RW_PAGES * PAGE) /* one read-only page */
#define VM_HOLE  (VM_RO + PAGE)             /* never mapped */
#define VM_EXEC  0x10000000ull              /* one executable page, in a page table of its own */
#define VM_TOP   (HX_USER_LIMIT - PAGE)     /* the last user page */
#define PATTERN  ((size_t)(RW_PAGES + 1) * PAGE) /* bytes written over the RW and RO pages */
#define CHURN    100
#define MS       1000000ull /* ns */

#define EXPECT HX_SELFTEST_EXPECT

#define failed hx_selftest_failed

/* Free frames, the vm cache's included: a destroyed vm's frames may wait there. */
static uint64_t free_frames(void)
{
	struct hx_frames_stats stats;
	struct hx_vm_cache_stats cache;

	hx_frames_get_stats(hx_kmem_frames(), &stats);
	hx_vm_cache_get_stats(&cache);
	return stats.free_frames + cache.cached;
}

static size_t live_allocations(void)
{
	struct hx_heap_stats stats;

	hx_heap_get_stats(hx_kmem_heap(), &stats);
	return stats.live_allocations;
}

/*
 * Whether free frames and live heap blocks are back at @frames and @live, allowing 100 ms for work
 * in flight: vm_out_of_memory's memory pressure makes the event dispatcher task drain the vm cache
 * a moment later (services.c), and a count read while it moves frames from the cache to the free
 * list misses them. A leak never comes back. *@frames_now and *@live_now: the last counts read.
 */
static bool counts_back(uint64_t frames, size_t live, uint64_t *frames_now, size_t *live_now)
{
	uint64_t deadline = hx_time_ns() + 100 * MS;

	for (;;) {
		*frames_now = free_frames();
		*live_now = live_allocations();
		if (*frames_now == frames && *live_now == live)
			return true;
		if (hx_time_ns() >= deadline)
			return false;
		hx_task_sleep_until(hx_time_ns() + MS);
	}
}

/* A user address as a pointer, for hx_arch_copy_user. */
static void *user(uint64_t addr)
{
	return (void *)(uintptr_t)addr;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

/* @fixups moved by exactly @expected since *@before (and *@before is updated). */
static const char *fixups_moved(uint64_t *before, uint64_t expected, const char *what)
{
	uint64_t now = hx_arch_uaccess_fixups();

	if (now - *before != expected)
		return failed("%s: %llu exception-table fixups, expected %llu", what,
		              (unsigned long long)(now - *before), (unsigned long long)expected);
	*before = now;
	return NULL;
}

static const char *check_stats(struct hx_vm *vm, uint64_t pages, uint64_t tables, const char *when)
{
	struct hx_vm_stats stats;

	hx_vm_get_stats(vm, &stats);
	if (stats.pages != pages || stats.table_frames != tables)
		return failed("%s: %llu pages and %llu table frames, expected %llu and %llu", when,
		              (unsigned long long)stats.pages,
		              (unsigned long long)stats.table_frames, (unsigned long long)pages,
		              (unsigned long long)tables);
	return NULL;
}

/* Refusals that change nothing (the vm is empty). */
static const char *vm_arguments(struct hx_vm *vm)
{
	uint64_t phys;

	if (hx_frames_alloc(hx_kmem_frames(), &phys) != 0)
		return "no frame for the argument checks";
	EXPECT("map va 0", hx_vm_map(vm, 0, phys, 0), -HX_EINVAL);
	EXPECT("map va misaligned", hx_vm_map(vm, VM_LOW + 8, phys, 0), -HX_EINVAL);
	EXPECT("map va HX_USER_LIMIT", hx_vm_map(vm, HX_USER_LIMIT, phys, 0), -HX_EINVAL);
	EXPECT("map a kernel va", hx_vm_map(vm, HX_DIRECT_MAP_BASE, phys, 0), -HX_EINVAL);
	EXPECT("map a non-canonical va", hx_vm_map(vm, 0x0000900000000000ull, phys, 0), -HX_EINVAL);
	EXPECT("map phys misaligned", hx_vm_map(vm, VM_LOW, phys + 1, 0), -HX_EINVAL);
	EXPECT("map phys beyond the direct map", hx_vm_map(vm, VM_LOW, HX_DIRECT_MAP_SIZE, 0),
	       -HX_EINVAL);
	EXPECT("map unknown flags", hx_vm_map(vm, VM_LOW, phys, 0x80), -HX_EINVAL);
	EXPECT("alloc length 0", hx_vm_alloc(vm, VM_LOW, 0, 0), -HX_EINVAL);
	EXPECT("alloc length misaligned", hx_vm_alloc(vm, VM_LOW, 100, 0), -HX_EINVAL);
	EXPECT("alloc across HX_USER_LIMIT", hx_vm_alloc(vm, VM_TOP, 2 * PAGE, 0), -HX_EINVAL);
	EXPECT("alloc wrapping", hx_vm_alloc(vm, VM_LOW, (size_t)0 - VM_LOW, 0), -HX_EINVAL);
	EXPECT("unmap a kernel range", hx_vm_unmap(vm, HX_DIRECT_MAP_BASE, PAGE), -HX_EINVAL);
	hx_frames_free(hx_kmem_frames(), phys, 1);
	/* Nothing above allocated a page table either. */
	return check_stats(vm, 0, 1, "after refused calls");
}

/*
 * The layout. Its page tables: the PML4; PDPT 0 and PD 0, shared by VM_LOW and VM_EXEC, which
 * are in different PD entries, so one PT each; PDPT 255 with a PD and a PT for VM_TOP: 8 frames.
 */
static const char *vm_layout(struct hx_vm *vm)
{
	uint64_t phys, exec_phys;
	unsigned flags;
	const char *why;

	EXPECT("alloc RW", hx_vm_alloc(vm, VM_LOW, RW_PAGES * PAGE, HX_VM_WRITE), 0);
	EXPECT("alloc RO", hx_vm_alloc(vm, VM_RO, PAGE, 0), 0);
	EXPECT("alloc the top page", hx_vm_alloc(vm, VM_TOP, PAGE, HX_VM_WRITE), 0);
	if (hx_frames_alloc(hx_kmem_frames(), &exec_phys) != 0)
		return "no frame for the executable page";
	EXPECT("map an executable page", hx_vm_map(vm, VM_EXEC, exec_phys, HX_VM_EXEC), 0);
	if ((why = check_stats(vm, RW_PAGES + 3, 8, "after mapping the layout")))
		return why;

	/* Overlaps are refused whole: the free page before VM_LOW stays free. */
	EXPECT("alloc over mapped pages", hx_vm_alloc(vm, VM_LOW - PAGE, 2 * PAGE, HX_VM_WRITE),
	       -HX_EEXIST);
	EXPECT("query the page before VM_LOW", hx_vm_query(vm, VM_LOW - PAGE, NULL, NULL),
	       -HX_EFAULT);
	if (hx_frames_alloc(hx_kmem_frames(), &phys) != 0)
		return "no frame for the double map";
	EXPECT("map a mapped page", hx_vm_map(vm, VM_RO, phys, 0), -HX_EEXIST);
	hx_frames_free(hx_kmem_frames(), phys, 1);
	if ((why = check_stats(vm, RW_PAGES + 3, 8, "after refused overlaps")))
		return why;

	EXPECT("query RW", hx_vm_query(vm, VM_LOW + 5, &phys, &flags), 0);
	if (flags != HX_VM_WRITE || (phys & (PAGE - 1)) != 5)
		return failed("query RW: flags 0x%x phys 0x%llx", flags, (unsigned long long)phys);
	EXPECT("query RO", hx_vm_query(vm, VM_RO, NULL, &flags), 0);
	if (flags != 0)
		return failed("query RO: flags 0x%x, expected 0", flags);
	EXPECT("query exec", hx_vm_query(vm, VM_EXEC + PAGE - 1, &phys, &flags), 0);
	if (flags != HX_VM_EXEC || phys != exec_phys + PAGE - 1)
		return failed("query exec: flags 0x%x phys 0x%llx, expected 0x%x 0x%llx", flags,
		              (unsigned long long)phys, HX_VM_EXEC,
		              (unsigned long long)(exec_phys + PAGE - 1));
	EXPECT("query the hole", hx_vm_query(vm, VM_HOLE, NULL, NULL), -HX_EFAULT);
	EXPECT("query page 0", hx_vm_query(vm, 0, NULL, NULL), -HX_EFAULT);
	EXPECT("query a kernel address", hx_vm_query(vm, HX_KERNEL_VIRT_BASE, NULL, NULL),
	       -HX_EFAULT);
	return NULL;
}

/* hx_vm_write and hx_vm_read through the direct map, the vm not active. */
static const char *vm_contents(struct hx_vm *vm)
{
	static uint8_t buf[PATTERN];
	uint8_t top[16];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	/* Fresh pages are zero, the top one included. */
	EXPECT("read the top page", hx_vm_read(vm, top, VM_TOP + PAGE - sizeof(top), sizeof(top)),
	       0);
	for (size_t i = 0; i < sizeof(top); i++) {
		if (top[i] != 0)
			return "a freshly allocated page is not zero";
	}
	/* The read-only page too: the loader fills read-only text this way. */
	EXPECT("write the pattern", hx_vm_write(vm, VM_LOW, buf, sizeof(buf)), 0);
	EXPECT("write into the hole", hx_vm_write(vm, VM_RO + PAGE - 4, "abcdefgh", 8), -HX_EFAULT);
	EXPECT("write past HX_USER_LIMIT", hx_vm_write(vm, VM_TOP + PAGE - 4, "abcdefgh", 8),
	       -HX_EFAULT);
	hx_memset(buf, 0, sizeof(buf));
	EXPECT("read the pattern", hx_vm_read(vm, buf, VM_LOW, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != pattern(i))
			return failed("byte %zu read back 0x%02x, wrote 0x%02x", i, buf[i],
			              pattern(i));
	}
	/* The refused write into the hole wrote nothing, not even before the hole. */
	EXPECT("read before the hole", hx_vm_read(vm, buf, VM_RO + PAGE - 4, 4), 0);
	for (size_t i = 0; i < 4; i++) {
		if (buf[i] != pattern(PATTERN - 4 + i))
			return "a refused hx_vm_write changed the bytes before the hole";
	}
	EXPECT("read the hole", hx_vm_read(vm, buf, VM_HOLE, 1), -HX_EFAULT);
	return NULL;
}

static const char *vm_checks(struct hx_vm *vm)
{
	EXPECT("check RW for write", hx_vm_check(vm, VM_LOW, RW_PAGES * PAGE, true), 0);
	EXPECT("check RW+RO for read", hx_vm_check(vm, VM_LOW + 1, PATTERN - 1, false), 0);
	EXPECT("check RW+RO for write", hx_vm_check(vm, VM_LOW, PATTERN, true), -HX_EFAULT);
	EXPECT("check one RO byte for write", hx_vm_check(vm, VM_RO + 7, 1, true), -HX_EFAULT);
	EXPECT("check into the hole", hx_vm_check(vm, VM_RO, PAGE + 1, false), -HX_EFAULT);
	EXPECT("check the hole", hx_vm_check(vm, VM_HOLE, 1, false), -HX_EFAULT);
	EXPECT("check the last user byte", hx_vm_check(vm, HX_USER_LIMIT - 1, 1, true), 0);
	EXPECT("check past HX_USER_LIMIT", hx_vm_check(vm, HX_USER_LIMIT - 1, 2, false),
	       -HX_EFAULT);
	EXPECT("check wrapping", hx_vm_check(vm, VM_LOW, (size_t)0 - VM_LOW + PAGE, false),
	       -HX_EFAULT);
	EXPECT("check the largest length", hx_vm_check(vm, VM_LOW, SIZE_MAX, false), -HX_EFAULT);
	EXPECT("check page 0", hx_vm_check(vm, 0, 8, false), -HX_EFAULT);
	EXPECT("check kernel memory", hx_vm_check(vm, HX_KERNEL_VIRT_BASE, 8, false), -HX_EFAULT);
	EXPECT("check length 0 in range", hx_vm_check(vm, VM_HOLE, 0, true), 0);
	EXPECT("check length 0 at HX_USER_LIMIT", hx_vm_check(vm, HX_USER_LIMIT, 0, true), 0);
	EXPECT("check length 0 in the kernel", hx_vm_check(vm, HX_KERNEL_VIRT_BASE, 0, false),
	       -HX_EFAULT);
	return NULL;
}

/*
 * Copies through the user addresses with hx_arch_copy_user, in kernel mode: the U bit does not
 * keep ring 0 out (no SMAP here), but CR0.WP makes a read-only page read-only for the kernel too.
 */
static const char *vm_copies(struct hx_vm *vm)
{
	uint64_t fixups = hx_arch_uaccess_fixups();
	uint8_t buf[64], back[64];
	const char *why;

	EXPECT("copy from the RW page", hx_arch_copy_user(buf, user(VM_LOW), sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != pattern(i))
			return "a copy through the user address read other bytes than hx_vm_write";
	}
	/* Across the RW/RO boundary: reads are fine. */
	EXPECT("copy across RW and RO", hx_arch_copy_user(buf, user(VM_RO - 32), 64), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)~pattern(i);
	EXPECT("copy to the RW page", hx_arch_copy_user(user(VM_LOW + PAGE), buf, 64), 0);
	EXPECT("read it back", hx_vm_read(vm, back, VM_LOW + PAGE, sizeof(back)), 0);
	if (hx_memcmp(back, buf, sizeof(buf)) != 0)
		return "a copy to the user address did not reach the frame behind it";
	EXPECT("copy to the top page", hx_arch_copy_user(user(VM_TOP + PAGE - 8), buf, 8), 0);
	if ((why = fixups_moved(&fixups, 0, "copies over mapped pages")))
		return why;

	EXPECT("copy to the RO page", hx_arch_copy_user(user(VM_RO), buf, 8), -HX_EFAULT);
	if ((why = fixups_moved(&fixups, 1, "copy to a read-only page")))
		return why;
	EXPECT("read the RO page", hx_vm_read(vm, back, VM_RO, 8), 0);
	for (size_t i = 0; i < 8; i++) {
		if (back[i] != pattern(RW_PAGES * PAGE + i))
			return "a refused copy changed the read-only page";
	}
	EXPECT("copy from the hole", hx_arch_copy_user(buf, user(VM_HOLE), 8), -HX_EFAULT);
	if ((why = fixups_moved(&fixups, 1, "copy from the unmapped hole")))
		return why;
	EXPECT("copy running into the hole",
	       hx_arch_copy_user(buf, user(VM_HOLE - 16), sizeof(buf)), -HX_EFAULT);
	return fixups_moved(&fixups, 1, "copy running into the hole");
}

/* The backend over the vm: range, probe against the page tables, copies, unmap after a probe. */
static const char *vm_uspace(struct hx_vm *vm)
{
	uint64_t fixups = hx_arch_uaccess_fixups();
	struct hx_uspace us;
	uint8_t buf[32] = { 0 };
	const char *why;

	EXPECT("init_vm(NULL vm)", hx_uspace_kernel_init_vm(&us, NULL), -HX_EINVAL);
	EXPECT("init_vm", hx_uspace_kernel_init_vm(&us, vm), 0);
	if (us.base != HX_USER_BASE || us.limit != HX_USER_LIMIT)
		return "hx_uspace_kernel_init_vm's range is not [HX_USER_BASE, HX_USER_LIMIT)";
	if (hx_uaccess_ok(&us, HX_USER_LIMIT - 4, 8) || !hx_uaccess_ok(&us, VM_LOW, 8))
		return "hx_uaccess_ok over the vm's range";
	EXPECT("probe RW for write", us.ops->probe(&us, VM_LOW, PAGE, HX_UACCESS_WRITE), 0);
	EXPECT("probe RO for read", us.ops->probe(&us, VM_RO, 8, HX_UACCESS_READ), 0);
	EXPECT("probe RO for write", us.ops->probe(&us, VM_RO, 8, HX_UACCESS_WRITE), -HX_EFAULT);
	EXPECT("probe the hole", us.ops->probe(&us, VM_HOLE, 8, HX_UACCESS_READ), -HX_EFAULT);
	EXPECT("probe page 0", us.ops->probe(&us, 0, 8, HX_UACCESS_READ), -HX_EFAULT);

	EXPECT("copy_in", us.ops->copy_in(&us, buf, VM_LOW + 2 * PAGE, sizeof(buf)), 0);
	EXPECT("copy_out", us.ops->copy_out(&us, VM_LOW + 2 * PAGE, "vm", 3), 0);
	EXPECT("string", us.ops->copy_str_in(&us, (char *)buf, VM_LOW + 2 * PAGE, sizeof(buf)), 2);
	if ((why = fixups_moved(&fixups, 0, "backend copies over mapped pages")))
		return why;

	/* The probe passes; then the page goes (another thread's munmap); the copy still faults:
	 * hx_vm_unmap flushed this CPU's TLB entry, which the copies above had loaded. */
	EXPECT("probe before unmap", us.ops->probe(&us, VM_LOW + 2 * PAGE, 8, HX_UACCESS_WRITE), 0);
	EXPECT("unmap", hx_vm_unmap(vm, VM_LOW + 2 * PAGE, PAGE), 0);
	EXPECT("copy_out after unmap", us.ops->copy_out(&us, VM_LOW + 2 * PAGE, "vm", 3),
	       -HX_EFAULT);
	if ((why = fixups_moved(&fixups, 1, "copy_out to a page unmapped after the probe")))
		return why;
	EXPECT("probe after unmap", us.ops->probe(&us, VM_LOW + 2 * PAGE, 8, HX_UACCESS_WRITE),
	       -HX_EFAULT);
	EXPECT("unmap again (nothing there)", hx_vm_unmap(vm, VM_LOW + 2 * PAGE, PAGE), 0);
	return check_stats(vm, RW_PAGES + 2, 8, "after unmapping a page");
}

/* The kernel half is shared: the heap, the console and kernel data keep working meanwhile. */
static const char *vm_kernel_runs(void)
{
	uint8_t *block = hx_alloc(3 * PAGE);

	if (!block)
		return "hx_alloc with the vm active failed";
	hx_memset(block, 0x5a, 3 * PAGE);
	hx_free(block);
	hx_info("selftest vm: printing with the vm active (time %llu ns)",
	        (unsigned long long)hx_time_ns());
	return NULL;
}

static const char *vm_active(struct hx_vm *vm)
{
	uint8_t byte;
	const char *why;

	if (hx_vm_current() != NULL)
		return "a vm was active before the test";
	hx_vm_activate(vm);
	if (hx_vm_current() != vm) {
		hx_vm_activate(NULL);
		return "hx_vm_current is not the vm just activated";
	}
	why = vm_copies(vm);
	if (!why)
		why = vm_uspace(vm);
	if (!why)
		why = vm_kernel_runs();
	hx_vm_activate(NULL);
	if (why)
		return why;
	if (hx_vm_current() != NULL)
		return "hx_vm_current is not NULL after activating the kernel's tables";
	/* The kernel's own tables have no user half: the same address faults now. */
	EXPECT("copy from VM_LOW with the vm inactive", hx_arch_copy_user(&byte, user(VM_LOW), 1),
	       -HX_EFAULT);
	return NULL;
}

/* Out of frames: create and alloc fail cleanly, alloc rolls back, nothing leaks. */
#define OOM_KEEP 8

static const char *vm_out_of_memory_checks(void)
{
	size_t live = live_allocations();
	struct hx_vm *vm, *other = NULL;
	const char *why;

	EXPECT("create with 8 frames free", hx_vm_create(&vm), 0);
	/* 7 left: 3 tables, then 4 of the 16 pages, then none; those 4 come back. */
	EXPECT("alloc 16 pages with 7 frames", hx_vm_alloc(vm, VM_LOW, 16 * PAGE, HX_VM_WRITE),
	       -HX_ENOMEM);
	if ((why = check_stats(vm, 0, 4, "after a failed alloc")))
		goto out;
	if (hx_vm_query(vm, VM_LOW, NULL, NULL) != -HX_EFAULT) {
		why = "a page of a failed alloc is still mapped";
		goto out;
	}
	if (free_frames() != OOM_KEEP - 4) {
		why = failed("%llu frames free after a failed alloc, expected %d",
		             (unsigned long long)free_frames(), OOM_KEEP - 4);
		goto out;
	}
	EXPECT("alloc the 4 pages left", hx_vm_alloc(vm, VM_LOW, 4 * PAGE, HX_VM_WRITE), 0);
	EXPECT("alloc with no frame left", hx_vm_alloc(vm, VM_HOLE, PAGE, 0), -HX_ENOMEM);
	EXPECT("create with no frame left", hx_vm_create(&other), -HX_ENOMEM);
	if (other != NULL || live_allocations() != live + 1) {
		why = "a failed hx_vm_create left something behind";
		goto out;
	}
out:
	hx_vm_destroy(vm);
	return why;
}

static const char *vm_out_of_memory(void)
{
	uint64_t hoard;
	const char *why, *release;

	/* Exactly OOM_KEEP frames left, none of them in the cache. */
	(void)hx_vm_cache_drain();
	hoard = hx_selftest_hoard_frames(OOM_KEEP);
	if (free_frames() != OOM_KEEP) {
		release = hx_selftest_release_frames(hoard);
		return release ? release : "could not leave exactly 8 frames free";
	}
	why = vm_out_of_memory_checks();
	release = hx_selftest_release_frames(hoard);
	return why ? why : release;
}

static const char *vm_churn(void)
{
	for (int i = 0; i < CHURN; i++) {
		struct hx_vm *vm;
		int err;

		EXPECT("create in the loop", hx_vm_create(&vm), 0);
		err = hx_vm_alloc(vm, VM_LOW, 2 * PAGE, HX_VM_WRITE);
		if (err == 0)
			err = hx_vm_alloc(vm, VM_TOP, PAGE, 0);
		if (err == 0)
			err = hx_vm_write(vm, VM_LOW + PAGE - 2, "churn", 6);
		hx_vm_destroy(vm);
		EXPECT("alloc and write in the loop", err, 0);
	}
	return NULL;
}

static const char *vm_one(void)
{
	struct hx_vm *vm;
	const char *why;

	EXPECT("create", hx_vm_create(&vm), 0);
	/* vm_active switches back to the kernel's tables whatever happens. */
	if (!(why = check_stats(vm, 0, 1, "a new vm")) && !(why = vm_arguments(vm)) &&
	    !(why = vm_layout(vm)) && !(why = vm_contents(vm)) && !(why = vm_checks(vm)))
		why = vm_active(vm);
	hx_vm_destroy(vm);
	return why;
}

const char *hx_selftest_vm(void)
{
	uint64_t frames_before, frames_now;
	size_t live_before, live_now;
	struct hx_vm *vm;
	const char *why;

	/* Once first, so that heap growth for the vm's bookkeeping is not counted as a leak. */
	EXPECT("warm-up create", hx_vm_create(&vm), 0);
	hx_vm_destroy(vm);
	frames_before = free_frames();
	live_before = live_allocations();

	if ((why = vm_one()))
		return why;
	if (free_frames() != frames_before)
		return failed("%llu frames free after destroying the vm, %llu before",
		              (unsigned long long)free_frames(), (unsigned long long)frames_before);
	if ((why = vm_out_of_memory()) || (why = vm_churn()))
		return why;
	if (!counts_back(frames_before, live_before, &frames_now, &live_now))
		return failed(
		    "leak: %llu frames free and %zu heap blocks live 100 ms on, were %llu "
		    "and %zu",
		    (unsigned long long)frames_now, live_now, (unsigned long long)frames_before,
		    live_before);
	hx_info("selftest vm: %d address spaces made and destroyed, %llu frames free as before",
	        CHURN + 3, (unsigned long long)frames_before);
	return NULL;
}
