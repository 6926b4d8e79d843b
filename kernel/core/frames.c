// SPDX-License-Identifier: MIT
/*
 * Physical frame allocator (see helix/frames.h for the contract).
 *
 * Initialisation turns the memory map into a sorted list of disjoint, non-adjacent managed ranges
 * without any scratch memory: every usable entry (rounded inwards) and every reserved entry or
 * caller range (rounded outwards) contributes two frame-aligned endpoints, and a sweep over the
 * distinct endpoints in ascending order classifies each elementary segment between two neighbours
 * as managed (inside some usable interval, inside no reserved one) or not. That is O(n^2) in the
 * number of entries, which is small (a boot memory map) and runs once.
 *
 * Invariants while running: a bitmap bit is clear exactly when its frame lies inside one of
 * ranges[] and is free; stats.free_frames counts the clear bits; every managed range lies below
 * nframes * HX_FRAME_SIZE.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/assert.h>
#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/frames.h>
#include <helix/spinlock.h>
#include <helix/string.h>

#define FRAME_SHIFT   12
#define WORD_BITS     64u
/* The highest frame-aligned address: no half-open interval of frames can end above it. */
#define TOP_FRAME_END (UINT64_MAX & ~(uint64_t)(HX_FRAME_SIZE - 1))

HX_STATIC_ASSERT(HX_FRAME_SIZE == (1u << FRAME_SHIFT), "FRAME_SHIFT must match HX_FRAME_SIZE");

/* The inputs of hx_frames_init seen as one list of rounded intervals. */
struct frames_input {
	const struct hx_mem_region *map;
	size_t map_len;
	const struct hx_mem_range *reserved;
	size_t reserved_len;
};

static uint64_t round_down(uint64_t x)
{
	return x & ~(uint64_t)(HX_FRAME_SIZE - 1);
}

/* Rounds up to a frame boundary, saturating at TOP_FRAME_END (see its comment). */
static uint64_t round_up_saturating(uint64_t x)
{
	if (x > TOP_FRAME_END)
		return TOP_FRAME_END;
	return round_down(x + HX_FRAME_SIZE - 1);
}

/*
 * Interval @index of @in (map entries first, then the caller's ranges), rounded to frames: inwards
 * when usable, outwards otherwise. False when it is empty after rounding.
 */
static bool input_interval(const struct frames_input *in, size_t index, uint64_t *lo, uint64_t *hi,
                           bool *usable)
{
	uint64_t base, length;

	if (index < in->map_len) {
		base = in->map[index].base;
		length = in->map[index].length;
		*usable = in->map[index].type == HX_MEM_USABLE;
	} else {
		base = in->reserved[index - in->map_len].base;
		length = in->reserved[index - in->map_len].length;
		*usable = false;
	}
	if (length == 0)
		return false;
	/* The caller checked that base + length does not wrap. */
	if (*usable) {
		*lo = round_up_saturating(base);
		*hi = round_down(base + length);
	} else {
		*lo = round_down(base);
		*hi = round_up_saturating(base + length);
	}
	return *lo < *hi;
}

static size_t input_count(const struct frames_input *in)
{
	return in->map_len + in->reserved_len;
}

/* The smallest endpoint strictly above @after (any endpoint when @first). False when none. */
static bool next_endpoint(const struct frames_input *in, uint64_t after, bool first, uint64_t *out)
{
	bool found = false;
	uint64_t best = 0;

	for (size_t i = 0; i < input_count(in); i++) {
		uint64_t lo, hi;
		bool usable;

		if (!input_interval(in, i, &lo, &hi, &usable))
			continue;
		if ((first || lo > after) && (!found || lo < best)) {
			best = lo;
			found = true;
		}
		if ((first || hi > after) && (!found || hi < best)) {
			best = hi;
			found = true;
		}
	}
	*out = best;
	return found;
}

/*
 * Whether the elementary segment starting at @point is managed. Every interval endpoint is a
 * segment boundary, so an interval either covers the whole segment or none of it: testing the
 * segment's first byte is enough.
 */
static bool segment_is_managed(const struct frames_input *in, uint64_t point)
{
	bool in_usable = false;

	for (size_t i = 0; i < input_count(in); i++) {
		uint64_t lo, hi;
		bool usable;

		if (!input_interval(in, i, &lo, &hi, &usable) || point < lo || point >= hi)
			continue;
		if (!usable)
			return false; /* reserved wins over usable */
		in_usable = true;
	}
	return in_usable;
}

/* Appends [lo, hi) to the range list, merging with the last range when adjacent. */
static int add_range(struct hx_frames *frames, uint64_t lo, uint64_t hi)
{
	if (frames->nranges > 0) {
		struct hx_mem_range *last = &frames->ranges[frames->nranges - 1];

		if (last->base + last->length == lo) {
			last->length += hi - lo;
			return 0;
		}
	}
	if (frames->nranges == HX_FRAMES_MAX_RANGES)
		return -HX_E2BIG;
	frames->ranges[frames->nranges].base = lo;
	frames->ranges[frames->nranges].length = hi - lo;
	frames->nranges++;
	return 0;
}

