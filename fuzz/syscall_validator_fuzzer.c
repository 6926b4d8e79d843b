// SPDX-License-Identifier: MIT
/*
 * syscall_validator_fuzzer: sequences of syscalls, their numbers, registers and the contents of a
 * simulated user space decoded from the input (fuzz/syscall_input.h), structured by the syscall
 * table's argument kinds, dispatched through helix_syscall_entry with the policy, audit and trace
 * hooks registered. Every call is checked against properties the fuzzer computes on its own:
 *
 *   S1 the result is >= 0 or an HX_E* code, and an error is one the syscall documents (its
 *      handler's `error` lines, or the errors its argument kinds give);
 *   S2 every user access (a copy in or out through the address space) lies inside the range of
 *      a pointer argument of the call, in the direction its rule allows: nothing outside the user
 *      region, nothing outside what the caller passed (the guard pages and ASan catch the rest);
 *   S3 the validator agrees with an independent oracle: the first argument (in the gateway's
 *      order: values, then pointers, then handles) that breaks its rule is the one refused, with
 *      the rule's error, and a call whose arguments all pass is not refused by validation;
 *   S4 accepted calls keep the kernel's invariants, checked against a model: the handle table
 *      (count, rights), every channel's contents (exactly once, in order, nothing from a
 *      refused send, nothing lost by a refused receive), write's console bytes, getpid,
 *      clock_gettime, the probe syscall's copies, also when the kernel heap fails an allocation
 *      (HXF_OP_FAILALLOC: -HX_ENOMEM must be documented and leave nothing half done);
 *   S5 the hooks saw the call: the trace counts it (and its error), the audit ring records it
 *      with the same result, the policy denies exactly what it should.
 *
 * A broken property prints "property S<n> violated:", what was expected and what happened, then
 * aborts (a crash for every engine). HX_FUZZ_TRACE=1 in the environment prints each decoded call as
 * it runs
 * (./helix fuzz syscall_validator --reproduce FILE).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/hosted.h>
#include <helix/ipc/router.h>
#include <helix/ipc/wire.h>
#include <helix/platform.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>
#include <helix/syscall/validate.h>

#include "fuzz/engine/harness.h"
#include "fuzz/syscall_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE        HX_USER_PAGE_SIZE
#define USER_BYTES  ((uint64_t)HXF_USER_PAGES * PAGE)
#define MAX_HANDLES 64 /* the model's capacity: more creations than this end the input */
#define MAX_CHANS   32
#define PID         77
#define CONSOLE_MAX (HX_WRITE_MAX + 1024)

/* ---- Reading the input ------------------------------------------------------------------------
 */

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t rd_u8(struct reader *r)
{
	uint8_t v;

	if (!r->n)
		return 0;
	v = *r->p++;
	r->n--;
	return v;
}

static uint16_t rd_u16(struct reader *r)
{
	uint16_t lo = rd_u8(r);

	return (uint16_t)(lo | (uint16_t)rd_u8(r) << 8);
}

static uint64_t rd_u64(struct reader *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)rd_u8(r) << (8 * i);
	return v;
}

/* ---- The model ------------------------------------------------------------------------------- */

struct model_chan {
	uint32_t capacity, msg_size;
	bool closed;
	uint32_t head, len; /* a ring of capacity messages of msg_size bytes */
	uint8_t *ring;
};

struct model_handle {
	int64_t handle;
	int chan; /* index into chans */
	uint32_t rights;
};

/* One input's process: its user space (seen through the observer), handles and model. */
static struct {
	struct hx_uspace *sim; /* the simulated space (uspace_sim.c) */
	struct hx_uspace view; /* what the caller holds: the same range, the observer's ops */
	struct hx_handle_table *handles;
	struct hx_syscall_caller caller;
	struct hx_policy policy;
	int denied_nr;       /* the policy's denied syscall, or -1 */
	bool dup_restricted; /* the policy restricts handle_dup's rights to READ */
	struct model_chan chans[MAX_CHANS];
	int nchans;
	struct model_handle handles_model[MAX_HANDLES];
	int nhandles;
	int64_t closed_handles[8]; /* stale values for the boundary strategy */
	int nclosed;
} proc;

/* The call in flight, for the observer and the post-hook. */
static struct {
	bool active;
	uint64_t nr;
	uint64_t args[HX_SYSCALL_ARGS];
	const struct hx_syscall_desc *desc;
	bool allocs_could_fail; /* an HXF_OP_FAILALLOC plan was armed for it */
	/* filled by the post-hook */
	bool seen;
	long result;
	struct hx_syscall_failure failure;
	const struct hx_syscall_desc *seen_desc;
} call;

/* HXF_OP_FAILALLOC: the allocation failures planned for the next call. */
static struct {
	bool armed;
	uint8_t skip, count;
} fail_plan;

static uint8_t console[CONSOLE_MAX];
static size_t console_len;

static void console_sink(void *arg, const char *text, size_t len)
{
	(void)arg;
	if (console_len + len <= sizeof(console))
		memcpy(console + console_len, text, len);
	console_len += len;
}

/* ---- S2: the observer ------------------------------------------------------------------
 */

static uint64_t arg_len(const struct hx_syscall_desc *desc, int i, const uint64_t *args)
{
	const struct hx_syscall_arg *a = &desc->args[i];

	switch (a->kind) {
	case HX_ARG_UPTR:
		return a->len_arg == HX_ARG_NO_LEN ? a->size : args[a->len_arg];
	case HX_ARG_UARRAY: {
		uint64_t bytes;

		return __builtin_mul_overflow(args[a->len_arg], (uint64_t)a->size, &bytes)
		           ? UINT64_MAX
		           : bytes;
	}
	case HX_ARG_USTR:
		return (uint64_t)a->max + 1; /* the NUL */
	default:
		return 0;
	}
}

