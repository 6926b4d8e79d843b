/* SPDX-License-Identifier: MIT */
/*
 * What the syscall framework's own files share and nobody else sees: the SRCU domain that guards
 * the dynamic syscall table and the hook list, and the hook list itself.
 */
#ifndef HELIX_SYSCALL_INTERNAL_H
#define HELIX_SYSCALL_INTERNAL_H

#include <stddef.h>

#include <helix/srcu.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>

/* Readers: every dispatch, from before the hooks run to after the last post-hook. Writers:
 * unregistering a dynamic syscall or a hook waits for it (hx_srcu_synchronize). */
extern struct hx_srcu hx_syscall_srcu;

/* An immutable snapshot of the registered hooks, sorted by (priority, registration order).
 * Replaced whole on every change (hooks.c); freed after a grace period. */
struct hx_hook_list {
	size_t count;
	struct hx_syscall_hook *hooks[];
};

/* The current snapshot, or NULL when no hook is registered. Only inside an hx_syscall_srcu
 * read-side section; the snapshot stays valid until the section ends. */
const struct hx_hook_list *hx_hooks_snapshot(void);

#endif /* HELIX_SYSCALL_INTERNAL_H */