static bool bit_is_set(const uint64_t *bitmap, uint64_t frame)
{
	return (bitmap[frame / WORD_BITS] >> (frame % WORD_BITS)) & 1u;
}

static void set_bits(uint64_t *bitmap, uint64_t first, uint64_t count)
{
	for (uint64_t frame = first; frame < first + count; frame++)
		bitmap[frame / WORD_BITS] |= (uint64_t)1 << (frame % WORD_BITS);
}

static void clear_bits(uint64_t *bitmap, uint64_t first, uint64_t count)
{
	uint64_t frame = first, end = first + count;

	/* Word at a time in the middle: ranges can be gigabytes long. */
	while (frame < end) {
		if (frame % WORD_BITS == 0 && end - frame >= WORD_BITS) {
			bitmap[frame / WORD_BITS] = 0;
			frame += WORD_BITS;
		} else {
			bitmap[frame / WORD_BITS] &= ~((uint64_t)1 << (frame % WORD_BITS));
			frame++;
		}
	}
}

static int check_input(const struct frames_input *in)
{
	for (size_t i = 0; i < in->map_len; i++) {
		if (in->map[i].length > UINT64_MAX - in->map[i].base)
			return -HX_EINVAL;
	}
	for (size_t i = 0; i < in->reserved_len; i++) {
		if (in->reserved[i].length > UINT64_MAX - in->reserved[i].base)
			return -HX_EINVAL;
	}
	return 0;
}

int hx_frames_init(struct hx_frames *frames, const struct hx_mem_region *map, size_t map_len,
                   const struct hx_mem_range *reserved, size_t reserved_len, uint64_t *bitmap,
                   size_t bitmap_bytes)
{
	struct frames_input in = { map, map_len, reserved, reserved_len };
	uint64_t nframes, limit, point, next, managed = 0, beyond = 0;
	int err;

	if (!frames || !bitmap || bitmap_bytes == 0 || bitmap_bytes % 8 != 0 ||
	    (uintptr_t)bitmap % _Alignof(uint64_t) != 0 || (!map && map_len > 0) ||
	    (!reserved && reserved_len > 0))
		return -HX_EINVAL;
	err = check_input(&in);
	if (err)
		return err;

	/* Frames the bitmap reaches, capped so that the byte limit stays representable. */
	nframes = HX_MIN((uint64_t)bitmap_bytes / 8 * WORD_BITS, UINT64_MAX >> FRAME_SHIFT);
	limit = nframes << FRAME_SHIFT;

	hx_spin_init(&frames->lock);
	frames->watch = NULL;
	frames->watch_ctx = NULL;
	frames->bitmap = bitmap;
	frames->nframes = nframes;
	frames->nranges = 0;
	hx_memset(&frames->stats, 0, sizeof(frames->stats));

	if (next_endpoint(&in, 0, true, &point)) {
		while (next_endpoint(&in, point, false, &next)) {
			if (segment_is_managed(&in, point)) {
				uint64_t reachable_end = HX_MIN(next, limit);

				if (point < reachable_end) {
					err = add_range(frames, point, reachable_end);
					if (err)
						return err;
					managed += (reachable_end - point) >> FRAME_SHIFT;
				}
				beyond += next - HX_MAX(point, reachable_end);
			}
			point = next;
		}
	}
	if (managed == 0)
		return -HX_ENOMEM;

	/* Everything in use or unmanaged, then open up the managed ranges. */
	hx_memset(bitmap, 0xff, (size_t)((nframes + WORD_BITS - 1) / WORD_BITS * 8));
	for (size_t i = 0; i < frames->nranges; i++)
		clear_bits(bitmap, frames->ranges[i].base >> FRAME_SHIFT,
		           frames->ranges[i].length >> FRAME_SHIFT);

	frames->next = frames->ranges[0].base >> FRAME_SHIFT;
	frames->stats.total_frames = managed;
	frames->stats.free_frames = managed;
	frames->stats.ranges = frames->nranges;
	frames->stats.beyond_limit = beyond;
	return 0;
}

/* First clear bit at or after @start and before @end; @end when none. */
static uint64_t find_clear(const uint64_t *bitmap, uint64_t start, uint64_t end)
{
	uint64_t frame = start;

	while (frame < end) {
		uint64_t word = ~bitmap[frame / WORD_BITS] >> (frame % WORD_BITS);

		if (word) {
			frame += (uint64_t)__builtin_ctzll(word);
			return frame < end ? frame : end;
		}
		frame = (frame / WORD_BITS + 1) * WORD_BITS;
	}
	return end;
}

void hx_frames_set_watch(struct hx_frames *frames, hx_frames_watch_fn fn, void *ctx)
{
	unsigned long flags = hx_spin_lock_irqsave(&frames->lock);

	frames->watch = fn;
	frames->watch_ctx = ctx;
	hx_spin_unlock_irqrestore(&frames->lock, flags);
}

/* After a change, outside the lock. The total never changes after init. */
static void notify(struct hx_frames *frames, uint64_t free_now)
{
	if (frames->watch)
		frames->watch(frames->watch_ctx, free_now, frames->stats.total_frames);
}

