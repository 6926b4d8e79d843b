// SPDX-License-Identifier: MIT
/*
 * wire_decode: what the strict decoder costs (ipc/wire.c, docs/wire-format.md). One thread,
 * hosted. Five message shapes, each a whole message built once with the library's builder:
 *
 *   small_request  a request by name with a map of four small integers (the common RPC)
 *   config_map     a map-heavy configuration: 64 text keys, values ints, bools, strings, maps
 *   bytes_16k      one 16 KiB byte string (bounds checks only: the floor per byte)
 *   deep_nesting   32 chains of 16 nested arrays and maps (the depth stack at work)
 *   text_heavy     32 text strings of mixed ASCII, 2-, 3- and 4-byte UTF-8 (the validator)
 *
 * For each: hx_wire_decode alone ("decode"), and hx_wire_decode followed by a reader walk over
 * every item ("decode_read", what a handler that looks at everything pays). Configurations are
 * interleaved within each repetition so load drift hits all alike; reported: median ns per
 * message, MB/s (10^6 bytes of message per second) and messages per second, in a table and in
 * Google Benchmark's JSON shape (bytes_per_second, items_per_second).
 *
 * bazel run -c opt //perf:wire_decode [-- --quick] [--repetitions N] [--bytes N] [--out F]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <helix/errors.h>
#include <helix/ipc/wire.h>

#include "perf/bench_report.h"

#define MAX_REPS 64

static struct options {
	int repetitions;
	uint64_t bytes; /* message bytes decoded per configuration and repetition */
	const char *out;
	bool quick;
	bool repetitions_given; /* --repetitions wins over --quick's default */
} opt = { .repetitions = 9, .bytes = 64u << 20 };

static struct bench_env env;

/* ---- The messages ---------------------------------------------------------------------------- */

enum shape { SMALL_REQUEST, CONFIG_MAP, BYTES_16K, DEEP_NESTING, TEXT_HEAVY, SHAPES };
static const char *const shape_names[] = { "small_request", "config_map", "bytes_16k",
	                                   "deep_nesting", "text_heavy" };

struct message {
	uint8_t data[HX_WIRE_MAX_MESSAGE];
	size_t len;
	uint64_t items; /* data items in the payload (what a full read visits) */
};

static struct message messages[SHAPES];

static void build_small_request(struct hx_wire_builder *b)
{
	hx_wire_put_map(b, 4);
	hx_wire_put_uint(b, 1);
	hx_wire_put_uint(b, 42);
	hx_wire_put_uint(b, 2);
	hx_wire_put_int(b, -7);
	hx_wire_put_uint(b, 3);
	hx_wire_put_uint(b, 100000);
	hx_wire_put_uint(b, 4);
	hx_wire_put_uint(b, 1u << 31);
}

/* 64 keys "key_00".."key_63": same length, so numeric order is the canonical order. */
static void build_config_map(struct hx_wire_builder *b)
{
	hx_wire_put_map(b, 64);
	for (int i = 0; i < 64; i++) {
		char key[16];

		snprintf(key, sizeof(key), "key_%02d", i);
		hx_wire_put_string(b, key);
		switch (i % 4) {
		case 0:
			hx_wire_put_uint(b, (uint64_t)i * 1000003u);
			break;
		case 1:
			hx_wire_put_bool(b, i % 8 == 1);
			break;
		case 2:
			hx_wire_put_string(b, "/var/lib/helix/modules");
			break;
		default:
			hx_wire_put_map(b, 3);
			hx_wire_put_string(b, "max");
			hx_wire_put_uint(b, 4096);
			hx_wire_put_string(b, "min");
			hx_wire_put_uint(b, 16);
			hx_wire_put_string(b, "name");
			hx_wire_put_string(b, "queue");
			break;
		}
	}
}

static void build_bytes_16k(struct hx_wire_builder *b)
{
	static uint8_t blob[16384];

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 131 + 7);
	hx_wire_put_bytes(b, blob, sizeof(blob));
}

static void build_deep_nesting(struct hx_wire_builder *b)
{
	hx_wire_put_array(b, 32);
	for (int chain = 0; chain < 32; chain++) {
		/* 15 more levels below the outer array: 16 in all. */
		for (int level = 1; level < HX_WIRE_MAX_DEPTH; level++) {
			if (level % 2) {
				hx_wire_put_array(b, 1);
			} else {
				hx_wire_put_map(b, 1);
				hx_wire_put_uint(b, (uint64_t)level);
			}
		}
		hx_wire_put_uint(b, (uint64_t)chain);
	}
}

