// SPDX-License-Identifier: MIT
// Syscall hooks (syscall/include/helix/syscall/hooks.h) through real dispatches: pre/post order
// by priority and FIFO among equals; the first denial ends the pre-hook walk; post-hooks see every
// result; registration errors; unregistering a hook while other threads dispatch (its memory is
// poisoned and freed as soon as unregister returns: ASan catches a dispatch still using it); the
// policy, audit (ring overflow, concurrent writers) and trace hooks.
//
// The syscalls dispatched are registered by this test in the dynamic range, so the test does not
// depend on the handlers of the generated table. Hooks are global: every test case leaves none
// registered (the guards below unregister on the way out, also after a failed REQUIRE).
// Catch2's assertion macros are not thread-safe: helper threads only count, the main thread
// checks after join().

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

namespace
{

using namespace std::chrono_literals;

// Test syscalls, all without argument rules (the raw values reach the hooks and the handler).
constexpr uint32_t kSysEcho = 300;  // returns args[1] & 0xffff
constexpr uint32_t kSysFail = 301;  // returns -HX_EIO
constexpr uint32_t kSysSleep = 302; // sleeps 2 ms, returns 0
constexpr uint32_t kSysFree = 303;  // no rule in any policy below: gets the default action
constexpr uint32_t kSysNone = 310;  // never registered: -HX_ENOSYS

std::atomic<uint64_t> handler_calls{ 0 };

long echo_handler(struct hx_syscall_ctx *, const uint64_t args[HX_SYSCALL_ARGS])
{
	handler_calls.fetch_add(1, std::memory_order_relaxed);
	return (long)(args[1] & 0xffff);
}

long fail_handler(struct hx_syscall_ctx *, const uint64_t *)
{
	handler_calls.fetch_add(1, std::memory_order_relaxed);
	return -HX_EIO;
}

long sleep_handler(struct hx_syscall_ctx *, const uint64_t *)
{
	handler_calls.fetch_add(1, std::memory_order_relaxed);
	std::this_thread::sleep_for(2ms);
	return 0;
}

struct hx_syscall_desc make_desc(uint32_t nr, const char *name, hx_syscall_fn handler)
{
	struct hx_syscall_desc desc;

	std::memset(static_cast<void *>(&desc), 0, sizeof(desc));
	desc.nr = nr;
	desc.name = name;
	desc.summary = "hooks_test syscall";
	desc.nargs = 0;
	desc.handler = handler;
	return desc;
}

const struct hx_syscall_desc echo_desc = make_desc(kSysEcho, "test_echo", echo_handler);
const struct hx_syscall_desc fail_desc = make_desc(kSysFail, "test_fail", fail_handler);
const struct hx_syscall_desc sleep_desc = make_desc(kSysSleep, "test_sleep", sleep_handler);
const struct hx_syscall_desc free_desc = make_desc(kSysFree, "test_free", echo_handler);

// Failures on helper threads, which may not use Catch2's macros.
std::atomic<uint64_t> helper_failures{ 0 };

// A process: a simulated user space, optionally a policy; bound to the constructing thread for
// helix_syscall_entry, unbound again by the destructor.
struct Process {
	struct hx_syscall_caller caller;
	struct hx_syscall_caller *previous;

	explicit Process(uint64_t pid, const struct hx_policy *policy = nullptr,
	                 bool helper_thread = false)
	{
		caller.pid = pid;
		caller.uspace = nullptr;
		caller.handles = nullptr;
		caller.policy = policy;
		caller.exited.store(0);
		caller.exit_status = 0;
		int err = hx_uspace_sim_create(64 * 1024, &caller.uspace);
		if (helper_thread) {
			if (err)
				helper_failures.fetch_add(1);
		} else {
			REQUIRE(err == 0);
		}
		previous = hx_syscall_set_caller(&caller);
	}
	~Process()
	{
		hx_syscall_set_caller(previous);
		hx_uspace_sim_destroy(caller.uspace);
	}
	Process(const Process &) = delete;
	Process &operator=(const Process &) = delete;
};

// Registers the test syscalls for one test case.
struct Syscalls {
	Syscalls()
	{
		for (auto *desc : { &echo_desc, &fail_desc, &sleep_desc, &free_desc })
			REQUIRE(hx_syscall_register(desc) == 0);
	}
	~Syscalls()
	{
		for (auto *desc : { &echo_desc, &fail_desc, &sleep_desc, &free_desc })
			hx_syscall_unregister(desc->nr);
	}
};

// Unregisters its hooks when the test case ends, however it ends.
struct HookGuard {
	std::vector<struct hx_syscall_hook *> hooks;

