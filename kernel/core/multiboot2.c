// SPDX-License-Identifier: MIT
/*
 * Multiboot2 boot information parser (see helix/multiboot2.h; the layout is the Multiboot2
 * specification, section 3.6).
 *
 * The structure comes from the boot loader, so every size is checked before it is used: a field is
 * read only after the bytes that hold it are known to lie inside both @avail and total_size, and a
 * string is accepted only when its NUL lies inside its tag. Fields are read with hx_memcpy, so
 * nothing depends on the host's tolerance for unaligned loads beyond the 8-byte alignment the
 * specification promises (and the parser checks).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/frames.h>
#include <helix/multiboot2.h>
#include <helix/string.h>

#define MB2_ALIGN      8u
#define MB2_FIXED_SIZE 8u /* total_size, reserved */
#define MB2_TAG_HEADER 8u /* type, size */

enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_BOOTLOADER = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_MMAP = 6,
};

#define MB2_MODULE_FIXED   16u /* header, mod_start, mod_end */
#define MB2_MEMINFO_SIZE   16u /* header, mem_lower, mem_upper */
#define MB2_MMAP_FIXED     16u /* header, entry_size, entry_version */
#define MB2_MMAP_ENTRY_MIN 24u /* base_addr, length, type, reserved */

struct mb2_parser {
	const unsigned char *base;
	struct hx_mb2_info *out;
	const char *reason;
	uint32_t seen; /* bit per tag type already parsed, to refuse duplicates */
};

static uint32_t load32(const unsigned char *at)
{
	uint32_t value;
	hx_memcpy(&value, at, sizeof(value));
	return value;
}

static uint64_t load64(const unsigned char *at)
{
	uint64_t value;
	hx_memcpy(&value, at, sizeof(value));
	return value;
}

static int fail(struct mb2_parser *parser, int err, const char *reason)
{
	parser->reason = reason;
	return err;
}

/* A string filling the @len bytes at @at: valid when a NUL lies among them. */
static const char *tag_string(const unsigned char *at, size_t len)
{
	const char *text = (const char *)at;

	return hx_strnlen(text, len) < len ? text : NULL;
}

static int parse_string(struct mb2_parser *parser, const unsigned char *tag, uint32_t size,
                        const char **field, const char *reason)
{
	*field = tag_string(tag + MB2_TAG_HEADER, size - MB2_TAG_HEADER);
	return *field ? 0 : fail(parser, -HX_EINVAL, reason);
}

static int parse_module(struct mb2_parser *parser, const unsigned char *tag, uint32_t size)
{
	struct hx_mb2_info *out = parser->out;
	struct hx_mb2_module *module;
	uint32_t start, end;
	const char *cmdline;

	if (size <= MB2_MODULE_FIXED)
		return fail(parser, -HX_EINVAL, "module tag too small");
	start = load32(tag + 8);
	end = load32(tag + 12);
	if (end < start)
		return fail(parser, -HX_EINVAL, "module ends before it starts");
	cmdline = tag_string(tag + MB2_MODULE_FIXED, size - MB2_MODULE_FIXED);
	if (!cmdline)
		return fail(parser, -HX_EINVAL, "unterminated module string");
	if (out->modules_len == HX_MB2_MAX_MODULES)
		return fail(parser, -HX_E2BIG, "too many modules");
	module = &out->modules[out->modules_len++];
	module->start = start;
	module->end = end;
	module->cmdline = cmdline;
	return 0;
}

static int parse_meminfo(struct mb2_parser *parser, const unsigned char *tag, uint32_t size)
{
	if (size < MB2_MEMINFO_SIZE)
		return fail(parser, -HX_EINVAL, "basic meminfo tag too small");
	parser->out->mem_lower_kib = load32(tag + 8);
	parser->out->mem_upper_kib = load32(tag + 12);
	return 0;
}

