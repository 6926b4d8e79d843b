// SPDX-License-Identifier: MIT
/*
 * Boot self-tests, chosen with `selftest=name[,name...]` on the kernel command line. Each test
 * returns NULL on success or why it failed. Some end the kernel on purpose, to show that a fault
 * or a panic is reported and exits QEMU with the right status:
 *
 *   fault        read an unmapped lower-half address   -> page fault report, HX_EXIT_FAULT
 *   ud           ud2                                   -> invalid opcode report, HX_EXIT_FAULT
 *   panic        hx_panic                              -> "panic: ...", HX_EXIT_PANIC
 *   double_free  hx_free twice                         -> "panic: hx_free: ...", HX_EXIT_PANIC
 *   double_fault push onto an unmapped stack           -> double fault report (on its IST stack)
 *   heap         hx_alloc/hx_free patterns, hx_heap_check, exhaustion returns NULL and recovers
 *   frames       every free frame allocated once, unique, all freed; double free refused
 *   time         hx_time_ns monotonic, and agreeing with a PIT-timed busy wait
 *   futex        hx_futex_wait's return values without a waker
 *   chan         channels: capacity, order, deadlines, close-then-drain
 *   uaccess      user copies (syscall/kernel/uspace_kernel.c over uaccess.S): copies over heap
 *                memory work; copies from unmapped lower-half memory, and copies and a string
 *                copy that fault mid-way, return -HX_EFAULT through the exception table, no report
 *   syscall      the syscall framework through helix_syscall_entry (selftest_syscall.c)
 *   vm           per-process address spaces (helix/arch/vm.h) and the user-access probe over
 *                them (selftest_vm.c)
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/arch/clock.h>
#include <helix/arch/cpu.h>
#include <helix/arch/exit.h>
#include <helix/arch/memory.h>
#include <helix/arch/uaccess.h>
#include <helix/errors.h>
#include <helix/fmt.h>
#include <helix/frames.h>
#include <helix/heap.h>
#include <helix/ipc/channel.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/string.h>
#include <helix/syscall/uaccess.h>

#include "kernel.h"

#define MIB         (1024u * 1024u)
#define NAME_MAX    32
#define NO_FRAME    UINT64_MAX
#define UNMAPPED    0xdead0000ull
#define HEAP_BLOCKS 256

struct selftest {
	const char *name;
	const char *(*run)(void);
	bool ends_kernel; /* by design: not part of `all` */
};

static char failure[192];

const char *hx_selftest_failed(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	hx_vsnprintf(failure, sizeof(failure), fmt, args);
	va_end(args);
	return failure;
}

const char *hx_selftest_mismatch(const char *what, long got, long want)
{
	return hx_selftest_failed("%s: %ld (%s), expected %ld (%s)", what, got,
	                          got < 0 ? hx_error_name((int)got) : "ok", want,
	                          want < 0 ? hx_error_name((int)want) : "ok");
}

#define failed hx_selftest_failed

/* ---- tests that end the kernel ---- */

static const char *test_fault(void)
{
	volatile const uint32_t *unmapped = (volatile const uint32_t *)(uintptr_t)UNMAPPED;

	hx_printk("selftest fault: reading 0x%llx, expect a page fault report\n",
	          (unsigned long long)UNMAPPED);
	(void)*unmapped;
	return "reading an unmapped address did not fault";
}

static const char *test_ud(void)
{
	hx_printk("selftest ud: executing ud2, expect an invalid opcode report\n");
	__asm__ volatile("ud2");
	return "ud2 did not trap";
}

static const char *test_panic(void)
{
	hx_printk("selftest panic: calling hx_panic, expect a panic report\n");
	hx_panic("selftest: deliberate panic");
}

static const char *test_double_free(void)
{
	void *ptr = hx_alloc(64);

	if (!ptr)
		return "hx_alloc(64) failed";
	hx_printk("selftest double_free: freeing %p twice, expect a panic report\n", ptr);
	hx_free(ptr);
	hx_free(ptr);
	return "a double hx_free was not caught";
}

static const char *test_double_fault(void)
{
	hx_printk("selftest double_fault: pushing onto an unmapped stack, expect a double fault "
	          "report\n");
	/* The #PF cannot push its frame onto the same unmapped stack: #DF, on its own IST stack. */
	__asm__ volatile("movq %0, %%rsp\n\t"
	                 "pushq $0"
	                 :
	                 : "r"(UNMAPPED + HX_FRAME_SIZE)
	                 : "memory");
	return "pushing onto an unmapped stack did not fault";
}

