// SPDX-License-Identifier: MIT
// The heap against its contract: alignment and non-overlap of every block, coalescing back to one
// block, exhaustion, the grow callback, refused frees, huge sizes, write-after-free detection in
// debug builds, and a randomized run against a model. hx_heap_check runs after every step.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <helix/errors.h>
#include <helix/heap.h>

namespace
{

// 16-byte aligned memory to hand to a heap.
struct Arena {
	size_t len;
	unsigned char *mem;

	explicit Arena(size_t bytes)
	    : len(bytes), mem(static_cast<unsigned char *>(std::aligned_alloc(16, bytes)))
	{
		REQUIRE(mem != nullptr);
	}
	~Arena()
	{
		std::free(mem);
	}
	Arena(const Arena &) = delete;
	Arena &operator=(const Arena &) = delete;
};

struct Heap {
	hx_heap heap;

	explicit Heap(hx_heap_grow_fn grow = nullptr, void *ctx = nullptr)
	{
		hx_heap_init(&heap, grow, ctx);
	}

	hx_heap_stats stats()
	{
		hx_heap_stats s;
		hx_heap_get_stats(&heap, &s);
		return s;
	}

	int check()
	{
		return hx_heap_check(&heap);
	}
};

unsigned char pattern_of(size_t index)
{
	return static_cast<unsigned char>(0x11 + index * 7);
}

bool filled_with(const void *mem, size_t len, unsigned char value)
{
	const auto *bytes = static_cast<const unsigned char *>(mem);
	return std::all_of(bytes, bytes + len, [value](unsigned char b) { return b == value; });
}

bool aligned16(const void *p)
{
	return reinterpret_cast<uintptr_t>(p) % HX_HEAP_ALIGN == 0;
}

struct Block {
	unsigned char *ptr;
	size_t size;
	unsigned char fill;
};

// Allocates @sizes in turn, filling each block; checks alignment, usable size and the heap.
std::vector<Block> allocate_filled(Heap &h, const std::vector<size_t> &sizes)
{
	std::vector<Block> blocks;
	for (size_t i = 0; i < sizes.size(); i++) {
		auto *p = static_cast<unsigned char *>(hx_heap_alloc(&h.heap, sizes[i]));
		REQUIRE(p != nullptr);
		REQUIRE(aligned16(p));
		REQUIRE(hx_heap_usable_size(&h.heap, p) >= sizes[i]);
		std::memset(p, pattern_of(i), sizes[i]);
		blocks.push_back({ p, sizes[i], pattern_of(i) });
		REQUIRE(h.check() == 0);
	}
	return blocks;
}

void check_contents(const std::vector<Block> &blocks)
{
	for (const auto &b : blocks)
		REQUIRE(filled_with(b.ptr, b.size, b.fill));
}

} // namespace

TEST_CASE("blocks are aligned, large enough and do not overlap", "[heap]")
{
	Arena arena(256 * 1024);
	Heap h;
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, arena.len) == 0);
	REQUIRE(h.check() == 0);

	std::vector<size_t> sizes;
	for (size_t size = 1; size <= 300; size++)
		sizes.push_back(size);
	for (size_t size : { 512, 1000, 4096, 4097, 10000 })
		sizes.push_back(size);
	auto blocks = allocate_filled(h, sizes);
	check_contents(blocks); // a later block's writes (or the heap's tags) clobbered nothing

	// Every block lies inside the arena and no two overlap.
	std::sort(blocks.begin(), blocks.end(),
	          [](const Block &a, const Block &b) { return a.ptr < b.ptr; });
	for (size_t i = 0; i < blocks.size(); i++) {
		REQUIRE(blocks[i].ptr >= arena.mem);
		REQUIRE(blocks[i].ptr + blocks[i].size <= arena.mem + arena.len);
		if (i > 0)
			REQUIRE(blocks[i - 1].ptr + blocks[i - 1].size <= blocks[i].ptr);
	}

	auto s = h.stats();
	CHECK(s.live_allocations == blocks.size());
	size_t usable = 0;
	for (const auto &b : blocks) {
		size_t n = hx_heap_usable_size(&h.heap, b.ptr);
		CHECK(n % HX_HEAP_ALIGN == 0);
		usable += n;
	}
	CHECK(s.used_bytes == usable);
	CHECK(s.peak_used_bytes == usable);
	CHECK(s.region_bytes == arena.len);
	CHECK(s.regions == 1);
	for (const auto &b : blocks)
		REQUIRE(hx_heap_free(&h.heap, b.ptr) == 0);
	CHECK(h.check() == 0);
	CHECK(h.stats().peak_used_bytes == usable);
}

