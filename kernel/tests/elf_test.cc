// SPDX-License-Identifier: MIT
// The ELF64 parser (helix/elf.h): a hand-built valid executable, then each rejection on its own
// with the reason it must name, the boundaries on both sides, and the real user programs
// (kernel/user) as accepted inputs. Images are heap vectors of exactly the bytes the parser may
// read, so under ASan any read past the end is a failure.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <helix/elf.h>
#include <helix/errors.h>
#include <helix/user/layout.h>

namespace
{

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kBase = HX_USER_BASE;
constexpr uint64_t kLimit = HX_USER_LIMIT;

// Offsets in the ELF header and in a program header.
enum : size_t {
	kEType = 16,
	kEMachine = 18,
	kEVersion = 20,
	kEEntry = 24,
	kEPhoff = 32,
	kEFlags = 48,
	kEEhsize = 52,
	kEPhentsize = 54,
	kEPhnum = 56,
	kPType = 0,
	kPFlags = 4,
	kPOffset = 8,
	kPVaddr = 16,
	kPPaddr = 24,
	kPFilesz = 32,
	kPMemsz = 40,
	kPAlign = 48,
};

constexpr uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3, kPtNote = 4, kPtPhdr = 6, kPtTls = 7,
                   kPtGnuStack = 0x6474e551;

template <typename T> void put(Bytes &b, size_t at, T v)
{
	std::memcpy(&b[at], &v, sizeof(v));
}

// A static executable laid out as kernel/user/user.ld lays out the real ones: the headers and
// read-only data in an R segment at 0x400000, code in R+X at 0x401000, data and bss in R+W at
// 0x402000; the program headers at offset 64.
struct Elf {
	Bytes bytes = Bytes(0x3000, 0);

	Elf()
	{
		const uint8_t ident[16] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
		std::memcpy(&bytes[0], ident, sizeof(ident));
		put<uint16_t>(bytes, kEType, 2);
		put<uint16_t>(bytes, kEMachine, 62);
		put<uint32_t>(bytes, kEVersion, 1);
		put<uint64_t>(bytes, kEEntry, 0x401000);
		put<uint64_t>(bytes, kEPhoff, 64);
		put<uint16_t>(bytes, kEEhsize, 64);
		put<uint16_t>(bytes, kEPhentsize, 56);
		load(0, HX_ELF_R, 0x0000, 0x400000, 0x1000, 0x1000);
		load(1, HX_ELF_R | HX_ELF_X, 0x1000, 0x401000, 0x1000, 0x1000);
		load(2, HX_ELF_R | HX_ELF_W, 0x2000, 0x402000, 0x100, 0x2000);
		phnum(3);
	}

	static size_t ph(unsigned i)
	{
		return 64 + 56 * size_t(i);
	}

	void phnum(uint16_t n)
	{
		put<uint16_t>(bytes, kEPhnum, n);
	}

	void load(unsigned i, uint32_t flags, uint64_t offset, uint64_t vaddr, uint64_t filesz,
	          uint64_t memsz)
	{
		put<uint32_t>(bytes, ph(i) + kPType, kPtLoad);
		put<uint32_t>(bytes, ph(i) + kPFlags, flags);
		put<uint64_t>(bytes, ph(i) + kPOffset, offset);
		put<uint64_t>(bytes, ph(i) + kPVaddr, vaddr);
		put<uint64_t>(bytes, ph(i) + kPPaddr, vaddr);
		put<uint64_t>(bytes, ph(i) + kPFilesz, filesz);
		put<uint64_t>(bytes, ph(i) + kPMemsz, memsz);
		put<uint64_t>(bytes, ph(i) + kPAlign, 0x1000);
	}

	template <typename T> void set(size_t at, T v)
	{
		put<T>(bytes, at, v);
	}