/* ---- heap ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
	/* xorshift64: deterministic, so a failure reproduces. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint8_t fill_byte(size_t index)
{
	return (uint8_t)(0x5a ^ (index * 31));
}

static bool check_fill(const uint8_t *ptr, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++) {
		if (ptr[i] != value)
			return false;
	}
	return true;
}

static const char *heap_check(const char *when)
{
	int err = hx_heap_check(hx_kmem_heap());

	if (err != 0)
		return failed("hx_heap_check %s: %s", when, hx_error_name(err));
	return NULL;
}

static void *blocks[HEAP_BLOCKS];
static size_t block_sizes[HEAP_BLOCKS];

/* Mixed sizes, freed in a pattern that leaves holes, refilled, freed in reverse. */
static const char *heap_patterns(void)
{
	const char *why;

	for (size_t i = 0; i < HEAP_BLOCKS; i++) {
		size_t size = 1 + rng_next() % (i % 16 == 0 ? 65536 : 2048);

		blocks[i] = hx_alloc(size);
		block_sizes[i] = size;
		if (!blocks[i])
			return failed("hx_alloc(%zu) failed with memory to spare", size);
		if (!HX_IS_ALIGNED((uintptr_t)blocks[i], HX_HEAP_ALIGN))
			return failed("hx_alloc(%zu) returned %p, not 16-byte aligned", size,
			              blocks[i]);
		if (hx_heap_usable_size(hx_kmem_heap(), blocks[i]) < size)
			return failed("usable size of a %zu-byte block is smaller", size);
		hx_memset(blocks[i], fill_byte(i), size);
	}
	if ((why = heap_check("after allocating")))
		return why;

	for (size_t i = 0; i < HEAP_BLOCKS; i += 2) {
		hx_free(blocks[i]);
		blocks[i] = NULL;
	}
	if ((why = heap_check("after freeing every other block")))
		return why;

	for (size_t i = 0; i < HEAP_BLOCKS; i += 2) {
		size_t size = 1 + rng_next() % 512;

		blocks[i] = hx_zalloc(size);
		block_sizes[i] = size;
		if (!blocks[i])
			return failed("hx_zalloc(%zu) failed with memory to spare", size);
		if (!check_fill(blocks[i], size, 0))
			return failed("hx_zalloc(%zu) returned memory that is not zero", size);
		hx_memset(blocks[i], fill_byte(i), size);
	}
	for (size_t i = 0; i < HEAP_BLOCKS; i++) {
		if (!check_fill(blocks[i], block_sizes[i], fill_byte(i)))
			return failed("block %zu (%zu bytes) was overwritten", i, block_sizes[i]);
	}
	if ((why = heap_check("after refilling the holes")))
		return why;

	for (size_t i = HEAP_BLOCKS; i-- > 0;) {
		hx_free(blocks[i]);
		blocks[i] = NULL;
	}
	return heap_check("after freeing everything");
}

struct chain {
	struct chain *next;
};

/* Allocate @size blocks until hx_alloc says no; each block links to the previous one. */
static size_t exhaust(struct chain **list, size_t size)
{
	size_t count = 0;

	for (;;) {
		struct chain *block = hx_alloc(size);

		if (!block)
			return count;
		block->next = *list;
		*list = block;
		count++;
	}
}

/* Frames taken away from everyone by the heap test, chained through their first frame. */
struct hoard_chunk {
	uint64_t next; /* physical address of the next chunk, NO_FRAME at the end */
	uint64_t frames;
};

static uint64_t free_frames(void)
{
	struct hx_frames_stats stats;

	hx_frames_get_stats(hx_kmem_frames(), &stats);
	return stats.free_frames;
}

uint64_t hx_selftest_hoard_frames(uint64_t keep)
{
	static const uint64_t chunks[] = { 262144, 16384, 1024, 64, 4, 1 };
	uint64_t head = NO_FRAME, phys;

	for (size_t i = 0; i < HX_ARRAY_SIZE(chunks); i++) {
		while (free_frames() >= keep + chunks[i] &&
		       hx_frames_alloc_contig(hx_kmem_frames(), chunks[i], 1, &phys) == 0) {
			struct hoard_chunk *chunk = hx_phys_to_virt(phys);

			chunk->next = head;
			chunk->frames = chunks[i];
			head = phys;
		}
	}
	return head;
}

const char *hx_selftest_release_frames(uint64_t head)
{
	while (head != NO_FRAME) {
		const struct hoard_chunk *chunk = hx_phys_to_virt(head);
		uint64_t next = chunk->next;
		int err = hx_frames_free(hx_kmem_frames(), head, chunk->frames);

		if (err != 0)
			return failed("hx_frames_free(0x%llx): %s", (unsigned long long)head,
			              hx_error_name(err));
		head = next;
	}
	return NULL;
}

/*
 * Running out of memory is an error, not a crash. All physical memory but HEAP_SPARE_FRAMES is
 * taken from the frame allocator first, so the heap grows a few times for real, then its grow
 * callback fails and hx_alloc returns NULL; and the run stays fast however much memory there is.
 * Then everything goes back, and the heap must work again.
 */
#define HEAP_SPARE_FRAMES 1024 /* 4 MiB */

