// SPDX-License-Identifier: MIT
// hx_snprintf against the C library's snprintf: same output, same return value, same truncation.
#include <catch2/catch.hpp>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include <helix/fmt.h>
#include <helix/log.h>

#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-security"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#pragma GCC diagnostic ignored "-Wformat-overflow"
#pragma GCC diagnostic ignored "-Wformat-truncation"

template <typename... Args> static void check_format(const char *fmt, Args... args)
{
	char expect[512], got[512];
	int expect_len = snprintf(expect, sizeof(expect), fmt, args...);
	int got_len = hx_snprintf(got, sizeof(got), fmt, args...);
	INFO("format \"" << fmt << "\" libc \"" << expect << "\" helix \"" << got << "\"");
	REQUIRE(got_len == expect_len);
	REQUIRE(std::string(got) == std::string(expect));

	// Truncation: the same prefix, always terminated, never a byte past the buffer.
	for (size_t size : { (size_t)0, (size_t)1, (size_t)2, (size_t)5, (size_t)expect_len,
	                     (size_t)expect_len + 1 }) {
		char buf[520];
		memset(buf, 0x5a, sizeof(buf));
		int n = hx_snprintf(size ? buf : nullptr, size, fmt, args...);
		CHECK(n == expect_len);
		if (size > 0) {
			size_t kept = std::min(size - 1, (size_t)expect_len);
			CHECK(std::string(buf, kept) == std::string(expect, kept));
			CHECK(buf[kept] == '\0');
		}
		size_t clobbered = 0;
		for (size_t i = size; i < sizeof(buf); i++)
			clobbered += (unsigned char)buf[i] != 0x5a;
		CHECK(clobbered == 0);
	}
}

TEST_CASE("signed integers match snprintf", "[fmt]")
{
	for (int v : { 0, 1, -1, 7, -42, 123456, INT_MAX, INT_MIN }) {
		for (const char *f :
		     { "%d",    "%i",     "%5d",  "%-5d|",   "%05d",    "%+d",    "% d",
		       "%+05d", "% 05d",  "%.3d", "%8.3d",   "%-8.3d|", "%08.3d", "%.0d",
		       "%+.0d", "%-+8d|", "%12d", "%-012d|", "%.12d",   "%+ d" })
			check_format(f, v);
	}
	for (long v : { 0L, -1L, LONG_MAX, LONG_MIN })
		check_format("%ld|%20ld|%-20ld|%020ld", v, v, v, v);
	for (long long v : { 0LL, -99LL, LLONG_MAX, LLONG_MIN })
		check_format("%lld %+lld %.25lld", v, v, v);
	check_format("%hhd %hhd %hd %hd", 200, -129, 70000, -32769);
	check_format("%zd %td %jd", (ssize_t)-5, (ptrdiff_t)PTRDIFF_MIN, (intmax_t)INTMAX_MIN);
}

TEST_CASE("unsigned integers, hex and octal match snprintf", "[fmt]")
{
	for (unsigned v : { 0u, 1u, 8u, 255u, 0xdeadbeefu, UINT_MAX }) {
		for (const char *f :
		     { "%u", "%x", "%X", "%o", "%#x", "%#X", "%#o", "%08x", "%#08x", "%#-8x|",
		       "%.0x", "%#.0x", "%#.0o", "%.5o", "%#.3x", "%#10.4X", "%-10o|", "%010u" })
			check_format(f, v);
	}
	check_format("%lx %lX %#lx %016lx", 0xfedcba9876543210UL, 0x1UL, ULONG_MAX, 0x1234UL);
	check_format("%llu %llo %#llo", ULLONG_MAX, ULLONG_MAX, 0ULL);
	check_format("%zu %zx %ju", SIZE_MAX, (size_t)4096, (uintmax_t)UINTMAX_MAX);
	check_format("%hhu %hhx %hu %hx", 300, 0x1ff, 70000, -1);
}

