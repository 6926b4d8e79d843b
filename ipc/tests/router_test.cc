// SPDX-License-Identifier: MIT
// The router's contract (ipc/include/helix/ipc/router.h): names and registration, ids and dead
// targets (unregistered, re-registered, unregistered while callers wait), deadlines and late
// replies (the caller's buffer is never written after the call returned: ASan watches a freed
// one), EMSGSIZE with the size needed, handler statuses, one-way sends, a full queue (EAGAIN and
// waiting), a slow module beside a fast one, and 8 callers x 1000 calls matched to their request
// ids exactly once.
//
// Timing: no assertion bounds how long anything takes (a shared, noisy machine); deadlines are
// only checked to have passed. Where a test needs a thread to be somewhere (inside a handler, in
// the queue), it polls the router's own counters rather than sleeping for a guessed time.
//
// Catch2's assertion macros are not thread-safe: helper threads only record results, the main
// thread checks them after join().

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <helix/errors.h>
#include <helix/ipc/router.h>
#include <helix/platform.h>

namespace
{

constexpr uint64_t MS = 1000000;

enum method : uint32_t {
	ECHO = 1,       // reply: the request id (8 bytes), then the payload
	FAIL = 2,       // reply "nope", status -HX_ENOENT
	SIZED = 3,      // payload: a uint32_t n; reply: n pattern bytes (len n even beyond cap)
	GATED = 4,      // wait until the gate opens, then fill the whole reply buffer with 0x5a
	NOTE = 5,       // one-way: count it
	STATUS = 6,     // payload: an int; return it as the status, no bytes
	UNREGISTER = 7, // unregister the module's own id
	DEADLINE = 8,   // reply: req->deadline_ns
};

// Polls until @cond holds. No upper bound: a condition that never comes true is a hang that
// Bazel's test timeout reports; a bound here would be a guess about the machine's speed.
template <typename Cond> void wait_until(Cond cond)
{
	while (!cond())
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

unsigned char pattern_byte(size_t offset)
{
	uint32_t x = uint32_t(offset) * 2654435761u;
	return (unsigned char)(x ^ (x >> 13));
}

// A module's context: what the handler saw. The handler runs on the serving thread only; the
// plain fields are read by the main thread after that thread is joined.
struct test_module {
	struct hx_router *router = nullptr;
	uint64_t id = 0;
	std::atomic<bool> gate_open{ true };
	std::atomic<int> in_gated{ 0 };     // GATED handlers entered
	std::atomic<uint64_t> handled{ 0 }; // every method
	std::atomic<uint64_t> notes{ 0 };
	std::atomic<int> unregister_result{ 1 };
	std::vector<uint64_t> echo_ids; // ids of the ECHO requests, in order
	bool one_way_reply_empty = true;

	~test_module()
	{
		gate_open = true;
	}
};

int test_handler(void *ctx, const struct hx_router_request *req, struct hx_router_reply *reply)
{
	auto *m = static_cast<test_module *>(ctx);

	m->handled++;
	switch (req->method) {
	case ECHO:
		m->echo_ids.push_back(req->id);
		reply->len = sizeof(req->id) + req->len;
		if (reply->len > reply->cap)
			return 0; // the caller gets -HX_EMSGSIZE
		memcpy(reply->data, &req->id, sizeof(req->id));
		if (req->len)
			memcpy(static_cast<unsigned char *>(reply->data) + sizeof(req->id),
			       req->payload, req->len);
		return 0;
	case FAIL:
		hx_router_reply_set(reply, "nope", 4);
		return -HX_ENOENT;
	case SIZED: {
		uint32_t n = 0;
		memcpy(&n, req->payload, sizeof(n));
		reply->len = n;
		for (size_t i = 0; i < n && i < reply->cap; i++)
			static_cast<unsigned char *>(reply->data)[i] = pattern_byte(i);
		return 0;
	}
	case GATED:
		m->in_gated++;
		while (!m->gate_open)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		// The whole router-owned buffer: were it the caller's, ASan or the pattern check
		// would see it.
		if (reply->cap)
			memset(reply->data, 0x5a, reply->cap);
		reply->len = reply->cap;
		return 0;
	case NOTE:
		m->notes++;
		if (!req->one_way || reply->cap != 0 || reply->data != nullptr)
			m->one_way_reply_empty = false;
		return 0;
	case STATUS: {
		int status = 0;
		memcpy(&status, req->payload, sizeof(status));
		return status;
	}
	case UNREGISTER:
		m->unregister_result = hx_router_unregister(m->router, m->id);
		return 0;
	case DEADLINE:
		hx_router_reply_set(reply, &req->deadline_ns, sizeof(req->deadline_ns));
		return 0;
	default:
		return -HX_ENOSYS;
	}
}

// Owns a router for the length of a test case.
struct router_holder {
	struct hx_router *router = nullptr;

	explicit router_holder(size_t max_modules = 16)
	{
		REQUIRE(hx_router_create(max_modules, &router) == 0);
		REQUIRE(router != nullptr);
	}
	~router_holder()
	{
		hx_router_destroy(router);
	}
	router_holder(const router_holder &) = delete;
	router_holder &operator=(const router_holder &) = delete;
	operator struct hx_router *() const
	{
		return router;
	}
};

uint64_t register_module(struct hx_router *router, const char *name, test_module &m,
                         size_t capacity = 64)
{
	uint64_t id = 0;
	REQUIRE(hx_router_register(router, name, test_handler, &m, capacity, &id) == 0);
	REQUIRE(id != 0);
	m.router = router;
	m.id = id;
	return id;
}

// A thread serving one module until it is unregistered. stop() (also at scope exit) opens the
// module's gate, unregisters the module and joins, so a failed REQUIRE never leaves it hanging.
struct server_thread {
	struct hx_router *router;
	test_module *module;
	uint64_t id;
	std::atomic<int> result{ 1 };
	std::thread thread;

	server_thread(struct hx_router *r, test_module &m)
	    : router(r), module(&m), id(m.id),
	      thread([this] { result = hx_router_serve(router, id, HX_FOREVER); })
	{
	}
	~server_thread()
	{
		stop();
	}
	int stop()
	{
		if (thread.joinable()) {
			module->gate_open = true;
			hx_router_unregister(router, id);
			thread.join();
		}
		return result;
	}
};

// A helper thread joined at scope exit (after the test has opened whatever it waits for).
struct caller_thread {
	std::thread thread;

	template <typename F> explicit caller_thread(F body) : thread(body)
	{
	}
	~caller_thread()
	{
		if (thread.joinable())
			thread.join();
	}
	void join()
	{
		thread.join();
	}
};

struct hx_router_stats stats_of(struct hx_router *router, uint64_t id)
{
	struct hx_router_stats s;
	memset(&s, 0xff, sizeof(s)); // the call must fill in every field
	REQUIRE(hx_router_get_stats(router, id, &s) == 0);
	return s;
}

uint64_t latency_total(const struct hx_router_stats &s)
{
	uint64_t total = 0;
	for (uint64_t n : s.latency)
		total += n;
	return total;
}

int call_status(struct hx_router *router, uint64_t id, int status_in, int *status_out)
{
	return hx_router_call(router, id, STATUS, &status_in, sizeof(status_in), nullptr, 0,
	                      nullptr, status_out, HX_FOREVER);
}

} // namespace

TEST_CASE("hx_router_create rejects bad arguments", "[router]")
{
	struct hx_router *router = reinterpret_cast<struct hx_router *>(uintptr_t(0x1));

	CHECK(hx_router_create(0, &router) == -HX_EINVAL);
	CHECK(hx_router_create(HX_ROUTER_MAX_MODULES + 1, &router) == -HX_EINVAL);
	CHECK(hx_router_create(SIZE_MAX, &router) == -HX_EINVAL);
	CHECK(hx_router_create(4, nullptr) == -HX_EINVAL);
	CHECK(router == reinterpret_cast<struct hx_router *>(uintptr_t(0x1)));
	router_holder smallest(1), biggest(HX_ROUTER_MAX_MODULES);
	hx_router_destroy(nullptr); // ignored
}

TEST_CASE("module names are 1-31 characters of [a-z0-9_.-]", "[router]")
{
	const std::string longest(HX_ROUTER_NAME_MAX, 'a');
	const std::string too_long(HX_ROUTER_NAME_MAX + 1, 'a');

	for (const char *name :
	     { "a", "echo", "net.tcp-v4_0", "0", "._-", "abcdefghijklmnopqrstuvwxyz0123" })
		CHECK(hx_router_valid_name(name));
	CHECK(hx_router_valid_name(longest.c_str()));
	CHECK_FALSE(hx_router_valid_name(too_long.c_str()));
	CHECK_FALSE(hx_router_valid_name(nullptr));
	for (const char *name :
	     { "", "Echo", "ECHO", "a b", "a/b", "a:b", "a\tb", "\xc3\xa9", "a\n", "a@b", "a+b" })
		CHECK_FALSE(hx_router_valid_name(name));

	router_holder router;
	test_module m;
	uint64_t id = 0;
	CHECK(hx_router_register(router, "", test_handler, &m, 4, &id) == -HX_EINVAL);
	CHECK(hx_router_register(router, nullptr, test_handler, &m, 4, &id) == -HX_EINVAL);
	CHECK(hx_router_register(router, too_long.c_str(), test_handler, &m, 4, &id) == -HX_EINVAL);
	CHECK(hx_router_register(router, "Upper", test_handler, &m, 4, &id) == -HX_EINVAL);
	CHECK(hx_router_register(router, "sl/ash", test_handler, &m, 4, &id) == -HX_EINVAL);
	CHECK(id == 0);
	REQUIRE(hx_router_register(router, longest.c_str(), test_handler, &m, 4, &id) == 0);
	uint64_t found = 0;
	CHECK(hx_router_lookup(router, longest.c_str(), &found) == 0);
	CHECK(found == id);
	CHECK(hx_router_lookup(router, too_long.c_str(), &found) == -HX_EINVAL);
	CHECK(hx_router_lookup(router, "Upper", &found) == -HX_EINVAL);
	CHECK(hx_router_lookup(router, "absent", &found) == -HX_ENOENT);
}

TEST_CASE("registration: arguments, unique names, a full table", "[router]")
{
	router_holder router(3);
	test_module m;
	uint64_t a = 0, b = 0, c = 0, d = 0;

	CHECK(hx_router_register(nullptr, "x", test_handler, &m, 4, &a) == -HX_EINVAL);
	CHECK(hx_router_register(router, "x", nullptr, &m, 4, &a) == -HX_EINVAL);
	CHECK(hx_router_register(router, "x", test_handler, &m, 0, &a) == -HX_EINVAL);
	CHECK(hx_router_register(router, "x", test_handler, &m, HX_ROUTER_MAX_QUEUE + 1, &a) ==
	      -HX_EINVAL);
	CHECK(hx_router_register(router, "x", test_handler, &m, 4, nullptr) == -HX_EINVAL);

	REQUIRE(hx_router_register(router, "alpha", test_handler, &m, 1, &a) == 0);
	CHECK(hx_router_register(router, "alpha", test_handler, &m, 4, &d) == -HX_EEXIST);
	REQUIRE(hx_router_register(router, "beta", test_handler, &m, HX_ROUTER_MAX_QUEUE, &b) == 0);
	REQUIRE(hx_router_register(router, "gamma", test_handler, nullptr, 4, &c) == 0);
	CHECK(hx_router_register(router, "delta", test_handler, &m, 4, &d) == -HX_ENOSPC);
	CHECK(std::set<uint64_t>{ a, b, c }.size() == 3);
	CHECK(a != 0);
	CHECK(b != 0);
	CHECK(c != 0);

	uint64_t found = 0;
	CHECK(hx_router_lookup(router, "beta", &found) == 0);
	CHECK(found == b);
	CHECK(hx_router_lookup(nullptr, "beta", &found) == -HX_EINVAL);
	CHECK(hx_router_lookup(router, "beta", nullptr) == -HX_EINVAL);
	CHECK(stats_of(router, b).queue_capacity == HX_ROUTER_MAX_QUEUE);

	// Unregistering frees the name and the slot.
	CHECK(hx_router_unregister(router, a) == 0);
	CHECK(hx_router_lookup(router, "alpha", &found) == -HX_ENOENT);
	REQUIRE(hx_router_register(router, "delta", test_handler, &m, 4, &d) == 0);
	CHECK(hx_router_register(router, "alpha", test_handler, &m, 4, &a) == -HX_ENOSPC);
	CHECK(hx_router_unregister(router, d) == 0);
	uint64_t a2 = 0;
	REQUIRE(hx_router_register(router, "alpha", test_handler, &m, 4, &a2) == 0);
	CHECK(a2 != a);
	CHECK(hx_router_unregister(nullptr, a2) == -HX_EINVAL);
}

TEST_CASE("calls reach their module; call by name; argument checks", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "echo", m);
	server_thread server(router, m);

