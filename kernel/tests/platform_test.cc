// SPDX-License-Identifier: MIT
// The hosted platform backend: clock, futex wait/wake, spinlocks over it, allocation, task ids, the
// CPU id and the console. No assertion bounds how long anything takes; deadlines are only checked
// to have passed.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <helix/errors.h>
#include <helix/hosted.h>
#include <helix/platform.h>
#include <helix/spinlock.h>

TEST_CASE("hx_time_ns never goes backwards", "[platform]")
{
	uint64_t prev = hx_time_ns();
	CHECK(prev != HX_NOWAIT);
	for (int i = 0; i < 100000; i++) {
		uint64_t now = hx_time_ns();
		REQUIRE(now >= prev);
		prev = now;
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(2));
	CHECK(hx_time_ns() >= prev + 2000000);
}

TEST_CASE("hx_cpu_id names the CPU the caller is pinned to", "[platform]")
{
	cpu_set_t allowed;
	REQUIRE(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		std::atomic<int> pinned{ -1 };
		std::atomic<unsigned int> seen{ 0 };
		std::thread thread([&] {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pinned = pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
			seen = hx_cpu_id();
		});
		thread.join();
		INFO("cpu " << cpu);
		REQUIRE(pinned.load() == 1);
		CHECK(seen.load() == (unsigned int)cpu);
	}
}

TEST_CASE("hx_futex_wait returns -HX_EAGAIN when the word differs", "[platform]")
{
	std::atomic<uint32_t> word{ 5 };
	CHECK(hx_futex_wait(&word, 4, HX_FOREVER) == -HX_EAGAIN);
	CHECK(hx_futex_wait(&word, 4, HX_NOWAIT) == -HX_EAGAIN);
	CHECK(hx_futex_wait(&word, 4, hx_time_ns() + 1000000000) == -HX_EAGAIN);
	CHECK(hx_futex_wait(&word, 4, 1) == -HX_EAGAIN); // deadline long past
}

TEST_CASE("hx_futex_wait times out at its deadline", "[platform]")
{
	std::atomic<uint32_t> word{ 7 };
	CHECK(hx_futex_wait(&word, 7, HX_NOWAIT) == -HX_ETIMEDOUT);
	CHECK(hx_futex_wait(&word, 7, 1) == -HX_ETIMEDOUT);

	for (uint64_t delay : { 1000u, 100000u, 3000000u }) {
		uint64_t deadline = hx_time_ns() + delay;
		int err;
		// A spurious wake-up (0) is allowed by the contract: wait again, as callers do.
		while ((err = hx_futex_wait(&word, 7, deadline)) == 0)
			;
		CHECK(err == -HX_ETIMEDOUT);
		CHECK(hx_time_ns() >= deadline);
	}
}

