/* SPDX-License-Identifier: MIT */
/*
 * The event bus: priority publish/subscribe for kernel-wide events (timer ticks, process
 * lifecycle, memory pressure, user-defined), with topic filters, an asynchronous path that
 * interrupt handlers may use and a synchronous one. docs/event-bus.md has the protocol, the
 * reclamation scheme and the measured costs; Linux's notifier chains are the anchor (priority
 * order, NOTIFY_STOP, atomic and blocking variants) and what it does better is listed there.
 *
 * Model. A subscription is a name, a topic mask, a handler with its context and a priority; the
 * bus copies it and returns an id. An event carries exactly one topic bit; it is delivered to every
 * subscription whose mask has that bit, highest priority first (HX_PRIO_HIGH, then
 * HX_PRIO_NORMAL, then HX_PRIO_LOW; any int in between is allowed), in subscription order among
 * equal priorities. Each handler answers HX_BUS_HANDLED, HX_BUS_IGNORED or HX_BUS_STOP; STOP ends
 * the walk (a security hook's veto) and counts as handled (Linux: NOTIFY_STOP = NOTIFY_OK | STOP).
 * A walk is one event's delivery to its subscribers.
 *
 * Two ways to publish:
 *  - hx_bus_publish: copies the event into the bus's bounded queue and returns. Never blocks,
 *    never allocates, takes no lock: callable from interrupt handlers. A full queue refuses the
 *    event with -HX_EAGAIN and counts it as dropped for its topic. A dispatcher task, owned by the
 *    caller (the library creates no tasks), runs hx_bus_dispatch and delivers the queued events in
 *    queue order: events of one topic reach each subscriber in the order their publishes were
 *    accepted (so are any two events published one after the other by one task).
 *  - hx_bus_publish_sync: delivers in the caller's context and returns the aggregate (struct
 *    hx_bus_result). Task context; may sleep if a handler does.
 *
 * Handlers run on the dispatcher task (queued events) or on the publishing task (sync), with no
 * bus lock held, inside the bus's SRCU read-side section. A handler may publish (either way),
 * subscribe and unsubscribe, on this bus or another. Sync publishing nests at most
 * HX_BUS_MAX_NESTING walks deep on one task (the dispatcher's walk counts), so a handler that
 * re-publishes its own topic synchronously ends with -HX_EBUSY instead of recursing forever.
 * A handler must not call hx_bus_dispatch, and must not block on something that waits for this
 * bus's grace period: a task inside hx_bus_unsubscribe or hx_bus_subscribe, or the dispatcher (it
 * waits for one when its queue runs empty with unsubscribed records to free), so a sync handler
 * must not wait for a queued event to be delivered.
 *
 * Unsubscribing. hx_bus_unsubscribe removes the subscription at once: walks that have not reached
 * it skip it, and the calling task never calls its handler again, also in a walk it is inside
 * (a handler may remove itself or another subscription from its own walk; walks that already
 * passed it are unaffected, and a subscription added during a walk joins from the next event on).
 *  - called outside any handler of this bus, it also waits for an SRCU grace period: when it
 *    returns, no task is running the handler or can start it, and the context is the caller's
 *    again (free it).
 *  - called from inside a handler of this bus, it cannot wait (the grace period would wait for the
 *    caller's own walk), so the record is reclaimed later. Other tasks that are walking at the
 *    same moment (sync publishers) may still be inside the handler or about to enter it. Free the
 *    context at once only when no other task can be delivering to it (for example: it takes only
 *    queued events, which the dispatcher alone delivers, and the caller is the dispatcher);
 *    otherwise give the subscription a release function and free it there.
 * .release (optional) is called once per subscription, in task context, after the bus has
 * stopped using the context for good: by the task that completes the grace period (an
 * unsubscribe or subscribe outside handlers, the dispatcher when its queue runs empty,
 * hx_bus_reclaim) or by hx_bus_destroy.
 *
 * Context summary:
 *  | function                                   | where                                       |
 *  |--------------------------------------------|---------------------------------------------|
 *  | hx_bus_publish, hx_bus_note_memory         | any context, interrupt handlers included    |
 *  | hx_bus_get_stats, hx_mem_pressure_level    | any context                                 |
 *  | hx_event_* constructors                    | any context                                 |
 *  | hx_bus_publish_sync                        | task context, handlers included; may sleep  |
 *  | hx_bus_subscribe, hx_bus_unsubscribe       | task context, handlers included; may sleep  |
 *  | hx_bus_get_subscriber_stats, hx_bus_dump   | task context                                |
 *  | hx_bus_dispatch, hx_bus_reclaim            | task context, not from a handler of the bus |
 *  | hx_bus_create, hx_bus_destroy,             | task context (allocate / free)              |
 *  | hx_bus_shutdown, hx_global_event_bus       | (hx_global_event_bus: see its comment)      |
 *
 * Concurrency guarantee: any number of tasks (and interrupt handlers, for hx_bus_publish) may use
 * a bus at once; at most one task runs hx_bus_dispatch at a time (another gets -HX_EBUSY). At most
 * HX_BUS_MAX_WALKERS tasks deliver events of one bus at once; more wait their turn (yielding).
 */
