// SPDX-License-Identifier: MIT
// The event bus under concurrency (run it under --config=tsan and asan too):
//  - several publishers through the asynchronous path: every topic's events arrive in publish
//    order, and so do one publisher's events on a shared topic;
//  - an event storm on a small queue: every event is either delivered to every subscriber whose
//    mask matches it or counted as dropped, and the counters agree with what the publishers saw;
//  - subscribe/unsubscribe churn while publishers (queued and synchronous) and the dispatcher run:
//    contexts are freed right after hx_bus_unsubscribe returns (ASan sees any late call), and
//    subscriptions that remove themselves from inside their handler free theirs in release;
//  - a signal handler that publishes while the thread it interrupted is itself inside
//    hx_bus_publish: the closest a hosted test gets to an interrupt handler.
//
// Catch2's macros are not thread-safe: threads record into atomics and vectors they own, and the
// main thread checks after join().

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <pthread.h>
#include <random>
#include <signal.h>
#include <thread>
#include <vector>

#include <helix/errors.h>
#include <helix/ipc/event_bus.h>
#include <helix/platform.h>

namespace
{

struct bus_holder {
	struct hx_bus *bus = nullptr;

	explicit bus_holder(size_t capacity)
	{
		REQUIRE(hx_bus_create(capacity, &bus) == 0);
	}
	~bus_holder()
	{
		hx_bus_destroy(bus);
	}
	bus_holder(const bus_holder &) = delete;
	bus_holder &operator=(const bus_holder &) = delete;
	operator struct hx_bus *() const
	{
		return bus;
	}
};

hx_subscription make_sub(const char *name, uint32_t topics, hx_bus_handler_fn handler, void *ctx,
                         int priority = HX_PRIO_NORMAL)
{
	hx_subscription sub{};
	sub.name = name;
	sub.topics = topics;
	sub.handler = handler;
	sub.ctx = ctx;
	sub.priority = priority;
	return sub;
}

// A user event carrying (publisher, sequence number).
hx_event numbered(uint32_t topic, uint32_t publisher, uint64_t seq)
{
	hx_event event = hx_event_user(topic, publisher, nullptr, 0);
	event.user.len = sizeof(seq);
	memcpy(event.user.data, &seq, sizeof(seq));
	return event;
}

uint64_t seq_of(const hx_event *event)
{
	uint64_t seq;
	memcpy(&seq, event->user.data, sizeof(seq));
	return seq;
}

// Publishes until the queue takes it; a full queue is the dispatcher's pace, not an error.
int publish_retry(struct hx_bus *bus, const hx_event &event)
{
	int err;
	while ((err = hx_bus_publish(bus, &event)) == -HX_EAGAIN)
		hx_yield();
	return err;
}

struct dispatcher_thread {
	struct hx_bus *bus;
	std::atomic<int> result{ 1 };
	std::thread thread;

	explicit dispatcher_thread(struct hx_bus *b)
	    : bus(b), thread([this] { result = hx_bus_dispatch(bus, HX_FOREVER); })
	{
	}
	// Shuts the bus down: the dispatcher delivers what is queued and returns -HX_EPIPE.
	int finish()
	{
		if (thread.joinable()) {
			hx_bus_shutdown(bus);
			thread.join();
		}
		return result;
	}
	~dispatcher_thread()
	{
		finish();
	}
};

constexpr uint32_t PUBLISHERS = 4;
constexpr uint32_t SHARED_TOPIC = HX_TOPIC_USER(10);

// Checks per-topic and per-publisher order. Runs on the dispatcher only.
struct order_checker {
	uint64_t next_own[PUBLISHERS] = {};    // next seq expected on the publisher's own topic
	uint64_t next_shared[PUBLISHERS] = {}; // next seq expected from it on the shared topic
	uint64_t violations = 0;
	uint64_t received = 0;
};

hx_bus_response order_handler(const hx_event *event, void *ctx)
{
	auto *c = static_cast<order_checker *>(ctx);
	uint32_t publisher = event->user.code;
	uint64_t seq = seq_of(event);

	c->received++;
	if (publisher >= PUBLISHERS) {
		c->violations++;
		return HX_BUS_IGNORED;
	}
	uint64_t &next =
	    event->topic == SHARED_TOPIC ? c->next_shared[publisher] : c->next_own[publisher];
	if (seq != next)
		c->violations++;
	next = seq + 1;
	return HX_BUS_HANDLED;
}

} // namespace

