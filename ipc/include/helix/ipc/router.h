/* SPDX-License-Identifier: MIT */
/*
 * The router: request/response calls between named modules, with deadlines and dead-target
 * errors. A module registers a name, a handler and a queue capacity and gets an id; callers send
 * it a method number and payload bytes (the wire format's CBOR, docs/wire-format.md) and get back
 * a status and response bytes. docs/router.md has the lifetimes and the measured costs.
 *
 * Tasks. Every module has its own request queue (an MPSC channel, helix/ipc/channel.h) and is
 * served by its own task: the router creates no tasks. The task that owns a module calls
 * hx_router_serve (or hx_router_serve_one) in a loop; each request it takes runs the module's
 * handler on that task. Hosted tests and benchmarks serve from pthreads; the kernel serves from
 * kernel tasks. A slow handler delays only its own module's callers: other modules'
 * queues and servers are independent.
 *
 * Ids. A module's id is (generation << HX_ROUTER_SLOT_BITS) | slot. The generation comes from a
 * per-router counter bumped at every registration, so an id is never reused within a router's
 * life (2^48 registrations) and is never 0. A call to an id whose module has unregistered, or
 * whose name now belongs to a newer registration, fails at once with -HX_EHOSTUNREACH (the
 * dead-target error) and never reaches another module (Hubris's generation idea).
 *
 * Errors of the call functions. A negative return says the call failed and the handler's answer
 * (if any) is not available: -HX_EHOSTUNREACH (dead target: the id never named a module, its
 * module unregistered before or during the call, also while the caller was waiting), -HX_EAGAIN
 * (the queue was full and the deadline was HX_NOWAIT), -HX_ETIMEDOUT (the deadline passed,
 * waiting for room in the queue or for the reply), -HX_EMSGSIZE (the reply is larger than the
 * caller's buffer), -HX_E2BIG (the request is larger than HX_ROUTER_MAX_PAYLOAD), -HX_EINVAL,
 * -HX_ENOMEM. A return of 0 says the module's handler ran and replied: its own verdict is the
 * separate status (*status: 0 or the handler's error, conventionally a negative HX_E* code).
 *
 * Lifetimes. The router copies the request into a call object it owns before queueing it; the
 * handler writes its response into that object; the caller copies the response out on its own
 * task after the reply has arrived. So the server never touches the caller's buffers, and when a
 * call ends early (timeout, dead target) the late reply lands in router-owned memory and is
 * dropped and counted (stats.late_replies). The caller's buffers are free the moment the call
 * returns.
 *
 * Deadlines are absolute hx_time_ns() values and cover the whole call: waiting for queue room
 * and for the reply. HX_NOWAIT makes a full queue fail with -HX_EAGAIN (and a call that cannot
 * finish without waiting fail with -HX_ETIMEDOUT); HX_FOREVER waits until the reply or the
 * module's death. The deadline is passed on to the handler (request.deadline_ns).
 *
 * Concurrency guarantee. Any number of tasks may call hx_router_call, hx_router_call_name,
 * hx_router_send, hx_router_lookup, hx_router_register, hx_router_unregister and
 * hx_router_get_stats concurrently with each other and with the servers, on any modules. At most
 * one task serves a module at a time (a second concurrent hx_router_serve* on the same module
 * gets -HX_EBUSY). A handler may call other modules, send, register and unregister (its own
 * module too); a handler that calls its own module waits for itself until its deadline.
 * hx_router_destroy only when nobody else uses the router and every server has returned.
 *
 * Context. Task context for everything (they allocate and may sleep); nothing may be called from
 * an interrupt handler (the event bus is for that). hx_router_unregister waits for a grace period
 * of the router's lookup SRCU (milliseconds; never for a handler to finish).
 */
#ifndef HELIX_IPC_ROUTER_H
#define HELIX_IPC_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/ipc/wire.h>
#include <helix/platform.h>

HX_BEGIN_DECLS

#define HX_ROUTER_NAME_MAX        HX_WIRE_NAME_MAX /* characters of a module name, [a-z0-9_.-] */
#define HX_ROUTER_MAX_MODULES     1024u            /* per router */
#define HX_ROUTER_MAX_PAYLOAD     (64u * 1024)     /* bytes of a request or a response */
#define HX_ROUTER_MAX_QUEUE       (64u * 1024)     /* entries of a module's request queue */
#define HX_ROUTER_SLOT_BITS       16               /* the low bits of an id: the table slot */
#define HX_ROUTER_LATENCY_BUCKETS 64               /* log2 buckets of call round trips */

struct hx_router;

