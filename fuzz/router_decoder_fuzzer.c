// SPDX-License-Identifier: MIT
/*
 * router_decoder_fuzzer: arbitrary bytes into the wire format's strict decoder (helix/ipc/wire.h,
 * docs/wire-format.md), the trust boundary between user programs and the router.
 *
 * Each input is used twice: as a whole message for hx_wire_decode, and as a bare payload for
 * hx_wire_check_payload (so the fuzzer reaches the CBOR profile without first having to find a
 * valid 44-byte header). The properties, each checked on every input:
 *
 *  accepted message
 *   D1 the decoded fields match the header bytes (an independent little-endian parse), the name is
 *      valid and NUL-padded, the payload is the rest of the input;
 *   D2 one encoding per value: hx_wire_encode of the decoded message gives the input back byte for
 *      byte, and decoding that gives an equal message (every field; the payloads walked side by
 *      side with the reader give the same items);
 *   D3 the reader walks the whole accepted payload without an error, every item's head starts
 *      where the previous item ended, and the walk ends exactly at the payload's end;
 *   D4 the builder, fed the walked items, rebuilds the payload (and, in message mode, the whole
 *      message) byte for byte: builder and decoder enforce one profile;
 *   D5 hx_wire_check_payload accepts the payload;
 *   D6 hx_wire_encode into a buffer one byte short fails with -HX_ENOSPC and writes nothing;
 *   D7 the profile, checked again by oracles written here (builder and encoder share wire.c's
 *      checks, so D2 and D4 cannot see a rule wire.c forgets): shortest heads (D3's offsets), at
 *      most 16 levels, map keys in strictly increasing bytewise order, RFC 3629 UTF-8.
 *  rejected message
 *   R1 the code is one wire.h documents for hx_wire_decode (EBADMSG, EPROTO, EMSGSIZE), the error
 *      struct repeats it, has a reason and an offset inside the input, and *out was not written;
 *   R2 differential: an envelope oracle written here from docs/wire-format.md §1 and §4 (the
 *      checks in message order) predicts the code and offset of every header error, and when the
 *      envelope is valid the decoder's verdict on the payload is hx_wire_check_payload's, offset
 *      shifted by the payload's start.
 *  bare payload
 *   P1 check_payload returns 0 or a documented code (EBADMSG, EMSGSIZE) with a reason and an offset
 *      inside the bytes; when it accepts, D3, D4 and D7 hold for the bytes.
 *   P2 on any bytes the reader stays inside the buffer (ASan) and ends; its errors are documented.
 *
 * A violated property prints "<program>: property <id> violated: ..." with the values
 * and aborts. With HX_FUZZ_TRACE set in the environment, every input is decoded to stderr first
 * (the header fields and the payload's items), which `./helix fuzz --reproduce FILE` shows before
 * the stack trace.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <helix/errors.h>
#include <helix/ipc/wire.h>

#include "fuzz/engine/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *error_name(int code)
{
	return code == 0 ? "0" : hx_error_name(code);
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes-- > 0)
		v = v << 8 | p[bytes];
	return v;
}

/* ---- Walking a payload with the reader --------------------------------------------------------
 */

struct walk_item {
	struct hx_wire_item item;
	size_t head_len;
};

/* The shortest head's size for an argument (the profile allows no other on accepted bytes). */
static size_t head_len_of(uint64_t arg)
{
	return arg < 24 ? 1 : arg <= 0xff ? 2 : arg <= 0xffff ? 3 : arg <= 0xffffffffu ? 5 : 9;
}

static const char *type_name(enum hx_wire_type type)
{
	static const char *const names[] = { "?",     "uint", "negative", "bytes", "text",
		                             "array", "map",  "false",    "true",  "null" };

	return (unsigned)type < HX_ARRAY_SIZE(names) ? names[type] : "?";
}

static void trace_item(const struct hx_wire_item *item)
{
	if (!hx_fuzz_tracing())
		return;
	fprintf(stderr, "    %*s@%zu %s", (int)(2 * item->depth), "", item->offset,
	        type_name(item->type));
	switch (item->type) {
	case HX_WIRE_UINT:
		fprintf(stderr, " %llu\n", (unsigned long long)item->value);
		break;
	case HX_WIRE_NEGATIVE:
		/* -1 - n; -2^64 does not fit in 64 bits. */
		if (item->value == UINT64_MAX)
			fprintf(stderr, " -18446744073709551616\n");
		else
			fprintf(stderr, " -%llu\n", (unsigned long long)item->value + 1);
		break;
	case HX_WIRE_BYTES:
	case HX_WIRE_TEXT:
		fprintf(stderr, " (%llu bytes) %c", (unsigned long long)item->value,
		        item->type == HX_WIRE_TEXT ? '"' : '\'');
		for (uint64_t i = 0; i < item->value && i < 48; i++) {
			uint8_t c = item->data[i];

			if (item->type == HX_WIRE_TEXT && c >= 0x20 && c < 0x7f && c != '"')
				fputc(c, stderr);
			else
				fprintf(stderr, "\\x%02x", c);
		}
		fprintf(stderr, "%s%c\n", item->value > 48 ? "..." : "",
		        item->type == HX_WIRE_TEXT ? '"' : '\'');
		break;
	case HX_WIRE_ARRAY:
		fprintf(stderr, " of %llu\n", (unsigned long long)item->value);
		break;
	case HX_WIRE_MAP:
		fprintf(stderr, " of %llu pairs\n", (unsigned long long)item->value);
		break;
	default:
		fputc('\n', stderr);
		break;
	}
}

