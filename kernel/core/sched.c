// SPDX-License-Identifier: MIT
/*
 * The scheduler (kernel/core/sched.h): tasks, run queues, the tick, sleeping and the futex-style
 * wait/wake, plus the task half of the platform API (hx_yield, hx_task_id, hx_task_context,
 * hx_futex_wait/wake, hx_preempt_disable/enable).
 *
 * State, all guarded by interrupts being off on the one CPU (see sched.h for the rules):
 *   - run queues: one FIFO per priority and a bitmap of the non-empty ones; the running task is in
 *     none of them;
 *   - futex buckets: blocked tasks waiting on a word, hashed by the word's address;
 *   - the sleep list: blocked tasks with a deadline, earliest first (a futex waiter with a
 *     deadline is in both);
 *   - every live task on the all-tasks list (statistics, dumps).
 * A task switch happens only in schedule(), with interrupts off: from a blocking call, a yield, an
 * exit, or the interrupt exit hook when the tick or a wakeup asked for preemption. The task that
 * was interrupted resumes inside its interrupt later and returns through iretq.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/arch/cpu.h>
#include <helix/arch/idt.h>
#include <helix/arch/task.h>
#include <helix/arch/timer.h>
#include <helix/arch/vm.h>
#include <helix/assert.h>
#include <helix/errors.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/string.h>

#include "sched.h"

#define FUTEX_BUCKETS 64u

struct list {
	struct list *prev, *next;
};

struct hx_task {
	struct list run;   /* run queue, or a futex bucket while blocked on a word */
	struct list sleep; /* the sleep list while blocked with a deadline */
	struct list all;   /* the all-tasks list */
	uint64_t rsp;      /* saved by hx_arch_switch while not running */
	uint64_t id;
	int prio;
	enum hx_task_state state;
	int slice;     /* ticks left in this time slice */
	bool detached; /* freed by the scheduler when it exits */
	bool on_sleep_list;
	bool in_bucket;
	bool timed_out;             /* the deadline, not a wake, ended the last block */
	HX_ATOMIC(uint32_t) *word;  /* the futex word it waits on, or NULL */
	uint64_t deadline;          /* HX_FOREVER: none */
	HX_ATOMIC(uint32_t) exited; /* 0 -> 1 once; joiners wait on it */
	void *stack;                /* NULL for the boot task (boot.S's stack) */
	uint64_t stack_top;
	struct hx_vm *vm;
	void *context; /* hx_task_context */
	char name[HX_TASK_NAME_MAX + 1];
};

static struct hx_task boot_task;
static struct hx_task *current;
static struct hx_task *idle_task;
static struct list run_queues[HX_TASK_PRIO_LEVELS];
static unsigned run_bitmap; /* bit p: run_queues[p] is not empty */
static struct list futex_buckets[FUTEX_BUCKETS];
static struct list sleep_list;
static struct list all_tasks;
static struct list zombies; /* detached tasks that exited, freed once switched away from */
static bool need_resched;
static unsigned preempt_count;
static uint64_t next_id = 1;
static void (*tick_hook)(uint64_t tick, uint64_t now_ns);
static struct hx_sched_stats stats;
static bool running;

/* ---- Lists ---- */

static void list_init(struct list *head)
{
	head->prev = head->next = head;
}

static bool list_empty(const struct list *head)
{
	return head->next == head;
}

static void list_insert_before(struct list *pos, struct list *node)
{
	node->prev = pos->prev;
	node->next = pos;
	pos->prev->next = node;
	pos->prev = node;
}

static void list_remove(struct list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->prev = node->next = node;
}

#define TASK_OF(ptr, member) ((struct hx_task *)((char *)(ptr)-offsetof(struct hx_task, member)))

/* ---- Run queues ---- */

static void enqueue(struct hx_task *task)
{
	task->state = HX_TASK_RUNNABLE;
	list_insert_before(&run_queues[task->prio], &task->run);
	run_bitmap |= 1u << task->prio;
	stats.runnable++;
}

static struct hx_task *dequeue_highest(void)
{
	struct hx_task *task;
	int prio;

