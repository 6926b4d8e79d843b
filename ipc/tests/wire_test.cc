// SPDX-License-Identifier: MIT
// The wire format (ipc/include/helix/ipc/wire.h, docs/wire-format.md): the strict decoder, the
// reader, the builder and the whole-message encoder.
//
// Messages are written here by an independent raw writer (raw_message) and payloads by a reference
// CBOR encoder (ref_encode), so the decoder is never tested only against the library's own
// encoder. Every decode runs on an exact-size heap copy of the input: under ASan a read one byte
// past the end is a failure. Random tests use fixed seeds; a failure prints the seed and the
// iteration.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <helix/errors.h>
#include <helix/ipc/wire.h>

namespace
{

// ---- Bytes --------------------------------------------------------------------------------------

using bytes = std::string;

// "83 01 02" -> the bytes; spaces are ignored.
bytes hex(const char *text)
{
	bytes out;
	int nibble = -1;

	for (const char *p = text; *p; p++) {
		int v;

		if (*p == ' ')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v = *p - 'A' + 10;
		else
			throw std::invalid_argument(text);
		if (nibble < 0) {
			nibble = v;
		} else {
			out.push_back((char)(nibble << 4 | v));
			nibble = -1;
		}
	}
	if (nibble >= 0)
		throw std::invalid_argument(text);
	return out;
}

std::string to_hex(const bytes &b)
{
	static const char digits[] = "0123456789abcdef";
	std::string out;

	for (unsigned char c : b) {
		out.push_back(digits[c >> 4]);
		out.push_back(digits[c & 15]);
	}
	return out;
}

// An exact-size heap copy: ASan reports any read outside it.
struct exact_copy {
	std::unique_ptr<uint8_t[]> data;
	size_t len;

	explicit exact_copy(const bytes &b)
	    : data(new uint8_t[b.size() ? b.size() : 1]), len(b.size())
	{
		if (!b.empty())
			memcpy(data.get(), b.data(), b.size());
	}
	const uint8_t *ptr() const
	{
		return len ? data.get() : nullptr;
	}
};

struct outcome {
	int code;
	size_t offset;
	std::string reason;
};

std::ostream &operator<<(std::ostream &os, const outcome &o)
{
	return os << "{" << hx_error_name(o.code) << " at " << o.offset << ": "
	          << (o.reason.empty() ? "-" : o.reason) << "}";
}

// Decodes an exact-size copy that is gone afterwards: out->payload must not be used.
outcome decode(const bytes &msg, struct hx_wire_message *out = nullptr)
{
	exact_copy copy(msg);
	struct hx_wire_message local;
	struct hx_wire_error err;
	int rc = hx_wire_decode(copy.ptr(), copy.len, out ? out : &local, &err);

	REQUIRE(rc == err.code);
	return { rc, err.offset, err.reason ? err.reason : "" };
}

outcome check_payload(const bytes &payload)
{
	exact_copy copy(payload);
	struct hx_wire_error err;
	int rc = hx_wire_check_payload(copy.ptr(), copy.len, &err);

	REQUIRE(rc == err.code);
	return { rc, err.offset, err.reason ? err.reason : "" };
}

bool starts_with(const std::string &s, const char *prefix)
{
	return s.compare(0, strlen(prefix), prefix) == 0;
}

// ---- An independent writer of messages ----------------------------------------------------------

struct header {
	uint8_t magic[4] = { 'H', 'X', 'W', 'M' };
	uint8_t version = 1;
	uint8_t kind = HX_WIRE_REQUEST;
	uint8_t flags = 0;
	int name_len = -1; // -1: the name's length
	uint64_t request_id = 0x1122334455667788ull;
	uint64_t source_id = 7;
	uint64_t target_id = 0;
	uint32_t method = 3;
	int32_t status = 0;
	std::string name = "console";
	int64_t payload_len = -1; // -1: the payload's length
};

void le(bytes &out, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		out.push_back((char)(v & 0xff));
}

bytes raw_message(const header &h, const bytes &payload)
{
	bytes out;

	out.append((const char *)h.magic, 4);
	out.push_back((char)h.version);
	out.push_back((char)h.kind);
	out.push_back((char)h.flags);
	out.push_back((char)(h.name_len >= 0 ? h.name_len : (int)h.name.size()));
	le(out, h.request_id, 8);
	le(out, h.source_id, 8);
	le(out, h.target_id, 8);
	le(out, h.method, 4);
	le(out, (uint32_t)h.status, 4);
	le(out, h.payload_len >= 0 ? (uint64_t)h.payload_len : payload.size(), 4);
	out += h.name;
	out += payload;
	return out;
}

bytes raw_message(const bytes &payload)
{
	return raw_message(header(), payload);
}

// ---- A value model, a reference encoder, and the library's builder and reader on it -------------

struct value {
	enum kind_t { UINT, NEG, BYTES, TEXT, ARRAY, MAP, BOOL_FALSE, BOOL_TRUE, NUL } kind = NUL;
	uint64_t num = 0;         // UINT: the value; NEG: n (the value is -1 - n)
	std::string str;          // BYTES, TEXT
	std::vector<value> items; // ARRAY: elements; MAP: key, value, key, value ...

	bool operator==(const value &o) const
	{
		return kind == o.kind && num == o.num && str == o.str && items == o.items;
	}
};

void ref_head(bytes &out, int major, uint64_t arg)
{
	uint8_t mt = (uint8_t)(major << 5);

	if (arg < 24) {
		out.push_back((char)(mt | arg));
	} else if (arg <= 0xff) {
		out.push_back((char)(mt | 24));
		out.push_back((char)arg);
	} else if (arg <= 0xffff) {
		out.push_back((char)(mt | 25));
		for (int s = 8; s >= 0; s -= 8)
			out.push_back((char)(arg >> s));
	} else if (arg <= 0xffffffffull) {
		out.push_back((char)(mt | 26));
		for (int s = 24; s >= 0; s -= 8)
			out.push_back((char)(arg >> s));
	} else {
		out.push_back((char)(mt | 27));
		for (int s = 56; s >= 0; s -= 8)
			out.push_back((char)(arg >> s));
	}
}

void ref_encode(bytes &out, const value &v)
{
	switch (v.kind) {
	case value::UINT:
		ref_head(out, 0, v.num);
		break;
	case value::NEG:
		ref_head(out, 1, v.num);
		break;
	case value::BYTES:
		ref_head(out, 2, v.str.size());
		out += v.str;
		break;
	case value::TEXT:
		ref_head(out, 3, v.str.size());
		out += v.str;
		break;
	case value::ARRAY:
		ref_head(out, 4, v.items.size());
		for (const value &item : v.items)
			ref_encode(out, item);
		break;
	case value::MAP:
		ref_head(out, 5, v.items.size() / 2);
		for (const value &item : v.items)
			ref_encode(out, item);
		break;
	case value::BOOL_FALSE:
		out.push_back('\xf4');
		break;
	case value::BOOL_TRUE:
		out.push_back('\xf5');
		break;
	case value::NUL:
		out.push_back('\xf6');
		break;
	}
}

bytes ref_encode(const value &v)
{
	bytes out;
	ref_encode(out, v);
	return out;
}

void put(struct hx_wire_builder *b, const value &v)
{
	switch (v.kind) {
	case value::UINT:
		hx_wire_put_uint(b, v.num);
		break;
	case value::NEG:
		hx_wire_put_negative(b, v.num);
		break;
	case value::BYTES:
		hx_wire_put_bytes(b, v.str.data(), v.str.size());
		break;
	case value::TEXT:
		hx_wire_put_text(b, v.str.data(), v.str.size());
		break;
	case value::ARRAY:
		hx_wire_put_array(b, v.items.size());
		for (const value &item : v.items)
			put(b, item);
		break;
	case value::MAP:
		hx_wire_put_map(b, v.items.size() / 2);
		for (const value &item : v.items)
			put(b, item);
		break;
	case value::BOOL_FALSE:
	case value::BOOL_TRUE:
		hx_wire_put_bool(b, v.kind == value::BOOL_TRUE);
		break;
	case value::NUL:
		hx_wire_put_null(b);
		break;
	}
}

// The library's builder on @v: the payload, or the error.
bytes build(const value &v, int *rc_out = nullptr)
{
	std::vector<uint8_t> buf(HX_WIRE_MAX_PAYLOAD);
	struct hx_wire_builder b;
	struct hx_wire_error err;
	size_t len = 0;
	int rc;

	hx_wire_builder_init(&b, buf.data(), buf.size());
	put(&b, v);
	rc = hx_wire_builder_finish(&b, &len, &err);
	if (rc_out)
		*rc_out = rc;
	else
		REQUIRE(rc == 0);
	return rc ? bytes() : bytes((const char *)buf.data(), len);
}

// Read one item (recursively) with the reader; checks the reported depth on the way.
value get(struct hx_wire_reader *r, unsigned depth)
{
	struct hx_wire_item item;
	value v;

	REQUIRE(hx_wire_next(r, &item) == 0);
	REQUIRE(item.depth == depth);
	switch (item.type) {
	case HX_WIRE_UINT:
		v.kind = value::UINT;
		v.num = item.value;
		break;
	case HX_WIRE_NEGATIVE:
		v.kind = value::NEG;
		v.num = item.value;
		break;
	case HX_WIRE_BYTES:
	case HX_WIRE_TEXT:
		v.kind = item.type == HX_WIRE_BYTES ? value::BYTES : value::TEXT;
		v.str.assign((const char *)item.data, item.value);
		break;
	case HX_WIRE_ARRAY:
	case HX_WIRE_MAP:
		v.kind = item.type == HX_WIRE_ARRAY ? value::ARRAY : value::MAP;
		REQUIRE(hx_wire_depth(r) == depth + 1);
		for (uint64_t i = 0; i < (item.type == HX_WIRE_MAP ? 2 : 1) * item.value; i++) {
			REQUIRE(hx_wire_more(r));
			v.items.push_back(get(r, depth + 1));
		}
		REQUIRE_FALSE(hx_wire_more(r));
		REQUIRE(hx_wire_leave(r) == 0);
		REQUIRE(hx_wire_depth(r) == depth);
		break;
	case HX_WIRE_FALSE:
		v.kind = value::BOOL_FALSE;
		break;
	case HX_WIRE_TRUE:
		v.kind = value::BOOL_TRUE;
		break;
	case HX_WIRE_NULL:
		v.kind = value::NUL;
		break;
	}
	return v;
}

value read_payload(const uint8_t *payload, size_t len)
{
	struct hx_wire_reader r;

	hx_wire_reader_init(&r, payload, len);
	REQUIRE(hx_wire_more(&r));
	value v = get(&r, 0);
	REQUIRE_FALSE(hx_wire_more(&r));
	REQUIRE(hx_wire_reader_error(&r) == 0);
	return v;
}

value uint_(uint64_t n)
{
	value v;
	v.kind = value::UINT;
	v.num = n;
	return v;
}

value neg(uint64_t n)
{
	value v;
	v.kind = value::NEG;
	v.num = n;
	return v;
}

value text(const std::string &s)
{
	value v;
	v.kind = value::TEXT;
	v.str = s;
	return v;
}

value byte_string(const std::string &s)
{
	value v;
	v.kind = value::BYTES;
	v.str = s;
	return v;
}

value array(std::vector<value> items)
{
	value v;
	v.kind = value::ARRAY;
	v.items = std::move(items);
	return v;
}

// A map from pairs given in any order: sorted by the keys' encodings here, as a caller must.
value map(std::vector<std::pair<value, value>> pairs)
{
	value v;

	std::sort(pairs.begin(), pairs.end(), [](const auto &a, const auto &b) {
		return ref_encode(a.first) < ref_encode(b.first);
	});
	v.kind = value::MAP;
	for (auto &p : pairs) {
		v.items.push_back(p.first);
		v.items.push_back(p.second);
	}
	return v;
}

value simple(value::kind_t kind)
{
	value v;
	v.kind = kind;
	return v;
}

// ---- Random values ------------------------------------------------------------------------------

struct rng {
	uint64_t state;