int hx_frames_alloc(struct hx_frames *frames, uint64_t *phys)
{
	unsigned long flags = hx_spin_lock_irqsave(&frames->lock);
	uint64_t frame, free_now;

	if (frames->stats.free_frames == 0) {
		hx_spin_unlock_irqrestore(&frames->lock, flags);
		return -HX_ENOMEM;
	}
	/* Next fit: from the hint to the end, then wrap around. A free frame exists, so one hits.
	 */
	frame = find_clear(frames->bitmap, frames->next, frames->nframes);
	if (frame == frames->nframes)
		frame = find_clear(frames->bitmap, 0, frames->next);
	frames->bitmap[frame / WORD_BITS] |= (uint64_t)1 << (frame % WORD_BITS);
	frames->stats.free_frames--;
	frames->next = frame + 1 < frames->nframes ? frame + 1 : 0;
	free_now = frames->stats.free_frames;
	hx_spin_unlock_irqrestore(&frames->lock, flags);

	*phys = frame << FRAME_SHIFT;
	notify(frames, free_now);
	return 0;
}

/* The first free run of @count frames in [lo, hi) starting at a multiple of @align. */
static bool find_run(const uint64_t *bitmap, uint64_t lo, uint64_t hi, uint64_t count,
                     uint64_t align, uint64_t *out)
{
	uint64_t start = HX_ALIGN_UP(lo, align);

	while (start < hi && hi - start >= count) {
		uint64_t frame = start;

		while (frame < start + count && !bit_is_set(bitmap, frame))
			frame++;
		if (frame == start + count) {
			*out = start;
			return true;
		}
		/* Frame is in use: no run through it can work; the next candidate lies past it. */
		start = HX_ALIGN_UP(frame + 1, align);
	}
	return false;
}

int hx_frames_alloc_contig(struct hx_frames *frames, size_t count, size_t align_frames,
                           uint64_t *phys)
{
	unsigned long flags;
	uint64_t start, free_now;
	int err = -HX_ENOMEM;

	if (count == 0 || align_frames == 0 || (align_frames & (align_frames - 1)) != 0 ||
	    (uint64_t)align_frames > (UINT64_MAX >> FRAME_SHIFT))
		return -HX_EINVAL;

	flags = hx_spin_lock_irqsave(&frames->lock);
	if ((uint64_t)count <= frames->stats.free_frames) {
		/* A run never spans two ranges: they are neither overlapping nor adjacent. */
		for (size_t i = 0; i < frames->nranges; i++) {
			uint64_t lo = frames->ranges[i].base >> FRAME_SHIFT;
			uint64_t hi = lo + (frames->ranges[i].length >> FRAME_SHIFT);

			if (find_run(frames->bitmap, lo, hi, count, align_frames, &start)) {
				set_bits(frames->bitmap, start, count);
				frames->stats.free_frames -= count;
				*phys = start << FRAME_SHIFT;
				err = 0;
				break;
			}
		}
	}
	free_now = frames->stats.free_frames;
	hx_spin_unlock_irqrestore(&frames->lock, flags);
	if (!err)
		notify(frames, free_now);
	return err;
}

/* The managed range holding the frame-aligned address @addr, or NULL (binary search). */
static const struct hx_mem_range *find_range(const struct hx_frames *frames, uint64_t addr)
{
	size_t lo = 0, hi = frames->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hx_mem_range *range = &frames->ranges[mid];

		if (addr < range->base)
			hi = mid;
		else if (addr - range->base >= range->length)
			lo = mid + 1;
		else
			return range;
	}
	return NULL;
}

int hx_frames_free(struct hx_frames *frames, uint64_t phys, size_t count)
{
	const struct hx_mem_range *range;
	unsigned long flags;
	uint64_t first = phys >> FRAME_SHIFT, free_now;
	int err = 0;

	if (count == 0 || !HX_IS_ALIGNED(phys, (uint64_t)HX_FRAME_SIZE))
		return -HX_EINVAL;

	flags = hx_spin_lock_irqsave(&frames->lock);
	/* Guards first: every frame must be managed and in use before any bit changes. */
	range = find_range(frames, phys);
	if (!range || (uint64_t)count > (range->base + range->length - phys) >> FRAME_SHIFT) {
		err = -HX_EINVAL;
	} else {
		for (uint64_t frame = first; frame < first + count; frame++) {
			if (!bit_is_set(frames->bitmap, frame)) {
				err = -HX_EINVAL; /* double free */
				break;
			}
		}
	}
	if (!err) {
		clear_bits(frames->bitmap, first, count);
		frames->stats.free_frames += count;
	}
	free_now = frames->stats.free_frames;
	hx_spin_unlock_irqrestore(&frames->lock, flags);
	if (!err)
		notify(frames, free_now);
	return err;
}

void hx_frames_get_stats(struct hx_frames *frames, struct hx_frames_stats *out)
{
	unsigned long flags = hx_spin_lock_irqsave(&frames->lock);

	*out = frames->stats;
	hx_spin_unlock_irqrestore(&frames->lock, flags);
}
