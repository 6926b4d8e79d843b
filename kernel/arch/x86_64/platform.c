// SPDX-License-Identifier: MIT
/*
 * The arch half of the kernel's platform API (helix/platform.h): CPU hints, interrupt state, task
 * id, futex wait/wake, abort; and how the kernel ends (helix/arch/exit.h). The memory half
 * (hx_alloc and friends) lives in kernel/core/kmem.c.
 */
#include <stdatomic.h>
#include <stdint.h>

#include <helix/arch/cpu.h>
#include <helix/arch/exit.h>
#include <helix/errors.h>
#include <helix/platform.h>

void hx_cpu_relax(void)
{
	__builtin_ia32_pause();
}

/* No scheduler yet: the boot task is the only task. */
static void *boot_task_context;

void *hx_task_context(void)
{
	return boot_task_context;
}

void hx_task_set_context(void *context)
{
	boot_task_context = context;
}

void hx_yield(void)
{
	/* No scheduler yet: nobody else to run. */
	__builtin_ia32_pause();
}

unsigned long hx_irq_save(void)
{
	unsigned long flags;

	__asm__ volatile("pushfq\n\t"
	                 "popq %0\n\t"
	                 "cli"
	                 : "=r"(flags)
	                 :
	                 : "memory");
	return flags;
}

void hx_irq_restore(unsigned long flags)
{
	/* popfq restores IF as it was, with every other flag; "cc": the arithmetic flags change
	 * too. */
	__asm__ volatile("pushq %0\n\t"
	                 "popfq"
	                 :
	                 : "rm"(flags)
	                 : "memory", "cc");
}

uint64_t hx_task_id(void)
{
	/* No scheduler yet: everything runs as the boot task. */
	return 0;
}

/*
 * No scheduler yet, so nothing can sleep: wait by spinning, re-checking the word and the deadline.
 * Only an interrupt handler (or another CPU) can change the word meanwhile. Time stands still
 * until hx_clock_init, so a finite deadline is only honoured after it.
 */
int hx_futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
	/* Acquire: what the waker wrote before changing the word is visible to the caller on
	 * return. */
	if (atomic_load_explicit(word, memory_order_acquire) != expected)
		return -HX_EAGAIN;
	for (;;) {
		if (deadline_ns != HX_FOREVER && hx_time_ns() >= deadline_ns)
			return -HX_ETIMEDOUT;
		hx_cpu_relax();
		/* Acquire: as above. */
		if (atomic_load_explicit(word, memory_order_acquire) != expected)
			return 0;
	}
}

int hx_futex_wake(_Atomic uint32_t *word, uint32_t count)
{
	/* Waiters spin on the word itself: nobody sleeps, nobody needs waking. */
	return 0;
}

/*
 * One CPU runs everything, so the other side of any asymmetric pair is an interrupted or preempted
 * task on this same CPU, whose stores this CPU already sees in program order: a full fence is
 * plenty. With SMP this becomes an IPI that makes every other CPU execute a full barrier.
 */
void hx_barrier_heavy(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

void hx_arch_exit(int status)
{
	if (status < 0 || status > HX_EXIT_STATUS_MAX)
		status = HX_EXIT_PANIC;
	hx_outl(HX_DEBUG_EXIT_PORT, HX_EXIT_TAG | (uint32_t)status);
	hx_halt_forever();
	__builtin_unreachable();
}

void hx_platform_abort(void)
{
	hx_arch_exit(HX_EXIT_PANIC);
}