/*
 * D7's oracles: the profile's rules written again here, independently of wire.c (the builder and
 * the encoder share wire.c's checks, so a rule wire.c forgets would pass D2 and D4 unnoticed).
 * UTF-8 by RFC 3629's definition: the decoded code point, not byte ranges.
 */
static bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t c = s[i], min;
		size_t more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			more = 1, c &= 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, c &= 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, c &= 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
}

/* An open container during the walk, for the key-order oracle. */
struct open_level {
	bool map;
	uint64_t index;    /* items of it read so far */
	size_t key_start;  /* the current key's head */
	size_t prev_start; /* the previous key's encoding, when index > 2 */
	size_t prev_len;
};

/* D7: a key's encoding (@p[start, start + len)) must sort strictly after the previous one's. */
static void check_key_order(const uint8_t *p, struct open_level *level, size_t start, size_t len)
{
	if (level->index > 2) {
		size_t common = len < level->prev_len ? len : level->prev_len;
		int c = memcmp(p + level->prev_start, p + start, common);

		HX_FUZZ_REQUIRE(
		    "D7", c < 0 || (c == 0 && level->prev_len < len),
		    "accepted a map whose key at %zu (%zu bytes) does not sort after the key at "
		    "%zu (%zu bytes): %s",
		    start, len, level->prev_start, level->prev_len,
		    c == 0 && len == level->prev_len ? "duplicate key" : "out of order");
	}
	level->prev_start = start;
	level->prev_len = len;
}

/*
 * Walk @len accepted payload bytes at @p in pre-order (D3): every item is recorded in @items
 * (room for @len of them: each takes a byte at least), every head must start where the previous
 * item ended, and the walk must consume exactly @len bytes. Returns the item count.
 */
static size_t walk_accepted(const char *property, const uint8_t *p, size_t len,
                            struct walk_item *items, bool print)
{
	struct hx_wire_reader r;
	struct open_level levels[HX_WIRE_MAX_DEPTH + 2];
	size_t count = 0, expect_at = 0;

