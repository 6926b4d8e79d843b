/* SPDX-License-Identifier: MIT */
/*
 * Entry points for every vector: exceptions 0..31 and interrupts 32..255. Each one makes the stack
 * uniform (a dummy error code where the CPU pushes none, then the vector) and jumps to isr_common,
 * which saves the general registers into a struct hx_trap_frame (helix/arch/idt.h: keep the two
 * in step) and calls hx_arch_trap(frame). If that returns, the registers are restored and iretq
 * resumes the interrupted code, in kernel or user mode. No swapgs: the kernel keeps no per-CPU
 * data in GS (one CPU; see syscall.S), and user programs cannot change GS's base (no FSGSBASE).
 *
 * The second ISR argument says whether the CPU pushes an error code itself (vectors 8, 10-14, 17,
 * 21, 29, 30). The interrupt stubs (IRQ) are each exactly HX_IRQ_STUB_SIZE bytes apart, so
 * hx_idt_init finds vector v's at hx_irq_stubs + (v - 32) * HX_IRQ_STUB_SIZE.
 */

	.macro	ISR vector, error_code
	.balign	16
isr_\vector:
	.if	\error_code == 0
	pushq	$0
	.endif
	pushq	$\vector
	jmp	isr_common
	.endm

/* An interrupt: no error code. pushq $imm32 (5 bytes) + pushq $0 (2) + jmp rel32 (5) fit in 16. */
	.macro	IRQ vector
	.balign	16
	pushq	$0
	pushq	$\vector
	jmp	isr_common
	.endm

	.text
	ISR 0, 0
	ISR 1, 0
	ISR 2, 0
	ISR 3, 0
	ISR 4, 0
	ISR 5, 0
	ISR 6, 0
	ISR 7, 0
	ISR 8, 1
	ISR 9, 0
	ISR 10, 1
	ISR 11, 1
	ISR 12, 1
	ISR 13, 1
	ISR 14, 1
	ISR 15, 0
	ISR 16, 0
	ISR 17, 1
	ISR 18, 0
	ISR 19, 0
	ISR 20, 0
	ISR 21, 1
	ISR 22, 0
	ISR 23, 0
	ISR 24, 0
	ISR 25, 0
	ISR 26, 0
	ISR 27, 0
	ISR 28, 0
	ISR 29, 1
	ISR 30, 1
	ISR 31, 0

	.balign	16
	.globl	hx_irq_stubs
hx_irq_stubs:
	.set	irq_vector, 32
	.rept	224
	IRQ	irq_vector
	.set	irq_vector, irq_vector + 1
	.endr
	.size	hx_irq_stubs, . - hx_irq_stubs

	.balign	16
	.type	isr_common, @function
isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld				/* the C ABI wants DF clear */
	movq	%rsp, %rdi		/* struct hx_trap_frame * */
	movq	%rsp, %rbx		/* callee-saved: survives the call */
	andq	$-16, %rsp		/* the C ABI wants rsp 16-aligned at the call */
	call	hx_arch_trap
	movq	%rbx, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq
	.size	isr_common, . - isr_common

/* Entry point addresses by vector, for hx_idt_init. */
	.section .rodata
	.balign	8
	.globl	hx_isr_entries
hx_isr_entries:
	.irp	vector, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad	isr_\vector
	.endr
	.size	hx_isr_entries, . - hx_isr_entries

	.section .note.GNU-stack, "", @progbits
