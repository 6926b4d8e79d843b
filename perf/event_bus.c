// SPDX-License-Identifier: MIT
/*
 * event_bus: what the event bus costs (ipc/event_bus.c, docs/event-bus.md).
 *
 * Publish-to-deliver latency through the asynchronous path: a publisher thread calls
 * hx_bus_publish, which stamps the event with hx_time_ns(); the dispatcher thread, in
 * hx_bus_dispatch, runs one subscriber whose handler takes hx_time_ns() again and records the
 * difference. Three loads:
 *  - paced: one event, wait until it is delivered, then pause --pace-us (default 20 us): the
 *    dispatcher has gone to sleep each time, so this is the futex wake path;
 *  - back_to_back: one event, wait until it is delivered, publish the next at once: the
 *    dispatcher is still spinning in its receive, the hot path;
 *  - stream: publish as fast as the queue takes them (retrying on -HX_EAGAIN): queueing
 *    latency and the dispatcher's throughput.
 * With two or more allowed CPUs the publisher and the dispatcher are pinned to two of them
 * (--no-pin: the scheduler places them).
 *
 * Fan-out: hx_bus_publish_sync on one thread to 1, 4, 16 and 64 subscribers of the event's topic,
 * each a handler that bumps a counter and answers HX_BUS_HANDLED: ns per event, and per handler
 * call. Against the floor of the same number of indirect calls to the same handler in a loop, and
 * the same fan-out through the queue on one thread (hx_bus_publish of 64 events, then
 * hx_bus_dispatch(HX_NOWAIT)).
 *
 * Configurations are interleaved within each repetition; reported are medians over the
 * repetitions. Output: a table and Google Benchmark's JSON shape.
 *
 * bazel run -c opt //perf:event_bus [-- --quick] [--repetitions N] [--events N] [--pace-us US]
 *     [--no-pin] [--out FILE]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <helix/errors.h>
#include <helix/ipc/event_bus.h>
#include <helix/platform.h>

#include "perf/bench_report.h"

#define MAX_REPS   64
#define MAX_FANOUT 64
#define ASYNC_RUN  64 /* events published before each dispatch in the single-thread fan-out */

static struct options {
	int repetitions;
	uint64_t events;       /* per latency configuration and repetition */
	uint64_t paced_events; /* per paced repetition */
	uint64_t fanout_events;
	uint64_t pace_ns;
	const char *out;
	bool quick;
	bool repetitions_given; /* --repetitions wins over --quick's default */
	bool pin;
} opt = { .repetitions = 5,
	  .events = 200000,
	  .paced_events = 20000,
	  .fanout_events = 1000000,
	  .pace_ns = 20000,
	  .pin = true };

static struct bench_env env;
static int allowed_cpus[2];
static int num_allowed_cpus;

enum kind { LATENCY, FANOUT_SYNC, FANOUT_FLOOR, FANOUT_ASYNC };
enum load { PACED, BACK_TO_BACK, STREAM };
static const char *const load_names[] = { "paced", "back_to_back", "stream" };

struct config {
	enum kind kind;
	enum load load;  /* LATENCY */
	int subscribers; /* FANOUT_*: subscribers (floor: indirect calls) per event */
	bool pinned;
	/* per repetition */
	double ns_per_event[MAX_REPS], p50[MAX_REPS], p90[MAX_REPS], p99[MAX_REPS], mean[MAX_REPS];
	double events_per_s[MAX_REPS];
	int count;
	double median_ns_per_event, median_p50, median_p90, median_p99, median_mean;
	double median_events_per_s, ratio_to_floor;
	uint64_t dropped; /* stream: -HX_EAGAIN answers seen by the publisher (retried), last rep */
	uint64_t high_water;
};

static void fail(const char *what, int err)
{
	fprintf(stderr, "event_bus: %s: %s\n", what, err < 0 ? hx_strerror(err) : strerror(err));
	exit(1);
}

/* ---- Threads --------------------------------------------------------------------------------- */

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void unpin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < num_allowed_cpus; i++)
		CPU_SET(allowed_cpus[i], &set);
	if (num_allowed_cpus)
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void find_allowed_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE && num_allowed_cpus < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			allowed_cpus[num_allowed_cpus++] = cpu;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Events per repetition: the same number of handler calls for every fan-out (--events' fan-out
 * budget / subscribers), a multiple of ASYNC_RUN.
 */
