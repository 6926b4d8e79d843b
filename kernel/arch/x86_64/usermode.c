// SPDX-License-Identifier: MIT
#include <stdint.h>

#include <helix/arch/cpu.h>
#include <helix/arch/gdt.h>
#include <helix/arch/usermode.h>

#define MSR_STAR  0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define EFER_SCE  (1ull << 0)

/* Flags SYSCALL clears: TF, IF, DF, NT, AC (the kernel runs with interrupts off until the stub
 * has switched stacks, and with DF clear as the C ABI wants). */
#define FMASK_BITS ((1ull << 8) | (1ull << 9) | (1ull << 10) | (1ull << 14) | (1ull << 18))

/* syscall.S */
extern char hx_arch_syscall_entry[];

/* syscall.S parks the user's rsp here for the few instructions before it is on the kernel stack
 * (interrupts are off meanwhile, so one CPU needs one). */
uint64_t hx_arch_syscall_user_rsp;

void hx_arch_syscall_init(void)
{
	/* STAR[47:32]: SYSCALL's CS (SS = CS + 8). STAR[63:48]: SYSRET's base; it loads
	 * SS = base + 8 and CS = base + 16, each with RPL 3: 0x1b and 0x23 (gdt.h). */
	uint64_t star = ((uint64_t)HX_GDT_KERNEL_DATA << 48) | ((uint64_t)HX_GDT_KERNEL_CODE << 32);

	hx_wrmsr(HX_MSR_EFER, hx_rdmsr(HX_MSR_EFER) | EFER_SCE);
	hx_wrmsr(MSR_STAR, star);
	hx_wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)hx_arch_syscall_entry);
	hx_wrmsr(MSR_FMASK, FMASK_BITS);
}
