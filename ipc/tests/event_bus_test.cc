// SPDX-License-Identifier: MIT
// The event bus's contract (ipc/include/helix/ipc/event_bus.h): argument checks and clear errors
// for bad subscriptions and events; priority order with FIFO among equals; STOP and the aggregate
// that names who stopped; topic filters and payloads; the asynchronous path against the
// synchronous one; a full queue (EAGAIN, dropped per topic, high-water mark); unsubscribing from
// inside a handler (itself and others, the context freed at once: ASan watches it) and from
// another task while the handler runs; release functions; publishing from handlers (nesting
// bounded); one dispatcher at a time; shutdown; memory pressure; the global bus; the dump.
// Concurrency (many publishers, churn, storms, a signal handler publishing) is in
// event_bus_stress_test.cc.
//
// Timing: no assertion bounds how long anything takes. Where a test needs a thread to be somewhere
// (inside a handler), it polls a flag rather than sleeping for a guessed time. Catch2's macros
// are not thread-safe: helper threads only record, the main thread checks after join().

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <helix/errors.h>
#include <helix/ipc/event_bus.h>
#include <helix/platform.h>

namespace
{

template <typename Cond> void wait_until(Cond cond)
{
	while (!cond())
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// Owns a bus for the length of a test case.
struct bus_holder {
	struct hx_bus *bus = nullptr;

	explicit bus_holder(size_t capacity = 64)
	{
		REQUIRE(hx_bus_create(capacity, &bus) == 0);
		REQUIRE(bus != nullptr);
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

// A subscriber that records what it saw. Used from one thread at a time.
struct probe {
	std::string name;
	std::vector<std::string> *log = nullptr; // shared walk order, when set
	hx_bus_response answer = HX_BUS_HANDLED;
	std::vector<hx_event> seen;
	int id = 0;
};

hx_bus_response probe_handler(const hx_event *event, void *ctx)
{
	auto *p = static_cast<probe *>(ctx);

	p->seen.push_back(*event);
	if (p->log)
		p->log->push_back(p->name);
	return p->answer;
}

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

int subscribe(struct hx_bus *bus, probe &p, uint32_t topics, int priority = HX_PRIO_NORMAL)
{
	hx_subscription sub = make_sub(p.name.c_str(), topics, probe_handler, &p, priority);
	p.id = hx_bus_subscribe(bus, &sub);
	REQUIRE(p.id > 0);
	return p.id;
}

hx_event tick(uint64_t count)
{
	return hx_event_timer_tick(count, count * 1000);
}

hx_event user(unsigned topic_number, uint32_t code)
{
	return hx_event_user(HX_TOPIC_USER(topic_number), code, nullptr, 0);
}

hx_bus_stats stats_of(struct hx_bus *bus)
{
	hx_bus_stats stats;
	REQUIRE(hx_bus_get_stats(bus, &stats) == 0);
	return stats;
}

hx_bus_subscriber_stats sub_stats_of(struct hx_bus *bus, int id)
{
	hx_bus_subscriber_stats stats;
	REQUIRE(hx_bus_get_subscriber_stats(bus, id, &stats) == 0);
	return stats;
}

hx_bus_response ignore_handler(const hx_event *, void *)
{
	return HX_BUS_IGNORED;
}

} // namespace

TEST_CASE("bad buses, subscriptions and events get clear errors", "[event_bus]")
{
	struct hx_bus *none = nullptr;

	CHECK(hx_bus_create(0, &none) == -HX_EINVAL);
	CHECK(hx_bus_create(HX_BUS_MAX_QUEUE + 1, &none) == -HX_EINVAL);
	CHECK(hx_bus_create(16, nullptr) == -HX_EINVAL);
	CHECK(none == nullptr);

	bus_holder bus;
	int dummy = 0;
	hx_subscription good = make_sub("good", HX_TOPIC_TIMER, ignore_handler, &dummy);

	SECTION("subscriptions")
	{
		hx_subscription sub = good;

		CHECK(hx_bus_subscribe(nullptr, &good) == -HX_EINVAL);
		CHECK(hx_bus_subscribe(bus, nullptr) == -HX_EINVAL);
		sub.handler = nullptr;
		CHECK(hx_bus_subscribe(bus, &sub) == -HX_EINVAL);
		sub = good;
		sub.topics = 0;
		CHECK(hx_bus_subscribe(bus, &sub) == -HX_EINVAL);
		sub = good;
		sub.name = nullptr;
		CHECK(hx_bus_subscribe(bus, &sub) == -HX_EINVAL);
		sub.name = "";
		CHECK(hx_bus_subscribe(bus, &sub) == -HX_EINVAL);
		std::string longest(HX_BUS_NAME_MAX, 'n'), too_long(HX_BUS_NAME_MAX + 1, 'n');
		sub.name = too_long.c_str();
		CHECK(hx_bus_subscribe(bus, &sub) == -HX_ENAMETOOLONG);
		CHECK(stats_of(bus).subscribers == 0);
		sub.name = longest.c_str();
		int id = hx_bus_subscribe(bus, &sub);
		REQUIRE(id > 0);
		CHECK(std::string(sub_stats_of(bus, id).name) == longest);

		CHECK(hx_bus_unsubscribe(nullptr, id) == -HX_EINVAL);
		CHECK(hx_bus_unsubscribe(bus, 0) == -HX_EINVAL);
		CHECK(hx_bus_unsubscribe(bus, -5) == -HX_EINVAL);
		CHECK(hx_bus_unsubscribe(bus, id + 1000) == -HX_ENOENT);
		CHECK(hx_bus_unsubscribe(bus, id) == 0);
		CHECK(hx_bus_unsubscribe(bus, id) == -HX_ENOENT);
		hx_bus_subscriber_stats s;
		CHECK(hx_bus_get_subscriber_stats(bus, id, &s) == -HX_ENOENT);
		CHECK(hx_bus_get_subscriber_stats(bus, id, nullptr) == -HX_EINVAL);
	}

	SECTION("a full bus: HX_BUS_MAX_SUBSCRIBERS, then ENOSPC; unique ids")
	{
		std::vector<int> ids;

		for (unsigned i = 0; i < HX_BUS_MAX_SUBSCRIBERS; i++) {
			int id = hx_bus_subscribe(bus, &good);
			REQUIRE(id > 0);
			ids.push_back(id);
		}
		CHECK(hx_bus_subscribe(bus, &good) == -HX_ENOSPC);
		CHECK(stats_of(bus).subscribers == HX_BUS_MAX_SUBSCRIBERS);
		std::vector<int> sorted = ids;
		std::sort(sorted.begin(), sorted.end());
		CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
		REQUIRE(hx_bus_unsubscribe(bus, ids[7]) == 0);
		int again = hx_bus_subscribe(bus, &good);
		CHECK(again > 0);
		CHECK(std::find(ids.begin(), ids.end(), again) == ids.end());
	}

	SECTION("events")
	{
		hx_event event = tick(1);
		hx_bus_result result;

		CHECK(hx_bus_publish(nullptr, &event) == -HX_EINVAL);
		CHECK(hx_bus_publish(bus, nullptr) == -HX_EINVAL);
		CHECK(hx_bus_publish_sync(bus, nullptr, &result) == -HX_EINVAL);
		event.kind = 0;
		CHECK(hx_bus_publish(bus, &event) == -HX_EINVAL);
		event.kind = HX_EVENT_USER + 1;
		CHECK(hx_bus_publish(bus, &event) == -HX_EINVAL);
		event = tick(1);
		event.topic = 0;
		CHECK(hx_bus_publish(bus, &event) == -HX_EINVAL);
		event.topic = HX_TOPIC_TIMER | HX_TOPIC_PROCESS;
		CHECK(hx_bus_publish(bus, &event) == -HX_EINVAL);
		CHECK(hx_bus_publish_sync(bus, &event, &result) == -HX_EINVAL);
		event.topic = HX_TOPIC_PROCESS; // a tick belongs on the timer topic
		CHECK(hx_bus_publish(bus, &event) == -HX_EINVAL);
		event = user(0, 1);
		event.user.len = HX_EVENT_USER_MAX + 1;
		CHECK(hx_bus_publish(bus, &event) == -HX_EINVAL);
		event.user.len = HX_EVENT_USER_MAX;
		CHECK(hx_bus_publish(bus, &event) == 0);
		event = user(0, 1);
		event.topic = HX_TOPIC_TIMER; // user kinds may travel on any one topic
		CHECK(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		// Nothing refused was counted.
		hx_bus_stats stats = stats_of(bus);
		CHECK(stats.topics[0].published == 1);
		CHECK(stats.topics[8].published == 1);
		CHECK(stats.queued == 1);
		CHECK(hx_bus_dispatch(nullptr, HX_NOWAIT) == -HX_EINVAL);
		CHECK(hx_bus_reclaim(nullptr) == -HX_EINVAL);
		CHECK(hx_bus_get_stats(nullptr, &stats) == -HX_EINVAL);
		CHECK(hx_bus_shutdown(nullptr) == -HX_EINVAL);
	}
}

TEST_CASE("the constructors fill the payload of every kind", "[event_bus]")
{
	hx_event e = hx_event_timer_tick(7, 123);
	CHECK(e.kind == HX_EVENT_TIMER_TICK);
	CHECK(e.topic == HX_TOPIC_TIMER);
	CHECK(e.timestamp_ns == 0);
	CHECK((e.tick.count == 7 && e.tick.ns == 123));
	e = hx_event_process_created(42, 1);
	CHECK((e.kind == HX_EVENT_PROCESS_CREATED && e.topic == HX_TOPIC_PROCESS));
	CHECK((e.created.pid == 42 && e.created.parent == 1));
	e = hx_event_process_exited(42, -9);
	CHECK((e.kind == HX_EVENT_PROCESS_EXITED && e.topic == HX_TOPIC_PROCESS));
	CHECK((e.exited.pid == 42 && e.exited.status == -9));
	e = hx_event_memory_pressure(HX_MEM_PRESSURE_MEDIUM, 5, 100);
	CHECK((e.kind == HX_EVENT_MEMORY_PRESSURE && e.topic == HX_TOPIC_MEMORY));
	CHECK((e.memory.level == HX_MEM_PRESSURE_MEDIUM && e.memory.free_frames == 5 &&
	       e.memory.total_frames == 100));
	char big[HX_EVENT_USER_MAX + 10];
	memset(big, 'x', sizeof(big));
	e = hx_event_user(HX_TOPIC_USER(23), 99, big, sizeof(big));
	CHECK((e.kind == HX_EVENT_USER && e.topic == (1u << 31) && e.user.code == 99));
	CHECK(e.user.len == HX_EVENT_USER_MAX);
	CHECK(memcmp(e.user.data, big, HX_EVENT_USER_MAX) == 0);
}

TEST_CASE("priority order: high, normal, low; FIFO among equals; sync and async alike",
          "[event_bus]")
{
	bus_holder bus;
	std::vector<std::string> log;
	std::vector<probe> probes(8);
	const char *names[] = { "low1", "norm1", "high1", "norm2", "high2", "mid", "low2", "neg" };
	int priorities[] = { HX_PRIO_LOW,  HX_PRIO_NORMAL,
		             HX_PRIO_HIGH, HX_PRIO_NORMAL,
		             HX_PRIO_HIGH, 50,
		             HX_PRIO_LOW,  -5 };
	const std::vector<std::string> expected = { "high1", "high2", "mid",  "norm1",
		                                    "norm2", "neg",   "low1", "low2" };

	for (size_t i = 0; i < probes.size(); i++) {
		probes[i].name = names[i];
		probes[i].log = &log;
		subscribe(bus, probes[i], HX_TOPIC_TIMER, priorities[i]);
	}

	hx_event event = tick(1);
	hx_bus_result result;
	memset(&result, 0x5a, sizeof(result));
	REQUIRE(hx_bus_publish_sync(bus, &event, &result) == 0);
	CHECK(log == expected);
	CHECK(result.delivered == 8);
	CHECK(result.handled == 8);
	CHECK_FALSE(result.stopped);
	CHECK(result.stopped_by == 0);
	CHECK(std::string(result.stopped_by_name).empty());

	log.clear();
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	CHECK(log.empty()); // queued, not delivered
	CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == 1);
	CHECK(log == expected);

	// A zero-initialised priority is HX_PRIO_NORMAL: after norm2, before neg.
	probe late;
	late.name = "late_normal";
	late.log = &log;
	hx_subscription sub = make_sub("late_normal", HX_TOPIC_TIMER, probe_handler, &late);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);
	log.clear();
	REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
	CHECK(log == std::vector<std::string>{ "high1", "high2", "mid", "norm1", "norm2",
	                                       "late_normal", "neg", "low1", "low2" });
}

TEST_CASE("STOP ends the walk; the aggregate names who stopped", "[event_bus]")
{
	bus_holder bus;
	std::vector<std::string> log;
	probe audit, veto, late;
	audit.name = "audit";
	veto.name = "veto";
	late.name = "late";
	audit.log = veto.log = late.log = &log;
	audit.answer = HX_BUS_IGNORED;
	veto.answer = HX_BUS_STOP;
	subscribe(bus, audit, HX_TOPIC_PROCESS, HX_PRIO_HIGH);
	subscribe(bus, veto, HX_TOPIC_PROCESS, HX_PRIO_NORMAL);
	subscribe(bus, late, HX_TOPIC_PROCESS, HX_PRIO_LOW);

	hx_event event = hx_event_process_created(10, 1);
	hx_bus_result result;
	REQUIRE(hx_bus_publish_sync(bus, &event, &result) == 0);
	CHECK(log == std::vector<std::string>{ "audit", "veto" });
	CHECK(result.delivered == 2);
	CHECK(result.handled == 1); // STOP counts as handled, IGNORED does not
	CHECK(result.stopped);
	CHECK(result.stopped_by == veto.id);
	CHECK(std::string(result.stopped_by_name) == "veto");

	// Through the dispatcher: the same walk, counted in the statistics.
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 1);
	CHECK(late.seen.empty());
	hx_bus_stats stats = stats_of(bus);
	CHECK(stats.topics[1].published == 2);
	CHECK(stats.topics[1].delivered == 2);
	CHECK(stats.topics[1].calls == 4);
	CHECK(stats.topics[1].stopped == 2);
	CHECK(stats.dispatched == 1);
	hx_bus_subscriber_stats s = sub_stats_of(bus, veto.id);
	CHECK((s.delivered == 2 && s.handled == 2 && s.stopped == 2));
	CHECK(std::string(s.name) == "veto");
	CHECK((s.priority == HX_PRIO_NORMAL && s.topics == HX_TOPIC_PROCESS));
	s = sub_stats_of(bus, audit.id);
	CHECK((s.delivered == 2 && s.handled == 0 && s.stopped == 0));
	CHECK(sub_stats_of(bus, late.id).delivered == 0);

	// Without the veto, the walk reaches everyone.
	REQUIRE(hx_bus_unsubscribe(bus, veto.id) == 0);
	log.clear();
	REQUIRE(hx_bus_publish_sync(bus, &event, &result) == 0);
	CHECK(log == std::vector<std::string>{ "audit", "late" });
	CHECK((result.delivered == 2 && result.handled == 1 && !result.stopped));
}

TEST_CASE("topic filters: each subscriber sees only its topics, with the payload intact",
          "[event_bus]")
{
	bus_holder bus;
	probe timer, process, timer_memory, all, user3;
	timer.name = "timer";
	process.name = "process";
	timer_memory.name = "timer_memory";
	all.name = "all";
	user3.name = "user3";
	subscribe(bus, timer, HX_TOPIC_TIMER);
	subscribe(bus, process, HX_TOPIC_PROCESS);
	subscribe(bus, timer_memory, HX_TOPIC_TIMER | HX_TOPIC_MEMORY);
	subscribe(bus, all, HX_TOPIC_ALL);
	subscribe(bus, user3, HX_TOPIC_USER(3));

	const char payload[] = "hello";
	std::vector<hx_event> events = {
		hx_event_timer_tick(5, 5000),
		hx_event_process_created(7, 1),
		hx_event_process_exited(7, 3),
		hx_event_memory_pressure(HX_MEM_PRESSURE_LOW, 20, 100),
		hx_event_user(HX_TOPIC_USER(3), 33, payload, sizeof(payload)),
		hx_event_user(HX_TOPIC_USER(4), 44, nullptr, 0),
	};
	std::vector<uint32_t> expected_calls = { 3, 2, 2, 2, 2, 1 };
	events[1].timestamp_ns = 77; // a given timestamp is kept

	for (bool async : { false, true }) {
		for (probe *p : { &timer, &process, &timer_memory, &all, &user3 })
			p->seen.clear();
		for (size_t i = 0; i < events.size(); i++) {
			if (async) {
				REQUIRE(hx_bus_publish(bus, &events[i]) == 0);
			} else {
				hx_bus_result result;
				REQUIRE(hx_bus_publish_sync(bus, &events[i], &result) == 0);
				CHECK(result.delivered == expected_calls[i]);
			}
		}
		if (async)
			REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == int(events.size()));

		REQUIRE(timer.seen.size() == 1);
		CHECK((timer.seen[0].tick.count == 5 && timer.seen[0].tick.ns == 5000));
		CHECK(timer.seen[0].timestamp_ns != 0); // stamped at publish
		REQUIRE(process.seen.size() == 2);
		CHECK(process.seen[0].kind == HX_EVENT_PROCESS_CREATED);
		CHECK((process.seen[0].created.pid == 7 && process.seen[0].created.parent == 1));
		CHECK(process.seen[0].timestamp_ns == 77);
		CHECK(process.seen[1].kind == HX_EVENT_PROCESS_EXITED);
		CHECK(process.seen[1].exited.status == 3);
		REQUIRE(timer_memory.seen.size() == 2);
		CHECK(timer_memory.seen[1].memory.level == HX_MEM_PRESSURE_LOW);
		CHECK(timer_memory.seen[1].memory.free_frames == 20);
		CHECK(all.seen.size() == events.size());
		for (size_t i = 0; i < all.seen.size(); i++)
			CHECK(all.seen[i].kind == events[i].kind); // in publish order
		REQUIRE(user3.seen.size() == 1);
		CHECK(user3.seen[0].user.code == 33);
		CHECK(user3.seen[0].user.len == sizeof(payload));
		CHECK(std::string((const char *)user3.seen[0].user.data) == "hello");
	}
}

