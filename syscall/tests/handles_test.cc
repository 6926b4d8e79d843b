// SPDX-License-Identifier: MIT
// Handle tables (syscall/include/helix/syscall/handles.h): install, get, close; the bit layout;
// generations (a closed handle stays dead when its slot is reused, generations wrap past 0);
// forged handles (random, negative, above 31 bits, generation 0, free slots); types; rights; dup
// (subset, non-subset, no transfer right); EMFILE; object references (an object outlives its
// handle while a reference from get is held; destroy runs exactly once); concurrent use.
//
// Catch2's assertion macros are not thread-safe: helper threads only count, the main thread
// checks after join().

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/syscall/handles.h>

namespace
{

constexpr uint32_t kGenMax = (1u << HX_HANDLE_GEN_BITS) - 1;
constexpr int64_t kSlotMask = (1 << HX_HANDLE_SLOT_BITS) - 1;

// A kernel object for tests: counts its destroys.
struct test_obj {
	struct hx_kobject base;
	std::atomic<int> *destroyed;
	uint64_t payload;
};

void test_obj_destroy(struct hx_kobject *obj)
{
	test_obj *t = reinterpret_cast<test_obj *>(obj);
	t->destroyed->fetch_add(1);
	t->payload = 0xdeaddeaddeaddeadull;
	delete t;
}

// A new object with one reference (the caller's).
test_obj *new_obj(std::atomic<int> *destroyed, uint16_t type = HX_KOBJ_CHANNEL)
{
	test_obj *t = new test_obj;
	t->destroyed = destroyed;
	t->payload = 42;
	hx_kobject_init(&t->base, static_cast<enum hx_kobject_type>(type), test_obj_destroy);
	return t;
}

uint32_t refs_of(const test_obj *t)
{
	return t->base.refs.load();
}

// Owns a table for the length of a test case (a failed REQUIRE does not leak it).
struct table_holder {
	struct hx_handle_table *table = nullptr;

	table_holder()
	{
		REQUIRE(hx_handles_create(&table) == 0);
		REQUIRE(table != nullptr);
	}
	~table_holder()
	{
		hx_handles_destroy(table);
	}
	table_holder(const table_holder &) = delete;
	table_holder &operator=(const table_holder &) = delete;
	operator struct hx_handle_table *() const
	{
		return table;
	}
};

int64_t slot_of(int64_t handle)
{
	return handle & kSlotMask;
}

int64_t gen_of(int64_t handle)
{
	return handle >> HX_HANDLE_SLOT_BITS;
}

// get with HX_KOBJ_ANY and no rights: the lookup alone. Drops the reference at once.
int probe(struct hx_handle_table *table, int64_t handle)
{
	struct hx_kobject *obj = reinterpret_cast<struct hx_kobject *>(uintptr_t(1));
	int err = hx_handle_get(table, handle, HX_KOBJ_ANY, 0, &obj, nullptr);
	if (err == 0)
		hx_kobject_put(obj);
	else if (obj != nullptr)
		return 1000; // a failed get must leave *out NULL
	return err;
}

} // namespace

TEST_CASE("create and destroy", "[handles]")
{
	struct hx_handle_table *table = nullptr;

	CHECK(hx_handles_create(nullptr) == -HX_EINVAL);
	REQUIRE(hx_handles_create(&table) == 0);
	CHECK(hx_handles_count(table) == 0);
	hx_handles_destroy(table);
	hx_handles_destroy(nullptr); // ignored
	CHECK(hx_handles_count(nullptr) == 0);
}

TEST_CASE("install, get and close", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);

	int h = hx_handle_install(table, &obj->base, HX_RIGHT_READ | HX_RIGHT_WRITE);
	REQUIRE(h > 0);
	CHECK(h <= INT32_MAX);
	CHECK(gen_of(h) >= 1);
	CHECK(gen_of(h) <= kGenMax);
	CHECK(hx_handles_count(table) == 1);
	CHECK(refs_of(obj) == 2); // the creator's and the handle's

	struct hx_kobject *got = nullptr;
	uint32_t rights = 0;
	REQUIRE(hx_handle_get(table, h, HX_KOBJ_CHANNEL, HX_RIGHT_READ, &got, &rights) == 0);
	CHECK(got == &obj->base);
	CHECK(rights == (HX_RIGHT_READ | HX_RIGHT_WRITE));
	CHECK(refs_of(obj) == 3);
	hx_kobject_put(got);
	CHECK(refs_of(obj) == 2);

	// rights_out may be NULL; HX_KOBJ_ANY matches any type; no rights asked is fine.
	REQUIRE(hx_handle_get(table, h, HX_KOBJ_ANY, 0, &got, nullptr) == 0);
	hx_kobject_put(got);

	CHECK(hx_handle_close(table, h) == 0);
	CHECK(hx_handles_count(table) == 0);
	CHECK(refs_of(obj) == 1);
	CHECK(probe(table, h) == -HX_EBADF);
	CHECK(hx_handle_close(table, h) == -HX_EBADF);
	CHECK(hx_handle_dup(table, h, HX_RIGHT_READ) == -HX_EBADF);
	CHECK(destroyed == 0);
	hx_kobject_put(&obj->base);
	CHECK(destroyed == 1);
}

