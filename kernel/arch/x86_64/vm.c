// SPDX-License-Identifier: MIT
/*
 * Per-process address spaces (helix/arch/vm.h): four-level page tables whose kernel half is shared
 * with the kernel's PML4 and whose user half is built here, 4 KiB pages only. Every table is
 * reached through the direct map (frames come from below 4 GiB), never through the vm itself, so a
 * vm can be filled and inspected without being active.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/arch/cpu.h>
#include <helix/arch/memory.h>
#include <helix/arch/vm.h>
#include <helix/assert.h>
#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/frames.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/spinlock.h>
#include <helix/string.h>

#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_USER     (1ull << 2)
#define PTE_HUGE     (1ull << 7)
#define PTE_NX       (1ull << 63)
#define PTE_ADDRESS  0x000ffffffffff000ull

/* Entries above the leaf: the leaf alone decides writable and executable. */
#define PTE_USER_TABLE (PTE_PRESENT | PTE_WRITABLE | PTE_USER)

#define ENTRIES          512
#define KERNEL_HALF      256 /* PML4 entries 256..511 map the kernel */
#define LEVELS           4
#define EFER_NXE         (1ull << 11)
#define PAGE             ((uint64_t)HX_VM_PAGE_SIZE)
#define KNOWN_FLAGS      (HX_VM_WRITE | HX_VM_EXEC)
#define LEVEL_SHIFT(lvl) (12 + 9 * ((lvl)-1)) /* level 4: PML4 ... level 1: page table */

HX_STATIC_ASSERT(HX_VM_PAGE_SIZE == HX_FRAME_SIZE, "a user page is one frame");
HX_STATIC_ASSERT(HX_USER_BASE % HX_VM_PAGE_SIZE == 0 && HX_USER_LIMIT % HX_VM_PAGE_SIZE == 0,
                 "the user range is page aligned");
HX_STATIC_ASSERT(HX_USER_BASE > 0 && HX_USER_LIMIT <= (1ull << 47),
                 "the user range is inside the canonical lower half, without page 0");

struct hx_vm {
	struct hx_spinlock lock; /* the user half of the tables and the counters */
	uint64_t pml4;           /* physical */
	struct hx_vm_stats stats;
};

static struct hx_frames *frame_source;
static uint64_t kernel_pml4;
static uint64_t nx_bit; /* PTE_NX when EFER.NXE is on (boot.S sets it when the CPU has NX) */

/* The vm in CR3 on this (the only) CPU; NULL: kernel_pml4. Changed with interrupts off. */
static struct hx_vm *current_vm;

void hx_vm_init(struct hx_frames *frames)
{
	HX_ASSERT(frames != NULL && frame_source == NULL);
	frame_source = frames;
	kernel_pml4 = hx_read_cr3() & PTE_ADDRESS;
	nx_bit = (hx_rdmsr(HX_MSR_EFER) & EFER_NXE) ? PTE_NX : 0;
	if (nx_bit == 0)
		hx_warn("vm: the CPU has no NX: user pages without HX_VM_EXEC are executable");
}

static uint64_t *table_at(uint64_t phys)
{
	return hx_phys_to_virt(phys & PTE_ADDRESS);
}

static unsigned table_index(uint64_t va, int level)
{
	return (unsigned)(va >> LEVEL_SHIFT(level)) & (ENTRIES - 1);
}

/*
 * The frame cache: frames a vm gave back wait here (up to HX_VM_CACHE_MAX) for the next vm, so a
 * process's exit and the next spawn trade frames without the allocator's bitmap search. The kernel
 * drains it when memory runs short (hx_vm_cache_drain, from the memory-pressure subscriber).
 * Cached frames are in use as far as the frame allocator is concerned.
 */
static struct {
	struct hx_spinlock lock;
	uint64_t frames[HX_VM_CACHE_MAX];
	struct hx_vm_cache_stats stats;
} cache = { .lock = HX_SPINLOCK_INIT };