	int add(struct hx_syscall_hook *hook)
	{
		int err = hx_syscall_hook_register(hook);

		if (!err)
			hooks.push_back(hook);
		return err;
	}
	~HookGuard()
	{
		for (auto *hook : hooks)
			hx_syscall_hook_unregister(hook); // -HX_ENOENT for those the test removed
		CHECK(hx_syscall_hook_count() == 0);
	}
};

long call(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
          uint64_t a4 = 0, uint64_t a5 = 0)
{
	return helix_syscall_entry(nr, a0, a1, a2, a3, a4, a5);
}

// ---- Recording hooks ----------------------------------------------------------------------------

std::mutex log_lock;
std::vector<std::string> event_log;

void note(const std::string &event)
{
	std::lock_guard<std::mutex> guard(log_lock);
	event_log.push_back(event);
}

// The events since the last call, separated by spaces.
std::string take_log()
{
	std::lock_guard<std::mutex> guard(log_lock);
	std::string out;

	for (const std::string &event : event_log)
		out += (out.empty() ? "" : " ") + event;
	event_log.clear();
	return out;
}

// A hook that logs "<name>:pre" and "<name>:post=<result>"; its pre-hook returns @verdict.
struct Recorder {
	struct hx_syscall_hook hook;
	std::string name;
	int verdict = 0;

	static int pre(struct hx_syscall_ctx *, void *arg)
	{
		auto *self = static_cast<Recorder *>(arg);
		note(self->name + ":pre");
		return self->verdict;
	}
	static void post(struct hx_syscall_ctx *ctx, long result, void *arg)
	{
		auto *self = static_cast<Recorder *>(arg);
		note(self->name + ":post=" + std::to_string(result) + "@" +
		     std::to_string(ctx->nr));
	}

	Recorder(const char *hook_name, int priority, int pre_verdict = 0, bool with_pre = true,
	         bool with_post = true)
	    : name(hook_name), verdict(pre_verdict)
	{
		std::memset(static_cast<void *>(&hook), 0, sizeof(hook));
		hook.name = name.c_str();
		hook.priority = priority;
		hook.pre = with_pre ? pre : nullptr;
		hook.post = with_post ? post : nullptr;
		hook.arg = this;
	}
};

} // namespace

// ---- Order and denial ---------------------------------------------------------------------------

TEST_CASE("hooks: pre and post hooks run by priority, FIFO among equals", "[hooks]")
{
	Syscalls syscalls;
	Process proc(1);
	HookGuard guard;
	Recorder trace("trace", HX_HOOK_TRACE), sec1("sec1", HX_HOOK_SECURITY),
	    audit1("audit1", HX_HOOK_AUDIT), audit2("audit2", HX_HOOK_AUDIT),
	    sec2("sec2", HX_HOOK_SECURITY), mid("mid", 150), neg("neg", -5);

	take_log();
	REQUIRE(hx_syscall_hook_count() == 0);
	for (Recorder *r : { &trace, &sec1, &audit1, &audit2, &sec2, &mid, &neg })
		REQUIRE(guard.add(&r->hook) == 0);
	CHECK(hx_syscall_hook_count() == 7);

	CHECK(call(kSysEcho, 0, 42) == 42);
	CHECK(take_log() == "neg:pre sec1:pre sec2:pre audit1:pre audit2:pre mid:pre trace:pre "
	                    "neg:post=42@300 sec1:post=42@300 sec2:post=42@300 "
	                    "audit1:post=42@300 audit2:post=42@300 mid:post=42@300 "
	                    "trace:post=42@300");

	// Re-registering goes to the back of its priority; a hook with only one side runs only
	// there.
	REQUIRE(hx_syscall_hook_unregister(&sec1.hook) == 0);
	REQUIRE(hx_syscall_hook_unregister(&trace.hook) == 0);
	REQUIRE(hx_syscall_hook_unregister(&mid.hook) == 0);
	REQUIRE(hx_syscall_hook_unregister(&neg.hook) == 0);
	CHECK(hx_syscall_hook_count() == 3);
	REQUIRE(guard.add(&sec1.hook) == 0);
	Recorder post_only("post_only", HX_HOOK_SECURITY, 0, false, true);
	Recorder pre_only("pre_only", HX_HOOK_AUDIT, 0, true, false);
	REQUIRE(guard.add(&post_only.hook) == 0);
	REQUIRE(guard.add(&pre_only.hook) == 0);
	CHECK(call(kSysEcho, 0, 7) == 7);
	CHECK(take_log() == "sec2:pre sec1:pre audit1:pre audit2:pre pre_only:pre "
	                    "sec2:post=7@300 sec1:post=7@300 post_only:post=7@300 "
	                    "audit1:post=7@300 audit2:post=7@300");
}

TEST_CASE("hooks: the first denial ends the pre-hook walk and is returned", "[hooks]")
{
	Syscalls syscalls;
	Process proc(2);
	HookGuard guard;
	Recorder allow("allow", HX_HOOK_SECURITY), deny("deny", HX_HOOK_SECURITY, -HX_EPERM),
	    deny_later("deny_later", HX_HOOK_SECURITY, -HX_EACCES), after("after", HX_HOOK_AUDIT);

	take_log();
	for (Recorder *r : { &allow, &deny, &deny_later, &after })
		REQUIRE(guard.add(&r->hook) == 0);

	uint64_t calls_before = handler_calls.load();
	struct hx_syscall_ctx ctx;
	const uint64_t args[HX_SYSCALL_ARGS] = { 1, 2, 3, 4, 5, 6 };
	CHECK(hx_syscall_dispatch(&proc.caller, &ctx, kSysEcho, args) == -HX_EPERM);
	CHECK(handler_calls.load() == calls_before); // the handler never ran
	CHECK(ctx.failure.error == -HX_EPERM);
	CHECK(ctx.failure.arg == -1);
	CHECK(std::string(ctx.failure.by) == "deny");
	REQUIRE(ctx.failure.reason != nullptr);

	// deny_later and after: no pre-hook call. Every post-hook sees the denial.
	CHECK(take_log() == "allow:pre deny:pre allow:post=-1@300 deny:post=-1@300 "
	                    "deny_later:post=-1@300 after:post=-1@300");

	// Also before the number is known to exist: the pre-hooks come first.
	CHECK(call(kSysNone) == -HX_EPERM);
	take_log();
}

