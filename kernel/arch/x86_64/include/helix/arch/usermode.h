/* SPDX-License-Identifier: MIT */
/*
 * Ring 3: the SYSCALL/SYSRET setup, the syscall entry frame, and the first entry into user mode
 * (kernel/arch/x86_64/syscall.S, usermode.c).
 */
#ifndef HELIX_ARCH_USERMODE_H
#define HELIX_ARCH_USERMODE_H

#include <stdbool.h>
#include <stdint.h>

#include <helix/assert.h>
#include <helix/compiler.h>

HX_BEGIN_DECLS

/* What syscall.S saves on the task's kernel stack, lowest address first. */
struct hx_syscall_frame {
	uint64_t r15, r14, r13, r12, rbp, rbx;
	uint64_t r9, r8, r10, rdx, rsi, rdi;
	uint64_t rax;    /* the syscall number on entry, the result on return */
	uint64_t rip;    /* the user's rcx */
	uint64_t rflags; /* the user's r11 */
	uint64_t rsp;
};

HX_STATIC_ASSERT(sizeof(struct hx_syscall_frame) == 16 * 8, "syscall.S pushes 16 quadwords");

/* The first address past the canonical lower half: user return addresses lie below it. */
#define HX_USER_CANONICAL_END 0x0000800000000000ull

/*
 * hx_arch_syscall_init - enable SYSCALL/SYSRET (EFER.SCE) and point STAR, LSTAR and FMASK at
 * syscall.S with the selectors of helix/arch/gdt.h. Boot CPU, once, after hx_gdt_init.
 */
void hx_arch_syscall_init(void);

/*
 * hx_arch_syscall_return - called by syscall.S after helix_syscall_entry, with the result in
 * frame->rax and interrupts on; defined by the process layer (kernel/core/process.c), which ends
 * the process instead of returning when it must not go back to user mode.
 */
void hx_arch_syscall_return(struct hx_syscall_frame *frame);

/* hx_arch_enter_user - jump to ring 3 at @rip with stack @rsp (syscall.S). Never returns. */
HX_NORETURN void hx_arch_enter_user(uint64_t rip, uint64_t rsp);

HX_END_DECLS

#endif /* HELIX_ARCH_USERMODE_H */
