// SPDX-License-Identifier: MIT
/*
 * syscall_dispatch: what the gateway costs. One thread, hosted, on the simulated user address
 * space: helix_syscall_entry for a syscall with no arguments (getpid), one whose three arguments
 * the table's rules check (a user buffer, its length and flags: a dynamically registered syscall
 * whose handler does nothing), and clock_gettime (an enum, an out-pointer probe and a copy to
 * user), each with no hooks and with the three built-in hooks (policy, audit, trace); against a
 * bare indirect call to a handler of the same signature, the floor any table dispatch pays; and,
 * for scale, Linux's own getpid through the syscall instruction on this machine.
 *
 * Each configuration runs --calls calls per repetition, configurations interleaved within each
 * repetition so load drift hits all of them; reported: median ns per call and the ratio to the
 * bare call measured in the same run. Output: a table and Google Benchmark's JSON shape.
 *
 * bazel run -c opt //perf:syscall_dispatch [-- --quick] [--repetitions N] [--calls N] [--out F]
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

#include "perf/bench_report.h"

#define NR_VALIDATED 300 /* the benchmark's own dynamic syscall */
#define MAX_REPS     64

static struct options {
	int repetitions;
	uint64_t calls;
	const char *out;
	bool quick;
	bool repetitions_given; /* --repetitions wins over --quick's default */
} opt = { .repetitions = 9, .calls = 2000000 };

static struct bench_env env;

/* ---- What is measured ---------------------------------------------------------------------- */

static long nop_handler(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	(void)ctx;
	(void)args;
	return 0;
}

/* Through a volatile pointer: the compiler cannot inline or hoist the call. */
static long (*volatile bare_target)(struct hx_syscall_ctx *, const uint64_t *) = nop_handler;

static const struct hx_syscall_desc validated_desc = {
	.nr = NR_VALIDATED,
	.name = "bench_validated",
	.summary = "three checked arguments, no work",
	.nargs = 3,
	.args = {
		{ .name = "buf", .kind = HX_ARG_UPTR, .access = HX_UACCESS_READ, .len_arg = 1,
		  .align = 1 },
		{ .name = "len", .kind = HX_ARG_UINT, .min = 0, .max = 4096 },
		{ .name = "flags", .kind = HX_ARG_FLAGS, .mask = 0xff },
	},
	.handler = nop_handler,
};

enum workload { BARE, LINUX_GETPID, GETPID, VALIDATED, CLOCK_GETTIME, WORKLOADS };
static const char *const workload_names[] = { "bare_indirect_call", "linux_getpid_syscall",
	                                      "getpid", "validated_args", "clock_gettime" };

struct config {
	enum workload workload;
	int hooks; /* 0 or 3 */
	double samples[MAX_REPS];
	int count;
	double median, ratio;
};

static uint64_t user_buf, user_now; /* user addresses inside the simulated space */

static double run_once(const struct config *c)
{
	uint64_t start, calls = opt.calls;
	long sink = 0;
	uint64_t args[HX_SYSCALL_ARGS] = { 0 };

	start = bench_mono_ns();
	switch (c->workload) {
	case BARE:
		for (uint64_t i = 0; i < calls; i++)
			sink += bare_target(NULL, args);
		break;
	case LINUX_GETPID:
		for (uint64_t i = 0; i < calls; i++)
			sink += syscall(SYS_getpid);
		break;
	case GETPID:
		for (uint64_t i = 0; i < calls; i++)
			sink += helix_syscall_entry(HX_SYS_getpid, 0, 0, 0, 0, 0, 0);
		break;
	case VALIDATED:
		for (uint64_t i = 0; i < calls; i++)
			sink += helix_syscall_entry(NR_VALIDATED, user_buf, 64, 0x3, 0, 0, 0);
		break;
	case CLOCK_GETTIME:
		for (uint64_t i = 0; i < calls; i++)
			sink += helix_syscall_entry(HX_SYS_clock_gettime, HX_CLOCK_MONOTONIC,
			                            user_now, 0, 0, 0, 0);
		break;
	case WORKLOADS:
		break;
	}
	__asm__ volatile("" : : "r"(sink));
	if (c->workload == GETPID && sink <= 0) {
		fprintf(stderr, "syscall_dispatch: getpid failed (%ld)\n", sink);
		exit(1);
	}
	if ((c->workload == VALIDATED || c->workload == CLOCK_GETTIME) && sink != 0) {
		fprintf(stderr, "syscall_dispatch: %s returned errors (sum %ld)\n",
		        workload_names[c->workload], sink);
		exit(1);
	}
	return (double)(bench_mono_ns() - start) / (double)calls;
}

/* ---- Hooks ----------------------------------------------------------------------------------- */

static struct hx_audit_ring *audit;
static struct hx_policy policy;

static void set_hooks(int count)
{
	static bool registered;
	bool want = count == 3;

	if (want == registered)
		return;
	if (want) {
		if (hx_syscall_hook_register(hx_policy_hook()) ||
		    hx_syscall_hook_register(hx_audit_hook(audit)) ||
		    hx_syscall_hook_register(hx_trace_hook())) {
			fprintf(stderr, "syscall_dispatch: registering the hooks failed\n");
			exit(1);
		}
	} else {
		hx_syscall_hook_unregister(hx_policy_hook());
		hx_syscall_hook_unregister(hx_audit_hook(audit));
		hx_syscall_hook_unregister(hx_trace_hook());
	}
	registered = want;
}

