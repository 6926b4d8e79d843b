// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include <helix/errors.h>

TEST_CASE("every HX_E* code has Linux's errno number", "[errors]")
{
#define CHECK_LINUX_NUMBER(name, number, text) CHECK(HX_##name == name);
	HX_ERRORS(CHECK_LINUX_NUMBER)
#undef CHECK_LINUX_NUMBER
}

TEST_CASE("every code has a unique name and a description", "[errors]")
{
	std::set<int> numbers;
	std::set<std::string> names;
#define CHECK_NAMES(name, number, text)                            \
	CHECK(numbers.insert(number).second);                      \
	CHECK(names.insert(hx_error_name(-number)).second);        \
	CHECK(std::string(hx_error_name(-number)) == "HX_" #name); \
	CHECK(std::string(hx_error_name(number)) == "HX_" #name);  \
	CHECK(std::string(hx_strerror(-number)) == text);
	HX_ERRORS(CHECK_NAMES)
#undef CHECK_NAMES
	CHECK(numbers.size() >= 20);
}

TEST_CASE("unknown codes and zero are named, not NULL", "[errors]")
{
	CHECK(std::string(hx_error_name(0)) == "OK");
	CHECK(std::string(hx_error_name(-9999)) == "HX_E?");
	CHECK(std::string(hx_error_name(-2147483647 - 1)) == "HX_E?");
	CHECK(std::string(hx_strerror(-9999)) == "unknown error");
	CHECK(std::string(hx_strerror(0)) == "success");
}