static int alloc_zeroed_frame(uint64_t *phys)
{
	unsigned long flags = hx_spin_lock_irqsave(&cache.lock);

	if (cache.stats.cached > 0) {
		*phys = cache.frames[--cache.stats.cached];
		cache.stats.hits++;
		hx_spin_unlock_irqrestore(&cache.lock, flags);
	} else {
		cache.stats.misses++;
		hx_spin_unlock_irqrestore(&cache.lock, flags);
		if (hx_frames_alloc(frame_source, phys) != 0)
			return -HX_ENOMEM;
	}
	hx_memset(hx_phys_to_virt(*phys), 0, PAGE);
	return 0;
}

static void release_frame(uint64_t phys)
{
	int err = hx_frames_free(frame_source, phys, 1);

	if (err != 0)
		hx_panic("vm: freeing frame 0x%llx: %s (mapped twice, or never allocated?)",
		         (unsigned long long)phys, hx_error_name(err));
}

/* A frame the vm owned goes back, to the cache while it has room. Freeing one twice is a broken
 * invariant (mapped twice, or foreign): caught here for cached frames, by the allocator for the
 * others. */
static void free_frame(uint64_t phys)
{
	unsigned long flags = hx_spin_lock_irqsave(&cache.lock);

	for (size_t i = 0; i < cache.stats.cached; i++) {
		if (cache.frames[i] == phys)
			hx_panic("vm: frame 0x%llx freed twice", (unsigned long long)phys);
	}
	if (cache.stats.cached < HX_VM_CACHE_MAX) {
		cache.frames[cache.stats.cached++] = phys;
		hx_spin_unlock_irqrestore(&cache.lock, flags);
		return;
	}
	hx_spin_unlock_irqrestore(&cache.lock, flags);
	release_frame(phys);
}

size_t hx_vm_cache_drain(void)
{
	size_t drained = 0;

	for (;;) {
		unsigned long flags = hx_spin_lock_irqsave(&cache.lock);
		uint64_t phys;

		if (cache.stats.cached == 0) {
			cache.stats.drained += drained;
			hx_spin_unlock_irqrestore(&cache.lock, flags);
			return drained;
		}
		phys = cache.frames[--cache.stats.cached];
		hx_spin_unlock_irqrestore(&cache.lock, flags);
		release_frame(phys);
		drained++;
	}
}

void hx_vm_cache_get_stats(struct hx_vm_cache_stats *out)
{
	unsigned long flags = hx_spin_lock_irqsave(&cache.lock);

	*out = cache.stats;
	hx_spin_unlock_irqrestore(&cache.lock, flags);
}

static bool user_page_ok(uint64_t va)
{
	return HX_IS_ALIGNED(va, PAGE) && va >= HX_USER_BASE && va < HX_USER_LIMIT;
}

/* [va, va + len) page aligned, inside the user range, not wrapping. len 0 allowed. */
static bool user_range_ok(uint64_t va, size_t len)
{
	return HX_IS_ALIGNED(va, PAGE) && HX_IS_ALIGNED((uint64_t)len, PAGE) &&
	       va >= HX_USER_BASE && va <= HX_USER_LIMIT && len <= HX_USER_LIMIT - va;
}

/*
 * The page-table entry for @va, or NULL when a table on the way is missing and @create is false
 * (or no frame is left for one: *@err = -HX_ENOMEM). Lock held.
 */
static uint64_t *walk(struct hx_vm *vm, uint64_t va, bool create, int *err)
{
	uint64_t *table = table_at(vm->pml4);

	for (int level = LEVELS; level > 1; level--) {
		uint64_t *entry = &table[table_index(va, level)];

		if (!(*entry & PTE_PRESENT)) {
			uint64_t phys;

			if (!create)
				return NULL;
			if (alloc_zeroed_frame(&phys) != 0) {
				*err = -HX_ENOMEM;
				return NULL;
			}
			*entry = phys | PTE_USER_TABLE;
			vm->stats.table_frames++;
		}
		/* The user half never holds huge pages: only this file writes it. */
		HX_ASSERT(!(*entry & PTE_HUGE));
		table = table_at(*entry);
	}
	return &table[table_index(va, 1)];
}

