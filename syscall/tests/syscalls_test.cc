// SPDX-License-Identifier: MIT
// Every syscall of syscall/syscalls.tbl through helix_syscall_entry, on a thread bound to a caller
// with a simulated user space and a handle table: results and every bad-argument error; -ENOSYS
// and number clamping; the failure record (ctx->failure); the handlers called directly where the
// gateway's checks would hide what the handler itself does (a page unmapped after validation);
// and the generated user stubs, compiled to call the gateway instead of the syscall instruction.
//
// The stubs (helix/syscall/user.h) are hx_user_<name>: they never collide with the kernel's own
// functions (hx_yield, hx_chan_send, ...).
//
// Catch2's assertion macros are not thread-safe: helper threads only record results, the main
// thread checks them after join().

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

#include "syscall/tests/test_process.h"

// The stubs call the gateway directly.
#define HX_USER_SYSCALL6(nr, a, b, c, d, e, f) helix_syscall_entry(nr, a, b, c, d, e, f)
#include <helix/syscall/user.h>

extern "C" {
// From helix/platform.h (not included: see above).
uint64_t hx_time_ns(void);
// The handlers, called directly in a few tests.
long hx_sys_write(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_clock_gettime(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_chan_recv(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_chan_send(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_wait(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
}

namespace
{

constexpr uint64_t kPage = HX_USER_PAGE_SIZE;
constexpr size_t kUserPages = 16;
constexpr uint64_t kKernelAddr = 0xffff800000001000ull;
constexpr uint64_t kPid = 77;

long sys(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
         uint64_t a4 = 0, uint64_t a5 = 0)
{
	return helix_syscall_entry(nr, a0, a1, a2, a3, a4, a5);
}

// The test process (test_process.h) with what these tests add: channels and handler contexts.
struct process : test_process {
	explicit process(uint64_t pid = kPid) : test_process(pid, kUserPages)
	{
	}

	// A channel handle with all rights.
	int64_t chan(uint64_t capacity, uint64_t msg_size)
	{
		long h = sys(HX_SYS_chan_create, capacity, msg_size);
		REQUIRE(h > 0);
		return h;
	}
	// A context as the gateway would hand it to a handler, with a resolved channel in slot 0.
	void handler_ctx(struct hx_syscall_ctx *ctx, uint64_t nr, int64_t handle, uint32_t rights)
	{
		memset(ctx, 0, sizeof(*ctx));
		ctx->nr = nr;
		ctx->caller = &caller;
		ctx->desc = hx_syscall_lookup(nr);
		ctx->failure.arg = -1;
		if (handle >= 0)
			REQUIRE(hx_handle_get(handles, handle, HX_KOBJ_CHANNEL, rights,
			                      &ctx->objects[0], nullptr) == 0);
	}
	void handler_ctx_done(struct hx_syscall_ctx *ctx)
	{
		for (auto &obj : ctx->objects)
			hx_kobject_put(obj);
	}
};

// Collects what hx_console_write writes (stderr on the hosted platform).
struct stderr_capture {
	FILE *file = nullptr;
	int saved = -1;

	stderr_capture()
	{
		fflush(stderr);
		file = tmpfile();
		REQUIRE(file != nullptr);
		saved = dup(2);
		REQUIRE(saved >= 0);
		REQUIRE(dup2(fileno(file), 2) == 2);
	}
	std::string finish()
	{
		std::string out;
		if (saved < 0)
			return out;
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		saved = -1;
		rewind(file);
		char buf[1024];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), file)) > 0)
			out.append(buf, n);
		fclose(file);
		file = nullptr;
		return out;
	}
	~stderr_capture()
	{
		finish();
	}
};

void fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)('a' + (i * 7 + seed) % 26);
}

uint64_t future(uint64_t ns)
{
	return hx_time_ns() + ns;
}

} // namespace

// ---- No caller, unknown numbers, clamping ------------------------------------------------------

TEST_CASE("no caller bound: ESRCH", "[syscalls]")
{
	struct hx_syscall_caller *previous = hx_syscall_set_caller(nullptr);
	CHECK(sys(HX_SYS_getpid) == -HX_ESRCH);
	CHECK(sys(HX_SYS_write, 0, 0) == -HX_ESRCH);
	hx_syscall_set_caller(previous);
}

TEST_CASE("unknown and unused numbers: ENOSYS; huge numbers never index the table", "[syscalls]")
{
	process p;

	for (uint64_t nr : { uint64_t(HX_SYSCALL_STATIC_COUNT), uint64_t(200), uint64_t(255),
	                     uint64_t(HX_SYSCALL_DYNAMIC_BASE), uint64_t(HX_SYSCALL_MAX - 1),
	                     uint64_t(HX_SYSCALL_MAX), uint64_t(1) << 63, UINT64_MAX,
	                     uint64_t(INT64_MAX), uint64_t(-int64_t(HX_SYS_getpid)) }) {
		INFO("nr " << nr);
		CHECK(sys(nr) == -HX_ENOSYS);
		CHECK(hx_syscall_lookup(nr) == nullptr);
	}
	// Numbers whose low bits name a real syscall: a truncating or wrapping index would reach
	// getpid (and return the pid) or exit (and mark the caller).
	for (uint64_t high : { uint64_t(1) << 32, uint64_t(1) << 40, uint64_t(1) << 63,
	                       uint64_t(HX_SYSCALL_MAX), uint64_t(1) << 16, uint64_t(1) << 9 }) {
		INFO("high " << high);
		CHECK(sys(high + HX_SYS_getpid) == -HX_ENOSYS);
		CHECK(sys(high + HX_SYS_exit, 0) == -HX_ENOSYS);
	}
	CHECK(p.caller.exited.load() == 0);
	// The table's numbers resolve; a number beyond it does not, whatever the arguments.
	for (uint64_t nr = 0; nr < HX_SYSCALL_STATIC_COUNT; nr++)
		CHECK(hx_syscall_lookup(nr) != nullptr);
	CHECK(sys(HX_SYSCALL_STATIC_COUNT, 1, 2, 3, 4, 5, 6) == -HX_ENOSYS);
}