static void build_text_heavy(struct hx_wire_builder *b)
{
	/* 60 bytes a round: ASCII, then 2-byte (é), 3-byte (水) and 4-byte (😀) characters. */
	static const char piece[] = "The quick brown fox jumps over the lazy dog. "
	                            "\xc3\xa9\xc3\xa9\xe6\xb0\xb4\xe6\xb0\xb4\xf0\x9f\x98\x80 ";
	char text[256 + sizeof(piece)];
	size_t len = 0;

	while (len + sizeof(piece) - 1 <= 256) {
		memcpy(text + len, piece, sizeof(piece) - 1);
		len += sizeof(piece) - 1;
	}
	hx_wire_put_array(b, 32);
	for (int i = 0; i < 32; i++)
		hx_wire_put_text(b, text, len);
}

static uint64_t count_items(const struct hx_wire_message *msg);

static void build_messages(void)
{
	static void (*const builders[])(struct hx_wire_builder *) = {
		build_small_request, build_config_map, build_bytes_16k,
		build_deep_nesting,  build_text_heavy,
	};
	struct hx_wire_message header = {
		.kind = HX_WIRE_REQUEST, .request_id = 1, .source_id = 2, .method = 3
	};

	hx_wire_set_target_name(&header, "bench.target");
	for (int s = 0; s < SHAPES; s++) {
		struct hx_wire_builder b;
		struct hx_wire_error err;
		struct hx_wire_message msg;

		hx_wire_builder_init_message(&b, messages[s].data, sizeof(messages[s].data),
		                             &header);
		builders[s](&b);
		if (hx_wire_builder_finish(&b, &messages[s].len, &err) ||
		    hx_wire_decode(messages[s].data, messages[s].len, &msg, &err)) {
			fprintf(stderr, "wire_decode: building %s failed: %s\n", shape_names[s],
			        err.reason);
			exit(1);
		}
		messages[s].items = count_items(&msg);
	}
}

/* ---- What is measured ------------------------------------------------------------------------ */

/* Every item of the payload through the reader; returns how many (and keeps the values live). */
static uint64_t read_all(const struct hx_wire_message *msg, uint64_t *sink)
{
	struct hx_wire_reader r;
	struct hx_wire_item item;
	uint64_t items = 0;

	hx_wire_reader_init(&r, msg->payload, msg->payload_len);
	for (;;) {
		if (!hx_wire_more(&r)) {
			if (hx_wire_depth(&r) == 0)
				break;
			hx_wire_leave(&r);
			continue;
		}
		if (hx_wire_next(&r, &item))
			break;
		*sink += item.value;
		items++;
	}
	return hx_wire_reader_error(&r) ? 0 : items;
}

static uint64_t count_items(const struct hx_wire_message *msg)
{
	uint64_t sink = 0;

	return read_all(msg, &sink);
}

struct config {
	enum shape shape;
	bool read;
	uint64_t iterations;
	double samples[MAX_REPS]; /* ns per message */
	int count;
	double median_ns;
};

static double run_once(const struct config *c)
{
	const struct message *m = &messages[c->shape];
	uint64_t start, sink = 0, bad = 0;

	start = bench_mono_ns();
	for (uint64_t i = 0; i < c->iterations; i++) {
		struct hx_wire_message msg;

		/* The compiler may not assume the buffer is unchanged between iterations. */
		__asm__ volatile("" : : "r"(m->data) : "memory");
		if (hx_wire_decode(m->data, m->len, &msg, NULL) != 0) {
			bad++;
			continue;
		}
		if (c->read)
			bad += read_all(&msg, &sink) != m->items;
		else
			sink += msg.payload_len;
	}
	__asm__ volatile("" : : "r"(sink));
	if (bad) {
		fprintf(stderr, "wire_decode: %s: %" PRIu64 " bad decodes\n", shape_names[c->shape],
		        bad);
		exit(1);
	}
	return (double)(bench_mono_ns() - start) / (double)c->iterations;
}

/* ---- Statistics and output ------------------------------------------------------------------- */

static void config_name(char *buf, size_t size, const struct config *c)
{
	snprintf(buf, size, "wire_decode/%s/%s", shape_names[c->shape],
	         c->read ? "decode_read" : "decode");
}

