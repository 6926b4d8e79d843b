// SPDX-License-Identifier: MIT
/*
 * The router (helix/ipc/router.h; lifetimes and measurements in docs/router.md).
 *
 * Objects:
 *  - the router: a table of slots, each an atomic pointer to a live module or NULL. Lookups read
 *    the slots inside an SRCU read-side section and take a module reference there; register and
 *    unregister change them under router->lock, and unregister waits for a grace period before it
 *    drops the table's reference (the syscall hook list's pattern, syscall/hooks.c).
 *  - a module: name, handler, context, its request queue (a channel of call pointers), a
 *    reference count (the table's, each caller's and sender's while it works on the module, the
 *    server's while it serves), the list of calls whose callers wait for a reply, and its stats.
 *    The last reference frees it, dropping the calls still queued.
 *  - a call: one per request, allocated by the caller, holding a copy of the request and room for
 *    the response; references: the caller's (two-way calls only) and the queue's (passed to the
 *    server when it takes the call). Its state word is also the futex word the caller sleeps on.
 *
 * A call's state moves once from PENDING (or PENDING_SLEEPER) to exactly one final state, by a
 * CAS on the one word: REPLIED (the server), DEAD (unregister), ABANDONED (the caller, at its
 * deadline). Whoever loses the race sees the winner's state and backs off, so a reply after the
 * deadline is dropped (counted as late), and a caller never waits for a module that is gone. The
 * caller alone copies the response into its own buffer, after it has seen REPLIED: the server
 * only ever writes router-owned memory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/assert.h>
#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/ipc/channel.h>
#include <helix/ipc/router.h>
#include <helix/platform.h>
#include <helix/spinlock.h>
#include <helix/srcu.h>
#include <helix/string.h>

#define SLOT_MASK   (((uint64_t)1 << HX_ROUTER_SLOT_BITS) - 1)
#define GEN_LIMIT   ((uint64_t)1 << (64 - HX_ROUTER_SLOT_BITS))
/*
 * A caller whose request was alone in the queue spins up to SPIN_NS for the reply before it sleeps
 * (a quick handler answers in a few hundred nanoseconds; a sleep and a cross-CPU wake cost 5-40
 * us, and the reply then pays a futex wake). It yields every SPIN_CHECK rounds of hx_cpu_relax:
 * when the server waits for the caller's own CPU, spinning would only hold it off. A caller queued
 * behind others sleeps at once: its wait is the others' service time. docs/router.md has the
 * measurements behind the numbers.
 */
#define SPIN_NS     4000
#define SPIN_CHECK  16
#define SERVE_BATCH 16 /* requests a server takes from its queue at once */

HX_STATIC_ASSERT(HX_ROUTER_MAX_MODULES <= SLOT_MASK, "every slot index fits an id's slot bits");
HX_STATIC_ASSERT(HX_ROUTER_MAX_QUEUE <= HX_CHAN_MAX_CAPACITY, "a queue is a channel");

enum call_state {
	CALL_PENDING = 0,     /* queued or being handled; the caller does not sleep (yet) */
	CALL_PENDING_SLEEPER, /* the same, and the caller sleeps on the word: the winner wakes it */
	CALL_REPLIED,         /* final: status, resp_len and the response bytes are written */
	CALL_DEAD,            /* final: the module unregistered before it replied */
	CALL_ABANDONED,       /* final: the caller stopped waiting (its deadline passed) */
};

static inline bool final_state(uint32_t state)
{
	return state >= CALL_REPLIED;
}

struct link {
	struct link *prev, *next;
};

struct call {
	/* enum call_state; the futex word the caller sleeps on. */
	HX_ATOMIC(uint32_t) state;
	/* The caller's (two-way) and the queue's, which the server inherits. */
	HX_ATOMIC(uint32_t) refs;
	/* In the module's pending list while its caller may wait for it (two-way; module lock). */
	struct link pending;
	uint64_t request_id;
	uint64_t deadline_ns;
	uint32_t method;
	bool one_way;
	int status;      /* the handler's; written by the server before REPLIED */
	size_t resp_len; /* the handler's reply->len; written by the server before REPLIED */
	size_t req_len;
	size_t resp_cap; /* bytes at resp: min(the caller's resp_cap, HX_ROUTER_MAX_PAYLOAD) */
	unsigned char *resp;
	HX_ALIGNAS(16) unsigned char data[]; /* the request, then (16-aligned) the response */
};