	void set_ph(unsigned i, size_t field, uint64_t v)
	{
		if (field == kPType || field == kPFlags)
			put<uint32_t>(bytes, ph(i) + field, uint32_t(v));
		else
			put<uint64_t>(bytes, ph(i) + field, v);
	}
};

struct Result {
	int ret;
	hx_elf_info info;
};

Result parse(const Bytes &b, uint64_t base = kBase, uint64_t limit = kLimit)
{
	// An exact-size heap copy: ASan reports any read past its end.
	Bytes copy(b);
	Result r{};
	std::memset(&r.info, 0xa5, sizeof(r.info));
	r.ret =
	    hx_elf_parse(copy.empty() ? nullptr : copy.data(), copy.size(), base, limit, &r.info);
	return r;
}

// The parse fails with -HX_ENOEXEC naming @reason, and *out holds nothing else.
void require_refused(const Bytes &b, const std::string &reason)
{
	Result r = parse(b);
	INFO("expected reason: " << reason);
	REQUIRE(r.ret == -HX_ENOEXEC);
	REQUIRE(r.info.reason != nullptr);
	REQUIRE(std::string(r.info.reason) == reason);
	REQUIRE(r.info.count == 0);
	REQUIRE(r.info.entry == 0);
}

Bytes read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	REQUIRE(in.good());
	return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace

TEST_CASE("a well-formed static executable is described segment by segment")
{
	Result r = parse(Elf().bytes);
	REQUIRE(r.ret == 0);
	REQUIRE(r.info.reason == nullptr);
	REQUIRE(r.info.entry == 0x401000);
	REQUIRE(r.info.count == 3);
	const hx_elf_segment &ro = r.info.segments[0], &text = r.info.segments[1],
	                     &data = r.info.segments[2];
	CHECK(ro.vaddr == 0x400000);
	CHECK(ro.flags == HX_ELF_R);
	CHECK(text.vaddr == 0x401000);
	CHECK(text.file_offset == 0x1000);
	CHECK(text.filesz == 0x1000);
	CHECK(text.memsz == 0x1000);
	CHECK(text.flags == (HX_ELF_R | HX_ELF_X));
	CHECK(data.vaddr == 0x402000);
	CHECK(data.file_offset == 0x2000);
	CHECK(data.filesz == 0x100);
	CHECK(data.memsz == 0x2000);
	CHECK(data.flags == (HX_ELF_R | HX_ELF_W));
}

TEST_CASE("the ELF header is checked field by field")
{
	SECTION("too short for a header")
	{
		Bytes b = Elf().bytes;
		b.resize(63);
		require_refused(b, "file smaller than the ELF header");
		require_refused(Bytes(), "file smaller than the ELF header");
	}
	SECTION("magic")
	{
		for (size_t i = 0; i < 4; i++) {
			Elf e;
			e.bytes[i] ^= 0x20;
			require_refused(e.bytes, "bad magic");
		}
	}
	SECTION("class")
	{
		Elf e;
		e.bytes[4] = 1; // ELFCLASS32
		require_refused(e.bytes, "not ELFCLASS64");
	}
	SECTION("byte order")
	{
		Elf e;
		e.bytes[5] = 2; // ELFDATA2MSB
		require_refused(e.bytes, "not little-endian");
	}
	SECTION("ident version")
	{
		Elf e;
		e.bytes[6] = 0;
		require_refused(e.bytes, "bad ident version");
	}
	SECTION("OS ABI and ABI version")
	{
		Elf e;
		e.bytes[7] = 3; // ELFOSABI_GNU
		require_refused(e.bytes, "not the System V ABI");
		Elf f;
		f.bytes[8] = 1;
		require_refused(f.bytes, "not the System V ABI");
	}
	SECTION("type: ET_DYN (PIE), ET_REL and ET_CORE are refused")
	{
		for (uint16_t type : { 0, 1, 3, 4 }) {
			Elf e;
			e.set<uint16_t>(kEType, type);
			require_refused(e.bytes, "not ET_EXEC (a static executable)");
		}
	}
	SECTION("machine")
	{
		Elf e;
		e.set<uint16_t>(kEMachine, 3); // EM_386
		require_refused(e.bytes, "not EM_X86_64");
	}
	SECTION("version")
	{
		Elf e;
		e.set<uint32_t>(kEVersion, 2);
		require_refused(e.bytes, "bad version");
	}
	SECTION("flags")
	{
		Elf e;
		e.set<uint32_t>(kEFlags, 1);
		require_refused(e.bytes, "e_flags set");
	}
	SECTION("header size")
	{
		Elf e;
		e.set<uint16_t>(kEEhsize, 52);
		require_refused(e.bytes, "bad e_ehsize");
	}
	SECTION("program header entry size")
	{
		for (uint16_t size : { 0, 32, 55, 57, 64 }) {
			Elf e;
			e.set<uint16_t>(kEPhentsize, size);
			require_refused(e.bytes, "bad e_phentsize");
		}
	}
}

TEST_CASE("the program header table must lie inside the file")
{
	SECTION("no program headers")
	{
		Elf e;
		e.phnum(0);
		require_refused(e.bytes, "no program headers");
	}
	SECTION("more than HX_ELF_MAX_PHDRS")
	{
		Elf e;
		e.phnum(HX_ELF_MAX_PHDRS + 1);
		require_refused(e.bytes, "too many program headers");
		e.phnum(0xffff); // PN_XNUM: the real count would be in a section header
		require_refused(e.bytes, "too many program headers");
	}
	SECTION("phoff past the end, at the end, and wrapping")
	{
		for (uint64_t phoff : { uint64_t(0x3000), uint64_t(0x3000 - 3 * 56 + 1),
		                        uint64_t(0x10000), UINT64_MAX - 8, UINT64_MAX }) {
			Elf e;
			e.set<uint64_t>(kEPhoff, phoff);
			INFO("phoff " << phoff);
			require_refused(e.bytes, "program headers outside the file");
		}
	}
	SECTION("the table ending exactly at the end of the file is read")
	{
		Elf e;
		const size_t at = 0x3000 - 3 * 56;
		std::memmove(&e.bytes[at], &e.bytes[64], 3 * 56);
		e.set<uint64_t>(kEPhoff, at);
		REQUIRE(parse(e.bytes).ret == 0);
	}
}

TEST_CASE("only static executables: PT_INTERP, PT_DYNAMIC and PT_TLS are refused")
{
	struct {
		uint32_t type;
		const char *reason;
	} cases[] = {
		{ kPtInterp, "PT_INTERP: not a static executable" },
		{ kPtDynamic, "PT_DYNAMIC: not a static executable" },
		{ kPtTls, "PT_TLS: thread-local storage is not supported" },
	};
	for (auto &c : cases) {
		Elf e;
		e.set_ph(3, kPType, c.type);
		e.set_ph(3, kPOffset, 0x200);
		e.set_ph(3, kPFilesz, 0x20);
		e.phnum(4);
		require_refused(e.bytes, c.reason);
	}
}

TEST_CASE("other program header types are ignored")
{
	for (uint32_t type : { uint32_t(0), kPtNote, kPtPhdr, kPtGnuStack, uint32_t(0x70000000) }) {
		Elf e;
		e.set_ph(3, kPType, type);
		e.set_ph(3, kPFlags, 0xffffffff); // even with flags and sizes no PT_LOAD may have
		e.set_ph(3, kPOffset, UINT64_MAX);
		e.set_ph(3, kPFilesz, UINT64_MAX);
		e.phnum(4);
		Result r = parse(e.bytes);
		INFO("type " << type);
		REQUIRE(r.ret == 0);
		REQUIRE(r.info.count == 3);
	}
}

TEST_CASE("PT_LOAD segments are checked one by one")
{
	SECTION("unknown flag bits")
	{
		Elf e;
		e.set_ph(0, kPFlags, HX_ELF_R | 0x8);
		require_refused(e.bytes, "segment has unknown flags");
		e.set_ph(0, kPFlags, HX_ELF_R | 0x00100000); // PF_MASKOS
		require_refused(e.bytes, "segment has unknown flags");
	}
	SECTION("writable and executable")
	{
		Elf e;
		e.set_ph(1, kPFlags, HX_ELF_R | HX_ELF_W | HX_ELF_X);
		require_refused(e.bytes, "segment is writable and executable");
		e.set_ph(1, kPFlags, HX_ELF_W | HX_ELF_X);
		require_refused(e.bytes, "segment is writable and executable");
	}
	SECTION("empty")
	{
		Elf e;
		e.set_ph(2, kPFilesz, 0);
		e.set_ph(2, kPMemsz, 0);
		require_refused(e.bytes, "segment is empty (memsz 0)");
	}
	SECTION("filesz above memsz")
	{
		Elf e;
		e.set_ph(2, kPFilesz, 0x2001);
		require_refused(e.bytes, "segment filesz above memsz");
	}
	SECTION("data past the end of the file, or wrapping")
	{
		Elf e;
		e.set_ph(2, kPFilesz, 0x1001); // 0x2000 + 0x1001 > 0x3000
		require_refused(e.bytes, "segment data outside the file");
		Elf f;
		f.set_ph(2, kPOffset, UINT64_MAX - 0xfff); // congruent with the vaddr, near 2^64
		require_refused(f.bytes, "segment data outside the file");
		Elf g;
		g.set_ph(2, kPOffset, 0x4000);
		g.set_ph(2, kPFilesz, 0);
		require_refused(g.bytes, "segment data outside the file");
	}
	SECTION("data ending exactly at the end of the file")
	{
		Elf e;
		e.set_ph(2, kPFilesz, 0x1000);
		REQUIRE(parse(e.bytes).ret == 0);
	}
	SECTION("below the user range")
	{
		Elf e;
		e.set_ph(0, kPVaddr, 0);
		require_refused(e.bytes, "segment outside the user range");
		Result r = parse(Elf().bytes, 0x401000, kLimit);
		REQUIRE(r.ret == -HX_ENOEXEC);
		REQUIRE(std::string(r.info.reason) == "segment outside the user range");
	}
	SECTION("past the user limit, and wrapping around 2^64")
	{
		Elf e;
		e.set_ph(2, kPVaddr, kLimit - 0x1000);
		require_refused(e.bytes, "segment outside the user range"); // memsz 0x2000
		Elf f;
		f.set_ph(2, kPVaddr, 0xffffffff80000000ull);
		require_refused(f.bytes, "segment outside the user range");
		Elf g;
		g.set_ph(2, kPVaddr, UINT64_MAX - 0xfff);
		require_refused(g.bytes, "segment outside the user range");
		Elf h;
		h.set_ph(2, kPMemsz, UINT64_MAX);
		require_refused(h.bytes, "segment outside the user range");
	}
	SECTION("ending exactly at the user limit, starting exactly at the base")
	{
		Elf e;
		e.set_ph(2, kPVaddr, kLimit - 0x2000);
		REQUIRE(parse(e.bytes).ret == 0);
		Result r = parse(Elf().bytes, 0x400000, 0x404000);
		REQUIRE(r.ret == 0);
		REQUIRE(parse(Elf().bytes, 0x400000, 0x403000).ret == -HX_ENOEXEC);
	}
	SECTION("vaddr and offset not congruent modulo the page size")
	{
		Elf e;
		e.set_ph(1, kPVaddr, 0x401010);
		require_refused(e.bytes, "segment vaddr and offset differ modulo the page size");
		Elf f;
		f.set_ph(1, kPOffset, 0x1008);
		f.set_ph(1, kPFilesz, 0x100);
		require_refused(f.bytes, "segment vaddr and offset differ modulo the page size");
	}
	SECTION("congruent but unaligned segments are fine")
	{
		Elf e;
		e.set_ph(1, kPVaddr, 0x401010);
		e.set_ph(1, kPOffset, 0x1010);
		e.set_ph(1, kPFilesz, 0x100);
		e.set_ph(1, kPMemsz, 0x100);
		e.set<uint64_t>(kEEntry, 0x401010);
		REQUIRE(parse(e.bytes).ret == 0);
	}
}

TEST_CASE("segments may not share a page and come in ascending order")
{
	SECTION("overlapping bytes")
	{
		Elf e;
		e.set_ph(0, kPMemsz, 0x1001);
		require_refused(e.bytes, "segment overlaps another (at page granularity)");
	}
	SECTION("disjoint bytes on one page")
	{
		Elf e;
		e.set_ph(0, kPFilesz, 0x800);
		e.set_ph(0, kPMemsz, 0x800);
		e.set_ph(1, kPVaddr, 0x400800);
		e.set_ph(1, kPOffset, 0x1800);
		e.set_ph(1, kPFilesz, 0x800);
		e.set_ph(1, kPMemsz, 0x800);
		e.set<uint64_t>(kEEntry, 0x400800);
		require_refused(e.bytes, "segment overlaps another (at page granularity)");
	}
	SECTION("the same segment twice")
	{
		Elf e;
		std::memcpy(&e.bytes[Elf::ph(3)], &e.bytes[Elf::ph(2)], 56);
		e.phnum(4);
		require_refused(e.bytes, "segment overlaps another (at page granularity)");
	}
	SECTION("descending order")
	{
		Elf e;
		uint8_t tmp[56];
		std::memcpy(tmp, &e.bytes[Elf::ph(0)], 56);
		std::memcpy(&e.bytes[Elf::ph(0)], &e.bytes[Elf::ph(1)], 56);
		std::memcpy(&e.bytes[Elf::ph(1)], tmp, 56);
		require_refused(e.bytes, "segments not in ascending vaddr order");
	}
	SECTION("adjacent pages are fine")
	{
		Elf e;
		e.set_ph(0, kPFilesz, 0xfff);
		e.set_ph(0, kPMemsz, 0xfff);
		REQUIRE(parse(e.bytes).ret == 0);
	}
}

TEST_CASE("at least one and at most HX_ELF_MAX_SEGMENTS PT_LOAD segments")
{
	SECTION("none")
	{
		Elf e;
		for (unsigned i = 0; i < 3; i++)
			e.set_ph(i, kPType, kPtNote);
		require_refused(e.bytes, "no PT_LOAD segment");
	}
	// n one-page segments, the first executable, no file data (offset 0 is congruent).
	auto many = [](unsigned n) {
		Elf e;
		for (unsigned i = 0; i < n; i++)
			e.load(i, i == 0 ? HX_ELF_R | HX_ELF_X : HX_ELF_R, 0, 0x400000 + 0x1000 * i,
			       0, 0x1000);
		e.phnum(uint16_t(n));
		e.set<uint64_t>(kEEntry, 0x400000);
		return e;
	};
	SECTION("exactly the maximum")
	{
		Result r = parse(many(HX_ELF_MAX_SEGMENTS).bytes);
		REQUIRE(r.ret == 0);
		REQUIRE(r.info.count == HX_ELF_MAX_SEGMENTS);
	}
	SECTION("one more")
	{
		require_refused(many(HX_ELF_MAX_SEGMENTS + 1).bytes, "too many PT_LOAD segments");
	}
}

TEST_CASE("the entry point must lie in an executable segment")
{
	const char *reason = "entry point not in an executable segment";
	for (uint64_t entry :
	     { uint64_t(0), uint64_t(0x400010), uint64_t(0x400fff), uint64_t(0x402000),
	       uint64_t(0x402100), uint64_t(0x500000), UINT64_MAX }) {
		Elf e;
		e.set<uint64_t>(kEEntry, entry);
		INFO("entry " << entry);
		require_refused(e.bytes, reason);
	}
	for (uint64_t entry : { uint64_t(0x401000), uint64_t(0x401fff) }) {
		Elf e;
		e.set<uint64_t>(kEEntry, entry);
		Result r = parse(e.bytes);
		REQUIRE(r.ret == 0);
		REQUIRE(r.info.entry == entry);
	}
}

TEST_CASE("every truncation of a valid image is refused, never read past")
{
	const Bytes full = Elf().bytes;
	const size_t needed = 0x2100; // the end of the last segment's file data
	for (size_t len = 0; len < needed; len++) {
		Bytes cut(full.begin(), full.begin() + len);
		Result r = parse(cut);
		INFO("length " << len);
		REQUIRE(r.ret == -HX_ENOEXEC);
	}
	Bytes exact(full.begin(), full.begin() + needed);
	REQUIRE(parse(exact).ret == 0);
}

TEST_CASE("caller mistakes are -HX_EINVAL")
{
	Bytes b = Elf().bytes;
	hx_elf_info info;
	REQUIRE(hx_elf_parse(b.data(), b.size(), kBase, kLimit, nullptr) == -HX_EINVAL);
	REQUIRE(hx_elf_parse(nullptr, 64, kBase, kLimit, &info) == -HX_EINVAL);
	REQUIRE(hx_elf_parse(b.data(), b.size(), kLimit, kBase, &info) == -HX_EINVAL);
	REQUIRE(hx_elf_parse(b.data(), b.size(), kBase, kBase, &info) == -HX_EINVAL);
	REQUIRE(hx_elf_parse(b.data(), b.size(), kBase + 1, kLimit, &info) == -HX_EINVAL);
	REQUIRE(hx_elf_parse(b.data(), b.size(), kBase, kLimit - 1, &info) == -HX_EINVAL);
	REQUIRE(hx_elf_parse(nullptr, 0, kBase, kLimit, &info) == -HX_ENOEXEC);
}

TEST_CASE("the real user programs parse as R, R+X and R+W segments at 0x400000")
{
	for (const char *name : { "init", "hello", "fault", "priv", "snoop" }) {
		INFO("program " << name);
		Bytes image = read_file(std::string("kernel/user/") + name + ".elf");
		Result r = parse(image);
		REQUIRE(r.ret == 0);
		REQUIRE(r.info.count == 3);
		const hx_elf_segment *s = r.info.segments;
		CHECK(s[0].vaddr == HX_USER_IMAGE_BASE);
		CHECK(s[0].flags == HX_ELF_R);
		CHECK(s[1].flags == (HX_ELF_R | HX_ELF_X));
		CHECK(s[2].flags == (HX_ELF_R | HX_ELF_W));
		for (size_t i = 0; i < r.info.count; i++) {
			CHECK((s[i].flags & (HX_ELF_W | HX_ELF_X)) != (HX_ELF_W | HX_ELF_X));
			CHECK(s[i].vaddr % HX_ELF_PAGE_SIZE == 0);
		}
		CHECK(r.info.entry >= s[1].vaddr);
		CHECK(r.info.entry < s[1].vaddr + s[1].memsz);
		// The whole image lies far below the stack.
		CHECK(s[2].vaddr + s[2].memsz < HX_USER_STACK_GUARD);
	}
}