static const char *heap_exhaustion(void)
{
	static const size_t sizes[] = { MIB, 64 * 1024, 4096, 256, 16 };
	struct hx_heap_stats before, full;
	struct chain *list = NULL;
	uint64_t hoard = hx_selftest_hoard_frames(HEAP_SPARE_FRAMES);
	size_t total = 0, big;
	const char *why;
	void *ptr;

	hx_heap_get_stats(hx_kmem_heap(), &before);
	for (size_t i = 0; i < HX_ARRAY_SIZE(sizes); i++)
		total += exhaust(&list, sizes[i]);
	hx_heap_get_stats(hx_kmem_heap(), &full);
	hx_info(
	    "selftest heap: ran out after %zu blocks, %zu KiB in use, heap grew from %zu to %zu "
	    "regions, %llu frames left",
	    total, full.used_bytes / 1024, before.regions, full.regions,
	    (unsigned long long)free_frames());

	if (!list)
		return "could not allocate anything before exhaustion";
	if (full.regions <= before.regions)
		return "the heap never grew before running out";
	if (hx_alloc(16) != NULL || hx_alloc(MIB) != NULL)
		return "hx_alloc succeeded after it had failed for lack of memory";
	if (full.failed_allocations <= before.failed_allocations)
		return "failed allocations were not counted";
	if ((why = heap_check("with memory exhausted")))
		return why;

	while (list) {
		struct chain *next = list->next;

		hx_free(list);
		list = next;
	}
	if ((why = heap_check("after freeing the exhausted heap")))
		return why;
	if ((why = hx_selftest_release_frames(hoard)))
		return why;

	/* More than the heap holds: it has to grow again, from the frames given back. */
	big = full.region_bytes + MIB;
	ptr = hx_alloc(big);
	if (!ptr)
		return failed("hx_alloc(%zu KiB) failed after memory came back", big / 1024);
	hx_memset(ptr, 0x11, big);
	hx_free(ptr);
	return heap_check("after recovering");
}

static const char *test_heap(void)
{
	struct hx_heap_stats start, stats;
	const char *why;

	/* What the kernel holds already (tasks, the bus) stays; the test must leave no more. */
	hx_heap_get_stats(hx_kmem_heap(), &start);
	if (hx_alloc(0) != NULL)
		return "hx_alloc(0) did not return NULL";
	hx_free(NULL);
	if ((why = heap_patterns()))
		return why;
	if ((why = heap_exhaustion()))
		return why;
	hx_heap_get_stats(hx_kmem_heap(), &stats);
	if (stats.live_allocations != start.live_allocations)
		return failed("%zu allocations live at the end, %zu at the start",
		              stats.live_allocations, start.live_allocations);
	return NULL;
}

/* ---- frames ---- */

static bool frame_reserved(uint64_t phys)
{
	return phys < MIB || (phys >= hx_kernel_phys_start() && phys < hx_kernel_phys_end());
}

/*
 * Every free frame, one at a time, until the allocator says no; a bitmap of the frames seen catches
 * a frame handed out twice, and is then the list of what to give back.
 */
static const char *test_frames(void)
{
	struct hx_frames *frames = hx_kmem_frames();
	size_t seen_words = hx_frames_bitmap_bytes(HX_DIRECT_MAP_SIZE) / sizeof(uint64_t);
	struct hx_frames_stats before, empty, after;
	uint64_t *seen = hx_zalloc(seen_words * sizeof(uint64_t));
	uint64_t count = 0, phys;
	int err;

	if (!seen)
		return "no memory for the bitmap of frames seen";
	hx_frames_get_stats(frames, &before);

	while ((err = hx_frames_alloc(frames, &phys)) == 0) {
		uint64_t frame = phys / HX_FRAME_SIZE;

		if (!HX_IS_ALIGNED(phys, HX_FRAME_SIZE) || phys >= HX_DIRECT_MAP_SIZE)
			return failed("hx_frames_alloc returned 0x%llx", (unsigned long long)phys);
		if (frame_reserved(phys))
			return failed("frame 0x%llx is reserved (low memory or the kernel)",
			              (unsigned long long)phys);
		if (seen[frame / 64] & (1ull << (frame % 64)))
			return failed("frame 0x%llx handed out twice", (unsigned long long)phys);
		seen[frame / 64] |= 1ull << (frame % 64);
		count++;
	}
	if (err != -HX_ENOMEM)
		return failed("hx_frames_alloc: %s", hx_error_name(err));

	hx_frames_get_stats(frames, &empty);
	if (count != before.free_frames)
		return failed("allocated %llu frames, %llu were free", (unsigned long long)count,
		              (unsigned long long)before.free_frames);
	if (empty.free_frames != 0)
		return failed("%llu frames still counted free after allocating all",
		              (unsigned long long)empty.free_frames);
	if (hx_frames_alloc_contig(frames, 1, 1, &phys) != -HX_ENOMEM)
		return "hx_frames_alloc_contig succeeded with no frame free";

	for (size_t word = 0; word < seen_words; word++) {
		for (uint64_t bits = seen[word]; bits != 0; bits &= bits - 1) {
			phys = (word * 64 + (uint64_t)__builtin_ctzll(bits)) * HX_FRAME_SIZE;
			err = hx_frames_free(frames, phys, 1);
			if (err != 0)
				return failed("hx_frames_free(0x%llx): %s",
				              (unsigned long long)phys, hx_error_name(err));
		}
	}
	hx_frames_get_stats(frames, &after);
	if (after.free_frames != before.free_frames || after.total_frames != before.total_frames)
		return failed("counts not restored: %llu/%llu free/total, were %llu/%llu",
		              (unsigned long long)after.free_frames,
		              (unsigned long long)after.total_frames,
		              (unsigned long long)before.free_frames,
		              (unsigned long long)before.total_frames);

	if (hx_frames_alloc_contig(frames, 16, 16, &phys) != 0)
		return "hx_frames_alloc_contig(16 frames, aligned 16) failed";
	if (!HX_IS_ALIGNED(phys, 16 * HX_FRAME_SIZE))
		return failed("hx_frames_alloc_contig aligned 16 returned 0x%llx",
		              (unsigned long long)phys);
	if ((err = hx_frames_free(frames, phys, 16)) != 0)
		return failed("hx_frames_free(16 frames): %s", hx_error_name(err));
	if (hx_frames_free(frames, phys, 1) != -HX_EINVAL)
		return "a double hx_frames_free was not refused";
	if (hx_frames_free(frames, 0, 1) != -HX_EINVAL)
		return "freeing frame 0 (never managed) was not refused";

	hx_frames_get_stats(frames, &after);
	if (after.free_frames != before.free_frames)
		return "free count changed by refused frees";
	hx_info("selftest frames: %llu frames (%llu MiB) allocated, unique, freed",
	        (unsigned long long)count, (unsigned long long)(count * HX_FRAME_SIZE / MIB));
	hx_free(seen);
	return NULL;
}