TEST_CASE("freeing in any order coalesces back to one free block", "[heap]")
{
	Arena arena(128 * 1024);
	Heap h;
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, arena.len) == 0);
	const size_t initial_free = h.stats().free_bytes;
	REQUIRE(initial_free > 0);
	REQUIRE(initial_free < arena.len);

	std::vector<size_t> sizes;
	for (size_t i = 0; i < 200; i++)
		sizes.push_back(1 + (i * 37) % 400);
	auto blocks = allocate_filled(h, sizes);

	std::vector<size_t> order(blocks.size());
	for (size_t i = 0; i < order.size(); i++)
		order[i] = i;
	SECTION("in allocation order")
	{
	}
	SECTION("in reverse")
	{
		std::reverse(order.begin(), order.end());
	}
	SECTION("odd ones first, then even ones")
	{
		std::stable_partition(order.begin(), order.end(), [](size_t i) { return i % 2; });
	}
	SECTION("shuffled")
	{
		std::shuffle(order.begin(), order.end(), std::mt19937(42));
	}

	std::vector<bool> freed(blocks.size());
	for (size_t i : order) {
		REQUIRE(hx_heap_free(&h.heap, blocks[i].ptr) == 0);
		freed[i] = true;
		REQUIRE(h.check() == 0);
		// Coalescing and poisoning touched no live block.
		for (size_t j = 0; j < blocks.size(); j++) {
			if (!freed[j])
				REQUIRE(filled_with(blocks[j].ptr, blocks[j].size, blocks[j].fill));
		}
	}
	auto s = h.stats();
	CHECK(s.free_bytes == initial_free);
	CHECK(s.used_bytes == 0);
	CHECK(s.live_allocations == 0);
	// One block again: all of it can be had in one piece.
	void *all = hx_heap_alloc(&h.heap, initial_free);
	CHECK(all != nullptr);
	CHECK(hx_heap_alloc(&h.heap, 1) == nullptr);
	CHECK(hx_heap_free(&h.heap, all) == 0);
	CHECK(h.check() == 0);
}

TEST_CASE("exhaustion returns NULL and the heap stays usable", "[heap]")
{
	Arena arena(16 * 1024);
	Heap h;
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, arena.len) == 0);

	std::vector<void *> blocks;
	for (;;) {
		void *p = hx_heap_alloc(&h.heap, 64);
		if (!p)
			break;
		blocks.push_back(p);
		REQUIRE(blocks.size() < arena.len / 64);
	}
	CHECK(blocks.size() > 16 * 1024 / 128);
	CHECK(h.stats().failed_allocations == 1);
	CHECK(hx_heap_alloc(&h.heap, 1) == nullptr);
	CHECK(hx_heap_alloc(&h.heap, 100000) == nullptr);
	CHECK(h.stats().failed_allocations == 3);
	CHECK(h.check() == 0);

	REQUIRE(hx_heap_free(&h.heap, blocks[5]) == 0);
	void *again = hx_heap_alloc(&h.heap, 64);
	CHECK(again == blocks[5]);
	CHECK(hx_heap_alloc(&h.heap, 64) == nullptr);
	CHECK(h.check() == 0);
}

namespace
{

// Hands out chunks of one arena to the heap, at most @limit of them.
struct Grower {
	Arena arena{ 1024 * 1024 };
	size_t offset = 0;
	int calls = 0;
	int limit = 1000;
	size_t last_min = 0;
	bool misalign = false;

	static int grow(void *ctx, size_t min_bytes, void **region, size_t *region_len)
	{
		auto *self = static_cast<Grower *>(ctx);
		self->calls++;
		self->last_min = min_bytes;
		size_t len = (std::max<size_t>(min_bytes, 4096) + 4095) & ~size_t(4095);
		if (self->calls > self->limit || len > self->arena.len - self->offset)
			return -HX_ENOMEM;
		*region = self->arena.mem + self->offset + (self->misalign ? 8 : 0);
		*region_len = len - (self->misalign ? 8 : 0);
		self->offset += len + 4096; // leave gaps: the regions are not contiguous
		return 0;
	}
};

} // namespace

