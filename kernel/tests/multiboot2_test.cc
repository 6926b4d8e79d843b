// SPDX-License-Identifier: MIT
// The multiboot2 parser on synthetic boot information: a valid structure with every tag kind, then
// each malformation on its own. Buffers are heap copies of exactly the bytes the parser may read,
// so under ASan any read past `avail` is a failure.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <helix/errors.h>
#include <helix/multiboot2.h>

namespace
{

using Bytes = std::vector<uint8_t>;

void put32(Bytes &b, size_t at, uint32_t v)
{
	std::memcpy(&b[at], &v, 4);
}

void put64(Bytes &b, size_t at, uint64_t v)
{
	std::memcpy(&b[at], &v, 8);
}

void append32(Bytes &b, uint32_t v)
{
	b.resize(b.size() + 4);
	put32(b, b.size() - 4, v);
}

// Builds a boot information structure tag by tag; finish() adds the end tag and total_size.
struct Mbi {
	Bytes bytes = Bytes(8, 0);

	// A tag whose size field is 8 + body (unless @size overrides it), padded to 8.
	size_t tag(uint32_t type, const Bytes &body, uint32_t size = 0)
	{
		size_t at = bytes.size();
		append32(bytes, type);
		append32(bytes, size ? size : uint32_t(8 + body.size()));
		bytes.insert(bytes.end(), body.begin(), body.end());
		while (bytes.size() % 8)
			bytes.push_back(0);
		return at;
	}

	size_t string_tag(uint32_t type, const std::string &text, bool terminate = true)
	{
		Bytes body(text.begin(), text.end());
		if (terminate)
			body.push_back(0);
		return tag(type, body);
	}

	size_t module(uint32_t start, uint32_t end, const std::string &text)
	{
		Bytes body;
		append32(body, start);
		append32(body, end);
		body.insert(body.end(), text.begin(), text.end());
		body.push_back(0);
		return tag(3, body);
	}

	size_t meminfo(uint32_t lower, uint32_t upper)
	{
		Bytes body;
		append32(body, lower);
		append32(body, upper);
		return tag(4, body);
	}

	struct Entry {
		uint64_t base, length;
		uint32_t type;
	};

	size_t mmap(const std::vector<Entry> &entries, uint32_t entry_size = 24)
	{
		Bytes body;
		append32(body, entry_size);
		append32(body, 0);
		for (const auto &e : entries) {
			size_t at = body.size();
			body.resize(at + entry_size,
			            0xee); // bytes past the known fields are ignored
			put64(body, at, e.base);
			put64(body, at + 8, e.length);
			put32(body, at + 16, e.type);
			put32(body, at + 20, 0);
		}
		return tag(6, body);
	}

	Bytes finish()
	{
		Bytes out = bytes;
		append32(out, 0);
		append32(out, 8);
		put32(out, 0, uint32_t(out.size()));
		return out;
	}
};

// Copies @bytes into a buffer of exactly @avail bytes (8-aligned) and parses it.
struct Parsed {
	int err;
	std::string reason;
	std::unique_ptr<uint8_t[]> storage; // operator new[] aligns to 16
	std::unique_ptr<hx_mb2_info> info{ new hx_mb2_info() };

	const uint8_t *base() const
	{
		return storage.get();
	}
};

std::unique_ptr<Parsed> parse(const Bytes &bytes, size_t avail = SIZE_MAX, size_t shift = 0)
{
	auto p = std::make_unique<Parsed>();
	if (avail == SIZE_MAX)
		avail = bytes.size();
	// Exactly `avail` bytes: under ASan any read past them is a reported error.
	p->storage.reset(new uint8_t[avail + shift]);
	uint8_t *base = p->storage.get() + shift;
	std::memcpy(base, bytes.data(), std::min(avail, bytes.size()));
	const char *reason = "unset";
	p->err = hx_mb2_parse(base, avail, p->info.get(), &reason);
	p->reason = reason ? reason : "";
	return p;
}

// The valid structure every malformation starts from.
Mbi full_mbi()
{
	Mbi m;
	m.string_tag(1, "console=serial log=debug");
	m.string_tag(2, "GRUB 2.06");
	m.module(0x200000, 0x201234, "initrd");
	m.module(0x300000, 0x300000, "");
	m.meminfo(639, 130048);
	m.tag(5, { 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }); // boot device
	m.mmap({ { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0x100000, 0x7ee0000, 1 } });
	m.tag(21, { 1, 2, 3, 4, 5, 6, 7, 8 }); // load base address
	return m;
}

void expect_invalid(const Bytes &bytes, const std::string &reason_part, size_t avail = SIZE_MAX)
{
	auto p = parse(bytes, avail);
	INFO("reason: " << p->reason);
	CHECK(p->err == -HX_EINVAL);
	CHECK(p->reason.find(reason_part) != std::string::npos);
}

} // namespace

