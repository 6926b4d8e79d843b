// SPDX-License-Identifier: MIT
/*
 * fault: a child that writes to an unmapped address. The kernel must end it (a page fault in user
 * mode, vector 14) and report HX_STATUS_KILLED | 14 to its parent; it must not reach the line
 * after the store.
 */
#include <stdint.h>

#include <helix/user/ulib.h>

/* Below HX_USER_BASE (helix/user/layout.h): never mapped. */
#define FAULT_ADDRESS 0x10u

int main(void)
{
	uprintf("fault: writing to %#x\n", FAULT_ADDRESS);
	/* In asm: to the compiler a store to a constant address is undefined behaviour it may drop
	 * or warn about; the CPU is what has to see it. */
	__asm__ volatile("movl $1, (%0)" : : "r"((uintptr_t)FAULT_ADDRESS) : "memory");
	uprintf("fault: FAILED the store to %#x did not fault\n", FAULT_ADDRESS);
	return 1;
}