	uint64_t next()
	{
		uint64_t z = (state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}
	uint64_t below(uint64_t n)
	{
		return next() % n;
	}
};

// Integers near every head-size boundary, and anything.
uint64_t random_arg(rng &g)
{
	static const uint64_t edges[] = { 0,
		                          1,
		                          23,
		                          24,
		                          255,
		                          256,
		                          65535,
		                          65536,
		                          0xffffffffull,
		                          0x100000000ull,
		                          UINT64_MAX,
		                          INT64_MAX,
		                          (uint64_t)INT64_MAX + 1 };

	switch (g.below(3)) {
	case 0:
		return edges[g.below(sizeof(edges) / sizeof(edges[0]))] + (g.below(3) == 0);
	case 1:
		return g.next() >> g.below(64);
	default:
		return g.below(30);
	}
}

void append_utf8(std::string &s, uint32_t cp)
{
	if (cp < 0x80) {
		s.push_back((char)cp);
	} else if (cp < 0x800) {
		s.push_back((char)(0xc0 | cp >> 6));
		s.push_back((char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		s.push_back((char)(0xe0 | cp >> 12));
		s.push_back((char)(0x80 | (cp >> 6 & 0x3f)));
		s.push_back((char)(0x80 | (cp & 0x3f)));
	} else {
		s.push_back((char)(0xf0 | cp >> 18));
		s.push_back((char)(0x80 | (cp >> 12 & 0x3f)));
		s.push_back((char)(0x80 | (cp >> 6 & 0x3f)));
		s.push_back((char)(0x80 | (cp & 0x3f)));
	}
}

std::string random_text(rng &g, size_t max_chars)
{
	std::string s;
	size_t n = g.below(max_chars + 1);

	for (size_t i = 0; i < n; i++) {
		uint32_t cp;

		switch (g.below(4)) {
		case 0:
			cp = 0x80 + (uint32_t)g.below(0x800 - 0x80);
			break;
		case 1:
			do
				cp = 0x800 + (uint32_t)g.below(0x10000 - 0x800);
			while (cp >= 0xd800 && cp <= 0xdfff);
			break;
		case 2:
			cp = 0x10000 + (uint32_t)g.below(0x110000 - 0x10000);
			break;
		default:
			cp = (uint32_t)g.below(0x80);
			break;
		}
		append_utf8(s, cp);
	}
	return s;
}

value random_value(rng &g, unsigned depth);

// Containers nested in @v, @v included.
unsigned nesting(const value &v)
{
	unsigned deepest = 0;

	if (v.kind != value::ARRAY && v.kind != value::MAP)
		return 0;
	for (const value &item : v.items)
		deepest = std::max(deepest, nesting(item));
	return deepest + 1;
}

// Sorted, unique keys (by encoding), random values.
value random_map(rng &g, unsigned depth, size_t max_pairs)
{
	std::vector<std::pair<bytes, std::pair<value, value>>> pairs;
	size_t n = g.below(max_pairs + 1);
	value m;

	for (size_t i = 0; i < n; i++) {
		value key = g.below(4)
		                ? (g.below(2) ? uint_(random_arg(g)) : text(random_text(g, 6)))
		                : random_value(g, depth + 1);
		bytes enc = ref_encode(key);
		bool dup = false;

		for (auto &p : pairs)
			dup = dup || p.first == enc;
		if (!dup)
			pairs.push_back({ enc, { key, random_value(g, depth + 1) } });
	}
	std::sort(pairs.begin(), pairs.end(),
	          [](const auto &a, const auto &b) { return a.first < b.first; });
	m.kind = value::MAP;
	for (auto &p : pairs) {
		m.items.push_back(p.second.first);
		m.items.push_back(p.second.second);
	}
	return m;
}

// @depth: containers around the value (a container here is at depth + 1).
value random_value(rng &g, unsigned depth)
{
	bool containers = depth < HX_WIRE_MAX_DEPTH;
	uint64_t pick = g.below(containers && depth < 4 ? 12 : 9);

	// Now and then a chain of single-item containers straight down to the limit.
	if (containers && depth < 2 && g.below(40) == 0) {
		value v = random_value(g, HX_WIRE_MAX_DEPTH);

		for (unsigned d = HX_WIRE_MAX_DEPTH; d > depth; d--)
			v = g.below(2) ? array({ v }) : map({ { uint_(d), v } });
		return v;
	}
	switch (pick) {
	case 0:
		return uint_(random_arg(g));
	case 1:
		return neg(random_arg(g));
	case 2: {
		std::string s(g.below(8) == 0 ? g.below(600) : g.below(30), '\0');

		for (char &c : s)
			c = (char)g.next();
		return byte_string(s);
	}
	case 3:
		return text(random_text(g, g.below(8) == 0 ? 200 : 12));
	case 4:
		return simple(value::BOOL_FALSE);
	case 5:
		return simple(value::BOOL_TRUE);
	case 6:
		return simple(value::NUL);
	case 7:
	case 9:
	case 10: {
		if (!containers)
			return uint_(g.below(100));
		std::vector<value> items(g.below(6));
		for (value &item : items)
			item = random_value(g, depth + 1);
		return array(items);
	}
	default:
		if (!containers)
			return text(random_text(g, 4));
		return random_map(g, depth, 5);
	}
}

} // namespace

// ---- RFC 8949 Appendix A ------------------------------------------------------------------------

TEST_CASE("RFC 8949 Appendix A examples inside the profile decode to their values", "[wire][rfc]")
{
	struct example {
		const char *hex;
		value expected;
	};
	const example examples[] = {
		{ "00", uint_(0) },
		{ "01", uint_(1) },
		{ "0a", uint_(10) },
		{ "17", uint_(23) },
		{ "1818", uint_(24) },
		{ "1819", uint_(25) },
		{ "1864", uint_(100) },
		{ "1903e8", uint_(1000) },
		{ "1a000f4240", uint_(1000000) },
		{ "1b000000e8d4a51000", uint_(1000000000000ull) },
		{ "1bffffffffffffffff", uint_(UINT64_MAX) },
		{ "3bffffffffffffffff", neg(UINT64_MAX) }, // -18446744073709551616
		{ "20", neg(0) },
		{ "29", neg(9) },
		{ "3863", neg(99) },
		{ "3903e7", neg(999) },
		{ "f4", simple(value::BOOL_FALSE) },
		{ "f5", simple(value::BOOL_TRUE) },
		{ "f6", simple(value::NUL) },
		{ "40", byte_string("") },
		{ "4401020304", byte_string(hex("01020304")) },
		{ "60", text("") },
		{ "6161", text("a") },
		{ "6449455446", text("IETF") },
		{ "62225c", text("\"\\") },
		{ "62c3bc", text("\xc3\xbc") },
		{ "63e6b0b4", text("\xe6\xb0\xb4") },
		{ "64f0908591", text("\xf0\x90\x85\x91") },
		{ "80", array({}) },
		{ "83010203", array({ uint_(1), uint_(2), uint_(3) }) },
		{ "8301820203820405", array({ uint_(1), array({ uint_(2), uint_(3) }),
		                              array({ uint_(4), uint_(5) }) }) },
		{ "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
		  [] {
		          std::vector<value> v;
		          for (int i = 1; i <= 25; i++)
			          v.push_back(uint_(i));
		          return array(v);
		  }() },
		{ "a0", map({}) },
		{ "a201020304", map({ { uint_(1), uint_(2) }, { uint_(3), uint_(4) } }) },
		{ "a26161016162820203",
		  map({ { text("a"), uint_(1) }, { text("b"), array({ uint_(2), uint_(3) }) } }) },
		{ "826161a161626163", array({ text("a"), map({ { text("b"), text("c") } }) }) },
		{ "a56161614161626142616361436164614461656145", map({ { text("a"), text("A") },
		                                                      { text("b"), text("B") },
		                                                      { text("c"), text("C") },
		                                                      { text("d"), text("D") },
		                                                      { text("e"), text("E") } }) },
	};

	for (const example &e : examples) {
		bytes payload = hex(e.hex);
		exact_copy wire(raw_message(payload));
		struct hx_wire_message msg;

		INFO("example " << e.hex);
		CHECK(check_payload(payload).code == 0);
		REQUIRE(hx_wire_decode(wire.ptr(), wire.len, &msg, nullptr) == 0);
		CHECK(read_payload(msg.payload, msg.payload_len) == e.expected);
		// Deterministic: the builder and the reference encoder give back the same bytes.
		CHECK(to_hex(build(e.expected)) == e.hex);
		CHECK(to_hex(ref_encode(e.expected)) == e.hex);
	}
}

TEST_CASE("RFC 8949 Appendix A examples outside the profile are rejected for the right reason",
          "[wire][rfc]")
{
	struct example {
		const char *hex;
		const char *reason;
		size_t offset;
	};
	static const char FLOAT[] = "floating-point numbers not allowed";
	static const char TAG[] = "tags not allowed";
	static const char SIMPLE[] = "simple values other than false, true and null not allowed";
	static const char INDEF[] = "indefinite length not allowed";
	const example examples[] = {
		// Floats: half, single and double precision, including infinities and NaNs.
		{ "f90000", FLOAT, 0 },
		{ "f98000", FLOAT, 0 },
		{ "f93c00", FLOAT, 0 },
		{ "fb3ff199999999999a", FLOAT, 0 },
		{ "f93e00", FLOAT, 0 },
		{ "f97bff", FLOAT, 0 },
		{ "fa47c35000", FLOAT, 0 },
		{ "fa7f7fffff", FLOAT, 0 },
		{ "fb7e37e43c8800759c", FLOAT, 0 },
		{ "f90001", FLOAT, 0 },
		{ "f90400", FLOAT, 0 },
		{ "f9c400", FLOAT, 0 },
		{ "fbc010666666666666", FLOAT, 0 },
		{ "f97c00", FLOAT, 0 },
		{ "f97e00", FLOAT, 0 },
		{ "f9fc00", FLOAT, 0 },
		{ "fa7f800000", FLOAT, 0 },
		{ "fa7fc00000", FLOAT, 0 },
		{ "faff800000", FLOAT, 0 },
		{ "fb7ff0000000000000", FLOAT, 0 },
		{ "fb7ff8000000000000", FLOAT, 0 },
		{ "fbfff0000000000000", FLOAT, 0 },
		// Simple values other than false, true, null.
		{ "f7", SIMPLE, 0 },
		{ "f0", SIMPLE, 0 },
		{ "f8ff", SIMPLE, 0 },
		// Tags (bignums, dates, URIs, encoded CBOR ...).
		{ "c249010000000000000000", TAG, 0 },
		{ "c349010000000000000000", TAG, 0 },
		{ "c074323031332d30332d32315432303a30343a30305a", TAG, 0 },
		{ "c11a514b67b0", TAG, 0 },
		{ "c1fb41d452d9ec200000", TAG, 0 },
		{ "d74401020304", TAG, 0 },
		{ "d818456449455446", TAG, 0 },
		{ "d82076687474703a2f2f7777772e6578616d706c652e636f6d", TAG, 0 },
		// Indefinite lengths, at the top and nested.
		{ "5f42010243030405ff", INDEF, 0 },
		{ "7f657374726561646d696e67ff", INDEF, 0 },
		{ "9fff", INDEF, 0 },
		{ "9f018202039f0405ffff", INDEF, 0 },
		{ "9f01820203820405ff", INDEF, 0 },
		{ "83018202039f0405ff", INDEF, 5 },
		{ "83019f0203ff820405", INDEF, 2 },
		{ "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", INDEF, 0 },
		{ "bf61610161629f0203ffff", INDEF, 0 },
		{ "826161bf61626163ff", INDEF, 3 },
		{ "bf6346756ef563416d7421ff", INDEF, 0 },
	};

	for (const example &e : examples) {
		bytes payload = hex(e.hex);
		outcome o = check_payload(payload);
		outcome m = decode(raw_message(payload));

		INFO("example " << e.hex << " -> " << o);
		CHECK(o.code == -HX_EBADMSG);
		CHECK(o.reason == e.reason);
		CHECK(o.offset == e.offset);
		// Inside a message: same reason, offset counted from the message's start.
		CHECK(m.code == -HX_EBADMSG);
		CHECK(m.reason == e.reason);
		CHECK(m.offset == HX_WIRE_HEADER_SIZE + strlen("console") + e.offset);
	}
}

TEST_CASE("Map keys: bytewise lexicographic order of the encodings (RFC 8949 4.2.1), unique",
          "[wire][map]")
{
	struct example {
		const char *hex;
		const char *reason; // nullptr: accepted
		size_t offset;
	};
	static const char ORDER[] = "map keys not in canonical order";
	static const char DUP[] = "duplicate map key";
	const example examples[] = {
		{ "a201020304", nullptr, 0 },
		{ "a203040102", ORDER, 3 },
		{ "a201020103", DUP, 3 },
		{ "a3010201030502", DUP, 3 },
		// 24 (18 18) before "" (60): bytewise order, not RFC 7049's length-first order.
		{ "a2181800"
		  "6000",
		  nullptr, 0 },
		{ "a26000"
		  "181800",
		  ORDER, 3 },
		// -1 (20) after 23 (17), before "a" (61 61).
		{ "a3170020006161 00", nullptr, 0 },
		{ "a3200017006161 00", ORDER, 3 },
		// Byte strings (4x) sort before text strings (6x); "a" before "aa" before "b".
		{ "a3416100616100626161 00", nullptr, 0 },
		{ "a3616100416100 626161 00", ORDER, 4 },
		// The head carries the length: "b" (61 62) before "aa" (62 61 61).
		{ "a3 6161 00 6162 00 626161 00", nullptr, 0 },
		{ "a3 6161 00 626161 00 6162 00", ORDER, 8 },
		{ "a3 626161 00 6161 00 6162 00", ORDER, 5 },
		// Containers as keys: compared by their encodings too.
		{ "a2 8101 00 8102 00", nullptr, 0 },
		{ "a2 8102 00 8101 00", ORDER, 4 },
		{ "a2 8101 00 8101 00", DUP, 4 },
		{ "a2 a10102 00 a10102 00", DUP, 5 },
		// Nested maps are checked on their own level; the outer level is unaffected.
		{ "a2 01 a2 0203 0102 02 00", ORDER, 5 },
		{ "82 a10100 a10100", nullptr, 0 },
		{ "a2 01 a10100 02 a10100", nullptr, 0 },
		// The key order is checked when the key ends, before its value is looked at.
		{ "a2 02 00 01 9f", ORDER, 3 },
	};

	for (const example &e : examples) {
		outcome o = check_payload(hex(e.hex));

		INFO("payload " << e.hex << " -> " << o);
		if (!e.reason) {
			CHECK(o.code == 0);
			continue;
		}
		CHECK(o.code == -HX_EBADMSG);
		CHECK(o.reason == e.reason);
		CHECK(o.offset == e.offset);
	}
}

// ---- Round trips --------------------------------------------------------------------------------

TEST_CASE("Round trip: random values encode, decode, compare and re-encode to identical bytes",
          "[wire][property]")
{
	const uint64_t seed = 0x5eed0005;
	const int iterations = 4000;
	rng g{ seed };
	std::vector<uint8_t> buf(HX_WIRE_MAX_MESSAGE);
	size_t max_payload = 0, deepest_hits = 0;

	for (int i = 0; i < iterations; i++) {
		INFO("seed " << seed << " iteration " << i);
		value v = random_value(g, 0);
		bytes ref = ref_encode(v);

		if (ref.size() > HX_WIRE_MAX_PAYLOAD - HX_WIRE_NAME_MAX)
			continue;
		max_payload = std::max(max_payload, ref.size());
		deepest_hits += nesting(v) == HX_WIRE_MAX_DEPTH;

		// The builder writes exactly the reference encoding, which the checker accepts.
		bytes payload = build(v);
		REQUIRE(to_hex(payload) == to_hex(ref));
		REQUIRE(check_payload(payload).code == 0);

		// A random envelope around it, encoded by the library and decoded back.
		struct hx_wire_message msg = {};
		msg.kind = (enum hx_wire_kind)(1 + g.below(4));
		msg.request_id = g.next();
		msg.source_id = g.next();
		msg.method = (uint32_t)g.next();
		msg.status = msg.kind == HX_WIRE_ERROR ? -(int32_t)(1 + g.below(4095)) : 0;
		if (g.below(2)) {
			std::string name = "m";
			const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_.-";
			size_t n = g.below(HX_WIRE_NAME_MAX);

			for (size_t k = 0; k < n; k++)
				name.push_back(chars[g.below(sizeof(chars) - 1)]);
			REQUIRE(hx_wire_set_target_name(&msg, name.c_str()) == 0);
		} else {
			msg.target_id = g.next();
		}
		msg.payload = (const uint8_t *)payload.data();
		msg.payload_len = payload.size();
		size_t len = 0;
		REQUIRE(hx_wire_encode(&msg, buf.data(), buf.size(), &len, nullptr) == 0);
		bytes wire((const char *)buf.data(), len);

		struct hx_wire_message back;
		outcome o = decode(wire, &back);
		REQUIRE(o.code == 0);
		CHECK(back.kind == msg.kind);
		CHECK(back.request_id == msg.request_id);
		CHECK(back.source_id == msg.source_id);
		CHECK(back.target_id == msg.target_id);
		CHECK(std::string(back.target_name) == std::string(msg.target_name));
		CHECK(back.method == msg.method);
		CHECK(back.status == msg.status);
		REQUIRE(back.payload_len == payload.size());

		// The reader gives back the value; building it again gives the same bytes.
		exact_copy copy(wire);
		REQUIRE(hx_wire_decode(copy.ptr(), copy.len, &back, nullptr) == 0);
		value read = read_payload(back.payload, back.payload_len);
		REQUIRE(read == v);
		REQUIRE(build(read) == payload);

		// Re-encoding the decoded message gives the same message bytes.
		std::vector<uint8_t> again(len);
		size_t len2 = 0;
		REQUIRE(hx_wire_encode(&back, again.data(), again.size(), &len2, nullptr) == 0);
		REQUIRE(bytes((const char *)again.data(), len2) == wire);
	}
	INFO("largest payload " << max_payload << ", payloads nested 16 deep " << deepest_hits);
	CHECK(max_payload > 1000);
	CHECK(deepest_hits > 10);
}

TEST_CASE("Mutated messages: whatever the decoder accepts re-encodes to the same bytes",
          "[wire][property]")
{
	// The profile's promise, one encoding per value, checked from the other side: flip, insert
	// and delete bytes of valid messages; any mutant that still decodes must read back to a
	// value whose encoding is the mutant's payload byte for byte.
	const uint64_t seed = 0xfeedbee5;
	rng g{ seed };
	int accepted = 0, rejected = 0;

	for (int i = 0; i < 3000; i++) {
		INFO("seed " << seed << " iteration " << i);
		value v = random_value(g, 0);
		bytes payload = ref_encode(v);

		if (payload.size() > 4000)
			continue;
		for (int m = 0; m < 8; m++) {
			bytes mutant = payload;
			size_t at = mutant.empty() ? 0 : g.below(mutant.size());

			switch (g.below(4)) {
			case 0:
				if (!mutant.empty())
					mutant[at] = (char)g.next();
				break;
			case 1:
				if (!mutant.empty())
					mutant[at] ^= (char)(1u << g.below(8));
				break;
			case 2:
				mutant.insert(at, 1, (char)g.next());
				break;
			default:
				if (!mutant.empty())
					mutant.erase(at, 1);
				break;
			}
			bytes msg = raw_message(mutant);
			struct hx_wire_message out;
			outcome o = decode(msg, &out);

			if (o.code != 0) {
				rejected++;
				REQUIRE(o.code == -HX_EBADMSG);
				REQUIRE(o.offset <= msg.size());
				REQUIRE(!o.reason.empty());
				continue;
			}
			accepted++;
			exact_copy copy(msg);
			REQUIRE(hx_wire_decode(copy.ptr(), copy.len, &out, nullptr) == 0);
			if (out.payload_len == 0)
				continue;
			value back = read_payload(out.payload, out.payload_len);
			REQUIRE(to_hex(ref_encode(back)) == to_hex(mutant));
		}
	}
	INFO("accepted " << accepted << " rejected " << rejected);
	CHECK(accepted > 1000);
	CHECK(rejected > 1000);
}

// ---- The envelope -------------------------------------------------------------------------------

TEST_CASE("A valid message decodes field by field", "[wire][envelope]")
{
	header h;
	h.kind = HX_WIRE_ONEWAY;
	h.request_id = 0x0102030405060708ull;
	h.source_id = 0xfffffffffffffffeull;
	h.method = 0xdeadbeef;
	h.name = "log.sink-0_a";
	bytes payload = hex("a1 6161 01");
	struct hx_wire_message msg;

	memset(&msg, 0xaa, sizeof(msg));
	REQUIRE(decode(raw_message(h, payload), &msg).code == 0);
	CHECK(msg.kind == HX_WIRE_ONEWAY);
	CHECK(msg.request_id == 0x0102030405060708ull);
	CHECK(msg.source_id == 0xfffffffffffffffeull);
	CHECK(msg.target_id == 0);
	CHECK(msg.target_name_len == 12);
	CHECK(std::string(msg.target_name) == "log.sink-0_a");
	CHECK(msg.method == 0xdeadbeef);
	CHECK(msg.status == 0);
	CHECK(msg.payload_len == payload.size());

	// By id, an error reply with the most negative status allowed, an empty payload.
	header e;
	e.kind = HX_WIRE_ERROR;
	e.name = "";
	e.target_id = UINT64_MAX;
	e.status = HX_WIRE_STATUS_MIN;
	REQUIRE(decode(raw_message(e, ""), &msg).code == 0);
	CHECK(msg.kind == HX_WIRE_ERROR);
	CHECK(msg.target_name_len == 0);
	CHECK(msg.target_name[0] == '\0');
	CHECK(msg.target_id == UINT64_MAX);
	CHECK(msg.status == -4095);
	CHECK(msg.payload_len == 0);
	CHECK(decode(raw_message(e, "")).code == 0);

	// The layout is what the doc's table says.
	bytes wire = raw_message(h, payload);
	CHECK(wire.size() == 44 + 12 + payload.size());
	CHECK(to_hex(wire.substr(0, 8)) == "4858574d0104000c"); // "HXWM", 1, one-way, flags, 12
	CHECK(to_hex(wire.substr(8, 8)) == "0807060504030201");
	CHECK(to_hex(wire.substr(32, 4)) == "efbeadde");
}

TEST_CASE("Envelope errors: magic, version, kind, flags, name, status, lengths", "[wire][envelope]")
{
	struct example {
		const char *what;
		bytes msg;
		int code;
		const char *reason;
		size_t offset;
	};
	auto with = [](auto change) {
		header h;
		change(h);
		return raw_message(h, hex("a1 01 02"));
	};
	std::vector<example> examples = {
		{ "magic byte 0", with([](header &h) { h.magic[0] = 'h'; }), -HX_EBADMSG,
		  "bad magic", 0 },
		{ "magic byte 3", with([](header &h) { h.magic[3] = 0; }), -HX_EBADMSG, "bad magic",
		  3 },
		{ "version 0", with([](header &h) { h.version = 0; }), -HX_EPROTO,
		  "unsupported version", 4 },
		{ "version 2", with([](header &h) { h.version = 2; }), -HX_EPROTO,
		  "unsupported version", 4 },
		{ "version 255", with([](header &h) { h.version = 255; }), -HX_EPROTO,
		  "unsupported version", 4 },
		// A version 2 message shorter than a version 1 header is still "unsupported
		// version".
		{ "short version 2", hex("4858574d02 00"), -HX_EPROTO, "unsupported version", 4 },
		{ "kind 0", with([](header &h) { h.kind = 0; }), -HX_EPROTO, "unknown kind", 5 },
		{ "kind 5", with([](header &h) { h.kind = 5; }), -HX_EPROTO, "unknown kind", 5 },
		{ "kind 255", with([](header &h) { h.kind = 255; }), -HX_EPROTO, "unknown kind",
		  5 },
		{ "name 32", with([](header &h) { h.name = std::string(32, 'a'); }), -HX_EBADMSG,
		  "target name longer than 31 characters", 7 },
		{ "name len 255", with([](header &h) { h.name_len = 255; }), -HX_EBADMSG,
		  "target name longer than 31 characters", 7 },
		{ "upper case", with([](header &h) { h.name = "Console"; }), -HX_EBADMSG,
		  "bad character in target name", 44 },
		{ "space", with([](header &h) { h.name = "con sole"; }), -HX_EBADMSG,
		  "bad character in target name", 47 },
		{ "slash", with([](header &h) { h.name = "a/b"; }), -HX_EBADMSG,
		  "bad character in target name", 45 },
		{ "NUL", with([](header &h) { h.name = std::string("ab\0", 3); }), -HX_EBADMSG,
		  "bad character in target name", 46 },
		{ "UTF-8", with([](header &h) { h.name = "caf\xc3\xa9"; }), -HX_EBADMSG,
		  "bad character in target name", 47 },
		{ "id and name", with([](header &h) { h.target_id = 9; }), -HX_EBADMSG,
		  "target id set with a target name", 24 },
		{ "request status", with([](header &h) { h.status = -22; }), -HX_EBADMSG,
		  "nonzero status in a message that is not an error", 36 },
		{ "response status", with([](header &h) {
		          h.kind = HX_WIRE_RESPONSE;
		          h.status = 1;
		  }),
		  -HX_EBADMSG, "nonzero status in a message that is not an error", 36 },
		{ "one-way status", with([](header &h) {
		          h.kind = HX_WIRE_ONEWAY;
		          h.status = INT32_MIN;
		  }),
		  -HX_EBADMSG, "nonzero status in a message that is not an error", 36 },
		{ "error status 0", with([](header &h) { h.kind = HX_WIRE_ERROR; }), -HX_EBADMSG,
		  "error status not in -4095..-1", 36 },
		{ "error status positive", with([](header &h) {
		          h.kind = HX_WIRE_ERROR;
		          h.status = 22;
		  }),
		  -HX_EBADMSG, "error status not in -4095..-1", 36 },
		{ "error status -4096", with([](header &h) {
		          h.kind = HX_WIRE_ERROR;
		          h.status = -4096;
		  }),
		  -HX_EBADMSG, "error status not in -4095..-1", 36 },
		{ "error status INT32_MIN", with([](header &h) {
		          h.kind = HX_WIRE_ERROR;
		          h.status = INT32_MIN;
		  }),
		  -HX_EBADMSG, "error status not in -4095..-1", 36 },
		{ "payload length + 1", with([](header &h) { h.payload_len = 4; }), -HX_EBADMSG,
		  "truncated: payload runs past the end", 51 },
		{ "payload length 2^32 - 1", with([](header &h) { h.payload_len = 0xffffffff; }),
		  -HX_EBADMSG, "truncated: payload runs past the end", 51 },
		{ "payload length - 1", with([](header &h) { h.payload_len = 2; }), -HX_EBADMSG,
		  "trailing bytes after the payload", 53 },
		{ "payload length 0", with([](header &h) { h.payload_len = 0; }), -HX_EBADMSG,
		  "trailing bytes after the payload", 51 },
		{ "extra byte", with([](header &) {}) + "x", -HX_EBADMSG,
		  "trailing bytes after the payload", 54 },
		{ "payload inside trailing", raw_message(hex("01 02")), -HX_EBADMSG,
		  "trailing bytes after the data item", 52 },
		{ "empty", bytes(), -HX_EBADMSG, "truncated: header runs past the end", 0 },
	};
	for (int bit = 0; bit < 8; bit++)
		examples.push_back({ "flag bit",
		                     with([bit](header &h) { h.flags = (uint8_t)(1 << bit); }),
		                     -HX_EPROTO, "reserved flag set", 6 });

	for (const example &e : examples) {
		struct hx_wire_message out, before;

		memset(&out, 0x5a, sizeof(out));
		before = out;
		outcome o = decode(e.msg, &out);
		INFO(e.what << " -> " << o);
		CHECK(o.code == e.code);
		CHECK(o.reason == e.reason);
		CHECK(o.offset == e.offset);
		// Nothing is written to the output on failure.
		CHECK(memcmp(&out, &before, sizeof(out)) == 0);
	}

	// Names of every length 1..31 and every allowed character pass; "" is "by id".
	for (size_t n = 1; n <= HX_WIRE_NAME_MAX; n++) {
		header h;
		h.name = std::string(n, "abz09_.-"[n % 8]);
		CHECK(decode(raw_message(h, "")).code == 0);
	}
	for (int c = 0; c < 256; c++) {
		header h;
		bool valid = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		             c == '.' || c == '-';
		h.name = std::string(1, (char)c);
		INFO("character " << c);
		CHECK((decode(raw_message(h, "")).code == 0) == valid);
		CHECK(hx_wire_name_valid(h.name.data(), 1) == valid);
	}
	CHECK_FALSE(hx_wire_name_valid("", 0));
	CHECK_FALSE(hx_wire_name_valid(std::string(32, 'a').c_str(), 32));
	CHECK(hx_wire_name_valid(std::string(31, 'a').c_str(), 31));
}

TEST_CASE("Messages up to 64 KiB; one byte more is refused before anything is read",
          "[wire][envelope]")
{
	// The largest message: a byte string filling all of it.
	header h;
	h.name = "";
	size_t room = HX_WIRE_MAX_PAYLOAD - 3; // a 3-byte head (59 xx xx)
	bytes payload = "\x59" + std::string(1, (char)(room >> 8)) + std::string(1, (char)room);
	payload += std::string(room, 'z');
	bytes msg = raw_message(h, payload);
	REQUIRE(msg.size() == HX_WIRE_MAX_MESSAGE);
	CHECK(decode(msg).code == 0);

	outcome o = decode(msg + "z");
	CHECK(o.code == -HX_EMSGSIZE);
	CHECK(o.reason == "message larger than 64 KiB");
	CHECK(o.offset == HX_WIRE_MAX_MESSAGE);

	// A length near SIZE_MAX is refused without touching the buffer.
	struct hx_wire_message out;
	struct hx_wire_error err;
	uint8_t one = 0x48;
	CHECK(hx_wire_decode(&one, SIZE_MAX, &out, &err) == -HX_EMSGSIZE);
	CHECK(hx_wire_check_payload(&one, SIZE_MAX, &err) == -HX_EMSGSIZE);

	// NULL arguments.
	CHECK(hx_wire_decode(nullptr, 4, &out, &err) == -HX_EINVAL);
	CHECK(hx_wire_decode(&one, 1, nullptr, &err) == -HX_EINVAL);
	CHECK(hx_wire_decode(nullptr, 0, &out, nullptr) == -HX_EBADMSG); // empty: truncated
	CHECK(hx_wire_check_payload(nullptr, 0, nullptr) == 0);
	CHECK(hx_wire_check_payload(nullptr, 1, nullptr) == -HX_EINVAL);
}

// ---- Malformed payloads -------------------------------------------------------------------------

TEST_CASE("Truncation at every byte of valid messages", "[wire][truncation]")
{
	const char *payloads[] = {
		"",
		"01",
		"a3 6161 01 6162 82 1903e8 3b7fffffffffffffff 6163 a1 44 01020304 f5",
		"83 1bffffffffffffffff 63e6b0b4 9819 0102030405060708090a0b0c0d0e0f101112131415161718181819",
		"a2 8101 a0 8102 f6",
	};
	std::vector<bytes> valid;
	for (const char *p : payloads)
		valid.push_back(hex(p));
	valid.push_back(hex("59 0100") + std::string(256, 'q'));
	valid.push_back(hex("78 20") + std::string(30, 'a') + "\xc3\xa9");
	valid.push_back(bytes(15, '\x81') + hex("a1 00 f4")); // 16 levels

	for (const bytes &payload : valid) {
		REQUIRE(check_payload(payload).code == 0);
		bytes msg = raw_message(payload);
		REQUIRE(decode(msg).code == 0);

		// Every prefix of the whole message fails: "truncated" (magic and version are
		// checked on the bytes present first, and they are valid here).
		for (size_t n = 0; n < msg.size(); n++) {
			outcome o = decode(msg.substr(0, n));
			INFO("payload " << to_hex(payload) << " message prefix " << n << " -> "
			                << o);
			CHECK(o.code == -HX_EBADMSG);
			CHECK(starts_with(o.reason, "truncated: "));
			CHECK(o.offset <= n);
		}
		// Every prefix of the payload, with the length field telling the truth: the CBOR
		// itself is truncated.
		for (size_t n = 1; n < payload.size(); n++) {
			bytes cut = payload.substr(0, n);
			outcome o = check_payload(cut);
			outcome m = decode(raw_message(cut));
			INFO("payload " << to_hex(payload) << " prefix " << n << " -> " << o);
			CHECK(o.code == -HX_EBADMSG);
			CHECK(starts_with(o.reason, "truncated: "));
			CHECK(o.offset <= n);
			CHECK(m.reason == o.reason);
			CHECK(m.offset == o.offset + HX_WIRE_HEADER_SIZE + strlen("console"));
		}
	}
}

TEST_CASE("Lengths and counts beyond the buffer, up to 2^64 - 1, never wrap", "[wire][bounds]")
{
	struct example {
		const char *hex;
		const char *reason;
		size_t offset;
	};
	const example examples[] = {
		{ "41", "truncated: byte string runs past the end", 0 },
		{ "45 01020304", "truncated: byte string runs past the end", 0 },
		{ "5b ffffffffffffffff 00", "truncated: byte string runs past the end", 0 },
		{ "5b fffffffffffffff7 00", "truncated: byte string runs past the end", 0 },
		{ "82 00 5b ffffffffffffffff", "truncated: byte string runs past the end", 2 },
		{ "7b ffffffffffffffff 61", "truncated: text string runs past the end", 0 },
		{ "7a ffffffff 61", "truncated: text string runs past the end", 0 },
		{ "9b ffffffffffffffff 00", "truncated: array runs past the end", 0 },
		{ "9b 8000000000000000 00", "truncated: array runs past the end", 0 },
		{ "bb ffffffffffffffff 00", "truncated: map runs past the end", 0 },
		// 2 * 2^63 wraps to 0 and 2 * (2^63 + 1) to 2: a map of "one pair" to a careless
		// decoder.
		{ "bb 8000000000000000 00", "truncated: map runs past the end", 0 },
		{ "bb 8000000000000001 01 02", "truncated: map runs past the end", 0 },
		{ "ba 80000001 01 02", "truncated: map runs past the end", 0 },
		{ "a2 01 02 03", "truncated: map runs past the end", 0 },
		{ "a1 01", "truncated: map runs past the end", 0 },
		{ "83 01 02", "truncated: array runs past the end", 0 },
		{ "82 82 01 02", "truncated: array runs past the end", 4 },
		{ "82 a1 01 02", "truncated: array runs past the end", 4 },
		{ "81 a2 01 02 03", "truncated: map runs past the end", 1 },
		{ "82 a1 01 81 02", "truncated: array runs past the end", 5 },
		{ "1b 00000000", "truncated: head runs past the end", 0 },
		{ "19 01", "truncated: head runs past the end", 0 },
		{ "18", "truncated: head runs past the end", 0 },
		{ "82 01 39", "truncated: head runs past the end", 2 },
	};

	for (const example &e : examples) {
		outcome o = check_payload(hex(e.hex));
		INFO("payload " << e.hex << " -> " << o);
		CHECK(o.code == -HX_EBADMSG);
		CHECK(o.reason == e.reason);
		CHECK(o.offset == e.offset);
	}
}

TEST_CASE("Non-shortest heads are rejected for every major type and every long form",
          "[wire][shortest]")
{
	for (int major = 0; major <= 5; major++) {
		// For each long form: a value that a shorter form holds (the form's minimum - 1),
		// and 0; then the form's minimum, which is fine as far as the head goes.
		const uint64_t minimum[] = { 24, 0x100, 0x10000, 0x100000000ull };
		for (int form = 0; form < 4; form++) {
			for (uint64_t arg : { minimum[form] - 1, (uint64_t)0, minimum[form] }) {
				bytes head(1, (char)(major << 5 | (24 + form)));
				for (int s = (8 << form) - 8; s >= 0; s -= 8)
					head.push_back((char)(arg >> s));
				outcome o = check_payload(head);
				bool shortest = arg == minimum[form];

				INFO("major " << major << " head " << to_hex(head) << " -> " << o);
				if (shortest && major <= 1) {
					CHECK(o.code == 0);
					continue;
				}
				CHECK(o.code == -HX_EBADMSG);
				if (shortest) {
					// Not a head problem: the string or container runs past
					// the end.
					CHECK(starts_with(o.reason, "truncated: "));
				} else {
					CHECK(o.reason == (major <= 1
					                       ? "non-shortest integer head"
					                       : "non-shortest length head"));
					CHECK(o.offset == 0);
				}
			}
		}
	}
	// Shortest integers at every boundary are accepted.
	for (uint64_t v : { 0ull, 23ull, 24ull, 255ull, 256ull, 65535ull, 65536ull, 0xffffffffull,
	                    0x100000000ull, ~0ull })
		for (int major = 0; major <= 1; major++) {
			bytes b;
			ref_head(b, major, v);
			INFO(to_hex(b));
			CHECK(check_payload(b).code == 0);
		}
	// Non-shortest inside containers and as map keys: the head's own offset.
	outcome o = check_payload(hex("82 01 1817"));
	CHECK(o.reason == "non-shortest integer head");
	CHECK(o.offset == 2);
	o = check_payload(hex("a1 5800 01"));
	CHECK(o.reason == "non-shortest length head");
	CHECK(o.offset == 1);
	o = check_payload(hex("98 01 01"));
	CHECK(o.reason == "non-shortest length head");
	o = check_payload(hex("b8 00"));
	CHECK(o.reason == "non-shortest length head");
}

TEST_CASE("Reserved and disallowed heads", "[wire][heads]")
{
	struct example {
		const char *hex;
		const char *reason;
	};
	const example examples[] = {
		{ "1c", "reserved additional information value" },
		{ "1d", "reserved additional information value" },
		{ "1e", "reserved additional information value" },
		{ "1f", "reserved additional information value" }, // 31 with an integer
		{ "3f", "reserved additional information value" },
		{ "5c", "reserved additional information value" },
		{ "fc", "reserved additional information value" },
		{ "fd", "reserved additional information value" },
		{ "fe", "reserved additional information value" },
		{ "5f", "indefinite length not allowed" },
		{ "7f", "indefinite length not allowed" },
		{ "9f", "indefinite length not allowed" },
		{ "bf", "indefinite length not allowed" },
		{ "ff", "unexpected break stop code" },
		{ "82 01 ff", "unexpected break stop code" },
		{ "c0 00", "tags not allowed" },
		{ "df", "tags not allowed" },
		{ "e0", "simple values other than false, true and null not allowed" },
		{ "f3", "simple values other than false, true and null not allowed" },
		{ "f7", "simple values other than false, true and null not allowed" },
		{ "f8 20", "simple values other than false, true and null not allowed" },
		{ "f8 14",
		  "simple values other than false, true and null not allowed" }, // false, long
		{ "f9", "floating-point numbers not allowed" }, // before its argument is read
	};

	for (const example &e : examples) {
		outcome o = check_payload(hex(e.hex));
		INFO("payload " << e.hex << " -> " << o);
		CHECK(o.code == -HX_EBADMSG);
		CHECK(o.reason == e.reason);
	}
	// Every initial byte: accepted alone exactly when it is a complete item of the profile.
	for (int ib = 0; ib < 256; ib++) {
		int major = ib >> 5, info = ib & 31;
		bool complete = (major <= 1 && info < 24) ||
		                ((major == 2 || major == 3) && info == 0) ||
		                ((major == 4 || major == 5) && info == 0) ||
		                (major == 7 && info >= 20 && info <= 22);
		INFO("initial byte " << ib);
		CHECK((check_payload(bytes(1, (char)ib)).code == 0) == complete);
	}
}

TEST_CASE("Nesting: 16 levels accepted, 17 refused, for arrays, maps and map keys", "[wire][depth]")
{
	for (const char *open : { "81", "a100" }) {
		size_t width = strlen(open) / 2;
		bytes deep16, deep17;

		for (int i = 0; i < 16; i++)
			deep16 += hex(open);
		deep17 = hex(open) + deep16;

		INFO("container " << open);
		CHECK(check_payload(deep16 + hex("f6")).code == 0);
		CHECK(check_payload(deep16 + hex("80")).code == -HX_EBADMSG); // an empty 17th
		outcome o = check_payload(deep17 + hex("f6"));
		CHECK(o.code == -HX_EBADMSG);
		CHECK(o.reason == "nesting deeper than 16");
		CHECK(o.offset == 16 * width);
		o = check_payload(deep16 + hex("a0"));
		CHECK(o.reason == "nesting deeper than 16");
		CHECK(o.offset == 16 * width);
	}
	// A map key that is itself nested counts its own levels.
	bytes keyed = hex("a1");
	for (int i = 0; i < 15; i++)
		keyed += hex("81");
	CHECK(check_payload(keyed + hex("00 00")).code == 0);
	outcome o = check_payload(keyed + hex("81 00 00"));
	CHECK(o.reason == "nesting deeper than 16");
	CHECK(o.offset == 16);
	// Depth is not width: a long flat array and a wide, shallow tree are fine.
	bytes wide = hex("99 0400") + std::string(1024, '\x80');
	CHECK(check_payload(wide).code == 0);
	// Leaving and re-entering levels does not leak depth.
	bytes seq = hex("98 40");
	for (int i = 0; i < 64; i++)
		seq += bytes(15, '\x81') + hex("01");
	CHECK(check_payload(seq).code == 0);
}

// ---- UTF-8 --------------------------------------------------------------------------------------

namespace
{

// A reference validator written the other way round: decode a code point, then judge it.
bool reference_utf8(const bytes &s)
{
	size_t i = 0;

	while (i < s.size()) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= s.size())
			return false;
		for (size_t k = 1; k <= n; k++) {
			unsigned char d = (unsigned char)s[i + k];
			if ((d & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (d & 0x3f);
		}
		static const uint32_t smallest[] = { 0, 0x80, 0x800, 0x10000 };
		if (cp < smallest[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

outcome check_text(const bytes &s)
{
	bytes payload;
	ref_head(payload, 3, s.size());
	return check_payload(payload + s);
}

} // namespace

TEST_CASE("UTF-8: each class of invalid sequence, with its reason and offset", "[wire][utf8]")
{
	struct example {
		const char *hex;
		const char *reason; // nullptr: valid
		size_t offset;      // in the string
	};
	static const char CONT[] = "invalid UTF-8: unexpected continuation byte";
	static const char OVER[] = "invalid UTF-8: overlong encoding";
	static const char SURR[] = "invalid UTF-8: surrogate code point";
	static const char HIGH[] = "invalid UTF-8: code point above U+10FFFF";
	static const char LEAD[] = "invalid UTF-8: invalid lead byte";
	static const char MISS[] = "invalid UTF-8: missing continuation byte";
	static const char CUT[] = "invalid UTF-8: sequence cut off at the end of the string";
	const example examples[] = {
		{ "00", nullptr, 0 },
		{ "7f", nullptr, 0 },
		{ "c280", nullptr, 0 },
		{ "dfbf", nullptr, 0 },
		{ "e0a080", nullptr, 0 },
		{ "ed9fbf", nullptr, 0 },
		{ "ee8080", nullptr, 0 },
		{ "efbfbf", nullptr, 0 },
		{ "f0908080", nullptr, 0 },
		{ "f48fbfbf", nullptr, 0 },
		{ "80", CONT, 0 },
		{ "41bf", CONT, 1 },
		{ "c080", OVER, 0 },
		{ "c1bf", OVER, 0 },
		{ "e08080", OVER, 0 },
		{ "e09fbf", OVER, 0 },
		{ "f0808080", OVER, 0 },
		{ "f08fbfbf", OVER, 0 },
		{ "eda080", SURR, 0 },
		{ "edbfbf", SURR, 0 },
		{ "f4908080", HIGH, 0 },
		{ "f5808080", HIGH, 0 },
		{ "f7bfbfbf", HIGH, 0 },
		{ "f888808080", LEAD, 0 },
		{ "fe", LEAD, 0 },
		{ "ff", LEAD, 0 },
		{ "c2", CUT, 0 },
		{ "e180", CUT, 0 },
		{ "f18080", CUT, 0 },
		{ "c241", MISS, 1 },
		{ "e18041", MISS, 2 },
		{ "f1808041", MISS, 3 },
		{ "e1c280", MISS, 1 },
		{ "61626364656667 68 80", CONT, 8 }, // after an 8-byte ASCII run
		{ "6162636465666768 c3a9 e0", CUT, 10 },
	};

	for (const example &e : examples) {
		bytes s = hex(e.hex);
		outcome o = check_text(s);
		size_t head = s.size() < 24 ? 1 : 2;

		INFO("text " << e.hex << " -> " << o);
		if (!e.reason) {
			CHECK(o.code == 0);
			continue;
		}
		CHECK(o.code == -HX_EBADMSG);
		CHECK(o.reason == e.reason);
		CHECK(o.offset == head + e.offset);
		CHECK(reference_utf8(s) == false);
	}
}

TEST_CASE("UTF-8: agrees with a reference validator on all short strings and random long ones",
          "[wire][utf8][property]")
{
	int disagreements = 0;
	long checked = 0;
	auto compare = [&](const bytes &s) {
		bool ours = check_text(s).code == 0;
		if (ours != reference_utf8(s) && disagreements++ < 10)
			FAIL_CHECK("disagree on " << to_hex(s) << ": ours " << ours);
		checked++;
	};

	for (int a = 0; a < 256; a++) {
		compare(bytes(1, (char)a));
		for (int b = 0; b < 256; b++)
			compare(bytes{ (char)a, (char)b });
	}
	// Three and four bytes: every lead byte from C0 up with random tails biased to the
	// boundaries (80, 8F, 90, 9F, A0, BF, C0).
	rng g{ 0x07f8 };
	const unsigned char tails[] = { 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0 };
	for (int lead = 0xc0; lead < 0x100; lead++)
		for (int i = 0; i < 400; i++) {
			bytes s(1, (char)lead);
			size_t n = 2 + g.below(3);
			for (size_t k = 0; k < n; k++)
				s.push_back(
				    (char)(g.below(2) ? tails[g.below(8)] : 0x80 + g.below(64)));
			compare(s);
		}
	// Long mixed strings, valid and with one random byte changed.
	for (int i = 0; i < 2000; i++) {
		std::string s = random_text(g, 40);
		compare(s);
		if (!s.empty()) {
			s[g.below(s.size())] = (char)g.next();
			compare(s);
		}
	}
	INFO(checked << " strings");
	CHECK(disagreements == 0);
}

// ---- The reader ---------------------------------------------------------------------------------

TEST_CASE("Reader: typed reads, enter and leave, skip, sticky errors", "[wire][reader]")
{
	// {"a": 1, "b": [-2, h'01', true, null], "c": {"d": "text"}, "e": false}
	value v = map({ { text("a"), uint_(1) },
	                { text("b"), array({ neg(1), byte_string("\x01"), simple(value::BOOL_TRUE),
	                                     simple(value::NUL) }) },
	                { text("c"), map({ { text("d"), text("text") } }) },
	                { text("e"), simple(value::BOOL_FALSE) } });
	bytes payload = build(v);
	exact_copy copy(payload);
	struct hx_wire_reader r;
	size_t n, len;
	const char *key;
	const uint8_t *data;
	uint64_t u;
	int64_t i;
	bool flag;

	hx_wire_reader_init(&r, copy.ptr(), copy.len);
	REQUIRE(hx_wire_read_map(&r, &n) == 0);
	CHECK(n == 4);
	REQUIRE(hx_wire_read_text(&r, &key, &len) == 0);
	CHECK(std::string(key, len) == "a");
	REQUIRE(hx_wire_read_uint(&r, &u) == 0);
	CHECK(u == 1);
	REQUIRE(hx_wire_read_text(&r, &key, &len) == 0);
	REQUIRE(hx_wire_read_array(&r, &n) == 0);
	CHECK(n == 4);
	CHECK(hx_wire_depth(&r) == 2);
	REQUIRE(hx_wire_read_int(&r, &i) == 0);
	CHECK(i == -2);
	REQUIRE(hx_wire_read_bytes(&r, &data, &len) == 0);
	CHECK(len == 1);
	CHECK(data[0] == 1);
	REQUIRE(hx_wire_read_bool(&r, &flag) == 0);
	CHECK(flag);
	REQUIRE(hx_wire_read_null(&r) == 0);
	CHECK_FALSE(hx_wire_more(&r));
	REQUIRE(hx_wire_leave(&r) == 0);
	REQUIRE(hx_wire_read_text(&r, &key, &len) == 0);
	CHECK(std::string(key, len) == "c");
	REQUIRE(hx_wire_skip(&r) == 0); // the whole inner map
	REQUIRE(hx_wire_read_text(&r, &key, &len) == 0);
	CHECK(std::string(key, len) == "e");
	REQUIRE(hx_wire_read_bool(&r, &flag) == 0);
	CHECK_FALSE(flag);
	CHECK_FALSE(hx_wire_more(&r));
	// Reading past the end of a container: -HX_ENOENT, and it sticks.
	CHECK(hx_wire_read_uint(&r, &u) == -HX_ENOENT);
	CHECK(hx_wire_leave(&r) == -HX_ENOENT);
	CHECK(hx_wire_reader_error(&r) == -HX_ENOENT);
	CHECK_FALSE(hx_wire_more(&r));

	// Leaving a half-read container skips the rest; leaving the top level is an error.
	hx_wire_reader_init(&r, copy.ptr(), copy.len);
	REQUIRE(hx_wire_read_map(&r, &n) == 0);
	REQUIRE(hx_wire_skip(&r) == 0);
	REQUIRE(hx_wire_leave(&r) == 0);
	CHECK(hx_wire_depth(&r) == 0);
	CHECK_FALSE(hx_wire_more(&r));
	CHECK(hx_wire_leave(&r) == -HX_ENOENT);

	// A type mismatch is -HX_EINVAL and sticks: nothing else is read.
	hx_wire_reader_init(&r, copy.ptr(), copy.len);
	CHECK(hx_wire_read_array(&r, &n) == -HX_EINVAL);
	CHECK(hx_wire_read_map(&r, &n) == -HX_EINVAL);
	CHECK(hx_wire_reader_error(&r) == -HX_EINVAL);
	CHECK_FALSE(hx_wire_more(&r));

	// An empty payload has no item.
	hx_wire_reader_init(&r, nullptr, 0);
	CHECK_FALSE(hx_wire_more(&r));
	CHECK(hx_wire_skip(&r) == -HX_ENOENT);
}

TEST_CASE("Reader: integers at the edges of int64_t", "[wire][reader]")
{
	struct example {
		value v;
		int rc;
		int64_t expected;
	};
	const example examples[] = {
		{ uint_(0), 0, 0 },
		{ uint_(INT64_MAX), 0, INT64_MAX },
		{ uint_((uint64_t)INT64_MAX + 1), -HX_ERANGE, 0 },
		{ uint_(UINT64_MAX), -HX_ERANGE, 0 },
		{ neg(0), 0, -1 },
		{ neg(INT64_MAX), 0, INT64_MIN },
		{ neg((uint64_t)INT64_MAX + 1), -HX_ERANGE, 0 },
		{ neg(UINT64_MAX), -HX_ERANGE, 0 },
		{ text("1"), -HX_EINVAL, 0 },
	};
	for (const example &e : examples) {
		bytes payload = build(e.v);
		struct hx_wire_reader r;
		int64_t got = 0;

		INFO(to_hex(payload));
		hx_wire_reader_init(&r, payload.data(), payload.size());
		CHECK(hx_wire_read_int(&r, &got) == e.rc);
		if (e.rc == 0)
			CHECK(got == e.expected);
	}
	// put_int and read_int agree over the whole range's edges.
	for (int64_t v : { INT64_MIN, INT64_MIN + 1, (int64_t)-1, (int64_t)0, INT64_MAX }) {
		uint8_t buf[16];
		struct hx_wire_builder b;
		struct hx_wire_reader r;
		size_t len;
		int64_t got;

		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_int(&b, v);
		REQUIRE(hx_wire_builder_finish(&b, &len, nullptr) == 0);
		hx_wire_reader_init(&r, buf, len);
		REQUIRE(hx_wire_read_int(&r, &got) == 0);
		CHECK(got == v);
	}
}

TEST_CASE("Reader: on bytes the decoder never saw, stays inside the buffer and 16 levels",
          "[wire][reader][property]")
{
	// The reader is meant for decoded payloads, but a mistake must not become an out-of-bounds
	// read: random bytes and mutants, walked with next/skip/leave, must end (error or not)
	// without ASan reports.
	rng g{ 0xbadc0de };
	int errors = 0;

	for (int i = 0; i < 20000; i++) {
		bytes junk(1 + g.below(40), '\0');
		for (char &c : junk)
			c = (char)(g.below(3) ? g.next() : (g.below(2) ? 0x81 : 0xa1));
		exact_copy copy(junk);
		struct hx_wire_reader r;
		struct hx_wire_item item;

		hx_wire_reader_init(&r, copy.ptr(), copy.len);
		for (int step = 0; step < 200 && hx_wire_reader_error(&r) == 0; step++) {
			if (!hx_wire_more(&r)) {
				if (hx_wire_depth(&r) == 0)
					break;
				hx_wire_leave(&r);
			} else if (g.below(4) == 0) {
				hx_wire_skip(&r);
			} else {
				hx_wire_next(&r, &item);
			}
			REQUIRE(hx_wire_depth(&r) <= HX_WIRE_MAX_DEPTH);
		}
		errors += hx_wire_reader_error(&r) != 0;
	}
	CHECK(errors > 1000);
}

// ---- The builder --------------------------------------------------------------------------------

TEST_CASE("Builder: refuses what the decoder would, with a reason; errors are sticky",
          "[wire][builder]")
{
	uint8_t buf[256];
	struct hx_wire_builder b;
	struct hx_wire_error err;
	size_t len = 0;

	SECTION("keys out of order")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_map(&b, 2);
		hx_wire_put_string(&b, "b");
		hx_wire_put_uint(&b, 1);
		hx_wire_put_string(&b, "a");
		hx_wire_put_uint(&b, 2);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		CHECK(std::string(err.reason) == "map keys not in canonical order");
		CHECK(err.offset == 4);
	}
	SECTION("duplicate key")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_map(&b, 2);
		hx_wire_put_int(&b, -1);
		hx_wire_put_null(&b);
		hx_wire_put_int(&b, -1);
		hx_wire_put_null(&b);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		CHECK(std::string(err.reason) == "duplicate map key");
	}
	SECTION("bytewise order: 24 before \"\", 10 before 100")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_map(&b, 3);
		hx_wire_put_uint(&b, 10);
		hx_wire_put_null(&b);
		hx_wire_put_uint(&b, 24);
		hx_wire_put_null(&b);
		hx_wire_put_string(&b, "");
		hx_wire_put_null(&b);
		REQUIRE(hx_wire_builder_finish(&b, &len, &err) == 0);
		CHECK(to_hex(bytes((char *)buf, len)) == "a30af61818f660f6");
	}
	SECTION("depth 17")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		for (int i = 0; i < 16; i++)
			hx_wire_put_array(&b, 1);
		hx_wire_put_array(&b, 0);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		CHECK(std::string(err.reason) == "nesting deeper than 16");
		CHECK(err.offset == 16);
	}
	SECTION("depth 16")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		for (int i = 0; i < 16; i++)
			hx_wire_put_map(&b, 1), hx_wire_put_uint(&b, (uint64_t)i);
		hx_wire_put_bool(&b, true);
		REQUIRE(hx_wire_builder_finish(&b, &len, &err) == 0);
		CHECK(check_payload(bytes((char *)buf, len)).code == 0);
	}
	SECTION("two top-level items, and more than declared")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_array(&b, 1);
		hx_wire_put_uint(&b, 1);
		hx_wire_put_uint(&b, 2);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		CHECK(std::string(err.reason) == "more than one top-level item");
		CHECK(err.offset == 2);
	}
	SECTION("fewer than declared")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_array(&b, 1);
		hx_wire_put_map(&b, 2);
		hx_wire_put_uint(&b, 1);
		hx_wire_put_uint(&b, 2);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		CHECK(std::string(err.reason) == "container not complete");
		CHECK(err.offset == 1);
	}
	SECTION("invalid UTF-8; the first error sticks")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_array(&b, 2);
		hx_wire_put_text(&b, "ok\xed\xa0\x80", 5);
		hx_wire_put_uint(&b, 1);
		hx_wire_put_array(&b, 99); // would be another error; the first one is kept
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		CHECK(std::string(err.reason) == "invalid UTF-8: surrogate code point");
		CHECK(err.offset == 4);
	}
	SECTION("an empty payload is fine")
	{
		hx_wire_builder_init(&b, buf, sizeof(buf));
		REQUIRE(hx_wire_builder_finish(&b, &len, &err) == 0);
		CHECK(len == 0);
	}
	SECTION("NULL buffer, NULL data")
	{
		hx_wire_builder_init(&b, nullptr, 10);
		hx_wire_put_uint(&b, 1);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_bytes(&b, nullptr, 3);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
		hx_wire_builder_init(&b, buf, sizeof(buf));
		hx_wire_put_bytes(&b, nullptr, 0);
		CHECK(hx_wire_builder_finish(&b, &len, &err) == 0);
		CHECK(to_hex(bytes((char *)buf, len)) == "40");
	}
}