TEST_CASE("hooks: post-hooks see every result", "[hooks]")
{
	Syscalls syscalls;
	Process proc(3);
	HookGuard guard;
	Recorder post("post", HX_HOOK_TRACE, 0, false, true);

	take_log();
	REQUIRE(guard.add(&post.hook) == 0);
	CHECK(call(kSysEcho, 0, 5) == 5);
	CHECK(call(kSysFail) == -HX_EIO);
	CHECK(call(kSysNone) == -HX_ENOSYS);
	CHECK(call(HX_SYSCALL_MAX) == -HX_ENOSYS);
	CHECK(call(UINT64_MAX) == -HX_ENOSYS);

	Recorder deny("deny", HX_HOOK_SECURITY, -HX_EACCES, true, false);
	REQUIRE(guard.add(&deny.hook) == 0);
	CHECK(call(kSysEcho, 0, 5) == -HX_EACCES);

	CHECK(take_log() == "post:post=5@300 post:post=-5@301 post:post=-38@310 "
	                    "post:post=-38@512 post:post=-38@18446744073709551615 deny:pre "
	                    "post:post=-13@300");
}

TEST_CASE("hooks: registration errors", "[hooks]")
{
	HookGuard guard;
	Recorder ok("ok", HX_HOOK_AUDIT);
	Recorder neither("neither", HX_HOOK_AUDIT, 0, false, false);
	Recorder nameless("nameless", HX_HOOK_AUDIT);
	Recorder empty_name("", HX_HOOK_AUDIT);

	nameless.hook.name = nullptr;
	CHECK(hx_syscall_hook_register(nullptr) == -HX_EINVAL);
	CHECK(hx_syscall_hook_register(&nameless.hook) == -HX_EINVAL);
	CHECK(hx_syscall_hook_register(&empty_name.hook) == -HX_EINVAL);
	CHECK(hx_syscall_hook_register(&neither.hook) == -HX_EINVAL);
	CHECK(hx_syscall_hook_count() == 0);

	CHECK(hx_syscall_hook_unregister(&ok.hook) == -HX_ENOENT);
	CHECK(hx_syscall_hook_unregister(nullptr) == -HX_ENOENT);
	REQUIRE(guard.add(&ok.hook) == 0);
	CHECK(ok.hook.registered);
	CHECK(hx_syscall_hook_register(&ok.hook) == -HX_EEXIST);
	CHECK(hx_syscall_hook_count() == 1);

	std::vector<std::unique_ptr<Recorder>> many;
	for (int i = 1; i < HX_HOOKS_MAX; i++) {
		many.emplace_back(new Recorder("many", i));
		REQUIRE(guard.add(&many.back()->hook) == 0);
	}
	CHECK(hx_syscall_hook_count() == HX_HOOKS_MAX);
	Recorder one_too_many("one_too_many", HX_HOOK_AUDIT);
	CHECK(hx_syscall_hook_register(&one_too_many.hook) == -HX_ENOSPC);
	CHECK(hx_syscall_hook_register(&ok.hook) == -HX_EEXIST); // EEXIST before ENOSPC

	// Unregistering makes room; unregistering twice is -HX_ENOENT.
	CHECK(hx_syscall_hook_unregister(&ok.hook) == 0);
	CHECK_FALSE(ok.hook.registered);
	CHECK(hx_syscall_hook_unregister(&ok.hook) == -HX_ENOENT);
	CHECK(guard.add(&one_too_many.hook) == 0);
	CHECK(hx_syscall_hook_count() == HX_HOOKS_MAX);
	for (auto *hook : guard.hooks)
		hx_syscall_hook_unregister(hook);
	CHECK(hx_syscall_hook_count() == 0);
}

// ---- Unregistering while others dispatch --------------------------------------------------------

namespace
{

constexpr uint64_t kLive = 0x1171e1171e1171e1ull;
constexpr uint64_t kDead = 0xdeaddeaddeaddeadull;

// A hook whose state lives on the heap next to it; both are poisoned and freed right after
// unregister returns.
struct HeapHook {
	struct hx_syscall_hook hook;
	uint64_t canary;
	std::atomic<uint64_t> runs{ 0 };
	std::atomic<uint64_t> *bad;

