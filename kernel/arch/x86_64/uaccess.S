/* SPDX-License-Identifier: MIT */
/*
 * Copies that touch user memory and survive a page fault (helix/arch/uaccess.h). Every instruction
 * here that may fault on a user address has an exception-table entry (EXTABLE below): the page-fault
 * handler (idt.c) resumes at the entry's fixup, which returns -HX_EFAULT. Nothing else may be
 * added to these routines between a listed instruction and its fixup without its own entry.
 *
 * System V ABI: arguments in rdi, rsi, rdx; DF is clear on entry; rax, rcx, rdx, rsi, rdi are the
 * caller's to lose.
 */
#include <helix/arch/uaccess.h>

/* EXTABLE fault, fixup: a fault at \fault resumes at \fixup. Two absolute quadwords, sorted by
 * nothing: the table is small and searched linearly. */
	.macro	EXTABLE fault, fixup
	.pushsection __ex_table, "a"
	.balign	8
	.quad	\fault, \fixup
	.popsection
	.endm

	.text

/* int hx_arch_copy_user(void *dst, const void *src, size_t len) */
	.balign	16
	.globl	hx_arch_copy_user
	.type	hx_arch_copy_user, @function
hx_arch_copy_user:
	movq	%rdx, %rcx
.Lcopy_movs:
	rep movsb			/* a fault leaves rip here: resume at .Lcopy_fault */
	xorl	%eax, %eax
	ret
.Lcopy_fault:
	movl	$-HX_ARCH_UACCESS_EFAULT, %eax
	ret
	.size	hx_arch_copy_user, . - hx_arch_copy_user
	EXTABLE	.Lcopy_movs, .Lcopy_fault

/* long hx_arch_strncpy_user(char *dst, const char *src, size_t cap): rax counts the bytes copied.
 * Only the load reads user memory; the store goes to the caller's kernel buffer. */
	.balign	16
	.globl	hx_arch_strncpy_user
	.type	hx_arch_strncpy_user, @function
hx_arch_strncpy_user:
	xorl	%eax, %eax
	testq	%rdx, %rdx
	jz	.Lstr_too_long
.Lstr_next:
.Lstr_load:
	movzbl	(%rsi,%rax), %ecx	/* may fault: resume at .Lstr_fault */
	movb	%cl, (%rdi,%rax)
	testb	%cl, %cl
	jz	.Lstr_done		/* rax = the length, NUL excluded */
	incq	%rax
	cmpq	%rdx, %rax
	jb	.Lstr_next
.Lstr_too_long:
	movq	$-HX_ARCH_UACCESS_ENAMETOOLONG, %rax
	ret
.Lstr_done:
	ret
.Lstr_fault:
	movq	$-HX_ARCH_UACCESS_EFAULT, %rax
	ret
	.size	hx_arch_strncpy_user, . - hx_arch_strncpy_user
	EXTABLE	.Lstr_load, .Lstr_fault

	.section .note.GNU-stack, "", @progbits