/* ---- time and futex ---- */

static const char *test_time(void)
{
	const unsigned rounds = 5;
	const uint16_t ticks = 11932; /* 10 ms each */
	uint64_t first = hx_time_ns(), prev = first, start, elapsed, expected;

	for (int i = 0; i < 100000; i++) {
		uint64_t now = hx_time_ns();

		if (now < prev)
			return failed("hx_time_ns went backwards: %llu after %llu",
			              (unsigned long long)now, (unsigned long long)prev);
		prev = now;
	}
	if (prev == first)
		return "hx_time_ns did not advance over 100000 reads";

	start = hx_time_ns();
	for (unsigned i = 0; i < rounds; i++) {
		if (!hx_pit_wait_ticks(ticks))
			return "PIT channel 2 did not answer";
	}
	elapsed = hx_time_ns() - start;
	expected = (uint64_t)rounds * ticks * 1000000000ull / HX_PIT_HZ;
	hx_info("selftest time: a %llu us PIT wait took %llu us by hx_time_ns (TSC %llu kHz)",
	        (unsigned long long)(expected / 1000), (unsigned long long)(elapsed / 1000),
	        (unsigned long long)(hx_clock_tsc_hz() / 1000));
	/* Generous: an emulator's host may deschedule it in the middle of either measurement. */
	if (elapsed < expected / 2 || elapsed > expected * 3)
		return failed("a %llu us PIT wait took %llu us by hx_time_ns",
		              (unsigned long long)(expected / 1000),
		              (unsigned long long)(elapsed / 1000));
	return NULL;
}

static const char *test_futex(void)
{
	_Atomic uint32_t word = 7;
	uint64_t start, waited;
	int err;

	if ((err = hx_futex_wait(&word, 8, HX_FOREVER)) != -HX_EAGAIN)
		return failed("wait on a changed word returned %s, not HX_EAGAIN",
		              hx_error_name(err));
	if ((err = hx_futex_wait(&word, 7, HX_NOWAIT)) != -HX_ETIMEDOUT)
		return failed("wait with HX_NOWAIT returned %s, not HX_ETIMEDOUT",
		              hx_error_name(err));
	start = hx_time_ns();
	if ((err = hx_futex_wait(&word, 7, start + 2000000)) != -HX_ETIMEDOUT)
		return failed("wait with a 2 ms deadline returned %s, not HX_ETIMEDOUT",
		              hx_error_name(err));
	waited = hx_time_ns() - start;
	if (waited < 2000000)
		return failed("wait with a 2 ms deadline returned after %llu ns",
		              (unsigned long long)waited);
	if ((err = hx_futex_wake(&word, HX_WAKE_ALL)) < 0)
		return failed("wake returned %s", hx_error_name(err));
	return NULL;
}

/*
 * Channels in the booted kernel. There is one task, so several producers are simulated: each step
 * a pseudo-random producer sends its next message, and the consumer takes a batch now and then and
 * whenever the channel is full. Checks exactly-once, per-producer order, the payload, the exact
 * capacity, deadlines, close-then-drain and the counters.
 */
struct chan_message {
	uint32_t producer;
	uint32_t seq;
	uint64_t check;
};

HX_CHAN_DEFINE(selftest_chan, struct chan_message)

#define CHAN_MAX_PRODUCERS 8

static uint64_t chan_check(uint32_t producer, uint32_t seq)
{
	return ((uint64_t)producer << 32 | seq) * 0x9e3779b97f4a7c15ull;
}

