// SPDX-License-Identifier: MIT
/*
 * router_call_fuzzer: programs of router operations (helix/ipc/router.h, docs/router.md) read from
 * the input, against test modules with deadlines, dead targets and a module that registers and
 * unregisters while the input runs.
 *
 * The modules. The router creates no tasks: the task that owns a module serves it. So, once per
 * process (the first input), a router of 4 slots gets three modules with a server thread each
 * (hx_router_serve until HX_FOREVER; they never stop, and the harness never unregisters them):
 *   echo  replies with the request payload (method 2: status -HX_EPERM, no bytes);
 *   sum   method 1: the payload must be one CBOR array of unsigned integers (read with the wire
 *         reader); replies with their sum as a CBOR unsigned integer; -HX_EBADMSG for a payload
 *         outside the profile, -HX_EINVAL for another shape, -HX_EOVERFLOW past 2^64 - 1; other
 *         methods -HX_ENOSYS;
 *   slow  sleeps until 300 us past the caller's deadline (at most 3 ms), then echoes: its callers
 *         time out and its replies come late;
 * and a fourth, "dead", is registered and unregistered at once: its id is a dead target.
 * The input may register a module "tmp" (capacity from the input) that no thread serves: the
 * harness serves it inline with hx_router_serve_one(HX_NOWAIT), so everything about it is
 * deterministic and modelled exactly (its queue, each result, every counter).
 *
 * Why one router for the whole process: server threads cost a thread start each, and a router per
 * input would need them started and stopped per input (hx_router_destroy wants every server
 * returned). Reuse is safe for reproducibility because every input ends in the same state: "tmp"
 * is unregistered, and the harness waits until each served module has settled (everything queued
 * was handled or dropped, every late reply counted: the counter equations below hold), so no
 * request, reply or sleeping handler of one input reaches into the next; the counters are checked
 * as differences over the input. What differs between runs is only ids' generations (never shown
 * to the input except by comparison) and timing, which the properties allow for.
 *
 * The input: a sequence of at most 24 operations, each an opcode byte and its arguments (bytes
 * past the end read as 0):
 *   0 call by id    target, method, deadline, response capacity, payload
 *   1 call by name  name, method, deadline, response capacity, payload
 *   2 send          target, method, deadline, payload (one-way)
 *   3 register      name choice, queue capacity (1..4)
 *   4 unregister    target (the served modules are skipped)
 *   5 serve one     target (HX_NOWAIT)
 *   6 lookup        name
 *   7 stats         target
 * target: echo, sum, slow, dead, tmp (its current id, or its last dead one), or a raw 64-bit id;
 * name: one of those, an invalid one, or up to 32 raw bytes; deadline: HX_NOWAIT, 1 ns (past),
 * now + 100 us, now + 1 ms (every wait is finite and short); payload: empty, raw bytes, a wire
 * builder array of unsigned integers, or a mixed array (texts, negatives, nested arrays ...).
 *
 * Properties (a violation prints "<program>: property <id> violated: ..." and aborts):
 *   C1 every return is one router.h documents for that call and that target: a dead or unknown id
 *      gives -HX_EHOSTUNREACH, an unknown name -HX_ENOENT, an invalid one -HX_EINVAL, a served
 *      module 0, -HX_EMSGSIZE, -HX_ETIMEDOUT, or -HX_EAGAIN (HX_NOWAIT only);
 *   C2 on 0 the reply is right: echo returns the request bytes, sum the exact sum (or the exact
 *      error status) of a payload the harness built, slow the request bytes;
 *   C3 on -HX_EMSGSIZE *resp_len is the size needed (above the capacity) and the response buffer
 *      is untouched; on any other error *resp_len is 0 and *status and the buffer are untouched;
 *   C4 "tmp" behaves exactly as its model (a FIFO of queued sends and abandoned calls): each
 *      result and every counter of hx_router_get_stats;
 *   C5 the served modules' counters, over the input: calls + sends = handled + expired, calls =
 *      replies + late_replies + expired, handled and errors match what the handlers saw, replies,
 *      sends, rejected and timeouts match the results the harness got, the latency histogram sums
 *      to replies; at any time handled + expired <= calls + sends;
 *   C6 lookups give the live module's id, or -HX_ENOENT / -HX_EINVAL;
 * and ASan's leak checker (libFuzzer runs it per input) sees every call object freed.
 *
 * With HX_FUZZ_TRACE set, each operation is printed as decoded, with its result.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <helix/errors.h>
#include <helix/ipc/router.h>
#include <helix/ipc/wire.h>
#include <helix/platform.h>

#include "fuzz/engine/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS          24
#define US               1000ull
#define MS               1000000ull
#define SLOW_OVERSHOOT   (300 * US) /* slow sleeps this long past its caller's deadline */
#define SLOW_MAX_SLEEP   (3 * MS)
#define SETTLE_LIMIT     (5000 * MS) /* far beyond any handler's time: a hang is a finding */
#define TMP_MAX_CAPACITY 4
#define RESP_SENTINEL    0xa7
#define STATUS_SENTINEL  0x5eed

enum method {
	METHOD_SUM = 1,  /* sum's only method */
	METHOD_FAIL = 2, /* echo: status -HX_EPERM */
};

static const char *error_name(int code)
{
	return code == 0 ? "0" : hx_error_name(code);
}

/* ---- The modules ------------------------------------------------------------------------------
 */

enum module_kind { ECHO, SUM, SLOW, TMP, NONE };

static const char *const module_names[] = { "echo", "sum", "slow", "tmp", "(none)" };

struct module {
	enum module_kind kind;
	uint64_t id;
	size_t capacity;
	pthread_t server;
	/* What the handler saw, counted before it returns (it runs on the server thread). */
	atomic_uint_fast64_t invocations;
	atomic_uint_fast64_t nonzero;
};

static struct hx_router *router;
static struct module modules[TMP + 1];
static uint64_t dead_id;

static int finish(struct module *m, int status)
{
	atomic_fetch_add(&m->invocations, 1);
	if (status)
		atomic_fetch_add(&m->nonzero, 1);
	return status;
}