	if (run_bitmap == 0)
		return NULL;
	prio = 31 - __builtin_clz(run_bitmap);
	task = TASK_OF(run_queues[prio].next, run);
	list_remove(&task->run);
	if (list_empty(&run_queues[prio]))
		run_bitmap &= ~(1u << prio);
	stats.runnable--;
	return task;
}

static int highest_runnable_prio(void)
{
	return run_bitmap ? 31 - __builtin_clz(run_bitmap) : -1;
}

/* ---- Switching ---- */

/* Load @vm's page tables (NULL: the kernel's). From schedule(), also at an interrupt's exit:
 * hx_vm_activate only writes CR3 and its current pointer, with interrupts off. */
static void switch_vm(struct hx_vm *vm)
{
	hx_vm_activate(vm);
}

/* Free what exited detached tasks left, except the running one's own stack. */
static void reap_zombies(void)
{
	while (!list_empty(&zombies)) {
		struct hx_task *task = TASK_OF(zombies.next, run);

		HX_ASSERT(task != current);
		list_remove(&task->run);
		list_remove(&task->all);
		stats.tasks--;
		hx_free(task->stack);
		hx_free(task);
	}
}

/*
 * Give the CPU to the highest-priority runnable task. The caller has interrupts off and has set
 * current->state: RUNNING (it stays runnable: back to the tail of its queue), BLOCKED or DEAD.
 */
static void schedule(void)
{
	struct hx_task *prev = current;
	struct hx_task *next;

	if (prev->state == HX_TASK_RUNNING) {
		/* Only switch for an equal or better task: a preempted task keeps the CPU over
		 * lower ones. */
		if (highest_runnable_prio() < prev->prio) {
			need_resched = false;
			prev->slice = HX_TASK_SLICE_TICKS;
			return;
		}
		enqueue(prev);
	}
	need_resched = false;
	next = dequeue_highest();
	HX_ASSERT(next != NULL); /* the idle task is always runnable */
	next->slice = HX_TASK_SLICE_TICKS;
	if (next == prev) {
		prev->state = HX_TASK_RUNNING;
		return;
	}
	next->state = HX_TASK_RUNNING;
	stats.switches++;
	if (next->vm != prev->vm)
		switch_vm(next->vm);
	hx_arch_set_kernel_stack(next->stack_top);
	current = next;
	hx_arch_switch(&prev->rsp, next->rsp);
	/* Back on prev's stack: something switched to it. */
	reap_zombies();
}

void hx_sched_task_entry(void (*entry)(void *), void *arg)
{
	reap_zombies();
	__asm__ volatile("sti" ::: "memory");
	entry(arg);
	hx_task_exit();
}

/* ---- Blocking and waking ---- */

static struct list *bucket_of(HX_ATOMIC(uint32_t) *word)
{
	uintptr_t addr = (uintptr_t)word;

	return &futex_buckets[(addr >> 2 ^ addr >> 8) % FUTEX_BUCKETS];
}

static void sleep_list_insert(struct hx_task *task)
{
	struct list *pos = sleep_list.next;

	while (pos != &sleep_list && TASK_OF(pos, sleep)->deadline <= task->deadline)
		pos = pos->next;
	list_insert_before(pos, &task->sleep);
	task->on_sleep_list = true;
}

/* Make a blocked task runnable; ask for preemption when it beats the running one. */
static void wake(struct hx_task *task, bool timed_out)
{
	HX_ASSERT(task->state == HX_TASK_BLOCKED);
	if (task->in_bucket) {
		list_remove(&task->run);
		task->in_bucket = false;
	}
	if (task->on_sleep_list) {
		list_remove(&task->sleep);
		task->on_sleep_list = false;
	}
	task->timed_out = timed_out;
	task->word = NULL;
	enqueue(task);
	if (task->prio > current->prio)
		need_resched = true;
}

/* A wakeup from task context asked for a better task: switch now rather than at the next tick,
 * unless the caller cannot be switched out (interrupts off, preemption disabled). */
static void resched_if_needed(void)
{
	unsigned long flags;

	if (!running || !need_resched || preempt_count != 0 || !(hx_read_rflags() & HX_RFLAGS_IF))
		return;
	flags = hx_irq_save();
	if (need_resched) {
		stats.preemptions++;
		schedule();
	}
	hx_irq_restore(flags);
}

