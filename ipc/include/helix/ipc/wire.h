/* SPDX-License-Identifier: MIT */
/*
 * The router's wire format, version 1 (docs/wire-format.md specifies it byte by byte): a fixed
 * 44-byte little-endian envelope header, the target's name when the target is addressed by name,
 * then a payload of at most one CBOR (RFC 8949) data item in a strict deterministic profile:
 * definite lengths, shortest heads, unsigned and negative integers, byte strings, valid UTF-8 text,
 * arrays, maps whose keys are unique and in bytewise lexicographic order of their encodings
 * (RFC 8949 §4.2.1), false, true and null; nesting at most 16 deep; at most 64 KiB in all.
 * Every value has exactly one accepted encoding, and every reserved bit is zero.
 *
 * Three parts:
 *  - hx_wire_decode: the strict decoder. User programs hand the router encoded messages, so this is
 *    a trust boundary: it checks the whole message (header and every byte of the payload) before it
 *    writes anything to its output, never reads outside [buf, buf + len), never allocates, and
 *    walks nested containers with a fixed 16-level stack instead of recursion. A failure names the
 *    byte offset and a static reason.
 *  - the reader (hx_wire_reader_*, hx_wire_read_*): a cursor over a decoded payload, items in
 *    pre-order; containers are entered when read and left explicitly. No allocation.
 *  - the builder (hx_wire_builder_*, hx_wire_put_*): writes shortest heads into a caller's buffer
 *    with a sticky error, checks container counts, nesting and that map keys arrive in canonical
 *    order (the caller sorts them) and unique; hx_wire_encode writes a whole message from a header
 *    and a finished payload.
 *
 * Concurrency: no shared state. A decoder call, a reader or a builder may be used by one thread at
 * a time; different ones concurrently. Context: any, including interrupt handlers (nothing sleeps,
 * nothing allocates, no locks); stack use is about 0.5 KiB for the decoder.
 *
 * Errors (negative HX_E*): -HX_EBADMSG malformed or outside the profile (truncation, non-shortest
 * heads, disallowed types, key order, depth, UTF-8, bad name or status, trailing bytes);
 * -HX_EPROTO a different protocol or version (magic is EBADMSG; an unsupported version, an
 * unknown kind, a reserved flag or field set); -HX_EMSGSIZE larger than 64 KiB; -HX_EINVAL a
 * caller's mistake (NULL arguments, a header or value the encoder refuses); -HX_ENOSPC the
 * caller's buffer is too small; reader only: -HX_ENOENT (no item left where one was read),
 * -HX_EINVAL (not of the requested type), -HX_ERANGE (an integer that does not fit).
 */
#ifndef HELIX_IPC_WIRE_H
#define HELIX_IPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_WIRE_VERSION     1
#define HX_WIRE_HEADER_SIZE 44u
#define HX_WIRE_MAX_MESSAGE (64u * 1024u) /* header + target name + payload */
#define HX_WIRE_MAX_PAYLOAD (HX_WIRE_MAX_MESSAGE - HX_WIRE_HEADER_SIZE)
#define HX_WIRE_NAME_MAX    31      /* a target name is 1..31 characters of [a-z0-9_.-] */
#define HX_WIRE_MAX_DEPTH   16      /* arrays and maps nested at most this deep */
#define HX_WIRE_STATUS_MIN  (-4095) /* an error message's status is in -4095..-1 */

/* The magic: the four bytes "HXWM" at offset 0. */
#define HX_WIRE_MAGIC_0 0x48
#define HX_WIRE_MAGIC_1 0x58
#define HX_WIRE_MAGIC_2 0x57
#define HX_WIRE_MAGIC_3 0x4d

/* Where each header field sits (all little-endian; docs/wire-format.md has the table). */
enum hx_wire_offset {
	HX_WIRE_OFF_MAGIC = 0,        /* 4 bytes */
	HX_WIRE_OFF_VERSION = 4,      /* u8 */
	HX_WIRE_OFF_KIND = 5,         /* u8 */
	HX_WIRE_OFF_FLAGS = 6,        /* u8, all bits reserved (zero) in version 1 */
	HX_WIRE_OFF_NAME_LEN = 7,     /* u8: 0 = target by id, 1..31 = by name */
	HX_WIRE_OFF_REQUEST_ID = 8,   /* u64 */
	HX_WIRE_OFF_SOURCE_ID = 16,   /* u64 */
	HX_WIRE_OFF_TARGET_ID = 24,   /* u64, zero when the target is a name */
	HX_WIRE_OFF_METHOD = 32,      /* u32 */
	HX_WIRE_OFF_STATUS = 36,      /* i32 */
	HX_WIRE_OFF_PAYLOAD_LEN = 40, /* u32 */
	HX_WIRE_OFF_NAME = 44,        /* the target name, then the payload */
};