static int echo_handler(void *ctx, const struct hx_router_request *req,
                        struct hx_router_reply *reply)
{
	if (req->method == METHOD_FAIL)
		return finish(ctx, -HX_EPERM);
	/* -HX_EMSGSIZE here only means the caller gets it, with reply->len as the size needed. */
	hx_router_reply_set(reply, req->payload, req->len);
	return finish(ctx, 0);
}

/* The CBOR encoding of @value (shortest head), into @out (9 bytes); returns its length. */
static size_t encode_uint(uint64_t value, uint8_t *out)
{
	struct hx_wire_builder b;
	size_t len = 0;

	hx_wire_builder_init(&b, out, 9);
	hx_wire_put_uint(&b, value);
	if (hx_wire_builder_finish(&b, &len, NULL) != 0)
		abort();
	return len;
}

/* What sum answers for @len payload bytes at @p: its status, and *@sum on 0. */
static int sum_payload(const void *p, size_t len, uint64_t *sum)
{
	struct hx_wire_reader r;
	size_t count;

	if (hx_wire_check_payload(p, len, NULL) != 0)
		return -HX_EBADMSG;
	hx_wire_reader_init(&r, p, len);
	if (hx_wire_read_array(&r, &count) != 0)
		return -HX_EINVAL;
	*sum = 0;
	while (hx_wire_more(&r)) {
		uint64_t value;

		if (hx_wire_read_uint(&r, &value) != 0)
			return -HX_EINVAL;
		if (value > UINT64_MAX - *sum)
			return -HX_EOVERFLOW;
		*sum += value;
	}
	return hx_wire_reader_error(&r) ? -HX_EINVAL : 0;
}

static int sum_handler(void *ctx, const struct hx_router_request *req,
                       struct hx_router_reply *reply)
{
	uint8_t encoded[9];
	uint64_t sum = 0;
	int status;

	if (req->method != METHOD_SUM)
		return finish(ctx, -HX_ENOSYS);
	status = sum_payload(req->payload, req->len, &sum);
	if (status == 0)
		hx_router_reply_set(reply, encoded, encode_uint(sum, encoded));
	return finish(ctx, status);
}

static void sleep_until(uint64_t until)
{
	uint64_t now = hx_time_ns();

	while (now < until) {
		struct timespec ts = { .tv_sec = (time_t)((until - now) / 1000000000u),
			               .tv_nsec = (long)((until - now) % 1000000000u) };

		nanosleep(&ts, NULL);
		now = hx_time_ns();
	}
}

static int slow_handler(void *ctx, const struct hx_router_request *req,
                        struct hx_router_reply *reply)
{
	/* Past the deadline by a little: the caller has given up (a late reply), unless it was
	 * descheduled for longer than that. NOWAIT and a past deadline: no sleep. */
	if (req->deadline_ns != HX_NOWAIT && req->deadline_ns != HX_FOREVER) {
		uint64_t now = hx_time_ns(), until = req->deadline_ns + SLOW_OVERSHOOT;

		if (until > now)
			sleep_until(HX_MIN(until, now + SLOW_MAX_SLEEP));
	}
	hx_router_reply_set(reply, req->payload, req->len);
	return finish(ctx, 0);
}

static int tmp_handler(void *ctx, const struct hx_router_request *req,
                       struct hx_router_reply *reply)
{
	return finish(ctx, 0);
}

static void *serve_forever(void *arg)
{
	struct module *m = arg;

	/* Returns only when the module is unregistered, which the harness never does. */
	int rc = hx_router_serve(router, m->id, HX_FOREVER);

	fprintf(stderr, "router_call_fuzzer: the %s server stopped: %s\n", module_names[m->kind],
	        error_name(rc));
	abort();
	return NULL;
}

static void setup_failed(const char *what, int rc)
{
	fprintf(stderr, "router_call_fuzzer: setup: %s: %s\n", what, error_name(rc));
	abort();
}

static void setup(void)
{
	static const hx_router_handler_fn handlers[] = { echo_handler, sum_handler, slow_handler };
	static const size_t capacities[] = { 8, 8, 4 };
	int rc;

	/* 4 slots: echo, sum, slow and one more ("tmp"), so a second extra module is ENOSPC. */
	rc = hx_router_create(4, &router);
	if (rc)
		setup_failed("hx_router_create", rc);
	for (int k = ECHO; k <= SLOW; k++) {
		struct module *m = &modules[k];

		m->kind = (enum module_kind)k;
		m->capacity = capacities[k];
		rc = hx_router_register(router, module_names[k], handlers[k], m, m->capacity,
		                        &m->id);
		if (rc)
			setup_failed(module_names[k], rc);
		rc = pthread_create(&m->server, NULL, serve_forever, m);
		if (rc)
			setup_failed("pthread_create", -rc);
	}
	modules[TMP].kind = TMP;
	rc = hx_router_register(router, "dead", tmp_handler, &modules[TMP], 1, &dead_id);
	if (rc == 0)
		rc = hx_router_unregister(router, dead_id);
	if (rc)
		setup_failed("dead", rc);
	/* One call each: the servers are inside hx_router_serve from here on (a serve_one on them
	 * is then -HX_EBUSY, always). Generous deadlines: only a broken router fails this. */
	for (int k = ECHO; k <= SLOW; k++) {
		int status = STATUS_SENTINEL;

		rc = hx_router_call(router, modules[k].id, 0, NULL, 0, NULL, 0, NULL, &status,
		                    hx_time_ns() + 2000 * MS);
		if (rc)
			setup_failed("first call", rc);
	}
}

/* ---- Reading the input ------------------------------------------------------------------------
 */

struct input {
	const uint8_t *data;
	size_t size, pos;
};

static bool input_left(const struct input *in)
{
	return in->pos < in->size;
}

static uint8_t take_u8(struct input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint64_t take_le(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)take_u8(in) << (8 * i);
	return v;
}

/* ---- The per-input model ----------------------------------------------------------------------
 */

/* What the harness saw for a served module during this input. */
struct tally {
	uint64_t calls_tried;   /* calls that may have been queued: 0, EMSGSIZE, ETIMEDOUT */
	uint64_t replies;       /* 0 or -HX_EMSGSIZE */
	uint64_t call_timeouts; /* calls: -HX_ETIMEDOUT */
	uint64_t timeouts;      /* calls and sends: -HX_ETIMEDOUT */
	uint64_t rejected;      /* -HX_EAGAIN */
	uint64_t sends;         /* sends: 0 */
};

