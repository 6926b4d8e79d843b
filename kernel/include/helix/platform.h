/* SPDX-License-Identifier: MIT */
/*
 * The platform API: the one seam between portable helix code (ipc/, syscall/, kernel/lib, the
 * portable parts of kernel/core) and the host it runs on. Two backends implement exactly these
 * names:
 *
 *   kernel/arch/x86_64 + kernel/core   the bootable kernel (serial console, TSC clock, kernel heap)
 *   kernel/hosted                      Linux user space (write(2), CLOCK_MONOTONIC, malloc,
 * futex(2))
 *
 * The build picks the backend (the kernel image links one, hosted tests link the other); portable
 * code never tests which one it is running on.
 */
#ifndef HELIX_PLATFORM_H
#define HELIX_PLATFORM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/compiler.h>

HX_BEGIN_DECLS

/* ---- Memory ------------------------------------------------------------------------------------
 */

/*
 * hx_alloc - allocate @size bytes aligned to 16. Task context (never from an interrupt handler).
 * Returns NULL when memory is exhausted or @size is 0; never panics for lack of memory.
 */
void *hx_alloc(size_t size);

/* hx_zalloc - hx_alloc, then zero the memory. Same contract. */
void *hx_zalloc(size_t size);

/*
 * hx_free - release memory from hx_alloc/hx_zalloc; NULL is ignored. Task context.
 * Freeing a pointer twice or one that hx_alloc never returned is a fault (panic / abort).
 */
void hx_free(void *ptr);

/* ---- Time --------------------------------------------------------------------------------------
 */

/* Deadlines are absolute hx_time_ns() values; HX_NOWAIT and HX_FOREVER (helix/abi.h) are
 * special. */

/*
 * hx_time_ns - monotonic time in nanoseconds since an arbitrary origin (kernel: boot). Any context,
 * including interrupt handlers. Never goes backwards.
 */
uint64_t hx_time_ns(void);

/* ---- Futex-style wait/wake on a 32-bit word
 * ------------------------------------------------------ */

/*
 * hx_futex_wait - sleep while *@word == @expected, until woken by hx_futex_wake or until
 * hx_time_ns() >= @deadline_ns (HX_FOREVER: no deadline). Task context; may sleep.
 * Returns 0 when woken (possibly spuriously: the caller re-checks its condition),
 * -HX_EAGAIN when *@word != @expected on entry, -HX_ETIMEDOUT when the deadline passed.
 */
int hx_futex_wait(HX_ATOMIC(uint32_t) *word, uint32_t expected, uint64_t deadline_ns);

/*
 * hx_futex_wake - wake up to @count tasks sleeping on @word (HX_WAKE_ALL for all). Any context.
 * Returns the number woken (a backend that cannot tell returns 0).
 */
#define HX_WAKE_ALL UINT32_MAX
int hx_futex_wake(HX_ATOMIC(uint32_t) *word, uint32_t count);

/* ---- Asymmetric memory barriers ----------------------------------------------------------------
 */

/*
 * A store-load barrier split unevenly across a Dekker pair whose one side runs constantly and the
 * other rarely: "publish, then check for sleepers" on a fast path against "announce that I sleep,
 * then re-check" on a slow path (liburcu's and folly's asymmetric fences).
 *
 * hx_barrier_light - the fast side: a compiler barrier only. Any context.
 * hx_barrier_heavy - the slow side: a full barrier in the caller and, before it returns, in every
 * other thread that may be running: stores another thread made before its last light barrier are
 * visible to the caller afterwards, and loads it makes after its next light barrier see the
 * caller's stores from before the heavy barrier. Task context; may enter the host kernel
 * (hosted: membarrier(2)). Costs microseconds: never on a fast path.
 */
static inline void hx_barrier_light(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void hx_barrier_heavy(void);

/* ---- CPU and tasks -----------------------------------------------------------------------------
 */

/* hx_cpu_relax - a spin-wait hint (pause). Any context. */
void hx_cpu_relax(void);

/*
 * hx_cpu_id - the CPU the caller runs on now; it may have moved by the time the caller looks. A
 * hint for wait policies (ipc/channel.c), never for correctness. Any context. Hosted:
 * sched_getcpu(3) (0 if it fails); kernel: 0, the kernel runs on one CPU.
 */
unsigned int hx_cpu_id(void);

/*
 * hx_yield - let other runnable tasks of the caller's priority or better run before the caller
 * continues. Task context. Hosted: sched_yield(2); kernel: the scheduler (kernel/core/sched.c).
 */
void hx_yield(void);

/*
 * hx_preempt_disable / hx_preempt_enable - nestable: while disabled, the calling task is not
 * switched out by the timer or a wakeup (interrupts still arrive). hx_spin_lock uses them, so a
 * lock holder is never preempted; the last enable switches if a better task became runnable.
 * Never block in between. Any context. Hosted: do nothing (the host preempts threads anyway).
 */
void hx_preempt_disable(void);
void hx_preempt_enable(void);

/*
 * hx_irq_save / hx_irq_restore - disable local interrupts and return the previous state; restore
 * it. Any context. Hosted: there are no interrupts and both do nothing.
 */
unsigned long hx_irq_save(void);
void hx_irq_restore(unsigned long flags);

/* hx_task_id - an id of the calling task, unique among live tasks. Any context (IRQ: the
 * interrupted task). */
uint64_t hx_task_id(void);

/*
 * hx_task_context / hx_task_set_context - one pointer per task for the syscall layer: the process
 * (struct hx_syscall_caller) the task runs for. NULL until set. Task context. Kernel: per task
 * (the boot code's before the scheduler starts); hosted: per thread.
 */
void *hx_task_context(void);
void hx_task_set_context(void *context);

/* ---- Console and failure -----------------------------------------------------------------------
 */

/*
 * hx_console_write - write @len bytes to the console (kernel: COM1; hosted: stderr). Any context.
 * One call's bytes are never interleaved with another call's.
 */
void hx_console_write(const char *text, size_t len);

/*
 * hx_platform_abort - end everything after a fatal error has been reported (kernel: exit QEMU with
 * HX_EXIT_PANIC, or halt on real hardware; hosted: abort()). Any context. Portable code calls
 * hx_panic, which reports first.
 */
HX_NORETURN void hx_platform_abort(void);

/* hx_panic - print "panic: <message>" to the console and abort. Any context. Never returns. */
HX_NORETURN void hx_panic(const char *fmt, ...) HX_PRINTF(1, 2);

HX_END_DECLS

#endif /* HELIX_PLATFORM_H */
