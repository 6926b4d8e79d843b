/* SPDX-License-Identifier: MIT */
/*
 * The constants user programs and the kernel share: deadlines, clocks, handle rights and the
 * syscalls' limits. Freestanding, no kernel types: user programs (kernel/user) and
 * the generated syscall stubs include it as well as the kernel. Values never change meaning.
 */
#ifndef HELIX_ABI_H
#define HELIX_ABI_H

#include <stdint.h>

/* Deadlines are absolute monotonic nanoseconds (hx_time_ns, the clock_gettime syscall's
 * HX_CLOCK_MONOTONIC); these two are special. */
#define HX_NOWAIT  ((uint64_t)0)          /* try once, never wait */
#define HX_FOREVER ((uint64_t)UINT64_MAX) /* no deadline */

/* Clocks (clock_gettime). 0 is not a clock: an uninitialised value is refused. */
#define HX_CLOCK_MONOTONIC 1

/* Handle rights. */
#define HX_RIGHT_READ     0x1u /* receive from a channel */
#define HX_RIGHT_WRITE    0x2u /* send to a channel */
#define HX_RIGHT_TRANSFER 0x4u /* duplicate the handle (handle_dup) */
#define HX_RIGHTS_ALL     (HX_RIGHT_READ | HX_RIGHT_WRITE | HX_RIGHT_TRANSFER)

/*
 * The user half of every address space (helix/arch/vm.h, docs/memory.md): a process's code, data,
 * stack and heap live in [HX_USER_BASE, HX_USER_LIMIT), both page aligned. Page 0 stays unmapped
 * so that a NULL dereference faults. The last MiB below the end of the canonical lower half
 * (0x0000800000000000) stays unmapped too: a syscall instruction ending there would make SYSRET
 * return to a non-canonical address, which faults in ring 0 on Intel CPUs.
 */
#define HX_USER_BASE  0x0000000000001000ull
#define HX_USER_LIMIT 0x00007ffffff00000ull

/*
 * The kernel module HX_SYSINFO_MODULE, reached with router_call: method HX_SYSINFO_GET with an
 * empty payload answers an array of HX_SYSINFO_FIELDS unsigned integers: total frames, free
 * frames, heap bytes in use, live tasks, live processes, uptime in ns.
 */
#define HX_SYSINFO_MODULE "sysinfo"
#define HX_SYSINFO_GET    1u
#define HX_SYSINFO_FIELDS 6

/* Syscall limits (docs/syscalls.md). */
#define HX_WRITE_MAX         4096u            /* bytes per write */
#define HX_SLEEP_MAX_NS      3600000000000ull /* one hour */
#define HX_USER_CHAN_MAX_CAP 4096u            /* messages per user-created channel */
#define HX_USER_CHAN_MAX_MSG 4096u            /* bytes per message through a syscall */
#define HX_PROCESS_EXIT_MAX  255              /* exit syscall status */
#define HX_PROGRAM_NAME_MAX  31               /* characters of a program's name (spawn) */
#define HX_PID_MAX           0x7fffffffu      /* process ids are 1..HX_PID_MAX */

/*
 * A wait status: 0..HX_PROCESS_EXIT_MAX when the process called exit; HX_STATUS_KILLED | vector
 * when the kernel ended it for a CPU exception in user mode (e.g. 0x10e: a page fault).
 */
#define HX_STATUS_KILLED 0x100

#endif /* HELIX_ABI_H */
