// SPDX-License-Identifier: MIT
// A process for the syscall tests: a simulated user space (syscall/hosted/uspace_sim.c) and a
// handle table, bound as the caller of the constructing thread for its lifetime (and of helper
// threads with bind()).
#ifndef HELIX_SYSCALL_TESTS_TEST_PROCESS_H
#define HELIX_SYSCALL_TESTS_TEST_PROCESS_H

#include <catch2/catch.hpp>

#include <cstdint>

#include <helix/syscall/handles.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

struct test_process {
	struct hx_uspace *us = nullptr;
	struct hx_handle_table *handles = nullptr;
	struct hx_syscall_caller caller;
	struct hx_syscall_caller *previous = nullptr;

	explicit test_process(uint64_t pid, size_t user_pages = 16)
	{
		REQUIRE(hx_uspace_sim_create(user_pages * HX_USER_PAGE_SIZE, &us) == 0);
		REQUIRE(hx_handles_create(&handles) == 0);
		caller.pid = pid;
		caller.uspace = us;
		caller.handles = handles;
		caller.policy = nullptr;
		caller.exited.store(0);
		caller.exit_status = 0;
		previous = hx_syscall_set_caller(&caller);
	}
	~test_process()
	{
		hx_syscall_set_caller(previous);
		hx_handles_destroy(handles);
		hx_uspace_sim_destroy(us);
	}
	test_process(const test_process &) = delete;
	test_process &operator=(const test_process &) = delete;

	void bind()
	{
		hx_syscall_set_caller(&caller);
	}
	// The user address @offset bytes into the space, and the host pointer for it.
	uint64_t user(uint64_t offset) const
	{
		return us->base + offset;
	}
	unsigned char *host(uint64_t offset) const
	{
		return static_cast<unsigned char *>(hx_uspace_sim_ptr(us, user(offset)));
	}
	uint64_t end() const
	{
		return us->limit;
	}
	void protect(uint64_t offset, uint64_t len, unsigned prot)
	{
		REQUIRE(hx_uspace_sim_protect(us, user(offset), len, prot) == 0);
	}
};

#endif // HELIX_SYSCALL_TESTS_TEST_PROCESS_H