/* What a handler gets. Valid during the handler call only (router-owned memory). */
struct hx_router_request {
	uint64_t id;          /* this request's id: unique among the router's requests */
	uint64_t deadline_ns; /* the caller's deadline (HX_FOREVER: none) */
	uint32_t method;      /* the caller's method number: the module defines them */
	bool one_way;         /* hx_router_send: nobody waits, the reply buffer is empty */
	const void *payload;  /* the request bytes (NULL when len is 0) */
	size_t len;
};

/*
 * Where a handler puts its response: @data has room for @cap bytes (the caller's resp_cap, at
 * most HX_ROUTER_MAX_PAYLOAD; 0 for one-way sends). The handler writes the bytes and sets @len,
 * or calls hx_router_reply_set. A @len above @cap says the response did not fit: the caller gets
 * -HX_EMSGSIZE and @len as the size it needs, and no bytes.
 */
struct hx_router_reply {
	void *data;
	size_t cap;
	size_t len;
};

/*
 * A module's handler: answers @req, writes the response into @reply and returns the status the
 * caller receives (0 for success, otherwise the module's error, conventionally a negative HX_E*).
 * Runs on the module's serving task, one request at a time, in queue order. May sleep, call other
 * modules, register and unregister; must not keep @req's or @reply's pointers after it returns.
 */
typedef int (*hx_router_handler_fn)(void *ctx, const struct hx_router_request *req,
                                    struct hx_router_reply *reply);

/* Per-module counters. Each is exact; the set is not taken atomically. */
struct hx_router_stats {
	uint64_t calls;        /* two-way calls accepted into the queue */
	uint64_t sends;        /* one-way messages accepted into the queue */
	uint64_t handled;      /* handler invocations */
	uint64_t replies;      /* replies a waiting caller received (any status; EMSGSIZE too) */
	uint64_t errors;       /* handler invocations that returned a non-zero status */
	uint64_t timeouts;     /* calls and sends that ended with -HX_ETIMEDOUT */
	uint64_t late_replies; /* replies discarded because their caller had stopped waiting */
	uint64_t expired;      /* requests dropped unserved: their caller had stopped waiting */
	uint64_t rejected;     /* calls and sends refused with -HX_EAGAIN (queue full, HX_NOWAIT) */
	uint64_t queue_full;   /* times a call or send found the queue full (the channel's count) */
	uint64_t queue_high_water; /* the longest queue a sender saw right after its send */
	uint64_t queue_capacity;
	/* Round trips of calls that got a reply, measured by the caller from before the send to
	 * after the reply: latency[i] counts those in [2^i, 2^(i+1)) ns (latency[0]: 0 and 1 ns).
	 */
	uint64_t latency[HX_ROUTER_LATENCY_BUCKETS];
};

/*
 * hx_router_create - a router for up to @max_modules registered modules at once.
 * Task context; allocates. Returns 0 and *@out, -HX_EINVAL (@max_modules outside
 * 1..HX_ROUTER_MAX_MODULES, NULL @out), -HX_ENOMEM.
 */
int hx_router_create(size_t max_modules, struct hx_router **out);

/*
 * hx_router_destroy - unregister every module and free the router. NULL is ignored. Task context.
 * Nobody may enter a router function during or after the call, and no task may still be inside
 * hx_router_serve*; callers already waiting inside hx_router_call are woken and return
 * -HX_EHOSTUNREACH without touching the router again.
 */
void hx_router_destroy(struct hx_router *router);

/*
 * hx_router_valid_name - whether @name is a valid module name: 1..HX_ROUTER_NAME_MAX characters
 * of [a-z0-9_.-], NUL-terminated. Any context; reads at most HX_ROUTER_NAME_MAX + 1 bytes.
 */
bool hx_router_valid_name(const char *name);

/*
 * hx_router_register - register a module: @name, @handler called with @ctx, a request queue of
 * @queue_capacity entries. The module takes calls at once; they wait in its queue until its task
 * serves them. Task context; allocates. Returns 0 and its id in *@id; -HX_EINVAL (invalid name,
 * NULL handler or @id, capacity outside 1..HX_ROUTER_MAX_QUEUE), -HX_EEXIST (a live module has
 * this name), -HX_ENOSPC (max_modules live modules), -HX_ENOMEM.
 */
int hx_router_register(struct hx_router *router, const char *name, hx_router_handler_fn handler,
                       void *ctx, size_t queue_capacity, uint64_t *id);

/*
 * hx_router_unregister - remove module @id: its name is free again, its id dead at once. Callers
 * waiting for its replies or for room in its queue return -HX_EHOSTUNREACH; requests still queued
 * are dropped; its server's hx_router_serve returns -HX_EHOSTUNREACH once it has nothing left.
 * A handler that is running finishes (its reply is dropped): free @ctx only after the serving
 * task has returned from hx_router_serve*. Task context; may sleep (an SRCU grace period).
 * Returns 0, -HX_EHOSTUNREACH (no live module has this id), -HX_EINVAL (NULL router).
 */