static uint64_t iterations(const struct config *c)
{
	if (c->kind == LATENCY)
		return c->load == PACED ? opt.paced_events : opt.events;
	return HX_MAX(opt.fanout_events / (uint64_t)c->subscribers / ASYNC_RUN, (uint64_t)1) *
	       ASYNC_RUN;
}

/* ---- Latency: publisher thread -> queue -> dispatcher thread -> handler ---------------------- */

struct latency_sink {
	uint64_t *samples; /* written by the dispatcher only */
	uint64_t capacity;
	_Atomic uint64_t delivered; /* release: the publisher of a paced run waits on it */
};

static enum hx_bus_response latency_handler(const struct hx_event *event, void *ctx)
{
	struct latency_sink *sink = ctx;
	uint64_t now = hx_time_ns();
	uint64_t n = atomic_load_explicit(&sink->delivered, memory_order_relaxed);

	if (n < sink->capacity)
		sink->samples[n] = now - event->timestamp_ns;
	/* Release: the publisher's acquire load sees the sample; only this thread writes it. */
	atomic_store_explicit(&sink->delivered, n + 1, memory_order_release);
	return HX_BUS_HANDLED;
}

struct dispatcher_arg {
	struct hx_bus *bus;
	bool pinned;
	int result;
};

static void *dispatcher_main(void *p)
{
	struct dispatcher_arg *arg = p;

	if (arg->pinned)
		pin_to(allowed_cpus[1]);
	arg->result = hx_bus_dispatch(arg->bus, HX_FOREVER);
	return NULL;
}

