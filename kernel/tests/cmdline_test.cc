// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <string>

#include <helix/cmdline.h>
#include <helix/errors.h>

static std::string value_of(const hx_cmdline &cl, const char *key)
{
	const char *v = hx_cmdline_get(&cl, key);
	return v ? v : "<null>";
}

TEST_CASE("well-formed command lines", "[cmdline]")
{
	hx_cmdline cl;
	hx_cmdline_error err{};

	REQUIRE(hx_cmdline_parse(&cl, "log=debug selftest=fault,heap quiet", &err) == 0);
	REQUIRE(cl.count == 3);
	CHECK(value_of(cl, "log") == "debug");
	CHECK(value_of(cl, "selftest") == "fault,heap");
	CHECK(hx_cmdline_has(&cl, "quiet"));
	CHECK(hx_cmdline_get(&cl, "quiet") == nullptr);
	CHECK_FALSE(hx_cmdline_has(&cl, "missing"));
	CHECK_FALSE(hx_cmdline_has(&cl, "lo"));

	REQUIRE(hx_cmdline_parse(&cl, "  \t a=1\n\nb=  c= ", &err) == 0);
	REQUIRE(cl.count == 3);
	CHECK(value_of(cl, "a") == "1");
	CHECK(value_of(cl, "b") == "");
	CHECK(value_of(cl, "c") == "");

	REQUIRE(hx_cmdline_parse(&cl, "msg=\"hello world\" path=\"a\\\"b\\\\c\" empty=\"\"",
	                         &err) == 0);
	CHECK(value_of(cl, "msg") == "hello world");
	CHECK(value_of(cl, "path") == "a\"b\\c");
	CHECK(value_of(cl, "empty") == "");

	REQUIRE(hx_cmdline_parse(&cl, "Key.Name-2_x=v=w", &err) == 0);
	CHECK(value_of(cl, "Key.Name-2_x") == "v=w");
}

TEST_CASE("empty input and NULL", "[cmdline]")
{
	hx_cmdline cl;
	REQUIRE(hx_cmdline_parse(&cl, "", nullptr) == 0);
	CHECK(cl.count == 0);
	REQUIRE(hx_cmdline_parse(&cl, nullptr, nullptr) == 0);
	CHECK(cl.count == 0);
	REQUIRE(hx_cmdline_parse(&cl, "   \t\n ", nullptr) == 0);
	CHECK(cl.count == 0);
	CHECK(hx_cmdline_parse(nullptr, "a=b", nullptr) == -HX_EINVAL);
}

TEST_CASE("the last of repeated keys wins", "[cmdline]")
{
	hx_cmdline cl;
	REQUIRE(hx_cmdline_parse(&cl, "log=warn log=debug log", nullptr) == 0);
	CHECK(cl.count == 3);
	CHECK(hx_cmdline_get(&cl, "log") == nullptr); // the last occurrence is a bare flag
	REQUIRE(hx_cmdline_parse(&cl, "log log=warn log=debug", nullptr) == 0);
	CHECK(value_of(cl, "log") == "debug");
}

TEST_CASE("the result is a copy of the input", "[cmdline]")
{
	hx_cmdline cl;
	std::string text = "a=1 b=2";
	REQUIRE(hx_cmdline_parse(&cl, text.c_str(), nullptr) == 0);
	text.assign(text.size(), 'x');
	CHECK(value_of(cl, "a") == "1");
	CHECK(value_of(cl, "b") == "2");
}

struct malformed {
	const char *text;
	int err;
	size_t offset;
	const char *reason;
};

TEST_CASE("malformed command lines name the offset and the reason", "[cmdline]")
{
	const malformed cases[] = {
		{ "=value", -HX_EINVAL, 0, "empty key" },
		{ "ok=1 =x", -HX_EINVAL, 5, "empty key" },
		{ "a=1 b@c=2", -HX_EINVAL, 5, "invalid character in key" },
		{ "\"quoted\"=1", -HX_EINVAL, 0, "invalid character in key" },
		{ "k=\"open", -HX_EINVAL, 2, "unterminated quote" },
		{ "k=\"a\\nb\"", -HX_EINVAL, 4, "bad escape (only \\\" and \\\\)" },
		{ "k=\"abc\\", -HX_EINVAL, 6, "bad escape (only \\\" and \\\\)" },
		{ "k=\"a\"b", -HX_EINVAL, 5, "text after closing quote" },
		{ "k=a\"b\"", -HX_EINVAL, 3, "quote inside an unquoted value" },
	};
	for (const auto &c : cases) {
		hx_cmdline cl;
		hx_cmdline_error err{};
		INFO("input: " << c.text);
		CHECK(hx_cmdline_parse(&cl, c.text, &err) == c.err);
		CHECK(err.offset == c.offset);
		CHECK(std::string(err.reason) == c.reason);
		CHECK(cl.count == 0);
	}
}

TEST_CASE("limits: key length, argument count, line length", "[cmdline]")
{
	hx_cmdline cl;
	hx_cmdline_error err{};

	std::string key(HX_CMDLINE_KEY_MAX, 'k');
	REQUIRE(hx_cmdline_parse(&cl, (key + "=1").c_str(), &err) == 0);
	CHECK(value_of(cl, key.c_str()) == "1");
	CHECK(hx_cmdline_parse(&cl, (key + "k=1").c_str(), &err) == -HX_EINVAL);
	CHECK(std::string(err.reason) == "key too long");

	std::string many;
	for (int i = 0; i < HX_CMDLINE_MAX_ARGS; i++)
		many += "a" + std::to_string(i) + "=" + std::to_string(i) + " ";
	REQUIRE(hx_cmdline_parse(&cl, many.c_str(), &err) == 0);
	CHECK(cl.count == HX_CMDLINE_MAX_ARGS);
	CHECK(value_of(cl, "a31") == "31");
	CHECK(hx_cmdline_parse(&cl, (many + "extra").c_str(), &err) == -HX_E2BIG);
	CHECK(err.offset == many.size());
	CHECK(cl.count == 0);

	// The longest accepted line fills the storage exactly: 32 words of 1 key byte + '=' +
	// value.
	std::string longest;
	for (int i = 0; i < HX_CMDLINE_MAX_ARGS; i++) {
		std::string word = std::string(1, (char)('a' + i % 26)) + "=";
		size_t room = (HX_CMDLINE_MAX_LEN - longest.size()) / (HX_CMDLINE_MAX_ARGS - i);
		word += std::string(room - word.size() - (i + 1 < HX_CMDLINE_MAX_ARGS), 'v');
		longest += word;
		if (i + 1 < HX_CMDLINE_MAX_ARGS)
			longest += " ";
	}
	longest += std::string(HX_CMDLINE_MAX_LEN - longest.size(), 'w');
	REQUIRE(longest.size() == HX_CMDLINE_MAX_LEN);
	REQUIRE(hx_cmdline_parse(&cl, longest.c_str(), &err) == 0);
	CHECK(cl.count == HX_CMDLINE_MAX_ARGS);
	CHECK(hx_cmdline_parse(&cl, (longest + "w").c_str(), &err) == -HX_E2BIG);
	CHECK(std::string(err.reason) == "command line too long");
}
