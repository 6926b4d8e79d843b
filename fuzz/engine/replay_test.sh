#!/usr/bin/env bash
# <name> test of every fuzz target (bazel/fuzz.bzl): run the harness once over each seed and
# regression file. With the replay driver (default and sanitizer builds) and with libFuzzer the
# binary runs every file it is given; a finding aborts it and fails the test.
set -euo pipefail
binary=$1
shift
[ $# -gt 0 ] || { echo "replay_test: no input files (the seed corpus is empty)" >&2; exit 1; }
echo "replay_test: $# inputs through $binary"
exec "$binary" "$@"
