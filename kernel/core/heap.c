// SPDX-License-Identifier: MIT
/*
 * The general-purpose heap (see helix/heap.h for the contract).
 *
 * A region handed to the heap is laid out as
 *
 *   [struct heap_region][prologue footer][block][block]...[block][epilogue header]
 *
 * Every block is a 16-byte header, a payload (a multiple of 16, at least 16 bytes) and a 16-byte
 * footer; header and footer are both a struct block_tag carrying the block's size, its state and a
 * magic word mixed with the tag's own address (a stale tag copied elsewhere does not look valid).
 * The prologue and epilogue are sentinel tags: coalescing looks at the neighbours' tags and stops
 * at a sentinel, so it never crosses a region edge even when two regions touch.
 *
 * Free blocks hold their free-list links in the first 16 payload bytes; the list is doubly linked
 * and sorted by address. Invariants (checked by hx_heap_check): no two free blocks are neighbours;
 * every free block is on the list exactly once; the counters in heap->stats match the blocks.
 *
 * Debug builds (NDEBUG undefined) fill the payload of a free block after its links with
 * HEAP_POISON. hx_heap_check verifies the fill of every free block and reports a write after free
 * as -HX_EIO; hx_heap_alloc verifies the part it hands out and panics on a mismatch (a broken
 * invariant, not a caller's error code: the memory was already corrupted).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/assert.h>
#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/heap.h>
#include <helix/platform.h>
#include <helix/spinlock.h>
#include <helix/string.h>

#define HEAP_MAGIC  0x48454150u /* "HEAP" */
#define HEAP_POISON 0xdf

#ifdef NDEBUG
#define HEAP_DEBUG 0
#else
#define HEAP_DEBUG 1
#endif

enum block_state {
	BLOCK_FREE = 0x46524545u,     /* "FREE" */
	BLOCK_USED = 0x55534544u,     /* "USED" */
	BLOCK_SENTINEL = 0x53454e54u, /* "SENT" */
};

/* A block's header and its footer alike. */
struct block_tag {
	size_t size; /* the whole block: header, payload and footer */
	uint32_t magic;
	uint32_t state;
};

/* The first payload bytes of a free block. */
struct free_links {
	struct block_tag *next;
	struct block_tag *prev;
};

struct heap_region {
	struct heap_region *next;
	uintptr_t first; /* the first block's header */
	uintptr_t end;   /* the epilogue header */
	size_t len;      /* bytes handed to the heap */
};

#define TAG_SIZE        sizeof(struct block_tag)
#define BLOCK_OVERHEAD  (2 * TAG_SIZE)
#define MIN_PAYLOAD     sizeof(struct free_links)
#define MIN_BLOCK       (BLOCK_OVERHEAD + MIN_PAYLOAD)
#define REGION_OVERHEAD (sizeof(struct heap_region) + 2 * TAG_SIZE)
/* Far above any real request, and low enough that no size computation below can wrap. */
#define MAX_PAYLOAD     (SIZE_MAX / 4)

HX_STATIC_ASSERT(sizeof(struct block_tag) == HX_HEAP_ALIGN, "a tag keeps payloads aligned");
HX_STATIC_ASSERT(sizeof(struct free_links) <= HX_HEAP_ALIGN, "links fit the minimum payload");
HX_STATIC_ASSERT(sizeof(struct heap_region) % HX_HEAP_ALIGN == 0, "region header keeps alignment");
HX_STATIC_ASSERT(HX_HEAP_MIN_REGION >= REGION_OVERHEAD + MIN_BLOCK, "a region holds a block");

static uint32_t tag_magic(const struct block_tag *tag)
{
	uintptr_t addr = (uintptr_t)tag;
	return HEAP_MAGIC ^ (uint32_t)(addr >> 4) ^ (uint32_t)((uint64_t)addr >> 36);
}

static void set_tag(struct block_tag *tag, size_t size, uint32_t state)
{
	tag->size = size;
	tag->magic = tag_magic(tag);
	tag->state = state;
}

static bool tag_valid(const struct block_tag *tag)
{
	return tag->magic == tag_magic(tag);
}

