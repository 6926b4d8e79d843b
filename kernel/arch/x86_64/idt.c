// SPDX-License-Identifier: MIT
/*
 * The IDT, interrupt dispatch and the exception report. Interrupts (vectors 32..255) go to the
 * handler set for their vector, then to the exit hook (the scheduler's preemption point). A page
 * fault in kernel mode at an instruction listed in the exception table (uaccess.S, the user
 * copies) resumes at that entry's fixup, which returns -HX_EFAULT. An exception raised in user mode
 * goes to the process layer, which ends that process. Every other exception prints a report on
 * the console and exits QEMU with HX_EXIT_FAULT. The report's line formats are an
 * interface (boot tests grep them); see the comment above report_exception.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <helix/arch/cpu.h>
#include <helix/arch/exit.h>
#include <helix/arch/gdt.h>
#include <helix/arch/idt.h>
#include <helix/arch/memory.h>
#include <helix/arch/serial.h>
#include <helix/arch/uaccess.h>
#include <helix/compiler.h>
#include <helix/fmt.h>
#include <helix/platform.h>

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate (clears IF) */
#define BACKTRACE_MAX  16

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} HX_PACKED;

HX_STATIC_ASSERT(sizeof(struct idt_gate) == 16, "an IDT gate is 16 bytes");

struct descriptor_pointer {
	uint16_t limit;
	uint64_t base;
} HX_PACKED;

/* isr.S */
extern const uint64_t hx_isr_entries[HX_EXCEPTION_VECTORS];
extern const char hx_irq_stubs[];

#define VECTORS 256

static hx_irq_handler_fn irq_handlers[VECTORS];
static hx_irq_exit_fn irq_exit_hook;
static hx_user_fault_fn user_fault_handler;
static _Atomic uint64_t irq_counts[VECTORS];

static _Alignas(16) struct idt_gate idt[256];

/* Exceptions being reported: a second one while reporting must not recurse. */
static _Atomic int reporting;

/* Page faults resolved through the exception table (hx_arch_uaccess_fixups). */
static _Atomic uint64_t uaccess_fixups;

static const char *const exception_names[HX_EXCEPTION_VECTORS] = {
	[0] = "divide error",
	[1] = "debug",
	[2] = "non-maskable interrupt",
	[3] = "breakpoint",
	[4] = "overflow",
	[5] = "bound range exceeded",
	[6] = "invalid opcode",
	[7] = "device not available",
	[8] = "double fault",
	[9] = "coprocessor segment overrun",
	[10] = "invalid TSS",
	[11] = "segment not present",
	[12] = "stack-segment fault",
	[13] = "general protection fault",
	[14] = "page fault",
	[15] = "reserved",
	[16] = "x87 floating-point error",
	[17] = "alignment check",
	[18] = "machine check",
	[19] = "SIMD floating-point exception",
	[20] = "virtualization exception",
	[21] = "control protection exception",
	[22] = "reserved",
	[23] = "reserved",
	[24] = "reserved",
	[25] = "reserved",
	[26] = "reserved",
	[27] = "reserved",
	[28] = "hypervisor injection exception",
	[29] = "VMM communication exception",
	[30] = "security exception",
	[31] = "reserved",
};

const char *hx_exception_name(uint64_t vector)
{
	if (vector < HX_EXCEPTION_VECTORS)
		return exception_names[vector];
	return "interrupt";
}

static void set_gate(unsigned vector, uint64_t handler, unsigned ist)
{
	struct idt_gate *gate = &idt[vector];

	gate->offset_low = (uint16_t)handler;
	gate->selector = HX_GDT_KERNEL_CODE;
	gate->ist = (uint8_t)ist;
	gate->type = GATE_INTERRUPT;
	gate->offset_mid = (uint16_t)(handler >> 16);
	gate->offset_high = (uint32_t)(handler >> 32);
	gate->reserved = 0;
}

