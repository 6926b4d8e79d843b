// SPDX-License-Identifier: MIT
/*
 * The periodic timer (helix/arch/timer.h).
 *
 * Local APIC: enabled through IA32_APIC_BASE and the spurious-vector register, its registers
 * reached through the direct map (0xfee00000 lies below 4 GiB; the firmware's MTRRs make that
 * range uncached, which is what MMIO needs). The timer counts down at the bus clock / 16; the
 * rate is measured by letting it count for 10 ms of TSC time (the TSC was calibrated against PIT
 * channel 2 by hx_clock_init), then it runs periodic at rate / hz.
 *
 * PIT: channel 0 in mode 2 (rate generator) at 1193182 / hz, delivered as IRQ 0 through the
 * legacy PIC. The PIC is always remapped to 32..47 first, so that a stray legacy interrupt can
 * never land on an exception vector, and masked except for IRQ 0 when the PIT is the timer.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <helix/arch/clock.h>
#include <helix/arch/cpu.h>
#include <helix/arch/idt.h>
#include <helix/arch/memory.h>
#include <helix/arch/timer.h>
#include <helix/errors.h>
#include <helix/log.h>
#include <helix/platform.h>

#define MSR_APIC_BASE       0x1bu
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x0000000ffffff000ull
#define CPUID1_EDX_APIC     (1u << 9)

/* Local APIC register offsets (Intel SDM vol. 3, table 11-1). */
#define APIC_TPR         0x080
#define APIC_EOI         0x0b0
#define APIC_SVR         0x0f0
#define APIC_LVT_TIMER   0x320
#define APIC_TIMER_INIT  0x380
#define APIC_TIMER_COUNT 0x390
#define APIC_TIMER_DIV   0x3e0

#define APIC_SVR_ENABLE   (1u << 8)
#define APIC_LVT_MASKED   (1u << 16)
#define APIC_LVT_PERIODIC (1u << 17)
#define APIC_TIMER_DIV_16 0x3u
#define APIC_CALIBRATE_NS 10000000ull /* 10 ms */
#define APIC_RATE_MIN     1000000ull  /* 1 MHz: anything slower is a broken timer */

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI   0x20
#define PIC_ICW1  0x11 /* edge triggered, cascade, ICW4 follows */
#define PIC_ICW4  0x01 /* 8086 mode */

#define PIT_CHANNEL0 0x40
#define PIT_COMMAND  0x43
#define PIT_CH0_RATE 0x34 /* channel 0, low then high byte, mode 2, binary */

#define NS_PER_S 1000000000ull

static volatile uint32_t *apic;
static void (*tick_fn)(void);
static struct hx_timer_info info;

static uint32_t apic_read(uint32_t reg)
{
	return apic[reg / 4];
}

static void apic_write(uint32_t reg, uint32_t value)
{
	apic[reg / 4] = value;
}

/* Remap the 8259 pair to vectors 32..47 and mask every line. */
static void pic_remap_and_mask(void)
{
	hx_outb(PIC1_CMD, PIC_ICW1);
	hx_outb(PIC2_CMD, PIC_ICW1);
	hx_outb(PIC1_DATA, HX_IRQ_VECTOR_BASE);     /* ICW2: master vectors 32..39 */
	hx_outb(PIC2_DATA, HX_IRQ_VECTOR_BASE + 8); /* slave 40..47 */
	hx_outb(PIC1_DATA, 0x04);                   /* ICW3: slave on IRQ 2 */
	hx_outb(PIC2_DATA, 0x02);                   /* slave identity 2 */
	hx_outb(PIC1_DATA, PIC_ICW4);
	hx_outb(PIC2_DATA, PIC_ICW4);
	hx_outb(PIC1_DATA, 0xff);
	hx_outb(PIC2_DATA, 0xff);
}

static void apic_timer_irq(struct hx_trap_frame *frame)
{
	apic_write(APIC_EOI, 0);
	tick_fn();
}

static void pit_irq(struct hx_trap_frame *frame)
{
	hx_outb(PIC1_CMD, PIC_EOI);
	tick_fn();
}

/* Spurious interrupts: the APIC's needs no EOI; the PIC's IRQ 7 / 15 need none at their own
 * PIC (15 needs one at the master, which forwarded it). */
static void apic_spurious_irq(struct hx_trap_frame *frame)
{
}

static void pic_spurious_irq(struct hx_trap_frame *frame)
{
	if (frame->vector == HX_IRQ_VECTOR_BASE + 15)
		hx_outb(PIC1_CMD, PIC_EOI);
}