/* ---- Statistics and output ------------------------------------------------------------------- */

static void config_name(char *buf, size_t size, const struct config *c)
{
	if (c->workload == BARE || c->workload == LINUX_GETPID)
		snprintf(buf, size, "syscall_dispatch/%s", workload_names[c->workload]);
	else
		snprintf(buf, size, "syscall_dispatch/gateway/%s/hooks:%d",
		         workload_names[c->workload], c->hooks);
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
		.threads = 1,
		.iterations = rep >= 0 ? opt.calls : (uint64_t)c->count,
		.real_time = rep >= 0 ? c->samples[rep] : c->median,
	};
	bench_begin_entry(out, &e, first);
	fprintf(out, ", \"hooks\": %d", c->hooks);
	if (rep < 0) {
		fputs(", \"ratio_to_bare_call\": ", out);
		bench_json_number(out, c->ratio);
	}
	bench_end_entry(out);
}

static int write_json(const char *path, const char *executable, struct config *configs, int n)
{
	FILE *out = bench_open_report(path, &env, "syscall_dispatch", executable);
	bool first = true;

	if (!out)
		return -1;
	fprintf(out, "    \"repetitions\": %d,\n    \"calls_per_repetition\": %" PRIu64 "\n  },\n",
	        opt.repetitions, opt.calls);
	fputs("  \"benchmarks\": [", out);
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
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			printf("usage: syscall_dispatch [--quick] [--repetitions N] [--calls N] "
			       "[--out FILE]\n");
			exit(0);
		}
		if (!value) {
			fprintf(stderr, "syscall_dispatch: unknown option or missing value: %s\n",
			        arg);
			exit(2);
		}
		if (!strcmp(arg, "--repetitions")) {
			opt.repetitions = (int)bench_parse_count("syscall_dispatch", value, arg);
			opt.repetitions_given = true;
		} else if (!strcmp(arg, "--calls"))
			opt.calls = bench_parse_count("syscall_dispatch", value, arg);
		else if (!strcmp(arg, "--out"))
			opt.out = value;
		else {
			fprintf(stderr, "syscall_dispatch: unknown option: %s\n", arg);
			exit(2);
		}
		i++;
	}
	if (opt.quick) {
		opt.calls = opt.calls < 20000 ? opt.calls : 20000;
		if (!opt.repetitions_given)
			opt.repetitions = HX_MIN(opt.repetitions, 3);
	}
	if (opt.repetitions > MAX_REPS) {
		fprintf(stderr, "syscall_dispatch: at most %d repetitions\n", MAX_REPS);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct config configs[2 + 2 * (WORKLOADS - 2)];
	int n = 0;
	struct hx_uspace *us;
	struct hx_syscall_caller caller = { .pid = 1 };
	char out_path[4096];

	parse_options(argc, argv);
	bench_env_read(&env);
	if (hx_uspace_sim_create(1 << 16, &us) || hx_handles_create(&caller.handles) ||
	    hx_audit_create(1024, &audit)) {
		fprintf(stderr, "syscall_dispatch: setup failed\n");
		return 1;
	}
	caller.uspace = us;
	hx_policy_init(&policy, 0);
	caller.policy = &policy;
	hx_syscall_set_caller(&caller);
	user_buf = us->base + 128;
	user_now = us->base + 4096;
	if (hx_syscall_register(&validated_desc)) {
		fprintf(stderr, "syscall_dispatch: registering syscall %d failed\n", NR_VALIDATED);
		return 1;
	}

	memset(configs, 0, sizeof(configs));
	configs[n++].workload = BARE;
	configs[n++].workload = LINUX_GETPID;
	for (int hooks = 0; hooks <= 3; hooks += 3)
		for (int w = GETPID; w < WORKLOADS; w++) {
			configs[n].workload = (enum workload)w;
			configs[n++].hooks = hooks;
		}

	printf("syscall_dispatch: %s build, %s; %" PRIu64 " calls x %d repetitions\n",
	       env.build_mode, env.compiler, opt.calls, opt.repetitions);
	if (strcmp(env.build_mode, "opt") != 0)
		printf("WARNING: not an optimized build; use bazel run -c opt\n");
	for (int rep = 0; rep < opt.repetitions; rep++)
		for (int i = 0; i < n; i++) {
			set_hooks(configs[i].hooks);
			configs[i].samples[configs[i].count++] = run_once(&configs[i]);
		}
	set_hooks(0);

	printf("\n%-48s %10s %10s\n", "benchmark", "ns/call", "x bare");
	for (int i = 0; i < n; i++) {
		char name[128];

		configs[i].median = bench_median(configs[i].samples, configs[i].count);
		configs[i].ratio = configs[i].median / configs[0].median;
		config_name(name, sizeof(name), &configs[i]);
		printf("%-48s %10.1f %10.1f\n", name, configs[i].median, configs[i].ratio);
	}
	if (opt.out)
		snprintf(out_path, sizeof(out_path), "%s", opt.out);
	else
		bench_default_out_path(out_path, sizeof(out_path), "syscall_dispatch", &env);
	if (write_json(out_path, argv[0], configs, n))
		return 1;
	printf("JSON: %s\n", out_path);
	hx_syscall_unregister(NR_VALIDATED);
	hx_syscall_set_caller(NULL);
	hx_audit_destroy(audit);
	hx_handles_destroy(caller.handles);
	hx_uspace_sim_destroy(us);
	return 0;
}