	static int pre(struct hx_syscall_ctx *, void *arg)
	{
		auto *self = static_cast<HeapHook *>(arg);
		if (self->canary != kLive)
			self->bad->fetch_add(1);
		self->runs.fetch_add(1, std::memory_order_relaxed);
		return 0;
	}
	static void post(struct hx_syscall_ctx *, long, void *arg)
	{
		auto *self = static_cast<HeapHook *>(arg);
		if (self->canary != kLive)
			self->bad->fetch_add(1);
	}
};

HeapHook *new_heap_hook(std::atomic<uint64_t> *bad, int priority)
{
	auto *h = new HeapHook;

	std::memset(static_cast<void *>(&h->hook), 0, sizeof(h->hook));
	h->hook.name = "heap";
	h->hook.priority = priority;
	h->hook.pre = HeapHook::pre;
	h->hook.post = HeapHook::post;
	h->hook.arg = h;
	h->canary = kLive;
	h->bad = bad;
	return h;
}

void poison_and_free(HeapHook *h)
{
	h->canary = kDead;
	std::memset(static_cast<void *>(&h->hook), 0xdd, sizeof(h->hook));
	delete h;
}

} // namespace

TEST_CASE("hooks: unregistering a hook while 4 threads dispatch", "[hooks]")
{
	Syscalls syscalls;
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> bad{ 0 }, dispatches{ 0 };
	std::vector<std::thread> threads;

	for (int t = 0; t < 4; t++) {
		threads.emplace_back([&, t] {
			Process proc(100 + t, nullptr, true);

			while (!stop.load(std::memory_order_relaxed)) {
				uint64_t v = dispatches.fetch_add(1, std::memory_order_relaxed);
				long result = call(v % 2 ? kSysEcho : kSysFail, 0, v & 0xff);

				if (result != (v % 2 ? (long)(v & 0xff) : -HX_EIO))
					bad.fetch_add(1);
			}
		});
	}
	while (dispatches.load() < 1000)
		std::this_thread::yield();

	// A long-lived neighbour, so the list is copied rather than emptied, and short-lived hooks
	// of several priorities around it.
	HeapHook *resident = new_heap_hook(&bad, HX_HOOK_AUDIT);
	REQUIRE(hx_syscall_hook_register(&resident->hook) == 0);
	uint64_t total_runs = 0;
	// Each grace period waits for the dispatchers the scheduler preempted inside a section (5
	// threads on however few cores), so rounds are bounded by time as well.
	auto deadline = std::chrono::steady_clock::now() + 3s;
	auto more = [&](int round) {
		return round < 20 || (round < 200 && std::chrono::steady_clock::now() < deadline);
	};
	for (int round = 0; more(round); round++) {
		HeapHook *a = new_heap_hook(&bad, round % 3 * 100);
		HeapHook *b = new_heap_hook(&bad, HX_HOOK_SECURITY);

		REQUIRE(hx_syscall_hook_register(&a->hook) == 0);
		REQUIRE(hx_syscall_hook_register(&b->hook) == 0);
		if (round % 10 == 0) {
			uint64_t until = dispatches.load() + 50;
			while (dispatches.load() < until)
				std::this_thread::yield();
		}
		REQUIRE(hx_syscall_hook_unregister(&a->hook) == 0);
		total_runs += a->runs.load();
		poison_and_free(a);
		REQUIRE(hx_syscall_hook_unregister(&b->hook) == 0);
		poison_and_free(b);
	}
	REQUIRE(hx_syscall_hook_unregister(&resident->hook) == 0);
	total_runs += resident->runs.load();
	poison_and_free(resident);
	stop.store(true);
	for (auto &t : threads)
		t.join();
	CHECK(bad.load() == 0);
	CHECK(helper_failures.load() == 0);
	CHECK(total_runs > 0);
	CHECK(hx_syscall_hook_count() == 0);
}

// ---- The policy hook ----------------------------------------------------------------------------

TEST_CASE("policy: builders", "[hooks][policy]")
{
	struct hx_policy policy;

	hx_policy_init(&policy, -HX_EPERM);
	CHECK(policy.default_action == -HX_EPERM);
	CHECK(policy.count == 0);
	CHECK(hx_policy_set(&policy, kSysEcho, 0) == 0);
	CHECK(hx_policy_set(&policy, kSysEcho, -HX_EACCES) == 0); // the same rule, changed
	CHECK(policy.count == 1);
	CHECK(policy.rules[0].action == -HX_EACCES);
	CHECK(hx_policy_set(&policy, kSysEcho, 1) == -HX_EINVAL);
	CHECK(hx_policy_set(&policy, kSysEcho, -4096) == -HX_EINVAL);
	CHECK(hx_policy_set(nullptr, kSysEcho, 0) == -HX_EINVAL);
	CHECK(hx_policy_restrict_flags(&policy, kSysEcho, -1, 1, -HX_EINVAL) == -HX_EINVAL);
	CHECK(hx_policy_restrict_flags(&policy, kSysEcho, HX_SYSCALL_ARGS, 1, -HX_EINVAL) ==
	      -HX_EINVAL);
	CHECK(hx_policy_restrict_flags(&policy, kSysEcho, 0, 1, 0) == -HX_EINVAL);
	CHECK(hx_policy_restrict_flags(&policy, kSysEcho, 0, 1, 5) == -HX_EINVAL);
	CHECK(hx_policy_restrict_flags(&policy, kSysEcho, 0, 1, -HX_EINVAL) == 0);
	CHECK(policy.count == 1);
	CHECK(policy.rules[0].action == -HX_EACCES); // the action stays
	CHECK(policy.rules[0].flags_arg == 0);

	for (uint32_t nr = 1; policy.count < HX_POLICY_MAX_RULES; nr++)
		REQUIRE(hx_policy_set(&policy, 1000 + nr, 0) == 0);
	CHECK(hx_policy_set(&policy, 5000, 0) == -HX_ENOSPC);
	CHECK(hx_policy_restrict_flags(&policy, 5000, 0, 1, -HX_EINVAL) == -HX_ENOSPC);
	CHECK(hx_policy_set(&policy, kSysEcho, 0) == 0); // an existing rule still changes
}

