/* SPDX-License-Identifier: MIT */
/*
 * The validation builder: checks on syscall arguments with a sticky error. Each check does
 * nothing once one has failed; the first failure is kept, with the argument it was about and why,
 * in the validator and in the dispatch context (ctx->failure, which the audit hook logs).
 *
 *	struct hx_validator v = hx_validate(ctx);
 *	hx_v_arg(&v, 1);
 *	hx_v_user_ptr(&v, args[1], args[2], HX_UACCESS_READ);
 *	hx_v_arg(&v, 3);
 *	hx_v_flags(&v, args[3], HX_OPEN_FLAGS);
 *	int err = hx_v_check(&v);
 *
 * The gateway runs the table's rule for every argument through these same checks before the
 * handler; handlers use them for what the table cannot say (a length that must equal a channel's
 * message size, say). No check touches user memory except hx_v_user_str, which copies.
 *
 * Errors: outside the user range, wrap-around, NULL where not allowed, a page not writable for an
 * out-pointer: -HX_EFAULT; misaligned, out of range, flags outside the mask, not an enum value,
 * count * size overflow, a malformed rule: -HX_EINVAL; a string with no NUL within its maximum:
 * -HX_ENAMETOOLONG; a pointer check with no user space to check against (no ctx, no caller, or a
 * caller without a uspace): -HX_ESRCH. Every failure carries a static reason ("pointer below the
 * user range", "pointer range wraps around 2^64", "misaligned pointer", ...) and, in ctx->failure,
 * by = "validation". In-pointers are not probed: the copy finds an unmapped page.
 * Task context.
 */
#ifndef HELIX_SYSCALL_VALIDATE_H
#define HELIX_SYSCALL_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/syscall/syscall.h>

HX_BEGIN_DECLS

struct hx_validator {
	struct hx_syscall_ctx *ctx;
	int error;          /* 0, or the first failure's negative HX_E* code */
	int arg;            /* the argument the next checks are about (-1: none) */
	int failed_arg;     /* the argument of the first failure */
	const char *reason; /* the first failure's reason (static text) */
};

/* A fresh validator for @ctx (which may be NULL in unit tests: nothing is recorded then). */
struct hx_validator hx_validate(struct hx_syscall_ctx *ctx);

/* The argument index the following checks are about (for the failure record). */
void hx_v_arg(struct hx_validator *v, int index);

/*
 * hx_v_user_ptr - @len bytes at user address @ptr, accessed as @access (HX_UACCESS_READ and/or
 * WRITE, plus HX_UACCESS_NULL when NULL is allowed). Rules: NULL is refused unless
 * HX_UACCESS_NULL (then the length must be 0); a zero length with a non-NULL pointer needs the
 * pointer inside [base, limit]; otherwise the whole range inside the user range without wrap; for
 * WRITE, every page writable now (the backend's probe).
 */
void hx_v_user_ptr(struct hx_validator *v, uint64_t ptr, uint64_t len, unsigned access);

/* hx_v_user_typed - hx_v_user_ptr for one object of @size bytes that must be @align-aligned
 * (a power of two; 0 or 1: any). The size is the type's, not a length: with HX_UACCESS_NULL a
 * NULL pointer passes whatever @size is (as a table UPTR rule with a fixed size does). The range
 * is checked before the alignment, so a misaligned kernel address is -HX_EFAULT. */
void hx_v_user_typed(struct hx_validator *v, uint64_t ptr, size_t size, size_t align,
                     unsigned access);

/* hx_v_user_array - @count elements of @size bytes (count * size must not overflow: checked
 * first, -HX_EINVAL), each @align-aligned; then hx_v_user_ptr's rules with count * size as the
 * length (so an allowed NULL needs count 0). */
void hx_v_user_array(struct hx_validator *v, uint64_t ptr, uint64_t count, size_t size,
                     size_t align, unsigned access);

/*
 * hx_v_user_str - copy the NUL-terminated user string at @ptr into @dst (@cap bytes: at most
 * cap - 1 characters). On success *@len_out (if not NULL) is its length. Fails -HX_EFAULT or
 * -HX_ENAMETOOLONG; NULL @ptr is -HX_EFAULT. Whether it fails or not, even after an earlier
 * failure, @dst never holds stale bytes: it is "" (and *@len_out 0) unless the copy succeeded.
 */
void hx_v_user_str(struct hx_validator *v, uint64_t ptr, char *dst, size_t cap, size_t *len_out);

void hx_v_flags(struct hx_validator *v, uint64_t value, uint64_t allowed_mask);
void hx_v_range(struct hx_validator *v, int64_t value, int64_t min, int64_t max);
void hx_v_urange(struct hx_validator *v, uint64_t value, uint64_t min, uint64_t max);
void hx_v_enum(struct hx_validator *v, int64_t value, const int64_t *values, size_t count);

/* hx_v_fail - record a failure of the handler's own making (same sticky rule). */
void hx_v_fail(struct hx_validator *v, int error, const char *reason);

/* hx_v_check - 0, or the first failure's error. */
static inline int hx_v_check(const struct hx_validator *v)
{
	return v->error;
}

/*
 * hx_v_table_rule - check raw value @args[@index] against the table rule desc->args[@index]
 * (lengths and counts read from the other arguments) and make @index the current argument. The
 * gateway calls it for every argument; HANDLE rules are checked by handle resolution, not here;
 * DEADLINE, NONE and slots at or past desc->nargs take any value. USTR checks the start only
 * (non-NULL, inside [base, limit)): the handler copies the string with hx_v_user_str. UPTR with a
 * fixed size and HX_UACCESS_NULL accepts NULL; with a length argument, NULL needs length 0.
 * A NULL @desc, an index outside [0, HX_SYSCALL_ARGS) or a malformed rule is -HX_EINVAL.
 * Fuzzers use it as the grammar's oracle.
 */
void hx_v_table_rule(struct hx_validator *v, const struct hx_syscall_desc *desc, int index,
                     const uint64_t args[HX_SYSCALL_ARGS]);

HX_END_DECLS

#endif /* HELIX_SYSCALL_VALIDATE_H */