TEST_CASE("install rejects bad arguments", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);

	CHECK(hx_handle_install(nullptr, &obj->base, HX_RIGHT_READ) == -HX_EINVAL);
	CHECK(hx_handle_install(table, nullptr, HX_RIGHT_READ) == -HX_EINVAL);
	CHECK(hx_handle_install(table, &obj->base, 0) == -HX_EINVAL);
	CHECK(hx_handle_install(table, &obj->base, HX_RIGHTS_ALL + 1) == -HX_EINVAL);
	CHECK(hx_handle_install(table, &obj->base, 0x80000000u | HX_RIGHT_READ) == -HX_EINVAL);
	CHECK(hx_handles_count(table) == 0);
	CHECK(refs_of(obj) == 1); // no reference taken by a failed install

	struct hx_kobject *got = reinterpret_cast<struct hx_kobject *>(uintptr_t(1));
	CHECK(hx_handle_get(nullptr, 4096, HX_KOBJ_ANY, 0, &got, nullptr) == -HX_EBADF);
	CHECK(got == nullptr);
	CHECK(hx_handle_get(table, 4096, HX_KOBJ_ANY, 0, nullptr, nullptr) == -HX_EINVAL);
	CHECK(hx_handle_close(nullptr, 4096) == -HX_EBADF);
	CHECK(hx_handle_dup(nullptr, 4096, HX_RIGHT_READ) == -HX_EBADF);
	hx_kobject_put(&obj->base);
	CHECK(destroyed == 1);
}

TEST_CASE("handles are never 0 and fresh slots are used in order", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);

	int first = hx_handle_install(table, &obj->base, HX_RIGHT_READ);
	int second = hx_handle_install(table, &obj->base, HX_RIGHT_READ);
	REQUIRE(first > 0);
	REQUIRE(second > 0);
	CHECK(slot_of(first) == 0);
	CHECK(gen_of(first) == 1);
	CHECK(first == 1 << HX_HANDLE_SLOT_BITS);
	CHECK(slot_of(second) == 1);

	// FIFO reuse: a closed slot goes to the back of the queue, behind every never-used slot.
	REQUIRE(hx_handle_close(table, first) == 0);
	int third = hx_handle_install(table, &obj->base, HX_RIGHT_READ);
	CHECK(slot_of(third) == 2);
	hx_kobject_put(&obj->base);
	CHECK(destroyed == 0); // the table holds two references
}

TEST_CASE("a reused slot does not revive a closed handle", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *a = new_obj(&destroyed);
	test_obj *b = new_obj(&destroyed);
	std::vector<int> handles;

	// Fill the table so the next install must reuse the slot just closed.
	for (uint32_t i = 0; i < HX_HANDLES_MAX; i++) {
		int h = hx_handle_install(table, &a->base, HX_RIGHTS_ALL);
		REQUIRE(h > 0);
		handles.push_back(h);
	}
	int old = handles[1234];
	REQUIRE(hx_handle_close(table, old) == 0);
	int fresh = hx_handle_install(table, &b->base, HX_RIGHT_READ);
	REQUIRE(fresh > 0);
	CHECK(slot_of(fresh) == slot_of(old));
	CHECK(gen_of(fresh) == gen_of(old) + 1);
	CHECK(fresh != old);

	// The old value names nothing; the new one names b.
	CHECK(probe(table, old) == -HX_EBADF);
	CHECK(hx_handle_close(table, old) == -HX_EBADF);
	CHECK(hx_handle_dup(table, old, HX_RIGHT_READ) == -HX_EBADF);
	struct hx_kobject *got = nullptr;
	REQUIRE(hx_handle_get(table, fresh, HX_KOBJ_CHANNEL, HX_RIGHT_READ, &got, nullptr) == 0);
	CHECK(got == &b->base);
	hx_kobject_put(got);
	CHECK(hx_handles_count(table) == HX_HANDLES_MAX);

	hx_kobject_put(&a->base);
	hx_kobject_put(&b->base);
	CHECK(destroyed == 0);
	hx_handles_destroy(table.table); // closes every handle: both objects go
	table.table = nullptr;
	CHECK(destroyed == 2);
}

