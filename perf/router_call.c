// SPDX-License-Identifier: MIT
/*
 * router_call: what an in-process router call costs. A caller thread calls an echo module served
 * by another thread (hx_router_call -> the module's queue -> hx_router_serve on the server thread
 * -> the handler copies the request into the reply -> the caller wakes and copies the response
 * out), timed per call; against the classic baseline for a cross-thread request/response, a pipe
 * ping-pong between two threads (the caller writes the request into one pipe, the server reads it
 * and writes it back through another, the caller reads the reply), measured in the same run with
 * the same payloads and the same CPU placement. Also 4 callers sharing one module (throughput and
 * latency under queueing).
 *
 * Reported per configuration: round trip p50 and p99 (each call timed with CLOCK_MONOTONIC) and
 * calls/s (calls / wall time), as medians over the repetitions, configurations interleaved within
 * each repetition so load drift hits all of them; and the ratio of helix's p50 to the pipe's p50
 * at the same payload. Output: a table and Google Benchmark's JSON shape. Every reply is checked
 * against its request: a mismatch is a bug and exits 1.
 *
 * bazel run -c opt //perf:router_call [-- --quick] [--repetitions N] [--calls N] [--no-pin]
 *     [--out FILE]
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
#include <unistd.h>

#include <helix/errors.h>
#include <helix/ipc/router.h>
#include <helix/platform.h>

#include "perf/bench_report.h"

#define MAX_REPS    64
#define MAX_CALLERS 4
#define MAX_PAYLOAD 1024
#define ECHO_METHOD 1

static struct options {
	int repetitions;
	uint64_t calls;
	const char *out;
	bool quick;
	bool repetitions_given; /* --repetitions wins over --quick's default */
	bool pin;
} opt = { .repetitions = 5, .calls = 100000, .pin = true };

static struct bench_env env;
static int allowed_cpus[2];
static int num_allowed_cpus;

enum transport { HELIX, PIPE };
static const char *const transport_names[] = { "helix", "pipe_pingpong" };

struct config {
	enum transport transport;
	int callers;
	size_t payload;
	bool pinned;
	double p50[MAX_REPS], p90[MAX_REPS], p99[MAX_REPS], mean[MAX_REPS];
	double calls_per_s[MAX_REPS], ns_per_call[MAX_REPS];
	int count;
	double median_p50, median_p90, median_p99, median_mean, median_calls_per_s;
	double median_ns_per_call, ratio_p50;
	struct hx_router_stats stats; /* helix: the module's counters after the last repetition */
};

/* ---- Threads ------------------------------------------------------------------------------- */

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
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

static void fail(const char *what, int err)
{
	fprintf(stderr, "router_call: %s: %s\n", what, err < 0 ? hx_strerror(err) : strerror(err));
	exit(1);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One caller's work: its calls' round trips go into samples[first..first+calls). */
struct caller_arg {
	const struct config *config;
	int index;
	uint64_t calls;
	uint64_t *samples;
	pthread_barrier_t *start;
	/* helix */
	struct hx_router *router;
	uint64_t module;
	/* pipe: the caller writes request_fd and reads reply_fd */
	int request_fd, reply_fd;
	/* The caller's own first and last moments: the wall time is measured where the calls are
	 * made, not by the main thread, which may not run again until the callers have finished. */
	uint64_t begin_ns, end_ns;
};

static void fill_request(unsigned char *buf, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seq * 131 + i);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("pipe write", errno);
		p += n;
		len -= (size_t)n;
	}
}

/* false at end of file before any byte */
static bool read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("pipe read", errno);
		if (n == 0) {
			if (got == 0)
				return false;
			fail("pipe read: short message", 0);
		}
		got += (size_t)n;
	}
	return true;
}

