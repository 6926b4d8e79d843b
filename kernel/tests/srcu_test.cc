// SPDX-License-Identifier: MIT
// SRCU (kernel/lib/srcu.c): nesting, grace periods that wait for the readers that began before
// them and only for those, and a use-after-free stress test that ASan and TSan watch. Waits for
// "has not returned yet" are bounded by generous timeouts only to turn a hang into a failure.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <helix/platform.h>

#include <helix/srcu.h>

namespace
{

using namespace std::chrono_literals;

// Readers on both sides of every stripe: 0 when the domain is quiescent.
int64_t total_readers(hx_srcu *srcu)
{
	int64_t sum = 0;

	for (auto &stripe : srcu->stripes)
		sum += stripe.count[0].load() + stripe.count[1].load();
	return sum;
}

// Runs hx_srcu_synchronize on its own thread; done() tells whether it returned.
class Synchronizer
{
      public:
	explicit Synchronizer(hx_srcu *srcu)
	    : thread_([this, srcu] {
		      started_.store(true);
		      hx_srcu_synchronize(srcu);
		      done_.store(true);
	      })
	{
		while (!started_.load())
			std::this_thread::yield();
	}
	~Synchronizer()
	{
		thread_.join();
	}
	bool done() const
	{
		return done_.load();
	}
	// True when it returned within @timeout.
	bool wait(std::chrono::milliseconds timeout) const
	{
		auto deadline = std::chrono::steady_clock::now() + timeout;

		while (!done() && std::chrono::steady_clock::now() < deadline)
			std::this_thread::sleep_for(100us);
		return done();
	}

      private:
	std::atomic<bool> started_{ false };
	std::atomic<bool> done_{ false };
	std::thread thread_;
};

} // namespace

TEST_CASE("srcu: static and dynamic initialisation give a quiescent domain", "[srcu]")
{
	static hx_srcu static_srcu = HX_SRCU_INIT;
	hx_srcu srcu;

	std::memset(static_cast<void *>(&srcu), 0xa5, sizeof(srcu));
	hx_srcu_init(&srcu);
	CHECK(total_readers(&srcu) == 0);
	CHECK(total_readers(&static_srcu) == 0);
	hx_srcu_synchronize(&srcu);
	hx_srcu_synchronize(&static_srcu);
}

TEST_CASE("srcu: synchronize with no readers returns", "[srcu]")
{
	hx_srcu srcu;

	hx_srcu_init(&srcu);
	for (int i = 0; i < 1000; i++)
		hx_srcu_synchronize(&srcu);
	CHECK(srcu.epoch.load() == 2000); // two flips each
	CHECK(srcu.writer.load() == 0);
}

TEST_CASE("srcu: sections nest and the token finds its own counter", "[srcu]")
{
	hx_srcu srcu;

	hx_srcu_init(&srcu);
	unsigned outer = hx_srcu_read_lock(&srcu);
	unsigned inner = hx_srcu_read_lock(&srcu);
	CHECK(total_readers(&srcu) == 2);
	CHECK(outer == inner); // same task, same epoch: same stripe and side
	CHECK((outer >> 1) == hx_task_id() % HX_SRCU_STRIPES);
	hx_srcu_read_unlock(&srcu, inner);
	CHECK(total_readers(&srcu) == 1);
	hx_srcu_read_unlock(&srcu, outer);
	CHECK(total_readers(&srcu) == 0);

	// Nested across a flip: the inner section lands on the other side and must still be
	// released into that side, while the grace period waits for the outer one.
	outer = hx_srcu_read_lock(&srcu);
	{
		Synchronizer sync(&srcu);

		while (srcu.epoch.load() == 0)
			std::this_thread::yield(); // the first flip happened; it waits for us
		inner = hx_srcu_read_lock(&srcu);
		CHECK((inner & 1) != (outer & 1));
		hx_srcu_read_unlock(&srcu, inner);
		std::this_thread::sleep_for(20ms);
		CHECK_FALSE(sync.done());
		hx_srcu_read_unlock(&srcu, outer);
		CHECK(sync.wait(10000ms));
	}
	CHECK(total_readers(&srcu) == 0);
}

TEST_CASE("srcu: synchronize waits for a reader that began before it", "[srcu]")
{
	hx_srcu srcu;
	std::atomic<int> phase{ 0 }; // 1: reader inside; 2: reader may leave
	int written_in_section = 0;  // plain: the grace period must order it (TSan checks)

	hx_srcu_init(&srcu);
	std::thread reader([&] {
		unsigned token = hx_srcu_read_lock(&srcu);

		phase.store(1);
		while (phase.load() != 2)
			std::this_thread::sleep_for(100us); // a sleeping section
		written_in_section = 42;
		hx_srcu_read_unlock(&srcu, token);
	});
	while (phase.load() != 1)
		std::this_thread::yield();
	{
		Synchronizer sync(&srcu);

		std::this_thread::sleep_for(50ms);
		CHECK_FALSE(sync.done());
		phase.store(2);
		REQUIRE(sync.wait(10000ms));
		CHECK(written_in_section == 42);
	}
	reader.join();
}

