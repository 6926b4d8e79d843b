// SPDX-License-Identifier: MIT
/*
 * User processes (process.h). The records live on one list guarded by `lock` (a spinlock: the
 * critical sections never block). A record is freed exactly once, by whoever sees it both ended
 * and unwanted: its parent collecting it (wait), the parent ending while it is a zombie, or the
 * process itself at its end when it is an orphan. `ended` is the futex word a waiting parent
 * sleeps on; it goes 0 -> 1 once, under the lock, after everything the parent may read is set.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/arch/idt.h>
#include <helix/arch/usermode.h>
#include <helix/arch/vm.h>
#include <helix/elf.h>
#include <helix/errors.h>
#include <helix/fmt.h>
#include <helix/ipc/event_bus.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/programs.h>
#include <helix/spinlock.h>
#include <helix/string.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>
#include <helix/user/layout.h>

#include "process.h"
#include "sched.h"

struct process {
	struct hx_syscall_caller caller; /* first: hx_task_context points here */
	struct hx_uspace uspace;
	struct hx_vm *vm;
	struct process *parent; /* NULL: the kernel's, or orphaned */
	struct process *next;   /* the list */
	bool kernel_child;      /* started by the kernel, which collects it */
	bool collected;         /* a wait took it: nobody may touch it after the unlock */
	HX_ATOMIC(uint32_t) ended;
	int32_t status;
	uint64_t entry;
	char name[HX_PROGRAM_NAME_MAX + 1];
};

static struct hx_spinlock lock = HX_SPINLOCK_INIT;
static struct process *processes;
static uint64_t next_pid = 1;
static struct hx_process_stats stats;
static struct hx_bus *event_bus;

static struct process *of_caller(struct hx_syscall_caller *caller)
{
	return (struct process *)caller; /* caller is the first member */
}

static struct process *current_process(void)
{
	return hx_task_context();
}

static void publish(struct hx_event *event)
{
	if (event_bus)
		(void)hx_bus_publish(event_bus, event); /* a full queue counts it as dropped */
}

/* ---- Loading ---- */

static uint64_t page_floor(uint64_t addr)
{
	return addr & ~(uint64_t)(HX_VM_PAGE_SIZE - 1);
}

static uint64_t page_ceil(uint64_t addr)
{
	return page_floor(addr + HX_VM_PAGE_SIZE - 1);
}

/* Map @info's segments and the stack into @vm and copy the initialised bytes. */
static int load(struct hx_vm *vm, const struct hx_program *program, const struct hx_elf_info *info)
{
	int err;

	for (size_t i = 0; i < info->count; i++) {
		const struct hx_elf_segment *seg = &info->segments[i];
		uint64_t start = page_floor(seg->vaddr);
		uint64_t end = page_ceil(seg->vaddr + seg->memsz);
		unsigned flags = 0;

		if (seg->flags & HX_ELF_W)
			flags |= HX_VM_WRITE;
		if (seg->flags & HX_ELF_X)
			flags |= HX_VM_EXEC;
		err = hx_vm_alloc(vm, start, (size_t)(end - start), flags);
		if (err)
			return err;
		/* Fresh frames are zeroed: the bss part needs nothing more. */
		err = hx_vm_write(vm, seg->vaddr, program->image + seg->file_offset,
		                  (size_t)seg->filesz);
		if (err)
			return err;
	}
	return hx_vm_alloc(vm, HX_USER_STACK_BOTTOM, HX_USER_STACK_SIZE, HX_VM_WRITE);
}

static void free_record(struct process *proc)
{
	hx_free(proc);
}

/* ---- Running and ending ---- */

/* The process's task: into its address space, then ring 3. */
static void process_main(void *arg)
{
	struct process *proc = arg;

	hx_task_set_context(&proc->caller);
	hx_task_set_vm(hx_task_current(), proc->vm);
	hx_arch_enter_user(proc->entry, HX_USER_STACK_TOP);
}

/*
 * End the calling process with @status, on its own task with interrupts on: close its handles,
 * free its address space, publish the exit, hand its status to its parent (or free its record if
 * there is none to collect it), and exit the task.
 */
