/* SPDX-License-Identifier: MIT */
/*
 * A strict parser for the user programs the kernel loads: static x86_64 ELF64 executables
 * (ET_EXEC, no interpreter, no dynamic section). The image comes from the kernel's own build today,
 * but the loader treats it as untrusted input all the same: every field is checked before it is
 * used, every sum is checked for wrap-around, and nothing outside [image, image + size) is read.
 * A program the parser accepts can be loaded by copying filesz bytes from file_offset to vaddr and
 * zeroing the rest up to memsz, segment by segment, with the segment's permissions.
 *
 * Portable (kernel and hosted), no allocation, no state: any context, any number of callers.
 */
#ifndef HELIX_ELF_H
#define HELIX_ELF_H

#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_ELF_MAX_SEGMENTS 8u  /* PT_LOAD segments a program may have */
#define HX_ELF_MAX_PHDRS    32u /* program headers of any type */
#define HX_ELF_PAGE_SIZE    4096u

/* Segment permissions: the values of ELF's p_flags bits PF_X, PF_W, PF_R. */
#define HX_ELF_X 0x1u
#define HX_ELF_W 0x2u
#define HX_ELF_R 0x4u

struct hx_elf_segment {
	uint64_t vaddr;       /* where the segment starts in the user address space */
	uint64_t memsz;       /* bytes it spans there (> 0) */
	uint64_t file_offset; /* where its initialised bytes start in the image */
	uint64_t filesz;      /* initialised bytes (<= memsz); the rest is zero */
	uint32_t flags;       /* HX_ELF_R | HX_ELF_W | HX_ELF_X, never W and X together */
};

struct hx_elf_info {
	uint64_t entry; /* inside an HX_ELF_X segment */
	size_t count;   /* 1..HX_ELF_MAX_SEGMENTS */
	/* In ascending vaddr order; no two share a page. */
	struct hx_elf_segment segments[HX_ELF_MAX_SEGMENTS];
	/* NULL on success; on failure a static text naming the first problem, e.g. "bad magic". */
	const char *reason;
};

/*
 * hx_elf_parse - check the @size bytes at @image as a static x86_64 executable whose segments lie
 * in [@user_base, @user_limit) (both page-aligned, base below limit) and describe it in *@out.
 * Checked, in this order: the ELF header (size, magic, ELFCLASS64, little-endian, version, System
 * V ABI, ET_EXEC, EM_X86_64, header and program header entry sizes, no e_flags), the program
 * header table (inside the file, 1..HX_ELF_MAX_PHDRS entries), then each entry: PT_INTERP,
 * PT_DYNAMIC and PT_TLS are refused; PT_LOAD needs known flags and not W+X, memsz > 0,
 * filesz <= memsz, its bytes inside the file, its pages inside the user range, vaddr congruent to
 * the offset modulo the page size, ascending vaddr and no page shared with the previous segment,
 * and at most HX_ELF_MAX_SEGMENTS of them; other types are ignored. Finally at least one PT_LOAD
 * and the entry point inside an executable segment.
 * Any context; reads only inside the image, which may be unaligned.
 * Returns 0; -HX_ENOEXEC (out->reason names the problem, out->count is 0); -HX_EINVAL (NULL @out,
 * NULL @image with a nonzero @size, or a user range that is empty or not page-aligned).
 */
int hx_elf_parse(const void *image, size_t size, uint64_t user_base, uint64_t user_limit,
                 struct hx_elf_info *out);

HX_END_DECLS

#endif /* HELIX_ELF_H */