/* "tmp": registered or not, its queue as a FIFO of what was queued, and its counters. */
struct tmp_model {
	bool registered;
	uint64_t stale_id; /* the last id it had (0: none yet; 0 is never an id) */
	size_t capacity;
	bool queue[TMP_MAX_CAPACITY]; /* true: a one-way send; false: an abandoned call */
	size_t head, length;
	struct hx_router_stats stats; /* the counters it must show */
};

struct state {
	struct hx_router_stats before[SLOW + 1];
	uint64_t invocations_before[SLOW + 1], nonzero_before[SLOW + 1];
	struct tally tally[SLOW + 1];
	struct tmp_model tmp;
};

/* A target as the input names it. */
struct target {
	enum module_kind kind; /* NONE: nobody lives at the id */
	uint64_t id;
	const char *label;
};

static struct target resolve_id(const struct state *s, uint64_t id, const char *label)
{
	for (int k = ECHO; k <= SLOW; k++)
		if (modules[k].id == id)
			return (struct target){ (enum module_kind)k, id, label };
	if (s->tmp.registered && modules[TMP].id == id)
		return (struct target){ TMP, id, label };
	return (struct target){ NONE, id, label };
}

static struct target take_target(struct input *in, const struct state *s)
{
	switch (take_u8(in) % 6) {
	case 0:
		return resolve_id(s, modules[ECHO].id, "echo");
	case 1:
		return resolve_id(s, modules[SUM].id, "sum");
	case 2:
		return resolve_id(s, modules[SLOW].id, "slow");
	case 3:
		return resolve_id(s, dead_id, "dead");
	case 4:
		return resolve_id(s, s->tmp.registered ? modules[TMP].id : s->tmp.stale_id,
		                  s->tmp.registered ? "tmp" : "tmp (dead or never registered)");
	default:
		return resolve_id(s, take_le(in, 8), "raw id");
	}
}

/* A name as the input gives it, into @name (33 bytes + NUL). */
static void take_name(struct input *in, char *name)
{
	static const char *const fixed[] = { "echo", "sum", "slow", "dead", "tmp", "", "Bad!" };
	uint8_t choice = take_u8(in) % 8;

	if (choice < HX_ARRAY_SIZE(fixed)) {
		strcpy(name, fixed[choice]);
	} else {
		size_t len = take_u8(in) % 33;

		for (size_t i = 0; i < len; i++)
			name[i] = (char)take_u8(in);
		name[len] = '\0';
	}
}

/* The module a name reaches: kind NONE when no live module has it. */
static struct target resolve_name(const struct state *s, const char *name)
{
	for (int k = ECHO; k <= SLOW; k++)
		if (!strcmp(name, module_names[k]))
			return (struct target){ (enum module_kind)k, modules[k].id, name };
	if (s->tmp.registered && !strcmp(name, "tmp"))
		return (struct target){ TMP, modules[TMP].id, name };
	return (struct target){ NONE, 0, name };
}

static uint32_t take_method(struct input *in)
{
	uint8_t m = take_u8(in);

	return m < 0x80 ? m % 4 : (uint32_t)take_le(in, 4);
}

static uint64_t take_deadline(struct input *in, char *label, size_t label_size)
{
	switch (take_u8(in) % 4) {
	case 0:
		snprintf(label, label_size, "NOWAIT");
		return HX_NOWAIT;
	case 1:
		snprintf(label, label_size, "past");
		return 1;
	case 2:
		snprintf(label, label_size, "now+100us");
		return hx_time_ns() + 100 * US;
	default:
		snprintf(label, label_size, "now+1ms");
		return hx_time_ns() + 1 * MS;
	}
}

static size_t take_resp_cap(struct input *in)
{
	static const size_t caps[] = { 0, 1, 8, 64, 256, 4096 };

	return caps[take_u8(in) % HX_ARRAY_SIZE(caps)];
}

/* A request payload. */
struct payload {
	uint8_t bytes[512];
	size_t len;
	bool sum_known; /* built by the harness: sum's answer is known exactly */
	int sum_status; /* that answer: 0, -HX_EINVAL or -HX_EOVERFLOW */
	uint64_t sum;
	const char *how; /* for the trace */
};

static void take_payload(struct input *in, struct payload *p)
{
	struct hx_wire_builder b;
	uint8_t mode = take_u8(in) % 4;
	size_t count;

	p->len = 0;
	p->sum_known = false;
	p->sum_status = 0;
	p->sum = 0;
	switch (mode) {
	case 0:
		p->how = "empty";
		p->sum_known = true;
		p->sum_status = -HX_EINVAL; /* no array */
		return;
	case 1:
		p->how = "raw";
		p->len = take_u8(in);
		for (size_t i = 0; i < p->len; i++)
			p->bytes[i] = take_u8(in);
		return;
	case 2:
		p->how = "uint array";
		p->sum_known = true;
		count = take_u8(in) % 9;
		hx_wire_builder_init(&b, p->bytes, sizeof(p->bytes));
		hx_wire_put_array(&b, count);
		for (size_t i = 0; i < count; i++) {
			static const unsigned widths[] = { 1, 2, 4, 8 };
			uint64_t value = take_le(in, widths[take_u8(in) % 4]);

			hx_wire_put_uint(&b, value);
			if (p->sum_status == 0 && value > UINT64_MAX - p->sum)
				p->sum_status = -HX_EOVERFLOW;
			else if (p->sum_status == 0)
				p->sum += value;
		}
		break;
	default:
		/* Mixed items: any that is not an unsigned integer makes it -HX_EINVAL. */
		p->how = "mixed array";
		p->sum_known = true;
		count = take_u8(in) % 6;
		hx_wire_builder_init(&b, p->bytes, sizeof(p->bytes));
		hx_wire_put_array(&b, count);
		for (size_t i = 0; i < count; i++) {
			uint8_t type = take_u8(in) % 7, value = take_u8(in);

			switch (type) {
			case 0:
				hx_wire_put_uint(&b, value);
				p->sum += value;
				continue;
			case 1:
				hx_wire_put_negative(&b, value);
				break;
			case 2:
				hx_wire_put_text(&b, "abcd", value % 5);
				break;
			case 3:
				hx_wire_put_bytes(&b, &value, 1);
				break;
			case 4:
				hx_wire_put_array(&b, 1);
				hx_wire_put_uint(&b, value);
				break;
			case 5:
				hx_wire_put_bool(&b, value & 1);
				break;
			default:
				hx_wire_put_null(&b);
				break;
			}
			p->sum_status = -HX_EINVAL;
		}
		break;
	}
	if (hx_wire_builder_finish(&b, &p->len, NULL) != 0)
		abort(); /* the harness's own payloads always fit */
}

