// SPDX-License-Identifier: MIT
/*
 * init: the first user program. It checks the syscalls from ring 3, one line per check:
 *
 *   init: <check>: ok
 *   init: <check>: FAILED <what happened>
 *   init: done, <n> checks failed
 *
 * and exits with 0 when every check passed, 1 otherwise. kernel/user/README.md lists what each
 * check expects from the kernel.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/fmt.h>
#include <helix/ipc/wire.h>
#include <helix/string.h>
#include <helix/syscall/user.h>
#include <helix/user/layout.h>
#include <helix/user/ulib.h>

/* Addresses the checks pass to the kernel. */
#define KERNEL_ADDRESS   0xffffffff80100000ull /* the kernel image (-mcmodel=kernel) */
#define WRAPPING_ADDRESS 0xfffffffffffffff0ull /* + 32 bytes wraps past 2^64 */
#define UNMAPPED_ADDRESS 0x10000000ull         /* in the user range, but nothing is mapped there */

#define CHANNEL_CAPACITY   4u
#define CHANNEL_MSG_SIZE   16u
#define ONE_MS             1000000ull
#define PAGE_FAULT         14
#define GENERAL_PROTECTION 13

static int failures;

static void pass(const char *check)
{
	uprintf("init: %s: ok\n", check);
}

static void fail(const char *check, const char *fmt, ...) HX_PRINTF(2, 3);

static void fail(const char *check, const char *fmt, ...)
{
	char detail[256];
	va_list args;

	va_start(args, fmt);
	hx_vsnprintf(detail, sizeof(detail), fmt, args);
	va_end(args);
	uprintf("init: %s: FAILED %s\n", check, detail);
	failures++;
}

/* "-14 (HX_EFAULT)" for an error, the number for anything else. */
static const char *result_text(long result)
{
	static char text[64];

	if (result < 0 && result >= -4095)
		hx_snprintf(text, sizeof(text), "%ld (%s)", result, hx_error_name((int)result));
	else
		hx_snprintf(text, sizeof(text), "%ld", result);
	return text;
}

/* (a) A banner through the write syscall itself, not through uprintf. */
static void check_banner(void)
{
	static const char banner[] = "init: helix-core user space, ring 3\n";
	long n = hx_user_write(banner, sizeof(banner) - 1);

	if (n != (long)(sizeof(banner) - 1))
		fail("banner", "write returned %s, expected %zu", result_text(n),
		     sizeof(banner) - 1);
	else
		pass("banner");
}

/* (b) */
static void check_getpid(void)
{
	long pid = hx_user_getpid();

	if (pid <= 0)
		fail("getpid", "returned %s, expected a pid > 0", result_text(pid));
	else
		pass("getpid");
}

/* (c) The monotonic clock moves by at least the time slept. */
static void check_clock(void)
{
	uint64_t before = 0, after = 0;
	long ret;

	ret = hx_user_clock_gettime(HX_CLOCK_MONOTONIC, &before);
	if (ret != 0) {
		fail("clock", "clock_gettime returned %s", result_text(ret));
		return;
	}
	ret = hx_user_sleep(ONE_MS);
	if (ret != 0) {
		fail("clock", "sleep(1 ms) returned %s", result_text(ret));
		return;
	}
	ret = hx_user_clock_gettime(HX_CLOCK_MONOTONIC, &after);
	if (ret != 0) {
		fail("clock", "second clock_gettime returned %s", result_text(ret));
		return;
	}
	if (after < before || after - before < ONE_MS) {
		fail("clock", "sleep(1 ms) moved the clock from %llu to %llu ns",
		     (unsigned long long)before, (unsigned long long)after);
		return;
	}
	pass("clock");
}

