// SPDX-License-Identifier: MIT
// The validation builder (syscall/include/helix/syscall/validate.h) at every boundary, over the
// simulated user space: the last user byte and one past it, a pointer exactly at the limit with
// length 0, wrap-around at 2^64, kernel-half addresses, NULL with and without a length and with
// and without HX_UACCESS_NULL, alignment of typed pointers, count * size overflow, flags, signed
// and unsigned ranges at INT64_MIN / INT64_MAX / UINT64_MAX, enums, strings at exactly their
// maximum and one past it, strings running into the limit or an unmapped page, out-pointers on
// read-only and unmapped pages, the sticky first failure and what it records, and hx_v_table_rule
// for every kind with hand-made descriptors.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include <helix/errors.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>
#include <helix/syscall/validate.h>

namespace
{

constexpr uint64_t kPage = HX_USER_PAGE_SIZE;
constexpr unsigned R = HX_UACCESS_READ;
constexpr unsigned W = HX_UACCESS_WRITE;
constexpr unsigned RW = HX_UACCESS_READ | HX_UACCESS_WRITE;
constexpr unsigned NUL_OK = HX_UACCESS_NULL;

// A simulated user space of four pages, a caller bound to it and a dispatch context.
struct fixture {
	struct hx_uspace *us = nullptr;
	struct hx_syscall_caller caller {
	};
	struct hx_syscall_ctx ctx {
	};
	uint64_t base = 0, limit = 0;

	fixture()
	{
		REQUIRE(hx_uspace_sim_create(4 * kPage, &us) == 0);
		base = us->base;
		limit = us->limit;
		REQUIRE(limit - base == 4 * kPage);
		caller.pid = 1;
		caller.uspace = us;
		ctx.caller = &caller;
	}
	~fixture()
	{
		hx_uspace_sim_destroy(us);
	}
	fixture(const fixture &) = delete;
	fixture &operator=(const fixture &) = delete;

	// A fresh context (no failure recorded) and a validator on it.
	struct hx_validator fresh()
	{
		ctx.failure = {};
		return hx_validate(&ctx);
	}
	char *host(uint64_t addr)
	{
		return static_cast<char *>(hx_uspace_sim_ptr(us, addr));
	}
};

// What one check did: its error and reason, and that the context agrees.
struct outcome {
	int error;
	std::string reason;
};

outcome result_of(fixture &f, const struct hx_validator &v)
{
	// The context carries the same first failure, attributed to validation.
	CHECK(f.ctx.failure.error == v.error);
	if (v.error != 0) {
		CHECK(f.ctx.failure.arg == v.failed_arg);
		CHECK(f.ctx.failure.reason == v.reason);
		CHECK(std::string(f.ctx.failure.by) == "validation");
		REQUIRE(v.reason != nullptr);
	}
	return { hx_v_check(&v), v.error ? std::string(v.reason) : std::string() };
}

outcome ptr_check(fixture &f, uint64_t ptr, uint64_t len, unsigned access)
{
	struct hx_validator v = f.fresh();
	hx_v_arg(&v, 0);
	hx_v_user_ptr(&v, ptr, len, access);
	return result_of(f, v);
}

outcome typed_check(fixture &f, uint64_t ptr, size_t size, size_t align, unsigned access)
{
	struct hx_validator v = f.fresh();
	hx_v_user_typed(&v, ptr, size, align, access);
	return result_of(f, v);
}

outcome array_check(fixture &f, uint64_t ptr, uint64_t count, size_t size, size_t align,
                    unsigned access)
{
	struct hx_validator v = f.fresh();
	hx_v_user_array(&v, ptr, count, size, align, access);
	return result_of(f, v);
}

// Checks without a user space: ctx may be NULL (then nothing is recorded anywhere else).
int flags_check(uint64_t value, uint64_t mask)
{
	struct hx_validator v = hx_validate(nullptr);
	hx_v_flags(&v, value, mask);
	return hx_v_check(&v);
}
int range_check(int64_t value, int64_t min, int64_t max)
{
	struct hx_validator v = hx_validate(nullptr);
	hx_v_range(&v, value, min, max);
	return hx_v_check(&v);
}
int urange_check(uint64_t value, uint64_t min, uint64_t max)
{
	struct hx_validator v = hx_validate(nullptr);
	hx_v_urange(&v, value, min, max);
	return hx_v_check(&v);
}

const outcome kOk{ 0, "" };

bool operator==(const outcome &a, const outcome &b)
{
	return a.error == b.error && a.reason == b.reason;
}

std::ostream &operator<<(std::ostream &os, const outcome &o)
{
	return os << "{" << hx_error_name(o.error) << ", \"" << o.reason << "\"}";
}

outcome efault(const char *reason)
{
	return { -HX_EFAULT, reason };
}
outcome einval(const char *reason)
{
	return { -HX_EINVAL, reason };
}

// Argument descriptors, field by field (C++17 has no designated initializers).
struct hx_syscall_arg rule(uint8_t kind)
{
	struct hx_syscall_arg a {
	};
	a.name = "arg";
	a.kind = kind;
	a.len_arg = HX_ARG_NO_LEN;
	a.align = 1;
	return a;
}
struct hx_syscall_arg int_rule(int64_t min, int64_t max)
{
	struct hx_syscall_arg a = rule(HX_ARG_INT);
	a.min = min;
	a.max = max;
	return a;
}
struct hx_syscall_arg uint_rule(uint64_t min, uint64_t max)
{
	struct hx_syscall_arg a = rule(HX_ARG_UINT);
	a.min = int64_t(min);
	a.max = int64_t(max);
	return a;
}
struct hx_syscall_arg ptr_rule(unsigned access, uint8_t len_arg, uint32_t size, uint8_t align)
{
	struct hx_syscall_arg a = rule(HX_ARG_UPTR);
	a.access = uint8_t(access);
	a.len_arg = len_arg;
	a.size = size;
	a.align = align;
	return a;
}

struct hx_syscall_desc desc_of(std::initializer_list<struct hx_syscall_arg> args)
{
	struct hx_syscall_desc d {
	};
	d.nr = 300;
	d.name = "test";
	d.summary = "a hand-made descriptor";
	for (const auto &a : args)
		d.args[d.nargs++] = a;
	return d;
}

outcome table_check(fixture &f, const struct hx_syscall_desc &d, int index,
                    std::initializer_list<uint64_t> values, int *failed_arg = nullptr)
{
	uint64_t args[HX_SYSCALL_ARGS] = { 0 };
	size_t i = 0;
	for (uint64_t value : values)
		args[i++] = value;
	struct hx_validator v = f.fresh();
	hx_v_table_rule(&v, &d, index, args);
	if (failed_arg)
		*failed_arg = v.failed_arg;
	return result_of(f, v);
}

} // namespace