#ifndef HELIX_IPC_EVENT_BUS_H
#define HELIX_IPC_EVENT_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/platform.h>
#include <helix/string.h>

HX_BEGIN_DECLS

#define HX_BUS_NAME_MAX        31u          /* characters of a subscription's name */
#define HX_BUS_MAX_SUBSCRIBERS 256u         /* live subscriptions per bus */
#define HX_BUS_MAX_QUEUE       (64u * 1024) /* events a bus's queue holds */
#define HX_BUS_DEFAULT_QUEUE   1024u        /* the global bus's queue */
#define HX_BUS_MAX_NESTING     4u           /* walks one task may be inside at once, per bus */
#define HX_BUS_MAX_WALKERS     32u          /* tasks delivering one bus's events at once */
#define HX_BUS_TOPICS          32u          /* topic bits */
#define HX_EVENT_USER_MAX      40u          /* inline payload bytes of a user event */

/* Topics: one bit each; a subscription's mask may hold several. Bits 3..7 are reserved for the
 * kernel's future topics, bits 8..31 are free for users (HX_TOPIC_USER(0..23)). */
#define HX_TOPIC_TIMER   (1u << 0)
#define HX_TOPIC_PROCESS (1u << 1)
#define HX_TOPIC_MEMORY  (1u << 2)
#define HX_TOPIC_USER(n) (1u << (8 + (n)))
#define HX_TOPIC_ALL     0xffffffffu

/* What an event is; each built-in kind travels on its own topic. 0 is not a kind. */
enum hx_event_kind {
	HX_EVENT_TIMER_TICK = 1,      /* HX_TOPIC_TIMER */
	HX_EVENT_PROCESS_CREATED = 2, /* HX_TOPIC_PROCESS */
	HX_EVENT_PROCESS_EXITED = 3,  /* HX_TOPIC_PROCESS */
	HX_EVENT_MEMORY_PRESSURE = 4, /* HX_TOPIC_MEMORY */
	HX_EVENT_USER = 5,            /* any one topic */
};

/* Memory pressure levels (Linux's memcg pressure levels): see hx_mem_pressure_level. */
enum hx_mem_pressure {
	HX_MEM_PRESSURE_NONE = 0,     /* 25% of the frames or more are free */
	HX_MEM_PRESSURE_LOW = 1,      /* below 25% */
	HX_MEM_PRESSURE_MEDIUM = 2,   /* below 10% */
	HX_MEM_PRESSURE_CRITICAL = 3, /* below 3% */
};

struct hx_event_tick {
	uint64_t count; /* ticks since boot */
	uint64_t ns;    /* hx_time_ns() when the tick's interrupt arrived */
};

struct hx_event_process_created {
	uint64_t pid;
	uint64_t parent; /* 0: created by the kernel */
};

struct hx_event_process_exited {
	uint64_t pid;
	int32_t status;
	uint32_t reserved;
};

struct hx_event_memory {
	uint32_t level; /* enum hx_mem_pressure */
	uint32_t reserved;
	uint64_t free_frames;
	uint64_t total_frames;
};

struct hx_event_user {
	uint32_t code; /* the user's own event type */
	uint32_t len;  /* bytes of data used: 0..HX_EVENT_USER_MAX */
	uint8_t data[HX_EVENT_USER_MAX];
};

/* An event: 64 bytes, copied by value into the queue and to handlers. */
struct hx_event {
	uint32_t kind;         /* enum hx_event_kind */
	uint32_t topic;        /* exactly one HX_TOPIC_* bit */
	uint64_t timestamp_ns; /* hx_time_ns() at publish when left 0 */
	union {
		struct hx_event_tick tick;
		struct hx_event_process_created created;
		struct hx_event_process_exited exited;
		struct hx_event_memory memory;
		struct hx_event_user user;
	};
};

