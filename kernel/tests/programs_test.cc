// SPDX-License-Identifier: MIT
// The program table the kernel image embeds (//kernel/user:embedded, helix/programs.h): every
// program is there under its name, byte for byte the ELF the build made, 16-byte aligned, and
// accepted by the ELF parser for the user layout.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <helix/elf.h>
#include <helix/programs.h>
#include <helix/user/layout.h>

namespace
{

std::vector<uint8_t> read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	REQUIRE(in.good());
	return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
	                            std::istreambuf_iterator<char>());
}

} // namespace

TEST_CASE("every program is found by name and is the ELF the build made")
{
	for (const char *name : { "fault", "hello", "init", "priv", "snoop" }) {
		INFO("program " << name);
		const hx_program *p = hx_program_find(name);
		REQUIRE(p != nullptr);
		REQUIRE(std::string(p->name) == name);
		REQUIRE(reinterpret_cast<uintptr_t>(p->image) % 16 == 0);
		std::vector<uint8_t> file = read_file(std::string("kernel/user/") + name + ".elf");
		REQUIRE(p->size == file.size());
		REQUIRE(std::memcmp(p->image, file.data(), file.size()) == 0);

		hx_elf_info info;
		REQUIRE(hx_elf_parse(p->image, p->size, HX_USER_BASE, HX_USER_LIMIT, &info) == 0);
		REQUIRE(info.count == 3);
	}
}

TEST_CASE("unknown names and NULL find nothing")
{
	CHECK(hx_program_find("nonesuch") == nullptr);
	CHECK(hx_program_find("") == nullptr);
	CHECK(hx_program_find("hell") == nullptr);
	CHECK(hx_program_find("hello2") == nullptr);
	CHECK(hx_program_find(nullptr) == nullptr);
}

TEST_CASE("the table iterates in name order, each program once")
{
	REQUIRE(hx_program_count() == 5);
	std::vector<std::string> names;
	for (size_t i = 0; const hx_program *p = hx_program_at(i); i++)
		names.push_back(p->name);
	REQUIRE(names == std::vector<std::string>{ "fault", "hello", "init", "priv", "snoop" });
	REQUIRE(hx_program_at(5) == nullptr);
	REQUIRE(hx_program_at(SIZE_MAX) == nullptr);
	REQUIRE(hx_program_find("init") == hx_program_at(2));
}