TEST_CASE("a fresh validator has nothing recorded", "[validate]")
{
	fixture f;
	struct hx_validator v = hx_validate(&f.ctx);
	CHECK(v.ctx == &f.ctx);
	CHECK(v.error == 0);
	CHECK(v.arg == -1);
	CHECK(v.failed_arg == -1);
	CHECK(v.reason == nullptr);
	CHECK(hx_v_check(&v) == 0);

	struct hx_validator none = hx_validate(nullptr);
	CHECK(none.ctx == nullptr);
	CHECK(hx_v_check(&none) == 0);
}

TEST_CASE("user pointers: the edges of the user range", "[validate][uptr]")
{
	fixture f;
	const uint64_t base = f.base, limit = f.limit;

	// The whole space, the first byte, the last byte.
	CHECK(ptr_check(f, base, limit - base, R) == kOk);
	CHECK(ptr_check(f, base, 1, R) == kOk);
	CHECK(ptr_check(f, limit - 1, 1, R) == kOk);
	CHECK(ptr_check(f, limit - 1, 1, RW) == kOk);

	// One past: the range ends past the limit, or starts there.
	CHECK(ptr_check(f, limit - 1, 2, R) == efault("range ends past the user limit"));
	CHECK(ptr_check(f, base, limit - base + 1, R) == efault("range ends past the user limit"));
	CHECK(ptr_check(f, limit, 1, R) == efault("pointer above the user range"));
	CHECK(ptr_check(f, base - 1, 1, R) == efault("pointer below the user range"));
	CHECK(ptr_check(f, base - 1, 2, R) == efault("pointer below the user range"));
	CHECK(ptr_check(f, 1, 1, R) == efault("pointer below the user range"));

	// Zero length: anywhere in [base, limit], the limit itself included.
	CHECK(ptr_check(f, limit, 0, R) == kOk);
	CHECK(ptr_check(f, limit, 0, W) == kOk);
	CHECK(ptr_check(f, base, 0, R) == kOk);
	CHECK(ptr_check(f, limit + 1, 0, R) == efault("pointer above the user range"));
	CHECK(ptr_check(f, base - 1, 0, R) == efault("pointer below the user range"));
}

TEST_CASE("user pointers: wrap-around at 2^64 and kernel-half addresses", "[validate][uptr]")
{
	fixture f;

	CHECK(ptr_check(f, UINT64_MAX, 2, R) == efault("pointer range wraps around 2^64"));
	CHECK(ptr_check(f, UINT64_MAX, UINT64_MAX, R) == efault("pointer range wraps around 2^64"));
	CHECK(ptr_check(f, f.base, UINT64_MAX, R) == efault("pointer range wraps around 2^64"));
	CHECK(ptr_check(f, f.limit - 1, UINT64_MAX - f.limit + 3, R) ==
	      efault("pointer range wraps around 2^64"));
	// From a user address to exactly 2^64: no byte wraps, the range just ends past the limit.
	CHECK(ptr_check(f, f.limit - 1, UINT64_MAX - f.limit + 2, R) ==
	      efault("range ends past the user limit"));
	// Ending exactly at 2^64 wraps no byte: it is simply above the user range.
	CHECK(ptr_check(f, UINT64_MAX, 1, R) == efault("pointer above the user range"));
	CHECK(ptr_check(f, UINT64_MAX - 15, 16, R) == efault("pointer above the user range"));

	for (uint64_t kernel : { 0xffff800000000000ull, 0xffffffff80000000ull,
	                         0x0000800000000000ull, 0xffffffffffffe000ull }) {
		INFO("address 0x" << std::hex << kernel);
		CHECK(ptr_check(f, kernel, 1, R) == efault("pointer above the user range"));
		CHECK(ptr_check(f, kernel, 4096, RW) == efault("pointer above the user range"));
		CHECK(ptr_check(f, kernel, 0, R) == efault("pointer above the user range"));
	}
}