static struct block_tag *footer_of(const struct block_tag *block, size_t size)
{
	return (struct block_tag *)((char *)block + size - TAG_SIZE);
}

static void set_block(struct block_tag *block, size_t size, uint32_t state)
{
	set_tag(block, size, state);
	set_tag(footer_of(block, size), size, state);
}

static void *payload_of(const struct block_tag *block)
{
	return (char *)block + TAG_SIZE;
}

static struct free_links *links_of(const struct block_tag *block)
{
	return (struct free_links *)payload_of(block);
}

static size_t payload_size(const struct block_tag *block)
{
	return block->size - BLOCK_OVERHEAD;
}

/* The poisoned part of a free block: its payload after the links. */
static void *poison_start(const struct block_tag *block)
{
	return (char *)payload_of(block) + MIN_PAYLOAD;
}

static size_t poison_len(size_t block_size)
{
	return block_size - BLOCK_OVERHEAD - MIN_PAYLOAD;
}

static void poison(void *mem, size_t len)
{
	if (HEAP_DEBUG)
		hx_memset(mem, HEAP_POISON, len);
}

static bool poison_intact(const void *mem, size_t len)
{
	const unsigned char *bytes = mem;

	for (size_t i = 0; i < len; i++) {
		if (bytes[i] != HEAP_POISON)
			return false;
	}
	return true;
}

/* ---- The address-ordered free list -------------------------------------------------------- */

static void list_insert_sorted(struct hx_heap *heap, struct block_tag *block)
{
	struct block_tag *prev = NULL, *next = heap->free_list;

	while (next && next < block) {
		prev = next;
		next = links_of(next)->next;
	}
	links_of(block)->prev = prev;
	links_of(block)->next = next;
	if (prev)
		links_of(prev)->next = block;
	else
		heap->free_list = block;
	if (next)
		links_of(next)->prev = block;
}

/* Unlinks the block whose links were @links (they may already be overwritten in place). */
static void list_unlink(struct hx_heap *heap, struct free_links links)
{
	if (links.prev)
		links_of(links.prev)->next = links.next;
	else
		heap->free_list = links.next;
	if (links.next)
		links_of(links.next)->prev = links.prev;
}

/* @block takes the list position described by @links (a neighbour's, which @block absorbs). */
static void list_take_position(struct hx_heap *heap, struct block_tag *block,
                               struct free_links links)
{
	*links_of(block) = links;
	if (links.prev)
		links_of(links.prev)->next = block;
	else
		heap->free_list = block;
	if (links.next)
		links_of(links.next)->prev = block;
}

/* ---- Regions ------------------------------------------------------------------------------ */

static int add_region_locked(struct hx_heap *heap, void *mem, size_t len)
{
	uintptr_t start = (uintptr_t)mem;
	struct heap_region *region = mem;
	struct block_tag *block;
	size_t usable;

	if (!mem || !HX_IS_ALIGNED(start, (uintptr_t)HX_HEAP_ALIGN) || len < HX_HEAP_MIN_REGION ||
	    len > UINTPTR_MAX - start)
		return -HX_EINVAL;
	for (struct heap_region *r = heap->regions; r; r = r->next) {
		uintptr_t r_start = (uintptr_t)r;
		if (start < r_start + r->len && r_start < start + len)
			return -HX_EINVAL; /* overlaps a region the heap already owns */
	}

	usable = HX_ALIGN_DOWN(len, (size_t)HX_HEAP_ALIGN);
	region->len = len;
	region->first = start + sizeof(struct heap_region) + TAG_SIZE;
	region->end = start + usable - TAG_SIZE;
	set_tag((struct block_tag *)(region->first - TAG_SIZE), 0, BLOCK_SENTINEL);
	set_tag((struct block_tag *)region->end, 0, BLOCK_SENTINEL);
	region->next = heap->regions;
	heap->regions = region;

	block = (struct block_tag *)region->first;
	set_block(block, region->end - region->first, BLOCK_FREE);
	poison(poison_start(block), poison_len(block->size));
	list_insert_sorted(heap, block);

	heap->stats.region_bytes += len;
	heap->stats.regions++;
	heap->stats.free_bytes += payload_size(block);
	return 0;
}

