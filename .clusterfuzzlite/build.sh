#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: every fuzz/*_fuzzer.c harness, built from the same sources the
# Bazel targets use (bazel/fuzz.bzl, docs/fuzzing.md), but with no Bazel at all: the builder images
# do not ship Bazel 4.2, and OSS-Fuzz's contract is only environment variables.
#
#   CC CXX CFLAGS CXXFLAGS LIB_FUZZING_ENGINE OUT   set by OSS-Fuzz's `compile` (required here;
#                                                   CFLAGS/CXXFLAGS may be empty)
#   SRC   OSS-Fuzz's source root (/src, holding helix-core/), or the repository itself; optional
#   WORK  scratch space for objects and generated files; optional (default: a fresh temp dir)
#
# For each fuzz/<name>_fuzzer.c it writes $OUT/<name>_fuzzer, $OUT/<name>_fuzzer_seed_corpus.zip
# (fuzz/corpus/<name>/ and fuzz/regressions/<name>/) and $OUT/<name>_fuzzer.dict
# (from fuzz/dict/<name>.dict).
# Run by hand (libFuzzer + ASan, what fuzz/oss-fuzz/build_test.sh does):
#   CC=clang CXX=clang++ CFLAGS="-O1 -fsanitize=address,fuzzer-no-link" CXXFLAGS="$CFLAGS" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out .clusterfuzzlite/build.sh
set -eux

die() {
	set +x
	echo "build.sh: error: $*" >&2
	exit 1
}

: "${CC:?build.sh: set CC (OSS-Fuzz sets CC, CXX, CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE and OUT)}"
: "${CXX:?build.sh: set CXX}"
: "${LIB_FUZZING_ENGINE:?build.sh: set LIB_FUZZING_ENGINE (e.g. -fsanitize=fuzzer)}"
: "${OUT:?build.sh: set OUT to the directory the fuzzers go to}"
CFLAGS=${CFLAGS-}
CXXFLAGS=${CXXFLAGS-}

# The repository: next to this script when it runs from .clusterfuzzlite/ (by hand, in the test);
# the working directory under OSS-Fuzz, whose Dockerfile copies this script to $SRC/build.sh and
# runs it in $SRC/helix-core (WORKDIR); $SRC or $SRC/helix-core otherwise. No `readlink -f`: in a
# Bazel runfiles tree the script is a symlink, and the tree (not the source checkout) is what the
# test means to build.
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=""
for candidate in "$script_dir/.." "$PWD" ${SRC:+"$SRC"} ${SRC:+"$SRC/helix-core"}; do
	if [ -f "$candidate/syscall/syscalls.tbl" ] && [ -d "$candidate/fuzz" ]; then
		root=$(cd "$candidate" && pwd)
		break
	fi
done
[ -n "$root" ] || die "cannot find the helix-core sources (syscall/syscalls.tbl) next to $script_dir," \
	"in $PWD or in \${SRC}=${SRC:-<unset>}[/helix-core]"
SRC=${SRC:-$root}
if [ -z "${WORK:-}" ]; then
	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT
fi
build=$WORK/helix-oss-fuzz
rm -rf "$build"
mkdir -p "$build/gen/include/helix/syscall" "$build/obj" "$OUT"
cd "$root"

command -v python3 >/dev/null || die "python3 is required (syscall/tools/gensyscalls.py generates the syscall table)"

# What //syscall:gen generates, from the same script and table.
python3 syscall/tools/gensyscalls.py --table syscall/syscalls.tbl \
	--numbers "$build/gen/include/helix/syscall/numbers.h" \
	--user "$build/gen/include/helix/syscall/user.h" \
	--table-c "$build/gen/syscall_table.c"

# The include dirs of //kernel/include:headers, //kernel/hosted:platform, //ipc:headers,
# //syscall:headers (plus the generated headers), //kernel/user:layout, and the root for
# "fuzz/syscall_input.h".
includes=(
	-I"$root/kernel/include"
	-I"$root/kernel/hosted/include"
	-I"$root/ipc/include"
	-I"$root/syscall/include"
	-I"$root/kernel/user/include"
	-I"$build/gen/include"
	-I"$root"
)
# HELIX_COPTS (bazel/copts.bzl) without -Werror: a newer compiler's new warning must not fail an
# OSS-Fuzz build the project never saw. -D_GNU_SOURCE as the hosted targets have it.
copts=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -fno-common)

