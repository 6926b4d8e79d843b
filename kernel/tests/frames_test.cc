// SPDX-License-Identifier: MIT
// The physical frame allocator against its documented contract: which frames a memory map yields
// (checked frame by frame against a direct reading of the rules), allocation, contiguous
// allocation, refused frees, and a randomized run against a std::set model.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include <helix/errors.h>
#include <helix/frames.h>

namespace
{

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, FRAME = HX_FRAME_SIZE;

using Map = std::vector<hx_mem_region>;
using Ranges = std::vector<hx_mem_range>;

// The allocator with its own bitmap storage.
struct Allocator {
	std::vector<uint64_t> bitmap;
	std::unique_ptr<hx_frames> frames{ new hx_frames() };

	int init(const Map &map, const Ranges &reserved, uint64_t limit)
	{
		bitmap.assign(hx_frames_bitmap_bytes(limit) / 8, 0);
		return hx_frames_init(frames.get(), map.data(), map.size(), reserved.data(),
		                      reserved.size(), bitmap.data(), bitmap.size() * 8);
	}

	hx_frames_stats stats()
	{
		hx_frames_stats s;
		hx_frames_get_stats(frames.get(), &s);
		return s;
	}

	// Allocates single frames until -HX_ENOMEM.
	std::vector<uint64_t> drain()
	{
		std::vector<uint64_t> got;
		uint64_t phys;
		int err;
		while ((err = hx_frames_alloc(frames.get(), &phys)) == 0)
			got.push_back(phys);
		CHECK(err == -HX_ENOMEM);
		return got;
	}
};

bool overlaps(uint64_t base, uint64_t length, uint64_t lo, uint64_t hi)
{
	return length > 0 && base < hi && lo < base + length;
}

// The header's rules read literally, one frame at a time: wholly inside a usable entry, touching
// no other entry and no reserved range, below the limit.
std::set<uint64_t> expected_frames(const Map &map, const Ranges &reserved, uint64_t limit)
{
	std::set<uint64_t> frames;
	for (uint64_t lo = 0; lo + FRAME <= limit; lo += FRAME) {
		uint64_t hi = lo + FRAME;
		bool usable = false, conflict = false;
		for (const auto &r : map) {
			if (r.type == HX_MEM_USABLE && r.base <= lo && hi <= r.base + r.length)
				usable = true;
			if (r.type != HX_MEM_USABLE && overlaps(r.base, r.length, lo, hi))
				conflict = true;
		}
		for (const auto &r : reserved) {
			if (overlaps(r.base, r.length, lo, hi))
				conflict = true;
		}
		if (usable && !conflict)
			frames.insert(lo);
	}
	return frames;
}

size_t count_runs(const std::set<uint64_t> &frames)
{
	size_t runs = 0;
	uint64_t prev = 0;
	bool first = true;
	for (uint64_t f : frames) {
		if (first || f != prev + FRAME)
			runs++;
		prev = f;
		first = false;
	}
	return runs;
}

// Initialises from the map and checks that exactly the expected frames come out, once each.
void check_yield(const Map &map, const Ranges &reserved, uint64_t limit)
{
	Allocator a;
	auto expected = expected_frames(map, reserved, limit);
	REQUIRE(!expected.empty());
	REQUIRE(a.init(map, reserved, limit) == 0);

	auto s = a.stats();
	CHECK(s.total_frames == expected.size());
	CHECK(s.free_frames == expected.size());
	CHECK(s.ranges == count_runs(expected));

	auto got = a.drain();
	std::set<uint64_t> unique(got.begin(), got.end());
	CHECK(unique.size() == got.size()); // nothing handed out twice
	CHECK(unique == expected);
	CHECK(a.stats().free_frames == 0);
	for (uint64_t f : got)
		REQUIRE(hx_frames_free(a.frames.get(), f, 1) == 0);
	CHECK(a.stats().free_frames == expected.size());
}

hx_mem_region usable(uint64_t base, uint64_t length)
{
	return { base, length, HX_MEM_USABLE };
}

hx_mem_region reserved_region(uint64_t base, uint64_t length, uint32_t type = HX_MEM_RESERVED)
{
	return { base, length, type };
}

// A PC-like map: low memory, the BIOS hole, RAM above 1 MiB with an ACPI area at its top.
Map pc_map()
{
	return {
		usable(0, 639 * KiB),
		reserved_region(639 * KiB, 385 * KiB),
		usable(1 * MiB, 14 * MiB),
		reserved_region(15 * MiB, 1 * MiB, HX_MEM_ACPI_RECLAIMABLE),
	};
}

} // namespace

