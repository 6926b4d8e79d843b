// SPDX-License-Identifier: MIT
/*
 * The audit ring (hooks.h): a post-hook that writes one record per dispatch into a ring of
 * capacity slots and never blocks, never allocates, and tolerates any number of writers and
 * readers at once.
 *
 * Protocol. A writer claims a sequence number with one fetch_add on `next`; sequence s goes to
 * slot s % capacity. Each slot has a stamp, (seq << 2) | state, whose value only grows:
 *
 *   EMPTY    never written (the stamp is 0)
 *   WRITING  the writer of seq owns the slot and is storing the record
 *   UNREAD   the record of seq is complete and nobody has read it yet
 *   READ     the record of seq is complete and some reader has copied it
 *
 * The writer of s takes the slot with a CAS from a complete (or empty) stamp of an older seq to
 * WRITING(s), stores the fields, then stores UNREAD(s) (a seqlock whose sequence is the record's
 * own seq). Replacing UNREAD counts the old record as overwritten. The writer never waits: if the
 * slot already holds a newer seq, or a newer writer gave the slot up, its record is obsolete; if an
 * older writer (a whole lap behind, preempted mid-record) still owns the slot, it gives its record
 * up and notes that in the slot's `abandoned`. All of these count as overwritten: records lost
 * before anybody could read them. Only a writer preempted for a whole lap of the ring gets there.
 *
 * A reader at seq c looks at slot c % capacity: a complete stamp of c is copied and then
 * validated by a CAS from the stamp it saw to READ(c) (which also tells writers somebody read it);
 * a stamp of a newer seq or a failed validation mean record c was overwritten, and so does an
 * older stamp with an `abandoned` beyond c (dropped, for this reader). WRITING(c), or an older
 * stamp without, mean record c is still to come: the reader stops there, returning what it has,
 * without waiting.
 *
 * Ordering. The fields are 64-bit atomics written with release stores and read with acquire
 * loads (plain moves on x86): a reader that loads any field value a later writer stored therefore
 * happens after that writer's claim, and its validating CAS (coherence) cannot see the stamp from
 * before the claim, so a torn copy always fails validation. A writer's claim is an acquire that
 * reads the previous writer's release publication (or a reader's CAS in its release sequence), so
 * its field stores come after the previous record's in every field's modification order.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>

#define AUDIT_HOOK_NAME "audit"
#define CAPACITY_MIN    2u
#define CAPACITY_MAX    65536u

enum slot_state {
	SLOT_EMPTY = 0,
	SLOT_WRITING = 1,
	SLOT_UNREAD = 2,
	SLOT_READ = 3,
};

#define STATE_BITS 2u
#define STATE_MASK 3u

static inline uint64_t stamp_of(uint64_t seq, enum slot_state state)
{
	return (seq << STATE_BITS) | state;
}

static inline uint64_t stamp_seq(uint64_t stamp)
{
	return stamp >> STATE_BITS;
}

static inline enum slot_state stamp_state(uint64_t stamp)
{
	return (enum slot_state)(stamp & STATE_MASK);
}

/* Every field is a 64-bit atomic: writers and readers of one slot may overlap (see the top). */
struct audit_slot {
	HX_ATOMIC(uint64_t) stamp;
	HX_ATOMIC(uint64_t) abandoned; /* 1 + the newest seq that gave this slot up; 0: none */
	HX_ATOMIC(uint64_t) time_ns;
	HX_ATOMIC(uint64_t) pid;
	HX_ATOMIC(uint64_t) nr;
	HX_ATOMIC(uint64_t) args[HX_SYSCALL_ARGS];
	HX_ATOMIC(uint64_t) result;     /* int64_t */
	HX_ATOMIC(uint64_t) failed_arg; /* int64_t */
	HX_ATOMIC(uint64_t) reason;     /* const char * */
	HX_ATOMIC(uint64_t) by;         /* const char * */
};

struct hx_audit_ring {
	struct hx_syscall_hook hook;
	uint64_t mask; /* capacity - 1 */
	/* Written by every dispatch: kept off the line of the read-mostly fields above. */
	char pad0[HX_CACHELINE];
	HX_ATOMIC(uint64_t) next; /* the next seq to hand out = records ever claimed */
	char pad1[HX_CACHELINE - sizeof(uint64_t)];
	HX_ATOMIC(uint64_t) lost; /* records overwritten or given up before anybody read them */
	char pad2[HX_CACHELINE - sizeof(uint64_t)];
	struct audit_slot slots[];
};