TEST_CASE("a full queue: EAGAIN, dropped per topic, the high-water mark", "[event_bus]")
{
	bus_holder bus(4);
	probe all;
	all.name = "all";
	subscribe(bus, all, HX_TOPIC_ALL);

	hx_event t = tick(1), p = hx_event_process_created(1, 0),
	         m = hx_event_memory_pressure(HX_MEM_PRESSURE_LOW, 1, 10);
	for (int i = 0; i < 3; i++)
		REQUIRE(hx_bus_publish(bus, &t) == 0);
	REQUIRE(hx_bus_publish(bus, &p) == 0);
	CHECK(hx_bus_publish(bus, &t) == -HX_EAGAIN);
	CHECK(hx_bus_publish(bus, &t) == -HX_EAGAIN);
	CHECK(hx_bus_publish(bus, &m) == -HX_EAGAIN);
	// Sync delivery does not need the queue.
	REQUIRE(hx_bus_publish_sync(bus, &m, nullptr) == 0);

	hx_bus_stats stats = stats_of(bus);
	CHECK(stats.topics[0].published == 3);
	CHECK(stats.topics[0].dropped == 2);
	CHECK(stats.topics[1].published == 1);
	CHECK(stats.topics[1].dropped == 0);
	CHECK(stats.topics[2].published == 1);
	CHECK(stats.topics[2].dropped == 1);
	CHECK(stats.queued == 4);
	CHECK(stats.queue_capacity == 4);
	CHECK(stats.queue_high_water == 4);

	CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == 4);
	CHECK(all.seen.size() == 5);
	stats = stats_of(bus);
	CHECK(stats.queued == 0);
	CHECK(stats.dispatched == 4);
	CHECK(stats.topics[0].delivered == 3);
	REQUIRE(hx_bus_publish(bus, &t) == 0);
	CHECK(stats_of(bus).queue_high_water == 4);
}