TEST_CASE("user pointers: NULL with and without a length", "[validate][uptr]")
{
	fixture f;

	CHECK(ptr_check(f, 0, 0, R) == efault("NULL pointer"));
	CHECK(ptr_check(f, 0, 16, R) == efault("NULL pointer"));
	CHECK(ptr_check(f, 0, 16, W) == efault("NULL pointer"));
	CHECK(ptr_check(f, 0, 0, R | NUL_OK) == kOk);
	CHECK(ptr_check(f, 0, 0, W | NUL_OK) == kOk);
	CHECK(ptr_check(f, 0, 1, R | NUL_OK) == efault("NULL pointer with a nonzero length"));
	CHECK(ptr_check(f, 0, UINT64_MAX, RW | NUL_OK) ==
	      efault("NULL pointer with a nonzero length"));
	// HX_UACCESS_NULL changes nothing for a non-NULL pointer.
	CHECK(ptr_check(f, f.base, 8, R | NUL_OK) == kOk);
	CHECK(ptr_check(f, f.limit, 8, R | NUL_OK) == efault("pointer above the user range"));
}

TEST_CASE("user pointers: out-pointers need writable pages now", "[validate][uptr]")
{
	fixture f;
	const uint64_t p0 = f.base, p1 = f.base + kPage, p2 = f.base + 2 * kPage;

	REQUIRE(hx_uspace_sim_protect(f.us, p1, kPage, HX_UACCESS_READ) == 0);
	REQUIRE(hx_uspace_sim_protect(f.us, p2, kPage, 0) == 0);

	CHECK(ptr_check(f, p0, kPage, W) == kOk);
	CHECK(ptr_check(f, p1, 8, W) == efault("page not writable"));
	CHECK(ptr_check(f, p1, 8, RW) == efault("page not writable"));
	CHECK(ptr_check(f, p1 - 1, 2, W) == efault("page not writable")); // straddles into p1
	CHECK(ptr_check(f, p2 + kPage - 1, 1, W) == efault("page not writable"));
	// Length 0 touches no page.
	CHECK(ptr_check(f, p1, 0, W) == kOk);
	// In-pointers are not probed here: the copy finds an unmapped page (uaccess_test).
	CHECK(ptr_check(f, p1, 8, R) == kOk);
	CHECK(ptr_check(f, p2, 8, R) == kOk);

	// Writable again.
	REQUIRE(hx_uspace_sim_protect(f.us, p1, 2 * kPage, RW) == 0);
	CHECK(ptr_check(f, p1, 2 * kPage, W) == kOk);
}

TEST_CASE("typed pointers: alignment", "[validate][uptr]")
{
	fixture f;

	CHECK(typed_check(f, f.base, 8, 8, R) == kOk);
	CHECK(typed_check(f, f.base + 8, 8, 8, W) == kOk);
	for (uint64_t off : { 1, 2, 4, 7 }) {
		INFO("offset " << off);
		CHECK(typed_check(f, f.base + off, 8, 8, R) == einval("misaligned pointer"));
	}
	CHECK(typed_check(f, f.base + 4, 4, 4, R) == kOk);
	CHECK(typed_check(f, f.base + 2, 4, 4, R) == einval("misaligned pointer"));
	CHECK(typed_check(f, f.base + 3, 8, 1, R) == kOk);
	CHECK(typed_check(f, f.base + 3, 8, 0, R) == kOk); // 0: any
	CHECK(typed_check(f, f.base + 64, 64, 64, R) == kOk);
	CHECK(typed_check(f, f.base + 32, 64, 64, R) == einval("misaligned pointer"));
	// The last aligned object fits; one that would end past the limit does not.
	CHECK(typed_check(f, f.limit - 8, 8, 8, RW) == kOk);
	CHECK(typed_check(f, f.limit - 4, 8, 4, RW) == efault("range ends past the user limit"));
	// Range before alignment: a misaligned kernel address is a bad address first.
	CHECK(typed_check(f, 0xffff800000000001ull, 8, 8, R) ==
	      efault("pointer above the user range"));
	// NULL follows the NULL rule, whatever the alignment; a type's size is not a length.
	CHECK(typed_check(f, 0, 8, 8, R) == efault("NULL pointer"));
	CHECK(typed_check(f, 0, 8, 8, W | NUL_OK) == kOk);
	// A rule that is not a power of two is the handler's bug, not the caller's: refused.
	CHECK(typed_check(f, f.base, 12, 12, R) == einval("alignment rule is not a power of two"));
}