TEST_CASE("policy: allow and deny by number, flags rules, default action", "[hooks][policy]")
{
	Syscalls syscalls;
	HookGuard guard;
	struct hx_policy policy;
	struct hx_syscall_ctx ctx;
	uint64_t args[HX_SYSCALL_ARGS] = { 0, 0, 0, 0, 0, 0 };

	REQUIRE(guard.add(hx_policy_hook()) == 0);
	CHECK(std::string(hx_policy_hook()->name) == "policy");
	CHECK(hx_policy_hook()->priority == HX_HOOK_SECURITY);

	SECTION("no policy: everything is allowed")
	{
		Process proc(10);
		CHECK(call(kSysEcho, 0, 3) == 3);
		CHECK(call(kSysFail) == -HX_EIO);
		CHECK(call(kSysNone) == -HX_ENOSYS);
	}

	SECTION("default allow, rules by number and flags")
	{
		hx_policy_init(&policy, 0);
		REQUIRE(hx_policy_set(&policy, kSysFail, -HX_EPERM) == 0);
		REQUIRE(hx_policy_restrict_flags(&policy, kSysEcho, 1, 0x0f, -HX_EINVAL) == 0);
		Process proc(11, &policy);

		CHECK(call(kSysFree, 0, 9) == 9); // no rule: default
		CHECK(call(kSysEcho, 0, 0x0a) == 0x0a);
		CHECK(call(kSysEcho, 0, 0) == 0);
		CHECK(call(kSysEcho, 0xff, 0x0f, 0xff) == 0x0f); // only argument 1 is checked

		args[1] = 0x1f;
		CHECK(hx_syscall_dispatch(&proc.caller, &ctx, kSysEcho, args) == -HX_EINVAL);
		CHECK(ctx.failure.error == -HX_EINVAL);
		CHECK(ctx.failure.arg == 1);
		CHECK(std::string(ctx.failure.by) == "policy");
		CHECK(std::string(ctx.failure.reason) == "flag not allowed by the policy");
		args[1] = 1ull << 63;
		CHECK(hx_syscall_dispatch(&proc.caller, &ctx, kSysEcho, args) == -HX_EINVAL);

		CHECK(hx_syscall_dispatch(&proc.caller, &ctx, kSysFail, args) == -HX_EPERM);
		CHECK(ctx.failure.arg == -1);
		CHECK(std::string(ctx.failure.by) == "policy");
		CHECK(std::string(ctx.failure.reason) == "syscall denied by the policy");

		// A denied number stays denied whatever its flags.
		REQUIRE(hx_policy_set(&policy, kSysEcho, -HX_EACCES) == 0);
		CHECK(call(kSysEcho, 0, 1) == -HX_EACCES);
	}

	SECTION("default deny")
	{
		hx_policy_init(&policy, -HX_EACCES);
		REQUIRE(hx_policy_set(&policy, kSysEcho, 0) == 0);
		REQUIRE(hx_policy_restrict_flags(&policy, kSysSleep, 0, 0, -HX_EINVAL) == 0);
		Process proc(12, &policy);

		CHECK(call(kSysEcho, 0, 4) == 4);
		CHECK(call(kSysSleep) == 0); // a flags rule alone allows the number
		CHECK(call(kSysSleep, 1) == -HX_EINVAL);
		CHECK(hx_syscall_dispatch(&proc.caller, &ctx, kSysFree, args) == -HX_EACCES);
		CHECK(std::string(ctx.failure.by) == "policy");
		CHECK(std::string(ctx.failure.reason) == "denied by the policy's default");
		CHECK(call(kSysNone) == -HX_EACCES); // before -HX_ENOSYS: the pre-hooks come first
		CHECK(call(UINT64_MAX) == -HX_EACCES);
		// Number 300 + 2^32 must not match the rule for 300.
		CHECK(call(kSysEcho + (1ull << 32)) == -HX_EACCES);
	}
}

// ---- The audit hook -----------------------------------------------------------------------------

namespace
{

// Owns a ring (its hook unregistered first).
struct Ring {
	struct hx_audit_ring *ring = nullptr;

