/* SPDX-License-Identifier: MIT */
/*
 * Multiboot2 entry. GRUB jumps to _start in 32-bit protected mode, paging off, interrupts off, with
 * eax = the multiboot2 magic and ebx = the physical address of the boot information (MBI).
 *
 * _start checks the magic and the CPU, builds the boot page tables, enters long mode, jumps to the
 * higher half, zeroes .bss, switches to the boot stack and calls kmain(magic, mbi_phys).
 * Page tables (all 4 KiB, in .boot.bss, physical == virtual while paging is off):
 *
 *   PML4[0]   -> pdpt_ident[0]      -> pd_direct[0]     identity 0..1 GiB (dropped later)
 *   PML4[256] -> pdpt_direct[0..3]  -> pd_direct[0..3]  0xffff800000000000 -> 0..4 GiB, NX
 *   PML4[511] -> pdpt_kernel[510]   -> pd_kernel        0xffffffff80000000 -> 0..1 GiB
 *
 * All with 2 MiB pages. NX on the direct map sits in its PML4 entry, so the identity map can share
 * pd_direct[0] and still execute.
 */

#define MB2_HEADER_MAGIC     0xe85250d6
#define MB2_ARCH_I386	     0
#define MB2_BOOTLOADER_MAGIC 0x36d76289

#define PTE_PRESENT  0x001
#define PTE_WRITABLE 0x002
#define PTE_HUGE     0x080
#define PTE_NX_HIGH  0x80000000 /* bit 63, in the entry's upper dword */

#define CR0_PE	      (1 << 0)
#define CR0_WP	      (1 << 16)
#define CR0_PG	      (1 << 31)
#define CR4_PAE	      (1 << 5)
#define MSR_EFER      0xc0000080
#define EFER_LME      (1 << 8)
#define EFER_NXE      (1 << 11)
#define CPUID_EXT_NX  (1 << 20)
#define CPUID_EXT_LM  (1 << 29)
#define EFLAGS_ID     (1 << 21)

#define COM1	      0x3f8
#define DEBUG_EXIT    0xf4
#define EXIT_PANIC    (0x20 | 1) /* HX_EXIT_TAG | HX_EXIT_PANIC: helix/arch/exit.h */

#define BOOT_STACK_SIZE 32768

