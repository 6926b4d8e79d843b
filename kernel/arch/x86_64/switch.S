/* SPDX-License-Identifier: MIT */
/*
 * Kernel stack switching for the scheduler (kernel/core/sched.c).
 *
 * A task that is not running has, at its saved rsp, the callee-saved registers hx_arch_switch
 * pushed (r15 lowest, then r14, r13, r12, rbx, rbp) and above them the return address into its
 * hx_arch_switch call. Everything else it needs is already on its stack: the caller-saved
 * registers are the C caller's to lose, and an interrupted task's full state sits in the trap
 * frame further up (isr.S), restored by iretq when the task resumes inside its interrupt.
 *
 * A new task's stack is made to look the same (hx_arch_task_stack_init in sched_arch.c): six
 * zeroed registers except r12 = its entry and r13 = its argument, and hx_arch_task_start as the
 * return address.
 */

	.text

/* void hx_arch_switch(uint64_t *save_rsp, uint64_t load_rsp): interrupts off. */
	.balign	16
	.globl	hx_arch_switch
	.type	hx_arch_switch, @function
hx_arch_switch:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	hx_arch_switch, . - hx_arch_switch

/* A new task's first instruction: hx_sched_task_entry(entry = r12, arg = r13), which never
 * returns. rsp is 16-aligned here (the stack top is), so the call leaves the callee aligned as the
 * ABI wants; rbp = 0 ends exception backtraces. */
	.balign	16
	.globl	hx_arch_task_start
	.type	hx_arch_task_start, @function
hx_arch_task_start:
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	movq	%r13, %rsi
	call	hx_sched_task_entry
	ud2
	.size	hx_arch_task_start, . - hx_arch_task_start

	.section .note.GNU-stack, "", @progbits