TEST_CASE("user arrays: count * size", "[validate][uarray]")
{
	fixture f;

	CHECK(array_check(f, f.base, 4, 16, 8, R) == kOk);
	CHECK(array_check(f, f.base, (4 * kPage) / 16, 16, 8, RW) == kOk);
	CHECK(array_check(f, f.base, (4 * kPage) / 16 + 1, 16, 8, R) ==
	      efault("range ends past the user limit"));
	CHECK(array_check(f, f.base + 4, 2, 16, 8, R) == einval("misaligned pointer"));

	// Overflow: 2^62 * 8 = 2^65, UINT64_MAX * 2; 2^60 * 8 and UINT64_MAX * 1 still fit.
	CHECK(array_check(f, f.base, 1ull << 62, 8, 8, R) == einval("count * size overflows"));
	CHECK(array_check(f, f.base, UINT64_MAX, 2, 1, R) == einval("count * size overflows"));
	CHECK(array_check(f, f.base, 1ull << 60, 8, 8, R) ==
	      efault("range ends past the user limit"));
	CHECK(array_check(f, f.base, UINT64_MAX, 1, 1, R) ==
	      efault("pointer range wraps around 2^64"));
	// The overflow is found even with a NULL pointer (it is checked first).
	CHECK(array_check(f, 0, 1ull << 62, 8, 8, R | NUL_OK) == einval("count * size overflows"));

	// Zero elements: NULL allowed with HX_UACCESS_NULL, or any pointer in [base, limit].
	CHECK(array_check(f, 0, 0, 16, 8, R | NUL_OK) == kOk);
	CHECK(array_check(f, 0, 0, 16, 8, R) == efault("NULL pointer"));
	CHECK(array_check(f, f.limit, 0, 16, 8, R) == kOk);
	CHECK(array_check(f, f.base, 5, 0, 1, R) == kOk); // size 0: no bytes
}

TEST_CASE("flags, ranges and enums", "[validate]")
{
	CHECK(flags_check(0, 0x7) == 0);
	CHECK(flags_check(0x7, 0x7) == 0);
	CHECK(flags_check(0x5, 0x7) == 0);
	CHECK(flags_check(0x8, 0x7) == -HX_EINVAL);
	CHECK(flags_check(0x1ull << 63, 0x7) == -HX_EINVAL);
	CHECK(flags_check(UINT64_MAX, UINT64_MAX) == 0);
	CHECK(flags_check(UINT64_MAX, UINT64_MAX >> 1) == -HX_EINVAL);
	CHECK(flags_check(1, 0) == -HX_EINVAL);
	CHECK(flags_check(0, 0) == 0);

	CHECK(range_check(0, 0, 100) == 0);
	CHECK(range_check(100, 0, 100) == 0);
	CHECK(range_check(101, 0, 100) == -HX_EINVAL);
	CHECK(range_check(-1, 0, 100) == -HX_EINVAL);
	CHECK(range_check(INT64_MIN, INT64_MIN, INT64_MAX) == 0);
	CHECK(range_check(INT64_MAX, INT64_MIN, INT64_MAX) == 0);
	CHECK(range_check(INT64_MIN, INT64_MIN + 1, 0) == -HX_EINVAL);
	CHECK(range_check(INT64_MAX, 0, INT64_MAX - 1) == -HX_EINVAL);
	CHECK(range_check(INT64_MIN, INT64_MIN, INT64_MIN) == 0);
	CHECK(range_check(-5, -10, -5) == 0);
	CHECK(range_check(-4, -10, -5) == -HX_EINVAL);

	CHECK(urange_check(0, 0, UINT64_MAX) == 0);
	CHECK(urange_check(UINT64_MAX, 0, UINT64_MAX) == 0);
	CHECK(urange_check(UINT64_MAX, 0, UINT64_MAX - 1) == -HX_EINVAL);
	CHECK(urange_check(0, 1, 10) == -HX_EINVAL);
	CHECK(urange_check(1, 1, 10) == 0);
	CHECK(urange_check(10, 1, 10) == 0);
	CHECK(urange_check(11, 1, 10) == -HX_EINVAL);
	// Values that would be negative as int64_t are large, not small.
	CHECK(urange_check(uint64_t(INT64_MAX) + 1, 0, uint64_t(INT64_MAX)) == -HX_EINVAL);

	const int64_t values[] = { -3, 1, 7, INT64_MIN, INT64_MAX };
	for (int64_t ok : values) {
		struct hx_validator v = hx_validate(nullptr);
		hx_v_enum(&v, ok, values, 5);
		CHECK(hx_v_check(&v) == 0);
	}
	for (int64_t bad : { int64_t(0), int64_t(2), int64_t(-1), INT64_MIN + 1, INT64_MAX - 1 }) {
		struct hx_validator v = hx_validate(nullptr);
		hx_v_enum(&v, bad, values, 5);
		CHECK(hx_v_check(&v) == -HX_EINVAL);
		CHECK(std::string(v.reason) == "not a valid enum value");
	}
	struct hx_validator empty = hx_validate(nullptr);
	hx_v_enum(&empty, 0, nullptr, 0);
	CHECK(hx_v_check(&empty) == -HX_EINVAL);

	// The reasons.
	struct hx_validator v = hx_validate(nullptr);
	hx_v_flags(&v, 0x10, 0xf);
	CHECK(std::string(v.reason) == "flags outside the allowed mask");
	v = hx_validate(nullptr);
	hx_v_range(&v, -1, 0, 5);
	CHECK(std::string(v.reason) == "value below the minimum");
	v = hx_validate(nullptr);
	hx_v_urange(&v, 6, 0, 5);
	CHECK(std::string(v.reason) == "value above the maximum");
}

