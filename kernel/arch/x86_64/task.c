// SPDX-License-Identifier: MIT
#include <stdint.h>

#include <helix/arch/gdt.h>
#include <helix/arch/task.h>
#include <helix/assert.h>

/* switch.S */
extern char hx_arch_task_start[];

/* The SYSCALL stub (syscall.S) switches to this stack; one CPU, so one variable. */
uint64_t hx_arch_syscall_stack;

/*
 * The frame hx_arch_switch pops, lowest address first: r15, r14, r13, r12, rbx, rbp, return
 * address; two quadwords of padding above it, so that after the ret rsp is stack_top - 16,
 * 16-aligned (hx_arch_task_start calls into C from there).
 */
enum {
	FRAME_R15,
	FRAME_R14,
	FRAME_R13,
	FRAME_R12,
	FRAME_RBX,
	FRAME_RBP,
	FRAME_RET,
	FRAME_PAD0,
	FRAME_PAD1,
	FRAME_WORDS
};

uint64_t hx_arch_task_stack_init(uint64_t stack_top, void (*entry)(void *), void *arg)
{
	uint64_t *frame = (uint64_t *)(uintptr_t)(stack_top - FRAME_WORDS * 8);

	HX_ASSERT(stack_top % 16 == 0);
	for (int i = 0; i < FRAME_WORDS; i++)
		frame[i] = 0;
	frame[FRAME_R12] = (uint64_t)(uintptr_t)entry;
	frame[FRAME_R13] = (uint64_t)(uintptr_t)arg;
	frame[FRAME_RET] = (uint64_t)(uintptr_t)hx_arch_task_start;
	return (uint64_t)(uintptr_t)frame;
}

void hx_arch_set_kernel_stack(uint64_t stack_top)
{
	if (stack_top == 0)
		return;
	hx_tss_set_rsp0(stack_top);
	hx_arch_syscall_stack = stack_top;
}