// White box: hx_srcu_read_lock in two halves with a whole grace period between them, the case
// the second flip exists for. The reader read the epoch, was preempted while a synchronize ran,
// then incremented the side it had read; the next synchronize must wait for it.
TEST_CASE("srcu: a reader delayed between epoch load and increment is waited for", "[srcu]")
{
	hx_srcu srcu;
	unsigned stripe = (unsigned)(hx_task_id() % HX_SRCU_STRIPES);

	hx_srcu_init(&srcu);
	unsigned side = srcu.epoch.load() & 1;         // the first half of read_lock
	hx_srcu_synchronize(&srcu);                    // meanwhile, a writer's whole grace period
	srcu.stripes[stripe].count[side].fetch_add(1); // the second half
	unsigned token = (stripe << 1) | side;

	{
		Synchronizer sync(&srcu);

		std::this_thread::sleep_for(50ms);
		CHECK_FALSE(sync.done());
		hx_srcu_read_unlock(&srcu, token);
		CHECK(sync.wait(10000ms));
	}
	CHECK(total_readers(&srcu) == 0);
}

TEST_CASE("srcu: readers that start after synchronize began do not hold it", "[srcu]")
{
	hx_srcu srcu;
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> sections{ 0 };
	std::vector<std::thread> readers;
	const int nreaders = 12; // more tasks than stripes: some share one

	hx_srcu_init(&srcu);
	for (int r = 0; r < nreaders; r++) {
		readers.emplace_back([&, r] {
			uint64_t i = 0;

			while (!stop.load(std::memory_order_relaxed)) {
				unsigned token = hx_srcu_read_lock(&srcu);

				// Overlapping sections: there is nearly always a reader inside.
				if ((i++ + r) % 4 == 0)
					std::this_thread::sleep_for(50us);
				else
					hx_yield();
				hx_srcu_read_unlock(&srcu, token);
				sections.fetch_add(1, std::memory_order_relaxed);
			}
		});
	}
	while (sections.load() < 1000)
		std::this_thread::yield();
	uint64_t before = sections.load();
	for (int i = 0; i < 20; i++) {
		Synchronizer sync(&srcu);

		REQUIRE(sync.wait(20000ms));
	}
	uint64_t after = sections.load();
	stop.store(true);
	for (auto &t : readers)
		t.join();
	CHECK(after > before); // readers kept coming all along
	CHECK(total_readers(&srcu) == 0);
}

namespace
{

constexpr uint64_t LIVE = 0x11fe11fe11fe11feull;
constexpr uint64_t DEAD = 0xdeaddeaddeaddeadull;

struct Object {
	uint64_t canary;
	uint64_t serial;
	uint64_t payload[6];
};

Object *make_object(uint64_t serial)
{
	Object *obj = new Object;

	obj->canary = LIVE;
	obj->serial = serial;
	for (auto &word : obj->payload)
		word = serial * 7 + 1;
	return obj;
}

} // namespace

TEST_CASE("srcu: stress: nothing a reader can reach is freed under it", "[srcu]")
{
	hx_srcu srcu;
	std::atomic<Object *> current{ make_object(0) };
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> bad{ 0 }, reads{ 0 };
	std::vector<std::thread> readers;
	const int nreaders = 4;
	const uint64_t swaps = 2000;

	hx_srcu_init(&srcu);
	for (int r = 0; r < nreaders; r++) {
		readers.emplace_back([&, r] {
			uint64_t i = 0;

			while (!stop.load(std::memory_order_relaxed)) {
				unsigned token = hx_srcu_read_lock(&srcu);
				Object *obj = current.load(std::memory_order_acquire);

				if (obj->canary != LIVE)
					bad.fetch_add(1);
				// Sometimes sleep inside the section, then look again.
				if (++i % 64 == (uint64_t)r)
					hx_yield();
				for (auto word : obj->payload)
					if (word != obj->serial * 7 + 1)
						bad.fetch_add(1);
				if (obj->canary != LIVE)
					bad.fetch_add(1);
				hx_srcu_read_unlock(&srcu, token);
				reads.fetch_add(1, std::memory_order_relaxed);
			}
		});
	}
	while (reads.load() < 1000)
		std::this_thread::yield();
	// At least @swaps grace periods, and readers busy throughout (bounded by time for slow
	// sanitizer builds).
	auto deadline = std::chrono::steady_clock::now() + 5s;
	uint64_t serial = 0;
	while (++serial <= swaps ||
	       (reads.load() < 200000 && std::chrono::steady_clock::now() < deadline)) {
		Object *old = current.exchange(make_object(serial), std::memory_order_acq_rel);

		hx_srcu_synchronize(&srcu);
		old->canary = DEAD; // poison, then free: ASan reports any later access
		std::memset(old->payload, 0xdd, sizeof(old->payload));
		delete old;
	}
	stop.store(true);
	for (auto &t : readers)
		t.join();
	delete current.load();
	CHECK(bad.load() == 0);
	CHECK(total_readers(&srcu) == 0);
}

TEST_CASE("srcu: concurrent writers take turns and all return", "[srcu]")
{
	hx_srcu srcu;
	std::atomic<bool> stop{ false };
	std::vector<std::thread> threads;

	hx_srcu_init(&srcu);
	threads.emplace_back([&] {
		while (!stop.load()) {
			unsigned token = hx_srcu_read_lock(&srcu);
			hx_yield();
			hx_srcu_read_unlock(&srcu, token);
		}
	});
	std::vector<std::thread> writers;
	for (int w = 0; w < 3; w++)
		writers.emplace_back([&] {
			for (int i = 0; i < 200; i++)
				hx_srcu_synchronize(&srcu);
		});
	for (auto &t : writers)
		t.join();
	stop.store(true);
	for (auto &t : threads)
		t.join();
	CHECK(srcu.epoch.load() == 3 * 200 * 2);
	CHECK(srcu.writer.load() == 0);
}