enum hx_wire_kind {
	HX_WIRE_REQUEST = 1,  /* expects a response or an error */
	HX_WIRE_RESPONSE = 2, /* a successful reply: status 0 */
	HX_WIRE_ERROR = 3,    /* a failed reply: status is a negative HX_E* code */
	HX_WIRE_ONEWAY = 4,   /* no reply */
};

/*
 * A message's envelope and payload. hx_wire_decode fills one (payload points into the decoded
 * buffer); hx_wire_encode and hx_wire_builder_init_message read one.
 */
struct hx_wire_message {
	enum hx_wire_kind kind;
	uint64_t request_id;
	uint64_t source_id;
	uint64_t target_id;                     /* when target_name_len is 0; must be 0 otherwise */
	uint8_t target_name_len;                /* 0: target by id; 1..HX_WIRE_NAME_MAX: by name */
	char target_name[HX_WIRE_NAME_MAX + 1]; /* NUL-terminated (decode fills the NUL) */
	uint32_t method;
	int32_t status;         /* 0, except HX_WIRE_ERROR: HX_WIRE_STATUS_MIN..-1 */
	const uint8_t *payload; /* one CBOR data item, or nothing (payload_len 0) */
	size_t payload_len;
};

/* Why a decode or an encode failed, and where. */
struct hx_wire_error {
	int code;           /* the negative HX_E* the call returned; 0 on success */
	size_t offset;      /* from the message's start (decode) or the payload's (check_payload) */
	const char *reason; /* static text, e.g. "duplicate map key"; NULL on success */
};

/* ---- Decoding -------------------------------------------------------------------------------- */

/*
 * hx_wire_decode - check the @len bytes at @buf as one whole message and, only if everything is
 * valid, fill *@out (out->payload then points into @buf). @err, if not NULL, gets the code, the
 * byte offset of the first problem and its reason. Any context; reads nothing outside the buffer,
 * allocates nothing, recursion-free.
 * Returns 0; -HX_EMSGSIZE (@len above HX_WIRE_MAX_MESSAGE); -HX_EPROTO (version other than 1,
 * unknown kind, reserved flag set); -HX_EBADMSG (anything else malformed, see above); -HX_EINVAL
 * (NULL @out, or NULL @buf with a nonzero @len). On failure *@out is not written.
 */
int hx_wire_decode(const void *buf, size_t len, struct hx_wire_message *out,
                   struct hx_wire_error *err);

/*
 * hx_wire_check_payload - check @len bytes as a payload on its own (empty, or exactly one data item
 * of the profile); offsets in @err count from @payload. Any context.
 * Returns 0, -HX_EBADMSG, -HX_EMSGSIZE (above HX_WIRE_MAX_PAYLOAD), -HX_EINVAL (NULL @payload with
 * a nonzero @len).
 */
int hx_wire_check_payload(const void *payload, size_t len, struct hx_wire_error *err);

/* hx_wire_name_valid - true when @name[0..len) is a valid target name: 1..31 of [a-z0-9_.-]. */
bool hx_wire_name_valid(const char *name, size_t len);

/*
 * hx_wire_set_target_name - address @msg to the module named by the NUL-terminated @name: copies it
 * and sets target_id to 0. Any context. Returns 0, or -HX_EINVAL for an invalid name (@msg
 * unchanged).
 */
int hx_wire_set_target_name(struct hx_wire_message *msg, const char *name);

/* hx_wire_kind_name - "request", "response", "error", "one-way"; NULL for any other value. */
const char *hx_wire_kind_name(int kind);

/* ---- Encoding a whole message ---------------------------------------------------------------- */

/*
 * hx_wire_encode - write @msg (header, target name, and msg->payload copied after them; the payload
 * may already sit at its place in @buf) into @buf of @cap bytes. The header fields and the payload
 * are checked as the decoder would, so what this writes always decodes back to @msg. Any context.
 * Returns 0 and *@len_out; -HX_EINVAL (a field or the payload the decoder would reject: @err says
 * which and why, or NULL arguments); -HX_EMSGSIZE (the message would exceed HX_WIRE_MAX_MESSAGE);
 * -HX_ENOSPC (@cap too small). Nothing is written on failure.
 */