/* A name from the input, quoted, with anything unprintable escaped. */
static void trace_name(const char *name)
{
	if (!hx_fuzz_tracing())
		return;
	fputc('"', stderr);
	for (const char *c = name; *c; c++) {
		if (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\')
			fputc(*c, stderr);
		else
			fprintf(stderr, "\\x%02x", (uint8_t)*c);
	}
	fputc('"', stderr);
}

static void trace_payload(const struct payload *p)
{
	if (!hx_fuzz_tracing())
		return;
	fprintf(stderr, " payload %s (%zu bytes:", p->how, p->len);
	for (size_t i = 0; i < p->len && i < 24; i++)
		fprintf(stderr, " %02x", p->bytes[i]);
	fprintf(stderr, "%s)", p->len > 24 ? " ..." : "");
}

/* ---- Checking results -------------------------------------------------------------------------
 */

static void snapshot(uint64_t id, struct hx_router_stats *out, const char *who)
{
	int rc = hx_router_get_stats(router, id, out);

	HX_FUZZ_REQUIRE("C5", rc == 0, "hx_router_get_stats(%s) of a live module: %s", who,
	                error_name(rc));
}

static uint64_t latency_sum(const struct hx_router_stats *st)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < HX_ROUTER_LATENCY_BUCKETS; i++)
		sum += st->latency[i];
	return sum;
}

/* C5 at any time: what holds however far the server has got. */
static void check_stats_anytime(const struct module *m, const struct hx_router_stats *st)
{
	const char *name = module_names[m->kind];

	HX_FUZZ_REQUIRE("C5", st->queue_capacity == m->capacity,
	                "%s: queue_capacity %llu, registered %zu", name,
	                (unsigned long long)st->queue_capacity, m->capacity);
	HX_FUZZ_REQUIRE("C5", st->queue_high_water <= st->queue_capacity,
	                "%s: queue_high_water %llu above the capacity %llu", name,
	                (unsigned long long)st->queue_high_water,
	                (unsigned long long)st->queue_capacity);
	/* Calls, sends and replies are counted by the callers (this thread only), so they are
	 * fixed while the snapshot is taken; handled and expired only grow. */
	HX_FUZZ_REQUIRE("C5", st->handled + st->expired <= st->calls + st->sends,
	                "%s: handled %llu + expired %llu > calls %llu + sends %llu", name,
	                (unsigned long long)st->handled, (unsigned long long)st->expired,
	                (unsigned long long)st->calls, (unsigned long long)st->sends);
	HX_FUZZ_REQUIRE("C5", st->replies <= st->calls, "%s: replies %llu > calls %llu", name,
	                (unsigned long long)st->replies, (unsigned long long)st->calls);
	HX_FUZZ_REQUIRE("C5", latency_sum(st) == st->replies,
	                "%s: the latency histogram counts %llu round trips, replies %llu", name,
	                (unsigned long long)latency_sum(st), (unsigned long long)st->replies);
	HX_FUZZ_REQUIRE("C5", st->errors <= st->handled, "%s: errors %llu > handled %llu", name,
	                (unsigned long long)st->errors, (unsigned long long)st->handled);
}

/* C4: tmp's counters are exactly the model's. */
static void check_tmp_stats(const struct state *s)
{
	struct hx_router_stats st;
	const struct hx_router_stats *want = &s->tmp.stats;

	snapshot(modules[TMP].id, &st, "tmp");
#define SAME(field)                                                           \
	HX_FUZZ_REQUIRE("C4", st.field == want->field,                        \
	                "tmp: stats." #field " is %llu, the model says %llu", \
	                (unsigned long long)st.field, (unsigned long long)want->field)
	SAME(calls);
	SAME(sends);
	SAME(handled);
	SAME(replies);
	SAME(errors);
	SAME(timeouts);
	SAME(late_replies);
	SAME(expired);
	SAME(rejected);
	SAME(queue_full);
	SAME(queue_high_water);
	SAME(queue_capacity);
#undef SAME
	HX_FUZZ_REQUIRE("C4", latency_sum(&st) == 0, "tmp: latency samples without replies");
}

/* tmp's queue: push what was queued, note the high-water mark. */
static void tmp_push(struct tmp_model *t, bool one_way)
{
	t->queue[(t->head + t->length) % TMP_MAX_CAPACITY] = one_way;
	t->length++;
	if (t->length > t->stats.queue_high_water)
		t->stats.queue_high_water = t->length;
}

/*
 * A queueing attempt on tmp (a call or a send): with room it is queued; a full queue is EAGAIN
 * with HX_NOWAIT, else ETIMEDOUT at the deadline (nobody frees room). Returns the expected result
 * of the enqueue and updates the model.
 */
static int tmp_enqueue(struct tmp_model *t, bool one_way, uint64_t deadline)
{
	if (t->length < t->capacity) {
		tmp_push(t, one_way);
		if (one_way)
			t->stats.sends++;
		else
			t->stats.calls++;
		return 0;
	}
	t->stats.queue_full++;
	if (deadline == HX_NOWAIT) {
		t->stats.rejected++;
		return -HX_EAGAIN;
	}
	t->stats.timeouts++;
	return -HX_ETIMEDOUT;
}