TEST_CASE("a plain memory map yields exactly its usable frames", "[frames]")
{
	check_yield(pc_map(), {}, 16 * MiB);

	Allocator a;
	REQUIRE(a.init(pc_map(), {}, 16 * MiB) == 0);
	auto s = a.stats();
	CHECK(s.total_frames == (639 * KiB) / FRAME + (14 * MiB) / FRAME);
	CHECK(s.ranges == 2);
	CHECK(s.beyond_limit == 0);
}

TEST_CASE("reserved entries win over overlapping usable ones", "[frames]")
{
	Map map = {
		usable(0, 8 * MiB),
		reserved_region(2 * MiB, 64 * KiB),                      // inside
		reserved_region(8 * MiB - 8 * KiB, 1 * MiB, HX_MEM_BAD), // across the end
		usable(1 * MiB, 2 * MiB),        // overlaps the first usable entry and the hole
		reserved_region(0, 4 * KiB, 77), // unknown type counts as reserved
	};
	check_yield(map, {}, 16 * MiB);

	Allocator a;
	REQUIRE(a.init(map, {}, 16 * MiB) == 0);
	CHECK(a.stats().total_frames == (8 * MiB - 64 * KiB - 8 * KiB - 4 * KiB) / FRAME);
	CHECK(a.stats().ranges == 2);
}

TEST_CASE("unaligned entries: usable rounds inwards, reserved outwards", "[frames]")
{
	Map map = {
		usable(0x1234, 0x10000),       // [0x1234, 0x11234) -> [0x2000, 0x11000)
		reserved_region(0x8800, 0x10), // -> [0x8000, 0x9000)
		usable(0x20001, 0xfff),        // [0x20001, 0x21000): no whole frame
		usable(0x30000, 0x1fff),       // -> [0x30000, 0x31000)
	};
	check_yield(map, {}, 1 * MiB);

	Allocator a;
	REQUIRE(a.init(map, {}, 1 * MiB) == 0);
	CHECK(a.stats().total_frames == 15 - 1 + 1); // [0x2000, 0x11000), a hole, 0x30000
	auto got = a.drain();
	std::set<uint64_t> frames(got.begin(), got.end());
	CHECK(frames.count(0x1000) == 0);
	CHECK(frames.count(0x2000) == 1);
	CHECK(frames.count(0x8000) == 0);
	CHECK(frames.count(0x10000) == 1);
	CHECK(frames.count(0x11000) == 0);
	CHECK(frames.count(0x20000) == 0);
	CHECK(frames.count(0x30000) == 1);
	CHECK(frames.count(0x31000) == 0);
}

TEST_CASE("entry order does not matter", "[frames]")
{
	Map map = pc_map();
	map.push_back(reserved_region(3 * MiB + 100, 5 * KiB));
	map.push_back(usable(20 * MiB, 1 * MiB)); // beyond the limit below
	Ranges reserved = { { 1 * MiB, 700 * KiB + 1 }, { 9 * MiB, 4096 } };

	Allocator reference;
	REQUIRE(reference.init(map, reserved, 16 * MiB) == 0);
	auto want = reference.stats();
	auto want_frames = reference.drain();
	std::sort(want_frames.begin(), want_frames.end());

	std::mt19937 rng(20240601);
	for (int round = 0; round < 20; round++) {
		std::shuffle(map.begin(), map.end(), rng);
		std::shuffle(reserved.begin(), reserved.end(), rng);
		check_yield(map, reserved, 16 * MiB);
		Allocator a;
		REQUIRE(a.init(map, reserved, 16 * MiB) == 0);
		auto s = a.stats();
		CHECK(s.total_frames == want.total_frames);
		CHECK(s.ranges == want.ranges);
		CHECK(s.beyond_limit == want.beyond_limit);
		auto got = a.drain();
		std::sort(got.begin(), got.end());
		CHECK(got == want_frames);
	}
}

