#!/usr/bin/env bash
# <name>_smoke (bazel/fuzz.bzl): a short campaign inside `bazel test` (./helix test runs it under
# --config=libfuzzer and --config=afl). Fails when the campaign finds anything; the reproducer is
# saved with the test's outputs, and ./helix test copies it to fuzz/out/ci-crashes/.
set -euo pipefail
campaign=$1
shift
crashes="${TEST_UNDECLARED_OUTPUTS_DIR:-$TEST_TMPDIR}/crashes"
status=0
python3 "$campaign" "$@" --jobs=1 --workdir="$TEST_TMPDIR/campaign" --crash-dir="$crashes" ||
	status=$?
if [ "$status" -eq 1 ]; then
	for f in "$crashes"/*; do
		[ -f "$f" ] || continue
		echo "reproducer $(basename "$f") ($(stat -c %s "$f") bytes), first 256 bytes:"
		od -A x -t x1z -v -N 256 "$f"
	done
fi
exit "$status"