	explicit Ring(size_t capacity)
	{
		REQUIRE(hx_audit_create(capacity, &ring) == 0);
	}
	~Ring()
	{
		hx_syscall_hook_unregister(hx_audit_hook(ring));
		hx_audit_destroy(ring);
	}
};

} // namespace

TEST_CASE("audit: create errors", "[hooks][audit]")
{
	struct hx_audit_ring *ring = nullptr;

	for (size_t bad : { 0ul, 1ul, 3ul, 6ul, 100ul, 65537ul, 131072ul })
		CHECK(hx_audit_create(bad, &ring) == -HX_EINVAL);
	CHECK(hx_audit_create(8, nullptr) == -HX_EINVAL);
	for (size_t good : { 2ul, 4ul, 1024ul, 65536ul }) {
		REQUIRE(hx_audit_create(good, &ring) == 0);
		CHECK(std::string(hx_audit_hook(ring)->name) == "audit");
		CHECK(hx_audit_hook(ring)->priority == HX_HOOK_AUDIT);
		CHECK(hx_audit_written(ring) == 0);
		hx_audit_destroy(ring);
	}
}

TEST_CASE("audit: overflow keeps the newest records and counts the dropped", "[hooks][audit]")
{
	Syscalls syscalls;
	Process proc(77);
	Ring ring(4);
	struct hx_audit_record records[16];
	uint64_t cursor = 0, dropped = 0;

	REQUIRE(hx_syscall_hook_register(hx_audit_hook(ring.ring)) == 0);
	uint64_t before = hx_time_ns();
	for (uint64_t i = 0; i < 10; i++)
		CHECK(call(kSysEcho, i, 100 + i, 2, 3, 4, 5) == (long)(100 + i));
	uint64_t after = hx_time_ns();
	CHECK(hx_audit_written(ring.ring) == 10);
	CHECK(hx_audit_overwritten(ring.ring) == 6);

	REQUIRE(hx_audit_read(ring.ring, &cursor, records, 16, &dropped) == 4);
	CHECK(dropped == 6);
	CHECK(cursor == 10);
	for (uint64_t i = 0; i < 4; i++) {
		const struct hx_audit_record &r = records[i];

		CHECK(r.seq == 6 + i);
		CHECK(r.pid == 77);
		CHECK(r.nr == kSysEcho);
		CHECK(r.args[0] == 6 + i);
		CHECK(r.args[1] == 106 + i);
		CHECK(r.args[5] == 5);
		CHECK(r.result == (int64_t)(106 + i));
		CHECK(r.failed_arg == -1);
		CHECK(r.reason == nullptr);
		CHECK(r.by == nullptr);
		CHECK(r.time_ns >= before);
		CHECK(r.time_ns <= after);
		if (i)
			CHECK(r.time_ns >= records[i - 1].time_ns);
	}
	CHECK(hx_audit_read(ring.ring, &cursor, records, 16, &dropped) == 0);
	CHECK(dropped == 6);
	CHECK(hx_audit_overwritten(ring.ring) == 6);

	// Read in pieces, with a NULL dropped; a second reader (cursor 0) has its own view.
	CHECK(call(kSysFail) == -HX_EIO);
	CHECK(call(kSysEcho, 0, 1) == 1);
	CHECK(hx_audit_read(ring.ring, &cursor, records, 1, nullptr) == 1);
	CHECK(records[0].seq == 10);
	CHECK(records[0].result == -HX_EIO);
	CHECK(hx_audit_read(ring.ring, &cursor, records, 1, nullptr) == 1);
	CHECK(records[0].seq == 11);
	uint64_t other = 0, other_dropped = 0;
	CHECK(hx_audit_read(ring.ring, &other, records, 16, &other_dropped) == 4);
	CHECK(other_dropped == 8);
	CHECK(records[0].seq == 8);
	// Records 8 and 9 had been read: overwriting them is not a loss.
	for (int i = 0; i < 2; i++)
		call(kSysEcho);
	CHECK(hx_audit_overwritten(ring.ring) == 6);
}

TEST_CASE("audit: records of refused calls say who refused and why", "[hooks][audit]")
{
	Syscalls syscalls;
	struct hx_policy policy;
	HookGuard guard;
	Ring ring(8);
	struct hx_audit_record records[8];
	uint64_t cursor = 0;

	hx_policy_init(&policy, 0);
	REQUIRE(hx_policy_set(&policy, kSysFail, -HX_EPERM) == 0);
	REQUIRE(hx_policy_restrict_flags(&policy, kSysEcho, 2, 0x1, -HX_EINVAL) == 0);
	Process proc(5, &policy);
	REQUIRE(guard.add(hx_policy_hook()) == 0);
	REQUIRE(guard.add(hx_audit_hook(ring.ring)) == 0);

	CHECK(call(kSysFail) == -HX_EPERM);
	CHECK(call(kSysEcho, 0, 0, 2) == -HX_EINVAL);
	CHECK(call(kSysNone) == -HX_ENOSYS);
	REQUIRE(hx_audit_read(ring.ring, &cursor, records, 8, nullptr) == 3);

	CHECK(records[0].result == -HX_EPERM);
	CHECK(records[0].failed_arg == -1);
	CHECK(std::string(records[0].by) == "policy");
	CHECK(std::string(records[0].reason) == "syscall denied by the policy");
	CHECK(records[1].result == -HX_EINVAL);
	CHECK(records[1].failed_arg == 2);
	CHECK(records[1].args[2] == 2);
	CHECK(std::string(records[1].by) == "policy");
	CHECK(records[2].nr == kSysNone);
	CHECK(records[2].result == -HX_ENOSYS);
	CHECK(records[2].reason != nullptr);
	CHECK(records[2].by != nullptr);
}