TEST_CASE("user strings: length limits", "[validate][ustr]")
{
	fixture f;
	char dst[8];
	size_t len = 99;

	// "hello" fits in 8 bytes with its NUL.
	strcpy(f.host(f.base), "hello");
	struct hx_validator v = f.fresh();
	hx_v_user_str(&v, f.base, dst, sizeof(dst), &len);
	CHECK(hx_v_check(&v) == 0);
	CHECK(len == 5);
	CHECK(std::string(dst) == "hello");

	// Exactly the maximum (cap - 1 = 7 characters) fits; one more does not.
	strcpy(f.host(f.base + 100), "1234567");
	v = f.fresh();
	hx_v_user_str(&v, f.base + 100, dst, sizeof(dst), &len);
	CHECK(hx_v_check(&v) == 0);
	CHECK(len == 7);
	CHECK(std::string(dst) == "1234567");

	strcpy(f.host(f.base + 200), "12345678");
	v = f.fresh();
	hx_v_arg(&v, 2);
	hx_v_user_str(&v, f.base + 200, dst, sizeof(dst), &len);
	CHECK(result_of(f, v) == outcome{ -HX_ENAMETOOLONG, "string longer than its maximum" });
	CHECK(v.failed_arg == 2);
	CHECK(dst[0] == '\0'); // nothing stale for a handler that ignores the error
	CHECK(len == 0);

	// The empty string; a NULL length pointer.
	f.host(f.base + 300)[0] = '\0';
	v = f.fresh();
	hx_v_user_str(&v, f.base + 300, dst, sizeof(dst), nullptr);
	CHECK(hx_v_check(&v) == 0);
	CHECK(dst[0] == '\0');

	// cap 1: only the empty string.
	v = f.fresh();
	hx_v_user_str(&v, f.base + 300, dst, 1, &len);
	CHECK(hx_v_check(&v) == 0);
	v = f.fresh();
	hx_v_user_str(&v, f.base, dst, 1, &len);
	CHECK(hx_v_check(&v) == -HX_ENAMETOOLONG);
}

TEST_CASE("user strings: bad addresses", "[validate][ustr]")
{
	fixture f;
	char dst[64];
	size_t len;

	auto str_check = [&](uint64_t ptr, size_t cap) {
		struct hx_validator v = f.fresh();
		hx_v_user_str(&v, ptr, dst, cap, &len);
		return result_of(f, v);
	};

	CHECK(str_check(0, sizeof(dst)) == efault("NULL pointer"));
	CHECK(str_check(f.base - 1, sizeof(dst)) == efault("pointer below the user range"));
	CHECK(str_check(f.limit, sizeof(dst)) == efault("pointer above the user range"));
	CHECK(str_check(0xffff800000000000ull, sizeof(dst)) ==
	      efault("pointer above the user range"));

	// Running into the limit: "abc" in the last three bytes, no NUL.
	memcpy(f.host(f.limit - 3), "abc", 3);
	CHECK(str_check(f.limit - 3, sizeof(dst)) == efault("string runs past the user limit"));
	// ... but with a cap of 3 it is simply too long, and the NUL in the last byte is fine.
	CHECK(str_check(f.limit - 3, 3) ==
	      outcome{ -HX_ENAMETOOLONG, "string longer than its maximum" });
	memcpy(f.host(f.limit - 3), "ab", 3);
	CHECK(str_check(f.limit - 3, sizeof(dst)) == kOk);
	CHECK(len == 2);

	// Running into an unmapped page: four bytes at the end of page 1, page 2 not present.
	const uint64_t edge = f.base + 2 * kPage;
	memcpy(f.host(edge - 4), "wxyz", 4);
	memcpy(f.host(edge), "more", 5);
	CHECK(str_check(edge - 4, sizeof(dst)) == kOk); // while page 2 is there
	CHECK(len == 8);
	REQUIRE(hx_uspace_sim_protect(f.us, edge, kPage, 0) == 0);
	CHECK(str_check(edge - 4, sizeof(dst)) == efault("string runs into an unmapped page"));
	CHECK(dst[0] == '\0');
	CHECK(str_check(edge, sizeof(dst)) == efault("string runs into an unmapped page"));
	// A NUL before the unmapped page ends the string in time; a short cap too.
	CHECK(str_check(edge - 4, 4) ==
	      outcome{ -HX_ENAMETOOLONG, "string longer than its maximum" });
	memcpy(f.host(edge - 4), "wx", 3);
	CHECK(str_check(edge - 4, sizeof(dst)) == kOk);
	CHECK(len == 2);
	// Read-only pages are fine for strings.
	REQUIRE(hx_uspace_sim_protect(f.us, edge, kPage, HX_UACCESS_READ) == 0);
	CHECK(str_check(edge, sizeof(dst)) == kOk);
	CHECK(std::string(dst) == "more");
}