static HX_NORETURN void process_end(struct process *proc, int32_t status, bool killed)
{
	struct hx_event event = hx_event_process_exited(proc->caller.pid, status);
	bool free_self;

	hx_handles_destroy(proc->caller.handles);
	proc->caller.handles = NULL;
	hx_task_set_vm(hx_task_current(), NULL);
	hx_vm_destroy(proc->vm);
	proc->vm = NULL;
	/* Before the parent can see the end: subscribers (the audit) hear of it first. */
	publish(&event);

	hx_spin_lock(&lock);
	/* Orphan the children; the ended ones have nobody left to collect them. */
	for (struct process **link = &processes; *link;) {
		struct process *child = *link;

		if (child->parent == proc) {
			child->parent = NULL;
			if (atomic_load_explicit(&child->ended, memory_order_relaxed)) {
				*link = child->next;
				stats.live--;
				stats.zombies--;
				free_record(child);
				continue;
			}
		}
		link = &child->next;
	}
	proc->status = status;
	if (killed)
		stats.killed++;
	else
		stats.exited++;
	free_self = proc->parent == NULL && !proc->kernel_child;
	if (free_self) {
		for (struct process **link = &processes; *link; link = &(*link)->next) {
			if (*link == proc) {
				*link = proc->next;
				break;
			}
		}
		stats.live--;
	} else {
		stats.zombies++;
	}
	/* Release: a parent that sees 1 (acquire) sees the status. The wake happens under the lock,
	 * so the parent cannot free the record before it. */
	atomic_store_explicit(&proc->ended, 1, memory_order_release);
	(void)hx_futex_wake(&proc->ended, HX_WAKE_ALL);
	hx_spin_unlock(&lock);

	hx_task_set_context(NULL);
	if (free_self)
		free_record(proc);
	hx_task_exit();
}

void hx_arch_syscall_return(struct hx_syscall_frame *frame)
{
	struct process *proc = current_process();

	if (!proc)
		hx_panic("syscall: returning to user mode from a task with no process");
	/* Acquire: pairs with the exit handler's release of exit_status. */
	if (atomic_load_explicit(&proc->caller.exited, memory_order_acquire))
		process_end(proc, proc->caller.exit_status, false);
	if (frame->rip >= HX_USER_CANONICAL_END) {
		hx_printk("process %llu (%s): killed: return address 0x%016llx is not a user "
		          "address\n",
		          (unsigned long long)proc->caller.pid, proc->name,
		          (unsigned long long)frame->rip);
		process_end(proc, HX_STATUS_KILLED | HX_VECTOR_GENERAL_PROTECTION, true);
	}
}

/* A CPU exception in user mode: report it and end the process. Interrupts are off on entry. */
static HX_NORETURN void user_fault(struct hx_trap_frame *frame, uint64_t cr2)
{
	struct process *proc = current_process();
	char where[32] = "";

	if (!proc)
		hx_panic("exception %llu in user mode on a task with no process",
		         (unsigned long long)frame->vector);
	/* CR2 means something for a page fault only: the address that faulted. */
	if (frame->vector == HX_VECTOR_PAGE_FAULT)
		hx_snprintf(where, sizeof(where), ", cr2 0x%016llx", (unsigned long long)cr2);
	hx_printk("process %llu (%s): killed by %s (vector %llu, error 0x%llx) at rip 0x%016llx, "
	          "rsp 0x%016llx%s\n",
	          (unsigned long long)proc->caller.pid, proc->name,
	          hx_exception_name(frame->vector), (unsigned long long)frame->vector,
	          (unsigned long long)frame->error_code, (unsigned long long)frame->rip,
	          (unsigned long long)frame->rsp, where);
	__asm__ volatile("sti" ::: "memory");
	process_end(proc, (int32_t)(HX_STATUS_KILLED | frame->vector), true);
}

/* ---- Spawn and wait ---- */

/* A record for @program with its address space, handles and user space; not yet listed. */
static long create_record(const struct hx_program *program, struct process **out)
{
	struct hx_elf_info info;
	struct process *proc;
	int err;

	err = hx_elf_parse(program->image, program->size, HX_USER_BASE, HX_USER_STACK_GUARD, &info);
	if (err) {
		hx_warn("spawn %s: not a loadable program: %s", program->name,
		        info.reason ? info.reason : "?");
		return -HX_ENOEXEC;
	}
	proc = hx_zalloc(sizeof(*proc));
	if (!proc)
		return -HX_ENOMEM;
	hx_strlcpy(proc->name, program->name, sizeof(proc->name));
	proc->entry = info.entry;
	err = hx_vm_create(&proc->vm);
	if (!err)
		err = load(proc->vm, program, &info);
	if (!err)
		err = hx_handles_create(&proc->caller.handles);
	if (!err)
		err = hx_uspace_kernel_init_vm(&proc->uspace, proc->vm);
	if (err) {
		hx_handles_destroy(proc->caller.handles);
		hx_vm_destroy(proc->vm);
		hx_free(proc);
		return err == -HX_ENOMEM ? err : -HX_ENOMEM;
	}
	proc->caller.uspace = &proc->uspace;
	*out = proc;
	return 0;
}