TEST_CASE("the grow callback supplies regions on demand", "[heap]")
{
	Grower grower;
	Heap h(Grower::grow, &grower);

	// An empty heap grows on its first allocation.
	void *first = hx_heap_alloc(&h.heap, 100);
	REQUIRE(first != nullptr);
	CHECK(grower.calls == 1);
	CHECK(grower.last_min >= 100);
	CHECK(grower.last_min >= HX_HEAP_MIN_REGION);
	CHECK(h.stats().regions == 1);

	// A request larger than any region so far makes it ask for at least that much.
	void *big = hx_heap_alloc(&h.heap, 50000);
	REQUIRE(big != nullptr);
	CHECK(grower.calls == 2);
	CHECK(grower.last_min >= 50000);
	CHECK(hx_heap_usable_size(&h.heap, big) >= 50000);
	std::memset(big, 0xab, 50000);
	CHECK(h.check() == 0);

	// Many small blocks spread over further regions.
	std::vector<void *> blocks;
	for (int i = 0; i < 300; i++) {
		void *p = hx_heap_alloc(&h.heap, 200);
		REQUIRE(p != nullptr);
		std::memset(p, i, 200);
		blocks.push_back(p);
	}
	CHECK(grower.calls > 2);
	CHECK(h.stats().regions == size_t(grower.calls));
	CHECK(h.check() == 0);

	// The callback's failure is an allocation failure, not a crash.
	grower.limit = grower.calls;
	CHECK(hx_heap_alloc(&h.heap, 200000) == nullptr);
	CHECK(h.stats().failed_allocations == 1);
	CHECK(h.check() == 0);

	// Everything freed: each region is one free block again, never merged across regions.
	for (void *p : blocks)
		REQUIRE(hx_heap_free(&h.heap, p) == 0);
	REQUIRE(hx_heap_free(&h.heap, big) == 0);
	REQUIRE(hx_heap_free(&h.heap, first) == 0);
	CHECK(h.check() == 0);
	auto s = h.stats();
	CHECK(s.live_allocations == 0);
	CHECK(s.used_bytes == 0);

	// A region the callback returns misaligned is refused and the allocation fails.
	grower.limit = 1000;
	grower.misalign = true;
	int calls = grower.calls;
	CHECK(hx_heap_alloc(&h.heap, 300000) == nullptr);
	CHECK(grower.calls == calls + 1);
	CHECK(h.stats().regions == s.regions);
	CHECK(h.check() == 0);
}

TEST_CASE("coalescing never crosses a region edge", "[heap]")
{
	Arena arena(8192);
	Heap h;
	// Two regions that touch: without sentinels, the free blocks would merge across the seam.
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, 4096) == 0);
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem + 4096, 4096) == 0);
	const size_t initial_free = h.stats().free_bytes;
	CHECK(h.stats().regions == 2);

	std::vector<void *> blocks;
	while (void *p = hx_heap_alloc(&h.heap, 48))
		blocks.push_back(p);
	std::shuffle(blocks.begin(), blocks.end(), std::mt19937(7));
	for (void *p : blocks) {
		REQUIRE(hx_heap_free(&h.heap, p) == 0);
		REQUIRE(h.check() == 0);
	}
	CHECK(h.stats().free_bytes == initial_free);
	CHECK(hx_heap_alloc(&h.heap, initial_free / 2 + 16) == nullptr);
	void *half = hx_heap_alloc(&h.heap, initial_free / 2);
	CHECK(half != nullptr);
	CHECK(h.check() == 0);
}

TEST_CASE("hx_heap_add_region refuses bad regions", "[heap]")
{
	Arena arena(8192);
	Heap h;
	CHECK(hx_heap_add_region(&h.heap, nullptr, 4096) == -HX_EINVAL);
	CHECK(hx_heap_add_region(&h.heap, arena.mem + 8, 4096) == -HX_EINVAL);
	CHECK(hx_heap_add_region(&h.heap, arena.mem, HX_HEAP_MIN_REGION - 1) == -HX_EINVAL);
	CHECK(h.stats().regions == 0);
	CHECK(hx_heap_alloc(&h.heap, 16) == nullptr); // no memory and no callback

	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, 4096) == 0);
	CHECK(hx_heap_add_region(&h.heap, arena.mem + 2048, 4096) == -HX_EINVAL); // overlaps
	CHECK(hx_heap_add_region(&h.heap, arena.mem, 4096) == -HX_EINVAL);        // again
	// An unaligned length is fine: the tail is simply not used.
	CHECK(hx_heap_add_region(&h.heap, arena.mem + 4096, HX_HEAP_MIN_REGION + 7) == 0);
	CHECK(h.stats().regions == 2);
	CHECK(h.stats().region_bytes == 4096 + HX_HEAP_MIN_REGION + 7);
	CHECK(h.check() == 0);
}

