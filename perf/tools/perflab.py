#!/usr/bin/env python3
"""perflab: the perf lab's driver (docs/perf.md): runs helix's perf suites, merges their reports
into one Google Benchmark-shaped file with statistics, keeps the history, compares runs and draws
the dashboard. Standard library only.

  perflab.py run --bin-dir DIR [SUITE...] [--quick|--full] [--repetitions N]
                 [--compare BASE.json] [--threshold F] [--profile] [--results-dir DIR]
                 [--history FILE] [--commit ID] [--suite-args SUITE=ARGS]
      runs the suites (built with -c opt into DIR), writes <results-dir>/<date>-<commit>.json
      (context, every repetition, aggregates with confidence intervals), prints a table, appends
      to the history and, with --compare, judges the run against BASE. Exit status: 0; 1 when a
      suite failed or --compare found a regression; 2 on bad usage.
  perflab.py compare BASE.json NEW.json [--threshold F] [--alpha P]
      the same judgement on two result files.
  perflab.py dashboard [--history FILE] [--out FILE] [--preset P] [--screenshot PNG]
                       [--no-check]
      a static HTML page (inline SVG, no network) from the history, then loaded in headless
      Chromium to check that every plot rendered (exit 1 if not).
  perflab.py check RESULT.json
      checks a result file's shape (what CI's smoke step asserts; never the timing).
"""

import argparse
import datetime
import html
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zlib

# The suites in the order they run, and the arguments each preset passes. --full multiplies the
# default work by ten where the suite has no --full of its own.
SUITES = {
    "channel_latency": {"quick": ["--quick"], "default": [], "full": ["--full"]},
    "event_bus": {"quick": ["--quick"], "default": [], "full": ["--events", "2000000"]},
    "router_call": {"quick": ["--quick"], "default": [], "full": ["--calls", "1000000"]},
    "syscall_dispatch": {"quick": ["--quick"], "default": [], "full": ["--calls", "20000000"]},
    "wire_decode": {"quick": ["--quick"], "default": [], "full": ["--bytes", "671088640"]},
}

# A suite not listed above: --quick, nothing, and for --full its defaults (a suite that has a
# --full of its own belongs in the table).
GENERIC_PRESETS = {"quick": ["--quick"], "default": [], "full": []}


def preset_args(suite, preset):
    return SUITES.get(suite, GENERIC_PRESETS)[preset]


DEFAULT_REPETITIONS = {"quick": 3, "default": 9, "full": 9}

# The metrics the lab summarises and compares: lower is better for each. real_time is ns per
# operation (per message, call, event, decode); p50_ns the median one-way latency where a suite
# measures latency.
METRICS = ("real_time", "p50_ns")

# Context fields every suite writes (bench_report.c); the merged context keeps them once.
COMMON_CONTEXT = ("date", "host_name", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "caches",
                  "load_avg", "library_build_type", "build_mode", "compiler", "kernel")

ALPHA = 0.05
THRESHOLD = 0.10
STATUS_EVERY = 10  # seconds between progress lines


def clean(value):
    """@value with every non-finite float as None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def say(msg):
    print("perflab: " + msg, flush=True)


def die(msg, status=2):
    print("perflab: " + msg, file=sys.stderr, flush=True)
    sys.exit(status)


# ---------------------------------------------------------------------------------------------
# Statistics

def median(values):
    v = sorted(values)
    n = len(v)
    if n == 0:
        return math.nan
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def mean(values):
    return sum(values) / len(values) if values else math.nan


def stddev(values):
    """The sample standard deviation (n - 1), as Google Benchmark's _stddev aggregate."""
    n = len(values)
    if n < 2:
        return 0.0 if n == 1 else math.nan
    m = mean(values)
    return math.sqrt(sum((x - m) ** 2 for x in values) / (n - 1))


def binom_cdf_half(k, n):
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(0, min(k, n) + 1)) / 2 ** n