void hx_idt_init(void)
{
	struct descriptor_pointer idtr = { .limit = sizeof(idt) - 1,
		                           .base = (uint64_t)(uintptr_t)idt };

	for (unsigned vector = 0; vector < HX_EXCEPTION_VECTORS; vector++) {
		unsigned ist = 0;

		/* These can hit with a broken or overflowed stack: give them their own. */
		if (vector == HX_VECTOR_DOUBLE_FAULT)
			ist = HX_IST_DOUBLE_FAULT;
		else if (vector == HX_VECTOR_NMI)
			ist = HX_IST_NMI;
		else if (vector == HX_VECTOR_MACHINE_CHECK)
			ist = HX_IST_MACHINE_CHECK;
		set_gate(vector, hx_isr_entries[vector], ist);
	}
	for (unsigned vector = HX_IRQ_VECTOR_BASE; vector < VECTORS; vector++)
		set_gate(vector,
		         (uint64_t)(uintptr_t)(hx_irq_stubs +
		                               (vector - HX_IRQ_VECTOR_BASE) * HX_IRQ_STUB_SIZE),
		         0);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

/* One report line, straight to the console: no log level can hide it, no heap is involved. */
static void HX_PRINTF(1, 2) report(const char *fmt, ...)
{
	char line[160];
	va_list args;
	int len;

	va_start(args, fmt);
	len = hx_vsnprintf(line, sizeof(line) - 1, fmt, args);
	va_end(args);
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	hx_console_write(line, (size_t)len);
}

static void report_page_fault(uint64_t error)
{
	bool present = error & (1u << 0);
	bool write = error & (1u << 1);
	bool user = error & (1u << 2);
	bool reserved = error & (1u << 3);
	bool fetch = error & (1u << 4);

	report("pf: present=%d write=%d user=%d reserved=%d fetch=%d (%s %s page in %s mode%s)",
	       present, write, user, reserved, fetch,
	       fetch ? "instruction fetch from" : (write ? "write to" : "read from"),
	       present ? "a present" : "a non-present", user ? "user" : "kernel",
	       reserved ? ", reserved bit set" : "");
}

/* #TS, #NP, #SS, #GP: a nonzero error code names the segment selector or IDT vector at fault. */
static void report_selector_error(uint64_t error)
{
	static const char *const tables[] = { "gdt", "idt", "ldt", "idt" };

	if (error == 0)
		return;
	report("selector: index 0x%04llx table %s external %d", (unsigned long long)(error >> 3),
	       tables[(error >> 1) & 3], (int)(error & 1));
}

/*
 * Return addresses along the rbp chain. Only frames inside the kernel image are read, the chain
 * must move up the stack, and it is bounded: a corrupted chain ends the walk, never the report.
 */
static void report_backtrace(uint64_t rip, uint64_t rbp)
{
	report("backtrace:");
	report("  #0 0x%016llx", (unsigned long long)rip);
	for (int depth = 1; depth < BACKTRACE_MAX; depth++) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
		uint64_t next, ret;

		if (!HX_IS_ALIGNED(rbp, 8) || !hx_kernel_image_contains(rbp, 16))
			break;
		next = frame[0];
		ret = frame[1];
		if (!hx_kernel_text_contains(ret))
			break;
		report("  #%d 0x%016llx", depth, (unsigned long long)ret);
		if (next <= rbp)
			break;
		rbp = next;
	}
}

#define X(v) ((unsigned long long)(v))

/*
 * The report, one line each (values in hex, 16 digits unless noted):
 *   exception: vector <n> (<name>) error 0x<error code>
 *   rip 0x<rip> cs 0x<4 digits> rflags 0x<rflags>
 *   rsp 0x<rsp> ss 0x<4 digits>
 *   cr2 0x<cr2> cr3 0x<cr3>
 *   rax 0x.. rbx 0x.. rcx 0x.. rdx 0x..
 *   rsi 0x.. rdi 0x.. rbp 0x.. r8 0x..
 *   r9 0x.. r10 0x.. r11 0x.. r12 0x..
 *   r13 0x.. r14 0x.. r15 0x..
 *   pf: present=<0|1> write=<0|1> user=<0|1> reserved=<0|1> fetch=<0|1> (<words>)   (#PF only)
 *   selector: index 0x<4 digits> table <gdt|idt|ldt> external <0|1>       (#TS #NP #SS #GP, error
 * != 0) backtrace: #0 0x<rip> #1 0x<return address> ... exception: exit status 2
 */
static HX_NORETURN void report_exception(const struct hx_trap_frame *frame, uint64_t cr2,
                                         uint64_t cr3)
{
	report("exception: vector %llu (%s) error 0x%016llx", X(frame->vector),
	       hx_exception_name(frame->vector), X(frame->error_code));
	report("rip 0x%016llx cs 0x%04llx rflags 0x%016llx", X(frame->rip), X(frame->cs),
	       X(frame->rflags));
	report("rsp 0x%016llx ss 0x%04llx", X(frame->rsp), X(frame->ss));
	report("cr2 0x%016llx cr3 0x%016llx", X(cr2), X(cr3));
	report("rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx", X(frame->rax),
	       X(frame->rbx), X(frame->rcx), X(frame->rdx));
	report("rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx r8 0x%016llx", X(frame->rsi),
	       X(frame->rdi), X(frame->rbp), X(frame->r8));
	report("r9 0x%016llx r10 0x%016llx r11 0x%016llx r12 0x%016llx", X(frame->r9),
	       X(frame->r10), X(frame->r11), X(frame->r12));
	report("r13 0x%016llx r14 0x%016llx r15 0x%016llx", X(frame->r13), X(frame->r14),
	       X(frame->r15));
	if (frame->vector == HX_VECTOR_PAGE_FAULT)
		report_page_fault(frame->error_code);
	else if (frame->vector >= 10 && frame->vector <= 13)
		report_selector_error(frame->error_code);
	report_backtrace(frame->rip, frame->rbp);
	report("exception: exit status %d", HX_EXIT_FAULT);
	hx_arch_exit(HX_EXIT_FAULT);
}