TEST_CASE("generations wrap past 0 and never make handle 0", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);

	// Everything full but slot 0, which is then cycled through every generation and beyond.
	int h = hx_handle_install(table, &obj->base, HX_RIGHT_READ);
	REQUIRE(slot_of(h) == 0);
	for (uint32_t i = 1; i < HX_HANDLES_MAX; i++)
		REQUIRE(hx_handle_install(table, &obj->base, HX_RIGHT_READ) > 0);

	const int first = h;
	bool wrapped = false;
	for (uint32_t i = 0; i < kGenMax + 3; i++) {
		int64_t prev_gen = gen_of(h);
		REQUIRE(hx_handle_close(table, h) == 0);
		int next = hx_handle_install(table, &obj->base, HX_RIGHT_READ);
		REQUIRE(next > 0);
		REQUIRE(slot_of(next) == 0);
		REQUIRE(gen_of(next) >= 1);
		REQUIRE(gen_of(next) <= kGenMax);
		if (prev_gen == kGenMax) {
			REQUIRE(gen_of(next) == 1);
			wrapped = true;
		} else {
			REQUIRE(gen_of(next) == prev_gen + 1);
		}
		REQUIRE(probe(table, h) == -HX_EBADF);
		h = next;
		// After 2^19 - 1 reuses of this one slot its first value comes back: the limit
		// of a finite generation (documented in handles.c).
		if (i + 1 == kGenMax)
			CHECK(h == first);
	}
	CHECK(wrapped);
	CHECK(gen_of(h) == gen_of(first) + 3);
	hx_kobject_put(&obj->base);
}

TEST_CASE("forged handles get EBADF", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);
	std::set<int64_t> live;

	for (int i = 0; i < 100; i++) {
		int h = hx_handle_install(table, &obj->base, HX_RIGHTS_ALL);
		REQUIRE(h > 0);
		live.insert(h);
	}
	int h = *live.begin();

	// Negative values, including a live handle with the sign bit set.
	for (int64_t v : { int64_t(-1), int64_t(INT64_MIN), int64_t(INT32_MIN), -int64_t(h),
	                   int64_t(uint64_t(h) | (1ull << 63)) }) {
		INFO("value " << v);
		CHECK(probe(table, v) == -HX_EBADF);
		CHECK(hx_handle_close(table, v) == -HX_EBADF);
		CHECK(hx_handle_dup(table, v, HX_RIGHT_READ) == -HX_EBADF);
	}
	// A live handle with any bit above bit 30 set: not the same handle.
	for (int bit = 31; bit < 63; bit++) {
		int64_t v = int64_t(uint64_t(h) | (1ull << bit));
		INFO("bit " << bit);
		CHECK(probe(table, v) == -HX_EBADF);
		CHECK(hx_handle_close(table, v) == -HX_EBADF);
	}
	// Generation 0: the bare slot index, for every slot (live ones included).
	for (int64_t index = 0; index < int64_t(HX_HANDLES_MAX); index++) {
		INFO("index " << index);
		REQUIRE(probe(table, index) == -HX_EBADF);
	}
	// A live slot with another generation; a free slot with a plausible generation.
	for (int64_t gen = 2; gen <= 20; gen++)
		CHECK(probe(table, gen << HX_HANDLE_SLOT_BITS | slot_of(h)) == -HX_EBADF);
	CHECK(probe(table, int64_t(kGenMax) << HX_HANDLE_SLOT_BITS | slot_of(h)) == -HX_EBADF);
	CHECK(probe(table, 1 << HX_HANDLE_SLOT_BITS | 4000) == -HX_EBADF);
	CHECK(probe(table, int64_t(1) << 31) == -HX_EBADF);
	CHECK(probe(table, INT64_MAX) == -HX_EBADF);

	// Random values: only a live handle's exact value resolves.
	std::mt19937_64 rng(12345);
	int resolved = 0;
	for (int i = 0; i < 200000; i++) {
		int64_t v = int64_t(rng());
		switch (i % 4) {
		case 0: // any 64-bit value
			break;
		case 1: // 31-bit values
			v &= INT32_MAX;
			break;
		case 2: // small generations: near the live ones
			v &= (int64_t(4) << HX_HANDLE_SLOT_BITS) - 1;
			break;
		case 3: // a live slot's index with a random generation
			v = (v & (int64_t(kGenMax) << HX_HANDLE_SLOT_BITS)) | slot_of(h);
			break;
		}
		int err = probe(table, v);
		if (live.count(v)) {
			REQUIRE(err == 0);
			resolved++;
		} else {
			REQUIRE(err == -HX_EBADF);
		}
	}
	CHECK(resolved > 0); // case 2 hits the live handles now and then
	CHECK(hx_handles_count(table) == live.size());
	hx_kobject_put(&obj->base);
}