TEST_CASE("a valid structure with every tag kind", "[multiboot2]")
{
	Bytes bytes = full_mbi().finish();
	auto p = parse(bytes);
	REQUIRE(p->err == 0);
	const hx_mb2_info &info = *p->info;
	CHECK(info.total_size == bytes.size());
	CHECK(std::string(info.cmdline) == "console=serial log=debug");
	CHECK(std::string(info.bootloader) == "GRUB 2.06");
	CHECK(info.mem_lower_kib == 639);
	CHECK(info.mem_upper_kib == 130048);
	REQUIRE(info.modules_len == 2);
	CHECK(info.modules[0].start == 0x200000);
	CHECK(info.modules[0].end == 0x201234);
	CHECK(std::string(info.modules[0].cmdline) == "initrd");
	CHECK(info.modules[1].start == info.modules[1].end);
	CHECK(std::string(info.modules[1].cmdline).empty());
	REQUIRE(info.mmap_len == 3);
	CHECK(info.mmap[0].base == 0);
	CHECK(info.mmap[0].length == 0x9fc00);
	CHECK(info.mmap[0].type == HX_MEM_USABLE);
	CHECK(info.mmap[1].type == HX_MEM_RESERVED);
	CHECK(info.mmap[2].base == 0x100000);
	CHECK(info.mmap[2].length == 0x7ee0000);
	CHECK(info.unknown_tags == 2);

	// Strings point into the structure itself.
	const uint8_t *lo = p->base(), *hi = p->base() + bytes.size();
	for (const char *s : { info.cmdline, info.bootloader, info.modules[0].cmdline }) {
		CHECK(reinterpret_cast<const uint8_t *>(s) >= lo);
		CHECK(reinterpret_cast<const uint8_t *>(s) < hi);
	}
}

TEST_CASE("a minimal structure has nothing but the end tag", "[multiboot2]")
{
	Bytes bytes = Mbi().finish();
	REQUIRE(bytes.size() == 16);
	auto p = parse(bytes);
	REQUIRE(p->err == 0);
	CHECK(p->info->cmdline == nullptr);
	CHECK(p->info->bootloader == nullptr);
	CHECK(p->info->mmap_len == 0);
	CHECK(p->info->modules_len == 0);
	CHECK(p->info->mem_upper_kib == 0);
	CHECK(p->info->unknown_tags == 0);

	// Extra bytes available past total_size are never looked at.
	Bytes padded = bytes;
	padded.resize(64, 0xff);
	CHECK(parse(padded)->err == 0);
}

TEST_CASE("memory map entries larger than 24 bytes are stepped over", "[multiboot2]")
{
	Mbi m;
	m.mmap({ { 0x1000, 0x2000, 1 }, { 0x5000, 0x1000, 3 } }, 40);
	auto p = parse(m.finish());
	REQUIRE(p->err == 0);
	REQUIRE(p->info->mmap_len == 2);
	CHECK(p->info->mmap[1].base == 0x5000);
	CHECK(p->info->mmap[1].length == 0x1000);
	CHECK(p->info->mmap[1].type == HX_MEM_ACPI_RECLAIMABLE);
}

TEST_CASE("the fixed part: total_size against avail, alignment, arguments", "[multiboot2]")
{
	Bytes bytes = full_mbi().finish();

	// Shorter than total_size says, at every length: refused without reading past avail.
	for (size_t avail = 0; avail < bytes.size(); avail++) {
		auto p = parse(bytes, avail);
		REQUIRE(p->err == -HX_EINVAL);
		REQUIRE(!p->reason.empty());
	}
	expect_invalid(bytes, "total_size exceeds", bytes.size() - 8);
	expect_invalid(bytes, "truncated", 4);

	for (uint32_t total : { 0u, 8u, 12u, 15u }) {
		Bytes small = Mbi().finish();
		put32(small, 0, total);
		expect_invalid(small, "too small");
	}

	auto shifted = parse(bytes, bytes.size(), 4);
	CHECK(shifted->err == -HX_EINVAL);
	CHECK(shifted->reason.find("misaligned") != std::string::npos);

	hx_mb2_info info;
	const char *reason = nullptr;
	CHECK(hx_mb2_parse(nullptr, 16, &info, &reason) == -HX_EINVAL);
	CHECK(reason != nullptr);
	CHECK(hx_mb2_parse(bytes.data(), bytes.size(), nullptr, nullptr) == -HX_EINVAL);
}