TEST_CASE("the failure record names the argument", "[syscalls]")
{
	process p;
	struct hx_syscall_ctx ctx;

	SECTION("unknown number")
	{
		const uint64_t args[HX_SYSCALL_ARGS] = {};
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, 200, args) == -HX_ENOSYS);
		CHECK(ctx.failure.error == -HX_ENOSYS);
		CHECK(ctx.failure.arg == -1);
		CHECK(ctx.failure.reason != nullptr);
	}
	SECTION("a NULL buffer for write: argument 0")
	{
		const uint64_t args[HX_SYSCALL_ARGS] = { 0, 5 };
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_write, args) == -HX_EFAULT);
		CHECK(ctx.failure.error == -HX_EFAULT);
		CHECK(ctx.failure.arg == 0);
		CHECK(ctx.failure.reason != nullptr);
		CHECK(ctx.failure.by != nullptr);
	}
	SECTION("a length above the maximum: argument 1")
	{
		const uint64_t args[HX_SYSCALL_ARGS] = { p.user(0), HX_WRITE_MAX + 1 };
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_write, args) == -HX_EINVAL);
		CHECK(ctx.failure.arg == 1);
	}
	SECTION("a bad clock: argument 0; a read-only out pointer: argument 1")
	{
		const uint64_t bad_clock[HX_SYSCALL_ARGS] = { 0, p.user(0) };
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_clock_gettime, bad_clock) ==
		      -HX_EINVAL);
		CHECK(ctx.failure.arg == 0);
		p.protect(0, kPage, HX_UACCESS_READ);
		const uint64_t ro[HX_SYSCALL_ARGS] = { HX_CLOCK_MONOTONIC, p.user(0) };
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_clock_gettime, ro) == -HX_EFAULT);
		CHECK(ctx.failure.arg == 1);
	}
	SECTION("a forged handle: argument 0")
	{
		const uint64_t args[HX_SYSCALL_ARGS] = { 12345, p.user(0), 8, HX_NOWAIT };
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_chan_send, args) == -HX_EBADF);
		CHECK(ctx.failure.error == -HX_EBADF);
		CHECK(ctx.failure.arg == 0);
	}
	SECTION("the handler's own refusal: a wrong length for the channel, argument 2")
	{
		int64_t h = p.chan(4, 16);
		const uint64_t args[HX_SYSCALL_ARGS] = { uint64_t(h), p.user(0), 8, HX_NOWAIT };
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_chan_send, args) == -HX_EMSGSIZE);
		CHECK(ctx.failure.error == -HX_EMSGSIZE);
		CHECK(ctx.failure.arg == 2);
		CHECK(ctx.failure.reason != nullptr);
		CHECK(std::string(ctx.failure.by) == "chan_send");
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_chan_recv, args) == -HX_EMSGSIZE);
		CHECK(ctx.failure.arg == 2);
		CHECK(std::string(ctx.failure.by) == "chan_recv");
	}
	SECTION("dup with rights not a subset: argument 1")
	{
		int64_t h = p.chan(4, 16);
		long rt = sys(HX_SYS_handle_dup, h, HX_RIGHT_READ | HX_RIGHT_TRANSFER);
		REQUIRE(rt > 0);
		const uint64_t args[HX_SYSCALL_ARGS] = { uint64_t(rt), HX_RIGHT_WRITE };
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_handle_dup, args) == -HX_EACCES);
		CHECK(ctx.failure.arg == 1);
	}
	SECTION("success leaves no failure")
	{
		const uint64_t args[HX_SYSCALL_ARGS] = {};
		CHECK(hx_syscall_dispatch(&p.caller, &ctx, HX_SYS_getpid, args) == long(kPid));
		CHECK(ctx.failure.error == 0);
	}
}

// ---- Process syscalls --------------------------------------------------------------------------

TEST_CASE("getpid and yield", "[syscalls]")
{
	process p;
	CHECK(sys(HX_SYS_getpid) == long(kPid));
	CHECK(sys(HX_SYS_getpid, 1, 2, 3, 4, 5, 6) == long(kPid)); // unused registers ignored
	CHECK(sys(HX_SYS_yield) == 0);
	{
		process other(4242);
		CHECK(sys(HX_SYS_getpid) == 4242);
	}
	CHECK(sys(HX_SYS_getpid) == long(kPid));
}

TEST_CASE("exit marks the caller", "[syscalls]")
{
	process p;

	CHECK(sys(HX_SYS_exit, HX_PROCESS_EXIT_MAX + 1) == -HX_EINVAL);
	CHECK(sys(HX_SYS_exit, uint64_t(-1)) == -HX_EINVAL);
	CHECK(sys(HX_SYS_exit, uint64_t(1) << 32) == -HX_EINVAL);
	CHECK(p.caller.exited.load() == 0);
	CHECK(sys(HX_SYS_exit, 3) == 0);
	CHECK(p.caller.exited.load() == 1);
	CHECK(p.caller.exit_status == 3);

	process q;
	CHECK(sys(HX_SYS_exit, HX_PROCESS_EXIT_MAX) == 0);
	CHECK(q.caller.exit_status == HX_PROCESS_EXIT_MAX);
	CHECK(q.caller.exited.load() == 1);
	CHECK(p.caller.exit_status == 3); // another process untouched
}