	unsigned char resp[64];
	size_t len = 99;
	int status = 99;
	const char req[] = "hello";
	REQUIRE(hx_router_call(router, id, ECHO, req, 5, resp, sizeof(resp), &len, &status,
	                       HX_FOREVER) == 0);
	CHECK(status == 0);
	REQUIRE(len == 8 + 5);
	CHECK(memcmp(resp + 8, "hello", 5) == 0);
	uint64_t first_id;
	memcpy(&first_id, resp, 8);

	len = 99;
	status = 99;
	REQUIRE(hx_router_call_name(router, "echo", ECHO, nullptr, 0, resp, sizeof(resp), &len,
	                            &status, HX_FOREVER) == 0);
	CHECK(status == 0);
	CHECK(len == 8);
	uint64_t second_id;
	memcpy(&second_id, resp, 8);
	CHECK(second_id != first_id);

	CHECK(hx_router_call_name(router, "absent", ECHO, nullptr, 0, resp, sizeof(resp), &len,
	                          &status, HX_FOREVER) == -HX_ENOENT);
	CHECK(hx_router_call_name(router, "Bad Name", ECHO, nullptr, 0, resp, sizeof(resp), &len,
	                          &status, HX_FOREVER) == -HX_EINVAL);

	// The deadline reaches the handler.
	uint64_t deadline = hx_time_ns() + 3600 * 1000 * MS, seen = 0;
	REQUIRE(hx_router_call(router, id, DEADLINE, nullptr, 0, &seen, sizeof(seen), &len, nullptr,
	                       deadline) == 0);
	CHECK(seen == deadline);