/* (d) A channel's life: messages in order, empty, closed, handle gone. */
static void check_channel(void)
{
	char msg[CHANNEL_MSG_SIZE], got[CHANNEL_MSG_SIZE];
	long chan = hx_user_chan_create(CHANNEL_CAPACITY, CHANNEL_MSG_SIZE);
	long ret;

	if (chan < 0) {
		fail("channel", "chan_create(4, 16) returned %s", result_text(chan));
		return;
	}
	for (int i = 0; i < 3; i++) {
		hx_memset(msg, 0, sizeof(msg));
		hx_snprintf(msg, sizeof(msg), "message %d", i);
		ret = hx_user_chan_send(chan, msg, sizeof(msg), HX_NOWAIT);
		if (ret != 0) {
			fail("channel", "send %d returned %s", i, result_text(ret));
			return;
		}
	}
	for (int i = 0; i < 3; i++) {
		hx_memset(msg, 0, sizeof(msg));
		hx_snprintf(msg, sizeof(msg), "message %d", i);
		ret = hx_user_chan_recv(chan, got, sizeof(got), HX_NOWAIT);
		if (ret != 0) {
			fail("channel", "recv %d returned %s", i, result_text(ret));
			return;
		}
		if (hx_memcmp(got, msg, sizeof(msg)) != 0) {
			fail("channel", "recv %d got \"%.*s\", expected \"%s\"", i,
			     (int)sizeof(got) - 1, got, msg);
			return;
		}
	}
	ret = hx_user_chan_recv(chan, got, sizeof(got), HX_NOWAIT);
	if (ret != -HX_EAGAIN) {
		fail("channel", "recv on an empty channel returned %s, expected -HX_EAGAIN",
		     result_text(ret));
		return;
	}
	ret = hx_user_chan_close(chan);
	if (ret != 0) {
		fail("channel", "chan_close returned %s", result_text(ret));
		return;
	}
	ret = hx_user_chan_recv(chan, got, sizeof(got), HX_NOWAIT);
	if (ret != -HX_EPIPE) {
		fail("channel", "recv after close returned %s, expected -HX_EPIPE",
		     result_text(ret));
		return;
	}
	ret = hx_user_handle_close(chan);
	if (ret != 0) {
		fail("channel", "handle_close returned %s", result_text(ret));
		return;
	}
	pass("channel");
}

/* The sysinfo figures, in the order the module sends them as an array. */
enum { TOTAL_FRAMES, FREE_FRAMES, HEAP_USED, TASKS, PROCESSES, UPTIME_NS, FIGURES };

static const char *const figure_names[FIGURES] = {
	"total_frames", "free_frames", "heap_used_bytes", "tasks", "processes", "uptime_ns",
};

/*
 * The payload: an array of the six unsigned figures in order, or a map from their names to them
 * (in whatever order canonical CBOR puts the keys). Returns NULL, or what was wrong.
 */
static const char *read_figures(const struct hx_wire_message *reply, uint64_t figures[FIGURES])
{
	struct hx_wire_reader r;
	struct hx_wire_item top;
	unsigned seen = 0;

	hx_wire_reader_init(&r, reply->payload, reply->payload_len);
	if (hx_wire_next(&r, &top) != 0)
		return "an empty payload";
	if (top.type == HX_WIRE_ARRAY) {
		if (top.value < FIGURES)
			return "an array of fewer than six items";
		for (int i = 0; i < FIGURES; i++) {
			if (hx_wire_read_uint(&r, &figures[i]) != 0)
				return "an array item that is not an unsigned integer";
		}
		return NULL;
	}
	if (top.type != HX_WIRE_MAP)
		return "neither an array nor a map";
	while (hx_wire_more(&r)) {
		const char *key;
		size_t key_len;
		uint64_t value;
		int which = -1;

		if (hx_wire_read_text(&r, &key, &key_len) != 0)
			return "a map key that is not text";
		for (int i = 0; i < FIGURES; i++) {
			if (hx_strlen(figure_names[i]) == key_len &&
			    hx_memcmp(key, figure_names[i], key_len) == 0)
				which = i;
		}
		if (which < 0) {
			hx_wire_skip(&r);
			continue;
		}
		if (hx_wire_read_uint(&r, &value) != 0)
			return "a map value that is not an unsigned integer";
		figures[which] = value;
		seen |= 1u << which;
	}
	if (hx_wire_reader_error(&r) != 0)
		return "a payload the reader refused";
	if (seen != (1u << FIGURES) - 1)
		return "a map without all six figures";
	return NULL;
}

