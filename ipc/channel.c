// SPDX-License-Identifier: MIT
/*
 * Bounded MPSC channels. The protocol, its memory orders and the sleep/wake handshake are described
 * in docs/channel.md; the comments here name each ordering's partner.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/assert.h>
#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/ipc/channel.h>
#include <helix/platform.h>
#include <helix/string.h>

/* Bit 63 of the tail: set once by close; a claim (CAS) can then no longer succeed. */
#define CLOSED ((uint64_t)1 << 63)

/* Rounds of hx_cpu_relax before a waiter sleeps: about a microsecond, a few message times. */
#define SPIN_ROUNDS 64

/* A wake from the consumer's own CPU after which it took fewer messages than this before the
 * channel was empty again makes it yield once before its next sleep (hand_over). */
#define HANDOVER_BATCH 16

/*
 * seq encodes the slot's state for position p (docs/channel.md): 2p free for p's producer, 2p + 1
 * holding p's message. Doubling keeps "published p" (2p + 1) apart from "free for p + C" (2p + 2C)
 * even when C is 1, where Vyukov's original p + 1 / p + C encoding collides.
 */
struct slot {
	HX_ATOMIC(uint64_t) seq;
	unsigned char data[];
};

struct hx_chan {
	/* Read-only after create. */
	unsigned char *slots;
	void *allocation;
	uint64_t capacity;
	uint64_t mask;        /* capacity - 1 when capacity is a power of two */
	uint64_t wake_len;    /* sleeping senders are woken when at most this many are queued */
	uint64_t fence_every; /* capacity - wake_len: the consumer fences at least this often */
	bool pow2;
	size_t msg_size;
	size_t stride;

	/* Producers: every send CASes this line. */
	_Alignas(HX_CACHELINE) HX_ATOMIC(uint64_t) tail;

	/* The consumer's position: written by the consumer only, read by len and stats. */
	_Alignas(HX_CACHELINE) HX_ATOMIC(uint64_t) head;
	HX_ATOMIC(uint32_t) consumer_busy; /* debug builds: detects a second consumer */
	uint64_t unfenced_frees; /* the consumer's own: slots freed since its last fence */
	/* The consumer's own: its last wake came from its own CPU, and head then (hand_over). */
	bool local_wake;
	uint64_t local_wake_head;
	/* The last time it found the channel empty it was receiving with HX_NOWAIT (it polls):
	 * senders about to sleep do not yield to it. */
	HX_ATOMIC(uint32_t) consumer_polls;
	/* Written by the consumer only: how long it spins by the clock before it sleeps, the
	 * latency of its last wake if a producer on another CPU made it (spin_for_message). */
	HX_ATOMIC(uint64_t) recv_spin_ns;
	HX_ATOMIC(uint64_t) remote_wakes; /* statistics: counted by the consumer in learn_wake */
	HX_ATOMIC(uint64_t) recv_yields;  /* statistics: counted by the consumer in hand_over */

	/* Read by the fast paths, written only by sleepers, their wakers and close: stays shared in
	 * the caches. senders_waiting is set by every sender about to sleep and cleared only by the
	 * consumer when it wakes them all (notify_space). */
	_Alignas(HX_CACHELINE) HX_ATOMIC(uint32_t) consumer_waiting;
	HX_ATOMIC(uint32_t) senders_waiting;
	HX_ATOMIC(uint32_t) closed;

	/* Slow paths only: futex words, the wake relay and counters. */
	_Alignas(HX_CACHELINE) HX_ATOMIC(uint32_t) data_event;
	HX_ATOMIC(uint32_t) space_event;
	/* Set by the consumer when it wakes one sleeping sender, taken by the first sender back
	 * from its futex_wait, which wakes all the others (notify_space). */
	HX_ATOMIC(uint32_t) wake_relay;
	/* Written by the producer that wakes the consumer, read by the consumer once awake (hints
	 * for learn_wake, relaxed): when it woke it and on which CPU it ran. */
	HX_ATOMIC(uint64_t) consumer_woken_ns;
	HX_ATOMIC(uint32_t) consumer_waker_cpu;
	HX_ATOMIC(uint64_t) full_events;
	HX_ATOMIC(uint64_t) send_sleeps;
	HX_ATOMIC(uint64_t) recv_sleeps;
	HX_ATOMIC(uint64_t) wakeups;
};

