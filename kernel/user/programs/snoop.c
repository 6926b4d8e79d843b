// SPDX-License-Identifier: MIT
/*
 * snoop: a child that reads the kernel's memory. The kernel half of every address space is mapped
 * but supervisor-only (no U bit), so the load raises a page fault in user mode (error 0x5: present,
 * read, user) and the kernel ends the process with HX_STATUS_KILLED | 14. Reaching the line after
 * the load would mean ring 3 can read the kernel.
 */
#include <stdint.h>

#include <helix/user/ulib.h>

/* The kernel image window (helix/arch/memory.h: 0xffffffff80000000 + 1 MiB): always mapped. */
#define KERNEL_ADDRESS 0xffffffff80100000ull

int main(void)
{
	uint32_t value;

	uprintf("snoop: reading the kernel at %#llx\n", KERNEL_ADDRESS);
	/* In asm, so the compiler cannot reason the load away. */
	__asm__ volatile("movl (%1), %0" : "=r"(value) : "r"((uintptr_t)KERNEL_ADDRESS) : "memory");
	uprintf("snoop: FAILED read %#x from the kernel\n", value);
	return 1;
}