	// Bad arguments: nothing is sent.
	uint64_t handled = m.handled;
	len = 99;
	CHECK(hx_router_call(nullptr, id, ECHO, req, 5, resp, sizeof(resp), &len, &status,
	                     HX_FOREVER) == -HX_EINVAL);
	CHECK(len == 0);
	CHECK(hx_router_call(router, id, ECHO, nullptr, 5, resp, sizeof(resp), &len, &status,
	                     HX_FOREVER) == -HX_EINVAL);
	CHECK(hx_router_call(router, id, ECHO, req, 5, nullptr, 8, &len, &status, HX_FOREVER) ==
	      -HX_EINVAL);
	std::vector<unsigned char> huge(HX_ROUTER_MAX_PAYLOAD + 1);
	CHECK(hx_router_call(router, id, ECHO, huge.data(), huge.size(), resp, sizeof(resp), &len,
	                     &status, HX_FOREVER) == -HX_E2BIG);
	CHECK(hx_router_send(router, id, NOTE, huge.data(), huge.size(), HX_FOREVER) == -HX_E2BIG);
	CHECK(hx_router_send(router, id, NOTE, nullptr, 1, HX_FOREVER) == -HX_EINVAL);
	CHECK(hx_router_send(nullptr, id, NOTE, nullptr, 0, HX_FOREVER) == -HX_EINVAL);
	CHECK(m.handled == handled);

