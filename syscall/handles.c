// SPDX-License-Identifier: MIT
/*
 * Handle tables (helix/syscall/handles.h): HX_HANDLES_MAX slots per table, each with the object,
 * the rights and a generation; one spinlock per table; free slots in a FIFO queue.
 *
 * A handle is (generation << HX_HANDLE_SLOT_BITS) | slot. A slot's generation is the one its next
 * handle will carry: it starts at 1 and is bumped when the handle is closed (wrapping from
 * 2^19 - 1 to 1, never 0), so no handle is ever 0 and a closed handle stops matching its slot at
 * once. Free slots are reused oldest first (FIFO): a slot comes back only after every other free
 * slot was used, which spreads generations over the whole table and makes a stale handle meet its
 * own generation again only after about 2^19 reuses of that very slot (when the table is nearly
 * full: the only way round a finite generation).
 *
 * Memory: the slots are allocated with the table (HX_HANDLES_MAX * 16 bytes = 64 KiB), so nothing
 * allocates under the lock and install never fails for lack of memory.
 *
 * Locking: the table lock covers every slot field, the free queue and the count. Objects are
 * never used under it: references are taken under it (an atomic increment; the table's own
 * reference keeps the object alive meanwhile) and dropped after it is released, so an object's
 * destroy never runs with a table lock held.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/assert.h>
#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/spinlock.h>
#include <helix/syscall/handles.h>

#define SLOT_MASK ((1u << HX_HANDLE_SLOT_BITS) - 1)
#define GEN_MAX   ((1u << HX_HANDLE_GEN_BITS) - 1)
#define NO_SLOT   UINT16_MAX

HX_STATIC_ASSERT(HX_HANDLES_MAX == 1u << HX_HANDLE_SLOT_BITS, "the slot bits index every slot");
HX_STATIC_ASSERT(HX_HANDLE_SLOT_BITS + HX_HANDLE_GEN_BITS == 31, "a handle is a 31-bit value");
HX_STATIC_ASSERT(HX_HANDLES_MAX < NO_SLOT, "slot indices fit the free queue's links");
HX_STATIC_ASSERT((HX_RIGHTS_ALL & ~0xffu) == 0, "rights fit a slot's rights byte");

struct slot {
	struct hx_kobject *obj; /* NULL: free */
	uint32_t gen;           /* the generation of the live handle, or of the next one */
	uint8_t rights;         /* HX_RIGHT_* of the live handle */
	uint8_t reserved;
	uint16_t next_free; /* free queue link (NO_SLOT: the last) */
};

HX_STATIC_ASSERT(sizeof(struct slot) == 16, "16 bytes per slot");

struct hx_handle_table {
	struct hx_spinlock lock;
	uint16_t free_head; /* the oldest free slot, NO_SLOT when full */
	uint16_t free_tail; /* the newest free slot */
	uint32_t count;     /* live handles */
	struct slot slots[HX_HANDLES_MAX];
};

/* ---- Objects --------------------------------------------------------------------------------- */

void hx_kobject_init(struct hx_kobject *obj, enum hx_kobject_type type,
                     void (*destroy)(struct hx_kobject *obj))
{
	/* Relaxed: the object is not shared yet; publishing it (a lock, a release) orders this. */
	atomic_store_explicit(&obj->refs, 1, memory_order_relaxed);
	obj->type = (uint16_t)type;
	obj->destroy = destroy;
}

void hx_kobject_get(struct hx_kobject *obj)
{
	/* Relaxed: the caller holds a reference already (its own, or the table's under the table
	 * lock), so the object cannot go meanwhile; nothing else is published by a new reference.
	 */
	uint32_t old = atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);

	HX_ASSERT(old != 0 && old != UINT32_MAX); /* a get on a dead object, or an overflow */
}

void hx_kobject_put(struct hx_kobject *obj)
{
	uint32_t old;

	if (!obj)
		return;
	/* Acq_rel: the release half orders this holder's uses of the object before the destroy;
	 * the acquire half (needed only by the last put, which destroys) pairs with every earlier
	 * holder's release. An acquire fence after the last decrement would do as well, but
	 * ThreadSanitizer does not model fences; on x86 the locked xadd is a full barrier anyway.
	 */
	old = atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel);
	HX_ASSERT(old != 0); /* more puts than references */
	if (old == 1 && obj->destroy)
		obj->destroy(obj);
}

/* ---- Tables ---------------------------------------------------------------------------------- */

/* Append @index to the free queue (lock held, or the table not shared yet). */
static void free_push(struct hx_handle_table *table, uint16_t index)
{
	table->slots[index].next_free = NO_SLOT;
	if (table->free_head == NO_SLOT)
		table->free_head = index;
	else
		table->slots[table->free_tail].next_free = index;
	table->free_tail = index;
}

/* Take the oldest free slot, or NO_SLOT when the table is full (lock held). */
static uint16_t free_pop(struct hx_handle_table *table)
{
	uint16_t index = table->free_head;

	if (index != NO_SLOT) {
		table->free_head = table->slots[index].next_free;
		table->slots[index].next_free = NO_SLOT;
	}
	return index;
}

static int handle_of(uint16_t index, uint32_t gen)
{
	return (int)(gen << HX_HANDLE_SLOT_BITS | index);
}

/*
 * The live slot @handle names, or NULL when it names none: negative, above 31 bits, generation 0,
 * a free slot, or a slot whose generation moved on. Lock held.
 */
