/* SPDX-License-Identifier: MIT */
/*
 * COM1 (0x3f8), 115200 baud 8N1 with FIFOs, polled output. It backs hx_console_write.
 */
#ifndef HELIX_ARCH_SERIAL_H
#define HELIX_ARCH_SERIAL_H

#include <stddef.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

/*
 * hx_serial_init - program COM1. Boot CPU, before other CPUs or interrupts run; idempotent.
 * hx_console_write calls it on first use, so output works even before kmain gets here.
 */
void hx_serial_init(void);

/*
 * hx_console_force_unlocked - from now on hx_console_write ignores its lock (Linux's
 * oops_in_progress): a fatal report must get out even when the fault hit inside a console write.
 * Any context; there is no way back.
 */
void hx_console_force_unlocked(void);

HX_END_DECLS

#endif /* HELIX_ARCH_SERIAL_H */