	// The largest request fits; resp_cap beyond the limit is fine.
	std::vector<unsigned char> big(HX_ROUTER_MAX_PAYLOAD, 0x33),
	    out(HX_ROUTER_MAX_PAYLOAD + 100);
	uint32_t n = HX_ROUTER_MAX_PAYLOAD;
	REQUIRE(hx_router_call(router, id, SIZED, &n, sizeof(n), out.data(), out.size(), &len,
	                       &status, HX_FOREVER) == 0);
	CHECK(len == HX_ROUTER_MAX_PAYLOAD);
	CHECK(out[HX_ROUTER_MAX_PAYLOAD - 1] == pattern_byte(HX_ROUTER_MAX_PAYLOAD - 1));
	REQUIRE(hx_router_call(router, id, ECHO, big.data(), big.size() - 8, out.data(), out.size(),
	                       &len, &status, HX_FOREVER) == 0);
	CHECK(len == HX_ROUTER_MAX_PAYLOAD);

	CHECK(server.stop() == -HX_EHOSTUNREACH);
}

TEST_CASE("a handler's status travels back apart from the call's result", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "status", m);
	server_thread server(router, m);

	char resp[16] = {};
	size_t len = 0;
	int status = 0;
	REQUIRE(hx_router_call(router, id, FAIL, nullptr, 0, resp, sizeof(resp), &len, &status,
	                       HX_FOREVER) == 0);
	CHECK(status == -HX_ENOENT);
	REQUIRE(len == 4);
	CHECK(memcmp(resp, "nope", 4) == 0);

	for (int value : { 0, 1, 7, -HX_EPERM, -HX_ETIMEDOUT, -HX_EHOSTUNREACH, INT32_MIN }) {
		status = 12345;
		CHECK(call_status(router, id, value, &status) == 0);
		CHECK(status == value);
	}
	// A handler may return the router's own codes: they stay statuses.
	CHECK(call_status(router, id, -HX_ETIMEDOUT, nullptr) == 0);

	// An unknown method is the module's business: its status says so.
	CHECK(hx_router_call(router, id, 999, nullptr, 0, nullptr, 0, &len, &status, HX_FOREVER) ==
	      0);
	CHECK(status == -HX_ENOSYS);

	struct hx_router_stats s = stats_of(router, id);
	CHECK(s.calls == 10);
	CHECK(s.replies == 10);
	CHECK(s.handled == 10);
	CHECK(s.errors == 9); // FAIL, six non-zero values, -HX_ETIMEDOUT again, ENOSYS
	CHECK(latency_total(s) == 10);
}

TEST_CASE("a response larger than the buffer: EMSGSIZE with the size needed", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "sized", m);
	server_thread server(router, m);

	unsigned char resp[100];
	memset(resp, 0xee, sizeof(resp));
	size_t len = 0;
	int status = 99;
	uint32_t n = 100;
	CHECK(hx_router_call(router, id, SIZED, &n, sizeof(n), resp, 10, &len, &status,
	                     HX_FOREVER) == -HX_EMSGSIZE);
	CHECK(len == 100);
	CHECK(status == 0);
	CHECK(std::all_of(resp, resp + sizeof(resp), [](unsigned char c) { return c == 0xee; }));

	REQUIRE(hx_router_call(router, id, SIZED, &n, sizeof(n), resp, len, &len, &status,
	                       HX_FOREVER) == 0);
	CHECK(len == 100);
	for (size_t i = 0; i < 100; i++)
		CHECK(resp[i] == pattern_byte(i));

	// No buffer at all: a zero-length reply fits, any other does not.
	n = 0;
	CHECK(hx_router_call(router, id, SIZED, &n, sizeof(n), nullptr, 0, &len, &status,
	                     HX_FOREVER) == 0);
	CHECK(len == 0);
	n = 1;
	CHECK(hx_router_call(router, id, SIZED, &n, sizeof(n), nullptr, 0, &len, &status,
	                     HX_FOREVER) == -HX_EMSGSIZE);
	CHECK(len == 1);

	// Through hx_router_reply_set, with the handler's error status.
	char small[2] = { 'x', 'x' };
	status = 0;
	CHECK(hx_router_call(router, id, FAIL, nullptr, 0, small, sizeof(small), &len, &status,
	                     HX_FOREVER) == -HX_EMSGSIZE);
	CHECK(len == 4);
	CHECK(status == -HX_ENOENT);
	CHECK(small[0] == 'x');

	// A response beyond the router's limit can never fit.
	n = HX_ROUTER_MAX_PAYLOAD + 1;
	std::vector<unsigned char> out(HX_ROUTER_MAX_PAYLOAD + 16);
	CHECK(hx_router_call(router, id, SIZED, &n, sizeof(n), out.data(), out.size(), &len,
	                     &status, HX_FOREVER) == -HX_EMSGSIZE);
	CHECK(len == HX_ROUTER_MAX_PAYLOAD + 1);

	struct hx_router_reply reply = { small, sizeof(small), 0 };
	CHECK(hx_router_reply_set(&reply, "abc", 3) == -HX_EMSGSIZE);
	CHECK(reply.len == 3);
	CHECK(hx_router_reply_set(&reply, "ab", 2) == 0);
	CHECK(reply.len == 2);
	CHECK(hx_router_reply_set(&reply, nullptr, 1) == -HX_EINVAL);
	CHECK(hx_router_reply_set(nullptr, "a", 1) == -HX_EINVAL);
	CHECK(hx_router_reply_set(&reply, nullptr, 0) == 0);
	CHECK(reply.len == 0);
}

