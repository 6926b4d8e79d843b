// SPDX-License-Identifier: MIT
// The router_call syscall (syscall/sys_router.c): a wire message built in the simulated user
// space goes through helix_syscall_entry, is decoded by the kernel side, routed to a module served
// by a thread, and the reply comes back as a wire message. Also every refusal: malformed
// messages (with the decoder's reason in the failure record), the wrong kind, unknown names, dead
// ids, a reply that does not fit, a module's error status, a module that breaks the payload
// profile, one-way messages, deadlines, and no router attached.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/ipc/router.h>
#include <helix/ipc/wire.h>
#include <helix/platform.h>
#include <helix/syscall/syscall.h>

#include "syscall/tests/test_process.h"

namespace
{

constexpr uint64_t kPid = 91;
constexpr uint32_t kEcho = 1;       // reply with the request payload
constexpr uint32_t kFail = 2;       // status -HX_EPERM, no payload
constexpr uint32_t kBadPayload = 3; // reply with bytes outside the CBOR profile
constexpr uint32_t kSlow = 4;       // sleep 50 ms, then echo
constexpr uint32_t kBig = 5;        // reply with a 2000-byte byte string
constexpr uint32_t kOneWay = 6;     // count it

std::atomic<int> one_way_seen{ 0 };

// The module: answers by method (above), served by its own thread until it is unregistered.
struct module {
	struct hx_router *router = nullptr;
	uint64_t id = 0;
	std::thread server;

	explicit module(const char *name)
	{
		REQUIRE(hx_router_create(8, &router) == 0);
		REQUIRE(hx_router_register(router, name, handle, nullptr, 16, &id) == 0);
		server = std::thread([this] { hx_router_serve(router, id, HX_FOREVER); });
		hx_syscall_set_router(router);
	}
	~module()
	{
		hx_syscall_set_router(nullptr);
		hx_router_unregister(router, id);
		server.join();
		hx_router_destroy(router);
	}

	static int handle(void *ctx, const struct hx_router_request *req,
	                  struct hx_router_reply *reply)
	{
		(void)ctx;
		switch (req->method) {
		case kEcho:
			return hx_router_reply_set(reply, req->payload, req->len);
		case kFail:
			return -HX_EPERM;
		case kBadPayload: {
			static const uint8_t indefinite[] = { 0x9f,
				                              0xff }; // [_ ]: not in the profile
			return hx_router_reply_set(reply, indefinite, sizeof(indefinite));
		}
		case kSlow: {
			HX_ATOMIC(uint32_t) word{ 0 };
			hx_futex_wait(&word, 0, hx_time_ns() + 50 * 1000 * 1000);
			return hx_router_reply_set(reply, req->payload, req->len);
		}
		case kBig: {
			static uint8_t big[2003];
			big[0] = 0x59; // byte string, 2-byte length: 2000
			big[1] = 0x07;
			big[2] = 0xd0;
			return hx_router_reply_set(reply, big, sizeof(big));
		}
		case kOneWay:
			one_way_seen.fetch_add(1);
			return 0;
		default:
			return -HX_ENOSYS;
		}
	}
};

// A request message in user memory at @offset; returns its length.
size_t put_request(test_process &p, uint64_t offset, enum hx_wire_kind kind, const char *target,
                   uint64_t target_id, uint32_t method, uint64_t request_id)
{
	struct hx_wire_message header;
	struct hx_wire_builder b;
	size_t len = 0;

	memset(&header, 0, sizeof(header));
	header.kind = kind;
	header.request_id = request_id;
	header.source_id = 1234;
	header.method = method;
	if (target)
		REQUIRE(hx_wire_set_target_name(&header, target) == 0);
	else
		header.target_id = target_id;
	hx_wire_builder_init_message(&b, p.host(offset), 4096, &header);
	hx_wire_put_map(&b, 2);
	hx_wire_put_string(&b, "a");
	hx_wire_put_uint(&b, 42);
	hx_wire_put_string(&b, "b");
	hx_wire_put_string(&b, "hello");
	REQUIRE(hx_wire_builder_finish(&b, &len, nullptr) == 0);
	return len;
}

long router_call(test_process &p, uint64_t msg, size_t len, uint64_t reply, size_t cap,
                 uint64_t deadline, struct hx_syscall_ctx *ctx = nullptr)
{
	struct hx_syscall_ctx local;
	const uint64_t args[HX_SYSCALL_ARGS] = {
		p.user(msg), len, p.user(reply), cap, deadline, 0
	};

	return hx_syscall_dispatch(&p.caller, ctx ? ctx : &local, HX_SYS_router_call, args);
}

} // namespace

TEST_CASE("router_call: a request by name comes back as a response", "[router_call]")
{
	test_process p(kPid);
	module m("echo");
	size_t len = put_request(p, 0, HX_WIRE_REQUEST, "echo", 0, kEcho, 77);
	long got = router_call(p, 0, len, 8192, 4096, HX_FOREVER);
	REQUIRE(got > 0);

	struct hx_wire_message reply, request;
	REQUIRE(hx_wire_decode(p.host(0), len, &request, nullptr) == 0);
	REQUIRE(hx_wire_decode(p.host(8192), size_t(got), &reply, nullptr) == 0);
	CHECK(reply.kind == HX_WIRE_RESPONSE);
	CHECK(reply.request_id == 77);
	CHECK(reply.method == kEcho);
	CHECK(reply.status == 0);
	CHECK(reply.source_id == m.id);
	CHECK(reply.target_id == kPid);
	REQUIRE(reply.payload_len == request.payload_len);
	CHECK(memcmp(reply.payload, request.payload, reply.payload_len) == 0);

	// By id, too.
	len = put_request(p, 0, HX_WIRE_REQUEST, nullptr, m.id, kEcho, 78);
	got = router_call(p, 0, len, 8192, 4096, HX_FOREVER);
	REQUIRE(got > 0);
	REQUIRE(hx_wire_decode(p.host(8192), size_t(got), &reply, nullptr) == 0);
	CHECK(reply.request_id == 78);
}