	hx_wire_reader_init(&r, p, len);
	for (;;) {
		struct hx_wire_item item;
		unsigned depth = hx_wire_depth(&r);
		int rc;

		if (!hx_wire_more(&r)) {
			HX_FUZZ_REQUIRE(
			    property, hx_wire_reader_error(&r) == 0,
			    "reader error %s on an accepted payload (%zu bytes, after %zu items)",
			    error_name(hx_wire_reader_error(&r)), len, count);
			if (depth == 0)
				break;
			rc = hx_wire_leave(&r);
			HX_FUZZ_REQUIRE(property, rc == 0 && hx_wire_depth(&r) == depth - 1,
			                "hx_wire_leave at depth %u returned %s, depth now %u",
			                depth, error_name(rc), hx_wire_depth(&r));
			continue;
		}
		rc = hx_wire_next(&r, &item);
		HX_FUZZ_REQUIRE(
		    property, rc == 0,
		    "hx_wire_next returned %s on an accepted payload at offset %zu (item %zu)",
		    error_name(rc), expect_at, count);
		if (print)
			trace_item(&item);
		HX_FUZZ_REQUIRE(property, count < len, "more items (%zu) than payload bytes (%zu)",
		                count + 1, len);
		HX_FUZZ_REQUIRE(property, item.depth == depth,
		                "item %zu: depth %u, reader was at depth %u", count, item.depth,
		                depth);
		HX_FUZZ_REQUIRE(property, item.offset == expect_at,
		                "item %zu (%s) starts at %zu, the previous item ended at %zu",
		                count, type_name(item.type), item.offset, expect_at);
		/* D7: nesting, key order (a key ends where its value starts), text. */
		if (item.type == HX_WIRE_ARRAY || item.type == HX_WIRE_MAP) {
			HX_FUZZ_REQUIRE(
			    "D7", item.depth < HX_WIRE_MAX_DEPTH,
			    "accepted a container at depth %u (at %zu): more than %u levels",
			    item.depth, item.offset, HX_WIRE_MAX_DEPTH);
			levels[item.depth + 1] =
			    (struct open_level){ .map = item.type == HX_WIRE_MAP };
		}
		if (item.depth > 0 && levels[item.depth].map) {
			struct open_level *level = &levels[item.depth];

			if (level->index % 2 == 0)
				level->key_start = item.offset;
			else
				check_key_order(p, level, level->key_start,
				                item.offset - level->key_start);
		}
		if (item.depth > 0)
			levels[item.depth].index++;
		if (item.type == HX_WIRE_TEXT)
			HX_FUZZ_REQUIRE("D7", utf8_valid(item.data, (size_t)item.value),
			                "accepted invalid UTF-8 in the text at %zu", item.offset);
		items[count].item = item;
		items[count].head_len = item.type >= HX_WIRE_FALSE ? 1 : head_len_of(item.value);
		expect_at = item.offset + items[count].head_len;
		if (item.type == HX_WIRE_BYTES || item.type == HX_WIRE_TEXT) {
			HX_FUZZ_REQUIRE(
			    property, item.data == p + expect_at && item.value <= len - expect_at,
			    "item %zu: %s of %llu bytes at %zu: data %p, payload %p..+%zu", count,
			    type_name(item.type), (unsigned long long)item.value, item.offset,
			    (const void *)item.data, (const void *)p, len);
			expect_at += (size_t)item.value;
		} else {
			HX_FUZZ_REQUIRE(property, item.data == NULL, "item %zu: %s has data", count,
			                type_name(item.type));
		}
		if (item.type >= HX_WIRE_FALSE)
			HX_FUZZ_REQUIRE(property, item.value == 0, "item %zu: %s with value %llu",
			                count, type_name(item.type),
			                (unsigned long long)item.value);
		count++;
	}
	HX_FUZZ_REQUIRE(property, expect_at == len, "the walk ended at %zu of %zu payload bytes",
	                expect_at, len);
	HX_FUZZ_REQUIRE(property, count == 0 || len != 0, "items in an empty payload");
	/* At the end: nothing left, and reading on is the documented ENOENT. */
	{
		struct hx_wire_item extra;
		int rc = hx_wire_next(&r, &extra);

		HX_FUZZ_REQUIRE(property, rc == -HX_ENOENT,
		                "hx_wire_next after the last item returned %s", error_name(rc));
	}
	/* hx_wire_skip of the top item passes over everything at once. */
	if (len != 0) {
		int rc;

		hx_wire_reader_init(&r, p, len);
		rc = hx_wire_skip(&r);
		HX_FUZZ_REQUIRE(property, rc == 0 && !hx_wire_more(&r) && hx_wire_depth(&r) == 0,
		                "hx_wire_skip of the whole payload returned %s, more %d",
		                error_name(rc), hx_wire_more(&r));
		rc = hx_wire_leave(&r);
		HX_FUZZ_REQUIRE(property, rc == -HX_ENOENT, "hx_wire_leave at the top returned %s",
		                error_name(rc));
	}
	return count;
}

/* Feed recorded items to a builder, in order. */
static void build_items(struct hx_wire_builder *b, const struct walk_item *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct hx_wire_item *item = &items[i].item;

		switch (item->type) {
		case HX_WIRE_UINT:
			hx_wire_put_uint(b, item->value);
			break;
		case HX_WIRE_NEGATIVE:
			hx_wire_put_negative(b, item->value);
			break;
		case HX_WIRE_BYTES:
			hx_wire_put_bytes(b, item->data, (size_t)item->value);
			break;
		case HX_WIRE_TEXT:
			hx_wire_put_text(b, (const char *)item->data, (size_t)item->value);
			break;
		case HX_WIRE_ARRAY:
			hx_wire_put_array(b, (size_t)item->value);
			break;
		case HX_WIRE_MAP:
			hx_wire_put_map(b, (size_t)item->value);
			break;
		case HX_WIRE_FALSE:
			hx_wire_put_bool(b, false);
			break;
		case HX_WIRE_TRUE:
			hx_wire_put_bool(b, true);
			break;
		case HX_WIRE_NULL:
			hx_wire_put_null(b);
			break;
		}
	}
}

/* D4 / P1: the builder gives @len bytes at @p back from the items walked out of them. */
static void check_rebuild(const char *property, const uint8_t *p, size_t len,
                          const struct walk_item *items, size_t count)
{
	struct hx_wire_builder b;
	struct hx_wire_error err;
	uint8_t *out = malloc(len ? len : 1); /* exact size: an overrun is an ASan report */
	size_t out_len = 0;
	int rc;

	if (!out)
		abort();
	hx_wire_builder_init(&b, out, len);
	build_items(&b, items, count);
	rc = hx_wire_builder_finish(&b, &out_len, &err);
	HX_FUZZ_REQUIRE(
	    property, rc == 0,
	    "the builder refused the walked items of an accepted payload: %s at %zu (%s)",
	    error_name(rc), err.offset, err.reason ? err.reason : "no reason");
	HX_FUZZ_REQUIRE(
	    property, out_len == len && memcmp(out, p, len) == 0,
	    "the builder made %zu bytes from %zu accepted payload bytes, not the same ones",
	    out_len, len);
	free(out);
}

