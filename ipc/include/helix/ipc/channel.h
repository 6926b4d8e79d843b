/* SPDX-License-Identifier: MIT */
/*
 * Channels: typed, bounded, multi-producer single-consumer queues of fixed-size messages.
 *
 * Concurrency guarantee: any number of producers may call hx_chan_send concurrently with each other
 * and with one consumer calling hx_chan_recv / hx_chan_recv_many. A second concurrent consumer is a
 * bug; debug builds (NDEBUG undefined) detect it and fail an assertion. hx_chan_close may be called
 * by anyone, any number of times. hx_chan_destroy only when nobody else uses the channel.
 *
 * Semantics:
 *  - exactly once: every message for which hx_chan_send returned 0 is received exactly once, also
 *    when close races with sends; a message whose send failed is never received;
 *  - per-producer FIFO: messages from one thread are received in the order they were sent;
 *  - bounded: at most `capacity` messages are inside, exactly the capacity asked for;
 *  - close: sends after close fail with -HX_EPIPE; the consumer still receives everything accepted
 *    before the close, then gets -HX_EPIPE; sleepers on either side are woken;
 *  - waiting: a full channel makes a sender, an empty one the consumer, spin briefly and then sleep
 *    on hx_futex_wait until woken or until the deadline. A wake is issued only when someone sleeps:
 *    the fast path makes no system call, and no full memory barrier except the consumer's one
 *    fence per capacity - capacity / 2 messages received. Sleeping senders are woken when the
 *    consumer has drained the channel to capacity / 2 messages, at the latest by the receive
 *    that empties it (docs/channel.md).
 *
 * Deadlines are absolute hx_time_ns() values; HX_NOWAIT tries once, HX_FOREVER never times out.
 * Errors: -HX_EAGAIN (full, or empty, with HX_NOWAIT), -HX_ETIMEDOUT (the deadline passed),
 * -HX_EPIPE (closed; for the consumer: closed and drained), -HX_EINVAL, -HX_ENOMEM.
 *
 * Context: task context, with one exception: hx_chan_send with HX_NOWAIT may be called from an
 * interrupt handler (the event bus's publish relies on it). It claims with one CAS that fails only
 * when another producer took the position, writes only its own slot, never waits for another
 * producer (an interrupted send on the same CPU is simply overtaken) and wakes the consumer with
 * hx_futex_wake, which platform.h allows in any context; a spin, lock or sleep added to that path
 * breaks the bus. HX_NOWAIT receives never sleep but stay task context (one consumer).
 *
 * The algorithm (ipc/channel.c, docs/channel.md): a ring of sequence-numbered slots in the style of
 * Vyukov's bounded queue with a single-consumer dequeue; producers claim a position with one CAS
 * and never wait for each other, so a preempted producer delays only the messages behind its own
 * slot.
 */
#ifndef HELIX_IPC_CHANNEL_H
#define HELIX_IPC_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/platform.h>

HX_BEGIN_DECLS

#define HX_CHAN_MAX_CAPACITY     (1u << 24)
#define HX_CHAN_MAX_MSG_SIZE     (64u * 1024u)
/* The longest a blocking receive spins by the clock before it sleeps (recv_spin_ns below). */
#define HX_CHAN_RECV_SPIN_MAX_NS 20000u

struct hx_chan;

struct hx_chan_stats {
	uint64_t sends;       /* messages accepted */
	uint64_t receives;    /* messages taken by the consumer */
	uint64_t full_events; /* sends that found the channel full */
	uint64_t send_sleeps; /* times a sender went to sleep */
	uint64_t recv_sleeps; /* times the consumer went to sleep */
	uint64_t wakeups;     /* futex wakes issued to sleepers */
	/* Consumer wakes made by a producer on another CPU than the one the consumer woke on. */
	uint64_t remote_wakes;
	/* How long the consumer's next wait spins by the clock before it sleeps: the latency of
	 * its last wake if that was a remote one (at most HX_CHAN_RECV_SPIN_MAX_NS), else 0
	 * (docs/channel.md, "The consumer's spin"). */
	uint64_t recv_spin_ns;
	/* Times the consumer yielded its CPU once instead of sleeping: after a wake from its own
	 * CPU that brought few messages (docs/channel.md, "The consumer's hand-over"). */
	uint64_t recv_yields;
};

