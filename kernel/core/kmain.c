// SPDX-License-Identifier: MIT
/*
 * kmain: from boot.S's long-mode entry to "helix: boot ok". Runs on the boot CPU with interrupts
 * off.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/arch/clock.h>
#include <helix/arch/exit.h>
#include <helix/arch/gdt.h>
#include <helix/arch/idt.h>
#include <helix/arch/memory.h>
#include <helix/arch/serial.h>
#include <helix/arch/timer.h>
#include <helix/arch/usermode.h>
#include <helix/arch/vm.h>
#include <helix/cmdline.h>
#include <helix/errors.h>
#include <helix/frames.h>
#include <helix/heap.h>
#include <helix/log.h>
#include <helix/multiboot2.h>
#include <helix/platform.h>
#include <helix/string.h>

#include "kernel.h"
#include "process.h"
#include "sched.h"
#include "services.h"

#define MIB (1024ull * 1024ull)

/* Reserved physical ranges: low memory, the kernel, the MBI, the modules. */
#define RESERVED_MAX (3 + HX_MB2_MAX_MODULES)

/* Too big for the 32 KiB boot stack to carry comfortably: kmain runs once, so static is fine. */
static struct hx_mb2_info boot_info;
static struct hx_cmdline cmdline;

static const char *mem_type_name(uint32_t type)
{
	switch (type) {
	case HX_MEM_USABLE:
		return "usable";
	case HX_MEM_RESERVED:
		return "reserved";
	case HX_MEM_ACPI_RECLAIMABLE:
		return "ACPI reclaimable";
	case HX_MEM_ACPI_NVS:
		return "ACPI NVS";
	case HX_MEM_BAD:
		return "bad";
	default:
		return "unknown";
	}
}

/* The MBI through the direct map. Without it there is no memory map, so every problem is fatal. */
static void parse_boot_info(uint32_t magic, uint64_t mbi_phys)
{
	const char *reason = NULL;
	const void *mbi;
	uint32_t total_size;
	int err;

	if (magic != HX_MB2_BOOTLOADER_MAGIC)
		hx_panic("boot: multiboot2 magic 0x%08x, expected 0x%08x", magic,
		         HX_MB2_BOOTLOADER_MAGIC);
	if (mbi_phys == 0 || mbi_phys % 8 != 0 || mbi_phys + 8 > HX_DIRECT_MAP_SIZE)
		hx_panic("boot: multiboot2 information at 0x%llx is unusable",
		         (unsigned long long)mbi_phys);
	mbi = hx_phys_to_virt(mbi_phys);
	total_size = *(const uint32_t *)mbi;
	if (mbi_phys + total_size > HX_DIRECT_MAP_SIZE)
		hx_panic(
		    "boot: multiboot2 information at 0x%llx (%u bytes) lies beyond the direct map",
		    (unsigned long long)mbi_phys, total_size);
	err = hx_mb2_parse(mbi, total_size, &boot_info, &reason);
	if (err != 0)
		hx_panic("boot: bad multiboot2 information: %s (%s)", reason ? reason : "?",
		         hx_error_name(err));
}

/* A bad command line never stops the boot: warn, keep the defaults. */
static void parse_cmdline(void)
{
	struct hx_cmdline_error error = { 0 };
	const char *level_name;
	enum hx_log_level level;
	int err;

	err = hx_cmdline_parse(&cmdline, boot_info.cmdline, &error);
	if (err != 0) {
		hx_warn("cmdline: malformed at offset %zu: %s (%s); booting with defaults",
		        error.offset, error.reason ? error.reason : "?", hx_error_name(err));
		return; /* a failed parse leaves no arguments: all defaults */
	}
	level_name = hx_cmdline_get(&cmdline, "log");
	if (level_name) {
		if (hx_log_level_parse(level_name, &level) == 0)
			hx_log_set_level(level);
		else
			hx_warn(
			    "cmdline: log=%s: unknown level (debug, info, warn, error); keeping %s",
			    level_name, hx_log_level_name(hx_log_get_level()));
	}
}

static void init_memory(uint64_t mbi_phys)
{
	struct hx_mem_range reserved[RESERVED_MAX];
	size_t count = 0;
	int err;

	for (size_t i = 0; i < boot_info.mmap_len; i++) {
		const struct hx_mem_region *region = &boot_info.mmap[i];

		hx_debug("memory: [0x%016llx, 0x%016llx) %s", (unsigned long long)region->base,
		         (unsigned long long)(region->base + region->length),
		         mem_type_name(region->type));
	}

	/* Real-mode IVT, BIOS data, EBDA, ROMs: never handed out, whatever the map says. */
	reserved[count++] = (struct hx_mem_range){ .base = 0, .length = 1 * MIB };
	reserved[count++] = (struct hx_mem_range){
		.base = hx_kernel_phys_start(),
		.length = hx_kernel_phys_end() - hx_kernel_phys_start(),
	};
	reserved[count++] =
	    (struct hx_mem_range){ .base = mbi_phys, .length = boot_info.total_size };
	for (size_t i = 0; i < boot_info.modules_len; i++) {
		const struct hx_mb2_module *module = &boot_info.modules[i];

		if (module->end <= module->start)
			continue;
		reserved[count++] = (struct hx_mem_range){
			.base = module->start,
			.length = module->end - module->start,
		};
	}

	err = hx_kmem_init_frames(boot_info.mmap, boot_info.mmap_len, reserved, count);
	if (err != 0)
		hx_panic("memory: frame allocator: %s", hx_error_name(err));
	hx_kmem_init_heap();
}

