// SPDX-License-Identifier: MIT
// User access (syscall/include/helix/syscall/uaccess.h) over the simulated user space: the range
// rule, copies across page boundaries, up to and past the limit (the guard pages are never
// touched), unmapped and read-only pages, strings, no caller, the simulator's own contract, and
// copies on several threads while another one changes the page map: every result is 0 or
// -HX_EFAULT, never a crash.
//
// Catch2's assertion macros are not thread-safe: helper threads only count, the main thread
// checks after join().

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <helix/errors.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

namespace
{

constexpr uint64_t kPage = HX_USER_PAGE_SIZE;
constexpr unsigned RW = HX_UACCESS_READ | HX_UACCESS_WRITE;

// A simulated user space, a caller bound to it and a dispatch context.
struct fixture {
	struct hx_uspace *us = nullptr;
	struct hx_syscall_caller caller {
	};
	struct hx_syscall_ctx ctx {
	};
	uint64_t base = 0, limit = 0;

	explicit fixture(size_t pages)
	{
		REQUIRE(hx_uspace_sim_create(pages * kPage, &us) == 0);
		base = us->base;
		limit = us->limit;
		caller.pid = 1;
		caller.uspace = us;
		ctx.caller = &caller;
	}
	~fixture()
	{
		hx_uspace_sim_destroy(us);
	}
	fixture(const fixture &) = delete;
	fixture &operator=(const fixture &) = delete;

	unsigned char *host(uint64_t addr)
	{
		return static_cast<unsigned char *>(hx_uspace_sim_ptr(us, addr));
	}
};

unsigned char pattern_byte(uint64_t offset)
{
	uint64_t x = offset * 0x9e3779b97f4a7c15ull;
	return (unsigned char)(x >> 56 ^ x >> 17);
}

void fill_pattern(fixture &f)
{
	for (uint64_t a = f.base; a < f.limit; a++)
		*f.host(a) = pattern_byte(a - f.base);
}

// Runs @body in a child process; true when the child was killed rather than exiting 0. The child
// puts back the default SIGSEGV/SIGBUS action (a sanitizer's handler would print a report first).
template <typename F> bool crashes(F body)
{
	fflush(nullptr);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		body();
		_exit(0);
	}
	int status = 0;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

} // namespace

TEST_CASE("hx_uaccess_ok: the range rule", "[uaccess]")
{
	fixture f(2);
	const uint64_t b = f.base, l = f.limit;

	CHECK(hx_uaccess_ok(f.us, b, l - b));
	CHECK(hx_uaccess_ok(f.us, l - 1, 1));
	CHECK_FALSE(hx_uaccess_ok(f.us, l - 1, 2));
	CHECK_FALSE(hx_uaccess_ok(f.us, l, 1));
	CHECK(hx_uaccess_ok(f.us, l, 0));
	CHECK(hx_uaccess_ok(f.us, b, 0));
	CHECK_FALSE(hx_uaccess_ok(f.us, l + 1, 0));
	CHECK_FALSE(hx_uaccess_ok(f.us, b - 1, 0));
	CHECK_FALSE(hx_uaccess_ok(f.us, b - 1, 2));
	CHECK_FALSE(hx_uaccess_ok(f.us, 0, 0));
	CHECK_FALSE(hx_uaccess_ok(f.us, UINT64_MAX, 2));
	CHECK_FALSE(hx_uaccess_ok(f.us, b, SIZE_MAX));
	CHECK_FALSE(hx_uaccess_ok(f.us, l - 1, SIZE_MAX));
	CHECK_FALSE(hx_uaccess_ok(f.us, 0xffff800000000000ull, 8));
	CHECK_FALSE(hx_uaccess_ok(f.us, 0xffffffff80000000ull, 0));
	CHECK_FALSE(hx_uaccess_ok(nullptr, b, 1));
}