TEST_CASE("the caller's reserved ranges are never handed out", "[frames]")
{
	Ranges reserved = {
		{ 1 * MiB, 1 * MiB + 123 },  // kernel image, unaligned end
		{ 5 * MiB + 10, 200 * KiB }, // a boot module, unaligned start
		{ 9 * MiB, 0 },              // empty: ignored
		{ 0, 4096 },                 // real-mode IVT
	};
	check_yield(pc_map(), reserved, 16 * MiB);

	Allocator a;
	REQUIRE(a.init(pc_map(), reserved, 16 * MiB) == 0);
	for (uint64_t phys : a.drain()) {
		for (const auto &r : reserved)
			CHECK_FALSE(overlaps(r.base, r.length, phys, phys + FRAME));
	}
}

TEST_CASE("usable memory past the bitmap's reach is counted in beyond_limit", "[frames]")
{
	Map map = { usable(0, 4 * MiB), reserved_region(2 * MiB, 1 * MiB), usable(8 * MiB, 4097) };
	check_yield(map, {}, 1 * MiB);

	Allocator a;
	REQUIRE(a.init(map, {}, 1 * MiB) == 0);
	auto s = a.stats();
	CHECK(s.total_frames == 1 * MiB / FRAME);
	// [1, 2) MiB and [3, 4) MiB are usable beyond the limit; [8 MiB, +4097) rounds to one
	// frame.
	CHECK(s.beyond_limit == 2 * MiB + FRAME);
	for (uint64_t phys : a.drain())
		CHECK(phys < 1 * MiB);

	// A region reaching the top of the address space is fine as long as its end does not wrap.
	Map top = { usable(0, 64 * KiB), usable(UINT64_C(1) << 63, (UINT64_C(1) << 63) - 1) };
	Allocator b;
	REQUIRE(b.init(top, {}, 1 * MiB) == 0);
	CHECK(b.stats().total_frames == 16);
	CHECK(b.stats().beyond_limit == (UINT64_C(1) << 63) - FRAME);

	// Nothing usable below the limit at all.
	Allocator c;
	CHECK(c.init({ usable(2 * MiB, 1 * MiB) }, {}, 1 * MiB) == -HX_ENOMEM);
}

