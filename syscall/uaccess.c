// SPDX-License-Identifier: MIT
/*
 * User access, the portable half (helix/syscall/uaccess.h): every range is checked against the
 * caller's [base, limit) here, without wrap-around, before the backend (kernel: faulting copies
 * with exception-table fixups; hosted: the simulated space) is asked to copy. The backends trust
 * these checks for the range and check the pages themselves.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

bool hx_uaccess_ok(const struct hx_uspace *us, uint64_t addr, size_t len)
{
	if (!us || addr < us->base || addr > us->limit)
		return false;
	/* addr <= limit, so limit - addr cannot wrap, and addr + len <= limit cannot either. */
	return (uint64_t)len <= us->limit - addr;
}

/* The calling process's user space, or NULL when there is no caller or it has none. */
static struct hx_uspace *ctx_uspace(const struct hx_syscall_ctx *ctx)
{
	if (!ctx || !ctx->caller)
		return NULL;
	return ctx->caller->uspace;
}

int hx_copy_from_user(struct hx_syscall_ctx *ctx, void *dst, uint64_t src, size_t len)
{
	struct hx_uspace *us = ctx_uspace(ctx);

	if (!us)
		return -HX_ESRCH;
	if (!hx_uaccess_ok(us, src, len))
		return -HX_EFAULT;
	if (len == 0)
		return 0;
	return us->ops->copy_in(us, dst, src, len);
}

int hx_copy_to_user(struct hx_syscall_ctx *ctx, uint64_t dst, const void *src, size_t len)
{
	struct hx_uspace *us = ctx_uspace(ctx);

	if (!us)
		return -HX_ESRCH;
	if (!hx_uaccess_ok(us, dst, len))
		return -HX_EFAULT;
	if (len == 0)
		return 0;
	return us->ops->copy_out(us, dst, src, len);
}

long hx_strncpy_from_user(struct hx_syscall_ctx *ctx, char *dst, uint64_t src, size_t cap)
{
	struct hx_uspace *us = ctx_uspace(ctx);
	uint64_t room;
	size_t n;
	long ret;

	if (!us)
		ret = -HX_ESRCH;
	else if (cap == 0)
		return -HX_ENAMETOOLONG; /* no NUL in the first 0 bytes, and no room for "" */
	else if (src < us->base || src >= us->limit)
		ret = -HX_EFAULT; /* not even the first byte is user memory */
	else {
		/* Read no further than the limit: a string running into it is a bad address. */
		room = us->limit - src;
		n = room < (uint64_t)cap ? (size_t)room : cap;
		ret = us->ops->copy_str_in(us, dst, src, n);
		if (ret == -HX_ENAMETOOLONG && n < cap)
			ret = -HX_EFAULT;
	}
	if (ret < 0 && cap > 0)
		dst[0] = '\0';
	return ret;
}
