/* SPDX-License-Identifier: MIT */
/*
 * The periodic timer interrupt: the local APIC timer, calibrated against the TSC clock, or the PIT
 * (channel 0 through the legacy PIC) when there is no APIC or the command line asks for it. Either
 * way the legacy PIC is remapped to vectors 32..47 and masked except for what the PIT needs.
 */
#ifndef HELIX_ARCH_TIMER_H
#define HELIX_ARCH_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_TIMER_HZ_MIN     10u
#define HX_TIMER_HZ_MAX     10000u
#define HX_TIMER_HZ_DEFAULT 250u

#define HX_VECTOR_PIT           32 /* legacy PIC IRQ 0 after the remap */
#define HX_VECTOR_APIC_TIMER    48
#define HX_VECTOR_APIC_SPURIOUS 0xff

enum hx_timer_source {
	HX_TIMER_NONE = 0,
	HX_TIMER_APIC = 1,
	HX_TIMER_PIT = 2,
};

struct hx_timer_info {
	enum hx_timer_source source;
	uint32_t hz;          /* ticks per second asked for */
	uint64_t period_ns;   /* the programmed period, as the hardware can do it */
	uint64_t apic_hz;     /* the APIC timer's input clock after the divider (APIC only) */
	const char *fallback; /* why the PIT is used; NULL when it was not a fallback */
};

/*
 * hx_timer_init - start a periodic interrupt at @hz (HX_TIMER_HZ_MIN..MAX) that calls @tick in
 * interrupt context after acknowledging the controller. @force_pit skips the APIC. Interrupts must
 * be off (the caller enables them when ready). After hx_clock_init. Boot CPU, once. Returns 0 or
 * -HX_EINVAL (@hz out of range, NULL @tick).
 */
int hx_timer_init(uint32_t hz, bool force_pit, void (*tick)(void));

/* hx_timer_get_info - what hx_timer_init chose. Any context. */
void hx_timer_get_info(struct hx_timer_info *out);

/* hx_timer_source_name - "local APIC", "PIT" or "none". */
const char *hx_timer_source_name(enum hx_timer_source source);

HX_END_DECLS

#endif /* HELIX_ARCH_TIMER_H */
