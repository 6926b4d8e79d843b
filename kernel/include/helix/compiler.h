/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by every helix component, kernel and hosted alike. Freestanding.
 *
 * The headers are C11, and C++ (the Catch2 tests) can include them too: each header's declarations
 * sit between HX_BEGIN_DECLS and HX_END_DECLS (extern "C" in C++), and the four C11 spellings C++
 * lacks have macros: HX_NORETURN, HX_ALIGNAS(n), HX_ATOMIC(T) (std::atomic<T> in C++, the same
 * size, alignment and representation for the lock-free integers helix uses) and HX_STATIC_ASSERT.
 */
#ifndef HELIX_COMPILER_H
#define HELIX_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define HX_ALIGNAS(n)               alignas(n)
#define HX_BEGIN_DECLS              extern "C" {
#define HX_END_DECLS                }
#define HX_NORETURN                 [[noreturn]]
#define HX_ATOMIC(type)             std::atomic<type>
#define HX_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  alignof(std::atomic<uint32_t>) == alignof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "std::atomic<uint32_t> must be laid out as C11's _Atomic uint32_t");
#else
#include <stdatomic.h>
#define HX_ALIGNAS(n) _Alignas(n)
#define HX_BEGIN_DECLS
#define HX_END_DECLS
#define HX_NORETURN                 _Noreturn
#define HX_ATOMIC(type)             _Atomic(type)
#define HX_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

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

/*
 * hx_index_nospec - @index if it is below @size, else 0, computed without a branch the CPU could
 * speculate past (Linux's array_index_nospec): bounds-check first, then clamp with this before
 * using a value from user space as an array index. @size must be at most 2^63.
 */
static inline uint64_t hx_index_nospec(uint64_t index, uint64_t size)
{
	/* All ones when index < size: both index and size - 1 - index have the top bit clear. */
	uint64_t mask = (uint64_t)((int64_t) ~(index | (size - 1 - index)) >> 63);

	__asm__("" : "+r"(mask)); /* keep the compiler from turning the mask back into a branch */
	return index & mask;
}

#define HX_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif /* HELIX_COMPILER_H */