/* The APIC timer's count rate (after the /16 divider), or 0 when it does not count. */
static uint64_t apic_calibrate(void)
{
	uint64_t start, end;
	uint32_t left;

	apic_write(APIC_TIMER_DIV, APIC_TIMER_DIV_16);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | HX_VECTOR_APIC_TIMER);
	apic_write(APIC_TIMER_INIT, UINT32_MAX);
	start = hx_time_ns();
	do
		end = hx_time_ns();
	while (end - start < APIC_CALIBRATE_NS);
	left = apic_read(APIC_TIMER_COUNT);
	apic_write(APIC_TIMER_INIT, 0); /* stop it */
	return (uint64_t)(UINT32_MAX - left) * NS_PER_S / (end - start);
}

/* Returns NULL when the APIC timer runs, or why it cannot be used. */
static const char *apic_start(uint32_t hz)
{
	uint32_t eax, ebx, ecx, edx;
	uint64_t base, rate, count;

	hx_cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	if (!(edx & CPUID1_EDX_APIC))
		return "the CPU has no local APIC";
	base = hx_rdmsr(MSR_APIC_BASE);
	if ((base & APIC_BASE_ADDR_MASK) + 4096 > HX_DIRECT_MAP_SIZE)
		return "the APIC's registers lie beyond the direct map";
	hx_wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	apic = hx_phys_to_virt(base & APIC_BASE_ADDR_MASK);
	apic_write(APIC_TPR, 0);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | HX_VECTOR_APIC_SPURIOUS);
	rate = apic_calibrate();
	if (rate < APIC_RATE_MIN)
		return "the APIC timer does not count";
	count = rate / hz;
	if (count == 0 || count > UINT32_MAX)
		return "the APIC timer cannot make this rate";
	hx_irq_set_handler(HX_VECTOR_APIC_TIMER, apic_timer_irq);
	hx_irq_set_handler(HX_VECTOR_APIC_SPURIOUS, apic_spurious_irq);
	info.apic_hz = rate;
	info.period_ns = count * NS_PER_S / rate;
	apic_write(APIC_TIMER_DIV, APIC_TIMER_DIV_16);
	apic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | HX_VECTOR_APIC_TIMER);
	apic_write(APIC_TIMER_INIT, (uint32_t)count);
	return NULL;
}

static void pit_start(uint32_t hz)
{
	uint32_t divisor = (HX_PIT_HZ + hz / 2) / hz;

	if (divisor > 65535)
		divisor = 65535;
	hx_irq_set_handler(HX_VECTOR_PIT, pit_irq);
	hx_outb(PIT_COMMAND, PIT_CH0_RATE);
	hx_outb(PIT_CHANNEL0, (uint8_t)divisor);
	hx_outb(PIT_CHANNEL0, (uint8_t)(divisor >> 8));
	hx_outb(PIC1_DATA, 0xfe); /* IRQ 0 only */
	info.period_ns = (uint64_t)divisor * NS_PER_S / HX_PIT_HZ;
}

int hx_timer_init(uint32_t hz, bool force_pit, void (*tick)(void))
{
	const char *why_not_apic = "timer=pit on the command line";

	if (hz < HX_TIMER_HZ_MIN || hz > HX_TIMER_HZ_MAX || !tick)
		return -HX_EINVAL;
	tick_fn = tick;
	info.hz = hz;
	pic_remap_and_mask();
	hx_irq_set_handler(HX_IRQ_VECTOR_BASE + 7, pic_spurious_irq);
	hx_irq_set_handler(HX_IRQ_VECTOR_BASE + 15, pic_spurious_irq);
	if (!force_pit)
		why_not_apic = apic_start(hz);
	if (why_not_apic == NULL) {
		info.source = HX_TIMER_APIC;
		hx_info("timer: local APIC, %u Hz (period %llu ns, APIC timer %llu.%03llu MHz)", hz,
		        (unsigned long long)info.period_ns,
		        (unsigned long long)(info.apic_hz / 1000000u),
		        (unsigned long long)(info.apic_hz / 1000u % 1000u));
		return 0;
	}
	info.source = HX_TIMER_PIT;
	info.fallback = why_not_apic;
	pit_start(hz);
	hx_info("timer: PIT, %u Hz (period %llu ns): %s", hz, (unsigned long long)info.period_ns,
	        why_not_apic);
	return 0;
}

void hx_timer_get_info(struct hx_timer_info *out)
{
	*out = info;
}

const char *hx_timer_source_name(enum hx_timer_source source)
{
	switch (source) {
	case HX_TIMER_APIC:
		return "local APIC";
	case HX_TIMER_PIT:
		return "PIT";
	default:
		return "none";
	}
}
