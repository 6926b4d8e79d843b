/* SPDX-License-Identifier: MIT */
/*
 * The multiboot2 boot information structure (Multiboot2 specification, section 3.6), parsed and
 * validated: total size, tag sizes and 8-byte tag alignment, strings NUL-terminated inside their
 * tag, memory map entry sizes. Pointers in the result point into the structure itself.
 */
#ifndef HELIX_MULTIBOOT2_H
#define HELIX_MULTIBOOT2_H

#include <stddef.h>
#include <stdint.h>

#include <helix/frames.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_MB2_BOOTLOADER_MAGIC 0x36d76289u
#define HX_MB2_MAX_MMAP         64
#define HX_MB2_MAX_MODULES      16

struct hx_mb2_module {
	uint64_t start; /* physical */
	uint64_t end;   /* physical, exclusive */
	const char *cmdline;
};

struct hx_mb2_info {
	uint32_t total_size;
	const char *cmdline;                   /* NULL when the tag is absent */
	const char *bootloader;                /* NULL when the tag is absent */
	uint32_t mem_lower_kib, mem_upper_kib; /* 0 when the tag is absent */
	struct hx_mem_region mmap[HX_MB2_MAX_MMAP];
	size_t mmap_len;
	struct hx_mb2_module modules[HX_MB2_MAX_MODULES];
	size_t modules_len;
	size_t unknown_tags; /* tags this parser skips (framebuffer, ACPI, ...) */
};

/*
 * hx_mb2_parse - parse the structure at @mbi, of which @avail bytes may be read (the kernel passes
 * the size the structure declares). Returns 0, -HX_EINVAL for a malformed structure (sizes,
 * alignment, missing end tag, unterminated string; @reason says which when non-NULL), -HX_E2BIG
 * when it has more memory map entries or modules than the limits above.
 */
int hx_mb2_parse(const void *mbi, size_t avail, struct hx_mb2_info *out, const char **reason);

HX_END_DECLS

#endif /* HELIX_MULTIBOOT2_H */