TEST_CASE("several publishers: each topic in publish order through the dispatcher",
          "[event_bus][stress]")
{
	const uint64_t per_publisher = 20000;
	bus_holder bus(256);
	order_checker checker;
	hx_subscription sub = make_sub("order", HX_TOPIC_ALL, order_handler, &checker);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);

	dispatcher_thread dispatcher(bus);
	std::vector<std::thread> publishers;
	std::atomic<int> errors{ 0 };
	for (uint32_t p = 0; p < PUBLISHERS; p++)
		publishers.emplace_back([&, p] {
			for (uint64_t i = 0; i < per_publisher; i++) {
				// Its own topic, and every fourth event the shared one as well.
				if (publish_retry(bus, numbered(HX_TOPIC_USER(p), p, i)))
					errors++;
				if (i % 4 == 0 &&
				    publish_retry(bus, numbered(SHARED_TOPIC, p, i / 4)))
					errors++;
			}
		});
	for (auto &t : publishers)
		t.join();
	CHECK(dispatcher.finish() == -HX_EPIPE);

	CHECK(errors == 0);
	CHECK(checker.violations == 0);
	CHECK(checker.received == PUBLISHERS * (per_publisher + per_publisher / 4));
	for (uint32_t p = 0; p < PUBLISHERS; p++) {
		CHECK(checker.next_own[p] == per_publisher);
		CHECK(checker.next_shared[p] == per_publisher / 4);
	}
	hx_bus_stats stats;
	REQUIRE(hx_bus_get_stats(bus, &stats) == 0);
	CHECK(stats.dispatched == checker.received);
	CHECK(stats.queue_high_water <= 256);
}

// ---- The storm ----------------------------------------------------------------------------------

namespace
{

constexpr unsigned STORM_TOPICS = 4; // HX_TOPIC_USER(0..3)

struct storm_counter {
	// Written by the dispatcher only; read after it has been joined.
	uint64_t per_topic[STORM_TOPICS] = {};
};

hx_bus_response storm_handler(const hx_event *event, void *ctx)
{
	auto *c = static_cast<storm_counter *>(ctx);
	unsigned topic = unsigned(__builtin_ctz(event->topic)) - 8;

	if (topic < STORM_TOPICS)
		c->per_topic[topic]++;
	return HX_BUS_HANDLED;
}

} // namespace

TEST_CASE("an event storm: delivered to every matching subscriber, or counted as dropped",
          "[event_bus][stress]")
{
	const uint64_t per_publisher = 30000;
	bus_holder bus(64);
	const uint32_t masks[] = {
		HX_TOPIC_ALL,                        // a security hook, high priority
		HX_TOPIC_USER(0) | HX_TOPIC_USER(1), //
		HX_TOPIC_USER(2),                    //
		HX_TOPIC_USER(3) | HX_TOPIC_USER(0), //
		HX_TOPIC_TIMER,                      // never matches
	};
	constexpr size_t SUBS = sizeof(masks) / sizeof(masks[0]);
	storm_counter counters[SUBS];
	for (size_t i = 0; i < SUBS; i++) {
		hx_subscription sub = make_sub("storm", masks[i], storm_handler, &counters[i],
		                               i == 0 ? HX_PRIO_HIGH : HX_PRIO_NORMAL);
		REQUIRE(hx_bus_subscribe(bus, &sub) > 0);
	}

	dispatcher_thread dispatcher(bus);
	struct tally {
		uint64_t accepted[STORM_TOPICS] = {};
		uint64_t dropped[STORM_TOPICS] = {};
		uint64_t other_errors = 0;
	};
	std::vector<tally> tallies(PUBLISHERS);
	std::vector<std::thread> publishers;
	for (uint32_t p = 0; p < PUBLISHERS; p++)
		publishers.emplace_back([&, p] {
			std::mt19937 rng(p + 1);
			tally &t = tallies[p];
			for (uint64_t i = 0; i < per_publisher; i++) {
				unsigned topic = rng() % STORM_TOPICS;
				hx_event event = numbered(HX_TOPIC_USER(topic), p, i);
				int err = hx_bus_publish(bus, &event); // no retry: a storm
				if (i % 64 == 63)
					hx_yield(); // (lets the dispatcher in now and then)
				if (err == 0)
					t.accepted[topic]++;
				else if (err == -HX_EAGAIN)
					t.dropped[topic]++;
				else
					t.other_errors++;
			}
		});
	for (auto &t : publishers)
		t.join();
	CHECK(dispatcher.finish() == -HX_EPIPE);

	hx_bus_stats stats;
	REQUIRE(hx_bus_get_stats(bus, &stats) == 0);
	uint64_t accepted[STORM_TOPICS] = {}, dropped[STORM_TOPICS] = {}, total_dropped = 0;
	for (auto &t : tallies) {
		CHECK(t.other_errors == 0);
		for (unsigned i = 0; i < STORM_TOPICS; i++) {
			accepted[i] += t.accepted[i];
			dropped[i] += t.dropped[i];
		}
	}
	for (unsigned i = 0; i < STORM_TOPICS; i++) {
		INFO("topic USER(" << i << ")");
		CHECK(stats.topics[8 + i].published == accepted[i]);
		CHECK(stats.topics[8 + i].dropped == dropped[i]);
		CHECK(stats.topics[8 + i].delivered == accepted[i]);
		CHECK(accepted[i] + dropped[i] > 0);
		total_dropped += dropped[i];
		for (size_t s = 0; s < SUBS; s++) {
			INFO("subscriber " << s);
			bool matches = masks[s] & HX_TOPIC_USER(i);
			CHECK(counters[s].per_topic[i] == (matches ? accepted[i] : 0));
		}
	}
	CHECK(stats.queue_high_water <= 64);
	// Not a requirement, a sanity check that the storm was one: 4 publishers on a 64-event
	// queue against one dispatcher. Reported, never asserted (timing).
	WARN("storm: " << total_dropped << " of " << PUBLISHERS * per_publisher << " dropped");
}

