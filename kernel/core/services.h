/* SPDX-License-Identifier: MIT */
/*
 * The kernel's IPC services, started at boot after the scheduler (kernel/core/services.c):
 *   - the global event bus (hx_global_event_bus) and its dispatcher task "events" (high
 *     priority), a timer event on HX_TOPIC_TIMER at every tick, and the "audit" subscriber
 *     (HX_PRIO_HIGH, process and memory topics) that logs each event as an `audit:` line;
 *   - memory pressure: the frame allocator's watch publishes HX_EVENT_MEMORY_PRESSURE when the
 *     level changes (hx_bus_note_memory), and the "vm-cache" subscriber (HX_PRIO_NORMAL) gives
 *     the vm frame cache back to the allocator at any level above NONE;
 *   - the kernel router, attached to the router_call syscall, with the module `sysinfo` served by
 *     its own task;
 *   - the process layer (process.h), attached to the spawn and wait syscalls.
 */
#ifndef HELIX_CORE_SERVICES_H
#define HELIX_CORE_SERVICES_H

#include <stdint.h>

#include <helix/abi.h> /* HX_SYSINFO_* */
#include <helix/compiler.h>

HX_BEGIN_DECLS

struct hx_bus;
struct hx_router;

/* hx_services_start - start everything above. Boot task, once, after hx_sched_init and hx_vm_init.
 */
void hx_services_start(void);

struct hx_bus *hx_services_bus(void);
struct hx_router *hx_services_router(void);

/* hx_services_audit_records - events the audit subscriber has logged. */
uint64_t hx_services_audit_records(void);

/* hx_sysinfo_read - what sysinfo answers, read now. Task context. */
void hx_sysinfo_read(uint64_t fields[HX_SYSINFO_FIELDS]);

HX_END_DECLS

#endif /* HELIX_CORE_SERVICES_H */
