/* SPDX-License-Identifier: MIT */
/*
 * A small, freestanding printf. Conversions: d i u x X o c s p %; flags - 0 + space #; a width and
 * a precision (digits or *); length modifiers hh h l ll z t j. For every valid format the output
 * and the return value equal C's snprintf (glibc prints NULL %p as "(nil)"; so does this). An
 * unknown conversion is copied to the output as written, so a bad format shows up instead of being
 * lost. Widths and precisions above 4096 count as 4096, so no format can make the printer spin. No
 * floating point: kernel code has no FPU state to use. Any context; reentrant; never allocates.
 */
#ifndef HELIX_FMT_H
#define HELIX_FMT_H

#include <stdarg.h>
#include <stddef.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

/*
 * hx_vsnprintf - format into @buf of @size bytes, always NUL-terminated when @size > 0.
 * Returns the length the full output has (NUL excluded), like C99: a result >= @size means
 * truncation.
 * @buf may be NULL when @size is 0 (measure only).
 */
int hx_vsnprintf(char *buf, size_t size, const char *fmt, va_list args);
int hx_snprintf(char *buf, size_t size, const char *fmt, ...) HX_PRINTF(3, 4);

HX_END_DECLS

#endif /* HELIX_FMT_H */
