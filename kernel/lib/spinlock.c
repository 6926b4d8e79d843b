// SPDX-License-Identifier: MIT
#include <helix/platform.h>
#include <helix/spinlock.h>

/*
 * Test-and-test-and-set: spin on a plain load so waiters share the cache line instead of bouncing
 * it with failed exchanges. The acquire exchange pairs with the release store in hx_spin_unlock, so
 * everything the previous holder wrote inside the critical section is visible to the next one.
 */
void hx_spin_lock(struct hx_spinlock *lock)
{
	/* The holder must not be switched out: on one CPU a waiter would spin a whole time slice.
	 */
	hx_preempt_disable();
	for (;;) {
		if (!atomic_exchange_explicit(&lock->locked, 1, memory_order_acquire))
			return;
		/* Relaxed: only a hint that the lock may be free; the exchange above decides. */
		while (atomic_load_explicit(&lock->locked, memory_order_relaxed))
			hx_cpu_relax();
	}
}

bool hx_spin_trylock(struct hx_spinlock *lock)
{
	hx_preempt_disable();
	/* Relaxed pre-check avoids taking the line exclusive when the lock is obviously held.
	 * Acquire exchange: pairs with the release in hx_spin_unlock. */
	if (!atomic_load_explicit(&lock->locked, memory_order_relaxed) &&
	    !atomic_exchange_explicit(&lock->locked, 1, memory_order_acquire))
		return true;
	hx_preempt_enable();
	return false;
}

void hx_spin_unlock(struct hx_spinlock *lock)
{
	/* Release: publishes the critical section to the next acquirer's exchange. */
	atomic_store_explicit(&lock->locked, 0, memory_order_release);
	hx_preempt_enable();
}

unsigned long hx_spin_lock_irqsave(struct hx_spinlock *lock)
{
	unsigned long flags = hx_irq_save();
	hx_spin_lock(lock);
	return flags;
}

void hx_spin_unlock_irqrestore(struct hx_spinlock *lock, unsigned long flags)
{
	hx_spin_unlock(lock);
	hx_irq_restore(flags);
}
