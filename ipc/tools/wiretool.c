// SPDX-License-Identifier: MIT
/*
 * wiretool: read and write router wire messages (docs/wire-format.md). Hosted only.
 *
 *   wiretool decode [--json] [--payload-only] FILE|-
 *       checks the message with hx_wire_decode and prints the envelope and the payload in CBOR
 *       diagnostic notation (RFC 8949 §8) or JSON (§6.1: byte strings as base64url, non-text map
 *       keys as their diagnostic notation); an invalid message prints the offset, the reason and
 *       the bytes around it.
 *   wiretool encode [options] [PAYLOAD]
 *       builds a message from a payload in diagnostic notation (or --json) with the envelope the
 *       options give, through hx_wire_builder (map keys are sorted here, as the builder wants),
 *       and writes the binary message to -o FILE or to stdout (never to a terminal).
 *       --unchecked writes the envelope fields exactly as given instead, for deliberately invalid
 *       test files and fuzz seeds.
 *
 * Exit status: 0 done; 1 invalid input (a message the decoder refuses, a payload or header the
 * encoder refuses); 2 a usage error or a file that cannot be read or written. Relative paths are
 * taken from the directory `bazel run` was started in (BUILD_WORKING_DIRECTORY).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <helix/errors.h>
#include <helix/ipc/wire.h>

#define EXIT_INVALID 1
#define EXIT_USAGE   2

static const char usage_text[] =
    "usage: wiretool decode [--json] [--payload-only] FILE|-\n"
    "       wiretool encode [--json] [--kind KIND] [--request-id N] [--source N]\n"
    "                       [--target NAME | --target-id N] [--method N] [--status N|HX_E...]\n"
    "                       [--payload-file FILE|- | --payload-hex HEX] [-o FILE] [[--] PAYLOAD]\n"
    "       wiretool encode --unchecked [the options above] [--version N] [--flags N]\n"
    "                       [--name-len N] [--payload-len N] [--append-hex HEX] [--truncate N]\n"
    "KIND: request, response, error, one-way (or a number). PAYLOAD: CBOR diagnostic notation\n"
    "(or JSON with --json); none means an empty payload. Exit: 0 ok, 1 invalid input, 2 usage.\n";

static HX_NORETURN void die(int status, const char *fmt, ...) HX_PRINTF(2, 3);

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("wiretool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (status == EXIT_USAGE && strncmp(fmt, "usage", 5) == 0)
		fputs(usage_text, stderr);
	exit(status);
}

/* ---- Growable buffers ------------------------------------------------------------------------ */

struct buf {
	char *data;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (more <= b->cap - b->len)
		return;
	while (b->cap - b->len < more)
		b->cap = b->cap ? b->cap * 2 : 256;
	b->data = realloc(b->data, b->cap);
	if (!b->data)
		die(EXIT_USAGE, "out of memory");
}

static void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len + 1);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) HX_PRINTF(2, 3);

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- Files ----------------------------------------------------------------------------------- */

/* A path as the user meant it: under `bazel run` relative to where bazel was started. */
static char *resolve(const char *path)
{
	const char *base = getenv("BUILD_WORKING_DIRECTORY");
	char *out;

	if (!base || !*base || path[0] == '/' || strcmp(path, "-") == 0)
		return strdup(path);
	if (asprintf(&out, "%s/%s", base, path) < 0)
		die(EXIT_USAGE, "out of memory");
	return out;
}

static struct buf read_file(const char *path)
{
	struct buf b = { 0 };
	char *real = resolve(path);
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(real, "rb");