TEST_CASE("types: a handle of another type is EBADF", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *other = new_obj(&destroyed, 7); // a type no lookup asks for
	int h = hx_handle_install(table, &other->base, HX_RIGHTS_ALL);
	REQUIRE(h > 0);

	struct hx_kobject *got = nullptr;
	CHECK(hx_handle_get(table, h, HX_KOBJ_CHANNEL, 0, &got, nullptr) == -HX_EBADF);
	CHECK(got == nullptr);
	// The type check comes before the rights check.
	CHECK(hx_handle_get(table, h, HX_KOBJ_CHANNEL, 0x80, &got, nullptr) == -HX_EBADF);
	REQUIRE(hx_handle_get(table, h, HX_KOBJ_ANY, 0, &got, nullptr) == 0);
	CHECK(got == &other->base);
	hx_kobject_put(got);
	hx_kobject_put(&other->base);
}

TEST_CASE("rights are checked on every get", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);
	struct hx_kobject *got = nullptr;
	uint32_t rights = 0;

	int r = hx_handle_install(table, &obj->base, HX_RIGHT_READ);
	int w = hx_handle_install(table, &obj->base, HX_RIGHT_WRITE);
	REQUIRE(r > 0);
	REQUIRE(w > 0);

	CHECK(hx_handle_get(table, r, HX_KOBJ_CHANNEL, HX_RIGHT_WRITE, &got, &rights) ==
	      -HX_EACCES);
	CHECK(got == nullptr);
	CHECK(hx_handle_get(table, r, HX_KOBJ_CHANNEL, HX_RIGHT_READ | HX_RIGHT_WRITE, &got,
	                    nullptr) == -HX_EACCES);
	CHECK(hx_handle_get(table, r, HX_KOBJ_CHANNEL, HX_RIGHT_TRANSFER, &got, nullptr) ==
	      -HX_EACCES);
	CHECK(hx_handle_get(table, r, HX_KOBJ_CHANNEL, 0x100, &got, nullptr) == -HX_EACCES);
	CHECK(hx_handle_get(table, w, HX_KOBJ_CHANNEL, HX_RIGHT_READ, &got, nullptr) == -HX_EACCES);
	REQUIRE(hx_handle_get(table, w, HX_KOBJ_CHANNEL, HX_RIGHT_WRITE, &got, &rights) == 0);
	CHECK(rights == HX_RIGHT_WRITE);
	hx_kobject_put(got);
	CHECK(refs_of(obj) == 3);
	hx_kobject_put(&obj->base);
}

