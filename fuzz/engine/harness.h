/* SPDX-License-Identifier: MIT */
/*
 * What every harness needs besides its target (docs/fuzzing.md): the decoded-input trace that
 * `./helix fuzz <target> --reproduce` turns on with HX_FUZZ_TRACE=1, and the one way to report a
 * broken property (a message naming it, then abort(): a crash for every engine).
 */
#ifndef HELIX_FUZZ_HARNESS_H
#define HELIX_FUZZ_HARNESS_H

#include <stdbool.h>

#include <helix/compiler.h>

/* True when HX_FUZZ_TRACE is set in the environment (read once). */
bool hx_fuzz_tracing(void);

/* printf to stderr when tracing, else nothing. */
HX_PRINTF(1, 2) void hx_fuzz_trace(const char *fmt, ...);

/* "<program>: property <property> violated: <message>", then abort(). */
HX_PRINTF(2, 3) HX_NORETURN void hx_fuzz_violated(const char *property, const char *fmt, ...);

#define HX_FUZZ_REQUIRE(property, cond, ...)                     \
	do {                                                     \
		if (!(cond))                                     \
			hx_fuzz_violated(property, __VA_ARGS__); \
	} while (0)

#endif /* HELIX_FUZZ_HARNESS_H */
