/* SPDX-License-Identifier: MIT */
/*
 * The IDT, the exception entry points (isr.S) and the trap frame they build.
 */
#ifndef HELIX_ARCH_IDT_H
#define HELIX_ARCH_IDT_H

#include <stdint.h>

#include <helix/assert.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_EXCEPTION_VECTORS 32

#define HX_VECTOR_DIVIDE             0
#define HX_VECTOR_NMI                2
#define HX_VECTOR_BREAKPOINT         3
#define HX_VECTOR_INVALID_OPCODE     6
#define HX_VECTOR_DOUBLE_FAULT       8
#define HX_VECTOR_GENERAL_PROTECTION 13
#define HX_VECTOR_PAGE_FAULT         14
#define HX_VECTOR_MACHINE_CHECK      18

/*
 * The stack of an interrupted context as isr.S leaves it, lowest address first: the general
 * registers the entry code pushed, the vector and error code (0 where the CPU pushes none), then
 * what the CPU pushed. The layout is shared with isr.S: change both or neither.
 */
struct hx_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

HX_STATIC_ASSERT(sizeof(struct hx_trap_frame) == 22 * 8, "isr.S pushes 22 quadwords");

/* hx_idt_init - install the exception gates and load the IDT. Boot CPU, once, after hx_gdt_init. */
void hx_idt_init(void);

/* hx_arch_trap - the C side of every entry point in isr.S; interrupts are off. Not for C callers.
 */
void hx_arch_trap(struct hx_trap_frame *frame);

/* The short name of an exception vector, e.g. "page fault"; "reserved" or "interrupt" otherwise. */
const char *hx_exception_name(uint64_t vector);

HX_END_DECLS

#endif /* HELIX_ARCH_IDT_H */