TEST_CASE("write copies to the console", "[syscalls]")
{
	process p;

	SECTION("a short write")
	{
		memcpy(p.host(100), "hello, console\n", 15);
		stderr_capture cap;
		long n = sys(HX_SYS_write, p.user(100), 15);
		std::string out = cap.finish();
		CHECK(n == 15);
		CHECK(out == "hello, console\n");
	}
	SECTION("zero bytes")
	{
		stderr_capture cap;
		CHECK(sys(HX_SYS_write, p.user(0), 0) == 0);
		CHECK(cap.finish().empty());
	}
	SECTION("HX_WRITE_MAX bytes across pages, ending at the last user byte")
	{
		uint64_t off = kUserPages * kPage - HX_WRITE_MAX;
		fill(p.host(off), HX_WRITE_MAX, 3);
		stderr_capture cap;
		long n = sys(HX_SYS_write, p.user(off), HX_WRITE_MAX);
		std::string out = cap.finish();
		CHECK(n == long(HX_WRITE_MAX));
		REQUIRE(out.size() == HX_WRITE_MAX);
		CHECK(memcmp(out.data(), p.host(off), HX_WRITE_MAX) == 0);
	}
	SECTION("bad buffers and lengths")
	{
		stderr_capture cap;
		CHECK(sys(HX_SYS_write, p.user(0), HX_WRITE_MAX + 1) == -HX_EINVAL);
		// A huge length: the pointer rule (argument 0, checked first) may refuse it before
		// the length's own range rule does.
		long huge = sys(HX_SYS_write, p.user(0), UINT64_MAX);
		CHECK((huge == -HX_EINVAL || huge == -HX_EFAULT));
		CHECK(sys(HX_SYS_write, 0, 5) == -HX_EFAULT);
		CHECK(sys(HX_SYS_write, 0, 0) == -HX_EFAULT); // not nullable
		CHECK(sys(HX_SYS_write, kKernelAddr, 5) == -HX_EFAULT);
		CHECK(sys(HX_SYS_write, UINT64_MAX - 10, 100) == -HX_EFAULT); // wraps
		CHECK(sys(HX_SYS_write, p.user(0) - 1, 5) == -HX_EFAULT);     // below the space
		CHECK(sys(HX_SYS_write, p.end() - 4, 5) == -HX_EFAULT);       // one past the end
		p.protect(2 * kPage, kPage, 0);
		CHECK(sys(HX_SYS_write, p.user(2 * kPage + 10), 5) == -HX_EFAULT); // unmapped
		CHECK(sys(HX_SYS_write, p.user(2 * kPage - 5), 10) == -HX_EFAULT); // runs into it
		CHECK(cap.finish().empty());
	}
	SECTION("a fault mid-way: earlier chunks written, nothing of the faulting one")
	{
		// Bytes [0, 512) readable, then an unmapped page. Called on the handler directly:
		// the fault must be the handler's copy's, not the validation's.
		uint64_t start = 3 * kPage - 512;
		fill(p.host(start), 512, 5);
		p.protect(3 * kPage, kPage, 0);
		struct hx_syscall_ctx ctx;
		p.handler_ctx(&ctx, HX_SYS_write, -1, 0);
		const uint64_t args[HX_SYSCALL_ARGS] = { p.user(start), 600 };
		stderr_capture cap;
		long n = hx_sys_write(&ctx, args);
		std::string out = cap.finish();
		CHECK(n == -HX_EFAULT);
		CHECK(ctx.failure.error == -HX_EFAULT);
		CHECK(ctx.failure.arg == 0);
		REQUIRE(out.size() == 512); // two whole chunks of 256
		CHECK(memcmp(out.data(), p.host(start), 512) == 0);
	}
}

TEST_CASE("clock_gettime", "[syscalls]")
{
	process p;
	uint64_t *now = reinterpret_cast<uint64_t *>(p.host(64));

	uint64_t before = hx_time_ns();
	REQUIRE(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, p.user(64)) == 0);
	uint64_t after = hx_time_ns();
	CHECK(*now >= before);
	CHECK(*now <= after);
	// The last 8 bytes of the space.
	REQUIRE(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, p.end() - 8) == 0);
	CHECK(*reinterpret_cast<uint64_t *>(p.host(kUserPages * kPage - 8)) >= after);

	*now = 0;
	for (uint64_t clock : { uint64_t(0), uint64_t(2), uint64_t(-1), uint64_t(1) << 32 }) {
		INFO("clock " << clock);
		CHECK(sys(HX_SYS_clock_gettime, clock, p.user(64)) == -HX_EINVAL);
	}
	CHECK(*now == 0);
	CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, 0) == -HX_EFAULT);
	CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, kKernelAddr) == -HX_EFAULT);
	CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, UINT64_MAX - 7) == -HX_EFAULT);
	CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, p.end()) == -HX_EFAULT);
	CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, p.user(0) - 8) == -HX_EFAULT);
	CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, p.user(68)) == -HX_EINVAL); // align 8
	CHECK(*now == 0);

	SECTION("a read-only page")
	{
		p.protect(0, kPage, HX_UACCESS_READ);
		CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, p.user(64)) == -HX_EFAULT);
		// The handler's own copy catches it too (a page made read-only after validation).
		struct hx_syscall_ctx ctx;
		p.handler_ctx(&ctx, HX_SYS_clock_gettime, -1, 0);
		const uint64_t args[HX_SYSCALL_ARGS] = { HX_CLOCK_MONOTONIC, p.user(64) };
		CHECK(hx_sys_clock_gettime(&ctx, args) == -HX_EFAULT);
		CHECK(ctx.failure.arg == 1);
		CHECK(*now == 0);
	}
	SECTION("an unmapped page")
	{
		p.protect(0, kPage, 0);
		CHECK(sys(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC, p.user(64)) == -HX_EFAULT);
	}
}

TEST_CASE("sleep", "[syscalls]")
{
	process p;

	CHECK(sys(HX_SYS_sleep, 0) == 0);
	for (uint64_t ns : { uint64_t(1), uint64_t(1000), uint64_t(2000000) }) {
		uint64_t start = hx_time_ns();
		CHECK(sys(HX_SYS_sleep, ns) == 0);
		CHECK(hx_time_ns() - start >= ns);
	}
	CHECK(sys(HX_SYS_sleep, HX_SLEEP_MAX_NS + 1) == -HX_EINVAL);
	CHECK(sys(HX_SYS_sleep, UINT64_MAX) == -HX_EINVAL);
}

// ---- Channels and handles ----------------------------------------------------------------------