TEST_CASE("copies across page boundaries", "[uaccess]")
{
	fixture f(4);
	fill_pattern(f);

	// Every split of a 3-page span starting one byte before a page boundary, and then some.
	for (uint64_t start :
	     { f.base, f.base + kPage - 1, f.base + 100, f.base + 2 * kPage - 7 }) {
		for (size_t len : { size_t(1), size_t(7), size_t(kPage), size_t(kPage + 1),
		                    size_t(2 * kPage + 3) }) {
			if (start + len > f.limit)
				continue;
			INFO("offset " << start - f.base << " len " << len);
			std::vector<unsigned char> in(len, 0), out(len);
			REQUIRE(hx_copy_from_user(&f.ctx, in.data(), start, len) == 0);
			for (size_t i = 0; i < len; i++)
				REQUIRE(in[i] == pattern_byte(start - f.base + i));

			for (size_t i = 0; i < len; i++)
				out[i] = (unsigned char)(i * 13 + len);
			REQUIRE(hx_copy_to_user(&f.ctx, start, out.data(), len) == 0);
			CHECK(memcmp(f.host(start), out.data(), len) == 0);
			fill_pattern(f);
		}
	}

	// The whole space, both ways.
	std::vector<unsigned char> all(f.limit - f.base);
	CHECK(hx_copy_from_user(&f.ctx, all.data(), f.base, all.size()) == 0);
	CHECK(all[all.size() - 1] == pattern_byte(all.size() - 1));
	CHECK(hx_copy_to_user(&f.ctx, f.base, all.data(), all.size()) == 0);
}

TEST_CASE("copies up to and past the limit never reach the guard pages", "[uaccess]")
{
	fixture f(2);
	unsigned char buf[32] = { 0 };
	const unsigned char poison[32] = { 0xaa };

	// The last byte, and a zero-length copy exactly at the limit.
	CHECK(hx_copy_from_user(&f.ctx, buf, f.limit - 1, 1) == 0);
	CHECK(hx_copy_to_user(&f.ctx, f.limit - 1, buf, 1) == 0);
	CHECK(hx_copy_from_user(&f.ctx, buf, f.limit, 0) == 0);
	CHECK(hx_copy_to_user(&f.ctx, f.limit, buf, 0) == 0);

	// Into the guard page after the space, or the one before it: refused by the range check
	// (the backend would panic, and the host page would fault, if the check let them through).
	CHECK(hx_copy_from_user(&f.ctx, buf, f.limit - 16, 17) == -HX_EFAULT);
	CHECK(hx_copy_to_user(&f.ctx, f.limit - 16, poison, 17) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf, f.limit, 1) == -HX_EFAULT);
	CHECK(hx_copy_to_user(&f.ctx, f.limit + 1, poison, 0) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf, f.base - 1, 2) == -HX_EFAULT);
	CHECK(hx_copy_to_user(&f.ctx, f.base - kPage, poison, 16) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf, 0, 0) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf, UINT64_MAX, 2) == -HX_EFAULT);
	CHECK(hx_copy_to_user(&f.ctx, 0xffff800000000000ull, poison, 8) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf, f.base, SIZE_MAX) == -HX_EFAULT);
	// A refused copy_to wrote nothing.
	CHECK(*f.host(f.limit - 16) == 0);
}

TEST_CASE("the guard pages and protected pages really fault on a raw access", "[uaccess]")
{
	fixture f(3);
	volatile unsigned char *before = reinterpret_cast<unsigned char *>(f.base - 1);
	volatile unsigned char *after = reinterpret_cast<unsigned char *>(f.limit);
	volatile unsigned char *second = f.host(f.base + kPage);

	CHECK(crashes([&] { (void)*before; }));
	CHECK(crashes([&] { *after = 1; }));
	REQUIRE(hx_uspace_sim_protect(f.us, f.base + kPage, 1, HX_UACCESS_READ) == 0);
	CHECK_FALSE(crashes([&] { (void)*second; }));
	CHECK(crashes([&] { *second = 1; }));
	REQUIRE(hx_uspace_sim_protect(f.us, f.base + kPage, 1, 0) == 0);
	CHECK(crashes([&] { (void)*second; }));
	REQUIRE(hx_uspace_sim_protect(f.us, f.base + kPage, 1, RW) == 0);
	CHECK_FALSE(crashes([&] { *second = 1; }));
}

