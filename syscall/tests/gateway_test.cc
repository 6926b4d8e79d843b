// SPDX-License-Identifier: MIT
// The registry and the gateway (syscall/gateway.c): the generated table is well formed, numbers
// are clamped, unknown numbers give -ENOSYS, no bound caller gives -ESRCH, dynamic registration
// and its errors, unregistering while other threads dispatch, the order in which argument rules
// run, the failure record, and handle references released after every dispatch.
//
// Catch2's assertion macros are not thread-safe: helper threads only record results, the main
// thread checks them after join().

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <helix/abi.h>
#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

#include "syscall/tests/test_process.h"

namespace
{

constexpr uint64_t kPid = 42;

struct process : test_process {
	process() : test_process(kPid, 8)
	{
	}
};

std::atomic<long> handler_calls{ 0 };

long counting_handler(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	(void)ctx;
	handler_calls.fetch_add(1);
	return (long)args[0];
}

struct hx_syscall_desc make_desc(uint32_t nr, const char *name)
{
	struct hx_syscall_desc desc;

	memset(&desc, 0, sizeof(desc));
	desc.nr = nr;
	desc.name = name;
	desc.summary = "test";
	desc.nargs = 1;
	desc.args[0].name = "value";
	desc.args[0].kind = HX_ARG_UINT;
	desc.args[0].min = 0;
	desc.args[0].max = 1000;
	desc.handler = counting_handler;
	return desc;
}

} // namespace

TEST_CASE("every entry of the generated table is well formed", "[gateway]")
{
	REQUIRE(HX_SYSCALL_STATIC_COUNT > 0);
	REQUIRE(HX_SYSCALL_STATIC_COUNT <= HX_SYSCALL_DYNAMIC_BASE);
	for (uint32_t nr = 0; nr < HX_SYSCALL_STATIC_COUNT; nr++) {
		const struct hx_syscall_desc *desc = &hx_syscall_static_table[nr];

		INFO("syscall " << nr);
		CHECK(desc->nr == nr);
		REQUIRE(desc->name != nullptr);
		if (!desc->handler)
			continue; // retired
		CHECK(hx_syscall_desc_check(desc) == 0);
		// The table's `error` lines reach the descriptor (the fuzzer holds handlers to
		// them).
		if (nr == HX_SYS_chan_send) {
			REQUIRE(desc->nerrors == 5);
			CHECK(desc->errors[0] == -HX_EMSGSIZE);
			CHECK(desc->errors[4] == -HX_EPIPE);
		}
		if (nr == HX_SYS_getpid)
			CHECK(desc->nerrors == 0);
		CHECK(hx_syscall_lookup(nr) == desc);
		CHECK(hx_syscall_by_name(desc->name) == long(nr));
	}
	CHECK(hx_syscall_by_name("getpid") == HX_SYS_getpid);
	CHECK(hx_syscall_by_name("no_such_call") == -HX_ENOENT);
	CHECK(hx_syscall_by_name(nullptr) == -HX_ENOENT);
}

TEST_CASE("hx_index_nospec clamps out-of-range indices to 0", "[gateway]")
{
	CHECK(hx_index_nospec(0, 10) == 0);
	CHECK(hx_index_nospec(9, 10) == 9);
	CHECK(hx_index_nospec(10, 10) == 0);
	CHECK(hx_index_nospec(UINT64_MAX, 10) == 0);
	CHECK(hx_index_nospec(uint64_t(1) << 63, 10) == 0);
	CHECK(hx_index_nospec((uint64_t(1) << 62) + 3, uint64_t(1) << 63) ==
	      (uint64_t(1) << 62) + 3);
}

TEST_CASE("unknown numbers give -ENOSYS, huge ones too", "[gateway]")
{
	process p;
	struct hx_syscall_ctx ctx;
	const uint64_t args[HX_SYSCALL_ARGS] = {};

	for (uint64_t nr :
	     { uint64_t(HX_SYSCALL_STATIC_COUNT), uint64_t(200), uint64_t(HX_SYSCALL_DYNAMIC_BASE),
	       uint64_t(HX_SYSCALL_MAX - 1), uint64_t(HX_SYSCALL_MAX), uint64_t(1) << 32,
	       uint64_t(1) << 63, UINT64_MAX }) {
		INFO("nr " << nr);
		CHECK(hx_syscall_lookup(nr) == nullptr);
		CHECK(helix_syscall_entry(nr, 1, 2, 3, 4, 5, 6) == -HX_ENOSYS);
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, nr, args) == -HX_ENOSYS);
		CHECK(ctx.failure.error == -HX_ENOSYS);
		CHECK(ctx.failure.arg == -1);
		CHECK(ctx.desc == nullptr);
	}
}