TEST_CASE("chan_create", "[syscalls][chan]")
{
	process p;

	long h = sys(HX_SYS_chan_create, 4, 16);
	REQUIRE(h > 0);
	CHECK(hx_handles_count(p.handles) == 1);
	struct hx_kobject *obj = nullptr;
	uint32_t rights = 0;
	REQUIRE(hx_handle_get(p.handles, h, HX_KOBJ_CHANNEL, 0, &obj, &rights) == 0);
	CHECK(rights == HX_RIGHTS_ALL);
	hx_kobject_put(obj);

	CHECK(sys(HX_SYS_chan_create, 0, 16) == -HX_EINVAL);
	CHECK(sys(HX_SYS_chan_create, HX_USER_CHAN_MAX_CAP + 1, 16) == -HX_EINVAL);
	CHECK(sys(HX_SYS_chan_create, 4, 0) == -HX_EINVAL);
	CHECK(sys(HX_SYS_chan_create, 4, HX_USER_CHAN_MAX_MSG + 1) == -HX_EINVAL);
	CHECK(sys(HX_SYS_chan_create, UINT64_MAX, UINT64_MAX) == -HX_EINVAL);
	CHECK(sys(HX_SYS_chan_create, 1, 1) > 0);
	CHECK(sys(HX_SYS_chan_create, 1, HX_USER_CHAN_MAX_MSG) > 0);
	CHECK(hx_handles_count(p.handles) == 3);
}

TEST_CASE("chan_create with a full table or none: EMFILE, nothing leaked", "[syscalls][chan]")
{
	process p;

	SECTION("full")
	{
		int64_t h = p.chan(2, 8);
		for (uint32_t i = 1; i < HX_HANDLES_MAX; i++)
			REQUIRE(sys(HX_SYS_handle_dup, h, HX_RIGHTS_ALL) > 0);
		CHECK(sys(HX_SYS_chan_create, 2, 8) == -HX_EMFILE); // (ASan: the channel is freed)
		CHECK(sys(HX_SYS_handle_dup, h, HX_RIGHT_READ) == -HX_EMFILE);
		CHECK(sys(HX_SYS_handle_close, h) == 0);
		CHECK(sys(HX_SYS_chan_create, 2, 8) > 0);
	}
	SECTION("no handle table")
	{
		p.caller.handles = nullptr;
		CHECK(sys(HX_SYS_chan_create, 2, 8) == -HX_EMFILE);
		CHECK(sys(HX_SYS_chan_close, 4096) == -HX_EBADF);
		CHECK(sys(HX_SYS_handle_close, 4096) == -HX_EBADF);
		p.caller.handles = p.handles;
	}
}

