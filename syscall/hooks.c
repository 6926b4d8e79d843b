// SPDX-License-Identifier: MIT
/*
 * The hook list (hooks.h): an immutable, sorted array of hook pointers, replaced whole on every
 * register and unregister (copy on write) and published with one release store. Dispatchers load
 * it with an acquire inside an hx_syscall_srcu read-side section (gateway.c) and walk it without a
 * lock. A writer builds the next array under hooks_lock, publishes it, leaves the lock, waits for
 * a grace period and frees the array it replaced: each array is replaced exactly once, so exactly
 * one writer frees it, and only when no dispatch can still be walking it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/spinlock.h>
#include <helix/srcu.h>
#include <helix/syscall/hooks.h>

#include "internal.h"

/* A typedef so that HX_ATOMIC qualifies the pointer, not what it points to. */
typedef const struct hx_hook_list *hook_list_ptr;

/* The published list; NULL when no hook is registered. Written only under hooks_lock. */
static HX_ATOMIC(hook_list_ptr) current_list;
/* How many hooks current_list holds, for hx_syscall_hook_count in any context. */
static HX_ATOMIC(size_t) current_count;
/* Serialises writers: held only while the next array is filled in and published, never across an
 * allocation or a grace period. */
static struct hx_spinlock hooks_lock = HX_SPINLOCK_INIT;
/* Registration sequence: FIFO among equal priorities. Under hooks_lock. */
static uint64_t next_order;

const struct hx_hook_list *hx_hooks_snapshot(void)
{
	/* Acquire: pairs with the release store in publish(); the array and the hooks it points to
	 * (filled in by their owners before they registered) are visible before the pointer. */
	return atomic_load_explicit(&current_list, memory_order_acquire);
}

size_t hx_syscall_hook_count(void)
{
	/* Relaxed: a snapshot of a number; nothing is read through it. */
	return atomic_load_explicit(&current_count, memory_order_relaxed);
}

/* Room for the largest list, allocated before the lock is taken; NULL when memory ran out. */
static struct hx_hook_list *alloc_list(void)
{
	return hx_alloc(sizeof(struct hx_hook_list) +
	                HX_HOOKS_MAX * sizeof(struct hx_syscall_hook *));
}

/* Under hooks_lock. */
static void publish(const struct hx_hook_list *next, size_t count)
{
	/* Release: pairs with the acquire load in hx_hooks_snapshot. */
	atomic_store_explicit(&current_list, next, memory_order_release);
	/* Relaxed: see hx_syscall_hook_count. */
	atomic_store_explicit(&current_count, count, memory_order_relaxed);
}

/* Under hooks_lock: the index of @hook in @list, or -1. */
static long find(const struct hx_hook_list *list, const struct hx_syscall_hook *hook)
{
	for (size_t i = 0; list && i < list->count; i++)
		if (list->hooks[i] == hook)
			return (long)i;
	return -1;
}

/* After the new list is published and the lock released: wait until no dispatch can still walk
 * @old, then free it. */
static void retire(const struct hx_hook_list *old)
{
	if (!old)
		return;
	hx_srcu_synchronize(&hx_syscall_srcu);
	hx_free((void *)old);
}

int hx_syscall_hook_register(struct hx_syscall_hook *hook)
{
	struct hx_hook_list *next;
	const struct hx_hook_list *old;
	size_t count, at;
	int err = 0;

	if (!hook || !hook->name || !*hook->name || (!hook->pre && !hook->post))
		return -HX_EINVAL;
	next = alloc_list(); /* a failure is reported after the checks that need the lock */

	hx_spin_lock(&hooks_lock);
	/* Relaxed: only writers store it, and they hold hooks_lock. */
	old = atomic_load_explicit(&current_list, memory_order_relaxed);
	count = old ? old->count : 0;
	if (find(old, hook) >= 0)
		err = -HX_EEXIST;
	else if (count >= HX_HOOKS_MAX)
		err = -HX_ENOSPC;
	else if (!next)
		err = -HX_ENOMEM;
	if (err) {
		hx_spin_unlock(&hooks_lock);
		hx_free(next);
		return err;
	}

	/* The new hook has the largest order, so it goes after every hook of its priority or
	 * lower: the array stays sorted by (priority, order). */
	for (at = 0; at < count && old->hooks[at]->priority <= hook->priority; at++)
		next->hooks[at] = old->hooks[at];
	next->hooks[at] = hook;
	for (size_t i = at; i < count; i++)
		next->hooks[i + 1] = old->hooks[i];
	next->count = count + 1;
	hook->order = next_order++;
	hook->registered = true;
	publish(next, next->count);
	hx_spin_unlock(&hooks_lock);

	retire(old);
	return 0;
}

int hx_syscall_hook_unregister(struct hx_syscall_hook *hook)
{
	struct hx_hook_list *next = alloc_list(); /* unused when the list becomes empty */
	const struct hx_hook_list *old;
	long index;

	hx_spin_lock(&hooks_lock);
	/* Relaxed: only writers store it, and they hold hooks_lock. */
	old = atomic_load_explicit(&current_list, memory_order_relaxed);
	index = hook ? find(old, hook) : -1;
	if (index < 0 || (old->count > 1 && !next)) {
		hx_spin_unlock(&hooks_lock);
		hx_free(next);
		return index < 0 ? -HX_ENOENT : -HX_ENOMEM;
	}

	if (old->count == 1) {
		publish(NULL, 0);
	} else {
		size_t n = 0;

		for (size_t i = 0; i < old->count; i++)
			if (i != (size_t)index)
				next->hooks[n++] = old->hooks[i];
		next->count = n;
		publish(next, n);
		next = NULL;
	}
	hook->registered = false;
	hx_spin_unlock(&hooks_lock);

	hx_free(next);
	/* The hook may still be running in a dispatch that loaded @old: after the grace period
	 * nobody does, and its memory is the caller's again. */
	retire(old);
	return 0;
}