static void *caller_main(void *p)
{
	struct caller_arg *arg = p;
	size_t len = arg->config->payload;
	unsigned char req[MAX_PAYLOAD], resp[MAX_PAYLOAD];

	if (arg->config->pinned)
		pin_to(allowed_cpus[0]);
	pthread_barrier_wait(arg->start);
	arg->begin_ns = bench_mono_ns();
	for (uint64_t i = 0; i < arg->calls; i++) {
		uint64_t seq = i * MAX_CALLERS + (uint64_t)arg->index, start;
		size_t resp_len = 0;
		int status = 0;

		fill_request(req, len, seq);
		start = bench_mono_ns();
		if (arg->config->transport == HELIX) {
			int err =
			    hx_router_call(arg->router, arg->module, ECHO_METHOD, req, len, resp,
			                   sizeof(resp), &resp_len, &status, HX_FOREVER);
			if (err || status)
				fail("hx_router_call", err ? err : status);
		} else {
			write_all(arg->request_fd, req, len);
			if (!read_all(arg->reply_fd, resp, len))
				fail("pipe read: server gone", 0);
			resp_len = len;
		}
		arg->samples[i] = bench_mono_ns() - start;
		if (resp_len != len || memcmp(req, resp, len) != 0) {
			fprintf(stderr,
			        "router_call: %s: reply %" PRIu64 " does not match its request\n",
			        transport_names[arg->config->transport], seq);
			exit(1);
		}
	}
	arg->end_ns = bench_mono_ns();
	return NULL;
}

/* ---- The two servers ----------------------------------------------------------------------- */

static int echo_handler(void *ctx, const struct hx_router_request *req,
                        struct hx_router_reply *reply)
{
	(void)ctx;
	return hx_router_reply_set(reply, req->payload, req->len);
}

struct server_arg {
	const struct config *config;
	struct hx_router *router;
	uint64_t module;
	int request_fd, reply_fd; /* pipe: the server reads request_fd and writes reply_fd */
	int result;
};

static void *server_main(void *p)
{
	struct server_arg *arg = p;
	unsigned char buf[MAX_PAYLOAD];

	if (arg->config->pinned)
		pin_to(allowed_cpus[1]);
	if (arg->config->transport == HELIX) {
		arg->result = hx_router_serve(arg->router, arg->module, HX_FOREVER);
		return NULL;
	}
	while (read_all(arg->request_fd, buf, arg->config->payload))
		write_all(arg->reply_fd, buf, arg->config->payload);
	arg->result = 0;
	return NULL;
}

/* ---- One repetition of one configuration --------------------------------------------------- */

static uint64_t *samples;

static void run_once(struct config *c, struct hx_router *router)
{
	pthread_t server, callers[MAX_CALLERS];
	struct server_arg sarg = { .config = c, .router = router };
	struct caller_arg cargs[MAX_CALLERS];
	pthread_barrier_t start;
	int request_pipe[2] = { -1, -1 }, reply_pipe[2] = { -1, -1 };
	uint64_t per_caller = opt.calls / (uint64_t)c->callers, total, begin, end, wall;
	int err;

	total = per_caller * (uint64_t)c->callers;
	if (c->transport == HELIX) {
		err = hx_router_register(router, "echo", echo_handler, NULL, 64, &sarg.module);
		if (err)
			fail("hx_router_register", err);
	} else if (pipe(request_pipe) || pipe(reply_pipe)) {
		fail("pipe", errno);
	}
	sarg.request_fd = request_pipe[0];
	sarg.reply_fd = reply_pipe[1];
	pthread_barrier_init(&start, NULL, (unsigned)c->callers + 1);
	if ((err = pthread_create(&server, NULL, server_main, &sarg)))
		fail("pthread_create", err);
	for (int i = 0; i < c->callers; i++) {
		cargs[i] = (struct caller_arg){ .config = c,
			                        .index = i,
			                        .calls = per_caller,
			                        .samples = samples + (uint64_t)i * per_caller,
			                        .start = &start,
			                        .router = router,
			                        .module = sarg.module,
			                        .request_fd = request_pipe[1],
			                        .reply_fd = reply_pipe[0] };
		if ((err = pthread_create(&callers[i], NULL, caller_main, &cargs[i])))
			fail("pthread_create", err);
	}
	pthread_barrier_wait(&start);
	for (int i = 0; i < c->callers; i++)
		pthread_join(callers[i], NULL);
	begin = cargs[0].begin_ns;
	end = cargs[0].end_ns;
	for (int i = 1; i < c->callers; i++) {
		begin = HX_MIN(begin, cargs[i].begin_ns);
		end = HX_MAX(end, cargs[i].end_ns);
	}
	wall = end - begin;

	if (c->transport == HELIX) {
		if ((err = hx_router_get_stats(router, sarg.module, &c->stats)))
			fail("hx_router_get_stats", err);
		if ((err = hx_router_unregister(router, sarg.module)))
			fail("hx_router_unregister", err);
	} else {
		close(request_pipe[1]); /* the server reads end of file and leaves */
	}
	pthread_join(server, NULL);
	if (c->transport == HELIX && sarg.result != -HX_EHOSTUNREACH)
		fail("hx_router_serve returned", sarg.result);
	if (c->transport == PIPE) {
		close(request_pipe[0]);
		close(reply_pipe[0]);
		close(reply_pipe[1]);
	}
	pthread_barrier_destroy(&start);

	qsort(samples, total, sizeof(uint64_t), compare_u64);
	c->mean[c->count] = 0;
	for (uint64_t i = 0; i < total; i++)
		c->mean[c->count] += (double)samples[i];
	c->mean[c->count] /= (double)total;
	c->p50[c->count] = (double)samples[total / 2];
	c->p90[c->count] = (double)samples[(total * 9) / 10];
	c->p99[c->count] = (double)samples[(total * 99) / 100];
	c->ns_per_call[c->count] = (double)wall / (double)total;
	c->calls_per_s[c->count] = (double)total * 1e9 / (double)wall;
	c->count++;
}

