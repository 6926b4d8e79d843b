// SPDX-License-Identifier: MIT
/*
 * The platform API (helix/platform.h) for Linux user space: malloc, CLOCK_MONOTONIC, futex(2),
 * write(2) to stderr. hx_panic and hx_assert_fail are portable (kernel/lib/assert.c) and end here
 * in hx_platform_abort.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <helix/assert.h>
#include <helix/errors.h>
#include <helix/hosted.h>
#include <helix/platform.h>

/* hx_alloc promises 16-byte alignment; glibc's malloc gives max_align_t's. */
HX_STATIC_ASSERT(alignof(max_align_t) >= 16, "malloc must return 16-byte aligned memory");

/* The calling thread's allocation-failure plan (hx_hosted_fail_allocs). */
static __thread uint64_t fail_skip, fail_count;

void hx_hosted_fail_allocs(uint64_t skip, uint64_t count)
{
	fail_skip = skip;
	fail_count = count;
}

static bool alloc_fails(void)
{
	if (HX_LIKELY(!fail_count))
		return false;
	if (fail_skip) {
		fail_skip--;
		return false;
	}
	fail_count--;
	return true;
}

void *hx_alloc(size_t size)
{
	return size && !alloc_fails() ? malloc(size) : NULL;
}

void *hx_zalloc(size_t size)
{
	return size && !alloc_fails() ? calloc(1, size) : NULL;
}

void hx_free(void *ptr)
{
	free(ptr);
}

uint64_t hx_time_ns(void)
{
	struct timespec now;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer; it is also the futex deadline clock. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static long futex(_Atomic uint32_t *word, int op, uint32_t value, const struct timespec *timeout,
                  uint32_t value3)
{
	return syscall(SYS_futex, (uint32_t *)word, op, value, timeout, NULL, value3);
}

int hx_futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
	struct timespec deadline;
	const struct timespec *timeout = NULL;

	if (deadline_ns != HX_FOREVER) {
		/* Nothing left to wait for: report what the caller would have seen, without a
		 * syscall. */
		if (deadline_ns == HX_NOWAIT || hx_time_ns() >= deadline_ns) {
			/* Relaxed: the caller re-checks its condition with its own ordering. */
			if (atomic_load_explicit(word, memory_order_relaxed) != expected)
				return -HX_EAGAIN;
			return -HX_ETIMEDOUT;
		}
		deadline.tv_sec = (time_t)(deadline_ns / 1000000000u);
		deadline.tv_nsec = (long)(deadline_ns % 1000000000u);
		timeout = &deadline;
	}

	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (FUTEX_WAIT a relative one).
	 */
	if (futex(word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, timeout,
	          FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	switch (errno) {
	case EAGAIN:
		return -HX_EAGAIN;
	case ETIMEDOUT:
		return -HX_ETIMEDOUT;
	case EINTR:
		return 0; /* a spurious wake-up: the caller re-checks */
	case EFAULT:
		return -HX_EFAULT;
	default:
		return -HX_EINVAL;
	}
}

int hx_futex_wake(_Atomic uint32_t *word, uint32_t count)
{
	uint32_t n = count > (uint32_t)INT_MAX ? (uint32_t)INT_MAX : count;
	long woken = futex(word, FUTEX_WAKE_PRIVATE, n, NULL, 0);

	return woken < 0 ? 0 : (int)woken;
}

/*
 * membarrier(2): PRIVATE_EXPEDITED interrupts only the CPUs running this process's threads (about a
 * quarter of a microsecond when none does; 7.6-10.4 us on these VMs when one runs on the other
 * vCPU, where the IPI is a VM exit: docs/channel.md, "The consumer's tail check"); it needs a
 * one-time registration. GLOBAL needs none but waits for an RCU grace period (milliseconds).
 * Without either, the light side would need real fences, so running on such a host is reported
 * rather than silently wrong.
 */
enum barrier_mode { BARRIER_UNKNOWN, BARRIER_EXPEDITED, BARRIER_GLOBAL };

static _Atomic int barrier_mode = BARRIER_UNKNOWN;

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static enum barrier_mode choose_barrier(void)
{
	long supported = membarrier(MEMBARRIER_CMD_QUERY);

	if (supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
		return BARRIER_EXPEDITED;
	if (supported > 0 && (supported & MEMBARRIER_CMD_GLOBAL))
		return BARRIER_GLOBAL;
	hx_panic("hx_barrier_heavy: membarrier(2) is unavailable (query returned %ld, errno %d)",
	         supported, errno);
}

void hx_barrier_heavy(void)
{
	/* Relaxed: choosing twice is harmless (registration is idempotent). */
	int mode = atomic_load_explicit(&barrier_mode, memory_order_relaxed);

	if (mode == BARRIER_UNKNOWN) {
		mode = choose_barrier();
		atomic_store_explicit(&barrier_mode, mode, memory_order_relaxed);
	}
	/* The caller's own accesses: ordered by a real fence on each side of the system call. */
	atomic_thread_fence(memory_order_seq_cst);
	if (membarrier(mode == BARRIER_EXPEDITED ? MEMBARRIER_CMD_PRIVATE_EXPEDITED
	                                         : MEMBARRIER_CMD_GLOBAL) != 0)
		hx_panic("hx_barrier_heavy: membarrier(2) failed (errno %d)", errno);
	atomic_thread_fence(memory_order_seq_cst);
}

void hx_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

unsigned int hx_cpu_id(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (unsigned int)cpu;
}

unsigned long hx_irq_save(void)
{
	return 0;
}

void hx_irq_restore(unsigned long flags)
{
	(void)flags;
}

static __thread void *task_context;

void *hx_task_context(void)
{
	return task_context;
}

void hx_task_set_context(void *context)
{
	task_context = context;
}

void hx_yield(void)
{
	sched_yield();
}

/* The host preempts threads whatever they hold: nothing to do. */
void hx_preempt_disable(void)
{
}

void hx_preempt_enable(void)
{
}

uint64_t hx_task_id(void)
{
	/* gettid(2) is a system call every time: once per thread is enough. */
	static __thread uint64_t tid;

	if (HX_UNLIKELY(!tid))
		tid = (uint64_t)gettid();
	return tid;
}

/* Serialises whole calls: write(2) may return short, and a retry must not let another line in. */
static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;
static hx_console_sink_fn console_sink; /* guarded by console_lock */
static void *console_sink_arg;

hx_console_sink_fn hx_hosted_set_console_sink(hx_console_sink_fn sink, void *arg)
{
	hx_console_sink_fn previous;

	pthread_mutex_lock(&console_lock);
	previous = console_sink;
	console_sink = sink;
	console_sink_arg = arg;
	pthread_mutex_unlock(&console_lock);
	return previous;
}

void hx_console_write(const char *text, size_t len)
{
	pthread_mutex_lock(&console_lock);
	if (console_sink) {
		console_sink(console_sink_arg, text, len);
		pthread_mutex_unlock(&console_lock);
		return;
	}
	while (len > 0) {
		ssize_t written = write(STDERR_FILENO, text, len);

		if (written < 0) {
			if (errno == EINTR)
				continue;
			break; /* stderr is gone: nothing better to do with the message */
		}
		text += written;
		len -= (size_t)written;
	}
	pthread_mutex_unlock(&console_lock);
}

void hx_platform_abort(void)
{
	abort();
}