	if (!f)
		die(EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
	for (;;) {
		size_t n;

		buf_reserve(&b, 65536);
		n = fread(b.data + b.len, 1, b.cap - b.len - 1, f);
		b.len += n;
		if (n == 0)
			break;
		if (b.len > (64u << 20))
			die(EXIT_INVALID, "%s: larger than 64 MiB, not a message", path);
	}
	if (ferror(f))
		die(EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	b.data[b.len] = '\0';
	free(real);
	return b;
}

/* ---- Parsing diagnostic notation and JSON into a tree ---------------------------------------- */

enum node_kind { N_UINT, N_NEGATIVE, N_BYTES, N_TEXT, N_ARRAY, N_MAP, N_FALSE, N_TRUE, N_NULL };

struct node {
	enum node_kind kind;
	uint64_t num;       /* N_UINT: value; N_NEGATIVE: n of -1 - n */
	struct buf str;     /* N_BYTES, N_TEXT */
	struct node *items; /* N_ARRAY: count items; N_MAP: count pairs as key, value, ... */
	size_t count;
	size_t pos; /* where it starts in the input */
};

struct parser {
	const char *text;
	size_t len, pos;
	bool json;
	unsigned depth;
};

static HX_NORETURN void parse_error(const struct parser *p, size_t pos, const char *why)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < pos && i < p->len; i++) {
		if (p->text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	die(EXIT_INVALID, "payload:%zu:%zu: %s", line, col, why);
}

static void skip_space(struct parser *p)
{
	for (;;) {
		while (p->pos < p->len && strchr(" \t\r\n", p->text[p->pos]))
			p->pos++;
		/* Diagnostic notation's comments: / anything but a slash / (RFC 8610 G.6). */
		if (!p->json && p->pos < p->len && p->text[p->pos] == '/') {
			const char *end = memchr(p->text + p->pos + 1, '/', p->len - p->pos - 1);

			if (!end)
				parse_error(p, p->pos, "unterminated comment");
			p->pos = (size_t)(end - p->text) + 1;
			continue;
		}
		return;
	}
}

static bool peek_is(const struct parser *p, const char *word)
{
	size_t n = strlen(word);

	return p->len - p->pos >= n && memcmp(p->text + p->pos, word, n) == 0;
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static void parse_item(struct parser *p, struct node *out);

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void append_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

static uint32_t parse_hex4(struct parser *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int d = p->pos < p->len ? hex_value(p->text[p->pos]) : -1;

		if (d < 0)
			parse_error(p, p->pos, "\\u needs four hex digits");
		v = v << 4 | (uint32_t)d;
		p->pos++;
	}
	return v;
}

/* A "..." string with JSON's escapes, or (diagnostic notation) a '...' byte string of text. */
static void parse_quoted(struct parser *p, char quote, struct buf *out)
{
	size_t start = p->pos++;

	for (;;) {
		char c;

		if (p->pos >= p->len)
			parse_error(p, start, "unterminated string");
		c = p->text[p->pos++];
		if (c == quote)
			return;
		if (c != '\\') {
			buf_add(out, &c, 1);
			continue;
		}
		if (p->pos >= p->len)
			parse_error(p, start, "unterminated string");
		c = p->text[p->pos++];
		switch (c) {
		case 'b':
			buf_add(out, "\b", 1);
			break;
		case 'f':
			buf_add(out, "\f", 1);
			break;
		case 'n':
			buf_add(out, "\n", 1);
			break;
		case 'r':
			buf_add(out, "\r", 1);
			break;
		case 't':
			buf_add(out, "\t", 1);
			break;
		case 'u': {
			size_t at = p->pos - 2;
			uint32_t cp = parse_hex4(p);

			if (cp >= 0xdc00 && cp <= 0xdfff)
				parse_error(p, at, "lone low surrogate in \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t low;

				if (!peek_is(p, "\\u"))
					parse_error(p, at, "lone high surrogate in \\u escape");
				p->pos += 2;
				low = parse_hex4(p);
				if (low < 0xdc00 || low > 0xdfff)
					parse_error(p, at, "lone high surrogate in \\u escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
			}
			append_utf8(out, cp);
			break;
		}
		default:
			if (c == '"' || c == '\\' || c == '/' || c == '\'') {
				buf_add(out, &c, 1);
				break;
			}
			parse_error(p, p->pos - 2, "unknown escape");
		}
	}
}

/* h'hex digits' (spaces allowed) and b64'base64 or base64url' (padding optional). */
static void parse_byte_literal(struct parser *p, bool base64, struct buf *out)
{
	size_t start = p->pos;
	unsigned acc = 0, bits = 0;

	p->pos += base64 ? 4 : 2;
	for (;;) {
		char c;
		int v;

		if (p->pos >= p->len)
			parse_error(p, start, "unterminated byte string");
		c = p->text[p->pos++];
		if (c == '\'')
			break;
		if (strchr(" \t\r\n", c) || (base64 && c == '='))
			continue;
		if (!base64) {
			v = hex_value(c);
			if (v < 0)
				parse_error(p, p->pos - 1, "not a hex digit");
			acc = acc << 4 | (unsigned)v;
			bits += 4;
		} else {
			const char *alphabet =
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			const char *at = c ? strchr(alphabet, c) : NULL;

			if (c == '-')
				at = alphabet + 62;
			else if (c == '_')
				at = alphabet + 63;
			if (!at)
				parse_error(p, p->pos - 1, "not a base64 character");
			acc = acc << 6 | (unsigned)(at - alphabet);
			bits += 6;
		}
		if (bits >= 8) {
			char byte = (char)(acc >> (bits - 8));

			buf_add(out, &byte, 1);
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}
	if (!base64 && bits != 0)
		parse_error(p, start, "odd number of hex digits");
}

/* Integers: decimal, 0x hex (diagnostic notation), negative down to -2^64. */
static void parse_number(struct parser *p, struct node *out)
{
	const unsigned __int128 two_64 = (unsigned __int128)1 << 64;
	size_t start = p->pos;
	bool negative = false;
	unsigned __int128 v = 0;
	unsigned base = 10;
	size_t digits = 0;

	if (p->text[p->pos] == '-') {
		negative = true;
		p->pos++;
	}
	if (!p->json && peek_is(p, "0x")) {
		base = 16;
		p->pos += 2;
	}
	while (p->pos < p->len) {
		char c = p->text[p->pos];
		int d = base == 16 ? hex_value(c) : (c >= '0' && c <= '9' ? c - '0' : -1);

		if (d < 0)
			break;
		v = v * base + (unsigned)d;
		if (v > two_64)
			v = two_64 + 1; /* saturate: out of range either way */
		digits++;
		p->pos++;
	}
	if (digits == 0) {
		if (peek_is(p, "Infinity"))
			parse_error(p, start, "floating-point numbers not allowed");
		parse_error(p, start, "expected a number");
	}
	if (p->pos < p->len && strchr(".eE", p->text[p->pos]) && base == 10)
		parse_error(p, start, "floating-point numbers not allowed");
	if (p->pos < p->len && p->text[p->pos] == '(')
		parse_error(p, start, "tags not allowed");
	if (p->pos < p->len && p->text[p->pos] == '_')
		parse_error(p, p->pos,
		            "encoding indicators not supported (the profile fixes every encoding)");
	if (p->pos < p->len && is_word_char(p->text[p->pos]))
		parse_error(p, start, "malformed number");
	out->pos = start;
	if (negative && v != 0) {
		/* -N is the negative integer n = N - 1 (RFC 8949 major type 1), N up to 2^64. */
		if (v > two_64)
			parse_error(p, start, "integer below -2^64");
		out->kind = N_NEGATIVE;
		out->num = (uint64_t)(v - 1);
		return;
	}
	if (v >= two_64)
		parse_error(p, start, "integer above 2^64 - 1");
	out->kind = N_UINT;
	out->num = (uint64_t)v;
}

static void parse_container(struct parser *p, struct node *out, bool map)
{
	char close = map ? '}' : ']';
	size_t cap = 0;

	out->kind = map ? N_MAP : N_ARRAY;
	out->pos = p->pos++;
	if (p->depth == HX_WIRE_MAX_DEPTH)
		parse_error(p, out->pos, "nesting deeper than 16");
	p->depth++;
	skip_space(p);
	if (p->pos < p->len && p->text[p->pos] == '_')
		parse_error(p, out->pos, "indefinite length not allowed");
	if (p->pos < p->len && p->text[p->pos] == close) {
		p->pos++;
		p->depth--;
		return;
	}
	for (;;) {
		size_t per = map ? 2 : 1;

		if (out->count * per + per > cap) {
			cap = cap ? cap * 2 : 8;
			out->items = realloc(out->items, cap * sizeof(*out->items));
			if (!out->items)
				die(EXIT_USAGE, "out of memory");
		}
		parse_item(p, &out->items[out->count * per]);
		if (map) {
			struct node *key = &out->items[out->count * 2];

			if (p->json && key->kind != N_TEXT)
				parse_error(p, key->pos, "JSON object keys must be strings");
			skip_space(p);
			if (p->pos >= p->len || p->text[p->pos] != ':')
				parse_error(p, p->pos, "expected ':' after a map key");
			p->pos++;
			parse_item(p, &out->items[out->count * 2 + 1]);
		}
		out->count++;
		skip_space(p);
		if (p->pos < p->len && p->text[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->text[p->pos] == close) {
			p->pos++;
			p->depth--;
			return;
		}
		parse_error(p, p->pos, map ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static void parse_item(struct parser *p, struct node *out)
{
	char c;

	memset(out, 0, sizeof(*out));
	skip_space(p);
	if (p->pos >= p->len)
		parse_error(p, p->pos, "expected a value");
	out->pos = p->pos;
	c = p->text[p->pos];
	if (c == '[' || c == '{') {
		parse_container(p, out, c == '{');
	} else if (c == '"') {
		out->kind = N_TEXT;
		parse_quoted(p, '"', &out->str);
	} else if (!p->json && c == '\'') {
		out->kind = N_BYTES;
		parse_quoted(p, '\'', &out->str);
	} else if (!p->json && peek_is(p, "h'")) {
		out->kind = N_BYTES;
		parse_byte_literal(p, false, &out->str);
	} else if (!p->json && peek_is(p, "b64'")) {
		out->kind = N_BYTES;
		parse_byte_literal(p, true, &out->str);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		parse_number(p, out);
	} else if (c == '(' && !p->json) {
		parse_error(p, p->pos, "indefinite length not allowed");
	} else {
		size_t n = 0;

		while (p->pos + n < p->len && is_word_char(p->text[p->pos + n]))
			n++;
#define WORD(w) (n == strlen(w) && memcmp(p->text + p->pos, w, n) == 0)
		if (WORD("true") || WORD("false") || WORD("null")) {
			out->kind = WORD("true") ? N_TRUE : WORD("false") ? N_FALSE : N_NULL;
		} else if (WORD("NaN") || WORD("Infinity")) {
			parse_error(p, p->pos, "floating-point numbers not allowed");
		} else if (WORD("undefined") || WORD("simple")) {
			parse_error(p, p->pos,
			            "simple values other than false, true and null not allowed");
		} else {
			parse_error(p, p->pos, "unexpected character");
		}
#undef WORD
		p->pos += n;
	}
}

/* ---- Building: keys sorted by their encodings, duplicates refused ---------------------------- */

static void put_node(struct hx_wire_builder *b, const struct node *n);

struct sorted_pair {
	struct node key, value;
	struct buf encoding;
};

static int compare_pairs(const void *a, const void *b)
{
	const struct sorted_pair *x = a, *y = b;
	size_t n = x->encoding.len < y->encoding.len ? x->encoding.len : y->encoding.len;
	int c = memcmp(x->encoding.data, y->encoding.data, n);

	if (c)
		return c;
	return x->encoding.len < y->encoding.len ? -1 : x->encoding.len > y->encoding.len;
}

static void encode_alone(const struct node *n, struct buf *out)
{
	struct hx_wire_builder b;
	struct hx_wire_error err;
	size_t len;

	buf_reserve(out, HX_WIRE_MAX_PAYLOAD + 1);
	hx_wire_builder_init(&b, out->data, HX_WIRE_MAX_PAYLOAD);
	put_node(&b, n);
	if (hx_wire_builder_finish(&b, &len, &err))
		die(EXIT_INVALID, "payload: %s", err.reason);
	out->len = len;
}

/* Sort every map's pairs (innermost first, so a key's own maps are sorted before it is encoded). */
static void sort_maps(const struct parser *p, struct node *n)
{
	struct sorted_pair *pairs;

	if (n->kind != N_ARRAY && n->kind != N_MAP)
		return;
	for (size_t i = 0; i < n->count * (n->kind == N_MAP ? 2 : 1); i++)
		sort_maps(p, &n->items[i]);
	if (n->kind != N_MAP || n->count == 0)
		return;
	pairs = calloc(n->count, sizeof(*pairs));
	if (!pairs)
		die(EXIT_USAGE, "out of memory");
	for (size_t i = 0; i < n->count; i++) {
		pairs[i].key = n->items[2 * i];
		pairs[i].value = n->items[2 * i + 1];
		encode_alone(&pairs[i].key, &pairs[i].encoding);
	}
	qsort(pairs, n->count, sizeof(*pairs), compare_pairs);
	for (size_t i = 1; i < n->count; i++) {
		if (compare_pairs(&pairs[i - 1], &pairs[i]) == 0) {
			const struct node *later = pairs[i - 1].key.pos > pairs[i].key.pos
			                               ? &pairs[i - 1].key
			                               : &pairs[i].key;
			parse_error(p, later->pos, "duplicate map key");
		}
	}
	for (size_t i = 0; i < n->count; i++) {
		n->items[2 * i] = pairs[i].key;
		n->items[2 * i + 1] = pairs[i].value;
		free(pairs[i].encoding.data);
	}
	free(pairs);
}

static void put_node(struct hx_wire_builder *b, const struct node *n)
{
	switch (n->kind) {
	case N_UINT:
		hx_wire_put_uint(b, n->num);
		break;
	case N_NEGATIVE:
		hx_wire_put_negative(b, n->num);
		break;
	case N_BYTES:
		hx_wire_put_bytes(b, n->str.data, n->str.len);
		break;
	case N_TEXT:
		hx_wire_put_text(b, n->str.data, n->str.len);
		break;
	case N_ARRAY:
		hx_wire_put_array(b, n->count);
		for (size_t i = 0; i < n->count; i++)
			put_node(b, &n->items[i]);
		break;
	case N_MAP:
		hx_wire_put_map(b, n->count);
		for (size_t i = 0; i < 2 * n->count; i++)
			put_node(b, &n->items[i]);
		break;
	case N_FALSE:
	case N_TRUE:
		hx_wire_put_bool(b, n->kind == N_TRUE);
		break;
	case N_NULL:
		hx_wire_put_null(b);
		break;
	}
}

static void free_node(struct node *n)
{
	free(n->str.data);
	for (size_t i = 0; i < n->count * (n->kind == N_MAP ? 2 : 1); i++)
		free_node(&n->items[i]);
	free(n->items);
}

/* The payload text (empty or blank: no payload) encoded into @out. */
static void encode_payload(const char *text, size_t len, bool json, struct buf *out)
{
	struct parser p = { .text = text, .len = len, .json = json };
	struct node root;

	out->len = 0;
	skip_space(&p);
	if (p.pos == p.len)
		return;
	parse_item(&p, &root);
	skip_space(&p);
	if (p.pos != p.len)
		parse_error(&p, p.pos, "text after the payload's item");
	sort_maps(&p, &root);
	encode_alone(&root, out);
	free_node(&root);
}

/* ---- Printing: diagnostic notation or JSON --------------------------------------------------- */

#define LINE_WIDTH 80

static void render_text(struct buf *out, const uint8_t *s, size_t len)
{
	buf_str(out, "\"");
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];

		if (c == '"' || c == '\\') {
			buf_printf(out, "\\%c", c);
		} else if (c == '\n') {
			buf_str(out, "\\n");
		} else if (c == '\t') {
			buf_str(out, "\\t");
		} else if (c == '\r') {
			buf_str(out, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(out, "\\u%04x", c);
		} else {
			buf_add(out, &c, 1); /* UTF-8 passes through: the decoder checked it */
		}
	}
	buf_str(out, "\"");
}

static void render_base64url(struct buf *out, const uint8_t *s, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	unsigned bits = 0;

	buf_str(out, "\"");
	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | s[i];
		bits += 8;
		while (bits >= 6) {
			buf_add(out, &alphabet[(acc >> (bits - 6)) & 63], 1);
			bits -= 6;
		}
	}
	if (bits > 0)
		buf_add(out, &alphabet[(acc << (6 - bits)) & 63], 1);
	buf_str(out, "\"");
}

static void render(struct hx_wire_reader *r, struct buf *out, bool json, unsigned indent);

/* A container: its items on one line if that fits and none spans lines, else one per line. */
static void render_container(struct hx_wire_reader *r, struct buf *out, bool json, unsigned indent,
                             const struct hx_wire_item *item)
{
	bool map = item->type == HX_WIRE_MAP;
	size_t n = map ? 2 * item->value : item->value;
	struct buf *parts = calloc(n ? n : 1, sizeof(*parts));
	size_t inline_len = 2;
	bool one_line = true;

	if (!parts)
		die(EXIT_USAGE, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (map && i % 2 == 0 && json) {
			/* JSON keys are strings: a text key as it is, others as their notation. */
			struct hx_wire_reader peek = *r;
			struct hx_wire_item key;

			hx_wire_next(&peek, &key);
			if (key.type == HX_WIRE_TEXT) {
				render(r, &parts[i], json, indent + 1);
			} else {
				struct buf notation = { 0 };

				render(r, &notation, false, 0);
				for (char *nl; (nl = strchr(notation.data, '\n'));)
					*nl = ' ';
				render_text(&parts[i], (const uint8_t *)notation.data,
				            notation.len);
				free(notation.data);
			}
		} else {
			render(r, &parts[i], json, indent + 1);
		}
		inline_len += parts[i].len + 2;
		one_line = one_line && !memchr(parts[i].data, '\n', parts[i].len);
	}
	hx_wire_leave(r);
	one_line = one_line && indent * 2 + inline_len <= LINE_WIDTH;
	buf_str(out, map ? "{" : "[");
	for (size_t i = 0; i < n; i++) {
		bool key = map && i % 2 == 0;

		if (key || !map) {
			if (i > 0)
				buf_str(out, ",");
			if (one_line) {
				if (i > 0)
					buf_str(out, " ");
			} else {
				buf_str(out, "\n");
				for (unsigned k = 0; k <= indent; k++)
					buf_str(out, "  ");
			}
		}
		buf_add(out, parts[i].data, parts[i].len);
		if (key)
			buf_str(out, ": ");
		free(parts[i].data);
	}
	if (!one_line && n > 0) {
		buf_str(out, "\n");
		for (unsigned k = 0; k < indent; k++)
			buf_str(out, "  ");
	}
	buf_str(out, map ? "}" : "]");
	free(parts);
}

static void render(struct hx_wire_reader *r, struct buf *out, bool json, unsigned indent)
{
	struct hx_wire_item item;

	if (hx_wire_next(r, &item)) {
		buf_str(out, "?");
		return;
	}
	switch (item.type) {
	case HX_WIRE_UINT:
		buf_printf(out, "%" PRIu64, item.value);
		break;
	case HX_WIRE_NEGATIVE:
		if (item.value == UINT64_MAX)
			buf_str(out, "-18446744073709551616");
		else
			buf_printf(out, "-%" PRIu64, item.value + 1);
		break;
	case HX_WIRE_BYTES:
		if (json) {
			render_base64url(out, item.data, (size_t)item.value);
		} else {
			buf_str(out, "h'");
			for (uint64_t i = 0; i < item.value; i++)
				buf_printf(out, "%02x", item.data[i]);
			buf_str(out, "'");
		}
		break;
	case HX_WIRE_TEXT:
		render_text(out, item.data, (size_t)item.value);
		break;
	case HX_WIRE_ARRAY:
	case HX_WIRE_MAP:
		render_container(r, out, json, indent, &item);
		break;
	case HX_WIRE_FALSE:
		buf_str(out, "false");
		break;
	case HX_WIRE_TRUE:
		buf_str(out, "true");
		break;
	case HX_WIRE_NULL:
		buf_str(out, "null");
		break;
	}
}

static void render_payload(const struct hx_wire_message *msg, struct buf *out, bool json,
                           unsigned indent)
{
	struct hx_wire_reader r;

	hx_wire_reader_init(&r, msg->payload, msg->payload_len);
	render(&r, out, json, indent);
}

static const char *status_name(int32_t status)
{
	const char *name = hx_error_name(status);

	return status < 0 && strcmp(name, "HX_E?") != 0 ? name : NULL;
}

static void print_hexdump_context(const uint8_t *data, size_t len, size_t offset)
{
	size_t from = offset > 8 ? offset - 8 : 0, to = offset + 9 < len ? offset + 9 : len;

	if (len == 0)
		return;
	fprintf(stderr, "  bytes %zu..%zu:", from, to ? to - 1 : 0);
	for (size_t i = from; i < to; i++)
		fprintf(stderr, i == offset ? " [%02x]" : " %02x", data[i]);
	if (offset >= len)
		fputs(" [end]", stderr);
	fputc('\n', stderr);
}

static int cmd_decode(int argc, char **argv)
{
	bool json = false, payload_only = false;
	const char *path = NULL;
	struct hx_wire_message msg;
	struct hx_wire_error err;
	struct buf file, out = { 0 };
	const char *name;
	int status = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--payload-only"))
			payload_only = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			die(EXIT_USAGE, "usage: unknown option %s", argv[i]);
		else if (path)
			die(EXIT_USAGE, "usage: decode takes one FILE");
		else
			path = argv[i];
	}
	if (!path)
		die(EXIT_USAGE, "usage: decode needs a FILE (- for stdin)");
	file = read_file(path);
	if (hx_wire_decode(file.data, file.len, &msg, &err)) {
		fprintf(stderr, "wiretool: %s: invalid message at offset %zu: %s (%s)\n", path,
		        err.offset, err.reason, hx_error_name(err.code));
		print_hexdump_context((const uint8_t *)file.data, file.len, err.offset);
		status = EXIT_INVALID;
		goto done;
	}
	if (payload_only) {
		if (msg.payload_len)
			render_payload(&msg, &out, json, 0);
		printf("%s\n", out.len ? out.data : "");
		goto done;
	}
	name = status_name(msg.status);
	if (json) {
		printf("{\n  \"version\": %d,\n  \"kind\": \"%s\",\n  \"flags\": 0,\n",
		       HX_WIRE_VERSION, hx_wire_kind_name((int)msg.kind));
		printf("  \"request_id\": %" PRIu64 ",\n  \"source_id\": %" PRIu64 ",\n",
		       msg.request_id, msg.source_id);
		if (msg.target_name_len)
			printf("  \"target\": \"%s\",\n", msg.target_name);
		else
			printf("  \"target_id\": %" PRIu64 ",\n", msg.target_id);
		printf("  \"method\": %" PRIu32 ",\n  \"status\": %" PRId32 ",\n", msg.method,
		       msg.status);
		if (name)
			printf("  \"status_name\": \"%s\",\n", name);
		printf("  \"payload_length\": %zu%s\n", msg.payload_len,
		       msg.payload_len ? "," : "");
		if (msg.payload_len) {
			render_payload(&msg, &out, true, 1);
			printf("  \"payload\": %s\n", out.data);
		}
		printf("}\n");
	} else {
		printf("version: %d\nkind: %s\nflags: 0\n", HX_WIRE_VERSION,
		       hx_wire_kind_name((int)msg.kind));
		printf("request_id: %" PRIu64 "\nsource_id: %" PRIu64 "\n", msg.request_id,
		       msg.source_id);
		if (msg.target_name_len)
			printf("target: \"%s\"\n", msg.target_name);
		else
			printf("target_id: %" PRIu64 "\n", msg.target_id);
		printf("method: %" PRIu32 "\nstatus: %" PRId32, msg.method, msg.status);
		if (name)
			printf(" (%s)", name);
		printf("\n");
		printf("payload_length: %zu\n", msg.payload_len);
		if (msg.payload_len) {
			render_payload(&msg, &out, false, 0);
			printf("payload: %s\n", out.data);
		}
	}
done:
	free(out.data);
	free(file.data);
	return status;
}

/* ---- encode ---------------------------------------------------------------------------------- */

static uint64_t parse_u64(const char *option, const char *value, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno || end == value || *end || value[0] == '-' || v > max)
		die(EXIT_USAGE, "usage: %s wants a number from 0 to %" PRIu64 ", not '%s'", option,
		    max, value);
	return v;
}

static int64_t parse_status(const char *value)
{
	char *end;
	long long v;

	for (int code = 1; code < 4096; code++) {
		const char *name = hx_error_name(-code);

		if (!strcmp(name, value) || (!strncmp(name, "HX_", 3) && !strcmp(name + 3, value)))
			return -code;
	}
	errno = 0;
	v = strtoll(value, &end, 0);
	if (errno || end == value || *end || v < INT32_MIN || v > INT32_MAX)
		die(EXIT_USAGE, "usage: --status wants an int32 or an HX_E* name, not '%s'", value);
	return v;
}

static int parse_kind(const char *value)
{
	for (int k = 0; k < 256; k++) {
		const char *name = hx_wire_kind_name(k);

		if (name && !strcmp(name, value))
			return k;
	}
	if (!strcmp(value, "oneway"))
		return HX_WIRE_ONEWAY;
	return (int)parse_u64("--kind", value, 255);
}

static void hex_bytes(const char *option, const char *text, struct buf *out)
{
	int high = -1;

	for (const char *c = text; *c; c++) {
		int v = hex_value(*c);

		if (strchr(" :\t\n", *c))
			continue;
		if (v < 0)
			die(EXIT_USAGE, "usage: %s wants hex digits, not '%c'", option, *c);
		if (high < 0) {
			high = v;
		} else {
			char byte = (char)(high << 4 | v);

			buf_add(out, &byte, 1);
			high = -1;
		}
	}
	if (high >= 0)
		die(EXIT_USAGE, "usage: %s has an odd number of hex digits", option);
}

static void put_le_bytes(struct buf *out, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8) {
		char byte = (char)(v & 0xff);

		buf_add(out, &byte, 1);
	}
}

static int cmd_encode(int argc, char **argv)
{
	struct hx_wire_message msg = { .kind = HX_WIRE_REQUEST };
	const char *payload_text = NULL, *payload_file = NULL, *out_path = NULL, *target = NULL;
	struct buf payload = { 0 }, payload_hex = { 0 }, append = { 0 }, message = { 0 };
	bool json = false, unchecked = false, have_hex = false;
	int kind = HX_WIRE_REQUEST;
	uint64_t version = HX_WIRE_VERSION, flags = 0;
	int64_t name_len = -1, payload_len = -1, truncate_to = -1, status = 0;
	FILE *out;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(arg, "--unchecked")) {
			unchecked = true;
			continue;
		}
		if (!strcmp(arg, "--") && i + 1 < argc) {
			arg =
			    argv[++i]; /* what follows is the payload, even if it starts with '-' */
		} else if (arg[0] == '-' && arg[1] != '\0' && !(arg[1] >= '0' && arg[1] <= '9')) {
			arg = NULL; /* an option; a negative number is a payload */
		}
		if (arg) {
			if (payload_text)
				die(EXIT_USAGE, "usage: more than one PAYLOAD argument");
			payload_text = arg;
			continue;
		}
		arg = argv[i];
		if (!value)
			die(EXIT_USAGE, "usage: unknown option or missing value: %s", arg);
		i++;
		if (!strcmp(arg, "--kind"))
			kind = parse_kind(value);
		else if (!strcmp(arg, "--request-id"))
			msg.request_id = parse_u64(arg, value, UINT64_MAX);
		else if (!strcmp(arg, "--source"))
			msg.source_id = parse_u64(arg, value, UINT64_MAX);
		else if (!strcmp(arg, "--target"))
			target = value;
		else if (!strcmp(arg, "--target-id"))
			msg.target_id = parse_u64(arg, value, UINT64_MAX);
		else if (!strcmp(arg, "--method"))
			msg.method = (uint32_t)parse_u64(arg, value, UINT32_MAX);
		else if (!strcmp(arg, "--status"))
			status = parse_status(value);
		else if (!strcmp(arg, "--payload-file"))
			payload_file = value;
		else if (!strcmp(arg, "--payload-hex")) {
			hex_bytes(arg, value, &payload_hex);
			have_hex = true;
		} else if (!strcmp(arg, "-o"))
			out_path = value;
		else if (!strcmp(arg, "--version"))
			version = parse_u64(arg, value, 255);
		else if (!strcmp(arg, "--flags"))
			flags = parse_u64(arg, value, 255);
		else if (!strcmp(arg, "--name-len"))
			name_len = (int64_t)parse_u64(arg, value, 255);
		else if (!strcmp(arg, "--payload-len"))
			payload_len = (int64_t)parse_u64(arg, value, UINT32_MAX);
		else if (!strcmp(arg, "--append-hex"))
			hex_bytes(arg, value, &append);
		else if (!strcmp(arg, "--truncate"))
			truncate_to = (int64_t)parse_u64(arg, value, UINT32_MAX);
		else
			die(EXIT_USAGE, "usage: unknown option %s", arg);
	}
	if (!unchecked && (version != HX_WIRE_VERSION || flags || name_len >= 0 ||
	                   payload_len >= 0 || append.len || truncate_to >= 0))
		die(EXIT_USAGE,
		    "usage: --version, --flags, --name-len, --payload-len, --append-hex "
		    "and --truncate need --unchecked");
	if ((payload_text != NULL) + (payload_file != NULL) + have_hex > 1)
		die(EXIT_USAGE, "usage: give the payload once: PAYLOAD, --payload-file or "
		                "--payload-hex");
	if (!unchecked && target && msg.target_id)
		die(EXIT_USAGE, "usage: --target and --target-id exclude each other");

	/* The payload: parsed and built (always valid), or raw hex (checked unless --unchecked). */
	if (have_hex) {
		struct hx_wire_error err;

		payload = payload_hex;
		if (!unchecked && hx_wire_check_payload(payload.data, payload.len, &err))
			die(EXIT_INVALID, "--payload-hex: offset %zu: %s", err.offset, err.reason);
	} else if (payload_file) {
		struct buf text = read_file(payload_file);

		encode_payload(text.data, text.len, json, &payload);
		free(text.data);
	} else if (payload_text) {
		encode_payload(payload_text, strlen(payload_text), json, &payload);
	}

	if (unchecked) {
		size_t target_len = target ? strlen(target) : 0;

		if (target_len > 255)
			die(EXIT_USAGE, "usage: --target longer than 255 bytes");
		buf_add(&message, "HXWM", 4);
		put_le_bytes(&message, version, 1);
		put_le_bytes(&message, (uint64_t)kind, 1);
		put_le_bytes(&message, flags, 1);
		put_le_bytes(&message, name_len >= 0 ? (uint64_t)name_len : target_len, 1);
		put_le_bytes(&message, msg.request_id, 8);
		put_le_bytes(&message, msg.source_id, 8);
		put_le_bytes(&message, msg.target_id, 8);
		put_le_bytes(&message, msg.method, 4);
		put_le_bytes(&message, (uint32_t)(int32_t)status, 4);
		put_le_bytes(&message, payload_len >= 0 ? (uint64_t)payload_len : payload.len, 4);
		buf_add(&message, target ? target : "", target_len);
		buf_add(&message, payload.data ? payload.data : "", payload.len);
		buf_add(&message, append.data ? append.data : "", append.len);
		if (truncate_to >= 0 && (size_t)truncate_to < message.len)
			message.len = (size_t)truncate_to;
	} else {
		struct hx_wire_error err;
		size_t len;

		msg.kind = (enum hx_wire_kind)kind;
		msg.status = (int32_t)status;
		if (target && hx_wire_set_target_name(&msg, target))
			die(EXIT_INVALID, "--target '%s' is not a valid name (1-31 of [a-z0-9_.-])",
			    target);
		msg.payload = (const uint8_t *)payload.data;
		msg.payload_len = payload.len;
		buf_reserve(&message, HX_WIRE_MAX_MESSAGE + 1);
		if (hx_wire_encode(&msg, message.data, HX_WIRE_MAX_MESSAGE, &len, &err))
			die(EXIT_INVALID, "cannot encode: %s (%s)", err.reason,
			    hx_error_name(err.code));
		message.len = len;
	}

	if (!out_path || !strcmp(out_path, "-")) {
		if (isatty(STDOUT_FILENO))
			die(EXIT_USAGE, "usage: refusing to write a binary message to a terminal; "
			                "use -o FILE or a pipe");
		out = stdout;
	} else {
		char *real = resolve(out_path);

		out = fopen(real, "wb");
		if (!out)
			die(EXIT_USAGE, "cannot write %s: %s", out_path, strerror(errno));
		free(real);
	}
	if (fwrite(message.data, 1, message.len, out) != message.len || fflush(out) ||
	    (out != stdout && fclose(out)))
		die(EXIT_USAGE, "cannot write %s: %s", out_path ? out_path : "stdout",
		    strerror(errno));
	free(message.data);
	free(payload.data);
	free(append.data);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2)
		die(EXIT_USAGE, "usage: say decode or encode");
	if (!strcmp(argv[1], "decode"))
		return cmd_decode(argc - 2, argv + 2);
	if (!strcmp(argv[1], "encode"))
		return cmd_encode(argc - 2, argv + 2);
	die(EXIT_USAGE, "usage: unknown command '%s'", argv[1]);
}