# The library: globs, not a copy of the Bazel source lists. Each directory holds only portable
# sources (built for the kernel and hosted alike) or, under */hosted/, the Linux user-space backend:
# kernel/lib/ (//kernel/lib:base), ipc/ (channel, router, wire, event_bus), syscall/ (//syscall,
# its generated table), syscall/hosted/ (//syscall:uspace_sim), kernel/hosted/ (the platform), and
# kernel/core/elf.c (//kernel/core:elf, the one portable file there the fuzzers use). Left out on
# purpose: syscall/kernel/ (kernel address spaces, needs kernel/arch), kernel/arch/ and the rest of
# kernel/core/ (freestanding), */tests/ and */tools/ (their own mains), fuzz/engine/replay_main.c
# (the replay driver's main: the fuzzing engine provides main here). fuzz/engine/harness.c is what
# every harness links (//fuzz/engine:harness).
shopt -s nullglob
lib_srcs=(
	kernel/lib/*.c
	ipc/*.c
	syscall/*.c
	"$build/gen/syscall_table.c"
	syscall/hosted/*.c
	kernel/hosted/*.c
	kernel/core/elf.c
	fuzz/engine/harness.c
)
hosted=(kernel/hosted/*.c)
[ ${#hosted[@]} -gt 0 ] || die "no platform backend (kernel/hosted/*.c) under $root: kernel/lib needs one"
[ ${#lib_srcs[@]} -gt 3 ] || die "no library sources found under $root"
lib_objs=()
for src in "${lib_srcs[@]}"; do
	obj=$build/obj/lib_$(echo "${src#"$build/"}" | tr '/' '_').o
	# shellcheck disable=SC2086  # CFLAGS is a list of flags
	$CC $CFLAGS "${copts[@]}" "${includes[@]}" -c "$src" -o "$obj"
	lib_objs+=("$obj")
done

# Objects, not an archive: every object is linked, as Bazel's alwayslink keeps the platform backend
# (kernel/lib calls into it) and the router/wire whole.
fuzzers=(fuzz/*_fuzzer.c)
[ ${#fuzzers[@]} -gt 0 ] || die "no fuzz/*_fuzzer.c harness found under $root"
for harness in "${fuzzers[@]}"; do
	name=$(basename "$harness" .c)
	target=${name%_fuzzer}
	dict=fuzz/dict/$target.dict
	[ -f "$dict" ] || die "$harness has no dictionary $dict (bazel/fuzz.bzl requires one too)"
	seeds=(fuzz/corpus/"$target"/* fuzz/regressions/"$target"/*)
	[ ${#seeds[@]} -gt 0 ] || die "$harness: fuzz/corpus/$target/ holds no seed: a fuzzer starts from seeds"

	# shellcheck disable=SC2086
	$CC $CFLAGS "${copts[@]}" "${includes[@]}" -c "$harness" -o "$build/obj/$name.o"
	# Linked by the C++ driver: libFuzzer (and OSS-Fuzz's other engines) are C++.
	# shellcheck disable=SC2086
	$CXX $CXXFLAGS "$build/obj/$name.o" "${lib_objs[@]}" $LIB_FUZZING_ENGINE \
		-o "$OUT/$name" -lpthread

	cp "$dict" "$OUT/$name.dict"
	# python3's zipfile rather than zip(1): nothing to install on the builder. Entries are flat
	# (OSS-Fuzz unpacks them into one directory); a regression sharing a seed's name is prefixed.
	python3 - "$OUT/${name}_seed_corpus.zip" "${seeds[@]}" <<'PY'
import os, sys, zipfile
names = set()
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for path in sys.argv[2:]:
        if not os.path.isfile(path):
            continue
        arc = os.path.basename(path)
        if arc in names:
            arc = os.path.basename(os.path.dirname(os.path.dirname(path))) + "-" + arc
        names.add(arc)
        z.write(path, arc)
if not names:
    sys.exit("build.sh: no seed files for " + sys.argv[1])
PY
done
set +x
echo "build.sh: built ${#fuzzers[@]} fuzzers into $OUT"
