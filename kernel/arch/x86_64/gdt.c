// SPDX-License-Identifier: MIT
#include <stdint.h>

#include <helix/arch/gdt.h>
#include <helix/assert.h>
#include <helix/compiler.h>

#define IST_STACK_SIZE  16384
#define RSP0_STACK_SIZE 16384

/* The 64-bit TSS: only the stack pointers matter in long mode. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} HX_PACKED;

HX_STATIC_ASSERT(sizeof(struct tss) == 104, "the hardware TSS is 104 bytes");

struct descriptor_pointer {
	uint16_t limit;
	uint64_t base;
} HX_PACKED;

/* Access byte and flags of the code and data descriptors; base and limit are ignored in long mode.
 */
#define SEGMENT(access, flags) \
	(((uint64_t)(flags) << 52) | ((uint64_t)(access) << 40) | 0x000f00000000ffffull)
#define ACCESS_PRESENT     0x80
#define ACCESS_DPL3        0x60
#define ACCESS_SEGMENT     0x10 /* code or data, not system */
#define ACCESS_CODE        0x0a /* execute/read */
#define ACCESS_DATA        0x02 /* read/write */
#define FLAGS_LONG         0x2  /* 64-bit code */
#define FLAGS_32           0x4  /* 32-bit default size (data: ignored) */
#define FLAGS_GRANULAR     0x8
#define TSS_TYPE_AVAILABLE 0x9

enum {
	GDT_NULL,
	GDT_KERNEL_CODE,
	GDT_KERNEL_DATA,
	GDT_USER_DATA,
	GDT_USER_CODE,
	GDT_TSS_LOW,
	GDT_TSS_HIGH,
	GDT_ENTRIES,
};

HX_STATIC_ASSERT(GDT_KERNEL_CODE * 8 == HX_GDT_KERNEL_CODE, "selector layout");
HX_STATIC_ASSERT(GDT_KERNEL_DATA * 8 == HX_GDT_KERNEL_DATA, "selector layout");
HX_STATIC_ASSERT(GDT_USER_DATA * 8 == HX_GDT_USER_DATA, "selector layout");
HX_STATIC_ASSERT(GDT_USER_CODE * 8 == HX_GDT_USER_CODE, "selector layout");
HX_STATIC_ASSERT(GDT_TSS_LOW * 8 == HX_GDT_TSS, "selector layout");

static _Alignas(16) uint64_t gdt[GDT_ENTRIES];
static _Alignas(16) struct tss tss;
static _Alignas(16) uint8_t ist_stacks[3][IST_STACK_SIZE];
static _Alignas(16) uint8_t rsp0_stack[RSP0_STACK_SIZE];

static uint64_t stack_top(uint8_t *stack, size_t size)
{
	return (uint64_t)(uintptr_t)(stack + size);
}

void hx_tss_set_rsp0(uint64_t rsp0)
{
	tss.rsp[0] = rsp0;
}

void hx_gdt_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss;
	uint64_t limit = sizeof(tss) - 1;
	struct descriptor_pointer gdtr = { .limit = sizeof(gdt) - 1,
		                           .base = (uint64_t)(uintptr_t)gdt };

	gdt[GDT_NULL] = 0;
	gdt[GDT_KERNEL_CODE] =
	    SEGMENT(ACCESS_PRESENT | ACCESS_SEGMENT | ACCESS_CODE, FLAGS_GRANULAR | FLAGS_LONG);
	gdt[GDT_KERNEL_DATA] =
	    SEGMENT(ACCESS_PRESENT | ACCESS_SEGMENT | ACCESS_DATA, FLAGS_GRANULAR | FLAGS_32);
	gdt[GDT_USER_DATA] = SEGMENT(ACCESS_PRESENT | ACCESS_DPL3 | ACCESS_SEGMENT | ACCESS_DATA,
	                             FLAGS_GRANULAR | FLAGS_32);
	gdt[GDT_USER_CODE] = SEGMENT(ACCESS_PRESENT | ACCESS_DPL3 | ACCESS_SEGMENT | ACCESS_CODE,
	                             FLAGS_GRANULAR | FLAGS_LONG);

	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap */
	tss.rsp[0] = stack_top(rsp0_stack, sizeof(rsp0_stack));
	tss.ist[HX_IST_DOUBLE_FAULT - 1] = stack_top(ist_stacks[0], IST_STACK_SIZE);
	tss.ist[HX_IST_NMI - 1] = stack_top(ist_stacks[1], IST_STACK_SIZE);
	tss.ist[HX_IST_MACHINE_CHECK - 1] = stack_top(ist_stacks[2], IST_STACK_SIZE);

	gdt[GDT_TSS_LOW] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
	                   ((uint64_t)(ACCESS_PRESENT | TSS_TYPE_AVAILABLE) << 40) |
	                   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS_HIGH] = base >> 32;

	/* CS can only be reloaded by a far transfer: lretq to the next instruction. */
	__asm__ volatile("lgdt %0\n\t"
	                 "pushq %1\n\t"
	                 "leaq 1f(%%rip), %%rax\n\t"
	                 "pushq %%rax\n\t"
	                 "lretq\n"
	                 "1:\n\t"
	                 "movl %2, %%eax\n\t"
	                 "movl %%eax, %%ds\n\t"
	                 "movl %%eax, %%es\n\t"
	                 "movl %%eax, %%ss\n\t"
	                 "xorl %%eax, %%eax\n\t"
	                 "movl %%eax, %%fs\n\t"
	                 "movl %%eax, %%gs\n\t"
	                 "ltr %w3"
	                 :
	                 : "m"(gdtr), "i"(HX_GDT_KERNEL_CODE), "i"(HX_GDT_KERNEL_DATA),
	                   "r"(HX_GDT_TSS)
	                 : "rax", "memory");
}
