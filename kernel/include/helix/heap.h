/* SPDX-License-Identifier: MIT */
/*
 * A general-purpose heap over memory regions handed to it: boundary-tagged blocks on an
 * address-ordered explicit free list, first fit, immediate coalescing, 16-byte alignment. When no
 * block fits, the heap asks its grow callback for another region (the kernel's callback takes
 * contiguous frames); when that fails too, allocation returns NULL: running out of memory is an
 * error, never a crash.
 *
 * Every block header carries a magic word and a state, so hx_heap_free recognises a double free or
 * a pointer it never returned and refuses it. Debug builds (NDEBUG undefined) also fill freed
 * payloads with 0xdf and check the fill when a block is handed out again, catching writes after
 * free: hx_heap_alloc panics on a spoiled fill, hx_heap_check reports it as -HX_EIO.
 *
 * Concurrency: every call takes the heap's irqsave spinlock. The grow callback runs with it held.
 */
#ifndef HELIX_HEAP_H
#define HELIX_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/spinlock.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_HEAP_ALIGN      16u
#define HX_HEAP_MIN_REGION 256u

/*
 * Asked for a region of at least @min_bytes. Returns 0 and sets *@region and *@region_len, or a
 * negative HX_E* code when no more memory is available.
 */
typedef int (*hx_heap_grow_fn)(void *ctx, size_t min_bytes, void **region, size_t *region_len);

struct hx_heap_stats {
	size_t region_bytes; /* all memory handed to the heap */
	size_t used_bytes;   /* payload bytes of live allocations (as rounded up) */
	size_t free_bytes;   /* payload bytes available in free blocks */
	size_t peak_used_bytes;
	size_t live_allocations;
	size_t regions;
	size_t failed_allocations;
	size_t bad_frees; /* double frees and foreign pointers refused */
};

/* Fields are private to heap.c. */
struct hx_heap {
	struct hx_spinlock lock;
	void *free_list;
	void *regions;
	hx_heap_grow_fn grow;
	void *grow_ctx;
	struct hx_heap_stats stats;
};

/* Initialise an empty heap; @grow may be NULL (the heap then has only the regions added to it). */
void hx_heap_init(struct hx_heap *heap, hx_heap_grow_fn grow, void *grow_ctx);

/*
 * Hand @len bytes at @mem to the heap. Returns 0, or -HX_EINVAL when @mem is NULL or not 16-byte
 * aligned, @len is below HX_HEAP_MIN_REGION, or the region overlaps one the heap already has.
 * A region from the grow callback must pass the same checks, else the allocation fails.
 */
int hx_heap_add_region(struct hx_heap *heap, void *mem, size_t len);

/* Allocate @size bytes (16-aligned). Returns NULL when @size is 0, absurdly large, or memory ran
 * out. */
void *hx_heap_alloc(struct hx_heap *heap, size_t size);

/*
 * Free @ptr (NULL is ignored and returns 0). Returns 0, or -HX_EINVAL when @ptr is not a live block
 * of this heap (double free, foreign or interior pointer); the heap is left unchanged then.
 */
int hx_heap_free(struct hx_heap *heap, void *ptr);

/* Payload bytes usable at @ptr (>= the size asked for), or 0 when @ptr is not a live block. */
size_t hx_heap_usable_size(struct hx_heap *heap, const void *ptr);

/*
 * Walk every block and check the invariants (tags agree, magic intact, no two free neighbours, the
 * free list sorted and complete, counters match). Returns 0 or -HX_EIO on the first inconsistency.
 */
int hx_heap_check(struct hx_heap *heap);

void hx_heap_get_stats(struct hx_heap *heap, struct hx_heap_stats *out);

HX_END_DECLS

#endif /* HELIX_HEAP_H */