static void count_lost(struct hx_audit_ring *ring)
{
	/* Relaxed: a statistic; nothing is read through it. */
	atomic_fetch_add_explicit(&ring->lost, 1, memory_order_relaxed);
}

/* Note that @seq gave @slot up: abandoned becomes at least seq + 1. */
static void mark_abandoned(struct audit_slot *slot, uint64_t seq)
{
	/* Relaxed: a reader that misses it stops at the gap and sees it on a later read; nothing
	 * else is published with it. */
	uint64_t seen = atomic_load_explicit(&slot->abandoned, memory_order_relaxed);

	while (seen < seq + 1 &&
	       !atomic_compare_exchange_weak_explicit(&slot->abandoned, &seen, seq + 1,
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

/* Take @slot for @seq: true when the caller owns it (state WRITING(seq)). */
static bool claim(struct hx_audit_ring *ring, struct audit_slot *slot, uint64_t seq)
{
	/* Relaxed: a first guess for the CAS, which decides. */
	uint64_t stamp = atomic_load_explicit(&slot->stamp, memory_order_relaxed);

	for (;;) {
		enum slot_state state = stamp_state(stamp);

		/* A newer record is there already, or a newer writer gave up on the slot: this
		 * record would never be read. */
		if ((state != SLOT_EMPTY && stamp_seq(stamp) > seq) ||
		    /* Relaxed: a hint (see mark_abandoned). */
		    atomic_load_explicit(&slot->abandoned, memory_order_relaxed) > seq)
			break;
		if (state == SLOT_WRITING) {
			/* An older writer still owns the slot: give up rather than wait for it. */
			mark_abandoned(slot, seq);
			break;
		}
		/* Acquire: pairs with the release publication of the record we replace (and the
		 * readers' CAS in its release sequence): our field stores follow its. */
		if (atomic_compare_exchange_weak_explicit(
		        &slot->stamp, &stamp, stamp_of(seq, SLOT_WRITING), memory_order_acquire,
		        memory_order_relaxed)) {
			if (state == SLOT_UNREAD)
				count_lost(ring); /* the record we replace was never read */
			return true;
		}
	}
	count_lost(ring);
	return false;
}

/* Release stores: see "Ordering" at the top (pairs with the acquire loads in copy_record). */
static void put(HX_ATOMIC(uint64_t) *field, uint64_t value)
{
	atomic_store_explicit(field, value, memory_order_release);
}

static void audit_post(struct hx_syscall_ctx *ctx, long result, void *arg)
{
	struct hx_audit_ring *ring = arg;
	/* Relaxed: the slot's stamp carries every ordering; this only hands out numbers. */
	uint64_t seq = atomic_fetch_add_explicit(&ring->next, 1, memory_order_relaxed);
	struct audit_slot *slot = &ring->slots[seq & ring->mask];
	const struct hx_syscall_failure *failure = &ctx->failure;

	if (!claim(ring, slot, seq))
		return;
	put(&slot->time_ns, ctx->end_ns ? ctx->end_ns : hx_time_ns());
	put(&slot->pid, ctx->caller ? ctx->caller->pid : 0);
	put(&slot->nr, ctx->nr);
	for (int i = 0; i < HX_SYSCALL_ARGS; i++)
		put(&slot->args[i], ctx->args[i]);
	put(&slot->result, (uint64_t)(int64_t)result);
	put(&slot->failed_arg, (uint64_t)(int64_t)(failure->error ? failure->arg : -1));
	put(&slot->reason, (uint64_t)(uintptr_t)(failure->error ? failure->reason : NULL));
	put(&slot->by, (uint64_t)(uintptr_t)(failure->error ? failure->by : NULL));
	/* Release: pairs with the readers' acquire load of the stamp; the fields come first. */
	atomic_store_explicit(&slot->stamp, stamp_of(seq, SLOT_UNREAD), memory_order_release);
}

/* Acquire loads: see "Ordering" at the top (pairs with put). */
static uint64_t get(HX_ATOMIC(uint64_t) *field)
{
	return atomic_load_explicit(field, memory_order_acquire);
}

static void copy_record(struct audit_slot *slot, uint64_t seq, struct hx_audit_record *rec)
{
	int64_t failed_arg = (int64_t)get(&slot->failed_arg);

	rec->seq = seq;
	rec->time_ns = get(&slot->time_ns);
	rec->pid = get(&slot->pid);
	rec->nr = get(&slot->nr);
	for (int i = 0; i < HX_SYSCALL_ARGS; i++)
		rec->args[i] = get(&slot->args[i]);
	rec->result = (int64_t)get(&slot->result);
	rec->failed_arg =
	    failed_arg >= -1 && failed_arg < HX_SYSCALL_ARGS ? (int8_t)failed_arg : -1;
	rec->reason = (const char *)(uintptr_t)get(&slot->reason);
	rec->by = (const char *)(uintptr_t)get(&slot->by);
}

int hx_audit_create(size_t capacity, struct hx_audit_ring **out)
{
	struct hx_audit_ring *ring;

	if (!out || capacity < CAPACITY_MIN || capacity > CAPACITY_MAX ||
	    (capacity & (capacity - 1)))
		return -HX_EINVAL;
	/* Zeroed: every stamp EMPTY, every counter 0. */
	ring = hx_zalloc(sizeof(*ring) + capacity * sizeof(struct audit_slot));
	if (!ring)
		return -HX_ENOMEM;
	ring->mask = capacity - 1;
	ring->hook.name = AUDIT_HOOK_NAME;
	ring->hook.priority = HX_HOOK_AUDIT;
	ring->hook.post = audit_post;
	ring->hook.arg = ring;
	*out = ring;
	return 0;
}

void hx_audit_destroy(struct hx_audit_ring *ring)
{
	hx_free(ring);
}

struct hx_syscall_hook *hx_audit_hook(struct hx_audit_ring *ring)
{
	return ring ? &ring->hook : NULL;
}

size_t hx_audit_read(struct hx_audit_ring *ring, uint64_t *cursor, struct hx_audit_record *out,
                     size_t max, uint64_t *dropped)
{
	uint64_t capacity = ring->mask + 1;
	/* Relaxed: an upper bound for the walk; each slot's stamp carries the ordering. */
	uint64_t head = atomic_load_explicit(&ring->next, memory_order_relaxed);
	uint64_t seq = *cursor, lost = 0;
	size_t copied = 0;

	if (seq < head && head - seq > capacity) {
		lost = head - capacity - seq; /* already overwritten: not even worth a look */
		seq = head - capacity;
	}
	while (copied < max && seq < head) {
		struct audit_slot *slot = &ring->slots[seq & ring->mask];
		/* Acquire: pairs with the writer's release publication of the stamp. */
		uint64_t stamp = atomic_load_explicit(&slot->stamp, memory_order_acquire);
		enum slot_state state = stamp_state(stamp);

		if (state != SLOT_EMPTY && stamp_seq(stamp) > seq) {
			lost++; /* overwritten */
			seq++;
			continue;
		}
		if (stamp_seq(stamp) == seq && (state == SLOT_UNREAD || state == SLOT_READ)) {
			uint64_t seen = stamp;

			copy_record(slot, seq, &out[copied]);
			/* Validate and mark read in one step. Acquire on failure too: either way
			 * the field loads above come first (see "Ordering"). */
			if (atomic_compare_exchange_strong_explicit(
			        &slot->stamp, &seen, stamp_of(seq, SLOT_READ), memory_order_acq_rel,
			        memory_order_acquire) ||
			    seen == stamp_of(seq, SLOT_READ))
				copied++;
			else
				lost++; /* overwritten while we copied */
			seq++;
			continue;
		}
		if (stamp_seq(stamp) == seq)
			break; /* WRITING(seq): being written, the next read gets it */
		/* An older record is still there: record seq is yet to be claimed, or was given up
		 * (by its own writer, or by a newer one, which makes it obsolete: its writer will
		 * give up too). Relaxed: a hint (see mark_abandoned); missing it only stops this
		 * read early. */
		if (atomic_load_explicit(&slot->abandoned, memory_order_relaxed) > seq) {
			lost++;
			seq++;
			continue;
		}
		break; /* not claimed yet: the next read gets it */
	}
	*cursor = seq;
	if (dropped)
		*dropped += lost;
	return copied;
}

uint64_t hx_audit_written(const struct hx_audit_ring *ring)
{
	/* Relaxed: a statistic. */
	return atomic_load_explicit(&ring->next, memory_order_relaxed);
}

uint64_t hx_audit_overwritten(const struct hx_audit_ring *ring)
{
	/* Relaxed: a statistic. */
	return atomic_load_explicit(&ring->lost, memory_order_relaxed);
}