TEST_CASE("double, foreign and interior frees are refused and counted", "[heap]")
{
	Arena arena(64 * 1024);
	Heap h;
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, arena.len) == 0);
	auto *a = static_cast<unsigned char *>(hx_heap_alloc(&h.heap, 256));
	auto *b = static_cast<unsigned char *>(hx_heap_alloc(&h.heap, 256));
	auto *c = static_cast<unsigned char *>(hx_heap_alloc(&h.heap, 256));
	REQUIRE((a && b && c));
	std::memset(b, 0, 256); // zeros and patterns in the payload must not pass for a header
	std::memset(c, 0x55, 256);

	CHECK(hx_heap_free(&h.heap, nullptr) == 0);
	REQUIRE(hx_heap_free(&h.heap, b) == 0);
	const auto before = h.stats();

	unsigned char on_stack[64];
	void *from_malloc = std::malloc(64);
	std::vector<void *> bad = {
		b,           // double free
		on_stack,    // foreign
		from_malloc, // foreign
		arena.mem,   // the region's own header
		a + 16,
		a + 32,
		a + 240,
		a + 1,
		a + 8, // interior
		c + 16,
		c + 128,                    // interior, payload full of a pattern
		arena.mem + arena.len - 16, // the epilogue
		arena.mem + arena.len,      // just past the region
	};
	size_t refused = 0;
	for (void *p : bad) {
		CHECK(hx_heap_free(&h.heap, p) == -HX_EINVAL);
		CHECK(hx_heap_usable_size(&h.heap, p) == 0);
		refused++;
		CHECK(h.check() == 0);
	}
	std::free(from_malloc);

	auto after = h.stats();
	CHECK(after.bad_frees == before.bad_frees + refused);
	CHECK(after.free_bytes == before.free_bytes);
	CHECK(after.used_bytes == before.used_bytes);
	CHECK(after.live_allocations == before.live_allocations);

	// A block absorbed by coalescing is no longer a block: freeing it again is refused too.
	REQUIRE(hx_heap_free(&h.heap, c) == 0); // merges with b's free block
	CHECK(hx_heap_free(&h.heap, c) == -HX_EINVAL);
	CHECK(hx_heap_free(&h.heap, b) == -HX_EINVAL);
	REQUIRE(hx_heap_free(&h.heap, a) == 0);
	CHECK(hx_heap_free(&h.heap, a) == -HX_EINVAL);
	CHECK(h.stats().bad_frees == after.bad_frees + 3);
	CHECK(h.stats().live_allocations == 0);
	CHECK(h.check() == 0);
}

TEST_CASE("sizes: zero, huge and usable_size", "[heap]")
{
	Grower grower;
	Heap h(Grower::grow, &grower);
	CHECK(hx_heap_alloc(&h.heap, 0) == nullptr);
	for (size_t huge : { SIZE_MAX, SIZE_MAX - 8, SIZE_MAX - 15, SIZE_MAX - 64, SIZE_MAX / 2 + 1,
	                     SIZE_MAX / 2 })
		CHECK(hx_heap_alloc(&h.heap, huge) == nullptr);
	CHECK(h.stats().failed_allocations == 6);
	CHECK(h.check() == 0);

	for (size_t size : { 1, 15, 16, 17, 31, 32, 33, 100, 1000 }) {
		void *p = hx_heap_alloc(&h.heap, size);
		REQUIRE(p != nullptr);
		size_t usable = hx_heap_usable_size(&h.heap, p);
		CHECK(usable >= size);
		CHECK(usable <
		      size + 2 * HX_HEAP_ALIGN + 64); // a split leaves no big tail attached
		CHECK(usable % HX_HEAP_ALIGN == 0);
		std::memset(p, 0x77, usable); // all of it is the caller's
		CHECK(h.check() == 0);
		CHECK(hx_heap_free(&h.heap, p) == 0);
		CHECK(hx_heap_usable_size(&h.heap, p) == 0);
	}
	CHECK(h.check() == 0);
}