TEST_CASE("dead targets: unregistered, re-registered, never the wrong module", "[router]")
{
	router_holder router(1); // one slot: a re-registration reuses it
	test_module first, second;
	uint64_t old_id = register_module(router, "svc", first);
	{
		server_thread server(router, first);
		CHECK(call_status(router, old_id, 0, nullptr) == 0);
		CHECK(hx_router_unregister(router, old_id) == 0);
		CHECK(server.stop() == -HX_EHOSTUNREACH); // its server ends
	}
	uint64_t handled = first.handled;
	size_t len = 99;
	CHECK(hx_router_call(router, old_id, ECHO, nullptr, 0, nullptr, 0, &len, nullptr,
	                     HX_FOREVER) == -HX_EHOSTUNREACH);
	CHECK(len == 0);
	CHECK(hx_router_send(router, old_id, NOTE, nullptr, 0, HX_FOREVER) == -HX_EHOSTUNREACH);
	CHECK(hx_router_unregister(router, old_id) == -HX_EHOSTUNREACH);
	CHECK(hx_router_serve(router, old_id, HX_FOREVER) == -HX_EHOSTUNREACH);
	struct hx_router_stats s;
	CHECK(hx_router_get_stats(router, old_id, &s) == -HX_EHOSTUNREACH);
	CHECK(hx_router_call_name(router, "svc", ECHO, nullptr, 0, nullptr, 0, &len, nullptr,
	                          HX_FOREVER) == -HX_ENOENT);

	// The same name again: a new id in the same slot; the old id still fails and never
	// reaches the new module.
	uint64_t new_id = register_module(router, "svc", second);
	CHECK(new_id != old_id);
	CHECK((new_id & 0xffff) == (old_id & 0xffff));
	CHECK(hx_router_call(router, old_id, ECHO, nullptr, 0, nullptr, 0, &len, nullptr,
	                     HX_FOREVER) == -HX_EHOSTUNREACH);
	CHECK(hx_router_send(router, old_id, NOTE, nullptr, 0, HX_NOWAIT) == -HX_EHOSTUNREACH);
	CHECK(stats_of(router, new_id).calls == 0);
	CHECK(stats_of(router, new_id).sends == 0);
	{
		server_thread server(router, second);
		CHECK(call_status(router, new_id, 0, nullptr) == 0);
		uint64_t found = 0;
		CHECK(hx_router_lookup(router, "svc", &found) == 0);
		CHECK(found == new_id);
	}
	CHECK(first.handled == handled);
	CHECK(second.handled == 1);

	// Ids that never named anything.
	for (uint64_t bogus : { uint64_t(0), uint64_t(1), uint64_t(0xffff), ~uint64_t(0),
	                        new_id + (uint64_t(1) << 16), new_id + 1 })
		CHECK(hx_router_call(router, bogus, ECHO, nullptr, 0, nullptr, 0, &len, nullptr,
		                     HX_NOWAIT) == -HX_EHOSTUNREACH);
}

