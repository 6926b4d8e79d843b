/* SPDX-License-Identifier: MIT */
/*
 * How the kernel ends. Under QEMU with `-device isa-debug-exit,iobase=0xf4,iosize=0x04`, writing
 * value v to port 0xf4 makes QEMU exit with (v << 1) | 1. The kernel writes HX_EXIT_TAG | status:
 * the tag keeps "the kernel said 0" (QEMU exit 65) apart from QEMU's own failures (exit 1), and
 * kernel/tools/qemu.sh turns the code back into the status:
 *
 *   status              QEMU exit code   meaning
 *   HX_EXIT_OK          65               booted, every requested self-test passed
 *   HX_EXIT_PANIC       67               hx_panic / failed assertion
 *   HX_EXIT_FAULT       69               unhandled CPU exception (report on the console)
 *   HX_EXIT_SELFTEST    71               a self-test failed or does not exist
 */
#ifndef HELIX_ARCH_EXIT_H
#define HELIX_ARCH_EXIT_H

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_EXIT_OK         0
#define HX_EXIT_PANIC      1
#define HX_EXIT_FAULT      2
#define HX_EXIT_SELFTEST   3
#define HX_EXIT_INIT       4 /* the init program failed or could not start */
#define HX_EXIT_STATUS_MAX 31

/* Marks a status as the kernel's own (see above); statuses are 0..HX_EXIT_STATUS_MAX. */
#define HX_EXIT_TAG 0x20

/* The isa-debug-exit port QEMU is started with. */
#define HX_DEBUG_EXIT_PORT 0xf4

/*
 * hx_arch_exit - write HX_EXIT_TAG | @status (0..HX_EXIT_STATUS_MAX) to the isa-debug-exit port
 * (QEMU exits); where that returns (real hardware, QEMU without the device) disable interrupts and
 * halt forever. Any context.
 */
HX_NORETURN void hx_arch_exit(int status);

HX_END_DECLS

#endif /* HELIX_ARCH_EXIT_H */