uint64_t hx_arch_extable_fixup(uint64_t rip)
{
	for (const struct hx_extable_entry *entry = __ex_table_start; entry < __ex_table_end;
	     entry++) {
		if (entry->fault_rip == rip)
			return entry->fixup_rip;
	}
	return 0;
}

uint64_t hx_arch_uaccess_fixups(void)
{
	return atomic_load_explicit(&uaccess_fixups, memory_order_relaxed);
}

/*
 * A page fault that a user copy expects: raised in kernel mode (CPL 0, and the error code's user
 * bit clear) by an instruction with an exception-table entry. Resume at its fixup; the copy
 * returns -HX_EFAULT. Every other page fault, including one inside a user copy raised from user
 * mode, is reported as always.
 */
static bool fixup_page_fault(struct hx_trap_frame *frame)
{
	uint64_t fixup;

	if (frame->vector != HX_VECTOR_PAGE_FAULT || (frame->cs & 3) != 0 ||
	    (frame->error_code & (1u << 2)) != 0)
		return false;
	fixup = hx_arch_extable_fixup(frame->rip);
	if (fixup == 0)
		return false;
	frame->rip = fixup;
	atomic_fetch_add_explicit(&uaccess_fixups, 1, memory_order_relaxed);
	return true;
}

int hx_irq_set_handler(unsigned vector, hx_irq_handler_fn fn)
{
	if (vector < HX_IRQ_VECTOR_BASE || vector >= VECTORS)
		return -HX_EINVAL;
	irq_handlers[vector] = fn;
	return 0;
}

void hx_irq_set_exit_hook(hx_irq_exit_fn fn)
{
	irq_exit_hook = fn;
}

void hx_idt_set_user_fault_handler(hx_user_fault_fn fn)
{
	user_fault_handler = fn;
}

uint64_t hx_irq_count(unsigned vector)
{
	if (vector >= VECTORS)
		return 0;
	return atomic_load_explicit(&irq_counts[vector], memory_order_relaxed);
}

/* An interrupt: its handler, then the exit hook (which may switch to another task: this one
 * resumes here later and returns through isr.S's iretq). */
static void handle_irq(struct hx_trap_frame *frame)
{
	unsigned vector = (unsigned)frame->vector;
	hx_irq_handler_fn fn = irq_handlers[vector];

	/* Relaxed: a statistic; interrupts are off, so only this CPU's handler adds. */
	if (atomic_fetch_add_explicit(&irq_counts[vector], 1, memory_order_relaxed) == 0 && !fn)
		report("irq: unexpected interrupt on vector %u (no handler); ignored", vector);
	if (fn)
		fn(frame);
	if (irq_exit_hook)
		irq_exit_hook(frame);
}

void hx_arch_trap(struct hx_trap_frame *frame)
{
	/* Read first: a fault while reporting would overwrite CR2. */
	uint64_t cr2 = hx_read_cr2();
	uint64_t cr3 = hx_read_cr3();

	if (frame->vector >= HX_IRQ_VECTOR_BASE) {
		handle_irq(frame);
		return;
	}
	if (fixup_page_fault(frame))
		return;
	/* An exception in user mode ends that process, never the kernel. */
	if ((frame->cs & 3) == 3 && user_fault_handler)
		user_fault_handler(frame, cr2);
	hx_console_force_unlocked();
	/* Relaxed: it only detects an exception inside the report, on this same CPU. */
	if (atomic_fetch_add_explicit(&reporting, 1, memory_order_relaxed) != 0) {
		report("exception: vector %llu (%s) error 0x%016llx rip 0x%016llx while "
		       "reporting another",
		       X(frame->vector), hx_exception_name(frame->vector), X(frame->error_code),
		       X(frame->rip));
		hx_arch_exit(HX_EXIT_FAULT);
	}
	report_exception(frame, cr2, cr3);
}
