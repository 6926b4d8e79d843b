// SPDX-License-Identifier: MIT
/*
 * The event bus (helix/ipc/event_bus.h; protocol, reclamation and measurements in
 * docs/event-bus.md).
 *
 * Objects:
 *  - the queue: a bounded MPSC channel (ipc/channel.c) of struct hx_event. Publishers send with
 *    HX_NOWAIT, the dispatcher is its one consumer.
 *  - a subscriber record: the copy of a subscription, its counters and a `dead` flag. Owned by
 *    the bus; freed (after release) only after an SRCU grace period following its removal.
 *  - the list: an immutable array of (topics, record) sorted by (priority descending, order),
 *    replaced whole on every subscribe and unsubscribe (copy on write, syscall/hooks.c's pattern)
 *    and published with one release store. Walks load it with acquire inside the bus's SRCU
 *    read-side section and never take a lock.
 *  - the walkers: which tasks are inside a walk of this bus, and how deep. That is how
 *    unsubscribe knows whether it may wait for a grace period (not from inside a walk: it would
 *    wait for itself) and how sync publishing bounds its nesting.
 *
 * Why publishing is interrupt-safe: it validates, stamps the time, sends to the channel with
 * HX_NOWAIT and bumps relaxed counters. hx_chan_send with HX_NOWAIT never waits for anyone: a
 * producer claims a position with one CAS and writes only its own slot, so an interrupting
 * publisher on the same CPU never waits for the producer it interrupted (docs/event-bus.md walks
 * through each interleaving against ipc/channel.c); a full ring returns -HX_EAGAIN at once; the
 * consumer wake is hx_futex_wake, which platform.h allows in any context. The IRQ path touches
 * no SRCU, no lock and no allocator: those are the subscribers' business, in task context.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/assert.h>
#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/ipc/channel.h>
#include <helix/ipc/event_bus.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/spinlock.h>
#include <helix/srcu.h>
#include <helix/string.h>

/* Events the dispatcher takes from the queue per SRCU section (512 bytes of stack). */
#define DISPATCH_BATCH 8
/* A pressure level is left for a better one only total/HYSTERESIS_DIV frames past its threshold. */
#define HYSTERESIS_DIV 64

HX_STATIC_ASSERT(HX_BUS_MAX_QUEUE <= HX_CHAN_MAX_CAPACITY, "the queue is a channel");

struct subscriber {
	/* Read-only after subscribe. */
	int id;
	int priority;
	uint32_t topics;
	uint64_t order; /* subscription sequence: FIFO among equal priorities */
	hx_bus_handler_fn handler;
	void *ctx;
	void (*release)(void *ctx);
	char name[HX_BUS_NAME_MAX + 1];

	/* Set once by unsubscribe; walks skip the record from then on (see skip_dead). */
	HX_ATOMIC(uint32_t) dead;
	/* One of the three is bumped per call: delivered = their sum. */
	HX_ATOMIC(uint64_t) ignored;
	HX_ATOMIC(uint64_t) handled;
	HX_ATOMIC(uint64_t) stopped;

	struct subscriber *next_retired; /* under bus->lock */
};

struct entry {
	uint32_t topics; /* a copy of the record's: filtering never touches a record that does not
	                  * match */
	struct subscriber *sub;
};

struct sub_list {
	struct sub_list *next_retired; /* under bus->lock */
	size_t count;
	struct entry entries[];
};

/* A typedef so that HX_ATOMIC qualifies the pointer, not what it points to. */
typedef const struct sub_list *sub_list_ptr;

struct walker {
	/* hx_task_id() + 1 of the task walking, 0 when free. Claimed with an acquire CAS, freed
	 * with a release store: the fields below pass from one owner to the next through it. */
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(uint64_t) task;
	unsigned depth; /* the owner's nested walks (owner only) */
	unsigned token; /* the SRCU token of the outermost walk (owner only) */
	bool displaced; /* not at its home slot (owner only) */
};

struct topic_counters {
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(uint64_t) published;
	HX_ATOMIC(uint64_t) dropped;
	HX_ATOMIC(uint64_t) delivered;
	HX_ATOMIC(uint64_t) calls;
	HX_ATOMIC(uint64_t) stopped;
};

struct hx_bus {
	/* Read by every publish or walk, written rarely. */
	struct hx_chan *queue; /* read-only after create */
	void *allocation;
	/* Published with release, walked with acquire (see the top). Written under lock. */
	HX_ATOMIC(sub_list_ptr) list;
	HX_ATOMIC(uint32_t) displaced;  /* walkers sitting off their home slot */
	HX_ATOMIC(uint32_t) retired;    /* records and lists retired: written under lock */
	HX_ATOMIC(uint64_t) high_water; /* written only when a publisher sees a new maximum */