static void write_entry(FILE *out, const struct config *c, int family, int rep, bool *first)
{
	const struct message *m = &messages[c->shape];
	double ns = rep >= 0 ? c->samples[rep] : c->median_ns;
	char name[128];
	struct bench_entry e;

	config_name(name, sizeof(name), c);
	e = (struct bench_entry){
		.run_name = name,
		.family = family,
		.repetition = rep,
		.repetitions = opt.repetitions,
		.threads = 1,
		.iterations = c->iterations,
		.real_time = ns,
	};
	bench_begin_entry(out, &e, first);
	fputs(",\n      \"bytes_per_second\": ", out);
	bench_json_number(out, (double)m->len * 1e9 / ns);
	fputs(", \"items_per_second\": ", out);
	bench_json_number(out, 1e9 / ns);
	fprintf(out, ", \"message_bytes\": %zu, \"payload_items\": %" PRIu64, m->len, m->items);
	bench_end_entry(out);
}

static int write_json(const char *path, const char *executable, struct config *configs, int n)
{
	FILE *out = bench_open_report(path, &env, "wire_decode", executable);
	bool first = true;

	if (!out)
		return -1;
	fprintf(out,
	        "    \"repetitions\": %d,\n    \"bytes_per_configuration\": %" PRIu64 "\n  },\n",
	        opt.repetitions, opt.bytes);
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
			printf("usage: wire_decode [--quick] [--repetitions N] [--bytes N] [--out "
			       "FILE]\n");
			exit(0);
		}
		if (!value) {
			fprintf(stderr, "wire_decode: unknown option or missing value: %s\n", arg);
			exit(2);
		}
		if (!strcmp(arg, "--repetitions")) {
			opt.repetitions = (int)bench_parse_count("wire_decode", value, arg);
			opt.repetitions_given = true;
		} else if (!strcmp(arg, "--bytes"))
			opt.bytes = bench_parse_count("wire_decode", value, arg);
		else if (!strcmp(arg, "--out"))
			opt.out = value;
		else {
			fprintf(stderr, "wire_decode: unknown option: %s\n", arg);
			exit(2);
		}
		i++;
	}
	if (opt.quick) {
		opt.bytes = opt.bytes < (2u << 20) ? opt.bytes : 2u << 20;
		if (!opt.repetitions_given)
			opt.repetitions = HX_MIN(opt.repetitions, 3);
	}
	if (opt.repetitions > MAX_REPS) {
		fprintf(stderr, "wire_decode: at most %d repetitions\n", MAX_REPS);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct config configs[2 * SHAPES];
	int n = 0;
	char out_path[4096];

	parse_options(argc, argv);
	bench_env_read(&env);
	build_messages();
	memset(configs, 0, sizeof(configs));
	for (int s = 0; s < SHAPES; s++)
		for (int read = 0; read <= 1; read++) {
			uint64_t iterations = opt.bytes / messages[s].len;

			configs[n].shape = (enum shape)s;
			configs[n].read = read;
			configs[n++].iterations = iterations < 100 ? 100 : iterations;
		}

	printf("wire_decode: %s build, %s; %" PRIu64 " message bytes per configuration x %d "
	       "repetitions\n",
	       env.build_mode, env.compiler, opt.bytes, opt.repetitions);
	if (strcmp(env.build_mode, "opt") != 0)
		printf("WARNING: not an optimized build; use bazel run -c opt\n");
	for (int rep = 0; rep < opt.repetitions; rep++)
		for (int i = 0; i < n; i++)
			configs[i].samples[configs[i].count++] = run_once(&configs[i]);

	printf("\n%-40s %8s %7s %10s %10s %12s\n", "benchmark", "bytes", "items", "ns/msg", "MB/s",
	       "msgs/s");
	for (int i = 0; i < n; i++) {
		const struct message *m = &messages[configs[i].shape];
		char name[128];

		configs[i].median_ns = bench_median(configs[i].samples, configs[i].count);
		config_name(name, sizeof(name), &configs[i]);
		printf("%-40s %8zu %7" PRIu64 " %10.1f %10.1f %12.0f\n", name, m->len, m->items,
		       configs[i].median_ns, (double)m->len * 1e3 / configs[i].median_ns,
		       1e9 / configs[i].median_ns);
	}
	if (opt.out)
		snprintf(out_path, sizeof(out_path), "%s", opt.out);
	else
		bench_default_out_path(out_path, sizeof(out_path), "wire_decode", &env);
	if (write_json(out_path, argv[0], configs, n))
		return 1;
	printf("JSON: %s\n", out_path);
	return 0;
}