TEST_CASE("dup: subset, non-subset, no transfer right", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);
	struct hx_kobject *got = nullptr;
	uint32_t rights = 0;

	int all = hx_handle_install(table, &obj->base, HX_RIGHTS_ALL);
	REQUIRE(all > 0);

	SECTION("rights 0 or outside HX_RIGHTS_ALL: EINVAL")
	{
		CHECK(hx_handle_dup(table, all, 0) == -HX_EINVAL);
		CHECK(hx_handle_dup(table, all, HX_RIGHTS_ALL + 1) == -HX_EINVAL);
		CHECK(hx_handle_dup(table, all, 0x80000001u) == -HX_EINVAL);
		CHECK(hx_handles_count(table) == 1);
	}
	SECTION("a subset: a new handle to the same object")
	{
		int rd = hx_handle_dup(table, all, HX_RIGHT_READ);
		REQUIRE(rd > 0);
		CHECK(rd != all);
		CHECK(hx_handles_count(table) == 2);
		CHECK(refs_of(obj) == 3);
		REQUIRE(hx_handle_get(table, rd, HX_KOBJ_CHANNEL, HX_RIGHT_READ, &got, &rights) ==
		        0);
		CHECK(got == &obj->base);
		CHECK(rights == HX_RIGHT_READ);
		hx_kobject_put(got);
		CHECK(hx_handle_get(table, rd, HX_KOBJ_CHANNEL, HX_RIGHT_WRITE, &got, nullptr) ==
		      -HX_EACCES);

		// The dup has no transfer right: it cannot be duplicated further.
		CHECK(hx_handle_dup(table, rd, HX_RIGHT_READ) == -HX_EACCES);

		// Same rights is a subset too; closing the original leaves the dups working.
		int same = hx_handle_dup(table, all, HX_RIGHTS_ALL);
		REQUIRE(same > 0);
		REQUIRE(hx_handle_close(table, all) == 0);
		REQUIRE(hx_handle_get(table, rd, HX_KOBJ_CHANNEL, HX_RIGHT_READ, &got, nullptr) ==
		        0);
		hx_kobject_put(got);
		CHECK(hx_handle_dup(table, all, HX_RIGHT_READ) == -HX_EBADF);
		CHECK(hx_handle_dup(table, same, HX_RIGHT_WRITE | HX_RIGHT_TRANSFER) > 0);
	}
	SECTION("not a subset: EACCES")
	{
		int rt = hx_handle_dup(table, all, HX_RIGHT_READ | HX_RIGHT_TRANSFER);
		REQUIRE(rt > 0);
		CHECK(hx_handle_dup(table, rt, HX_RIGHT_WRITE) == -HX_EACCES);
		CHECK(hx_handle_dup(table, rt, HX_RIGHT_READ | HX_RIGHT_WRITE) == -HX_EACCES);
		CHECK(hx_handle_dup(table, rt, HX_RIGHTS_ALL) == -HX_EACCES);
		int r2 = hx_handle_dup(table, rt, HX_RIGHT_READ);
		CHECK(r2 > 0);
		CHECK(hx_handles_count(table) == 3);
	}
	SECTION("no transfer right: EACCES even for a subset")
	{
		int rw = hx_handle_dup(table, all, HX_RIGHT_READ | HX_RIGHT_WRITE);
		REQUIRE(rw > 0);
		CHECK(hx_handle_dup(table, rw, HX_RIGHT_READ) == -HX_EACCES);
		CHECK(hx_handle_dup(table, rw, HX_RIGHT_READ | HX_RIGHT_WRITE) == -HX_EACCES);
	}
	hx_kobject_put(&obj->base);
	CHECK(destroyed == 0);
}

TEST_CASE("EMFILE at HX_HANDLES_MAX", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);
	std::set<int> handles;

	for (uint32_t i = 0; i < HX_HANDLES_MAX; i++) {
		int h = hx_handle_install(table, &obj->base, HX_RIGHTS_ALL);
		REQUIRE(h > 0);
		handles.insert(h);
	}
	CHECK(handles.size() == HX_HANDLES_MAX); // all distinct
	CHECK(hx_handles_count(table) == HX_HANDLES_MAX);
	CHECK(refs_of(obj) == HX_HANDLES_MAX + 1);

	int any = *handles.begin();
	CHECK(hx_handle_install(table, &obj->base, HX_RIGHT_READ) == -HX_EMFILE);
	CHECK(hx_handle_dup(table, any, HX_RIGHT_READ) == -HX_EMFILE);
	CHECK(refs_of(obj) == HX_HANDLES_MAX + 1); // failed installs take no reference

	REQUIRE(hx_handle_close(table, any) == 0);
	int h = hx_handle_dup(table, *handles.rbegin(), HX_RIGHT_READ);
	CHECK(h > 0);
	CHECK(hx_handle_install(table, &obj->base, HX_RIGHT_READ) == -HX_EMFILE);

	hx_kobject_put(&obj->base);
	CHECK(destroyed == 0);
	hx_handles_destroy(table.table);
	table.table = nullptr;
	CHECK(destroyed == 1);
}

TEST_CASE("references: an object outlives its handle while a get's reference is held", "[handles]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *obj = new_obj(&destroyed);

	int h = hx_handle_install(table, &obj->base, HX_RIGHT_READ);
	REQUIRE(h > 0);
	hx_kobject_put(&obj->base); // the table's reference is the only one now
	CHECK(refs_of(obj) == 1);

	struct hx_kobject *got = nullptr;
	REQUIRE(hx_handle_get(table, h, HX_KOBJ_CHANNEL, HX_RIGHT_READ, &got, nullptr) == 0);
	REQUIRE(hx_handle_close(table, h) == 0);
	CHECK(destroyed == 0);
	CHECK(reinterpret_cast<test_obj *>(got)->payload == 42); // still alive (ASan would tell)
	hx_kobject_get(got);
	hx_kobject_put(got);
	CHECK(destroyed == 0);
	hx_kobject_put(got);
	CHECK(destroyed == 1);
	hx_kobject_put(nullptr); // ignored
}