TEST_CASE("the first failure sticks, with its argument and reason", "[validate]")
{
	fixture f;
	struct hx_validator v = f.fresh();

	hx_v_arg(&v, 0);
	hx_v_user_ptr(&v, f.base, 16, R);
	CHECK(hx_v_check(&v) == 0);
	hx_v_arg(&v, 3);
	hx_v_flags(&v, 0x100, 0xff);
	hx_v_arg(&v, 4);
	hx_v_range(&v, 1000, 0, 10);
	hx_v_user_ptr(&v, 0, 16, R);
	hx_v_fail(&v, -HX_EPERM, "later");
	CHECK(v.error == -HX_EINVAL);
	CHECK(v.failed_arg == 3);
	CHECK(std::string(v.reason) == "flags outside the allowed mask");
	CHECK(v.arg == 4); // the index moves on; the failure stays
	CHECK(f.ctx.failure.error == -HX_EINVAL);
	CHECK(f.ctx.failure.arg == 3);
	CHECK(std::string(f.ctx.failure.reason) == "flags outside the allowed mask");
	CHECK(std::string(f.ctx.failure.by) == "validation");

	// A later check's string is not copied after a failure.
	char dst[8] = "stale";
	strcpy(f.host(f.base), "fresh");
	size_t len = 99;
	hx_v_user_str(&v, f.base, dst, sizeof(dst), &len);
	CHECK(v.error == -HX_EINVAL);
	CHECK(dst[0] == '\0');
	CHECK(len == 0);

	// A refusal already in the context (a hook's) stays; the validator still fails.
	v = f.fresh();
	f.ctx.failure.error = -HX_EPERM;
	f.ctx.failure.arg = -1;
	f.ctx.failure.reason = "denied by policy";
	f.ctx.failure.by = "policy";
	hx_v_arg(&v, 1);
	hx_v_user_ptr(&v, 0, 1, R);
	CHECK(v.error == -HX_EFAULT);
	CHECK(v.failed_arg == 1);
	CHECK(f.ctx.failure.error == -HX_EPERM);
	CHECK(std::string(f.ctx.failure.by) == "policy");

	// hx_v_fail: the handler's own reason; a non-negative error cannot make it vanish.
	v = f.fresh();
	hx_v_arg(&v, 5);
	hx_v_fail(&v, -HX_EMSGSIZE, "length is not the message size");
	CHECK(result_of(f, v) == outcome{ -HX_EMSGSIZE, "length is not the message size" });
	CHECK(f.ctx.failure.arg == 5);
	v = f.fresh();
	hx_v_fail(&v, 0, "oops");
	CHECK(hx_v_check(&v) == -HX_EINVAL);
	CHECK(v.failed_arg == -1);

	// Without a context nothing else is recorded, and pointer checks have no space to use.
	v = hx_validate(nullptr);
	hx_v_user_ptr(&v, f.base, 1, R);
	CHECK(hx_v_check(&v) == -HX_ESRCH);
	f.caller.uspace = nullptr;
	v = f.fresh();
	hx_v_user_ptr(&v, f.base, 1, R);
	CHECK(hx_v_check(&v) == -HX_ESRCH);
	f.caller.uspace = f.us;
}

