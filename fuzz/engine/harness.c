// SPDX-License-Identifier: MIT
/* The harnesses' tracing and property reports (harness.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/engine/harness.h"

bool hx_fuzz_tracing(void)
{
	static int tracing = -1; /* the harnesses run single-threaded: no race on first use */

	if (tracing < 0)
		tracing = getenv("HX_FUZZ_TRACE") != NULL;
	return tracing;
}

void hx_fuzz_trace(const char *fmt, ...)
{
	va_list ap;

	if (!hx_fuzz_tracing())
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void hx_fuzz_violated(const char *property, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n%s: property %s violated: ", program_invocation_short_name, property);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