/* Block the running task (interrupts off) until woken or @deadline; true when woken. */
static bool block(HX_ATOMIC(uint32_t) *word, uint64_t deadline)
{
	struct hx_task *self = current;

	if (preempt_count != 0)
		hx_panic("sched: task %s blocks with preemption disabled (%u)", self->name,
		         preempt_count);
	self->state = HX_TASK_BLOCKED;
	self->timed_out = false;
	self->word = word;
	self->deadline = deadline;
	if (word) {
		list_insert_before(bucket_of(word), &self->run);
		self->in_bucket = true;
	}
	if (deadline != HX_FOREVER)
		sleep_list_insert(self);
	schedule();
	return !self->timed_out;
}

static void check_blockable(const char *what)
{
	if (!(hx_read_rflags() & HX_RFLAGS_IF))
		hx_panic("sched: %s with interrupts off in task %s", what, current->name);
}

int hx_futex_wait(HX_ATOMIC(uint32_t) *word, uint32_t expected, uint64_t deadline_ns)
{
	unsigned long flags;
	int result = 0;

	if (!running) {
		/* Before the scheduler the boot code is alone: spin on the word and the clock.
		 * Acquire: what the waker wrote before changing the word is visible on return. */
		if (atomic_load_explicit(word, memory_order_acquire) != expected)
			return -HX_EAGAIN;
		while (atomic_load_explicit(word, memory_order_acquire) == expected) {
			if (deadline_ns != HX_FOREVER && hx_time_ns() >= deadline_ns)
				return -HX_ETIMEDOUT;
			hx_cpu_relax();
		}
		return 0;
	}
	check_blockable("hx_futex_wait");
	flags = hx_irq_save();
	/* Acquire: as above. Interrupts are off, so no wake can slip between this check and the
	 * task joining the bucket: hx_futex_wake runs on this CPU only with interrupts off too. */
	if (atomic_load_explicit(word, memory_order_acquire) != expected) {
		result = -HX_EAGAIN;
	} else if (deadline_ns != HX_FOREVER && hx_time_ns() >= deadline_ns) {
		result = -HX_ETIMEDOUT;
	} else {
		stats.futex_waits++;
		if (!block(word, deadline_ns))
			result = -HX_ETIMEDOUT;
	}
	hx_irq_restore(flags);
	return result;
}

/* The waiter on @word to wake first: the highest priority, the longest waiting among equals (a
 * bucket is in arrival order). NULL when nobody waits on @word. Interrupts off. */
static struct hx_task *best_waiter(struct list *bucket, HX_ATOMIC(uint32_t) *word)
{
	struct hx_task *best = NULL;

	for (struct list *pos = bucket->next; pos != bucket; pos = pos->next) {
		struct hx_task *task = TASK_OF(pos, run);

		if (task->word == word && (!best || task->prio > best->prio))
			best = task;
	}
	return best;
}

/*
 * Wakes the @count best waiters, highest priority first, so that a partial wake never leaves a
 * high-priority task waiting behind a lower one it woke instead (the channel's wake relay wakes
 * one sender, which wakes the rest: ipc/channel.c). HX_WAKE_ALL wakes every waiter in one pass.
 */
int hx_futex_wake(HX_ATOMIC(uint32_t) *word, uint32_t count)
{
	struct list *bucket, *pos;
	unsigned long flags;
	int woken = 0;

	if (!running || count == 0)
		return 0;
	flags = hx_irq_save();
	bucket = bucket_of(word);
	if (count == HX_WAKE_ALL) {
		pos = bucket->next;
		while (pos != bucket) {
			struct hx_task *task = TASK_OF(pos, run);

			pos = pos->next;
			if (task->word != word)
				continue;
			wake(task, false);
			woken++;
		}
	} else {
		struct hx_task *task;

		while ((uint32_t)woken < count && (task = best_waiter(bucket, word))) {
			wake(task, false);
			woken++;
		}
	}
	stats.futex_wakes += (uint64_t)woken;
	hx_irq_restore(flags);
	resched_if_needed();
	return woken;
}

void hx_task_sleep_until(uint64_t deadline_ns)
{
	unsigned long flags;

	if (!running) {
		while (hx_time_ns() < deadline_ns)
			hx_cpu_relax();
		return;
	}
	check_blockable("hx_task_sleep_until");
	flags = hx_irq_save();
	while (hx_time_ns() < deadline_ns)
		(void)block(NULL, deadline_ns);
	hx_irq_restore(flags);
}

