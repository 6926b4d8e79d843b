// SPDX-License-Identifier: MIT
/*
 * Lets the C++17 Catch2 tests include helix's C11 headers. Include it first, before Catch2 and any
 * helix header; then include the helix headers inside extern "C" { }.
 *
 * Three C11 features in the headers have no C++17 spelling:
 *  - _Noreturn becomes [[noreturn]].
 *  - `_Atomic T` becomes `volatile T`. The C code performs real atomic operations on those
 *    objects; a test touches them only through helix functions or by casting a std::atomic<T>
 *    (same size, alignment and representation as _Atomic T for the lock-free integers helix
 *    uses, checked below). Under this header, `_Atomic uint32_t *` in test code means exactly
 *    the pointer type the C declarations take.
 *  - <stdatomic.h> is empty in g++'s C++17 mode and clang's copy clashes with <atomic>, so it is
 *    kept out; atomic_init, the one generic a header's inline function uses, is defined here.
 *
 * A header-level fix (HX_NORETURN as [[noreturn]] and an HX_ATOMIC(T) macro under __cplusplus,
 * plus extern "C" guards) would make this file unnecessary.
 */
#ifndef HELIX_TESTS_CXX_COMPAT_H
#define HELIX_TESTS_CXX_COMPAT_H

#ifndef __cplusplus
#error "cxx_compat.h is for C++ tests; C code includes the helix headers directly"
#endif

#include <atomic>
#include <cstdint>

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  alignof(std::atomic<uint32_t>) == alignof(uint32_t),
              "std::atomic<uint32_t> must be layout-compatible with _Atomic uint32_t");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "lock-free 32-bit atomics");

#define __CLANG_STDATOMIC_H /* clang's <stdatomic.h> include guard */
#define _Noreturn [[noreturn]]
#define _Atomic volatile

template <typename T, typename V> inline void atomic_init(volatile T *object, V value)
{
	__atomic_store_n(object, static_cast<T>(value), __ATOMIC_RELAXED);
}

#endif /* HELIX_TESTS_CXX_COMPAT_H */