TEST_CASE("chan_send and chan_recv", "[syscalls][chan]")
{
	process p;

	SECTION("a round trip, FIFO, for sizes on both sides of the stack buffer")
	{
		for (uint64_t size : { uint64_t(1), uint64_t(8), uint64_t(256), uint64_t(257),
		                       uint64_t(HX_USER_CHAN_MAX_MSG) }) {
			INFO("size " << size);
			int64_t h = p.chan(3, size);
			const uint64_t in = 0, out = 2 * kPage;
			for (unsigned m = 0; m < 3; m++) {
				fill(p.host(in), size, m);
				REQUIRE(sys(HX_SYS_chan_send, h, p.user(in), size, HX_NOWAIT) == 0);
			}
			CHECK(sys(HX_SYS_chan_send, h, p.user(in), size, HX_NOWAIT) == -HX_EAGAIN);
			for (unsigned m = 0; m < 3; m++) {
				std::vector<unsigned char> want(size);
				fill(want.data(), size, m);
				memset(p.host(out), 0, size);
				REQUIRE(sys(HX_SYS_chan_recv, h, p.user(out), size, HX_NOWAIT) ==
				        0);
				CHECK(memcmp(p.host(out), want.data(), size) == 0);
			}
			CHECK(sys(HX_SYS_chan_recv, h, p.user(out), size, HX_NOWAIT) == -HX_EAGAIN);
			REQUIRE(sys(HX_SYS_handle_close, h) == 0);
		}
	}
	SECTION("bad lengths: EMSGSIZE for another size, EINVAL outside 1..max")
	{
		int64_t h = p.chan(2, 16);
		for (uint64_t len : { uint64_t(8), uint64_t(15), uint64_t(17), uint64_t(4096) }) {
			INFO("len " << len);
			CHECK(sys(HX_SYS_chan_send, h, p.user(0), len, HX_NOWAIT) == -HX_EMSGSIZE);
			CHECK(sys(HX_SYS_chan_recv, h, p.user(0), len, HX_NOWAIT) == -HX_EMSGSIZE);
		}
		for (uint64_t len : { uint64_t(0), uint64_t(HX_USER_CHAN_MAX_MSG + 1) }) {
			INFO("len " << len);
			CHECK(sys(HX_SYS_chan_send, h, p.user(0), len, HX_NOWAIT) == -HX_EINVAL);
			CHECK(sys(HX_SYS_chan_recv, h, p.user(0), len, HX_NOWAIT) == -HX_EINVAL);
		}
		// A length past the user space: the pointer rule (checked first) may refuse it.
		long send = sys(HX_SYS_chan_send, h, p.user(0), UINT64_MAX, HX_NOWAIT);
		long recv = sys(HX_SYS_chan_recv, h, p.user(0), UINT64_MAX, HX_NOWAIT);
		CHECK((send == -HX_EINVAL || send == -HX_EFAULT));
		CHECK((recv == -HX_EINVAL || recv == -HX_EFAULT));
	}
	SECTION("bad buffers: EFAULT, and the channel is untouched")
	{
		int64_t h = p.chan(2, 16);
		p.protect(4 * kPage, kPage, 0);
		p.protect(5 * kPage, kPage, HX_UACCESS_READ);
		for (uint64_t ptr : { uint64_t(0), kKernelAddr, UINT64_MAX - 8, p.end() - 8,
		                      p.user(4 * kPage), p.user(4 * kPage - 8) }) {
			INFO("ptr " << ptr);
			CHECK(sys(HX_SYS_chan_send, h, ptr, 16, HX_NOWAIT) == -HX_EFAULT);
		}
		fill(p.host(0), 16, 9);
		REQUIRE(sys(HX_SYS_chan_send, h, p.user(0), 16, HX_NOWAIT) == 0);
		for (uint64_t ptr :
		     { uint64_t(0), kKernelAddr, UINT64_MAX - 8, p.end() - 8, p.user(4 * kPage),
		       p.user(5 * kPage), p.user(6 * kPage - 8) }) {
			INFO("ptr " << ptr);
			CHECK(sys(HX_SYS_chan_recv, h, ptr, 16, HX_NOWAIT) == -HX_EFAULT);
		}
		// The one message accepted is still there, and nothing else is.
		REQUIRE(sys(HX_SYS_chan_recv, h, p.user(kPage), 16, HX_NOWAIT) == 0);
		CHECK(memcmp(p.host(kPage), p.host(0), 16) == 0);
		CHECK(sys(HX_SYS_chan_recv, h, p.user(kPage), 16, HX_NOWAIT) == -HX_EAGAIN);
	}
	SECTION("deadlines: NOWAIT gives EAGAIN, a past deadline ETIMEDOUT, a near one waits")
	{
		int64_t h = p.chan(1, 8);
		CHECK(sys(HX_SYS_chan_recv, h, p.user(0), 8, HX_NOWAIT) == -HX_EAGAIN);
		CHECK(sys(HX_SYS_chan_recv, h, p.user(0), 8, 1) == -HX_ETIMEDOUT);
		uint64_t deadline = future(2000000);
		CHECK(sys(HX_SYS_chan_recv, h, p.user(0), 8, deadline) == -HX_ETIMEDOUT);
		CHECK(hx_time_ns() >= deadline);
		REQUIRE(sys(HX_SYS_chan_send, h, p.user(0), 8, HX_NOWAIT) == 0);
		CHECK(sys(HX_SYS_chan_send, h, p.user(0), 8, HX_NOWAIT) == -HX_EAGAIN);
		CHECK(sys(HX_SYS_chan_send, h, p.user(0), 8, 1) == -HX_ETIMEDOUT);
		CHECK(sys(HX_SYS_chan_send, h, p.user(0), 8, future(1000000)) == -HX_ETIMEDOUT);
		CHECK(sys(HX_SYS_chan_recv, h, p.user(0), 8, HX_FOREVER) == 0); // one is there
	}
	SECTION("close: send gives EPIPE, recv drains then EPIPE, a second close EPIPE")
	{
		int64_t h = p.chan(4, 8);
		for (unsigned m = 0; m < 3; m++) {
			fill(p.host(8 * m), 8, m);
			REQUIRE(sys(HX_SYS_chan_send, h, p.user(8 * m), 8, HX_NOWAIT) == 0);
		}
		CHECK(sys(HX_SYS_chan_close, h) == 0);
		CHECK(sys(HX_SYS_chan_close, h) == -HX_EPIPE);
		CHECK(sys(HX_SYS_chan_send, h, p.user(0), 8, HX_NOWAIT) == -HX_EPIPE);
		CHECK(sys(HX_SYS_chan_send, h, p.user(0), 8, HX_FOREVER) == -HX_EPIPE);
		for (unsigned m = 0; m < 3; m++) {
			REQUIRE(sys(HX_SYS_chan_recv, h, p.user(kPage), 8, HX_FOREVER) == 0);
			CHECK(memcmp(p.host(kPage), p.host(8 * m), 8) == 0);
		}
		CHECK(sys(HX_SYS_chan_recv, h, p.user(kPage), 8, HX_FOREVER) == -HX_EPIPE);
		CHECK(sys(HX_SYS_chan_recv, h, p.user(kPage), 8, HX_NOWAIT) == -HX_EPIPE);
		// The handle outlives the close until it is closed itself.
		CHECK(sys(HX_SYS_handle_close, h) == 0);
		CHECK(sys(HX_SYS_chan_close, h) == -HX_EBADF);
	}
	SECTION("close wakes a receiver sleeping with HX_FOREVER")
	{
		int64_t h = p.chan(2, 8);
		std::atomic<long> result{ 1 };
		std::thread receiver([&] {
			p.bind();
			result = sys(HX_SYS_chan_recv, h, p.user(0), 8, HX_FOREVER);
		});
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		CHECK(sys(HX_SYS_chan_close, h) == 0);
		receiver.join();
		CHECK(result == -HX_EPIPE);
	}
}

