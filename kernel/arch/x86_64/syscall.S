/* SPDX-License-Identifier: MIT */
/*
 * The SYSCALL entry (LSTAR points here; set up by hx_arch_syscall_init in usermode.c) and the
 * first entry into user mode.
 *
 * On `syscall` the CPU has put the user's rip in rcx and rflags in r11, loaded CS/SS from STAR,
 * and cleared IF, DF, TF and AC (FMASK); rsp is still the user's. The stub:
 *   1. parks the user rsp and switches to the running task's kernel stack (hx_arch_syscall_stack,
 *      set by the scheduler at every switch: one CPU, so one variable; SMP would use swapgs and a
 *      per-CPU area);
 *   2. saves every register the user may expect back into a struct hx_syscall_frame (usermode.h;
 *      the layout is shared: change both or neither) and turns interrupts back on: handlers block;
 *   3. calls helix_syscall_entry(nr = rax, rdi, rsi, rdx, r10, r8, r9), the 7th C argument on the
 *      stack;
 *   4. calls hx_arch_syscall_return(frame) with the result stored in the frame: the process layer
 *      ends the process there (never returning) when it called exit, or when its return address
 *      is not canonical (sysret would fault in ring 0 with the user's rsp);
 *   5. restores everything with interrupts off and returns with sysretq (rax = the result; rcx
 *      and r11 hold rip and rflags as the ABI says).
 */

	.text

	.balign	16
	.globl	hx_arch_syscall_entry
	.type	hx_arch_syscall_entry, @function
hx_arch_syscall_entry:
	movq	%rsp, hx_arch_syscall_user_rsp(%rip)
	movq	hx_arch_syscall_stack(%rip), %rsp
	pushq	hx_arch_syscall_user_rsp(%rip)	/* user_rsp */
	pushq	%r11				/* rflags */
	pushq	%rcx				/* rip */
	pushq	%rax				/* rax: nr, then the result */
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%r10
	pushq	%r8
	pushq	%r9
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15				/* 16 quadwords: rsp is 16-aligned again */
	movq	%rsp, %rbx			/* the frame; callee-saved */
	sti
	cld
	subq	$8, %rsp			/* keep the call 16-aligned ... */
	pushq	%r9				/* ... with a5 as the 7th argument */
	movq	%r8, %r9			/* a4 */
	movq	%r10, %r8			/* a3 */
	movq	%rdx, %rcx			/* a2 */
	movq	%rsi, %rdx			/* a1 */
	movq	%rdi, %rsi			/* a0 */
	movq	%rax, %rdi			/* nr */
	call	helix_syscall_entry
	movq	%rbx, %rsp
	movq	%rax, 12 * 8(%rsp)		/* frame->rax */
	movq	%rsp, %rdi
	call	hx_arch_syscall_return
	cli
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	popq	%r9
	popq	%r8
	popq	%r10
	popq	%rdx
	popq	%rsi
	popq	%rdi
	popq	%rax
	popq	%rcx
	popq	%r11
	popq	%rsp				/* the user's: nothing may touch the stack now */
	sysretq
	.size	hx_arch_syscall_entry, . - hx_arch_syscall_entry

/*
 * void hx_arch_enter_user(uint64_t rip, uint64_t rsp): leave for ring 3 at rip with rsp, IF on,
 * every other register zero, through iretq (the frame: ss, rsp, rflags, cs, rip). Never returns.
 */
	.balign	16
	.globl	hx_arch_enter_user
	.type	hx_arch_enter_user, @function
hx_arch_enter_user:
	cli
	pushq	$0x1b				/* HX_GDT_USER_DATA | 3 */
	pushq	%rsi
	pushq	$0x202				/* IF, and the always-one bit */
	pushq	$0x23				/* HX_GDT_USER_CODE | 3 */
	pushq	%rdi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	xorl	%r8d, %r8d
	xorl	%r9d, %r9d
	xorl	%r10d, %r10d
	xorl	%r11d, %r11d
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	xorl	%r14d, %r14d
	xorl	%r15d, %r15d
	iretq
	.size	hx_arch_enter_user, . - hx_arch_enter_user

	.section .note.GNU-stack, "", @progbits