TEST_CASE("table rules: integers, flags, enums", "[validate][table]")
{
	fixture f;
	static const int64_t clocks[] = { 1, 4 };
	struct hx_syscall_arg e = rule(HX_ARG_ENUM);
	e.enum_values = clocks;
	e.enum_count = 2;
	struct hx_syscall_arg fl = rule(HX_ARG_FLAGS);
	fl.mask = 0x7;
	const struct hx_syscall_desc d =
	    desc_of({ int_rule(-5, 5), uint_rule(1, 4096), fl, e, int_rule(INT64_MIN, INT64_MAX),
	              uint_rule(0, UINT64_MAX) });
	int arg = -2;

	CHECK(table_check(f, d, 0, { uint64_t(-5) }) == kOk);
	CHECK(table_check(f, d, 0, { 5 }) == kOk);
	CHECK(table_check(f, d, 0, { uint64_t(-6) }, &arg) == einval("value below the minimum"));
	CHECK(arg == 0);
	CHECK(table_check(f, d, 0, { 6 }) == einval("value above the maximum"));
	CHECK(table_check(f, d, 0, { UINT64_MAX }) == kOk); // -1
	CHECK(table_check(f, d, 0, { 1ull << 63 }) == einval("value below the minimum"));

	CHECK(table_check(f, d, 1, { 0, 1 }) == kOk);
	CHECK(table_check(f, d, 1, { 0, 4096 }) == kOk);
	CHECK(table_check(f, d, 1, { 0, 0 }, &arg) == einval("value below the minimum"));
	CHECK(arg == 1);
	CHECK(table_check(f, d, 1, { 0, 4097 }) == einval("value above the maximum"));
	CHECK(table_check(f, d, 1, { 0, UINT64_MAX }) == einval("value above the maximum"));

	CHECK(table_check(f, d, 2, { 0, 0, 0x7 }) == kOk);
	CHECK(table_check(f, d, 2, { 0, 0, 0x8 }) == einval("flags outside the allowed mask"));

	CHECK(table_check(f, d, 3, { 0, 0, 0, 1 }) == kOk);
	CHECK(table_check(f, d, 3, { 0, 0, 0, 4 }) == kOk);
	CHECK(table_check(f, d, 3, { 0, 0, 0, 0 }) == einval("not a valid enum value"));
	CHECK(table_check(f, d, 3, { 0, 0, 0, (1ull << 32) | 1 }) ==
	      einval("not a valid enum value"));

	for (uint64_t any : { uint64_t(0), UINT64_MAX, uint64_t(1) << 63 }) {
		CHECK(table_check(f, d, 4, { 0, 0, 0, 0, any }) == kOk);
		CHECK(table_check(f, d, 5, { 0, 0, 0, 0, 0, any }) == kOk);
	}
}

TEST_CASE("table rules: user pointers and arrays", "[validate][table]")
{
	fixture f;
	struct hx_syscall_arg arr = rule(HX_ARG_UARRAY);
	arr.access = R;
	arr.len_arg = 5;
	arr.size = 16;
	arr.align = 8;
	// write(buf in(len=len), len), clock_gettime's out(size=8, align=8), a nullable out, an
	// array with its count in argument 5.
	const struct hx_syscall_desc d =
	    desc_of({ ptr_rule(R, 1, 0, 1), uint_rule(0, 4096), ptr_rule(W, HX_ARG_NO_LEN, 8, 8),
	              ptr_rule(W | NUL_OK, HX_ARG_NO_LEN, 32, 1), arr, uint_rule(0, 100) });
	const uint64_t b = f.base, l = f.limit;
	int arg = -2;

	// The length comes from argument 1.
	CHECK(table_check(f, d, 0, { b, 4096 }) == kOk);
	CHECK(table_check(f, d, 0, { l - 1, 1 }) == kOk);
	CHECK(table_check(f, d, 0, { l - 1, 2 }, &arg) == efault("range ends past the user limit"));
	CHECK(arg == 0);
	CHECK(table_check(f, d, 0, { l, 0 }) == kOk);
	CHECK(table_check(f, d, 0, { 0, 0 }) == efault("NULL pointer"));
	CHECK(table_check(f, d, 0, { UINT64_MAX, 2 }) == efault("pointer range wraps around 2^64"));
	CHECK(table_check(f, d, 0, { 0xffffffff80000000ull, 8 }) ==
	      efault("pointer above the user range"));
	// A huge length is the pointer rule's failure (argument 0 comes first).
	CHECK(table_check(f, d, 0, { b, UINT64_MAX }) == efault("pointer range wraps around 2^64"));

	// Fixed size 8, aligned 8, written.
	CHECK(table_check(f, d, 2, { 0, 0, b + 8 }) == kOk);
	CHECK(table_check(f, d, 2, { 0, 0, b + 4 }) == einval("misaligned pointer"));
	CHECK(table_check(f, d, 2, { 0, 0, l - 8 }) == kOk);
	CHECK(table_check(f, d, 2, { 0, 0, l }) == efault("pointer above the user range"));
	CHECK(table_check(f, d, 2, { 0, 0, 0 }) == efault("NULL pointer"));
	REQUIRE(hx_uspace_sim_protect(f.us, b, kPage, HX_UACCESS_READ) == 0);
	CHECK(table_check(f, d, 2, { 0, 0, b + 8 }, &arg) == efault("page not writable"));
	CHECK(arg == 2);
	REQUIRE(hx_uspace_sim_protect(f.us, b, kPage, 0) == 0);
	CHECK(table_check(f, d, 2, { 0, 0, b + 8 }) == efault("page not writable"));
	REQUIRE(hx_uspace_sim_protect(f.us, b, kPage, RW) == 0);

	// Nullable fixed-size out-pointer: NULL passes (its size is the rule's, not a length), and
	// a non-NULL one is checked as usual.
	CHECK(table_check(f, d, 3, { 0, 0, 0, 0 }) == kOk);
	CHECK(table_check(f, d, 3, { 0, 0, 0, b }) == kOk);
	CHECK(table_check(f, d, 3, { 0, 0, 0, l - 16 }) ==
	      efault("range ends past the user limit"));
	// A nullable pointer whose length is an argument: NULL needs length 0.
	const struct hx_syscall_desc dn =
	    desc_of({ ptr_rule(R | NUL_OK, 1, 0, 1), uint_rule(0, 64) });
	CHECK(table_check(f, dn, 0, { 0, 0 }) == kOk);
	CHECK(table_check(f, dn, 0, { 0, 8 }) == efault("NULL pointer with a nonzero length"));

	// The array: count in argument 5, 16-byte elements, aligned 8.
	CHECK(table_check(f, d, 4, { 0, 0, 0, 0, b, 100 }) == kOk);
	CHECK(table_check(f, d, 4, { 0, 0, 0, 0, b + 8, 0 }) == kOk);
	CHECK(table_check(f, d, 4, { 0, 0, 0, 0, b + 4, 1 }) == einval("misaligned pointer"));
	CHECK(table_check(f, d, 4, { 0, 0, 0, 0, l - 16, 2 }) ==
	      efault("range ends past the user limit"));
	CHECK(table_check(f, d, 4, { 0, 0, 0, 0, b, 1ull << 60 }) ==
	      einval("count * size overflows"));
	CHECK(table_check(f, d, 4, { 0, 0, 0, 0, b, UINT64_MAX }) ==
	      einval("count * size overflows"));
}