// ---- Unsubscribing from inside a handler --------------------------------------------------------

namespace
{

// A context that the handler frees itself, right after unsubscribing: were the bus to call the
// handler again (or touch the context), ASan would report a use after free.
struct self_remover {
	struct hx_bus *bus;
	int id = 0;
	std::atomic<int> *calls;     // outlives the context
	std::atomic<int> *unsub_err; // likewise
	uint64_t canary = 0x5e1f;
};

hx_bus_response self_remover_handler(const hx_event *, void *ctx)
{
	auto *self = static_cast<self_remover *>(ctx);

	REQUIRE(self->canary == 0x5e1f);
	(*self->calls)++;
	*self->unsub_err = hx_bus_unsubscribe(self->bus, self->id);
	delete self;
	return HX_BUS_HANDLED;
}

struct counter_ctx {
	std::atomic<int> calls{ 0 };
};

hx_bus_response count_handler(const hx_event *, void *ctx)
{
	static_cast<counter_ctx *>(ctx)->calls++;
	return HX_BUS_HANDLED;
}

} // namespace

TEST_CASE("a handler that unsubscribes itself receives nothing afterwards", "[event_bus]")
{
	bus_holder bus;
	std::atomic<int> calls{ 0 }, unsub_err{ 1 };
	counter_ctx after;
	hx_subscription after_sub =
	    make_sub("after", HX_TOPIC_TIMER, count_handler, &after, HX_PRIO_LOW);
	REQUIRE(hx_bus_subscribe(bus, &after_sub) > 0);

	auto add_remover = [&] {
		auto *self = new self_remover{ bus, 0, &calls, &unsub_err };
		hx_subscription sub =
		    make_sub("remover", HX_TOPIC_TIMER, self_remover_handler, self, HX_PRIO_HIGH);
		sub.id_out = &self->id;
		int id = hx_bus_subscribe(bus, &sub);
		REQUIRE(id > 0);
		REQUIRE(self->id == id);
	};
	hx_event event = tick(1);

	SECTION("synchronous walks")
	{
		add_remover();
		hx_bus_result result;
		REQUIRE(hx_bus_publish_sync(bus, &event, &result) == 0);
		CHECK(result.delivered == 2); // the walk went on past the removed one
		REQUIRE(hx_bus_publish_sync(bus, &event, &result) == 0);
		CHECK(result.delivered == 1);
		CHECK(calls == 1);
		CHECK(after.calls == 2);
		// Nobody dispatches: the record waits for a grace period until someone reclaims.
		CHECK(stats_of(bus).retired >= 1);
		CHECK(hx_bus_reclaim(bus) >= 2); // the record and the list it left
		CHECK(stats_of(bus).retired == 0);
	}

	SECTION("queued events: later events of the same dispatcher batch skip it")
	{
		add_remover();
		for (int i = 0; i < 5; i++)
			REQUIRE(hx_bus_publish(bus, &event) == 0);
		CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == 5);
		CHECK(calls == 1);
		CHECK(after.calls == 5);
		// The dispatcher reclaimed when its queue ran empty.
		CHECK(stats_of(bus).retired == 0);
	}
	CHECK(unsub_err == 0);
	CHECK(stats_of(bus).subscribers == 1);
}