int hx_wire_encode(const struct hx_wire_message *msg, void *buf, size_t cap, size_t *len_out,
                   struct hx_wire_error *err);

/* ---- Reading a decoded payload --------------------------------------------------------------- */

enum hx_wire_type {
	HX_WIRE_UINT = 1, /* value: the integer */
	HX_WIRE_NEGATIVE, /* value: n, the integer being -1 - n (down to -2^64) */
	HX_WIRE_BYTES,    /* value: length; data: the bytes */
	HX_WIRE_TEXT,     /* value: length in bytes; data: UTF-8, not NUL-terminated */
	HX_WIRE_ARRAY,    /* value: elements */
	HX_WIRE_MAP,      /* value: pairs (then 2 * value items: key, value, key, value ...) */
	HX_WIRE_FALSE,
	HX_WIRE_TRUE,
	HX_WIRE_NULL,
};

struct hx_wire_item {
	enum hx_wire_type type;
	unsigned depth;      /* containers enclosing the item: 0 for the payload's own item */
	uint64_t value;      /* see enum hx_wire_type */
	const uint8_t *data; /* HX_WIRE_BYTES, HX_WIRE_TEXT; NULL for the others */
	size_t offset;       /* of the item's head, from the payload's start */
};

/*
 * The reader: items in pre-order. hx_wire_next (or a hx_wire_read_* helper) returns the next item
 * of the current container; reading an array or a map enters it, so the items that follow are its
 * elements (a map's alternate key, value); hx_wire_more tells whether any are left, and
 * hx_wire_leave goes back to the parent (skipping whatever was not read). At the top level there
 * is one item, or none for an empty payload.
 *
 *	hx_wire_read_map(&r, &pairs);
 *	while (hx_wire_more(&r)) {
 *		hx_wire_read_text(&r, &key, &key_len);
 *		... hx_wire_read_uint(&r, &value) or hx_wire_skip(&r) ...
 *	}
 *	hx_wire_leave(&r);
 *	if (hx_wire_reader_error(&r)) ...
 *
 * Errors are sticky: after the first failure every call returns it and reads nothing, so a
 * handler may read everything and check once. Meant for payloads hx_wire_decode accepted; on any
 * other bytes it stays inside the buffer and within 16 levels (-HX_EBADMSG) but checks nothing
 * else of the profile. The fields are private.
 */
struct hx_wire_reader {
	const uint8_t *data;
	size_t len;
	size_t pos;
	int error;
	unsigned depth;
	uint64_t remaining[HX_WIRE_MAX_DEPTH + 1]; /* items left at each open level; [0]: top */
};

/* hx_wire_reader_init - a reader over @len payload bytes at @payload (e.g. msg->payload). */
void hx_wire_reader_init(struct hx_wire_reader *r, const void *payload, size_t len);

/* hx_wire_more - true when the current container (or the top level) has an item left to read
 * and no error has occurred. */
bool hx_wire_more(const struct hx_wire_reader *r);

/* hx_wire_depth - containers currently entered (0: the top level). */
unsigned hx_wire_depth(const struct hx_wire_reader *r);

/* hx_wire_reader_error - 0, or the first failure's negative HX_E* code. */
int hx_wire_reader_error(const struct hx_wire_reader *r);

/*
 * hx_wire_next - read the next item of the current container into *@item, entering it if it is an
 * array or a map. Returns 0; -HX_ENOENT (none left: see hx_wire_more); -HX_EBADMSG.
 */
int hx_wire_next(struct hx_wire_reader *r, struct hx_wire_item *item);

/* hx_wire_skip - pass over the next item whole (a container with everything inside it).
 * Returns 0, -HX_ENOENT, -HX_EBADMSG. */
int hx_wire_skip(struct hx_wire_reader *r);

/* hx_wire_leave - skip what is left of the current container and return to its parent.
 * Returns 0; -HX_ENOENT at the top level; -HX_EBADMSG. */
int hx_wire_leave(struct hx_wire_reader *r);

/*
 * Typed reads of the next item: each fails with -HX_EINVAL when the item has another type (the
 * item is consumed all the same), -HX_ENOENT when there is none, -HX_ERANGE when an integer does
 * not fit. Arrays and maps are entered (leave them with hx_wire_leave); strings point into the
 * payload and are not NUL-terminated.
 */