TEST_CASE("a task with no bound caller gets -ESRCH", "[gateway]")
{
	struct hx_syscall_caller *previous = hx_syscall_set_caller(nullptr);
	struct hx_syscall_ctx ctx;
	const uint64_t args[HX_SYSCALL_ARGS] = {};

	CHECK(helix_syscall_entry(HX_SYS_getpid, 0, 0, 0, 0, 0, 0) == -HX_ESRCH);
	CHECK(hx_syscall_dispatch(nullptr, &ctx, HX_SYS_getpid, args) == -HX_ESRCH);
	CHECK(ctx.failure.error == -HX_ESRCH);
	hx_syscall_set_caller(previous);
}

TEST_CASE("the bound caller is per thread", "[gateway]")
{
	process p;
	long other = 0;

	CHECK(helix_syscall_entry(HX_SYS_getpid, 0, 0, 0, 0, 0, 0) == long(kPid));
	std::thread thread([&] { other = helix_syscall_entry(HX_SYS_getpid, 0, 0, 0, 0, 0, 0); });
	thread.join();
	CHECK(other == -HX_ESRCH);
}

TEST_CASE("dynamic registration: range, duplicates, malformed descriptors", "[gateway]")
{
	process p;
	struct hx_syscall_desc desc = make_desc(HX_SYSCALL_DYNAMIC_BASE + 7, "test_dynamic");

	REQUIRE(hx_syscall_register(&desc) == 0);
	CHECK(hx_syscall_register(&desc) == -HX_EEXIST);
	struct hx_syscall_desc same_nr = make_desc(desc.nr, "other_name");
	CHECK(hx_syscall_register(&same_nr) == -HX_EEXIST);
	CHECK(hx_syscall_lookup(desc.nr) == &desc);
	CHECK(hx_syscall_by_name("test_dynamic") == long(desc.nr));

	handler_calls = 0;
	CHECK(helix_syscall_entry(desc.nr, 99, 0, 0, 0, 0, 0) == 99);
	CHECK(handler_calls == 1);
	// The table's rule applies to dynamic syscalls too: the handler never runs.
	CHECK(helix_syscall_entry(desc.nr, 1001, 0, 0, 0, 0, 0) == -HX_EINVAL);
	CHECK(handler_calls == 1);

	CHECK(hx_syscall_unregister(desc.nr) == 0);
	CHECK(hx_syscall_unregister(desc.nr) == -HX_ENOENT);
	CHECK(helix_syscall_entry(desc.nr, 99, 0, 0, 0, 0, 0) == -HX_ENOSYS);
	CHECK(hx_syscall_by_name("test_dynamic") == -HX_ENOENT);

	// Numbers outside the dynamic range.
	for (uint32_t nr : { 0u, unsigned(HX_SYS_getpid), HX_SYSCALL_DYNAMIC_BASE - 1,
	                     HX_SYSCALL_MAX, 0xffffffffu }) {
		struct hx_syscall_desc bad = make_desc(nr, "out_of_range");
		INFO("nr " << nr);
		CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
		CHECK(hx_syscall_unregister(nr) == -HX_EINVAL);
	}
	CHECK(hx_syscall_register(nullptr) == -HX_EINVAL);

	// Malformed descriptors.
	uint32_t nr = HX_SYSCALL_DYNAMIC_BASE + 8;
	struct hx_syscall_desc bad = make_desc(nr, "bad");
	bad.handler = nullptr;
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad = make_desc(nr, nullptr);
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad = make_desc(nr, "bad");
	bad.nargs = 7;
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad = make_desc(nr, "bad");
	bad.args[0].min = 10;
	bad.args[0].max = 9;
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad = make_desc(nr, "bad");
	bad.args[1].kind = HX_ARG_UINT; // a rule beyond nargs
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad = make_desc(nr, "bad");
	bad.nargs = 2;
	bad.args[1].name = "buf";
	bad.args[1].kind = HX_ARG_UPTR;
	bad.args[1].access = HX_UACCESS_READ;
	bad.args[1].len_arg = 5; // names an argument the call does not have
	bad.args[1].align = 1;
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad.args[1].len_arg = 1; // itself: not an integer
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad.args[1].len_arg = 0;
	bad.args[1].align = 3; // not a power of two
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad.args[1].align = 8;
	bad.args[1].access = 0; // neither read nor write
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad.args[1].access = HX_UACCESS_READ;
	CHECK(hx_syscall_register(&bad) == 0); // now well formed
	CHECK(hx_syscall_unregister(nr) == 0);

	// The documented errors: negative HX_E* codes, and a list where a count is given.
	static const int good_errors[] = { -HX_EFAULT, -HX_EAGAIN };
	static const int positive[] = { HX_EFAULT };
	static const int unknown[] = { -HX_EFAULT, -4000 };
	bad = make_desc(nr, "bad");
	bad.nerrors = 1; // and no list
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad.errors = positive;
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad.errors = unknown;
	bad.nerrors = 2;
	CHECK(hx_syscall_register(&bad) == -HX_EINVAL);
	bad.errors = good_errors;
	CHECK(hx_syscall_register(&bad) == 0);
	CHECK(hx_syscall_unregister(nr) == 0);
}