TEST_CASE("Builder: -HX_ENOSPC at every capacity below the size, -HX_EMSGSIZE past 64 KiB",
          "[wire][builder]")
{
	value v = map(
	    { { text("data"), byte_string(std::string(300, 'x')) },
	      { uint_(1000000), array({ neg(70000), text("\xe6\xb0\xb4"), uint_(UINT64_MAX) }) } });
	bytes expected = ref_encode(v);

	for (size_t cap = 0; cap <= expected.size(); cap++) {
		std::vector<uint8_t> buf(cap + 1, 0xee);
		struct hx_wire_builder b;
		struct hx_wire_error err;
		size_t len = 0;

		hx_wire_builder_init(&b, buf.data(), cap);
		put(&b, v);
		int rc = hx_wire_builder_finish(&b, &len, &err);
		INFO("capacity " << cap);
		if (cap < expected.size()) {
			CHECK(rc == -HX_ENOSPC);
			CHECK(std::string(err.reason) == "buffer full");
		} else {
			REQUIRE(rc == 0);
			CHECK(bytes((char *)buf.data(), len) == expected);
		}
		CHECK(buf[cap] == 0xee); // never a byte past the capacity
	}
	// A count that could never fit fails at once, whatever follows (and 2 * pairs cannot wrap).
	uint8_t small[64];
	struct hx_wire_builder b;
	size_t len;
	hx_wire_builder_init(&b, small, sizeof(small));
	hx_wire_put_map(&b, SIZE_MAX / 2 + 2);
	CHECK(hx_wire_builder_finish(&b, &len, nullptr) == -HX_ENOSPC);
	hx_wire_builder_init(&b, small, sizeof(small));
	hx_wire_put_bytes(&b, small, SIZE_MAX);
	CHECK(hx_wire_builder_finish(&b, &len, nullptr) == -HX_ENOSPC);

	// A big buffer: the payload stops at the message limit with -HX_EMSGSIZE.
	std::vector<uint8_t> big(200000);
	struct hx_wire_error err;
	hx_wire_builder_init(&b, big.data(), big.size());
	hx_wire_put_bytes(&b, big.data(), HX_WIRE_MAX_PAYLOAD);
	CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EMSGSIZE);
	CHECK(std::string(err.reason) == "message larger than 64 KiB");
	hx_wire_builder_init(&b, big.data(), big.size());
	hx_wire_put_bytes(&b, big.data(), HX_WIRE_MAX_PAYLOAD - 3);
	CHECK(hx_wire_builder_finish(&b, &len, &err) == 0);
	CHECK(len == HX_WIRE_MAX_PAYLOAD);
}