HX_STATIC_ASSERT(sizeof(struct hx_event) == 64, "an event is one cache line");

enum hx_bus_response {
	HX_BUS_IGNORED = 0, /* not for me; any value but the two below counts as this */
	HX_BUS_HANDLED = 1,
	HX_BUS_STOP = 2, /* handled, and nobody after me may see it */
};

enum hx_bus_priority {
	HX_PRIO_LOW = -100,
	HX_PRIO_NORMAL = 0, /* what a zero-initialised subscription gets */
	HX_PRIO_HIGH = 100, /* security hooks: they see events before anyone else */
};

/*
 * A handler: looks at @event (valid during the call only) and answers. Called with the
 * subscription's ctx, on the dispatcher task or a sync publisher's task; see the top of the file
 * for what it may do.
 */
typedef enum hx_bus_response (*hx_bus_handler_fn)(const struct hx_event *event, void *ctx);

/* What hx_bus_subscribe copies: the C way of a builder, e.g.
 * hx_bus_subscribe(bus, &(struct hx_subscription){ .name = "audit", .topics = HX_TOPIC_TIMER |
 * HX_TOPIC_PROCESS, .handler = fn, .ctx = p, .priority = HX_PRIO_HIGH }). */
struct hx_subscription {
	const char *name;           /* 1..HX_BUS_NAME_MAX characters; copied */
	uint32_t topics;            /* HX_TOPIC_* bits, at least one */
	hx_bus_handler_fn handler;  /* required */
	void *ctx;                  /* passed to handler and release */
	int priority;               /* higher first; enum hx_bus_priority or any int */
	void (*release)(void *ctx); /* optional: the bus is done with ctx (see the top) */
	int *id_out; /* optional: receives the id before any walk can reach the subscription (a
	              * handler that unsubscribes itself reads its id from here, race-free) */
};

/* The aggregate of one synchronous walk. */
struct hx_bus_result {
	uint32_t delivered; /* handlers called */
	uint32_t handled;   /* of those, answered HX_BUS_HANDLED or HX_BUS_STOP */
	bool stopped;       /* a handler answered HX_BUS_STOP */
	int stopped_by;     /* that subscription's id; 0 when not stopped */
	char stopped_by_name[HX_BUS_NAME_MAX + 1]; /* and its name (a copy); "" when not stopped */
};

/* Per-topic counters. Each is exact; the set is not taken atomically. */
struct hx_bus_topic_stats {
	uint64_t published; /* events accepted: queued by hx_bus_publish, or walked by _sync */
	uint64_t dropped;   /* hx_bus_publish refused: the queue was full (-HX_EAGAIN) */
	uint64_t delivered; /* walks completed (queued events by the dispatcher, and sync ones) */
	uint64_t calls;     /* handler calls */
	uint64_t stopped;   /* walks ended by HX_BUS_STOP */
};

struct hx_bus_stats {
	struct hx_bus_topic_stats topics[HX_BUS_TOPICS]; /* [i]: the topic 1 << i */
	uint64_t dispatched; /* queued events the dispatcher delivered */
	uint64_t queued;     /* events in the queue now */
	uint64_t queue_capacity;
	uint64_t queue_high_water; /* the longest queue a publisher saw right after its publish */
	uint32_t subscribers;      /* live subscriptions */
	uint32_t retired;          /* records and lists waiting for a grace period */
};

struct hx_bus_subscriber_stats {
	int id;
	int priority;
	uint32_t topics;
	char name[HX_BUS_NAME_MAX + 1];
	uint64_t delivered; /* handler calls */
	uint64_t handled;   /* answered HX_BUS_HANDLED or HX_BUS_STOP */
	uint64_t stopped;   /* answered HX_BUS_STOP */
};

struct hx_bus;

/* Tracks one memory pressure level for hx_bus_note_memory. Zero-initialise (HX_MEM_WATCH_INIT). */
struct hx_mem_watch {
	HX_ATOMIC(uint32_t) level;
};
#define HX_MEM_WATCH_INIT \
	{                 \
		0         \
	}

/* ---- Buses ----------------------------------------------------------------------------------- */

/*
 * hx_bus_create - a bus whose queue holds @queue_capacity events. Task context; allocates.
 * Returns 0 and *@out, -HX_EINVAL (capacity outside 1..HX_BUS_MAX_QUEUE, NULL @out), -HX_ENOMEM.
 */
int hx_bus_create(size_t queue_capacity, struct hx_bus **out);

