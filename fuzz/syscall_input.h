/* SPDX-License-Identifier: MIT */
/*
 * The input format of syscall_validator_fuzzer (docs/fuzzing.md), shared by the harness and the
 * seed generator (fuzz/tools/seeds_syscall.c). Bytes are read little-endian; an input that ends
 * early reads as zeros, so every byte string is a valid input.
 *
 *   input    := mem_len:u16 mem:u8[mem_len] policy:u8 call*          (at most HXF_MAX_CALLS)
 *   call     := op:u8 body
 *     op % HXF_OPS < HX_SYSCALL_STATIC_COUNT   that syscall; body = one arg per table argument
 *     HXF_OP_PROBE     the fuzzer's own dynamic syscall (HXF_PROBE_NR), which uses the argument
 *                      kinds the static table does not (str, array_in, inout, flags, int)
 *     HXF_OP_RAW       body = nr:u64 arg:u64[6]: any number, any registers
 *     HXF_OP_POKE      body = offset:u16 len:u8 bytes[len]: write user memory between calls
 *                      (anywhere in the space; bytes on the read-only or absent page are dropped)
 *     HXF_OP_FAILALLOC body = skip:u8 count:u8: during the next call, the kernel heap lets `skip`
 *                      allocations succeed and fails the `count` after them (-HX_ENOMEM paths)
 *   arg      := strategy:u8 value
 *     strategy % HXF_STRATEGIES:
 *     HXF_WELL_FORMED  value chosen to pass the argument's rule most of the time: integers
 *                      min + u16 % 512, flags u8 & mask, enum u8 index, pointers base + u16
 *                      (aligned down as the rule asks), handles u8 index into the live handles,
 *                      deadlines u8 (0: HX_NOWAIT, 1: the past, n: now + n * 100 ns)
 *     HXF_BOUNDARY     u8 index into the kind's boundary values (min - 1, max + 1, 0, ~0, the
 *                      user limit, kernel-half addresses, ranges that wrap, stale handles ...)
 *     HXF_RAW          u64, as it comes
 *
 *   mem      copied to the start of the user space (at most HXF_MEM_MAX bytes)
 *   policy   0: no policy; else a policy that allows everything but denies syscall
 *            (policy % HX_SYSCALL_STATIC_COUNT) with -HX_EPERM, and when bit 7 is set also
 *            restricts handle_dup's rights argument to HX_RIGHT_READ (else -HX_EACCES)
 *
 * The user space is HXF_USER_PAGES pages: all present and writable except HXF_RO_PAGE
 * (read-only) and HXF_ABSENT_PAGE (not present), so ranges across both kinds of boundary occur.
 *
 * The harness never blocks: a deadline later than HXF_DEADLINE_CAP_NS from now (HX_FOREVER
 * included) runs as now + HXF_DEADLINE_CAP_NS, and sleep's ns as at most that.
 */
#ifndef HELIX_FUZZ_SYSCALL_INPUT_H
#define HELIX_FUZZ_SYSCALL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include <helix/syscall/numbers.h>
#include <helix/syscall/syscall.h>

#define HXF_USER_PAGES      16u
#define HXF_RO_PAGE         12u
#define HXF_ABSENT_PAGE     13u
#define HXF_MEM_MAX         (HXF_RO_PAGE * 4096u)
#define HXF_MAX_CALLS       64u
#define HXF_DEADLINE_CAP_NS 20000ull /* 20 us: waits cost executions per second */
#define HXF_PROBE_NR        HX_SYSCALL_DYNAMIC_BASE

enum hxf_op {
	HXF_OP_PROBE = HX_SYSCALL_STATIC_COUNT,
	HXF_OP_RAW,
	HXF_OP_POKE,
	HXF_OP_FAILALLOC,
	HXF_OPS,
};

enum hxf_strategy {
	HXF_WELL_FORMED = 0,
	HXF_BOUNDARY = 1,
	HXF_RAW = 2,
	HXF_STRATEGIES = 3,
};

/* The probe syscall's arguments (its descriptor lives in the harness). */
enum hxf_probe_arg {
	HXF_PROBE_NAME,  /* str(max=HXF_PROBE_NAME_MAX) */
	HXF_PROBE_ITEMS, /* array_in(count=count, size=8, align=8) */
	HXF_PROBE_COUNT, /* uint(0, UINT64_MAX): the array rule must catch count * 8 overflowing */
	HXF_PROBE_STATE, /* inout(size=16, align=8, nullable) */
	HXF_PROBE_MODE,  /* flags(HXF_PROBE_MODE_MASK) */
	HXF_PROBE_LEVEL, /* int(-8, 8) */
};
#define HXF_PROBE_NAME_MAX  31
#define HXF_PROBE_MODE_MASK 0x2du
#define HXF_PROBE_LEVEL_MIN (-8)
#define HXF_PROBE_LEVEL_MAX 8

/* ---- Writing inputs (the seed generator) ------------------------------------------------------
 */

struct hxf_writer {
	uint8_t *buf;
	size_t len, cap;
};

static inline void hxf_put_u8(struct hxf_writer *w, uint8_t v)
{
	if (w->len < w->cap)
		w->buf[w->len] = v;
	w->len++; /* past cap: the caller sees the overflow in len */
}

static inline void hxf_put_u16(struct hxf_writer *w, uint16_t v)
{
	hxf_put_u8(w, (uint8_t)v);
	hxf_put_u8(w, (uint8_t)(v >> 8));
}

static inline void hxf_put_u64(struct hxf_writer *w, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		hxf_put_u8(w, (uint8_t)(v >> (8 * i)));
}

#endif /* HELIX_FUZZ_SYSCALL_INPUT_H */