TEST_CASE("unregister wakes every caller that waits, with the dead-target error", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "stuck", m, 2);
	m.gate_open = false;
	server_thread server(router, m);

	// One call in the handler, two in the queue, one waiting for room in it.
	constexpr int CALLERS = 4;
	std::atomic<int> results[CALLERS];
	std::vector<std::unique_ptr<caller_thread>> callers;
	for (int i = 0; i < CALLERS; i++) {
		results[i] = 1;
		callers.emplace_back(new caller_thread([&, i] {
			unsigned char resp[32];
			size_t len = 0;
			results[i] = hx_router_call(router, id, GATED, nullptr, 0, resp,
			                            sizeof(resp), &len, nullptr, HX_FOREVER);
		}));
		if (i == 0)
			wait_until([&] { return m.in_gated == 1; });
		else if (i < 3)
			wait_until([&] { return stats_of(router, id).calls == uint64_t(i) + 1; });
		else
			wait_until([&] { return stats_of(router, id).queue_full >= 1; });
	}
	CHECK(stats_of(router, id).queue_high_water == 2);
	CHECK(hx_router_unregister(router, id) == 0);
	for (auto &caller : callers)
		caller->join();
	for (int i = 0; i < CALLERS; i++) {
		INFO("caller " << i);
		CHECK(results[i] == -HX_EHOSTUNREACH);
	}
	// The handler still runs to its end; its reply is dropped; queued requests are not run.
	m.gate_open = true;
	CHECK(server.stop() == -HX_EHOSTUNREACH);
	CHECK(m.in_gated == 1);
}

TEST_CASE("unregister with requests queued and nobody serving", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "idle", m, 8);
	for (int i = 0; i < 5; i++)
		REQUIRE(hx_router_send(router, id, NOTE, "x", 1, HX_NOWAIT) == 0);
	std::atomic<int> result{ 1 };
	caller_thread caller([&] { result = call_status(router, id, 0, nullptr); });
	wait_until([&] { return stats_of(router, id).calls == 1; });
	CHECK(hx_router_unregister(router, id) == 0);
	caller.join();
	CHECK(result == -HX_EHOSTUNREACH);
	CHECK(m.handled == 0); // the queued requests were dropped (and freed: ASan's leak check)
}

TEST_CASE("a handler may unregister its own module", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "selfish", m);
	server_thread server(router, m);

	CHECK(hx_router_call(router, id, UNREGISTER, nullptr, 0, nullptr, 0, nullptr, nullptr,
	                     HX_FOREVER) == -HX_EHOSTUNREACH);
	CHECK(server.stop() == -HX_EHOSTUNREACH);
	CHECK(m.unregister_result == 0);
}

TEST_CASE("deadlines: ETIMEDOUT, the late reply dropped and counted, buffers left alone",
          "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "slow", m);
	m.gate_open = false;
	server_thread server(router, m);

	// The first call times out inside the handler. Its buffer is freed right after the call
	// returns: the late reply writing it would be a heap-use-after-free under ASan. On a busy
	// machine the server may not reach the call before its deadline (it then expires in the
	// queue): try again with a longer deadline until the handler holds one.
	uint64_t timeout = 20 * MS;
	int attempts = 0;
	size_t len = 99;
	int status = 99;
	while (m.in_gated == 0) {
		auto *freed = new unsigned char[256];
		memset(freed, 0xaa, 256);
		attempts++;
		CHECK(hx_router_call(router, id, GATED, nullptr, 0, freed, 256, &len, &status,
		                     hx_time_ns() + timeout) == -HX_ETIMEDOUT);
		CHECK(len == 0);
		CHECK(status == 99);
		CHECK(std::all_of(freed, freed + 256, [](unsigned char c) { return c == 0xaa; }));
		delete[] freed;
		timeout *= 2;
		// The server may have taken the call just before its deadline: let it get into
		// the handler (or drop the call as expired) before looking.
		wait_until([&] {
			return stats_of(router, id).expired + uint64_t(m.in_gated) ==
			       uint64_t(attempts);
		});
	}

	// The second times out in the queue (the handler is still busy with the first); its
	// buffer stays alive and must stay untouched.
	std::vector<unsigned char> kept(256, 0xbb);
	CHECK(hx_router_call(router, id, GATED, nullptr, 0, kept.data(), kept.size(), &len, &status,
	                     hx_time_ns() + 20 * MS) == -HX_ETIMEDOUT);
	// HX_NOWAIT: the call cannot finish without waiting.
	CHECK(hx_router_call(router, id, GATED, nullptr, 0, kept.data(), kept.size(), &len, &status,
	                     HX_NOWAIT) == -HX_ETIMEDOUT);

	// Every caller has given up: the one reply is late, every other request expired.
	m.gate_open = true;
	wait_until([&] {
		struct hx_router_stats s = stats_of(router, id);
		return s.late_replies == 1 && s.expired == uint64_t(attempts) + 1;
	});
	CHECK(std::all_of(kept.begin(), kept.end(), [](unsigned char c) { return c == 0xbb; }));
	struct hx_router_stats s = stats_of(router, id);
	CHECK(s.timeouts == uint64_t(attempts) + 2);
	CHECK(s.calls == uint64_t(attempts) + 2);
	CHECK(s.handled == 1); // the expired requests never reached the handler
	CHECK(s.replies == 0);
	CHECK(latency_total(s) == 0);
	CHECK(m.in_gated == 1);

	// The module works on.
	unsigned char resp[16];
	CHECK(hx_router_call(router, id, ECHO, nullptr, 0, resp, sizeof(resp), &len, &status,
	                     hx_time_ns() + 60000 * MS) == 0);
	CHECK(len == 8);
}