/*
 * hx_bus_destroy - free the bus, the events still queued (undelivered) and every subscription,
 * calling each one's release function. NULL is ignored. Task context; nobody may use the bus
 * during or after the call, and no task may be inside hx_bus_dispatch. Never the global bus.
 */
void hx_bus_destroy(struct hx_bus *bus);

/*
 * hx_bus_shutdown - refuse further publishing (-HX_EPIPE, sync too); the dispatcher delivers
 * what was accepted before and then returns -HX_EPIPE. Any task, any number of times; not from
 * an interrupt handler. Returns 0 when this call shut the bus down, -HX_EPIPE when it was already,
 * -HX_EINVAL (NULL).
 */
int hx_bus_shutdown(struct hx_bus *bus);

/*
 * hx_global_event_bus - the kernel-wide bus (queue of HX_BUS_DEFAULT_QUEUE events), created by
 * the first call, never destroyed. The first call must come from task context (it allocates):
 * boot makes it before interrupts publish; later calls from any context. Returns NULL only when
 * creating it failed for lack of memory (a later call tries again).
 */
struct hx_bus *hx_global_event_bus(void);

/* ---- Subscriptions --------------------------------------------------------------------------- */

/*
 * hx_bus_subscribe - add a copy of *@sub; it receives events from the next walk on, which may
 * begin before this returns (sub->id_out gets the id first). Task context, also from a handler;
 * allocates; outside handlers it waits for a grace period to free the list it replaced
 * (milliseconds). Returns the id (> 0, unique among the bus's live subscriptions), or
 * -HX_EINVAL (NULL bus or sub, no handler, empty topic mask, NULL or empty name),
 * -HX_ENAMETOOLONG (name longer than HX_BUS_NAME_MAX), -HX_ENOSPC (HX_BUS_MAX_SUBSCRIBERS live
 * subscriptions), -HX_ENOMEM.
 */
int hx_bus_subscribe(struct hx_bus *bus, const struct hx_subscription *sub);

/*
 * hx_bus_unsubscribe - remove subscription @id (see the top of the file for what "afterwards"
 * means inside and outside handlers). Task context, also from a handler (its own id too); outside
 * handlers it sleeps for a grace period. Never fails for lack of memory. Returns 0, -HX_ENOENT
 * (no live subscription has this id), -HX_EINVAL (NULL bus, id <= 0).
 */
int hx_bus_unsubscribe(struct hx_bus *bus, int id);

/* ---- Publishing ------------------------------------------------------------------------------ */

/*
 * hx_bus_publish - queue a copy of @event for the dispatcher and return. Any context, interrupt
 * handlers included: never blocks, never allocates, takes no lock. A 0 timestamp is set to
 * hx_time_ns(). Returns 0 (queued), -HX_EAGAIN (the queue is full: counted as dropped for the
 * topic), -HX_EPIPE (shut down), -HX_EINVAL (NULL argument, kind 0 or unknown, not exactly one
 * topic bit, a built-in kind on another topic than its own, user len above HX_EVENT_USER_MAX).
 */
int hx_bus_publish(struct hx_bus *bus, const struct hx_event *event);

/*
 * hx_bus_publish_sync - deliver @event to its subscribers now, on the calling task, and fill
 * *@result (may be NULL) with the aggregate. Task context, also from a handler; may sleep if a
 * handler does. Returns 0 (delivered, to nobody or somebody: see *@result), -HX_EBUSY (the
 * calling task is HX_BUS_MAX_NESTING walks deep in this bus already: nothing delivered),
 * -HX_EPIPE (shut down), and hx_bus_publish's -HX_EINVAL cases; *@result is untouched then.
 */
int hx_bus_publish_sync(struct hx_bus *bus, const struct hx_event *event,
                        struct hx_bus_result *result);

/*
 * hx_bus_dispatch - the dispatcher loop: deliver queued events in order on the calling task until
 * the queue is empty at @deadline_ns (HX_NOWAIT: deliver what is queued, at most a queue's worth,
 * and return; HX_FOREVER: until shutdown). Sleeps while the queue is empty; frees what
 * unsubscribing handlers left when it runs empty (a grace period). Task context, one task at a
 * time, not from a handler of this bus. Returns the number of events delivered (>= 0, capped at
 * INT32_MAX) when the deadline passed, -HX_EPIPE once shut down and drained, -HX_EBUSY (another
 * task is dispatching, or called from a handler of this bus), -HX_EINVAL (NULL).
 */
int hx_bus_dispatch(struct hx_bus *bus, uint64_t deadline_ns);