static uint32_t xorshift(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* Receives what is ready (NOWAIT) and checks it; -1 on a broken message, else the count. */
static int chan_drain_some(struct selftest_chan chan, uint32_t *next_recv, unsigned producers,
                           size_t max, int *err_out)
{
	struct chan_message batch[16];
	int n = selftest_chan_recv_many(chan, batch, HX_MIN(max, HX_ARRAY_SIZE(batch)), HX_NOWAIT);

	*err_out = n < 0 ? n : 0;
	for (int i = 0; i < n; i++) {
		const struct chan_message *m = &batch[i];

		if (m->producer >= producers || m->seq != next_recv[m->producer] ||
		    m->check != chan_check(m->producer, m->seq))
			return -1;
		next_recv[m->producer]++;
	}
	return n < 0 ? 0 : n;
}

static const char *chan_run(size_t capacity, unsigned producers, uint32_t per_producer)
{
	uint32_t next_send[CHAN_MAX_PRODUCERS] = { 0 }, next_recv[CHAN_MAX_PRODUCERS] = { 0 };
	uint32_t rng = 0x2545f491u ^ (uint32_t)capacity, sent = 0, received = 0;
	uint32_t total = producers * per_producer;
	struct hx_chan_stats stats;
	struct selftest_chan chan;
	struct chan_message msg;
	bool saw_full = false;
	int err, n;

	if ((err = selftest_chan_create(capacity, &chan)) != 0)
		return failed("create(%zu): %s", capacity, hx_error_name(err));
	while (sent < total) {
		uint32_t p = xorshift(&rng) % producers;

		if (next_send[p] == per_producer)
			continue;
		msg = (struct chan_message){ p, next_send[p], chan_check(p, next_send[p]) };
		err = selftest_chan_send(chan, &msg, HX_NOWAIT);
		if (err == 0) {
			next_send[p]++;
			sent++;
		} else if (err == -HX_EAGAIN) {
			if (selftest_chan_len(chan) != capacity)
				return failed("capacity %zu: full at length %zu", capacity,
				              selftest_chan_len(chan));
			saw_full = true;
		} else {
			return failed("send: %s", hx_error_name(err));
		}
		/*
		 * Drain when full and now and then, in batches of 1..8: about half a message per
		 * send on average, so the channel fills up and empties again many times.
		 */
		if (err == -HX_EAGAIN || xorshift(&rng) % 8 == 0) {
			n = chan_drain_some(chan, next_recv, producers, 1 + xorshift(&rng) % 8,
			                    &err);
			if (n < 0)
				return "a message arrived twice, out of order or damaged";
			received += (uint32_t)n;
		}
	}
	if (!saw_full)
		return failed("capacity %zu: the channel never filled", capacity);
	if ((err = selftest_chan_close(chan)) != 0 || selftest_chan_close(chan) != -HX_EPIPE)
		return "close did not report the first and the second call correctly";
	if ((err = selftest_chan_send(chan, &msg, HX_FOREVER)) != -HX_EPIPE)
		return failed("send after close: %s, not HX_EPIPE", hx_error_name(err));
	for (;;) {
		n = chan_drain_some(chan, next_recv, producers, 16, &err);
		if (n < 0)
			return "a message arrived twice, out of order or damaged after close";
		received += (uint32_t)n;
		if (err == -HX_EPIPE)
			break;
		if (err != 0)
			return failed("drain after close: %s", hx_error_name(err));
	}
	if (received != total)
		return failed("%u messages accepted, %u received", total, received);
	hx_chan_get_stats(chan.chan, &stats);
	if (stats.sends != total || stats.receives != total || stats.full_events == 0)
		return failed("stats: %llu sends, %llu receives, %llu full events",
		              (unsigned long long)stats.sends, (unsigned long long)stats.receives,
		              (unsigned long long)stats.full_events);
	selftest_chan_destroy(chan);
	return NULL;
}

static const char *chan_deadlines(void)
{
	struct chan_message msg = { 0, 0, 0 };
	struct selftest_chan chan;
	uint64_t start;
	int err;

	if ((err = selftest_chan_create(1, &chan)) != 0)
		return failed("create(1): %s", hx_error_name(err));
	start = hx_time_ns();
	if ((err = selftest_chan_recv(chan, &msg, start + 1000000)) != -HX_ETIMEDOUT)
		return failed("recv on empty with a 1 ms deadline: %s", hx_error_name(err));
	if (hx_time_ns() < start + 1000000)
		return "recv with a 1 ms deadline returned early";
	if ((err = selftest_chan_send(chan, &msg, HX_NOWAIT)) != 0)
		return failed("send: %s", hx_error_name(err));
	if ((err = selftest_chan_send(chan, &msg, 1)) != -HX_ETIMEDOUT)
		return failed("send on full with a past deadline: %s", hx_error_name(err));
	selftest_chan_destroy(chan);
	return NULL;
}

static const char *test_chan(void)
{
	static const struct {
		size_t capacity;
		unsigned producers;
		uint32_t per_producer;
	} runs[] = { { 1, 3, 200 }, { 7, 4, 1000 }, { 64, 8, 4000 } };
	const char *why;

	for (size_t i = 0; i < HX_ARRAY_SIZE(runs); i++) {
		why = chan_run(runs[i].capacity, runs[i].producers, runs[i].per_producer);
		if (why)
			return why;
	}
	return chan_deadlines();
}

/* ---- uaccess ---- */

/*
 * The kernel's user access backend, as a syscall handler will use it. The kernel does not link the
 * portable framework (//syscall:syscall, with hx_copy_from_user) yet, so the test calls the
 * backend's ops directly, after the range rule hx_uaccess_ok applies (ua_range_ok): the ops
 * themselves only fault or not. Every copy that should fault must go through the exception table
 * exactly once, which hx_arch_uaccess_fixups counts.
 */
#define UA_LOW_BASE  0x400000ull /* lower half: unmapped since hx_mmu_drop_identity_map */
#define UA_LOW_LIMIT 0x800000ull
#define UA_PAGE      ((uint64_t)HX_USER_PAGE_SIZE)
#define PTE_PRESENT  0x001ull
#define PTE_WRITABLE 0x002ull
#define PTE_ADDRESS  0x000ffffffffff000ull

static bool ua_range_ok(const struct hx_uspace *us, uint64_t addr, size_t len)
{
	return addr >= us->base && addr <= us->limit && len <= us->limit - addr;
}

static int ua_copy_in(struct hx_uspace *us, void *dst, uint64_t src, size_t len)
{
	return ua_range_ok(us, src, len) ? us->ops->copy_in(us, dst, src, len) : -HX_EFAULT;
}

static int ua_copy_out(struct hx_uspace *us, uint64_t dst, const void *src, size_t len)
{
	return ua_range_ok(us, dst, len) ? us->ops->copy_out(us, dst, src, len) : -HX_EFAULT;
}

static long ua_copy_str(struct hx_uspace *us, char *dst, uint64_t src, size_t cap)
{
	if (src < us->base || src >= us->limit)
		return -HX_EFAULT;
	return us->ops->copy_str_in(us, dst, src, HX_MIN(cap, (size_t)(us->limit - src)));
}

/* The fixup count moved by exactly @expected since @before (and *before is updated). */
static const char *ua_fixups(uint64_t *before, uint64_t expected, const char *what)
{
	uint64_t now = hx_arch_uaccess_fixups();

	if (now - *before != expected)
		return failed("%s: %llu exception-table fixups, expected %llu", what,
		              (unsigned long long)(now - *before), (unsigned long long)expected);
	*before = now;
	return NULL;
}

static uint8_t ua_pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* (a) A space over heap memory: copies in and out across a page boundary, strings. */
static const char *ua_heap(void)
{
	static uint8_t out[6000], in[6000];
	uint64_t fixups = hx_arch_uaccess_fixups();
	struct hx_uspace us;
	const char *why = NULL;
	char str[16];
	uint8_t *mem = hx_alloc(3 * UA_PAGE);
	uint64_t base;
	long len;
	int err;

	if (!mem)
		return "no memory for a heap-backed user space";
	base = HX_ALIGN_UP((uint64_t)(uintptr_t)mem, UA_PAGE);
	if ((err = hx_uspace_kernel_init(&us, base, base + 2 * UA_PAGE)) != 0) {
		why = failed("hx_uspace_kernel_init over the heap: %s", hx_error_name(err));
		goto out;
	}
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = ua_pattern(i);
	/* 6000 bytes from offset 100: across the page boundary, to 2092 bytes before the limit. */
	if ((err = ua_copy_out(&us, base + 100, out, sizeof(out))) != 0) {
		why = failed("copy_out of %zu bytes: %s", sizeof(out), hx_error_name(err));
		goto out;
	}
	if (hx_memcmp((void *)(uintptr_t)(base + 100), out, sizeof(out)) != 0) {
		why = "copy_out wrote the wrong bytes";
		goto out;
	}
	if ((err = ua_copy_in(&us, in, base + 100, sizeof(in))) != 0) {
		why = failed("copy_in of %zu bytes: %s", sizeof(in), hx_error_name(err));
		goto out;
	}
	if (hx_memcmp(in, out, sizeof(in)) != 0) {
		why = "copy_in read the wrong bytes";
		goto out;
	}
	if (ua_copy_out(&us, base + 2 * UA_PAGE - 8, out, 9) != -HX_EFAULT) {
		why = "a copy one byte past the limit was not refused";
		goto out;
	}
	/* A string ending at the last user byte; the same cut one byte short; a long one. */
	hx_memcpy((void *)(uintptr_t)(base + 2 * UA_PAGE - 6), "helix", 6);
	if ((len = ua_copy_str(&us, str, base + 2 * UA_PAGE - 6, sizeof(str))) != 5 ||
	    hx_strcmp(str, "helix") != 0) {
		why = failed("string at the limit: %ld", len);
		goto out;
	}
	if ((len = ua_copy_str(&us, str, base + 2 * UA_PAGE - 6, 5)) != -HX_ENAMETOOLONG) {
		why = failed("5-byte cap on \"helix\": %ld, not -HX_ENAMETOOLONG", len);
		goto out;
	}
	why = ua_fixups(&fixups, 0, "copies over mapped heap memory");
out:
	hx_free(mem);
	return why;
}

/* (b) A space over the unmapped lower half: every copy faults at its first byte. */
static const char *ua_unmapped(void)
{
	uint64_t fixups = hx_arch_uaccess_fixups();
	struct hx_uspace us;
	uint8_t buf[64] = { 0 };
	const char *why;
	long ret;
	int err;

	if ((err = hx_uspace_kernel_init(&us, UA_LOW_BASE, UA_LOW_LIMIT)) != 0)
		return failed("hx_uspace_kernel_init [0x%llx, 0x%llx): %s", UA_LOW_BASE,
		              UA_LOW_LIMIT, hx_error_name(err));
	if ((err = ua_copy_in(&us, buf, UA_LOW_BASE, sizeof(buf))) != -HX_EFAULT)
		return failed("copy_in from unmapped 0x%llx: %s", UA_LOW_BASE, hx_error_name(err));
	if ((why = ua_fixups(&fixups, 1, "copy_in from an unmapped page")))
		return why;
	if ((err = ua_copy_out(&us, UA_LOW_LIMIT - UA_PAGE, buf, sizeof(buf))) != -HX_EFAULT)
		return failed("copy_out to unmapped memory: %s", hx_error_name(err));
	if ((why = ua_fixups(&fixups, 1, "copy_out to an unmapped page")))
		return why;
	if ((ret = ua_copy_str(&us, (char *)buf, UA_LOW_BASE + 123, sizeof(buf))) != -HX_EFAULT)
		return failed("string copy from unmapped memory: %ld", ret);
	if ((why = ua_fixups(&fixups, 1, "string copy from an unmapped page")))
		return why;
	/* A fault that is not a user copy's still is not fixed up: the fault self-test shows it. */
	return NULL;
}

/* Frames of the temporary lower-half mapping: PDPT, PD, PT and the data page. */
struct ua_mapping {
	uint64_t frames[4];
	size_t count;
};

static void ua_unmap(struct ua_mapping *map)
{
	uint64_t *pml4 = hx_phys_to_virt(hx_read_cr3() & PTE_ADDRESS);

	pml4[0] = 0;
	hx_write_cr3(hx_read_cr3());
	while (map->count > 0)
		hx_frames_free(hx_kmem_frames(), map->frames[--map->count], 1);
}

/*
 * Map one page at UA_LOW_BASE (the only mapping in the lower half), so that UA_LOW_BASE +
 * UA_PAGE is the unmapped page right after a mapped one. Returns the data page's direct-map
 * alias, or NULL.
 */
static uint8_t *ua_map_one_page(struct ua_mapping *map)
{
	uint64_t *pml4 = hx_phys_to_virt(hx_read_cr3() & PTE_ADDRESS);
	uint64_t *table[4];

	if (pml4[0] != 0)
		return NULL; /* the identity map should be gone */
	for (map->count = 0; map->count < 4; map->count++) {
		uint64_t phys;

		if (hx_frames_alloc(hx_kmem_frames(), &phys) != 0) {
			ua_unmap(map);
			return NULL;
		}
		map->frames[map->count] = phys;
		table[map->count] = hx_phys_to_virt(phys);
		hx_memset(table[map->count], 0, UA_PAGE);
	}
	/* 0x400000: PML4 0, PDPT 0, PD 2, PT 0. */
	table[0][0] = map->frames[1] | PTE_PRESENT | PTE_WRITABLE;
	table[1][(UA_LOW_BASE >> 21) & 511] = map->frames[2] | PTE_PRESENT | PTE_WRITABLE;
	table[2][(UA_LOW_BASE >> 12) & 511] = map->frames[3] | PTE_PRESENT | PTE_WRITABLE;
	pml4[0] = map->frames[0] | PTE_PRESENT | PTE_WRITABLE;
	hx_write_cr3(hx_read_cr3());
	return (uint8_t *)table[3];
}

/* (c) Copies that start on the mapped page and fault at the next one, mid-way. */
static const char *ua_midway_checks(struct hx_uspace *us, uint8_t *page)
{
	uint64_t fixups = hx_arch_uaccess_fixups();
	uint64_t edge = UA_LOW_BASE + UA_PAGE; /* the first unmapped byte */
	uint8_t buf[64];
	char str[64];
	const char *why;
	long ret;
	int err;

	hx_memset(page, 'x', UA_PAGE);
	/* Through the mapping: proves the page is there, so the faults below are at the edge. */
	if ((err = ua_copy_out(us, UA_LOW_BASE + 8, "mapped", 7)) != 0 ||
	    hx_memcmp(page + 8, "mapped", 7) != 0)
		return failed("copy_out to the mapped page: %s", hx_error_name(err));
	if ((ret = ua_copy_str(us, str, UA_LOW_BASE + 8, sizeof(str))) != 6)
		return failed("string on the mapped page: %ld, not 6", ret);
	if ((why = ua_fixups(&fixups, 0, "copies inside the mapped page")))
		return why;

	/* 8 'x' bytes, then the unmapped page: the byte loop faults at its 9th load. */
	hx_memset(str, 0, sizeof(str));
	if ((ret = ua_copy_str(us, str, edge - 8, sizeof(str))) != -HX_EFAULT)
		return failed("string running into an unmapped page: %ld, not -HX_EFAULT", ret);
	if ((why = ua_fixups(&fixups, 1, "string running into an unmapped page")))
		return why;
	if (hx_memcmp(str, "xxxxxxxx", 8) != 0)
		return "the string copy faulted before reaching the unmapped page";

	if ((err = ua_copy_in(us, buf, edge - 16, 32)) != -HX_EFAULT)
		return failed("copy_in across the edge: %s", hx_error_name(err));
	if ((why = ua_fixups(&fixups, 1, "copy_in across the edge")))
		return why;
	hx_memset(buf, 'o', sizeof(buf));
	if ((err = ua_copy_out(us, edge - 16, buf, 32)) != -HX_EFAULT)
		return failed("copy_out across the edge: %s", hx_error_name(err));
	if ((why = ua_fixups(&fixups, 1, "copy_out across the edge")))
		return why;
	/* The kernel goes on as before: a copy after the faults works. */
	if ((err = ua_copy_in(us, buf, edge - 16, 16)) != 0)
		return failed("copy_in of the last 16 mapped bytes after the faults: %s",
		              hx_error_name(err));
	return NULL;
}

static const char *ua_midway(void)
{
	struct ua_mapping map = { { 0 }, 0 };
	struct hx_uspace us;
	const char *why;
	uint8_t *page;
	int err;

	if ((err = hx_uspace_kernel_init(&us, UA_LOW_BASE, UA_LOW_LIMIT)) != 0)
		return failed("hx_uspace_kernel_init: %s", hx_error_name(err));
	page = ua_map_one_page(&map);
	if (!page)
		return "could not map a test page at 0x400000";
	why = ua_midway_checks(&us, page);
	ua_unmap(&map);
	return why;
}

static const char *test_uaccess(void)
{
	/* Empty, reversed, base or limit not page aligned, across the non-canonical hole. */
	static const struct {
		uint64_t base, limit;
	} bad[] = {
		{ UA_LOW_BASE, UA_LOW_BASE },
		{ UA_LOW_LIMIT, UA_LOW_BASE },
		{ UA_LOW_BASE + 1, UA_LOW_LIMIT },
		{ UA_LOW_BASE, UA_LOW_LIMIT - 1 },
		{ 0x00007ffffffff000ull, 0xffff800000001000ull },
	};
	struct hx_uspace us;
	const char *why;

	for (size_t i = 0; i < HX_ARRAY_SIZE(bad); i++) {
		if (hx_uspace_kernel_init(&us, bad[i].base, bad[i].limit) != -HX_EINVAL)
			return failed("hx_uspace_kernel_init(0x%llx, 0x%llx) was not refused",
			              (unsigned long long)bad[i].base,
			              (unsigned long long)bad[i].limit);
	}
	if ((why = ua_heap()) || (why = ua_unmapped()) || (why = ua_midway()))
		return why;
	hx_info("selftest uaccess: %llu page faults fixed up so far",
	        (unsigned long long)hx_arch_uaccess_fixups());
	return NULL;
}

/* ---- registry and runner ---- */

static const struct selftest selftests[] = {
	{ .name = "fault", .run = test_fault, .ends_kernel = true },
	{ .name = "ud", .run = test_ud, .ends_kernel = true },
	{ .name = "panic", .run = test_panic, .ends_kernel = true },
	{ .name = "double_free", .run = test_double_free, .ends_kernel = true },
	{ .name = "double_fault", .run = test_double_fault, .ends_kernel = true },
	{ .name = "heap", .run = test_heap },
	{ .name = "frames", .run = test_frames },
	{ .name = "time", .run = test_time },
	{ .name = "futex", .run = test_futex },
	{ .name = "chan", .run = test_chan },
	{ .name = "uaccess", .run = test_uaccess },
	{ .name = "syscall", .run = hx_selftest_syscall },
	{ .name = "sched", .run = hx_selftest_sched },
	{ .name = "ipc", .run = hx_selftest_ipc },
	{ .name = "vm", .run = hx_selftest_vm },
	{ .name = "user", .run = hx_selftest_user },
	{ .name = "pressure", .run = hx_selftest_pressure },
	{ .name = "stress", .run = hx_selftest_stress },
};

/* `all`: every test above that does not end the kernel, in this order. */
#define ALL "all"

static bool is_all(const char *name, size_t len)
{
	return len == sizeof(ALL) - 1 && hx_strncmp(name, ALL, len) == 0;
}

static const struct selftest *find(const char *name, size_t len)
{
	for (size_t i = 0; i < HX_ARRAY_SIZE(selftests); i++) {
		if (hx_strlen(selftests[i].name) == len &&
		    hx_strncmp(selftests[i].name, name, len) == 0)
			return &selftests[i];
	}
	return NULL;
}

/* The next comma-separated word of @list at or after *@pos; its length, 0 at the end. */
static size_t next_word(const char *list, size_t *pos, const char **word)
{
	size_t len = 0;

	while (list[*pos] == ',')
		(*pos)++;
	*word = list + *pos;
	while (list[*pos] != '\0' && list[*pos] != ',') {
		(*pos)++;
		len++;
	}
	return len;
}

/* "fault ud panic ...": the registry's names, for the error about an unknown one. */
static void known_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < HX_ARRAY_SIZE(selftests); i++) {
		int len =
		    hx_snprintf(buf + used, size - used, "%s%s", i ? " " : "", selftests[i].name);

		if (len < 0 || (size_t)len >= size - used)
			return;
		used += (size_t)len;
	}
	(void)hx_snprintf(buf + used, size - used, " " ALL);
}

