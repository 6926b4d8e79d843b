// SPDX-License-Identifier: MIT
/*
 * elf_parser_fuzzer: arbitrary bytes into the ELF64 parser (helix/elf.h), which stands between
 * the program images and the process loader, as an image for the user range
 * [HX_USER_BASE, HX_USER_LIMIT). The properties, checked on every input:
 *
 *  E1 the result is 0 or -HX_ENOEXEC; a refusal has a reason and leaves count and entry 0, an
 *     acceptance has no reason;
 *  E2 accepted: 1..HX_ELF_MAX_SEGMENTS segments, each with memsz > 0, filesz <= memsz, its file
 *     bytes inside the input and its pages inside the user range (sums computed without wrap),
 *     vaddr congruent to the offset modulo the page size, known flags and never W+X; no two
 *     segments share a page (every pair), in ascending order; the entry inside an X segment;
 *  E3 accepted: an independent look at the bytes agrees: the ELF identification and header fields
 *     of a static x86_64 executable, and as many PT_LOAD entries as segments, the same values in
 *     the same order;
 *  E4 accepted: the same image parses the same with the user range cut down to exactly the pages
 *     the segments span, and one page less at the top is refused as "segment outside the user
 *     range" (the range check is really applied, and is the first check to fail);
 *  E5 the result does not depend on the image's alignment (the parser reads bytes, the kernel
 *     may hand it any address).
 *
 * With HX_FUZZ_TRACE set, each input's result is printed first.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <helix/elf.h>
#include <helix/errors.h>
#include <helix/user/layout.h>

#include "fuzz/engine/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE ((uint64_t)HX_ELF_PAGE_SIZE)

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Field by field: the structs' padding bytes carry nothing and need not match. */
static bool same_info(const struct hx_elf_info *a, const struct hx_elf_info *b)
{
	if (a->entry != b->entry || a->count != b->count || a->reason != b->reason ||
	    a->count > HX_ELF_MAX_SEGMENTS)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const struct hx_elf_segment *x = &a->segments[i], *y = &b->segments[i];

		if (x->vaddr != y->vaddr || x->memsz != y->memsz ||
		    x->file_offset != y->file_offset || x->filesz != y->filesz ||
		    x->flags != y->flags)
			return false;
	}
	return true;
}

static void trace(const struct hx_elf_info *info, int ret)
{
	if (!hx_fuzz_tracing())
		return;
	hx_fuzz_trace("hx_elf_parse: %d (%s)\n", ret, info->reason ? info->reason : "accepted");
	for (size_t i = 0; ret == 0 && i < info->count; i++) {
		const struct hx_elf_segment *s = &info->segments[i];

		hx_fuzz_trace("  segment %zu: vaddr %#llx memsz %#llx offset %#llx filesz %#llx "
		              "flags %c%c%c\n",
		              i, (unsigned long long)s->vaddr, (unsigned long long)s->memsz,
		              (unsigned long long)s->file_offset, (unsigned long long)s->filesz,
		              s->flags & HX_ELF_R ? 'r' : '-', s->flags & HX_ELF_W ? 'w' : '-',
		              s->flags & HX_ELF_X ? 'x' : '-');
	}
	if (ret == 0)
		hx_fuzz_trace("  entry %#llx\n", (unsigned long long)info->entry);
}

static void check_result(const struct hx_elf_info *info, int ret)
{
	HX_FUZZ_REQUIRE("E1", ret == 0 || ret == -HX_ENOEXEC, "result %d (%s)", ret,
	                hx_error_name(ret));
	if (ret != 0) {
		HX_FUZZ_REQUIRE("E1", info->reason && info->reason[0],
		                "a refusal without a reason");
		HX_FUZZ_REQUIRE("E1", info->count == 0 && info->entry == 0,
		                "a refusal left count %zu entry %#llx", info->count,
		                (unsigned long long)info->entry);
	} else {
		HX_FUZZ_REQUIRE("E1", info->reason == NULL, "an acceptance with reason \"%s\"",
		                info->reason);
	}
}