TEST_CASE("hx_frames_init refuses bad arguments", "[frames]")
{
	Map map = pc_map();
	std::vector<uint64_t> bitmap(64);
	hx_frames frames;

	SECTION("regions whose end overflows")
	{
		Map bad = map;
		bad.push_back(usable(UINT64_MAX - 100, 200));
		CHECK(hx_frames_init(&frames, bad.data(), bad.size(), nullptr, 0, bitmap.data(),
		                     512) == -HX_EINVAL);
		bad.back() =
		    reserved_region(UINT64_C(1) << 63, UINT64_C(1) << 63); // ends at exactly 2^64
		CHECK(hx_frames_init(&frames, bad.data(), bad.size(), nullptr, 0, bitmap.data(),
		                     512) == -HX_EINVAL);
		hx_mem_range range = { UINT64_MAX, 2 };
		CHECK(hx_frames_init(&frames, map.data(), map.size(), &range, 1, bitmap.data(),
		                     512) == -HX_EINVAL);
	}
	SECTION("bitmap and pointers")
	{
		CHECK(hx_frames_init(&frames, map.data(), map.size(), nullptr, 0, nullptr, 512) ==
		      -HX_EINVAL);
		CHECK(hx_frames_init(&frames, map.data(), map.size(), nullptr, 0, bitmap.data(),
		                     0) == -HX_EINVAL);
		CHECK(hx_frames_init(&frames, map.data(), map.size(), nullptr, 0, bitmap.data(),
		                     12) == -HX_EINVAL);
		auto *misaligned = reinterpret_cast<uint64_t *>(
		    reinterpret_cast<unsigned char *>(bitmap.data()) + 4);
		CHECK(hx_frames_init(&frames, map.data(), map.size(), nullptr, 0, misaligned,
		                     256) == -HX_EINVAL);
		CHECK(hx_frames_init(&frames, nullptr, 3, nullptr, 0, bitmap.data(), 512) ==
		      -HX_EINVAL);
		CHECK(hx_frames_init(&frames, map.data(), map.size(), nullptr, 2, bitmap.data(),
		                     512) == -HX_EINVAL);
	}
	SECTION("no usable memory")
	{
		Map none = { reserved_region(0, 16 * MiB) };
		CHECK(hx_frames_init(&frames, none.data(), none.size(), nullptr, 0, bitmap.data(),
		                     512) == -HX_ENOMEM);
		CHECK(hx_frames_init(&frames, nullptr, 0, nullptr, 0, bitmap.data(), 512) ==
		      -HX_ENOMEM);
		Map tiny = { usable(100, 4000), usable(8 * KiB + 1, 4095) };
		CHECK(hx_frames_init(&frames, tiny.data(), tiny.size(), nullptr, 0, bitmap.data(),
		                     512) == -HX_ENOMEM);
		Map covered = { usable(1 * MiB, 1 * MiB) };
		hx_mem_range kernel = { 1 * MiB - 1, 1 * MiB + 2 };
		CHECK(hx_frames_init(&frames, covered.data(), covered.size(), &kernel, 1,
		                     bitmap.data(), 512) == -HX_ENOMEM);
	}
}

TEST_CASE("more than HX_FRAMES_MAX_RANGES managed ranges is -HX_E2BIG", "[frames]")
{
	const uint64_t limit = 4 * MiB;
	Map map;
	for (int i = 0; i < HX_FRAMES_MAX_RANGES; i++)
		map.push_back(usable(uint64_t(i) * 2 * FRAME, FRAME)); // every other frame
	Allocator ok;
	REQUIRE(ok.init(map, {}, limit) == 0);
	CHECK(ok.stats().ranges == HX_FRAMES_MAX_RANGES);

	map.push_back(usable(uint64_t(HX_FRAMES_MAX_RANGES) * 2 * FRAME, FRAME));
	Allocator too_many;
	CHECK(too_many.init(map, {}, limit) == -HX_E2BIG);

	// One usable entry split by reserved holes counts the same way.
	Map one = { usable(0, limit) };
	Ranges holes;
	for (int i = 0; i < HX_FRAMES_MAX_RANGES; i++)
		holes.push_back({ uint64_t(i) * 2 * FRAME + FRAME, 1 });
	Allocator split;
	CHECK(split.init(one, holes, limit) == -HX_E2BIG);
	holes.pop_back();
	Allocator fits;
	CHECK(fits.init(one, holes, limit) == 0);
	CHECK(fits.stats().ranges == HX_FRAMES_MAX_RANGES);

	// Adjacent usable entries merge into one range; they do not count separately.
	Map adjacent;
	for (int i = 0; i < 3 * HX_FRAMES_MAX_RANGES; i++)
		adjacent.push_back(usable(uint64_t(i) * FRAME, FRAME));
	Allocator merged;
	REQUIRE(merged.init(adjacent, {}, limit) == 0);
	CHECK(merged.stats().ranges == 1);
}

