/* SPDX-License-Identifier: MIT */
/*
 * Private to kernel/core: what kmain, the kernel heap and the boot self-tests share.
 */
#ifndef HELIX_CORE_KERNEL_H
#define HELIX_CORE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/frames.h>
#include <helix/heap.h>

#ifndef HX_VERSION
#define HX_VERSION "0.1.0"
#endif

/* The C entry point, called by boot.S on the boot stack with the multiboot2 magic and MBI address.
 */
void kmain(uint32_t magic, uint64_t mbi_phys);

/* ---- kmem.c: physical frames and the kernel heap behind hx_alloc
 * --------------------------------- */

/*
 * hx_kmem_init_frames - the frame allocator over @map minus @reserved, managing memory below the
 * direct map's end (4 GiB). Boot, once. Returns hx_frames_init's result.
 */
int hx_kmem_init_frames(const struct hx_mem_region *map, size_t map_len,
                        const struct hx_mem_range *reserved, size_t reserved_len);

/* hx_kmem_init_heap - start the kernel heap; it grows by taking contiguous frames. Boot, once. */
void hx_kmem_init_heap(void);

/* The kernel's frame allocator and heap, for statistics and the self-tests. */
struct hx_frames *hx_kmem_frames(void);
struct hx_heap *hx_kmem_heap(void);

/* ---- selftest.c ---- */

/*
 * hx_selftest_run_list - run the comma-separated self-tests in @names in order (`all`: every one
 * that does not end the kernel). Each prints
 * "selftest <name>: ok"; a failure prints "selftest <name>: FAILED: <why>" and exits with
 * HX_EXIT_SELFTEST, as does an unknown name. Some tests (fault, ud, panic) end the kernel by
 * design.
 */
void hx_selftest_run_list(const char *names);

/* hx_selftest_failed - format a failure reason into a static buffer and return it (for the
 * tests' `return hx_selftest_failed("...", ...)`). Boot task only. */
const char *hx_selftest_failed(const char *fmt, ...) HX_PRINTF(1, 2);

/* hx_selftest_mismatch - "<what>: <got> (<error name>), expected <want> (<error name>)". */
const char *hx_selftest_mismatch(const char *what, long got, long want);

/* HX_SELFTEST_EXPECT - return the mismatch from the enclosing test unless @call gives @want. */
#define HX_SELFTEST_EXPECT(what, call, want)                                   \
	do {                                                                   \
		long got_ = (call);                                            \
		if (got_ != (long)(want))                                      \
			return hx_selftest_mismatch(what, got_, (long)(want)); \
	} while (0)

/* ---- selftest_tasks.c ---- */

/* `selftest=sched`: the timer, preemption, priorities, sleeping, exit and join. */
const char *hx_selftest_sched(void);

/* `selftest=ipc`: channels, the bus and the router between preempted kernel tasks. */
const char *hx_selftest_ipc(void);

/* `selftest=user`: init and its children run in ring 3 and end as they should. */
const char *hx_selftest_user(void);

/* `selftest=pressure`: pressure events at the thresholds; the vm cache gives frames back. */
const char *hx_selftest_pressure(void);

/* `selftest=stress`: many processes at once, and a channel under heavy contention. */
const char *hx_selftest_stress(void);
/*
 * hx_selftest_hoard_frames - take free frames from the kernel's allocator, largest chunks first,
 * until exactly @keep are left free (fewer if fewer were). Returns the chain of what was taken
 * (physical address of its first chunk), for hx_selftest_release_frames. Self-tests only.
 */
uint64_t hx_selftest_hoard_frames(uint64_t keep);

/* hx_selftest_release_frames - give a hoard back. NULL, or why a free failed. */
const char *hx_selftest_release_frames(uint64_t head);

/* ---- selftest_syscall.c ---- */

/* `selftest=syscall`: NULL, or why the syscall framework failed in the booted kernel. */
const char *hx_selftest_syscall(void);

/* ---- selftest_vm.c ---- */

/* `selftest=vm`: NULL, or why per-process address spaces failed in the booted kernel. */
const char *hx_selftest_vm(void);

#endif /* HELIX_CORE_KERNEL_H */