TEST_CASE("destroy closes every handle", "[handles]")
{
	std::atomic<int> destroyed{ 0 };
	struct hx_handle_table *table = nullptr;
	REQUIRE(hx_handles_create(&table) == 0);

	for (int i = 0; i < 50; i++) {
		test_obj *obj = new_obj(&destroyed);
		int h = hx_handle_install(table, &obj->base, HX_RIGHTS_ALL);
		REQUIRE(h > 0);
		if (i % 2)
			REQUIRE(hx_handle_dup(table, h, HX_RIGHT_READ) > 0);
		if (i % 5 == 0)
			REQUIRE(hx_handle_close(table, h) == 0);
		hx_kobject_put(&obj->base);
	}
	CHECK(destroyed == 5); // i = 0, 10, 20, 30, 40: closed and never dup'd
	hx_handles_destroy(table);
	CHECK(destroyed == 50);
}

TEST_CASE("concurrent install, get, dup and close", "[handles][threads]")
{
	table_holder table;
	std::atomic<int> destroyed{ 0 };
	test_obj *shared = new_obj(&destroyed);
	constexpr int kThreads = 4;
	constexpr int kIterations = 20000;
	constexpr int kRing = 64;
	// Handles pass between threads through the ring: whoever swaps one out closes it, so each
	// handle must close exactly once, whichever thread installed it.
	std::vector<std::atomic<int64_t>> ring(kRing);
	for (auto &r : ring)
		r.store(-1);
	std::atomic<long> installs{ 0 }, closes{ 0 }, bad{ 0 }, emfile{ 0 };
	std::atomic<long> got_ok{ 0 }, got_stale{ 0 };

	auto worker = [&](int id) {
		std::mt19937 rng(id * 7919 + 1);
		for (int i = 0; i < kIterations; i++) {
			int h;
			if (i % 3 == 0) {
				// Each thread also churns private objects, destroyed on close.
				test_obj *own = new_obj(&destroyed);
				h = hx_handle_install(table, &own->base, HX_RIGHTS_ALL);
				hx_kobject_put(&own->base);
			} else if (i % 3 == 1) {
				h = hx_handle_install(table, &shared->base, HX_RIGHTS_ALL);
			} else {
				int64_t src = ring[rng() % kRing].load();
				h = hx_handle_dup(table, src, HX_RIGHT_READ | HX_RIGHT_TRANSFER);
				if (h == -HX_EBADF || src < 0)
					continue; // closed meanwhile, or nothing there yet
			}
			if (h == -HX_EMFILE) {
				emfile++;
				continue;
			}
			if (h <= 0) {
				bad++;
				continue;
			}
			installs++;
			int64_t old = ring[rng() % kRing].exchange(h);
			if (old >= 0) {
				if (hx_handle_close(table, old) == 0)
					closes++;
				else
					bad++;
			}
			// A get on a handle another thread may be closing: either a live object
			// with its payload intact or EBADF, never a freed one.
			struct hx_kobject *obj = nullptr;
			int64_t peek = ring[rng() % kRing].load();
			int err = hx_handle_get(table, peek, HX_KOBJ_CHANNEL, HX_RIGHT_READ, &obj,
			                        nullptr);
			if (err == 0) {
				if (reinterpret_cast<test_obj *>(obj)->payload != 42)
					bad++;
				hx_kobject_put(obj);
				got_ok++;
			} else if (err == -HX_EBADF) {
				got_stale++;
			} else {
				bad++;
			}
		}
	};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back(worker, t);
	for (auto &t : threads)
		t.join();

	CHECK(bad == 0);
	CHECK(emfile == 0); // at most kRing + kThreads handles are ever live
	CHECK(got_ok > 0);
	for (auto &r : ring) {
		int64_t h = r.exchange(-1);
		if (h >= 0) {
			REQUIRE(hx_handle_close(table, h) == 0);
			closes++;
		}
	}
	CHECK(closes == installs);
	CHECK(hx_handles_count(table) == 0);
	CHECK(refs_of(shared) == 1);
	long privates = (kIterations + 2) / 3 * kThreads;
	CHECK(destroyed == privates);
	hx_kobject_put(&shared->base);
	CHECK(destroyed == privates + 1);
}
