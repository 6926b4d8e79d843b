// SPDX-License-Identifier: MIT
/*
 * The validation builder (helix/syscall/validate.h): sticky checks on raw syscall arguments, and
 * the table rules the gateway runs for every argument before the handler.
 *
 * Order of the pointer checks, the first failing one wins:
 *   NULL rule -> alignment rule sane -> a user space to check against (-HX_ESRCH) -> below base
 *   -> zero length: start <= limit -> wraps at 2^64 -> start at or above the limit -> end past the
 *   limit -> alignment -> writable now (the backend's probe, WRITE only)
 * so a kernel-half address fails as "above the user range" and ptr = 2^64 - 1 with len 2 as a
 * wrap. Only hx_v_user_str touches user memory (it copies); the probe reads the page map only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>
#include <helix/syscall/validate.h>

struct hx_validator hx_validate(struct hx_syscall_ctx *ctx)
{
	struct hx_validator v = {
		.ctx = ctx,
		.error = 0,
		.arg = -1,
		.failed_arg = -1,
		.reason = NULL,
	};

	return v;
}

void hx_v_arg(struct hx_validator *v, int index)
{
	v->arg = index;
}

/*
 * The one place a failure is recorded: in @v unless it failed already, and in the dispatch
 * context unless something (a hook, an earlier validator) recorded a refusal there first.
 */
static void fail(struct hx_validator *v, int error, const char *reason)
{
	struct hx_syscall_failure *failure;

	if (v->error != 0)
		return;
	v->error = error;
	v->failed_arg = v->arg;
	v->reason = reason;
	if (!v->ctx)
		return;
	failure = &v->ctx->failure;
	if (failure->error != 0)
		return;
	failure->error = error;
	failure->arg = v->arg;
	failure->reason = reason;
	failure->by = "validation";
}

void hx_v_fail(struct hx_validator *v, int error, const char *reason)
{
	/* A non-negative error would make the failure vanish from hx_v_check: refuse it loudly. */
	fail(v, error < 0 ? error : -HX_EINVAL, reason ? reason : "refused by the handler");
}

static struct hx_uspace *uspace_of(const struct hx_validator *v)
{
	if (!v->ctx || !v->ctx->caller)
		return NULL;
	return v->ctx->caller->uspace;
}

/*
 * The pointer rules shared by hx_v_user_ptr/typed/array and the table's UPTR/UARRAY: @len bytes
 * at @ptr, @align-aligned (a power of two; 0 and 1 mean any), accessed as @access. @fixed: @len is
 * the size of a type (typed pointers, UPTR with a fixed size), not a length the caller chose, so
 * an allowed NULL passes whatever it is; otherwise an allowed NULL needs a zero length.
 */
static void check_user_range(struct hx_validator *v, uint64_t ptr, uint64_t len, uint64_t align,
                             unsigned access, bool fixed)
{
	struct hx_uspace *us;
	unsigned rw = access & (HX_UACCESS_READ | HX_UACCESS_WRITE);

	if (v->error != 0)
		return;
	if (ptr == 0) {
		if (!(access & HX_UACCESS_NULL))
			fail(v, -HX_EFAULT, "NULL pointer");
		else if (len != 0 && !fixed)
			fail(v, -HX_EFAULT, "NULL pointer with a nonzero length");
		return;
	}
	if (align > 1 && (align & (align - 1)) != 0) {
		fail(v, -HX_EINVAL, "alignment rule is not a power of two");
		return;
	}
	us = uspace_of(v);
	if (!us) {
		fail(v, -HX_ESRCH, "no user address space to check the pointer against");
		return;
	}
	if (ptr < us->base) {
		fail(v, -HX_EFAULT, "pointer below the user range");
		return;
	}
	if (len == 0) {
		if (ptr > us->limit)
			fail(v, -HX_EFAULT, "pointer above the user range");
	} else if (len - 1 > UINT64_MAX - ptr) {
		fail(v, -HX_EFAULT, "pointer range wraps around 2^64");
	} else if (ptr >= us->limit) {
		fail(v, -HX_EFAULT, "pointer above the user range");
	} else if (len > us->limit - ptr) {
		fail(v, -HX_EFAULT, "range ends past the user limit");
	}
	if (v->error != 0)
		return;
	if (align > 1 && (ptr & (align - 1)) != 0) {
		fail(v, -HX_EINVAL, "misaligned pointer");
		return;
	}
	if (len != 0 && (rw & HX_UACCESS_WRITE) && us->ops && us->ops->probe &&
	    us->ops->probe(us, ptr, (size_t)len, rw) != 0)
		fail(v, -HX_EFAULT, "page not writable");
}