/* The present leaf entry for @va, or NULL. Lock held. */
static uint64_t *lookup(struct hx_vm *vm, uint64_t va)
{
	uint64_t *pte = walk(vm, va, false, NULL);

	return (pte && (*pte & PTE_PRESENT)) ? pte : NULL;
}

/*
 * The leaf of the first mapped page in [*@va, @end), with *@va moved to that page; NULL when there
 * is none. A missing table is skipped whole, so a sparse range costs what is mapped in it, not its
 * length. *@va page aligned. Lock held.
 */
static uint64_t *next_mapped(struct hx_vm *vm, uint64_t *va, uint64_t end)
{
	while (*va < end) {
		uint64_t *table = table_at(vm->pml4);
		uint64_t span;
		int level = LEVELS;

		for (;;) {
			uint64_t *entry = &table[table_index(*va, level)];

			if (!(*entry & PTE_PRESENT))
				break;
			if (level == 1)
				return entry;
			table = table_at(*entry);
			level--;
		}
		span = 1ull << LEVEL_SHIFT(level);
		*va = HX_ALIGN_DOWN(*va, span) + span;
	}
	return NULL;
}

static uint64_t leaf_entry(uint64_t phys, unsigned flags)
{
	uint64_t pte = phys | PTE_PRESENT | PTE_USER;

	if (flags & HX_VM_WRITE)
		pte |= PTE_WRITABLE;
	if (!(flags & HX_VM_EXEC))
		pte |= nx_bit;
	return pte;
}

/* Clear the leaf of a mapped page; this CPU stops using it when the vm is active. Lock held. */
static uint64_t unmap_page(struct hx_vm *vm, uint64_t *pte, uint64_t va)
{
	uint64_t phys = *pte & PTE_ADDRESS;

	*pte = 0;
	vm->stats.pages--;
	/* Only current_vm's translations can be in this CPU's TLB: CR3 loads flush the others. */
	if (current_vm == vm)
		__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	return phys;
}

int hx_vm_create(struct hx_vm **out)
{
	struct hx_vm *vm;
	uint64_t *pml4;
	const uint64_t *kernel;

	HX_ASSERT(frame_source != NULL);
	vm = hx_zalloc(sizeof(*vm));
	if (!vm)
		return -HX_ENOMEM;
	if (alloc_zeroed_frame(&vm->pml4) != 0) {
		hx_free(vm);
		return -HX_ENOMEM;
	}
	hx_spin_init(&vm->lock);
	vm->stats.table_frames = 1;
	/* The kernel half's PML4 entries are fixed after boot; what lies below them is shared. */
	pml4 = table_at(vm->pml4);
	kernel = table_at(kernel_pml4);
	for (int i = KERNEL_HALF; i < ENTRIES; i++)
		pml4[i] = kernel[i];
	*out = vm;
	return 0;
}

/* Free the tables below @entry at @level (and the frames they map), then the table itself. */
static void free_table(struct hx_vm *vm, uint64_t entry, int level)
{
	uint64_t *table = table_at(entry);

	for (int i = 0; i < ENTRIES; i++) {
		if (!(table[i] & PTE_PRESENT))
			continue;
		if (level == 1) {
			free_frame(table[i] & PTE_ADDRESS);
			vm->stats.pages--;
		} else {
			HX_ASSERT(!(table[i] & PTE_HUGE));
			free_table(vm, table[i], level - 1);
		}
	}
	free_frame(entry & PTE_ADDRESS);
	vm->stats.table_frames--;
}

void hx_vm_destroy(struct hx_vm *vm)
{
	uint64_t *pml4;

	if (!vm)
		return;
	if (current_vm == vm)
		hx_panic("vm: destroying the active address space (hx_vm_activate another first)");
	pml4 = table_at(vm->pml4);
	for (int i = 0; i < KERNEL_HALF; i++) {
		if (pml4[i] & PTE_PRESENT)
			free_table(vm, pml4[i], LEVELS - 1);
	}
	free_frame(vm->pml4);
	vm->stats.table_frames--;
	HX_ASSERT(vm->stats.pages == 0 && vm->stats.table_frames == 0);
	hx_free(vm);
}