/*
 * hx_chan_create - a channel for @capacity messages of @msg_size bytes each.
 * Task context; allocates. Returns 0 and *@out, -HX_EINVAL for a capacity outside
 * 1..HX_CHAN_MAX_CAPACITY, a size outside 1..HX_CHAN_MAX_MSG_SIZE or NULL @out, -HX_ENOMEM.
 */
int hx_chan_create(size_t capacity, size_t msg_size, struct hx_chan **out);

/*
 * hx_chan_destroy - free the channel and any messages still inside. NULL is ignored.
 * Nobody may use the channel during or after the call.
 */
void hx_chan_destroy(struct hx_chan *chan);

/*
 * hx_chan_send - copy msg_size bytes from @msg into the channel, waiting for room until
 * @deadline_ns. Returns 0, -HX_EAGAIN (full, HX_NOWAIT), -HX_ETIMEDOUT, -HX_EPIPE (closed),
 * -HX_EINVAL (NULL argument).
 */
int hx_chan_send(struct hx_chan *chan, const void *msg, uint64_t deadline_ns);

/*
 * hx_chan_recv - take the next message into @msg (msg_size bytes), waiting until @deadline_ns.
 * Consumer only. Returns 0, -HX_EAGAIN (empty, HX_NOWAIT), -HX_ETIMEDOUT, -HX_EPIPE (closed and
 * drained), -HX_EINVAL (NULL argument).
 */
int hx_chan_recv(struct hx_chan *chan, void *msg, uint64_t deadline_ns);

/*
 * hx_chan_recv_many - wait like hx_chan_recv for the first message, then take every message that is
 * ready, up to @max, into the array @msgs (max * msg_size bytes). Consumer only.
 * Returns the number taken (1..max), or the errors of hx_chan_recv (-HX_EINVAL also for @max 0).
 */
int hx_chan_recv_many(struct hx_chan *chan, void *msgs, size_t max, uint64_t deadline_ns);

/*
 * hx_chan_close - refuse further sends and wake every sleeper. Either side, any number of times.
 * Returns 0 when this call closed the channel, -HX_EPIPE when it was closed already.
 */
int hx_chan_close(struct hx_chan *chan);

/* Messages inside (accepted, not yet received; includes sends still copying). Any thread. */
size_t hx_chan_len(const struct hx_chan *chan);
size_t hx_chan_capacity(const struct hx_chan *chan);
size_t hx_chan_msg_size(const struct hx_chan *chan);
bool hx_chan_is_closed(const struct hx_chan *chan);

/* A snapshot of the counters; each is exact, the set is not taken atomically. Any thread. */
void hx_chan_get_stats(const struct hx_chan *chan, struct hx_chan_stats *out);

/*
 * HX_CHAN_DEFINE(name, type) - a channel of `type` messages: struct name and name_create,
 * name_destroy, name_send(c, const type *, deadline), name_recv(c, type *, deadline),
 * name_recv_many(c, type *, max, deadline), name_close, name_len. Passing a message of another type
 * is a compile error, and the message size is always sizeof(type).
 */
#define HX_CHAN_DEFINE(name, type)                                                          \
	struct name {                                                                       \
		struct hx_chan *chan;                                                       \
	};                                                                                  \
	static inline int name##_create(size_t capacity, struct name *out)                  \
	{                                                                                   \
		return hx_chan_create(capacity, sizeof(type), &out->chan);                  \
	}                                                                                   \
	static inline void name##_destroy(struct name c)                                    \
	{                                                                                   \
		hx_chan_destroy(c.chan);                                                    \
	}                                                                                   \
	static inline int name##_send(struct name c, const type *msg, uint64_t deadline_ns) \
	{                                                                                   \
		return hx_chan_send(c.chan, msg, deadline_ns);                              \
	}                                                                                   \
	static inline int name##_recv(struct name c, type *msg, uint64_t deadline_ns)       \
	{                                                                                   \
		return hx_chan_recv(c.chan, msg, deadline_ns);                              \
	}                                                                                   \
	static inline int name##_recv_many(struct name c, type *msgs, size_t max,           \
	                                   uint64_t deadline_ns)                            \
	{                                                                                   \
		return hx_chan_recv_many(c.chan, msgs, max, deadline_ns);                   \
	}                                                                                   \
	static inline int name##_close(struct name c)                                       \
	{                                                                                   \
		return hx_chan_close(c.chan);                                               \
	}                                                                                   \
	static inline size_t name##_len(struct name c)                                      \
	{                                                                                   \
		return hx_chan_len(c.chan);                                                 \
	}

HX_END_DECLS

#endif /* HELIX_IPC_CHANNEL_H */