void hx_v_user_ptr(struct hx_validator *v, uint64_t ptr, uint64_t len, unsigned access)
{
	check_user_range(v, ptr, len, 1, access, false);
}

void hx_v_user_typed(struct hx_validator *v, uint64_t ptr, size_t size, size_t align,
                     unsigned access)
{
	check_user_range(v, ptr, size, align, access, true);
}

/* count * size elements; the product must fit in 64 bits. */
static void check_user_array(struct hx_validator *v, uint64_t ptr, uint64_t count, uint64_t size,
                             uint64_t align, unsigned access)
{
	uint64_t bytes;

	if (v->error != 0)
		return;
	if (__builtin_mul_overflow(count, size, &bytes)) {
		fail(v, -HX_EINVAL, "count * size overflows");
		return;
	}
	check_user_range(v, ptr, bytes, align, access, false);
}

void hx_v_user_array(struct hx_validator *v, uint64_t ptr, uint64_t count, size_t size,
                     size_t align, unsigned access)
{
	check_user_array(v, ptr, count, size, align, access);
}

/*
 * Where a string may start: non-NULL (unless @access allows NULL) and its first byte inside
 * [base, limit) (a string holds at least its NUL). Returns true when a copy may go ahead.
 */
static bool check_user_str_start(struct hx_validator *v, uint64_t ptr, unsigned access)
{
	const struct hx_uspace *us;

	if (v->error != 0)
		return false;
	if (ptr == 0) {
		if (!(access & HX_UACCESS_NULL))
			fail(v, -HX_EFAULT, "NULL pointer");
		return false;
	}
	us = uspace_of(v);
	if (!us) {
		fail(v, -HX_ESRCH, "no user address space to check the pointer against");
		return false;
	}
	if (ptr < us->base) {
		fail(v, -HX_EFAULT, "pointer below the user range");
		return false;
	}
	if (ptr >= us->limit) {
		fail(v, -HX_EFAULT, "pointer above the user range");
		return false;
	}
	return true;
}

void hx_v_user_str(struct hx_validator *v, uint64_t ptr, char *dst, size_t cap, size_t *len_out)
{
	const struct hx_uspace *us;
	uint64_t room;
	size_t n;
	long ret;

	/* Whatever happens, the handler never finds stale bytes in @dst. */
	if (cap > 0)
		dst[0] = '\0';
	if (len_out)
		*len_out = 0;
	if (!check_user_str_start(v, ptr, 0))
		return;
	if (cap == 0) {
		fail(v, -HX_ENAMETOOLONG, "string longer than its maximum");
		return;
	}
	/*
	 * Copy no further than the limit ourselves, so that a string running into the limit
	 * (-HX_EFAULT) is told apart from one running into an unmapped page.
	 */
	us = uspace_of(v);
	room = us->limit - ptr;
	n = room < (uint64_t)cap ? (size_t)room : cap;
	ret = hx_strncpy_from_user(v->ctx, dst, ptr, n);
	if (ret >= 0) {
		if (len_out)
			*len_out = (size_t)ret;
	} else if (ret == -HX_ENAMETOOLONG) {
		if (n < cap)
			fail(v, -HX_EFAULT, "string runs past the user limit");
		else
			fail(v, -HX_ENAMETOOLONG, "string longer than its maximum");
	} else if (ret == -HX_EFAULT) {
		fail(v, -HX_EFAULT, "string runs into an unmapped page");
	} else {
		fail(v, (int)ret, "string copy failed");
	}
}

