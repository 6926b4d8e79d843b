/* SPDX-License-Identifier: MIT */
/*
 * Handles: how a user program names a kernel object. A handle is a 31-bit value (always >= 0 as
 * an int) holding a slot index and the slot's generation: closing a handle bumps the generation,
 * so a stale or forged handle never reaches another object, it gets -HX_EBADF. Each handle carries
 * rights (read, write, transfer) checked on every use: missing rights give -HX_EACCES.
 *
 *   bits 0..11   slot index (HX_HANDLES_MAX slots per table)
 *   bits 12..30  generation (1 .. 2^19 - 1, wrapping past 0: a fresh slot never yields handle 0)
 *
 * Objects are reference counted (struct hx_kobject): a lookup takes a reference that the user of
 * the object drops, so closing a handle while another task uses the object never frees it under
 * that task.
 *
 * Concurrency: a table may be used by any number of tasks at once (one lock per table, held for
 * a few loads and stores, never while an object is used).
 */
#ifndef HELIX_SYSCALL_HANDLES_H
#define HELIX_SYSCALL_HANDLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_HANDLES_MAX      4096u
#define HX_HANDLE_SLOT_BITS 12u
#define HX_HANDLE_GEN_BITS  19u

/* Rights: HX_RIGHT_READ, HX_RIGHT_WRITE, HX_RIGHT_TRANSFER (helix/abi.h). */

enum hx_kobject_type {
	HX_KOBJ_ANY = 0, /* in lookups: any type */
	HX_KOBJ_CHANNEL = 1,
};

struct hx_kobject {
	HX_ATOMIC(uint32_t) refs;
	uint16_t type;                           /* enum hx_kobject_type */
	void (*destroy)(struct hx_kobject *obj); /* called when the last reference goes */
};

/* hx_kobject_init - one reference (the creator's). */
void hx_kobject_init(struct hx_kobject *obj, enum hx_kobject_type type,
                     void (*destroy)(struct hx_kobject *obj));
void hx_kobject_get(struct hx_kobject *obj);
void hx_kobject_put(struct hx_kobject *obj); /* NULL is ignored */

struct hx_handle_table;

/* hx_handles_create - an empty table. 0 and *@out, -HX_EINVAL, -HX_ENOMEM. Task context. */
int hx_handles_create(struct hx_handle_table **out);
/* hx_handles_destroy - closes every handle (dropping its reference), frees the table. */
void hx_handles_destroy(struct hx_handle_table *table);

/*
 * hx_handle_install - a new handle to @obj with @rights (taking a new reference to @obj).
 * Returns the handle (>= 0), -HX_EINVAL (NULL, rights outside HX_RIGHTS_ALL or none),
 * -HX_EMFILE (table full).
 */
int hx_handle_install(struct hx_handle_table *table, struct hx_kobject *obj, uint32_t rights);

/*
 * hx_handle_get - the object behind @handle, with a new reference in *@out, if it is of @type
 * (or @type is HX_KOBJ_ANY) and has every right in @rights. Returns 0, -HX_EBADF (not a live
 * handle of this table: stale, forged, out of range, or of another type), -HX_EACCES (a right is
 * missing). *@rights_out (if not NULL) gets the handle's rights.
 */
int hx_handle_get(struct hx_handle_table *table, int64_t handle, enum hx_kobject_type type,
                  uint32_t rights, struct hx_kobject **out, uint32_t *rights_out);

/* hx_handle_close - remove @handle and drop its reference. 0 or -HX_EBADF. */
int hx_handle_close(struct hx_handle_table *table, int64_t handle);

/*
 * hx_handle_dup - a second handle to the same object with @rights, which must be a subset of the
 * original's; the original needs HX_RIGHT_TRANSFER. Returns the new handle, -HX_EBADF,
 * -HX_EACCES (no transfer right, or @rights not a subset), -HX_EINVAL (rights 0 or outside
 * HX_RIGHTS_ALL), -HX_EMFILE.
 */
int hx_handle_dup(struct hx_handle_table *table, int64_t handle, uint32_t rights);

/* hx_handles_count - live handles in @table. */
size_t hx_handles_count(struct hx_handle_table *table);

HX_END_DECLS

#endif /* HELIX_SYSCALL_HANDLES_H */