/* Is [addr, addr + len) inside a pointer argument of the call in flight allowing @access? */
static void check_access(uint64_t addr, size_t len, unsigned access, const char *op)
{
	const struct hx_syscall_desc *desc = call.desc;

	if (!call.active)
		hx_fuzz_violated("S2", "%s of %zu bytes at %#llx outside any syscall", op, len,
		                 (unsigned long long)addr);
	if (addr < proc.view.base || addr > proc.view.limit || len > proc.view.limit - addr)
		hx_fuzz_violated(
		    "S2",
		    "%s of %zu bytes at %#llx outside the user region [%#llx, %#llx) in syscall "
		    "%llu",
		    op, len, (unsigned long long)addr, (unsigned long long)proc.view.base,
		    (unsigned long long)proc.view.limit, (unsigned long long)call.nr);
	for (int i = 0; desc && i < desc->nargs; i++) {
		const struct hx_syscall_arg *a = &desc->args[i];
		uint64_t start = call.args[i], n;

		if (a->kind != HX_ARG_UPTR && a->kind != HX_ARG_UARRAY && a->kind != HX_ARG_USTR)
			continue;
		if (!(a->access & access))
			continue;
		n = arg_len(desc, i, call.args);
		if (addr >= start && len <= n && addr - start <= n - len)
			return;
	}
	hx_fuzz_violated(
	    "S2", "%s of %zu bytes at %#llx is outside every %s argument of syscall %llu (%s)", op,
	    len, (unsigned long long)addr, access == HX_UACCESS_WRITE ? "out" : "in",
	    (unsigned long long)call.nr, desc ? desc->name : "unknown");
}

static int observe_copy_in(struct hx_uspace *us, void *dst, uint64_t src, size_t len)
{
	(void)us;
	check_access(src, len, HX_UACCESS_READ, "copy_in");
	return proc.sim->ops->copy_in(proc.sim, dst, src, len);
}

static int observe_copy_out(struct hx_uspace *us, uint64_t dst, const void *src, size_t len)
{
	(void)us;
	check_access(dst, len, HX_UACCESS_WRITE, "copy_out");
	return proc.sim->ops->copy_out(proc.sim, dst, src, len);
}

static long observe_copy_str_in(struct hx_uspace *us, char *dst, uint64_t src, size_t cap)
{
	(void)us;
	check_access(src, cap, HX_UACCESS_READ, "copy_str_in");
	return proc.sim->ops->copy_str_in(proc.sim, dst, src, cap);
}

static int observe_probe(struct hx_uspace *us, uint64_t addr, size_t len, unsigned access)
{
	(void)us;
	return proc.sim->ops->probe(proc.sim, addr, len, access);
}

static const struct hx_uspace_ops observe_ops = {
	.copy_in = observe_copy_in,
	.copy_out = observe_copy_out,
	.copy_str_in = observe_copy_str_in,
	.probe = observe_probe,
};

/* What the probe syscall should compute, from the user memory before the call (its state may
 * overlap its name and items, and the handler writes the state last). */
static struct {
	uint64_t sum;
	size_t name_len;
} probe_before;

/* ---- The probe syscall: the argument kinds the static table does not use ------------------------
 */

/*
 * probe(name, items, count, state, mode, level): copies the name (hx_v_user_str) and the items,
 * then, when state is not NULL, reads the two u64 of state and writes back
 * { state[0] + sum(items), strlen(name) }. Returns strlen(name) + count.
 */
static long sys_probe(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	char name[HXF_PROBE_NAME_MAX + 1];
	uint64_t items[64], state[2], sum = 0;
	uint64_t count = args[HXF_PROBE_COUNT];
	size_t name_len;
	struct hx_validator v = hx_validate(ctx);
	int err;

	hx_v_arg(&v, HXF_PROBE_NAME);
	hx_v_user_str(&v, args[HXF_PROBE_NAME], name, sizeof(name), &name_len);
	if (hx_v_check(&v))
		return hx_v_check(&v);
	/* The table's rule checked count * 8 bytes at items against the user range (any count:
	 * the rule refuses a product that overflows): copy them 64 at a time. */
	for (uint64_t done = 0; done < count;) {
		uint64_t n = count - done < 64 ? count - done : 64;

		err =
		    hx_copy_from_user(ctx, items, args[HXF_PROBE_ITEMS] + done * 8, (size_t)n * 8);
		if (err)
			return hx_syscall_fail(ctx, err, HXF_PROBE_ITEMS, "items not readable");
		for (uint64_t i = 0; i < n; i++)
			sum += items[i];
		done += n;
	}
	if (args[HXF_PROBE_STATE]) {
		err = hx_copy_from_user(ctx, state, args[HXF_PROBE_STATE], sizeof(state));
		if (err)
			return hx_syscall_fail(ctx, err, HXF_PROBE_STATE, "state not readable");
		state[0] += sum;
		state[1] = name_len;
		err = hx_copy_to_user(ctx, args[HXF_PROBE_STATE], state, sizeof(state));
		if (err)
			return hx_syscall_fail(ctx, err, HXF_PROBE_STATE, "state not writable");
	}
	return (long)(name_len + count);
}

static const int probe_errors[] = { -HX_EFAULT, -HX_ENAMETOOLONG };