TEST_CASE("a full queue: EAGAIN with HX_NOWAIT, else wait for room or the deadline", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "narrow", m, 2);

	REQUIRE(hx_router_send(router, id, NOTE, nullptr, 0, HX_NOWAIT) == 0);
	REQUIRE(hx_router_send(router, id, NOTE, nullptr, 0, HX_NOWAIT) == 0);
	CHECK(hx_router_send(router, id, NOTE, nullptr, 0, HX_NOWAIT) == -HX_EAGAIN);
	CHECK(hx_router_call(router, id, ECHO, nullptr, 0, nullptr, 0, nullptr, nullptr,
	                     HX_NOWAIT) == -HX_EAGAIN);
	CHECK(hx_router_send(router, id, NOTE, nullptr, 0, hx_time_ns() + 10 * MS) ==
	      -HX_ETIMEDOUT);
	CHECK(hx_router_call(router, id, ECHO, nullptr, 0, nullptr, 0, nullptr, nullptr,
	                     hx_time_ns() + 10 * MS) == -HX_ETIMEDOUT);
	struct hx_router_stats s = stats_of(router, id);
	CHECK(s.sends == 2);
	CHECK(s.calls == 0);
	CHECK(s.rejected == 2);
	CHECK(s.timeouts == 2);
	CHECK(s.queue_high_water == 2);
	CHECK(s.queue_full >= 4);

	// A sender with a deadline waits for room and gets in once the module serves.
	std::atomic<int> result{ 1 };
	uint64_t full_before = s.queue_full;
	caller_thread sender(
	    [&] { result = hx_router_send(router, id, NOTE, nullptr, 0, HX_FOREVER); });
	wait_until([&] { return stats_of(router, id).queue_full > full_before; });
	CHECK(hx_router_serve_one(router, id, HX_NOWAIT) == 0);
	sender.join();
	CHECK(result == 0);
	CHECK(hx_router_serve(router, id, HX_NOWAIT) == -HX_EAGAIN); // serves the other two
	CHECK(m.notes == 3);
	CHECK(hx_router_serve_one(router, id, HX_NOWAIT) == -HX_EAGAIN);
	CHECK(hx_router_serve_one(router, id, hx_time_ns() + 5 * MS) == -HX_ETIMEDOUT);
	CHECK(stats_of(router, id).sends == 3);
}

TEST_CASE("one-way sends run the handler with no reply", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "sink", m, 16);

	for (int i = 0; i < 10; i++)
		REQUIRE(hx_router_send(router, id, NOTE, &i, sizeof(i), HX_NOWAIT) == 0);
	REQUIRE(hx_router_send(router, id, FAIL, nullptr, 0, HX_NOWAIT) == 0);
	CHECK(m.handled == 0); // queued until served
	for (int i = 0; i < 11; i++)
		CHECK(hx_router_serve_one(router, id, HX_NOWAIT) == 0);
	CHECK(m.notes == 10);
	CHECK(m.one_way_reply_empty);
	struct hx_router_stats s = stats_of(router, id);
	CHECK(s.sends == 11);
	CHECK(s.calls == 0);
	CHECK(s.handled == 11);
	CHECK(s.errors == 1);
	CHECK(s.replies == 0);
	CHECK(s.late_replies == 0);
}

TEST_CASE("one server per module at a time", "[router]")
{
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "single", m);
	m.gate_open = false;
	server_thread server(router, m);

	std::atomic<int> result{ 1 };
	caller_thread caller([&] { result = call_status(router, id, 0, nullptr); });
	REQUIRE(hx_router_send(router, id, GATED, nullptr, 0, HX_FOREVER) == 0);
	wait_until([&] { return m.in_gated == 1; });
	CHECK(hx_router_serve_one(router, id, HX_NOWAIT) == -HX_EBUSY);
	CHECK(hx_router_serve(router, id, HX_FOREVER) == -HX_EBUSY);
	CHECK(hx_router_serve(nullptr, id, HX_FOREVER) == -HX_EINVAL);
	m.gate_open = true;
	caller.join();
	CHECK(result == 0);
}

TEST_CASE("a slow module does not hold up calls to another", "[router]")
{
	router_holder router;
	test_module slow, fast;
	uint64_t slow_id = register_module(router, "slow", slow, 4);
	uint64_t fast_id = register_module(router, "fast", fast, 4);
	slow.gate_open = false;
	server_thread slow_server(router, slow), fast_server(router, fast);

	std::atomic<int> slow_result{ 1 };
	caller_thread slow_caller([&] {
		slow_result = hx_router_call(router, slow_id, GATED, nullptr, 0, nullptr, 0,
		                             nullptr, nullptr, HX_FOREVER);
	});
	REQUIRE(hx_router_send(router, slow_id, GATED, nullptr, 0, HX_FOREVER) == 0);
	wait_until([&] { return slow.in_gated == 1; });

	for (int i = 0; i < 200; i++) {
		unsigned char resp[16];
		size_t len = 0;
		int status = 1;
		REQUIRE(hx_router_call(router, fast_id, ECHO, &i, sizeof(i), resp, sizeof(resp),
		                       &len, &status, HX_FOREVER) == 0);
		REQUIRE(status == 0);
		REQUIRE(memcmp(resp + 8, &i, sizeof(i)) == 0);
	}
	CHECK(slow_result == 1); // still waiting
	CHECK(slow.in_gated == 1);
	slow.gate_open = true;
	slow_caller.join();
	CHECK(slow_result == 0);
}

