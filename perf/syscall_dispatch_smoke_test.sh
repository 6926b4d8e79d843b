#!/usr/bin/env bash
# Smoke test of //perf:syscall_dispatch: a --quick run must write well-formed Google Benchmark
# JSON with every configuration and a median for each. Timing is never asserted.
set -euo pipefail

binary="$1"
outdir="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
json="$outdir/syscall_dispatch.json"

"$binary" --quick --out "$json"

python3 - "$json" <<'PY'
import json
import sys

doc = json.load(open(sys.argv[1]))
assert doc["context"]["suite"] == "syscall_dispatch", doc["context"].get("suite")
names = {e["run_name"] for e in doc["benchmarks"]}
expected = {"syscall_dispatch/bare_indirect_call", "syscall_dispatch/linux_getpid_syscall"}
for hooks in (0, 3):
    for workload in ("getpid", "validated_args", "clock_gettime"):
        expected.add(f"syscall_dispatch/gateway/{workload}/hooks:{hooks}")
missing = expected - names
assert not missing, f"missing: {sorted(missing)}"
medians = [e for e in doc["benchmarks"] if e.get("aggregate_name") == "median"]
assert len(medians) == len(expected), len(medians)
for e in medians:
    assert e["real_time"] > 0 and e["ratio_to_bare_call"] > 0, e
print(f"{len(doc['benchmarks'])} entries, {len(expected)} configurations: ok")
PY
echo PASS