// ---- Churn --------------------------------------------------------------------------------------

namespace
{

constexpr uint64_t ALIVE = 0xa11ce;
constexpr uint32_t CHURN_TOPICS = HX_TOPIC_TIMER | HX_TOPIC_USER(0);

// A subscriber's context. The handler checks the canary; the owner poisons it and frees the
// context as soon as unsubscribe returns, so a call after that is a use after free (ASan) or a
// poisoned canary (other builds).
struct churn_ctx {
	uint64_t canary = ALIVE;
	std::atomic<uint64_t> calls{ 0 };
	std::atomic<uint64_t> *dead_calls;
	// Self-removing subscriptions: after this many calls the handler unsubscribes itself.
	uint64_t remove_after = 0;
	struct hx_bus *bus = nullptr;
	int id = 0; // written by hx_bus_subscribe (id_out) before any call can read it
	std::atomic<uint64_t> *released;
	std::atomic<uint64_t> *calls_after_self_removal;
	std::atomic<bool> removed{ false };
};

hx_bus_response churn_handler(const hx_event *, void *ctx)
{
	auto *c = static_cast<churn_ctx *>(ctx);

	if (c->canary != ALIVE)
		(*c->dead_calls)++;
	uint64_t n = ++c->calls;
	if (c->remove_after) {
		// Concurrent walks (the dispatcher, the sync publisher) may still call it after
		// another one removed it: that is the documented window, so only count it.
		if (c->removed)
			(*c->calls_after_self_removal)++;
		if (n >= c->remove_after && !c->removed.exchange(true) &&
		    hx_bus_unsubscribe(c->bus, c->id) != 0)
			(*c->dead_calls)++; // (any failure is an error)
	}
	return HX_BUS_HANDLED;
}

void churn_release(void *ctx)
{
	auto *c = static_cast<churn_ctx *>(ctx);
	(*c->released)++;
	c->canary = 0;
	delete c;
}

} // namespace

