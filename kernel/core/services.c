// SPDX-License-Identifier: MIT
/*
 * The kernel's own IPC services (services.h): the global event bus with its dispatcher task, timer
 * events from the tick, memory-pressure events from the frame allocator and the vm cache giving
 * frames back on them, the audit subscriber, the kernel router with its `sysinfo` module, and the
 * process layer attached to the syscalls.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/arch/timer.h>
#include <helix/arch/vm.h>
#include <helix/errors.h>
#include <helix/frames.h>
#include <helix/heap.h>
#include <helix/ipc/event_bus.h>
#include <helix/ipc/router.h>
#include <helix/ipc/wire.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/syscall/syscall.h>

#include "kernel.h"
#include "process.h"
#include "sched.h"
#include "services.h"

#define ROUTER_MODULES 64
#define SYSINFO_QUEUE  16
#define SYSINFO_FIELDS 6

static struct hx_bus *bus;
static struct hx_router *router;
static uint64_t sysinfo_id;
static _Atomic uint64_t audit_records;
static struct hx_mem_watch memory_watch = HX_MEM_WATCH_INIT;

/* The frame allocator's watch (any context, often with interrupts off): a memory-pressure event
 * when the level changes. A full queue drops it; the next change of the free count retries. */
static void note_memory(void *ctx, uint64_t free_frames, uint64_t total_frames)
{
	(void)hx_bus_note_memory(bus, &memory_watch, free_frames, total_frames);
}

/* The vm frame cache's subscriber: under any pressure, the cached frames go back. */
static enum hx_bus_response give_back_cache(const struct hx_event *event, void *ctx)
{
	size_t drained;

	if (event->memory.level == HX_MEM_PRESSURE_NONE)
		return HX_BUS_IGNORED;
	drained = hx_vm_cache_drain();
	if (drained == 0)
		return HX_BUS_IGNORED;
	hx_info("memory: pressure level %u: the vm cache gave back %zu frames", event->memory.level,
	        drained);
	return HX_BUS_HANDLED;
}

/* The tick, in interrupt context: one timer event per tick (dropped and counted when the
 * dispatcher has fallen a whole queue behind). */
static void publish_tick(uint64_t tick, uint64_t now_ns)
{
	struct hx_event event = hx_event_timer_tick(tick, now_ns);

	event.timestamp_ns = now_ns;
	(void)hx_bus_publish(bus, &event);
}

static void dispatch(void *arg)
{
	int result = hx_bus_dispatch(bus, HX_FOREVER);

	hx_warn("events: the dispatcher stopped: %s", hx_error_name(result));
}

/* The audit subscriber: high priority, so it sees process events before anyone else. */
static enum hx_bus_response audit(const struct hx_event *event, void *ctx)
{
	atomic_fetch_add_explicit(&audit_records, 1, memory_order_relaxed);
	switch (event->kind) {
	case HX_EVENT_PROCESS_CREATED:
		if (event->created.parent)
			hx_printk("audit: process %llu created by process %llu\n",
			          (unsigned long long)event->created.pid,
			          (unsigned long long)event->created.parent);
		else
			hx_printk("audit: process %llu created by the kernel\n",
			          (unsigned long long)event->created.pid);
		break;
	case HX_EVENT_PROCESS_EXITED:
		if (event->exited.status & HX_STATUS_KILLED)
			hx_printk("audit: process %llu killed by exception %d\n",
			          (unsigned long long)event->exited.pid,
			          event->exited.status & ~HX_STATUS_KILLED);
		else
			hx_printk("audit: process %llu exited with status %d\n",
			          (unsigned long long)event->exited.pid, event->exited.status);
		break;
	case HX_EVENT_MEMORY_PRESSURE:
		hx_printk("audit: memory pressure level %u: %llu of %llu frames free\n",
		          event->memory.level, (unsigned long long)event->memory.free_frames,
		          (unsigned long long)event->memory.total_frames);
		break;
	default:
		return HX_BUS_IGNORED;
	}
	return HX_BUS_HANDLED;
}

/* ---- sysinfo ---- */

