/* SPDX-License-Identifier: MIT */
/*
 * Sleepable read-copy-update (SRCU), the small version: readers mark a section with
 * hx_srcu_read_lock/unlock and may sleep inside it; a writer that has unlinked something calls
 * hx_srcu_synchronize, which returns once every reader that could have seen it has left, and then
 * frees or reuses it. Used where readers are hot and writers rare: the syscall hook list and the
 * dynamic syscall table (and, next, the event bus's subscriber list).
 *
 * Mechanism (Linux's original SRCU, with an asymmetric fence): two counters per stripe, selected by
 * the low bit of an epoch. A reader increments counter[epoch & 1] of its stripe, then a light
 * barrier (a compiler barrier), and later decrements the same counter (the token says which).
 * synchronize runs hx_barrier_heavy once (so every reader's increment is visible to it, or the
 * reader sees the unlink), then twice flips the epoch and waits until the old side's counters sum
 * to zero: both sides are drained, and the flips keep new readers from holding a wait forever.
 * kernel/lib/srcu.c argues each step. Stripes (one cache line each, chosen by the task id) keep
 * concurrent readers off each other's lines.
 *
 * Costs: read_lock and read_unlock are one relaxed/release atomic read-modify-write each on the
 * reader's own stripe (plus a load of the epoch), no fence; synchronize costs a heavy barrier
 * (hosted: membarrier, microseconds) and sleeps in short naps until the readers drain.
 */
#ifndef HELIX_SRCU_H
#define HELIX_SRCU_H

#include <stdint.h>

#include <helix/compiler.h>
#include <helix/spinlock.h>

HX_BEGIN_DECLS

#define HX_SRCU_STRIPES 8

struct hx_srcu {
	HX_ATOMIC(uint32_t) epoch;
	HX_ATOMIC(uint32_t) writer; /* 1 while a synchronize runs: writers take turns */
	struct {
		HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(int64_t) count[2];
	} stripes[HX_SRCU_STRIPES];
};

/* hx_srcu_init - before any use; or zero-initialise statically (HX_SRCU_INIT). */
void hx_srcu_init(struct hx_srcu *srcu);
#define HX_SRCU_INIT \
	{            \
		0    \
	}

/* hx_srcu_read_lock - enter a read-side section; returns the token for unlock. Task context;
 * sections may nest and may sleep. */
unsigned hx_srcu_read_lock(struct hx_srcu *srcu);
/* hx_srcu_read_unlock - leave the section @token (from read_lock) opened. */
void hx_srcu_read_unlock(struct hx_srcu *srcu, unsigned token);

/*
 * hx_srcu_synchronize - wait until every read-side section that began before this call has
 * ended. Task context; yields the CPU while it waits. Must not be called inside a read-side
 * section of the same hx_srcu (it would wait for itself).
 */
void hx_srcu_synchronize(struct hx_srcu *srcu);

HX_END_DECLS

#endif /* HELIX_SRCU_H */
