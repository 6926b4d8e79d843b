#!/usr/bin/env bash
# Smoke test of //perf:wire_decode: a --quick run must write well-formed Google Benchmark JSON with
# every shape in both modes, a median for each and positive throughputs. Timing is never asserted.
set -euo pipefail

binary="$1"
outdir="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
json="$outdir/wire_decode.json"

"$binary" --quick --out "$json"

python3 - "$json" <<'PY'
import json
import sys

doc = json.load(open(sys.argv[1]))
assert doc["context"]["suite"] == "wire_decode", doc["context"].get("suite")
names = {e["run_name"] for e in doc["benchmarks"]}
expected = {
    f"wire_decode/{shape}/{mode}"
    for shape in ("small_request", "config_map", "bytes_16k", "deep_nesting", "text_heavy")
    for mode in ("decode", "decode_read")
}
missing = expected - names
assert not missing, f"missing: {sorted(missing)}"
medians = [e for e in doc["benchmarks"] if e.get("aggregate_name") == "median"]
assert len(medians) == len(expected), len(medians)
for e in doc["benchmarks"]:
    assert e["real_time"] > 0 and e["bytes_per_second"] > 0 and e["items_per_second"] > 0, e
    assert 0 < e["message_bytes"] <= 65536 and e["payload_items"] > 0, e
print(f"{len(doc['benchmarks'])} entries, {len(expected)} configurations: ok")
PY
echo PASS