def median_ci(values, level=0.95):
    """A distribution-free confidence interval for the median: the order statistics
    x(k) and x(n+1-k) with the largest k whose coverage 1 - 2 P(Bin(n, 1/2) <= k - 1) is still at
    least @level. Returns (low, high, coverage); with too few samples for @level, the whole range
    and the coverage it has (n = 3: 75 %)."""
    v = sorted(values)
    n = len(v)
    if n == 0:
        return (math.nan, math.nan, 0.0)
    best = 1
    for k in range(1, n // 2 + 1):
        if 1 - 2 * binom_cdf_half(k - 1, n) >= level:
            best = k
        else:
            break
    coverage = 1 - 2 * binom_cdf_half(best - 1, n)
    return (v[best - 1], v[n - best], coverage)


_U_COUNTS = {}


def _u_counts(m, n):
    """How many of the C(m+n, m) rankings give each value of U (no ties): f(m, n, u) =
    f(m-1, n, u-n) + f(m, n-1, u)."""
    key = (m, n)
    if key in _U_COUNTS:
        return _U_COUNTS[key]
    if m == 0 or n == 0:
        counts = [1]
    else:
        a = _u_counts(m - 1, n)
        b = _u_counts(m, n - 1)
        counts = [0] * (m * n + 1)
        for u, c in enumerate(a):
            counts[u + n] += c
        for u, c in enumerate(b):
            counts[u] += c
    _U_COUNTS[key] = counts
    return counts


def _ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    ties = []
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney(a, b):
    """Two-sided Mann-Whitney U test of @a against @b. Returns (U of a, p). Exact (the U
    distribution counted) without ties and up to 40 samples a side; otherwise the normal
    approximation with the tie correction and a continuity correction."""
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return (math.nan, 1.0)
    ranks, ties = _ranks(list(a) + list(b))
    u = sum(ranks[:m]) - m * (m + 1) / 2
    if not ties and m <= 40 and n <= 40:
        counts = _u_counts(m, n)
        total = math.comb(m + n, m)
        k = int(round(u))
        low = sum(counts[: k + 1]) / total
        high = sum(counts[k:]) / total
        return (u, min(1.0, 2 * min(low, high)))
    mu = m * n / 2
    tie_term = sum(t ** 3 - t for t in ties) / ((m + n) * (m + n - 1))
    var = m * n / 12 * ((m + n + 1) - tie_term)
    if var <= 0:
        return (u, 1.0)
    z = (abs(u - mu) - 0.5) / math.sqrt(var)
    return (u, min(1.0, math.erfc(max(z, 0) / math.sqrt(2))))


def smallest_p(m, n):
    """The smallest two-sided p the exact test can give with these sample sizes."""
    return min(1.0, 2 / math.comb(m + n, m)) if m and n else 1.0


def judge(base, new, threshold=THRESHOLD, alpha=ALPHA):
    """A verdict on two samples of a lower-is-better metric: 'regression' or 'improvement' only
    when the difference is both significant (Mann-Whitney p < alpha) and larger than @threshold
    (a fraction of the base median); 'unclear' when large but not significant; else 'same'."""
    mb, mn = median(base), median(new)
    _, p = mann_whitney(new, base)
    if not (mb > 0) or not math.isfinite(mn):
        return {"verdict": "unclear", "change": math.nan, "p": p, "base": mb, "new": mn}
    change = mn / mb - 1
    large = change > threshold or change < 1 / (1 + threshold) - 1
    if large and p < alpha:
        verdict = "regression" if change > 0 else "improvement"
    elif large:
        verdict = "unclear"
    else:
        verdict = "same"
    return {"verdict": verdict, "change": change, "p": p, "base": mb, "new": mn}


# ---------------------------------------------------------------------------------------------
# What each benchmark is: helix's code (subject), a peer or baseline it is compared with (peer),
# or a figure of the machine (machine). Peers are drawn as reference lines in the plots of the
# subjects of the same suite and group (group "*": every subject of the suite).

def classify(suite, entry):
    """(role, group, label) of a benchmark entry."""
    name = entry["run_name"]
    parts = name.split("/")
    tail = "/".join(parts[2:])
    if suite == "channel_latency":
        impl = entry.get("implementation") or (parts[1] if len(parts) > 1 else name)
        if impl == "core_to_core" or (len(parts) > 1 and parts[1] == "core_to_core"):
            return ("machine", name, "core-to-core")
        return ("subject" if impl == "helix" else "peer", tail, impl)
    if suite == "router_call" and len(parts) > 2:
        if parts[1] == "helix":
            return ("subject", tail, "helix")
        return ("peer", "callers:1/" + tail, parts[1])
    if suite == "syscall_dispatch" and len(parts) > 1:
        if parts[1] == "gateway":
            return ("subject", "*", "helix")
        return ("peer", "*", parts[1])
    if suite == "event_bus" and len(parts) > 2:
        count = parts[2].split(":")[-1]
        if parts[1] == "fanout_floor":
            return ("peer", "n:" + count, "indirect calls")
        if parts[1].startswith("fanout_"):
            return ("subject", "n:" + count, "helix")
    return ("subject", name, "helix")


def entry_status(entry):
    return entry.get("status", "error" if entry.get("error_occurred") else "ok")


# ---------------------------------------------------------------------------------------------
# Merging suite reports into one document

def summarize(entries):
    """Per run_name: the samples of each metric over the repetitions that completed."""
    out = {}
    for e in entries:
        if e.get("run_type") != "iteration":
            continue
        s = out.setdefault(e["run_name"], {"entries": [], "samples": {m: [] for m in METRICS},
                                           "cpu": [], "statuses": []})
        s["entries"].append(e)
        s["statuses"].append(entry_status(e))
        if entry_status(e) != "ok":
            continue
        for m in METRICS:
            v = e.get(m)
            if isinstance(v, (int, float)) and math.isfinite(v):
                s["samples"][m].append(float(v))
        if isinstance(e.get("cpu_time"), (int, float)):
            s["cpu"].append(float(e["cpu_time"]))
    return out


def stats_of(samples):
    lo, hi, cov = median_ci(samples)
    return {"median": median(samples), "mean": mean(samples), "stddev": stddev(samples),
            "cv": stddev(samples) / mean(samples) if samples and mean(samples) else math.nan,
            "ci_low": lo, "ci_high": hi, "ci_level": cov, "n": len(samples),
            "min": min(samples) if samples else math.nan,
            "max": max(samples) if samples else math.nan}


def add_aggregates(suite, entries):
    """Adds to a suite's entries what the lab promises for every benchmark: _mean, _median,
    _stddev and _cv aggregates over the completed repetitions (kept when the suite wrote them),
    and on _median the 95 % confidence interval of each metric's median."""
    by_name = {}
    for e in entries:
        if e.get("run_type") == "aggregate":
            by_name.setdefault(e["run_name"], {})[e.get("aggregate_name")] = e
    out = list(entries)
    for run_name, s in summarize(entries).items():
        first = s["entries"][0]
        aggs = by_name.setdefault(run_name, {})
        real = s["samples"]["real_time"]
        cpu = s["cpu"] or real
        for agg, fn in (("mean", mean), ("median", median), ("stddev", stddev), ("cv", None)):
            if agg in aggs or not real:  # nothing completed (stalled, n/a): no aggregate
                continue
            e = {k: first[k] for k in ("family_index", "per_family_instance_index", "threads",
                                       "repetitions") if k in first}
            e.update({"name": run_name + "_" + agg, "run_name": run_name,
                      "run_type": "aggregate", "aggregate_name": agg,
                      "aggregate_unit": "percentage" if agg == "cv" else "time",
                      "iterations": len(real), "time_unit": first.get("time_unit", "ns")})
            if agg == "cv":
                e["real_time"] = stddev(real) / mean(real) if real and mean(real) else None
                e["cpu_time"] = stddev(cpu) / mean(cpu) if cpu and mean(cpu) else None
            else:
                e["real_time"] = fn(real) if real else None
                e["cpu_time"] = fn(cpu) if cpu else None
            aggs[agg] = e
            out.append(e)
        if "median" not in aggs:
            continue
        med = aggs["median"]
        role, group, label = classify(suite, first)
        med.update({"suite": suite, "role": role, "group": group, "label": label,
                    "completed_repetitions": len(real),
                    "statuses": sorted(set(s["statuses"]))})
        for m in METRICS:
            if s["samples"][m]:
                st = stats_of(s["samples"][m])
                med[m + "_ci"] = [st["ci_low"], st["ci_high"]]
                med[m + "_ci_level"] = round(st["ci_level"], 4)
    return out


def merge(reports, commit, dirty, preset, repetitions, started):
    """One document from the suites' reports {suite: doc}."""
    first = next(iter(reports.values()))["context"]
    context = {k: first[k] for k in COMMON_CONTEXT if k in first}
    context.update({"date": started, "executable": "perf/tools/perflab.py",
                    "helix_commit": commit, "helix_dirty": dirty, "preset": preset,
                    "repetitions": repetitions, "suites": {}})
    benchmarks = []
    family_base = 0
    for suite, doc in reports.items():
        context["suites"][suite] = doc["context"]
        entries = add_aggregates(suite, doc["benchmarks"])
        top = 0
        for e in entries:
            e = dict(e)
            e["suite"] = suite
            e["family_index"] = e.get("family_index", 0) + family_base
            top = max(top, e["family_index"] + 1)
            benchmarks.append(e)
        family_base = top
    return {"context": context, "benchmarks": benchmarks}


def benchmarks_of(doc):
    """{run_name: {"suite", "role", "group", "label", "samples": {metric: [...]}, "stats"}}."""
    out = {}
    by_suite = {}
    for e in doc["benchmarks"]:
        by_suite.setdefault(e.get("suite") or doc["context"].get("suite", "?"), []).append(e)
    for suite, entries in by_suite.items():
        for run_name, s in summarize(entries).items():
            role, group, label = classify(suite, s["entries"][0])
            out[run_name] = {"suite": suite, "role": role, "group": group, "label": label,
                             "samples": {m: v for m, v in s["samples"].items() if v},
                             "statuses": sorted(set(s["statuses"])),
                             "stats": {m: stats_of(v) for m, v in s["samples"].items() if v}}
    return out


# ---------------------------------------------------------------------------------------------
# Shape check (what CI asserts: never the timing)

def check_doc(doc):
    problems = []
    ctx = doc.get("context")
    if not isinstance(ctx, dict):
        return ["no context object"]
    for k in ("date", "host_name", "num_cpus", "build_mode", "helix_commit", "preset",
              "repetitions", "suites"):
        if k not in ctx:
            problems.append("context lacks %r" % k)
    entries = doc.get("benchmarks")
    if not isinstance(entries, list) or not entries:
        return problems + ["no benchmarks"]
    names = set()
    for e in entries:
        for k in ("name", "run_name", "run_type", "family_index", "threads", "iterations",
                  "real_time", "cpu_time", "time_unit", "suite"):
            if k not in e:
                problems.append("%s lacks %r" % (e.get("name", "?"), k))
        if e.get("run_type") == "iteration" and "repetition_index" not in e:
            problems.append("%s lacks repetition_index" % e.get("name"))
        if e.get("run_type") == "aggregate" and e.get("aggregate_name") not in (
                "mean", "median", "stddev", "cv"):
            problems.append("%s: aggregate_name %r" % (e.get("name"), e.get("aggregate_name")))
        names.add(e.get("name"))
    for suite in ctx.get("suites", {}):
        if not any(e.get("suite") == suite for e in entries):
            problems.append("suite %s has no entries" % suite)
    for run_name, b in benchmarks_of(doc).items():
        if b["stats"].get("real_time") is None:
            if "ok" in b["statuses"]:
                problems.append("%s: no real_time samples" % run_name)
            continue
        for agg in ("mean", "median", "stddev", "cv"):
            if run_name + "_" + agg not in names:
                problems.append("%s lacks its _%s aggregate" % (run_name, agg))
        st = b["stats"]["real_time"]
        if not (st["median"] > 0 and st["ci_low"] <= st["median"] <= st["ci_high"]):
            problems.append("%s: median %r outside its interval [%r, %r]" % (
                run_name, st["median"], st["ci_low"], st["ci_high"]))
    return problems


# ---------------------------------------------------------------------------------------------
# Comparing two runs

def compare_docs(base, new, threshold=THRESHOLD, alpha=ALPHA):
    """Verdicts for every benchmark and metric present in both: a list of dicts."""
    b_all, n_all = benchmarks_of(base), benchmarks_of(new)
    rows = []
    for name, nb in n_all.items():
        bb = b_all.get(name)
        if not bb:
            continue
        for m in METRICS:
            if m in nb["samples"] and m in bb["samples"]:
                v = judge(bb["samples"][m], nb["samples"][m], threshold, alpha)
                v.update({"name": name, "metric": m, "role": nb["role"], "suite": nb["suite"],
                          "n_base": len(bb["samples"][m]), "n_new": len(nb["samples"][m])})
                rows.append(v)
    return rows


# ---------------------------------------------------------------------------------------------
# One implementation against another in the same runs

def versus_rows(doc, a, b, metric="real_time"):
    """For every configuration that implementations @a and @b both ran (run names
    SUITE/@a/REST and SUITE/@b/REST) with at least one successful repetition each: the medians
    of @metric, their ratio a / b and the Mann-Whitney p, sorted by REST. Repetitions whose status
    is not ok (stalled, error) are left out."""
    samples = {name: s["samples"][metric] for name, s in summarize(doc["benchmarks"]).items()}
    rows = []
    for name, xs in samples.items():
        parts = name.split("/")
        if not xs or len(parts) < 3 or parts[1] != a:
            continue
        ys = samples.get("/".join([parts[0], b] + parts[2:]))
        if not ys:
            continue
        ma, mb = median(xs), median(ys)
        rows.append({"config": "/".join(parts[2:]), "a": ma, "b": mb,
                     "ratio": ma / mb if mb else math.nan, "p": mann_whitney(xs, ys)[1],
                     "n_a": len(xs), "n_b": len(ys)})
    return sorted(rows, key=lambda r: r["config"])


def fmt_ns(v):
    if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
        return "-"
    if v >= 1e6:
        return "%.2f ms" % (v / 1e6)
    if v >= 1e4:
        return "%.1f us" % (v / 1e3)
    if v >= 100:
        return "%.0f" % v
    return "%.1f" % v


def print_comparison(rows, base_ctx, new_ctx, threshold, alpha, out=None):
    """Prints the verdicts; returns the number of regressions in helix's own benchmarks."""
    w = (out or sys.stdout).write
    w("\ncompare: base %s (%s, %s) -> new %s (%s, %s)\n" % (
        base_ctx.get("helix_commit", "?"), base_ctx.get("date", "?"), base_ctx.get("preset", "?"),
        new_ctx.get("helix_commit", "?"), new_ctx.get("date", "?"), new_ctx.get("preset", "?")))
    w("a change counts when Mann-Whitney p < %g and the medians differ by more than %.0f %%\n" % (
        alpha, threshold * 100))
    if base_ctx.get("preset") != new_ctx.get("preset"):
        w("warning: the presets differ (%s vs %s): the figures measure different amounts of work\n"
          % (base_ctx.get("preset"), new_ctx.get("preset")))
    if base_ctx.get("host_name") != new_ctx.get("host_name"):
        w("warning: different hosts (%s vs %s)\n" % (base_ctx.get("host_name"),
                                                      new_ctx.get("host_name")))
    weak = [r for r in rows if smallest_p(r["n_base"], r["n_new"]) >= alpha]
    if weak:
        sizes = min((r["n_base"], r["n_new"]) for r in weak)
        w("warning: %d of %d comparisons have too few repetitions (fewest %d and %d): there no "
          "difference can reach p < %g; use --repetitions 4 or more on both sides\n" % (
              len(weak), len(rows), sizes[0], sizes[1], alpha))
    shown = [r for r in rows if r["verdict"] in ("regression", "improvement")]
    shown.sort(key=lambda r: (r["verdict"] != "regression", r["role"] != "subject",
                              -abs(r["change"])))
    if shown:
        w("\n%-11s %-8s %-72s %-9s %10s %10s %8s %8s\n" % (
            "verdict", "role", "benchmark", "metric", "base", "new", "change", "p"))
        for r in shown:
            w("%-11s %-8s %-72s %-9s %10s %10s %+7.1f%% %8.4f\n" % (
                r["verdict"], r["role"], r["name"][:72], r["metric"], fmt_ns(r["base"]),
                fmt_ns(r["new"]), r["change"] * 100, r["p"]))
    counts = {}
    for r in rows:
        key = (r["role"], r["verdict"])
        counts[key] = counts.get(key, 0) + 1
    for role in ("subject", "peer", "machine"):
        c = {v: counts.get((role, v), 0) for v in ("regression", "improvement", "unclear", "same")}
        if sum(c.values()):
            w("%s: %d regressions, %d improvements, %d unclear, %d same\n" % (
                {"subject": "helix", "peer": "peers", "machine": "machine"}[role],
                c["regression"], c["improvement"], c["unclear"], c["same"]))
    if any(counts.get(("peer", v), 0) for v in ("regression", "improvement")):
        w("(peers changed too: the machine's speed moved between the runs; read helix's changes "
          "against theirs)\n")
    return counts.get(("subject", "regression"), 0)


# ---------------------------------------------------------------------------------------------
# History: one JSON line per benchmark and run

def history_lines(doc, previous):
    """The run's history lines; each metric judged against @previous (the last line with the
    same history_key) as 'vs_previous'."""
    ctx = doc["context"]
    run_id = run_id_of(ctx)
    lines = []
    for name, b in benchmarks_of(doc).items():
        line = {"run": run_id, "date": ctx.get("date"), "commit": ctx.get("helix_commit"),
                "dirty": ctx.get("helix_dirty", False), "host": ctx.get("host_name"),
                "preset": ctx.get("preset"), "build_mode": ctx.get("build_mode"),
                "suite": b["suite"], "name": name,
                "role": b["role"], "group": b["group"], "label": b["label"],
                "statuses": b["statuses"], "metrics": {}}
        prev = previous.get(history_key(line))
        for m, samples in b["samples"].items():
            st = b["stats"][m]  # benchmarks_of computed them
            item = {k: st[k] for k in ("median", "ci_low", "ci_high", "ci_level", "n", "cv")}
            item["samples"] = samples
            if prev and m in prev.get("metrics", {}):
                v = judge(prev["metrics"][m]["samples"], samples)
                item["vs_previous"] = {"run": prev["run"], "verdict": v["verdict"],
                                       "change": v["change"], "p": v["p"]}
            line["metrics"][m] = item
        lines.append(line)
    return lines


def history_key(line):
    """Runs are compared only with runs of the same benchmark, host, preset and build mode."""
    return (line["name"], line.get("host"), line.get("preset"), line.get("build_mode"))


def read_history(path):
    lines = []
    if not os.path.exists(path):
        return lines
    with open(path) as f:
        for number, text in enumerate(f, 1):
            text = text.strip()
            if not text:
                continue
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError as e:
                die("%s:%d: not a JSON line (%s); fix or remove that line" % (path, number, e), 1)
    return lines


def append_history(path, doc):
    previous = {}
    for line in read_history(path):
        previous[history_key(line)] = line
    lines = history_lines(doc, previous)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as f:
        for line in lines:
            f.write(json.dumps(clean(line), sort_keys=True, allow_nan=False) + "\n")
    return lines


def run_id_of(ctx):
    stamp = re.sub(r"[^0-9T]", "", ctx.get("date", ""))[:15].replace("T", "-")
    commit = ctx.get("helix_commit", "unknown")
    return "%s-%s%s" % (stamp, commit, "-dirty" if ctx.get("helix_dirty") else "")


# ---------------------------------------------------------------------------------------------
# The table printed after a run

def print_table(doc, out=None):
    w = (out or sys.stdout).write
    bench = benchmarks_of(doc)
    by_suite = {}
    for name, b in bench.items():
        by_suite.setdefault(b["suite"], []).append((name, b))
    order = {e["run_name"]: i for i, e in enumerate(doc["benchmarks"])}
    for suite in doc["context"]["suites"]:
        rows = sorted(by_suite.get(suite, []), key=lambda nb: order.get(nb[0], 0))
        w("\n%s (medians over the repetitions; 95 %% CI of the median; cv = stddev / mean)\n"
          % suite)
        w("%-66s %10s %21s %6s %10s  %s\n" % ("benchmark", "ns/op", "CI", "cv", "p50",
                                                "x fastest peer"))
        for name, b in rows:
            if b["role"] == "peer":
                continue
            st = b["stats"].get("real_time")
            if not st:
                w("%-66s %10s   (%s)\n" % (name[:66], "-", ",".join(b["statuses"])))
                continue
            peers = [(p["stats"]["real_time"]["median"], p["label"]) for p in bench.values()
                     if p["suite"] == suite and p["role"] == "peer" and "real_time" in p["stats"]
                     and p["group"] in (b["group"], "*")]
            ratio = ""
            if peers and b["role"] == "subject":
                best, label = min(peers)
                if best > 0:
                    ratio = "%.2f (%s)" % (st["median"] / best, label)
            p50 = b["stats"].get("p50_ns", {}).get("median")
            ci = "[%s, %s]" % (fmt_ns(st["ci_low"]), fmt_ns(st["ci_high"]))
            w("%-66s %10s %21s %5.1f%% %10s  %s\n" % (
                name[len(suite) + 1:][:66], fmt_ns(st["median"]), ci, st["cv"] * 100,
                fmt_ns(p50), ratio))


# ---------------------------------------------------------------------------------------------
# Running the suites

def git(*args):
    try:
        return subprocess.run(["git"] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def run_suite(binary, args, log_path):
    """Runs one suite with its output in @log_path and a status line every STATUS_EVERY s."""
    name = os.path.basename(binary)
    start = time.monotonic()
    with open(log_path, "w") as log:
        log.write("$ %s\n" % " ".join(shlex.quote(a) for a in [binary] + args))
        log.flush()
        # Line-buffered, so the status line can show the suite's latest output line.
        stdbuf = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []
        proc = subprocess.Popen(stdbuf + [binary] + args, stdout=log, stderr=subprocess.STDOUT)
        next_status = start + STATUS_EVERY
        while proc.poll() is None:
            time.sleep(0.2)
            now = time.monotonic()
            if now >= next_status:
                next_status = now + STATUS_EVERY
                last = last_line(log_path)
                say("  %s: %.0f s%s" % (name, now - start, (": " + last[:90]) if last else ""))
    return proc.returncode, time.monotonic() - start


def last_line(path):
    """The suite's latest non-empty output line (not run_suite's own command line)."""
    return next((l.strip() for l in reversed(tail(path, 20))
                 if l.strip() and not l.startswith("$ ")), "")


def profile_suite(binary, args, stem):
    """One pass of a suite under `perf record -e cpu-clock -g`: the report (perf report --stdio)
    and a flame graph SVG drawn from `perf script`'s stacks. Returns the files written."""
    data = stem + ".perf.data"
    rec = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-o", data, "--",
                          binary] + args, capture_output=True, text=True)
    if rec.returncode != 0 or not os.path.exists(data):
        raise RuntimeError("perf record failed (%d): %s" % (rec.returncode, rec.stderr.strip()[-400:]
                                                              or "no output"))
    report = stem + ".report.txt"
    with open(report, "w") as f:
        r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                            "--percent-limit", "0.5", "--sort", "comm,dso,symbol"],
                           stdout=f, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("perf report failed: %s" % r.stderr.strip()[-400:])
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym"],
                            capture_output=True, text=True)
    if script.returncode != 0:
        raise RuntimeError("perf script failed: %s" % script.stderr.strip()[-400:])
    folded = fold_stacks(script.stdout)
    svg = stem + ".flame.svg"
    with open(svg, "w") as f:
        f.write(flame_svg(folded, os.path.basename(binary)))
    return [data, report, svg]