TEST_CASE("audit: concurrent writers and readers, every record consistent", "[hooks][audit]")
{
	Syscalls syscalls;
	Ring ring(8); // small, so writers lap readers and each other
	std::atomic<bool> writers_done{ false };
	std::atomic<uint64_t> bad{ 0 };
	std::vector<std::thread> writers;
	const int nwriters = 4;
	const uint64_t per_writer = 20000;

	auto checksum = [](const uint64_t a[HX_SYSCALL_ARGS]) {
		return (a[0] * 0x9e3779b97f4a7c15ull) ^ (a[1] + 0x1234) ^ (a[2] << 7) ^ a[3] ^ a[4];
	};
	REQUIRE(hx_syscall_hook_register(hx_audit_hook(ring.ring)) == 0);

	for (int w = 0; w < nwriters; w++) {
		writers.emplace_back([&, w] {
			Process proc(1000 + w, nullptr, true);

			for (uint64_t i = 0; i < per_writer; i++) {
				uint64_t a[HX_SYSCALL_ARGS];

				a[0] = (uint64_t)w;
				a[1] = i & 0xffff;
				a[2] = i;
				a[3] = ~i;
				a[4] = i * 3;
				a[5] = checksum(a);
				if (call(kSysEcho, a[0], a[1], a[2], a[3], a[4], a[5]) !=
				    (long)(i & 0xffff))
					bad.fetch_add(1);
			}
		});
	}

	// Two readers, each with its own cursor, while the writers run.
	std::atomic<uint64_t> read_total[2], dropped_total[2];
	std::vector<std::thread> readers;
	for (int r = 0; r < 2; r++) {
		read_total[r].store(0);
		dropped_total[r].store(0);
		readers.emplace_back([&, r] {
			struct hx_audit_record recs[5];
			uint64_t cursor = 0, dropped = 0, got = 0, last_seq = 0;
			bool first = true, finishing = false;

			for (;;) {
				bool done = writers_done.load();
				size_t n = hx_audit_read(ring.ring, &cursor, recs, 5, &dropped);

				for (size_t k = 0; k < n; k++) {
					const struct hx_audit_record &rec = recs[k];
					bool ok = rec.nr == kSysEcho && rec.args[0] < nwriters &&
					          rec.pid == 1000 + rec.args[0] &&
					          rec.args[5] == checksum(rec.args) &&
					          rec.args[1] == (rec.args[2] & 0xffff) &&
					          rec.result == (int64_t)rec.args[1] &&
					          rec.failed_arg == -1 && rec.reason == nullptr &&
					          (first || rec.seq > last_seq);
					if (!ok)
						bad.fetch_add(1);
					first = false;
					last_seq = rec.seq;
				}
				got += n;
				if (finishing && n == 0)
					break;
				finishing = done;
				if (n == 0)
					hx_yield();
			}
			read_total[r].store(got);
			dropped_total[r].store(dropped);
			if (cursor != hx_audit_written(ring.ring))
				bad.fetch_add(1);
		});
	}
	for (auto &t : writers)
		t.join();
	writers_done.store(true);
	for (auto &t : readers)
		t.join();

	uint64_t written = hx_audit_written(ring.ring);
	CHECK(bad.load() == 0);
	CHECK(helper_failures.load() == 0);
	CHECK(written == nwriters * per_writer);
	for (int r = 0; r < 2; r++) {
		// Once the writers are done, a reader accounts for every record: read or dropped.
		CHECK(read_total[r].load() + dropped_total[r].load() == written);
		CHECK(read_total[r].load() > 0);
	}
	CHECK(hx_audit_overwritten(ring.ring) <= written);
}

