/* SPDX-License-Identifier: MIT */
/*
 * User memory: the only way syscall handlers touch it. A user pointer is an allegation until it
 * has been checked against the calling process's user range and copied (Hubris's USlice, xv6's
 * copyin, Linux's access_ok + copy_from_user).
 *
 * Two layers:
 *   - hx_uaccess_ok and the copy helpers here (portable): range checks (inside [base, limit), no
 *     wrap-around), then the backend's copy;
 *   - the backend behind struct hx_uspace: kernel (syscall/kernel/uspace_kernel.c over
 *     kernel/arch/x86_64/uaccess.S): the copy runs with an exception-table entry, so a page fault
 *     inside it returns -HX_EFAULT instead of panicking; hosted (syscall/hosted/uspace_sim.c): a
 *     simulated user address space, a mapped region with inaccessible guard pages around it and a
 *     per-page map (present, writable) that tests and fuzzers change, checked by the copy before
 *     every page (the host pages are mprotect()ed to match, so an access that bypasses the checks
 *     crashes instead of silently working).
 *
 * Concurrency: the copies may run on any number of tasks; a copy racing with a change of the page
 * map (another thread unmapping) returns -HX_EFAULT or copies, never crashes the kernel.
 */
#ifndef HELIX_SYSCALL_UACCESS_H
#define HELIX_SYSCALL_UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/syscall/syscall.h>

HX_BEGIN_DECLS

#define HX_USER_PAGE_SIZE 4096u

/* A user address space: [base, limit) and the backend that reaches it. */
struct hx_uspace {
	uint64_t base;  /* first user address (page aligned) */
	uint64_t limit; /* one past the last (page aligned), > base */
	const struct hx_uspace_ops *ops;
	void *backend; /* the backend's own state */
};

struct hx_uspace_ops {
	/* Copy @len bytes; the range is already checked against [base, limit). 0 or -HX_EFAULT
	 * (a page not present, or not writable for copy_out). */
	int (*copy_in)(struct hx_uspace *us, void *dst, uint64_t src, size_t len);
	int (*copy_out)(struct hx_uspace *us, uint64_t dst, const void *src, size_t len);
	/* Copy a string of at most @cap bytes including the NUL: its length (< cap), -HX_EFAULT,
	 * or -HX_ENAMETOOLONG when no NUL within @cap bytes. */
	long (*copy_str_in)(struct hx_uspace *us, char *dst, uint64_t src, size_t cap);
	/* Would an access of @access (HX_UACCESS_READ/WRITE) to the range fault? 0 or -HX_EFAULT.
	 * A hint for validation: the copy checks again. */
	int (*probe)(struct hx_uspace *us, uint64_t addr, size_t len, unsigned access);
};

/*
 * hx_uaccess_ok - true when [@addr, @addr + @len) lies inside @us: addr >= base, no wrap-around,
 * addr + len <= limit. A zero length is ok anywhere in [base, limit]. Any context.
 */
bool hx_uaccess_ok(const struct hx_uspace *us, uint64_t addr, size_t len);

/*
 * hx_copy_from_user / hx_copy_to_user - copy between kernel memory and the caller's user memory.
 * Task context (may fault pages in). Returns 0, or -HX_EFAULT (outside the user range, wraps, or
 * a page not mapped / not writable); on -HX_EFAULT @dst's contents are unspecified (copy_from) or
 * a prefix of the user buffer may have been written (copy_to). No caller: -HX_ESRCH.
 */
int hx_copy_from_user(struct hx_syscall_ctx *ctx, void *dst, uint64_t src, size_t len);
int hx_copy_to_user(struct hx_syscall_ctx *ctx, uint64_t dst, const void *src, size_t len);

/*
 * hx_strncpy_from_user - copy a NUL-terminated user string into @dst (@cap bytes, cap >= 1).
 * Returns its length (< cap), -HX_EFAULT, or -HX_ENAMETOOLONG (no NUL in the first cap bytes).
 * The string may end anywhere before the user limit: -HX_EFAULT when it starts outside
 * [base, limit) or reaches the limit (or an unmapped page) before its NUL and before cap bytes.
 * On any error @dst holds the empty string. No caller: -HX_ESRCH. Task context.
 */
long hx_strncpy_from_user(struct hx_syscall_ctx *ctx, char *dst, uint64_t src, size_t cap);

/* ---- Kernel: the user address space over the kernel's page tables (syscall/kernel/) ------------
 */

/*
 * hx_uspace_kernel_init - make @us the user space [@base, @limit), reached with the faulting
 * copies of kernel/arch/x86_64/uaccess.S (a page fault during a copy is -HX_EFAULT). Both bounds
 * page aligned, base < limit, and the range canonical: inside the lower half or the higher half,
 * never across the hole (a non-canonical access raises #GP, which is not fixed up). The probe
 * checks the range only: the space has no page tables of its own (hx_uspace_kernel_init_vm's do).
 * Kernel image only. Returns 0 or -HX_EINVAL.
 */
int hx_uspace_kernel_init(struct hx_uspace *us, uint64_t base, uint64_t limit);

struct hx_vm; /* helix/arch/vm.h */

/*
 * hx_uspace_kernel_init_vm - make @us the user half of the address space @vm: the range
 * [HX_USER_BASE, HX_USER_LIMIT) (helix/abi.h), probed against @vm's page tables (every page
 * present and user-accessible, and writable for HX_UACCESS_WRITE), copied with the faulting
 * copies of uaccess.S. The copies go through the active page tables: @vm must be active
 * (hx_vm_activate) whenever @us copies (asserted). @us does not own @vm. Kernel image only.
 * Returns 0 or -HX_EINVAL (NULL argument).
 */
int hx_uspace_kernel_init_vm(struct hx_uspace *us, struct hx_vm *vm);

/* ---- Hosted: the simulated user address space (syscall/hosted/uspace_sim.c) --------------------
 */

/*
 * hx_uspace_sim_create - a simulated user space of @size bytes (rounded up to pages), all pages
 * present and writable, zero-filled, with an inaccessible guard page on either side. User
 * addresses are host addresses inside the region: hx_uspace_sim_ptr gives the host pointer.
 * Returns 0 and *@out, -HX_EINVAL (size 0 or above 1 GiB), -HX_ENOMEM.
 */
int hx_uspace_sim_create(size_t size, struct hx_uspace **out);
void hx_uspace_sim_destroy(struct hx_uspace *us);

/* Page map changes for tests: @prot is 0 (not present), HX_UACCESS_READ (read-only), or
 * HX_UACCESS_READ | HX_UACCESS_WRITE. The range is rounded out to pages and must lie inside the
 * space. Waits for copies in flight, so a copy sees the map before or after the change, never
 * half of it. The host pages are mprotect()ed to match. 0 or -HX_EINVAL (-HX_ENOMEM if the host
 * refuses the mprotect). */
int hx_uspace_sim_protect(struct hx_uspace *us, uint64_t addr, size_t len, unsigned prot);

/* The host pointer for user address @addr (inside [base, limit]; NULL otherwise): tests fill and
 * read user memory through it, bypassing the page map but not the host protection: fill a page
 * before making it read-only or not present (or make it accessible again first). */
void *hx_uspace_sim_ptr(struct hx_uspace *us, uint64_t addr);

HX_END_DECLS

#endif /* HELIX_SYSCALL_UACCESS_H */