static void print_banner(void)
{
	struct hx_frames_stats frames;
	struct hx_heap_stats heap;
	uint64_t usable = 0;

	hx_frames_get_stats(hx_kmem_frames(), &frames);
	hx_heap_get_stats(hx_kmem_heap(), &heap);
	for (size_t i = 0; i < boot_info.mmap_len; i++) {
		if (boot_info.mmap[i].type == HX_MEM_USABLE)
			usable += boot_info.mmap[i].length;
	}

	hx_printk("helix-core %s x86_64\n", HX_VERSION);
	hx_printk("boot loader: %s\n", boot_info.bootloader ? boot_info.bootloader : "(unknown)");
	hx_printk("command line: %s\n", boot_info.cmdline ? boot_info.cmdline : "");
	hx_printk("memory: %llu MiB usable, %llu of %llu frames free (%llu MiB), heap %zu KiB "
	          "(%zu KiB used)\n",
	          (unsigned long long)(usable / MIB), (unsigned long long)frames.free_frames,
	          (unsigned long long)frames.total_frames,
	          (unsigned long long)(frames.free_frames * HX_FRAME_SIZE / MIB),
	          heap.region_bytes / 1024, heap.used_bytes / 1024);
	if (frames.beyond_limit != 0)
		hx_info("memory: %llu MiB above 4 GiB not managed (beyond the direct map)",
		        (unsigned long long)(frames.beyond_limit / MIB));
}

/* The scheduler and the timer: `hz=N` (HX_TIMER_HZ_MIN..MAX), `timer=apic|pit`. Bad values warn
 * and keep the defaults. */
static void start_tasks(void)
{
	const char *hz_text = hx_cmdline_get(&cmdline, "hz");
	const char *timer = hx_cmdline_get(&cmdline, "timer");
	uint32_t hz = HX_TIMER_HZ_DEFAULT;
	bool force_pit = false;

	if (hz_text) {
		uint64_t value = 0;
		const char *p = hz_text;

		while (*p >= '0' && *p <= '9' && value <= HX_TIMER_HZ_MAX)
			value = value * 10 + (uint64_t)(*p++ - '0');
		if (*p != '\0' || p == hz_text || value < HX_TIMER_HZ_MIN ||
		    value > HX_TIMER_HZ_MAX)
			hx_warn("cmdline: hz=%s: not a rate in %u..%u; keeping %u", hz_text,
			        HX_TIMER_HZ_MIN, HX_TIMER_HZ_MAX, hz);
		else
			hz = (uint32_t)value;
	}
	if (timer) {
		if (hx_strcmp(timer, "pit") == 0)
			force_pit = true;
		else if (hx_strcmp(timer, "apic") != 0)
			hx_warn("cmdline: timer=%s: unknown (apic, pit); keeping apic", timer);
	}
	hx_sched_init(hz, force_pit);
}

/*
 * The first user program: `init=<program>` (default "init"), `init=none` for none. The kernel
 * waits for it; a status other than 0 ends the boot with HX_EXIT_INIT.
 */
static void run_init(void)
{
	const char *name = hx_cmdline_get(&cmdline, "init");
	int32_t status = -1;
	long pid, err;

	if (!name)
		name = "init";
	if (hx_strcmp(name, "none") == 0)
		return;
	pid = hx_process_spawn(NULL, name);
	if (pid < 0) {
		hx_printk("helix: init program %s could not start: %s\n", name,
		          hx_error_name((int)pid));
		hx_arch_exit(HX_EXIT_INIT);
	}
	err = hx_process_wait(NULL, (uint64_t)pid, HX_FOREVER, &status);
	if (err < 0)
		hx_panic("helix: waiting for init (pid %ld): %s", pid, hx_error_name((int)err));
	hx_printk("helix: init (pid %ld) exited with status %d\n", pid, status);
	if (status != 0)
		hx_arch_exit(HX_EXIT_INIT);
}

void kmain(uint32_t magic, uint64_t mbi_phys)
{
	const char *selftests;

	hx_serial_init();
	hx_gdt_init();
	hx_idt_init();
	hx_arch_syscall_init();

	parse_boot_info(magic, mbi_phys);
	parse_cmdline();
	hx_clock_init();
	init_memory(mbi_phys);
	hx_mmu_drop_identity_map();
	hx_vm_init(hx_kmem_frames());

	print_banner();
	start_tasks();
	hx_services_start();

	selftests = hx_cmdline_get(&cmdline, "selftest");
	if (selftests)
		hx_selftest_run_list(selftests);

	run_init();

	hx_printk("helix: boot ok\n");
	hx_arch_exit(HX_EXIT_OK);
}