static const struct hx_syscall_desc probe_desc = {
	.nr = HXF_PROBE_NR,
	.name = "fuzz_probe",
	.summary = "the fuzzer's probe of the str, array_in, inout, flags and int kinds",
	.nargs = 6,
	.args = {
		[HXF_PROBE_NAME] = { .name = "name", .kind = HX_ARG_USTR, .access = HX_UACCESS_READ,
		                     .max = HXF_PROBE_NAME_MAX },
		[HXF_PROBE_ITEMS] = { .name = "items", .kind = HX_ARG_UARRAY,
		                      .access = HX_UACCESS_READ, .len_arg = HXF_PROBE_COUNT,
		                      .align = 8, .size = 8 },
		[HXF_PROBE_COUNT] = { .name = "count", .kind = HX_ARG_UINT, .min = 0,
		                      .max = (int64_t)UINT64_MAX },
		[HXF_PROBE_STATE] = { .name = "state", .kind = HX_ARG_UPTR,
		                      .access = HX_UACCESS_READ | HX_UACCESS_WRITE | HX_UACCESS_NULL,
		                      .len_arg = HX_ARG_NO_LEN, .align = 8, .size = 16 },
		[HXF_PROBE_MODE] = { .name = "mode", .kind = HX_ARG_FLAGS,
		                     .mask = HXF_PROBE_MODE_MASK },
		[HXF_PROBE_LEVEL] = { .name = "level", .kind = HX_ARG_INT, .min = HXF_PROBE_LEVEL_MIN,
		                      .max = HXF_PROBE_LEVEL_MAX },
	},
	.errors = probe_errors,
	.nerrors = 2,
	.handler = sys_probe,
};

/* ---- Hooks and the router ------------------------------------------------------------------- */

static void oracle_post(struct hx_syscall_ctx *ctx, long result, void *arg)
{
	(void)arg;
	call.seen = true;
	call.result = result;
	call.failure = ctx->failure;
	call.seen_desc = ctx->desc;
}

/* Last in priority order: it sees what every other hook saw. */
static struct hx_syscall_hook oracle_hook = {
	.name = "fuzz_oracle",
	.priority = HX_HOOK_TRACE + 100,
	.post = oracle_post,
};

static struct hx_audit_ring *audit;
static uint64_t audit_cursor;
static struct hx_router *router;
static uint64_t echo_id;

/* The router_call syscall's target: "echo" replies with the request's payload. */
static int echo_handler(void *ctx, const struct hx_router_request *req,
                        struct hx_router_reply *reply)
{
	(void)ctx;
	return hx_router_reply_set(reply, req->payload, req->len);
}

static void *echo_server(void *arg)
{
	(void)arg;
	hx_router_serve(router, echo_id, HX_FOREVER);
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (hx_syscall_hook_register(hx_policy_hook()) || hx_audit_create(64, &audit) ||
	    hx_syscall_hook_register(hx_audit_hook(audit)) ||
	    hx_syscall_hook_register(hx_trace_hook()) || hx_syscall_hook_register(&oracle_hook) ||
	    hx_syscall_register(&probe_desc) || hx_router_create(4, &router) ||
	    hx_router_register(router, "echo", echo_handler, NULL, 8, &echo_id)) {
		fprintf(stderr, "syscall_validator_fuzzer: setup failed\n");
		abort();
	}
	hx_syscall_set_router(router);
	hx_hosted_set_console_sink(console_sink, NULL);
	return 0;
}

/* The echo server starts in the process that fuzzes: AFL++'s fork server forks after
 * LLVMFuzzerInitialize, and threads do not survive a fork. */
static void start_server_once(void)
{
	static bool started;
	pthread_t thread;

	if (started)
		return;
	started = true;
	if (pthread_create(&thread, NULL, echo_server, NULL) != 0)
		abort();
	pthread_detach(thread);
}

/* ---- The process of one input ------------------------------------------------------------------
 */

static void process_create(void)
{
	memset(&proc, 0, sizeof(proc));
	memset(&fail_plan, 0, sizeof(fail_plan));
	if (hx_uspace_sim_create(USER_BYTES, &proc.sim) || hx_handles_create(&proc.handles))
		abort();
	if (hx_uspace_sim_protect(proc.sim, proc.sim->base + HXF_RO_PAGE * PAGE, PAGE,
	                          HX_UACCESS_READ) ||
	    hx_uspace_sim_protect(proc.sim, proc.sim->base + HXF_ABSENT_PAGE * PAGE, PAGE, 0))
		abort();
	proc.view = *proc.sim;
	proc.view.ops = &observe_ops;
	proc.caller.pid = PID;
	proc.caller.uspace = &proc.view;
	proc.caller.handles = proc.handles;
	proc.denied_nr = -1;
	hx_syscall_set_caller(&proc.caller);
}

static void process_destroy(void)
{
	hx_syscall_set_caller(NULL);
	hx_handles_destroy(proc.handles);
	hx_uspace_sim_destroy(proc.sim);
	for (int i = 0; i < proc.nchans; i++)
		free(proc.chans[i].ring);
}

static uint8_t *host(uint64_t addr)
{
	return hx_uspace_sim_ptr(proc.sim, addr);
}

/* The page state the fuzzer set up: 0 absent, 1 read-only, 3 read-write. */
static unsigned page_state(uint64_t addr)
{
	uint64_t page = (addr - proc.view.base) / PAGE;

	if (page == HXF_ABSENT_PAGE)
		return 0;
	return page == HXF_RO_PAGE ? 1 : 3;
}

/* Does [addr, addr + len) (inside the space) touch a page without @need (1 read, 2 write)? */
static bool range_lacks(uint64_t addr, uint64_t len, unsigned need)
{
	for (uint64_t a = addr & ~(uint64_t)(PAGE - 1); len && a < addr + len; a += PAGE) {
		if ((page_state(a) & need) != need)
			return true;
	}
	return false;
}

/* ---- Decoding a call ------------------------------------------------------------------------- */

static struct model_handle *model_handle(int64_t h)
{
	for (int i = 0; i < proc.nhandles; i++) {
		if (proc.handles_model[i].handle == h)
			return &proc.handles_model[i];
	}
	return NULL;
}

static uint64_t boundary_int(const struct hx_syscall_arg *a, uint8_t pick)
{
	const uint64_t values[] = {
		(uint64_t)a->min - 1,
		(uint64_t)a->max + 1,
		(uint64_t)a->min,
		(uint64_t)a->max,
		0,
		UINT64_MAX,
		(uint64_t)INT64_MIN,
		(uint64_t)INT64_MAX,
		1u << 31,
		(uint64_t)1 << 32,
	};

	return values[pick % (sizeof(values) / sizeof(values[0]))];
}