long hx_process_spawn(struct hx_syscall_caller *parent, const char *name)
{
	const struct hx_program *program = hx_program_find(name);
	struct hx_event event;
	struct process *proc;
	uint64_t pid;
	long err;

	if (!program)
		return -HX_ENOENT;
	err = create_record(program, &proc);
	if (err)
		return err;

	hx_spin_lock(&lock);
	if (stats.live >= HX_PROCESS_MAX || next_pid > HX_PID_MAX) {
		hx_spin_unlock(&lock);
		hx_handles_destroy(proc->caller.handles);
		hx_vm_destroy(proc->vm);
		hx_free(proc);
		return -HX_EAGAIN;
	}
	pid = next_pid++;
	proc->caller.pid = pid;
	proc->parent = parent ? of_caller(parent) : NULL;
	proc->kernel_child = parent == NULL;
	proc->next = processes;
	processes = proc;
	stats.live++;
	stats.spawned++;
	hx_spin_unlock(&lock);

	event = hx_event_process_created(pid, parent ? parent->pid : 0);
	publish(&event);
	err = hx_task_create(proc->name, HX_TASK_PRIO_NORMAL, process_main, proc, NULL);
	if (err) {
		/* No task will run it: end it here, as if it had been killed before its first
		 * instruction, so the parent still finds and collects it. */
		struct hx_event exited = hx_event_process_exited(pid, HX_STATUS_KILLED);

		hx_handles_destroy(proc->caller.handles);
		proc->caller.handles = NULL;
		hx_vm_destroy(proc->vm);
		proc->vm = NULL;
		hx_spin_lock(&lock);
		proc->status = HX_STATUS_KILLED;
		stats.killed++;
		stats.zombies++;
		atomic_store_explicit(&proc->ended, 1, memory_order_release);
		hx_spin_unlock(&lock);
		publish(&exited);
		hx_warn("spawn %s: no task for pid %llu: %s", name, (unsigned long long)pid,
		        hx_error_name((int)err));
	}
	return (long)pid;
}

/* The child @pid of @parent (NULL: a kernel child) that has not been collected, or NULL. */
static struct process *find_child(struct process *parent, uint64_t pid)
{
	for (struct process *p = processes; p; p = p->next) {
		if (p->caller.pid != pid || p->collected)
			continue;
		if (parent ? p->parent == parent : p->kernel_child)
			return p;
		return NULL;
	}
	return NULL;
}

static long wait_child(struct process *parent, uint64_t pid, uint64_t deadline_ns,
                       int (*collect)(void *, int32_t), void *collect_ctx, int32_t *status_out)
{
	struct process *child;
	int err;

	hx_spin_lock(&lock);
	child = find_child(parent, pid);
	hx_spin_unlock(&lock);
	if (!child)
		return -HX_ECHILD;
	/* Only this parent frees the child while it lives: it stays valid while we wait. */
	while (!atomic_load_explicit(&child->ended, memory_order_acquire)) {
		if (deadline_ns == HX_NOWAIT)
			return -HX_EAGAIN;
		err = hx_futex_wait(&child->ended, 0, deadline_ns);
		if (err == -HX_ETIMEDOUT)
			return err;
	}
	if (collect && (err = collect(collect_ctx, child->status)))
		return err;
	if (status_out)
		*status_out = child->status;
	hx_spin_lock(&lock);
	for (struct process **link = &processes; *link; link = &(*link)->next) {
		if (*link == child) {
			*link = child->next;
			break;
		}
	}
	child->collected = true;
	stats.live--;
	stats.zombies--;
	hx_spin_unlock(&lock);
	free_record(child);
	return (long)pid;
}

long hx_process_wait(struct hx_syscall_caller *parent, uint64_t pid, uint64_t deadline_ns,
                     int32_t *status)
{
	return wait_child(parent ? of_caller(parent) : NULL, pid, deadline_ns, NULL, NULL, status);
}

/*
 * The syscalls' caller must be a process of this layer: the syscall layer also serves callers that
 * tests bind by hand (selftest=syscall), and of_caller() would misread one of those.
 */
static bool is_process(struct hx_syscall_caller *caller)
{
	bool found = false;

	hx_spin_lock(&lock);
	for (struct process *p = processes; p && !found; p = p->next)
		found =
		    &p->caller == caller && !atomic_load_explicit(&p->ended, memory_order_relaxed);
	hx_spin_unlock(&lock);
	return found;
}

static long sys_spawn(struct hx_syscall_caller *parent, const char *name)
{
	if (!is_process(parent))
		return -HX_ENOSYS;
	return hx_process_spawn(parent, name);
}

static long sys_wait(struct hx_syscall_caller *parent, uint64_t pid, uint64_t deadline_ns,
                     int (*collect)(void *, int32_t), void *collect_ctx)
{
	if (!is_process(parent))
		return -HX_ENOSYS;
	return wait_child(of_caller(parent), pid, deadline_ns, collect, collect_ctx, NULL);
}

static const struct hx_process_ops process_ops = {
	.spawn = sys_spawn,
	.wait = sys_wait,
};

void hx_process_init(struct hx_bus *bus)
{
	event_bus = bus;
	hx_idt_set_user_fault_handler(user_fault);
	(void)hx_syscall_set_process_ops(&process_ops);
}

void hx_process_get_stats(struct hx_process_stats *out)
{
	hx_spin_lock(&lock);
	*out = stats;
	hx_spin_unlock(&lock);
}
