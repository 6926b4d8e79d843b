/* SPDX-License-Identifier: MIT */
/*
 * The kernel's virtual address layout, set up by boot.S and linker.ld:
 *
 * 0x0000000000000000  identity map of the first 1 GiB, only while switching to long mode;
 *                     hx_mmu_drop_identity_map removes it, so the lower half is unmapped and a
 *                     NULL dereference faults.
 * 0xffff800000000000  direct map of physical [0, 4 GiB) in 2 MiB pages, not executable (NX).
 * 0xffffffff80000000  the kernel image window: physical [0, 1 GiB), the image linked at +1 MiB.
 *
 * Physical memory above 4 GiB is neither mapped nor managed (yet).
 */
#ifndef HELIX_ARCH_MEMORY_H
#define HELIX_ARCH_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_DIRECT_MAP_BASE  0xffff800000000000ull
#define HX_DIRECT_MAP_SIZE  (4ull << 30)
#define HX_KERNEL_VIRT_BASE 0xffffffff80000000ull
#define HX_KERNEL_PHYS_BASE 0x100000ull

/* Defined by linker.ld. Use the functions below rather than these. */
extern char __kernel_phys_start[], __kernel_phys_end[];
extern char __kernel_virt_start[], __kernel_virt_end[];
extern char __text_start[], __text_end[];

/* Physical [start, end) of the whole kernel image: boot code, early page tables, text, data, bss.
 */
static inline uint64_t hx_kernel_phys_start(void)
{
	return (uint64_t)(uintptr_t)__kernel_phys_start;
}

static inline uint64_t hx_kernel_phys_end(void)
{
	return (uint64_t)(uintptr_t)__kernel_phys_end;
}

/* True when [@addr, @addr + @len) lies inside the higher-half kernel image (text, data, bss,
 * stacks). */
static inline bool hx_kernel_image_contains(uint64_t addr, uint64_t len)
{
	uint64_t start = (uint64_t)(uintptr_t)__kernel_virt_start;
	uint64_t end = (uint64_t)(uintptr_t)__kernel_virt_end;
	return addr >= start && addr <= end && len <= end - addr;
}

/* True when @addr is inside the kernel's code. */
static inline bool hx_kernel_text_contains(uint64_t addr)
{
	return addr >= (uint64_t)(uintptr_t)__text_start && addr < (uint64_t)(uintptr_t)__text_end;
}

/* The direct-map address of physical @phys, which must be below HX_DIRECT_MAP_SIZE. */
static inline void *hx_phys_to_virt(uint64_t phys)
{
	return (void *)(uintptr_t)(HX_DIRECT_MAP_BASE + phys);
}

/* The physical address behind a direct-map pointer. */
static inline uint64_t hx_virt_to_phys(const void *virt)
{
	return (uint64_t)(uintptr_t)virt - HX_DIRECT_MAP_BASE;
}

/*
 * hx_mmu_drop_identity_map - unmap the boot identity map of the lower half and flush the TLB, so
 * that a NULL (or any lower-half) access faults. Boot CPU, once, after nothing uses low addresses.
 */
void hx_mmu_drop_identity_map(void);

HX_END_DECLS

#endif /* HELIX_ARCH_MEMORY_H */
