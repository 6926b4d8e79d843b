#!/usr/bin/env bash
# <name>_run (bazel/fuzz.bzl): `bazel run --config=libfuzzer|afl //fuzz:<name>_run -- [options]`
# runs a campaign (fuzz/tools/campaign.py run) in fuzz/out/<target>/<engine>/ of the workspace.
set -euo pipefail
campaign=$1
shift
exec python3 "$campaign" "$@"