static void sleep_until_ns(uint64_t deadline)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000u),
		               .tv_nsec = (long)(deadline % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void run_latency(struct config *c, uint64_t *samples)
{
	struct hx_bus *bus;
	struct latency_sink sink = { .samples = samples };
	struct dispatcher_arg darg;
	struct hx_bus_stats stats;
	struct hx_subscription sub = { .name = "latency",
		                       .topics = HX_TOPIC_TIMER,
		                       .handler = latency_handler,
		                       .ctx = &sink };
	uint64_t events = iterations(c), begin, wall, retries = 0;
	pthread_t dispatcher;
	int err;

	sink.capacity = events;
	atomic_init(&sink.delivered, 0);
	if ((err = hx_bus_create(1024, &bus)))
		fail("hx_bus_create", err);
	if ((err = hx_bus_subscribe(bus, &sub)) < 0)
		fail("hx_bus_subscribe", err);
	darg = (struct dispatcher_arg){ .bus = bus, .pinned = c->pinned };
	if ((err = pthread_create(&dispatcher, NULL, dispatcher_main, &darg)))
		fail("pthread_create", err);
	if (c->pinned)
		pin_to(allowed_cpus[0]);

	begin = bench_mono_ns();
	for (uint64_t i = 0; i < events; i++) {
		struct hx_event event = hx_event_timer_tick(i, 0);

		while ((err = hx_bus_publish(bus, &event)) == -HX_EAGAIN) {
			retries++;
			hx_cpu_relax();
		}
		if (err)
			fail("hx_bus_publish", err);
		if (c->load == STREAM)
			continue;
		/* Acquire: pairs with the handler's release store. */
		while (atomic_load_explicit(&sink.delivered, memory_order_acquire) <= i)
			hx_cpu_relax();
		if (c->load == PACED)
			sleep_until_ns(bench_mono_ns() + opt.pace_ns);
	}
	while (atomic_load_explicit(&sink.delivered, memory_order_acquire) < events)
		hx_cpu_relax();
	wall = bench_mono_ns() - begin;
	hx_bus_get_stats(bus, &stats);
	hx_bus_shutdown(bus);
	pthread_join(dispatcher, NULL);
	if (c->pinned)
		unpin();
	if (darg.result != -HX_EPIPE)
		fail("hx_bus_dispatch returned", darg.result);
	hx_bus_destroy(bus);

	qsort(samples, events, sizeof(uint64_t), compare_u64);
	c->mean[c->count] = 0;
	for (uint64_t i = 0; i < events; i++)
		c->mean[c->count] += (double)samples[i];
	c->mean[c->count] /= (double)events;
	c->p50[c->count] = (double)samples[events / 2];
	c->p90[c->count] = (double)samples[events * 9 / 10];
	c->p99[c->count] = (double)samples[events * 99 / 100];
	/* Paced runs: the wall time is mostly the pace; throughput only means something for the
	 * stream. */
	c->ns_per_event[c->count] = (double)wall / (double)events;
	c->events_per_s[c->count] = (double)events * 1e9 / (double)wall;
	c->dropped = retries;
	c->high_water = stats.queue_high_water;
	c->count++;
}

/* ---- Fan-out: one thread --------------------------------------------------------------------- */

struct fan_counter {
	uint64_t calls;
};

static enum hx_bus_response fan_handler(const struct hx_event *event, void *ctx)
{
	(void)event;
	((struct fan_counter *)ctx)->calls++;
	return HX_BUS_HANDLED;
}

/* Through a volatile pointer: the floor loop cannot inline or hoist the call. */
static enum hx_bus_response (*volatile floor_target)(const struct hx_event *, void *) = fan_handler;

static void run_fanout(struct config *c)
{
	struct fan_counter counters[MAX_FANOUT];
	struct hx_bus *bus = NULL;
	struct hx_event event = hx_event_timer_tick(1, 1);
	uint64_t events = iterations(c), begin, total = 0;
	int err;

	memset(counters, 0, sizeof(counters));
	if (c->kind != FANOUT_FLOOR) {
		if ((err = hx_bus_create(ASYNC_RUN, &bus)))
			fail("hx_bus_create", err);
		for (int i = 0; i < c->subscribers; i++) {
			struct hx_subscription sub = { .name = "fan",
				                       .topics = HX_TOPIC_TIMER | HX_TOPIC_PROCESS,
				                       .handler = fan_handler,
				                       .ctx = &counters[i] };
			if ((err = hx_bus_subscribe(bus, &sub)) < 0)
				fail("hx_bus_subscribe", err);
		}
	}
	/* Stamped once: the fan-out measures delivery, not the clock. */
	event.timestamp_ns = 1;

	begin = bench_mono_ns();
	switch (c->kind) {
	case FANOUT_FLOOR:
		for (uint64_t i = 0; i < events; i++)
			for (int s = 0; s < c->subscribers; s++)
				floor_target(&event, &counters[s]);
		break;
	case FANOUT_SYNC:
		for (uint64_t i = 0; i < events; i++) {
			struct hx_bus_result result;

			if ((err = hx_bus_publish_sync(bus, &event, &result)))
				fail("hx_bus_publish_sync", err);
		}
		break;
	case FANOUT_ASYNC:
		for (uint64_t i = 0; i < events; i += ASYNC_RUN) {
			for (int k = 0; k < ASYNC_RUN; k++)
				if ((err = hx_bus_publish(bus, &event)))
					fail("hx_bus_publish", err);
			if ((err = hx_bus_dispatch(bus, HX_NOWAIT)) != ASYNC_RUN)
				fail("hx_bus_dispatch", err);
		}
		break;
	case LATENCY:
		break;
	}
	c->ns_per_event[c->count] = (double)(bench_mono_ns() - begin) / (double)events;
	c->events_per_s[c->count] = 1e9 / c->ns_per_event[c->count];
	c->count++;

	for (int s = 0; s < c->subscribers; s++)
		total += counters[s].calls;
	if (total != events * (uint64_t)c->subscribers) {
		fprintf(stderr,
		        "event_bus: fan-out to %d: %" PRIu64 " calls, expected %" PRIu64 "\n",
		        c->subscribers, total, events * (uint64_t)c->subscribers);
		exit(1);
	}
	hx_bus_destroy(bus);
}

/* ---- Statistics and output ------------------------------------------------------------------- */

static void config_name(char *buf, size_t size, const struct config *c)
{
	switch (c->kind) {
	case LATENCY:
		snprintf(buf, size, "event_bus/async_latency/load:%s", load_names[c->load]);
		break;
	case FANOUT_SYNC:
		snprintf(buf, size, "event_bus/fanout_sync/subscribers:%d", c->subscribers);
		break;
	case FANOUT_ASYNC:
		snprintf(buf, size, "event_bus/fanout_queued_one_thread/subscribers:%d",
		         c->subscribers);
		break;
	case FANOUT_FLOOR:
		snprintf(buf, size, "event_bus/fanout_floor/calls:%d", c->subscribers);
		break;
	}
}

static void write_entry(FILE *out, const struct config *c, int family, int rep, bool *first)
{
	char name[128];
	struct bench_entry e;

	config_name(name, sizeof(name), c);
	e = (struct bench_entry){
		.run_name = name,
		.family = family,
		.repetition = rep,
		.repetitions = opt.repetitions,
		.threads = c->kind == LATENCY ? 2 : 1,
		.iterations = rep >= 0 ? iterations(c) : (uint64_t)c->count,
		.real_time = rep >= 0 ? c->ns_per_event[rep] : c->median_ns_per_event,
	};
	bench_begin_entry(out, &e, first);
	fputs(",\n      \"events_per_s\": ", out);
	bench_json_number(out, rep >= 0 ? c->events_per_s[rep] : c->median_events_per_s);
	if (c->kind == LATENCY) {
		fputs(", \"load\": ", out);
		bench_json_string(out, load_names[c->load]);
		fprintf(out, ", \"pinned\": %s,\n      \"p50_ns\": ", c->pinned ? "true" : "false");
		bench_json_number(out, rep >= 0 ? c->p50[rep] : c->median_p50);
		fputs(", \"p90_ns\": ", out);
		bench_json_number(out, rep >= 0 ? c->p90[rep] : c->median_p90);
		fputs(", \"p99_ns\": ", out);
		bench_json_number(out, rep >= 0 ? c->p99[rep] : c->median_p99);
		fputs(", \"mean_ns\": ", out);
		bench_json_number(out, rep >= 0 ? c->mean[rep] : c->median_mean);
		if (rep < 0)
			fprintf(out,
			        ", \"publish_retries\": %" PRIu64
			        ", \"queue_high_water\": %" PRIu64,
			        c->dropped, c->high_water);
	} else {
		fprintf(out, ", \"subscribers\": %d, \"ns_per_call\": ", c->subscribers);
		bench_json_number(out, (rep >= 0 ? c->ns_per_event[rep] : c->median_ns_per_event) /
		                           c->subscribers);
		if (rep < 0 && c->kind != FANOUT_FLOOR) {
			fputs(", \"ratio_to_floor\": ", out);
			bench_json_number(out, c->ratio_to_floor);
		}
	}
	bench_end_entry(out);
}

static int write_json(const char *path, const char *executable, struct config *configs, int n)
{
	FILE *out = bench_open_report(path, &env, "event_bus", executable);
	bool first = true;

	if (!out)
		return -1;
	fprintf(out,
	        "    \"repetitions\": %d,\n    \"events_per_repetition\": %" PRIu64
	        ",\n    \"paced_events_per_repetition\": %" PRIu64
	        ",\n    \"fanout_calls_per_repetition\": %" PRIu64 ",\n    \"pace_ns\": %" PRIu64
	        ",\n    \"clock\": \"CLOCK_MONOTONIC (hx_time_ns)\",\n    \"placement\": ",
	        opt.repetitions, opt.events, opt.paced_events, opt.fanout_events, opt.pace_ns);
	bench_json_string(out, configs[0].pinned ? "latency: publisher and dispatcher pinned to "
	                                           "two CPUs; fan-out: one thread, unpinned"
	                                         : "unpinned");
	fputs("\n  },\n  \"benchmarks\": [", out);
	for (int i = 0; i < n; i++) {
		for (int rep = 0; rep < configs[i].count; rep++)
			write_entry(out, &configs[i], i, rep, &first);
		write_entry(out, &configs[i], i, -1, &first);
	}
	return bench_close_report(out);
}

static void usage(void)
{
	printf("usage: event_bus [--quick] [--repetitions N] [--events N] [--pace-us US] "
	       "[--no-pin] [--out FILE]\n");
}

static void parse_options(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--quick")) {
			opt.quick = true;
			continue;
		}
		if (!strcmp(arg, "--no-pin")) {
			opt.pin = false;
			continue;
		}
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage();
			exit(0);
		}
		if (!value) {
			fprintf(stderr, "event_bus: unknown option or missing value: %s\n", arg);
			exit(2);
		}
		if (!strcmp(arg, "--repetitions")) {
			opt.repetitions = (int)bench_parse_count("event_bus", value, arg);
			opt.repetitions_given = true;
		} else if (!strcmp(arg, "--events"))
			opt.events = bench_parse_count("event_bus", value, arg);
		else if (!strcmp(arg, "--pace-us"))
			opt.pace_ns = bench_parse_count("event_bus", value, arg) * 1000;
		else if (!strcmp(arg, "--out"))
			opt.out = value;
		else {
			fprintf(stderr, "event_bus: unknown option: %s\n", arg);
			exit(2);
		}
		i++;
	}
	if (opt.quick) {
		opt.events = HX_MIN(opt.events, (uint64_t)5000);
		opt.paced_events = 500;
		opt.fanout_events = 64000;
		if (!opt.repetitions_given)
			opt.repetitions = HX_MIN(opt.repetitions, 3);
	}
	opt.paced_events = HX_MIN(opt.paced_events, opt.events);
	if (opt.repetitions > MAX_REPS) {
		fprintf(stderr, "event_bus: at most %d repetitions\n", MAX_REPS);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	static const int fanouts[] = { 1, 4, 16, 64 };
	struct config configs[3 + 3 * 4];
	uint64_t *samples;
	char out_path[4096];
	int n = 0;

	parse_options(argc, argv);
	bench_env_read(&env);
	find_allowed_cpus();
	samples = malloc(opt.events * sizeof(uint64_t));
	if (!samples)
		fail("malloc", ENOMEM);

	memset(configs, 0, sizeof(configs));
	for (int l = PACED; l <= STREAM; l++)
		configs[n++] = (struct config){ .kind = LATENCY,
			                        .load = (enum load)l,
			                        .pinned = opt.pin && num_allowed_cpus >= 2 };
	for (size_t f = 0; f < 4; f++) {
		configs[n++] = (struct config){ .kind = FANOUT_FLOOR, .subscribers = fanouts[f] };
		configs[n++] = (struct config){ .kind = FANOUT_SYNC, .subscribers = fanouts[f] };
		configs[n++] = (struct config){ .kind = FANOUT_ASYNC, .subscribers = fanouts[f] };
	}

	printf("event_bus: %s build, %s; %" PRIu64 " events (paced %" PRIu64 ") x %d "
	       "repetitions; %s\n",
	       env.build_mode, env.compiler, opt.events, opt.paced_events, opt.repetitions,
	       configs[0].pinned ? "latency runs pinned to two CPUs" : "unpinned");
	if (strcmp(env.build_mode, "opt") != 0)
		printf("WARNING: not an optimized build; use bazel run -c opt\n");
	for (int rep = 0; rep < opt.repetitions; rep++)
		for (int i = 0; i < n; i++) {
			if (configs[i].kind == LATENCY)
				run_latency(&configs[i], samples);
			else
				run_fanout(&configs[i]);
		}

	for (int i = 0; i < n; i++) {
		struct config *c = &configs[i];

		c->median_ns_per_event = bench_median(c->ns_per_event, c->count);
		c->median_events_per_s = bench_median(c->events_per_s, c->count);
		if (c->kind == LATENCY) {
			c->median_p50 = bench_median(c->p50, c->count);
			c->median_p90 = bench_median(c->p90, c->count);
			c->median_p99 = bench_median(c->p99, c->count);
			c->median_mean = bench_median(c->mean, c->count);
		}
	}
	printf("\n%-50s %10s %9s %9s %9s %11s\n", "latency (publish -> handler)", "p50 ns",
	       "p90 ns", "p99 ns", "mean ns", "events/s");
	for (int i = 0; i < n; i++) {
		struct config *c = &configs[i];
		char name[128];

		if (c->kind != LATENCY)
			continue;
		config_name(name, sizeof(name), c);
		printf("%-50s %10.0f %9.0f %9.0f %9.0f %11.0f\n", name, c->median_p50,
		       c->median_p90, c->median_p99, c->median_mean, c->median_events_per_s);
	}
	printf("\n%-50s %10s %9s %9s\n", "fan-out", "ns/event", "ns/call", "x floor");
	for (int i = 0; i < n; i++) {
		struct config *c = &configs[i];
		char name[128];
		double floor = 0;

		if (c->kind == LATENCY)
			continue;
		for (int j = 0; j < n; j++)
			if (configs[j].kind == FANOUT_FLOOR &&
			    configs[j].subscribers == c->subscribers)
				floor = configs[j].median_ns_per_event;
		c->ratio_to_floor = floor > 0 ? c->median_ns_per_event / floor : 0;
		config_name(name, sizeof(name), c);
		printf("%-50s %10.1f %9.2f %9.1f\n", name, c->median_ns_per_event,
		       c->median_ns_per_event / c->subscribers, c->ratio_to_floor);
	}
	if (opt.out)
		snprintf(out_path, sizeof(out_path), "%s", opt.out);
	else
		bench_default_out_path(out_path, sizeof(out_path), "event_bus", &env);
	if (write_json(out_path, argv[0], configs, n))
		return 1;
	printf("JSON: %s\n", out_path);
	free(samples);
	return 0;
}
