/* SPDX-License-Identifier: MIT */
/*
 * Copies that may fault (kernel/arch/x86_64/uaccess.S): the kernel backend of user access
 * (helix/syscall/uaccess.h, syscall/kernel/uspace_kernel.c).
 *
 * Each instruction of uaccess.S that touches user memory has an entry in the exception table, the
 * section __ex_table that linker.ld gathers between __ex_table_start and __ex_table_end. An entry
 * is two absolute 64-bit addresses: the instruction that may fault and the fixup to resume at. On
 * a page fault in kernel mode whose RIP has an entry, the page-fault path (idt.c) sets RIP to the
 * fixup and returns from the exception instead of reporting it; the fixup makes the routine return
 * -HX_EFAULT. Any other fault is reported and fatal as before.
 *
 * Callers check the range first: the routines fix up page faults only, so both ranges must be
 * canonical (a non-canonical address raises #GP, which is never fixed up), and a fault on the
 * kernel side of a copy is fixed up just the same (it is a kernel bug the range checks prevent).
 *
 * This header is also included by uaccess.S: only the constants below __ASSEMBLER__ reach it.
 */
#ifndef HELIX_ARCH_UACCESS_H
#define HELIX_ARCH_UACCESS_H

/* The error numbers uaccess.S returns negated (checked against helix/errors.h below). */
#define HX_ARCH_UACCESS_EFAULT       14
#define HX_ARCH_UACCESS_ENAMETOOLONG 36

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/errors.h>

HX_BEGIN_DECLS

HX_STATIC_ASSERT(HX_ARCH_UACCESS_EFAULT == HX_EFAULT, "uaccess.S returns -HX_EFAULT");
HX_STATIC_ASSERT(HX_ARCH_UACCESS_ENAMETOOLONG == HX_ENAMETOOLONG,
                 "uaccess.S returns -HX_ENAMETOOLONG");

/* One exception-table entry (uaccess.S writes them with .quad). */
struct hx_extable_entry {
	uint64_t fault_rip; /* the instruction that may fault */
	uint64_t fixup_rip; /* where execution resumes when it does */
};

/* Defined by linker.ld around the __ex_table input sections. */
extern const struct hx_extable_entry __ex_table_start[], __ex_table_end[];

/*
 * hx_arch_copy_user - copy @len bytes from @src to @dst, either of which may be a user address
 * (ranges checked by the caller, canonical). Task context, interrupts on or off. Returns 0, or
 * -HX_EFAULT when a page fault stopped the copy: then a prefix of @dst (of unknown length) has
 * been written.
 */
int hx_arch_copy_user(void *dst, const void *src, size_t len);

/*
 * hx_arch_strncpy_user - copy the NUL-terminated string at (user) @src into @dst, reading at most
 * @cap bytes (the range [src, src + cap) checked by the caller). Returns the string's length
 * (< @cap; dst holds it with its NUL), -HX_ENAMETOOLONG when none of the @cap bytes is a NUL
 * (cap bytes copied, not terminated; cap 0 included), or -HX_EFAULT when a page fault stopped the
 * copy (a prefix copied, not terminated). Task context.
 */
long hx_arch_strncpy_user(char *dst, const char *src, size_t cap);

/*
 * hx_arch_extable_fixup - the fixup address for a fault at @rip, or 0 when @rip has no
 * exception-table entry. Any context (the page-fault handler calls it).
 */
uint64_t hx_arch_extable_fixup(uint64_t rip);

/*
 * hx_arch_uaccess_fixups - how many page faults the exception table has fixed up since boot
 * (the self-test checks that a faulting copy really went through the fixup). Any context.
 */
uint64_t hx_arch_uaccess_fixups(void);

HX_END_DECLS

#endif /* !__ASSEMBLER__ */

#endif /* HELIX_ARCH_UACCESS_H */