namespace
{

// Unsubscribes another subscription and frees its context at once.
struct other_remover {
	struct hx_bus *bus;
	int victim_id = 0;
	struct probe *victim = nullptr;
	int result = 1;
	int calls = 0;
};

hx_bus_response other_remover_handler(const hx_event *, void *ctx)
{
	auto *self = static_cast<other_remover *>(ctx);

	self->calls++;
	if (self->victim) {
		self->result = hx_bus_unsubscribe(self->bus, self->victim_id);
		delete self->victim;
		self->victim = nullptr;
	}
	return HX_BUS_HANDLED;
}

} // namespace

TEST_CASE("a handler unsubscribes another subscriber, before or after it in the walk",
          "[event_bus]")
{
	bus_holder bus;
	other_remover remover{ bus };
	counter_ctx last;
	auto *victim = new probe;
	victim->name = "victim";
	bool victim_first = GENERATE(false, true);
	bool async = GENERATE(false, true);

	// The victim runs after the remover (removed before its turn: skipped in this walk) or
	// before it (already called in this walk: skipped from the next event on).
	subscribe(bus, *victim, HX_TOPIC_TIMER, victim_first ? HX_PRIO_HIGH : HX_PRIO_LOW);
	hx_subscription sub = make_sub("remover", HX_TOPIC_TIMER, other_remover_handler, &remover);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);
	sub = make_sub("last", HX_TOPIC_TIMER, count_handler, &last, HX_PRIO_LOW - 1);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);
	remover.victim = victim;
	remover.victim_id = victim->id;

	hx_event event = tick(1);
	for (int i = 0; i < 3; i++) {
		if (async) {
			REQUIRE(hx_bus_publish(bus, &event) == 0);
		} else {
			hx_bus_result result;
			REQUIRE(hx_bus_publish_sync(bus, &event, &result) == 0);
			CHECK(result.delivered == (i == 0 && victim_first ? 3u : 2u));
		}
	}
	if (async)
		REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 3);
	CHECK(remover.result == 0);
	CHECK(remover.calls == 3);
	CHECK(last.calls == 3);
	CHECK(stats_of(bus).subscribers == 2);
	// (The victim's context is gone: any call after the unsubscribe was a use after free.)
}

