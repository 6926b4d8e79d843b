// SPDX-License-Identifier: MIT
/*
 * The strict ELF64 executable parser (helix/elf.h). Fields are read byte by byte as little-endian
 * (the image may be unaligned, and only little-endian files get past the header check), each
 * offset is bounds-checked before the read, and every sum is written so it cannot wrap: a check
 * compares against a difference of two values already known to be ordered.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/elf.h>
#include <helix/errors.h>
#include <helix/string.h>

/* The parts of the ELF64 format used here (System V ABI, "ELF-64 Object File Format"). */
#define EHDR_SIZE     64u
#define PHDR_SIZE     56u
#define EI_CLASS      4
#define EI_DATA       5
#define EI_VERSION    6
#define EI_OSABI      7
#define EI_ABIVERSION 8
#define ELFCLASS64    2
#define ELFDATA2LSB   1
#define EV_CURRENT    1
#define ELFOSABI_SYSV 0
#define ET_EXEC       2
#define EM_X86_64     62

#define E_TYPE      16
#define E_MACHINE   18
#define E_VERSION   20
#define E_ENTRY     24
#define E_PHOFF     32
#define E_FLAGS     48
#define E_EHSIZE    52
#define E_PHENTSIZE 54
#define E_PHNUM     56

#define P_TYPE   0
#define P_FLAGS  4
#define P_OFFSET 8
#define P_VADDR  16
#define P_FILESZ 32
#define P_MEMSZ  40

#define PT_LOAD    1
#define PT_DYNAMIC 2
#define PT_INTERP  3
#define PT_TLS     7

#define PAGE_MASK ((uint64_t)HX_ELF_PAGE_SIZE - 1)

static uint16_t read16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t read32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t read64(const uint8_t *p)
{
	return (uint64_t)read32(p) | (uint64_t)read32(p + 4) << 32;
}

/* The header checks: NULL when the header describes a file this parser can go on with. */
static const char *check_header(const uint8_t *p, size_t size)
{
	uint64_t phoff;
	uint16_t phnum;

	if (size < EHDR_SIZE)
		return "file smaller than the ELF header";
	if (p[0] != 0x7f || p[1] != 'E' || p[2] != 'L' || p[3] != 'F')
		return "bad magic";
	if (p[EI_CLASS] != ELFCLASS64)
		return "not ELFCLASS64";
	if (p[EI_DATA] != ELFDATA2LSB)
		return "not little-endian";
	if (p[EI_VERSION] != EV_CURRENT)
		return "bad ident version";
	if (p[EI_OSABI] != ELFOSABI_SYSV || p[EI_ABIVERSION] != 0)
		return "not the System V ABI";
	if (read16(p + E_TYPE) != ET_EXEC)
		return "not ET_EXEC (a static executable)";
	if (read16(p + E_MACHINE) != EM_X86_64)
		return "not EM_X86_64";
	if (read32(p + E_VERSION) != EV_CURRENT)
		return "bad version";
	if (read32(p + E_FLAGS) != 0)
		return "e_flags set";
	if (read16(p + E_EHSIZE) != EHDR_SIZE)
		return "bad e_ehsize";
	if (read16(p + E_PHENTSIZE) != PHDR_SIZE)
		return "bad e_phentsize";
	phnum = read16(p + E_PHNUM);
	if (phnum == 0)
		return "no program headers";
	if (phnum > HX_ELF_MAX_PHDRS)
		return "too many program headers";
	phoff = read64(p + E_PHOFF);
	/* phnum * PHDR_SIZE is at most 32 * 56: no overflow; size - phoff is checked ordered. */
	if (phoff > size || (uint64_t)phnum * PHDR_SIZE > size - phoff)
		return "program headers outside the file";
	return NULL;
}

/*
 * One PT_LOAD entry at @ph into @seg; @prev is the previous PT_LOAD (NULL for the first).
 * NULL when it is acceptable.
 */