TEST_CASE("single-frame allocation is next-fit", "[frames]")
{
	Allocator a;
	REQUIRE(a.init({ usable(0, 64 * KiB) }, {}, 64 * KiB) == 0);
	uint64_t first, second, third;
	REQUIRE(hx_frames_alloc(a.frames.get(), &first) == 0);
	REQUIRE(hx_frames_alloc(a.frames.get(), &second) == 0);
	CHECK(second > first);
	REQUIRE(hx_frames_free(a.frames.get(), first, 1) == 0);
	REQUIRE(hx_frames_alloc(a.frames.get(), &third) == 0);
	CHECK(third > second); // the search continues after the last hit
	// The search wraps around to find the freed frame once everything after it is taken.
	auto rest = a.drain();
	CHECK(std::count(rest.begin(), rest.end(), first) == 1);
}

TEST_CASE("the watch sees every change of the free count, and only those", "[frames]")
{
	struct Seen {
		std::vector<std::pair<uint64_t, uint64_t>> calls;
		static void record(void *ctx, uint64_t free_frames, uint64_t total_frames)
		{
			static_cast<Seen *>(ctx)->calls.emplace_back(free_frames, total_frames);
		}
	} seen;
	Allocator a;
	REQUIRE(a.init({ usable(0, 64 * KiB) }, {}, 64 * KiB) == 0);
	hx_frames_set_watch(a.frames.get(), Seen::record, &seen);
	uint64_t one, run, bad;
	REQUIRE(hx_frames_alloc(a.frames.get(), &one) == 0);
	REQUIRE(hx_frames_alloc_contig(a.frames.get(), 4, 4, &run) == 0);
	REQUIRE(hx_frames_free(a.frames.get(), run, 4) == 0);
	REQUIRE(hx_frames_free(a.frames.get(), one, 1) == 0);
	using P = std::pair<uint64_t, uint64_t>;
	CHECK(seen.calls == std::vector<P>{ P(15, 16), P(11, 16), P(15, 16), P(16, 16) });
	// Refused operations change nothing and say nothing.
	CHECK(hx_frames_free(a.frames.get(), one, 1) == -HX_EINVAL);
	CHECK(hx_frames_alloc_contig(a.frames.get(), 17, 1, &bad) == -HX_ENOMEM);
	CHECK(seen.calls.size() == 4);
	auto all = a.drain();
	CHECK(seen.calls.size() == 4 + all.size());
	CHECK(seen.calls.back() == P(0, 16));
	hx_frames_set_watch(a.frames.get(), nullptr, nullptr);
	REQUIRE(hx_frames_free(a.frames.get(), all[0], 1) == 0);
	CHECK(seen.calls.size() == 4 + all.size());
}

TEST_CASE("bad frees are refused and change nothing", "[frames]")
{
	Allocator a;
	Ranges reserved = { { 1 * MiB, 64 * KiB } };
	REQUIRE(a.init(pc_map(), reserved, 16 * MiB) == 0);
	hx_frames *f = a.frames.get();

	uint64_t single, run;
	REQUIRE(hx_frames_alloc(f, &single) == 0);
	REQUIRE(hx_frames_alloc_contig(f, 4, 16, &run) == 0);
	REQUIRE(run >= 16 * FRAME); // so that the frames on either side of the run are free
	const auto before = a.stats();

	CHECK(hx_frames_free(f, run + 1, 1) == -HX_EINVAL);          // unaligned
	CHECK(hx_frames_free(f, run + FRAME / 2, 4) == -HX_EINVAL);  // unaligned
	CHECK(hx_frames_free(f, 1 * MiB, 1) == -HX_EINVAL);          // caller-reserved
	CHECK(hx_frames_free(f, 700 * KiB, 1) == -HX_EINVAL);        // BIOS hole
	CHECK(hx_frames_free(f, 15 * MiB + FRAME, 1) == -HX_EINVAL); // ACPI
	CHECK(hx_frames_free(f, 64 * MiB, 1) == -HX_EINVAL);         // beyond the bitmap
	CHECK(hx_frames_free(f, UINT64_MAX & ~(FRAME - 1), 1) == -HX_EINVAL);
	CHECK(hx_frames_free(f, run, 0) == -HX_EINVAL);         // nothing to free
	CHECK(hx_frames_free(f, run, SIZE_MAX) == -HX_EINVAL);  // runs off everything
	CHECK(hx_frames_free(f, run, 5) == -HX_EINVAL);         // the 5th frame is free
	CHECK(hx_frames_free(f, run - FRAME, 2) == -HX_EINVAL); // the 1st frame is free

	auto after = a.stats();
	CHECK(after.free_frames == before.free_frames);
	CHECK(after.total_frames == before.total_frames);

	// The refused frees left every frame allocated: freeing them now works, exactly once.
	CHECK(hx_frames_free(f, run, 4) == 0);
	CHECK(hx_frames_free(f, single, 1) == 0);
	CHECK(a.stats().free_frames == before.free_frames + 5);
	CHECK(hx_frames_free(f, single, 1) == -HX_EINVAL); // double free
	CHECK(hx_frames_free(f, run + FRAME, 2) == -HX_EINVAL);
	CHECK(a.stats().free_frames == before.free_frames + 5);
}