static void run_one(const struct selftest *test)
{
	const char *why;

	hx_info("selftest %s: running", test->name);
	why = test->run();
	if (why) {
		hx_printk("selftest %s: FAILED: %s\n", test->name, why);
		hx_arch_exit(HX_EXIT_SELFTEST);
	}
	hx_printk("selftest %s: ok\n", test->name);
}

void hx_selftest_run_list(const char *names)
{
	const char *word;
	size_t pos = 0, len;

	/* Check every name first: a typo should not cost a run of the tests before it. */
	while ((len = next_word(names, &pos, &word)) != 0) {
		if (!find(word, len) && !is_all(word, len)) {
			char known[256];

			known_names(known, sizeof(known));
			hx_printk("selftest %.*s: FAILED: no such self-test (known: %s)\n",
			          (int)HX_MIN(len, (size_t)NAME_MAX), word, known);
			hx_arch_exit(HX_EXIT_SELFTEST);
		}
	}

	pos = 0;
	while ((len = next_word(names, &pos, &word)) != 0) {
		if (!is_all(word, len)) {
			run_one(find(word, len));
			continue;
		}
		for (size_t i = 0; i < HX_ARRAY_SIZE(selftests); i++) {
			if (!selftests[i].ends_kernel)
				run_one(&selftests[i]);
		}
	}
}