static const char *check_load(const uint8_t *ph, size_t size, uint64_t base, uint64_t limit,
                              const struct hx_elf_segment *prev, struct hx_elf_segment *seg)
{
	uint32_t flags = read32(ph + P_FLAGS);
	uint64_t offset = read64(ph + P_OFFSET);
	uint64_t vaddr = read64(ph + P_VADDR);
	uint64_t filesz = read64(ph + P_FILESZ);
	uint64_t memsz = read64(ph + P_MEMSZ);

	if (flags & ~(HX_ELF_R | HX_ELF_W | HX_ELF_X))
		return "segment has unknown flags";
	if ((flags & HX_ELF_W) && (flags & HX_ELF_X))
		return "segment is writable and executable";
	if (memsz == 0)
		return "segment is empty (memsz 0)";
	if (filesz > memsz)
		return "segment filesz above memsz";
	if (offset > size || filesz > size - offset)
		return "segment data outside the file";
	if (vaddr < base || vaddr >= limit || memsz > limit - vaddr)
		return "segment outside the user range";
	if ((vaddr & PAGE_MASK) != (offset & PAGE_MASK))
		return "segment vaddr and offset differ modulo the page size";
	if (prev) {
		/* limit is page-aligned and prev ends at or below it: rounding up cannot wrap. */
		uint64_t prev_end_page = (prev->vaddr + prev->memsz + PAGE_MASK) & ~PAGE_MASK;

		if (vaddr < prev->vaddr)
			return "segments not in ascending vaddr order";
		if ((vaddr & ~PAGE_MASK) < prev_end_page)
			return "segment overlaps another (at page granularity)";
	}
	seg->vaddr = vaddr;
	seg->memsz = memsz;
	seg->file_offset = offset;
	seg->filesz = filesz;
	seg->flags = flags;
	return NULL;
}

/* The whole check into @info (a scratch copy): NULL, or the reason for refusing. */
static const char *parse(const uint8_t *p, size_t size, uint64_t base, uint64_t limit,
                         struct hx_elf_info *info)
{
	const char *reason = check_header(p, size);
	uint64_t phoff;
	uint16_t phnum;
	uint64_t entry;
	bool entry_ok = false;

	if (reason)
		return reason;
	phoff = read64(p + E_PHOFF);
	phnum = read16(p + E_PHNUM);
	for (uint16_t i = 0; i < phnum; i++) {
		const uint8_t *ph = p + phoff + (size_t)i * PHDR_SIZE;
		const struct hx_elf_segment *prev;

		switch (read32(ph + P_TYPE)) {
		case PT_INTERP:
			return "PT_INTERP: not a static executable";
		case PT_DYNAMIC:
			return "PT_DYNAMIC: not a static executable";
		case PT_TLS:
			/* The loader sets up no thread-local storage: a program needing it would
			 * run with a wrong %fs base. */
			return "PT_TLS: thread-local storage is not supported";
		case PT_LOAD:
			if (info->count == HX_ELF_MAX_SEGMENTS)
				return "too many PT_LOAD segments";
			prev = info->count ? &info->segments[info->count - 1] : NULL;
			reason =
			    check_load(ph, size, base, limit, prev, &info->segments[info->count]);
			if (reason)
				return reason;
			info->count++;
			break;
		default:
			break; /* PT_NOTE, PT_PHDR, PT_GNU_STACK, ...: nothing to load */
		}
	}
	if (info->count == 0)
		return "no PT_LOAD segment";
	entry = read64(p + E_ENTRY);
	for (size_t i = 0; i < info->count; i++) {
		const struct hx_elf_segment *seg = &info->segments[i];

		if ((seg->flags & HX_ELF_X) && entry >= seg->vaddr &&
		    entry - seg->vaddr < seg->memsz)
			entry_ok = true;
	}
	if (!entry_ok)
		return "entry point not in an executable segment";
	info->entry = entry;
	return NULL;
}

int hx_elf_parse(const void *image, size_t size, uint64_t user_base, uint64_t user_limit,
                 struct hx_elf_info *out)
{
	struct hx_elf_info info;

	if (!out || (!image && size != 0) || user_base >= user_limit || (user_base & PAGE_MASK) ||
	    (user_limit & PAGE_MASK))
		return -HX_EINVAL;
	hx_memset(&info, 0, sizeof(info));
	info.reason = parse(image, size, user_base, user_limit, &info);
	if (info.reason) {
		const char *reason = info.reason;

		hx_memset(out, 0, sizeof(*out));
		out->reason = reason;
		return -HX_ENOEXEC;
	}
	*out = info;
	return 0;
}