static uint64_t boundary_ptr(uint8_t pick)
{
	const uint64_t b = proc.view.base, l = proc.view.limit;
	const uint64_t values[] = {
		0,
		b - 1,
		b,
		b + 1,
		l - 1,
		l,
		l - 8,
		l - 16,
		b + HXF_RO_PAGE * PAGE - 1,
		b + HXF_RO_PAGE * PAGE,
		b + HXF_ABSENT_PAGE * PAGE - 8,
		b + HXF_ABSENT_PAGE * PAGE,
		b + (HXF_ABSENT_PAGE + 1) * PAGE - 1,
		0xffff800000000000ull,
		0xffffffff80000000ull,
		UINT64_MAX,
		UINT64_MAX - 7,
		(uint64_t)1 << 47,
	};

	return values[pick % (sizeof(values) / sizeof(values[0]))];
}

static int64_t boundary_handle(uint8_t pick)
{
	switch (pick % 6) {
	case 0:
		return proc.nclosed ? proc.closed_handles[(pick / 6) % proc.nclosed] : 0;
	case 1: /* another generation of a live slot */
		return proc.nhandles ? proc.handles_model[0].handle ^ (1 << HX_HANDLE_SLOT_BITS)
		                     : 1;
	case 2:
		return -1;
	case 3:
		return (int64_t)HX_HANDLES_MAX;
	case 4:
		return INT64_MIN;
	default:
		return 0;
	}
}

static uint64_t well_formed(const struct hx_syscall_arg *a, struct reader *r)
{
	switch (a->kind) {
	case HX_ARG_INT:
	case HX_ARG_UINT: {
		uint64_t span = (uint64_t)a->max - (uint64_t)a->min;
		uint64_t v = rd_u16(r);

		/* Small values: a channel of 4096 messages of 4 KiB is legal but 16 MiB to allocate
		 * and fault in per input (the boundary strategy still reaches the maxima). 512
		 * keeps writes and messages above the 256-byte chunks of write and chan_send. */
		if (span < 512)
			v %= span + 1;
		else
			v %= 512;
		return (uint64_t)a->min + v;
	}
	case HX_ARG_FLAGS:
		return rd_u8(r) & a->mask;
	case HX_ARG_ENUM: {
		uint8_t i = rd_u8(r);

		return a->enum_count ? (uint64_t)a->enum_values[i % a->enum_count] : i;
	}
	case HX_ARG_UPTR:
	case HX_ARG_UARRAY:
	case HX_ARG_USTR: {
		uint64_t off = rd_u16(r) % USER_BYTES;

		if (a->align > 1)
			off &= ~(uint64_t)(a->align - 1);
		return proc.view.base + off;
	}
	case HX_ARG_HANDLE: {
		uint8_t i = rd_u8(r);

		return proc.nhandles ? (uint64_t)proc.handles_model[i % proc.nhandles].handle : i;
	}
	case HX_ARG_DEADLINE: {
		uint8_t v = rd_u8(r);

		if (v == 0)
			return HX_NOWAIT;
		if (v == 1)
			return 1; /* long past */
		return hx_time_ns() + (uint64_t)v * 100;
	}
	default:
		return rd_u8(r);
	}
}

static uint64_t boundary(const struct hx_syscall_arg *a, struct reader *r)
{
	uint8_t pick = rd_u8(r);

	switch (a->kind) {
	case HX_ARG_INT:
	case HX_ARG_UINT:
	case HX_ARG_ENUM:
		return boundary_int(a, pick);
	case HX_ARG_FLAGS:
		return pick & 1 ? ~a->mask : a->mask | (uint64_t)1 << (pick % 64);
	case HX_ARG_UPTR:
	case HX_ARG_UARRAY:
	case HX_ARG_USTR:
		return boundary_ptr(pick);
	case HX_ARG_HANDLE:
		return (uint64_t)boundary_handle(pick);
	case HX_ARG_DEADLINE:
		return pick & 1 ? HX_FOREVER : HX_NOWAIT;
	default:
		return UINT64_MAX;
	}
}

/* The harness must never block: see syscall_input.h. */
static void cap_waits(uint64_t nr, const struct hx_syscall_desc *desc, uint64_t *args)
{
	uint64_t now = hx_time_ns();

	for (int i = 0; desc && i < desc->nargs; i++) {
		if (desc->args[i].kind == HX_ARG_DEADLINE && args[i] > now + HXF_DEADLINE_CAP_NS)
			args[i] = now + HXF_DEADLINE_CAP_NS;
	}
	if (nr == HX_SYS_sleep && args[0] <= HX_SLEEP_MAX_NS && args[0] > HXF_DEADLINE_CAP_NS)
		args[0] = HXF_DEADLINE_CAP_NS;
}

/* ---- S3: the validation oracle ------------------------------------------------------- */

static int pass_of(uint8_t kind)
{
	if (kind == HX_ARG_UPTR || kind == HX_ARG_UARRAY || kind == HX_ARG_USTR)
		return 1;
	return kind == HX_ARG_HANDLE ? 2 : 0;
}

/* The error the rule of argument @i gives for these registers, or 0 (written from the table's
 * contract in docs/syscalls.md, not from validate.c). */