TEST_CASE("tag sizes and the end tag", "[multiboot2]")
{
	SECTION("a tag size below 8")
	{
		for (uint32_t size : { 0u, 4u, 7u }) {
			Mbi bad;
			size_t tag = bad.tag(77, { 1, 2, 3, 4, 5, 6, 7, 8 });
			Bytes bytes = bad.finish();
			put32(bytes, tag + 4, size);
			expect_invalid(bytes, "below 8");
		}
	}
	SECTION("a tag running past total_size")
	{
		Mbi m = full_mbi();
		size_t tag = m.tag(77, Bytes(16, 0));
		Bytes bytes = m.finish();
		put32(bytes, tag + 4, uint32_t(bytes.size() - tag + 1)); // one byte too far
		expect_invalid(bytes, "past total_size");
		put32(bytes, tag + 4, 0xfffffff8u);
		expect_invalid(bytes, "past total_size");
	}
	SECTION("a tag whose padding runs past total_size")
	{
		Mbi m;
		size_t tag = m.tag(77, Bytes(8, 0));
		Bytes bytes = m.finish();
		// Size 9 is in bounds on its own but the next tag would start at 24 == total_size.
		bytes.resize(24);
		put32(bytes, 0, 24);
		put32(bytes, tag + 4, 9);
		expect_invalid(bytes, "missing end tag");
	}
	SECTION("no end tag")
	{
		Bytes bytes = full_mbi().finish();
		put32(bytes, 0, uint32_t(bytes.size() - 8)); // total_size stops before the end tag
		expect_invalid(bytes, "missing end tag");
	}
	SECTION("an end tag with a size other than 8")
	{
		Mbi m;
		Bytes bytes = m.finish();
		bytes.resize(24, 0);
		put32(bytes, 0, 24);
		put32(bytes, 12, 16);
		expect_invalid(bytes, "end tag");
	}
	SECTION("an odd total_size ending inside the end tag")
	{
		Bytes bytes = Mbi().finish();
		bytes.push_back(0);
		put32(bytes, 0, 15);
		expect_invalid(bytes, "too small");
		Bytes longer = full_mbi().finish();
		put32(longer, 0, uint32_t(longer.size() - 1));
		expect_invalid(longer, "");
	}
}

TEST_CASE("strings must be NUL-terminated inside their tag", "[multiboot2]")
{
	SECTION("cmdline")
	{
		Mbi m;
		m.string_tag(1, "abc", false); // padding zeros follow, but outside the tag
		expect_invalid(m.finish(), "unterminated cmdline");
		Mbi empty;
		empty.tag(1, {});
		expect_invalid(empty.finish(), "unterminated cmdline");
		Mbi ok;
		ok.string_tag(1, "");
		auto p = parse(ok.finish());
		REQUIRE(p->err == 0);
		CHECK(std::string(p->info->cmdline).empty());
	}
	SECTION("boot loader name")
	{
		Mbi m;
		m.string_tag(2, "GRUB 2.06 with a long name!", false);
		expect_invalid(m.finish(), "unterminated boot loader");
	}
	SECTION("module string")
	{
		Mbi m;
		Bytes body;
		append32(body, 0x1000);
		append32(body, 0x2000);
		body.push_back('a');
		m.tag(3, body);
		expect_invalid(m.finish(), "unterminated module");
	}
}