HX_STATIC_ASSERT(offsetof(struct hx_chan, head) - offsetof(struct hx_chan, tail) >= HX_CACHELINE,
                 "producer and consumer positions on separate cache lines");
HX_STATIC_ASSERT(offsetof(struct hx_chan, consumer_waiting) - offsetof(struct hx_chan, head) >=
                     HX_CACHELINE,
                 "the wait flags do not share the consumer's line");
HX_STATIC_ASSERT(sizeof(struct hx_chan) % HX_CACHELINE == 0, "slots start on a cache line");

static inline struct slot *slot_at(const struct hx_chan *chan, uint64_t pos)
{
	uint64_t index = chan->pow2 ? pos & chan->mask : pos % chan->capacity;
	return (struct slot *)(chan->slots + index * chan->stride);
}

/* Fixed sizes become single moves; the benchmark's 8- and 64-byte messages take this path. */
static inline void copy_message(void *dst, const void *src, size_t size)
{
	switch (size) {
	case 8:
		hx_memcpy(dst, src, 8);
		break;
	case 16:
		hx_memcpy(dst, src, 16);
		break;
	case 32:
		hx_memcpy(dst, src, 32);
		break;
	case 64:
		hx_memcpy(dst, src, 64);
		break;
	default:
		hx_memcpy(dst, src, size);
		break;
	}
}

/*
 * A seq_cst fence: the store-load barrier of the sleeping senders' handshake (notify_space) and of
 * the consumer's tail check (take_slow). Out of line because GCC refuses atomic_thread_fence
 * inlined under -fsanitize=thread (-Wtsan); it runs only on a sleeper's way to sleep and once per
 * fence_every receives, where a call is nothing next to the fence. ThreadSanitizer does not model
 * fences: every access they order here is atomic, so it has nothing to miss.
 */
static __attribute__((noinline)) void full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

