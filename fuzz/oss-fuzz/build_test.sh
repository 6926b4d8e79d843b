#!/usr/bin/env bash
# //fuzz:oss_fuzz_build_test: .clusterfuzzlite/build.sh builds every fuzz/*_fuzzer.c the way
# OSS-Fuzz / ClusterFuzzLite would (libFuzzer + AddressSanitizer, only the environment variables
# their `compile` sets), from the runfiles copy of the sources: a source the script needs but the
# test's data lacks fails here, as it would on a builder whose checkout lacks it. Then, for each
# harness: the fuzzer, its seed corpus zip (a valid zip, not empty) and its dictionary are in $OUT,
# and the fuzzer runs its whole seed corpus cleanly (-runs=0: every seed once, no fuzzing).
set -euo pipefail

fail() {
	echo "oss_fuzz_build_test: FAIL: $*" >&2
	exit 1
}

# The repository as the test sees it: the runfiles tree (symlinks to exactly the data files).
repo=${TEST_SRCDIR:?run me with bazel test}/${TEST_WORKSPACE:?run me with bazel test}
tmp=${TEST_TMPDIR:?run me with bazel test}
[ -f "$repo/.clusterfuzzlite/build.sh" ] || fail "no .clusterfuzzlite/build.sh in the runfiles ($repo)"

# clang is a required package (ci/packages.txt): its absence is a failure, not a skip.
for tool in clang clang++ python3; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (ci/packages.txt lists it)"
done

# OSS-Fuzz's libFuzzer + ASan flags (infra/base-images/base-builder, trimmed to what clang 14 has).
export CC=clang CXX=clang++
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link"
export CXXFLAGS=$CFLAGS
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export OUT=$tmp/out WORK=$tmp/work SRC=$repo
rm -rf "$OUT" "$WORK"
mkdir -p "$OUT" "$WORK"

start=$SECONDS
log=$tmp/build.log
if ! bash "$repo/.clusterfuzzlite/build.sh" >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	fail "build.sh exited non-zero (last 40 lines above)"
fi
echo "oss_fuzz_build_test: build.sh took $((SECONDS - start)) s"

shopt -s nullglob
harnesses=("$repo"/fuzz/*_fuzzer.c)
[ ${#harnesses[@]} -gt 0 ] || fail "no fuzz/*_fuzzer.c in the runfiles: the test's data glob is wrong"

for harness in "${harnesses[@]}"; do
	name=$(basename "$harness" .c)
	bin=$OUT/$name
	zip=$OUT/${name}_seed_corpus.zip
	[ -x "$bin" ] || fail "$name: build.sh made no fuzzer $bin"
	[ -s "$OUT/$name.dict" ] || fail "$name: build.sh copied no dictionary to $OUT/$name.dict"
	[ -f "$zip" ] || fail "$name: build.sh made no seed corpus $zip"

	corpus=$tmp/corpus/$name
	mkdir -p "$corpus"
	# Unpacked as OSS-Fuzz does: every entry into one directory. testzip() finds a corrupt member.
	entries=$(python3 - "$zip" "$corpus" <<'PY'
import sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as z:
        bad = z.testzip()
        if bad:
            sys.exit("corrupt member " + bad)
        z.extractall(sys.argv[2])
        print(len(z.namelist()))
except zipfile.BadZipFile as e:
    sys.exit("not a zip: %s" % e)
PY
	) || fail "$name: $zip is not a valid zip"
	[ "$entries" -gt 0 ] || fail "$name: $zip holds no seed"

	# -runs=0: load and execute every seed once, then stop; a crash or a sanitizer report fails.
	if ! "$bin" -runs=0 "$corpus" >"$tmp/$name.run.log" 2>&1; then
		tail -n 40 "$tmp/$name.run.log" >&2
		fail "$name: the fuzzer did not run its seed corpus cleanly (last 40 lines above)"
	fi
	echo "oss_fuzz_build_test: $name: $entries seeds, dictionary, runs clean"
done
echo "oss_fuzz_build_test: ${#harnesses[@]} fuzzers OK in $((SECONDS - start)) s"
