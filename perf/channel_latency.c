// SPDX-License-Identifier: MIT
/*
 * channel_latency: the helix channel under contention, side by side with peer queues.
 *
 * For 1, 2, 4, 8 and 16 producers sending to one consumer, capacity 64 and 1024 (--capacity), 8-
 * and 64-byte messages, and a spinning or a blocking consumer, every implementation (bench_queue.h)
 * moves the same number of messages through the same harness. Each message carries its send
 * timestamp (and its producer's index) in its first 8 bytes; the consumer takes a timestamp when
 * the receive returns. Reported per configuration and repetition: ns per message at the consumer
 * (start signal to last receive, divided by the messages), one-way latency percentiles, CPU time
 * per message, and ratios to the Vyukov queue. Also: a single-thread send+recv cost, the
 * core-to-core transfer time (cache-line ping-pong), the clock's own cost, and where every thread
 * ran.
 *
 * A configuration that stops making progress (no message received for --stall-timeout seconds) or
 * exceeds --time-limit is stopped, reported as "stalled" and counted: the run never hangs.
 *
 * Output: a table on stdout and Google Benchmark's JSON shape in --out. See perf/README.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#include "perf/bench_queue.h"
#include "perf/bench_report.h"

#define MAX_PRODUCERS 16
#define PRODUCER_BITS 5 /* the producer's index in the low bits of the timestamp word */
#define CACHELINE     64
#define MAX_CPUS      64

const char *bench_dpdk_version(void); /* peers/dpdk_ring.c */

/* ---- Options ------------------------------------------------------------------------------- */

enum preset { PRESET_QUICK, PRESET_DEFAULT, PRESET_FULL };

/*
 * Where the threads of a multi-producer configuration run (--place). The scheduler's own placement
 * of 17 threads on 2 CPUs changes from run to run; split and shared fix it, so a figure can be
 * tied to one placement and repeated.
 */
enum place {
	PLACE_AUTO,   /* pinned when every thread has a CPU of its own, else the scheduler's */
	PLACE_NONE,   /* never pinned */
	PLACE_SPLIT,  /* consumer alone on the first CPU, producers round robin on the others */
	PLACE_SHARED, /* consumer on the first CPU, producer i on the (i+1)-th mod n: shared */
};
static const char *const place_names[] = { "auto", "none", "split", "shared" };
#define NUM_PLACES (sizeof(place_names) / sizeof(place_names[0]))

static struct options {
	enum preset preset;
	int repetitions;
	uint64_t messages;        /* per multi-producer configuration, all producers together */
	uint64_t paced_messages;  /* per paced configuration */
	uint64_t pace_ns;         /* paced: one message per this many ns, all producers together */
	uint64_t single_messages; /* send+recv pairs in the single-thread test */
	uint64_t pingpong_round_trips;
	double stall_timeout_s; /* no message received for this long: stalled */
	double time_limit_s;    /* a configuration never runs longer than this */
	const char *filter;
	const char *out;
	enum place place;
	bool use_tsc;
} opt;

static const struct bench_impl *const impls[] = {
	&bench_helix,         &bench_vyukov,       &bench_dpdk_mp, &bench_dpdk_rts, &bench_wfcqueue,
	&bench_mutex_condvar, &bench_eventfd_ring, &bench_ck_ring, &bench_pipe,
};
#define NUM_IMPLS (sizeof(impls) / sizeof(impls[0]))

static const int producer_counts[] = { 1, 2, 4, 8, 16 };
static const int paced_producer_counts[] = { 1, 2 };
/* The capacities every configuration runs with; --capacity replaces them. */
#define MAX_CAPACITIES 8
static size_t capacities[MAX_CAPACITIES] = { 64, 1024 };
static size_t num_capacities = 2;
static const size_t msg_sizes[] = { 8, 64 };

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: channel_latency [--quick|--full] [--repetitions N] [--filter SUBSTR[,SUBSTR]]\n"
	    "                       [--out FILE] [--messages N] [--stall-timeout S]\n"
	    "                       [--time-limit S] [--place auto|none|split|shared]\n"
	    "                       [--clock tsc|monotonic] [--pace-us US] [--capacity N[,N...]]\n"
	    "  --quick           small message counts (the whole run well under a minute)\n"
	    "  --full            large message counts (minutes)\n"
	    "  --repetitions N   repetitions of every configuration (default 3)\n"
	    "  --filter S        only configurations whose name contains S (or any of S,T,...);\n"
	    "                    names look like helix/producers:8/capacity:1024/msg:8/consumer:spin\n"
	    "  --out FILE        JSON output (default: perf/results/channel_latency-<date>.json in\n"
	    "                    the workspace under bazel run, else in the current directory)\n"
	    "  --messages N      messages per configuration (and send+recv pairs single-threaded)\n"
	    "  --stall-timeout S stop a configuration after S seconds without progress\n"
	    "  --time-limit S    stop a configuration after S seconds in any case\n"
	    "  --place P         where threads run: auto (default: pinned when every thread has\n"
	    "                    a CPU of its own, else where the scheduler puts them), none\n"
	    "                    (never pinned), split (consumer alone on the first CPU, the\n"
	    "                    producers on the others), shared (consumer on the first CPU,\n"
	    "                    producer i on the (i+1)-th, wrapping: some share the consumer's\n"
	    "                    CPU); split and shared add /place:P to the names\n"
	    "  --no-pin          the same as --place none\n"
	    "  --clock C         timestamps from rdtsc (tsc, default) or CLOCK_MONOTONIC\n"
	    "  --pace-us US      paced runs: one message every US microseconds (default 20)\n"
	    "  --capacity N,...  the queue capacities to run (default 64,1024; at most 8, each\n"
	    "                    2..1048576): e.g. one larger than --messages, so a bounded queue\n"
	    "                    never fills and compares with an unbounded one\n");
}

static void parse_capacities(const char *arg)
{
	const char *p = arg;

	num_capacities = 0;
	while (*p) {
		char *end;
		unsigned long long value;

		errno = 0;
		value = strtoull(p, &end, 10);
		if (errno || end == p || (*end && *end != ',') || value < 2 || value > 1048576 ||
		    num_capacities == MAX_CAPACITIES || *p == '-') {
			fprintf(
			    stderr,
			    "channel_latency: --capacity wants up to %d comma-separated capacities "
			    "from 2 to 1048576, not '%s'\n",
			    MAX_CAPACITIES, arg);
			exit(2);
		}
		capacities[num_capacities++] = (size_t)value;
		p = *end ? end + 1 : end;
	}
	if (num_capacities == 0) {
		fprintf(stderr, "channel_latency: --capacity wants at least one capacity\n");
		exit(2);
	}
}

static double parse_seconds(const char *arg, const char *name)
{
	char *end;
	double value = strtod(arg, &end);

	if (*end || !(value > 0)) {
		fprintf(stderr, "channel_latency: %s wants positive seconds, not '%s'\n", name,
		        arg);
		exit(2);
	}
	return value;
}

static void parse_options(int argc, char **argv)
{
	uint64_t messages = 0;
	double stall = 0, limit = 0;

	opt.preset = PRESET_DEFAULT;
	opt.repetitions = 3;
	opt.place = PLACE_AUTO;
	opt.use_tsc = HAVE_TSC;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes_value = true;

		if (!strcmp(arg, "--quick")) {
			opt.preset = PRESET_QUICK;
			takes_value = false;
		} else if (!strcmp(arg, "--full")) {
			opt.preset = PRESET_FULL;
			takes_value = false;
		} else if (!strcmp(arg, "--no-pin")) {
			opt.place = PLACE_NONE;
			takes_value = false;
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!value) {
			fprintf(stderr, "channel_latency: unknown option or missing value: %s\n",
			        arg);
			usage(stderr);
			exit(2);
		} else if (!strcmp(arg, "--repetitions")) {
			opt.repetitions = (int)bench_parse_count("channel_latency", value, arg);
		} else if (!strcmp(arg, "--filter")) {
			opt.filter = value;
		} else if (!strcmp(arg, "--out")) {
			opt.out = value;
		} else if (!strcmp(arg, "--messages")) {
			messages = bench_parse_count("channel_latency", value, arg);
		} else if (!strcmp(arg, "--stall-timeout")) {
			stall = parse_seconds(value, arg);
		} else if (!strcmp(arg, "--time-limit")) {
			limit = parse_seconds(value, arg);
		} else if (!strcmp(arg, "--place")) {
			size_t p = 0;

			while (p < NUM_PLACES && strcmp(value, place_names[p]))
				p++;
			if (p == NUM_PLACES) {
				fprintf(
				    stderr,
				    "channel_latency: --place %s: not one of auto, none, split, "
				    "shared\n",
				    value);
				exit(2);
			}
			opt.place = (enum place)p;
		} else if (!strcmp(arg, "--capacity")) {
			parse_capacities(value);
		} else if (!strcmp(arg, "--pace-us")) {
			opt.pace_ns = bench_parse_count("channel_latency", value, arg) * 1000;
		} else if (!strcmp(arg, "--clock")) {
			if (!strcmp(value, "tsc") && HAVE_TSC) {
				opt.use_tsc = true;
			} else if (!strcmp(value, "monotonic")) {
				opt.use_tsc = false;
			} else {
				fprintf(stderr, "channel_latency: --clock tsc|monotonic\n");
				exit(2);
			}
		} else {
			fprintf(stderr, "channel_latency: unknown option: %s\n", arg);
			usage(stderr);
			exit(2);
		}
		if (takes_value)
			i++;
	}
	switch (opt.preset) {
	case PRESET_QUICK:
		opt.messages = 2000;
		opt.paced_messages = 500;
		opt.single_messages = 100000;
		opt.pingpong_round_trips = 20000;
		opt.stall_timeout_s = 1;
		opt.time_limit_s = 1.5;
		break;
	case PRESET_DEFAULT:
		opt.messages = 100000;
		opt.paced_messages = 20000;
		opt.single_messages = 1000000;
		opt.pingpong_round_trips = 200000;
		opt.stall_timeout_s = 3;
		opt.time_limit_s = 10;
		break;
	case PRESET_FULL:
		opt.messages = 1000000;
		opt.paced_messages = 100000;
		opt.single_messages = 5000000;
		opt.pingpong_round_trips = 1000000;
		opt.stall_timeout_s = 10;
		opt.time_limit_s = 60;
		break;
	}
	if (messages) {
		opt.messages = messages;
		opt.paced_messages = messages;
		opt.single_messages = messages;
	}
	if (!opt.pace_ns)
		opt.pace_ns = 20000;
	if (stall)
		opt.stall_timeout_s = stall;
	if (limit)
		opt.time_limit_s = limit;
	if (opt.messages < MAX_PRODUCERS)
		opt.messages = MAX_PRODUCERS;
	if (opt.paced_messages < MAX_PRODUCERS)
		opt.paced_messages = MAX_PRODUCERS;
}

