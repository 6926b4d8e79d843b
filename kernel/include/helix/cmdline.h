/* SPDX-License-Identifier: MIT */
/*
 * Kernel command line: whitespace-separated words, each `key=value` or a bare `flag`.
 *   key    1..HX_CMDLINE_KEY_MAX characters of [A-Za-z0-9_.-]
 *   value  any run of non-space characters, or a double-quoted string ("a b") that may contain
 *          spaces; a quote inside is written \" and a backslash \\ ; may be empty (`key=`)
 * A key given twice keeps its last value (later words override earlier ones, as in Linux).
 * The parsed result is a copy: it does not point into the input. Any context; never allocates.
 */
#ifndef HELIX_CMDLINE_H
#define HELIX_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_CMDLINE_MAX_LEN  1024 /* input bytes, NUL excluded */
#define HX_CMDLINE_MAX_ARGS 32
#define HX_CMDLINE_KEY_MAX  63

struct hx_cmdline_arg {
	const char *key;
	const char *value; /* NULL for a bare flag; "" for `key=` */
};

struct hx_cmdline {
	struct hx_cmdline_arg args[HX_CMDLINE_MAX_ARGS];
	size_t count;
	char storage[HX_CMDLINE_MAX_LEN + HX_CMDLINE_MAX_ARGS + 1];
};

/* Why a parse failed, and where: filled in on every failure when the caller passes one. */
struct hx_cmdline_error {
	size_t offset;      /* byte offset in the input */
	const char *reason; /* e.g. "unterminated quote" */
};

/*
 * hx_cmdline_parse - parse @text (NULL is the empty line) into @out.
 * Returns 0, -HX_EINVAL for a malformed word (empty key, bad key character, unterminated quote, bad
 * escape, text after a closing quote), -HX_E2BIG for a line longer than HX_CMDLINE_MAX_LEN or more
 * than HX_CMDLINE_MAX_ARGS words. On failure @out holds no arguments.
 */
int hx_cmdline_parse(struct hx_cmdline *out, const char *text, struct hx_cmdline_error *error);

/* The value of @key's last occurrence; NULL when absent or a bare flag (see hx_cmdline_has). */
const char *hx_cmdline_get(const struct hx_cmdline *cmdline, const char *key);
/* True when @key appears, with or without a value. */
bool hx_cmdline_has(const struct hx_cmdline *cmdline, const char *key);

HX_END_DECLS

#endif /* HELIX_CMDLINE_H */
