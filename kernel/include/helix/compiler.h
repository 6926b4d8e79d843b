/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by every helix component, kernel and hosted alike.
 * Freestanding: includes nothing but <stddef.h> and <stdint.h>.
 */
#ifndef HELIX_COMPILER_H
#define HELIX_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#define HX_NORETURN          _Noreturn
#define HX_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define HX_UNUSED            __attribute__((unused))
#define HX_PACKED            __attribute__((packed))
#define HX_LIKELY(x)         __builtin_expect(!!(x), 1)
#define HX_UNLIKELY(x)       __builtin_expect(!!(x), 0)

/* One cache line: producer and consumer state of a queue live on different ones. */
#define HX_CACHELINE 64

#define HX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HX_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define HX_MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Power-of-two alignment; `align` must be a power of two. */
#define HX_ALIGN_DOWN(x, align) ((x) & ~((__typeof__(x))(align)-1))
#define HX_ALIGN_UP(x, align)   HX_ALIGN_DOWN((x) + ((__typeof__(x))(align)-1), (align))
#define HX_IS_ALIGNED(x, align) (((x) & ((__typeof__(x))(align)-1)) == 0)

#define HX_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif /* HELIX_COMPILER_H */