void hx_v_flags(struct hx_validator *v, uint64_t value, uint64_t allowed_mask)
{
	if (v->error == 0 && (value & ~allowed_mask) != 0)
		fail(v, -HX_EINVAL, "flags outside the allowed mask");
}

void hx_v_range(struct hx_validator *v, int64_t value, int64_t min, int64_t max)
{
	if (v->error != 0)
		return;
	if (value < min)
		fail(v, -HX_EINVAL, "value below the minimum");
	else if (value > max)
		fail(v, -HX_EINVAL, "value above the maximum");
}

void hx_v_urange(struct hx_validator *v, uint64_t value, uint64_t min, uint64_t max)
{
	if (v->error != 0)
		return;
	if (value < min)
		fail(v, -HX_EINVAL, "value below the minimum");
	else if (value > max)
		fail(v, -HX_EINVAL, "value above the maximum");
}

void hx_v_enum(struct hx_validator *v, int64_t value, const int64_t *values, size_t count)
{
	if (v->error != 0)
		return;
	for (size_t i = 0; i < count; i++) {
		if (values[i] == value)
			return;
	}
	fail(v, -HX_EINVAL, "not a valid enum value");
}

void hx_v_table_rule(struct hx_validator *v, const struct hx_syscall_desc *desc, int index,
                     const uint64_t args[HX_SYSCALL_ARGS])
{
	const struct hx_syscall_arg *rule;
	uint64_t value, len;

	if (v->error != 0)
		return;
	hx_v_arg(v, index);
	if (!desc || index < 0 || index >= HX_SYSCALL_ARGS) {
		fail(v, -HX_EINVAL, "no such argument rule");
		return;
	}
	if (index >= desc->nargs)
		return; /* an unused register: ignored, as HX_ARG_NONE */
	rule = &desc->args[index];
	value = args[index];

	switch ((enum hx_arg_kind)rule->kind) {
	case HX_ARG_NONE:
	case HX_ARG_HANDLE:   /* resolved (type, rights, generation) by the gateway */
	case HX_ARG_DEADLINE: /* every value is a deadline */
		return;
	case HX_ARG_INT:
		hx_v_range(v, (int64_t)value, rule->min, rule->max);
		return;
	case HX_ARG_UINT:
		hx_v_urange(v, value, (uint64_t)rule->min, (uint64_t)rule->max);
		return;
	case HX_ARG_FLAGS:
		hx_v_flags(v, value, rule->mask);
		return;
	case HX_ARG_ENUM:
		hx_v_enum(v, (int64_t)value, rule->enum_values,
		          rule->enum_values ? rule->enum_count : 0);
		return;
	case HX_ARG_UPTR:
		if (rule->len_arg == HX_ARG_NO_LEN)
			len = rule->size;
		else if (rule->len_arg < HX_SYSCALL_ARGS)
			len = args[rule->len_arg];
		else
			break;
		check_user_range(v, value, len, rule->align, rule->access,
		                 rule->len_arg == HX_ARG_NO_LEN);
		return;
	case HX_ARG_UARRAY:
		if (rule->len_arg >= HX_SYSCALL_ARGS)
			break;
		check_user_array(v, value, args[rule->len_arg], rule->size, rule->align,
		                 rule->access);
		return;
	case HX_ARG_USTR:
		/* The start only: the handler copies the string (hx_v_user_str). */
		check_user_str_start(v, value, rule->access);
		return;
	}
	fail(v, -HX_EINVAL, "malformed argument rule");
}
