/* SPDX-License-Identifier: MIT */
/*
 * What the scheduler (kernel/core/sched.c) needs from the CPU: building a new task's stack,
 * switching stacks, and telling the CPU which kernel stack the running task enters on from user
 * mode (TSS.RSP0 for interrupts and exceptions, the SYSCALL stub's stack pointer).
 */
#ifndef HELIX_ARCH_TASK_H
#define HELIX_ARCH_TASK_H

#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

/*
 * hx_arch_task_stack_init - prepare the stack ending at @stack_top (16-aligned) so that the first
 * hx_arch_switch to the returned rsp calls hx_sched_task_entry(@entry, @arg) with interrupts off.
 */
uint64_t hx_arch_task_stack_init(uint64_t stack_top, void (*entry)(void *), void *arg);

/* hx_arch_switch - save the callee-saved registers and rsp into *@save_rsp, continue on
 * @load_rsp (switch.S). Interrupts off. Returns when something switches back to the saved rsp. */
void hx_arch_switch(uint64_t *save_rsp, uint64_t load_rsp);

/* hx_arch_set_kernel_stack - the stack top a ring 3 -> ring 0 entry of the running task uses
 * (0: the task never runs in user mode; the entries keep the previous one). Interrupts off. */
void hx_arch_set_kernel_stack(uint64_t stack_top);

/* The scheduler's C entry for new tasks (switch.S calls it; never returns). */
HX_NORETURN void hx_sched_task_entry(void (*entry)(void *), void *arg);

HX_END_DECLS

#endif /* HELIX_ARCH_TASK_H */
