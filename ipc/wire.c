// SPDX-License-Identifier: MIT
/*
 * The wire format (helix/ipc/wire.h, docs/wire-format.md): the strict decoder, the reader, the
 * builder and the whole-message encoder.
 *
 * Bounds: every length read from the input is compared with what is left of the buffer
 * (`n > len - pos`, never `pos + n > len`, which wraps at 2^64), before anything is read at that
 * position. A container's count must fit in what is left too (each item takes at least a byte; a
 * map's pairs at least two), which also keeps every count below 2^32 and every offset in 32 bits.
 *
 * Depth: the decoder walks the payload with a loop and an explicit stack of at most
 * HX_WIRE_MAX_DEPTH open containers (struct hx_wire_level); opening a seventeenth is an error.
 * When an item is complete, item_complete() counts it in the innermost open container, checks it
 * against the previous key if it is a map key, and closes every container it completes. The
 * builder runs the same function over what it writes, so both sides enforce one rule set.
 *
 * Uniqueness: with shortest heads, definite lengths, no floats, tags or other simple values, each
 * value has exactly one encoding in the profile, so map keys are equal exactly when their
 * encodings are, and "strictly increasing encodings" is both the order and the uniqueness check.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/ipc/wire.h>
#include <helix/string.h>

HX_STATIC_ASSERT(HX_WIRE_MAX_MESSAGE <= UINT32_MAX, "offsets and counts are kept in 32 bits");
HX_STATIC_ASSERT(HX_WIRE_OFF_NAME == HX_WIRE_HEADER_SIZE, "the name follows the fixed header");

/* Major types (RFC 8949 §3.1). */
enum { MT_UINT, MT_NEGATIVE, MT_BYTES, MT_TEXT, MT_ARRAY, MT_MAP, MT_TAG, MT_SIMPLE };

/* Additional information values of major type 7 that the profile accepts. */
enum { SIMPLE_FALSE = 20, SIMPLE_TRUE = 21, SIMPLE_NULL = 22 };

static const char R_TRUNC_ARRAY[] = "truncated: array runs past the end";
static const char R_TRUNC_MAP[] = "truncated: map runs past the end";
static const char R_TOO_DEEP[] = "nesting deeper than 16";
static const char R_TOO_LARGE[] = "message larger than 64 KiB";

static int fail(struct hx_wire_error *err, int code, size_t offset, const char *reason)
{
	if (err) {
		err->code = code;
		err->offset = offset;
		err->reason = reason;
	}
	return code;
}

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes-- > 0)
		v = v << 8 | p[bytes];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Two's complement without relying on the implementation-defined unsigned -> signed conversion. */
static int32_t int32_from_bits(uint32_t v)
{
	return v <= INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1;
}

/* ---- UTF-8 ----------------------------------------------------------------------------------- */

/*
 * NULL when @s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), else why not, with *@bad the offending byte's offset. ASCII runs go 8 bytes at
 * a time (plain integer loads: the kernel build has no vector registers).
 */
