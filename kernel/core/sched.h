/* SPDX-License-Identifier: MIT */
/*
 * Tasks and the scheduler (kernel/core/sched.c): kernel threads with their own stacks, strict
 * priorities with round robin among equals, preemption by the timer tick, sleeping until a
 * deadline, and the futex-style wait/wake of helix/platform.h on which channels, router calls and
 * the bus block.
 *
 * One CPU. The scheduler's state is guarded by turning interrupts off (hx_irq_save): nothing else
 * can run on the CPU meanwhile, interrupt handlers included. Those are the locking rules:
 *   - interrupt handlers may call hx_futex_wake, hx_task_wake-style functions and hx_bus_publish,
 *     never anything that blocks or allocates;
 *   - a spinlock shared with an interrupt handler is taken with hx_spin_lock_irqsave;
 *   - a plain hx_spin_lock disables preemption (not interrupts) while held, so the holder is never
 *     switched out and a waiter never spins through a whole time slice;
 *   - blocking (futex wait, sleep, join, mutex-like waits) with preemption disabled or interrupts
 *     off is a bug and panics.
 * An SMP port adds a run-queue lock taken with interrupts off and IPIs for remote wakeups.
 */
#ifndef HELIX_CORE_SCHED_H
#define HELIX_CORE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

/* Priorities: higher runs first; equal ones share the CPU in time slices. */
#define HX_TASK_PRIO_IDLE   0 /* the idle task only */
#define HX_TASK_PRIO_LOW    1
#define HX_TASK_PRIO_NORMAL 2
#define HX_TASK_PRIO_HIGH   3
#define HX_TASK_PRIO_LEVELS 4

#define HX_TASK_NAME_MAX    15
#define HX_TASK_STACK_SIZE  (16u * 1024)
#define HX_TASK_SLICE_TICKS 2 /* ticks a task runs before an equal one gets the CPU */

enum hx_task_state {
	HX_TASK_RUNNABLE = 0, /* in a run queue */
	HX_TASK_RUNNING = 1,  /* on the CPU */
	HX_TASK_BLOCKED = 2,  /* waiting on a futex word and/or a deadline */
	HX_TASK_DEAD = 3, /* exited; its stack is freed by join or, if detached, the scheduler */
};

struct hx_task;
struct hx_vm;

struct hx_sched_stats {
	uint64_t ticks;       /* timer ticks since the scheduler started */
	uint64_t switches;    /* context switches */
	uint64_t preemptions; /* of those, forced by the tick or a wakeup */
	uint64_t futex_waits; /* hx_futex_wait calls that slept */
	uint64_t futex_wakes; /* tasks woken by hx_futex_wake */
	uint64_t timeouts;    /* sleeps ended by their deadline */
	uint32_t tasks;       /* live tasks (not yet freed), idle included */
	uint32_t runnable;    /* in run queues now */
};

/*
 * hx_sched_init - turn the running boot code into the task "boot" (HX_TASK_PRIO_NORMAL), create
 * the idle task, start the timer at @hz (@force_pit: the PIT even with an APIC) and enable
 * interrupts. Boot, once, after the heap and the clock. Panics when something is missing.
 */
void hx_sched_init(uint32_t hz, bool force_pit);

/* hx_sched_running - true once hx_sched_init has run. Any context. */
bool hx_sched_running(void);

/*
 * hx_task_create - a new task running @entry(@arg) at @prio (HX_TASK_PRIO_LOW..HIGH), runnable at
 * once. When @entry returns the task exits. @name is copied (truncated to HX_TASK_NAME_MAX).
 * @out may be NULL for a detached task (freed by the scheduler when it exits); otherwise the
 * caller must hx_task_join it. Task context. Returns 0, -HX_EINVAL, -HX_ENOMEM.
 */
int hx_task_create(const char *name, int prio, void (*entry)(void *), void *arg,
                   struct hx_task **out);

/* hx_task_exit - end the calling task. Never returns. Task context (not the boot or idle task). */
HX_NORETURN void hx_task_exit(void);

/*
 * hx_task_join - wait until @task has exited, until @deadline_ns, then free it. Task context.
 * Returns 0 (freed), -HX_ETIMEDOUT (still running; join again later), -HX_EINVAL.
 */
int hx_task_join(struct hx_task *task, uint64_t deadline_ns);

/* hx_task_sleep_until - block until hx_time_ns() >= @deadline_ns. Task context. */
void hx_task_sleep_until(uint64_t deadline_ns);

/* hx_task_current - the running task (NULL before hx_sched_init). Any context. */
struct hx_task *hx_task_current(void);

/* Accessors. */
uint64_t hx_task_get_id(const struct hx_task *task);
const char *hx_task_get_name(const struct hx_task *task);
int hx_task_get_prio(const struct hx_task *task);

/*
 * The address space and kernel stack a task runs user code in (the process layer sets them before
 * the task first enters user mode): the scheduler loads @vm's page tables and points the CPU's
 * user->kernel entries at the task's own stack whenever it switches to the task. NULL vm: the
 * kernel's page tables.
 */
void hx_task_set_vm(struct hx_task *task, struct hx_vm *vm);
struct hx_vm *hx_task_get_vm(const struct hx_task *task);
uint64_t hx_task_stack_top(const struct hx_task *task);

/* hx_sched_get_stats - a snapshot. Any context. */
void hx_sched_get_stats(struct hx_sched_stats *out);

/* hx_sched_tick_hook - what the timer tick does after the scheduler's part (the kernel's tick:
 * publish a timer event). Set at boot; called in interrupt context. */
void hx_sched_set_tick_hook(void (*hook)(uint64_t tick, uint64_t now_ns));

/* hx_sched_dump - one line per task to the console. Task context. */
void hx_sched_dump(void);

HX_END_DECLS

#endif /* HELIX_CORE_SCHED_H */
