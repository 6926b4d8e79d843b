/* SPDX-License-Identifier: MIT */
/*
 * Single x86_64 instructions as inline functions: port I/O, control registers, MSRs, CPUID, TSC.
 * Any context. Kernel only.
 */
#ifndef HELIX_ARCH_CPU_H
#define HELIX_ARCH_CPU_H

#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_RFLAGS_IF (1ul << 9)

#define HX_MSR_EFER      0xc0000080u
#define HX_MSR_FS_BASE   0xc0000100u
#define HX_MSR_GS_BASE   0xc0000101u
#define HX_MSR_KERNEL_GS 0xc0000102u

static inline void hx_outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void hx_outl(uint16_t port, uint32_t value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t hx_inb(uint16_t port)
{
	uint8_t value;
	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
	return value;
}

static inline uint64_t hx_read_cr2(void)
{
	uint64_t value;
	__asm__ volatile("movq %%cr2, %0" : "=r"(value));
	return value;
}

static inline uint64_t hx_read_cr3(void)
{
	uint64_t value;
	__asm__ volatile("movq %%cr3, %0" : "=r"(value) : : "memory");
	return value;
}

/* Loading CR3 also flushes every non-global TLB entry. */
static inline void hx_write_cr3(uint64_t value)
{
	__asm__ volatile("movq %0, %%cr3" : : "r"(value) : "memory");
}

static inline uint64_t hx_rdmsr(uint32_t msr)
{
	uint32_t low, high;
	__asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
	return ((uint64_t)high << 32) | low;
}

static inline void hx_wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr"
	                 :
	                 : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
	                 : "memory");
}

static inline void hx_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *eax, uint32_t *ebx,
                            uint32_t *ecx, uint32_t *edx)
{
	__asm__ volatile("cpuid"
	                 : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx)
	                 : "a"(leaf), "c"(subleaf));
}

/* The TSC, ordered after earlier loads (lfence) so a measurement does not start early. */
static inline uint64_t hx_rdtsc(void)
{
	uint32_t low, high;
	__asm__ volatile("lfence\n\trdtsc" : "=a"(low), "=d"(high) : : "memory");
	return ((uint64_t)high << 32) | low;
}

static inline uint64_t hx_read_rflags(void)
{
	uint64_t flags;
	__asm__ volatile("pushfq\n\tpopq %0" : "=r"(flags) : : "memory");
	return flags;
}

static inline void hx_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli\n\thlt" : : : "memory");
}

HX_END_DECLS

#endif /* HELIX_ARCH_CPU_H */
