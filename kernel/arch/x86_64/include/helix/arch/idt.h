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

/* Interrupt vectors 32..255 go to handlers set with hx_irq_set_handler. */
#define HX_IRQ_VECTOR_BASE 32
#define HX_IRQ_STUB_SIZE   16 /* isr.S: the distance between two interrupt stubs */

/*
 * An interrupt handler: runs with interrupts off on the interrupted task's kernel stack; it
 * acknowledges its interrupt controller itself (EOI) before anything that may switch tasks.
 */
typedef void (*hx_irq_handler_fn)(struct hx_trap_frame *frame);

/* After every interrupt handler (the scheduler's preemption point), and for user-mode
 * exceptions (the process layer: ends the process, never returns). */
typedef void (*hx_irq_exit_fn)(struct hx_trap_frame *frame);
typedef HX_NORETURN void (*hx_user_fault_fn)(struct hx_trap_frame *frame, uint64_t cr2);

/* hx_idt_init - install every gate and load the IDT. Boot CPU, once, after hx_gdt_init. */
void hx_idt_init(void);

/*
 * hx_irq_set_handler - route @vector (HX_IRQ_VECTOR_BASE..255) to @fn (NULL: an unexpected
 * interrupt, reported once per vector and otherwise ignored). Interrupts off or before they are
 * enabled. Returns 0 or -HX_EINVAL.
 */
int hx_irq_set_handler(unsigned vector, hx_irq_handler_fn fn);

/* hx_irq_set_exit_hook / hx_idt_set_user_fault_handler - install the two hooks above (boot). */
void hx_irq_set_exit_hook(hx_irq_exit_fn fn);
void hx_idt_set_user_fault_handler(hx_user_fault_fn fn);

/* hx_irq_count - interrupts taken on @vector since boot (0 for exceptions). Any context. */
uint64_t hx_irq_count(unsigned vector);

/* hx_arch_trap - the C side of every entry point in isr.S; interrupts are off. Not for C callers.
 */
void hx_arch_trap(struct hx_trap_frame *frame);

/* The short name of an exception vector, e.g. "page fault"; "reserved" or "interrupt" otherwise. */
const char *hx_exception_name(uint64_t vector);

HX_END_DECLS

#endif /* HELIX_ARCH_IDT_H */