TEST_CASE("a free running from a managed frame into unmanaged memory is refused", "[frames]")
{
	Allocator a;
	REQUIRE(a.init({ usable(0, 16 * KiB), usable(32 * KiB, 16 * KiB) }, {}, 256 * KiB) == 0);
	auto all = a.drain();
	REQUIRE(all.size() == 8);
	CHECK(hx_frames_free(a.frames.get(), 12 * KiB, 2) == -HX_EINVAL); // frame 4 is a gap
	CHECK(hx_frames_free(a.frames.get(), 28 * KiB, 2) == -HX_EINVAL); // frame 7 is a gap
	CHECK(a.stats().free_frames == 0);
	CHECK(hx_frames_free(a.frames.get(), 12 * KiB, 1) == 0);
	CHECK(hx_frames_free(a.frames.get(), 32 * KiB, 4) == 0);
	CHECK(a.stats().free_frames == 5);
}

TEST_CASE("contiguous aligned allocation", "[frames]")
{
	Allocator a;
	// Usable starts off any large alignment, so the aligned start must be searched for.
	Map map = { usable(0x3000, 8 * MiB), usable(12 * MiB, 1 * MiB) };
	REQUIRE(a.init(map, {}, 16 * MiB) == 0);
	hx_frames *f = a.frames.get();
	const uint64_t total = a.stats().total_frames;
	auto managed = expected_frames(map, {}, 16 * MiB);

	std::set<uint64_t> taken;
	auto take = [&](size_t count, size_t align) {
		uint64_t phys = 0;
		int err = hx_frames_alloc_contig(f, count, align, &phys);
		if (err)
			return err;
		CHECK(phys % (align * FRAME) == 0);
		for (size_t i = 0; i < count; i++) {
			CHECK(managed.count(phys + i * FRAME) == 1);
			CHECK(taken.insert(phys + i * FRAME).second);
		}
		return 0;
	};

	CHECK(hx_frames_alloc_contig(f, 0, 1, nullptr) == -HX_EINVAL);
	uint64_t unused;
	CHECK(hx_frames_alloc_contig(f, 1, 0, &unused) == -HX_EINVAL);
	CHECK(hx_frames_alloc_contig(f, 1, 3, &unused) == -HX_EINVAL);
	CHECK(hx_frames_alloc_contig(f, 1, 48, &unused) == -HX_EINVAL);

	CHECK(take(1, 1) == 0);
	CHECK(take(16, 16) == 0);
	CHECK(take(3, 512) == 0); // 2 MiB aligned
	CHECK(take(100, 4) == 0);
	CHECK(take(256, 256) == 0);
	// Larger than any range: fails although enough frames are free in total.
	CHECK(take(8 * MiB / FRAME, 1) == -HX_ENOMEM);
	CHECK(take(total, 1) == -HX_ENOMEM);
	CHECK(a.stats().free_frames == total - taken.size());

	// Fragment everything: every other frame free, so no run of two exists.
	for (auto phys : a.drain())
		taken.insert(phys);
	CHECK(taken == managed);
	size_t freed = 0;
	for (uint64_t phys : managed) {
		if ((phys / FRAME) % 2 == 0) {
			REQUIRE(hx_frames_free(f, phys, 1) == 0);
			freed++;
		}
	}
	CHECK(a.stats().free_frames == freed);
	CHECK(hx_frames_alloc_contig(f, 2, 1, &unused) == -HX_ENOMEM);
	CHECK(hx_frames_alloc_contig(f, 1, 2, &unused) == 0);
	CHECK(unused % (2 * FRAME) == 0);
	CHECK(a.stats().free_frames == freed - 1);
}