def fold_stacks(text):
    """`perf script` samples (a header line, then one frame per line, innermost first) into
    {"comm;outer;...;inner": count}."""
    folded = {}
    for block in text.split("\n\n"):
        lines = [l for l in block.splitlines() if l.strip()]
        if not lines:
            continue
        comm = lines[0].split()[0]
        frames = []
        for l in lines[1:]:
            parts = l.split(None, 1)
            sym = parts[1].strip() if len(parts) > 1 else "[unknown]"
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            frames.append(sym)
        key = ";".join([comm] + frames[::-1])
        folded[key] = folded.get(key, 0) + 1
    return folded


def flame_svg(folded, title):
    """A flame graph (Brendan Gregg's layout: root at the bottom, width = share of samples)."""
    root = {"n": 0, "c": {}}
    for stack, count in folded.items():
        node = root
        node["n"] += count
        for frame in stack.split(";"):
            node = node["c"].setdefault(frame, {"n": 0, "c": {}})
            node["n"] += count
    total = root["n"] or 1
    width, row = 1200.0, 16
    rects = []

    def depth_of(node):
        return 1 + max((depth_of(c) for c in node["c"].values()), default=0)

    depth = depth_of(root)
    height = depth * row + 40

    def walk(node, x, level):
        for name, child in sorted(node["c"].items()):
            w = child["n"] / total * width
            if w >= 0.5:
                y = height - 10 - (level + 1) * row
                hue = 10 + zlib.crc32(name.encode()) % 40  # stable: same frame, same colour
                label = html.escape(name)
                text = label if w > 7 * len(name) else (label[: int(w / 7) - 2] + ".."
                                                        if w > 30 else "")
                rects.append(
                    '<g><title>%s (%d samples, %.1f%%)</title><rect x="%.1f" y="%d" width="%.1f" '
                    'height="%d" fill="hsl(%d,90%%,60%%)" rx="1"/><text x="%.1f" y="%d">%s</text>'
                    '</g>' % (label, child["n"], child["n"] * 100 / total, x, y, w, row - 1, hue,
                              x + 3, y + 11, text))
                walk(child, x, level + 1)
            x += w

    walk(root, 0.0, 0)
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'font-family="monospace" font-size="11">\n<text x="4" y="16" font-size="14">%s: '
            '%d samples (cpu-clock)</text>\n%s\n</svg>\n' % (
                width, height, html.escape(title), total, "\n".join(rects)))