TEST_CASE("a subscription made inside a handler joins from the next event", "[event_bus]")
{
	bus_holder bus;
	struct adder {
		struct hx_bus *bus;
		probe *newcomer;
		int added = 0;
	};
	probe newcomer;
	newcomer.name = "newcomer";
	adder a{ bus, &newcomer };
	auto handler = [](const hx_event *, void *ctx) -> hx_bus_response {
		auto *self = static_cast<adder *>(ctx);
		if (!self->added) {
			hx_subscription sub = make_sub("newcomer", HX_TOPIC_TIMER, probe_handler,
			                               self->newcomer, HX_PRIO_LOW);
			self->added = hx_bus_subscribe(self->bus, &sub);
		}
		return HX_BUS_HANDLED;
	};
	hx_subscription sub = make_sub("adder", HX_TOPIC_TIMER, handler, &a, HX_PRIO_HIGH);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);

	hx_event event = tick(1);
	for (int i = 0; i < 3; i++)
		REQUIRE(hx_bus_publish(bus, &event) == 0);
	REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 3);
	CHECK(a.added > 0);
	CHECK(newcomer.seen.size() == 2); // not the event whose walk added it
}

namespace
{

struct gated {
	std::atomic<bool> entered{ false };
	std::atomic<bool> open{ false };
	std::atomic<int> calls{ 0 };
	uint64_t touched = 0;
};

hx_bus_response gated_handler(const hx_event *, void *ctx)
{
	auto *g = static_cast<gated *>(ctx);

	g->calls++;
	g->entered = true;
	while (!g->open)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	g->touched++; // after the gate: the context must still be alive
	return HX_BUS_HANDLED;
}

} // namespace