/* Asks the grow callback for a region that holds a block of @block_size. Lock held. */
static bool grow_locked(struct hx_heap *heap, size_t block_size)
{
	size_t min_bytes = HX_MAX(block_size + REGION_OVERHEAD, (size_t)HX_HEAP_MIN_REGION);
	void *region = NULL;
	size_t len = 0;

	if (!heap->grow || heap->grow(heap->grow_ctx, min_bytes, &region, &len) != 0)
		return false;
	return add_region_locked(heap, region, len) == 0;
}

/*
 * The live-or-free block whose payload starts at @ptr, or NULL when @ptr is not one: outside every
 * region, misaligned, or pointing at bytes whose tags do not check out (an interior pointer, or a
 * block absorbed by coalescing). Reads only memory inside the heap's regions.
 */
static struct block_tag *lookup_block(struct hx_heap *heap, const void *ptr)
{
	uintptr_t addr = (uintptr_t)ptr;

	if (!HX_IS_ALIGNED(addr, (uintptr_t)HX_HEAP_ALIGN))
		return NULL;
	for (struct heap_region *r = heap->regions; r; r = r->next) {
		struct block_tag *block, *footer;

		if (addr < r->first + TAG_SIZE || addr >= r->end)
			continue;
		block = (struct block_tag *)(addr - TAG_SIZE);
		if (!tag_valid(block) || block->size < MIN_BLOCK ||
		    block->size % HX_HEAP_ALIGN != 0 || block->size > r->end - (uintptr_t)block)
			return NULL;
		footer = footer_of(block, block->size);
		if (!tag_valid(footer) || footer->size != block->size ||
		    footer->state != block->state)
			return NULL;
		return block;
	}
	return NULL;
}

/* ---- Public API ----------------------------------------------------------------------------- */

void hx_heap_init(struct hx_heap *heap, hx_heap_grow_fn grow, void *grow_ctx)
{
	hx_memset(heap, 0, sizeof(*heap));
	hx_spin_init(&heap->lock);
	heap->grow = grow;
	heap->grow_ctx = grow_ctx;
}

int hx_heap_add_region(struct hx_heap *heap, void *mem, size_t len)
{
	unsigned long flags = hx_spin_lock_irqsave(&heap->lock);
	int err = add_region_locked(heap, mem, len);

	hx_spin_unlock_irqrestore(&heap->lock, flags);
	return err;
}

static struct block_tag *first_fit(struct hx_heap *heap, size_t block_size)
{
	for (struct block_tag *block = heap->free_list; block; block = links_of(block)->next) {
		if (block->size >= block_size)
			return block;
	}
	return NULL;
}

/* Takes @block_size bytes from the front of the free @block, splitting off a free remainder. */
static void take_block(struct hx_heap *heap, struct block_tag *block, size_t block_size)
{
	struct free_links links = *links_of(block);
	size_t remainder = block->size - block_size;
	size_t old_payload = payload_size(block);

	if (remainder < MIN_BLOCK)
		block_size = block->size; /* too small to stand alone: the caller gets it too */
	if (HEAP_DEBUG && !poison_intact(poison_start(block), poison_len(block_size)))
		hx_panic("heap: block %p was written after it was freed", payload_of(block));

	heap->stats.free_bytes -= old_payload;
	if (block_size < block->size) {
		struct block_tag *rest = (struct block_tag *)((char *)block + block_size);

		/* The remainder sits where the block was on the list: the order is unchanged. */
		set_block(rest, remainder, BLOCK_FREE);
		list_take_position(heap, rest, links);
		heap->stats.free_bytes += payload_size(rest);
	} else {
		list_unlink(heap, links);
	}
	set_block(block, block_size, BLOCK_USED);
}