static int parse_mmap(struct mb2_parser *parser, const unsigned char *tag, uint32_t size)
{
	struct hx_mb2_info *out = parser->out;
	uint32_t entry_size, count;

	if (size < MB2_MMAP_FIXED)
		return fail(parser, -HX_EINVAL, "mmap tag too small");
	entry_size = load32(tag + 8);
	/* entry_version (tag + 12) is 0 today; later versions only append fields to an entry. */
	if (entry_size < MB2_MMAP_ENTRY_MIN || entry_size % MB2_ALIGN != 0)
		return fail(parser, -HX_EINVAL, "bad mmap entry_size");
	if ((size - MB2_MMAP_FIXED) % entry_size != 0)
		return fail(parser, -HX_EINVAL, "mmap tag size not a multiple of entry_size");
	count = (size - MB2_MMAP_FIXED) / entry_size;
	if (count > HX_MB2_MAX_MMAP)
		return fail(parser, -HX_E2BIG, "too many mmap entries");

	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *entry = tag + MB2_MMAP_FIXED + (size_t)i * entry_size;
		struct hx_mem_region *region = &out->mmap[i];

		region->base = load64(entry);
		region->length = load64(entry + 8);
		region->type = load32(entry + 16);
		if (region->length > UINT64_MAX - region->base)
			return fail(parser, -HX_EINVAL, "mmap entry wraps around");
	}
	out->mmap_len = count;
	return 0;
}

/* Parses one tag other than the end tag; @size >= 8 and the tag lies inside the structure. */
static int parse_tag(struct mb2_parser *parser, const unsigned char *tag, uint32_t type,
                     uint32_t size)
{
	struct hx_mb2_info *out = parser->out;

	if (type == MB2_TAG_CMDLINE || type == MB2_TAG_BOOTLOADER ||
	    type == MB2_TAG_BASIC_MEMINFO || type == MB2_TAG_MMAP) {
		if (parser->seen & (1u << type))
			return fail(parser, -HX_EINVAL, "duplicate tag");
		parser->seen |= 1u << type;
	}

	switch (type) {
	case MB2_TAG_CMDLINE:
		return parse_string(parser, tag, size, &out->cmdline, "unterminated cmdline");
	case MB2_TAG_BOOTLOADER:
		return parse_string(parser, tag, size, &out->bootloader,
		                    "unterminated boot loader name");
	case MB2_TAG_MODULE:
		return parse_module(parser, tag, size);
	case MB2_TAG_BASIC_MEMINFO:
		return parse_meminfo(parser, tag, size);
	case MB2_TAG_MMAP:
		return parse_mmap(parser, tag, size);
	default:
		out->unknown_tags++;
		return 0;
	}
}

static int parse(struct mb2_parser *parser, size_t avail)
{
	const unsigned char *base = parser->base;
	uint32_t total_size;
	size_t offset = MB2_FIXED_SIZE;

	if ((uintptr_t)base % MB2_ALIGN != 0)
		return fail(parser, -HX_EINVAL, "misaligned structure");
	if (avail < MB2_FIXED_SIZE)
		return fail(parser, -HX_EINVAL, "truncated fixed part");
	total_size = load32(base);
	if (total_size > avail)
		return fail(parser, -HX_EINVAL, "total_size exceeds available bytes");
	if (total_size < MB2_FIXED_SIZE + MB2_TAG_HEADER)
		return fail(parser, -HX_EINVAL, "total_size too small");
	parser->out->total_size = total_size;

	/* Tags start 8-aligned from base and each is padded to 8: offset stays aligned. */
	for (;;) {
		const unsigned char *tag = base + offset;
		uint32_t type, size;
		int err;

		if (total_size - offset < MB2_TAG_HEADER)
			return fail(parser, -HX_EINVAL, "missing end tag");
		type = load32(tag);
		size = load32(tag + 4);
		if (size < MB2_TAG_HEADER)
			return fail(parser, -HX_EINVAL, "tag size below 8");
		if (size > total_size - offset)
			return fail(parser, -HX_EINVAL, "tag runs past total_size");
		if (type == MB2_TAG_END)
			return size == MB2_TAG_HEADER
			           ? 0
			           : fail(parser, -HX_EINVAL, "bad end tag size");
		err = parse_tag(parser, tag, type, size);
		if (err)
			return err;
		/* size <= total_size - offset <= UINT32_MAX: no wrap in size_t. */
		offset = HX_ALIGN_UP(offset + size, (size_t)MB2_ALIGN);
		if (offset > total_size)
			return fail(parser, -HX_EINVAL, "missing end tag");
	}
}

int hx_mb2_parse(const void *mbi, size_t avail, struct hx_mb2_info *out, const char **reason)
{
	struct mb2_parser parser = { mbi, out, NULL, 0 };
	int err;

	if (!mbi || !out) {
		if (reason)
			*reason = "NULL argument";
		return -HX_EINVAL;
	}
	hx_memset(out, 0, sizeof(*out));
	err = parse(&parser, avail);
	if (reason)
		*reason = parser.reason;
	return err;
}