static const char *utf8_check(const uint8_t *s, size_t len, size_t *bad)
{
	size_t i = 0;

	while (i < len) {
		uint8_t lead = s[i], low = 0x80, high = 0xbf;
		const char *low_reason = NULL, *high_reason = NULL;
		size_t more;

		if (len - i >= 8) {
			uint64_t word;

			hx_memcpy(&word, s + i, 8);
			if ((word & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		if (lead < 0x80) {
			i++;
			continue;
		}
		if (lead < 0xc0) {
			*bad = i;
			return "invalid UTF-8: unexpected continuation byte";
		}
		if (lead < 0xc2) {
			*bad = i;
			return "invalid UTF-8: overlong encoding";
		}
		if (lead < 0xe0) {
			more = 1;
		} else if (lead < 0xf0) {
			more = 2;
			if (lead == 0xe0) {
				low = 0xa0;
				low_reason = "invalid UTF-8: overlong encoding";
			} else if (lead == 0xed) {
				high = 0x9f;
				high_reason = "invalid UTF-8: surrogate code point";
			}
		} else if (lead < 0xf5) {
			more = 3;
			if (lead == 0xf0) {
				low = 0x90;
				low_reason = "invalid UTF-8: overlong encoding";
			} else if (lead == 0xf4) {
				high = 0x8f;
				high_reason = "invalid UTF-8: code point above U+10FFFF";
			}
		} else {
			*bad = i;
			return lead < 0xf8 ? "invalid UTF-8: code point above U+10FFFF"
			                   : "invalid UTF-8: invalid lead byte";
		}
		for (size_t k = 1; k <= more; k++) {
			uint8_t c;

			if (k >= len - i) {
				*bad = i;
				return "invalid UTF-8: sequence cut off at the end of the string";
			}
			c = s[i + k];
			if (c < 0x80 || c > 0xbf) {
				*bad = i + k;
				return "invalid UTF-8: missing continuation byte";
			}
			if (k == 1 && c < low) {
				*bad = i;
				return low_reason;
			}
			if (k == 1 && c > high) {
				*bad = i;
				return high_reason;
			}
		}
		i += more + 1;
	}
	return NULL;
}

/* ---- Structure: what the decoder and the builder share --------------------------------------- */

/* Bytewise lexicographic order of two key encodings (RFC 8949 §4.2.1). */
static int key_compare(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	int c = hx_memcmp(a, b, HX_MIN(a_len, b_len));

	if (c != 0)
		return c;
	/* A complete item's encoding is never a proper prefix of another's: equal length, equal. */
	return a_len < b_len ? -1 : a_len > b_len;
}

/*
 * The item at @p[start, end) is complete: count it in the innermost open container, check it
 * against the previous key when it is a map key, and close every container it completes (each
 * closed container is itself a complete item of its parent). Returns NULL, or the reason a key
 * breaks the order with *@bad its offset. *@depth == 0 afterwards: the top-level item is done.
 */
static const char *item_complete(struct hx_wire_level *levels, unsigned *depth, const uint8_t *p,
                                 uint32_t start, uint32_t end, uint32_t *bad)
{
	while (*depth > 0) {
		struct hx_wire_level *level = &levels[*depth - 1];

		/* A map's remaining count is even exactly when a key comes next. */
		if (level->map && (level->remaining & 1) == 0) {
			uint32_t key_len = end - start;

			if (level->key_len != 0) {
				int c = key_compare(p + level->key_start, level->key_len, p + start,
				                    key_len);

				if (c >= 0) {
					*bad = start;
					return c == 0 ? "duplicate map key"
					              : "map keys not in canonical order";
				}
			}
			level->key_start = start;
			level->key_len = key_len;
		}
		if (--level->remaining > 0)
			return NULL;
		start = level->start;
		(*depth)--;
	}
	return NULL;
}

/* ---- The payload checker --------------------------------------------------------------------- */

/* The smallest argument each long head form may carry (shorter forms hold anything below). */
static const uint64_t shortest_min[4] = { 24, 0x100, 0x10000, 0x100000000ull };

/*
 * Check @len payload bytes at @p; errors report @base + the offset (the payload's place in the
 * message). @len is at most HX_WIRE_MAX_PAYLOAD.
 */
static int check_cbor(const uint8_t *p, size_t len, size_t base, struct hx_wire_error *err)
{
	struct hx_wire_level levels[HX_WIRE_MAX_DEPTH];
	unsigned depth = 0;
	size_t pos = 0;

	if (len == 0)
		return 0;
	for (;;) {
		size_t start = pos, left;
		unsigned major, info;
		uint64_t arg;
		const char *why;
		uint32_t bad;

		if (pos == len)
			return fail(err, -HX_EBADMSG, base + pos,
			            levels[depth - 1].map ? R_TRUNC_MAP : R_TRUNC_ARRAY);
		major = p[pos] >> 5;
		info = p[pos] & 0x1f;
		pos++;

		if (major == MT_TAG)
			return fail(err, -HX_EBADMSG, base + start, "tags not allowed");
		if (major == MT_SIMPLE) {
			if (info >= 25 && info <= 27)
				why = "floating-point numbers not allowed";
			else if (info == 31)
				why = "unexpected break stop code";
			else if (info >= 28)
				why = "reserved additional information value";
			else if (info < SIMPLE_FALSE || info > SIMPLE_NULL)
				why = "simple values other than false, true and null not allowed";
			else
				why = NULL;
			if (why)
				return fail(err, -HX_EBADMSG, base + start, why);
			arg = 0;
		} else if (info < 24) {
			arg = info;
		} else if (info < 28) {
			unsigned bytes = 1u << (info - 24);

			if (bytes > len - pos)
				return fail(err, -HX_EBADMSG, base + start,
				            "truncated: head runs past the end");
			arg = 0;
			for (unsigned i = 0; i < bytes; i++)
				arg = arg << 8 | p[pos + i];
			pos += bytes;
			if (arg < shortest_min[info - 24])
				return fail(err, -HX_EBADMSG, base + start,
				            major <= MT_NEGATIVE ? "non-shortest integer head"
				                                 : "non-shortest length head");
		} else {
			return fail(err, -HX_EBADMSG, base + start,
			            info == 31 && major >= MT_BYTES
			                ? "indefinite length not allowed"
			                : "reserved additional information value");
		}

		left = len - pos;
		switch (major) {
		case MT_BYTES:
		case MT_TEXT:
			if (arg > left)
				return fail(err, -HX_EBADMSG, base + start,
				            major == MT_BYTES
				                ? "truncated: byte string runs past the end"
				                : "truncated: text string runs past the end");
			if (major == MT_TEXT) {
				size_t at;

				why = utf8_check(p + pos, (size_t)arg, &at);
				if (why)
					return fail(err, -HX_EBADMSG, base + pos + at, why);
			}
			pos += (size_t)arg;
			break;
		case MT_ARRAY:
		case MT_MAP:
			if (depth == HX_WIRE_MAX_DEPTH)
				return fail(err, -HX_EBADMSG, base + start, R_TOO_DEEP);
			if (major == MT_ARRAY ? arg > left : arg > left / 2)
				return fail(err, -HX_EBADMSG, base + start,
				            major == MT_ARRAY ? R_TRUNC_ARRAY : R_TRUNC_MAP);
			if (arg == 0)
				break;
			levels[depth] = (struct hx_wire_level){
				.remaining = (uint32_t)(major == MT_MAP ? 2 * arg : arg),
				.start = (uint32_t)start,
				.map = major == MT_MAP,
			};
			depth++;
			continue; /* not complete until its items are */
		default:
			break; /* integers, false, true, null: the head is the item */
		}

		why = item_complete(levels, &depth, p, (uint32_t)start, (uint32_t)pos, &bad);
		if (why)
			return fail(err, -HX_EBADMSG, base + bad, why);
		if (depth == 0)
			return pos == len ? 0
			                  : fail(err, -HX_EBADMSG, base + pos,
			                         "trailing bytes after the data item");
	}
}

int hx_wire_check_payload(const void *payload, size_t len, struct hx_wire_error *err)
{
	fail(err, 0, 0, NULL);
	if (!payload && len != 0)
		return fail(err, -HX_EINVAL, 0, "NULL argument");
	if (len > HX_WIRE_MAX_PAYLOAD)
		return fail(err, -HX_EMSGSIZE, HX_WIRE_MAX_PAYLOAD, R_TOO_LARGE);
	return check_cbor(payload, len, 0, err);
}

/* ---- The envelope ---------------------------------------------------------------------------- */

static bool name_char_valid(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool hx_wire_name_valid(const char *name, size_t len)
{
	if (!name || len == 0 || len > HX_WIRE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_valid(name[i]))
			return false;
	return true;
}

int hx_wire_set_target_name(struct hx_wire_message *msg, const char *name)
{
	size_t len;

	if (!msg || !name)
		return -HX_EINVAL;
	len = hx_strnlen(name, HX_WIRE_NAME_MAX + 1);
	if (!hx_wire_name_valid(name, len))
		return -HX_EINVAL;
	hx_memcpy(msg->target_name, name, len);
	msg->target_name[len] = '\0';
	msg->target_name_len = (uint8_t)len;
	msg->target_id = 0;
	return 0;
}

const char *hx_wire_kind_name(int kind)
{
	switch (kind) {
	case HX_WIRE_REQUEST:
		return "request";
	case HX_WIRE_RESPONSE:
		return "response";
	case HX_WIRE_ERROR:
		return "error";
	case HX_WIRE_ONEWAY:
		return "one-way";
	default:
		return NULL;
	}
}

/* NULL when @status suits @kind, else why not. */
static const char *status_problem(unsigned kind, int32_t status)
{
	if (kind == HX_WIRE_ERROR)
		return status < 0 && status >= HX_WIRE_STATUS_MIN ? NULL
		                                                  : "error status not in -4095..-1";
	return status == 0 ? NULL : "nonzero status in a message that is not an error";
}

/*
 * The header fields of a message to encode, checked as the decoder checks them; failures are
 * -HX_EINVAL (the caller's mistake) at the offset the field would have.
 */
static int check_envelope(const struct hx_wire_message *msg, struct hx_wire_error *err)
{
	const char *why;

	if (!hx_wire_kind_name((int)msg->kind))
		return fail(err, -HX_EINVAL, HX_WIRE_OFF_KIND, "unknown kind");
	if (msg->target_name_len > HX_WIRE_NAME_MAX)
		return fail(err, -HX_EINVAL, HX_WIRE_OFF_NAME_LEN,
		            "target name longer than 31 characters");
	if (msg->target_name_len != 0 && msg->target_id != 0)
		return fail(err, -HX_EINVAL, HX_WIRE_OFF_TARGET_ID,
		            "target id set with a target name");
	for (size_t i = 0; i < msg->target_name_len; i++)
		if (!name_char_valid(msg->target_name[i]))
			return fail(err, -HX_EINVAL, HX_WIRE_OFF_NAME + i,
			            "bad character in target name");
	why = status_problem((unsigned)msg->kind, msg->status);
	if (why)
		return fail(err, -HX_EINVAL, HX_WIRE_OFF_STATUS, why);
	return 0;
}

/* The fixed header and the name of @msg at @p (HX_WIRE_HEADER_SIZE + name length bytes). */
static void write_envelope(uint8_t *p, const struct hx_wire_message *msg, size_t payload_len)
{
	p[HX_WIRE_OFF_MAGIC + 0] = HX_WIRE_MAGIC_0;
	p[HX_WIRE_OFF_MAGIC + 1] = HX_WIRE_MAGIC_1;
	p[HX_WIRE_OFF_MAGIC + 2] = HX_WIRE_MAGIC_2;
	p[HX_WIRE_OFF_MAGIC + 3] = HX_WIRE_MAGIC_3;
	p[HX_WIRE_OFF_VERSION] = HX_WIRE_VERSION;
	p[HX_WIRE_OFF_KIND] = (uint8_t)msg->kind;
	p[HX_WIRE_OFF_FLAGS] = 0;
	p[HX_WIRE_OFF_NAME_LEN] = msg->target_name_len;
	put_le(p + HX_WIRE_OFF_REQUEST_ID, msg->request_id, 8);
	put_le(p + HX_WIRE_OFF_SOURCE_ID, msg->source_id, 8);
	put_le(p + HX_WIRE_OFF_TARGET_ID, msg->target_id, 8);
	put_le(p + HX_WIRE_OFF_METHOD, msg->method, 4);
	put_le(p + HX_WIRE_OFF_STATUS, (uint32_t)msg->status, 4);
	put_le(p + HX_WIRE_OFF_PAYLOAD_LEN, payload_len, 4);
	hx_memcpy(p + HX_WIRE_OFF_NAME, msg->target_name, msg->target_name_len);
}

int hx_wire_decode(const void *buf, size_t len, struct hx_wire_message *out,
                   struct hx_wire_error *err)
{
	static const uint8_t magic[4] = { HX_WIRE_MAGIC_0, HX_WIRE_MAGIC_1, HX_WIRE_MAGIC_2,
		                          HX_WIRE_MAGIC_3 };
	const uint8_t *p = buf;
	size_t name_len, payload_at, payload_len;
	uint64_t target_id;
	uint8_t kind;
	int32_t status;
	const char *why;
	int rc;

	fail(err, 0, 0, NULL);
	if (!out || (!buf && len != 0))
		return fail(err, -HX_EINVAL, 0, "NULL argument");
	if (len > HX_WIRE_MAX_MESSAGE)
		return fail(err, -HX_EMSGSIZE, HX_WIRE_MAX_MESSAGE, R_TOO_LARGE);

	/* Magic, then version, before the rest of the header: a version 2 message may be laid out
	 * differently (even be shorter) and must still be reported as an unsupported version. */
	for (size_t i = 0; i < sizeof(magic); i++) {
		if (i == len)
			return fail(err, -HX_EBADMSG, len, "truncated: header runs past the end");
		if (p[i] != magic[i])
			return fail(err, -HX_EBADMSG, i, "bad magic");
	}
	if (len <= HX_WIRE_OFF_VERSION)
		return fail(err, -HX_EBADMSG, len, "truncated: header runs past the end");
	if (p[HX_WIRE_OFF_VERSION] != HX_WIRE_VERSION)
		return fail(err, -HX_EPROTO, HX_WIRE_OFF_VERSION, "unsupported version");
	if (len < HX_WIRE_HEADER_SIZE)
		return fail(err, -HX_EBADMSG, len, "truncated: header runs past the end");

	kind = p[HX_WIRE_OFF_KIND];
	if (!hx_wire_kind_name(kind))
		return fail(err, -HX_EPROTO, HX_WIRE_OFF_KIND, "unknown kind");
	if (p[HX_WIRE_OFF_FLAGS] != 0)
		return fail(err, -HX_EPROTO, HX_WIRE_OFF_FLAGS, "reserved flag set");
	name_len = p[HX_WIRE_OFF_NAME_LEN];
	if (name_len > HX_WIRE_NAME_MAX)
		return fail(err, -HX_EBADMSG, HX_WIRE_OFF_NAME_LEN,
		            "target name longer than 31 characters");
	target_id = get_le(p + HX_WIRE_OFF_TARGET_ID, 8);
	if (name_len != 0 && target_id != 0)
		return fail(err, -HX_EBADMSG, HX_WIRE_OFF_TARGET_ID,
		            "target id set with a target name");
	status = int32_from_bits((uint32_t)get_le(p + HX_WIRE_OFF_STATUS, 4));
	why = status_problem(kind, status);
	if (why)
		return fail(err, -HX_EBADMSG, HX_WIRE_OFF_STATUS, why);

	if (name_len > len - HX_WIRE_HEADER_SIZE)
		return fail(err, -HX_EBADMSG, HX_WIRE_OFF_NAME,
		            "truncated: target name runs past the end");
	for (size_t i = 0; i < name_len; i++)
		if (!name_char_valid((char)p[HX_WIRE_OFF_NAME + i]))
			return fail(err, -HX_EBADMSG, HX_WIRE_OFF_NAME + i,
			            "bad character in target name");
	payload_at = HX_WIRE_HEADER_SIZE + name_len;
	payload_len = (size_t)get_le(p + HX_WIRE_OFF_PAYLOAD_LEN, 4);
	if (payload_len > len - payload_at)
		return fail(err, -HX_EBADMSG, payload_at, "truncated: payload runs past the end");
	if (payload_len < len - payload_at)
		return fail(err, -HX_EBADMSG, payload_at + payload_len,
		            "trailing bytes after the payload");
	rc = check_cbor(p + payload_at, payload_len, payload_at, err);
	if (rc)
		return rc;

	/* Point of no return: everything checked; only now is *out written. */
	out->kind = (enum hx_wire_kind)kind;
	out->request_id = get_le(p + HX_WIRE_OFF_REQUEST_ID, 8);
	out->source_id = get_le(p + HX_WIRE_OFF_SOURCE_ID, 8);
	out->target_id = target_id;
	out->target_name_len = (uint8_t)name_len;
	hx_memcpy(out->target_name, p + HX_WIRE_OFF_NAME, name_len);
	hx_memset(out->target_name + name_len, 0, sizeof(out->target_name) - name_len);
	out->method = (uint32_t)get_le(p + HX_WIRE_OFF_METHOD, 4);
	out->status = status;
	out->payload = p + payload_at;
	out->payload_len = payload_len;
	return 0;
}

int hx_wire_encode(const struct hx_wire_message *msg, void *buf, size_t cap, size_t *len_out,
                   struct hx_wire_error *err)
{
	size_t payload_at, total;
	int rc;

	fail(err, 0, 0, NULL);
	if (!msg || !buf || !len_out)
		return fail(err, -HX_EINVAL, 0, "NULL argument");
	rc = check_envelope(msg, err);
	if (rc)
		return rc;
	payload_at = HX_WIRE_HEADER_SIZE + msg->target_name_len;
	if (!msg->payload && msg->payload_len != 0)
		return fail(err, -HX_EINVAL, payload_at, "NULL argument");
	if (msg->payload_len > HX_WIRE_MAX_MESSAGE - payload_at)
		return fail(err, -HX_EMSGSIZE, HX_WIRE_MAX_MESSAGE, R_TOO_LARGE);
	rc = check_cbor(msg->payload, msg->payload_len, payload_at, err);
	if (rc)
		return fail(err, -HX_EINVAL, err ? err->offset : 0, err ? err->reason : NULL);
	total = payload_at + msg->payload_len;
	if (total > cap)
		return fail(err, -HX_ENOSPC, cap, "buffer full");

	/* The payload first: it may overlap the room the header takes (built in place). */
	if (msg->payload_len != 0)
		hx_memmove((uint8_t *)buf + payload_at, msg->payload, msg->payload_len);
	write_envelope(buf, msg, msg->payload_len);
	*len_out = total;
	return 0;
}

/* ---- The reader ------------------------------------------------------------------------------ */

void hx_wire_reader_init(struct hx_wire_reader *r, const void *payload, size_t len)
{
	hx_memset(r, 0, sizeof(*r));
	r->data = payload;
	r->len = payload ? len : 0;
	r->remaining[0] = r->len != 0;
}

bool hx_wire_more(const struct hx_wire_reader *r)
{
	return r->error == 0 && r->remaining[r->depth] != 0;
}

unsigned hx_wire_depth(const struct hx_wire_reader *r)
{
	return r->depth;
}

int hx_wire_reader_error(const struct hx_wire_reader *r)
{
	return r->error;
}

static int reader_fail(struct hx_wire_reader *r, int code)
{
	if (r->error == 0)
		r->error = code;
	return r->error;
}

/*
 * One head at r->pos, bounds-checked whatever the bytes are (the reader trusts nothing it did not
 * check itself): the major type, its argument, and for strings and containers a length or count
 * that fits in what is left. Advances r->pos past the head only.
 */
static int read_head(struct hx_wire_reader *r, unsigned *major, uint64_t *arg, unsigned *info)
{
	size_t pos = r->pos, left;

	if (pos >= r->len)
		return -HX_EBADMSG;
	*major = r->data[pos] >> 5;
	*info = r->data[pos] & 0x1f;
	pos++;
	if (*info < 24) {
		*arg = *info;
	} else if (*info < 28) {
		unsigned bytes = 1u << (*info - 24);

		if (bytes > r->len - pos)
			return -HX_EBADMSG;
		*arg = 0;
		for (unsigned i = 0; i < bytes; i++)
			*arg = *arg << 8 | r->data[pos + i];
		pos += bytes;
	} else {
		return -HX_EBADMSG;
	}
	left = r->len - pos;
	switch (*major) {
	case MT_BYTES:
	case MT_TEXT:
	case MT_ARRAY:
		if (*arg > left)
			return -HX_EBADMSG;
		break;
	case MT_MAP:
		if (*arg > left / 2)
			return -HX_EBADMSG;
		break;
	case MT_TAG:
		return -HX_EBADMSG;
	case MT_SIMPLE:
		if (*info < SIMPLE_FALSE || *info > SIMPLE_NULL)
			return -HX_EBADMSG;
		break;
	default:
		break;
	}
	r->pos = pos;
	return 0;
}

int hx_wire_next(struct hx_wire_reader *r, struct hx_wire_item *item)
{
	static const enum hx_wire_type simple_types[] = { HX_WIRE_FALSE, HX_WIRE_TRUE,
		                                          HX_WIRE_NULL };
	unsigned major, info;
	uint64_t arg;
	size_t start = r->pos;
	int rc;

	if (r->error)
		return r->error;
	if (r->remaining[r->depth] == 0)
		return reader_fail(r, -HX_ENOENT);
	rc = read_head(r, &major, &arg, &info);
	if (rc)
		return reader_fail(r, rc);
	r->remaining[r->depth]--;
	item->depth = r->depth;
	item->offset = start;
	item->value = arg;
	item->data = NULL;
	switch (major) {
	case MT_UINT:
		item->type = HX_WIRE_UINT;
		break;
	case MT_NEGATIVE:
		item->type = HX_WIRE_NEGATIVE;
		break;
	case MT_BYTES:
	case MT_TEXT:
		item->type = major == MT_BYTES ? HX_WIRE_BYTES : HX_WIRE_TEXT;
		item->data = r->data + r->pos;
		r->pos += (size_t)arg;
		break;
	case MT_ARRAY:
	case MT_MAP:
		if (r->depth == HX_WIRE_MAX_DEPTH)
			return reader_fail(r, -HX_EBADMSG);
		item->type = major == MT_ARRAY ? HX_WIRE_ARRAY : HX_WIRE_MAP;
		r->depth++;
		r->remaining[r->depth] = major == MT_ARRAY ? arg : 2 * arg;
		break;
	default: /* MT_SIMPLE: read_head let only false, true and null through */
		item->type = simple_types[info - SIMPLE_FALSE];
		item->value = 0;
		break;
	}
	return 0;
}

int hx_wire_skip(struct hx_wire_reader *r)
{
	/* Items still to pass over; a counter instead of recursion, bounded by the bytes left. */
	uint64_t pending = 1;

	if (r->error)
		return r->error;
	if (r->remaining[r->depth] == 0)
		return reader_fail(r, -HX_ENOENT);
	while (pending > 0) {
		unsigned major, info;
		uint64_t arg;
		int rc = read_head(r, &major, &arg, &info);

		if (rc)
			return reader_fail(r, rc);
		pending--;
		if (major == MT_BYTES || major == MT_TEXT)
			r->pos += (size_t)arg;
		else if (major == MT_ARRAY)
			pending += arg;
		else if (major == MT_MAP)
			pending += 2 * arg;
	}
	r->remaining[r->depth]--;
	return 0;
}

int hx_wire_leave(struct hx_wire_reader *r)
{
	if (r->error)
		return r->error;
	if (r->depth == 0)
		return reader_fail(r, -HX_ENOENT);
	while (r->remaining[r->depth] > 0) {
		int rc = hx_wire_skip(r);

		if (rc)
			return rc;
	}
	r->depth--;
	return 0;
}

/* The next item, which must be of @type. */
static int read_typed(struct hx_wire_reader *r, enum hx_wire_type type, struct hx_wire_item *item)
{
	int rc = hx_wire_next(r, item);

	if (rc)
		return rc;
	if (item->type != type)
		return reader_fail(r, -HX_EINVAL);
	return 0;
}

int hx_wire_read_uint(struct hx_wire_reader *r, uint64_t *value)
{
	struct hx_wire_item item;
	int rc = read_typed(r, HX_WIRE_UINT, &item);

	if (rc == 0)
		*value = item.value;
	return rc;
}

int hx_wire_read_int(struct hx_wire_reader *r, int64_t *value)
{
	struct hx_wire_item item;
	int rc = hx_wire_next(r, &item);

	if (rc)
		return rc;
	if (item.type != HX_WIRE_UINT && item.type != HX_WIRE_NEGATIVE)
		return reader_fail(r, -HX_EINVAL);
	if (item.value > INT64_MAX)
		return reader_fail(r, -HX_ERANGE);
	*value = item.type == HX_WIRE_UINT ? (int64_t)item.value : -1 - (int64_t)item.value;
	return 0;
}

int hx_wire_read_bool(struct hx_wire_reader *r, bool *value)
{
	struct hx_wire_item item;
	int rc = hx_wire_next(r, &item);

	if (rc)
		return rc;
	if (item.type != HX_WIRE_FALSE && item.type != HX_WIRE_TRUE)
		return reader_fail(r, -HX_EINVAL);
	*value = item.type == HX_WIRE_TRUE;
	return 0;
}

int hx_wire_read_null(struct hx_wire_reader *r)
{
	struct hx_wire_item item;

	return read_typed(r, HX_WIRE_NULL, &item);
}

int hx_wire_read_bytes(struct hx_wire_reader *r, const uint8_t **data, size_t *len)
{
	struct hx_wire_item item;
	int rc = read_typed(r, HX_WIRE_BYTES, &item);

	if (rc == 0) {
		*data = item.data;
		*len = (size_t)item.value;
	}
	return rc;
}

int hx_wire_read_text(struct hx_wire_reader *r, const char **text, size_t *len)
{
	struct hx_wire_item item;
	int rc = read_typed(r, HX_WIRE_TEXT, &item);

	if (rc == 0) {
		*text = (const char *)item.data;
		*len = (size_t)item.value;
	}
	return rc;
}

int hx_wire_read_array(struct hx_wire_reader *r, size_t *count)
{
	struct hx_wire_item item;
	int rc = read_typed(r, HX_WIRE_ARRAY, &item);

	if (rc == 0)
		*count = (size_t)item.value;
	return rc;
}

int hx_wire_read_map(struct hx_wire_reader *r, size_t *pairs)
{
	struct hx_wire_item item;
	int rc = read_typed(r, HX_WIRE_MAP, &item);

	if (rc == 0)
		*pairs = (size_t)item.value;
	return rc;
}

/* ---- The builder ----------------------------------------------------------------------------- */

static void builder_fail(struct hx_wire_builder *b, int code, size_t offset, const char *reason)
{
	if (b->error != 0)
		return;
	b->error = code;
	b->error_offset = offset;
	b->reason = reason;
}

/* The buffer (or the 64 KiB limit) is exhausted. */
static void builder_overflow(struct hx_wire_builder *b)
{
	if (b->wire_limited)
		builder_fail(b, -HX_EMSGSIZE, b->len, R_TOO_LARGE);
	else
		builder_fail(b, -HX_ENOSPC, b->len, "buffer full");
}

/* Room for @a + @c more bytes (two terms, so a huge string length cannot wrap the sum). */
static bool builder_room(struct hx_wire_builder *b, size_t a, size_t c)
{
	size_t left = b->cap - b->len;

	if (a <= left && c <= left - a)
		return true;
	builder_overflow(b);
	return false;
}

/* May an item start here? */
static bool builder_item_ok(struct hx_wire_builder *b)
{
	if (b->error != 0)
		return false;
	if (b->depth == 0 && b->top_done) {
		builder_fail(b, -HX_EINVAL, b->len, "more than one top-level item");
		return false;
	}
	return true;
}

static size_t head_size(uint64_t arg)
{
	if (arg < 24)
		return 1;
	if (arg <= UINT8_MAX)
		return 2;
	if (arg <= UINT16_MAX)
		return 3;
	if (arg <= UINT32_MAX)
		return 5;
	return 9;
}

/* The shortest head for @major and @arg at the end of the buffer (room checked by the caller). */
static void write_head(struct hx_wire_builder *b, unsigned major, uint64_t arg)
{
	uint8_t *p = b->buf + b->len;
	size_t size = head_size(arg);

	if (size == 1) {
		p[0] = (uint8_t)(major << 5 | arg);
	} else {
		unsigned bytes = (unsigned)size - 1;

		static const uint8_t info_for_bytes[9] = { [1] = 24, [2] = 25, [4] = 26, [8] = 27 };

		p[0] = (uint8_t)(major << 5 | info_for_bytes[bytes]);
		for (unsigned i = 0; i < bytes; i++)
			p[1 + i] = (uint8_t)(arg >> (8 * (bytes - 1 - i)));
	}
	b->len += size;
}

static void builder_item_done(struct hx_wire_builder *b, size_t start)
{
	uint32_t bad;
	const char *why =
	    item_complete(b->levels, &b->depth, b->buf, (uint32_t)start, (uint32_t)b->len, &bad);

	if (why)
		builder_fail(b, -HX_EINVAL, bad, why);
	else if (b->depth == 0)
		b->top_done = true;
}

/* An item that is one head followed by @len bytes of @data (integers: none). */
static void put_item(struct hx_wire_builder *b, unsigned major, uint64_t arg, const void *data,
                     size_t len)
{
	size_t start = b->len;

	if (!builder_item_ok(b) || !builder_room(b, head_size(arg), len))
		return;
	write_head(b, major, arg);
	if (len != 0)
		hx_memmove(b->buf + b->len, data, len); /* @data may lie in the buffer itself */
	b->len += len;
	builder_item_done(b, start);
}

void hx_wire_builder_init(struct hx_wire_builder *b, void *buf, size_t cap)
{
	hx_memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = HX_MIN(cap, (size_t)HX_WIRE_MAX_PAYLOAD);
	b->wire_limited = cap > HX_WIRE_MAX_PAYLOAD;
	if (!buf)
		builder_fail(b, -HX_EINVAL, 0, "NULL argument");
}

void hx_wire_builder_init_message(struct hx_wire_builder *b, void *buf, size_t cap,
                                  const struct hx_wire_message *header)
{
	struct hx_wire_error err;
	size_t at;

	hx_memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = HX_MIN(cap, (size_t)HX_WIRE_MAX_MESSAGE);
	b->wire_limited = cap > HX_WIRE_MAX_MESSAGE;
	b->message = true;
	if (!buf || !header) {
		builder_fail(b, -HX_EINVAL, 0, "NULL argument");
		return;
	}
	if (check_envelope(header, &err)) {
		builder_fail(b, err.code, err.offset, err.reason);
		return;
	}
	at = HX_WIRE_HEADER_SIZE + header->target_name_len;
	if (!builder_room(b, at, 0))
		return;
	write_envelope(b->buf, header, 0);
	b->len = b->payload_start = at;
}

void hx_wire_put_uint(struct hx_wire_builder *b, uint64_t value)
{
	put_item(b, MT_UINT, value, NULL, 0);
}

void hx_wire_put_negative(struct hx_wire_builder *b, uint64_t n)
{
	put_item(b, MT_NEGATIVE, n, NULL, 0);
}

void hx_wire_put_int(struct hx_wire_builder *b, int64_t value)
{
	if (value >= 0)
		put_item(b, MT_UINT, (uint64_t)value, NULL, 0);
	else
		put_item(b, MT_NEGATIVE, (uint64_t)(-1 - value), NULL, 0);
}

void hx_wire_put_bytes(struct hx_wire_builder *b, const void *data, size_t len)
{
	if (!data && len != 0) {
		builder_fail(b, -HX_EINVAL, b->len, "NULL argument");
		return;
	}
	put_item(b, MT_BYTES, len, data, len);
}

void hx_wire_put_text(struct hx_wire_builder *b, const char *text, size_t len)
{
	size_t bad;
	const char *why;

	if (!builder_item_ok(b))
		return;
	if (!text && len != 0) {
		builder_fail(b, -HX_EINVAL, b->len, "NULL argument");
		return;
	}
	why = utf8_check((const uint8_t *)text, len, &bad);
	if (why) {
		builder_fail(b, -HX_EINVAL, b->len + head_size(len) + bad, why);
		return;
	}
	put_item(b, MT_TEXT, len, text, len);
}

void hx_wire_put_string(struct hx_wire_builder *b, const char *text)
{
	hx_wire_put_text(b, text, text ? hx_strlen(text) : 0);
}

void hx_wire_put_bool(struct hx_wire_builder *b, bool value)
{
	put_item(b, MT_SIMPLE, value ? SIMPLE_TRUE : SIMPLE_FALSE, NULL, 0);
}

void hx_wire_put_null(struct hx_wire_builder *b)
{
	put_item(b, MT_SIMPLE, SIMPLE_NULL, NULL, 0);
}

static void put_container(struct hx_wire_builder *b, unsigned major, size_t count)
{
	size_t start = b->len, head = head_size(count), left = b->cap - b->len;
	size_t per_item = major == MT_MAP ? 2 : 1;

	if (!builder_item_ok(b))
		return;
	if (b->depth == HX_WIRE_MAX_DEPTH) {
		builder_fail(b, -HX_EINVAL, start, R_TOO_DEEP);
		return;
	}
	/* Each item takes a byte at least: a count that cannot fit fails now, which also keeps
	 * 2 * pairs and every offset far below 2^32. */
	if (head > left || count > (left - head) / per_item) {
		builder_overflow(b);
		return;
	}
	write_head(b, major, count);
	if (count == 0) {
		builder_item_done(b, start);
		return;
	}
	b->levels[b->depth] = (struct hx_wire_level){
		.remaining = (uint32_t)(count * per_item),
		.start = (uint32_t)start,
		.map = major == MT_MAP,
	};
	b->depth++;
}

void hx_wire_put_array(struct hx_wire_builder *b, size_t count)
{
	put_container(b, MT_ARRAY, count);
}

void hx_wire_put_map(struct hx_wire_builder *b, size_t pairs)
{
	put_container(b, MT_MAP, pairs);
}

int hx_wire_builder_finish(struct hx_wire_builder *b, size_t *len_out, struct hx_wire_error *err)
{
	fail(err, 0, 0, NULL);
	if (b->error == 0 && b->depth > 0)
		builder_fail(b, -HX_EINVAL, b->levels[b->depth - 1].start,
		             "container not complete");
	if (b->error == 0 && !len_out)
		builder_fail(b, -HX_EINVAL, 0, "NULL argument");
	if (b->error != 0)
		return fail(err, b->error, b->error_offset, b->reason);
	if (b->message)
		put_le(b->buf + HX_WIRE_OFF_PAYLOAD_LEN, b->len - b->payload_start, 4);
	*len_out = b->len;
	return 0;
}
