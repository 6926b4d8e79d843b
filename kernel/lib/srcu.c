// SPDX-License-Identifier: MIT
/*
 * Sleepable RCU (helix/srcu.h): two counters per stripe, an epoch whose low bit picks the side new
 * readers use, and a writer that flips the epoch twice and waits for each old side to drain.
 * Writers take turns on the `writer` word.
 *
 * Why it is safe. Take a reader R that could still see the thing the writer unlinked: R loads the
 * protected pointer after its increment and its hx_barrier_light, and the writer stores the unlink
 * before synchronize's hx_barrier_heavy and reads the counters only after it. The asymmetric
 * barrier pair (platform.h) is a store-load fence split between the two: either R's light barrier
 * came first, and then the writer's counter loads see R's increment, or the heavy barrier came
 * first, and then R's pointer load sees the unlink and R cannot reach the old object. So every
 * reader that matters has incremented a counter the writer reads, on one side or the other;
 * synchronize waits for both sides after the barrier, so it waits for R whichever side R picked,
 * however stale the epoch it read. Each counter only counts its own readers (the token sends the
 * decrement to the counter the increment went to), so it never goes below zero and a zero means
 * each of them has left.
 *
 * Why it ends. New readers follow the epoch: once it has flipped away from a side (and the flip
 * is visible), only readers that read the epoch before the flip and have not incremented yet can
 * still add to that side, at most one per task. Waiting for the side new readers use would never
 * end while readers keep coming, hence the second flip before the second wait. (Correctness needs
 * no flip at all, only both waits after the barrier; the flips are what make each wait finite.)
 *
 * Why the free is safe after it returns. A reader's decrement is a release and the writer's loads
 * of the counters are acquires: the load that sees a drained counter reads the decrement or a
 * later read-modify-write of the same counter (every change of a counter is one, so all of them
 * continue the decrement's release sequence), so everything the reader did in its section
 * happens before synchronize returns.
 */
#include <stdint.h>

#include <helix/assert.h>
#include <helix/platform.h>
#include <helix/srcu.h>

/* A token is (stripe << 1) | side. */
#define TOKEN_SIDE_BITS 1u
#define TOKEN_SIDE_MASK 1u

void hx_srcu_init(struct hx_srcu *srcu)
{
	/* Relaxed: before the domain is shared; whoever shares it publishes it. */
	atomic_store_explicit(&srcu->epoch, 0, memory_order_relaxed);
	atomic_store_explicit(&srcu->writer, 0, memory_order_relaxed);
	for (unsigned i = 0; i < HX_SRCU_STRIPES; i++) {
		atomic_store_explicit(&srcu->stripes[i].count[0], 0, memory_order_relaxed);
		atomic_store_explicit(&srcu->stripes[i].count[1], 0, memory_order_relaxed);
	}
}

unsigned hx_srcu_read_lock(struct hx_srcu *srcu)
{
	unsigned stripe = (unsigned)(hx_task_id() % HX_SRCU_STRIPES);
	/* Relaxed: the side only decides which of synchronize's two waits covers this reader (it
	 * waits for both); a stale epoch costs the writer a longer wait, never safety. */
	unsigned side = atomic_load_explicit(&srcu->epoch, memory_order_relaxed) & TOKEN_SIDE_MASK;

	/* Relaxed: hx_barrier_light below is what orders it before the section's loads. */
	atomic_fetch_add_explicit(&srcu->stripes[stripe].count[side], 1, memory_order_relaxed);
	/* Pairs with hx_barrier_heavy in hx_srcu_synchronize: either the writer's counter loads see
	 * our increment, or our loads from here on see the unlink the writer stored before it. */
	hx_barrier_light();
	return (stripe << TOKEN_SIDE_BITS) | side;
}

void hx_srcu_read_unlock(struct hx_srcu *srcu, unsigned token)
{
	unsigned stripe = token >> TOKEN_SIDE_BITS;

	HX_ASSERT(stripe < HX_SRCU_STRIPES);
	/* Release: pairs with the acquire loads in wait_side; the section's accesses happen before
	 * the writer sees the counter drained (and frees). */
	atomic_fetch_sub_explicit(&srcu->stripes[stripe].count[token & TOKEN_SIDE_MASK], 1,
	                          memory_order_release);
}

/* The readers on @side, summed over the stripes; one load per counter. */
static int64_t readers_on(struct hx_srcu *srcu, unsigned side)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < HX_SRCU_STRIPES; i++)
		/* Acquire: pairs with the release decrement in hx_srcu_read_unlock. */
		sum += atomic_load_explicit(&srcu->stripes[i].count[side], memory_order_acquire);
	return sum;
}

/*
 * Waiting: timed naps, no hx_yield. A writer that yields in a loop stays runnable and competes for
 * the CPU with the very readers it waits for (what usually holds a grace period up is a reader
 * preempted inside its section), and on a busy host one sched_yield can cost it a whole timeslice;
 * a nap leaves the CPU to the readers and the timer brings the writer back promptly. Measured with
 * 4 dispatching threads on 2 busy cores (hooks_test): about 19 ms per grace period yielding, 2 ms
 * napping. The nap grows with the time waited (a sixteenth of it, so polling costs at most about
 * 6% of a long wait such as a reader asleep in a blocking syscall) up to 1 ms.
 */
#define WAIT_NAP_MIN_NS 50000u
#define WAIT_NAP_MAX_NS 1000000u

/* A word nobody wakes: hx_futex_wait on it is a timed nap. */
static HX_ATOMIC(uint32_t) nap_word;

static void wait_side(struct hx_srcu *srcu, unsigned side)
{
	uint64_t start = 0;
	int64_t readers;

	while ((readers = readers_on(srcu, side)) != 0) {
		uint64_t now = hx_time_ns();

		/* Negative: an unlock without its lock, or a token from another domain. */
		HX_ASSERT(readers > 0);
		if (!start)
			start = now;
		hx_futex_wait(&nap_word, 0,
		              now + HX_MIN(WAIT_NAP_MIN_NS + (now - start) / 16, WAIT_NAP_MAX_NS));
	}
}

void hx_srcu_synchronize(struct hx_srcu *srcu)
{
	/* Writers take turns, sleeping on the word while another one runs (a grace period lasts
	 * milliseconds: not a thing to spin or yield through). Acquire: pairs with the release
	 * below, so one writer's flips are ordered before the next one's. */
	while (atomic_exchange_explicit(&srcu->writer, 1, memory_order_acquire))
		hx_futex_wait(&srcu->writer, 1, HX_FOREVER); /* returns at once if it is 0 now */

	/* Pairs with hx_barrier_light in hx_srcu_read_lock (see the top of the file): the
	 * caller's unlink, stored before this call, is ordered before every counter load below. */
	hx_barrier_heavy();

	for (int flip = 0; flip < 2; flip++) {
		/* Relaxed: only writers change the epoch, in turn under the writer lock; readers
		 * use it as a hint (see hx_srcu_read_lock). Returns the side readers used until
		 * now. */
		uint32_t old = atomic_fetch_add_explicit(&srcu->epoch, 1, memory_order_relaxed);

		wait_side(srcu, old & TOKEN_SIDE_MASK);
	}

	/* Release: pairs with the acquire exchange of the next writer. */
	atomic_store_explicit(&srcu->writer, 0, memory_order_release);
	hx_futex_wake(&srcu->writer, 1);
}
