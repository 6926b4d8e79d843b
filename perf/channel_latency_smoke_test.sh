#!/usr/bin/env bash
# Smoke test of //perf:channel_latency: a --quick run with one repetition and a small message count
# must produce well-formed Google Benchmark JSON naming every implementation and configuration, and
# the helix channel must complete every configuration (no "stalled", no "error"). Timing is never
# asserted: this runs on loaded machines.
set -euo pipefail

binary="$1"
outdir="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
json="$outdir/channel_latency.json"
log="$outdir/channel_latency.txt"

# Small counts and --quick's short limits (stall 1 s, time limit 1.5 s) keep the run well under a
# minute on two loaded cores: they bound the peers that crawl when oversubscribed, while helix needs
# milliseconds per configuration.
if ! "$binary" --quick --repetitions 1 --messages 1000 \
	--out "$json" >"$log" 2>&1; then
	echo "channel_latency failed:" >&2
	tail -n 40 "$log" >&2
	exit 1
fi

python="$(command -v python3 || echo /usr/bin/python3)"
"$python" - "$json" <<'PY'
import json
import sys

path = sys.argv[1]
with open(path) as f:
    doc = json.load(f)  # well-formed, or this raises

failures = []

def check(cond, message):
    if not cond:
        failures.append(message)

context = doc.get("context", {})
for key in ("date", "host_name", "num_cpus", "mhz_per_cpu", "library_build_type", "caches",
            "kernel", "compiler", "build_mode", "nproc", "clock", "core_to_core", "placement",
            "implementations", "stalled_count"):
    check(key in context, f"context lacks {key!r}")
check(isinstance(context.get("caches"), list), "context.caches is not a list")

benchmarks = doc.get("benchmarks")
check(isinstance(benchmarks, list) and benchmarks, "no benchmarks array")
benchmarks = benchmarks or []

required = ("name", "run_name", "run_type", "repetitions", "threads", "iterations", "real_time",
            "cpu_time", "time_unit")
for entry in benchmarks:
    for key in required:
        check(key in entry, f"{entry.get('name', '?')} lacks {key!r}")
    check(entry.get("run_type") in ("iteration", "aggregate"),
          f"{entry.get('name')}: run_type {entry.get('run_type')!r}")
    if entry.get("run_type") == "iteration":
        check("repetition_index" in entry, f"{entry.get('name')} lacks repetition_index")
    check(entry.get("time_unit") == "ns", f"{entry.get('name')}: time_unit")

impls = ["helix", "vyukov", "dpdk_mp", "dpdk_rts", "wfcqueue", "mutex_condvar", "eventfd_ring",
         "ck_ring", "pipe"]
cannot_block = {"vyukov", "dpdk_mp", "dpdk_rts", "ck_ring"}
names = {e.get("run_name"): e for e in benchmarks if e.get("run_type") == "iteration"}
check("channel_latency/core_to_core/pingpong" in names, "no core-to-core entry")

expected = []
for impl in impls:
    for capacity in (64, 1024):
        for size in (8, 64):
            expected.append((impl, f"channel_latency/{impl}/single_thread/capacity:{capacity}/msg:{size}", "single"))
            for producers in (1, 2, 4, 8, 16):
                for mode in ("spin", "block"):
                    expected.append((impl, f"channel_latency/{impl}/producers:{producers}/capacity:{capacity}/msg:{size}/consumer:{mode}", mode))
    # Paced runs: capacity 1024 only, 1 and 2 producers.
    for size in (8, 64):
        for producers in (1, 2):
            for mode in ("spin", "block"):
                expected.append((impl, f"channel_latency/{impl}/producers:{producers}/capacity:1024/msg:{size}/consumer:{mode}/load:paced", mode))

for impl, name, mode in expected:
    entry = names.get(name)
    check(entry is not None, f"missing {name}")
    if entry is None:
        continue
    status = entry.get("status")
    if mode == "block" and impl in cannot_block:
        check(status == "n/a", f"{name}: status {status!r}, expected n/a")
    elif impl == "helix":
        check(status == "ok", f"{name}: helix status {status!r}: {entry.get('error_message', '')}")
        check(entry.get("iterations", 0) > 0, f"{name}: no messages")
        if mode != "single":
            for counter in ("p50_ns", "p99_ns", "p999_ns", "max_ns", "msgs_per_s", "load"):
                check(counter in entry, f"{name} lacks {counter}")
            check(entry.get("load") == ("paced" if name.endswith("/load:paced") else "saturated"),
                  f"{name}: load {entry.get('load')!r}")
    else:
        check(status in ("ok", "stalled"), f"{name}: status {status!r}: {entry.get('error_message', '')}")