/* C2: a successful reply from a served module is the right one. */
static void check_reply(const struct target *t, uint32_t method, const struct payload *req,
                        const uint8_t *resp, size_t resp_len, int status)
{
	const char *name = module_names[t->kind];

	switch (t->kind) {
	case ECHO:
		if (method == METHOD_FAIL) {
			HX_FUZZ_REQUIRE(
			    "C2", status == -HX_EPERM && resp_len == 0,
			    "echo method 2: status %s, %zu bytes; expected HX_EPERM, none",
			    error_name(status), resp_len);
			return;
		}
		/* fall through */
	case SLOW:
		HX_FUZZ_REQUIRE(
		    "C2",
		    status == 0 && resp_len == req->len &&
		        (req->len == 0 || memcmp(resp, req->bytes, req->len) == 0),
		    "%s: status %s, %zu bytes back for a %zu-byte request (or other bytes)", name,
		    error_name(status), resp_len, req->len);
		return;
	case SUM: {
		uint8_t want[9];
		uint64_t got = 0;
		size_t n;

		if (method != METHOD_SUM) {
			HX_FUZZ_REQUIRE("C2", status == -HX_ENOSYS && resp_len == 0,
			                "sum method %u: status %s, %zu bytes; expected HX_ENOSYS",
			                (unsigned)method, error_name(status), resp_len);
			return;
		}
		if (req->sum_known) {
			HX_FUZZ_REQUIRE("C2", status == req->sum_status,
			                "sum of a %s payload: status %s, expected %s (sum %llu)",
			                req->how, error_name(status), error_name(req->sum_status),
			                (unsigned long long)req->sum);
			if (status)
				break;
			n = encode_uint(req->sum, want);
			HX_FUZZ_REQUIRE(
			    "C2", resp_len == n && memcmp(resp, want, n) == 0,
			    "sum: a %zu-byte reply, expected the %zu-byte encoding of %llu",
			    resp_len, n, (unsigned long long)req->sum);
			return;
		}
		/* Raw bytes: the status is one the module documents, and a success is a uint. */
		HX_FUZZ_REQUIRE("C2",
		                status == 0 || status == -HX_EBADMSG || status == -HX_EINVAL ||
		                    status == -HX_EOVERFLOW,
		                "sum of raw bytes: status %s", error_name(status));
		if (status == 0) {
			struct hx_wire_reader r;

			hx_wire_reader_init(&r, resp, resp_len);
			HX_FUZZ_REQUIRE("C2",
			                hx_wire_check_payload(resp, resp_len, NULL) == 0 &&
			                    hx_wire_read_uint(&r, &got) == 0 && !hx_wire_more(&r),
			                "sum: a %zu-byte reply that is not one unsigned integer",
			                resp_len);
		}
		break;
	}
	default:
		hx_fuzz_violated("C1", "a reply from %s, which nobody serves", name);
	}
	if (status != 0)
		HX_FUZZ_REQUIRE("C2", resp_len == 0, "%s: status %s with %zu reply bytes", name,
		                error_name(status), resp_len);
}

/* The size a served module's reply needs (for -HX_EMSGSIZE): the request's for echo and slow. */
static size_t reply_size(const struct target *t, uint32_t method, const struct payload *req)
{
	uint8_t want[9];

	if (t->kind == SUM) {
		uint64_t sum = 0;

		if (method != METHOD_SUM || sum_payload(req->bytes, req->len, &sum) != 0)
			return 0;
		return encode_uint(sum, want);
	}
	if (t->kind == ECHO && method == METHOD_FAIL)
		return 0;
	return req->len;
}

static void do_call(struct input *in, struct state *s, bool by_name)
{
	char name[40], deadline_label[16];
	struct target t;
	struct payload req;
	uint32_t method;
	uint64_t deadline;
	size_t resp_cap, resp_len = 12345;
	uint8_t *resp;
	int status = STATUS_SENTINEL, rc;
	bool name_valid = true;

	if (by_name) {
		take_name(in, name);
		name_valid = hx_router_valid_name(name);
		t = resolve_name(s, name);
	} else {
		t = take_target(in, s);
	}
	method = take_method(in);
	deadline = take_deadline(in, deadline_label, sizeof(deadline_label));
	resp_cap = take_resp_cap(in);
	take_payload(in, &req);
	if (by_name) {
		hx_fuzz_trace("  call name ");
		trace_name(name);
		hx_fuzz_trace(" (%s)", module_names[t.kind]);
	} else {
		hx_fuzz_trace("  call %s (%s)", t.label, module_names[t.kind]);
	}
	hx_fuzz_trace(" method %u deadline %s resp_cap %zu", (unsigned)method, deadline_label,
	              resp_cap);
	trace_payload(&req);

	/* Exact size (ASan); a sentinel shows any write on a failed call. */
	resp = resp_cap ? malloc(resp_cap) : NULL;
	if (resp_cap && !resp)
		abort();
	if (resp_cap)
		memset(resp, RESP_SENTINEL, resp_cap);
	if (by_name)
		rc = hx_router_call_name(router, name, method, req.bytes, req.len, resp, resp_cap,
		                         &resp_len, &status, deadline);
	else
		rc = hx_router_call(router, t.id, method, req.bytes, req.len, resp, resp_cap,
		                    &resp_len, &status, deadline);
	hx_fuzz_trace(" -> %s", error_name(rc));
	if (rc == 0 || rc == -HX_EMSGSIZE)
		hx_fuzz_trace(" status %s resp_len %zu", error_name(status), resp_len);
	hx_fuzz_trace("\n");

	/* C1: the documented results for this target. */
	if (by_name && !name_valid) {
		HX_FUZZ_REQUIRE("C1", rc == -HX_EINVAL, "call to the invalid name \"%s\": %s", name,
		                error_name(rc));
	} else if (t.kind == NONE) {
		int want = by_name ? -HX_ENOENT : -HX_EHOSTUNREACH;

		HX_FUZZ_REQUIRE("C1", rc == want, "call to %s (no live module): %s, expected %s",
		                by_name ? name : t.label, error_name(rc), error_name(want));
	} else if (t.kind == TMP) {
		int want = tmp_enqueue(&s->tmp, false, deadline);

		/* Queued but never served while the caller waits: it gives up (ABANDONED). */
		if (want == 0) {
			want = -HX_ETIMEDOUT;
			s->tmp.stats.timeouts++;
		}
		HX_FUZZ_REQUIRE("C4", rc == want,
		                "call to tmp (queue %zu of %zu, deadline %s): %s, expected %s",
		                s->tmp.length, s->tmp.capacity, deadline_label, error_name(rc),
		                error_name(want));
	} else {
		struct tally *tally = &s->tally[t.kind];

		HX_FUZZ_REQUIRE("C1",
		                rc == 0 || rc == -HX_EMSGSIZE || rc == -HX_ETIMEDOUT ||
		                    (rc == -HX_EAGAIN && deadline == HX_NOWAIT),
		                "call to %s (deadline %s): %s", module_names[t.kind],
		                deadline_label, error_name(rc));
		if (rc == 0 || rc == -HX_EMSGSIZE) {
			tally->replies++;
			tally->calls_tried++;
		} else if (rc == -HX_ETIMEDOUT) {
			tally->calls_tried++;
			tally->call_timeouts++;
			tally->timeouts++;
		} else {
			tally->rejected++;
		}
	}

	/* C2, C3: what the caller got back. */
	if (rc == 0) {
		HX_FUZZ_REQUIRE("C3", resp_len <= resp_cap,
		                "0 with resp_len %zu above resp_cap %zu", resp_len, resp_cap);
		for (size_t i = resp_len; i < resp_cap; i++)
			HX_FUZZ_REQUIRE("C3", resp[i] == RESP_SENTINEL,
			                "the response buffer was written at %zu, past resp_len %zu",
			                i, resp_len);
		check_reply(&t, method, &req, resp, resp_len, status);
	} else if (rc == -HX_EMSGSIZE) {
		size_t need = reply_size(&t, method, &req);

		HX_FUZZ_REQUIRE(
		    "C3", resp_len > resp_cap && resp_len == need,
		    "EMSGSIZE from %s: resp_len %zu (resp_cap %zu, the reply needs %zu)",
		    module_names[t.kind], resp_len, resp_cap, need);
		HX_FUZZ_REQUIRE("C3", status == 0, "EMSGSIZE from %s with status %s",
		                module_names[t.kind], error_name(status));
		for (size_t i = 0; i < resp_cap; i++)
			HX_FUZZ_REQUIRE("C3", resp[i] == RESP_SENTINEL,
			                "EMSGSIZE, but the response buffer was written at %zu", i);
	} else {
		HX_FUZZ_REQUIRE("C3", resp_len == 0 && status == STATUS_SENTINEL,
		                "%s, but resp_len is %zu and *status was written (%d)",
		                error_name(rc), resp_len, status);
		for (size_t i = 0; i < resp_cap; i++)
			HX_FUZZ_REQUIRE("C3", resp[i] == RESP_SENTINEL,
			                "%s, but the response buffer was written at %zu",
			                error_name(rc), i);
	}
	free(resp);
	if (t.kind == TMP)
		check_tmp_stats(s);
}