static int oracle_rule(const struct hx_syscall_desc *desc, int i, const uint64_t *args)
{
	const struct hx_syscall_arg *a = &desc->args[i];
	const uint64_t v = args[i], b = proc.view.base, l = proc.view.limit;

	switch (a->kind) {
	case HX_ARG_INT:
		return (int64_t)v < a->min || (int64_t)v > a->max ? -HX_EINVAL : 0;
	case HX_ARG_UINT:
		return v < (uint64_t)a->min || v > (uint64_t)a->max ? -HX_EINVAL : 0;
	case HX_ARG_FLAGS:
		return v & ~a->mask ? -HX_EINVAL : 0;
	case HX_ARG_ENUM:
		for (unsigned k = 0; k < a->enum_count; k++) {
			if ((int64_t)v == a->enum_values[k])
				return 0;
		}
		return -HX_EINVAL;
	case HX_ARG_USTR:
		return v == 0 || v < b || v >= l ? -HX_EFAULT : 0;
	case HX_ARG_UPTR:
	case HX_ARG_UARRAY: {
		bool fixed = a->kind == HX_ARG_UPTR && a->len_arg == HX_ARG_NO_LEN;
		uint64_t len;

		if (a->kind == HX_ARG_UARRAY &&
		    __builtin_mul_overflow(args[a->len_arg], (uint64_t)a->size, &len))
			return -HX_EINVAL;
		len = arg_len(desc, i, args);
		if (v == 0) {
			if (!(a->access & HX_UACCESS_NULL))
				return -HX_EFAULT;
			return len && !fixed ? -HX_EFAULT : 0;
		}
		/* Inside [base, limit): a zero length may sit at the limit itself. */
		if (v < b || v > l || (len && (v == l || len > l - v)))
			return -HX_EFAULT;
		if (a->align > 1 && v % a->align)
			return -HX_EINVAL;
		if (len && (a->access & HX_UACCESS_WRITE) && range_lacks(v, len, 3))
			return -HX_EFAULT;
		return 0;
	}
	case HX_ARG_HANDLE: {
		struct model_handle *h = model_handle((int64_t)v);

		if (!h)
			return -HX_EBADF;
		return (h->rights & a->rights) == a->rights ? 0 : -HX_EACCES;
	}
	default:
		return 0;
	}
}

/* The first refusal the gateway must make, in its order; -1 when every rule passes. */
static int oracle_first(const struct hx_syscall_desc *desc, const uint64_t *args, int *error)
{
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < desc->nargs; i++) {
			if (pass_of(desc->args[i].kind) != pass)
				continue;
			*error = oracle_rule(desc, i, args);
			if (*error)
				return i;
		}
	}
	return -1;
}

/* Errors an argument's kind may give from inside the handler too (a copy that faults, a string
 * longer than its maximum): the docs list them with the rule. */