TEST_CASE("Builder in message mode and hx_wire_encode write what the decoder reads back",
          "[wire][builder][encode]")
{
	struct hx_wire_message hdr = {};
	hdr.kind = HX_WIRE_REQUEST;
	hdr.request_id = 42;
	hdr.source_id = 9;
	hdr.method = 7;
	REQUIRE(hx_wire_set_target_name(&hdr, "console") == 0);

	uint8_t buf[512];
	struct hx_wire_builder b;
	struct hx_wire_error err;
	size_t len = 0;

	hx_wire_builder_init_message(&b, buf, sizeof(buf), &hdr);
	hx_wire_put_map(&b, 2);
	hx_wire_put_uint(&b, 1);
	hx_wire_put_string(&b, "hello");
	hx_wire_put_uint(&b, 2);
	hx_wire_put_bytes(&b, "\x00\x01", 2);
	REQUIRE(hx_wire_builder_finish(&b, &len, &err) == 0);
	bytes wire((char *)buf, len);
	CHECK(wire == raw_message(
	                  [] {
		                  header h;
		                  h.request_id = 42;
		                  h.source_id = 9;
		                  h.method = 7;
		                  return h;
	                  }(),
	                  hex("a2 01 6568656c6c6f 02 420001")));

	struct hx_wire_message back;
	REQUIRE(decode(wire, &back).code == 0);
	CHECK(back.request_id == 42);
	CHECK(std::string(back.target_name) == "console");

	// hx_wire_encode with the payload already in place (it overlaps the header's room).
	uint8_t in_place[512];
	bytes payload = hex("a2 01 6568656c6c6f 02 420001");
	memcpy(in_place + 44 + 7, payload.data(), payload.size());
	hdr.payload = in_place + 44 + 7;
	hdr.payload_len = payload.size();
	REQUIRE(hx_wire_encode(&hdr, in_place, sizeof(in_place), &len, &err) == 0);
	CHECK(bytes((char *)in_place, len) == wire);
	// And a payload that overlaps its own destination from below.
	memcpy(in_place + 3, payload.data(), payload.size());
	hdr.payload = in_place + 3;
	REQUIRE(hx_wire_encode(&hdr, in_place, sizeof(in_place), &len, &err) == 0);
	CHECK(bytes((char *)in_place, len) == wire);

	// Too small, too large, invalid header, invalid payload.
	hdr.payload = (const uint8_t *)payload.data();
	CHECK(hx_wire_encode(&hdr, buf, wire.size() - 1, &len, &err) == -HX_ENOSPC);
	CHECK(hx_wire_encode(&hdr, buf, wire.size(), &len, &err) == 0);
	std::vector<uint8_t> huge(HX_WIRE_MAX_MESSAGE * 2);
	struct hx_wire_message big = hdr;
	bytes big_payload = hex("5a 00010000") + std::string(0x10000, 'b');
	big.payload = (const uint8_t *)big_payload.data();
	big.payload_len = big_payload.size();
	CHECK(hx_wire_encode(&big, huge.data(), huge.size(), &len, &err) == -HX_EMSGSIZE);

	struct hx_wire_message bad = hdr;
	bad.kind = (enum hx_wire_kind)9;
	CHECK(hx_wire_encode(&bad, buf, sizeof(buf), &len, &err) == -HX_EINVAL);
	CHECK(std::string(err.reason) == "unknown kind");
	bad = hdr;
	bad.status = -5;
	CHECK(hx_wire_encode(&bad, buf, sizeof(buf), &len, &err) == -HX_EINVAL);
	CHECK(std::string(err.reason) == "nonzero status in a message that is not an error");
	bad = hdr;
	bad.target_id = 3;
	CHECK(hx_wire_encode(&bad, buf, sizeof(buf), &len, &err) == -HX_EINVAL);
	CHECK(std::string(err.reason) == "target id set with a target name");
	bad = hdr;
	bad.target_name[2] = 'X';
	CHECK(hx_wire_encode(&bad, buf, sizeof(buf), &len, &err) == -HX_EINVAL);
	CHECK(std::string(err.reason) == "bad character in target name");
	CHECK(err.offset == 46);
	bad = hdr;
	bad.target_name_len = 32;
	CHECK(hx_wire_encode(&bad, buf, sizeof(buf), &len, &err) == -HX_EINVAL);
	bad = hdr;
	bytes unsorted = hex("a2 02 00 01 00");
	bad.payload = (const uint8_t *)unsorted.data();
	bad.payload_len = unsorted.size();
	CHECK(hx_wire_encode(&bad, buf, sizeof(buf), &len, &err) == -HX_EINVAL);
	CHECK(std::string(err.reason) == "map keys not in canonical order");
	CHECK(err.offset == 44 + 7 + 3);
	CHECK(hx_wire_encode(nullptr, buf, sizeof(buf), &len, &err) == -HX_EINVAL);

	// Message mode with a bad header: the header's error, nothing else.
	bad = hdr;
	bad.kind = HX_WIRE_ERROR;
	hx_wire_builder_init_message(&b, buf, sizeof(buf), &bad);
	CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EINVAL);
	CHECK(std::string(err.reason) == "error status not in -4095..-1");
	hx_wire_builder_init_message(&b, buf, 40, &hdr);
	CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_ENOSPC);

	// Message mode stops at 64 KiB for the whole message, name included.
	std::vector<uint8_t> room(HX_WIRE_MAX_MESSAGE + 100);
	hx_wire_builder_init_message(&b, room.data(), room.size(), &hdr);
	hx_wire_put_bytes(&b, room.data(), HX_WIRE_MAX_MESSAGE - 44 - 7 - 3);
	REQUIRE(hx_wire_builder_finish(&b, &len, &err) == 0);
	CHECK(len == HX_WIRE_MAX_MESSAGE);
	CHECK(decode(bytes((char *)room.data(), len)).code == 0);
	hx_wire_builder_init_message(&b, room.data(), room.size(), &hdr);
	hx_wire_put_bytes(&b, room.data(), HX_WIRE_MAX_MESSAGE - 44 - 7 - 2);
	CHECK(hx_wire_builder_finish(&b, &len, &err) == -HX_EMSGSIZE);

	// Names: set_target_name checks.
	CHECK(hx_wire_set_target_name(&hdr, "") == -HX_EINVAL);
	CHECK(hx_wire_set_target_name(&hdr, std::string(32, 'a').c_str()) == -HX_EINVAL);
	CHECK(hx_wire_set_target_name(&hdr, "Bad") == -HX_EINVAL);
	CHECK(std::string(hdr.target_name) == "console"); // unchanged by the failures
	CHECK(hx_wire_set_target_name(&hdr, std::string(31, 'z').c_str()) == 0);
	CHECK(hdr.target_name_len == 31);
	CHECK(std::string(hx_wire_kind_name(HX_WIRE_ONEWAY)) == "one-way");
	CHECK(hx_wire_kind_name(0) == nullptr);
}

