// SPDX-License-Identifier: MIT
/*
 * hx_program_find and friends (helix/programs.h) over the table the build generates
 * (hx_embedded_programs in bazel/user.bzl): hx_program_table[hx_program_table_len], sorted by name.
 */
#include <stddef.h>
#include <stdint.h>

#include <helix/programs.h>
#include <helix/string.h>

/* Defined in the generated programs.S. */
extern const struct hx_program hx_program_table[];
extern const uint64_t hx_program_table_len;

const struct hx_program *hx_program_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < hx_program_table_len; i++) {
		if (hx_strcmp(hx_program_table[i].name, name) == 0)
			return &hx_program_table[i];
	}
	return NULL;
}

const struct hx_program *hx_program_at(size_t index)
{
	return index < hx_program_table_len ? &hx_program_table[index] : NULL;
}

size_t hx_program_count(void)
{
	return (size_t)hx_program_table_len;
}
