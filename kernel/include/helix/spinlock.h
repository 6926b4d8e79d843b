/* SPDX-License-Identifier: MIT */
/*
 * Spinlocks: test-and-test-and-set on one word. The _irqsave variants also disable local
 * interrupts, which is what makes a lock safe to take both in task context and in an interrupt
 * handler on one CPU. Rule: a lock that an interrupt handler takes is always taken with _irqsave
 * elsewhere. Not recursive. Hold briefly; never sleep while holding one.
 */
#ifndef HELIX_SPINLOCK_H
#define HELIX_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

struct hx_spinlock {
	HX_ATOMIC(uint32_t) locked;
};

#define HX_SPINLOCK_INIT \
	{                \
		0        \
	}

/* Before the lock is shared with anyone, so any store will do. */
static inline void hx_spin_init(struct hx_spinlock *lock)
{
	lock->locked = 0;
}

/* Acquire; spins until free. Any context, but see the irqsave rule above. */
void hx_spin_lock(struct hx_spinlock *lock);
/* Try once: true when acquired. */
bool hx_spin_trylock(struct hx_spinlock *lock);
/* Release a lock held by the caller. */
void hx_spin_unlock(struct hx_spinlock *lock);

/* Disable local interrupts, then acquire; returns the interrupt state to hand to the unlock. */
unsigned long hx_spin_lock_irqsave(struct hx_spinlock *lock);
/* Release, then restore the interrupt state hx_spin_lock_irqsave returned. */
void hx_spin_unlock_irqrestore(struct hx_spinlock *lock, unsigned long flags);

HX_END_DECLS

#endif /* HELIX_SPINLOCK_H */
