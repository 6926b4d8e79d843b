// SPDX-License-Identifier: MIT
/*
 * COM1 and hx_console_write. Output is polled: the console must work with interrupts off, in
 * exception handlers and before anything else is set up.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/arch/cpu.h>
#include <helix/arch/serial.h>
#include <helix/platform.h>
#include <helix/spinlock.h>

#define COM1 0x3f8

/* Register offsets from the base port. */
#define UART_DATA          0 /* DLAB=0: transmit/receive; DLAB=1: divisor low */
#define UART_INT_ENABLE    1 /* DLAB=0; DLAB=1: divisor high */
#define UART_FIFO_CONTROL  2
#define UART_LINE_CONTROL  3
#define UART_MODEM_CONTROL 4
#define UART_LINE_STATUS   5

#define LCR_8N1          0x03
#define LCR_DLAB         0x80
#define FCR_ENABLE_CLEAR 0xc7 /* enable, clear both FIFOs, 14-byte receive threshold */
#define MCR_DTR_RTS_OUT2 0x0b
#define MCR_LOOPBACK     0x1e
#define LSR_THR_EMPTY    0x20

#define BAUD_BASE 115200
#define BAUD      115200

/* A byte takes ~87 us at 115200 baud; a UART that stays busy far longer than that is not there. */
#define TX_SPIN_LIMIT 1000000

static struct hx_spinlock console_lock = HX_SPINLOCK_INIT;
static bool serial_ready;
static bool serial_present;
static _Atomic bool console_unlocked;

void hx_serial_init(void)
{
	uint16_t divisor = BAUD_BASE / BAUD;

	if (serial_ready)
		return;
	hx_outb(COM1 + UART_INT_ENABLE, 0x00);
	hx_outb(COM1 + UART_LINE_CONTROL, LCR_DLAB);
	hx_outb(COM1 + UART_DATA, (uint8_t)divisor);
	hx_outb(COM1 + UART_INT_ENABLE, (uint8_t)(divisor >> 8));
	hx_outb(COM1 + UART_LINE_CONTROL, LCR_8N1);
	hx_outb(COM1 + UART_FIFO_CONTROL, FCR_ENABLE_CLEAR);

	/* Loopback self-check: a machine without COM1 gets no output instead of a hang. */
	hx_outb(COM1 + UART_MODEM_CONTROL, MCR_LOOPBACK);
	hx_outb(COM1 + UART_DATA, 0xae);
	serial_present = hx_inb(COM1 + UART_DATA) == 0xae;
	hx_outb(COM1 + UART_MODEM_CONTROL, MCR_DTR_RTS_OUT2);
	serial_ready = true;
}

static void serial_put(char c)
{
	for (int spins = 0; spins < TX_SPIN_LIMIT; spins++) {
		if (hx_inb(COM1 + UART_LINE_STATUS) & LSR_THR_EMPTY)
			break;
		hx_cpu_relax();
	}
	hx_outb(COM1 + UART_DATA, (uint8_t)c);
}

static void serial_write(const char *text, size_t len)
{
	if (!serial_ready)
		hx_serial_init();
	if (!serial_present)
		return;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			serial_put('\r');
		serial_put(text[i]);
	}
}

void hx_console_force_unlocked(void)
{
	atomic_store_explicit(&console_unlocked, true, memory_order_relaxed);
}

void hx_console_write(const char *text, size_t len)
{
	unsigned long flags;

	/* Relaxed: a fatal report sets this on the CPU that then writes; nothing else is ordered by
	 * it. */
	if (atomic_load_explicit(&console_unlocked, memory_order_relaxed)) {
		serial_write(text, len);
		return;
	}
	flags = hx_spin_lock_irqsave(&console_lock);
	serial_write(text, len);
	hx_spin_unlock_irqrestore(&console_lock, flags);
}
