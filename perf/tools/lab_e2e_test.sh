#!/usr/bin/env bash
# The perf lab end to end on the real suites (docs/perf.md): two --quick runs of every suite into a
# scratch history, the second compared with the first; the shape check of both result files; the
# dashboard drawn and loaded in headless Chromium, where every plot must render (and a page with
# one plot broken on purpose must be caught); a --profile pass of one suite under perf record.
# Never the timing: with 2 repetitions a side no difference can be significant, so the comparison
# must find nothing.
set -euo pipefail

lab="$1"
bin_dir="$(cd "$(dirname "$2")" && pwd)"
out="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
work="${TEST_TMPDIR:-$(mktemp -d)}/lab"
mkdir -p "$work"
python="$(command -v python3 || echo /usr/bin/python3)"
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

run() {
	# 1000 messages keep the channel suite's 40 configurations x 7 implementations short.
	"$python" "$lab" run --bin-dir "$bin_dir" --quick --repetitions 2 --results-dir "$work" \
		--history "$work/history.jsonl" --suite-args "channel_latency=--messages 1000" "$@"
}

run --commit e2e0001 >"$work/run1.log" 2>&1 || { cat "$work/run1.log"; fail "first run"; }
first=$(ls "$work"/*-e2e0001.json)
run --commit e2e0002 --compare "$first" >"$work/run2.log" 2>&1 ||
	{ cat "$work/run2.log"; fail "second run or its comparison"; }
second=$(ls "$work"/*-e2e0002.json)
for f in "$first" "$second"; do
	"$python" "$lab" check "$f" || fail "shape of $f"
done
grep -q "no difference can reach p < 0.05" "$work/run2.log" ||
	fail "the comparison did not warn that 2 repetitions cannot be significant"
grep -q "^helix: 0 regressions" "$work/run2.log" || { cat "$work/run2.log"; fail "comparison summary"; }
for suite in $("$python" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["context"]["suites"]))' "$second"); do
	grep -q "^$suite (medians" "$work/run2.log" || fail "no table for $suite"
done
# One line per benchmark and run: two runs of five suites give hundreds.
[ "$(wc -l <"$work/history.jsonl")" -gt 100 ] || fail "history too short"

"$python" "$lab" dashboard --history "$work/history.jsonl" --out "$out/dashboard.html" \
	--screenshot "$out/dashboard.png" | tee "$work/dashboard.log"
grep -q "render check: all [0-9]* plots rendered" "$work/dashboard.log" || fail "render check"
[ -s "$out/dashboard.png" ] || fail "no screenshot"

# The check must be able to fail: empty the first history plot's marks.
"$python" - "$lab" "$out/dashboard.html" "$work/broken.html" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("perflab", sys.argv[1])
perflab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(perflab)
page = open(sys.argv[2]).read()
start = page.index('<g class="series">', page.index('id="svg-'))
end = page.index("</g>", start)
open(sys.argv[3], "w").write(page[:start] + '<g class="series">' + page[end:])
plots, rendered, failed = perflab.render_check(sys.argv[3])
assert plots == rendered + 1 and len(failed) == 1 and failed[0].startswith("svg-"), \
    (plots, rendered, failed)
print("broken page caught: %d of %d rendered, failed: %s" % (rendered, plots, failed[0]))
PY

# A profile of one short suite: the report names helix's gateway, the flame graph has frames.
"$python" "$lab" run --bin-dir "$bin_dir" --quick --repetitions 2 --results-dir "$work/prof" \
	--history "$work/prof/history.jsonl" --profile syscall_dispatch >"$work/prof.log" 2>&1 ||
	{ cat "$work/prof.log"; fail "profile run"; }
report=$(ls "$work"/prof/*/syscall_dispatch.report.txt)
grep -q "helix_syscall_entry" "$report" || { head -40 "$report"; fail "gateway not in the profile"; }
grep -q "<rect" "$(dirname "$report")/syscall_dispatch.flame.svg" || fail "empty flame graph"
cp "$report" "$(dirname "$report")/syscall_dispatch.flame.svg" "$out/"
echo "PASS"
