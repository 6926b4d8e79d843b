/* SPDX-License-Identifier: MIT */
/*
 * Time: the TSC, calibrated against channel 2 of the 8254 PIT (1.193182 MHz), behind hx_time_ns.
 */
#ifndef HELIX_ARCH_CLOCK_H
#define HELIX_ARCH_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_PIT_HZ 1193182u

/*
 * hx_clock_init - calibrate the TSC (three 10 ms PIT one-shots, the median wins) and start
 * hx_time_ns at 0. When the PIT does not answer or the result is implausible, falls back to the
 * CPUID frequency leaves, then to an assumed 1 GHz, and says so in the log. Boot CPU, once.
 */
void hx_clock_init(void);

/* The TSC frequency in Hz hx_time_ns uses (0 before hx_clock_init). */
uint64_t hx_clock_tsc_hz(void);

/*
 * hx_pit_wait_ticks - busy-wait @ticks PIT periods (1..65535; 11932 is ~10 ms) on channel 2 in
 * mode 0, independently of the TSC. Returns false when the PIT output never rose (no PIT).
 * Boot or task context, with nothing else using channel 2.
 */
bool hx_pit_wait_ticks(uint16_t ticks);

HX_END_DECLS

#endif /* HELIX_ARCH_CLOCK_H */