TEST_CASE("subscribe and unsubscribe churn while publishers and the dispatcher run",
          "[event_bus][stress]")
{
	bus_holder bus(128);
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> dead_calls{ 0 }, released{ 0 }, self_subscribed{ 0 },
	    calls_after_self_removal{ 0 };
	std::atomic<int> errors{ 0 };
	dispatcher_thread dispatcher(bus);

	std::vector<std::thread> threads;
	// Two queued publishers and one synchronous one.
	for (uint32_t p = 0; p < 2; p++)
		threads.emplace_back([&, p] {
			for (uint64_t i = 0; !stop; i++) {
				hx_event event = p ? hx_event_timer_tick(i, 0)
				                   : numbered(HX_TOPIC_USER(0), p, i);
				int err = hx_bus_publish(bus, &event);
				if (err && err != -HX_EAGAIN)
					errors++;
				if (err)
					hx_yield();
			}
		});
	threads.emplace_back([&] {
		for (uint64_t i = 0; !stop; i++) {
			hx_event event = numbered(HX_TOPIC_USER(0), 9, i);
			if (hx_bus_publish_sync(bus, &event, nullptr))
				errors++;
		}
	});

	// Churners: subscribe, let some events through, unsubscribe, free at once.
	const int rounds = 150;
	std::vector<std::thread> churners;
	for (int t = 0; t < 2; t++)
		churners.emplace_back([&, t] {
			std::mt19937 rng(t + 7);
			for (int r = 0; r < rounds; r++) {
				auto *c = new churn_ctx;
				c->dead_calls = &dead_calls;
				c->released = &released;
				c->calls_after_self_removal = &calls_after_self_removal;
				int priority = int(rng() % 3) * 100 - 100;
				hx_subscription sub =
				    make_sub("churn", CHURN_TOPICS, churn_handler, c, priority);
				int id = hx_bus_subscribe(bus, &sub);
				if (id <= 0) {
					errors++;
					delete c;
					continue;
				}
				std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
				if (hx_bus_unsubscribe(bus, id))
					errors++;
				c->canary = 0;
				delete c;
			}
		});
	// Self-removers: unsubscribe from inside their own handler after a few calls; the context
	// goes in release, since the synchronous publisher's walks may overlap the dispatcher's.
	churners.emplace_back([&] {
		for (int r = 0; r < rounds; r++) {
			auto *c = new churn_ctx;
			c->dead_calls = &dead_calls;
			c->released = &released;
			c->calls_after_self_removal = &calls_after_self_removal;
			c->remove_after = 1 + uint64_t(r % 5);
			c->bus = bus;
			hx_subscription sub = make_sub("self", CHURN_TOPICS, churn_handler, c);
			sub.release = churn_release;
			// The handler may run before hx_bus_subscribe returns (it waits for a grace
			// period after publishing the list): id_out gives it the id in time.
			sub.id_out = &c->id;
			int id = hx_bus_subscribe(bus, &sub);
			if (id <= 0) {
				errors++;
				delete c;
				continue;
			}
			self_subscribed++;
			std::this_thread::sleep_for(std::chrono::microseconds(200));
		}
	});
	for (auto &t : churners)
		t.join();
	// Let every self-remover reach its count, then stop.
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	stop = true;
	for (auto &t : threads)
		t.join();
	CHECK(dispatcher.finish() == -HX_EPIPE);

	CHECK(errors == 0);
	CHECK(dead_calls == 0);
	hx_bus_stats stats;
	REQUIRE(hx_bus_get_stats(bus, &stats) == 0);
	// Self-removers that had not reached their count are still subscribed: destroy releases
	// them. Everything else was released by a grace period already, or is waiting for one.
	uint64_t pending = stats.subscribers;
	CHECK(hx_bus_reclaim(bus) >= 0);
	CHECK(released + pending == self_subscribed);
	WARN("churn: " << stats.topics[0].published + stats.topics[8].published
	               << " events published, " << calls_after_self_removal
	               << " calls raced a concurrent self-removal");
}

// ---- A signal handler as an interrupt -----------------------------------------------------------

namespace
{

// The signal handler publishes on its own topic. It only touches atomics and the bus.
struct hx_bus *signal_bus;
std::atomic<uint64_t> signal_seq{ 0 }, signal_accepted{ 0 }, signal_dropped{ 0 }, signal_other{ 0 };
std::atomic<bool> publisher_inside{ false };
std::atomic<uint64_t> signals_inside_publish{ 0 };
constexpr uint32_t SIGNAL_TOPIC = HX_TOPIC_USER(5), THREAD_TOPIC = HX_TOPIC_USER(6);

void on_signal(int)
{
	int saved = errno;
	hx_event event = numbered(SIGNAL_TOPIC, 1, signal_seq.load(std::memory_order_relaxed));

	if (publisher_inside.load(std::memory_order_relaxed))
		signals_inside_publish++;
	int err = hx_bus_publish(signal_bus, &event);
	if (err == 0) {
		signal_accepted++;
		signal_seq++;
	} else if (err == -HX_EAGAIN) {
		signal_dropped++;
	} else {
		signal_other++;
	}
	errno = saved;
}

struct sequence_checker {
	uint64_t next[2] = {};
	uint64_t violations = 0;
};

hx_bus_response sequence_handler(const hx_event *event, void *ctx)
{
	auto *c = static_cast<sequence_checker *>(ctx);
	uint64_t &next = c->next[event->topic == SIGNAL_TOPIC ? 0 : 1];

	if (seq_of(event) != next)
		c->violations++;
	next = seq_of(event) + 1;
	return HX_BUS_HANDLED;
}

} // namespace