stalled = sorted(n for n, e in names.items() if e.get("status") == "stalled")
print(f"{len(benchmarks)} entries, {len(expected)} configurations checked, "
      f"{len(stalled)} peer runs stalled")
for name in stalled:
    print("  stalled:", name)
if failures:
    print(f"{len(failures)} problems:")
    for failure in failures[:50]:
        print("  " + failure)
    sys.exit(1)
PY

# --capacity: a bad list is refused with a message naming the option; a good one is what runs.
if "$binary" --capacity 64,0 >"$outdir/bad_capacity.txt" 2>&1; then
	echo "--capacity 64,0 was accepted" >&2
	exit 1
fi
grep -q -- "--capacity wants" "$outdir/bad_capacity.txt" || {
	echo "--capacity 64,0: no message naming the option" >&2
	exit 1
}
"$binary" --quick --repetitions 1 --messages 1000 --capacity 4096 \
	--filter helix/producers:2/ --out "$outdir/capacity.json" >"$outdir/capacity.txt" 2>&1 || {
	echo "--capacity 4096 run failed:" >&2
	tail -n 20 "$outdir/capacity.txt" >&2
	exit 1
}
"$python" - "$outdir/capacity.json" <<'PY'
import json, sys
names = {e["run_name"] for e in json.load(open(sys.argv[1]))["benchmarks"]}
want = {"channel_latency/helix/producers:2/capacity:4096/msg:%d/consumer:%s" % (m, c)
        for m in (8, 64) for c in ("spin", "block")}
assert want <= names, sorted(want - names)
assert not any("capacity:64/" in n or "capacity:1024/" in n for n in names
               if "load:paced" not in n), "default capacities ran despite --capacity"
PY

# --place: an unknown value is refused with a message naming it; split and shared pin every thread
# where they say, and name their runs so they never mix with the default's.
if "$binary" --place nowhere >"$outdir/bad_place.txt" 2>&1; then
	echo "--place nowhere was accepted" >&2
	exit 1
fi
grep -q -- "--place nowhere: not one of" "$outdir/bad_place.txt" || {
	echo "--place nowhere: no message naming the value" >&2
	exit 1
}
for place in split shared; do
	"$binary" --quick --repetitions 1 --messages 1000 --capacity 64 --place "$place" \
		--filter helix/producers:4/capacity:64/msg:8/ --out "$outdir/place-$place.json" \
		>"$outdir/place-$place.txt" 2>&1 || {
		echo "--place $place run failed:" >&2
		tail -n 20 "$outdir/place-$place.txt" >&2
		exit 1
	}
	"$python" - "$outdir/place-$place.json" "$place" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
place = sys.argv[2]
assert doc["context"]["place"] == place, doc["context"]["place"]
runs = [e for e in doc["benchmarks"] if e.get("run_type") == "iteration" and "producers:" in e["run_name"]]
want = {"channel_latency/helix/producers:4/capacity:64/msg:8/consumer:%s/place:%s" % (c, place)
        for c in ("spin", "block")}
assert want == {e["run_name"] for e in runs}, sorted(e["run_name"] for e in runs)
for e in runs:
    assert e["status"] == "ok" and e["pinned"], (e["run_name"], e["status"], e["pinned"])
    seen = dict(re.findall(r"(\w+):\{([\d,]+)\}", e["placement"]))
    assert seen["consumer"] == "0", e["placement"]  # the first allowed CPU
    on_consumer_cpu = [t for t, cpus in seen.items() if t != "consumer" and cpus == "0"]
    # split: no producer on the consumer's CPU; shared (2 CPUs): p1 and p3 there
    assert bool(on_consumer_cpu) == (place == "shared"), (place, e["placement"])
PY
done
echo "PASS"
