// SPDX-License-Identifier: MIT
/*
 * The registry and the gateway: every syscall goes through hx_syscall_dispatch. The order of a
 * dispatch is fixed (docs/syscall-framework.md): clamp the number, pre-hooks, the table's rule for
 * every argument (handles resolved), the handler, post-hooks. Nothing is done on the caller's
 * behalf before the pre-hooks and the rules have passed: that is the point of no return.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/spinlock.h>
#include <helix/srcu.h>
#include <helix/string.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/validate.h>

#include "internal.h"

HX_STATIC_ASSERT(HX_SYSCALL_STATIC_COUNT <= HX_SYSCALL_DYNAMIC_BASE,
                 "the static table grew into the dynamic range");

struct hx_srcu hx_syscall_srcu = HX_SRCU_INIT;

#define DYNAMIC_SLOTS (HX_SYSCALL_MAX - HX_SYSCALL_DYNAMIC_BASE)

/* Dynamic entries: written under registry_lock, read by dispatchers without it. */
static HX_ATOMIC(const struct hx_syscall_desc *) dynamic[DYNAMIC_SLOTS];
static struct hx_spinlock registry_lock;

long hx_syscall_fail(struct hx_syscall_ctx *ctx, long error, int arg, const char *reason)
{
	if (ctx && !ctx->failure.error) {
		ctx->failure.error = (int)error;
		ctx->failure.arg = arg;
		ctx->failure.reason = reason;
		ctx->failure.by = ctx->desc ? ctx->desc->name : "gateway";
	}
	return error;
}

/* ---- The calling process ----------------------------------------------------------------------
 */

struct hx_syscall_caller *hx_syscall_current_caller(void)
{
	return hx_task_context();
}

struct hx_syscall_caller *hx_syscall_set_caller(struct hx_syscall_caller *caller)
{
	struct hx_syscall_caller *previous = hx_task_context();

	hx_task_set_context(caller);
	return previous;
}

/* ---- The registry ------------------------------------------------------------------------------
 */

static bool is_integer_kind(uint8_t kind)
{
	return kind == HX_ARG_INT || kind == HX_ARG_UINT;
}

static bool is_power_of_two(uint64_t value)
{
	return value && !(value & (value - 1));
}

static int check_arg(const struct hx_syscall_desc *desc, const struct hx_syscall_arg *arg)
{
	switch ((enum hx_arg_kind)arg->kind) {
	case HX_ARG_NONE:
	case HX_ARG_DEADLINE:
		return 0;
	case HX_ARG_INT:
		return arg->min <= arg->max ? 0 : -HX_EINVAL;
	case HX_ARG_UINT:
		return (uint64_t)arg->min <= (uint64_t)arg->max ? 0 : -HX_EINVAL;
	case HX_ARG_FLAGS:
		return 0;
	case HX_ARG_ENUM:
		return arg->enum_values && arg->enum_count ? 0 : -HX_EINVAL;
	case HX_ARG_UPTR:
	case HX_ARG_UARRAY:
		if (!is_power_of_two(arg->align ? arg->align : 1))
			return -HX_EINVAL;
		if (!(arg->access & (HX_UACCESS_READ | HX_UACCESS_WRITE)) ||
		    (arg->access & ~(HX_UACCESS_READ | HX_UACCESS_WRITE | HX_UACCESS_NULL)))
			return -HX_EINVAL;
		if (arg->len_arg == HX_ARG_NO_LEN)
			return arg->kind == HX_ARG_UPTR && arg->size ? 0 : -HX_EINVAL;
		if (arg->len_arg >= desc->nargs || !is_integer_kind(desc->args[arg->len_arg].kind))
			return -HX_EINVAL;
		return arg->kind == HX_ARG_UARRAY && !arg->size ? -HX_EINVAL : 0;
	case HX_ARG_USTR:
		return arg->max > 0 && arg->access == HX_UACCESS_READ ? 0 : -HX_EINVAL;
	case HX_ARG_HANDLE:
		if (arg->handle_type != HX_KOBJ_ANY && arg->handle_type != HX_KOBJ_CHANNEL)
			return -HX_EINVAL;
		return arg->rights & ~HX_RIGHTS_ALL ? -HX_EINVAL : 0;
	}
	return -HX_EINVAL;
}