static struct slot *lookup(struct hx_handle_table *table, int64_t handle)
{
	uint64_t value = (uint64_t)handle;
	uint64_t index;
	uint32_t gen;
	struct slot *slot;

	if (handle < 0 || value >> (HX_HANDLE_SLOT_BITS + HX_HANDLE_GEN_BITS))
		return NULL;
	index = value & SLOT_MASK;
	gen = (uint32_t)(value >> HX_HANDLE_SLOT_BITS);
	if (gen == 0 || index >= HX_HANDLES_MAX)
		return NULL;
	/* A user-chosen index: clamp it after the check (no speculation past the bound). */
	slot = &table->slots[hx_index_nospec(index, HX_HANDLES_MAX)];
	if (!slot->obj || slot->gen != gen)
		return NULL;
	return slot;
}

/* Put @obj with @rights into a free slot and take a reference (lock held). */
static int install_locked(struct hx_handle_table *table, struct hx_kobject *obj, uint32_t rights)
{
	uint16_t index = free_pop(table);
	struct slot *slot;

	if (index == NO_SLOT)
		return -HX_EMFILE;
	slot = &table->slots[index];
	hx_kobject_get(obj);
	slot->obj = obj;
	slot->rights = (uint8_t)rights;
	table->count++;
	return handle_of(index, slot->gen);
}

static bool rights_valid(uint32_t rights)
{
	return rights && !(rights & ~HX_RIGHTS_ALL);
}

int hx_handles_create(struct hx_handle_table **out)
{
	struct hx_handle_table *table;

	if (!out)
		return -HX_EINVAL;
	table = hx_zalloc(sizeof(*table));
	if (!table)
		return -HX_ENOMEM;
	hx_spin_init(&table->lock);
	table->free_head = NO_SLOT;
	table->free_tail = NO_SLOT;
	for (uint32_t i = 0; i < HX_HANDLES_MAX; i++) {
		table->slots[i].gen = 1;
		free_push(table, (uint16_t)i);
	}
	*out = table;
	return 0;
}

void hx_handles_destroy(struct hx_handle_table *table)
{
	if (!table)
		return;
	for (uint32_t i = 0; i < HX_HANDLES_MAX; i++) {
		struct hx_kobject *obj;

		/* Detach under the lock, drop outside it: a destroy never runs under the lock. */
		hx_spin_lock(&table->lock);
		obj = table->slots[i].obj;
		table->slots[i].obj = NULL;
		hx_spin_unlock(&table->lock);
		hx_kobject_put(obj);
	}
	hx_free(table);
}

int hx_handle_install(struct hx_handle_table *table, struct hx_kobject *obj, uint32_t rights)
{
	int handle;

	if (!table || !obj || !rights_valid(rights))
		return -HX_EINVAL;
	hx_spin_lock(&table->lock);
	handle = install_locked(table, obj, rights);
	hx_spin_unlock(&table->lock);
	return handle;
}

int hx_handle_get(struct hx_handle_table *table, int64_t handle, enum hx_kobject_type type,
                  uint32_t rights, struct hx_kobject **out, uint32_t *rights_out)
{
	struct slot *slot;
	int err = 0;

	if (!out)
		return -HX_EINVAL;
	*out = NULL;
	if (!table)
		return -HX_EBADF;
	hx_spin_lock(&table->lock);
	slot = lookup(table, handle);
	if (!slot || (type != HX_KOBJ_ANY && slot->obj->type != (uint16_t)type)) {
		err = -HX_EBADF;
	} else if ((slot->rights & rights) != rights) {
		err = -HX_EACCES;
	} else {
		hx_kobject_get(slot->obj);
		*out = slot->obj;
		if (rights_out)
			*rights_out = slot->rights;
	}
	hx_spin_unlock(&table->lock);
	return err;
}

int hx_handle_close(struct hx_handle_table *table, int64_t handle)
{
	struct hx_kobject *obj = NULL;
	struct slot *slot;

	if (!table)
		return -HX_EBADF;
	hx_spin_lock(&table->lock);
	slot = lookup(table, handle);
	if (slot) {
		obj = slot->obj;
		slot->obj = NULL;
		slot->rights = 0;
		/* The next handle of this slot differs from every recent one; 0 is skipped. */
		slot->gen = slot->gen == GEN_MAX ? 1 : slot->gen + 1;
		free_push(table, (uint16_t)(slot - table->slots));
		table->count--;
	}
	hx_spin_unlock(&table->lock);
	if (!obj)
		return -HX_EBADF;
	hx_kobject_put(obj); /* may destroy it: outside the lock */
	return 0;
}

int hx_handle_dup(struct hx_handle_table *table, int64_t handle, uint32_t rights)
{
	struct slot *slot;
	int result;

	if (!rights_valid(rights))
		return -HX_EINVAL;
	if (!table)
		return -HX_EBADF;
	hx_spin_lock(&table->lock);
	slot = lookup(table, handle);
	if (!slot)
		result = -HX_EBADF;
	else if (!(slot->rights & HX_RIGHT_TRANSFER) || (rights & ~(uint32_t)slot->rights))
		result = -HX_EACCES;
	else
		result = install_locked(table, slot->obj, rights);
	hx_spin_unlock(&table->lock);
	return result;
}

size_t hx_handles_count(struct hx_handle_table *table)
{
	size_t count;

	if (!table)
		return 0;
	hx_spin_lock(&table->lock);
	count = table->count;
	hx_spin_unlock(&table->lock);
	return count;
}