TEST_CASE("characters, strings and pointers match snprintf", "[fmt]")
{
	check_format("%c%c%c", 'a', 'b', 'c');
	check_format("[%5c][%-5c]", 'x', 'y');
	check_format("%s", "hello");
	check_format("[%10s][%-10s][%.3s][%10.3s][%.0s][%-3s]", "hello", "hello", "hello", "hello",
	             "hello", "hello");
	check_format("%s|%.3s|%10s|%.6s", (const char *)nullptr, (const char *)nullptr,
	             (const char *)nullptr, (const char *)nullptr);
	check_format("%s", "");
	check_format("%p %p", (void *)nullptr, (void *)0x1234);
	check_format("[%20p][%-20p]", (void *)0xffffffff80001000UL, (void *)0x10);
	check_format("[%10p][%-10p]", (void *)nullptr, (void *)nullptr);
	check_format("100%% %d%%", 5);
}

TEST_CASE("star width and precision match snprintf", "[fmt]")
{
	check_format("[%*d][%-*d][%*d]", 5, 42, 5, 42, -5, 42);
	check_format("[%.*d][%.*d][%.*s]", 3, 7, -1, 7, 2, "hello");
	check_format("[%*.*x]", 10, 4, 0xab);
}

TEST_CASE("a mixed kernel log line matches snprintf", "[fmt]")
{
	check_format("[%5llu.%06llu] %s: frame %#lx of %zu at %p (%d%%)", 12ULL, 345ULL, "info",
	             0x200000UL, (size_t)32768, (void *)0xffff800000100000UL, -3);
}

TEST_CASE("random conversions match snprintf", "[fmt]")
{
	std::mt19937_64 rng(20261124);
	const char flags[] = "-+ #0";
	const char conversions[] = "diuxXo";
	const char *lengths[] = { "", "hh", "h", "l", "ll", "z", "j" };

	for (int round = 0; round < 20000; round++) {
		std::string f = "<%";
		for (char c : std::string(flags)) {
			if (rng() % 4 == 0)
				f += c;
		}
		if (rng() % 2)
			f += std::to_string(rng() % 25);
		if (rng() % 2)
			f += "." + std::to_string(rng() % 25);
		f += lengths[rng() % 7];
		char conv = conversions[rng() % 6];
		f += conv;
		f += ">";
		// Formats like "%#d" are undefined in C; only compare defined combinations.
		if ((conv == 'd' || conv == 'i') && f.find('#') != std::string::npos)
			continue;
		if (conv != 'd' && conv != 'i' &&
		    (f.find('+') != std::string::npos || f.find(' ') != std::string::npos))
			continue;
		uint64_t bits = rng();
		switch (rng() % 4) {
		case 0:
			bits &= 0xff;
			break;
		case 1:
			bits = 0;
			break;
		default:
			break;
		}
		if (f.find_first_of("lzj") != std::string::npos)
			check_format(f.c_str(), (long long)bits);
		else
			check_format(f.c_str(), (int)bits);
	}
}

TEST_CASE("helix extensions: unknown conversions shown, widths capped", "[fmt]")
{
	char buf[64];
	const char *unknown = "a%yb%";
	CHECK(hx_snprintf(buf, sizeof(buf), unknown) == 5);
	CHECK(std::string(buf) == "a%yb%");
	CHECK(hx_snprintf(nullptr, 0, "%100000d", 1) == 4096);
	CHECK(hx_snprintf(nullptr, 0, "%*d", INT_MIN, 1) == 4096);
	CHECK(hx_snprintf(nullptr, 0, "%.*d", INT_MAX, 1) == 4096);
}

TEST_CASE("log levels parse and filter", "[log]")
{
	enum hx_log_level level;
	CHECK(hx_log_level_parse("debug", &level) == 0);
	CHECK(level == HX_LOG_DEBUG);
	CHECK(hx_log_level_parse("warn", &level) == 0);
	CHECK(level == HX_LOG_WARN);
	CHECK(hx_log_level_parse("verbose", &level) < 0);
	CHECK(hx_log_level_parse("", &level) < 0);
	CHECK(hx_log_level_parse(nullptr, &level) < 0);
	CHECK(std::string(hx_log_level_name(HX_LOG_ERROR)) == "error");
	hx_log_set_level(HX_LOG_ERROR);
	CHECK(hx_log_get_level() == HX_LOG_ERROR);
	hx_log_set_level((enum hx_log_level)42);
	CHECK(hx_log_get_level() == HX_LOG_ERROR);
	hx_log_set_level(HX_LOG_INFO);
}
