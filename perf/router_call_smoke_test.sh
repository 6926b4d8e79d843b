#!/usr/bin/env bash
# Smoke test of //perf:router_call: a --quick run must write well-formed Google Benchmark JSON with
# every configuration, a median for each, and positive latencies and rates. Timing is never
# asserted. (The benchmark itself exits 1 when a reply does not match its request.)
set -euo pipefail

binary="$1"
outdir="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
json="$outdir/router_call.json"

"$binary" --quick --out "$json"

python3 - "$json" <<'PY'
import json
import sys

doc = json.load(open(sys.argv[1]))
context = doc["context"]
assert context["suite"] == "router_call", context.get("suite")
for key in ("date", "host_name", "num_cpus", "caches", "build_mode", "repetitions",
            "calls_per_repetition", "clock", "placement"):
    assert key in context, f"context lacks {key!r}"
expected = set()
for payload in (16, 1024):
    expected.add(f"router_call/helix/callers:1/payload:{payload}")
    expected.add(f"router_call/helix/callers:4/payload:{payload}")
    expected.add(f"router_call/pipe_pingpong/payload:{payload}")
names = {e["run_name"] for e in doc["benchmarks"]}
missing = expected - names
assert not missing, f"missing: {sorted(missing)}"
for e in doc["benchmarks"]:
    for key in ("name", "run_name", "run_type", "repetitions", "threads", "iterations",
                "real_time", "cpu_time", "time_unit", "p50_ns", "p90_ns", "p99_ns", "mean_ns",
                "calls_per_s"):
        assert key in e, f"{e.get('name')} lacks {key!r}"
    assert e["time_unit"] == "ns", e
    assert 0 < e["p50_ns"] <= e["p90_ns"] <= e["p99_ns"], e
    assert e["mean_ns"] > 0 and e["calls_per_s"] > 0, e
medians = [e for e in doc["benchmarks"] if e.get("aggregate_name") == "median"]
assert len(medians) == len(expected), len(medians)
for e in medians:
    assert e["p50_ratio_to_pipe"] > 0, e
    if e["transport"] == "helix":
        assert e["timeouts"] == 0 and e["late_replies"] == 0, e
print(f"{len(doc['benchmarks'])} entries, {len(expected)} configurations: ok")
PY
echo PASS