/* ---- Statistics and output ----------------------------------------------------------------- */

static void config_name(char *buf, size_t size, const struct config *c)
{
	if (c->transport == HELIX)
		snprintf(buf, size, "router_call/helix/callers:%d/payload:%zu", c->callers,
		         c->payload);
	else
		snprintf(buf, size, "router_call/pipe_pingpong/payload:%zu", c->payload);
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
		.threads = c->callers,
		.iterations = rep >= 0 ? opt.calls / (uint64_t)c->callers * (uint64_t)c->callers
		                       : (uint64_t)c->count,
		.real_time = rep >= 0 ? c->ns_per_call[rep] : c->median_ns_per_call,
	};
	bench_begin_entry(out, &e, first);
	fputs(",\n      \"transport\": ", out);
	bench_json_string(out, transport_names[c->transport]);
	fprintf(out, ", \"callers\": %d, \"payload_bytes\": %zu, \"pinned\": %s", c->callers,
	        c->payload, c->pinned ? "true" : "false");
	fputs(",\n      \"p50_ns\": ", out);
	bench_json_number(out, rep >= 0 ? c->p50[rep] : c->median_p50);
	fputs(", \"p90_ns\": ", out);
	bench_json_number(out, rep >= 0 ? c->p90[rep] : c->median_p90);
	fputs(", \"p99_ns\": ", out);
	bench_json_number(out, rep >= 0 ? c->p99[rep] : c->median_p99);
	fputs(", \"mean_ns\": ", out);
	bench_json_number(out, rep >= 0 ? c->mean[rep] : c->median_mean);
	fputs(", \"calls_per_s\": ", out);
	bench_json_number(out, rep >= 0 ? c->calls_per_s[rep] : c->median_calls_per_s);
	if (rep < 0) {
		fputs(", \"p50_ratio_to_pipe\": ", out);
		bench_json_number(out, c->ratio_p50);
		if (c->transport == HELIX)
			fprintf(out,
			        ", \"queue_high_water\": %" PRIu64 ", \"timeouts\": %" PRIu64
			        ", \"late_replies\": %" PRIu64,
			        c->stats.queue_high_water, c->stats.timeouts,
			        c->stats.late_replies);
	}
	bench_end_entry(out);
}