TEST_CASE("router_call: the module's status travels as an error message", "[router_call]")
{
	test_process p(kPid);
	module m("failing");
	struct hx_wire_message reply;

	size_t len = put_request(p, 0, HX_WIRE_REQUEST, "failing", 0, kFail, 5);
	long got = router_call(p, 0, len, 8192, 4096, HX_FOREVER);
	REQUIRE(got > 0);
	REQUIRE(hx_wire_decode(p.host(8192), size_t(got), &reply, nullptr) == 0);
	CHECK(reply.kind == HX_WIRE_ERROR);
	CHECK(reply.status == -HX_EPERM);

	// A response outside the payload profile never reaches the user as such.
	len = put_request(p, 0, HX_WIRE_REQUEST, "failing", 0, kBadPayload, 6);
	got = router_call(p, 0, len, 8192, 4096, HX_FOREVER);
	REQUIRE(got > 0);
	REQUIRE(hx_wire_decode(p.host(8192), size_t(got), &reply, nullptr) == 0);
	CHECK(reply.kind == HX_WIRE_ERROR);
	CHECK(reply.status == -HX_EPROTO);
	CHECK(reply.payload_len == 0);
}

TEST_CASE("router_call: refusals", "[router_call]")
{
	test_process p(kPid);
	module m("svc");
	struct hx_syscall_ctx ctx;
	size_t len = put_request(p, 0, HX_WIRE_REQUEST, "svc", 0, kEcho, 1);

	SECTION("a malformed message names the decoder's reason")
	{
		p.host(0)[4] = 2; // version 2
		CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER, &ctx) == -HX_EPROTO);
		CHECK(ctx.failure.arg == 0);
		REQUIRE(ctx.failure.reason != nullptr);
		CHECK(std::string(ctx.failure.reason).find("version") != std::string::npos);
		p.host(0)[4] = 1;
		CHECK(router_call(p, 0, len - 1, 8192, 4096, HX_FOREVER, &ctx) == -HX_EBADMSG);
	}
	SECTION("a response is not a request")
	{
		len = put_request(p, 0, HX_WIRE_RESPONSE, "svc", 0, kEcho, 1);
		CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER) == -HX_EINVAL);
	}
	SECTION("unknown names and dead ids")
	{
		len = put_request(p, 0, HX_WIRE_REQUEST, "nobody", 0, kEcho, 1);
		CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER) == -HX_ENOENT);
		len = put_request(p, 0, HX_WIRE_REQUEST, nullptr, m.id + (1u << 16), kEcho, 1);
		CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER) == -HX_EHOSTUNREACH);
	}
	SECTION("a reply that does not fit")
	{
		len = put_request(p, 0, HX_WIRE_REQUEST, "svc", 0, kBig, 1);
		CHECK(router_call(p, 0, len, 8192, 1000, HX_FOREVER, &ctx) == -HX_EMSGSIZE);
		CHECK(ctx.failure.arg == 2);
		CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER) > 2000);
	}
	SECTION("the table's rules come first")
	{
		CHECK(router_call(p, 0, 10, 8192, 4096, HX_FOREVER) ==
		      -HX_EINVAL); // below a header
		CHECK(router_call(p, 0, len, 8192, 10, HX_FOREVER) == -HX_EINVAL);
		const uint64_t args[HX_SYSCALL_ARGS] = {
			0xffff800000000000ull, len, p.user(8192), 4096, HX_FOREVER, 0
		};
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_router_call, args) == -HX_EFAULT);
	}
	SECTION("the deadline")
	{
		len = put_request(p, 0, HX_WIRE_REQUEST, "svc", 0, kSlow, 1);
		CHECK(router_call(p, 0, len, 8192, 4096, hx_time_ns() + 1000000) == -HX_ETIMEDOUT);
	}
}

TEST_CASE("router_call: one-way messages are queued, with no reply", "[router_call]")
{
	test_process p(kPid);
	module m("sink");
	int before = one_way_seen.load();
	size_t len = put_request(p, 0, HX_WIRE_ONEWAY, "sink", 0, kOneWay, 9);

	memset(p.host(8192), 0x5a, 64);
	CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER) == 0);
	CHECK(p.host(8192)[0] == 0x5a); // nothing written back
	// The handler runs on the module's thread: a two-way call behind it in the same queue
	// returns only after it ran.
	len = put_request(p, 0, HX_WIRE_REQUEST, "sink", 0, kEcho, 10);
	CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER) > 0);
	CHECK(one_way_seen.load() == before + 1);
}

TEST_CASE("router_call: no router attached", "[router_call]")
{
	test_process p(kPid);
	size_t len = put_request(p, 0, HX_WIRE_REQUEST, "svc", 0, kEcho, 1);

	hx_syscall_set_router(nullptr);
	CHECK(router_call(p, 0, len, 8192, 4096, HX_FOREVER) == -HX_ENOSYS);
}