static bool selected(const char *run_name)
{
	const char *start = opt.filter;

	if (!start || !*start)
		return true;
	while (*start) {
		const char *comma = strchr(start, ',');
		size_t len = comma ? (size_t)(comma - start) : strlen(start);
		char part[128];

		if (len > 0 && len < sizeof(part)) {
			memcpy(part, start, len);
			part[len] = 0;
			if (strstr(run_name, part))
				return true;
		}
		if (!comma)
			break;
		start = comma + 1;
	}
	return false;
}

/* ---- Clock --------------------------------------------------------------------------------- */

static double ticks_per_ns = 1.0;

/* The timestamp clock: rdtsc (no fence: a few cycles of slack, not serialising) or
 * CLOCK_MONOTONIC through the vDSO. */
static inline uint64_t now_ticks(void)
{
#if HAVE_TSC
	if (opt.use_tsc)
		return __rdtsc();
#endif
	return bench_mono_ns();
}

static inline double ticks_to_ns(double ticks)
{
	return ticks / ticks_per_ns;
}

static struct clock_info {
	const char *source;
	double ticks_per_ns;
	double calibration_ms;
	double now_cost_ns;           /* one now_ticks() call */
	double clock_gettime_cost_ns; /* one clock_gettime(CLOCK_MONOTONIC) call */
	double rdtsc_cost_ns;
	char tsc_flags[128];
	char clocksource[64];
} clock_info;

static double cost_of(uint64_t (*fn)(void), uint64_t calls)
{
	uint64_t sink = 0, start = bench_mono_ns();

	for (uint64_t i = 0; i < calls; i++)
		sink += fn();
	__asm__ volatile("" : : "r"(sink));
	return (double)(bench_mono_ns() - start) / (double)calls;
}

#if HAVE_TSC
static uint64_t rdtsc_call(void)
{
	return __rdtsc();
}
#endif

static void calibrate_clock(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	static const char *const wanted[] = { "constant_tsc", "nonstop_tsc", "tsc_known_freq" };

	bench_read_first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
	                      clock_info.clocksource, sizeof(clock_info.clocksource));
	clock_info.tsc_flags[0] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
			char word[64];

			snprintf(word, sizeof(word), " %s", wanted[i]);
			if (strstr(line, word)) {
				if (clock_info.tsc_flags[0])
					strcat(clock_info.tsc_flags, " ");
				strcat(clock_info.tsc_flags, wanted[i]);
			}
		}
		break;
	}
	if (f)
		fclose(f);
	if (opt.use_tsc && (!strstr(clock_info.tsc_flags, "constant_tsc") ||
	                    !strstr(clock_info.tsc_flags, "nonstop_tsc"))) {
		fprintf(stderr, "channel_latency: no invariant TSC here; using CLOCK_MONOTONIC\n");
		opt.use_tsc = false;
	}

	clock_info.clock_gettime_cost_ns = cost_of(bench_mono_ns, 1000000);
#if HAVE_TSC
	clock_info.rdtsc_cost_ns = cost_of(rdtsc_call, 1000000);
	if (opt.use_tsc) {
		/* Calibrate once against CLOCK_MONOTONIC over a short sleep; both ends taken twice,
		 * keeping the tighter bracket. */
		double ms = opt.preset == PRESET_QUICK ? 50 : 200;
		uint64_t ns0 = bench_mono_ns(), tsc0 = __rdtsc(), ns0b = bench_mono_ns();
		struct timespec nap = { 0, (long)(ms * 1e6) };
		uint64_t ns1, tsc1, ns1b;

		nanosleep(&nap, NULL);
		ns1 = bench_mono_ns();
		tsc1 = __rdtsc();
		ns1b = bench_mono_ns();
		ticks_per_ns = (double)(tsc1 - tsc0) /
		               ((double)(ns1 + ns1b) / 2.0 - (double)(ns0 + ns0b) / 2.0);
		clock_info.calibration_ms = ms;
	}
#endif
	clock_info.source = opt.use_tsc ? "rdtsc (invariant TSC, calibrated once against "
	                                  "CLOCK_MONOTONIC; no fence)"
	                                : "clock_gettime(CLOCK_MONOTONIC) (vDSO)";
	clock_info.ticks_per_ns = opt.use_tsc ? ticks_per_ns : 1.0;
	clock_info.now_cost_ns =
	    opt.use_tsc ? clock_info.rdtsc_cost_ns : clock_info.clock_gettime_cost_ns;
}

/* ---- CPUs and placement -------------------------------------------------------------------- */

static int allowed_cpus[MAX_CPUS];
static int num_allowed_cpus;

static void find_cpus(void)
{
	cpu_set_t set;

	num_allowed_cpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (int cpu = 0; cpu < CPU_SETSIZE && num_allowed_cpus < MAX_CPUS; cpu++)
			if (CPU_ISSET(cpu, &set))
				allowed_cpus[num_allowed_cpus++] = cpu;
	}
	if (num_allowed_cpus == 0) {
		allowed_cpus[0] = 0;
		num_allowed_cpus = 1;
	}
}

/* Whether the threads of a configuration are pinned (--place). */
static bool pinning_for(int threads)
{
	switch (opt.place) {
	case PLACE_AUTO:
		return threads <= num_allowed_cpus;
	case PLACE_NONE:
		return false;
	default:
		return true;
	}
}

static const char *place_description(void)
{
	switch (opt.place) {
	case PLACE_AUTO:
		return "threads are pinned (pthread_setaffinity_np: consumer on the first allowed CPU, "
		       "producer i on the (i+1)-th) when every thread of a configuration has a CPU of "
		       "its own; otherwise nobody is pinned and the scheduler places them. Every "
		       "thread samples sched_getcpu() every 256 (producer) / 1024 (consumer) "
		       "messages; each benchmark's \"placement\" lists the CPUs seen per thread, "
		       "'*' marks a thread that migrated.";
	case PLACE_NONE:
		return "nobody is pinned; sched_getcpu() samples as in auto.";
	case PLACE_SPLIT:
		return "always pinned, the consumer alone on the first allowed CPU, "
		       "producer i on the (1 + i mod (n-1))-th of the n allowed CPUs, however many "
		       "producers there are.";
	default:
		return "always pinned, the consumer on the first allowed CPU, "
		       "producer i on the ((i+1) mod n)-th of the n allowed CPUs, however many "
		       "producers there are: with more producers than CPUs some share the "
		       "consumer's CPU.";
	}
}

/* The CPU producer @index is pinned to: split keeps the first CPU for the consumer alone. */
static int producer_cpu(int index)
{
	if (opt.place == PLACE_SPLIT)
		return allowed_cpus[1 + index % (num_allowed_cpus - 1)];
	return allowed_cpus[(1 + index) % num_allowed_cpus];
}

static bool pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

struct placement {
	uint64_t cpus_seen; /* bit per CPU (CPUs >= 63 share bit 63) */
	uint32_t migrations;
	int last_cpu;
	int pinned_cpu; /* -1: not pinned */
};

static void placement_init(struct placement *p)
{
	p->cpus_seen = 0;
	p->migrations = 0;
	p->last_cpu = -1;
	p->pinned_cpu = -1;
}

static inline void placement_sample(struct placement *p)
{
	int cpu = sched_getcpu();

	if (cpu < 0)
		return;
	if (p->last_cpu >= 0 && cpu != p->last_cpu)
		p->migrations++;
	p->last_cpu = cpu;
	p->cpus_seen |= (uint64_t)1 << (cpu < 63 ? cpu : 63);
}

static void format_cpus(char *buf, size_t size, uint64_t mask)
{
	size_t used = 0;

	buf[0] = 0;
	for (int cpu = 0; cpu < 64 && used + 4 < size; cpu++) {
		if (mask & ((uint64_t)1 << cpu))
			used +=
			    (size_t)snprintf(buf + used, size - used, "%s%d", used ? "," : "", cpu);
	}
	if (!used)
		snprintf(buf, size, "?");
}