int hx_syscall_desc_check(const struct hx_syscall_desc *desc)
{
	if (!desc || !desc->name || !*desc->name || !desc->handler || desc->nargs > HX_SYSCALL_ARGS)
		return -HX_EINVAL;
	for (int i = 0; i < HX_SYSCALL_ARGS; i++) {
		const struct hx_syscall_arg *arg = &desc->args[i];

		if (i >= desc->nargs) {
			if (arg->kind != HX_ARG_NONE)
				return -HX_EINVAL;
			continue;
		}
		if (!arg->name || arg->kind == HX_ARG_NONE || check_arg(desc, arg))
			return -HX_EINVAL;
	}
	if (desc->nerrors && !desc->errors)
		return -HX_EINVAL;
	for (unsigned i = 0; i < desc->nerrors; i++) {
		/* hx_error_name's answer for a code that is not an HX_E*. */
		if (desc->errors[i] >= 0 || hx_strcmp(hx_error_name(desc->errors[i]), "HX_E?") == 0)
			return -HX_EINVAL;
	}
	return 0;
}

int hx_syscall_register(const struct hx_syscall_desc *desc)
{
	uint32_t slot;
	int err = 0;

	if (hx_syscall_desc_check(desc) || desc->nr < HX_SYSCALL_DYNAMIC_BASE ||
	    desc->nr >= HX_SYSCALL_MAX)
		return -HX_EINVAL;
	slot = desc->nr - HX_SYSCALL_DYNAMIC_BASE;
	hx_spin_lock(&registry_lock);
	if (atomic_load_explicit(&dynamic[slot], memory_order_relaxed))
		err = -HX_EEXIST;
	else
		/* Release: pairs with the acquire load in hx_syscall_lookup; the descriptor's
		 * contents are visible before the pointer. */
		atomic_store_explicit(&dynamic[slot], desc, memory_order_release);
	hx_spin_unlock(&registry_lock);
	return err;
}

int hx_syscall_unregister(uint32_t nr)
{
	uint32_t slot;
	const struct hx_syscall_desc *old;

	if (nr < HX_SYSCALL_DYNAMIC_BASE || nr >= HX_SYSCALL_MAX)
		return -HX_EINVAL;
	slot = nr - HX_SYSCALL_DYNAMIC_BASE;
	hx_spin_lock(&registry_lock);
	old = atomic_load_explicit(&dynamic[slot], memory_order_relaxed);
	/* Relaxed: a dispatcher that still loads the old pointer is inside a read-side section,
	 * and the grace period below waits for it. */
	atomic_store_explicit(&dynamic[slot], NULL, memory_order_relaxed);
	hx_spin_unlock(&registry_lock);
	if (!old)
		return -HX_ENOENT;
	hx_srcu_synchronize(&hx_syscall_srcu);
	return 0;
}

const struct hx_syscall_desc *hx_syscall_lookup(uint64_t nr)
{
	if (nr < HX_SYSCALL_STATIC_COUNT) {
		const struct hx_syscall_desc *desc =
		    &hx_syscall_static_table[hx_index_nospec(nr, HX_SYSCALL_STATIC_COUNT)];

		return desc->handler ? desc : NULL; /* a retired number */
	}
	if (nr >= HX_SYSCALL_DYNAMIC_BASE && nr < HX_SYSCALL_MAX) {
		uint64_t slot = hx_index_nospec(nr - HX_SYSCALL_DYNAMIC_BASE, DYNAMIC_SLOTS);

		/* Acquire: pairs with the release store in hx_syscall_register. */
		return atomic_load_explicit(&dynamic[slot], memory_order_acquire);
	}
	return NULL;
}

long hx_syscall_by_name(const char *name)
{
	long found = -HX_ENOENT;
	unsigned token;

	if (!name)
		return -HX_ENOENT;
	for (uint32_t nr = 0; nr < HX_SYSCALL_STATIC_COUNT; nr++)
		if (hx_syscall_static_table[nr].handler &&
		    !hx_strcmp(hx_syscall_static_table[nr].name, name))
			return nr;
	token = hx_srcu_read_lock(&hx_syscall_srcu);
	for (uint32_t slot = 0; slot < DYNAMIC_SLOTS && found < 0; slot++) {
		const struct hx_syscall_desc *desc =
		    atomic_load_explicit(&dynamic[slot], memory_order_acquire);

		if (desc && !hx_strcmp(desc->name, name))
			found = desc->nr;
	}
	hx_srcu_read_unlock(&hx_syscall_srcu, token);
	return found;
}

/* ---- The gateway -------------------------------------------------------------------------------
 */

/* Which pass checks a kind: values first (so a length is known to be in range before the pointer
 * it sizes is checked: write(buf, 2^64 - 1) is -EINVAL for the length, not -EFAULT for the
 * buffer), then user memory, then handles (which take references). */
