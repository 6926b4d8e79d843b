// SPDX-License-Identifier: MIT
/*
 * The arch half of the kernel's platform API (helix/platform.h): CPU hints, interrupt state, the
 * heavy barrier, abort; and how the kernel ends (helix/arch/exit.h). The memory half (hx_alloc
 * and friends) lives in kernel/core/kmem.c, the task half (hx_yield, hx_task_id, futex wait/wake,
 * preemption) in kernel/core/sched.c.
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

unsigned int hx_cpu_id(void)
{
	return 0; /* one CPU (docs/architecture.md) */
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