/* "consumer:{0} p0:{1}" plus migrations, for the JSON. */
static void format_placement(char *buf, size_t size, const struct placement *consumer,
                             const struct placement *producers, int count)
{
	char cpus[64];
	size_t used;

	format_cpus(cpus, sizeof(cpus), consumer->cpus_seen);
	used =
	    (size_t)snprintf(buf, size, "consumer:{%s}%s", cpus, consumer->migrations ? "*" : "");
	for (int i = 0; i < count && used < size; i++) {
		format_cpus(cpus, sizeof(cpus), producers[i].cpus_seen);
		used += (size_t)snprintf(buf + used, size - used, " p%d:{%s}%s", i, cpus,
		                         producers[i].migrations ? "*" : "");
	}
}

/* ---- Statistics ---------------------------------------------------------------------------- */

static void radix_sort_u32(uint32_t *values, uint32_t *scratch, size_t n)
{
	uint32_t *src = values, *dst = scratch;

	for (int shift = 0; shift < 32; shift += 8) {
		size_t counts[257] = { 0 };

		for (size_t i = 0; i < n; i++)
			counts[((src[i] >> shift) & 0xff) + 1]++;
		for (int b = 0; b < 256; b++)
			counts[b + 1] += counts[b];
		for (size_t i = 0; i < n; i++)
			dst[counts[(src[i] >> shift) & 0xff]++] = src[i];
		uint32_t *swap = src;
		src = dst;
		dst = swap;
	}
	/* Four passes: the sorted data is back in @values. */
}

/* Nearest-rank percentile of sorted values. */
static uint32_t percentile(const uint32_t *sorted, size_t n, double q)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)ceil(q * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/* ---- Results ------------------------------------------------------------------------------- */

enum mode { MODE_SPIN, MODE_BLOCK, MODE_SINGLE };
enum status { STATUS_OK, STATUS_STALLED, STATUS_NA, STATUS_ERROR };

/*
 * Saturated: every producer sends as fast as it can; the consumer's rate decides, and latency
 * includes the time a message waits in a full queue. Paced: the producers together send one
 * message every --pace-us, so the queue is nearly always empty and latency is the transfer (and,
 * with a blocking consumer, the wake-up) itself.
 */
enum load { LOAD_SATURATED, LOAD_PACED };

static const char *const mode_names[] = { "spin", "block", "single" };
static const char *const load_names[] = { "saturated", "paced" };
static const char *const status_names[] = { "ok", "stalled", "n/a", "error" };

struct sample {
	enum status status;
	char note[256];
	uint64_t messages;
	uint64_t received;
	double seconds;
	double ns_per_msg;
	double cpu_ns_per_msg;
	double p50_ns, p99_ns, p999_ns, max_ns;
	uint64_t order_errors;
	uint64_t clock_skew_samples;
	bool pinned;
	char placement[640];
	int threads_abandoned;
	double stop_seconds; /* stalled: from the stop to the last thread leaving */
	struct bench_extra extra;
};

struct result {
	const struct bench_impl *impl;
	enum mode mode;
	enum load load;
	int producers;
	size_t capacity;
	size_t msg_size;
	char run_name[192];
	int count;
	struct sample *samples; /* opt.repetitions of them */
	int family_index;       /* 1 + the implementation's index */
	int instance_index;     /* among that implementation's configurations */
	/* Filled in by summarize(): medians over the repetitions that completed. */
	int ok_count;
	double median_ns, median_cpu_ns, median_p50, median_p99, median_p999, worst_max;
	double spread; /* slowest / fastest ns per message over the completed repetitions */
	/* To vyukov; NAN when there is no reference. Paced runs have no throughput ratio: their
	 * rate is the pace. */
	double ratio, p50_ratio, p99_ratio;
};

static struct result *results;
static size_t num_results, results_capacity;
static int total_stalled, total_errors, total_abandoned;

/* Saturated runs keep the names they had before paced runs existed. */
static void format_run_name(char *buf, size_t size, const struct bench_impl *impl, enum mode mode,
                            enum load load, int producers, size_t capacity, size_t msg_size)
{
	if (mode == MODE_SINGLE)
		snprintf(buf, size, "channel_latency/%s/single_thread/capacity:%zu/msg:%zu",
		         impl->name, capacity, msg_size);
	else
		snprintf(buf, size,
		         "channel_latency/%s/producers:%d/capacity:%zu/msg:%zu/consumer:%s%s%s%s",
		         impl->name, producers, capacity, msg_size, mode_names[mode],
		         load == LOAD_PACED ? "/load:paced" : "",
		         opt.place >= PLACE_SPLIT ? "/place:" : "",
		         opt.place >= PLACE_SPLIT ? place_names[opt.place] : "");
}

static struct result *new_result(const struct bench_impl *impl, enum mode mode, enum load load,
                                 int producers, size_t capacity, size_t msg_size)
{
	struct result *r;

	if (num_results == results_capacity) {
		results_capacity = results_capacity ? results_capacity * 2 : 256;
		results = realloc(results, results_capacity * sizeof(*results));
		if (!results) {
			perror("realloc");
			exit(1);
		}
	}
	r = &results[num_results++];
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < NUM_IMPLS; i++)
		if (impls[i] == impl)
			r->family_index = 1 + (int)i;
	for (size_t i = 0; i + 1 < num_results; i++)
		r->instance_index += results[i].impl == impl;
	r->impl = impl;
	r->mode = mode;
	r->load = load;
	r->producers = producers;
	r->capacity = capacity;
	r->msg_size = msg_size;
	r->samples = calloc((size_t)opt.repetitions, sizeof(*r->samples));
	if (!r->samples) {
		perror("calloc");
		exit(1);
	}
	format_run_name(r->run_name, sizeof(r->run_name), impl, mode, load, producers, capacity,
	                msg_size);
	return r;
}

static double *scratch_doubles(int count)
{
	double *values = malloc((size_t)(count > 0 ? count : 1) * sizeof(double));

	if (!values) {
		perror("malloc");
		exit(1);
	}
	return values;
}

static void summarize(struct result *r)
{
	double *ns = scratch_doubles(r->count), *cpu = scratch_doubles(r->count);
	double *p50 = scratch_doubles(r->count), *p99 = scratch_doubles(r->count);
	double *p999 = scratch_doubles(r->count);
	int n = 0;

	double fastest = NAN, slowest = NAN;

	r->worst_max = NAN;
	for (int i = 0; i < r->count; i++) {
		const struct sample *s = &r->samples[i];

		if (s->status != STATUS_OK)
			continue;
		if (isnan(fastest) || s->ns_per_msg < fastest)
			fastest = s->ns_per_msg;
		if (isnan(slowest) || s->ns_per_msg > slowest)
			slowest = s->ns_per_msg;
		ns[n] = s->ns_per_msg;
		cpu[n] = s->cpu_ns_per_msg;
		p50[n] = s->p50_ns;
		p99[n] = s->p99_ns;
		p999[n] = s->p999_ns;
		if (isnan(r->worst_max) || s->max_ns > r->worst_max)
			r->worst_max = s->max_ns;
		n++;
	}
	r->ok_count = n;
	r->spread = fastest > 0 ? slowest / fastest : NAN;
	r->median_ns = bench_median(ns, n);
	r->median_cpu_ns = bench_median(cpu, n);
	r->median_p50 = bench_median(p50, n);
	r->median_p99 = bench_median(p99, n);
	r->median_p999 = bench_median(p999, n);
	r->ratio = r->p50_ratio = r->p99_ratio = NAN;
	free(ns);
	free(cpu);
	free(p50);
	free(p99);
	free(p999);
}

/* The reference: Vyukov, same load, producers, capacity and size, spinning (it cannot block). */
static const struct result *reference_for(const struct result *r)
{
	enum mode mode = r->mode == MODE_SINGLE ? MODE_SINGLE : MODE_SPIN;

	for (size_t i = 0; i < num_results; i++) {
		const struct result *ref = &results[i];

		if (!strcmp(ref->impl->name, "vyukov") && ref->mode == mode &&
		    ref->load == r->load && ref->producers == r->producers &&
		    ref->capacity == r->capacity && ref->msg_size == r->msg_size)
			return ref->ok_count > 0 ? ref : NULL;
	}
	return NULL;
}

static void set_ratio(struct result *r)
{
	const struct result *ref = reference_for(r);

	if (!ref || r->ok_count == 0)
		return;
	if (r->load == LOAD_SATURATED)
		r->ratio = r->median_ns / ref->median_ns;
	if (r->mode != MODE_SINGLE) {
		r->p50_ratio = r->median_p50 / ref->median_p50;
		r->p99_ratio = r->median_p99 / ref->median_p99;
	}
}

/* ---- One multi-producer run ---------------------------------------------------------------- */

struct run;

struct producer_arg {
	struct run *run;
	int index;
	uint64_t count;
	void *ctx; /* from producer_attach; detached by the harness after the consumer is done */
};

/*
 * Everything the threads touch lives here, on the heap: a run whose threads would not leave is
 * abandoned with its struct run leaked, never freed under them (nor on run_multi's stack).
 */
struct run {
	const struct bench_impl *impl;
	void *queue;
	int producers;
	size_t msg_size;
	bool block;
	bool pinned;
	uint64_t messages;
	uint64_t warmup;  /* the first messages, left out of the latency statistics */
	uint64_t t0;      /* timestamps in messages are relative to this */
	uint64_t pace_ns; /* paced: each producer's period (--pace-us x producers); 0: saturated */
	struct producer_arg args[MAX_PRODUCERS];