void *hx_heap_alloc(struct hx_heap *heap, size_t size)
{
	unsigned long flags;
	struct block_tag *block = NULL;
	size_t block_size;

	if (size == 0)
		return NULL;

	flags = hx_spin_lock_irqsave(&heap->lock);
	if (size <= MAX_PAYLOAD) {
		block_size =
		    HX_ALIGN_UP(HX_MAX(size, MIN_PAYLOAD), (size_t)HX_HEAP_ALIGN) + BLOCK_OVERHEAD;
		block = first_fit(heap, block_size);
		if (!block && grow_locked(heap, block_size))
			block = first_fit(heap, block_size);
	}
	if (!block) {
		heap->stats.failed_allocations++;
		hx_spin_unlock_irqrestore(&heap->lock, flags);
		return NULL;
	}
	take_block(heap, block, block_size);
	heap->stats.used_bytes += payload_size(block);
	heap->stats.live_allocations++;
	heap->stats.peak_used_bytes = HX_MAX(heap->stats.peak_used_bytes, heap->stats.used_bytes);
	hx_spin_unlock_irqrestore(&heap->lock, flags);
	return payload_of(block);
}

int hx_heap_free(struct hx_heap *heap, void *ptr)
{
	unsigned long flags;
	struct block_tag *block, *next, *prev_footer, *prev = NULL;
	struct free_links next_links = { NULL, NULL };
	bool next_free, prev_free;
	size_t size, next_size = 0, prev_size = 0;

	if (!ptr)
		return 0;

	flags = hx_spin_lock_irqsave(&heap->lock);
	block = lookup_block(heap, ptr);
	if (!block || block->state != BLOCK_USED) {
		heap->stats.bad_frees++;
		hx_spin_unlock_irqrestore(&heap->lock, flags);
		return -HX_EINVAL;
	}

	/* Neighbours: a block or a sentinel on either side, never memory outside the region. */
	size = block->size;
	next = (struct block_tag *)((char *)block + size);
	prev_footer = (struct block_tag *)((char *)block - TAG_SIZE);
	HX_ASSERT(tag_valid(next) && tag_valid(prev_footer));
	next_free = next->state == BLOCK_FREE;
	prev_free = prev_footer->state == BLOCK_FREE;
	if (next_free) {
		next_links = *links_of(next);
		next_size = next->size;
	}
	if (prev_free) {
		prev_size = prev_footer->size;
		prev = (struct block_tag *)((char *)block - prev_size);
		HX_ASSERT(tag_valid(prev) && prev->size == prev_size);
	}

	heap->stats.used_bytes -= payload_size(block);
	heap->stats.live_allocations--;

	/*
	 * The tags between merged blocks become payload: overwrite them so that a stale pointer to
	 * an absorbed block no longer passes lookup_block, with or without debug poisoning. Sizes
	 * and links of the neighbours were read above, before their tags go.
	 */
	poison(payload_of(block), payload_size(block));
	if (next_free) {
		heap->stats.free_bytes -= next_size - BLOCK_OVERHEAD;
		hx_memset(footer_of(block, size), HEAP_POISON, TAG_SIZE + TAG_SIZE + MIN_PAYLOAD);
		size += next_size;
	}
	if (prev_free) {
		heap->stats.free_bytes -= prev_size - BLOCK_OVERHEAD;
		hx_memset(prev_footer, HEAP_POISON, TAG_SIZE + TAG_SIZE);
		size += prev_size;
		block = prev;
	}

	if (prev_free && next_free)
		list_unlink(heap, next_links); /* prev stays on the list; next went inside it */
	else if (next_free)
		list_take_position(heap, block, next_links);
	else if (!prev_free)
		list_insert_sorted(heap, block);
	set_block(block, size, BLOCK_FREE);
	heap->stats.free_bytes += payload_size(block);
	hx_spin_unlock_irqrestore(&heap->lock, flags);
	return 0;
}

size_t hx_heap_usable_size(struct hx_heap *heap, const void *ptr)
{
	unsigned long flags = hx_spin_lock_irqsave(&heap->lock);
	struct block_tag *block = lookup_block(heap, ptr);
	size_t usable = block && block->state == BLOCK_USED ? payload_size(block) : 0;

	hx_spin_unlock_irqrestore(&heap->lock, flags);
	return usable;
}

