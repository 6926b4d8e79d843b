// SPDX-License-Identifier: MIT
/* The parts of a perf suite's report that do not depend on the suite (bench_report.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "perf/bench_report.h"

uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_read_first_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static const char *compilation_mode(void)
{
#if defined(PERF_COMPILATION_MODE_opt)
	return "opt";
#elif defined(PERF_COMPILATION_MODE_dbg)
	return "dbg";
#elif defined(PERF_COMPILATION_MODE_fastbuild)
	return "fastbuild";
#elif defined(__OPTIMIZE__) && defined(NDEBUG)
	return "optimized, NDEBUG";
#elif defined(__OPTIMIZE__)
	return "optimized, assertions on";
#else
	return "unoptimized";
#endif
}

void bench_env_read(struct bench_env *env)
{
	time_t now = time(NULL);
	struct tm local;
	struct utsname uts;
	FILE *f;
	char line[512];

	localtime_r(&now, &local);
	strftime(env->date, sizeof(env->date), "%Y-%m-%dT%H:%M:%S%z", &local);
	/* +0100 -> +01:00, as Google Benchmark writes it. */
	size_t len = strlen(env->date);
	if (len > 5 && (env->date[len - 5] == '+' || env->date[len - 5] == '-')) {
		memmove(env->date + len - 1, env->date + len - 2, 3);
		env->date[len - 2] = ':';
	}
	strftime(env->file_date, sizeof(env->file_date), "%Y%m%d-%H%M%S", &local);
	if (gethostname(env->host, sizeof(env->host)) != 0)
		snprintf(env->host, sizeof(env->host), "unknown");
	if (uname(&uts) == 0)
		snprintf(env->kernel, sizeof(env->kernel), "%s %s %s %s", uts.sysname, uts.release,
		         uts.version, uts.machine);
#if defined(__clang__)
	snprintf(env->compiler, sizeof(env->compiler), "clang %s", __clang_version__);
#elif defined(__GNUC__)
	snprintf(env->compiler, sizeof(env->compiler), "gcc %s", __VERSION__);
#else
	snprintf(env->compiler, sizeof(env->compiler), "unknown");
#endif
	snprintf(env->build_mode, sizeof(env->build_mode), "%s", compilation_mode());
	env->nproc_online = sysconf(_SC_NPROCESSORS_ONLN);
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "cpu MHz", 7)) {
			char *colon = strchr(line, ':');

			if (colon)
				env->mhz = strtod(colon + 1, NULL);
			break;
		}
	}
	if (f)
		fclose(f);
	if (getloadavg(env->load_avg, 3) != 3)
		env->load_avg[0] = env->load_avg[1] = env->load_avg[2] = 0;
}

void bench_json_string(FILE *out, const char *text)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void bench_json_number(FILE *out, double value)
{
	if (isfinite(value))
		fprintf(out, "%.6g", value);
	else
		fputs("null", out);
}

static void write_caches(FILE *out)
{
	bool first = true;

	fputs("    \"caches\": [", out);
	for (int index = 0; index < 16; index++) {
		char path[128], type[32], level[16], size[32], shared[128];
		long bytes;
		int sharing = 0;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/type",
		         index);
		bench_read_first_line(path, type, sizeof(type));
		if (!type[0])
			break;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/level",
		         index);
		bench_read_first_line(path, level, sizeof(level));
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size",
		         index);
		bench_read_first_line(path, size, sizeof(size));
		snprintf(path, sizeof(path),
		         "/sys/devices/system/cpu/cpu0/cache/index%d/shared_cpu_list", index);
		bench_read_first_line(path, shared, sizeof(shared));
		bytes = strtol(size, NULL, 10);
		if (strchr(size, 'K'))
			bytes *= 1024;
		else if (strchr(size, 'M'))
			bytes *= 1024 * 1024;
		for (char *p = shared; *p;) {
			long lo = strtol(p, &p, 10), hi = lo;

			if (*p == '-')
				hi = strtol(p + 1, &p, 10);
			sharing += (int)(hi - lo + 1);
			if (*p == ',')
				p++;
			else if (*p)
				break;
		}
		fprintf(out, "%s\n      {\"type\": ", first ? "" : ",");
		bench_json_string(out, !strcmp(type, "Unified")       ? "Unified"
		                       : !strcmp(type, "Instruction") ? "Instruction"
		                                                      : "Data");
		fprintf(out, ", \"level\": %s, \"size\": %ld, \"num_sharing\": %d}", level, bytes,
		        sharing ? sharing : 1);
		first = false;
	}
	fputs(first ? "],\n" : "\n    ],\n", out);
}

