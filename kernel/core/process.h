/* SPDX-License-Identifier: MIT */
/*
 * User processes (kernel/core/process.c): a program built into the image (helix/programs.h),
 * loaded into an address space of its own (helix/arch/vm.h) and run in ring 3 by one kernel task,
 * which enters the kernel through SYSCALL, interrupts and exceptions on its own kernel stack.
 *
 * Life of a process: spawn parses the ELF image, maps its segments and a stack, creates the handle
 * table and the task, and publishes HX_EVENT_PROCESS_CREATED. The process ends when it calls exit
 * (status 0..HX_PROCESS_EXIT_MAX) or when a CPU exception in user mode kills it (status
 * HX_STATUS_KILLED | vector, with a report on the console): its task closes its handles, frees its
 * address space, wakes its parent, publishes HX_EVENT_PROCESS_EXITED and exits. The parent
 * collects the status with wait; until then the process is a zombie holding only its record.
 * Children of an ending process are orphaned: their records go when they end. A process started
 * by the kernel (parent NULL) is collected by the kernel with hx_process_wait(NULL, ...).
 */
#ifndef HELIX_CORE_PROCESS_H
#define HELIX_CORE_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/syscall/syscall.h>

HX_BEGIN_DECLS

#define HX_PROCESS_MAX 64 /* live processes, zombies included */

struct hx_process_stats {
	uint64_t spawned; /* processes created since boot */
	uint64_t exited;  /* ended by exit */
	uint64_t killed;  /* ended by a CPU exception */
	uint32_t live;    /* records held now (running and zombies) */
	uint32_t zombies; /* ended, not yet collected */
};

/*
 * hx_process_init - attach the process layer to the syscall layer (spawn, wait), the IDT (user
 * faults) and the bus @bus (created/exited events; may be NULL). Boot, once, after hx_vm_init and
 * the scheduler.
 */
struct hx_bus;
void hx_process_init(struct hx_bus *bus);

/*
 * hx_process_spawn - start program @name as a child of @parent (NULL: of the kernel). Task
 * context. Returns the pid (> 0), -HX_ENOENT (no such program), -HX_ENOEXEC (not a loadable ELF
 * image; the reason is logged), -HX_EAGAIN (HX_PROCESS_MAX records live), -HX_ENOMEM.
 */
long hx_process_spawn(struct hx_syscall_caller *parent, const char *name);

/*
 * hx_process_wait - wait until child @pid of @parent (NULL: a process the kernel started) has
 * ended, until @deadline_ns; then *@status and the record is freed. Task context. Returns @pid,
 * -HX_ECHILD, -HX_EAGAIN (HX_NOWAIT, still running), -HX_ETIMEDOUT.
 */
long hx_process_wait(struct hx_syscall_caller *parent, uint64_t pid, uint64_t deadline_ns,
                     int32_t *status);

/* hx_process_get_stats - a snapshot. Task context. */
void hx_process_get_stats(struct hx_process_stats *out);

HX_END_DECLS

#endif /* HELIX_CORE_PROCESS_H */