struct module {
	/* Read-only after register. */
	uint64_t id;
	hx_router_handler_fn handler;
	void *ctx;
	struct hx_chan *queue; /* struct call * messages */
	size_t capacity;
	void *allocation;
	char name[HX_ROUTER_NAME_MAX + 1];

	HX_ATOMIC(uint32_t) refs;
	HX_ATOMIC(uint32_t) serving; /* 1 while a task is inside hx_router_serve* */
	HX_ATOMIC(uint32_t) dead;    /* set once, under lock, by unregister */
	/* Covers pending and the transitions to dead: a call is linked only while not dead, so
	 * unregister's walk finds every call whose caller may wait. */
	struct hx_spinlock lock;
	struct link pending;

	/* Statistics (relaxed counters, see count()): written by callers and the server. */
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(uint64_t) calls;
	HX_ATOMIC(uint64_t) sends;
	HX_ATOMIC(uint64_t) replies;
	HX_ATOMIC(uint64_t) timeouts;
	HX_ATOMIC(uint64_t) rejected;
	HX_ATOMIC(uint64_t) queue_high_water;
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(uint64_t) handled;
	HX_ATOMIC(uint64_t) errors;
	HX_ATOMIC(uint64_t) late_replies;
	HX_ATOMIC(uint64_t) expired;
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(uint64_t) latency[HX_ROUTER_LATENCY_BUCKETS];
};

/* A typedef so that HX_ATOMIC qualifies the pointer, not what it points to. */
typedef struct module *module_ptr;

struct hx_router {
	struct hx_srcu srcu; /* lookups read the slots inside it */
	void *allocation;
	/* Serialises register, unregister and destroy: slot writes, count, next_generation. */
	struct hx_spinlock lock;
	uint64_t next_generation;
	size_t max_modules;
	size_t count;
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(uint64_t) next_request_id;
	HX_ALIGNAS(HX_CACHELINE) HX_ATOMIC(module_ptr) slots[];
};

