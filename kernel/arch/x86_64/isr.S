/* SPDX-License-Identifier: MIT */
/*
 * Exception entry points for vectors 0..31. Each one makes the stack uniform (a dummy error code
 * where the CPU pushes none, then the vector) and jumps to isr_common, which saves the general
 * registers into a struct hx_trap_frame (helix/arch/idt.h: keep the two in step) and calls
 * hx_arch_trap(frame). If that returns, the registers are restored and iretq resumes the
 * interrupted code. Kernel mode only for now: no swapgs until there is a user mode.
 *
 * The second ISR argument says whether the CPU pushes an error code itself (vectors 8, 10-14, 17,
 * 21, 29, 30).
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