static void do_send(struct input *in, struct state *s)
{
	char deadline_label[16];
	struct target t = take_target(in, s);
	uint32_t method = take_method(in);
	uint64_t deadline = take_deadline(in, deadline_label, sizeof(deadline_label));
	struct payload req;
	int rc;

	take_payload(in, &req);
	hx_fuzz_trace("  send %s (%s) method %u deadline %s", t.label, module_names[t.kind],
	              (unsigned)method, deadline_label);
	trace_payload(&req);
	rc = hx_router_send(router, t.id, method, req.bytes, req.len, deadline);
	hx_fuzz_trace(" -> %s\n", error_name(rc));

	if (t.kind == NONE) {
		HX_FUZZ_REQUIRE("C1", rc == -HX_EHOSTUNREACH, "send to %s (no live module): %s",
		                t.label, error_name(rc));
	} else if (t.kind == TMP) {
		int want = tmp_enqueue(&s->tmp, true, deadline);

		HX_FUZZ_REQUIRE("C4", rc == want,
		                "send to tmp (queue %zu of %zu, deadline %s): %s, expected %s",
		                s->tmp.length, s->tmp.capacity, deadline_label, error_name(rc),
		                error_name(want));
		check_tmp_stats(s);
	} else {
		struct tally *tally = &s->tally[t.kind];

		HX_FUZZ_REQUIRE("C1",
		                rc == 0 || rc == -HX_ETIMEDOUT ||
		                    (rc == -HX_EAGAIN && deadline == HX_NOWAIT),
		                "send to %s (deadline %s): %s", module_names[t.kind],
		                deadline_label, error_name(rc));
		if (rc == 0)
			tally->sends++;
		else if (rc == -HX_ETIMEDOUT)
			tally->timeouts++;
		else
			tally->rejected++;
	}
}

static void do_register(struct input *in, struct state *s)
{
	static const char *const names[] = { "tmp", "echo", "Bad!", "tmp2" };
	const char *name = names[take_u8(in) % 4];
	uint8_t capacity_byte = take_u8(in);
	/* 0xff asks for an invalid capacity of 0. */
	size_t capacity = capacity_byte == 0xff ? 0 : capacity_byte % TMP_MAX_CAPACITY + 1;
	uint64_t id = 0;
	int rc, want;

	if (!strcmp(name, "tmp2") && !s->tmp.registered) {
		/* It would take the last slot and need a model of its own; only ENOSPC is of
		 * interest (below, with tmp registered). */
		hx_fuzz_trace("  register tmp2: skipped (tmp is not registered)\n");
		return;
	}
	rc = hx_router_register(router, name, tmp_handler, &modules[TMP], capacity, &id);
	hx_fuzz_trace("  register \"%s\" capacity %zu -> %s\n", name, capacity, error_name(rc));
	if (!hx_router_valid_name(name) || capacity == 0)
		want = -HX_EINVAL;
	else if (!strcmp(name, "echo") || (!strcmp(name, "tmp") && s->tmp.registered))
		want = -HX_EEXIST;
	else if (!strcmp(name, "tmp2"))
		want = -HX_ENOSPC; /* echo, sum, slow and tmp fill the 4 slots */
	else
		want = 0;
	HX_FUZZ_REQUIRE("C1", rc == want, "register \"%s\" capacity %zu: %s, expected %s", name,
	                capacity, error_name(rc), error_name(want));
	if (rc != 0)
		return;
	HX_FUZZ_REQUIRE("C1", id != 0 && id != dead_id && id != s->tmp.stale_id,
	                "register gave id %llu (dead id %llu, tmp's last %llu)",
	                (unsigned long long)id, (unsigned long long)dead_id,
	                (unsigned long long)s->tmp.stale_id);
	modules[TMP].id = id;
	modules[TMP].capacity = capacity;
	s->tmp.registered = true;
	s->tmp.capacity = capacity;
	s->tmp.head = s->tmp.length = 0;
	memset(&s->tmp.stats, 0, sizeof(s->tmp.stats));
	s->tmp.stats.queue_capacity = capacity;
	check_tmp_stats(s);
}