static void check_segments(const struct hx_elf_info *info, size_t size)
{
	bool entry_ok = false;

	HX_FUZZ_REQUIRE("E2", info->count >= 1 && info->count <= HX_ELF_MAX_SEGMENTS,
	                "%zu segments", info->count);
	for (size_t i = 0; i < info->count; i++) {
		const struct hx_elf_segment *s = &info->segments[i];

		HX_FUZZ_REQUIRE("E2", s->memsz > 0 && s->filesz <= s->memsz,
		                "segment %zu: filesz %#llx memsz %#llx", i,
		                (unsigned long long)s->filesz, (unsigned long long)s->memsz);
		HX_FUZZ_REQUIRE("E2", s->file_offset <= size && s->filesz <= size - s->file_offset,
		                "segment %zu: file bytes %#llx+%#llx outside %zu bytes", i,
		                (unsigned long long)s->file_offset, (unsigned long long)s->filesz,
		                size);
		HX_FUZZ_REQUIRE("E2",
		                s->vaddr >= HX_USER_BASE && s->vaddr < HX_USER_LIMIT &&
		                    s->memsz <= HX_USER_LIMIT - s->vaddr,
		                "segment %zu: %#llx+%#llx outside the user range", i,
		                (unsigned long long)s->vaddr, (unsigned long long)s->memsz);
		HX_FUZZ_REQUIRE("E2", s->vaddr % PAGE == s->file_offset % PAGE,
		                "segment %zu: vaddr %#llx offset %#llx", i,
		                (unsigned long long)s->vaddr, (unsigned long long)s->file_offset);
		HX_FUZZ_REQUIRE("E2",
		                (s->flags & ~(HX_ELF_R | HX_ELF_W | HX_ELF_X)) == 0 &&
		                    (s->flags & (HX_ELF_W | HX_ELF_X)) != (HX_ELF_W | HX_ELF_X),
		                "segment %zu: flags %#x", i, s->flags);
		for (size_t j = 0; j < i; j++) {
			const struct hx_elf_segment *p = &info->segments[j];
			uint64_t p_last = (p->vaddr + p->memsz - 1) / PAGE;
			uint64_t s_first = s->vaddr / PAGE;

			HX_FUZZ_REQUIRE("E2", p_last < s_first,
			                "segments %zu and %zu share page %#llx or are out of order",
			                j, i, (unsigned long long)(s_first * PAGE));
		}
		if ((s->flags & HX_ELF_X) && info->entry >= s->vaddr &&
		    info->entry - s->vaddr < s->memsz)
			entry_ok = true;
	}
	HX_FUZZ_REQUIRE("E2", entry_ok, "entry %#llx is in no executable segment",
	                (unsigned long long)info->entry);
}