void bench_write_context_head(FILE *out, const struct bench_env *env, const char *suite,
                              const char *executable)
{
	fputs("{\n  \"context\": {\n", out);
	fputs("    \"date\": ", out);
	bench_json_string(out, env->date);
	fputs(",\n    \"host_name\": ", out);
	bench_json_string(out, env->host);
	fputs(",\n    \"executable\": ", out);
	bench_json_string(out, executable);
	fprintf(out, ",\n    \"num_cpus\": %ld,\n    \"mhz_per_cpu\": %.0f,\n", env->nproc_online,
	        env->mhz);
	fputs("    \"cpu_scaling_enabled\": false,\n", out);
	write_caches(out);
	fprintf(out, "    \"load_avg\": [%.2f, %.2f, %.2f],\n", env->load_avg[0], env->load_avg[1],
	        env->load_avg[2]);
#ifdef NDEBUG
	fputs("    \"library_build_type\": \"release\",\n", out);
#else
	fputs("    \"library_build_type\": \"debug\",\n", out);
#endif
	fputs("    \"suite\": ", out);
	bench_json_string(out, suite);
	fputs(",\n    \"build_mode\": ", out);
	bench_json_string(out, env->build_mode);
	fputs(",\n    \"compiler\": ", out);
	bench_json_string(out, env->compiler);
	fputs(",\n    \"kernel\": ", out);
	bench_json_string(out, env->kernel);
	fputs(",\n", out);
}

void bench_default_out_path(char *buf, size_t size, const char *suite, const struct bench_env *env)
{
	const char *workspace = getenv("BUILD_WORKSPACE_DIRECTORY");

	if (workspace && *workspace) {
		char dir[2048];

		snprintf(dir, sizeof(dir), "%s/perf/results", workspace);
		mkdir(dir, 0775);
		snprintf(buf, size, "%s/%s-%s.json", dir, suite, env->file_date);
	} else {
		snprintf(buf, size, "%s-%s.json", suite, env->file_date);
	}
}

uint64_t bench_parse_count(const char *program, const char *arg, const char *name)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(arg, &end, 10);
	if (errno || *end || value == 0 || arg[0] == '-') {
		fprintf(stderr, "%s: %s wants a positive integer, not '%s'\n", program, name, arg);
		exit(2);
	}
	return value;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(const double *values, int n)
{
	double *sorted, median;

	if (n <= 0)
		return NAN;
	sorted = malloc((size_t)n * sizeof(double));
	if (!sorted) {
		perror("bench_median");
		exit(1);
	}
	memcpy(sorted, values, (size_t)n * sizeof(double));
	qsort(sorted, (size_t)n, sizeof(double), compare_double);
	median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	free(sorted);
	return median;
}

void bench_begin_entry(FILE *out, const struct bench_entry *e, bool *first)
{
	fprintf(out, "%s\n    {\n      \"name\": ", *first ? "" : ",");
	*first = false;
	if (e->repetition >= 0) {
		bench_json_string(out, e->run_name);
	} else {
		char full[256];

		snprintf(full, sizeof(full), "%s_median", e->run_name);
		bench_json_string(out, full);
	}
	fputs(", \"run_name\": ", out);
	bench_json_string(out, e->run_name);
	fprintf(out, ",\n      \"family_index\": %d, \"per_family_instance_index\": 0, ",
	        e->family);
	if (e->repetition >= 0)
		fprintf(
		    out,
		    "\"run_type\": \"iteration\", \"repetitions\": %d, \"repetition_index\": %d,\n",
		    e->repetitions, e->repetition);
	else
		fprintf(out,
		        "\"run_type\": \"aggregate\", \"aggregate_name\": \"median\", "
		        "\"aggregate_unit\": \"time\", \"repetitions\": %d,\n",
		        e->repetitions);
	fprintf(out,
	        "      \"threads\": %d, \"iterations\": %" PRIu64 ", \"real_time\": ", e->threads,
	        e->iterations);
	bench_json_number(out, e->real_time);
	fputs(", \"cpu_time\": ", out);
	bench_json_number(out, e->real_time);
	fputs(", \"time_unit\": \"ns\"", out);
}

void bench_end_entry(FILE *out)
{
	fputs("\n    }", out);
}

FILE *bench_open_report(const char *path, const struct bench_env *env, const char *suite,
                        const char *executable)
{
	FILE *out = fopen(path, "w");

	if (!out) {
		fprintf(stderr, "%s: cannot write %s: %s\n", suite, path, strerror(errno));
		return NULL;
	}
	bench_write_context_head(out, env, suite, executable);
	return out;
}

int bench_close_report(FILE *out)
{
	fputs("\n  ]\n}\n", out);
	return fclose(out) == 0 ? 0 : -1;
}