/* The typed reads agree with hx_wire_next on every item (the first integer that does not fit
 * int64_t ends the pass: errors are sticky). */
static void check_typed_reads(const uint8_t *p, size_t len, const struct walk_item *items,
                              size_t count)
{
	struct hx_wire_reader r;
	size_t i;

	hx_wire_reader_init(&r, p, len);
	for (i = 0; i < count; i++) {
		const struct hx_wire_item *item = &items[i].item;
		uint64_t u = 0;
		int64_t s = 0;
		bool flag = false;
		const uint8_t *bytes = NULL;
		const char *text = NULL;
		size_t n = 0;
		int rc = 0;

		/* Leave containers whose items are all read, as the walk did. */
		while (hx_wire_depth(&r) > item->depth) {
			rc = hx_wire_leave(&r);
			HX_FUZZ_REQUIRE("D3", rc == 0, "typed pass: hx_wire_leave returned %s",
			                error_name(rc));
		}
		switch (item->type) {
		case HX_WIRE_UINT:
			rc = hx_wire_read_uint(&r, &u);
			HX_FUZZ_REQUIRE("D3", rc == 0 && u == item->value,
			                "hx_wire_read_uint: %s, %llu (next gave %llu)",
			                error_name(rc), (unsigned long long)u,
			                (unsigned long long)item->value);
			break;
		case HX_WIRE_NEGATIVE:
			rc = hx_wire_read_int(&r, &s);
			if (item->value > INT64_MAX) {
				HX_FUZZ_REQUIRE(
				    "D3", rc == -HX_ERANGE,
				    "hx_wire_read_int of -1-%llu returned %s, not HX_ERANGE",
				    (unsigned long long)item->value, error_name(rc));
				return;
			}
			HX_FUZZ_REQUIRE("D3", rc == 0 && s == -1 - (int64_t)item->value,
			                "hx_wire_read_int: %s, %lld (next gave -1-%llu)",
			                error_name(rc), (long long)s,
			                (unsigned long long)item->value);
			break;
		case HX_WIRE_BYTES:
			rc = hx_wire_read_bytes(&r, &bytes, &n);
			HX_FUZZ_REQUIRE("D3", rc == 0 && bytes == item->data && n == item->value,
			                "hx_wire_read_bytes: %s", error_name(rc));
			break;
		case HX_WIRE_TEXT:
			rc = hx_wire_read_text(&r, &text, &n);
			HX_FUZZ_REQUIRE("D3",
			                rc == 0 && (const uint8_t *)text == item->data &&
			                    n == item->value,
			                "hx_wire_read_text: %s", error_name(rc));
			break;
		case HX_WIRE_ARRAY:
			rc = hx_wire_read_array(&r, &n);
			HX_FUZZ_REQUIRE("D3", rc == 0 && n == item->value, "hx_wire_read_array: %s",
			                error_name(rc));
			break;
		case HX_WIRE_MAP:
			rc = hx_wire_read_map(&r, &n);
			HX_FUZZ_REQUIRE("D3", rc == 0 && n == item->value, "hx_wire_read_map: %s",
			                error_name(rc));
			break;
		case HX_WIRE_FALSE:
		case HX_WIRE_TRUE:
			rc = hx_wire_read_bool(&r, &flag);
			HX_FUZZ_REQUIRE("D3", rc == 0 && flag == (item->type == HX_WIRE_TRUE),
			                "hx_wire_read_bool: %s", error_name(rc));
			break;
		case HX_WIRE_NULL:
			rc = hx_wire_read_null(&r);
			HX_FUZZ_REQUIRE("D3", rc == 0, "hx_wire_read_null: %s", error_name(rc));
			break;
		}
	}
	/* A typed read of the wrong type fails with EINVAL (and consumes the item). */
	if (count > 0 && items[0].item.type != HX_WIRE_NULL) {
		int rc;

		hx_wire_reader_init(&r, p, len);
		rc = hx_wire_read_null(&r);
		HX_FUZZ_REQUIRE("D3", rc == -HX_EINVAL, "hx_wire_read_null of a %s returned %s",
		                type_name(items[0].item.type), error_name(rc));
	}
}

/* P2: the reader on bytes nobody checked: it must end, stay in bounds and fail only as
 * documented. Every successful step consumes a head byte, so @len + 1 steps are enough. */