TEST_CASE("malformed modules, meminfo and memory maps", "[multiboot2]")
{
	SECTION("module tag without a string")
	{
		Mbi m;
		Bytes body;
		append32(body, 0x1000);
		append32(body, 0x2000);
		m.tag(3, body);
		expect_invalid(m.finish(), "module tag too small");
	}
	SECTION("module ending before its start")
	{
		Mbi m;
		m.module(0x2000, 0x1000, "backwards");
		expect_invalid(m.finish(), "module ends before");
	}
	SECTION("meminfo too small")
	{
		Mbi m;
		m.tag(4, { 1, 2, 3, 4 });
		expect_invalid(m.finish(), "meminfo");
	}
	SECTION("mmap entry_size")
	{
		for (uint32_t entry_size : { 0u, 8u, 16u, 20u, 28u, 33u }) {
			Mbi m;
			Bytes body;
			append32(body, entry_size);
			append32(body, 0);
			body.resize(body.size() + 48, 0);
			m.tag(6, body);
			expect_invalid(m.finish(), "entry_size");
		}
	}
	SECTION("mmap tag too small for its header")
	{
		Mbi m;
		m.tag(6, { 24, 0, 0, 0 });
		expect_invalid(m.finish(), "mmap tag too small");
	}
	SECTION("mmap size not a multiple of entry_size")
	{
		Mbi m;
		size_t tag = m.mmap({ { 0, 0x1000, 1 }, { 0x1000, 0x1000, 1 } });
		Bytes bytes = m.finish();
		put32(bytes, tag + 4, 16 + 24 + 8);
		expect_invalid(bytes, "multiple of entry_size");
	}
	SECTION("mmap entry wrapping around")
	{
		Mbi m;
		m.mmap({ { 0x1000, 0x1000, 1 }, { UINT64_MAX - 0xfff, 0x1000, 2 } });
		expect_invalid(m.finish(), "wraps");
	}
	SECTION("duplicate tags")
	{
		for (uint32_t type : { 1u, 2u, 4u, 6u }) {
			Mbi m = full_mbi();
			if (type == 4)
				m.meminfo(1, 2);
			else if (type == 6)
				m.mmap({});
			else
				m.string_tag(type, "again");
			expect_invalid(m.finish(), "duplicate");
		}
	}
}

TEST_CASE("more modules or memory map entries than the limits is -HX_E2BIG", "[multiboot2]")
{
	Mbi modules;
	for (int i = 0; i < HX_MB2_MAX_MODULES; i++)
		modules.module(0x100000 * uint32_t(i), 0x100000 * uint32_t(i) + 10, "m");
	auto ok = parse(modules.finish());
	REQUIRE(ok->err == 0);
	CHECK(ok->info->modules_len == HX_MB2_MAX_MODULES);
	modules.module(0, 1, "one too many");
	auto too_many = parse(modules.finish());
	CHECK(too_many->err == -HX_E2BIG);
	CHECK(too_many->reason.find("modules") != std::string::npos);

	std::vector<Mbi::Entry> entries;
	for (int i = 0; i < HX_MB2_MAX_MMAP; i++)
		entries.push_back({ uint64_t(i) * 0x10000, 0x8000, 1 });
	Mbi fits;
	fits.mmap(entries);
	auto full = parse(fits.finish());
	REQUIRE(full->err == 0);
	CHECK(full->info->mmap_len == HX_MB2_MAX_MMAP);
	CHECK(full->info->mmap[HX_MB2_MAX_MMAP - 1].base ==
	      uint64_t(HX_MB2_MAX_MMAP - 1) * 0x10000);

	entries.push_back({ 0x7fff0000, 0x1000, 2 });
	Mbi over;
	over.mmap(entries);
	auto big = parse(over.finish());
	CHECK(big->err == -HX_E2BIG);
	CHECK(big->reason.find("mmap") != std::string::npos);
}

TEST_CASE("unknown tags are counted and skipped", "[multiboot2]")
{
	Mbi m;
	m.tag(8, Bytes(24, 0xaa)); // framebuffer
	m.string_tag(1, "quiet");
	m.tag(14, Bytes(20, 0)); // ACPI old RSDP, padded
	m.tag(1000, {});         // no body at all
	m.tag(0xffffffffu, Bytes(3, 1));
	auto p = parse(m.finish());
	REQUIRE(p->err == 0);
	CHECK(p->info->unknown_tags == 4);
	CHECK(std::string(p->info->cmdline) == "quiet");
}

TEST_CASE("random corruption never crashes and always explains itself", "[multiboot2]")
{
	const Bytes valid = full_mbi().finish();
	std::mt19937 rng(1234);
	int accepted = 0;
	for (int round = 0; round < 5000; round++) {
		Bytes bytes = valid;
		int flips = 1 + int(rng() % 4);
		for (int i = 0; i < flips; i++)
			bytes[rng() % bytes.size()] ^= uint8_t(1u << (rng() % 8));
		auto p = parse(bytes);
		if (p->err == 0) {
			accepted++;
			REQUIRE(p->info->total_size <= bytes.size());
			continue;
		}
		REQUIRE((p->err == -HX_EINVAL || p->err == -HX_E2BIG));
		REQUIRE(!p->reason.empty());
	}
	CHECK(accepted > 0); // flips inside strings and addresses are still valid structures
}