TEST_CASE("unmapped and read-only pages", "[uaccess]")
{
	fixture f(4);
	fill_pattern(f);
	const uint64_t p1 = f.base + kPage, p2 = f.base + 2 * kPage;
	std::vector<unsigned char> buf(3 * kPage, 0x11);

	REQUIRE(hx_uspace_sim_protect(f.us, p1, kPage, 0) == 0);
	REQUIRE(hx_uspace_sim_protect(f.us, p2, kPage, HX_UACCESS_READ) == 0);

	// Page 1 is not present: any copy touching it faults, even by one byte.
	CHECK(hx_copy_from_user(&f.ctx, buf.data(), p1, 1) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf.data(), p1 - 1, 2) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf.data(), p1 + kPage - 1, 2) == -HX_EFAULT);
	CHECK(hx_copy_from_user(&f.ctx, buf.data(), f.base, 3 * kPage) == -HX_EFAULT);
	CHECK(hx_copy_to_user(&f.ctx, p1 + 10, buf.data(), 1) == -HX_EFAULT);
	// Right up to it is fine.
	CHECK(hx_copy_from_user(&f.ctx, buf.data(), f.base, kPage) == 0);
	CHECK(buf[kPage - 1] == pattern_byte(kPage - 1));
	CHECK(hx_copy_from_user(&f.ctx, buf.data(), p2, 2 * kPage) == 0);
	CHECK(buf[0] == pattern_byte(2 * kPage));

	// Page 2 is read-only: reads work, writes fault.
	CHECK(hx_copy_from_user(&f.ctx, buf.data(), p2 + 5, 100) == 0);
	CHECK(buf[0] == pattern_byte(2 * kPage + 5));
	CHECK(hx_copy_to_user(&f.ctx, p2 + 5, buf.data(), 1) == -HX_EFAULT);
	CHECK(*f.host(p2 + 5) == pattern_byte(2 * kPage + 5));
	// A write from page 3 is fine; one from page 3 backwards into 2 is not.
	CHECK(hx_copy_to_user(&f.ctx, p2 + kPage, buf.data(), kPage) == 0);
	CHECK(hx_copy_to_user(&f.ctx, p2 + kPage - 1, buf.data(), 2) == -HX_EFAULT);

	// A fault part-way: copy_to_user has written a prefix (the simulator: every page before
	// the faulting one), and nothing from the faulting page on.
	REQUIRE(hx_uspace_sim_protect(f.us, p1, kPage, RW) == 0);
	std::vector<unsigned char> ones(2 * kPage, 0x01);
	CHECK(hx_copy_to_user(&f.ctx, p1 + 100, ones.data(), ones.size()) == -HX_EFAULT);
	CHECK(*f.host(p1 + 100) == 0x01);
	CHECK(*f.host(p2 - 1) == 0x01);
	CHECK(*f.host(p2) == pattern_byte(2 * kPage));

	// The probe: the hint validation uses.
	CHECK(f.us->ops->probe(f.us, p2, 8, HX_UACCESS_READ) == 0);
	CHECK(f.us->ops->probe(f.us, p2, 8, HX_UACCESS_WRITE) == -HX_EFAULT);
	CHECK(f.us->ops->probe(f.us, p1, kPage + 1, HX_UACCESS_WRITE) == -HX_EFAULT);
	CHECK(f.us->ops->probe(f.us, p1, kPage, HX_UACCESS_WRITE) == 0);
	CHECK(f.us->ops->probe(f.us, f.limit - 1, 2, HX_UACCESS_READ) == -HX_EFAULT);
}

