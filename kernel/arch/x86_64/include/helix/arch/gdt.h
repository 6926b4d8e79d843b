/* SPDX-License-Identifier: MIT */
/*
 * The kernel GDT and TSS. The selector order is what SYSCALL/SYSRET need: with STAR[47:32] = 0x08
 * and STAR[63:48] = 0x10, SYSRET loads SS = 0x18 | 3 and CS = 0x20 | 3.
 */
#ifndef HELIX_ARCH_GDT_H
#define HELIX_ARCH_GDT_H

#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_GDT_KERNEL_CODE 0x08
#define HX_GDT_KERNEL_DATA 0x10
#define HX_GDT_USER_DATA   0x18 /* DPL 3: use as 0x1b */
#define HX_GDT_USER_CODE   0x20 /* DPL 3, 64-bit: use as 0x23 */
#define HX_GDT_TSS         0x28 /* 16-byte system descriptor */

/* Interrupt stack table slots (1-based, as in the IDT gate). Each has its own stack. */
#define HX_IST_DOUBLE_FAULT  1
#define HX_IST_NMI           2
#define HX_IST_MACHINE_CHECK 3

/* hx_gdt_init - load the GDT, reload every segment register, load the TSS. Boot CPU, once. */
void hx_gdt_init(void);

/* hx_tss_set_rsp0 - the stack the CPU switches to on a ring 3 -> ring 0 transition. Interrupts off.
 */
void hx_tss_set_rsp0(uint64_t rsp0);

HX_END_DECLS

#endif /* HELIX_ARCH_GDT_H */