/* (e) A router call from user space to the kernel's sysinfo module. */
static void check_sysinfo(void)
{
	static uint8_t reply_buf[1024];
	struct hx_wire_message reply;
	uint64_t figures[FIGURES] = { 0 };
	const char *problem;
	int ret;

	ret = urouter_call("sysinfo", HX_SYSINFO_GET, NULL, 0, reply_buf, sizeof(reply_buf),
	                   HX_FOREVER, &reply);
	if (ret != 0) {
		fail("sysinfo", "router_call returned %s", result_text(ret));
		return;
	}
	problem = read_figures(&reply, figures);
	if (problem) {
		fail("sysinfo", "the reply's payload is %s", problem);
		return;
	}
	uprintf("init: sysinfo figures: total_frames %llu free_frames %llu heap_used_bytes %llu "
	        "tasks %llu processes %llu uptime_ns %llu\n",
	        (unsigned long long)figures[TOTAL_FRAMES], (unsigned long long)figures[FREE_FRAMES],
	        (unsigned long long)figures[HEAP_USED], (unsigned long long)figures[TASKS],
	        (unsigned long long)figures[PROCESSES], (unsigned long long)figures[UPTIME_NS]);
	if (figures[TOTAL_FRAMES] == 0 || figures[FREE_FRAMES] > figures[TOTAL_FRAMES] ||
	    figures[TASKS] == 0 || figures[PROCESSES] == 0 || figures[UPTIME_NS] == 0) {
		fail("sysinfo", "implausible figures (no frames, more free than total, no task, "
		                "no process or no uptime)");
		return;
	}
	pass("sysinfo");
}

static void expect_efault(const char *check, const char *call, long ret)
{
	if (ret != -HX_EFAULT)
		fail(check, "%s returned %s, expected -HX_EFAULT", call, result_text(ret));
	else
		pass(check);
}

/* (f) Pointers the kernel must refuse without touching them. */
static void check_bad_pointers(void)
{
	expect_efault("efault_kernel_address", "write(0xffffffff80100000, 16)",
	              hx_user_write((const void *)(uintptr_t)KERNEL_ADDRESS, 16));
	expect_efault("efault_wrapping_range", "write(0xfffffffffffffff0, 32)",
	              hx_user_write((const void *)(uintptr_t)WRAPPING_ADDRESS, 32));
	expect_efault(
	    "efault_unmapped_page", "clock_gettime(MONOTONIC, 0x10000000)",
	    hx_user_clock_gettime(HX_CLOCK_MONOTONIC, (void *)(uintptr_t)UNMAPPED_ADDRESS));
}

/*
 * Spawn @name and wait for it; 0 and its pid in *@pid when the status is @expected. A failure
 * is reported as @check.
 */
static void spawn_and_wait(const char *check, const char *name, int32_t expected, long *pid)
{
	int32_t status = -1;
	long child = hx_user_spawn(name);
	long ret;

	*pid = child;
	if (child <= 0) {
		fail(check, "spawn(\"%s\") returned %s", name, result_text(child));
		return;
	}
	ret = hx_user_wait((uint64_t)child, &status, HX_FOREVER);
	if (ret != child) {
		fail(check, "wait(%ld) returned %s", child, result_text(ret));
		return;
	}
	if (status != expected) {
		fail(check, "%s ended with status %#x, expected %#x", name, (unsigned)status,
		     (unsigned)expected);
		return;
	}
	pass(check);
}

/*
 * (g) Children: a normal exit; killed by a store to an unmapped page, by a read of the kernel's
 * memory, and by a privileged instruction; an unknown program; a second wait.
 */
static void check_processes(void)
{
	long hello, killed, ret;
	int32_t status = -1;

	spawn_and_wait("spawn_hello", "hello", 7, &hello);
	spawn_and_wait("spawn_fault", "fault", HX_STATUS_KILLED | PAGE_FAULT, &killed);
	spawn_and_wait("spawn_snoop", "snoop", HX_STATUS_KILLED | PAGE_FAULT, &killed);
	spawn_and_wait("spawn_priv", "priv", HX_STATUS_KILLED | GENERAL_PROTECTION, &killed);

	ret = hx_user_spawn("nonesuch");
	if (ret != -HX_ENOENT)
		fail("spawn_nonesuch", "spawn(\"nonesuch\") returned %s, expected -HX_ENOENT",
		     result_text(ret));
	else
		pass("spawn_nonesuch");

	if (hello <= 0) {
		fail("wait_collected", "no child to wait for (spawn(\"hello\") failed)");
		return;
	}
	ret = hx_user_wait((uint64_t)hello, &status, HX_NOWAIT);
	if (ret != -HX_ECHILD)
		fail("wait_collected", "a second wait(%ld) returned %s, expected -HX_ECHILD", hello,
		     result_text(ret));
	else
		pass("wait_collected");
}

int main(void)
{
	check_banner();
	check_getpid();
	check_clock();
	check_channel();
	check_sysinfo();
	check_bad_pointers();
	check_processes();
	uprintf("init: done, %d checks failed\n", failures);
	return failures == 0 ? 0 : 1;
}
