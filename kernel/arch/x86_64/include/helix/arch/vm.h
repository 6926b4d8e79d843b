/* SPDX-License-Identifier: MIT */
/*
 * Per-process address spaces (kernel/arch/x86_64/vm.c, docs/memory.md).
 *
 * A struct hx_vm is one PML4. Its kernel half (PML4 entries 256..511) is a copy of the kernel's
 * own PML4 taken at hx_vm_create, so every vm shares the kernel's page tables below those entries
 * (supervisor-only: no U bit). Its lower half is the process's own: 4 KiB pages inside
 * [HX_USER_BASE, HX_USER_LIMIT) (helix/abi.h), with the U bit at every level, writable only with
 * HX_VM_WRITE and not executable (NX) without HX_VM_EXEC.
 *
 * Ownership: a vm owns every frame mapped into it, by hx_vm_map as well as by hx_vm_alloc, and
 * every page-table frame it allocated; hx_vm_unmap and hx_vm_destroy give them back, to the frame
 * cache below while it has room, else to the frame allocator. A frame must therefore be mapped
 * once, into one vm.
 *
 * Concurrency: each vm has an IRQ-safe lock; map, alloc, unmap, query, check, read and write may
 * be called from any number of tasks on the same vm, with interrupts on or off (never from an
 * interrupt handler: they allocate frames). hx_vm_destroy needs the caller to be the vm's last
 * user. One CPU: the TLB is flushed on this CPU only (SMP needs a shootdown).
 */
#ifndef HELIX_ARCH_VM_H
#define HELIX_ARCH_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h> /* HX_USER_BASE, HX_USER_LIMIT */
#include <helix/compiler.h>
#include <helix/frames.h>

HX_BEGIN_DECLS

#define HX_VM_PAGE_SIZE 4096u

/* Mapping flags: a user page is always present, user-accessible and readable. */
#define HX_VM_WRITE 0x1u /* writable (otherwise read-only, also for the kernel: CR0.WP) */
#define HX_VM_EXEC  0x2u /* executable (otherwise NX, when the CPU has NX) */

/* Opaque: vm.c's. */
struct hx_vm;

struct hx_vm_stats {
	uint64_t pages;        /* user pages mapped */
	uint64_t table_frames; /* page-table frames owned, the PML4 included */
};

/*
 * hx_vm_init - take page-table and user frames from @frames from now on, and remember the current
 * CR3 as the kernel's PML4. Boot CPU, once, after the lower half has been unmapped
 * (hx_mmu_drop_identity_map) and before any other hx_vm_* call.
 */
void hx_vm_init(struct hx_frames *frames);

/*
 * hx_vm_create - a new address space: a PML4 whose kernel half is the kernel's and whose user half
 * is empty. Task context. Returns 0 and *@out, or -HX_ENOMEM (nothing allocated).
 */
int hx_vm_create(struct hx_vm **out);

/*
 * hx_vm_destroy - free every user frame and page-table frame of @vm, and @vm itself. NULL is
 * ignored. @vm must not be active on this CPU (switch with hx_vm_activate first): destroying the
 * active vm panics. Task context.
 */
void hx_vm_destroy(struct hx_vm *vm);

/*
 * hx_vm_map - map the 4 KiB frame at @phys at user address @va with @flags (HX_VM_*), allocating
 * page tables as needed. On success @vm owns the frame. Task context. Returns 0, -HX_EINVAL (@va
 * not page aligned or outside [HX_USER_BASE, HX_USER_LIMIT), @phys not page aligned or beyond the
 * direct map, unknown flags), -HX_EEXIST (@va already mapped), -HX_ENOMEM (no frame for a page
 * table; the caller keeps @phys).
 */
int hx_vm_map(struct hx_vm *vm, uint64_t va, uint64_t phys, unsigned flags);

