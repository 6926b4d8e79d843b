/* SPDX-License-Identifier: MIT */
/*
 * Assertions: a broken invariant is a fault, not an error code (Hubris's split). HX_ASSERT panics
 * in the kernel and aborts a hosted process, so tests, sanitizers and fuzzers all see it. A
 * caller's mistake is never asserted: it gets a negative HX_E* code.
 */
#ifndef HELIX_ASSERT_H
#define HELIX_ASSERT_H

#include <helix/compiler.h>

HX_BEGIN_DECLS

/* Reports "assertion failed: <expr> at <file>:<line>" through hx_panic. Never returns. */
HX_NORETURN void hx_assert_fail(const char *expr, const char *file, int line);

#define HX_ASSERT(cond)                                            \
	do {                                                       \
		if (HX_UNLIKELY(!(cond)))                          \
			hx_assert_fail(#cond, __FILE__, __LINE__); \
	} while (0)

HX_END_DECLS

#endif /* HELIX_ASSERT_H */
