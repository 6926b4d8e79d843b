// SPDX-License-Identifier: MIT
/*
 * The replay driver: main() for a harness built without a fuzzing engine (the default build, the
 * sanitizer configs and --config=fuzzcov). Runs LLVMFuzzerTestOneInput once on every file named
 * on the command line and on every regular file inside every directory named (sorted, not
 * recursive), the way libFuzzer runs files given as arguments, so one test script drives all
 * builds. Prints how many inputs ran; a harness that finds a bug aborts, and so does the test.
 *
 *   replay [-v] PATH...      -v: name each input before running it (which one crashed)
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Larger inputs are refused: the harnesses bound what they read themselves, so this only guards
 * the driver's own memory. */
#define REPLAY_MAX_INPUT (64u << 20)

static int verbose;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *data;
	size_t got;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: not a readable file of at most %u bytes\n", path,
		        REPLAY_MAX_INPUT);
		fclose(f);
		return -1;
	}
	/* Exactly the input's size (as libFuzzer does), so an overread by one byte is an ASan
	 * report; malloc(0) may return NULL, hence the 1. */
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		fclose(f);
		return -1;
	}
	got = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	if (got != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(data);
		return -1;
	}
	if (verbose)
		fprintf(stderr, "replay: running %s (%zu bytes)\n", path, got);
	LLVMFuzzerTestOneInput(data, got);
	free(data);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in @dir in name order; returns how many ran, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, cap = 0;
	long ran = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			char **grown = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!grown)
				break;
			names = grown;
		}
		if (asprintf(&names[count], "%s/%s", dir, e->d_name) < 0)
			break;
		count++;
	}
	closedir(d);
	qsort(names, count, sizeof(*names), name_cmp);
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) != 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	long total = 0;
	int failed = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
			continue;
		}
		if (argv[i][0] == '-') {
			/* libFuzzer flags (-runs=, -timeout=, ...) mean nothing here: say so, run
			 * on. */
			fprintf(stderr, "replay: ignoring engine flag %s\n", argv[i]);
			continue;
		}
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			long n = run_dir(argv[i]);

			if (n < 0)
				failed = 1;
			else
				total += n;
		} else if (run_file(argv[i]) != 0) {
			failed = 1;
		} else {
			total++;
		}
	}
	fprintf(stderr, "replay: %ld inputs ran%s\n", total,
	        failed ? ", some could not be read" : "");
	return failed ? 1 : 0;
}
