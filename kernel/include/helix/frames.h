/* SPDX-License-Identifier: MIT */
/*
 * Physical frame allocator: one bit per 4 KiB frame over [0, limit), plus the sorted list of ranges
 * that are really usable so that a bad free is detected rather than believed.
 *
 * A frame is managed (and starts free) when it lies wholly inside a region of type HX_MEM_USABLE,
 * overlaps no region of any other type (a conflict between map entries is resolved towards
 * "reserved"), overlaps none of the caller's reserved ranges (kernel image, boot modules, boot
 * info), and lies below the bitmap's reach. Usable regions are shrunk inwards to whole frames;
 * reserved ones grow outwards. Entries may come in any order, overlap and be unaligned.
 *
 * Concurrency: every call takes the allocator's irqsave spinlock; any context.
 */
#ifndef HELIX_FRAMES_H
#define HELIX_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/spinlock.h>

HX_BEGIN_DECLS

#define HX_FRAME_SIZE        4096u
#define HX_FRAMES_MAX_RANGES 128

/* Memory map entry types: the multiboot2 numbering. */
enum hx_mem_type {
	HX_MEM_USABLE = 1,
	HX_MEM_RESERVED = 2,
	HX_MEM_ACPI_RECLAIMABLE = 3,
	HX_MEM_ACPI_NVS = 4,
	HX_MEM_BAD = 5,
};

struct hx_mem_region {
	uint64_t base;
	uint64_t length;
	uint32_t type; /* enum hx_mem_type; other values count as reserved */
};

struct hx_mem_range {
	uint64_t base;
	uint64_t length;
};

struct hx_frames_stats {
	uint64_t total_frames; /* managed frames */
	uint64_t free_frames;
	uint64_t ranges;       /* disjoint managed ranges */
	uint64_t beyond_limit; /* usable bytes the bitmap cannot reach, so unmanaged */
};

/* Fields are private to frames.c. */
/* Called after every change of the free count with the new counts (hx_frames_set_watch). */
typedef void (*hx_frames_watch_fn)(void *ctx, uint64_t free_frames, uint64_t total_frames);

struct hx_frames {
	struct hx_spinlock lock;
	hx_frames_watch_fn watch; /* may be NULL */
	void *watch_ctx;
	uint64_t *bitmap; /* bit set = frame in use or unmanaged */
	uint64_t nframes; /* frames the bitmap covers: [0, nframes * HX_FRAME_SIZE) */
	uint64_t next;    /* next-fit search hint (frame number) */
	struct hx_mem_range ranges[HX_FRAMES_MAX_RANGES];
	size_t nranges;
	struct hx_frames_stats stats;
};

/* Bytes of bitmap storage hx_frames_init needs to manage memory below @limit bytes. */
static inline size_t hx_frames_bitmap_bytes(uint64_t limit)
{
	uint64_t frames = (limit + HX_FRAME_SIZE - 1) / HX_FRAME_SIZE;
	return (size_t)((frames + 63) / 64 * 8);
}

/*
 * hx_frames_init - build the allocator from a memory map. @bitmap (@bitmap_bytes, a multiple of 8)
 * is the caller's storage; it reaches bitmap_bytes * 8 frames. Returns 0, -HX_EINVAL for
 * NULL/misaligned arguments or a region whose end overflows 64 bits, -HX_E2BIG when the usable
 * memory splits into more than HX_FRAMES_MAX_RANGES ranges, -HX_ENOMEM when no frame at all is
 * usable.
 */
int hx_frames_init(struct hx_frames *frames, const struct hx_mem_region *map, size_t map_len,
                   const struct hx_mem_range *reserved, size_t reserved_len, uint64_t *bitmap,
                   size_t bitmap_bytes);

/*
 * hx_frames_set_watch - call @fn(@ctx, free, total) after every successful allocation and free,
 * outside the allocator's lock, with the counts as that change left them (the kernel publishes
 * memory pressure from it). @fn runs in the allocating or freeing context, which may have
 * interrupts off: it must not block or allocate frames. NULL @fn: no watch. Set it while nobody
 * allocates (boot).
 */
void hx_frames_set_watch(struct hx_frames *frames, hx_frames_watch_fn fn, void *ctx);

/* Allocate one frame; its physical address into @phys. Returns 0 or -HX_ENOMEM. */
int hx_frames_alloc(struct hx_frames *frames, uint64_t *phys);

/*
 * Allocate @count physically contiguous frames, the first aligned to @align_frames frames (a power
 * of two, 1 for none). Returns 0, -HX_EINVAL (count 0 or bad alignment), -HX_ENOMEM.
 */
int hx_frames_alloc_contig(struct hx_frames *frames, size_t count, size_t align_frames,
                           uint64_t *phys);

/*
 * Free @count frames starting at @phys. Returns 0, or -HX_EINVAL when @phys is not frame-aligned,
 * @count is 0, a frame is not managed, or a frame is already free (double free); on error nothing
 * is freed.
 */
int hx_frames_free(struct hx_frames *frames, uint64_t phys, size_t count);

/* A consistent snapshot of the counters. */
void hx_frames_get_stats(struct hx_frames *frames, struct hx_frames_stats *out);

HX_END_DECLS

#endif /* HELIX_FRAMES_H */