static void walk_unchecked(const uint8_t *p, size_t len)
{
	struct hx_wire_reader r;

	hx_wire_reader_init(&r, p, len);
	for (size_t steps = 0;; steps++) {
		struct hx_wire_item item;
		int rc;

		HX_FUZZ_REQUIRE("P2", steps <= 2 * len + 2,
		                "the reader did not finish %zu bytes in %zu steps", len, steps);
		if (hx_wire_more(&r)) {
			rc = hx_wire_next(&r, &item);
			if (rc == 0) {
				HX_FUZZ_REQUIRE("P2",
				                item.offset < len &&
				                    hx_wire_depth(&r) <= HX_WIRE_MAX_DEPTH,
				                "item at %zu of %zu, depth %u", item.offset, len,
				                hx_wire_depth(&r));
				continue;
			}
		} else if (hx_wire_reader_error(&r) == 0 && hx_wire_depth(&r) > 0) {
			rc = hx_wire_leave(&r);
			if (rc == 0)
				continue;
		} else {
			rc = hx_wire_reader_error(&r);
		}
		HX_FUZZ_REQUIRE("P2", rc == 0 || rc == -HX_EBADMSG || rc == -HX_ENOENT,
		                "the reader failed with %s, which wire.h does not document for it",
		                error_name(rc));
		return;
	}
}

/* ---- The envelope oracle (docs/wire-format.md §1 and §4, in message order) ---------------------
 */

struct verdict {
	int code;      /* 0: the envelope is valid */
	size_t offset; /* of the first problem */
};

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static struct verdict envelope_oracle(const uint8_t *p, size_t len)
{
	static const uint8_t magic[4] = { 'H', 'X', 'W', 'M' };
	size_t name_len, payload_at, payload_len;
	uint32_t status_bits;
	int32_t status;
	uint8_t kind;

	if (len > HX_WIRE_MAX_MESSAGE)
		return (struct verdict){ -HX_EMSGSIZE, HX_WIRE_MAX_MESSAGE };
	for (size_t i = 0; i < 4; i++) {
		if (i == len)
			return (struct verdict){ -HX_EBADMSG, len };
		if (p[i] != magic[i])
			return (struct verdict){ -HX_EBADMSG, i };
	}
	if (len <= 4)
		return (struct verdict){ -HX_EBADMSG, len };
	if (p[4] != 1)
		return (struct verdict){ -HX_EPROTO, 4 };
	if (len < 44)
		return (struct verdict){ -HX_EBADMSG, len };
	kind = p[5];
	if (kind < 1 || kind > 4)
		return (struct verdict){ -HX_EPROTO, 5 };
	if (p[6] != 0)
		return (struct verdict){ -HX_EPROTO, 6 };
	name_len = p[7];
	if (name_len > 31)
		return (struct verdict){ -HX_EBADMSG, 7 };
	if (name_len != 0 && le(p + 24, 8) != 0)
		return (struct verdict){ -HX_EBADMSG, 24 };
	status_bits = (uint32_t)le(p + 36, 4);
	status = status_bits > INT32_MAX ? (int32_t)(status_bits - 0x80000000u) + INT32_MIN
	                                 : (int32_t)status_bits;
	if (kind == 3 ? status >= 0 || status < -4095 : status != 0)
		return (struct verdict){ -HX_EBADMSG, 36 };
	if (name_len > len - 44)
		return (struct verdict){ -HX_EBADMSG, 44 };
	for (size_t i = 0; i < name_len; i++)
		if (!name_char(p[44 + i]))
			return (struct verdict){ -HX_EBADMSG, 44 + i };
	payload_at = 44 + name_len;
	payload_len = (size_t)le(p + 40, 4);
	if (payload_len > len - payload_at)
		return (struct verdict){ -HX_EBADMSG, payload_at };
	if (payload_len < len - payload_at)
		return (struct verdict){ -HX_EBADMSG, payload_at + payload_len };
	return (struct verdict){ 0, 0 };
}

/* ---- Messages ---------------------------------------------------------------------------------
 */

static void trace_message(const struct hx_wire_message *m)
{
	hx_fuzz_trace("  kind %d (%s), request_id %llu, source_id %llu, target ", (int)m->kind,
	              hx_wire_kind_name((int)m->kind) ? hx_wire_kind_name((int)m->kind) : "?",
	              (unsigned long long)m->request_id, (unsigned long long)m->source_id);
	if (m->target_name_len)
		hx_fuzz_trace("name \"%s\"", m->target_name);
	else
		hx_fuzz_trace("id %llu", (unsigned long long)m->target_id);
	hx_fuzz_trace(", method %u, status %d (%s), payload %zu bytes\n", (unsigned)m->method,
	              (int)m->status, error_name(m->status), m->payload_len);
}

