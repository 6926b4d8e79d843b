// SPDX-License-Identifier: MIT
/*
 * hx_time_ns over the TSC. ns = (tsc - tsc_origin) * mult >> 32 with mult = 10^9 * 2^32 / tsc_hz,
 * computed once with a 64-bit division (10^9 * 2^32 < 2^63); the per-call product is a 64x64->128
 * multiply (one mul instruction, no libgcc).
 */
#include <stdbool.h>
#include <stdint.h>

#include <helix/arch/clock.h>
#include <helix/arch/cpu.h>
#include <helix/log.h>
#include <helix/platform.h>

#define PIT_CHANNEL2    0x42
#define PIT_COMMAND     0x43
#define PIT_CH2_ONESHOT 0xb0 /* channel 2, low then high byte, mode 0, binary */
#define PORT_B          0x61 /* keyboard controller port B: PIT channel 2 gate and output */
#define PORT_B_GATE2    0x01
#define PORT_B_SPEAKER  0x02
#define PORT_B_OUT2     0x20

#define CALIBRATION_TICKS  11932 /* 10 ms */
#define CALIBRATION_ROUNDS 3
/*
 * Port reads allowed per PIT tick (838 ns) before giving up on the PIT: a read takes ~1 us on
 * hardware and ~80 ns under QEMU's TCG, so a working PIT always answers long before this.
 */
#define PIT_READS_PER_TICK 256u

#define TSC_HZ_MIN     100000000ull   /* 100 MHz */
#define TSC_HZ_MAX     20000000000ull /* 20 GHz */
#define TSC_HZ_ASSUMED 1000000000ull

#define NS_PER_S 1000000000ull

static uint64_t tsc_origin;
static uint64_t tsc_mult; /* ns per cycle, 32.32 fixed point */
static uint64_t tsc_hz;

bool hx_pit_wait_ticks(uint16_t ticks)
{
	uint8_t port_b = hx_inb(PORT_B);

	if (ticks == 0)
		return true;
	/* Gate high, speaker off. Mode 0: OUT2 drops on the command, rises at terminal count. */
	hx_outb(PORT_B, (uint8_t)((port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	hx_outb(PIT_COMMAND, PIT_CH2_ONESHOT);
	hx_outb(PIT_CHANNEL2, (uint8_t)ticks);
	hx_outb(PIT_CHANNEL2, (uint8_t)(ticks >> 8));
	for (uint32_t reads = 0; reads < ticks * PIT_READS_PER_TICK; reads++) {
		if (hx_inb(PORT_B) & PORT_B_OUT2)
			return true;
	}
	return false;
}

/* TSC cycles in one PIT one-shot of CALIBRATION_TICKS, or 0 when the PIT did not answer. */
static uint64_t measure_round(void)
{
	uint64_t start = hx_rdtsc();
	if (!hx_pit_wait_ticks(CALIBRATION_TICKS))
		return 0;
	return hx_rdtsc() - start;
}

static uint64_t median3(uint64_t a, uint64_t b, uint64_t c)
{
	if (a > b) {
		uint64_t t = a;
		a = b;
		b = t;
	}
	if (b > c)
		b = c;
	return a > b ? a : b;
}

/* The TSC frequency from CPUID leaf 0x16 (base MHz) or 0x15 (crystal ratio); 0 when neither says.
 */
static uint64_t cpuid_tsc_hz(const char **source)
{
	uint32_t max_leaf, eax, ebx, ecx, edx;

	hx_cpuid(0, 0, &max_leaf, &ebx, &ecx, &edx);
	if (max_leaf >= 0x15) {
		hx_cpuid(0x15, 0, &eax, &ebx, &ecx, &edx);
		if (eax != 0 && ebx != 0 && ecx != 0) {
			*source = "CPUID leaf 0x15";
			return (uint64_t)ecx * ebx / eax;
		}
	}
	if (max_leaf >= 0x16) {
		hx_cpuid(0x16, 0, &eax, &ebx, &ecx, &edx);
		if ((eax & 0xffff) != 0) {
			*source = "CPUID leaf 0x16";
			return (uint64_t)(eax & 0xffff) * 1000000u;
		}
	}
	return 0;
}

void hx_clock_init(void)
{
	uint64_t rounds[CALIBRATION_ROUNDS];
	uint64_t hz = 0;
	bool pit_ok = true;

	for (int i = 0; i < CALIBRATION_ROUNDS && pit_ok; i++) {
		rounds[i] = measure_round();
		pit_ok = rounds[i] != 0;
	}
	if (pit_ok)
		hz = median3(rounds[0], rounds[1], rounds[2]) * HX_PIT_HZ / CALIBRATION_TICKS;

	if (pit_ok && hz >= TSC_HZ_MIN && hz <= TSC_HZ_MAX) {
		hx_info("time: TSC %llu.%03llu MHz (calibrated against PIT channel 2, 3 x 10 ms)",
		        (unsigned long long)(hz / 1000000u),
		        (unsigned long long)(hz / 1000u % 1000u));
	} else {
		const char *source = "an assumption";
		uint64_t fallback = cpuid_tsc_hz(&source);

		if (fallback < TSC_HZ_MIN || fallback > TSC_HZ_MAX) {
			fallback = TSC_HZ_ASSUMED;
			source = "an assumption";
		}
		hx_warn("time: TSC calibration failed (%s); using %llu MHz from %s: times are "
		        "approximate",
		        pit_ok ? "implausible result" : "PIT channel 2 did not answer",
		        (unsigned long long)(fallback / 1000000u), source);
		hz = fallback;
	}

	tsc_hz = hz;
	tsc_mult = (NS_PER_S << 32) / hz;
	tsc_origin = hx_rdtsc();
}

uint64_t hx_clock_tsc_hz(void)
{
	return tsc_hz;
}

uint64_t hx_time_ns(void)
{
	uint64_t cycles = hx_rdtsc() - tsc_origin;

	/* Before calibration tsc_mult is 0 and time stands at 0. */
	return (uint64_t)(((unsigned __int128)cycles * tsc_mult) >> 32);
}