	/* Writers: the lock is held while the next list is filled in and published, never across an
	 * allocation, a grace period or a call out. */
	HX_ALIGNAS(HX_CACHELINE) struct hx_spinlock lock;
	int next_id;                     /* under lock */
	uint64_t next_order;             /* under lock */
	struct sub_list *retired_lists;  /* under lock */
	struct subscriber *retired_subs; /* under lock */
	HX_ATOMIC(uint32_t) live;        /* live subscriptions: written under lock */
	/* Entries of the published list (dead ones included): written under lock, read by
	 * writers before they take it to size their allocation. The list itself may not be read
	 * outside the lock or a walk: it may be freed meanwhile. */
	HX_ATOMIC(uint32_t) list_len;

	/* The dispatcher's. */
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(uint32_t) dispatching; /* 1 while one runs */
	HX_ATOMIC(uint64_t) dispatched;

	struct hx_srcu srcu; /* walks are its readers */
	struct walker walkers[HX_BUS_MAX_WALKERS];
	struct topic_counters topics[HX_BUS_TOPICS];
};

static void count(HX_ATOMIC(uint64_t) *counter, uint64_t n)
{
	/* Relaxed: statistics order nothing. */
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t read_count(const HX_ATOMIC(uint64_t) *counter)
{
	/* Relaxed: a snapshot of a number. */
	return atomic_load_explicit(counter, memory_order_relaxed);
}

static unsigned topic_index(uint32_t topic)
{
	return (unsigned)__builtin_ctz(topic);
}

/* ---- Walkers: who is inside a walk of this bus ----------------------------------------------- */

/*
 * A task's slot is found by probing from its home slot (task % HX_BUS_MAX_WALKERS). Only the task
 * itself asks whether it holds a slot, so it needs to see only its own writes: if it sits at home,
 * the home probe finds it; if it sat down elsewhere it first bumped `displaced`, so a zero there
 * (relaxed is enough to see one's own increment, and nobody else can take it back) proves it holds
 * no slot away from home either. The full scan runs only while somebody is displaced.
 */
static struct walker *walker_find(struct hx_bus *bus, uint64_t me)
{
	struct walker *home = &bus->walkers[me % HX_BUS_MAX_WALKERS];

	/* Relaxed: only equality with our own id matters, and only we store it. */
	if (atomic_load_explicit(&home->task, memory_order_relaxed) == me)
		return home;
	if (!atomic_load_explicit(&bus->displaced, memory_order_relaxed))
		return NULL;
	for (unsigned i = 0; i < HX_BUS_MAX_WALKERS; i++)
		if (atomic_load_explicit(&bus->walkers[i].task, memory_order_relaxed) == me)
			return &bus->walkers[i];
	return NULL;
}

static uint64_t current_task(void)
{
	uint64_t me = hx_task_id() + 1;

	HX_ASSERT(me != 0); /* 0 marks a free slot */
	return me;
}

static bool inside_walk(struct hx_bus *bus)
{
	return walker_find(bus, current_task()) != NULL;
}

/*
 * Enter a walk: the outermost one takes a walker slot and opens the SRCU read-side section; a
 * nested one (a handler publishing synchronously) only counts its depth. -HX_EBUSY when the task
 * is HX_BUS_MAX_NESTING walks deep.
 */
static int walk_enter(struct hx_bus *bus, struct walker **out)
{
	uint64_t me = current_task();
	struct walker *walker = walker_find(bus, me);

	if (walker) {
		if (walker->depth >= HX_BUS_MAX_NESTING)
			return -HX_EBUSY;
		walker->depth++;
		*out = walker;
		return 0;
	}
	for (;;) {
		for (unsigned i = 0; i < HX_BUS_MAX_WALKERS; i++) {
			walker = &bus->walkers[(me + i) % HX_BUS_MAX_WALKERS];
			uint64_t expected = 0;

			/* Relaxed: a cheap look before the CAS. */
			if (atomic_load_explicit(&walker->task, memory_order_relaxed) != 0)
				continue;
			/* Acquire: pairs with the release store in walk_leave; the previous owner's
			 * writes to depth, token and displaced happen before ours. */
			if (!atomic_compare_exchange_strong_explicit(&walker->task, &expected, me,
			                                             memory_order_acquire,
			                                             memory_order_relaxed))
				continue;
			walker->displaced = i != 0;
			if (walker->displaced)
				/* Relaxed: see walker_find. */
				atomic_fetch_add_explicit(&bus->displaced, 1, memory_order_relaxed);
			walker->depth = 1;
			walker->token = hx_srcu_read_lock(&bus->srcu);
			*out = walker;
			return 0;
		}
		/* HX_BUS_MAX_WALKERS tasks are delivering: wait for one of them to finish. */
		hx_yield();
	}
}

static void walk_leave(struct hx_bus *bus, struct walker *walker)
{
	if (--walker->depth)
		return;
	hx_srcu_read_unlock(&bus->srcu, walker->token);
	if (walker->displaced)
		/* Relaxed: see walker_find. */
		atomic_fetch_sub_explicit(&bus->displaced, 1, memory_order_relaxed);
	/* Release: pairs with the acquire CAS of the slot's next owner. */
	atomic_store_explicit(&walker->task, 0, memory_order_release);
}

/* ---- Delivery -------------------------------------------------------------------------------- */

static const struct sub_list *current_list(struct hx_bus *bus)
{
	/* Acquire: pairs with the release store in publish_list; the array and the records it
	 * points to (filled in before) are visible before the pointer. */
	return atomic_load_explicit(&bus->list, memory_order_acquire);
}

/*
 * Whether a walk must skip @sub. Relaxed: the task that set the flag sees it in program order,
 * which is all "the calling task never calls it again" needs; another task sees it a moment later,
 * and unsubscribe's grace period, not this load, is what makes that moment safe for the context.
 */
static bool skip_dead(const struct subscriber *sub)
{
	return atomic_load_explicit(&sub->dead, memory_order_relaxed) != 0;
}

/*
 * One walk: @event to every live subscriber whose mask has its topic, in list order, until one
 * answers STOP. Inside the SRCU section (walk_enter). The list is loaded here, per event, so the
 * dispatcher's later events see subscriptions made by its earlier ones' handlers.
 */
static void deliver(struct hx_bus *bus, const struct hx_event *event, struct hx_bus_result *result)
{
	const struct sub_list *list = current_list(bus);
	struct topic_counters *topic = &bus->topics[topic_index(event->topic)];
	uint32_t calls = 0, handled = 0;
	const struct subscriber *stopper = NULL;

	for (size_t i = 0; list && i < list->count; i++) {
		struct subscriber *sub = list->entries[i].sub;
		enum hx_bus_response response;

		if (!(list->entries[i].topics & event->topic) || skip_dead(sub))
			continue;
		response = sub->handler(event, sub->ctx);
		calls++;
		if (response == HX_BUS_STOP) {
			count(&sub->stopped, 1);
			handled++;
			stopper = sub;
			break;
		}
		if (response == HX_BUS_HANDLED) {
			count(&sub->handled, 1);
			handled++;
		} else {
			count(&sub->ignored, 1);
		}
	}

	count(&topic->delivered, 1);
	if (calls)
		count(&topic->calls, calls);
	if (stopper)
		count(&topic->stopped, 1);
	if (result) {
		result->delivered = calls;
		result->handled = handled;
		result->stopped = stopper != NULL;
		result->stopped_by = stopper ? stopper->id : 0;
		/* A copy: the record may be reclaimed once the walk has ended. */
		hx_strlcpy(result->stopped_by_name, stopper ? stopper->name : "",
		           sizeof(result->stopped_by_name));
	}
}

/* ---- Publishing ------------------------------------------------------------------------------ */

static uint32_t kind_topic(uint32_t kind)
{
	switch (kind) {
	case HX_EVENT_TIMER_TICK:
		return HX_TOPIC_TIMER;
	case HX_EVENT_PROCESS_CREATED:
	case HX_EVENT_PROCESS_EXITED:
		return HX_TOPIC_PROCESS;
	case HX_EVENT_MEMORY_PRESSURE:
		return HX_TOPIC_MEMORY;
	default:
		return 0; /* HX_EVENT_USER: any topic; unknown kinds are refused before */
	}
}

/* The checks of both publish calls, then a stamped copy into @out. Any context. */
static int prepare(const struct hx_bus *bus, const struct hx_event *event, struct hx_event *out)
{
	uint32_t own;

	if (HX_UNLIKELY(!bus || !event))
		return -HX_EINVAL;
	if (HX_UNLIKELY(event->kind < HX_EVENT_TIMER_TICK || event->kind > HX_EVENT_USER))
		return -HX_EINVAL;
	/* Exactly one bit. */
	if (HX_UNLIKELY(!event->topic || (event->topic & (event->topic - 1))))
		return -HX_EINVAL;
	own = kind_topic(event->kind);
	if (HX_UNLIKELY(own && own != event->topic))
		return -HX_EINVAL;
	if (HX_UNLIKELY(event->kind == HX_EVENT_USER && event->user.len > HX_EVENT_USER_MAX))
		return -HX_EINVAL;
	*out = *event;
	if (!out->timestamp_ns)
		out->timestamp_ns = hx_time_ns();
	return 0;
}

static void note_high_water(struct hx_bus *bus)
{
	uint64_t len = hx_chan_len(bus->queue);
	/* Relaxed: a statistic; the CAS only keeps the maximum. */
	uint64_t seen = atomic_load_explicit(&bus->high_water, memory_order_relaxed);

	while (len > seen &&
	       !atomic_compare_exchange_weak_explicit(&bus->high_water, &seen, len,
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

int hx_bus_publish(struct hx_bus *bus, const struct hx_event *event)
{
	struct hx_event copy;
	unsigned long flags;
	int err = prepare(bus, event, &copy);

	if (HX_UNLIKELY(err))
		return err;
	/*
	 * Interrupts off from claim to publish: an interrupt on this CPU can then never land
	 * between a task's claim and its publish, so the dispatcher never waits for a preempted
	 * publisher (in the kernel; hosted there are no interrupts, and signal handlers are covered
	 * by the channel's own argument, docs/event-bus.md).
	 */
	flags = hx_irq_save();
	err = hx_chan_send(bus->queue, &copy, HX_NOWAIT);
	hx_irq_restore(flags);
	if (HX_UNLIKELY(err)) {
		if (err == -HX_EAGAIN)
			count(&bus->topics[topic_index(copy.topic)].dropped, 1);
		return err;
	}
	count(&bus->topics[topic_index(copy.topic)].published, 1);
	note_high_water(bus);
	return 0;
}

int hx_bus_publish_sync(struct hx_bus *bus, const struct hx_event *event,
                        struct hx_bus_result *result)
{
	struct hx_event copy;
	struct walker *walker;
	int err = prepare(bus, event, &copy);

	if (err)
		return err;
	if (hx_chan_is_closed(bus->queue))
		return -HX_EPIPE;
	err = walk_enter(bus, &walker);
	if (err)
		return err;
	count(&bus->topics[topic_index(copy.topic)].published, 1);
	deliver(bus, &copy, result);
	walk_leave(bus, walker);
	return 0;
}

/* ---- The subscriber list: copy on write ------------------------------------------------------ */

static size_t list_count(const struct sub_list *list)
{
	return list ? list->count : 0;
}

static struct sub_list *alloc_list(size_t capacity)
{
	struct sub_list *list =
	    hx_alloc(sizeof(struct sub_list) + HX_MAX(capacity, (size_t)1) * sizeof(struct entry));

	if (list) {
		list->next_retired = NULL;
		list->count = 0;
	}
	return list;
}

/* Under bus->lock: make @next the list walks see, and retire @old. */
static void publish_list(struct hx_bus *bus, struct sub_list *next, const struct sub_list *old)
{
	/* Release: pairs with the acquire load in current_list. */
	atomic_store_explicit(&bus->list, next, memory_order_release);
	/* Relaxed: a size hint (see struct hx_bus). */
	atomic_store_explicit(&bus->list_len, (uint32_t)list_count(next), memory_order_relaxed);
	if (old) {
		struct sub_list *retired = (struct sub_list *)old;

		retired->next_retired = bus->retired_lists;
		bus->retired_lists = retired;
		/* Relaxed: a hint for the dispatcher; the list itself is read under the lock. */
		atomic_fetch_add_explicit(&bus->retired, 1, memory_order_relaxed);
	}
}

/* Under bus->lock. */
static void retire_sub(struct hx_bus *bus, struct subscriber *sub)
{
	sub->next_retired = bus->retired_subs;
	bus->retired_subs = sub;
	/* Relaxed: see publish_list. */
	atomic_fetch_add_explicit(&bus->retired, 1, memory_order_relaxed);
}

static void free_sub(struct subscriber *sub)
{
	if (sub->release)
		sub->release(sub->ctx);
	hx_free(sub);
}

/*
 * Wait for a grace period, then free everything retired before it began. Outside any walk of this
 * bus. Returns the number of records and lists freed. @always: wait even when nothing is retired
 * (unsubscribe promises that no handler call is still running when it returns).
 */
static int reclaim(struct hx_bus *bus, bool always)
{
	struct sub_list *lists;
	struct subscriber *subs;
	int freed = 0;

	hx_spin_lock(&bus->lock);
	lists = bus->retired_lists;
	subs = bus->retired_subs;
	bus->retired_lists = NULL;
	bus->retired_subs = NULL;
	/* Relaxed: see publish_list. */
	atomic_store_explicit(&bus->retired, 0, memory_order_relaxed);
	hx_spin_unlock(&bus->lock);

	if (!lists && !subs && !always)
		return 0;
	/* Everything taken above was unlinked (and the records marked dead) before this: after it,
	 * no walk can still hold a pointer to any of it. */
	hx_srcu_synchronize(&bus->srcu);
	while (lists) {
		struct sub_list *next = lists->next_retired;

		hx_free(lists);
		lists = next;
		freed++;
	}
	while (subs) {
		struct subscriber *next = subs->next_retired;

		free_sub(subs);
		subs = next;
		freed++;
	}
	return freed;
}

/* Under bus->lock: whether a live subscription has @id. */
static bool id_in_use(const struct sub_list *list, int id)
{
	for (size_t i = 0; list && i < list->count; i++)
		if (list->entries[i].sub->id == id && !skip_dead(list->entries[i].sub))
			return true;
	return false;
}

/* Under bus->lock: the next id, never 0, never one a live subscription has. */
static int take_id(struct hx_bus *bus, const struct sub_list *list)
{
	int id;

	do {
		id = bus->next_id;
		bus->next_id = id == INT32_MAX ? 1 : id + 1;
	} while (id_in_use(list, id));
	return id;
}

static int check_subscription(const struct hx_subscription *sub)
{
	size_t len;

	if (!sub->handler || !sub->topics || !sub->name)
		return -HX_EINVAL;
	len = hx_strnlen(sub->name, HX_BUS_NAME_MAX + 1);
	if (len == 0)
		return -HX_EINVAL;
	if (len > HX_BUS_NAME_MAX)
		return -HX_ENAMETOOLONG;
	return 0;
}

/*
 * Under bus->lock: fill @next (room for @room entries) with @old's live entries and @add (may be
 * NULL) in walk order, and retire the dead records that stay behind (each record leaves the
 * published list exactly once, here, and only then may a grace period free it). Returns the count.
 */
static size_t rebuild(struct hx_bus *bus, const struct sub_list *old, struct sub_list *next,
                      size_t room, struct subscriber *add)
{
	size_t n = 0;

	for (size_t i = 0; old && i < old->count; i++) {
		struct subscriber *sub = old->entries[i].sub;

		/* @add has the largest order, so it goes after every record of its priority or
		 * higher: the list stays sorted by (priority descending, order). */
		if (add && sub->priority < add->priority) {
			HX_ASSERT(n < room);
			next->entries[n++] = (struct entry){ .topics = add->topics, .sub = add };
			add = NULL;
		}
		if (skip_dead(sub)) {
			retire_sub(bus, sub);
			continue;
		}
		HX_ASSERT(n < room);
		next->entries[n++] = old->entries[i];
	}
	if (add) {
		HX_ASSERT(n < room);
		next->entries[n++] = (struct entry){ .topics = add->topics, .sub = add };
	}
	next->count = n;
	return n;
}

int hx_bus_subscribe(struct hx_bus *bus, const struct hx_subscription *sub)
{
	struct subscriber *record;
	bool inside;
	int err, id;

	if (!bus || !sub)
		return -HX_EINVAL;
	err = check_subscription(sub);
	if (err)
		return err;
	record = hx_zalloc(sizeof(*record));
	if (!record)
		return -HX_ENOMEM;
	record->priority = sub->priority;
	record->topics = sub->topics;
	record->handler = sub->handler;
	record->ctx = sub->ctx;
	record->release = sub->release;
	hx_strlcpy(record->name, sub->name, sizeof(record->name));
	inside = inside_walk(bus);

	for (;;) {
		/* Relaxed: a size guess for the allocation, checked again under the lock. */
		size_t room = atomic_load_explicit(&bus->list_len, memory_order_relaxed) + 1;
		struct sub_list *next = alloc_list(room);
		const struct sub_list *old;

		if (!next) {
			hx_free(record);
			return -HX_ENOMEM;
		}
		hx_spin_lock(&bus->lock);
		/* Relaxed: only writers store it, and they hold the lock. */
		old = atomic_load_explicit(&bus->list, memory_order_relaxed);
		if (list_count(old) + 1 > room) {
			hx_spin_unlock(&bus->lock);
			hx_free(next);
			continue; /* it grew meanwhile */
		}
		/* Relaxed: written only under the lock. */
		if (atomic_load_explicit(&bus->live, memory_order_relaxed) >=
		    HX_BUS_MAX_SUBSCRIBERS) {
			hx_spin_unlock(&bus->lock);
			hx_free(next);
			hx_free(record);
			return -HX_ENOSPC;
		}
		id = take_id(bus, old);
		record->id = id;
		/* Before the list is published: the release store below orders it before any
		 * handler call that could read it. */
		if (sub->id_out)
			*sub->id_out = id;
		record->order = bus->next_order++;
		rebuild(bus, old, next, room, record);
		/* Relaxed: a count for the statistics and the limit, written under the lock. */
		atomic_fetch_add_explicit(&bus->live, 1, memory_order_relaxed);
		publish_list(bus, next, old);
		hx_spin_unlock(&bus->lock);
		break;
	}
	if (!inside)
		reclaim(bus, false);
	return id;
}

int hx_bus_unsubscribe(struct hx_bus *bus, int id)
{
	bool inside;

	if (!bus || id <= 0)
		return -HX_EINVAL;
	inside = inside_walk(bus);

	for (;;) {
		/* Relaxed: a size guess for the allocation, checked again under the lock. */
		size_t guess = atomic_load_explicit(&bus->list_len, memory_order_relaxed);
		size_t room = guess ? guess - 1 : 0;
		/* NULL when memory ran out: then the record stays in the list, dead, until the next
		 * rebuild drops it. */
		struct sub_list *next = alloc_list(room), *unused = NULL;
		struct subscriber *found = NULL;
		const struct sub_list *old;

		hx_spin_lock(&bus->lock);
		/* Relaxed: only writers store it, and they hold the lock. */
		old = atomic_load_explicit(&bus->list, memory_order_relaxed);
		for (size_t i = 0; !found && i < list_count(old); i++)
			if (old->entries[i].sub->id == id && !skip_dead(old->entries[i].sub))
				found = old->entries[i].sub;
		if (!found) {
			hx_spin_unlock(&bus->lock);
			hx_free(next);
			return -HX_ENOENT;
		}
		if (next && old->count - 1 > room) {
			hx_spin_unlock(&bus->lock);
			hx_free(next);
			continue; /* it grew meanwhile */
		}
		/* Relaxed: see skip_dead. Walks on this task never call it again from here on. */
		atomic_store_explicit(&found->dead, 1, memory_order_relaxed);
		/* Relaxed: a count for the statistics and the limit, written under the lock. */
		atomic_fetch_sub_explicit(&bus->live, 1, memory_order_relaxed);
		if (next) {
			if (rebuild(bus, old, next, room, NULL)) {
				publish_list(bus, next, old);
			} else {
				publish_list(bus, NULL, old);
				unused = next;
			}
		}
		hx_spin_unlock(&bus->lock);
		hx_free(unused);
		break;
	}
	/* The grace period: no walk that could have missed the dead flag is still running. */
	if (!inside)
		reclaim(bus, true);
	return 0;
}

int hx_bus_reclaim(struct hx_bus *bus)
{
	if (!bus)
		return -HX_EINVAL;
	if (inside_walk(bus))
		return -HX_EBUSY;
	return reclaim(bus, false);
}

/* ---- The dispatcher -------------------------------------------------------------------------- */

int hx_bus_dispatch(struct hx_bus *bus, uint64_t deadline_ns)
{
	struct hx_event batch[DISPATCH_BATCH];
	uint64_t delivered = 0, budget;
	int result;

	if (!bus)
		return -HX_EINVAL;
	if (inside_walk(bus))
		return -HX_EBUSY;
	/* Acquire: pairs with the release store below by the previous dispatcher, so the channel's
	 * consumer side (one consumer at a time) passes from one to the next in order. */
	if (atomic_exchange_explicit(&bus->dispatching, 1, memory_order_acquire))
		return -HX_EBUSY;
	budget = deadline_ns == HX_NOWAIT ? hx_chan_capacity(bus->queue) : UINT64_MAX;

	for (;;) {
		struct walker *walker;
		int n = hx_chan_recv_many(bus->queue, batch, DISPATCH_BATCH, HX_NOWAIT);

		if (n == -HX_EAGAIN) {
			/* Empty: a good moment for what unsubscribing handlers left. Relaxed: a
			 * hint; reclaim reads the lists under the lock. */
			if (atomic_load_explicit(&bus->retired, memory_order_relaxed))
				reclaim(bus, false);
			if (deadline_ns == HX_NOWAIT) {
				result = (int)HX_MIN(delivered, (uint64_t)INT32_MAX);
				break;
			}
			n = hx_chan_recv_many(bus->queue, batch, DISPATCH_BATCH, deadline_ns);
		}
		if (n == -HX_ETIMEDOUT || n == -HX_EAGAIN) {
			result = (int)HX_MIN(delivered, (uint64_t)INT32_MAX);
			break;
		}
		if (n < 0) {
			result = n; /* -HX_EPIPE: shut down and drained */
			break;
		}
		/* Cannot fail: this task is in no walk of this bus (checked above). */
		if (walk_enter(bus, &walker))
			hx_panic("event bus %p: the dispatcher could not enter a walk",
			         (void *)bus);
		for (int i = 0; i < n; i++)
			deliver(bus, &batch[i], NULL);
		walk_leave(bus, walker);
		count(&bus->dispatched, (uint64_t)n);
		delivered += (uint64_t)n;

		if (delivered >= budget || (deadline_ns != HX_NOWAIT && deadline_ns != HX_FOREVER &&
		                            hx_time_ns() >= deadline_ns)) {
			result = (int)HX_MIN(delivered, (uint64_t)INT32_MAX);
			break;
		}
	}
	/* Release: pairs with the acquire exchange of the next dispatcher. */
	atomic_store_explicit(&bus->dispatching, 0, memory_order_release);
	return result;
}

/* ---- Life cycle ------------------------------------------------------------------------------ */

int hx_bus_create(size_t queue_capacity, struct hx_bus **out)
{
	struct hx_bus *bus;
	unsigned char *raw;
	int err;

	if (!out || queue_capacity == 0 || queue_capacity > HX_BUS_MAX_QUEUE)
		return -HX_EINVAL;
	/* hx_alloc aligns to 16; the per-line layout needs 64. */
	raw = hx_alloc(sizeof(struct hx_bus) + HX_CACHELINE);
	if (!raw)
		return -HX_ENOMEM;
	bus = (struct hx_bus *)HX_ALIGN_UP((uintptr_t)raw, (uintptr_t)HX_CACHELINE);
	hx_memset(bus, 0, sizeof(*bus));
	bus->allocation = raw;
	err = hx_chan_create(queue_capacity, sizeof(struct hx_event), &bus->queue);
	if (err) {
		hx_free(raw);
		return err;
	}
	hx_spin_init(&bus->lock);
	hx_srcu_init(&bus->srcu);
	bus->next_id = 1;
	/* Publishing the bus to other tasks is the caller's business (and orders this). */
	*out = bus;
	return 0;
}

void hx_bus_destroy(struct hx_bus *bus)
{
	const struct sub_list *list;

	if (!bus)
		return;
	/* Nobody uses the bus any more: no grace period is needed. */
	list = atomic_load_explicit(&bus->list, memory_order_relaxed);
	/* Every record still in the list, dead or not: a dead one is retired only when a rebuild
	 * drops it from the list. */
	for (size_t i = 0; list && i < list->count; i++)
		free_sub(list->entries[i].sub);
	hx_free((void *)list);
	while (bus->retired_lists) {
		struct sub_list *next = bus->retired_lists->next_retired;

		hx_free(bus->retired_lists);
		bus->retired_lists = next;
	}
	while (bus->retired_subs) {
		struct subscriber *next = bus->retired_subs->next_retired;

		free_sub(bus->retired_subs);
		bus->retired_subs = next;
	}
	hx_chan_destroy(bus->queue);
	hx_free(bus->allocation);
}

int hx_bus_shutdown(struct hx_bus *bus)
{
	if (!bus)
		return -HX_EINVAL;
	return hx_chan_close(bus->queue);
}

typedef struct hx_bus *bus_ptr;
static HX_ATOMIC(bus_ptr) global_bus;

struct hx_bus *hx_global_event_bus(void)
{
	/* Acquire: pairs with the release CAS below; the bus is initialised before the pointer. */
	struct hx_bus *bus = atomic_load_explicit(&global_bus, memory_order_acquire);
	struct hx_bus *expected = NULL;

	if (HX_LIKELY(bus))
		return bus;
	if (hx_bus_create(HX_BUS_DEFAULT_QUEUE, &bus))
		return NULL;
	/* Release: pairs with the acquire loads; acquire on failure: the winner's bus likewise. */
	if (!atomic_compare_exchange_strong_explicit(&global_bus, &expected, bus,
	                                             memory_order_acq_rel, memory_order_acquire)) {
		hx_bus_destroy(bus);
		return expected;
	}
	return bus;
}

/* ---- Statistics ------------------------------------------------------------------------------ */

int hx_bus_get_stats(const struct hx_bus *bus, struct hx_bus_stats *out)
{
	if (!bus || !out)
		return -HX_EINVAL;
	for (unsigned i = 0; i < HX_BUS_TOPICS; i++) {
		const struct topic_counters *topic = &bus->topics[i];

		out->topics[i] = (struct hx_bus_topic_stats){
			.published = read_count(&topic->published),
			.dropped = read_count(&topic->dropped),
			.delivered = read_count(&topic->delivered),
			.calls = read_count(&topic->calls),
			.stopped = read_count(&topic->stopped),
		};
	}
	out->dispatched = read_count(&bus->dispatched);
	out->queued = hx_chan_len(bus->queue);
	out->queue_capacity = hx_chan_capacity(bus->queue);
	out->queue_high_water = read_count(&bus->high_water);
	/* Relaxed: snapshots of numbers. */
	out->subscribers = atomic_load_explicit(&bus->live, memory_order_relaxed);
	out->retired = atomic_load_explicit(&bus->retired, memory_order_relaxed);
	return 0;
}

static void sub_stats(const struct subscriber *sub, struct hx_bus_subscriber_stats *out)
{
	uint64_t ignored = read_count(&sub->ignored), handled = read_count(&sub->handled);
	uint64_t stopped = read_count(&sub->stopped);

	out->id = sub->id;
	out->priority = sub->priority;
	out->topics = sub->topics;
	hx_strlcpy(out->name, sub->name, sizeof(out->name));
	out->delivered = ignored + handled + stopped;
	out->handled = handled + stopped;
	out->stopped = stopped;
}

int hx_bus_get_subscriber_stats(struct hx_bus *bus, int id, struct hx_bus_subscriber_stats *out)
{
	const struct sub_list *list;
	int err = -HX_ENOENT;

	if (!bus || !out)
		return -HX_EINVAL;
	/* Under the lock a record of the current list cannot be retired, so it cannot be freed. */
	hx_spin_lock(&bus->lock);
	/* Relaxed: only writers store it, and they hold the lock. */
	list = atomic_load_explicit(&bus->list, memory_order_relaxed);
	for (size_t i = 0; i < list_count(list); i++) {
		const struct subscriber *sub = list->entries[i].sub;

		if (sub->id == id && !skip_dead(sub)) {
			sub_stats(sub, out);
			err = 0;
			break;
		}
	}
	hx_spin_unlock(&bus->lock);
	return err;
}

void hx_bus_dump(struct hx_bus *bus)
{
	struct hx_bus_stats stats;
	struct walker *walker;
	const struct sub_list *list;

	if (!bus || hx_bus_get_stats(bus, &stats))
		return;
	hx_printk("event bus %p: queue %llu/%llu (high water %llu), dispatched %llu, "
	          "%u subscriptions, %u retired\n",
	          (void *)bus, (unsigned long long)stats.queued,
	          (unsigned long long)stats.queue_capacity,
	          (unsigned long long)stats.queue_high_water, (unsigned long long)stats.dispatched,
	          stats.subscribers, stats.retired);
	for (unsigned i = 0; i < HX_BUS_TOPICS; i++) {
		const struct hx_bus_topic_stats *t = &stats.topics[i];

		if (!t->published && !t->dropped)
			continue;
		hx_printk("  topic 0x%08x: published %llu dropped %llu delivered %llu calls %llu "
		          "stopped %llu\n",
		          1u << i, (unsigned long long)t->published, (unsigned long long)t->dropped,
		          (unsigned long long)t->delivered, (unsigned long long)t->calls,
		          (unsigned long long)t->stopped);
	}
	if (walk_enter(bus, &walker))
		return;
	list = current_list(bus);
	for (size_t i = 0; list && i < list->count; i++) {
		struct hx_bus_subscriber_stats s;

		if (skip_dead(list->entries[i].sub))
			continue;
		sub_stats(list->entries[i].sub, &s);
		hx_printk("  #%d %-31s prio %4d topics 0x%08x: delivered %llu handled %llu "
		          "stopped %llu\n",
		          s.id, s.name, s.priority, s.topics, (unsigned long long)s.delivered,
		          (unsigned long long)s.handled, (unsigned long long)s.stopped);
	}
	walk_leave(bus, walker);
}

/* ---- Memory pressure ------------------------------------------------------------------------- */

/* The free-frame threshold below which @level begins (level >= 1). */
static uint64_t threshold(unsigned level, uint64_t total)
{
	static const unsigned percent[] = { 0, 25, 10, 3 };

	/* total / 100 * percent, without overflow for any total. */
	return total / 100 * percent[level] + total % 100 * percent[level] / 100;
}

enum hx_mem_pressure hx_mem_pressure_level(uint64_t free_frames, uint64_t total_frames)
{
	unsigned level = HX_MEM_PRESSURE_NONE;

	while (level < HX_MEM_PRESSURE_CRITICAL && free_frames < threshold(level + 1, total_frames))
		level++;
	return (enum hx_mem_pressure)level;
}

int hx_bus_note_memory(struct hx_bus *bus, struct hx_mem_watch *watch, uint64_t free_frames,
                       uint64_t total_frames)
{
	uint32_t old, level;
	struct hx_event event;
	int err;

	if (!bus || !watch)
		return -HX_EINVAL;
	/* Relaxed: the level is the only thing shared through the watch; the CAS decides who
	 * publishes a change. */
	old = atomic_load_explicit(&watch->level, memory_order_relaxed);
	level = hx_mem_pressure_level(free_frames, total_frames);

	/* Better than before: only once clear of the old level's threshold by the margin. */
	if (level < old &&
	    free_frames < threshold(old, total_frames) + total_frames / HYSTERESIS_DIV)
		level = old;
	if (level == old)
		return 0;
	if (!atomic_compare_exchange_strong_explicit(&watch->level, &old, level,
	                                             memory_order_relaxed, memory_order_relaxed))
		return 0; /* another CPU published this change */
	event = hx_event_memory_pressure((enum hx_mem_pressure)level, free_frames, total_frames);
	err = hx_bus_publish(bus, &event);
	if (err) {
		uint32_t expected = level;

		/* Not heard: put the old level back so that the next call tries again. */
		atomic_compare_exchange_strong_explicit(&watch->level, &expected, old,
		                                        memory_order_relaxed, memory_order_relaxed);
		return err;
	}
	return 1;
}