TEST_CASE("random allocations and frees agree with a model", "[frames]")
{
	Map map = {
		usable(0, 639 * KiB),         reserved_region(639 * KiB, 385 * KiB),
		usable(1 * MiB + 5, 3 * MiB), reserved_region(2 * MiB, 8 * KiB, HX_MEM_ACPI_NVS),
		usable(6 * MiB, 2 * MiB),     usable(7 * MiB, 3 * MiB),
		usable(32 * MiB, 1 * MiB),
	};
	Ranges reserved = { { 1 * MiB, 300 * KiB }, { 9 * MiB + 77, 10 } };
	const uint64_t limit = 12 * MiB;
	auto managed_set = expected_frames(map, reserved, limit);
	std::vector<uint64_t> managed(managed_set.begin(), managed_set.end());

	Allocator a;
	REQUIRE(a.init(map, reserved, limit) == 0);
	hx_frames *f = a.frames.get();
	REQUIRE(a.stats().total_frames == managed.size());

	std::mt19937_64 rng(0x5eed);
	std::set<uint64_t> allocated;      // the model: frames in use
	std::map<uint64_t, size_t> blocks; // start -> count, as allocated
	auto pick = [&](size_t n) { return size_t(rng() % n); };

	for (int step = 0; step < 20000; step++) {
		int op = int(rng() % 10);
		if (op < 4) {
			uint64_t phys;
			int err = hx_frames_alloc(f, &phys);
			if (allocated.size() == managed.size()) {
				REQUIRE(err == -HX_ENOMEM);
			} else {
				REQUIRE(err == 0);
				REQUIRE(managed_set.count(phys) == 1);
				REQUIRE(allocated.insert(phys).second);
				blocks[phys] = 1;
			}
		} else if (op < 6) {
			size_t count = 1 + pick(40), align = size_t(1) << pick(6);
			uint64_t phys;
			int err = hx_frames_alloc_contig(f, count, align, &phys);
			if (err == 0) {
				REQUIRE(phys % (align * FRAME) == 0);
				for (size_t i = 0; i < count; i++) {
					REQUIRE(managed_set.count(phys + i * FRAME) == 1);
					REQUIRE(allocated.insert(phys + i * FRAME).second);
				}
				blocks[phys] = count;
			} else {
				REQUIRE(err == -HX_ENOMEM);
			}
		} else if (op < 9 && !blocks.empty()) {
			auto it = std::next(blocks.begin(), long(pick(blocks.size())));
			REQUIRE(hx_frames_free(f, it->first, it->second) == 0);
			for (size_t i = 0; i < it->second; i++)
				allocated.erase(it->first + i * FRAME);
			blocks.erase(it);
		} else {
			// A frame the model says is free, or is not managed: refused either way.
			uint64_t phys = pick(2) ? managed[pick(managed.size())]
			                        : (rng() % (limit / FRAME + 16)) * FRAME;
			if (allocated.count(phys) == 0)
				REQUIRE(hx_frames_free(f, phys, 1) == -HX_EINVAL);
		}
		REQUIRE(a.stats().free_frames == managed.size() - allocated.size());
	}

	// Whatever is left free must be exactly the model's free frames.
	for (uint64_t phys : a.drain())
		REQUIRE(allocated.insert(phys).second);
	CHECK(allocated == managed_set);
}