/* D2: every field of two decoded messages (the payloads as bytes; the item walk is separate). */
static void require_same_message(const struct hx_wire_message *a, const struct hx_wire_message *b)
{
	HX_FUZZ_REQUIRE("D2", a->kind == b->kind, "kind %d, after a round trip %d", (int)a->kind,
	                (int)b->kind);
	HX_FUZZ_REQUIRE("D2", a->request_id == b->request_id,
	                "request_id %llu, after a round trip %llu",
	                (unsigned long long)a->request_id, (unsigned long long)b->request_id);
	HX_FUZZ_REQUIRE("D2", a->source_id == b->source_id,
	                "source_id %llu, after a round trip %llu", (unsigned long long)a->source_id,
	                (unsigned long long)b->source_id);
	HX_FUZZ_REQUIRE("D2", a->target_id == b->target_id,
	                "target_id %llu, after a round trip %llu", (unsigned long long)a->target_id,
	                (unsigned long long)b->target_id);
	HX_FUZZ_REQUIRE("D2", a->target_name_len == b->target_name_len,
	                "target_name_len %u, after a round trip %u", a->target_name_len,
	                b->target_name_len);
	HX_FUZZ_REQUIRE("D2", memcmp(a->target_name, b->target_name, sizeof(a->target_name)) == 0,
	                "target_name \"%.31s\", after a round trip \"%.31s\"", a->target_name,
	                b->target_name);
	HX_FUZZ_REQUIRE("D2", a->method == b->method, "method %u, after a round trip %u",
	                (unsigned)a->method, (unsigned)b->method);
	HX_FUZZ_REQUIRE("D2", a->status == b->status, "status %d, after a round trip %d",
	                (int)a->status, (int)b->status);
	HX_FUZZ_REQUIRE(
	    "D2",
	    a->payload_len == b->payload_len &&
	        (a->payload_len == 0 || memcmp(a->payload, b->payload, a->payload_len) == 0),
	    "payload of %zu bytes, after a round trip %zu bytes (or other bytes)", a->payload_len,
	    b->payload_len);
}

/* D2: the two payloads give the same item sequence (type, depth, value, offset, string bytes). */
static void require_same_items(const struct walk_item *a, size_t a_count, const struct walk_item *b,
                               size_t b_count)
{
	HX_FUZZ_REQUIRE("D2", a_count == b_count, "%zu items, after a round trip %zu", a_count,
	                b_count);
	for (size_t i = 0; i < a_count; i++) {
		const struct hx_wire_item *x = &a[i].item, *y = &b[i].item;

		HX_FUZZ_REQUIRE(
		    "D2",
		    x->type == y->type && x->depth == y->depth && x->value == y->value &&
		        x->offset == y->offset,
		    "item %zu: %s depth %u value %llu at %zu, after a round trip %s depth %u "
		    "value %llu at %zu",
		    i, type_name(x->type), x->depth, (unsigned long long)x->value, x->offset,
		    type_name(y->type), y->depth, (unsigned long long)y->value, y->offset);
		if (x->type == HX_WIRE_BYTES || x->type == HX_WIRE_TEXT)
			HX_FUZZ_REQUIRE("D2", memcmp(x->data, y->data, (size_t)x->value) == 0,
			                "item %zu: string bytes differ after a round trip", i);
	}
}