static void check_bytes(const struct hx_elf_info *info, const uint8_t *data, size_t size)
{
	static const uint8_t ident[9] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0 };
	uint64_t phoff, phnum;
	size_t loads = 0;

	HX_FUZZ_REQUIRE("E3", size >= 64 && memcmp(data, ident, sizeof(ident)) == 0,
	                "accepted without the identification of an ELF64 LSB System V file");
	HX_FUZZ_REQUIRE("E3", le(data + 16, 2) == 2 && le(data + 18, 2) == 62,
	                "accepted type %llu machine %llu", (unsigned long long)le(data + 16, 2),
	                (unsigned long long)le(data + 18, 2));
	HX_FUZZ_REQUIRE("E3", le(data + 24, 8) == info->entry, "entry %#llx, the header says %#llx",
	                (unsigned long long)info->entry, (unsigned long long)le(data + 24, 8));
	HX_FUZZ_REQUIRE("E3", le(data + 54, 2) == 56, "accepted e_phentsize %llu",
	                (unsigned long long)le(data + 54, 2));
	phoff = le(data + 32, 8);
	phnum = le(data + 56, 2);
	HX_FUZZ_REQUIRE("E3", phnum >= 1 && phoff <= size && phnum * 56 <= size - phoff,
	                "accepted %llu program headers at %#llx in %zu bytes",
	                (unsigned long long)phnum, (unsigned long long)phoff, size);
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = data + phoff + i * 56;
		uint64_t type = le(ph, 4);
		const struct hx_elf_segment *s;

		HX_FUZZ_REQUIRE("E3", type != 2 && type != 3 && type != 7,
		                "accepted with a program header of type %llu",
		                (unsigned long long)type);
		if (type != 1)
			continue;
		HX_FUZZ_REQUIRE("E3", loads < info->count, "more PT_LOAD entries than segments");
		s = &info->segments[loads++];
		HX_FUZZ_REQUIRE("E3",
		                s->flags == le(ph + 4, 4) && s->file_offset == le(ph + 8, 8) &&
		                    s->vaddr == le(ph + 16, 8) && s->filesz == le(ph + 32, 8) &&
		                    s->memsz == le(ph + 40, 8),
		                "segment %zu differs from its program header", loads - 1);
	}
	HX_FUZZ_REQUIRE("E3", loads == info->count, "%zu PT_LOAD entries, %zu segments", loads,
	                info->count);
}

static void check_range(const struct hx_elf_info *info, const uint8_t *data, size_t size)
{
	const struct hx_elf_segment *last = &info->segments[info->count - 1];
	uint64_t base = info->segments[0].vaddr & ~(PAGE - 1);
	uint64_t limit = (last->vaddr + last->memsz + PAGE - 1) & ~(PAGE - 1);
	struct hx_elf_info tight;
	int ret;

	ret = hx_elf_parse(data, size, base, limit, &tight);
	HX_FUZZ_REQUIRE("E4", ret == 0 && same_info(&tight, info),
	                "the range [%#llx, %#llx) the segments span gives %d (%s)",
	                (unsigned long long)base, (unsigned long long)limit, ret,
	                tight.reason ? tight.reason : "a different result");
	if (limit - base <= PAGE)
		return;
	ret = hx_elf_parse(data, size, base, limit - PAGE, &tight);
	HX_FUZZ_REQUIRE("E4",
	                ret == -HX_ENOEXEC && tight.reason &&
	                    strcmp(tight.reason, "segment outside the user range") == 0,
	                "one page less than the segments span gives %d (%s)", ret,
	                tight.reason ? tight.reason : "accepted");
}

static void check_alignment(const struct hx_elf_info *info, int ret, const uint8_t *data,
                            size_t size)
{
	uint8_t *shifted = malloc(size + 1);
	struct hx_elf_info again;
	int ret2;

	if (!shifted)
		abort();
	if (size)
		memcpy(shifted + 1, data, size);
	ret2 = hx_elf_parse(shifted + 1, size, HX_USER_BASE, HX_USER_LIMIT, &again);
	free(shifted);
	HX_FUZZ_REQUIRE("E5", ret2 == ret && same_info(&again, info),
	                "at an odd address: %d (%s), aligned: %d (%s)", ret2,
	                again.reason ? again.reason : "accepted", ret,
	                info->reason ? info->reason : "accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hx_elf_info info;
	int ret;

	/* Garbage in the output first: the parser must set every field it promises. */
	memset(&info, 0xa5, sizeof(info));
	ret = hx_elf_parse(size ? data : NULL, size, HX_USER_BASE, HX_USER_LIMIT, &info);
	trace(&info, ret);
	check_result(&info, ret);
	if (ret == 0) {
		check_segments(&info, size);
		check_bytes(&info, data, size);
		check_range(&info, data, size);
	}
	check_alignment(&info, ret, data, size);
	return 0;
}