TEST_CASE("handles through the syscalls: stale, forged, rights", "[syscalls][chan]")
{
	process p;
	int64_t h = p.chan(4, 8);

	SECTION("stale and forged handles: EBADF")
	{
		long closed = sys(HX_SYS_handle_dup, h, HX_RIGHTS_ALL);
		REQUIRE(closed > 0);
		REQUIRE(sys(HX_SYS_handle_close, closed) == 0);
		for (uint64_t bad :
		     { uint64_t(0), uint64_t(-1), uint64_t(closed), uint64_t(12345),
		       uint64_t(h) | (uint64_t(1) << 31), uint64_t(h) | (uint64_t(1) << 32),
		       uint64_t(h) | (uint64_t(1) << 63), uint64_t(h & 0xfff), uint64_t(INT32_MAX),
		       UINT64_MAX }) {
			INFO("handle " << bad);
			CHECK(sys(HX_SYS_chan_send, bad, p.user(0), 8, HX_NOWAIT) == -HX_EBADF);
			CHECK(sys(HX_SYS_chan_recv, bad, p.user(0), 8, HX_NOWAIT) == -HX_EBADF);
			CHECK(sys(HX_SYS_chan_close, bad) == -HX_EBADF);
			CHECK(sys(HX_SYS_handle_close, bad) == -HX_EBADF);
			CHECK(sys(HX_SYS_handle_dup, bad, HX_RIGHT_READ) == -HX_EBADF);
		}
		// Nothing reached the channel.
		CHECK(sys(HX_SYS_chan_recv, h, p.user(0), 8, HX_NOWAIT) == -HX_EAGAIN);
	}
	SECTION("a handle of another process's table: EBADF")
	{
		process other; // bound to this thread until the end of the section
		CHECK(sys(HX_SYS_chan_send, h, other.user(0), 8, HX_NOWAIT) == -HX_EBADF);
		CHECK(sys(HX_SYS_chan_close, h) == -HX_EBADF);
	}
	SECTION("rights: a read-only dup cannot send, a write-only one cannot receive")
	{
		long ro = sys(HX_SYS_handle_dup, h, HX_RIGHT_READ);
		long wo = sys(HX_SYS_handle_dup, h, HX_RIGHT_WRITE);
		REQUIRE(ro > 0);
		REQUIRE(wo > 0);
		CHECK(sys(HX_SYS_chan_send, ro, p.user(0), 8, HX_NOWAIT) == -HX_EACCES);
		CHECK(sys(HX_SYS_chan_recv, wo, p.user(0), 8, HX_NOWAIT) == -HX_EACCES);
		fill(p.host(0), 8, 1);
		CHECK(sys(HX_SYS_chan_send, wo, p.user(0), 8, HX_NOWAIT) == 0);
		CHECK(sys(HX_SYS_chan_recv, ro, p.user(64), 8, HX_NOWAIT) == 0);
		CHECK(memcmp(p.host(0), p.host(64), 8) == 0);
		// chan_close needs no right; dup needs the transfer right.
		CHECK(sys(HX_SYS_handle_dup, ro, HX_RIGHT_READ) == -HX_EACCES);
		CHECK(sys(HX_SYS_chan_close, ro) == 0);
		CHECK(sys(HX_SYS_chan_send, wo, p.user(0), 8, HX_NOWAIT) == -HX_EPIPE);
	}
	SECTION("handle_dup: rights 0, outside the mask, not a subset")
	{
		CHECK(sys(HX_SYS_handle_dup, h, 0) == -HX_EINVAL);
		CHECK(sys(HX_SYS_handle_dup, h, HX_RIGHTS_ALL + 1) == -HX_EINVAL);
		CHECK(sys(HX_SYS_handle_dup, h, uint64_t(1) << 40 | HX_RIGHT_READ) == -HX_EINVAL);
		long rt = sys(HX_SYS_handle_dup, h, HX_RIGHT_READ | HX_RIGHT_TRANSFER);
		REQUIRE(rt > 0);
		CHECK(rt != h);
		CHECK(sys(HX_SYS_handle_dup, rt, HX_RIGHT_WRITE) == -HX_EACCES);
		CHECK(sys(HX_SYS_handle_dup, rt, HX_RIGHTS_ALL) == -HX_EACCES);
		long r = sys(HX_SYS_handle_dup, rt, HX_RIGHT_READ);
		CHECK(r > 0);
		CHECK(hx_handles_count(p.handles) == 3);
	}
	SECTION("handle_close, then the handle is dead but other handles keep the channel")
	{
		long d = sys(HX_SYS_handle_dup, h, HX_RIGHTS_ALL);
		REQUIRE(d > 0);
		CHECK(sys(HX_SYS_handle_close, h) == 0);
		CHECK(sys(HX_SYS_handle_close, h) == -HX_EBADF);
		CHECK(sys(HX_SYS_chan_send, h, p.user(0), 8, HX_NOWAIT) == -HX_EBADF);
		CHECK(sys(HX_SYS_chan_send, d, p.user(0), 8, HX_NOWAIT) == 0);
		CHECK(sys(HX_SYS_chan_recv, d, p.user(0), 8, HX_NOWAIT) == 0);
		CHECK(sys(HX_SYS_handle_close, d) == 0);
		CHECK(hx_handles_count(p.handles) == 0); // the channel is gone (ASan: no leak)
	}
}

TEST_CASE("chan_recv never loses a message to a faulting copy", "[syscalls][chan]")
{
	process p;
	int64_t h = p.chan(4, 32);
	const uint64_t ro_page = 6 * kPage;

	for (unsigned m = 0; m < 3; m++) {
		fill(p.host(64 * m), 32, m);
		REQUIRE(sys(HX_SYS_chan_send, h, p.user(64 * m), 32, HX_NOWAIT) == 0);
	}
	// The buffer turns read-only after the gateway's check: the handler takes the first message
	// from the channel, its copy faults, and the message must stay in the kernel.
	p.protect(ro_page, kPage, HX_UACCESS_READ);
	struct hx_syscall_ctx ctx;
	p.handler_ctx(&ctx, HX_SYS_chan_recv, h, HX_RIGHT_READ);
	const uint64_t args[HX_SYSCALL_ARGS] = { uint64_t(h), p.user(ro_page), 32, HX_NOWAIT };
	CHECK(hx_sys_chan_recv(&ctx, args) == -HX_EFAULT);
	CHECK(ctx.failure.arg == 1);
	CHECK(hx_sys_chan_recv(&ctx, args) == -HX_EFAULT); // again: still kept, not a second one
	p.handler_ctx_done(&ctx);

	// Closing does not drop it either; the messages come out in order, then EPIPE.
	CHECK(sys(HX_SYS_chan_close, h) == 0);
	for (unsigned m = 0; m < 3; m++) {
		INFO("message " << m);
		REQUIRE(sys(HX_SYS_chan_recv, h, p.user(kPage), 32, HX_NOWAIT) == 0);
		CHECK(memcmp(p.host(kPage), p.host(64 * m), 32) == 0);
	}
	CHECK(sys(HX_SYS_chan_recv, h, p.user(kPage), 32, HX_NOWAIT) == -HX_EPIPE);
}

