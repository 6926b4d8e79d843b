// SPDX-License-Identifier: MIT
/*
 * hx_alloc/hx_zalloc/hx_free: the portable heap (helix/heap.h) over physically contiguous frames
 * from the portable frame allocator (helix/frames.h), reached through the direct map.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/arch/memory.h>
#include <helix/assert.h>
#include <helix/errors.h>
#include <helix/frames.h>
#include <helix/heap.h>
#include <helix/platform.h>
#include <helix/string.h>

#include "kernel.h"

/* The heap grows by at least this much at a time, so small allocations rarely reach the frames. */
#define HEAP_GROW_MIN (256u * 1024u)

/* One bit per frame below the end of the direct map: 128 KiB for 4 GiB. */
static uint64_t frame_bitmap[HX_DIRECT_MAP_SIZE / HX_FRAME_SIZE / 64];
static struct hx_frames frames;
static struct hx_heap heap;
static bool heap_ready;

HX_STATIC_ASSERT(sizeof(frame_bitmap) == 128 * 1024, "a bitmap for 4 GiB");

int hx_kmem_init_frames(const struct hx_mem_region *map, size_t map_len,
                        const struct hx_mem_range *reserved, size_t reserved_len)
{
	return hx_frames_init(&frames, map, map_len, reserved, reserved_len, frame_bitmap,
	                      sizeof(frame_bitmap));
}

/*
 * Runs with the heap lock held (interrupts off): takes the frame allocator's lock inside it, never
 * the other way round. Asks for HEAP_GROW_MIN, or exactly what is needed when that much is not
 * available contiguously.
 */
static int heap_grow(void *ctx, size_t min_bytes, void **region, size_t *region_len)
{
	struct hx_frames *source = ctx;
	size_t need, want;
	uint64_t phys;

	if (min_bytes > HX_DIRECT_MAP_SIZE)
		return -HX_ENOMEM;
	need = HX_ALIGN_UP(min_bytes, (size_t)HX_FRAME_SIZE);
	want = HX_MAX(need, (size_t)HEAP_GROW_MIN);
	if (hx_frames_alloc_contig(source, want / HX_FRAME_SIZE, 1, &phys) != 0) {
		want = need;
		if (hx_frames_alloc_contig(source, want / HX_FRAME_SIZE, 1, &phys) != 0)
			return -HX_ENOMEM;
	}
	*region = hx_phys_to_virt(phys);
	*region_len = want;
	return 0;
}

void hx_kmem_init_heap(void)
{
	hx_heap_init(&heap, heap_grow, &frames);
	heap_ready = true;
}

struct hx_frames *hx_kmem_frames(void)
{
	return &frames;
}

struct hx_heap *hx_kmem_heap(void)
{
	return &heap;
}

void *hx_alloc(size_t size)
{
	if (!heap_ready)
		return NULL;
	return hx_heap_alloc(&heap, size);
}

void *hx_zalloc(size_t size)
{
	void *ptr = hx_alloc(size);

	if (ptr)
		hx_memset(ptr, 0, size);
	return ptr;
}

void hx_free(void *ptr)
{
	if (!ptr)
		return;
	if (!heap_ready || hx_heap_free(&heap, ptr) != 0)
		hx_panic("hx_free: %p is not a live heap block (double free or foreign pointer)",
		         ptr);
}
