// SPDX-License-Identifier: MIT
// The channel under many producers and one consumer (ipc/include/helix/ipc/channel.h's
// guarantees): exactly once, per-producer FIFO, and, when the channel is closed at a random moment
// by a producer or by the consumer, exactly the accepted messages received.
//
// Each case has a fixed seed (printed) for the random choices: pauses, HX_FOREVER / HX_NOWAIT /
// short deadlines on both sides, recv or recv_many. The interleaving itself is up to the machine,
// so a seed makes a failure likelier to repeat, not certain. Message counts are kept moderate so
// every case runs in well under a second, also under ThreadSanitizer.
//
// No assertion bounds any duration. If a case hangs (a lost wake-up, a lost message), a watchdog
// prints the progress every 20 s so the log says where it stopped; Bazel's timeout ends it.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <helix/errors.h>
#include <helix/ipc/channel.h>
#include <helix/platform.h>

namespace
{

struct splitmix {
	uint64_t state;
	uint64_t next()
	{
		uint64_t z = (state += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}
	uint64_t below(uint64_t n)
	{
		return next() % n;
	}
};

// A message is msg_size bytes: a header (who, which), then a payload derived from both, so a torn
// or stale copy is caught. Large messages widen the window between a producer's claim and its
// publish, where close and the consumer's "closed and drained" test must not lose it.
struct header {
	uint32_t producer;
	uint32_t seq;
};
using message = std::vector<uint8_t>;

uint8_t payload_byte(uint32_t producer, uint32_t seq, size_t i)
{
	uint32_t x = (producer * 0x9e3779b1u) ^ (seq * 0x85ebca6bu) ^ uint32_t(i * 0xc2b2ae35u);
	x ^= x >> 15;
	return uint8_t(x * 0x2c1b3c6du >> 24);
}

void make_message(uint8_t *m, size_t size, uint32_t producer, uint32_t seq)
{
	header h = { producer, seq };
	memcpy(m, &h, sizeof(h));
	for (size_t i = sizeof(h); i < size; i++)
		m[i] = payload_byte(producer, seq, i);
}

header header_of(const uint8_t *m)
{
	header h;
	memcpy(&h, m, sizeof(h));
	return h;
}

bool payload_ok(const uint8_t *m, size_t size)
{
	header h = header_of(m);
	for (size_t i = sizeof(h); i < size; i++)
		if (m[i] != payload_byte(h.producer, h.seq, i))
			return false;
	return true;
}

// A random short pause: mostly none, sometimes a yield, sometimes a busy loop.
void random_pause(splitmix &rng)
{
	uint64_t r = rng.below(100);
	if (r < 60)
		return;
	if (r < 80) {
		std::this_thread::yield();
		return;
	}
	uint64_t spins = rng.below(2000);
	for (uint64_t i = 0; i < spins; i++)
		hx_cpu_relax();
}

// A deadline a little ahead: 0..200 us, sometimes already past.
uint64_t short_deadline(splitmix &rng)
{
	uint64_t r = rng.below(10);
	if (r == 0)
		return 1; // long past: -HX_ETIMEDOUT unless no wait is needed
	return hx_time_ns() + rng.below(200000);
}

enum class closer_kind { none, producer, consumer };

struct stress_case {
	int producers;
	size_t capacity;
	size_t msg_size;
	uint32_t per_producer;
	closer_kind closer;
	uint64_t seed;
};

// Everything the threads record; checked by the main thread after join() (Catch2's macros are
// not thread-safe).
struct shared_state {
	std::vector<std::atomic<uint32_t>> accepted; // per producer: sends that returned 0
	std::atomic<uint64_t> received{ 0 };
	std::atomic<int> closes_ok{ 0 };
	std::atomic<bool> producers_done{ false };
	std::mutex errors_lock;
	std::vector<std::string> errors;