void hx_sysinfo_read(uint64_t fields[HX_SYSINFO_FIELDS])
{
	struct hx_frames_stats frames;
	struct hx_heap_stats heap;
	struct hx_sched_stats sched;
	struct hx_process_stats procs;

	hx_frames_get_stats(hx_kmem_frames(), &frames);
	hx_heap_get_stats(hx_kmem_heap(), &heap);
	hx_sched_get_stats(&sched);
	hx_process_get_stats(&procs);
	fields[0] = frames.total_frames;
	fields[1] = frames.free_frames;
	fields[2] = heap.used_bytes;
	fields[3] = sched.tasks;
	fields[4] = procs.live;
	fields[5] = hx_time_ns();
}

/*
 * Method HX_SYSINFO_GET, empty request: the reply is an array of HX_SYSINFO_FIELDS unsigned
 * integers in the order of hx_sysinfo_read (helix/abi.h).
 */
static int sysinfo_handler(void *ctx, const struct hx_router_request *req,
                           struct hx_router_reply *reply)
{
	uint64_t fields[HX_SYSINFO_FIELDS];
	struct hx_wire_builder b;
	size_t len;
	int err;

	if (req->method != HX_SYSINFO_GET)
		return -HX_ENOSYS;
	if (req->len != 0)
		return -HX_EINVAL;
	hx_sysinfo_read(fields);
	hx_wire_builder_init(&b, reply->data, reply->cap);
	hx_wire_put_array(&b, HX_SYSINFO_FIELDS);
	for (size_t i = 0; i < HX_SYSINFO_FIELDS; i++)
		hx_wire_put_uint(&b, fields[i]);
	err = hx_wire_builder_finish(&b, &len, NULL);
	if (err == -HX_ENOSPC) {
		reply->len = reply->cap + 1; /* the caller learns it needs more room */
		return 0;
	}
	if (err)
		return err;
	reply->len = len;
	return 0;
}

static void serve_sysinfo(void *arg)
{
	int result = hx_router_serve(router, sysinfo_id, HX_FOREVER);

	hx_warn("sysinfo: the server stopped: %s", hx_error_name(result));
}

/* ---- Start ---- */

struct hx_bus *hx_services_bus(void)
{
	return bus;
}

struct hx_router *hx_services_router(void)
{
	return router;
}

uint64_t hx_services_audit_records(void)
{
	return atomic_load_explicit(&audit_records, memory_order_relaxed);
}

void hx_services_start(void)
{
	int err;

	bus = hx_global_event_bus();
	if (!bus)
		hx_panic("services: no memory for the event bus");
	err = hx_bus_subscribe(bus, &(struct hx_subscription){
	                                .name = "audit",
	                                .topics = HX_TOPIC_PROCESS | HX_TOPIC_MEMORY,
	                                .handler = audit,
	                                .priority = HX_PRIO_HIGH,
	                            });
	if (err < 0)
		hx_panic("services: audit subscriber: %s", hx_error_name(err));
	err = hx_bus_subscribe(bus, &(struct hx_subscription){
	                                .name = "vm-cache",
	                                .topics = HX_TOPIC_MEMORY,
	                                .handler = give_back_cache,
	                                .priority = HX_PRIO_NORMAL,
	                            });
	if (err < 0)
		hx_panic("services: vm cache subscriber: %s", hx_error_name(err));
	if ((err = hx_task_create("events", HX_TASK_PRIO_HIGH, dispatch, NULL, NULL)))
		hx_panic("services: dispatcher task: %s", hx_error_name(err));
	hx_sched_set_tick_hook(publish_tick);
	hx_frames_set_watch(hx_kmem_frames(), note_memory, NULL);

	if ((err = hx_router_create(ROUTER_MODULES, &router)))
		hx_panic("services: router: %s", hx_error_name(err));
	if ((err = hx_router_register(router, HX_SYSINFO_MODULE, sysinfo_handler, NULL,
	                              SYSINFO_QUEUE, &sysinfo_id)))
		hx_panic("services: sysinfo module: %s", hx_error_name(err));
	if ((err = hx_task_create("sysinfo", HX_TASK_PRIO_NORMAL, serve_sysinfo, NULL, NULL)))
		hx_panic("services: sysinfo task: %s", hx_error_name(err));
	(void)hx_syscall_set_router(router);
	hx_process_init(bus);
}
