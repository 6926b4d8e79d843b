// SPDX-License-Identifier: MIT
/*
 * The kernel's user address space backend (helix/syscall/uaccess.h): the copies run through
 * kernel/arch/x86_64/uaccess.S, whose user-touching instructions have exception-table entries, so
 * a page fault in the middle of a copy makes it return -HX_EFAULT instead of reporting a fault.
 *
 * The range checks are the portable layer's (uaccess.c: hx_uaccess_ok before every op). A space
 * made by hx_uspace_kernel_init_vm carries its process's address space (helix/arch/vm.h) in
 * us->backend: the probe walks its page tables (present, user, and writable for a write), and the
 * copies run on it, so it must be the active one. A space made by hx_uspace_kernel_init has no vm:
 * its probe checks the range only. Either way the probe is a hint: a page unmapped after it makes
 * the copy fault, and the exception table turns the fault into -HX_EFAULT.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/arch/uaccess.h>
#include <helix/arch/vm.h>
#include <helix/assert.h>
#include <helix/errors.h>
#include <helix/syscall/uaccess.h>

/* The lower half ends and the higher half starts here; in between, addresses are not canonical. */
#define LOWER_HALF_END    0x0000800000000000ull
#define HIGHER_HALF_START 0xffff800000000000ull

/* The copies reach user addresses through CR3: a space with a vm needs that vm active. */
static void assert_active(const struct hx_uspace *us)
{
	HX_ASSERT(us->backend == NULL || us->backend == hx_vm_current());
}

static int kernel_copy_in(struct hx_uspace *us, void *dst, uint64_t src, size_t len)
{
	assert_active(us);
	return hx_arch_copy_user(dst, (const void *)(uintptr_t)src, len);
}

static int kernel_copy_out(struct hx_uspace *us, uint64_t dst, const void *src, size_t len)
{
	assert_active(us);
	return hx_arch_copy_user((void *)(uintptr_t)dst, src, len);
}

static long kernel_copy_str_in(struct hx_uspace *us, char *dst, uint64_t src, size_t cap)
{
	assert_active(us);
	return hx_arch_strncpy_user(dst, (const char *)(uintptr_t)src, cap);
}

/* The range, then (with a vm) the pages: see the top of the file. */
static int kernel_probe(struct hx_uspace *us, uint64_t addr, size_t len, unsigned access)
{
	if (addr < us->base || addr > us->limit || len > us->limit - addr)
		return -HX_EFAULT;
	if (us->backend)
		return hx_vm_check(us->backend, addr, len, (access & HX_UACCESS_WRITE) != 0);
	return 0;
}

static const struct hx_uspace_ops kernel_ops = {
	.copy_in = kernel_copy_in,
	.copy_out = kernel_copy_out,
	.copy_str_in = kernel_copy_str_in,
	.probe = kernel_probe,
};

int hx_uspace_kernel_init(struct hx_uspace *us, uint64_t base, uint64_t limit)
{
	bool lower, higher;

	if (!us || base >= limit || (base & (HX_USER_PAGE_SIZE - 1)) != 0 ||
	    (limit & (HX_USER_PAGE_SIZE - 1)) != 0)
		return -HX_EINVAL;
	/* limit - 1 is the last byte: a space may end at 2^64 only as limit == 0, which base <
	 * limit already refuses. */
	lower = limit <= LOWER_HALF_END;
	higher = base >= HIGHER_HALF_START;
	if (!lower && !higher)
		return -HX_EINVAL;
	us->base = base;
	us->limit = limit;
	us->ops = &kernel_ops;
	us->backend = NULL;
	return 0;
}

int hx_uspace_kernel_init_vm(struct hx_uspace *us, struct hx_vm *vm)
{
	if (!us || !vm)
		return -HX_EINVAL;
	us->base = HX_USER_BASE;
	us->limit = HX_USER_LIMIT;
	us->ops = &kernel_ops;
	us->backend = vm;
	return 0;
}
