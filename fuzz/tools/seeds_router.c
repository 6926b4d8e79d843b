// SPDX-License-Identifier: MIT
/*
 * Seeds for router_decoder_fuzzer and router_call_fuzzer (fuzz/tools/seedgen.h).
 *
 * Valid messages come from the real builder and encoder, so a seed is valid exactly when the wire
 * code says so: if a format change breaks one, the generator fails (it checks every valid seed
 * with hx_wire_decode before writing it) instead of quietly writing seeds the fuzzer must first
 * repair. The invalid ones are valid encodings with one thing broken, each a different check of
 * docs/wire-format.md §4, so the fuzzer starts next to every error path.
 *
 * The call programs follow router_call_fuzzer.c's input format (its header comment); the opcode
 * and selector values below must stay in step with it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <helix/ipc/wire.h>

#include "seedgen.h"

/* ---- Files ------------------------------------------------------------------------------------
 */

static int write_seed(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;
	int err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		fprintf(stderr, "seeds_router: path too long: %s/%s\n", dir, name);
		return -ENAMETOOLONG;
	}
	f = fopen(path, "wb");
	if (!f) {
		err = -errno;
		fprintf(stderr, "seeds_router: %s: %s\n", path, strerror(errno));
		return err;
	}
	if (len && fwrite(data, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -EIO;
	if (err)
		fprintf(stderr, "seeds_router: %s: write failed\n", path);
	return err;
}

/* ---- Decoder seeds ----------------------------------------------------------------------------
 */

/* One message being made: the builder in message mode over a buffer big enough for any seed. */
struct seed {
	uint8_t buf[8192];
	size_t len;
	struct hx_wire_builder b;
	struct hx_wire_message header;
};

static void seed_begin(struct seed *s, enum hx_wire_kind kind, const char *name, uint64_t target_id,
                       uint32_t method, int32_t status)
{
	memset(&s->header, 0, sizeof(s->header));
	s->header.kind = kind;
	s->header.request_id = 0x0102030405060708ull;
	s->header.source_id = 3;
	s->header.method = method;
	s->header.status = status;
	if (name)
		hx_wire_set_target_name(&s->header, name);
	else
		s->header.target_id = target_id;
	hx_wire_builder_init_message(&s->b, s->buf, sizeof(s->buf), &s->header);
}

/* Finish the build; a valid seed must also decode (the generator's own check). */
static int seed_end(struct seed *s, const char *what)
{
	struct hx_wire_message msg;
	struct hx_wire_error err;
	int rc = hx_wire_builder_finish(&s->b, &s->len, &err);

	if (rc == 0)
		rc = hx_wire_decode(s->buf, s->len, &msg, &err);
	if (rc != 0)
		fprintf(stderr, "seeds_router: %s: %d at %zu (%s)\n", what, rc, err.offset,
		        err.reason ? err.reason : "no reason");
	return rc ? -EINVAL : 0;
}

/* A message whose payload is @payload as given, valid or not: header by hx_wire_encode (empty
 * payload), the bytes appended, payload_len patched. */
static void seed_raw_payload(struct seed *s, const char *name, const void *payload, size_t len)
{
	struct hx_wire_message msg;

	memset(&msg, 0, sizeof(msg));
	msg.kind = HX_WIRE_REQUEST;
	msg.request_id = 7;
	hx_wire_set_target_name(&msg, name);
	if (hx_wire_encode(&msg, s->buf, sizeof(s->buf), &s->len, NULL) != 0)
		s->len = 0;
	memcpy(s->buf + s->len, payload, len);
	s->len += len;
	for (unsigned i = 0; i < 4; i++)
		s->buf[HX_WIRE_OFF_PAYLOAD_LEN + i] = (uint8_t)(len >> (8 * i));
}

static void put_depth(struct hx_wire_builder *b, unsigned depth)
{
	/* Arrays and maps alternating, 16 deep, a map's key an integer. */
	for (unsigned d = 0; d < depth; d++) {
		if (d % 2) {
			hx_wire_put_map(b, 1);
			hx_wire_put_uint(b, d);
		} else {
			hx_wire_put_array(b, 1);
		}
	}
	hx_wire_put_null(b);
}

#define EMIT(name)                                             \
	do {                                                   \
		int rc_ = write_seed(dir, name, s.buf, s.len); \
		if (rc_)                                       \
			return rc_;                            \
		written++;                                     \
	} while (0)

#define VALID(name)                              \
	do {                                     \
		int valid_ = seed_end(&s, name); \
		if (valid_)                      \
			return valid_;           \
		EMIT(name);                      \
	} while (0)

static int decoder_valid(const char *dir)
{
	static struct seed s; /* 8 KiB: not on the stack */
	static const uint8_t blob[300] = { 0 };
	int written = 0;

	/* Every kind. */
	seed_begin(&s, HX_WIRE_REQUEST, "echo", 0, 1, 0);
	hx_wire_put_map(&s.b, 2);
	hx_wire_put_string(&s.b, "id");
	hx_wire_put_uint(&s.b, 42);
	hx_wire_put_string(&s.b, "text");
	hx_wire_put_string(&s.b, "hello");
	VALID("gen_valid_request_map.bin");

	seed_begin(&s, HX_WIRE_RESPONSE, NULL, 0x10002, 1, 0);
	hx_wire_put_array(&s.b, 3);
	hx_wire_put_uint(&s.b, 1);
	hx_wire_put_uint(&s.b, 2);
	hx_wire_put_uint(&s.b, 3);
	VALID("gen_valid_response_by_id.bin");

	seed_begin(&s, HX_WIRE_ERROR, NULL, 5, 0, HX_WIRE_STATUS_MIN);
	hx_wire_put_string(&s.b, "lowest status");
	VALID("gen_valid_error_status_min.bin");

	seed_begin(&s, HX_WIRE_ERROR, NULL, 5, 0, -1);
	VALID("gen_valid_error_status_minus1_empty.bin");

	seed_begin(&s, HX_WIRE_ONEWAY, "log.sink_0-9", 0, 0xffffffffu, 0);
	hx_wire_put_bool(&s.b, true);
	VALID("gen_valid_oneway_true.bin");

	/* Integers at every head boundary, both signs. */
	{
		static const uint64_t values[] = {
			0, 23, 24, 255, 256, 65535, 65536, 0xffffffffu, 0x100000000ull, UINT64_MAX
		};

		seed_begin(&s, HX_WIRE_RESPONSE, NULL, 2, 0, 0);
		hx_wire_put_array(&s.b, 2 * HX_ARRAY_SIZE(values));
		for (size_t i = 0; i < HX_ARRAY_SIZE(values); i++) {
			hx_wire_put_uint(&s.b, values[i]);
			hx_wire_put_negative(&s.b, values[i]); /* -1 - value: down to -2^64 */
		}
		VALID("gen_valid_integer_boundaries.bin");
	}

	/* Strings: bytes and text at the length boundaries, UTF-8 of every width. */
	seed_begin(&s, HX_WIRE_REQUEST, "strings", 0, 2, 0);
	hx_wire_put_array(&s.b, 9);
	hx_wire_put_bytes(&s.b, blob, 0);
	hx_wire_put_bytes(&s.b, blob, 23);
	hx_wire_put_bytes(&s.b, blob, 24);
	hx_wire_put_bytes(&s.b, blob, 256);
	hx_wire_put_text(&s.b, "", 0);
	hx_wire_put_string(&s.b, "\xc3\xbc\xe6\xb0\xb4\xf0\x90\x85\x91");     /* 2, 3, 4 bytes */
	hx_wire_put_string(&s.b, "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf"); /* edges */
	hx_wire_put_string(&s.b, "an ASCII run longer than eight bytes");
	hx_wire_put_text(&s.b, "nul\0inside", 10);
	VALID("gen_valid_strings.bin");

	/* Map keys of every type, in canonical (bytewise) order. */
	seed_begin(&s, HX_WIRE_REQUEST, "keys", 0, 3, 0);
	hx_wire_put_map(&s.b, 10);
	hx_wire_put_uint(&s.b, 0);
	hx_wire_put_null(&s.b);
	hx_wire_put_uint(&s.b, 24);
	hx_wire_put_null(&s.b);
	hx_wire_put_negative(&s.b, 0);
	hx_wire_put_null(&s.b);
	hx_wire_put_bytes(&s.b, "k", 1);
	hx_wire_put_null(&s.b);
	hx_wire_put_string(&s.b, "b");
	hx_wire_put_null(&s.b);
	hx_wire_put_string(&s.b, "aa");
	hx_wire_put_null(&s.b);
	hx_wire_put_array(&s.b, 0);
	hx_wire_put_null(&s.b);
	hx_wire_put_map(&s.b, 0);
	hx_wire_put_null(&s.b);
	hx_wire_put_bool(&s.b, false);
	hx_wire_put_null(&s.b);
	hx_wire_put_bool(&s.b, true);
	hx_wire_put_bool(&s.b, false);
	VALID("gen_valid_map_keys_all_types.bin");

	/* Depth: 16 levels (the limit), arrays and maps alternating. */
	seed_begin(&s, HX_WIRE_REQUEST, "deep", 0, 4, 0);
	put_depth(&s.b, HX_WIRE_MAX_DEPTH);
	VALID("gen_valid_depth16_mixed.bin");

	/* Width: an array of 256 (a two-byte count), a map of 24 pairs (a one-byte count). */
	seed_begin(&s, HX_WIRE_REQUEST, "wide", 0, 5, 0);
	hx_wire_put_array(&s.b, 2);
	hx_wire_put_array(&s.b, 256);
	for (unsigned i = 0; i < 256; i++)
		hx_wire_put_uint(&s.b, i % 24);
	hx_wire_put_map(&s.b, 24);
	for (unsigned i = 0; i < 24; i++) {
		hx_wire_put_uint(&s.b, i);
		hx_wire_put_array(&s.b, 0);
	}
	VALID("gen_valid_wide_containers.bin");

	/* The longest name, every character class; a bare top-level null. */
	seed_begin(&s, HX_WIRE_REQUEST, "abcdefghijklmnopqrstuvwxyz-._09", 0, 6, 0);
	hx_wire_put_null(&s.b);
	VALID("gen_valid_name31_null.bin");

	return written;
}

static int decoder_invalid(const char *dir)
{
	static struct seed s;
	int written = 0;

	/* Envelope: one broken field each, on a valid message. */
	seed_begin(&s, HX_WIRE_REQUEST, "echo", 0, 1, 0);
	hx_wire_put_uint(&s.b, 1);
	if (seed_end(&s, "base"))
		return -EINVAL;
	{
		static const struct {
			const char *name;
			size_t offset;
			uint8_t value;
		} patches[] = {
			{ "gen_invalid_bad_magic.bin", 2, 'x' },
			{ "gen_invalid_kind_0.bin", HX_WIRE_OFF_KIND, 0 },
			{ "gen_invalid_kind_5.bin", HX_WIRE_OFF_KIND, 5 },
			{ "gen_invalid_flag_high_bit.bin", HX_WIRE_OFF_FLAGS, 0x80 },
			{ "gen_invalid_name_len_32.bin", HX_WIRE_OFF_NAME_LEN, 32 },
			{ "gen_invalid_target_id_with_name.bin", HX_WIRE_OFF_TARGET_ID + 7, 1 },
			{ "gen_invalid_status_in_request.bin", HX_WIRE_OFF_STATUS, 0xff },
			{ "gen_invalid_name_uppercase.bin", HX_WIRE_OFF_NAME + 1, 'C' },
			{ "gen_invalid_payload_len_short.bin", HX_WIRE_OFF_PAYLOAD_LEN, 0 },
			{ "gen_invalid_payload_len_long.bin", HX_WIRE_OFF_PAYLOAD_LEN + 3, 1 },
		};
		uint8_t saved[sizeof(s.buf)];
		size_t len = s.len;

		memcpy(saved, s.buf, len);
		for (size_t i = 0; i < HX_ARRAY_SIZE(patches); i++) {
			memcpy(s.buf, saved, len);
			s.len = len;
			s.buf[patches[i].offset] = patches[i].value;
			EMIT(patches[i].name);
		}
		s.len = 20;
		EMIT("gen_invalid_header_cut_at_20.bin");
		s.len = 5;
		s.buf[HX_WIRE_OFF_VERSION] = 2;
		EMIT("gen_invalid_version_2_short.bin");
	}

	/* An error status one below the range. */
	seed_begin(&s, HX_WIRE_ERROR, NULL, 9, 0, -1);
	if (seed_end(&s, "error"))
		return -EINVAL;
	s.buf[HX_WIRE_OFF_STATUS] = 0xff;
	s.buf[HX_WIRE_OFF_STATUS + 1] = 0xef; /* -4097 */
	EMIT("gen_invalid_error_status_below_min.bin");

	/* Payload: each a different rule of the profile. */
	{
		static const struct {
			const char *name;
			const char *bytes;
			size_t len;
		} payloads[] = {
			{ "gen_invalid_simple_undefined.bin", "\x82\x01\xf7", 3 },
			{ "gen_invalid_break.bin", "\x81\xff", 2 },
			{ "gen_invalid_reserved_info.bin", "\x1c", 1 },
			{ "gen_invalid_overlong_utf8.bin", "\x62\xc0\x80", 3 },
			{ "gen_invalid_utf8_cut.bin", "\x62\x61\xe2", 3 },
			{ "gen_invalid_above_10ffff.bin", "\x64\xf4\x90\x80\x80", 5 },
			{ "gen_invalid_two_items.bin", "\x01\x02", 2 },
			{ "gen_invalid_nonshortest_length.bin", "\x58\x00", 2 },
			{ "gen_invalid_nonshortest_uint64.bin",
			  "\x1b\x00\x00\x00\x00\xff\xff\xff\xff", 9 },
			{ "gen_invalid_depth17_in_key.bin",
			  "\xa1\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x80\x00",
			  18 },
			{ "gen_invalid_map_missing_value.bin", "\xa1\x01", 2 },
			{ "gen_invalid_array_count_huge.bin",
			  "\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9 },
		};

		for (size_t i = 0; i < HX_ARRAY_SIZE(payloads); i++) {
			seed_raw_payload(&s, "bad", payloads[i].bytes, payloads[i].len);
			EMIT(payloads[i].name);
		}
	}
	return written;
}

/* Bare CBOR payloads: the harness checks every input as a payload too (no header to find). */
static int decoder_bare(const char *dir)
{
	static struct seed s;
	struct hx_wire_builder *b = &s.b;
	int written = 0;

	hx_wire_builder_init(b, s.buf, sizeof(s.buf));
	hx_wire_put_map(b, 3);
	hx_wire_put_uint(b, 1);
	hx_wire_put_negative(b, 1000);
	hx_wire_put_string(b, "a");
	hx_wire_put_array(b, 2);
	hx_wire_put_bytes(b, "\x00\xff", 2);
	hx_wire_put_bool(b, false);
	hx_wire_put_string(b, "bb");
	hx_wire_put_map(b, 1);
	hx_wire_put_string(b, "k");
	hx_wire_put_null(b);
	if (hx_wire_builder_finish(b, &s.len, NULL))
		return -EINVAL;
	EMIT("gen_payload_map_mixed.bin");

	hx_wire_builder_init(b, s.buf, sizeof(s.buf));
	put_depth(b, HX_WIRE_MAX_DEPTH);
	if (hx_wire_builder_finish(b, &s.len, NULL))
		return -EINVAL;
	EMIT("gen_payload_depth16.bin");

	hx_wire_builder_init(b, s.buf, sizeof(s.buf));
	hx_wire_put_negative(b, UINT64_MAX);
	if (hx_wire_builder_finish(b, &s.len, NULL))
		return -EINVAL;
	EMIT("gen_payload_min_negative.bin");

	memcpy(s.buf, "\xa2\x01\x00\x01\x00", 5); /* duplicate key */
	s.len = 5;
	EMIT("gen_payload_invalid_duplicate_key.bin");
	memcpy(s.buf, "\xbb\x80\x00\x00\x00\x00\x00\x00\x01\x01\x02", 11); /* 2 * count wraps */
	s.len = 11;
	EMIT("gen_payload_invalid_map_count_wraps.bin");
	return written;
}

int hx_seeds_router_decoder(const char *dir)
{
	int total = 0;
	int (*const parts[])(const char *) = { decoder_valid, decoder_invalid, decoder_bare };

	for (size_t i = 0; i < HX_ARRAY_SIZE(parts); i++) {
		int rc = parts[i](dir);

		if (rc < 0)
			return rc;
		total += rc;
	}
	return total;
}

/* ---- Call programs (router_call_fuzzer.c's input format)
 * ----------------------------------------- */

enum op {
	OP_CALL,
	OP_CALL_NAME,
	OP_SEND,
	OP_REGISTER,
	OP_UNREGISTER,
	OP_SERVE,
	OP_LOOKUP,
	OP_STATS
};
enum target { T_ECHO, T_SUM, T_SLOW, T_DEAD, T_TMP, T_RAW };
enum name_choice { N_ECHO, N_SUM, N_SLOW, N_DEAD, N_TMP, N_EMPTY, N_BAD, N_RAW };
enum deadline { D_NOWAIT, D_PAST, D_100US, D_1MS };
enum cap { CAP_0, CAP_1, CAP_8, CAP_64, CAP_256, CAP_4096 };
enum payload_mode { P_EMPTY, P_RAW, P_UINTS, P_MIXED };
enum register_name { R_TMP, R_ECHO, R_BAD, R_TMP2 };

struct program {
	uint8_t bytes[1024];
	size_t len;
};

static void emit(struct program *p, const uint8_t *bytes, size_t len)
{
	if (len > sizeof(p->bytes) - p->len)
		len = sizeof(p->bytes) - p->len;
	memcpy(p->bytes + p->len, bytes, len);
	p->len += len;
}

#define OPS(p, ...)                                            \
	do {                                                   \
		static const uint8_t ops_[] = { __VA_ARGS__ }; \
		emit(p, ops_, sizeof(ops_));                   \
	} while (0)

/* A raw payload (mode P_RAW) of @len bytes. */
static void raw_payload(struct program *p, const void *bytes, size_t len)
{
	uint8_t head[2] = { P_RAW, (uint8_t)len };

	emit(p, head, 2);
	emit(p, bytes, len);
}

/* A CBOR array of unsigned integers made with the wire builder, as a raw payload. */
static void raw_uint_array(struct program *p, const uint64_t *values, size_t count)
{
	uint8_t buf[128];
	struct hx_wire_builder b;
	size_t len = 0;

	hx_wire_builder_init(&b, buf, sizeof(buf));
	hx_wire_put_array(&b, count);
	for (size_t i = 0; i < count; i++)
		hx_wire_put_uint(&b, values[i]);
	if (hx_wire_builder_finish(&b, &len, NULL) == 0)
		raw_payload(p, buf, len);
}

int hx_seeds_router_call(const char *dir)
{
	static struct program p;
	int written = 0;

#define PROGRAM(name, ...)                                       \
	do {                                                     \
		p.len = 0;                                       \
		__VA_ARGS__;                                     \
		int rc_ = write_seed(dir, name, p.bytes, p.len); \
		if (rc_)                                         \
			return rc_;                              \
		written++;                                       \
	} while (0)

	/* echo: a reply, EMSGSIZE, the handler's error status, by name. */
	PROGRAM("call_echo_by_id.bin", OPS(&p, OP_CALL, T_ECHO, 1, D_1MS, CAP_256);
	        raw_payload(&p, "hello", 5));
	PROGRAM("call_echo_emsgsize.bin", OPS(&p, OP_CALL, T_ECHO, 1, D_1MS, CAP_1);
	        raw_payload(&p, "too long", 8));
	PROGRAM("call_echo_method_fail.bin", OPS(&p, OP_CALL, T_ECHO, 2, D_1MS, CAP_64, P_EMPTY));
	PROGRAM("call_echo_by_name_nowait.bin", OPS(&p, OP_CALL_NAME, N_ECHO, 0, D_NOWAIT, CAP_64,
	                                            P_UINTS, 2, 0, 7, 3, 1, 2, 3, 4, 5, 6, 7, 8));
	PROGRAM("call_echo_big_method.bin",
	        OPS(&p, OP_CALL, T_ECHO, 0x80, 0xff, 0xff, 0xff, 0xff, D_100US, CAP_4096, P_MIXED,
	            5, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5));

	/* sum: right answers, overflow, wrong types, raw bytes valid and not, another method. */
	PROGRAM("call_sum_small.bin",
	        OPS(&p, OP_CALL, T_SUM, 1, D_1MS, CAP_64, P_UINTS, 3, 0, 1, 0, 2, 0, 3));
	PROGRAM("call_sum_overflow.bin", OPS(&p, OP_CALL, T_SUM, 1, D_1MS, CAP_64, P_UINTS, 2, 3,
	                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1));
	PROGRAM("call_sum_mixed_types.bin",
	        OPS(&p, OP_CALL, T_SUM, 1, D_1MS, CAP_64, P_MIXED, 3, 0, 5, 1, 5, 4, 5));
	PROGRAM("call_sum_raw_valid.bin", OPS(&p, OP_CALL, T_SUM, 1, D_1MS, CAP_8);
	        raw_uint_array(&p, (const uint64_t[]){ 24, 256, 65536, 0x100000000ull }, 4));
	PROGRAM("call_sum_raw_invalid.bin", OPS(&p, OP_CALL, T_SUM, 1, D_1MS, CAP_8);
	        raw_payload(&p, "\x82\x18\x05\x01", 4));
	PROGRAM("call_sum_reply_too_big.bin", OPS(&p, OP_CALL, T_SUM, 1, D_1MS, CAP_1);
	        raw_uint_array(&p, (const uint64_t[]){ 1000 }, 1));
	PROGRAM("call_sum_wrong_method.bin",
	        OPS(&p, OP_CALL_NAME, N_SUM, 3, D_1MS, CAP_8, P_EMPTY));

	/* slow: timeouts and late replies; a full queue with NOWAIT sends. */
	PROGRAM("call_slow_timeout.bin", OPS(&p, OP_CALL, T_SLOW, 0, D_100US, CAP_64);
	        raw_payload(&p, "zzz", 3));
	PROGRAM("send_slow_fill_queue.bin",
	        OPS(&p, OP_SEND, T_SLOW, 0, D_1MS, P_EMPTY, OP_SEND, T_SLOW, 0, D_NOWAIT, P_EMPTY,
	            OP_SEND, T_SLOW, 0, D_NOWAIT, P_EMPTY, OP_SEND, T_SLOW, 0, D_NOWAIT, P_EMPTY,
	            OP_SEND, T_SLOW, 0, D_NOWAIT, P_EMPTY, OP_SEND, T_SLOW, 0, D_NOWAIT, P_EMPTY,
	            OP_CALL, T_SLOW, 0, D_NOWAIT, CAP_8, P_EMPTY, OP_STATS, T_SLOW));

	/* Dead targets: the dead id, its name, invalid names, a raw id. */
	PROGRAM("call_dead_targets.bin",
	        OPS(&p, OP_CALL, T_DEAD, 1, D_1MS, CAP_8, P_EMPTY, OP_CALL_NAME, N_DEAD, 1, D_1MS,
	            CAP_8, P_EMPTY, OP_CALL_NAME, N_BAD, 1, D_1MS, CAP_8, P_EMPTY, OP_SEND, T_DEAD,
	            1, D_NOWAIT, P_EMPTY, OP_CALL, T_RAW, 1, 0, 0, 0, 0, 0, 0, 0, 1, D_PAST, CAP_0,
	            P_EMPTY, OP_STATS, T_DEAD, OP_UNREGISTER, T_DEAD));

	/* tmp: registered, filled, served inline, unregistered, then a dead id. */
	PROGRAM("tmp_lifecycle.bin",
	        OPS(&p, OP_REGISTER, R_TMP, 1, OP_SEND, T_TMP, 0, D_NOWAIT, P_EMPTY, OP_CALL, T_TMP,
	            0, D_NOWAIT, CAP_8, P_EMPTY, OP_SEND, T_TMP, 0, D_NOWAIT, P_EMPTY, OP_STATS,
	            T_TMP, OP_SERVE, T_TMP, OP_SERVE, T_TMP, OP_SERVE, T_TMP, OP_CALL_NAME, N_TMP,
	            0, D_PAST, CAP_8, P_EMPTY, OP_UNREGISTER, T_TMP, OP_CALL, T_TMP, 0, D_NOWAIT,
	            CAP_8, P_EMPTY, OP_SERVE, T_TMP, OP_LOOKUP, N_TMP));
	PROGRAM("tmp_full_waits.bin",
	        OPS(&p, OP_REGISTER, R_TMP, 0, OP_SEND, T_TMP, 0, D_PAST, P_EMPTY, OP_SEND, T_TMP,
	            0, D_100US, P_EMPTY, OP_CALL, T_TMP, 0, D_PAST, CAP_0, P_EMPTY, OP_SERVE, T_TMP,
	            OP_SERVE, T_TMP));
	PROGRAM("register_errors.bin",
	        OPS(&p, OP_REGISTER, R_TMP, 3, OP_REGISTER, R_TMP, 0, OP_REGISTER, R_TMP2, 0,
	            OP_REGISTER, R_ECHO, 0, OP_REGISTER, R_BAD, 0, OP_REGISTER, R_TMP, 0xff,
	            OP_LOOKUP, N_TMP, OP_UNREGISTER, T_TMP, OP_REGISTER, R_TMP, 2));

	/* Lookups, serving a module that has a server (EBUSY), stats of each. */
	PROGRAM("lookup_serve_stats.bin",
	        OPS(&p, OP_LOOKUP, N_ECHO, OP_LOOKUP, N_SUM, OP_LOOKUP, N_SLOW, OP_LOOKUP, N_DEAD,
	            OP_LOOKUP, N_EMPTY, OP_LOOKUP, N_BAD, OP_LOOKUP, N_RAW, 4, 's', 'l', 'o', 'w',
	            OP_SERVE, T_ECHO, OP_SERVE, T_DEAD, OP_STATS, T_ECHO, OP_STATS, T_SUM));
	PROGRAM("call_name_raw_long.bin",
	        OPS(&p, OP_CALL_NAME, N_RAW, 32, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
	            'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
	            'a', 'a', 'a', 'a', 'a', 'a', 1, D_1MS, CAP_8, P_EMPTY));

	/* A bit of everything, deadlines of every kind. */
	PROGRAM("mixed_program.bin",
	        OPS(&p, OP_CALL, T_ECHO, 1, D_PAST, CAP_64, P_EMPTY, OP_CALL, T_SUM, 1, D_NOWAIT,
	            CAP_64, P_UINTS, 1, 1, 0x10, 0x27, OP_SEND, T_ECHO, 1, D_100US, P_MIXED, 1, 2,
	            3, OP_SEND, T_SUM, 1, D_1MS, P_UINTS, 0, OP_REGISTER, R_TMP, 2, OP_SEND, T_TMP,
	            1, D_1MS, P_EMPTY, OP_SERVE, T_TMP, OP_CALL, T_SLOW, 1, D_PAST, CAP_4096,
	            P_EMPTY, OP_STATS, T_SLOW, OP_STATS, T_TMP));
#undef PROGRAM
	return written;
}