TEST_CASE("Decoding is free of shared state: threads decode and build at once", "[wire][threads]")
{
	// For tsan: the decoder, reader and builder keep everything on the caller's stack or in the
	// caller's objects. Threads decode one shared message and build their own.
	value v = map({ { text("k"), array({ uint_(1), text("v"), byte_string("b") }) } });
	const bytes shared = raw_message(build(v));
	std::atomic<int> failures{ 0 };
	std::vector<std::thread> threads;

	for (int t = 0; t < 4; t++)
		threads.emplace_back([&, t] {
			std::vector<uint8_t> buf(256);
			for (int i = 0; i < 2000; i++) {
				struct hx_wire_message msg;
				struct hx_wire_builder b;
				struct hx_wire_reader r;
				size_t len, n;
				uint64_t u;

				if (hx_wire_decode(shared.data(), shared.size(), &msg, nullptr) !=
				    0)
					failures++;
				hx_wire_reader_init(&r, msg.payload, msg.payload_len);
				hx_wire_read_map(&r, &n);
				hx_wire_skip(&r);
				hx_wire_read_array(&r, &n);
				hx_wire_read_uint(&r, &u);
				if (hx_wire_reader_error(&r) != 0 || u != 1)
					failures++;
				hx_wire_builder_init(&b, buf.data(), buf.size());
				hx_wire_put_array(&b, 2);
				hx_wire_put_uint(&b, (uint64_t)t);
				hx_wire_put_uint(&b, (uint64_t)i);
				if (hx_wire_builder_finish(&b, &len, nullptr) != 0 ||
				    hx_wire_check_payload(buf.data(), len, nullptr) != 0)
					failures++;
			}
		});
	for (auto &t : threads)
		t.join();
	CHECK(failures == 0);
}