/* ---- Preemption ---- */

void hx_preempt_disable(void)
{
	/* Only this CPU's tasks and interrupt handlers touch the count, and a handler leaves it as
	 * it found it: a plain increment is enough. */
	preempt_count++;
	atomic_signal_fence(memory_order_seq_cst);
}

void hx_preempt_enable(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	HX_ASSERT(preempt_count > 0);
	if (--preempt_count == 0)
		resched_if_needed(); /* with interrupts off, the next interrupt exit catches it */
}

/* The interrupt exit hook: switch if the tick or a wakeup asked for it. Interrupts are off. */
static void irq_exit(struct hx_trap_frame *frame)
{
	if (need_resched && preempt_count == 0) {
		stats.preemptions++;
		schedule();
	}
}

/* The timer interrupt. */
static void tick(void)
{
	uint64_t now = hx_time_ns();

	stats.ticks++;
	while (!list_empty(&sleep_list)) {
		struct hx_task *task = TASK_OF(sleep_list.next, sleep);

		if (task->deadline > now)
			break;
		stats.timeouts++;
		wake(task, true);
	}
	if (--current->slice <= 0 && highest_runnable_prio() >= current->prio)
		need_resched = true;
	if (tick_hook)
		tick_hook(stats.ticks, now);
}

/* ---- Tasks ---- */

static void idle(void *arg)
{
	for (;;)
		__asm__ volatile("sti\n\thlt" ::: "memory");
}

static void init_task(struct hx_task *task, const char *name, int prio)
{
	size_t len = hx_strlen(name);

	if (len > HX_TASK_NAME_MAX)
		len = HX_TASK_NAME_MAX;
	hx_memcpy(task->name, name, len);
	task->name[len] = '\0';
	task->prio = prio;
	task->id = next_id++;
	task->deadline = HX_FOREVER;
	list_init(&task->run);
	list_init(&task->sleep);
	list_insert_before(&all_tasks, &task->all);
	stats.tasks++;
}

static int create(const char *name, int prio, void (*entry)(void *), void *arg, bool detached,
                  struct hx_task **out)
{
	struct hx_task *task;
	unsigned long flags;

	task = hx_zalloc(sizeof(*task));
	if (!task)
		return -HX_ENOMEM;
	task->stack = hx_alloc(HX_TASK_STACK_SIZE);
	if (!task->stack) {
		hx_free(task);
		return -HX_ENOMEM;
	}
	task->stack_top = (uint64_t)(uintptr_t)task->stack + HX_TASK_STACK_SIZE;
	task->rsp = hx_arch_task_stack_init(task->stack_top, entry, arg);
	task->detached = detached;
	flags = hx_irq_save();
	init_task(task, name, prio);
	if (out)
		*out = task;
	enqueue(task);
	if (prio > current->prio)
		need_resched = true;
	hx_irq_restore(flags);
	return 0;
}

int hx_task_create(const char *name, int prio, void (*entry)(void *), void *arg,
                   struct hx_task **out)
{
	int err;

	if (!name || !entry || prio < HX_TASK_PRIO_LOW || prio >= HX_TASK_PRIO_LEVELS || !running)
		return -HX_EINVAL;
	err = create(name, prio, entry, arg, out == NULL, out);
	resched_if_needed(); /* a better task is waiting: let it run now */
	return err;
}

void hx_task_exit(void)
{
	struct hx_task *self = current;

	HX_ASSERT(self != &boot_task && self != idle_task);
	hx_irq_save();
	/* Release: a joiner that sees 1 (acquire) sees everything the task did. */
	atomic_store_explicit(&self->exited, 1, memory_order_release);
	(void)hx_futex_wake(&self->exited, HX_WAKE_ALL);
	self->state = HX_TASK_DEAD;
	if (self->detached)
		list_insert_before(&zombies, &self->run);
	schedule();
	hx_panic("sched: dead task %s was scheduled", self->name);
}