TEST_CASE("8 callers x 1000 calls: every response matched to its request exactly once", "[router]")
{
	constexpr int THREADS = 8, CALLS = 1000;
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "echo", m, 16);
	server_thread server(router, m);

	struct caller_result {
		std::vector<uint64_t> ids;
		int mismatches = 0, failures = 0;
	} results[THREADS];
	std::atomic<bool> go{ false };
	std::vector<std::unique_ptr<caller_thread>> callers;
	for (int t = 0; t < THREADS; t++)
		callers.emplace_back(new caller_thread([&, t] {
			while (!go)
				std::this_thread::yield();
			for (uint32_t i = 0; i < CALLS; i++) {
				uint32_t req[4] = { uint32_t(t), i, 0xfeedu, i * 7919u };
				unsigned char resp[8 + sizeof(req)];
				size_t len = 0;
				int status = 1;
				int err = hx_router_call(router, id, ECHO, req, sizeof(req), resp,
				                         sizeof(resp), &len, &status, HX_FOREVER);
				if (err || status || len != sizeof(resp)) {
					results[t].failures++;
					continue;
				}
				if (memcmp(resp + 8, req, sizeof(req)) != 0)
					results[t].mismatches++;
				uint64_t rid;
				memcpy(&rid, resp, 8);
				results[t].ids.push_back(rid);
			}
		}));
	go = true;
	for (auto &caller : callers)
		caller->join();
	CHECK(server.stop() == -HX_EHOSTUNREACH);

	std::multiset<uint64_t> received;
	for (int t = 0; t < THREADS; t++) {
		INFO("thread " << t);
		CHECK(results[t].failures == 0);
		CHECK(results[t].mismatches == 0);
		received.insert(results[t].ids.begin(), results[t].ids.end());
	}
	REQUIRE(received.size() == size_t(THREADS * CALLS));
	std::set<uint64_t> unique(received.begin(), received.end());
	CHECK(unique.size() == received.size()); // no request id twice
	// The ids the handler saw are exactly the ones the callers got back.
	std::multiset<uint64_t> handled(m.echo_ids.begin(), m.echo_ids.end());
	CHECK(handled == received);
}

TEST_CASE("8 callers, a 16-entry queue and stats that add up", "[router]")
{
	constexpr int THREADS = 8, CALLS = 250;
	router_holder router;
	test_module m;
	uint64_t id = register_module(router, "count", m, 16);
	server_thread server(router, m);

	std::atomic<int> failures{ 0 };
	std::vector<std::unique_ptr<caller_thread>> callers;
	for (int t = 0; t < THREADS; t++)
		callers.emplace_back(new caller_thread([&, t] {
			for (int i = 0; i < CALLS; i++) {
				int status = 0;
				int want = (i % 5 == 0) ? -HX_EIO : 0;
				if (call_status(router, id, want, &status) != 0 || status != want)
					failures++;
				if (hx_router_send(router, id, NOTE, &t, sizeof(t), HX_FOREVER))
					failures++;
			}
		}));
	for (auto &caller : callers)
		caller->join();
	CHECK(failures == 0);
	wait_until([&] { return m.notes == uint64_t(THREADS * CALLS); });
	struct hx_router_stats s = stats_of(router, id);
	CHECK(s.calls == uint64_t(THREADS * CALLS));
	CHECK(s.sends == uint64_t(THREADS * CALLS));
	CHECK(s.replies == s.calls);
	CHECK(s.handled == s.calls + s.sends);
	CHECK(s.errors == uint64_t(THREADS * CALLS / 5));
	CHECK(s.timeouts == 0);
	CHECK(s.late_replies == 0);
	CHECK(s.expired == 0);
	CHECK(latency_total(s) == s.replies);
	CHECK(s.queue_high_water >= 1);
	CHECK(s.queue_high_water <= 16);
	CHECK(s.queue_capacity == 16);
}

TEST_CASE("destroy unregisters everything, waking whoever waits", "[router]")
{
	struct hx_router *router = nullptr;
	REQUIRE(hx_router_create(4, &router) == 0);
	test_module a, b;
	uint64_t a_id = register_module(router, "a", a, 4);
	register_module(router, "b", b, 4);
	REQUIRE(hx_router_send(router, a_id, NOTE, "x", 1, HX_NOWAIT) == 0);
	std::atomic<int> result{ 1 };
	caller_thread caller([&] { result = call_status(router, a_id, 0, nullptr); });
	wait_until([&] { return stats_of(router, a_id).calls == 1; });
	hx_router_destroy(router);
	caller.join();
	CHECK(result == -HX_EHOSTUNREACH);
	CHECK(a.handled == 0);
}