static int write_json(const char *path, const char *executable, struct config *configs, int n)
{
	FILE *out = bench_open_report(path, &env, "router_call", executable);
	bool first = true;

	if (!out)
		return -1;
	fprintf(out,
	        "    \"repetitions\": %d,\n    \"calls_per_repetition\": %" PRIu64
	        ",\n    \"clock\": \"CLOCK_MONOTONIC\",\n    \"placement\": ",
	        opt.repetitions, opt.calls);
	bench_json_string(out, configs[0].pinned
	                           ? "1 caller: caller and server pinned to two CPUs; "
	                             "4 callers: unpinned"
	                           : "unpinned");
	fputs("\n  },\n  \"benchmarks\": [", out);
	for (int i = 0; i < n; i++) {
		for (int rep = 0; rep < configs[i].count; rep++)
			write_entry(out, &configs[i], i, rep, &first);
		write_entry(out, &configs[i], i, -1, &first);
	}
	return bench_close_report(out);
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
			printf(
			    "usage: router_call [--quick] [--repetitions N] [--calls N] [--no-pin] "
			    "[--out FILE]\n");
			exit(0);
		}
		if (!value) {
			fprintf(stderr, "router_call: unknown option or missing value: %s\n", arg);
			exit(2);
		}
		if (!strcmp(arg, "--repetitions")) {
			opt.repetitions = (int)bench_parse_count("router_call", value, arg);
			opt.repetitions_given = true;
		} else if (!strcmp(arg, "--calls"))
			opt.calls = bench_parse_count("router_call", value, arg);
		else if (!strcmp(arg, "--out"))
			opt.out = value;
		else {
			fprintf(stderr, "router_call: unknown option: %s\n", arg);
			exit(2);
		}
		i++;
	}
	if (opt.quick) {
		opt.calls = opt.calls < 2000 ? opt.calls : 2000;
		if (!opt.repetitions_given)
			opt.repetitions = HX_MIN(opt.repetitions, 3);
	}
	if (opt.repetitions > MAX_REPS) {
		fprintf(stderr, "router_call: at most %d repetitions\n", MAX_REPS);
		exit(2);
	}
	if (opt.calls < MAX_CALLERS) {
		fprintf(stderr, "router_call: at least %d calls\n", MAX_CALLERS);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	static const size_t payloads[] = { 16, 1024 };
	struct config configs[6];
	struct hx_router *router;
	char out_path[4096];
	int n = 0, err;

	parse_options(argc, argv);
	bench_env_read(&env);
	find_allowed_cpus();
	samples = malloc(opt.calls * sizeof(uint64_t));
	if (!samples)
		fail("malloc", ENOMEM);
	if ((err = hx_router_create(4, &router)))
		fail("hx_router_create", err);

	memset(configs, 0, sizeof(configs));
	for (size_t p = 0; p < 2; p++) {
		configs[n++] =
		    (struct config){ .transport = HELIX, .callers = 1, .payload = payloads[p] };
		configs[n++] =
		    (struct config){ .transport = PIPE, .callers = 1, .payload = payloads[p] };
	}
	for (size_t p = 0; p < 2; p++)
		configs[n++] = (struct config){ .transport = HELIX,
			                        .callers = MAX_CALLERS,
			                        .payload = payloads[p] };
	for (int i = 0; i < n; i++)
		configs[i].pinned = opt.pin && num_allowed_cpus >= 2 && configs[i].callers == 1;

	printf("router_call: %s build, %s; %" PRIu64 " calls x %d repetitions; %s\n",
	       env.build_mode, env.compiler, opt.calls, opt.repetitions,
	       configs[0].pinned ? "1-caller runs pinned to two CPUs" : "unpinned");
	if (strcmp(env.build_mode, "opt") != 0)
		printf("WARNING: not an optimized build; use bazel run -c opt\n");
	for (int rep = 0; rep < opt.repetitions; rep++)
		for (int i = 0; i < n; i++)
			run_once(&configs[i], router);

	printf("\n%-42s %8s %8s %8s %8s %9s %8s\n", "benchmark", "p50 ns", "p90 ns", "p99 ns",
	       "mean ns", "calls/s", "p50/pipe");
	for (int i = 0; i < n; i++) {
		struct config *c = &configs[i];

		c->median_p50 = bench_median(c->p50, c->count);
		c->median_p90 = bench_median(c->p90, c->count);
		c->median_p99 = bench_median(c->p99, c->count);
		c->median_mean = bench_median(c->mean, c->count);
		c->median_calls_per_s = bench_median(c->calls_per_s, c->count);
		c->median_ns_per_call = bench_median(c->ns_per_call, c->count);
	}
	for (int i = 0; i < n; i++) {
		struct config *c = &configs[i];
		char name[128];
		double pipe_p50 = 0;

		for (int j = 0; j < n; j++)
			if (configs[j].transport == PIPE && configs[j].payload == c->payload)
				pipe_p50 = configs[j].median_p50;
		c->ratio_p50 = pipe_p50 > 0 ? c->median_p50 / pipe_p50 : 0;
		config_name(name, sizeof(name), c);
		printf("%-42s %8.0f %8.0f %8.0f %8.0f %9.0f %8.2f\n", name, c->median_p50,
		       c->median_p90, c->median_p99, c->median_mean, c->median_calls_per_s,
		       c->ratio_p50);
	}
	if (opt.out)
		snprintf(out_path, sizeof(out_path), "%s", opt.out);
	else
		bench_default_out_path(out_path, sizeof(out_path), "router_call", &env);
	if (write_json(out_path, argv[0], configs, n))
		return 1;
	printf("JSON: %s\n", out_path);
	hx_router_destroy(router);
	free(samples);
	return 0;
}