static int pass_of(uint8_t kind)
{
	switch ((enum hx_arg_kind)kind) {
	case HX_ARG_UPTR:
	case HX_ARG_UARRAY:
	case HX_ARG_USTR:
		return 1;
	case HX_ARG_HANDLE:
		return 2;
	default:
		return 0;
	}
}

static void resolve_handle(struct hx_validator *v, struct hx_syscall_ctx *ctx, int index)
{
	const struct hx_syscall_arg *arg = &ctx->desc->args[index];
	int err = -HX_EBADF;

	if (ctx->caller->handles)
		err = hx_handle_get(ctx->caller->handles, (int64_t)ctx->args[index],
		                    (enum hx_kobject_type)arg->handle_type, arg->rights,
		                    &ctx->objects[index], NULL);
	if (err) {
		hx_v_arg(v, index);
		hx_v_fail(v, err,
		          err == -HX_EACCES ? "handle lacks a required right"
		                            : "not a live handle of the required type");
	}
}

/* Every argument against its table rule; HANDLE arguments resolved into ctx->objects. */
static long check_arguments(struct hx_syscall_ctx *ctx)
{
	const struct hx_syscall_desc *desc = ctx->desc;
	struct hx_validator v = hx_validate(ctx);

	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < desc->nargs && !hx_v_check(&v); i++) {
			if (pass_of(desc->args[i].kind) != pass)
				continue;
			if (pass == 2)
				resolve_handle(&v, ctx, i);
			else
				hx_v_table_rule(&v, desc, i, ctx->args);
		}
	}
	return hx_v_check(&v);
}

static long run_pre_hooks(struct hx_syscall_ctx *ctx, const struct hx_hook_list *hooks)
{
	for (size_t i = 0; hooks && i < hooks->count; i++) {
		struct hx_syscall_hook *hook = hooks->hooks[i];
		int verdict;

		if (!hook->pre)
			continue;
		verdict = hook->pre(ctx, hook->arg);
		if (verdict < 0) {
			if (!ctx->failure.error) {
				ctx->failure.error = verdict;
				ctx->failure.arg = -1;
				ctx->failure.reason = "denied by a pre-hook";
				ctx->failure.by = hook->name;
			}
			return verdict;
		}
	}
	return 0;
}

static void run_post_hooks(struct hx_syscall_ctx *ctx, const struct hx_hook_list *hooks,
                           long result)
{
	for (size_t i = 0; hooks && i < hooks->count; i++) {
		struct hx_syscall_hook *hook = hooks->hooks[i];

		if (hook->post)
			hook->post(ctx, result, hook->arg);
	}
}

long hx_syscall_dispatch(struct hx_syscall_caller *caller, struct hx_syscall_ctx *ctx, uint64_t nr,
                         const uint64_t args[HX_SYSCALL_ARGS])
{
	const struct hx_hook_list *hooks;
	unsigned token;
	long result;

	hx_memset(ctx, 0, sizeof(*ctx));
	ctx->nr = nr;
	hx_memcpy(ctx->args, args, sizeof(ctx->args));
	ctx->caller = caller;
	ctx->failure.arg = -1;
	if (HX_UNLIKELY(!caller))
		return hx_syscall_fail(ctx, -HX_ESRCH, -1, "no process bound to this task");

	token = hx_srcu_read_lock(&hx_syscall_srcu);
	hooks = hx_hooks_snapshot();
	if (hooks)
		ctx->start_ns = hx_time_ns();
	ctx->desc = hx_syscall_lookup(nr);

	result = run_pre_hooks(ctx, hooks);
	if (!result) {
		if (HX_UNLIKELY(!ctx->desc))
			result = hx_syscall_fail(ctx, -HX_ENOSYS, -1, "no such syscall");
		else
			result = check_arguments(ctx);
	}
	/* The point of no return: everything the caller alleged has been checked. */
	if (!result)
		result = ctx->desc->handler(ctx, ctx->args);
	if (hooks)
		ctx->end_ns = hx_time_ns();

	run_post_hooks(ctx, hooks, result);
	hx_srcu_read_unlock(&hx_syscall_srcu, token);
	for (int i = 0; i < HX_SYSCALL_ARGS; i++)
		hx_kobject_put(ctx->objects[i]);
	return result;
}

long helix_syscall_entry(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                         uint64_t a4, uint64_t a5)
{
	const uint64_t args[HX_SYSCALL_ARGS] = { a0, a1, a2, a3, a4, a5 };
	struct hx_syscall_ctx ctx;

	return hx_syscall_dispatch(hx_syscall_current_caller(), &ctx, nr, args);
}
