/* SPDX-License-Identifier: MIT */
/*
 * Seed corpus generators for the fuzz targets (docs/fuzzing.md): each writes a small corpus of
 * inputs into @dir (which must exist), built with the real encoders so the seeds stay valid as the
 * formats evolve, plus a few deliberately invalid ones. Files are named after what they hold, so
 * running a generator twice rewrites the same files. Host tools (stdio); not thread-safe.
 * Each returns the number of files written, or a negative errno value (with a message on stderr).
 */
#ifndef HELIX_FUZZ_SEEDGEN_H
#define HELIX_FUZZ_SEEDGEN_H

/* fuzz/corpus/router_decoder/: whole wire messages (every kind, the CBOR profile at its edges)
 * and bare CBOR payloads. */
int hx_seeds_router_decoder(const char *dir);

/* fuzz/corpus/router_call/: operation programs in router_call_fuzzer.c's input format. */
int hx_seeds_router_call(const char *dir);

/* fuzz/corpus/syscall_validator/: syscall programs in fuzz/syscall_input.h's format, one per
 * syscall and per path worth starting from (fuzz/tools/seeds_syscall.c). */
int hx_seeds_syscall_validator(const char *dir);

#endif /* HELIX_FUZZ_SEEDGEN_H */