TEST_CASE("chan_recv: a page unmapped while the receiver waits", "[syscalls][chan]")
{
	// Whether the receiver is already asleep when the page goes (the copy faults after the
	// message was taken) or not yet validated (the probe refuses it), the result is -EFAULT and
	// the message is received by the next call.
	process p;
	int64_t h = p.chan(2, 16);
	const uint64_t page = 7 * kPage;
	std::atomic<long> result{ 1 };

	std::thread receiver([&] {
		p.bind();
		result = sys(HX_SYS_chan_recv, h, p.user(page), 16, future(10000000000ull));
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	p.protect(page, kPage, 0);
	fill(p.host(0), 16, 4);
	REQUIRE(sys(HX_SYS_chan_send, h, p.user(0), 16, HX_NOWAIT) == 0);
	receiver.join();
	CHECK(result == -HX_EFAULT);
	REQUIRE(sys(HX_SYS_chan_recv, h, p.user(kPage), 16, HX_NOWAIT) == 0);
	CHECK(memcmp(p.host(kPage), p.host(0), 16) == 0);
	CHECK(sys(HX_SYS_chan_recv, h, p.user(kPage), 16, HX_NOWAIT) == -HX_EAGAIN);
}

TEST_CASE("concurrent receivers on one channel are serialised; each message once",
          "[syscalls][chan][threads]")
{
	process p;
	int64_t h = p.chan(8, 8);
	constexpr int kReceivers = 3;
	constexpr uint64_t kMessages = 3000;
	std::vector<std::vector<uint64_t>> got(kReceivers);
	std::vector<long> last(kReceivers, 1);

	std::vector<std::thread> receivers;
	for (int r = 0; r < kReceivers; r++) {
		// Each receiver through its own read-only dup, into its own page.
		long handle = sys(HX_SYS_handle_dup, h, HX_RIGHT_READ);
		REQUIRE(handle > 0);
		receivers.emplace_back([&, r, handle] {
			p.bind();
			uint64_t buf = p.user(uint64_t(r + 1) * kPage);
			for (;;) {
				long err = sys(HX_SYS_chan_recv, handle, buf, 8,
				               r == 0 ? HX_FOREVER : future(5000000));
				if (err == -HX_ETIMEDOUT || err == -HX_EAGAIN)
					continue;
				if (err) {
					last[r] = err;
					return;
				}
				uint64_t v;
				memcpy(&v, p.host(uint64_t(r + 1) * kPage), 8);
				got[r].push_back(v);
			}
		});
	}
	for (uint64_t m = 0; m < kMessages; m++) {
		memcpy(p.host(0), &m, 8);
		REQUIRE(sys(HX_SYS_chan_send, h, p.user(0), 8, HX_FOREVER) == 0);
	}
	CHECK(sys(HX_SYS_chan_close, h) == 0);
	for (auto &t : receivers)
		t.join();

	std::vector<int> seen(kMessages, 0);
	for (int r = 0; r < kReceivers; r++) {
		CHECK(last[r] == -HX_EPIPE);
		uint64_t prev = 0;
		for (size_t i = 0; i < got[r].size(); i++) {
			REQUIRE(got[r][i] < kMessages);
			if (i)
				CHECK(got[r][i] > prev); // each receiver sees them in order
			prev = got[r][i];
			seen[got[r][i]]++;
		}
	}
	for (uint64_t m = 0; m < kMessages; m++) {
		INFO("message " << m);
		REQUIRE(seen[m] == 1);
	}
}

TEST_CASE("a handle closed while another thread uses the channel", "[syscalls][chan][threads]")
{
	process p;
	int64_t h = p.chan(2, 8);
	std::atomic<long> result{ 1 };

	std::thread receiver([&] {
		p.bind();
		result = sys(HX_SYS_chan_recv, h, p.user(0), 8, future(300000000));
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	// The only handle goes; the receiver's dispatch holds a reference, so the channel lives on
	// until it returns (ASan would see a use after free otherwise).
	CHECK(sys(HX_SYS_handle_close, h) == 0);
	CHECK(hx_handles_count(p.handles) == 0);
	receiver.join();
	// Nobody can send or close it any more: the receiver timed out, or it had not resolved
	// the handle yet.
	CHECK((result == -HX_ETIMEDOUT || result == -HX_EBADF));
}

// ---- The generated user stubs ------------------------------------------------------------------

// ---- spawn and wait: the syscall side, over a fake process backend ----------------------------

namespace
{

// A process backend that records what spawn and wait were asked and answers from its fields.
struct fake_processes {
	std::string spawned;
	uint64_t parent_pid = 0;
	long spawn_result = 5;
	long wait_result = 0; // 0: the child has ended with `status` (collect decides)
	int32_t status = 0;
	bool collected = false;
	uint64_t waited_pid = 0, waited_deadline = 0;

	static fake_processes *self;
	static long spawn(struct hx_syscall_caller *parent, const char *name)
	{
		self->spawned = name;
		self->parent_pid = parent->pid;
		return self->spawn_result;
	}
	static long wait(struct hx_syscall_caller *parent, uint64_t pid, uint64_t deadline,
	                 int (*collect)(void *, int32_t), void *collect_ctx)
	{
		self->waited_pid = pid;
		self->waited_deadline = deadline;
		if (self->wait_result < 0)
			return self->wait_result;
		int err = collect(collect_ctx, self->status);
		if (err)
			return err;
		self->collected = true;
		return long(pid);
	}
};
fake_processes *fake_processes::self;

const struct hx_process_ops fake_ops = { fake_processes::spawn, fake_processes::wait };

} // namespace

TEST_CASE("spawn and wait: ENOSYS without a backend, arguments checked first", "[syscalls]")
{
	process p;
	memcpy(p.host(0), "init", 5);
	REQUIRE(hx_syscall_set_process_ops(nullptr) == nullptr);
	CHECK(sys(HX_SYS_spawn, p.user(0)) == -HX_ENOSYS);
	CHECK(sys(HX_SYS_wait, 3, 0, HX_NOWAIT) == -HX_ENOSYS);
	// The table's rules come before the handler: a bad pointer is EFAULT even without a
	// backend.
	CHECK(sys(HX_SYS_spawn, kKernelAddr) == -HX_EFAULT);
	CHECK(sys(HX_SYS_wait, 0, 0, HX_NOWAIT) == -HX_EINVAL);
	CHECK(sys(HX_SYS_wait, uint64_t(HX_PID_MAX) + 1, 0, HX_NOWAIT) == -HX_EINVAL);
}

TEST_CASE("spawn and wait through a process backend", "[syscalls]")
{
	process p;
	fake_processes fake;
	fake_processes::self = &fake;
	REQUIRE(hx_syscall_set_process_ops(&fake_ops) == nullptr);

	SECTION("spawn copies the name in and returns the backend's pid")
	{
		memcpy(p.host(0), "hello", 6);
		CHECK(sys(HX_SYS_spawn, p.user(0)) == 5);
		CHECK(fake.spawned == "hello");
		CHECK(fake.parent_pid == kPid);
		fake.spawn_result = -HX_ENOENT;
		CHECK(sys(HX_SYS_spawn, p.user(0)) == -HX_ENOENT);
	}
	SECTION("spawn refuses an empty name, a name too long, an unterminated one")
	{
		p.host(0)[0] = 0;
		CHECK(sys(HX_SYS_spawn, p.user(0)) == -HX_ENOENT);
		memset(p.host(0), 'a', HX_PROGRAM_NAME_MAX + 1);
		p.host(0)[HX_PROGRAM_NAME_MAX + 1] = 0;
		CHECK(sys(HX_SYS_spawn, p.user(0)) == -HX_ENAMETOOLONG);
		memset(p.host(0), 'a', HX_PROGRAM_NAME_MAX);
		p.host(0)[HX_PROGRAM_NAME_MAX] = 0;
		fake.spawned.clear();
		CHECK(sys(HX_SYS_spawn, p.user(0)) == 5); // exactly HX_PROGRAM_NAME_MAX characters
		CHECK(fake.spawned.size() == HX_PROGRAM_NAME_MAX);
		// A name running into an unmapped page before its NUL.
		memset(p.host(kPage - 4), 'b', 4);
		p.protect(kPage, kPage, 0);
		CHECK(sys(HX_SYS_spawn, p.user(kPage - 4)) == -HX_EFAULT);
	}
	SECTION("wait copies the status out before the child is collected")
	{
		fake.status = HX_STATUS_KILLED | 14;
		CHECK(sys(HX_SYS_wait, 9, p.user(8), 1234) == 9);
		CHECK(fake.waited_pid == 9);
		CHECK(fake.waited_deadline == 1234);
		CHECK(*reinterpret_cast<int32_t *>(p.host(8)) == (HX_STATUS_KILLED | 14));
		CHECK(fake.collected);
	}
	SECTION("wait with a NULL status collects the child")
	{
		CHECK(sys(HX_SYS_wait, 9, 0, HX_FOREVER) == 9);
		CHECK(fake.collected);
	}
	SECTION("wait whose status page went away leaves the child uncollected")
	{
		CHECK(sys(HX_SYS_wait, 9, p.user(6), HX_FOREVER) == -HX_EINVAL); // misaligned
		p.protect(0, kPage, HX_UACCESS_READ);
		struct hx_syscall_ctx ctx;
		uint64_t args[HX_SYSCALL_ARGS] = { 9, p.user(8), HX_FOREVER };
		memset(&ctx, 0, sizeof(ctx));
		ctx.caller = &p.caller;
		ctx.failure.arg = -1;
		CHECK(hx_sys_wait(&ctx, args) == -HX_EFAULT);
		CHECK(ctx.failure.arg == 1);
		CHECK_FALSE(fake.collected);
	}
	SECTION("the backend's errors pass through")
	{
		fake.wait_result = -HX_ECHILD;
		CHECK(sys(HX_SYS_wait, 9, p.user(8), HX_NOWAIT) == -HX_ECHILD);
		fake.wait_result = -HX_ETIMEDOUT;
		CHECK(sys(HX_SYS_wait, 9, p.user(8), 1) == -HX_ETIMEDOUT);
	}
	CHECK(hx_syscall_set_process_ops(nullptr) == &fake_ops);
}

TEST_CASE("the user stubs reach the gateway", "[syscalls][user]")
{
	process p;

	CHECK(hx_user_getpid() == long(kPid));
	CHECK(hx_user_yield() == 0);
	CHECK(hx_user_sleep(1000) == 0);

	memcpy(p.host(0), "stub\n", 5);
	{
		stderr_capture cap;
		CHECK(hx_user_write(p.host(0), 5) == 5);
		CHECK(cap.finish() == "stub\n");
	}
	CHECK(hx_user_write(nullptr, 5) == -HX_EFAULT);

	CHECK(hx_user_clock_gettime(HX_CLOCK_MONOTONIC, p.host(64)) == 0);
	CHECK(*reinterpret_cast<uint64_t *>(p.host(64)) > 0);
	CHECK(hx_user_clock_gettime(0, p.host(64)) == -HX_EINVAL);

	long h = hx_user_chan_create(2, 16);
	REQUIRE(h > 0);
	fill(p.host(128), 16, 7);
	CHECK(hx_user_chan_send(h, p.host(128), 16, HX_NOWAIT) == 0);
	CHECK(hx_user_chan_send(h, p.host(128), 8, HX_NOWAIT) == -HX_EMSGSIZE);
	CHECK(hx_user_chan_recv(h, p.host(256), 16, HX_NOWAIT) == 0);
	CHECK(memcmp(p.host(128), p.host(256), 16) == 0);
	CHECK(hx_user_chan_recv(h, p.host(256), 16, HX_NOWAIT) == -HX_EAGAIN);
	long d = hx_user_handle_dup(h, HX_RIGHT_READ);
	CHECK(d > 0);
	CHECK(hx_user_chan_send(d, p.host(128), 16, HX_NOWAIT) == -HX_EACCES);
	CHECK(hx_user_chan_close(h) == 0);
	CHECK(hx_user_handle_close(h) == 0);
	CHECK(hx_user_handle_close(h) == -HX_EBADF);
	CHECK(hx_user_chan_recv(d, p.host(256), 16, HX_NOWAIT) == -HX_EPIPE);
	CHECK(hx_user_exit(7) == 0);
	CHECK(p.caller.exited.load() == 1);
	CHECK(p.caller.exit_status == 7);
}