/* ---- Multiboot2 header: first in the image (linker.ld keeps it there) ---- */

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long	MB2_HEADER_MAGIC
	.long	MB2_ARCH_I386
	.long	mb2_header_end - mb2_header
	.long	-(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* end tag: type 0, flags 0, size 8 */
	.balign 8
	.short	0
	.short	0
	.long	8
mb2_header_end:

/* ---- Early data and tables (physical addresses, identity) ---- */

	.section .boot.data, "aw"
	.balign 4
boot_magic:
	.long	0
boot_mbi:
	.long	0
boot_has_nx:
	.long	0

	/* Temporary GDT: null, 64-bit code 0x08, data 0x10 (the kernel GDT keeps both). */
	.balign 16
boot_gdt:
	.quad	0
	.quad	0x00af9a000000ffff
	.quad	0x00cf92000000ffff
boot_gdt_end:
boot_gdt_ptr:
	.short	boot_gdt_end - boot_gdt - 1
	.long	boot_gdt

	.section .boot.rodata, "a"
msg_no_multiboot2:
	.asciz	"boot: not started by a multiboot2 loader (eax != 0x36d76289); halting\r\n"
msg_no_cpuid:
	.asciz	"boot: this CPU has no CPUID instruction (not x86_64); halting\r\n"
msg_no_long_mode:
	.asciz	"boot: this CPU has no long mode (64-bit) support; halting\r\n"

	.section .boot.bss, "aw", @nobits
	.balign 4096
boot_pml4:
	.skip	4096
boot_pdpt_ident:
	.skip	4096
boot_pdpt_direct:
	.skip	4096
boot_pdpt_kernel:
	.skip	4096
boot_pd_direct:
	.skip	4 * 4096
boot_pd_kernel:
	.skip	4096
boot_stack32:
	.skip	4096
boot_stack32_top:

/* ---- 32-bit entry ---- */

	.section .boot.text, "ax"
	.code32
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	movl	$boot_stack32_top, %esp
	movl	%eax, boot_magic
	movl	%ebx, boot_mbi

	cmpl	$MB2_BOOTLOADER_MAGIC, %eax
	movl	$msg_no_multiboot2, %esi
	jne	boot_fail

	/* CPUID exists when EFLAGS.ID can be toggled. */
	pushfl
	popl	%eax
	movl	%eax, %ecx
	xorl	$EFLAGS_ID, %eax
	pushl	%eax
	popfl
	pushfl
	popl	%eax
	pushl	%ecx
	popfl
	cmpl	%eax, %ecx
	movl	$msg_no_cpuid, %esi
	je	boot_fail

	movl	$0x80000000, %eax
	cpuid
	cmpl	$0x80000001, %eax
	movl	$msg_no_long_mode, %esi
	jb	boot_fail
	movl	$0x80000001, %eax
	cpuid
	testl	$CPUID_EXT_LM, %edx
	movl	$msg_no_long_mode, %esi
	jz	boot_fail
	andl	$CPUID_EXT_NX, %edx
	movl	%edx, boot_has_nx

	/* The loader zeroes .boot.bss (p_memsz > p_filesz); do not rely on it. */
	movl	$__boot_bss_start, %edi
	movl	$__boot_bss_end, %ecx
	subl	%edi, %ecx
	shrl	$2, %ecx
	xorl	%eax, %eax
	rep stosl

	movl	$(boot_pdpt_ident + PTE_PRESENT + PTE_WRITABLE), boot_pml4
	movl	$(boot_pdpt_direct + PTE_PRESENT + PTE_WRITABLE), boot_pml4 + 256 * 8
	cmpl	$0, boot_has_nx
	je	1f
	movl	$PTE_NX_HIGH, boot_pml4 + 256 * 8 + 4
1:
	movl	$(boot_pdpt_kernel + PTE_PRESENT + PTE_WRITABLE), boot_pml4 + 511 * 8

	movl	$(boot_pd_direct + PTE_PRESENT + PTE_WRITABLE), boot_pdpt_ident

	movl	$(boot_pd_direct + 0 * 4096 + PTE_PRESENT + PTE_WRITABLE), \
		boot_pdpt_direct + 0 * 8
	movl	$(boot_pd_direct + 1 * 4096 + PTE_PRESENT + PTE_WRITABLE), \
		boot_pdpt_direct + 1 * 8
	movl	$(boot_pd_direct + 2 * 4096 + PTE_PRESENT + PTE_WRITABLE), \
		boot_pdpt_direct + 2 * 8
	movl	$(boot_pd_direct + 3 * 4096 + PTE_PRESENT + PTE_WRITABLE), \
		boot_pdpt_direct + 3 * 8

	movl	$(boot_pd_kernel + PTE_PRESENT + PTE_WRITABLE), boot_pdpt_kernel + 510 * 8

	/* pd_direct[0..3]: 2048 entries of 2 MiB covering 0..4 GiB; the upper dwords stay 0. */
	xorl	%ecx, %ecx
2:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$(PTE_PRESENT + PTE_WRITABLE + PTE_HUGE), %eax
	movl	%eax, boot_pd_direct(, %ecx, 8)
	incl	%ecx
	cmpl	$2048, %ecx
	jb	2b

	/* pd_kernel: 512 entries covering 0..1 GiB. */
	xorl	%ecx, %ecx
3:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$(PTE_PRESENT + PTE_WRITABLE + PTE_HUGE), %eax
	movl	%eax, boot_pd_kernel(, %ecx, 8)
	incl	%ecx
	cmpl	$512, %ecx
	jb	3b

	/* Long mode: PAE, CR3, EFER.LME (+ NXE), then paging. */
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4

	movl	$boot_pml4, %eax
	movl	%eax, %cr3

	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	cmpl	$0, boot_has_nx
	je	4f
	orl	$EFER_NXE, %eax
4:	wrmsr

	movl	%cr0, %eax
	orl	$(CR0_PG + CR0_WP + CR0_PE), %eax
	movl	%eax, %cr0

	lgdt	boot_gdt_ptr
	ljmp	$0x08, $boot_long_mode

/* esi = message. Tell COM1, tell QEMU (isa-debug-exit), halt. */
boot_fail:
	movw	$(COM1 + 1), %dx	/* no UART interrupts */
	movb	$0x00, %al
	outb	%al, %dx
	movw	$(COM1 + 3), %dx	/* DLAB on */
	movb	$0x80, %al
	outb	%al, %dx
	movw	$(COM1 + 0), %dx	/* divisor 1: 115200 baud */
	movb	$0x01, %al
	outb	%al, %dx
	movw	$(COM1 + 1), %dx
	movb	$0x00, %al
	outb	%al, %dx
	movw	$(COM1 + 3), %dx	/* 8N1, DLAB off */
	movb	$0x03, %al
	outb	%al, %dx
5:	movb	(%esi), %bl
	testb	%bl, %bl
	jz	7f
	movw	$(COM1 + 5), %dx
6:	inb	%dx, %al
	testb	$0x20, %al		/* transmit holding register empty */
	jz	6b
	movw	$COM1, %dx
	movb	%bl, %al
	outb	%al, %dx
	incl	%esi
	jmp	5b
7:	movl	$EXIT_PANIC, %eax
	outl	%eax, $DEBUG_EXIT
8:	cli
	hlt
	jmp	8b
	.size	_start, . - _start

/* ---- 64-bit, still at the identity-mapped address ---- */

	.code64
boot_long_mode:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movabsq	$boot_higher_half, %rax
	jmp	*%rax

/* ---- 64-bit, higher half ---- */

	.text
	.type	boot_higher_half, @function
boot_higher_half:
	/* .bss holds the boot stack: zero it before the first push. */
	movq	$__bss_start, %rdi
	movq	$__bss_end, %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq

	movq	$hx_boot_stack_top, %rsp
	xorl	%ebp, %ebp		/* ends the backtrace's rbp chain */
	movl	boot_magic, %edi
	movl	boot_mbi, %esi	/* zero-extended: physical address below 4 GiB */
	call	kmain
9:	cli
	hlt
	jmp	9b
	.size	boot_higher_half, . - boot_higher_half

	.bss
	.balign 16
	.globl	hx_boot_stack_bottom
hx_boot_stack_bottom:
	.skip	BOOT_STACK_SIZE
	.globl	hx_boot_stack_top
hx_boot_stack_top:

	.section .note.GNU-stack, "", @progbits