TEST_CASE("hx_strncpy_from_user", "[uaccess][string]")
{
	fixture f(3);
	char dst[16];
	const uint64_t b = f.base;

	memcpy(f.host(b), "helix", 6);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, b, sizeof(dst)) == 5);
	CHECK(std::string(dst) == "helix");
	CHECK(hx_strncpy_from_user(&f.ctx, dst, b, 6) == 5); // exactly fits
	CHECK(hx_strncpy_from_user(&f.ctx, dst, b, 5) == -HX_ENAMETOOLONG);
	CHECK(dst[0] == '\0');
	CHECK(hx_strncpy_from_user(&f.ctx, dst, b + 5, 1) == 0); // ""
	CHECK(hx_strncpy_from_user(&f.ctx, dst, b, 0) == -HX_ENAMETOOLONG);

	// Across a page boundary.
	memcpy(f.host(b + kPage - 3), "boundary", 9);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, b + kPage - 3, sizeof(dst)) == 8);
	CHECK(std::string(dst) == "boundary");

	// Into the limit: the last byte may hold the NUL; without one it is a bad address, unless
	// the cap ends first.
	memcpy(f.host(f.limit - 4), "end", 4);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, f.limit - 4, sizeof(dst)) == 3);
	memcpy(f.host(f.limit - 4), "endx", 4);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, f.limit - 4, sizeof(dst)) == -HX_EFAULT);
	CHECK(dst[0] == '\0');
	CHECK(hx_strncpy_from_user(&f.ctx, dst, f.limit - 4, 4) == -HX_ENAMETOOLONG);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, f.limit - 1, sizeof(dst)) == -HX_EFAULT);

	// Outside the range altogether.
	CHECK(hx_strncpy_from_user(&f.ctx, dst, f.limit, sizeof(dst)) == -HX_EFAULT);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, b - 1, sizeof(dst)) == -HX_EFAULT);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, 0, sizeof(dst)) == -HX_EFAULT);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, 0xffffffff80000000ull, sizeof(dst)) == -HX_EFAULT);

	// Into an unmapped page, and starting on one; read-only is fine.
	const uint64_t p1 = b + kPage;
	memcpy(f.host(p1 - 4), "abcd", 4);
	memcpy(f.host(p1), "efg", 4);
	REQUIRE(hx_uspace_sim_protect(f.us, p1, kPage, 0) == 0);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, p1 - 4, sizeof(dst)) == -HX_EFAULT);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, p1 - 4, 4) == -HX_ENAMETOOLONG); // cap first
	CHECK(hx_strncpy_from_user(&f.ctx, dst, p1, sizeof(dst)) == -HX_EFAULT);
	REQUIRE(hx_uspace_sim_protect(f.us, p1, kPage, HX_UACCESS_READ) == 0);
	CHECK(hx_strncpy_from_user(&f.ctx, dst, p1 - 4, sizeof(dst)) == 7);
	CHECK(std::string(dst) == "abcdefg");
}

TEST_CASE("no caller, or no user space: -HX_ESRCH", "[uaccess]")
{
	fixture f(1);
	char buf[8] = "x";
	struct hx_syscall_ctx no_caller {
	};

	CHECK(hx_copy_from_user(nullptr, buf, f.base, 1) == -HX_ESRCH);
	CHECK(hx_copy_to_user(nullptr, f.base, buf, 1) == -HX_ESRCH);
	CHECK(hx_strncpy_from_user(nullptr, buf, f.base, sizeof(buf)) == -HX_ESRCH);
	CHECK(buf[0] == '\0');
	CHECK(hx_copy_from_user(&no_caller, buf, f.base, 1) == -HX_ESRCH);
	CHECK(hx_copy_to_user(&no_caller, f.base, buf, 0) == -HX_ESRCH);
	CHECK(hx_strncpy_from_user(&no_caller, buf, f.base, sizeof(buf)) == -HX_ESRCH);
	f.caller.uspace = nullptr;
	CHECK(hx_copy_from_user(&f.ctx, buf, f.base, 1) == -HX_ESRCH);
	CHECK(hx_copy_to_user(&f.ctx, f.base, buf, 1) == -HX_ESRCH);
	CHECK(hx_strncpy_from_user(&f.ctx, buf, f.base, sizeof(buf)) == -HX_ESRCH);
	f.caller.uspace = f.us;
}