static void count(HX_ATOMIC(uint64_t) *counter)
{
	/* Relaxed: statistics order nothing. */
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ---- Debug: one consumer at a time --------------------------------------------------------- */

static inline void consumer_enter(struct hx_chan *chan)
{
#ifndef NDEBUG
	/* Relaxed: detection only; the slot protocol orders the data. */
	if (atomic_exchange_explicit(&chan->consumer_busy, 1, memory_order_relaxed))
		hx_panic("channel %p: a second consumer called recv concurrently (MPSC: one "
		         "consumer at a time)",
		         (void *)chan);
#else
	(void)chan;
#endif
}

static inline void consumer_leave(struct hx_chan *chan)
{
#ifndef NDEBUG
	atomic_store_explicit(&chan->consumer_busy, 0, memory_order_relaxed);
#else
	(void)chan;
#endif
}

/* ---- Producers ----------------------------------------------------------------------------- */

/* One attempt to claim a position: 0 and *@out, -HX_EAGAIN when full, -HX_EPIPE when closed. */
static inline int try_claim(struct hx_chan *chan, uint64_t *out)
{
	/* Relaxed: the position is only a guess until the CAS; the slot's seq orders the data. */
	uint64_t pos = atomic_load_explicit(&chan->tail, memory_order_relaxed);

	for (;;) {
		int64_t diff;

		if (HX_UNLIKELY(pos & CLOSED))
			return -HX_EPIPE;
		/* Acquire: pairs with the consumer's release store that freed the slot, so our
		 * message write cannot overtake its read of the previous lap's message. */
		diff =
		    (int64_t)(atomic_load_explicit(&slot_at(chan, pos)->seq, memory_order_acquire) -
		              2 * pos);
		if (diff == 0) {
			/* Seq_cst on success (on x86 the same locked cmpxchg as relaxed): the
			 * slot's seq orders the data, but this orders the claim before publish's
			 * load of consumer_waiting, for the consumer's tail check in take_slow. */
			if (atomic_compare_exchange_weak_explicit(&chan->tail, &pos, pos + 1,
			                                          memory_order_seq_cst,
			                                          memory_order_relaxed)) {
				*out = pos;
				return 0;
			}
		} else if (diff < 0) {
			return -HX_EAGAIN; /* the slot still holds the previous lap's message */
		} else {
			pos = atomic_load_explicit(&chan->tail, memory_order_relaxed);
		}
	}
}

static void wake_consumer(struct hx_chan *chan)
{
	/* Relaxed: one waker per sleep; the event word below carries the ordering. */
	if (!atomic_exchange_explicit(&chan->consumer_waiting, 0, memory_order_relaxed))
		return;
	atomic_store_explicit(&chan->consumer_woken_ns, hx_time_ns(), memory_order_relaxed);
	atomic_store_explicit(&chan->consumer_waker_cpu, hx_cpu_id(), memory_order_relaxed);
	/* Release: pairs with the consumer's acquire load of the event before it slept. */
	atomic_fetch_add_explicit(&chan->data_event, 1, memory_order_release);
	hx_futex_wake(&chan->data_event, 1);
	count(&chan->wakeups);
}

static inline void publish(struct hx_chan *chan, uint64_t pos, const void *msg)
{
	struct slot *slot = slot_at(chan, pos);

	copy_message(slot->data, msg, chan->msg_size);
	/* Release: pairs with the consumer's acquire load of seq; the message is visible first. */
	atomic_store_explicit(&slot->seq, 2 * pos + 1, memory_order_release);
	/* Pairs with hx_barrier_heavy in take_slow: we see its flag, or it sees our seq. */
	hx_barrier_light();
	/* Seq_cst (a plain load on x86): after our seq_cst claim, so a consumer whose tail check
	 * missed the claim has its flag seen here (take_slow). */
	if (HX_UNLIKELY(atomic_load_explicit(&chan->consumer_waiting, memory_order_seq_cst)))
		wake_consumer(chan);
}

/* The channel was full: spin, then sleep until there is room, a close, or the deadline. */
static int claim_slow(struct hx_chan *chan, uint64_t *pos, uint64_t deadline_ns)
{
	count(&chan->full_events);
	if (deadline_ns == HX_NOWAIT)
		return -HX_EAGAIN;
	for (;;) {
		uint32_t event;
		int err;

		if (deadline_ns != HX_FOREVER && hx_time_ns() >= deadline_ns)
			return -HX_ETIMEDOUT;
		for (int round = 0; round < SPIN_ROUNDS; round++) {
			hx_cpu_relax();
			err = try_claim(chan, pos);
			if (err != -HX_EAGAIN)
				return err;
		}

		/* Acquire: pairs with the release bump in notify_space and close. */
		event = atomic_load_explicit(&chan->space_event, memory_order_acquire);
		/* Relaxed: the fence below orders it before the re-try (a plain store: the old
		 * value does not matter). Cleared only by notify_space, which then wakes every
		 * sleeper; each that finds the channel full again sets it anew. */
		atomic_store_explicit(&chan->senders_waiting, 1, memory_order_relaxed);
		/* Pairs with the consumer's fence in notify_space, made at least once every
		 * fence_every freed slots: if our re-try misses a slot freed before that fence,
		 * the flag load after the fence sees our flag (docs/channel.md, "Waking
		 * senders"). */
		full_fence();
		/* A consumer that blocks in its receives is likely runnable behind us on this
		 * CPU: one yield lets it drain to wake_len meanwhile, and the re-try then claims
		 * instead of sleeping. A consumer that polls (HX_NOWAIT) holds a CPU already, and
		 * a yield only sends the sender to the back of its own CPU's queue, behind the
		 * poller (docs/channel.md, "Yield only to a blocking consumer"). Relaxed: a hint.
		 * Only a delay either way: the handshake holds whenever the re-try runs
		 * (ipc/model). */
		if (!atomic_load_explicit(&chan->consumer_polls, memory_order_relaxed))
			hx_yield();
		err = try_claim(chan, pos);
		if (err == -HX_EAGAIN) {
			count(&chan->send_sleeps);
			hx_futex_wait(&chan->space_event, event, deadline_ns);
			/* Woken, timed out or the event moved: first pass on a wake the consumer
			 * left to the first sender back (notify_space). Relaxed load: a hint; the
			 * exchange takes it once. */
			if (atomic_load_explicit(&chan->wake_relay, memory_order_relaxed) &&
			    atomic_exchange_explicit(&chan->wake_relay, 0, memory_order_relaxed))
				hx_futex_wake(&chan->space_event, HX_WAKE_ALL);
			/* Then re-try the claim before the loop looks at the deadline, so a sender
			 * past its deadline still takes the space a wake announced rather than
			 * failing next to it. */
			err = try_claim(chan, pos);
		}
		if (err != -HX_EAGAIN)
			return err;
	}
}

int hx_chan_send(struct hx_chan *chan, const void *msg, uint64_t deadline_ns)
{
	uint64_t pos;
	int err;

	if (HX_UNLIKELY(!chan || !msg))
		return -HX_EINVAL;
	err = try_claim(chan, &pos);
	if (HX_UNLIKELY(err == -HX_EAGAIN))
		err = claim_slow(chan, &pos, deadline_ns);
	if (HX_UNLIKELY(err))
		return err;
	publish(chan, pos, msg);
	return 0;
}

/* ---- The consumer -------------------------------------------------------------------------- */

/*
 * Takes up to @max published messages into @dst, in order, without waking anyone; returns how many.
 * Stops at the first slot not yet published (empty, or a producer still copying).
 */
static inline size_t take_ready(struct hx_chan *chan, unsigned char *dst, size_t max)
{
	/* Relaxed: only this consumer writes head. */
	uint64_t pos = atomic_load_explicit(&chan->head, memory_order_relaxed);
	size_t taken = 0;

	while (taken < max) {
		struct slot *slot = slot_at(chan, pos);

		/* Acquire: pairs with the producer's release publish of this position. */
		if (atomic_load_explicit(&slot->seq, memory_order_acquire) != 2 * pos + 1)
			break;
		copy_message(dst + taken * chan->msg_size, slot->data, chan->msg_size);
		/* Release: pairs with a producer's acquire load in try_claim; our read is done. */
		atomic_store_explicit(&slot->seq, 2 * (pos + chan->capacity), memory_order_release);
		pos++;
		taken++;
	}
	if (taken)
		atomic_store_explicit(&chan->head, pos, memory_order_relaxed);
	return taken;
}

/*
 * After freeing @taken slots: when a sender announced that it sleeps and the channel has drained to
 * wake_len messages (half the capacity), clear the flag and wake every sleeper once. Each woken
 * sender re-tries its claim and, finding the channel full again, sets the flag again before it
 * sleeps again; so one wake per announcement, not one per receive while anyone sleeps.
 *
 * The consumer wakes one sleeper itself and leaves the rest to it (the wake relay): waking all of
 * them took a polling consumer 15-40 us per wake on these machines, the woken senders preempting
 * it inside the call, a quarter of the run at 16 producers (docs/channel.md, "The wake relay").
 * The first sender back from futex_wait after the relay is set, woken or not, takes it and wakes
 * everyone. So every sleeper is still woken: one queued before the bump is dequeued by our wake
 * or by the relay's wake-all, which comes after the bump, and one that comes later loaded the
 * bumped event, so its flag store came after our clear and stays for a later receive. A relay
 * nobody takes (the flag was stale: nobody slept) costs the next sender back one needless wake.
 *
 * The flag load is ordered after our frees only by a compiler barrier, except once every
 * fence_every (capacity - wake_len) freed slots, when a seq_cst fence pairs with the one a sender
 * makes between its flag store and its re-try. A sender that sleeps missed a slot we freed, say
 * position q, with the tail at q + C. If we fence after freeing q, the two fences are ordered:
 * ours came second (else its re-try would see q free), so every flag load after ours sees the
 * flag. If we do not, we stopped receiving within fence_every - 1 positions after q, so at least
 * C - fence_every + 1 = wake_len + 1 of the positions below q + C, all claimed, are still inside:
 * the channel is above the watermark, where a sleeper is not woken anyway. So a sleeper is woken
 * at the latest by the first receive after our fence that leaves at most wake_len messages, in
 * particular by the receive that empties the channel. ipc/model checks it (FENCE_EVERY,
 * CONSUMER_STOPS).
 *
 * The low watermark is hysteresis (Linux's sk_stream_write_space waits for a third of a socket's
 * buffer to be free, for the same reason): woken at the first free slot, the sleepers would race
 * for it, most would find the channel full and sleep again, and with more senders than CPUs they
 * would take the CPU the consumer needs to drain it. Woken at half, each finds room for many
 * messages. Other senders may refill the channel and so delay the wake: that is the cost, fairness
 * (sleepers wait while senders that never slept keep the channel above the watermark, until their
 * deadlines). ipc/model checks it (WAKE_LEN).
 */
static inline void notify_space(struct hx_chan *chan, size_t taken)
{
	if (HX_UNLIKELY(chan->unfenced_frees + taken >= chan->fence_every)) {
		chan->unfenced_frees = 0;
		/* Pairs with the fence in claim_slow: our frees are visible before the flag load,
		 * or the sender's flag is visible to it (see above). */
		full_fence();
	} else {
		chan->unfenced_frees += taken;
		/* Keeps the flag load after the free stores in the compiled code. */
		hx_barrier_light();
	}
	if (HX_LIKELY(!atomic_load_explicit(&chan->senders_waiting, memory_order_relaxed)))
		return;
	if (hx_chan_len(chan) > chan->wake_len)
		return;
	/*
	 * Relaxed: the event word below carries the ordering. A sender whose flag store came before
	 * this clear loaded the event before the bump below (had it read the bump, the bump's
	 * release would order the clear before its store), so its futex_wait fails or is woken
	 * here; a store after the clear stays set for a later receive.
	 */
	if (!atomic_exchange_explicit(&chan->senders_waiting, 0, memory_order_relaxed))
		return;
	/* Release: pairs with the sender's acquire load of the event before it slept. */
	atomic_fetch_add_explicit(&chan->space_event, 1, memory_order_release);
	/* Relaxed: the sleeper our wake dequeues sees it (a futex wake orders the waker's earlier
	 * stores before the woken thread's return, as every futex-based lock relies on). Set after
	 * the bump, so the sender that takes it wakes everyone queued before the bump. */
	atomic_store_explicit(&chan->wake_relay, 1, memory_order_relaxed);
	hx_futex_wake(&chan->space_event, 1);
	count(&chan->wakeups);
}

/* Nothing is ready: -HX_EPIPE when the channel is closed and drained, else -HX_EAGAIN. */
static int empty_status(const struct hx_chan *chan)
{
	/* Acquire: pairs with the release store in close, made after the CLOSED bit was set. */
	if (HX_LIKELY(!atomic_load_explicit(&chan->closed, memory_order_acquire)))
		return -HX_EAGAIN;
	/* The tail is final once CLOSED is set: drained when head reached it. */
	if (atomic_load_explicit(&chan->tail, memory_order_relaxed) ==
	    (CLOSED | atomic_load_explicit(&chan->head, memory_order_relaxed)))
		return -HX_EPIPE;
	return -HX_EAGAIN; /* a producer accepted before the close is still copying */
}

/*
 * The consumer's wait before it sleeps: SPIN_ROUNDS rounds, then on by the clock for
 * recv_spin_ns (never past the deadline) while nothing is ready and the channel is open.
 * Returns how many messages it took, 0 if none.
 *
 * Spinning holds the consumer's CPU. When its producers share that CPU, every round keeps them
 * from running, and sleeping at once is best. When they run on other CPUs, the consumer's CPU
 * goes idle while it sleeps, and its wake then costs the wake latency of an idle CPU: tens of
 * microseconds on these VMs, where each one is a VM exit (docs/channel.md, "Spinning while the
 * producers run elsewhere"). learn_wake tells the two apart after each wake: a wake from another
 * CPU sets the spin to the latency that wake took (at most HX_CHAN_RECV_SPIN_MAX_NS), so the next
 * wait spins at most as long as a sleep would have cost; a wake from the consumer's own CPU sets it
 * to 0. Only a delay: the handshake after it is the same whenever it runs (ipc/model).
 */
static size_t spin_for_message(struct hx_chan *chan, unsigned char *dst, size_t max,
                               uint64_t deadline_ns)
{
	uint64_t spin_ns = atomic_load_explicit(&chan->recv_spin_ns, memory_order_relaxed);
	uint64_t until = 0;

	if (spin_ns) {
		until = hx_time_ns() + spin_ns;
		if (until > deadline_ns)
			until = deadline_ns;
	}
	do {
		for (int round = 0; round < SPIN_ROUNDS; round++) {
			size_t taken;

			hx_cpu_relax();
			taken = take_ready(chan, dst, max);
			if (taken)
				return taken;
		}
	} while (until && empty_status(chan) == -HX_EAGAIN && hx_time_ns() < until);
	return 0;
}

/*
 * After the consumer's futex_wait (begun at @slept, with head at @head): the spin for its next wait
 * (above), and whether that wait may hand the CPU over first (below).
 */
static void learn_wake(struct hx_chan *chan, uint64_t slept, uint64_t head)
{
	uint64_t woken = atomic_load_explicit(&chan->consumer_woken_ns, memory_order_relaxed);
	uint64_t latency;

	if (woken < slept)
		return; /* no producer woke this sleep: a timeout, a close or a moved event */
	if (atomic_load_explicit(&chan->consumer_waker_cpu, memory_order_relaxed) == hx_cpu_id()) {
		atomic_store_explicit(&chan->recv_spin_ns, 0, memory_order_relaxed);
		chan->local_wake = true;
		chan->local_wake_head = head;
		return;
	}
	chan->local_wake = false;
	count(&chan->remote_wakes);
	latency = hx_time_ns() - woken;
	atomic_store_explicit(&chan->recv_spin_ns,
	                      latency < HX_CHAN_RECV_SPIN_MAX_NS ? latency
	                                                         : HX_CHAN_RECV_SPIN_MAX_NS,
	                      memory_order_relaxed);
}

/*
 * Before the consumer sleeps on an empty channel: whether to yield its CPU once instead, to the
 * producers that share it. True once after a wake from the consumer's own CPU that brought fewer
 * than HANDOVER_BATCH messages before the channel was empty again. That is the ping-pong of a
 * consumer and producers on one CPU: a producer publishes, its wake makes the consumer preempt it,
 * the consumer takes a message or two and sleeps again, two context switches and two system calls
 * per message or two. A yield lets the producers run on until they fill the channel or block, and
 * the consumer then takes a batch. Once, and only after a small batch, because where the producers
 * can move to another CPU a yield hands the consumer's turn to them (docs/channel.md, "The
 * consumer's hand-over"). Only a delay, like the spin: the handshake after it is unchanged
 * (ipc/model).
 */
static bool hand_over(struct hx_chan *chan)
{
	/* Relaxed: only this consumer writes head. */
	if (!chan->local_wake ||
	    atomic_load_explicit(&chan->head, memory_order_relaxed) - chan->local_wake_head >=
	        HANDOVER_BATCH)
		return false;
	chan->local_wake = false;
	count(&chan->recv_yields);
	hx_yield();
	return true;
}

/* Waits until at least one message is ready (then takes up to @max), a close, or the deadline. */
static int take_slow(struct hx_chan *chan, unsigned char *dst, size_t max, uint64_t deadline_ns)
{
	/* Relaxed: a hint for claim_slow, recorded here rather than on every receive: how the
	 * consumer waits when it finds nothing is what a sender about to sleep needs to know. */
	if (atomic_load_explicit(&chan->consumer_polls, memory_order_relaxed) !=
	    (deadline_ns == HX_NOWAIT))
		atomic_store_explicit(&chan->consumer_polls, deadline_ns == HX_NOWAIT,
		                      memory_order_relaxed);
	for (;;) {
		size_t taken;
		uint32_t event;
		int err;

		err = empty_status(chan);
		if (err != -HX_EAGAIN || deadline_ns == HX_NOWAIT)
			return err;
		if (deadline_ns != HX_FOREVER && hx_time_ns() >= deadline_ns)
			return -HX_ETIMEDOUT;
		taken = spin_for_message(chan, dst, max, deadline_ns);
		if (taken)
			return (int)taken;
		if (hand_over(chan))
			continue; /* the loop looks again, then spins or sleeps */

		/* Acquire: pairs with the release bump in wake_consumer and close. */
		event = atomic_load_explicit(&chan->data_event, memory_order_acquire);
		atomic_store_explicit(&chan->consumer_waiting, 1, memory_order_relaxed);
		/*
		 * The tail check (docs/channel.md): with the fence, our flag is ordered before the
		 * tail load (in hx_chan_len). If no position past head is claimed, any producer
		 * claims later: its seq_cst claim comes after our fence, so its seq_cst flag load
		 * in publish sees our flag and it wakes us. Only claims we can see, made before our
		 * flag, need the asymmetric barrier: their producers may have loaded the flag
		 * before our store. The barrier is a membarrier hosted, 8-10 us on these VMs while
		 * another thread of the process runs (an IPI), so the common case, an empty
		 * channel, skips it.
		 */
		full_fence();
		if (hx_chan_len(chan))
			/* Pairs with hx_barrier_light in publish: it sees our flag, or we see its
			 * seq. */
			hx_barrier_heavy();
		taken = take_ready(chan, dst, max);
		if (!taken && empty_status(chan) == -HX_EAGAIN) {
			uint64_t slept = hx_time_ns();
			/* Relaxed: only this consumer writes head. */
			uint64_t head = atomic_load_explicit(&chan->head, memory_order_relaxed);

			count(&chan->recv_sleeps);
			/* Woken, timed out or the event moved: the loop decides. */
			hx_futex_wait(&chan->data_event, event, deadline_ns);
			taken = take_ready(chan, dst, max);
			learn_wake(chan, slept, head);
		}
		atomic_store_explicit(&chan->consumer_waiting, 0, memory_order_relaxed);
		if (taken)
			return (int)taken;
	}
}

static int receive(struct hx_chan *chan, void *dst, size_t max, uint64_t deadline_ns)
{
	size_t taken;
	int result;

	consumer_enter(chan);
	taken = take_ready(chan, dst, max);
	result = HX_LIKELY(taken) ? (int)taken : take_slow(chan, dst, max, deadline_ns);
	if (result > 0)
		notify_space(chan, (size_t)result);
	consumer_leave(chan);
	return result;
}

int hx_chan_recv(struct hx_chan *chan, void *msg, uint64_t deadline_ns)
{
	int result;

	if (HX_UNLIKELY(!chan || !msg))
		return -HX_EINVAL;
	result = receive(chan, msg, 1, deadline_ns);
	return result > 0 ? 0 : result;
}

int hx_chan_recv_many(struct hx_chan *chan, void *msgs, size_t max, uint64_t deadline_ns)
{
	if (!chan || !msgs || max == 0)
		return -HX_EINVAL;
	/* The count is returned as an int. */
	return receive(chan, msgs, HX_MIN(max, (size_t)INT32_MAX), deadline_ns);
}

/* ---- Life cycle and queries ---------------------------------------------------------------- */

int hx_chan_create(size_t capacity, size_t msg_size, struct hx_chan **out)
{
	size_t stride, bytes;
	unsigned char *raw;
	struct hx_chan *chan;

	if (!out || capacity == 0 || capacity > HX_CHAN_MAX_CAPACITY || msg_size == 0 ||
	    msg_size > HX_CHAN_MAX_MSG_SIZE)
		return -HX_EINVAL;
	/* Cannot overflow: both factors are bounded above (2^24 slots of at most 64 KiB + 8). */
	stride = HX_ALIGN_UP(sizeof(struct slot) + msg_size, sizeof(uint64_t));
	bytes = sizeof(struct hx_chan) + capacity * stride;

	/* hx_alloc aligns to 16; the cache-line layout needs 64. */
	raw = hx_alloc(bytes + HX_CACHELINE);
	if (!raw)
		return -HX_ENOMEM;
	chan = (struct hx_chan *)HX_ALIGN_UP((uintptr_t)raw, (uintptr_t)HX_CACHELINE);
	hx_memset(chan, 0, sizeof(*chan));
	chan->allocation = raw;
	chan->slots = (unsigned char *)(chan + 1);
	chan->capacity = capacity;
	chan->pow2 = (capacity & (capacity - 1)) == 0;
	chan->mask = capacity - 1;
	chan->wake_len = capacity / 2;
	chan->fence_every = capacity - chan->wake_len;
	chan->msg_size = msg_size;
	chan->stride = stride;
	for (size_t i = 0; i < capacity; i++)
		atomic_init(&slot_at(chan, i)->seq, 2 * i);
	/* Publishing the channel to other threads is the caller's business (and orders this). */
	*out = chan;
	return 0;
}

void hx_chan_destroy(struct hx_chan *chan)
{
	if (chan)
		hx_free(chan->allocation);
}

int hx_chan_close(struct hx_chan *chan)
{
	uint64_t old;

	if (!chan)
		return -HX_EINVAL;
	/* Relaxed: the release stores below publish the close to everyone who waits. */
	old = atomic_fetch_or_explicit(&chan->tail, CLOSED, memory_order_relaxed);
	if (old & CLOSED)
		return -HX_EPIPE;
	/* Release: pairs with the consumer's acquire load in empty_status. */
	atomic_store_explicit(&chan->closed, 1, memory_order_release);
	/* Release: pairs with the sleepers' acquire loads of the events; then wake everyone. */
	atomic_fetch_add_explicit(&chan->data_event, 1, memory_order_release);
	atomic_fetch_add_explicit(&chan->space_event, 1, memory_order_release);
	hx_futex_wake(&chan->data_event, HX_WAKE_ALL);
	hx_futex_wake(&chan->space_event, HX_WAKE_ALL);
	return 0;
}

size_t hx_chan_len(const struct hx_chan *chan)
{
	/* Tail first: a later head can only be larger, so the difference never exceeds the truth.
	 */
	uint64_t tail = atomic_load_explicit(&chan->tail, memory_order_relaxed) & ~CLOSED;
	uint64_t head = atomic_load_explicit(&chan->head, memory_order_relaxed);

	return head >= tail ? 0 : (size_t)HX_MIN(tail - head, chan->capacity);
}

size_t hx_chan_capacity(const struct hx_chan *chan)
{
	return (size_t)chan->capacity;
}

size_t hx_chan_msg_size(const struct hx_chan *chan)
{
	return chan->msg_size;
}

bool hx_chan_is_closed(const struct hx_chan *chan)
{
	return atomic_load_explicit(&chan->tail, memory_order_relaxed) & CLOSED;
}

void hx_chan_get_stats(const struct hx_chan *chan, struct hx_chan_stats *out)
{
	out->sends = atomic_load_explicit(&chan->tail, memory_order_relaxed) & ~CLOSED;
	out->receives = atomic_load_explicit(&chan->head, memory_order_relaxed);
	out->full_events = atomic_load_explicit(&chan->full_events, memory_order_relaxed);
	out->send_sleeps = atomic_load_explicit(&chan->send_sleeps, memory_order_relaxed);
	out->recv_sleeps = atomic_load_explicit(&chan->recv_sleeps, memory_order_relaxed);
	out->wakeups = atomic_load_explicit(&chan->wakeups, memory_order_relaxed);
	out->remote_wakes = atomic_load_explicit(&chan->remote_wakes, memory_order_relaxed);
	out->recv_spin_ns = atomic_load_explicit(&chan->recv_spin_ns, memory_order_relaxed);
	out->recv_yields = atomic_load_explicit(&chan->recv_yields, memory_order_relaxed);
}