static void check_accepted(const uint8_t *data, size_t size, const struct hx_wire_message *msg,
                           const struct hx_wire_error *err)
{
	size_t payload_at = HX_WIRE_HEADER_SIZE + msg->target_name_len, len = 0, count, count2;
	struct hx_wire_message again;
	struct hx_wire_error err2;
	struct walk_item *items, *items2;
	uint8_t *encoded;
	int rc;

	HX_FUZZ_REQUIRE("D1", err->code == 0 && err->reason == NULL,
	                "accepted, but the error struct says %s (%s)", error_name(err->code),
	                err->reason ? err->reason : "no reason");
	/* D1: the fields against the header bytes, read independently. */
	HX_FUZZ_REQUIRE("D1", size >= HX_WIRE_HEADER_SIZE,
	                "accepted %zu bytes: shorter than a header", size);
	HX_FUZZ_REQUIRE("D1", (unsigned)msg->kind == data[5] && hx_wire_kind_name((int)msg->kind),
	                "kind %d, byte 5 is %u", (int)msg->kind, data[5]);
	HX_FUZZ_REQUIRE("D1",
	                msg->request_id == le(data + 8, 8) && msg->source_id == le(data + 16, 8) &&
	                    msg->target_id == le(data + 24, 8) && msg->method == le(data + 32, 4) &&
	                    (uint32_t)msg->status == le(data + 36, 4),
	                "the ids, method or status differ from the header bytes");
	HX_FUZZ_REQUIRE("D1",
	                msg->target_name_len == data[7] && msg->target_name_len <= HX_WIRE_NAME_MAX,
	                "target_name_len %u, byte 7 is %u", msg->target_name_len, data[7]);
	HX_FUZZ_REQUIRE("D1", msg->target_name_len == 0 || msg->target_id == 0,
	                "target id %llu with a target name", (unsigned long long)msg->target_id);
	HX_FUZZ_REQUIRE("D1",
	                msg->target_name_len == 0 ||
	                    hx_wire_name_valid(msg->target_name, msg->target_name_len),
	                "accepted an invalid target name \"%.31s\"", msg->target_name);
	for (size_t i = msg->target_name_len; i < sizeof(msg->target_name); i++)
		HX_FUZZ_REQUIRE("D1", msg->target_name[i] == '\0',
		                "target_name[%zu] is 0x%02x after a name of %u characters", i,
		                (uint8_t)msg->target_name[i], msg->target_name_len);
	HX_FUZZ_REQUIRE("D1",
	                msg->kind == HX_WIRE_ERROR
	                    ? msg->status < 0 && msg->status >= HX_WIRE_STATUS_MIN
	                    : msg->status == 0,
	                "kind %d with status %d", (int)msg->kind, (int)msg->status);
	HX_FUZZ_REQUIRE("D1",
	                msg->payload == data + payload_at && msg->payload_len == size - payload_at,
	                "payload at %p (%zu bytes), expected the input's last %zu bytes at %p",
	                (const void *)msg->payload, msg->payload_len, size - payload_at,
	                (const void *)(data + payload_at));

	/* D5: the payload checker agrees with the decoder. */
	rc = hx_wire_check_payload(msg->payload, msg->payload_len, &err2);
	HX_FUZZ_REQUIRE(
	    "D5", rc == 0,
	    "the decoder accepted a payload hx_wire_check_payload refuses: %s at %zu (%s)",
	    error_name(rc), err2.offset, err2.reason ? err2.reason : "no reason");

	/* D3, D4: the reader walks it all; the builder rebuilds it. */
	items = malloc((msg->payload_len + 1) * sizeof(*items));
	items2 = malloc((msg->payload_len + 1) * sizeof(*items2));
	if (!items || !items2)
		abort();
	hx_fuzz_trace("  payload items:\n");
	count = walk_accepted("D3", msg->payload, msg->payload_len, items, true);
	check_rebuild("D4", msg->payload, msg->payload_len, items, count);
	check_typed_reads(msg->payload, msg->payload_len, items, count);

	/* D4 in message mode: header from the decoded fields, then the items. */
	{
		struct hx_wire_builder b;
		uint8_t *built = malloc(size);

		if (!built)
			abort();
		hx_wire_builder_init_message(&b, built, size, msg);
		build_items(&b, items, count);
		rc = hx_wire_builder_finish(&b, &len, &err2);
		HX_FUZZ_REQUIRE("D4", rc == 0 && len == size && memcmp(built, data, size) == 0,
		                "the message builder gave %s, %zu bytes (input: %zu bytes)%s%s",
		                error_name(rc), len, size, err2.reason ? ": " : "",
		                err2.reason ? err2.reason : "");
		free(built);
	}

	/* D2: one encoding per value. The buffer is exactly the input's size. */
	encoded = malloc(size);
	if (!encoded)
		abort();
	rc = hx_wire_encode(msg, encoded, size, &len, &err2);
	HX_FUZZ_REQUIRE("D2", rc == 0, "hx_wire_encode of a decoded message: %s at %zu (%s)",
	                error_name(rc), err2.offset, err2.reason ? err2.reason : "no reason");
	HX_FUZZ_REQUIRE("D2", len == size && memcmp(encoded, data, size) == 0,
	                "re-encoding gave %zu bytes, the input has %zu (or the bytes differ)", len,
	                size);
	rc = hx_wire_decode(encoded, len, &again, &err2);
	HX_FUZZ_REQUIRE("D2", rc == 0, "the re-encoding does not decode: %s at %zu (%s)",
	                error_name(rc), err2.offset, err2.reason ? err2.reason : "no reason");
	require_same_message(msg, &again);
	count2 = walk_accepted("D2", again.payload, again.payload_len, items2, false);
	require_same_items(items, count, items2, count2);

	/* D6: one byte short is ENOSPC, and nothing is written. */
	memset(encoded, 0xa5, size);
	rc = hx_wire_encode(msg, encoded, size - 1, &len, &err2);
	HX_FUZZ_REQUIRE("D6", rc == -HX_ENOSPC,
	                "hx_wire_encode into %zu bytes for a %zu-byte message: %s", size - 1, size,
	                error_name(rc));
	for (size_t i = 0; i < size; i++)
		HX_FUZZ_REQUIRE("D6", encoded[i] == 0xa5,
		                "a failed hx_wire_encode wrote byte %zu of its buffer", i);
	free(encoded);
	free(items);
	free(items2);
}

