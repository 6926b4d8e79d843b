/* SPDX-License-Identifier: MIT */
/*
 * _start: where every user program begins. The kernel enters it in ring 3 with %rsp at
 * HX_USER_STACK_TOP (helix/user/layout.h) and no arguments. Aligns the stack as the System V ABI
 * wants it before a call, ends the frame-pointer chain (backtraces stop at a zero %rbp), calls
 * int main(void) and hands its result to uexit(), which never returns.
 */
	.section .text.start, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	call	main
	movl	%eax, %edi
	call	uexit
	ud2			/* uexit does not return: fault loudly if it ever did */
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