static void count(HX_ATOMIC(uint64_t) *counter)
{
	/* Relaxed: statistics order nothing. */
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* hx_alloc aligns to 16; the cache-line layout needs 64. Zeroed. */
static void *alloc_aligned(size_t size, void **allocation)
{
	unsigned char *raw = hx_alloc(size + HX_CACHELINE);
	void *object;

	if (!raw)
		return NULL;
	object = (void *)HX_ALIGN_UP((uintptr_t)raw, (uintptr_t)HX_CACHELINE);
	hx_memset(object, 0, size);
	*allocation = raw;
	return object;
}

/* ---- Lists (the module's pending calls; module lock held) --------------------------------- */

static void list_init(struct link *head)
{
	head->prev = head;
	head->next = head;
}

static void list_add(struct link *head, struct link *node)
{
	node->next = head;
	node->prev = head->prev;
	head->prev->next = node;
	head->prev = node;
}

static void list_del(struct link *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->prev = node;
	node->next = node;
}

/* ---- Calls --------------------------------------------------------------------------------- */

static struct call *call_create(const void *req, size_t req_len, size_t resp_cap)
{
	size_t resp_offset = HX_ALIGN_UP(req_len, (size_t)16);
	/* Cannot overflow: both lengths are at most HX_ROUTER_MAX_PAYLOAD. */
	struct call *call = hx_alloc(sizeof(*call) + resp_offset + resp_cap);

	if (!call)
		return NULL;
	/* Relaxed: not shared yet; the channel's release publish of the pointer orders these. */
	atomic_store_explicit(&call->state, CALL_PENDING, memory_order_relaxed);
	atomic_store_explicit(&call->refs, 1, memory_order_relaxed);
	list_init(&call->pending);
	call->status = 0;
	call->resp_len = 0;
	call->req_len = req_len;
	call->resp_cap = resp_cap;
	call->resp = call->data + resp_offset;
	/* A handler that sets a length without writing that many bytes returns zeros, never stale
	 * heap memory (responses reach user programs through the router_call syscall). */
	hx_memset(call->resp, 0, resp_cap);
	if (req_len)
		hx_memcpy(call->data, req, req_len);
	return call;
}

static void call_put(struct call *call)
{
	/* Acq_rel: the release half orders this holder's accesses before the free; the acquire
	 * half, needed by the last put only, pairs with every other holder's release (as in
	 * hx_kobject_put; ThreadSanitizer does not model a lone acquire fence). */
	uint32_t old = atomic_fetch_sub_explicit(&call->refs, 1, memory_order_acq_rel);

	HX_ASSERT(old != 0);
	if (old == 1)
		hx_free(call);
}

/*
 * Move a pending call to @final (REPLIED, DEAD or ABANDONED) unless another party got there
 * first; wake its caller when it sleeps. Returns true when this call made the move, with the
 * state it found in *@found (pending) or the winner's final state.
 * Release: pairs with the caller's acquire loads; a REPLIED publishes status, resp_len and the
 * response bytes written before it. Failure is relaxed: the loser only backs off.
 */
static bool call_finish(struct call *call, uint32_t final, uint32_t *found)
{
	/* Relaxed: a first guess; the CAS decides. */
	uint32_t old = atomic_load_explicit(&call->state, memory_order_relaxed);

	do {
		if (final_state(old)) {
			*found = old;
			return false;
		}
	} while (!atomic_compare_exchange_weak_explicit(
	    &call->state, &old, final, memory_order_release, memory_order_relaxed));
	*found = old;
	/* The word changed before the wake: a caller about to sleep on PENDING_SLEEPER finds it
	 * changed and returns at once, and one asleep is woken. The holder's reference keeps the
	 * call (and the word) alive through the wake. */
	if (old == CALL_PENDING_SLEEPER)
		hx_futex_wake(&call->state, 1);
	return true;
}

/*
 * The caller's wait for a final state until @deadline_ns, spinning first when @spin (see
 * SPIN_NS); at the deadline the caller tries to abandon the call, and whichever final state won
 * is returned (acquire: when it is REPLIED the server's writes are visible).
 */
static uint32_t call_wait(struct call *call, uint64_t deadline_ns, bool spin)
{
	uint64_t spin_until = spin ? HX_MIN(hx_time_ns() + SPIN_NS, deadline_ns) : 0;
	uint32_t state;

	do {
		for (unsigned i = 0; i < SPIN_CHECK; i++) {
			/* Acquire: pairs with the release CAS in call_finish. */
			state = atomic_load_explicit(&call->state, memory_order_acquire);
			if (final_state(state))
				return state;
			hx_cpu_relax();
		}
		if (!spin)
			break;
		hx_yield();
	} while (hx_time_ns() < spin_until);
	for (;;) {
		uint32_t expected = CALL_PENDING;

		/* Announce the sleep on the word itself. Both this and the finisher's CAS are
		 * read-modify-writes of one word, so one is first: either the finisher sees
		 * SLEEPER and wakes us, or this CAS fails on the final state. Acquire on failure:
		 * pairs with the release CAS in call_finish (C11 wants success at least as strong;
		 * on success it orders nothing). */
		if (!atomic_compare_exchange_strong_explicit(
		        &call->state, &expected, CALL_PENDING_SLEEPER, memory_order_acquire,
		        memory_order_acquire) &&
		    final_state(expected))
			return expected;
		if (hx_futex_wait(&call->state, CALL_PENDING_SLEEPER, deadline_ns) ==
		    -HX_ETIMEDOUT) {
			expected = CALL_PENDING_SLEEPER;
			/* Acquire on failure: the reply won at the deadline; take it (pairs with
			 * the release CAS in call_finish). Success orders nothing: the caller then
			 * reads nothing the others wrote. */
			if (atomic_compare_exchange_strong_explicit(
			        &call->state, &expected, CALL_ABANDONED, memory_order_acquire,
			        memory_order_acquire))
				return CALL_ABANDONED;
			return expected;
		}
		/* Woken (or spuriously, or the word moved): look again. Acquire: as above. */
		state = atomic_load_explicit(&call->state, memory_order_acquire);
		if (final_state(state))
			return state;
	}
}

/* ---- Modules ------------------------------------------------------------------------------- */

static void module_get(struct module *module)
{
	/* Relaxed: the caller holds a reference or reads the table inside an SRCU section, where
	 * the table's reference cannot go; a new reference publishes nothing. */
	uint32_t old = atomic_fetch_add_explicit(&module->refs, 1, memory_order_relaxed);

	HX_ASSERT(old != 0 && old != UINT32_MAX);
}

static void module_destroy(struct module *module)
{
	struct call *call;

	/* The last reference: no server runs and nobody sends any more, so this task may act as
	 * the queue's consumer and drop what is still queued. */
	while (hx_chan_recv(module->queue, &call, HX_NOWAIT) == 0)
		call_put(call);
	hx_chan_destroy(module->queue);
	hx_free(module->allocation);
}

static void module_put(struct module *module)
{
	/* Acq_rel: see call_put. */
	uint32_t old = atomic_fetch_sub_explicit(&module->refs, 1, memory_order_acq_rel);

	HX_ASSERT(old != 0);
	if (old == 1)
		module_destroy(module);
}

/* Link a two-way call into the pending list; false when the module is dead already. */
static bool module_link(struct module *module, struct call *call)
{
	bool linked = false;

	hx_spin_lock(&module->lock);
	/* Relaxed: dead is written under this lock. */
	if (!atomic_load_explicit(&module->dead, memory_order_relaxed)) {
		list_add(&module->pending, &call->pending);
		linked = true;
	}
	hx_spin_unlock(&module->lock);
	return linked;
}

static void module_unlink(struct module *module, struct call *call)
{
	hx_spin_lock(&module->lock);
	list_del(&call->pending);
	hx_spin_unlock(&module->lock);
}

/*
 * Mark @module dead: every waiting caller gets DEAD (and is woken), no call is linked any more,
 * the queue refuses sends and wakes the server and blocked senders. Its slot is cleared already.
 */
static void module_kill(struct module *module)
{
	uint32_t found;

	hx_spin_lock(&module->lock);
	/* Relaxed: callers read it under the lock; the server's lock-free read is a shortcut only
	 * (the call states and the closed queue are what it acts on). */
	atomic_store_explicit(&module->dead, 1, memory_order_relaxed);
	/* The callers unlink themselves (under this lock) before they drop their reference, so
	 * every call found here is alive. Waking under a spinlock: rare, and the wake is short. */
	for (struct link *node = module->pending.next; node != &module->pending; node = node->next)
		call_finish(HX_CONTAINER_OF(node, struct call, pending), CALL_DEAD, &found);
	hx_spin_unlock(&module->lock);
	hx_chan_close(module->queue);
}

/* Returns the queue's length right after a send. */
static uint64_t note_queue_length(struct module *module)
{
	uint64_t length = hx_chan_len(module->queue);
	/* Relaxed: a statistic; the CAS keeps the maximum. */
	uint64_t high = atomic_load_explicit(&module->queue_high_water, memory_order_relaxed);

	while (length > high &&
	       !atomic_compare_exchange_weak_explicit(&module->queue_high_water, &high, length,
	                                              memory_order_relaxed, memory_order_relaxed))
		;
	return length;
}

static void note_latency(struct module *module, uint64_t ns)
{
	unsigned bucket = 63u - (unsigned)__builtin_clzll(ns | 1);

	count(&module->latency[bucket]);
}

/* ---- Names and the table ------------------------------------------------------------------- */

/* One rule for names, the wire format's (a target name in an envelope is a module name). */
bool hx_router_valid_name(const char *name)
{
	size_t len = 0;

	if (!name)
		return false;
	while (len <= HX_ROUTER_NAME_MAX && name[len])
		len++;
	return hx_wire_name_valid(name, len);
}

/* The module in slot @index: inside an SRCU section (acquire), or under router->lock. */
static struct module *slot_load(struct hx_router *router, size_t index)
{
	/* Acquire: pairs with the release store in hx_router_register; the module's fields are
	 * visible before its pointer. */
	return atomic_load_explicit(&router->slots[index], memory_order_acquire);
}

/* A reference to the live module @id, or NULL. */
static struct module *get_module(struct hx_router *router, uint64_t id)
{
	uint64_t index = id & SLOT_MASK;
	struct module *module;
	unsigned token;

	if (index >= router->max_modules)
		return NULL;
	token = hx_srcu_read_lock(&router->srcu);
	/* The id comes from the caller (and, through the syscall, from user space): clamp the
	 * index after the check. */
	module = slot_load(router, (size_t)hx_index_nospec(index, router->max_modules));
	if (module && module->id == id)
		module_get(module);
	else
		module = NULL;
	hx_srcu_read_unlock(&router->srcu, token);
	return module;
}

/* A reference to the live module named @name (valid), or NULL. */
static struct module *get_module_by_name(struct hx_router *router, const char *name)
{
	struct module *found = NULL;
	unsigned token = hx_srcu_read_lock(&router->srcu);

	for (size_t i = 0; i < router->max_modules && !found; i++) {
		struct module *module = slot_load(router, i);

		if (module && !hx_strcmp(module->name, name)) {
			module_get(module);
			found = module;
		}
	}
	hx_srcu_read_unlock(&router->srcu, token);
	return found;
}

int hx_router_create(size_t max_modules, struct hx_router **out)
{
	struct hx_router *router;
	void *allocation;

	if (!out || max_modules == 0 || max_modules > HX_ROUTER_MAX_MODULES)
		return -HX_EINVAL;
	router =
	    alloc_aligned(sizeof(*router) + max_modules * sizeof(router->slots[0]), &allocation);
	if (!router)
		return -HX_ENOMEM;
	router->allocation = allocation;
	hx_srcu_init(&router->srcu);
	hx_spin_init(&router->lock);
	router->next_generation = 1;
	router->max_modules = max_modules;
	/* Relaxed: not shared yet; whoever shares the router publishes it. */
	atomic_store_explicit(&router->next_request_id, 1, memory_order_relaxed);
	for (size_t i = 0; i < max_modules; i++) /* relaxed, as above */
		atomic_store_explicit(&router->slots[i], NULL, memory_order_relaxed);
	*out = router;
	return 0;
}

void hx_router_destroy(struct hx_router *router)
{
	if (!router)
		return;
	/* Nobody else uses the router (the contract), so no lookup can hold a slot's pointer and
	 * no grace period is needed; callers still waiting hold their own module references. */
	for (size_t i = 0; i < router->max_modules; i++) {
		struct module *module = slot_load(router, i);

		if (!module)
			continue;
		/* Relaxed: nobody reads the slots any more (see above). */
		atomic_store_explicit(&router->slots[i], NULL, memory_order_relaxed);
		module_kill(module);
		module_put(module);
	}
	hx_free(router->allocation);
}

int hx_router_register(struct hx_router *router, const char *name, hx_router_handler_fn handler,
                       void *ctx, size_t queue_capacity, uint64_t *id)
{
	struct module *module;
	void *allocation;
	size_t free_slot = SIZE_MAX;
	int err = 0;

	if (!router || !handler || !id || !hx_router_valid_name(name) || queue_capacity == 0 ||
	    queue_capacity > HX_ROUTER_MAX_QUEUE)
		return -HX_EINVAL;
	/* Everything that allocates happens before the lock. */
	module = alloc_aligned(sizeof(*module), &allocation);
	if (!module)
		return -HX_ENOMEM;
	module->allocation = allocation;
	if (hx_chan_create(queue_capacity, sizeof(struct call *), &module->queue)) {
		hx_free(allocation);
		return -HX_ENOMEM;
	}
	module->handler = handler;
	module->ctx = ctx;
	module->capacity = queue_capacity;
	hx_strlcpy(module->name, name, sizeof(module->name));
	/* Relaxed: not shared yet; the release store of the slot publishes all of it. */
	atomic_store_explicit(&module->refs, 1, memory_order_relaxed); /* the table's */
	hx_spin_init(&module->lock);
	list_init(&module->pending);

	hx_spin_lock(&router->lock);
	for (size_t i = 0; i < router->max_modules; i++) {
		struct module *other = slot_load(router, i);

		if (!other) {
			if (free_slot == SIZE_MAX)
				free_slot = i;
		} else if (!hx_strcmp(other->name, name)) {
			err = -HX_EEXIST;
			break;
		}
	}
	if (!err && free_slot == SIZE_MAX)
		err = -HX_ENOSPC;
	/* 2^48 registrations: unreachable in practice, but an id must never come back. */
	if (!err && router->next_generation >= GEN_LIMIT)
		err = -HX_ENOSPC;
	if (!err) {
		module->id = router->next_generation++ << HX_ROUTER_SLOT_BITS | free_slot;
		router->count++;
		/* Release: pairs with the acquire in slot_load; the module is complete. */
		atomic_store_explicit(&router->slots[free_slot], module, memory_order_release);
		*id = module->id;
	}
	hx_spin_unlock(&router->lock);

	if (err) {
		hx_chan_destroy(module->queue);
		hx_free(allocation);
	}
	return err;
}

int hx_router_unregister(struct hx_router *router, uint64_t id)
{
	uint64_t index = id & SLOT_MASK;
	struct module *module = NULL;

	if (!router)
		return -HX_EINVAL;
	if (index >= router->max_modules)
		return -HX_EHOSTUNREACH;
	index = hx_index_nospec(index, router->max_modules);
	hx_spin_lock(&router->lock);
	module = slot_load(router, (size_t)index);
	if (module && module->id == id) {
		/* Relaxed: a NULL publishes nothing; readers that still load the old pointer are
		 * covered by the grace period below. */
		atomic_store_explicit(&router->slots[index], NULL, memory_order_relaxed);
		router->count--;
	} else {
		module = NULL;
	}
	hx_spin_unlock(&router->lock);
	if (!module)
		return -HX_EHOSTUNREACH;

	module_kill(module);
	/* A lookup that loaded the pointer before the store above may still be about to take a
	 * reference: the table's must outlive it. */
	hx_srcu_synchronize(&router->srcu);
	module_put(module);
	return 0;
}

int hx_router_lookup(struct hx_router *router, const char *name, uint64_t *id)
{
	struct module *module;

	if (!router || !id || !hx_router_valid_name(name))
		return -HX_EINVAL;
	module = get_module_by_name(router, name);
	if (!module)
		return -HX_ENOENT;
	*id = module->id;
	module_put(module);
	return 0;
}

/* ---- Calls and sends ----------------------------------------------------------------------- */

/*
 * Queue @call on @module; on failure the call was not queued. Counts the outcome. On success
 * *@queue_length is the queue's length right after the send (this call included).
 */
static int enqueue(struct module *module, struct call *call, uint64_t deadline_ns,
                   uint64_t *queue_length)
{
	/* Read before the send: a one-way call belongs to the server once it is queued. */
	bool one_way = call->one_way;
	int err = hx_chan_send(module->queue, &call, deadline_ns);

	switch (err) {
	case 0:
		count(one_way ? &module->sends : &module->calls);
		*queue_length = note_queue_length(module);
		return 0;
	case -HX_EPIPE: /* closed by unregister */
		return -HX_EHOSTUNREACH;
	case -HX_EAGAIN:
		count(&module->rejected);
		return err;
	case -HX_ETIMEDOUT:
		count(&module->timeouts);
		return err;
	default:
		return err;
	}
}

static bool payload_args_valid(const void *buf, size_t len)
{
	return buf || !len;
}

/* A two-way call to @module; consumes the caller's module reference. */
static int call_module(struct hx_router *router, struct module *module, uint32_t method,
                       const void *req, size_t req_len, void *resp, size_t resp_cap,
                       size_t *resp_len, int *status, uint64_t deadline_ns)
{
	struct call *call;
	uint64_t start, queue_length = 0;
	uint32_t state;
	int err;

	call = call_create(req, req_len, HX_MIN(resp_cap, (size_t)HX_ROUTER_MAX_PAYLOAD));
	if (!call) {
		module_put(module);
		return -HX_ENOMEM;
	}
	/* Relaxed: a unique number is all that is needed; nothing is published through it. */
	call->request_id =
	    atomic_fetch_add_explicit(&router->next_request_id, 1, memory_order_relaxed);
	call->deadline_ns = deadline_ns;
	call->method = method;
	call->one_way = false;
	/* Relaxed: not shared yet (the channel publishes it). One reference for the queue. */
	atomic_store_explicit(&call->refs, 2, memory_order_relaxed);

	start = hx_time_ns();
	if (!module_link(module, call)) {
		hx_free(call);
		module_put(module);
		return -HX_EHOSTUNREACH;
	}
	err = enqueue(module, call, deadline_ns, &queue_length);
	if (err) {
		/* Never queued: nobody else can reach it once it is unlinked. */
		module_unlink(module, call);
		hx_free(call);
		module_put(module);
		return err;
	}

	state = call_wait(call, deadline_ns, queue_length <= 1);
	module_unlink(module, call);
	switch (state) {
	case CALL_REPLIED:
		count(&module->replies);
		note_latency(module, hx_time_ns() - start);
		if (status)
			*status = call->status;
		if (call->resp_len > call->resp_cap) {
			err = -HX_EMSGSIZE;
		} else if (call->resp_len) {
			/* The only write to the caller's buffer, on the caller's own task. */
			hx_memcpy(resp, call->resp, call->resp_len);
		}
		if (resp_len)
			*resp_len = call->resp_len;
		break;
	case CALL_ABANDONED:
		count(&module->timeouts);
		err = -HX_ETIMEDOUT;
		break;
	default:
		HX_ASSERT(state == CALL_DEAD);
		err = -HX_EHOSTUNREACH;
		break;
	}
	call_put(call);
	module_put(module);
	return err;
}

int hx_router_call(struct hx_router *router, uint64_t target, uint32_t method, const void *req,
                   size_t req_len, void *resp, size_t resp_cap, size_t *resp_len, int *status,
                   uint64_t deadline_ns)
{
	struct module *module;

	if (resp_len)
		*resp_len = 0;
	if (!router || !payload_args_valid(req, req_len) || !payload_args_valid(resp, resp_cap))
		return -HX_EINVAL;
	if (req_len > HX_ROUTER_MAX_PAYLOAD)
		return -HX_E2BIG;
	module = get_module(router, target);
	if (!module)
		return -HX_EHOSTUNREACH;
	return call_module(router, module, method, req, req_len, resp, resp_cap, resp_len, status,
	                   deadline_ns);
}

int hx_router_call_name(struct hx_router *router, const char *name, uint32_t method,
                        const void *req, size_t req_len, void *resp, size_t resp_cap,
                        size_t *resp_len, int *status, uint64_t deadline_ns)
{
	struct module *module;

	if (resp_len)
		*resp_len = 0;
	if (!router || !hx_router_valid_name(name) || !payload_args_valid(req, req_len) ||
	    !payload_args_valid(resp, resp_cap))
		return -HX_EINVAL;
	if (req_len > HX_ROUTER_MAX_PAYLOAD)
		return -HX_E2BIG;
	module = get_module_by_name(router, name);
	if (!module)
		return -HX_ENOENT;
	return call_module(router, module, method, req, req_len, resp, resp_cap, resp_len, status,
	                   deadline_ns);
}

int hx_router_send(struct hx_router *router, uint64_t target, uint32_t method, const void *req,
                   size_t req_len, uint64_t deadline_ns)
{
	struct module *module;
	struct call *call;
	uint64_t queue_length;
	int err;

	if (!router || !payload_args_valid(req, req_len))
		return -HX_EINVAL;
	if (req_len > HX_ROUTER_MAX_PAYLOAD)
		return -HX_E2BIG;
	module = get_module(router, target);
	if (!module)
		return -HX_EHOSTUNREACH;
	call = call_create(req, req_len, 0);
	if (!call) {
		module_put(module);
		return -HX_ENOMEM;
	}
	/* Relaxed: see call_module. */
	call->request_id =
	    atomic_fetch_add_explicit(&router->next_request_id, 1, memory_order_relaxed);
	call->deadline_ns = deadline_ns;
	call->method = method;
	call->one_way = true; /* the queue's reference is the only one */
	err = enqueue(module, call, deadline_ns, &queue_length);
	if (err)
		hx_free(call);
	module_put(module);
	return err;
}

/* ---- Serving ------------------------------------------------------------------------------- */

/* Run the handler for one call taken from the queue, and drop the queue's reference. */
static void serve_call(struct module *module, struct call *call)
{
	struct hx_router_request req;
	struct hx_router_reply reply;
	uint32_t found;
	int status;

	/* Relaxed: a shortcut; the final CAS in call_finish decides. */
	uint32_t state = atomic_load_explicit(&call->state, memory_order_relaxed);

	if (final_state(state)) {
		/* ABANDONED: the caller gave up before we got here. DEAD: the module is gone. */
		if (state == CALL_ABANDONED)
			count(&module->expired);
		call_put(call);
		return;
	}
	/* Relaxed: see module_kill. A one-way message queued before unregister is dropped. */
	if (atomic_load_explicit(&module->dead, memory_order_relaxed)) {
		call_put(call);
		return;
	}
	req.id = call->request_id;
	req.deadline_ns = call->deadline_ns;
	req.method = call->method;
	req.one_way = call->one_way;
	req.payload = call->req_len ? call->data : NULL;
	req.len = call->req_len;
	reply.data = call->resp_cap ? call->resp : NULL;
	reply.cap = call->resp_cap;
	reply.len = 0;

	status = module->handler(module->ctx, &req, &reply);
	count(&module->handled);
	if (status)
		count(&module->errors);
	if (!call->one_way) {
		call->status = status;
		call->resp_len = reply.len;
		if (!call_finish(call, CALL_REPLIED, &found) && found == CALL_ABANDONED)
			count(&module->late_replies);
	}
	call_put(call);
}

static int serve(struct hx_router *router, uint64_t id, uint64_t deadline_ns, bool once)
{
	struct call *batch[SERVE_BATCH];
	struct module *module;
	int err = 0;

	if (!router)
		return -HX_EINVAL;
	module = get_module(router, id);
	if (!module)
		return -HX_EHOSTUNREACH;
	/* Acquire: pairs with the release store below of the previous server, so its use of the
	 * queue's consumer side happens before ours (one consumer at a time). */
	if (atomic_exchange_explicit(&module->serving, 1, memory_order_acquire)) {
		module_put(module);
		return -HX_EBUSY;
	}
	for (;;) {
		int taken =
		    hx_chan_recv_many(module->queue, batch, once ? 1 : SERVE_BATCH, deadline_ns);

		if (taken < 0) {
			err = taken == -HX_EPIPE ? -HX_EHOSTUNREACH : taken;
			break;
		}
		for (int i = 0; i < taken; i++)
			serve_call(module, batch[i]);
		if (once)
			break;
	}
	/* Release: pairs with the acquire exchange of the next server. */
	atomic_store_explicit(&module->serving, 0, memory_order_release);
	module_put(module);
	return err;
}

int hx_router_serve(struct hx_router *router, uint64_t id, uint64_t deadline_ns)
{
	return serve(router, id, deadline_ns, false);
}

int hx_router_serve_one(struct hx_router *router, uint64_t id, uint64_t deadline_ns)
{
	return serve(router, id, deadline_ns, true);
}

/* ---- Statistics and replies ---------------------------------------------------------------- */

static uint64_t read_counter(HX_ATOMIC(uint64_t) *counter)
{
	/* Relaxed: see count(). */
	return atomic_load_explicit(counter, memory_order_relaxed);
}

int hx_router_get_stats(struct hx_router *router, uint64_t id, struct hx_router_stats *out)
{
	struct hx_chan_stats queue;
	struct module *module;

	if (!router || !out)
		return -HX_EINVAL;
	module = get_module(router, id);
	if (!module)
		return -HX_EHOSTUNREACH;
	hx_chan_get_stats(module->queue, &queue);
	out->calls = read_counter(&module->calls);
	out->sends = read_counter(&module->sends);
	out->handled = read_counter(&module->handled);
	out->replies = read_counter(&module->replies);
	out->errors = read_counter(&module->errors);
	out->timeouts = read_counter(&module->timeouts);
	out->late_replies = read_counter(&module->late_replies);
	out->expired = read_counter(&module->expired);
	out->rejected = read_counter(&module->rejected);
	out->queue_full = queue.full_events;
	out->queue_high_water = read_counter(&module->queue_high_water);
	out->queue_capacity = module->capacity;
	for (unsigned i = 0; i < HX_ROUTER_LATENCY_BUCKETS; i++)
		out->latency[i] = read_counter(&module->latency[i]);
	module_put(module);
	return 0;
}

int hx_router_reply_set(struct hx_router_reply *reply, const void *data, size_t len)
{
	if (!reply || (!data && len))
		return -HX_EINVAL;
	reply->len = len;
	if (len > reply->cap)
		return -HX_EMSGSIZE;
	if (len)
		hx_memcpy(reply->data, data, len);
	return 0;
}