/*
 * hx_vm_alloc - map fresh zeroed frames over [@va, @va + @len) with @flags: all or nothing (on
 * failure no page of the range is mapped; page tables allocated on the way stay until destroy).
 * Task context. Returns 0, -HX_EINVAL (@va or @len not page aligned, @len 0, the range not inside
 * [HX_USER_BASE, HX_USER_LIMIT), unknown flags), -HX_EEXIST (a page of the range is mapped
 * already; nothing changed), -HX_ENOMEM.
 */
int hx_vm_alloc(struct hx_vm *vm, uint64_t va, size_t len, unsigned flags);

/*
 * hx_vm_unmap - unmap the pages of [@va, @va + @len) that are mapped and free their frames; pages
 * not mapped are skipped. Flushes them from this CPU's TLB when @vm is active. Page tables stay
 * until destroy. Task context. Returns 0, or -HX_EINVAL (as for hx_vm_alloc, but @len 0 is fine).
 */
int hx_vm_unmap(struct hx_vm *vm, uint64_t va, size_t len);

/*
 * hx_vm_query - the mapping of user address @va (any offset in its page): the physical address
 * of that byte into *@phys and its HX_VM_* flags into *@flags (either may be NULL). Task context.
 * Returns 0 or -HX_EFAULT (not mapped, or outside the user range).
 */
int hx_vm_query(struct hx_vm *vm, uint64_t va, uint64_t *phys, unsigned *flags);

/*
 * hx_vm_check - 0 when every page of [@addr, @addr + @len) is mapped (and writable when @write)
 * and the range lies inside [HX_USER_BASE, HX_USER_LIMIT) without wrapping; -HX_EFAULT otherwise.
 * A zero length is fine anywhere in [HX_USER_BASE, HX_USER_LIMIT]. Task context. The answer is a
 * snapshot: a page may be unmapped right after it.
 */
int hx_vm_check(struct hx_vm *vm, uint64_t addr, size_t len, bool write);

/*
 * hx_vm_write / hx_vm_read - copy between kernel memory and @vm's user pages through the direct
 * map, whether or not @vm is active, ignoring HX_VM_WRITE (the ELF loader fills read-only text).
 * Task context. Returns 0, or -HX_EFAULT when a page of the range is not mapped or the range is
 * outside the user range: then nothing was copied (unless another task unmapped a page meanwhile:
 * then a prefix may have been).
 */
int hx_vm_write(struct hx_vm *vm, uint64_t va, const void *src, size_t len);
int hx_vm_read(struct hx_vm *vm, void *dst, uint64_t va, size_t len);

/*
 * hx_vm_activate - load @vm's PML4 into CR3 on this CPU (NULL: the kernel's own, whose user half
 * is empty), and make it hx_vm_current. Interrupts may be on: CR3 and the current pointer change
 * together, with interrupts off. Any context: it takes no lock, so the scheduler calls it when it
 * switches tasks, also at an interrupt's exit.
 */
void hx_vm_activate(struct hx_vm *vm);

/* hx_vm_current - the vm active on this CPU, NULL for the kernel's own page tables. Any context. */
struct hx_vm *hx_vm_current(void);

/* ---- The frame cache: frames vms gave back, kept for the next vm ---- */

#define HX_VM_CACHE_MAX 256 /* frames (1 MiB) */

struct hx_vm_cache_stats {
	uint64_t cached;  /* frames in the cache now */
	uint64_t hits;    /* frames a vm took from the cache */
	uint64_t misses;  /* frames a vm took from the allocator (the cache was empty) */
	uint64_t drained; /* frames hx_vm_cache_drain gave back to the allocator */
};

/*
 * hx_vm_cache_drain - give every cached frame back to the frame allocator; returns how many. The
 * kernel calls it under memory pressure. Task context.
 */
size_t hx_vm_cache_drain(void);

/* hx_vm_cache_get_stats - a snapshot of the cache's counters. Any context but an interrupt. */
void hx_vm_cache_get_stats(struct hx_vm_cache_stats *out);

/* hx_vm_get_stats - a snapshot of @vm's counters. Task context. */
void hx_vm_get_stats(struct hx_vm *vm, struct hx_vm_stats *out);

HX_END_DECLS

#endif /* HELIX_ARCH_VM_H */