	explicit shared_state(int producers) : accepted(size_t(producers))
	{
	}
	void error(const std::string &what)
	{
		std::lock_guard<std::mutex> guard(errors_lock);
		if (errors.size() < 20)
			errors.push_back(what);
	}
};

std::string errname(int err)
{
	return hx_error_name(err);
}

void producer_main(const stress_case &sc, struct hx_chan *chan, shared_state &st, uint32_t id,
                   uint32_t close_after)
{
	splitmix rng{ sc.seed ^ (0x1000193ull * (id + 1)) };
	bool i_close = sc.closer == closer_kind::producer && id == 0;
	uint32_t seq = 0;
	for (;;) {
		if (i_close && seq == close_after) {
			int err = hx_chan_close(chan);
			if (err == 0)
				st.closes_ok++;
			else
				st.error("producer 0: close returned " + errname(err));
			i_close = false;
		}
		if (seq == sc.per_producer)
			break;
		random_pause(rng);
		message m(sc.msg_size);
		make_message(m.data(), m.size(), id, seq);
		int err;
		for (;;) {
			uint64_t mode = rng.below(3);
			if (mode == 0) {
				err = hx_chan_send(chan, m.data(), HX_FOREVER);
			} else if (mode == 1) {
				err = hx_chan_send(chan, m.data(), HX_NOWAIT);
				if (err == -HX_EAGAIN) {
					if (rng.below(2))
						std::this_thread::yield();
					continue;
				}
			} else {
				err = hx_chan_send(chan, m.data(), short_deadline(rng));
				if (err == -HX_ETIMEDOUT)
					continue;
			}
			break;
		}
		if (err == 0) {
			seq++;
			st.accepted[id].store(seq, std::memory_order_relaxed);
			continue;
		}
		if (err == -HX_EPIPE && sc.closer != closer_kind::none) {
			// Closed: every later send must fail the same way, and none is received.
			make_message(m.data(), m.size(), id, seq);
			err = hx_chan_send(chan, m.data(), rng.below(2) ? HX_NOWAIT : HX_FOREVER);
			if (err != -HX_EPIPE)
				st.error("producer " + std::to_string(id) +
				         ": send after -HX_EPIPE gave " + errname(err));
			break;
		}
		st.error("producer " + std::to_string(id) + ": send of seq " + std::to_string(seq) +
		         " gave " + errname(err));
		break;
	}
}

void check_message(const stress_case &sc, shared_state &st, std::vector<uint32_t> &next_seq,
                   const uint8_t *msg)
{
	header m = header_of(msg);
	if (m.producer >= uint32_t(sc.producers)) {
		st.error("received a message from unknown producer " + std::to_string(m.producer));
		return;
	}
	if (!payload_ok(msg, sc.msg_size))
		st.error("corrupt payload: producer " + std::to_string(m.producer) + " seq " +
		         std::to_string(m.seq));
	uint32_t &expected = next_seq[m.producer];
	if (m.seq != expected)
		st.error("producer " + std::to_string(m.producer) + ": expected seq " +
		         std::to_string(expected) + ", received " + std::to_string(m.seq) +
		         (m.seq < expected ? " (duplicate or reordered)" : " (skipped some)"));
	// Resynchronise so one fault is reported once, not for every message after it.
	expected = m.seq + 1;
	st.received.fetch_add(1, std::memory_order_relaxed);
}

// Returns the number of messages received per producer (next_seq).
std::vector<uint32_t> consumer_main(const stress_case &sc, struct hx_chan *chan, shared_state &st,
                                    uint64_t total, uint64_t close_after)
{
	splitmix rng{ sc.seed ^ 0xc0ffee };
	std::vector<uint32_t> next_seq(size_t(sc.producers), 0);
	const size_t batch_max = 16;
	message batch(batch_max * sc.msg_size);
	uint64_t received = 0;
	bool i_close = sc.closer == closer_kind::consumer;
	for (;;) {
		if (sc.closer == closer_kind::none && received == total)
			break;
		if (i_close && received >= close_after) {
			int err = hx_chan_close(chan);
			if (err == 0)
				st.closes_ok++;
			else
				st.error("consumer: close returned " + errname(err));
			i_close = false;
		}
		if (rng.below(8) == 0)
			random_pause(rng); // let the ring fill up now and then
		uint64_t mode = rng.below(3);
		uint64_t deadline = mode == 0   ? HX_FOREVER
		                    : mode == 1 ? HX_NOWAIT
		                                : short_deadline(rng);
		int got;
		if (rng.below(2)) {
			got = hx_chan_recv(chan, batch.data(), deadline);
			if (got == 0)
				got = 1;
		} else {
			size_t max = 1 + size_t(rng.below(batch_max));
			got = hx_chan_recv_many(chan, batch.data(), max, deadline);
			if (got > int(max))
				st.error("recv_many returned " + std::to_string(got) + " > max " +
				         std::to_string(max));
		}
		if (got == -HX_EAGAIN && mode == 1)
			continue;
		if (got == -HX_ETIMEDOUT && mode == 2)
			continue;
		if (got == -HX_EPIPE && sc.closer != closer_kind::none)
			break;
		if (got <= 0) {
			st.error("consumer: receive gave " + errname(got) + " after " +
			         std::to_string(received) + " messages");
			break;
		}
		for (int i = 0; i < got; i++)
			check_message(sc, st, next_seq, &batch[size_t(i) * sc.msg_size]);
		received += uint64_t(got);
	}

	// Nothing more may come out: drained and closed, or (no close) empty.
	message extra(sc.msg_size);
	int err = hx_chan_recv(chan, extra.data(), HX_NOWAIT);
	int want = sc.closer == closer_kind::none ? -HX_EAGAIN : -HX_EPIPE;
	if (err != want) {
		st.error("consumer: after the last message, recv gave " + errname(err) + ", not " +
		         errname(want));
		if (err == 0)
			check_message(sc, st, next_seq, extra.data());
	}
	return next_seq;
}

const char *closer_name(closer_kind k)
{
	return k == closer_kind::none       ? "none"
	       : k == closer_kind::producer ? "producer 0"
	                                    : "consumer";
}

void run_case(const stress_case &sc)
{
	std::printf(
	    "channel stress: producers %d capacity %zu msg_size %zu per_producer %u closer %s seed "
	    "0x%llx\n",
	    sc.producers, sc.capacity, sc.msg_size, sc.per_producer, closer_name(sc.closer),
	    (unsigned long long)sc.seed);
	std::fflush(stdout);
	INFO("producers " << sc.producers << " capacity " << sc.capacity << " msg_size "
	                  << sc.msg_size << " per_producer " << sc.per_producer << " closer "
	                  << closer_name(sc.closer) << " seed 0x" << std::hex << sc.seed);

	struct hx_chan *chan = nullptr;
	REQUIRE(hx_chan_create(sc.capacity, sc.msg_size, &chan) == 0);
	std::unique_ptr<struct hx_chan, void (*)(struct hx_chan *)> owner(chan, hx_chan_destroy);

	const uint64_t total = uint64_t(sc.producers) * sc.per_producer;
	splitmix rng{ sc.seed };
	// When the closer acts: a producer after a random number of its own accepted sends, the
	// consumer after a random number of receives (both may be 0 or everything).
	uint32_t producer_close_after = uint32_t(rng.below(uint64_t(sc.per_producer) + 1));
	uint64_t consumer_close_after = rng.below(total + 1);

	shared_state st(sc.producers);

	std::mutex watch_lock;
	std::condition_variable watch_cv;
	bool finished = false;
	std::thread watchdog([&] {
		std::unique_lock<std::mutex> guard(watch_lock);
		while (
		    !watch_cv.wait_for(guard, std::chrono::seconds(20), [&] { return finished; })) {
			struct hx_chan_stats s;
			hx_chan_get_stats(chan, &s);
			std::string accepted;
			for (auto &a : st.accepted)
				accepted += " " + std::to_string(a.load());
			std::fprintf(
			    stderr,
			    "channel stress: still running (seed 0x%llx): received %llu, len %zu, "
			    "closed %d, producers done %d, sends %llu receives %llu full %llu "
			    "send_sleeps %llu recv_sleeps %llu wakeups %llu; accepted:%s\n",
			    (unsigned long long)sc.seed, (unsigned long long)st.received.load(),
			    hx_chan_len(chan), int(hx_chan_is_closed(chan)),
			    int(st.producers_done.load()), (unsigned long long)s.sends,
			    (unsigned long long)s.receives, (unsigned long long)s.full_events,
			    (unsigned long long)s.send_sleeps, (unsigned long long)s.recv_sleeps,
			    (unsigned long long)s.wakeups, accepted.c_str());
		}
	});

	std::vector<uint32_t> received_per_producer;
	std::thread consumer([&] {
		received_per_producer = consumer_main(sc, chan, st, total, consumer_close_after);
	});
	std::vector<std::thread> producers;
	for (int p = 0; p < sc.producers; p++)
		producers.emplace_back(producer_main, std::cref(sc), chan, std::ref(st),
		                       uint32_t(p), producer_close_after);
	for (auto &t : producers)
		t.join();
	st.producers_done = true;
	consumer.join();
	{
		std::lock_guard<std::mutex> guard(watch_lock);
		finished = true;
	}
	watch_cv.notify_all();
	watchdog.join();

	for (const std::string &e : st.errors)
		FAIL_CHECK(e);
	CHECK(st.errors.empty());

	uint64_t accepted_total = 0;
	REQUIRE(received_per_producer.size() == size_t(sc.producers));
	for (int p = 0; p < sc.producers; p++) {
		uint32_t accepted = st.accepted[size_t(p)].load();
		accepted_total += accepted;
		INFO("producer " << p);
		// With the per-message sequence check above this is exactly once: messages
		// 0..accepted-1 each received once, in order, and none whose send failed.
		CHECK(received_per_producer[size_t(p)] == accepted);
		if (sc.closer == closer_kind::none)
			CHECK(accepted == sc.per_producer);
	}
	CHECK(st.received.load() == accepted_total);
	if (sc.closer != closer_kind::none) {
		CHECK(st.closes_ok.load() == 1);
		CHECK(hx_chan_is_closed(chan));
		if (sc.closer == closer_kind::producer)
			CHECK(st.accepted[0].load() == producer_close_after);
	}
	CHECK(hx_chan_len(chan) == 0);

	struct hx_chan_stats s;
	hx_chan_get_stats(chan, &s);
	CHECK(s.sends == accepted_total);
	CHECK(s.receives == accepted_total);
	if (sc.capacity == 1 && sc.producers > 1 && sc.closer == closer_kind::none)
		CHECK(s.full_events >= 1); // 2+ producers on one slot run into a full channel
	std::printf("  sends %llu full %llu send_sleeps %llu recv_sleeps %llu wakeups %llu\n",
	            (unsigned long long)s.sends, (unsigned long long)s.full_events,
	            (unsigned long long)s.send_sleeps, (unsigned long long)s.recv_sleeps,
	            (unsigned long long)s.wakeups);
}

uint64_t case_seed(int producers, size_t capacity, closer_kind closer, int round)
{
	return 0x5eed000000ull + uint64_t(producers) * 0x10000 + uint64_t(capacity) * 0x100 +
	       uint64_t(closer) * 0x10 + uint64_t(round);
}

// About 3000 messages per case whatever the number of producers.
uint32_t per_producer_for(int producers)
{
	return uint32_t(3000 / producers);
}

} // namespace

TEST_CASE("many producers, one consumer: exactly once, in per-producer order", "[channel][stress]")
{
	int producers = GENERATE(1, 2, 4, 8, 16);
	size_t capacity = GENERATE(as<size_t>{}, 1, 3, 64);
	stress_case sc{ producers,
		        capacity,
		        64,
		        per_producer_for(producers),
		        closer_kind::none,
		        case_seed(producers, capacity, closer_kind::none, 0) };
	run_case(sc);
}

TEST_CASE("a random close: exactly the accepted messages are received", "[channel][stress][close]")
{
	int producers = GENERATE(1, 2, 4, 8, 16);
	size_t capacity = GENERATE(as<size_t>{}, 1, 3, 64);
	closer_kind closer = GENERATE(closer_kind::producer, closer_kind::consumer);
	// Several rounds: the close lands at a different moment each time. The last round's large
	// messages keep producers between claim and publish for longer, when the close comes.
	int round = GENERATE(0, 1, 2, 3);
	size_t msg_size = round < 2 ? 64 : 16384;
	uint32_t per_producer = per_producer_for(producers) / (round < 2 ? 3 : 6);
	stress_case sc{ producers,    capacity, msg_size,
		        per_producer, closer,   case_seed(producers, capacity, closer, round) };
	run_case(sc);
}