// What it shows: hx_bus_publish may run inside a context that interrupted another
// hx_bus_publish on the same thread, the way an interrupt handler interrupts a task in the
// kernel. The interrupted call may be anywhere: before its claim, between claim and publish
// (its slot claimed, not yet readable), or in the consumer wake. The handler's publish must
// complete without waiting for the interrupted one, which cannot run until the handler returns:
// if it ever waited (a lock, a spin on another producer's slot, a sleep) this test would hang.
// And the queue's guarantees must hold: each topic in order, every accepted event delivered.
// The plain and ASan runs interrupt at any instruction. TSan delivers a signal at the interrupted
// thread's next synchronisation point instead, which inside hx_bus_publish means between its
// atomic operations (claim, publish, wake): coarser, but those are the interleavings that matter,
// and TSan checks the handler's accesses against the interrupted ones. The WARN line reports how
// many signals landed inside the thread's publish in the run.
TEST_CASE("a signal handler publishes while its thread is inside hx_bus_publish",
          "[event_bus][stress]")
{
	bus_holder bus(256);
	signal_bus = bus;
	sequence_checker checker;
	hx_subscription sub =
	    make_sub("sequence", SIGNAL_TOPIC | THREAD_TOPIC, sequence_handler, &checker);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);

	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = on_signal;
	sigemptyset(&action.sa_mask);
	action.sa_flags = SA_RESTART;
	struct sigaction old_action;
	REQUIRE(sigaction(SIGUSR1, &action, &old_action) == 0);

	dispatcher_thread dispatcher(bus);
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> thread_accepted{ 0 };
	std::thread publisher([&] {
		for (uint64_t seq = 0; !stop;) {
			hx_event event = numbered(THREAD_TOPIC, 0, seq);
			publisher_inside.store(true, std::memory_order_relaxed);
			int err = hx_bus_publish(bus, &event);
			publisher_inside.store(false, std::memory_order_relaxed);
			if (err == 0) {
				seq++;
				thread_accepted++;
			}
			if (err)
				hx_yield();
			// A little slower than the dispatcher, so that the queue has room for the
			// signal handler's events; no system call here, so a signal lands anywhere
			// in the loop, hx_bus_publish included.
			for (int k = 0; k < 8; k++)
				hx_cpu_relax();
		}
	});
	// One signal at a time, each handled before the next is sent (pending signals merge).
	const int signals = 3000;
	auto handled = [] { return signal_accepted + signal_dropped + signal_other; };
	for (int i = 0; i < signals; i++) {
		uint64_t before = handled();
		pthread_kill(publisher.native_handle(), SIGUSR1);
		while (handled() == before)
			std::this_thread::yield();
	}
	stop = true;
	publisher.join();
	CHECK(dispatcher.finish() == -HX_EPIPE);
	REQUIRE(sigaction(SIGUSR1, &old_action, nullptr) == 0);

	CHECK(signal_other == 0);
	CHECK(signal_accepted + signal_dropped == uint64_t(signals));
	CHECK(checker.violations == 0);
	CHECK(checker.next[0] == signal_accepted);
	CHECK(checker.next[1] == thread_accepted);
	hx_bus_stats stats;
	REQUIRE(hx_bus_get_stats(bus, &stats) == 0);
	CHECK(stats.topics[13].published == signal_accepted);
	CHECK(stats.topics[13].dropped == signal_dropped);
	CHECK(stats.topics[13].delivered == signal_accepted);
	WARN("signals: " << signal_accepted << " accepted, " << signal_dropped << " dropped, "
	                 << signals_inside_publish << " landed inside the thread's publish");
	signal_bus = nullptr;
}