// The ring alone, as hard as it can be pushed: writers call the hook's post function directly (no
// gateway in between), so they lap the readers mid-copy and each other mid-record all the time.
TEST_CASE("audit: the ring under direct writers: no torn record is ever returned", "[hooks][audit]")
{
	const uint64_t per_writer = 300000;
	auto checksum = [](uint64_t pid, uint64_t nr, const uint64_t a[HX_SYSCALL_ARGS]) {
		return pid * 0x9e3779b97f4a7c15ull ^ nr ^ (a[0] << 3) ^ (a[1] << 11) ^
		       (a[2] << 19) ^ (a[3] << 27) ^ a[4];
	};

	// One writer and a reader on the other core tear most often; more writers also lap each
	// other (the abandoned-slot path).
	const std::pair<int, size_t> shapes[] = { { 1, 2 }, { 2, 4 }, { 3, 16 } };
	for (auto [nwriters, capacity] : shapes) {
		Ring ring(capacity);
		struct hx_syscall_hook *hook = hx_audit_hook(ring.ring);
		std::atomic<bool> writers_done{ false };
		std::atomic<uint64_t> bad{ 0 }, got_total{ 0 }, dropped_total{ 0 };
		std::vector<std::thread> threads;

		for (int w = 0; w < nwriters; w++) {
			threads.emplace_back([&, w] {
				struct hx_syscall_caller caller;
				struct hx_syscall_ctx ctx;

				std::memset(static_cast<void *>(&caller), 0, sizeof(caller));
				caller.pid = 500 + w;
				std::memset(static_cast<void *>(&ctx), 0, sizeof(ctx));
				ctx.caller = &caller;
				ctx.failure.arg = -1;
				for (uint64_t i = 0; i < per_writer; i++) {
					ctx.nr = i % 7;
					for (int a = 0; a < HX_SYSCALL_ARGS - 1; a++)
						ctx.args[a] = i * (a + 1) + w;
					ctx.args[5] = checksum(caller.pid, ctx.nr, ctx.args);
					hook->post(&ctx, (long)ctx.args[5], hook->arg);
				}
			});
		}
		auto reader = [&] {
			struct hx_audit_record recs[3];
			uint64_t cursor = 0, dropped = 0, got = 0;
			bool finishing = false;

			for (;;) {
				bool done = writers_done.load();
				size_t n = hx_audit_read(ring.ring, &cursor, recs, 3, &dropped);

				for (size_t k = 0; k < n; k++) {
					const struct hx_audit_record &r = recs[k];

					if (r.args[5] != checksum(r.pid, r.nr, r.args) ||
					    r.result != (int64_t)r.args[5] || r.pid < 500 ||
					    r.pid >= 500 + (uint64_t)nwriters)
						bad.fetch_add(1);
				}
				got += n;
				if (finishing && n == 0)
					break;
				finishing = done;
			}
			got_total.fetch_add(got);
			dropped_total.fetch_add(dropped);
		};
		std::thread reader1(reader), reader2(reader);
		for (auto &t : threads)
			t.join();
		writers_done.store(true);
		reader1.join();
		reader2.join();

		uint64_t written = hx_audit_written(ring.ring);
		CHECK(written == nwriters * per_writer);
		CHECK(bad.load() == 0);
		CHECK(got_total.load() + dropped_total.load() == 2 * written);
		CHECK(got_total.load() > 0);
		CHECK(hx_audit_overwritten(ring.ring) < written);
	}
}

// ---- The trace hook -----------------------------------------------------------------------------

TEST_CASE("trace: counts, errors and latency histogram per number", "[hooks][trace]")
{
	Syscalls syscalls;
	Process proc(9);
	HookGuard guard;
	struct hx_trace_stats stats;

	CHECK(std::string(hx_trace_hook()->name) == "trace");
	CHECK(hx_trace_hook()->priority == HX_HOOK_TRACE);
	hx_trace_reset();
	REQUIRE(guard.add(hx_trace_hook()) == 0);
	for (int i = 0; i < 5; i++)
		call(kSysEcho);
	for (int i = 0; i < 3; i++)
		call(kSysFail);
	call(kSysSleep);
	call(kSysNone);
	call(UINT64_MAX); // out of range: counted nowhere

	auto total = [](const struct hx_trace_stats &s) {
		uint64_t sum = 0;
		for (uint64_t n : s.latency)
			sum += n;
		return sum;
	};
	REQUIRE(hx_trace_get(kSysEcho, &stats) == 0);
	CHECK(stats.calls == 5);
	CHECK(stats.errors == 0);
	CHECK(total(stats) == 5);
	REQUIRE(hx_trace_get(kSysFail, &stats) == 0);
	CHECK(stats.calls == 3);
	CHECK(stats.errors == 3);
	CHECK(total(stats) == 3);
	REQUIRE(hx_trace_get(kSysNone, &stats) == 0);
	CHECK(stats.calls == 1);
	CHECK(stats.errors == 1);

	// 2 ms is in [2^20, 2^21) ns or, on a slow machine, a later bucket; never an earlier one.
	REQUIRE(hx_trace_get(kSysSleep, &stats) == 0);
	CHECK(stats.calls == 1);
	CHECK(total(stats) == 1);
	for (int b = 0; b < 20; b++)
		CHECK(stats.latency[b] == 0);

	CHECK(hx_trace_get(HX_SYSCALL_MAX, &stats) == -HX_EINVAL);
	CHECK(hx_trace_get(UINT64_MAX, &stats) == -HX_EINVAL);
	CHECK(hx_trace_get(0, nullptr) == -HX_EINVAL);

	hx_trace_reset();
	REQUIRE(hx_trace_get(kSysEcho, &stats) == 0);
	CHECK(stats.calls == 0);
	CHECK(total(stats) == 0);

	// Unregistered, it counts nothing.
	REQUIRE(hx_syscall_hook_unregister(hx_trace_hook()) == 0);
	call(kSysEcho);
	REQUIRE(hx_trace_get(kSysEcho, &stats) == 0);
	CHECK(stats.calls == 0);
}