TEST_CASE("the simulator's own contract", "[uaccess][sim]")
{
	struct hx_uspace *us = reinterpret_cast<struct hx_uspace *>(uintptr_t(1));

	CHECK(hx_uspace_sim_create(0, &us) == -HX_EINVAL);
	CHECK(hx_uspace_sim_create((size_t(1) << 30) + 1, &us) == -HX_EINVAL);
	CHECK(us == reinterpret_cast<struct hx_uspace *>(uintptr_t(1)));
	hx_uspace_sim_destroy(nullptr);

	REQUIRE(hx_uspace_sim_create(1, &us) == 0);
	CHECK(us->limit - us->base == kPage); // rounded up to a page
	CHECK(us->base % kPage == 0);
	CHECK(hx_uspace_sim_ptr(us, us->base) == reinterpret_cast<void *>(us->base));
	CHECK(hx_uspace_sim_ptr(us, us->limit) != nullptr);
	CHECK(hx_uspace_sim_ptr(us, us->limit + 1) == nullptr);
	CHECK(hx_uspace_sim_ptr(us, us->base - 1) == nullptr);
	// Zero-filled.
	for (uint64_t a = us->base; a < us->limit; a++)
		REQUIRE(*static_cast<unsigned char *>(hx_uspace_sim_ptr(us, a)) == 0);

	CHECK(hx_uspace_sim_protect(us, us->base, 1, HX_UACCESS_WRITE) == -HX_EINVAL);
	CHECK(hx_uspace_sim_protect(us, us->base, 1, 0x8) == -HX_EINVAL);
	CHECK(hx_uspace_sim_protect(us, us->base, kPage + 1, 0) == -HX_EINVAL);
	CHECK(hx_uspace_sim_protect(us, us->base - 1, 1, 0) == -HX_EINVAL);
	CHECK(hx_uspace_sim_protect(us, UINT64_MAX, 2, 0) == -HX_EINVAL);
	CHECK(hx_uspace_sim_protect(us, us->base + 10, 0, 0) == 0); // nothing
	CHECK(us->ops->probe(us, us->base, kPage, HX_UACCESS_WRITE) == 0);
	CHECK(hx_uspace_sim_protect(nullptr, 0, 0, 0) == -HX_EINVAL);
	hx_uspace_sim_destroy(us);

	// Rounded out: two bytes across a boundary protect both pages.
	fixture f(3);
	REQUIRE(hx_uspace_sim_protect(f.us, f.base + kPage - 1, 2, HX_UACCESS_READ) == 0);
	CHECK(f.us->ops->probe(f.us, f.base, 1, HX_UACCESS_WRITE) == -HX_EFAULT);
	CHECK(f.us->ops->probe(f.us, f.base + 2 * kPage - 1, 1, HX_UACCESS_WRITE) == -HX_EFAULT);
	CHECK(f.us->ops->probe(f.us, f.base + 2 * kPage, 1, HX_UACCESS_WRITE) == 0);

	// Two spaces are independent.
	fixture g(1);
	CHECK(g.base != f.base);
	CHECK(g.us->ops->probe(g.us, g.base, 1, HX_UACCESS_WRITE) == 0);
}