int hx_vm_map(struct hx_vm *vm, uint64_t va, uint64_t phys, unsigned flags)
{
	unsigned long irq;
	uint64_t *pte;
	int err = 0;

	if (!vm || !user_page_ok(va) || !HX_IS_ALIGNED(phys, PAGE) || phys >= HX_DIRECT_MAP_SIZE ||
	    (flags & ~KNOWN_FLAGS) != 0)
		return -HX_EINVAL;
	irq = hx_spin_lock_irqsave(&vm->lock);
	pte = walk(vm, va, true, &err);
	if (pte && (*pte & PTE_PRESENT)) {
		err = -HX_EEXIST;
	} else if (pte) {
		*pte = leaf_entry(phys, flags);
		vm->stats.pages++;
	}
	hx_spin_unlock_irqrestore(&vm->lock, irq);
	return err;
}

int hx_vm_alloc(struct hx_vm *vm, uint64_t va, size_t len, unsigned flags)
{
	unsigned long irq;
	uint64_t done = 0, probe;
	int err = 0;

	if (!vm || len == 0 || !user_range_ok(va, len) || (flags & ~KNOWN_FLAGS) != 0)
		return -HX_EINVAL;
	irq = hx_spin_lock_irqsave(&vm->lock);
	/* Guards first: the whole range must be free before anything is mapped. */
	probe = va;
	if (next_mapped(vm, &probe, va + len)) {
		err = -HX_EEXIST;
		goto out;
	}
	for (; done < len; done += PAGE) {
		uint64_t *pte = walk(vm, va + done, true, &err);
		uint64_t phys;

		if (!pte)
			break;
		if ((err = alloc_zeroed_frame(&phys)) != 0)
			break;
		*pte = leaf_entry(phys, flags);
		vm->stats.pages++;
	}
	if (err != 0) {
		/* All or nothing: give back the pages mapped before the failure. */
		while (done > 0) {
			done -= PAGE;
			free_frame(unmap_page(vm, lookup(vm, va + done), va + done));
		}
	}
out:
	hx_spin_unlock_irqrestore(&vm->lock, irq);
	return err;
}

int hx_vm_unmap(struct hx_vm *vm, uint64_t va, size_t len)
{
	uint64_t end = va + len;
	unsigned long irq;

	if (!vm || !user_range_ok(va, len))
		return -HX_EINVAL;
	irq = hx_spin_lock_irqsave(&vm->lock);
	for (uint64_t *pte; (pte = next_mapped(vm, &va, end)) != NULL; va += PAGE)
		free_frame(unmap_page(vm, pte, va));
	hx_spin_unlock_irqrestore(&vm->lock, irq);
	return 0;
}

int hx_vm_query(struct hx_vm *vm, uint64_t va, uint64_t *phys, unsigned *flags)
{
	unsigned long irq;
	uint64_t *pte;
	uint64_t entry = 0;

	if (!vm || va < HX_USER_BASE || va >= HX_USER_LIMIT)
		return -HX_EFAULT;
	irq = hx_spin_lock_irqsave(&vm->lock);
	pte = lookup(vm, HX_ALIGN_DOWN(va, PAGE));
	if (pte)
		entry = *pte;
	hx_spin_unlock_irqrestore(&vm->lock, irq);
	if (!pte)
		return -HX_EFAULT;
	if (phys)
		*phys = (entry & PTE_ADDRESS) + (va & (PAGE - 1));
	if (flags)
		*flags = ((entry & PTE_WRITABLE) ? HX_VM_WRITE : 0) |
		         ((entry & PTE_NX) ? 0 : HX_VM_EXEC);
	return 0;
}

/* [addr, addr + len) inside [HX_USER_BASE, HX_USER_LIMIT], without wrapping. */
static bool user_bytes_ok(uint64_t addr, size_t len)
{
	return addr >= HX_USER_BASE && addr <= HX_USER_LIMIT && len <= HX_USER_LIMIT - addr;
}