TEST_CASE("table rules: strings, handles, deadlines, unused slots", "[validate][table]")
{
	fixture f;
	struct hx_syscall_arg str = rule(HX_ARG_USTR);
	str.access = R;
	str.max = 32;
	struct hx_syscall_arg handle = rule(HX_ARG_HANDLE);
	handle.rights = 0x3;
	const struct hx_syscall_desc d =
	    desc_of({ str, handle, rule(HX_ARG_DEADLINE), rule(HX_ARG_NONE) });
	int arg = -2;

	// Strings: the start only (the handler copies); an unterminated string at the limit passes.
	memset(f.host(f.limit - 16), 'a', 16);
	CHECK(table_check(f, d, 0, { f.base }) == kOk);
	CHECK(table_check(f, d, 0, { f.limit - 1 }) == kOk);
	CHECK(table_check(f, d, 0, { f.limit }, &arg) == efault("pointer above the user range"));
	CHECK(arg == 0);
	CHECK(table_check(f, d, 0, { f.base - 1 }) == efault("pointer below the user range"));
	CHECK(table_check(f, d, 0, { 0 }) == efault("NULL pointer"));
	CHECK(table_check(f, d, 0, { 0xffff800000000000ull }) ==
	      efault("pointer above the user range"));

	// Handles are resolved by the gateway; deadlines and unused slots take any value.
	for (uint64_t any : { uint64_t(0), UINT64_MAX, uint64_t(1) << 63, uint64_t(12345) }) {
		CHECK(table_check(f, d, 1, { 0, any }) == kOk);
		CHECK(table_check(f, d, 2, { 0, 0, any }) == kOk);
		CHECK(table_check(f, d, 3, { 0, 0, 0, any }) == kOk);
		CHECK(table_check(f, d, 4, { 0, 0, 0, 0, any }) == kOk); // beyond nargs
		CHECK(table_check(f, d, 5, { 0, 0, 0, 0, 0, any }) == kOk);
	}
}

TEST_CASE("table rules: malformed rules and indexes are refused", "[validate][table]")
{
	fixture f;
	struct hx_syscall_arg bad_kind = rule(HX_ARG_INT);
	bad_kind.kind = 99;
	struct hx_syscall_arg bad_len = ptr_rule(R, 6, 0, 1); // no argument 6
	struct hx_syscall_arg bad_count = rule(HX_ARG_UARRAY);
	bad_count.len_arg = HX_ARG_NO_LEN;
	bad_count.size = 8;
	const struct hx_syscall_desc d = desc_of({ bad_kind, bad_len, bad_count });

	CHECK(table_check(f, d, 0, { 0 }) == einval("malformed argument rule"));
	CHECK(table_check(f, d, 1, { f.base, 0 }) == einval("malformed argument rule"));
	CHECK(table_check(f, d, 2, { 0, 0, f.base }) == einval("malformed argument rule"));
	CHECK(table_check(f, d, -1, { 0 }) == einval("no such argument rule"));
	CHECK(table_check(f, d, HX_SYSCALL_ARGS, { 0 }) == einval("no such argument rule"));

	uint64_t args[HX_SYSCALL_ARGS] = { 0 };
	struct hx_validator v = f.fresh();
	hx_v_table_rule(&v, nullptr, 0, args);
	CHECK(hx_v_check(&v) == -HX_EINVAL);

	// A failed validator checks no further rule.
	v = f.fresh();
	hx_v_fail(&v, -HX_EPERM, "first");
	hx_v_table_rule(&v, &d, 0, args);
	CHECK(hx_v_check(&v) == -HX_EPERM);
	CHECK(std::string(v.reason) == "first");
}