int hx_task_join(struct hx_task *task, uint64_t deadline_ns)
{
	unsigned long flags;

	if (!task || task == current || task->detached || task == &boot_task || task == idle_task)
		return -HX_EINVAL;
	/* Acquire: pairs with the release in hx_task_exit. */
	while (!atomic_load_explicit(&task->exited, memory_order_acquire)) {
		int err = hx_futex_wait(&task->exited, 0, deadline_ns);

		if (err == -HX_ETIMEDOUT)
			return err;
	}
	/* Exited: it set the flag with interrupts off and switched away before they came back on,
	 * so on this CPU its stack is no longer in use. */
	flags = hx_irq_save();
	HX_ASSERT(task->state == HX_TASK_DEAD);
	list_remove(&task->all);
	stats.tasks--;
	hx_irq_restore(flags);
	hx_free(task->stack);
	hx_free(task);
	return 0;
}

struct hx_task *hx_task_current(void)
{
	return current;
}

uint64_t hx_task_get_id(const struct hx_task *task)
{
	return task->id;
}

const char *hx_task_get_name(const struct hx_task *task)
{
	return task->name;
}

int hx_task_get_prio(const struct hx_task *task)
{
	return task->prio;
}

void hx_task_set_vm(struct hx_task *task, struct hx_vm *vm)
{
	unsigned long flags = hx_irq_save();

	task->vm = vm;
	if (task == current)
		switch_vm(vm);
	hx_irq_restore(flags);
}

struct hx_vm *hx_task_get_vm(const struct hx_task *task)
{
	return task->vm;
}

uint64_t hx_task_stack_top(const struct hx_task *task)
{
	return task->stack_top;
}

/* ---- The platform API's task half ---- */

void hx_yield(void)
{
	unsigned long flags;

	if (!running || preempt_count != 0)
		return;
	flags = hx_irq_save();
	schedule();
	hx_irq_restore(flags);
}

uint64_t hx_task_id(void)
{
	return current ? current->id : 0;
}

void *hx_task_context(void)
{
	return current ? current->context : boot_task.context;
}

void hx_task_set_context(void *context)
{
	if (current)
		current->context = context;
	else
		boot_task.context = context;
}

/* ---- Start, statistics ---- */

bool hx_sched_running(void)
{
	return running;
}

void hx_sched_set_tick_hook(void (*hook)(uint64_t tick, uint64_t now_ns))
{
	tick_hook = hook;
}

void hx_sched_init(uint32_t hz, bool force_pit)
{
	int err;

	HX_ASSERT(!running);
	for (int p = 0; p < HX_TASK_PRIO_LEVELS; p++)
		list_init(&run_queues[p]);
	for (unsigned b = 0; b < FUTEX_BUCKETS; b++)
		list_init(&futex_buckets[b]);
	list_init(&sleep_list);
	list_init(&all_tasks);
	list_init(&zombies);

	init_task(&boot_task, "boot", HX_TASK_PRIO_NORMAL);
	boot_task.state = HX_TASK_RUNNING;
	boot_task.slice = HX_TASK_SLICE_TICKS;
	current = &boot_task;

	if (create("idle", HX_TASK_PRIO_IDLE, idle, NULL, false, &idle_task) != 0)
		hx_panic("sched: no memory for the idle task");
	running = true;

	hx_irq_set_exit_hook(irq_exit);
	err = hx_timer_init(hz, force_pit, tick);
	if (err != 0)
		hx_panic("sched: timer at %u Hz: %s", hz, hx_error_name(err));
	__asm__ volatile("sti" ::: "memory");
}

void hx_sched_get_stats(struct hx_sched_stats *out)
{
	unsigned long flags = hx_irq_save();

	*out = stats;
	hx_irq_restore(flags);
}

static const char *state_name(enum hx_task_state state)
{
	static const char *const names[] = { "runnable", "running", "blocked", "dead" };

	return (unsigned)state < 4 ? names[state] : "?";
}

void hx_sched_dump(void)
{
	unsigned long flags = hx_irq_save();

	for (struct list *pos = all_tasks.next; pos != &all_tasks; pos = pos->next) {
		struct hx_task *task = TASK_OF(pos, all);

		hx_printk("task %llu %s prio %d %s\n", (unsigned long long)task->id, task->name,
		          task->prio, state_name(task->state));
	}
	hx_irq_restore(flags);
}