def cmd_run(a):
    preset = "quick" if a.quick else "full" if a.full else "default"
    reps = a.repetitions or DEFAULT_REPETITIONS[preset]
    suites = a.suites or list(SUITES)
    for s in suites:
        if not os.access(os.path.join(a.bin_dir, s), os.X_OK):
            die("no suite %r in %s (build it: bazel build -c opt //perf:%s)" % (s, a.bin_dir, s))
    extra = {}
    for item in a.suite_args:
        suite, _, args = item.partition("=")
        if suite not in suites:
            die("--suite-args %r: %r is not among the suites run (%s)" % (item, suite,
                                                                        " ".join(suites)))
        extra[suite] = shlex.split(args)
    commit = a.commit or git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if not a.commit else False
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    ctx = {"date": started, "helix_commit": commit, "helix_dirty": dirty}
    stem = os.path.join(a.results_dir, run_id_of(ctx))
    os.makedirs(stem, exist_ok=True)
    say("%s run, %d repetitions, suites: %s; logs in %s/" % (preset, reps, " ".join(suites),
                                                              stem))
    reports, failed = {}, []
    for i, suite in enumerate(suites, 1):
        binary = os.path.join(a.bin_dir, suite)
        out = os.path.join(stem, suite + ".json")
        args = preset_args(suite, preset) + ["--repetitions", str(reps), "--out", out] + \
            extra.get(suite, [])
        say("[%d/%d] %s %s" % (i, len(suites), suite,
                               " ".join(x for x in args if x not in ("--out", out))))
        status, seconds = run_suite(binary, args, os.path.join(stem, suite + ".log"))
        if status != 0 or not os.path.exists(out):
            failed.append(suite)
            say("  %s FAILED (exit %d after %.0f s); its log: %s" % (
                suite, status, seconds, os.path.join(stem, suite + ".log")))
            for l in tail(os.path.join(stem, suite + ".log"), 15):
                print("    " + l)
            if not os.path.exists(out):
                continue
        try:
            with open(out) as f:
                reports[suite] = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            failed.append(suite)
            say("  %s wrote no readable JSON (%s)" % (suite, e))
            continue
        say("  %s done in %.0f s" % (suite, seconds))
    if not reports:
        die("no suite produced a report", 1)
    doc = merge(reports, commit, dirty, preset, reps, started)
    if doc["context"].get("build_mode") != "opt":
        say("warning: a %s build, not -c opt: these figures are not comparable with ./helix "
            "perf's (the history keeps them apart)" % doc["context"].get("build_mode"))
    path = stem + ".json"
    with open(path, "w") as f:
        json.dump(clean(doc), f, indent=1, allow_nan=False)
        f.write("\n")
    print_table(doc)
    problems = check_doc(doc)
    for p in problems[:20]:
        say("shape: " + p)
    lines = append_history(a.history, doc)
    judged = [(l["name"], m, v["vs_previous"]) for l in lines if l["role"] == "subject"
              for m, v in l["metrics"].items() if "vs_previous" in v]
    regressions = [j for j in judged if j[2]["verdict"] == "regression"]
    say("results: %s" % path)
    say("history: %s (+%d lines); against the previous run of each benchmark: %d regressions, "
        "%d improvements of %d judged" % (
            a.history, len(lines), len(regressions),
            sum(1 for j in judged if j[2]["verdict"] == "improvement"), len(judged)))
    if a.profile:
        for suite in reports:
            binary = os.path.join(a.bin_dir, suite)
            args = preset_args(suite, preset) + ["--repetitions", "1", "--out",
                                           os.path.join(stem, suite + ".profiled.json")]
            say("profiling %s (one more repetition under perf record)" % suite)
            try:
                for p in profile_suite(binary, args, os.path.join(stem, suite)):
                    say("  " + p)
            except (RuntimeError, OSError) as e:
                failed.append(suite + " (profile)")
                say("  profile of %s failed: %s" % (suite, e))
    status = 1 if failed or problems else 0
    if a.compare:
        base = load_doc(a.compare)
        rows = compare_docs(base, doc, a.threshold, a.alpha)
        if print_comparison(rows, base["context"], doc["context"], a.threshold, a.alpha):
            status = 1
    if failed:
        say("failed: " + ", ".join(failed))
    return status


def tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def load_doc(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        die("cannot read %s: %s" % (path, e.strerror), 2)
    except json.JSONDecodeError as e:
        die("%s is not JSON: %s" % (path, e), 2)
    if not isinstance(doc, dict) or "benchmarks" not in doc or "context" not in doc:
        die("%s is not a benchmark result (no context and benchmarks)" % path, 2)
    # A single suite's file (bazel run //perf:<suite>) works too.
    suite = doc["context"].get("suite")
    for e in doc["benchmarks"]:
        e.setdefault("suite", suite)
    doc["context"].setdefault("suites", {suite: {}} if suite else {})
    return doc


def cmd_compare(a):
    base, new = load_doc(a.base), load_doc(a.new)
    rows = compare_docs(base, new, a.threshold, a.alpha)
    if not rows:
        die("%s and %s have no benchmark in common" % (a.base, a.new), 1)
    return 1 if print_comparison(rows, base["context"], new["context"], a.threshold,
                                 a.alpha) else 0


def cmd_versus(a):
    doc = load_doc(a.result)
    rows = [r for r in versus_rows(doc, a.a, a.b, a.metric)
            if not a.filter or any(f in r["config"] for f in a.filter.split(","))]
    if not rows:
        die("%s: no configuration that both %s and %s ran" % (a.result, a.a, a.b), 1)
    print("| configuration | %s | %s | %s / %s | p | runs |" % (a.a, a.b, a.a, a.b))
    print("|---|---|---|---|---|---|")
    for r in rows:
        p = "< 0.0001" if r["p"] < 0.0001 else "%.2g" % r["p"]
        print("| %s | %s | %s | %.2f | %s | %d / %d |" % (r["config"], fmt_ns(r["a"]),
                                                       fmt_ns(r["b"]), r["ratio"], p,
                                                       r["n_a"], r["n_b"]))
    return 0


def cmd_check(a):
    doc = load_doc(a.result)
    problems = check_doc(doc)
    for p in problems:
        print("%s: %s" % (a.result, p))
    n = len(benchmarks_of(doc))
    print("%s: %d benchmarks, %d entries, %s" % (a.result, n, len(doc["benchmarks"]),
                                                 "well-formed" if not problems
                                                 else "%d problems" % len(problems)))
    return 1 if problems else 0


def find_chromium():
    return next(filter(None, (shutil.which(n, path=os.environ.get("PATH", "") + ":/usr/bin")
                              for n in ("chromium", "chromium-browser", "google-chrome"))), None)


def render_check(page, screenshot=None, timeout=120):
    """Loads @page in headless Chromium and reads what the page's own check script recorded on
    <body>: (plots, rendered, failed ids). Raises RuntimeError when Chromium cannot run."""
    import tempfile

    chromium = find_chromium()
    if not chromium:
        raise RuntimeError("no chromium (Debian package chromium) on PATH")
    url = "file://" + os.path.abspath(page)
    with tempfile.TemporaryDirectory(prefix="perflab-chromium-") as profile:
        base = [chromium, "--headless", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + profile, "--virtual-time-budget=10000"]
        if os.geteuid() == 0:
            base.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        env = dict(os.environ, HOME=profile)
        try:
            dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True,
                                 timeout=timeout, env=env)
            if screenshot:
                subprocess.run(base + ["--hide-scrollbars", "--window-size=1400,2000",
                                       "--screenshot=" + os.path.abspath(screenshot), url],
                               capture_output=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise RuntimeError("chromium did not finish within %d s" % timeout)
    m = re.search(r'<body[^>]*\bdata-plots="(\d+)"[^>]*\bdata-plots-rendered="(\d+)"'
                  r'[^>]*\bdata-plots-failed="([^"]*)"', dom.stdout)
    if not m:
        raise RuntimeError("the page's check script left no result (chromium exit %d): %s" % (
            dom.returncode, dom.stderr.strip()[-300:]))
    return int(m.group(1)), int(m.group(2)), m.group(3).split()


def cmd_dashboard(a):
    import dashboard  # perf/tools/dashboard.py, next to this file

    lines = read_history(a.history)
    if not lines:
        die("%s holds no runs yet: ./helix perf first" % a.history, 1)
    page, plots = dashboard.render(lines, a.preset)
    with open(a.out, "w") as f:
        f.write(page)
    say("dashboard: %s (%d plots)" % (a.out, plots))
    if a.no_check:
        return 0
    try:
        found, rendered, failed = render_check(a.out, a.screenshot)
    except RuntimeError as e:
        say("render check: not done: %s" % e)
        return 1
    if found != plots or rendered != plots:
        say("render check FAILED: %d plots written, %d in the page, %d rendered; failed: %s" % (
            plots, found, rendered, " ".join(failed[:10]) or "-"))
        return 1
    say("render check: all %d plots rendered in headless Chromium%s" % (
        rendered, (", screenshot " + a.screenshot) if a.screenshot else ""))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="perflab", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="run suites, merge, tabulate, record history")
    r.add_argument("suites", nargs="*", metavar="SUITE")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    r.add_argument("--repetitions", type=positive_int)
    r.add_argument("--bin-dir", required=True)
    r.add_argument("--results-dir", default="perf/results")
    r.add_argument("--history", default="perf/results/history.jsonl")
    r.add_argument("--compare", metavar="BASE.json")
    r.add_argument("--threshold", type=fraction, default=THRESHOLD)
    r.add_argument("--alpha", type=fraction, default=ALPHA)
    r.add_argument("--profile", action="store_true")
    r.add_argument("--commit", help="record this commit id instead of asking git")
    r.add_argument("--suite-args", action="append", default=[], metavar="SUITE=ARGS")

    c = sub.add_parser("compare", help="judge NEW against BASE")
    c.add_argument("base")
    c.add_argument("new")
    c.add_argument("--threshold", type=fraction, default=THRESHOLD)
    c.add_argument("--alpha", type=fraction, default=ALPHA)

    d = sub.add_parser("dashboard", help="write the static HTML dashboard")
    d.add_argument("--history", default="perf/results/history.jsonl")
    d.add_argument("--out", default="perf/results/dashboard.html")
    d.add_argument("--preset", help="only runs of this preset (default: the latest run's)")
    d.add_argument("--screenshot", metavar="PNG", help="also save a screenshot of the page")
    d.add_argument("--no-check", action="store_true",
                   help="do not load the page in headless Chromium to check every plot")

    k = sub.add_parser("check", help="check a result file's shape")
    k.add_argument("result")

    v = sub.add_parser("versus", help="one implementation against another in the same runs")
    v.add_argument("result")
    v.add_argument("a", metavar="IMPL_A")
    v.add_argument("b", metavar="IMPL_B")
    v.add_argument("--metric", default="real_time", choices=METRICS)
    v.add_argument("--filter", help="only configurations containing one of these (S,T,...)")

    a = p.parse_args(argv)
    if a.cmd == "run" and a.compare and not os.path.exists(a.compare):
        die("--compare %s: no such file" % a.compare)
    return {"run": cmd_run, "compare": cmd_compare, "dashboard": cmd_dashboard,
            "check": cmd_check, "versus": cmd_versus}[a.cmd](a)


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError("wants a positive integer, not %r" % text)
    return v


def fraction(text):
    try:
        v = float(text)
    except ValueError:
        v = -1
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError("wants a number between 0 and 1, not %r" % text)
    return v


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
