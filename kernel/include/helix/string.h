/* SPDX-License-Identifier: MIT */
/*
 * Memory and string helpers for portable code, which may not include libc headers. The mem* helpers
 * are compiler builtins: the compiler inlines them or calls memcpy/memmove/memset/memcmp, which
 * libc provides hosted and kernel/arch provides in the kernel. The str* helpers are plain portable
 * code.
 */
#ifndef HELIX_STRING_H
#define HELIX_STRING_H

#include <helix/compiler.h>
#include <stddef.h>

HX_BEGIN_DECLS

#define hx_memcpy  __builtin_memcpy
#define hx_memmove __builtin_memmove
#define hx_memset  __builtin_memset
#define hx_memcmp  __builtin_memcmp

/* Length of @s, NUL excluded. */
size_t hx_strlen(const char *s);
/* Length of @s, but at most @max (looks at no byte past s[max-1]). */
size_t hx_strnlen(const char *s, size_t max);
/* Compare as unsigned bytes; <0, 0 or >0 like strcmp. */
int hx_strcmp(const char *a, const char *b);
/* Compare at most @n bytes. */
int hx_strncmp(const char *a, const char *b, size_t n);
/*
 * Copy @src into @dst of @size bytes, always NUL-terminated when @size > 0.
 * Returns hx_strlen(src): a result >= @size means the copy was truncated.
 */
size_t hx_strlcpy(char *dst, const char *src, size_t size);

HX_END_DECLS

#endif /* HELIX_STRING_H */