int hx_wire_read_uint(struct hx_wire_reader *r, uint64_t *value);
int hx_wire_read_int(struct hx_wire_reader *r, int64_t *value);
int hx_wire_read_bool(struct hx_wire_reader *r, bool *value);
int hx_wire_read_null(struct hx_wire_reader *r);
int hx_wire_read_bytes(struct hx_wire_reader *r, const uint8_t **data, size_t *len);
int hx_wire_read_text(struct hx_wire_reader *r, const char **text, size_t *len);
int hx_wire_read_array(struct hx_wire_reader *r, size_t *count);
int hx_wire_read_map(struct hx_wire_reader *r, size_t *pairs);

/* ---- Building a payload or a message --------------------------------------------------------- */

/* One open array or map (private to the builder and the decoder). */
struct hx_wire_level {
	uint32_t remaining; /* items still to come; a map counts keys and values */
	uint32_t start;     /* offset of the container's head */
	uint32_t key_start; /* map: the previous key's encoding */
	uint32_t key_len;   /* map: its size; 0 before the first key */
	bool map;
};

/*
 * The builder: every hx_wire_put_* appends one item (hx_wire_put_array/map: the head, then exactly
 * count items, or 2 * pairs for a map, must follow; a container closes by itself when its last item
 * is written). Errors are sticky: the first one is kept (code, offset, reason) and later calls do
 * nothing; hx_wire_builder_finish reports it. Refused: more items than declared or a second
 * top-level item, nesting deeper than 16, map keys out of canonical order or repeated (keys are
 * compared by their encodings, RFC 8949 §4.2.1: sort them that way first), invalid UTF-8 in text
 * (all -HX_EINVAL); the buffer full (-HX_ENOSPC) or the payload past the 64 KiB message limit
 * (-HX_EMSGSIZE). The fields are private.
 */
struct hx_wire_builder {
	uint8_t *buf;
	size_t cap;           /* usable bytes at buf (at most a whole message) */
	size_t len;           /* bytes written, header included in message mode */
	size_t payload_start; /* 0, or the header + name size in message mode */
	bool wire_limited;    /* cap was cut to the 64 KiB limit: overflowing it is EMSGSIZE */
	bool message;
	bool top_done;
	unsigned depth;
	int error;
	size_t error_offset;
	const char *reason;
	struct hx_wire_level levels[HX_WIRE_MAX_DEPTH];
};

/* hx_wire_builder_init - build a bare payload into @buf of @cap bytes (NULL @buf: -HX_EINVAL at
 * finish). Any context. */
void hx_wire_builder_init(struct hx_wire_builder *b, void *buf, size_t cap);

/*
 * hx_wire_builder_init_message - build a whole message into @buf: writes @header's envelope
 * (checked like hx_wire_encode; its payload fields are ignored) and the payload follows;
 * hx_wire_builder_finish fills in the payload length. Any context.
 */
void hx_wire_builder_init_message(struct hx_wire_builder *b, void *buf, size_t cap,
                                  const struct hx_wire_message *header);

void hx_wire_put_uint(struct hx_wire_builder *b, uint64_t value);
void hx_wire_put_int(struct hx_wire_builder *b, int64_t value);
/* hx_wire_put_negative - the integer -1 - @n (reaches -2^64, below int64_t). */
void hx_wire_put_negative(struct hx_wire_builder *b, uint64_t n);
/* hx_wire_put_bytes - a byte string; @data may lie anywhere, the builder's buffer included. */
void hx_wire_put_bytes(struct hx_wire_builder *b, const void *data, size_t len);
/* hx_wire_put_text - @len bytes of UTF-8 (checked: -HX_EINVAL "invalid UTF-8: ..."). */
void hx_wire_put_text(struct hx_wire_builder *b, const char *text, size_t len);
/* hx_wire_put_string - hx_wire_put_text of a NUL-terminated string. */
void hx_wire_put_string(struct hx_wire_builder *b, const char *text);
void hx_wire_put_bool(struct hx_wire_builder *b, bool value);
void hx_wire_put_null(struct hx_wire_builder *b);
/* An array of @count items / a map of @pairs pairs: the items follow. */
void hx_wire_put_array(struct hx_wire_builder *b, size_t count);
void hx_wire_put_map(struct hx_wire_builder *b, size_t pairs);

/*
 * hx_wire_builder_finish - end the build: every container must be complete (-HX_EINVAL "container
 * not complete" otherwise); in message mode the payload length is filled in. Returns 0 and
 * *@len_out (the payload's size, or the whole message's), or the sticky error with @err (may be
 * NULL) describing it; offsets count from the start of @buf.
 */
int hx_wire_builder_finish(struct hx_wire_builder *b, size_t *len_out, struct hx_wire_error *err);

HX_END_DECLS

#endif /* HELIX_IPC_WIRE_H */