TEST_CASE("unsubscribe from another task returns only after the running handler returned",
          "[event_bus]")
{
	bus_holder bus;
	auto *g = new gated;
	hx_subscription sub = make_sub("gated", HX_TOPIC_TIMER, gated_handler, g);
	int id = hx_bus_subscribe(bus, &sub);
	REQUIRE(id > 0);
	std::atomic<int> dispatch_result{ 1 };
	std::thread dispatcher([&] { dispatch_result = hx_bus_dispatch(bus, HX_FOREVER); });

	hx_event event = tick(1);
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	wait_until([&] { return g->entered.load(); });

	std::atomic<bool> unsubscribed{ false };
	std::atomic<int> unsub_err{ 1 };
	std::thread remover([&] {
		unsub_err = hx_bus_unsubscribe(bus, id);
		unsubscribed = true;
	});
	// While the handler is held at its gate, unsubscribe must wait (its grace period covers the
	// dispatcher's walk). A pass here proves nothing; a failure is a real bug.
	std::this_thread::sleep_for(std::chrono::milliseconds(30));
	CHECK_FALSE(unsubscribed.load());
	// The handler is unlinked already: events published now do not reach it.
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	g->open = true;
	remover.join();
	CHECK(unsub_err == 0);
	CHECK(g->touched == 1);
	delete g; // the bus is done with it: ASan would catch a later call

	REQUIRE(hx_bus_publish(bus, &event) == 0);
	REQUIRE(hx_bus_shutdown(bus) == 0);
	dispatcher.join();
	CHECK(dispatch_result == -HX_EPIPE);
	hx_bus_stats stats = stats_of(bus);
	CHECK(stats.dispatched == 3);
	CHECK(stats.topics[0].calls == 1);
}

namespace
{

struct released {
	std::atomic<int> releases{ 0 };
	std::atomic<int> calls{ 0 };
	struct hx_bus *bus = nullptr;
	int id = 0;
	bool remove_self = false;
};

void release_fn(void *ctx)
{
	static_cast<released *>(ctx)->releases++;
}

hx_bus_response released_handler(const hx_event *, void *ctx)
{
	auto *r = static_cast<released *>(ctx);

	r->calls++;
	if (r->remove_self)
		hx_bus_unsubscribe(r->bus, r->id);
	return HX_BUS_HANDLED;
}

int subscribe_released(struct hx_bus *bus, released &r, bool remove_self)
{
	hx_subscription sub = make_sub("released", HX_TOPIC_TIMER, released_handler, &r);
	sub.release = release_fn;
	r.bus = bus;
	r.remove_self = remove_self;
	r.id = hx_bus_subscribe(bus, &sub);
	REQUIRE(r.id > 0);
	return r.id;
}

} // namespace

TEST_CASE("release runs once, when the bus is done with the context", "[event_bus]")
{
	hx_event event = tick(1);

	SECTION("unsubscribe outside handlers: before it returns")
	{
		bus_holder bus;
		released r;
		subscribe_released(bus, r, false);
		REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		CHECK(r.releases == 0);
		REQUIRE(hx_bus_unsubscribe(bus, r.id) == 0);
		CHECK(r.releases == 1);
	}
	SECTION("unsubscribe inside a handler, no dispatcher: at hx_bus_reclaim")
	{
		bus_holder bus;
		released r;
		subscribe_released(bus, r, true);
		REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		CHECK(r.calls == 1);
		CHECK(r.releases == 0);
		CHECK(hx_bus_reclaim(bus) >= 1);
		CHECK(r.releases == 1);
		CHECK(hx_bus_reclaim(bus) == 0);
		CHECK(r.releases == 1);
	}
	SECTION("unsubscribe inside a handler on the dispatcher: when its queue runs empty")
	{
		bus_holder bus;
		released r;
		subscribe_released(bus, r, true);
		REQUIRE(hx_bus_publish(bus, &event) == 0);
		REQUIRE(hx_bus_publish(bus, &event) == 0);
		REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 2);
		CHECK(r.calls == 1);
		CHECK(r.releases == 1);
	}
	SECTION("another subscribe outside handlers reclaims too")
	{
		bus_holder bus;
		released r;
		subscribe_released(bus, r, true);
		REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		hx_subscription sub = make_sub("other", HX_TOPIC_TIMER, ignore_handler, nullptr);
		REQUIRE(hx_bus_subscribe(bus, &sub) > 0);
		CHECK(r.releases == 1);
	}
	SECTION("hx_bus_destroy: live subscriptions too")
	{
		released r1, r2;
		{
			bus_holder bus;
			subscribe_released(bus, r1, false);
			subscribe_released(bus, r2, true);
			REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
			CHECK(r1.releases + r2.releases == 0);
		}
		CHECK(r1.releases == 1);
		CHECK(r2.releases == 1);
	}
}

// ---- Publishing from handlers -------------------------------------------------------------------