	atomic_int ready;
	atomic_int attach_failed;
	atomic_uint go; /* a futex word: 0 until the start */
	atomic_bool stop;
	_Alignas(CACHELINE) atomic_uint_fast64_t progress; /* messages received, for the watchdog */
	_Alignas(CACHELINE) atomic_bool consumer_done;
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;

	/* The consumer's results. */
	uint64_t t_end;
	uint64_t received;
	uint32_t *latency; /* ticks, saturating */
	uint64_t latency_count;
	uint64_t max_latency;
	uint64_t order_errors;
	uint64_t clock_skew;
	uint64_t per_producer[MAX_PRODUCERS];

	struct placement consumer_place;
	struct placement producer_place[MAX_PRODUCERS];
};

/*
 * Every thread of a run sleeps on the go word until the start, and the start wakes them all, so
 * they begin from the same scheduler state. A start that spun on sched_yield left each thread's
 * state to how often it had yielded while the others were created (Linux's EEVDF moves a yielding
 * thread's virtual deadline back by a slice per yield): perf/README.md, "The start of a run".
 */
static void wait_for_go(struct run *run)
{
	atomic_fetch_add(&run->ready, 1);
	/* Acquire: pairs with the release store of go; the futex only sleeps. */
	while (!atomic_load_explicit(&run->go, memory_order_acquire))
		syscall(SYS_futex, &run->go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

/*
 * Sleeps until CLOCK_MONOTONIC reaches @when_ns (with timer slack 1 ns, set per producer thread),
 * so paced producers leave the CPUs to the consumer between messages; the send timestamp is taken
 * after the sleep, so the sleep's own lateness is not counted as latency.
 */
static void pace_until(uint64_t when_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(when_ns / 1000000000),
		               .tv_nsec = (long)(when_ns % 1000000000) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *producer_main(void *opaque)
{
	struct producer_arg *arg = opaque;
	struct run *run = arg->run;
	struct placement *place = &run->producer_place[arg->index];
	_Alignas(CACHELINE) unsigned char msg[64];
	void *ctx = NULL;

	placement_init(place);
	if (run->pinned) {
		place->pinned_cpu = producer_cpu(arg->index);
		pin_to(place->pinned_cpu);
	}
	if (run->pace_ns)
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (run->impl->producer_attach) {
		ctx = run->impl->producer_attach(run->queue, arg->index, arg->count);
		if (!ctx)
			atomic_store(&run->attach_failed, 1);
	}
	memset(msg, 0xa5, sizeof(msg));
	placement_sample(place);
	wait_for_go(run);
	if (!atomic_load(&run->attach_failed) || !run->impl->producer_attach) {
		/* Paced: producers take turns, evenly spread over each period. */
		uint64_t next_ns = bench_mono_ns() +
		                   run->pace_ns * (uint64_t)arg->index / (uint64_t)run->producers;

		for (uint64_t i = 0; i < arg->count; i++) {
			uint64_t word;

			if (run->pace_ns) {
				pace_until(next_ns);
				/* Fell behind (preempted): start a new period, never a burst. */
				next_ns += run->pace_ns;
				if (next_ns < bench_mono_ns())
					next_ns = bench_mono_ns() + run->pace_ns;
			}
			word = ((now_ticks() - run->t0) << PRODUCER_BITS) | (uint64_t)arg->index;

			memcpy(msg, &word, sizeof(word));
			if (run->impl->send(run->queue, ctx, msg, &run->stop) != 0)
				break;
			if ((i & 255) == 255)
				placement_sample(place);
		}
	}
	placement_sample(place);
	/* Messages still in flight may live in the producer's context (wfcqueue's node pool): the
	 * harness detaches it once the consumer is done. */
	arg->ctx = ctx;
	return NULL;
}

static void *consumer_main(void *opaque)
{
	struct run *run = opaque;
	struct placement *place = &run->consumer_place;
	_Alignas(CACHELINE) unsigned char msg[64];
	uint64_t last_stamp[MAX_PRODUCERS] = { 0 };
	const struct bench_impl *impl = run->impl;
	uint64_t received = 0;

	placement_init(place);
	if (run->pinned) {
		place->pinned_cpu = allowed_cpus[0];
		pin_to(place->pinned_cpu);
	}
	placement_sample(place);
	wait_for_go(run);
	while (received < run->messages) {
		uint64_t word, stamp, now;
		int64_t latency;
		unsigned producer;

		if (run->block) {
			if (impl->recv(run->queue, msg, &run->stop) != 0)
				break;
		} else if (!impl->try_recv(run->queue, msg)) {
			if (atomic_load_explicit(&run->stop, memory_order_relaxed))
				break;
			bench_pause();
			continue;
		}
		now = now_ticks() - run->t0;
		memcpy(&word, msg, sizeof(word));
		stamp = word >> PRODUCER_BITS;
		producer = (unsigned)(word & ((1u << PRODUCER_BITS) - 1));
		latency = (int64_t)(now - stamp);
		if (latency < 0) {
			run->clock_skew++; /* TSCs out of sync across CPUs, or rdtsc reordering */
			latency = 0;
		}
		if (received >= run->warmup) {
			run->latency[run->latency_count++] =
			    latency > UINT32_MAX ? UINT32_MAX : (uint32_t)latency;
			if ((uint64_t)latency > run->max_latency)
				run->max_latency = (uint64_t)latency;
		}
		if (producer < MAX_PRODUCERS) {
			if (stamp < last_stamp[producer])
				run->order_errors++;
			last_stamp[producer] = stamp;
			run->per_producer[producer]++;
		} else {
			run->order_errors++;
		}
		received++;
		if ((received & 63) == 0 || run->pace_ns) {
			atomic_store_explicit(&run->progress, received, memory_order_relaxed);
			if ((received & 1023) == 0) {
				placement_sample(place);
				if (atomic_load_explicit(&run->stop, memory_order_relaxed))
					break;
			}
		}
	}
	run->t_end = now_ticks() - run->t0;
	run->received = received;
	placement_sample(place);
	pthread_mutex_lock(&run->done_lock);
	atomic_store(&run->consumer_done, true);
	pthread_cond_signal(&run->done_cond);
	pthread_mutex_unlock(&run->done_lock);
	return NULL;
}

static double process_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * A thread that would not leave after a stop is still spinning somewhere inside a peer. It is
 * demoted to SCHED_IDLE, so that it runs only on otherwise idle CPUs instead of competing with the
 * configurations measured after it, and detached. (Its handle is still valid here: it has not been
 * joined or detached yet, even if it has just exited.)
 */
static void abandon(pthread_t thread)
{
	struct sched_param param = { .sched_priority = 0 };

	pthread_setschedparam(thread, SCHED_IDLE, &param);
	pthread_detach(thread);
}

/* Joins @thread within @deadline (CLOCK_REALTIME); false when it would not end. */
static bool join_by(pthread_t thread, const struct timespec *deadline)
{
	return pthread_timedjoin_np(thread, NULL, deadline) == 0;
}

static void run_multi(const struct bench_impl *impl, int producers, size_t capacity,
                      size_t msg_size, enum mode mode, enum load load, struct sample *out)
{
	uint64_t messages = load == LOAD_PACED ? opt.paced_messages : opt.messages;
	/* A paced run takes messages x pace by design: the limit is on top of that. */
	double time_limit_s =
	    opt.time_limit_s +
	    (load == LOAD_PACED ? (double)messages * (double)opt.pace_ns / 1e9 : 0);
	struct run *run;
	pthread_t consumer, producer_threads[MAX_PRODUCERS];
	struct producer_arg *args;
	uint64_t go_ticks, last_progress = 0;
	double cpu_start, go_ns, last_progress_ns, elapsed_s, stop_ns = 0, stop_s = 0, grace_s;
	bool hit_time_limit = false;
	bool stalled = false, all_joined = true;
	int started = 0;
	struct timespec deadline;

	memset(out, 0, sizeof(*out));
	out->messages = messages;
	run = aligned_alloc(CACHELINE, (sizeof(*run) + CACHELINE - 1) & ~(size_t)(CACHELINE - 1));
	if (!run) {
		out->status = STATUS_ERROR;
		snprintf(out->note, sizeof(out->note), "out of memory");
		return;
	}
	memset(run, 0, sizeof(*run));
	run->impl = impl;
	run->producers = producers;
	run->msg_size = msg_size;
	run->block = mode == MODE_BLOCK;
	run->pinned = pinning_for(producers + 1);
	run->messages = messages;
	run->warmup = messages / 100;
	run->pace_ns = load == LOAD_PACED ? opt.pace_ns * (uint64_t)producers : 0;
	args = run->args;
	pthread_mutex_init(&run->done_lock, NULL);
	pthread_cond_init(&run->done_cond, NULL);
	run->latency = malloc(run->messages * sizeof(uint32_t));
	if (!run->latency || impl->create(capacity, msg_size, producers, &run->queue) != 0) {
		out->status = STATUS_ERROR;
		snprintf(out->note, sizeof(out->note), "create failed");
		free(run->latency);
		free(run);
		return;
	}
	/* Fault the latency buffer in before timing. */
	memset(run->latency, 0, run->messages * sizeof(uint32_t));
	run->t0 = now_ticks();

	if (pthread_create(&consumer, NULL, consumer_main, run) != 0) {
		out->status = STATUS_ERROR;
		snprintf(out->note, sizeof(out->note), "pthread_create failed");
		impl->destroy(run->queue);
		free(run->latency);
		free(run);
		return;
	}
	for (int i = 0; i < producers; i++) {
		args[i].run = run;
		args[i].index = i;
		args[i].ctx = NULL;
		args[i].count = messages / (uint64_t)producers +
		                ((uint64_t)i < messages % (uint64_t)producers ? 1 : 0);
		if (pthread_create(&producer_threads[i], NULL, producer_main, &args[i]) != 0)
			break;
		started++;
	}
	if (started < producers) {
		/* Cannot happen short of a broken system; run what started, then report. */
		atomic_store(&run->stop, true);
	}
	while (atomic_load(&run->ready) < started + 1)
		sched_yield();

	cpu_start = process_cpu_ns();
	go_ticks = now_ticks() - run->t0;
	go_ns = (double)bench_mono_ns();
	last_progress_ns = go_ns;
	atomic_store_explicit(&run->go, 1, memory_order_release);
	syscall(SYS_futex, &run->go, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);

	/* The watchdog: wait for the consumer, checking progress every 20 ms. */
	for (;;) {
		struct timespec wake;
		double now_ns;
		uint64_t progress;

		clock_gettime(CLOCK_REALTIME, &wake);
		wake.tv_nsec += 20 * 1000 * 1000;
		if (wake.tv_nsec >= 1000000000) {
			wake.tv_sec++;
			wake.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&run->done_lock);
		if (!atomic_load(&run->consumer_done))
			pthread_cond_timedwait(&run->done_cond, &run->done_lock, &wake);
		pthread_mutex_unlock(&run->done_lock);
		if (atomic_load(&run->consumer_done))
			break;
		now_ns = (double)bench_mono_ns();
		progress = atomic_load_explicit(&run->progress, memory_order_relaxed);
		if (progress != last_progress) {
			last_progress = progress;
			last_progress_ns = now_ns;
		}
		if (now_ns - last_progress_ns > opt.stall_timeout_s * 1e9 ||
		    now_ns - go_ns > time_limit_s * 1e9) {
			stalled = true;
			hit_time_limit = now_ns - last_progress_ns <= opt.stall_timeout_s * 1e9;
			stop_ns = now_ns;
			atomic_store(&run->stop, true);
			impl->wake_all(run->queue);
			break;
		}
	}

	/* After a stop every thread gets a grace period to leave: a producer inside a peer's own
	 * wait loop (DPDK's tail wait) leaves only when the producer it waits for gets a CPU, which
	 * took seconds here. One that does not leave is abandoned (and its queue leaked) rather
	 * than waited for; it may keep spinning and slow down what follows, so that is reported. */
	grace_s = time_limit_s * 2 > 10 ? time_limit_s * 2 : 10;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)grace_s;
	if (!join_by(consumer, &deadline)) {
		all_joined = false;
		out->threads_abandoned++;
		abandon(consumer);
	}
	for (int i = 0; i < started; i++) {
		if (!join_by(producer_threads[i], &deadline)) {
			all_joined = false;
			out->threads_abandoned++;
			abandon(producer_threads[i]);
		}
	}
	elapsed_s = ((double)bench_mono_ns() - go_ns) / 1e9;
	if (stalled)
		stop_s = ((double)bench_mono_ns() - stop_ns) / 1e9;
	out->stop_seconds = stop_s;

	if (!all_joined) {
		/* Threads still inside the queue: report what is known, touch nothing they use. */
		out->status = STATUS_STALLED;
		out->received = atomic_load(&run->progress);
		out->seconds = elapsed_s;
		snprintf(out->note, sizeof(out->note),
		         "stalled: %" PRIu64 " of %" PRIu64
		         " messages; %d threads had not left %.0f s "
		         "after the stop and were abandoned",
		         out->received, out->messages, out->threads_abandoned, grace_s);
		total_abandoned += out->threads_abandoned;
		total_stalled++;
		return;
	}

	/* Everyone has left: the producers' contexts can go (messages never received die here). */
	if (impl->producer_detach)
		for (int i = 0; i < started; i++)
			impl->producer_detach(run->queue, args[i].ctx);
	out->received = run->received;
	out->seconds = ticks_to_ns((double)(run->t_end - go_ticks)) / 1e9;
	out->ns_per_msg = run->received
	                      ? ticks_to_ns((double)(run->t_end - go_ticks)) / (double)run->received
	                      : 0;
	out->cpu_ns_per_msg =
	    run->received ? (process_cpu_ns() - cpu_start) / (double)run->received : 0;
	out->order_errors = run->order_errors;
	out->clock_skew_samples = run->clock_skew;
	out->pinned = run->pinned;
	if (run->latency_count) {
		uint32_t *scratch = malloc(run->latency_count * sizeof(uint32_t));

		if (scratch) {
			radix_sort_u32(run->latency, scratch, run->latency_count);
			free(scratch);
			out->p50_ns =
			    ticks_to_ns(percentile(run->latency, run->latency_count, 0.50));
			out->p99_ns =
			    ticks_to_ns(percentile(run->latency, run->latency_count, 0.99));
			out->p999_ns =
			    ticks_to_ns(percentile(run->latency, run->latency_count, 0.999));
			out->max_ns = ticks_to_ns((double)run->max_latency);
		}
	}
	format_placement(out->placement, sizeof(out->placement), &run->consumer_place,
	                 run->producer_place, producers);
	if (impl->extra)
		impl->extra(run->queue, run->received, &out->extra);

	if (stalled) {
		out->status = STATUS_STALLED;
		snprintf(out->note, sizeof(out->note),
		         "stalled: %" PRIu64 " of %" PRIu64
		         " messages in %.1f s (%.0f msgs/s), %s; "
		         "threads left %.2f s after the stop",
		         run->received, run->messages, (stop_ns - go_ns) / 1e9,
		         (double)run->received * 1e9 / (stop_ns - go_ns),
		         hit_time_limit ? "time limit (progressing slowly)"
		                        : "no progress for the stall timeout",
		         stop_s);
		total_stalled++;
	} else if (atomic_load(&run->attach_failed) || started < producers) {
		out->status = STATUS_ERROR;
		snprintf(out->note, sizeof(out->note), "setup failed (producer pool or thread)");
		total_errors++;
	} else {
		uint64_t accounted = 0;

		for (int i = 0; i < producers; i++) {
			accounted += run->per_producer[i];
			if (run->per_producer[i] != args[i].count) {
				out->status = STATUS_ERROR;
				snprintf(out->note, sizeof(out->note),
				         "producer %d: %" PRIu64 " messages received, %" PRIu64
				         " sent",
				         i, run->per_producer[i], args[i].count);
			}
		}
		if (out->status == STATUS_OK && run->order_errors) {
			out->status = STATUS_ERROR;
			snprintf(out->note, sizeof(out->note),
			         "%" PRIu64 " messages out of per-producer order",
			         run->order_errors);
		}
		if (out->status == STATUS_OK && accounted != run->messages) {
			out->status = STATUS_ERROR;
			snprintf(out->note, sizeof(out->note), "message count mismatch");
		}
		if (out->status == STATUS_ERROR)
			total_errors++;
	}

	impl->destroy(run->queue);
	pthread_cond_destroy(&run->done_cond);
	pthread_mutex_destroy(&run->done_lock);
	free(run->latency);
	free(run);
}

/* ---- The single-thread cost ---------------------------------------------------------------- */

static void run_single(const struct bench_impl *impl, size_t capacity, size_t msg_size,
                       struct sample *out)
{
	_Alignas(CACHELINE) unsigned char msg[64], got[64];
	static atomic_bool never_stop;
	void *queue, *ctx = NULL;
	uint64_t pairs = opt.single_messages, start, end;
	double cpu_start;

	memset(out, 0, sizeof(*out));
	out->messages = pairs;
	if (impl->create(capacity, msg_size, 1, &queue) != 0) {
		out->status = STATUS_ERROR;
		snprintf(out->note, sizeof(out->note), "create failed");
		total_errors++;
		return;
	}
	if (impl->producer_attach && !(ctx = impl->producer_attach(queue, 0, pairs))) {
		out->status = STATUS_ERROR;
		snprintf(out->note, sizeof(out->note), "producer pool failed");
		impl->destroy(queue);
		total_errors++;
		return;
	}
	memset(msg, 0x5a, sizeof(msg));
	/* Warm up: a lap around the ring. */
	for (size_t i = 0; i < capacity + 16; i++) {
		impl->send(queue, ctx, msg, &never_stop);
		impl->try_recv(queue, got);
	}
	cpu_start = process_cpu_ns();
	start = now_ticks();
	for (uint64_t i = 0; i < pairs; i++) {
		memcpy(msg, &i, sizeof(i));
		if (impl->send(queue, ctx, msg, &never_stop) != 0 || !impl->try_recv(queue, got)) {
			out->status = STATUS_ERROR;
			snprintf(out->note, sizeof(out->note), "send+recv failed at %" PRIu64, i);
			break;
		}
	}
	end = now_ticks();
	out->received = pairs;
	out->seconds = ticks_to_ns((double)(end - start)) / 1e9;
	out->ns_per_msg = ticks_to_ns((double)(end - start)) / (double)pairs;
	out->cpu_ns_per_msg = (process_cpu_ns() - cpu_start) / (double)pairs;
	snprintf(out->placement, sizeof(out->placement), "main thread, cpu %d (unpinned)",
	         sched_getcpu());
	if (impl->extra)
		impl->extra(queue, pairs, &out->extra);
	if (impl->producer_detach)
		impl->producer_detach(queue, ctx);
	impl->destroy(queue);
	if (out->status == STATUS_ERROR)
		total_errors++;
}

/* ---- Core-to-core transfer time ------------------------------------------------------------ */

static struct pingpong {
	_Alignas(CACHELINE) atomic_uint_fast64_t line;
	_Alignas(CACHELINE) uint64_t round_trips;
	int cpus[2];
	bool pinned;
	struct placement place[2];
	double median_ns, min_ns; /* one-way: round trip / 2 */
	int batches;
} pingpong;

#define PINGPONG_BATCHES 20

static void *pingpong_echo(void *unused)
{
	(void)unused;
	placement_init(&pingpong.place[1]);
	if (pingpong.pinned)
		pin_to(pingpong.cpus[1]);
	placement_sample(&pingpong.place[1]);
	for (uint64_t i = 0; i < pingpong.round_trips; i++) {
		while (atomic_load_explicit(&pingpong.line, memory_order_acquire) != 2 * i + 1)
			;
		atomic_store_explicit(&pingpong.line, 2 * i + 2, memory_order_release);
	}
	placement_sample(&pingpong.place[1]);
	return NULL;
}

static void *pingpong_serve(void *unused)
{
	uint64_t per_batch = pingpong.round_trips / PINGPONG_BATCHES;
	double batch_ns[PINGPONG_BATCHES];

	(void)unused;
	placement_init(&pingpong.place[0]);
	if (pingpong.pinned)
		pin_to(pingpong.cpus[0]);
	placement_sample(&pingpong.place[0]);
	for (int b = 0; b < PINGPONG_BATCHES; b++) {
		uint64_t start = now_ticks();

		for (uint64_t j = 0; j < per_batch; j++) {
			uint64_t i = (uint64_t)b * per_batch + j;

			atomic_store_explicit(&pingpong.line, 2 * i + 1, memory_order_release);
			while (atomic_load_explicit(&pingpong.line, memory_order_acquire) !=
			       2 * i + 2)
				;
		}
		batch_ns[b] = ticks_to_ns((double)(now_ticks() - start)) / (double)per_batch / 2;
	}
	placement_sample(&pingpong.place[0]);
	pingpong.min_ns = batch_ns[0];
	for (int b = 1; b < PINGPONG_BATCHES; b++)
		if (batch_ns[b] < pingpong.min_ns)
			pingpong.min_ns = batch_ns[b];
	pingpong.median_ns = bench_median(batch_ns, PINGPONG_BATCHES);
	pingpong.batches = PINGPONG_BATCHES;
	return NULL;
}

static void measure_core_to_core(void)
{
	pthread_t a, b;

	pingpong.round_trips = opt.pingpong_round_trips / PINGPONG_BATCHES * PINGPONG_BATCHES;
	pingpong.pinned = pinning_for(2);
	pingpong.cpus[0] = allowed_cpus[0];
	pingpong.cpus[1] = allowed_cpus[num_allowed_cpus > 1 ? 1 : 0];
	if (num_allowed_cpus < 2) {
		/* Two spinning threads on one CPU would measure the scheduler, not a transfer. */
		pingpong.median_ns = pingpong.min_ns = NAN;
		return;
	}
	atomic_store(&pingpong.line, 0);
	pthread_create(&b, NULL, pingpong_echo, NULL);
	pthread_create(&a, NULL, pingpong_serve, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

/* ---- Environment --------------------------------------------------------------------------- */

static struct bench_env env;
static char dpdk_version[64];

/* ---- JSON ---------------------------------------------------------------------------------- */

static void write_context(FILE *out, const char *executable)
{
	bench_write_context_head(out, &env, "channel_latency", executable);
	fprintf(out, "    \"nproc\": %d,\n", num_allowed_cpus);
	fputs("    \"dpdk_version\": ", out);
	bench_json_string(out, dpdk_version);
	fputs(",\n    \"preset\": ", out);
	bench_json_string(out, opt.preset == PRESET_QUICK  ? "quick"
	                       : opt.preset == PRESET_FULL ? "full"
	                                                   : "default");
	fprintf(out,
	        ",\n    \"repetitions\": %d,\n    \"messages_per_configuration\": %" PRIu64
	        ",\n    \"single_thread_pairs\": %" PRIu64 ",\n"
	        "    \"paced_messages_per_configuration\": %" PRIu64 ",\n"
	        "    \"pace_ns\": %" PRIu64 ",\n",
	        opt.repetitions, opt.messages, opt.single_messages, opt.paced_messages,
	        opt.pace_ns);
	fputs("    \"latency_warmup\": \"the first 1% of each run's messages are left out of the "
	      "latency percentiles and max\",\n",
	      out);
	fprintf(out, "    \"stall_timeout_s\": %.3g,\n    \"time_limit_s\": %.3g,\n",
	        opt.stall_timeout_s, opt.time_limit_s);
	fprintf(out, "    \"stalled_count\": %d,\n    \"error_count\": %d,\n", total_stalled,
	        total_errors);
	fprintf(out, "    \"abandoned_threads\": %d,\n", total_abandoned);
	fputs("    \"filter\": ", out);
	bench_json_string(out, opt.filter ? opt.filter : "");
	fputs(",\n    \"clock\": {\"source\": ", out);
	bench_json_string(out, clock_info.source);
	fputs(", \"ticks_per_ns\": ", out);
	bench_json_number(out, clock_info.ticks_per_ns);
	fputs(", \"calibration_ms\": ", out);
	bench_json_number(out, clock_info.calibration_ms);
	fputs(", \"timestamp_cost_ns\": ", out);
	bench_json_number(out, clock_info.now_cost_ns);
	fputs(", \"rdtsc_cost_ns\": ", out);
	bench_json_number(out, clock_info.rdtsc_cost_ns);
	fputs(", \"clock_gettime_cost_ns\": ", out);
	bench_json_number(out, clock_info.clock_gettime_cost_ns);
	fputs(", \"tsc_flags\": ", out);
	bench_json_string(out, clock_info.tsc_flags);
	fputs(", \"clocksource\": ", out);
	bench_json_string(out, clock_info.clocksource);
	fputs("},\n", out);

	fputs("    \"core_to_core\": {\"one_way_median_ns\": ", out);
	bench_json_number(out, pingpong.median_ns);
	fputs(", \"one_way_min_ns\": ", out);
	bench_json_number(out, pingpong.min_ns);
	fprintf(out,
	        ", \"round_trips\": %" PRIu64 ", \"batches\": %d, \"cpus\": [%d, %d], "
	        "\"pinned\": %s, \"method\": ",
	        pingpong.round_trips, pingpong.batches, pingpong.cpus[0], pingpong.cpus[1],
	        pingpong.pinned ? "true" : "false");
	bench_json_string(out,
	                  "one cache line bounced between two threads (each spins on a load until "
	                  "the other's store arrives); one-way = round trip / 2, per batch");
	fputs("},\n", out);

	fputs("    \"place\": ", out);
	bench_json_string(out, place_names[opt.place]);
	fputs(",\n    \"placement\": ", out);
	bench_json_string(out, place_description());
	fputs(",\n    \"ratio_reference\": ", out);
	bench_json_string(out,
	                  "vyukov with a spinning consumer, same producers, capacity and message "
	                  "size (it cannot block: blocking rows are compared with it too)");
	fputs(",\n    \"implementations\": [", out);
	for (size_t i = 0; i < NUM_IMPLS; i++) {
		const struct bench_impl *impl = impls[i];

		fprintf(out, "%s\n      {\"name\": ", i ? "," : "");
		bench_json_string(out, impl->name);
		fputs(", \"summary\": ", out);
		bench_json_string(out, impl->summary);
		fputs(", \"bounded\": ", out);
		fputs(impl->bounded ? "true" : "false", out);
		fputs(",\n       \"producer_wait\": ", out);
		bench_json_string(out, impl->producer_wait);
		fputs(",\n       \"consumer_spin_wait\": ", out);
		bench_json_string(out, impl->consumer_spin_wait);
		fputs(",\n       \"consumer_block_wait\": ", out);
		bench_json_string(out,
		                  impl->consumer_block_wait
		                      ? impl->consumer_block_wait
		                      : "n/a: cannot block (blocking rows are reported as n/a)");
		fputs("}", out);
	}
	fputs("\n    ]\n  },\n", out);
}

static void write_counters(FILE *out, const struct sample *s, const struct result *r, double ratio,
                           double p50_ratio, double p99_ratio)
{
	fprintf(out, ",\n      \"msgs_per_s\": ");
	bench_json_number(out, s->ns_per_msg > 0 ? 1e9 / s->ns_per_msg : NAN);
	if (r->mode != MODE_SINGLE) {
		fputs(", \"p50_ns\": ", out);
		bench_json_number(out, s->p50_ns);
		fputs(", \"p99_ns\": ", out);
		bench_json_number(out, s->p99_ns);
		fputs(", \"p999_ns\": ", out);
		bench_json_number(out, s->p999_ns);
		fputs(", \"max_ns\": ", out);
		bench_json_number(out, s->max_ns);
	}
	if (isfinite(ratio)) {
		fputs(",\n      \"ratio_to_vyukov\": ", out);
		bench_json_number(out, ratio);
	}
	if (isfinite(p50_ratio)) {
		fputs(", \"p50_ratio_to_vyukov\": ", out);
		bench_json_number(out, p50_ratio);
	}
	if (isfinite(p99_ratio)) {
		fputs(", \"p99_ratio_to_vyukov\": ", out);
		bench_json_number(out, p99_ratio);
	}
	for (int i = 0; i < s->extra.count; i++) {
		fprintf(out, ", \"%s\": ", s->extra.names[i]);
		bench_json_number(out, s->extra.values[i]);
	}
}

static void write_entry_head(FILE *out, const struct result *r, const char *name,
                             const char *run_type, int repetition_index, bool *first)
{
	fprintf(out, "%s\n    {\n      \"name\": ", *first ? "" : ",");
	*first = false;
	bench_json_string(out, name);
	/* Families as Google Benchmark numbers them: one per implementation (the ping-pong is 0),
	 * one instance per configuration. */
	fprintf(out,
	        ",\n      \"family_index\": %d, \"per_family_instance_index\": %d,\n"
	        "      \"run_name\": ",
	        r->family_index, r->instance_index);
	bench_json_string(out, r->run_name);
	fprintf(out, ",\n      \"run_type\": \"%s\", \"repetitions\": %d", run_type,
	        opt.repetitions);
	if (repetition_index >= 0)
		fprintf(out, ", \"repetition_index\": %d", repetition_index);
	fprintf(out, ", \"threads\": %d,\n", r->mode == MODE_SINGLE ? 1 : r->producers + 1);
	fputs("      \"implementation\": ", out);
	bench_json_string(out, r->impl->name);
	fprintf(out, ", \"producers\": %d, \"capacity\": %zu, \"msg_size\": %zu, ", r->producers,
	        r->capacity, r->msg_size);
	fputs("\"consumer_mode\": ", out);
	bench_json_string(out, mode_names[r->mode]);
	if (r->mode != MODE_SINGLE) {
		fputs(", \"load\": ", out);
		bench_json_string(out, load_names[r->load]);
	}
	fputs(", \"consumer_wait\": ", out);
	bench_json_string(out, r->mode == MODE_SINGLE         ? "single thread: send then try-recv"
	                       : r->mode == MODE_SPIN         ? r->impl->consumer_spin_wait
	                       : r->impl->consumer_block_wait ? r->impl->consumer_block_wait
	                                                      : "n/a: cannot block");
	fputs(",\n", out);
}

static void write_result(FILE *out, const struct result *r, bool *first)
{
	const struct result *ref = reference_for(r);
	bool have_ref = ref != NULL;

	for (int i = 0; i < r->count; i++) {
		const struct sample *s = &r->samples[i];

		write_entry_head(out, r, r->run_name, "iteration", i, first);
		fprintf(out, "      \"status\": \"%s\"", status_names[s->status]);
		if (s->status != STATUS_OK) {
			fputs(", \"error_occurred\": true, \"error_message\": ", out);
			bench_json_string(out, s->note);
		}
		fprintf(out, ",\n      \"iterations\": %" PRIu64 ", \"real_time\": ", s->received);
		bench_json_number(out, s->ns_per_msg);
		fputs(", \"cpu_time\": ", out);
		bench_json_number(out, s->cpu_ns_per_msg);
		fputs(", \"time_unit\": \"ns\"", out);
		if (s->status == STATUS_NA) {
			fputs("\n    }", out);
			continue;
		}
		fprintf(out, ",\n      \"messages\": %" PRIu64 ", \"seconds\": ", s->messages);
		bench_json_number(out, s->seconds);
		fprintf(out,
		        ", \"stalled\": %d, \"order_errors\": %" PRIu64
		        ", \"clock_skew_samples\": %" PRIu64 ", \"threads_abandoned\": %d",
		        s->status == STATUS_STALLED, s->order_errors, s->clock_skew_samples,
		        s->threads_abandoned);
		if (s->status == STATUS_STALLED) {
			fputs(", \"stop_seconds\": ", out);
			bench_json_number(out, s->stop_seconds);
		}
		fprintf(out,
		        ",\n      \"pinned\": %s, \"placement\": ", s->pinned ? "true" : "false");
		bench_json_string(out, s->placement);
		write_counters(out, s, r,
		               have_ref && s->status == STATUS_OK && r->load == LOAD_SATURATED
		                   ? s->ns_per_msg / ref->median_ns
		                   : NAN,
		               have_ref && s->status == STATUS_OK && r->mode != MODE_SINGLE
		                   ? s->p50_ns / ref->median_p50
		                   : NAN,
		               have_ref && s->status == STATUS_OK && r->mode != MODE_SINGLE
		                   ? s->p99_ns / ref->median_p99
		                   : NAN);
		fputs("\n    }", out);
	}

	/* Aggregates over the completed repetitions, as Google Benchmark writes them. */
	if (opt.repetitions > 1 && r->ok_count > 0) {
		static const char *const names[] = { "mean", "median", "stddev" };

		for (int a = 0; a < 3; a++) {
			struct sample agg = { 0 };
			double sum[6] = { 0 }, sq[6] = { 0 }, *med[6];
			int n = 0;

			for (int k = 0; k < 6; k++)
				med[k] = scratch_doubles(r->count);
			char name[224];

			for (int i = 0; i < r->count; i++) {
				const struct sample *s = &r->samples[i];
				double v[6] = { s->ns_per_msg, s->cpu_ns_per_msg, s->p50_ns,
					        s->p99_ns,     s->p999_ns,        s->max_ns };

				if (s->status != STATUS_OK)
					continue;
				for (int k = 0; k < 6; k++) {
					sum[k] += v[k];
					sq[k] += v[k] * v[k];
					med[k][n] = v[k];
				}
				n++;
			}
			double value[6];
			for (int k = 0; k < 6; k++) {
				double mean = sum[k] / n;

				if (a == 0)
					value[k] = mean;
				else if (a == 1)
					value[k] = bench_median(med[k], n);
				else
					value[k] =
					    n > 1
					        ? sqrt(fmax(0, (sq[k] - n * mean * mean) / (n - 1)))
					        : 0;
				free(med[k]);
			}
			agg.ns_per_msg = value[0];
			agg.cpu_ns_per_msg = value[1];
			agg.p50_ns = value[2];
			agg.p99_ns = value[3];
			agg.p999_ns = value[4];
			agg.max_ns = value[5];
			agg.extra = r->samples[0].extra;
			agg.extra.count = 0;
			snprintf(name, sizeof(name), "%s_%s", r->run_name, names[a]);
			write_entry_head(out, r, name, "aggregate", -1, first);
			fprintf(out,
			        "      \"aggregate_name\": \"%s\", \"aggregate_unit\": \"time\", "
			        "\"status\": \"ok\", \"completed_repetitions\": %d,\n",
			        names[a], n);
			fprintf(out, "      \"iterations\": %d, \"real_time\": ", n);
			bench_json_number(out, agg.ns_per_msg);
			fputs(", \"cpu_time\": ", out);
			bench_json_number(out, agg.cpu_ns_per_msg);
			fputs(", \"time_unit\": \"ns\"", out);
			if (a == 1) {
				write_counters(out, &agg, r, r->ratio, r->p50_ratio, r->p99_ratio);
				fputs(", \"spread\": ", out);
				bench_json_number(out, r->spread);
			} else
				write_counters(out, &agg, r, NAN, NAN, NAN);
			fputs("\n    }", out);
		}
	}
}

static void write_pingpong_entry(FILE *out, bool *first)
{
	fprintf(out, "%s\n    {\n      \"name\": \"channel_latency/core_to_core/pingpong\",\n",
	        *first ? "" : ",");
	*first = false;
	fputs("      \"family_index\": 0, \"per_family_instance_index\": 0,\n", out);
	fputs("      \"run_name\": \"channel_latency/core_to_core/pingpong\",\n", out);
	fprintf(out,
	        "      \"run_type\": \"iteration\", \"repetitions\": 1, \"repetition_index\": 0, "
	        "\"threads\": 2,\n      \"iterations\": %" PRIu64 ", \"real_time\": ",
	        pingpong.round_trips);
	bench_json_number(out, pingpong.median_ns);
	fputs(", \"cpu_time\": ", out);
	bench_json_number(out, pingpong.median_ns);
	fputs(", \"time_unit\": \"ns\", \"min_ns\": ", out);
	bench_json_number(out, pingpong.min_ns);
	fputs(", \"status\": \"ok\"\n    }", out);
}

static int write_json(const char *path, const char *executable)
{
	FILE *out = fopen(path, "w");
	bool first = true;

	if (!out) {
		fprintf(stderr, "channel_latency: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	write_context(out, executable);
	fputs("  \"benchmarks\": [", out);
	write_pingpong_entry(out, &first);
	for (size_t i = 0; i < num_results; i++)
		write_result(out, &results[i], &first);
	fputs("\n  ]\n}\n", out);
	if (fclose(out) != 0) {
		fprintf(stderr, "channel_latency: writing %s failed\n", path);
		return -1;
	}
	return 0;
}

/* ---- The table ----------------------------------------------------------------------------- */

static void format_ns(char *buf, size_t size, double ns)
{
	if (!isfinite(ns))
		snprintf(buf, size, "-");
	else if (ns >= 1e6)
		snprintf(buf, size, "%.1fms", ns / 1e6);
	else if (ns >= 1e4)
		snprintf(buf, size, "%.1fus", ns / 1e3);
	else if (ns >= 100)
		snprintf(buf, size, "%.0f", ns);
	else
		snprintf(buf, size, "%.1f", ns);
}

static void print_header(bool single, enum load load)
{
	if (single) {
		printf("\n%-14s %8s %5s %8s %10s %10s %6s %9s\n", "implementation", "capacity",
		       "msg", "mode", "ns/pair", "cpu ns", "spread", "x vyukov");
		return;
	}
	printf("\n%-14s %4s %5s %4s %6s %9s %9s %6s %9s %9s %9s %9s %9s\n", "implementation",
	       "prod", "cap", "msg", "mode", "ns/msg", "cpu ns", "spread", "p50", "p99", "p99.9",
	       "max", load == LOAD_PACED ? "p50 x vy" : "x vyukov");
}

static void print_row(const struct result *r)
{
	char ns[24], cpu[24], p50[24], p99[24], p999[24], max[24], ratio[24], spread[24];
	const struct sample *bad = NULL;

	for (int i = 0; i < r->count; i++)
		if (r->samples[i].status != STATUS_OK)
			bad = &r->samples[i];
	format_ns(ns, sizeof(ns), r->median_ns);
	format_ns(cpu, sizeof(cpu), r->median_cpu_ns);
	format_ns(p50, sizeof(p50), r->median_p50);
	format_ns(p99, sizeof(p99), r->median_p99);
	format_ns(p999, sizeof(p999), r->median_p999);
	format_ns(max, sizeof(max), r->worst_max);
	if (isfinite(r->spread))
		snprintf(spread, sizeof(spread), r->spread < 10 ? "%.2f" : "%.0f", r->spread);
	else
		snprintf(spread, sizeof(spread), "-");
	if (r->load == LOAD_PACED && isfinite(r->p50_ratio))
		snprintf(ratio, sizeof(ratio), "%.2f", r->p50_ratio);
	else if (isfinite(r->ratio))
		snprintf(ratio, sizeof(ratio), "%.2f", r->ratio);
	else
		snprintf(ratio, sizeof(ratio), "-");

	if (r->mode == MODE_SINGLE) {
		printf("%-14s %8zu %5zu %8s %10s %10s %6s %9s", r->impl->name, r->capacity,
		       r->msg_size, "single", ns, cpu, spread, ratio);
	} else if (r->count == 1 && r->samples[0].status == STATUS_NA) {
		printf("%-14s %4d %5zu %4zu %6s  n/a: cannot block (see the spin row)",
		       r->impl->name, r->producers, r->capacity, r->msg_size, mode_names[r->mode]);
		bad = NULL;
	} else {
		printf("%-14s %4d %5zu %4zu %6s %9s %9s %6s %9s %9s %9s %9s %9s", r->impl->name,
		       r->producers, r->capacity, r->msg_size, mode_names[r->mode], ns, cpu, spread,
		       p50, p99, p999, max, ratio);
	}
	if (bad)
		printf("  %s x%d/%d: %s", status_names[bad->status], r->count - r->ok_count,
		       r->count, bad->note);
	printf("\n");
	fflush(stdout);
}

/* ---- Main ---------------------------------------------------------------------------------- */

static void run_group(enum mode mode, enum load load, int producers, size_t capacity,
                      size_t msg_size)
{
	size_t group[NUM_IMPLS]; /* indices: results may move when it grows */
	size_t members = 0;

	for (size_t i = 0; i < NUM_IMPLS; i++) {
		char name[192];

		format_run_name(name, sizeof(name), impls[i], mode, load, producers, capacity,
		                msg_size);
		if (!selected(name))
			continue;
		new_result(impls[i], mode, load, producers, capacity, msg_size);
		group[members++] = num_results - 1;
	}
	/* Implementations interleaved within each repetition: load drift hits all of them. */
	for (int rep = 0; rep < opt.repetitions; rep++) {
		for (size_t m = 0; m < members; m++) {
			struct result *r = &results[group[m]];
			struct sample *s = &r->samples[r->count];

			if (mode == MODE_BLOCK && !r->impl->recv) {
				if (rep == 0) {
					memset(s, 0, sizeof(*s));
					s->status = STATUS_NA;
					snprintf(s->note, sizeof(s->note),
					         "n/a: %s cannot block; compare with its spin row",
					         r->impl->name);
					r->count++;
				}
				continue;
			}
			/* A configuration that stalled once is not repeated: a stall costs the
			 * whole time limit, and the first one has made the point. */
			if (r->count > 0 && r->samples[r->count - 1].status == STATUS_STALLED)
				continue;
			if (mode == MODE_SINGLE)
				run_single(r->impl, capacity, msg_size, s);
			else
				run_multi(r->impl, producers, capacity, msg_size, mode, load, s);
			r->count++;
		}
	}
	for (size_t m = 0; m < members; m++)
		summarize(&results[group[m]]);
	for (size_t m = 0; m < members; m++)
		set_ratio(&results[group[m]]);
	for (size_t m = 0; m < members; m++)
		print_row(&results[group[m]]);
}

int main(int argc, char **argv)
{
	char out_path[4096];
	double started;

	parse_options(argc, argv);
	find_cpus();
	if (opt.place == PLACE_SPLIT && num_allowed_cpus < 2) {
		fprintf(stderr, "channel_latency: --place split needs 2 or more allowed CPUs, and "
		                "this process may run on 1\n");
		exit(2);
	}
	calibrate_clock();
	bench_env_read(&env);
	if (env.mhz <= 0 && opt.use_tsc)
		env.mhz = ticks_per_ns * 1000;
	snprintf(dpdk_version, sizeof(dpdk_version), "%s", bench_dpdk_version());
	if (opt.out)
		snprintf(out_path, sizeof(out_path), "%s", opt.out);
	else
		bench_default_out_path(out_path, sizeof(out_path), "channel_latency", &env);
	started = (double)bench_mono_ns();

	measure_core_to_core();
	printf("channel_latency: %s build, %s, %s\n", env.build_mode, env.compiler, env.kernel);
	printf("cpus: %d allowed (nproc), %ld online; --place %s: %s\n", num_allowed_cpus,
	       env.nproc_online, place_names[opt.place], place_description());
	printf("clock: %s; %.3f ticks/ns; one timestamp costs %.1f ns (rdtsc %.1f ns, "
	       "clock_gettime %.1f ns)\n",
	       clock_info.source, clock_info.ticks_per_ns, clock_info.now_cost_ns,
	       clock_info.rdtsc_cost_ns, clock_info.clock_gettime_cost_ns);
	printf("core-to-core one-way transfer: median %.1f ns, min %.1f ns (cpus %d<->%d, %s)\n",
	       pingpong.median_ns, pingpong.min_ns, pingpong.cpus[0], pingpong.cpus[1],
	       pingpong.pinned ? "pinned" : "unpinned");
	printf("%" PRIu64 " messages per configuration, %d repetitions (table: medians; max: the "
	       "largest), stall timeout %.3g s, time limit %.3g s\n",
	       opt.messages, opt.repetitions, opt.stall_timeout_s, opt.time_limit_s);
	printf("x vyukov = ns/msg / vyukov's (spinning consumer, same producers, capacity, size); "
	       "spread = slowest / fastest repetition\n");
	if (strcmp(env.build_mode, "opt") != 0)
		printf("WARNING: not an optimized build; use bazel run -c opt\n");
	fflush(stdout);

	print_header(true, LOAD_SATURATED);
	for (size_t c = 0; c < num_capacities; c++)
		for (size_t s = 0; s < sizeof(msg_sizes) / sizeof(msg_sizes[0]); s++)
			run_group(MODE_SINGLE, LOAD_SATURATED, 0, capacities[c], msg_sizes[s]);

	for (int mode = MODE_SPIN; mode <= MODE_BLOCK; mode++) {
		print_header(false, LOAD_SATURATED);
		for (size_t p = 0; p < sizeof(producer_counts) / sizeof(producer_counts[0]); p++)
			for (size_t c = 0; c < num_capacities; c++)
				for (size_t s = 0; s < sizeof(msg_sizes) / sizeof(msg_sizes[0]);
				     s++)
					run_group((enum mode)mode, LOAD_SATURATED,
					          producer_counts[p], capacities[c], msg_sizes[s]);
	}

	/* Paced: the queue nearly empty, so latency is transfer and wake-up, not queueing. One
	 * capacity (the ring's size does not matter when it holds a message or two). */
	printf("\npaced: the producers together send one message every %.3g us\n",
	       (double)opt.pace_ns / 1e3);
	for (int mode = MODE_SPIN; mode <= MODE_BLOCK; mode++) {
		print_header(false, LOAD_PACED);
		for (size_t p = 0;
		     p < sizeof(paced_producer_counts) / sizeof(paced_producer_counts[0]); p++)
			for (size_t s = 0; s < sizeof(msg_sizes) / sizeof(msg_sizes[0]); s++)
				run_group((enum mode)mode, LOAD_PACED, paced_producer_counts[p],
				          1024, msg_sizes[s]);
	}

	printf("\n%d stalled, %d errors, %d abandoned threads; %.1f s\n", total_stalled,
	       total_errors, total_abandoned, ((double)bench_mono_ns() - started) / 1e9);
	for (size_t i = 0; i < NUM_IMPLS; i++) {
		int stalled = 0, runs = 0;

		for (size_t k = 0; k < num_results; k++) {
			if (results[k].impl != impls[i])
				continue;
			for (int j = 0; j < results[k].count; j++) {
				if (results[k].samples[j].status == STATUS_NA)
					continue;
				runs++;
				stalled += results[k].samples[j].status == STATUS_STALLED;
			}
		}
		if (runs)
			printf("  %-14s %d of %d runs stalled\n", impls[i]->name, stalled, runs);
	}
	if (write_json(out_path, argv[0]) != 0)
		return 1;
	printf("JSON: %s\n", out_path);
	/* Abandoned threads may still be spinning inside a peer: leave without waiting for them. */
	fflush(stdout);
	_exit(total_errors ? 1 : 0);
}