static void unregister_tmp(struct state *s)
{
	int rc = hx_router_unregister(router, modules[TMP].id);
	struct hx_router_stats st;

	HX_FUZZ_REQUIRE("C4", rc == 0, "unregister of the live tmp: %s", error_name(rc));
	s->tmp.registered = false;
	s->tmp.stale_id = modules[TMP].id;
	/* What was queued is dropped (the last reference frees it: the leak checker watches). */
	rc = hx_router_get_stats(router, s->tmp.stale_id, &st);
	HX_FUZZ_REQUIRE("C1", rc == -HX_EHOSTUNREACH, "stats of an unregistered id: %s",
	                error_name(rc));
}

static void do_unregister(struct input *in, struct state *s)
{
	struct target t = take_target(in, s);
	int rc;

	if (t.kind <= SLOW) {
		hx_fuzz_trace("  unregister %s: skipped (its server runs for the whole process)\n",
		              module_names[t.kind]);
		return;
	}
	if (t.kind == TMP) {
		hx_fuzz_trace("  unregister tmp\n");
		unregister_tmp(s);
		return;
	}
	rc = hx_router_unregister(router, t.id);
	hx_fuzz_trace("  unregister %s -> %s\n", t.label, error_name(rc));
	HX_FUZZ_REQUIRE("C1", rc == -HX_EHOSTUNREACH, "unregister of %s (no live module): %s",
	                t.label, error_name(rc));
}

static void do_serve(struct input *in, struct state *s)
{
	struct target t = take_target(in, s);
	int rc, want;

	if (t.kind == TMP) {
		uint64_t invocations = atomic_load(&modules[TMP].invocations);
		bool one_way = false;

		if (s->tmp.length > 0) {
			one_way = s->tmp.queue[s->tmp.head];
			s->tmp.head = (s->tmp.head + 1) % TMP_MAX_CAPACITY;
			s->tmp.length--;
			want = 0;
			if (one_way)
				s->tmp.stats.handled++;
			else
				s->tmp.stats.expired++; /* its caller gave up long ago */
		} else {
			want = -HX_EAGAIN;
		}
		rc = hx_router_serve_one(router, t.id, HX_NOWAIT);
		hx_fuzz_trace("  serve one of tmp -> %s\n", error_name(rc));
		HX_FUZZ_REQUIRE("C4", rc == want,
		                "serve_one(tmp, NOWAIT) with %zu queued: %s, expected %s",
		                s->tmp.length + (want == 0), error_name(rc), error_name(want));
		HX_FUZZ_REQUIRE(
		    "C4",
		    atomic_load(&modules[TMP].invocations) - invocations ==
		        (uint64_t)(want == 0 && one_way),
		    "serve_one(tmp): the handler ran %llu times for a %s",
		    (unsigned long long)(atomic_load(&modules[TMP].invocations) - invocations),
		    want      ? "an empty queue"
		    : one_way ? "send"
		              : "an abandoned call");
		check_tmp_stats(s);
		return;
	}
	rc = hx_router_serve_one(router, t.id, HX_NOWAIT);
	hx_fuzz_trace("  serve one of %s -> %s\n", t.label, error_name(rc));
	want = t.kind == NONE ? -HX_EHOSTUNREACH : -HX_EBUSY;
	HX_FUZZ_REQUIRE("C1", rc == want, "serve_one(%s): %s, expected %s", t.label, error_name(rc),
	                error_name(want));
}

static void do_lookup(struct input *in, struct state *s)
{
	char name[40];
	struct target t;
	uint64_t id = 12345;
	int rc;

	take_name(in, name);
	t = resolve_name(s, name);
	rc = hx_router_lookup(router, name, &id);
	hx_fuzz_trace("  lookup ");
	trace_name(name);
	hx_fuzz_trace(" -> %s\n", error_name(rc));
	if (!hx_router_valid_name(name))
		HX_FUZZ_REQUIRE("C6", rc == -HX_EINVAL, "lookup of the invalid name \"%s\": %s",
		                name, error_name(rc));
	else if (t.kind == NONE)
		HX_FUZZ_REQUIRE("C6", rc == -HX_ENOENT, "lookup of \"%s\" (not live): %s", name,
		                error_name(rc));
	else
		HX_FUZZ_REQUIRE("C6", rc == 0 && id == t.id,
		                "lookup of \"%s\": %s, id %llu, expected %llu", name,
		                error_name(rc), (unsigned long long)id, (unsigned long long)t.id);
}

static void do_stats(struct input *in, struct state *s)
{
	struct target t = take_target(in, s);
	struct hx_router_stats st;
	int rc;

	hx_fuzz_trace("  stats of %s (%s)\n", t.label, module_names[t.kind]);
	if (t.kind == TMP) {
		check_tmp_stats(s);
		return;
	}
	rc = hx_router_get_stats(router, t.id, &st);
	if (t.kind == NONE) {
		HX_FUZZ_REQUIRE("C1", rc == -HX_EHOSTUNREACH, "stats of %s (no live module): %s",
		                t.label, error_name(rc));
		return;
	}
	HX_FUZZ_REQUIRE("C5", rc == 0, "stats of %s: %s", t.label, error_name(rc));
	check_stats_anytime(&modules[t.kind], &st);
}

/* ---- Settling and the counter equations -------------------------------------------------------
 */

struct delta {
	uint64_t calls, sends, handled, replies, errors, timeouts, late, expired, rejected, full;
	uint64_t invocations, nonzero;
};

static struct delta delta_of(const struct state *s, int k, const struct hx_router_stats *now)
{
	const struct hx_router_stats *b = &s->before[k];