TEST_CASE("copies race with page map changes: 0 or -HX_EFAULT, never a crash", "[uaccess][race]")
{
	constexpr size_t kReadPages = 8, kWritePages = 4;
	fixture f(kReadPages + kWritePages);
	fill_pattern(f);
	const uint64_t write_base = f.base + kReadPages * kPage;

	std::atomic<bool> done{ false };
	std::atomic<uint64_t> ok{ 0 }, faults{ 0 }, bad{ 0 }, wrong_bytes{ 0 };

	// Readers: random ranges of the read pages, checked byte for byte when the copy succeeds
	// (nobody writes there, so the pattern holds); strings too.
	auto reader = [&](unsigned seed) {
		std::mt19937_64 rng(seed);
		struct hx_syscall_ctx ctx {
		};
		ctx.caller = &f.caller;
		std::vector<unsigned char> buf(3 * kPage);
		char str[64];
		for (uint64_t i = 0; !done.load() || i < 3000; i++) {
			uint64_t off = rng() % (kReadPages * kPage);
			size_t len = 1 + rng() % (3 * kPage);
			if (off + len > kReadPages * kPage)
				len = kReadPages * kPage - off;
			int err = hx_copy_from_user(&ctx, buf.data(), f.base + off, len);
			if (err == 0) {
				ok++;
				for (size_t j = 0; j < len; j++) {
					if (buf[j] != pattern_byte(off + j)) {
						wrong_bytes++;
						break;
					}
				}
			} else if (err == -HX_EFAULT) {
				faults++;
			} else {
				bad++;
			}
			long n = hx_strncpy_from_user(&ctx, str, f.base + off, sizeof(str));
			if (n != -HX_EFAULT && n != -HX_ENAMETOOLONG && (n < 0 || n >= 64))
				bad++;
		}
	};
	// A writer on its own pages, which the protector also changes.
	auto writer = [&] {
		std::mt19937_64 rng(99);
		struct hx_syscall_ctx ctx {
		};
		ctx.caller = &f.caller;
		std::vector<unsigned char> buf(2 * kPage, 0x5a);
		for (uint64_t i = 0; !done.load() || i < 3000; i++) {
			uint64_t off = rng() % (kWritePages * kPage);
			size_t len = 1 + rng() % (2 * kPage);
			if (off + len > kWritePages * kPage)
				len = kWritePages * kPage - off;
			int err = hx_copy_to_user(&ctx, write_base + off, buf.data(), len);
			if (err == 0)
				ok++;
			else if (err == -HX_EFAULT)
				faults++;
			else
				bad++;
		}
	};

	std::vector<std::thread> threads;
	threads.emplace_back(reader, 1);
	threads.emplace_back(reader, 2);
	threads.emplace_back(reader, 3);
	threads.emplace_back(writer);

	std::mt19937_64 rng(7);
	static const unsigned prots[] = { 0, HX_UACCESS_READ, RW };
	int protect_errors = 0;
	for (int i = 0; i < 3000; i++) {
		uint64_t page = rng() % (kReadPages + kWritePages);
		size_t pages = 1 + rng() % 2;
		if (page + pages > kReadPages + kWritePages)
			pages = 1;
		if (hx_uspace_sim_protect(f.us, f.base + page * kPage, pages * kPage,
		                          prots[rng() % 3]) != 0)
			protect_errors++;
		if (i % 64 == 0)
			std::this_thread::yield();
	}
	// Leave a mix behind so the readers' last rounds see both outcomes.
	REQUIRE(hx_uspace_sim_protect(f.us, f.base, kReadPages * kPage, RW) == 0);
	REQUIRE(hx_uspace_sim_protect(f.us, f.base + 4 * kPage, kPage, 0) == 0);
	REQUIRE(hx_uspace_sim_protect(f.us, write_base, kWritePages * kPage, HX_UACCESS_READ) == 0);
	REQUIRE(hx_uspace_sim_protect(f.us, write_base, kPage, RW) == 0);
	done = true;
	for (auto &t : threads)
		t.join();

	INFO("ok " << ok.load() << " faults " << faults.load());
	CHECK(protect_errors == 0);
	CHECK(bad.load() == 0);
	CHECK(wrong_bytes.load() == 0);
	CHECK(ok.load() > 0);
	CHECK(faults.load() > 0);
}