#ifndef NDEBUG
TEST_CASE("debug builds detect a write after free", "[heap]")
{
	Arena arena(16 * 1024);
	Heap h;
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, arena.len) == 0);
	auto *victim = static_cast<unsigned char *>(hx_heap_alloc(&h.heap, 128));
	void *guard = hx_heap_alloc(&h.heap, 128); // keeps the victim from merging with the rest
	REQUIRE((victim && guard));
	REQUIRE(hx_heap_free(&h.heap, victim) == 0);
	REQUIRE(h.check() == 0);

	// The freed payload after the free-list links is poisoned with 0xdf.
	CHECK(filled_with(victim + 16, 128 - 16, 0xdf));

	unsigned char saved = victim[100];
	victim[100] = 0; // the bug
	CHECK(h.check() == -HX_EIO);
	victim[100] = saved; // undo it so that the next allocation does not panic
	CHECK(h.check() == 0);

	// The same after the block has been merged into a larger free block.
	REQUIRE(hx_heap_free(&h.heap, guard) == 0);
	REQUIRE(h.check() == 0);
	victim[200] ^= 1;
	CHECK(h.check() == -HX_EIO);
	victim[200] ^= 1;
	CHECK(h.check() == 0);
	CHECK(hx_heap_alloc(&h.heap, 1000) != nullptr);
}
#endif

TEST_CASE("random allocations and frees agree with a model", "[heap]")
{
	Grower grower;
	grower.limit = 6;
	Arena arena(64 * 1024);
	Heap h(Grower::grow, &grower);
	REQUIRE(hx_heap_add_region(&h.heap, arena.mem, arena.len) == 0);

	struct Live {
		size_t size;
		unsigned char fill;
	};
	// The model. By address, for the neighbours in overlap checks; and as a vector, so that the
	// block to free is picked by index and the run depends on the seed only, not on addresses.
	std::map<unsigned char *, Live> live;
	std::vector<unsigned char *> order;
	std::mt19937_64 rng(0xC0FFEE);
	size_t failures = 0;

	for (int step = 0; step < 20000; step++) {
		bool do_alloc = live.empty() || rng() % 100 < 55;
		if (do_alloc) {
			size_t size = rng() % 8 == 0 ? 1 + rng() % 20000 : 1 + rng() % 256;
			auto *p = static_cast<unsigned char *>(hx_heap_alloc(&h.heap, size));
			if (!p) {
				failures++;
				continue;
			}
			REQUIRE(aligned16(p));
			// The new block overlaps neither live neighbour.
			auto next = live.lower_bound(p);
			if (next != live.end())
				REQUIRE(p + size <= next->first);
			if (next != live.begin()) {
				auto prev = std::prev(next);
				REQUIRE(prev->first + prev->second.size <= p);
			}
			auto fill = static_cast<unsigned char>(rng());
			std::memset(p, fill, size);
			live[p] = { size, fill };
			order.push_back(p);
		} else {
			size_t index = size_t(rng() % order.size());
			auto it = live.find(order[index]);
			REQUIRE(filled_with(it->first, it->second.size, it->second.fill));
			REQUIRE(hx_heap_free(&h.heap, it->first) == 0);
			live.erase(it);
			order[index] = order.back();
			order.pop_back();
		}
		if (step % 64 == 0) {
			REQUIRE(h.check() == 0);
			REQUIRE(h.stats().live_allocations == live.size());
		}
	}
	auto s = h.stats();
	CHECK(s.failed_allocations == failures);
	CHECK(s.live_allocations == live.size());
	size_t used = 0;
	for (const auto &entry : live) {
		REQUIRE(filled_with(entry.first, entry.second.size, entry.second.fill));
		used += hx_heap_usable_size(&h.heap, entry.first);
	}
	CHECK(s.used_bytes == used);
	for (const auto &entry : live)
		REQUIRE(hx_heap_free(&h.heap, entry.first) == 0);
	CHECK(h.check() == 0);
	CHECK(h.stats().used_bytes == 0);
}