namespace
{

struct recursive {
	struct hx_bus *bus;
	int calls = 0;
	std::vector<int> results; // what each nested publish_sync returned, innermost first
};

hx_bus_response recursive_handler(const hx_event *event, void *ctx)
{
	auto *r = static_cast<recursive *>(ctx);

	r->calls++;
	hx_event again = *event;
	r->results.push_back(hx_bus_publish_sync(r->bus, &again, nullptr));
	return HX_BUS_HANDLED;
}

struct chain {
	struct hx_bus *bus;
	int ticks = 0, processes = 0;
	int publish_result = 1, sync_result = 1, dispatch_result = 1, reclaim_result = 1;
	hx_bus_result nested;
};

hx_bus_response chain_handler(const hx_event *event, void *ctx)
{
	auto *c = static_cast<chain *>(ctx);

	if (event->topic == HX_TOPIC_TIMER) {
		c->ticks++;
		hx_event p = hx_event_process_created(c->ticks, 0);
		c->publish_result = hx_bus_publish(c->bus, &p);
		hx_event m = hx_event_memory_pressure(HX_MEM_PRESSURE_NONE, 1, 1);
		c->sync_result = hx_bus_publish_sync(c->bus, &m, &c->nested);
		c->dispatch_result = hx_bus_dispatch(c->bus, HX_NOWAIT);
		c->reclaim_result = hx_bus_reclaim(c->bus);
	} else if (event->topic == HX_TOPIC_PROCESS) {
		c->processes++;
	}
	return HX_BUS_HANDLED;
}

} // namespace

TEST_CASE("handlers publish: sync nesting is bounded, async is queued", "[event_bus]")
{
	SECTION("a handler that re-publishes its own topic synchronously stops at the bound")
	{
		bus_holder bus;
		recursive r{ bus };
		hx_subscription sub =
		    make_sub("recursive", HX_TOPIC_USER(0), recursive_handler, &r);
		REQUIRE(hx_bus_subscribe(bus, &sub) > 0);
		hx_event event = user(0, 1);
		REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		CHECK(r.calls == int(HX_BUS_MAX_NESTING));
		REQUIRE(r.results.size() == HX_BUS_MAX_NESTING);
		CHECK(r.results.front() == -HX_EBUSY); // the innermost
		for (size_t i = 1; i < r.results.size(); i++)
			CHECK(r.results[i] == 0);
		// The walks unwound: the task can publish again from the top.
		r.calls = 0;
		r.results.clear();
		REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		CHECK(r.calls == int(HX_BUS_MAX_NESTING));

		// On the dispatcher its own walk counts as one level.
		r.calls = 0;
		REQUIRE(hx_bus_publish(bus, &event) == 0);
		REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 1);
		CHECK(r.calls == int(HX_BUS_MAX_NESTING));
	}

	SECTION("from the dispatcher's handler: async is queued behind, sync is delivered at once")
	{
		bus_holder bus;
		chain c{ bus };
		probe memory;
		memory.name = "memory";
		subscribe(bus, memory, HX_TOPIC_MEMORY);
		hx_subscription sub =
		    make_sub("chain", HX_TOPIC_TIMER | HX_TOPIC_PROCESS, chain_handler, &c);
		REQUIRE(hx_bus_subscribe(bus, &sub) > 0);

		hx_event event = tick(1);
		REQUIRE(hx_bus_publish(bus, &event) == 0);
		CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == 2); // the tick, then the queued process
		CHECK(c.ticks == 1);
		CHECK(c.processes == 1);
		CHECK(c.publish_result == 0);
		CHECK(c.sync_result == 0);
		CHECK(c.nested.delivered == 1);
		CHECK(memory.seen.size() == 1);
		CHECK(c.dispatch_result == -HX_EBUSY); // not from a handler of the bus
		CHECK(c.reclaim_result == -HX_EBUSY);

		// The same from a synchronous walk on this thread.
		REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
		CHECK(c.ticks == 2);
		CHECK(c.processes == 1);
		CHECK(c.dispatch_result == -HX_EBUSY);
		CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == 1);
		CHECK(c.processes == 2);
	}
}

TEST_CASE("one dispatcher at a time; shutdown drains and then refuses", "[event_bus]")
{
	bus_holder bus;
	counter_ctx counter;
	hx_subscription sub = make_sub("counter", HX_TOPIC_TIMER, count_handler, &counter);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);

	std::atomic<int> result{ 1 };
	std::thread dispatcher([&] { result = hx_bus_dispatch(bus, HX_FOREVER); });
	hx_event event = tick(1);
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	wait_until([&] { return counter.calls.load() == 1; });
	CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == -HX_EBUSY);

	REQUIRE(hx_bus_shutdown(bus) == 0);
	dispatcher.join();
	CHECK(result == -HX_EPIPE);
	CHECK(hx_bus_shutdown(bus) == -HX_EPIPE);
	CHECK(hx_bus_publish(bus, &event) == -HX_EPIPE);
	CHECK(hx_bus_publish_sync(bus, &event, nullptr) == -HX_EPIPE);
	CHECK(stats_of(bus).topics[0].dropped == 0); // refused, not dropped

	// Events accepted before the shutdown are still delivered.
	bus_holder other;
	REQUIRE(hx_bus_subscribe(other, &sub) > 0);
	REQUIRE(hx_bus_publish(other, &event) == 0);
	REQUIRE(hx_bus_publish(other, &event) == 0);
	REQUIRE(hx_bus_shutdown(other) == 0);
	CHECK(hx_bus_dispatch(other, HX_FOREVER) == -HX_EPIPE);
	CHECK(counter.calls == 3);
}