static bool kind_allows(const struct hx_syscall_desc *desc, long err)
{
	for (int i = 0; i < desc->nargs; i++) {
		switch (desc->args[i].kind) {
		case HX_ARG_UPTR:
		case HX_ARG_UARRAY:
			if (err == -HX_EFAULT)
				return true;
			break;
		case HX_ARG_USTR:
			if (err == -HX_EFAULT || err == -HX_ENAMETOOLONG)
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

static bool documented(const struct hx_syscall_desc *desc, long err)
{
	for (unsigned i = 0; i < desc->nerrors; i++) {
		if (desc->errors[i] == err)
			return true;
	}
	return kind_allows(desc, err);
}

/* ---- S4: the model ------------------------------------------------------------------ */

static uint8_t *model_msg(struct model_chan *c, uint32_t index)
{
	return c->ring + (size_t)((c->head + index) % c->capacity) * c->msg_size;
}

static void expect(const char *property, bool ok, const char *what, long result)
{
	if (!ok)
		hx_fuzz_violated(property, "syscall %llu (%s): %s, got %ld (%s)",
		                 (unsigned long long)call.nr, call.desc ? call.desc->name : "?",
		                 what, result, hx_error_name((int)result));
}

/* Checks a call the gateway passed to the handler against the model and updates the model.
 * @before: the user bytes of the call's "in" buffer before the call (write, chan_send).
 * Returns false when the process ended (exit). */
static bool check_handler(const uint64_t *args, long result, const uint8_t *before, uint64_t t0,
                          uint64_t t1)
{
	struct model_handle *h;
	struct model_chan *c;

	/* The heap failed: only when the input planned it, and nothing may have changed (the
	 * model stays as it is; the next calls check that). Whichever check the handler makes
	 * first may come before it: chan_send allocates its buffer before it copies or sends. */
	if (result == -HX_ENOMEM) {
		expect("S4", call.allocs_could_fail, "ENOMEM only when an allocation failed",
		       result);
		return true;
	}
	switch (call.nr) {
	case HX_SYS_exit:
		expect("S4", result == 0 && proc.caller.exited == 1,
		       "exit returns 0 and marks the caller", result);
		expect("S4", proc.caller.exit_status == (int32_t)args[0], "exit records the status",
		       result);
		return false;
	case HX_SYS_write: {
		size_t len = (size_t)args[1];
		bool faults = range_lacks(args[0], len, 1);

		if (faults)
			expect("S4", result == -HX_EFAULT, "a write over an unmapped page faults",
			       result);
		else
			expect("S4", result == (long)len, "write returns len", result);
		expect("S4",
		       console_len <= len && memcmp(console, before, console_len) == 0 &&
		           (faults || console_len == len),
		       "the console got exactly the user's bytes (a prefix when it faulted)",
		       result);
		break;
	}
	case HX_SYS_getpid:
		expect("S4", result == PID, "getpid returns the caller's pid", result);
		break;
	case HX_SYS_clock_gettime: {
		uint64_t now;

		expect("S4", result == 0, "clock_gettime succeeds", result);
		memcpy(&now, host(args[1]), sizeof(now));
		expect("S4", now >= t0 && now <= t1, "the clock reads between the calls around it",
		       result);
		break;
	}
	case HX_SYS_sleep:
		expect("S4", result == 0 && t1 - t0 >= args[0], "sleep waits at least ns", result);
		break;
	case HX_SYS_yield:
		expect("S4", result == 0, "yield returns 0", result);
		break;
	case HX_SYS_chan_create:
		expect("S4", result >= 0 && !model_handle(result),
		       "chan_create returns a new handle", result);
		if (proc.nchans == MAX_CHANS || proc.nhandles == MAX_HANDLES) {
			/* The model is full: close the handle again and forget it. */
			hx_handle_close(proc.handles, result);
			break;
		}
		c = &proc.chans[proc.nchans];
		c->capacity = (uint32_t)args[0];
		c->msg_size = (uint32_t)args[1];
		c->ring = malloc((size_t)c->capacity * c->msg_size);
		if (!c->ring)
			abort();
		proc.handles_model[proc.nhandles++] = (struct model_handle){
			.handle = result, .chan = proc.nchans++, .rights = HX_RIGHTS_ALL
		};
		break;
	case HX_SYS_chan_send:
		c = &proc.chans[model_handle((int64_t)args[0])->chan];
		if (args[2] != c->msg_size)
			expect("S4", result == -HX_EMSGSIZE, "a send of the wrong size is EMSGSIZE",
			       result);
		else if (range_lacks(args[1], args[2], 1))
			expect("S4", result == -HX_EFAULT, "a send from an unmapped page faults",
			       result);
		else if (c->closed)
			expect("S4", result == -HX_EPIPE, "a send to a closed channel is EPIPE",
			       result);
		else if (c->len == c->capacity)
			expect("S4", result == (args[3] == HX_NOWAIT ? -HX_EAGAIN : -HX_ETIMEDOUT),
			       "a send to a full channel is EAGAIN (NOWAIT) or ETIMEDOUT", result);
		else {
			expect("S4", result == 0, "a send to a channel with room succeeds", result);
			memcpy(model_msg(c, c->len++), before, c->msg_size);
		}
		break;
	case HX_SYS_chan_recv:
		c = &proc.chans[model_handle((int64_t)args[0])->chan];
		if (args[2] != c->msg_size)
			expect("S4", result == -HX_EMSGSIZE,
			       "a receive of the wrong size is EMSGSIZE", result);
		else if (c->len == 0 && c->closed)
			expect("S4", result == -HX_EPIPE,
			       "a receive from a closed, drained channel is EPIPE", result);
		else if (c->len == 0)
			expect("S4", result == (args[3] == HX_NOWAIT ? -HX_EAGAIN : -HX_ETIMEDOUT),
			       "a receive from an empty channel is EAGAIN (NOWAIT) or ETIMEDOUT",
			       result);
		else {
			expect("S4", result == 0, "a receive from a channel with messages succeeds",
			       result);
			expect(
			    "S4", memcmp(host(args[1]), model_msg(c, 0), c->msg_size) == 0,
			    "the message received is the oldest one sent (exactly once, in order)",
			    result);
			c->head = (c->head + 1) % c->capacity;
			c->len--;
		}
		break;
	case HX_SYS_chan_close:
		c = &proc.chans[model_handle((int64_t)args[0])->chan];
		expect("S4", result == (c->closed ? -HX_EPIPE : 0),
		       "chan_close is 0 the first time, EPIPE after", result);
		c->closed = true;
		break;
	case HX_SYS_handle_close:
		expect("S4", result == 0, "closing a live handle succeeds", result);
		h = model_handle((int64_t)args[0]);
		if (proc.nclosed <
		    (int)(sizeof(proc.closed_handles) / sizeof(proc.closed_handles[0])))
			proc.closed_handles[proc.nclosed++] = h->handle;
		*h = proc.handles_model[--proc.nhandles];
		break;
	case HX_SYS_handle_dup:
		h = model_handle((int64_t)args[0]);
		if (args[1] == 0)
			expect("S4", result == -HX_EINVAL, "dup with no rights is EINVAL", result);
		else if (args[1] & ~(uint64_t)h->rights)
			expect("S4", result == -HX_EACCES, "dup with more rights is EACCES",
			       result);
		else {
			expect("S4", result >= 0 && !model_handle(result),
			       "dup returns a new handle", result);
			if (proc.nhandles == MAX_HANDLES) {
				hx_handle_close(proc.handles, result);
				break;
			}
			proc.handles_model[proc.nhandles++] = (struct model_handle){
				.handle = result, .chan = h->chan, .rights = (uint32_t)args[1]
			};
		}
		break;
	case HXF_PROBE_NR: {
		uint64_t state[2], old0;

		if (result < 0)
			break; /* faults and long names: documented() checked the code */
		expect("S4", result == (long)(probe_before.name_len + args[HXF_PROBE_COUNT]),
		       "probe returns strlen(name) + count", result);
		if (args[HXF_PROBE_STATE]) {
			memcpy(&old0, before, 8);
			memcpy(state, host(args[HXF_PROBE_STATE]), sizeof(state));
			expect("S4",
			       state[0] == old0 + probe_before.sum &&
			           state[1] == probe_before.name_len,
			       "probe's inout state holds the sum and the name's length", result);
		}
		break;
	}
	default:
		break;
	}
	return true;
}

/* The probe's results from the memory as it is before the call, where readable (the model
 * checks them only when the call succeeded, so only then must they be right). */
static void probe_expect(const uint64_t *args)
{
	uint64_t name = args[HXF_PROBE_NAME], items = args[HXF_PROBE_ITEMS], item;
	uint64_t count = args[HXF_PROBE_COUNT];

	memset(&probe_before, 0, sizeof(probe_before));
	while (name >= proc.view.base && name < proc.view.limit && page_state(name) &&
	       probe_before.name_len <= HXF_PROBE_NAME_MAX && *host(name)) {
		probe_before.name_len++;
		name++;
	}
	if (count > USER_BYTES / 8 || items < proc.view.base ||
	    items > proc.view.limit - count * 8 || range_lacks(items, count * 8, 1))
		return;
	for (uint64_t i = 0; i < count; i++) {
		memcpy(&item, host(items + 8 * i), 8);
		probe_before.sum += item;
	}
}

/* ---- One call ---------------------------------------------------------------------------------
 */

static uint64_t trace_calls(uint64_t nr, uint64_t *errors)
{
	struct hx_trace_stats st;

	if (nr >= HX_SYSCALL_MAX || hx_trace_get(nr, &st))
		return *errors = 0;
	*errors = st.errors;
	return st.calls;
}

/* Dispatches one call and checks every property. Returns false when the process ended. */
static bool run_call(uint64_t nr, uint64_t *args)
{
	const struct hx_syscall_desc *desc = hx_syscall_lookup(nr);
	uint8_t before[HX_WRITE_MAX + 16];
	uint64_t calls0, errors0, calls1, errors1, t0, t1;
	struct hx_audit_record rec;
	int want_arg = -1, want_err = 0;
	bool denied, ok = true;
	long result;

	cap_waits(nr, desc, args);
	hx_fuzz_trace("call %llu (%s) %#llx %#llx %#llx %#llx %#llx %#llx\n",
	              (unsigned long long)nr, desc ? desc->name : "unknown",
	              (unsigned long long)args[0], (unsigned long long)args[1],
	              (unsigned long long)args[2], (unsigned long long)args[3],
	              (unsigned long long)args[4], (unsigned long long)args[5]);

	/* What the model needs from before the call: the bytes a send or write reads. */
	memset(before, 0, sizeof(before));
	if (desc && (nr == HX_SYS_write || nr == HX_SYS_chan_send || nr == HXF_PROBE_NR)) {
		int i = nr == HX_SYS_write ? 0 : nr == HX_SYS_chan_send ? 1 : HXF_PROBE_STATE;
		uint64_t len = nr == HX_SYS_write ? args[1] : nr == HX_SYS_chan_send ? args[2] : 16;

		if (args[i] >= proc.view.base && args[i] < proc.view.limit && len <= HX_WRITE_MAX &&
		    len <= proc.view.limit - args[i]) {
			for (uint64_t k = 0; k < len; k++) {
				uint64_t a = args[i] + k;

				before[k] = page_state(a) ? *host(a) : 0;
			}
		}
	}

	if (nr == HXF_PROBE_NR)
		probe_expect(args);
	calls0 = trace_calls(nr, &errors0);
	console_len = 0;
	memset(&call, 0, sizeof(call));
	call.active = true;
	call.nr = nr;
	memcpy(call.args, args, sizeof(call.args));
	call.desc = desc;
	if (fail_plan.armed)
		hx_hosted_fail_allocs(fail_plan.skip, fail_plan.count);
	t0 = hx_time_ns();
	result = helix_syscall_entry(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
	t1 = hx_time_ns();
	call.allocs_could_fail = fail_plan.armed && fail_plan.count > 0;
	if (fail_plan.armed) {
		hx_hosted_fail_allocs(0, 0);
		fail_plan.armed = false;
	}
	call.active = false;
	hx_fuzz_trace("  -> %ld %s%s%s%s\n", result, result < 0 ? hx_error_name((int)result) : "",
	              call.failure.reason ? " (" : "",
	              call.failure.reason ? call.failure.reason : "",
	              call.failure.reason ? ")" : "");

	/* S1: an HX_E* code, agreeing with the failure record. */
	if (result < 0 && strcmp(hx_error_name((int)result), "HX_E?") == 0)
		hx_fuzz_violated("S1", "syscall %llu returned %ld: not an HX_E* code",
		                 (unsigned long long)nr, result);
	if (!call.seen || call.result != result || call.seen_desc != desc)
		hx_fuzz_violated(
		    "S5", "syscall %llu: the post-hooks did not see the dispatch as returned",
		    (unsigned long long)nr);
	if (call.failure.error && call.failure.error != result)
		hx_fuzz_violated("S1",
		                 "syscall %llu returned %ld but its failure record says %d (%s)",
		                 (unsigned long long)nr, result, call.failure.error,
		                 call.failure.reason ? call.failure.reason : "");

	/* S5: the trace counted it; the audit ring recorded it. */
	calls1 = trace_calls(nr, &errors1);
	if (nr < HX_SYSCALL_MAX &&
	    (calls1 != calls0 + 1 || errors1 != errors0 + (result < 0 ? 1 : 0)))
		hx_fuzz_violated(
		    "S5", "syscall %llu: trace counted %llu calls, %llu errors (was %llu, %llu)",
		    (unsigned long long)nr, (unsigned long long)calls1, (unsigned long long)errors1,
		    (unsigned long long)calls0, (unsigned long long)errors0);
	if (hx_audit_read(audit, &audit_cursor, &rec, 1, NULL) != 1 || rec.nr != nr ||
	    rec.result != result || rec.pid != PID ||
	    memcmp(rec.args, args, sizeof(rec.args)) != 0 ||
	    rec.failed_arg != (result < 0 ? call.failure.arg : -1))
		hx_fuzz_violated("S5", "syscall %llu: the audit record does not match the dispatch",
		                 (unsigned long long)nr);

	/* The policy decides before anything else. */
	denied = (int)nr == proc.denied_nr && nr < HX_SYSCALL_STATIC_COUNT;
	if (denied) {
		expect("S5", result == -HX_EPERM, "the policy denies this syscall with EPERM",
		       result);
		return true;
	}
	if (proc.dup_restricted && nr == HX_SYS_handle_dup &&
	    (args[1] & ~(uint64_t)HX_RIGHT_READ)) {
		expect("S5", result == -HX_EACCES, "the policy's flags rule refuses dup rights",
		       result);
		return true;
	}
	if (!desc || !desc->handler) {
		expect("S1", result == -HX_ENOSYS, "an unknown number is ENOSYS", result);
		return true;
	}

	/* S3: the validator against the oracle. */
	want_arg = oracle_first(desc, args, &want_err);
	if (want_arg >= 0) {
		if (result != want_err || call.failure.arg != want_arg || !call.failure.by ||
		    strcmp(call.failure.by, "validation") != 0)
			hx_fuzz_violated(
			    "S3",
			    "syscall %llu (%s): argument %d (%s) breaks its rule with %s, but the "
			    "dispatch returned %ld (%s), refusing argument %d by %s: %s",
			    (unsigned long long)nr, desc->name, want_arg, desc->args[want_arg].name,
			    hx_error_name(want_err), result, hx_error_name((int)result),
			    call.failure.arg, call.failure.by ? call.failure.by : "nobody",
			    call.failure.reason ? call.failure.reason : "");
		return true;
	}
	if (result < 0 && !documented(desc, result))
		hx_fuzz_violated(
		    "S1",
		    "syscall %llu (%s): every argument passes its rule, but the handler "
		    "returned %s, which neither the table nor the argument kinds document (%s)",
		    (unsigned long long)nr, desc->name, hx_error_name((int)result),
		    call.failure.reason ? call.failure.reason : "no reason recorded");
	/* S4: the model. */
	ok = check_handler(args, result, before, t0, t1);

	if (hx_handles_count(proc.handles) != (size_t)proc.nhandles)
		hx_fuzz_violated("S4", "the handle table holds %zu handles, the model %d",
		                 hx_handles_count(proc.handles), proc.nhandles);
	return ok;
}

/* ---- The input ------------------------------------------------------------------------------- */

static void decode_args(const struct hx_syscall_desc *desc, struct reader *r, uint64_t *args)
{
	for (int i = 0; i < HX_SYSCALL_ARGS; i++) {
		const struct hx_syscall_arg none = { .kind = HX_ARG_NONE };
		const struct hx_syscall_arg *a = i < desc->nargs ? &desc->args[i] : &none;
		uint8_t strategy = rd_u8(r) % HXF_STRATEGIES;

		if (i >= desc->nargs) {
			/* Unused registers: raw garbage, which the gateway must ignore. Only read
			 * when the strategy byte says so, to keep inputs short. */
			args[i] = strategy == HXF_RAW ? rd_u64(r) : 0;
			continue;
		}
		switch (strategy) {
		case HXF_WELL_FORMED:
			args[i] = well_formed(a, r);
			break;
		case HXF_BOUNDARY:
			args[i] = boundary(a, r);
			break;
		default:
			args[i] = rd_u64(r);
			break;
		}
	}
}

static void setup_policy(uint8_t p)
{
	if (!p)
		return;
	hx_policy_init(&proc.policy, 0);
	proc.denied_nr = (int)(p % HX_SYSCALL_STATIC_COUNT);
	if (hx_policy_set(&proc.policy, (uint32_t)proc.denied_nr, -HX_EPERM))
		abort();
	if ((p & 0x80) && proc.denied_nr != HX_SYS_handle_dup) {
		if (hx_policy_restrict_flags(&proc.policy, HX_SYS_handle_dup, 1, HX_RIGHT_READ,
		                             -HX_EACCES))
			abort();
		proc.dup_restricted = true;
	}
	proc.caller.policy = &proc.policy;
	hx_fuzz_trace("policy: deny %d (%s)%s\n", proc.denied_nr,
	              hx_syscall_lookup((uint64_t)proc.denied_nr)->name,
	              proc.dup_restricted ? ", handle_dup rights <= READ" : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = { data, size };
	uint16_t mem_len;

	start_server_once();
	process_create();

	mem_len = rd_u16(&r);
	if (mem_len > HXF_MEM_MAX)
		mem_len = HXF_MEM_MAX;
	if (mem_len > r.n)
		mem_len = (uint16_t)r.n;
	memcpy(host(proc.view.base), r.p, mem_len);
	r.p += mem_len;
	r.n -= mem_len;
	hx_fuzz_trace("user space [%#llx, %#llx), %u bytes of it from the input\n",
	              (unsigned long long)proc.view.base, (unsigned long long)proc.view.limit,
	              mem_len);
	setup_policy(rd_u8(&r));

	for (unsigned n = 0; n < HXF_MAX_CALLS && r.n > 0; n++) {
		uint8_t op = rd_u8(&r) % HXF_OPS;
		uint64_t args[HX_SYSCALL_ARGS] = { 0 }, nr;

		if (op == HXF_OP_POKE) {
			uint64_t off = rd_u16(&r) % USER_BYTES;
			uint8_t len = rd_u8(&r);

			if (len > r.n)
				len = (uint8_t)r.n;
			if (len > USER_BYTES - off)
				len = (uint8_t)(USER_BYTES - off);
			/* Anywhere but the read-only and the absent page (the host protects them
			 * too). */
			for (uint8_t k = 0; k < len; k++) {
				if (page_state(proc.view.base + off + k) == 3)
					*host(proc.view.base + off + k) = r.p[k];
			}
			r.p += len;
			r.n -= len;
			hx_fuzz_trace("poke %u bytes at +%#llx\n", len, (unsigned long long)off);
			continue;
		}
		if (op == HXF_OP_FAILALLOC) {
			fail_plan.skip = rd_u8(&r);
			fail_plan.count = rd_u8(&r);
			fail_plan.armed = true;
			hx_fuzz_trace("next call: %u allocations succeed, then %u fail\n",
			              fail_plan.skip, fail_plan.count);
			continue;
		}
		if (op == HXF_OP_RAW) {
			nr = rd_u64(&r);
			for (int i = 0; i < HX_SYSCALL_ARGS; i++)
				args[i] = rd_u64(&r);
		} else {
			nr = op == HXF_OP_PROBE ? HXF_PROBE_NR : op;
			decode_args(hx_syscall_lookup(nr), &r, args);
		}
		if (!run_call(nr, args))
			break;
	}
	process_destroy();
	return 0;
}
