// SPDX-License-Identifier: MIT
/*
 * priv: a child that executes a privileged instruction. `cli` at CPL 3 (with IOPL 0) raises a
 * general protection fault, and the kernel ends the process with HX_STATUS_KILLED | 13.
 */
#include <helix/user/ulib.h>

int main(void)
{
	uprintf("priv: turning interrupts off from ring 3\n");
	__asm__ volatile("cli" ::: "memory");
	uprintf("priv: FAILED cli did not fault\n");
	return 1;
}