/*
 * hx_bus_reclaim - wait for a grace period and free what unsubscribes from inside handlers left
 * (calling release functions). For buses without a dispatcher; the dispatcher does it on its own.
 * Task context, not from a handler of this bus. Returns the number of records and lists freed,
 * -HX_EBUSY (called from a handler of this bus), -HX_EINVAL (NULL).
 */
int hx_bus_reclaim(struct hx_bus *bus);

/* ---- Statistics ------------------------------------------------------------------------------ */

/* hx_bus_get_stats - a snapshot of the bus's counters. Any context. Returns 0, -HX_EINVAL. */
int hx_bus_get_stats(const struct hx_bus *bus, struct hx_bus_stats *out);

/*
 * hx_bus_get_subscriber_stats - subscription @id's identity and counters. Task context.
 * Returns 0, -HX_ENOENT (no live subscription has this id), -HX_EINVAL (NULL argument).
 */
int hx_bus_get_subscriber_stats(struct hx_bus *bus, int id, struct hx_bus_subscriber_stats *out);

/*
 * hx_bus_dump - print the queue, every topic with traffic and every subscription in walk order
 * to the console (hx_printk). Task context. NULL is ignored.
 */
void hx_bus_dump(struct hx_bus *bus);

/* ---- Event constructors and producers -------------------------------------------------------- */

/* hx_mem_pressure_level - the level for @free_frames of @total_frames (thresholds above). Any
 * context. A @total_frames of 0 is HX_MEM_PRESSURE_NONE. */
enum hx_mem_pressure hx_mem_pressure_level(uint64_t free_frames, uint64_t total_frames);

/*
 * hx_bus_note_memory - for the frame allocator: compute the pressure level and publish an
 * HX_EVENT_MEMORY_PRESSURE (hx_bus_publish) when it differs from the level @watch last published.
 * Leaving a level for a better one needs total/64 frames more than its threshold, so a count that
 * hovers at a threshold does not flood the bus. Any context. Returns 1 (published), 0 (no change),
 * hx_bus_publish's errors (then @watch keeps the old level, and the next call tries again).
 */
int hx_bus_note_memory(struct hx_bus *bus, struct hx_mem_watch *watch, uint64_t free_frames,
                       uint64_t total_frames);

static inline struct hx_event hx_event_make(enum hx_event_kind kind, uint32_t topic)
{
	struct hx_event event;

	hx_memset(&event, 0, sizeof(event));
	event.kind = (uint32_t)kind;
	event.topic = topic;
	return event;
}

/* A timer tick: tick @count, taken at @ns (hx_time_ns()). */
static inline struct hx_event hx_event_timer_tick(uint64_t count, uint64_t ns)
{
	struct hx_event event = hx_event_make(HX_EVENT_TIMER_TICK, HX_TOPIC_TIMER);

	event.tick.count = count;
	event.tick.ns = ns;
	return event;
}

static inline struct hx_event hx_event_process_created(uint64_t pid, uint64_t parent)
{
	struct hx_event event = hx_event_make(HX_EVENT_PROCESS_CREATED, HX_TOPIC_PROCESS);

	event.created.pid = pid;
	event.created.parent = parent;
	return event;
}

static inline struct hx_event hx_event_process_exited(uint64_t pid, int32_t status)
{
	struct hx_event event = hx_event_make(HX_EVENT_PROCESS_EXITED, HX_TOPIC_PROCESS);

	event.exited.pid = pid;
	event.exited.status = status;
	return event;
}

static inline struct hx_event hx_event_memory_pressure(enum hx_mem_pressure level,
                                                       uint64_t free_frames, uint64_t total_frames)
{
	struct hx_event event = hx_event_make(HX_EVENT_MEMORY_PRESSURE, HX_TOPIC_MEMORY);

	event.memory.level = (uint32_t)level;
	event.memory.free_frames = free_frames;
	event.memory.total_frames = total_frames;
	return event;
}

/* A user event on @topic: @len bytes of @data (cut to HX_EVENT_USER_MAX; @data may be NULL when
 * @len is 0). */
static inline struct hx_event hx_event_user(uint32_t topic, uint32_t code, const void *data,
                                            size_t len)
{
	struct hx_event event = hx_event_make(HX_EVENT_USER, topic);

	if (len > HX_EVENT_USER_MAX)
		len = HX_EVENT_USER_MAX;
	event.user.code = code;
	event.user.len = (uint32_t)len;
	if (len)
		hx_memcpy(event.user.data, data, len);
	return event;
}

HX_END_DECLS

#endif /* HELIX_IPC_EVENT_BUS_H */
