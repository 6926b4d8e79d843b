// SPDX-License-Identifier: MIT
/*
 * seedgen: writes the seed corpora of the fuzz targets (seedgen.h) with the real encoders and
 * the syscall table's descriptors.
 *
 *   bazel run //fuzz/tools:seedgen -- [--out DIR] [TARGET...]
 *
 * DIR (default fuzz/corpus of the workspace) gets one directory per target; without TARGETs,
 * every target's. Files are named after what they hold, so a rerun rewrites the same files and
 * `git status` shows what changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seedgen.h"

static const struct {
	const char *target;
	int (*generate)(const char *dir);
} generators[] = {
	{ "router_call", hx_seeds_router_call },
	{ "router_decoder", hx_seeds_router_decoder },
	{ "syscall_validator", hx_seeds_syscall_validator },
};

#define NGEN (sizeof(generators) / sizeof(generators[0]))

static int usage(void)
{
	fprintf(stderr, "usage: seedgen [--out DIR] [TARGET...]; targets:");
	for (size_t i = 0; i < NGEN; i++)
		fprintf(stderr, " %s", generators[i].target);
	fprintf(stderr, "\n");
	return 2;
}

static int generate(const char *out, size_t i)
{
	char dir[4096];
	int n;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", out, generators[i].target) >= sizeof(dir)) {
		fprintf(stderr, "seedgen: %s: path too long\n", out);
		return 1;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "seedgen: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	n = generators[i].generate(dir);
	if (n < 0) {
		fprintf(stderr, "seedgen: %s: %s\n", generators[i].target, strerror(-n));
		return 1;
	}
	printf("seedgen: %d seeds in %s\n", n, dir);
	return 0;
}

int main(int argc, char **argv)
{
	const char *workspace = getenv("BUILD_WORKSPACE_DIRECTORY");
	char out_default[4096];
	const char *out = NULL;
	int first = 1, status = 0;

	if (argc > 2 && strcmp(argv[1], "--out") == 0) {
		out = argv[2];
		first = 3;
	} else if (argc > 1 && argv[1][0] == '-') {
		return usage();
	}
	if (!out) {
		snprintf(out_default, sizeof(out_default), "%s/fuzz/corpus",
		         workspace ? workspace : ".");
		out = out_default;
	}
	if (first == argc) {
		for (size_t i = 0; i < NGEN; i++)
			status |= generate(out, i);
		return status;
	}
	for (int a = first; a < argc; a++) {
		size_t i = 0;

		while (i < NGEN && strcmp(argv[a], generators[i].target) != 0)
			i++;
		if (i == NGEN) {
			fprintf(stderr, "seedgen: no target '%s'\n", argv[a]);
			return usage();
		}
		status |= generate(out, i);
	}
	return status;
}
