/* SPDX-License-Identifier: MIT */
/*
 * The user address space every helix program is built for and the kernel sets up: freestanding,
 * shared by the user programs (kernel/user), their linker script's base address and the kernel's
 * process loader. Values never change meaning.
 *
 *   0x0000000000000000  unmapped: NULL and small offsets from it fault
 *   0x0000000000001000  HX_USER_BASE: the lowest address a program may use
 *   0x0000000000400000  HX_USER_IMAGE_BASE: programs are linked here (kernel/user/user.ld)
 *   ...                 unmapped unless a segment or the stack is there
 *   0x00007fffffeef000  HX_USER_STACK_GUARD: one unmapped page below the stack
 *   0x00007fffffef0000  HX_USER_STACK_BOTTOM
 *   0x00007ffffff00000  HX_USER_STACK_TOP = HX_USER_LIMIT: the initial %rsp (16-byte aligned)
 *   0x00007ffffff00000  .. 2^47: left unmapped, so no user range touches the non-canonical hole
 */
#ifndef HELIX_USER_LAYOUT_H
#define HELIX_USER_LAYOUT_H

#include <helix/abi.h> /* HX_USER_BASE, HX_USER_LIMIT */

#define HX_USER_IMAGE_BASE 0x0000000000400000ull

#define HX_USER_STACK_SIZE   0x10000ull /* 64 KiB, mapped readable and writable */
#define HX_USER_STACK_TOP    0x00007ffffff00000ull
#define HX_USER_STACK_BOTTOM (HX_USER_STACK_TOP - HX_USER_STACK_SIZE)
#define HX_USER_STACK_GUARD  (HX_USER_STACK_BOTTOM - 0x1000ull) /* one page, never mapped */

#if HX_USER_STACK_TOP != HX_USER_LIMIT
#error "the user stack must lie inside the user range"
#endif

#endif /* HELIX_USER_LAYOUT_H */