/* Every page of a non-empty range mapped (and writable when @write). Lock held. */
static bool pages_present(struct hx_vm *vm, uint64_t addr, size_t len, bool write)
{
	for (uint64_t page = HX_ALIGN_DOWN(addr, PAGE); page < addr + len; page += PAGE) {
		const uint64_t *pte = lookup(vm, page);

		if (!pte || (write && !(*pte & PTE_WRITABLE)))
			return false;
	}
	return true;
}

int hx_vm_check(struct hx_vm *vm, uint64_t addr, size_t len, bool write)
{
	unsigned long irq;
	bool ok;

	if (!vm || !user_bytes_ok(addr, len))
		return -HX_EFAULT;
	if (len == 0)
		return 0;
	irq = hx_spin_lock_irqsave(&vm->lock);
	ok = pages_present(vm, addr, len, write);
	hx_spin_unlock_irqrestore(&vm->lock, irq);
	return ok ? 0 : -HX_EFAULT;
}

/*
 * Copy between @kernel and user [va, va + len) through the direct map. All pages are checked
 * first, then each page is copied under the lock, so interrupts stay off for one page at a time
 * (an ELF image may be megabytes) and a page cannot be freed under the copy.
 */
static int copy_pages(struct hx_vm *vm, uint64_t va, void *kernel, size_t len, bool to_user)
{
	unsigned long irq;
	bool ok;

	if (!vm || !user_bytes_ok(va, len))
		return -HX_EFAULT;
	if (len == 0)
		return 0;
	irq = hx_spin_lock_irqsave(&vm->lock);
	ok = pages_present(vm, va, len, false);
	hx_spin_unlock_irqrestore(&vm->lock, irq);
	if (!ok)
		return -HX_EFAULT;

	while (len > 0) {
		size_t chunk = (size_t)HX_MIN((uint64_t)len, PAGE - (va & (PAGE - 1)));
		const uint64_t *pte;
		uint8_t *user;

		irq = hx_spin_lock_irqsave(&vm->lock);
		pte = lookup(vm, HX_ALIGN_DOWN(va, PAGE));
		if (!pte) {
			hx_spin_unlock_irqrestore(&vm->lock, irq);
			return -HX_EFAULT; /* unmapped by another task since the check */
		}
		user = (uint8_t *)hx_phys_to_virt(*pte & PTE_ADDRESS) + (va & (PAGE - 1));
		if (to_user)
			hx_memcpy(user, kernel, chunk);
		else
			hx_memcpy(kernel, user, chunk);
		hx_spin_unlock_irqrestore(&vm->lock, irq);
		va += chunk;
		kernel = (uint8_t *)kernel + chunk;
		len -= chunk;
	}
	return 0;
}

int hx_vm_write(struct hx_vm *vm, uint64_t va, const void *src, size_t len)
{
	/* copy_pages only reads @src when copying to the user side. */
	return copy_pages(vm, va, (void *)(uintptr_t)src, len, true);
}

int hx_vm_read(struct hx_vm *vm, void *dst, uint64_t va, size_t len)
{
	return copy_pages(vm, va, dst, len, false);
}

void hx_vm_activate(struct hx_vm *vm)
{
	uint64_t pml4 = vm ? vm->pml4 : kernel_pml4;
	unsigned long irq;

	HX_ASSERT(frame_source != NULL);
	/* An interrupt between the two stores would see a current_vm that CR3 does not match. */
	irq = hx_irq_save();
	current_vm = vm;
	if ((hx_read_cr3() & PTE_ADDRESS) != pml4)
		hx_write_cr3(pml4);
	hx_irq_restore(irq);
}

struct hx_vm *hx_vm_current(void)
{
	return current_vm;
}

void hx_vm_get_stats(struct hx_vm *vm, struct hx_vm_stats *out)
{
	unsigned long irq = hx_spin_lock_irqsave(&vm->lock);

	*out = vm->stats;
	hx_spin_unlock_irqrestore(&vm->lock, irq);
}