int hx_router_unregister(struct hx_router *router, uint64_t id);

/*
 * hx_router_lookup - the id of the live module named @name. Task context; never sleeps.
 * Returns 0 and *@id, -HX_ENOENT (no live module has the name), -HX_EINVAL (invalid name, NULL).
 * The id may die right after; a call to it then fails with -HX_EHOSTUNREACH.
 */
int hx_router_lookup(struct hx_router *router, const char *name, uint64_t *id);

/*
 * hx_router_call - send method @method with the @req_len bytes at @req to module @target and wait
 * until @deadline_ns for its reply; copy the response into @resp (@resp_cap bytes). Task context;
 * allocates one call object; spins (up to 4 us, yielding) and then sleeps for the reply. On 0 the
 * handler replied: *@status (may be NULL) is its status and *@resp_len (may be NULL) the response's
 * length. On -HX_EMSGSIZE the handler replied with more than @resp_cap bytes: *@resp_len is the
 * size needed, *@status the handler's status, and @resp is untouched. Other errors: see the top of
 * this file; then *@resp_len is 0, *@status is untouched, and @resp is untouched. @resp is written
 * only by the calling task, before return.
 */
int hx_router_call(struct hx_router *router, uint64_t target, uint32_t method, const void *req,
                   size_t req_len, void *resp, size_t resp_cap, size_t *resp_len, int *status,
                   uint64_t deadline_ns);

/*
 * hx_router_call_name - hx_router_call to the live module named @name (a lookup, then the call).
 * Same contract, plus -HX_ENOENT (no live module has the name) and -HX_EINVAL (invalid name).
 */
int hx_router_call_name(struct hx_router *router, const char *name, uint32_t method,
                        const void *req, size_t req_len, void *resp, size_t resp_cap,
                        size_t *resp_len, int *status, uint64_t deadline_ns);

/*
 * hx_router_send - one-way: queue method @method with the @req_len bytes at @req for module
 * @target, waiting for room until @deadline_ns. No reply: 0 means queued (the handler runs later,
 * unless the module unregisters first). Task context; may sleep; allocates. Returns 0,
 * -HX_EHOSTUNREACH, -HX_EAGAIN (full, HX_NOWAIT), -HX_ETIMEDOUT, -HX_E2BIG, -HX_EINVAL,
 * -HX_ENOMEM.
 */
int hx_router_send(struct hx_router *router, uint64_t target, uint32_t method, const void *req,
                   size_t req_len, uint64_t deadline_ns);

/*
 * hx_router_serve - serve module @id on the calling task: take requests from its queue in order
 * and run the handler for each, until @deadline_ns passes or the module is gone. Requests whose
 * caller has already stopped waiting are dropped unserved (stats.expired). Task context; sleeps
 * while the queue is empty. Returns only when it stops: -HX_ETIMEDOUT (the deadline passed),
 * -HX_EAGAIN (HX_NOWAIT and nothing left), -HX_EHOSTUNREACH (the module unregistered and its queue
 * is drained, or @id is dead), -HX_EBUSY (another task is serving it), -HX_EINVAL.
 */
int hx_router_serve(struct hx_router *router, uint64_t id, uint64_t deadline_ns);

/*
 * hx_router_serve_one - like hx_router_serve, but return after one request: 0 when one was taken
 * (served, or dropped as expired), else hx_router_serve's errors.
 */
int hx_router_serve_one(struct hx_router *router, uint64_t id, uint64_t deadline_ns);

/*
 * hx_router_get_stats - a snapshot of module @id's counters into *@out. Task context.
 * Returns 0, -HX_EHOSTUNREACH (dead id), -HX_EINVAL (NULL argument).
 */
int hx_router_get_stats(struct hx_router *router, uint64_t id, struct hx_router_stats *out);

/*
 * hx_router_reply_set - copy @len bytes from @data into @reply (for a handler). Any context.
 * Sets reply->len to @len unless the arguments are invalid. Returns 0, -HX_EMSGSIZE when @len
 * exceeds reply->cap (nothing is copied; the caller will get -HX_EMSGSIZE and @len as the size it
 * needs), -HX_EINVAL (NULL @reply, or NULL @data with a non-zero @len).
 */
int hx_router_reply_set(struct hx_router_reply *reply, const void *data, size_t len);

HX_END_DECLS

#endif /* HELIX_IPC_ROUTER_H */
