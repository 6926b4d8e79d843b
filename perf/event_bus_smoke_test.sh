#!/usr/bin/env bash
# Smoke test of //perf:event_bus: a --quick run must write well-formed Google Benchmark JSON with
# every configuration, a median for each, ordered percentiles and positive times. Timing is never
# asserted. (The benchmark itself exits 1 when a fan-out misses a handler call.)
set -euo pipefail

binary="$1"
outdir="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
json="$outdir/event_bus.json"

"$binary" --quick --out "$json"

python3 - "$json" <<'PY'
import json
import sys

doc = json.load(open(sys.argv[1]))
context = doc["context"]
assert context["suite"] == "event_bus", context.get("suite")
for key in ("date", "host_name", "num_cpus", "caches", "build_mode", "repetitions",
            "events_per_repetition", "fanout_calls_per_repetition", "pace_ns", "clock",
            "placement"):
    assert key in context, f"context lacks {key!r}"
expected = {f"event_bus/async_latency/load:{load}" for load in ("paced", "back_to_back", "stream")}
for n in (1, 4, 16, 64):
    expected.add(f"event_bus/fanout_floor/calls:{n}")
    expected.add(f"event_bus/fanout_sync/subscribers:{n}")
    expected.add(f"event_bus/fanout_queued_one_thread/subscribers:{n}")
names = {e["run_name"] for e in doc["benchmarks"]}
missing = expected - names
assert not missing, f"missing: {sorted(missing)}"
for e in doc["benchmarks"]:
    for key in ("name", "run_name", "run_type", "repetitions", "threads", "iterations",
                "real_time", "cpu_time", "time_unit", "events_per_s"):
        assert key in e, f"{e.get('name')} lacks {key!r}"
    assert e["time_unit"] == "ns", e
    assert e["real_time"] > 0 and e["events_per_s"] > 0, e
    if "async_latency" in e["run_name"]:
        assert 0 <= e["p50_ns"] <= e["p90_ns"] <= e["p99_ns"], e
        assert e["mean_ns"] > 0, e
    else:
        assert e["ns_per_call"] > 0 and e["subscribers"] > 0, e
medians = [e for e in doc["benchmarks"] if e.get("aggregate_name") == "median"]
assert len(medians) == len(expected), len(medians)
for e in medians:
    if "fanout_sync" in e["run_name"] or "fanout_queued" in e["run_name"]:
        assert e["ratio_to_floor"] > 0, e
print(f"{len(doc['benchmarks'])} entries, {len(expected)} configurations: ok")
PY
echo PASS