TEST_CASE("hx_futex_wake wakes a waiter", "[platform]")
{
	std::atomic<uint32_t> word{ 0 };
	std::atomic<int> returns{ 0 };
	std::thread waiter([&] {
		while (word.load() == 0) {
			int err = hx_futex_wait(&word, 0, HX_FOREVER);
			CHECK((err == 0 || err == -HX_EAGAIN));
			returns++;
		}
	});

	CHECK(hx_futex_wake(&word, 1) <= 1);

	// Wake without changing the word until a wake reports a sleeper: proves the waiter was
	// asleep in the kernel and that hx_futex_wake reached it.
	int woken = 0;
	for (int attempt = 0; attempt < 10000 && woken == 0; attempt++) {
		woken = hx_futex_wake(&word, HX_WAKE_ALL);
		if (woken == 0)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	CHECK(woken == 1);

	word.store(1);
	hx_futex_wake(&word, HX_WAKE_ALL);
	waiter.join();
	CHECK(returns.load() >= 1);

	std::atomic<uint32_t> nobody{ 0 };
	CHECK(hx_futex_wake(&nobody, HX_WAKE_ALL) == 0);
}

TEST_CASE("hx_futex_wake wake count never exceeds the count asked for", "[platform]")
{
	std::atomic<uint32_t> word{ 0 };
	std::atomic<int> done{ 0 };
	std::vector<std::thread> waiters;
	for (int i = 0; i < 3; i++) {
		waiters.emplace_back([&] {
			while (word.load() == 0)
				hx_futex_wait(&word, 0, HX_FOREVER);
			done++;
		});
	}
	// Collect single wakes until all three sleepers have been seen at least once in total.
	int total = 0;
	for (int attempt = 0; attempt < 10000 && total < 3; attempt++) {
		int n = hx_futex_wake(&word, 1);
		REQUIRE(n <= 1);
		total += n;
		if (n == 0)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	CHECK(total == 3);
	word.store(1);
	hx_futex_wake(&word, HX_WAKE_ALL);
	for (auto &t : waiters)
		t.join();
	CHECK(done.load() == 3);
}

TEST_CASE("spinlocks exclude each other", "[platform][spinlock]")
{
	const int threads = 4, rounds = 100000;
	struct hx_spinlock lock = HX_SPINLOCK_INIT;
	long counter = 0; // deliberately plain: only the lock makes the increments safe

	std::vector<std::thread> workers;
	for (int t = 0; t < threads; t++) {
		workers.emplace_back([&, t] {
			for (int i = 0; i < rounds; i++) {
				if ((i + t) % 2) {
					hx_spin_lock(&lock);
					counter++;
					hx_spin_unlock(&lock);
				} else {
					unsigned long flags = hx_spin_lock_irqsave(&lock);
					counter++;
					hx_spin_unlock_irqrestore(&lock, flags);
				}
			}
		});
	}
	for (auto &w : workers)
		w.join();
	CHECK(counter == long(threads) * rounds);

	CHECK(hx_spin_trylock(&lock));
	CHECK_FALSE(hx_spin_trylock(&lock));
	hx_spin_unlock(&lock);
	CHECK(hx_spin_trylock(&lock));
	hx_spin_unlock(&lock);
}

TEST_CASE("hx_alloc, hx_zalloc and hx_free", "[platform]")
{
	CHECK(hx_alloc(0) == nullptr);
	CHECK(hx_zalloc(0) == nullptr);
	hx_free(nullptr);

	for (size_t size : { 1, 7, 16, 100, 4096, 100000 }) {
		auto *p = static_cast<unsigned char *>(hx_alloc(size));
		REQUIRE(p != nullptr);
		CHECK(reinterpret_cast<uintptr_t>(p) % 16 == 0);
		for (size_t i = 0; i < size; i++)
			p[i] = 0xa5;
		hx_free(p);

		// Likely reuses the dirty block just freed: zeroing must be hx_zalloc's own doing.
		auto *z = static_cast<unsigned char *>(hx_zalloc(size));
		REQUIRE(z != nullptr);
		CHECK(reinterpret_cast<uintptr_t>(z) % 16 == 0);
		size_t nonzero = 0;
		for (size_t i = 0; i < size; i++)
			nonzero += z[i] != 0;
		CHECK(nonzero == 0);
		hx_free(z);
	}
}

TEST_CASE("hx_hosted_fail_allocs fails the planned allocations of this thread only", "[platform]")
{
	void *a, *b, *c, *other = nullptr;

	hx_hosted_fail_allocs(1, 2); // one succeeds, the next two fail
	a = hx_alloc(32);
	CHECK(a != nullptr);
	CHECK(hx_alloc(32) == nullptr);
	std::thread([&] { other = hx_alloc(32); }).join(); // another thread: no plan
	CHECK(other != nullptr);
	CHECK(hx_zalloc(32) == nullptr);
	b = hx_alloc(32); // the plan is used up
	CHECK(b != nullptr);
	hx_hosted_fail_allocs(0, 1);
	hx_hosted_fail_allocs(0, 0); // ended before it fired
	c = hx_zalloc(8);
	CHECK(c != nullptr);
	hx_free(a);
	hx_free(b);
	hx_free(c);
	hx_free(other);
}

TEST_CASE("hx_task_id tells threads apart", "[platform]")
{
	uint64_t mine = hx_task_id();
	CHECK(hx_task_id() == mine);
	std::vector<uint64_t> ids(4);
	std::vector<std::thread> threads;
	for (size_t i = 0; i < ids.size(); i++)
		threads.emplace_back([&ids, i] { ids[i] = hx_task_id(); });
	for (auto &t : threads)
		t.join();
	std::set<uint64_t> unique(ids.begin(), ids.end());
	unique.insert(mine);
	CHECK(unique.size() == ids.size() + 1);
}

TEST_CASE("hx_console_write delivers every byte to stderr", "[platform]")
{
	int fds[2];
	REQUIRE(pipe(fds) == 0);
	int saved = dup(STDERR_FILENO);
	REQUIRE(saved >= 0);

	// More than a pipe buffer holds, so write(2) comes back short and the loop must go on.
	std::string big(200000, 'x');
	for (size_t i = 0; i < big.size(); i += 97)
		big[i] = char('a' + i % 26);
	std::string received;
	std::thread reader([&] {
		char buf[4096];
		ssize_t n;
		while ((n = read(fds[0], buf, sizeof(buf))) > 0)
			received.append(buf, size_t(n));
	});

	REQUIRE(dup2(fds[1], STDERR_FILENO) == STDERR_FILENO);
	hx_console_write("hello, ", 7);
	hx_console_write(big.data(), big.size());
	hx_console_write("", 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	reader.join();
	close(fds[0]);

	CHECK(received.size() == 7 + big.size());
	CHECK(received == "hello, " + big);
}

// The asymmetric Dekker pair the channel relies on: one side stores then (light barrier) loads,
// the other stores then (heavy barrier) loads; at least one of them must see the other's store.
// Without a barrier, x86 lets both loads overtake the stores (store buffering) and both see 0.
TEST_CASE("hx_barrier_heavy pairs with hx_barrier_light (store buffering litmus)", "[platform]")
{
	constexpr int rounds = 2000;
	std::atomic<uint32_t> x{ 0 }, y{ 0 }, round{ 0 }, done{ 0 };
	std::vector<int> fast_saw(rounds), slow_saw(rounds);

	std::thread fast([&] {
		for (int r = 0; r < rounds; r++) {
			while (round.load(std::memory_order_acquire) != (uint32_t)(2 * r + 1))
				hx_cpu_relax();
			x.store(1, std::memory_order_relaxed);
			hx_barrier_light();
			fast_saw[r] = (int)y.load(std::memory_order_relaxed);
			done.fetch_add(1, std::memory_order_release);
		}
	});
	for (int r = 0; r < rounds; r++) {
		x.store(0, std::memory_order_relaxed);
		y.store(0, std::memory_order_relaxed);
		round.store(2 * r + 1, std::memory_order_release);
		y.store(1, std::memory_order_relaxed);
		hx_barrier_heavy();
		slow_saw[r] = (int)x.load(std::memory_order_relaxed);
		while (done.load(std::memory_order_acquire) != (uint32_t)(r + 1))
			hx_cpu_relax();
	}
	fast.join();
	int both_missed = 0;
	for (int r = 0; r < rounds; r++)
		both_missed += fast_saw[r] == 0 && slow_saw[r] == 0;
	CHECK(both_missed == 0);
}