static void check_rejected(const uint8_t *data, size_t size, int rc,
                           const struct hx_wire_message *out,
                           const struct hx_wire_message *sentinel, const struct hx_wire_error *err)
{
	struct verdict expect = envelope_oracle(data, size);

	HX_FUZZ_REQUIRE("R1", rc == -HX_EBADMSG || rc == -HX_EPROTO || rc == -HX_EMSGSIZE,
	                "hx_wire_decode returned %s (%d), not a code wire.h documents for bytes",
	                error_name(rc), rc);
	HX_FUZZ_REQUIRE("R1", err->code == rc, "returned %s, the error struct says %s",
	                error_name(rc), error_name(err->code));
	HX_FUZZ_REQUIRE("R1", err->reason != NULL && err->reason[0] != '\0', "%s without a reason",
	                error_name(rc));
	HX_FUZZ_REQUIRE(
	    "R1", err->offset <= size || (rc == -HX_EMSGSIZE && err->offset == HX_WIRE_MAX_MESSAGE),
	    "%s (%s) at offset %zu, beyond the %zu-byte input", error_name(rc), err->reason,
	    err->offset, size);
	HX_FUZZ_REQUIRE("R1", memcmp(out, sentinel, sizeof(*out)) == 0,
	                "hx_wire_decode failed with %s but wrote *out", error_name(rc));

	/* R2: the oracle's envelope verdict, or the payload checker's on a valid envelope. */
	if (expect.code != 0) {
		HX_FUZZ_REQUIRE(
		    "R2", rc == expect.code && err->offset == expect.offset,
		    "envelope error: decoder says %s at %zu (%s), docs/wire-format.md says %s "
		    "at %zu",
		    error_name(rc), err->offset, err->reason, error_name(expect.code),
		    expect.offset);
	} else {
		size_t payload_at = HX_WIRE_HEADER_SIZE + data[HX_WIRE_OFF_NAME_LEN];
		struct hx_wire_error perr;
		int prc = hx_wire_check_payload(data + payload_at, size - payload_at, &perr);

		HX_FUZZ_REQUIRE(
		    "R2",
		    prc == rc && perr.offset + payload_at == err->offset &&
		        perr.reason == err->reason,
		    "valid envelope, decoder says %s at %zu (%s); the payload checker says %s "
		    "at %zu+%zu (%s)",
		    error_name(rc), err->offset, err->reason, error_name(prc), payload_at,
		    perr.offset, perr.reason ? perr.reason : "no reason");
	}
}

/* P1 and P2: the input as a bare payload. */
static void check_bare_payload(const uint8_t *data, size_t size)
{
	struct hx_wire_error err = { .code = 12345, .offset = 12345, .reason = "sentinel" };
	int rc = hx_wire_check_payload(data, size, &err);

	hx_fuzz_trace("as a bare payload: %s", error_name(rc));
	if (rc != 0)
		hx_fuzz_trace(" at %zu (%s)\n", err.offset, err.reason ? err.reason : "no reason");
	else
		hx_fuzz_trace("\n");
	if (rc == 0) {
		struct walk_item *items = malloc((size + 1) * sizeof(*items));
		size_t count;

		if (!items)
			abort();
		HX_FUZZ_REQUIRE("P1", err.code == 0 && err.reason == NULL,
		                "accepted, but the error struct says %s", error_name(err.code));
		count = walk_accepted("P1", data, size, items, false);
		check_rebuild("P1", data, size, items, count);
		free(items);
	} else {
		HX_FUZZ_REQUIRE(
		    "P1", rc == -HX_EBADMSG || rc == -HX_EMSGSIZE,
		    "hx_wire_check_payload returned %s, not a code wire.h documents for bytes",
		    error_name(rc));
		HX_FUZZ_REQUIRE("P1", err.code == rc && err.reason != NULL && err.reason[0] != '\0',
		                "returned %s, the error struct says %s (%s)", error_name(rc),
		                error_name(err.code), err.reason ? err.reason : "no reason");
		HX_FUZZ_REQUIRE("P1", err.offset <= size || rc == -HX_EMSGSIZE,
		                "%s (%s) at offset %zu beyond the %zu bytes", error_name(rc),
		                err.reason, err.offset, size);
	}
	walk_unchecked(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hx_wire_message msg, sentinel;
	struct hx_wire_error err = { .code = 12345, .offset = 12345, .reason = "sentinel" };
	int rc;

	/* libFuzzer may pass NULL for an empty input; the decoder takes NULL only with 0 bytes. */
	if (!data)
		size = 0;
	memset(&sentinel, 0x5c, sizeof(sentinel));
	memcpy(&msg, &sentinel, sizeof(msg));

	rc = hx_wire_decode(data, size, &msg, &err);
	hx_fuzz_trace("router_decoder: %zu bytes: hx_wire_decode -> %s", size, error_name(rc));
	if (rc == 0) {
		hx_fuzz_trace("\n");
		trace_message(&msg);
		check_accepted(data, size, &msg, &err);
	} else {
		hx_fuzz_trace(" at offset %zu: %s\n", err.offset,
		              err.reason ? err.reason : "(no reason)");
		check_rejected(data, size, rc, &msg, &sentinel, &err);
	}
	check_bare_payload(data, size);
	return 0;
}