TEST_CASE("dispatch with a deadline returns the count when the deadline passes", "[event_bus]")
{
	bus_holder bus;
	counter_ctx counter;
	hx_subscription sub = make_sub("counter", HX_TOPIC_TIMER, count_handler, &counter);
	REQUIRE(hx_bus_subscribe(bus, &sub) > 0);
	hx_event event = tick(1);
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	uint64_t deadline = hx_time_ns() + 5 * 1000 * 1000;
	CHECK(hx_bus_dispatch(bus, deadline) == 2);
	CHECK(hx_time_ns() >= deadline);
	CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == 0);
}

TEST_CASE("memory pressure: levels, and a watch that publishes changes only", "[event_bus]")
{
	CHECK(hx_mem_pressure_level(100, 100) == HX_MEM_PRESSURE_NONE);
	CHECK(hx_mem_pressure_level(25, 100) == HX_MEM_PRESSURE_NONE);
	CHECK(hx_mem_pressure_level(24, 100) == HX_MEM_PRESSURE_LOW);
	CHECK(hx_mem_pressure_level(10, 100) == HX_MEM_PRESSURE_LOW);
	CHECK(hx_mem_pressure_level(9, 100) == HX_MEM_PRESSURE_MEDIUM);
	CHECK(hx_mem_pressure_level(3, 100) == HX_MEM_PRESSURE_MEDIUM);
	CHECK(hx_mem_pressure_level(2, 100) == HX_MEM_PRESSURE_CRITICAL);
	CHECK(hx_mem_pressure_level(0, 0) == HX_MEM_PRESSURE_NONE);
	CHECK(hx_mem_pressure_level(UINT64_MAX / 5, UINT64_MAX) == HX_MEM_PRESSURE_LOW);

	bus_holder bus(2);
	probe memory;
	memory.name = "memory";
	subscribe(bus, memory, HX_TOPIC_MEMORY);
	hx_mem_watch watch = HX_MEM_WATCH_INIT;
	const uint64_t total = 6400; // thresholds 1600, 640, 192; hysteresis margin 100

	CHECK(hx_bus_note_memory(bus, &watch, 6400, total) == 0);
	CHECK(hx_bus_note_memory(bus, &watch, 1000, total) == 1); // low
	CHECK(hx_bus_note_memory(bus, &watch, 900, total) == 0);
	CHECK(hx_bus_note_memory(bus, &watch, 1650, total) == 0); // inside the margin: still low
	REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 1);
	CHECK(hx_bus_note_memory(bus, &watch, 1700, total) == 1); // none again
	CHECK(hx_bus_note_memory(bus, &watch, 100, total) == 1);  // critical, straight away
	CHECK(hx_bus_note_memory(bus, &watch, 250, total) == 0);  // medium, but inside the margin
	REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 2);
	CHECK(hx_bus_note_memory(bus, &watch, 300, total) == 1); // medium
	REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 1);

	REQUIRE(memory.seen.size() == 4);
	uint32_t levels[] = { HX_MEM_PRESSURE_LOW, HX_MEM_PRESSURE_NONE, HX_MEM_PRESSURE_CRITICAL,
		              HX_MEM_PRESSURE_MEDIUM };
	for (size_t i = 0; i < 4; i++)
		CHECK(memory.seen[i].memory.level == levels[i]);
	CHECK(memory.seen[0].memory.free_frames == 1000);
	CHECK(memory.seen[0].memory.total_frames == total);

	// A change that could not be queued is tried again by the next call.
	hx_event filler = user(0, 0);
	REQUIRE(hx_bus_publish(bus, &filler) == 0);
	REQUIRE(hx_bus_publish(bus, &filler) == 0);
	CHECK(hx_bus_note_memory(bus, &watch, 6400, total) == -HX_EAGAIN);
	CHECK(stats_of(bus).topics[2].dropped == 1);
	REQUIRE(hx_bus_dispatch(bus, HX_NOWAIT) == 2);
	CHECK(hx_bus_note_memory(bus, &watch, 6400, total) == 1);
	CHECK(hx_bus_note_memory(nullptr, &watch, 1, total) == -HX_EINVAL);
	CHECK(hx_bus_note_memory(bus, nullptr, 1, total) == -HX_EINVAL);
}

TEST_CASE("the global bus: one, created on first use", "[event_bus]")
{
	struct hx_bus *bus = hx_global_event_bus();
	REQUIRE(bus != nullptr);
	CHECK(hx_global_event_bus() == bus);
	CHECK(stats_of(bus).queue_capacity == HX_BUS_DEFAULT_QUEUE);

	probe p;
	p.name = "global";
	subscribe(bus, p, HX_TOPIC_TIMER);
	hx_event event = tick(9);
	hx_bus_result result;
	REQUIRE(hx_bus_publish_sync(bus, &event, &result) == 0);
	CHECK(result.delivered >= 1);
	REQUIRE(p.seen.size() == 1);
	CHECK(p.seen[0].tick.count == 9);
	CHECK(hx_bus_unsubscribe(bus, p.id) == 0);
}

TEST_CASE("the dump prints without disturbing anything", "[event_bus]")
{
	bus_holder bus;
	probe a, b;
	a.name = "security";
	b.name = "logger";
	subscribe(bus, a, HX_TOPIC_ALL, HX_PRIO_HIGH);
	subscribe(bus, b, HX_TOPIC_TIMER);
	hx_event event = tick(1);
	REQUIRE(hx_bus_publish(bus, &event) == 0);
	REQUIRE(hx_bus_publish_sync(bus, &event, nullptr) == 0);
	hx_bus_dump(bus);
	hx_bus_dump(nullptr);
	CHECK(hx_bus_dispatch(bus, HX_NOWAIT) == 1);
	CHECK(a.seen.size() == 2);
}