/* What a walk over the blocks counted, to compare with the free list and the stats. */
struct heap_census {
	size_t free_blocks, free_bytes, used_bytes, live, regions, region_bytes;
};

static int check_region(const struct heap_region *region, struct heap_census *census)
{
	const struct block_tag *prologue = (const struct block_tag *)(region->first - TAG_SIZE);
	const struct block_tag *epilogue = (const struct block_tag *)region->end;
	uintptr_t addr = region->first;
	bool prev_free = false;

	if (region->first != (uintptr_t)region + sizeof(*region) + TAG_SIZE ||
	    region->end < region->first || region->end > (uintptr_t)region + region->len ||
	    !tag_valid(prologue) || prologue->state != BLOCK_SENTINEL || !tag_valid(epilogue) ||
	    epilogue->state != BLOCK_SENTINEL)
		return -HX_EIO;

	while (addr != region->end) {
		const struct block_tag *block = (const struct block_tag *)addr, *footer;

		if (!tag_valid(block) || block->size < MIN_BLOCK ||
		    block->size % HX_HEAP_ALIGN != 0 || block->size > region->end - addr)
			return -HX_EIO;
		footer = footer_of(block, block->size);
		if (!tag_valid(footer) || footer->size != block->size ||
		    footer->state != block->state)
			return -HX_EIO;
		if (block->state == BLOCK_FREE) {
			if (prev_free)
				return -HX_EIO; /* coalescing missed a pair */
			if (HEAP_DEBUG &&
			    !poison_intact(poison_start(block), poison_len(block->size)))
				return -HX_EIO; /* written after free */
			census->free_blocks++;
			census->free_bytes += payload_size(block);
		} else if (block->state == BLOCK_USED) {
			census->used_bytes += payload_size(block);
			census->live++;
		} else {
			return -HX_EIO;
		}
		prev_free = block->state == BLOCK_FREE;
		addr += block->size;
	}
	census->regions++;
	census->region_bytes += region->len;
	return 0;
}

static bool in_some_region(const struct hx_heap *heap, const struct block_tag *block)
{
	uintptr_t addr = (uintptr_t)block;

	for (const struct heap_region *r = heap->regions; r; r = r->next) {
		if (addr >= r->first && addr < r->end)
			return true;
	}
	return false;
}

static int check_free_list(const struct hx_heap *heap, const struct heap_census *census)
{
	const struct block_tag *prev = NULL;
	size_t count = 0;

	for (const struct block_tag *block = heap->free_list; block;
	     block = links_of(block)->next) {
		/* Bounded by the walk's count, so a cycle ends the check instead of hanging it. */
		if (++count > census->free_blocks || !in_some_region(heap, block) ||
		    !tag_valid(block) || block->state != BLOCK_FREE || (prev && block <= prev) ||
		    links_of(block)->prev != prev)
			return -HX_EIO;
		prev = block;
	}
	return count == census->free_blocks ? 0 : -HX_EIO;
}

int hx_heap_check(struct hx_heap *heap)
{
	unsigned long flags = hx_spin_lock_irqsave(&heap->lock);
	struct heap_census census = { 0 };
	const struct hx_heap_stats *stats = &heap->stats;
	int err = 0;

	for (const struct heap_region *r = heap->regions; r && !err; r = r->next) {
		if (census.regions >= stats->regions)
			err = -HX_EIO; /* more regions than added, or a cycle */
		else
			err = check_region(r, &census);
	}
	if (!err)
		err = check_free_list(heap, &census);
	if (!err &&
	    (census.regions != stats->regions || census.region_bytes != stats->region_bytes ||
	     census.free_bytes != stats->free_bytes || census.used_bytes != stats->used_bytes ||
	     census.live != stats->live_allocations || stats->peak_used_bytes < stats->used_bytes))
		err = -HX_EIO;
	hx_spin_unlock_irqrestore(&heap->lock, flags);
	return err;
}

void hx_heap_get_stats(struct hx_heap *heap, struct hx_heap_stats *out)
{
	unsigned long flags = hx_spin_lock_irqsave(&heap->lock);

	*out = heap->stats;
	hx_spin_unlock_irqrestore(&heap->lock, flags);
}
