/* SPDX-License-Identifier: MIT */
/*
 * What only the hosted platform (kernel/hosted/platform.c) offers: hooks for the programs that
 * run the portable code in Linux user space (tests, fuzzers, perf suites): the console sink and
 * allocation failures on demand. Portable code never includes this header.
 */
#ifndef HELIX_HOSTED_H
#define HELIX_HOSTED_H

#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

/*
 * A console sink: receives what hx_console_write would write to stderr, one call per
 * hx_console_write (so one log line, or one chunk of the write syscall). Called with the console
 * lock held: it must not write to the console itself.
 */
typedef void (*hx_console_sink_fn)(void *arg, const char *text, size_t len);

/*
 * hx_hosted_set_console_sink - send the console to @sink (NULL: back to stderr). Returns the
 * previous sink. Takes effect for writes that start after it returns.
 */
hx_console_sink_fn hx_hosted_set_console_sink(hx_console_sink_fn sink, void *arg);

/*
 * hx_hosted_fail_allocs - on the calling thread, let the next @skip hx_alloc/hx_zalloc calls
 * succeed and the @count after them return NULL, as an exhausted kernel heap would; (0, 0) ends
 * the plan. Other threads are unaffected. For tests and fuzzers that reach the -HX_ENOMEM paths.
 */
void hx_hosted_fail_allocs(uint64_t skip, uint64_t count);

HX_END_DECLS

#endif /* HELIX_HOSTED_H */