	return (struct delta){
		.calls = now->calls - b->calls,
		.sends = now->sends - b->sends,
		.handled = now->handled - b->handled,
		.replies = now->replies - b->replies,
		.errors = now->errors - b->errors,
		.timeouts = now->timeouts - b->timeouts,
		.late = now->late_replies - b->late_replies,
		.expired = now->expired - b->expired,
		.rejected = now->rejected - b->rejected,
		.full = now->queue_full - b->queue_full,
		.invocations = atomic_load(&modules[k].invocations) - s->invocations_before[k],
		.nonzero = atomic_load(&modules[k].nonzero) - s->nonzero_before[k],
	};
}

/* The server side is done with everything of this input. */
static bool settled(const struct delta *d)
{
	return d->calls + d->sends == d->handled + d->expired &&
	       d->calls == d->replies + d->late + d->expired && d->handled == d->invocations &&
	       d->errors == d->nonzero;
}

static void settle_and_check(struct state *s)
{
	for (int k = ECHO; k <= SLOW; k++) {
		const char *name = module_names[k];
		const struct tally *t = &s->tally[k];
		uint64_t start = hx_time_ns();
		struct hx_router_stats st;
		struct delta d;

		for (;;) {
			snapshot(modules[k].id, &st, name);
			check_stats_anytime(&modules[k], &st);
			d = delta_of(s, k, &st);
			if (settled(&d))
				break;
			HX_FUZZ_REQUIRE(
			    "C5", hx_time_ns() - start < SETTLE_LIMIT,
			    "%s never settled: calls %llu + sends %llu vs handled %llu + expired "
			    "%llu; replies %llu + late %llu; handler ran %llu times (%llu errors), "
			    "stats say errors %llu",
			    name, (unsigned long long)d.calls, (unsigned long long)d.sends,
			    (unsigned long long)d.handled, (unsigned long long)d.expired,
			    (unsigned long long)d.replies, (unsigned long long)d.late,
			    (unsigned long long)d.invocations, (unsigned long long)d.nonzero,
			    (unsigned long long)d.errors);
			sleep_until(hx_time_ns() + 20 * US);
		}
		hx_fuzz_trace(
		    "  %s settled: calls %llu sends %llu handled %llu replies %llu late %llu "
		    "expired %llu timeouts %llu rejected %llu\n",
		    name, (unsigned long long)d.calls, (unsigned long long)d.sends,
		    (unsigned long long)d.handled, (unsigned long long)d.replies,
		    (unsigned long long)d.late, (unsigned long long)d.expired,
		    (unsigned long long)d.timeouts, (unsigned long long)d.rejected);
		HX_FUZZ_REQUIRE("C5", d.replies == t->replies,
		                "%s: stats count %llu replies, the caller got %llu", name,
		                (unsigned long long)d.replies, (unsigned long long)t->replies);
		HX_FUZZ_REQUIRE("C5", d.sends == t->sends,
		                "%s: stats count %llu sends, %llu returned 0", name,
		                (unsigned long long)d.sends, (unsigned long long)t->sends);
		HX_FUZZ_REQUIRE("C5", d.rejected == t->rejected,
		                "%s: stats count %llu rejected, %llu returned HX_EAGAIN", name,
		                (unsigned long long)d.rejected, (unsigned long long)t->rejected);
		HX_FUZZ_REQUIRE("C5", d.timeouts == t->timeouts,
		                "%s: stats count %llu timeouts, %llu returned HX_ETIMEDOUT", name,
		                (unsigned long long)d.timeouts, (unsigned long long)t->timeouts);
		HX_FUZZ_REQUIRE("C5", d.late + d.expired <= t->call_timeouts,
		                "%s: late %llu + expired %llu, but only %llu calls timed out", name,
		                (unsigned long long)d.late, (unsigned long long)d.expired,
		                (unsigned long long)t->call_timeouts);
		HX_FUZZ_REQUIRE(
		    "C5", d.replies <= d.calls && d.calls <= t->calls_tried,
		    "%s: %llu calls queued, %llu replies, %llu calls could have been queued", name,
		    (unsigned long long)d.calls, (unsigned long long)d.replies,
		    (unsigned long long)t->calls_tried);
		HX_FUZZ_REQUIRE("C5", d.full >= d.rejected, "%s: queue_full %llu < rejected %llu",
		                name, (unsigned long long)d.full, (unsigned long long)d.rejected);
	}
}

/* ---- The program ------------------------------------------------------------------------------
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const op_names[] = { "call",       "call_name", "send",   "register",
		                                "unregister", "serve",     "lookup", "stats" };
	struct input in = { .data = data, .size = data ? size : 0, .pos = 0 };
	struct state s;

	/* The router and its server threads come with the first input, not in an
	 * LLVMFuzzerInitialize: AFL++'s driver starts its (deferred) fork server after that, and
	 * threads do not survive the fork into the process that runs the inputs. */
	if (!router)
		setup();
	memset(&s, 0, sizeof(s));
	for (int k = ECHO; k <= SLOW; k++) {
		snapshot(modules[k].id, &s.before[k], module_names[k]);
		s.invocations_before[k] = atomic_load(&modules[k].invocations);
		s.nonzero_before[k] = atomic_load(&modules[k].nonzero);
	}
	hx_fuzz_trace("router_call: %zu bytes\n", size);
	for (int op = 0; op < MAX_OPS && input_left(&in); op++) {
		uint8_t code = take_u8(&in) % 8;

		hx_fuzz_trace("op %d: %s\n", op, op_names[code]);
		switch (code) {
		case 0:
		case 1:
			do_call(&in, &s, code == 1);
			break;
		case 2:
			do_send(&in, &s);
			break;
		case 3:
			do_register(&in, &s);
			break;
		case 4:
			do_unregister(&in, &s);
			break;
		case 5:
			do_serve(&in, &s);
			break;
		case 6:
			do_lookup(&in, &s);
			break;
		default:
			do_stats(&in, &s);
			break;
		}
	}
	/* The next input starts from the same state: no tmp, every served queue drained. */
	if (s.tmp.registered)
		unregister_tmp(&s);
	settle_and_check(&s);
	return 0;
}
