// SPDX-License-Identifier: MIT
/*
 * The kernel's user address space backend (helix/syscall/uaccess.h): the copies run through
 * kernel/arch/x86_64/uaccess.S, whose user-touching instructions have exception-table entries, so
 * a page fault in the middle of a copy makes it return -HX_EFAULT instead of reporting a fault.
 *
 * The range checks are the portable layer's (uaccess.c: hx_uaccess_ok before every op). There are
 * no per-process page tables yet (issue: tasks): every process shares the kernel's, so the probe
 * can only check the range, and the copies find out about unmapped pages by faulting. When
 * processes get page tables, the probe walks them for present (and writable) pages.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/arch/uaccess.h>
#include <helix/errors.h>
#include <helix/syscall/uaccess.h>

/* The lower half ends and the higher half starts here; in between, addresses are not canonical. */
#define LOWER_HALF_END    0x0000800000000000ull
#define HIGHER_HALF_START 0xffff800000000000ull

static int kernel_copy_in(struct hx_uspace *us, void *dst, uint64_t src, size_t len)
{
	return hx_arch_copy_user(dst, (const void *)(uintptr_t)src, len);
}

static int kernel_copy_out(struct hx_uspace *us, uint64_t dst, const void *src, size_t len)
{
	return hx_arch_copy_user((void *)(uintptr_t)dst, src, len);
}

static long kernel_copy_str_in(struct hx_uspace *us, char *dst, uint64_t src, size_t cap)
{
	return hx_arch_strncpy_user(dst, (const char *)(uintptr_t)src, cap);
}

/* The range only, for now: see the top of the file. */
static int kernel_probe(struct hx_uspace *us, uint64_t addr, size_t len, unsigned access)
{
	if (addr < us->base || addr > us->limit || len > us->limit - addr)
		return -HX_EFAULT;
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
