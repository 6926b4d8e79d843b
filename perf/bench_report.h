/* SPDX-License-Identifier: MIT */
/*
 * What every perf suite shares: the monotonic clock, the machine's description, and the parts of
 * Google Benchmark's JSON shape that do not depend on the suite (the context's common fields, the
 * string and number encoders, the head of an entry, the default output path). Each suite adds its
 * own fields.
 */
#ifndef HELIX_PERF_BENCH_REPORT_H
#define HELIX_PERF_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench_env {
	char date[64];      /* 2026-11-24T05:00:00+00:00, as Google Benchmark writes it */
	char file_date[32]; /* 20261124-050000, for file names */
	char host[256];
	char kernel[512];
	char compiler[128];
	char build_mode[64]; /* Bazel's compilation mode: opt, fastbuild, dbg */
	long nproc_online;
	double mhz; /* from /proc/cpuinfo; 0 when unknown */
	double load_avg[3];
};

/* CLOCK_MONOTONIC in nanoseconds (the vDSO: about 20 ns). */
uint64_t bench_mono_ns(void);

/* Fills @env from the running machine and the build. */
void bench_env_read(struct bench_env *env);

/* A positive decimal integer option value, or exit(2) with a message naming @program and @name. */
uint64_t bench_parse_count(const char *program, const char *arg, const char *name);

/* The first line of a file into @buf (empty when unreadable), without the newline. */
void bench_read_first_line(const char *path, char *buf, size_t size);

/* The median of @n values (NAN when n is 0); @values is left as it is. */
double bench_median(const double *values, int n);

/* A JSON string (escaped) and a number (null when not finite). */
void bench_json_string(FILE *out, const char *text);
void bench_json_number(FILE *out, double value);

/*
 * Opens the JSON document and its "context" object and writes the fields every suite has (date,
 * host_name, executable, num_cpus, mhz_per_cpu, cpu_scaling_enabled, caches, load_avg,
 * library_build_type, suite, build_mode, compiler, kernel), each line ending in ",\n": the suite
 * adds its own fields and closes the context.
 */
void bench_write_context_head(FILE *out, const struct bench_env *env, const char *suite,
                              const char *executable);

/*
 * One entry of the "benchmarks" array as every suite but channel_latency writes it: a repetition
 * (run_type "iteration") or the median over the repetitions (an "aggregate" named
 * "<run_name>_median"), one instance per family.
 */
struct bench_entry {
	const char *run_name; /* the configuration, e.g. "router_call/helix/callers:1/payload:16" */
	int family;           /* family_index: the configuration's position in the suite */
	int repetition;       /* >= 0: that repetition's entry; -1: the median aggregate */
	int repetitions;
	int threads;
	uint64_t iterations;
	double real_time; /* ns per iteration, written as real_time and cpu_time */
};

/*
 * Opens the entry (after a comma unless *@first) and writes the fields above, up to and including
 * "time_unit": "ns". The suite then writes its own fields, each starting with ", ", and closes
 * the entry with bench_end_entry.
 */
void bench_begin_entry(FILE *out, const struct bench_entry *e, bool *first);
void bench_end_entry(FILE *out);

/*
 * bench_open_report - create @path and write the context's common head (bench_write_context_head);
 * NULL, with a message naming the file, when it cannot be created. The suite adds its context
 * fields, closes the context, opens the "benchmarks" array and writes its entries;
 * bench_close_report closes the array and the document, then the file: 0, or -1.
 */
FILE *bench_open_report(const char *path, const struct bench_env *env, const char *suite,
                        const char *executable);
int bench_close_report(FILE *out);

/* perf/results/<suite>-<file_date>.json in the workspace under `bazel run`
 * (BUILD_WORKSPACE_DIRECTORY), else in the current directory. */
void bench_default_out_path(char *buf, size_t size, const char *suite, const struct bench_env *env);

#endif /* HELIX_PERF_BENCH_REPORT_H */