TEST_CASE("value rules run before pointer rules, pointer rules before handles", "[gateway]")
{
	process p;
	struct hx_syscall_ctx ctx;
	uint64_t args[HX_SYSCALL_ARGS] = {};

	// write(buf = a kernel address, len = 2^64 - 1): the length is out of range first.
	args[0] = 0xffff800000000000ull;
	args[1] = UINT64_MAX;
	CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_write, args) == -HX_EINVAL);
	CHECK(ctx.failure.arg == 1);
	CHECK(ctx.failure.by != nullptr);
	CHECK(std::string(ctx.failure.by) == "validation");
	// With a valid length the pointer is what fails.
	args[1] = 16;
	CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_write, args) == -HX_EFAULT);
	CHECK(ctx.failure.arg == 0);

	// chan_send(chan = forged, msg = NULL, len = 8, deadline): the pointer fails before the
	// handle is looked at.
	args[0] = 12345;
	args[1] = 0;
	args[2] = 8;
	args[3] = HX_NOWAIT;
	CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_chan_send, args) == -HX_EFAULT);
	CHECK(ctx.failure.arg == 1);
	args[1] = p.us->base;
	CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_chan_send, args) == -HX_EBADF);
	CHECK(ctx.failure.arg == 0);
	CHECK(ctx.objects[0] == nullptr);
}

TEST_CASE("handle references taken for a call are dropped after it", "[gateway]")
{
	process p;
	long handle = helix_syscall_entry(HX_SYS_chan_create, 4, 8, 0, 0, 0, 0);
	REQUIRE(handle > 0);
	struct hx_kobject *obj = nullptr;

	REQUIRE(hx_handle_get(p.handles, handle, HX_KOBJ_CHANNEL, 0, &obj, nullptr) == 0);
	uint32_t refs = obj->refs.load();
	for (int i = 0; i < 100; i++) {
		CHECK(helix_syscall_entry(HX_SYS_chan_send, handle, p.us->base, 8, HX_NOWAIT, 0,
		                          0) == (i < 4 ? 0 : -HX_EAGAIN));
	}
	CHECK(helix_syscall_entry(HX_SYS_chan_send, handle, p.us->base, 9, HX_NOWAIT, 0, 0) ==
	      -HX_EMSGSIZE);
	CHECK(obj->refs.load() == refs);
	hx_kobject_put(obj);
	CHECK(helix_syscall_entry(HX_SYS_handle_close, handle, 0, 0, 0, 0, 0) == 0);
}

TEST_CASE("unregistering a dynamic syscall while other threads dispatch it", "[gateway]")
{
	constexpr int kThreads = 4;
	constexpr int kRounds = 50;
	process p;
	std::atomic<bool> stop{ false };
	std::atomic<long> bad_results{ 0 }, ok_results{ 0 };
	std::vector<std::thread> threads;
	uint32_t nr = HX_SYSCALL_DYNAMIC_BASE + 20;

	for (int t = 0; t < kThreads; t++)
		threads.emplace_back([&] {
			hx_syscall_set_caller(&p.caller);
			while (!stop.load()) {
				long r = helix_syscall_entry(nr, 7, 0, 0, 0, 0, 0);
				if (r == 7)
					ok_results.fetch_add(1);
				else if (r != -HX_ENOSYS)
					bad_results.fetch_add(1);
			}
		});
	for (int round = 0; round < kRounds; round++) {
		// A fresh descriptor each round, poisoned after unregister returns: a dispatch
		// still using it would call a NULL handler or read freed memory (ASan).
		auto *desc = new struct hx_syscall_desc(make_desc(nr, "churn"));
		REQUIRE(hx_syscall_register(desc) == 0);
		std::this_thread::yield();
		REQUIRE(hx_syscall_unregister(nr) == 0);
		memset(static_cast<void *>(desc), 0xa5, sizeof(*desc));
		delete desc;
	}
	stop = true;
	for (auto &thread : threads)
		thread.join();
	CHECK(bad_results == 0);
	INFO("dispatches that reached the handler: " << ok_results.load());
}
