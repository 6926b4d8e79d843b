#!/usr/bin/env python3
"""Unit tests of perflab.py and dashboard.py: the statistics against values worked out by hand,
the verdicts on planted regressions, merging suite reports in the shape the C suites write, the
history's judgement of each run against the previous one, the dashboard's plots and marks, and
the flame graph's folding. The real suites and Chromium are exercised by lab_e2e_test.sh."""

import io
import json
import math
import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dashboard  # noqa: E402
import perflab  # noqa: E402


def iteration(name, rep, reps, real_time, status="ok", family=0, **extra):
    e = {"name": name, "run_name": name, "family_index": family, "per_family_instance_index": 0,
         "run_type": "iteration", "repetitions": reps, "repetition_index": rep, "threads": 1,
         "iterations": 1000, "real_time": real_time, "cpu_time": real_time, "time_unit": "ns"}
    if status != "ok":
        e.update({"status": status, "error_occurred": True, "error_message": status})
    e.update(extra)
    return e


def suite_doc(suite, series, reps):
    """A report as bench_report.c writes it: {run_name: [real_time per repetition]}."""
    ctx = {"date": "2026-11-24T10:00:00+00:00", "host_name": "vm", "num_cpus": 2,
           "mhz_per_cpu": 2596, "cpu_scaling_enabled": False, "caches": [], "load_avg": [1, 1, 1],
           "library_build_type": "release", "suite": suite, "build_mode": "opt",
           "compiler": "gcc", "kernel": "Linux"}
    entries = []
    for family, (name, values) in enumerate(series.items()):
        for rep, v in enumerate(values):
            extra = {}
            if isinstance(v, tuple):
                v, extra = v
            if v is None:
                entries.append(iteration(name, rep, reps, 0, "stalled", family))
            else:
                entries.append(iteration(name, rep, reps, v, "ok", family, **extra))
    return {"context": ctx, "benchmarks": entries}


def samples(center, n=9, spread=0.02, seed=1):
    rng = random.Random(seed)
    return [center * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


class Statistics(unittest.TestCase):
    def test_median(self):
        self.assertEqual(perflab.median([3, 1, 2]), 2)
        self.assertEqual(perflab.median([4, 1, 3, 2]), 2.5)
        self.assertTrue(math.isnan(perflab.median([])))

    def test_median_ci_nine(self):
        # n = 9: k = 2, coverage 1 - 2 * P(Bin(9, 1/2) <= 1) = 1 - 2 * 10/512.
        lo, hi, cov = perflab.median_ci([9, 1, 8, 2, 7, 3, 6, 4, 5])
        self.assertEqual((lo, hi), (2, 8))
        self.assertAlmostEqual(cov, 1 - 20 / 512)

    def test_median_ci_too_few(self):
        # n = 3 cannot reach 95 %: the whole range, with the 75 % it has.
        lo, hi, cov = perflab.median_ci([5, 1, 3])
        self.assertEqual((lo, hi), (1, 5))
        self.assertAlmostEqual(cov, 0.75)

    def test_mann_whitney_exact(self):
        # Complete separation, 4 vs 4: U = 0, p = 2 / C(8, 4) = 2/70.
        u, p = perflab.mann_whitney([1, 2, 3, 4], [5, 6, 7, 8])
        self.assertEqual(u, 0)
        self.assertAlmostEqual(p, 2 / 70)
        # 5 vs 5 with U = 2: P(U <= 2) = (1 + 1 + 2) / 252, two-sided twice that.
        u, p = perflab.mann_whitney([1, 2, 3, 6, 5.5], [4, 7, 8, 9, 10])
        self.assertEqual(u, 2)
        self.assertAlmostEqual(p, 8 / 252)
        # Symmetric.
        self.assertAlmostEqual(perflab.mann_whitney([5, 6, 7, 8], [1, 2, 3, 4])[1], 2 / 70)

    def test_mann_whitney_ties_and_identical(self):
        self.assertEqual(perflab.mann_whitney([1, 1, 1], [1, 1, 1])[1], 1.0)
        u, p = perflab.mann_whitney([1, 1, 2, 2, 3, 3], [4, 4, 5, 5, 6, 6])
        self.assertEqual(u, 0)
        self.assertLess(p, 0.01)

    def test_smallest_p(self):
        self.assertAlmostEqual(perflab.smallest_p(3, 3), 0.1)
        self.assertLess(perflab.smallest_p(4, 4), 0.05)

    def test_judge(self):
        base = samples(100)
        self.assertEqual(perflab.judge(base, samples(120, seed=2))["verdict"], "regression")
        self.assertEqual(perflab.judge(base, samples(80, seed=3))["verdict"], "improvement")
        # Significant but below the 10 % threshold.
        self.assertEqual(perflab.judge(base, samples(105, seed=4, spread=0.005))["verdict"],
                         "same")
        # Large but three samples a side can never be significant.
        self.assertEqual(perflab.judge(base[:3], samples(150, n=3))["verdict"], "unclear")


class Reports(unittest.TestCase):
    def channel(self, helix=100.0, vyukov=90.0, reps=9):
        return suite_doc("channel_latency", {
            "channel_latency/helix/producers:1/capacity:1024/msg:8/consumer:spin":
                [(v, {"implementation": "helix", "p50_ns": v * 3}) for v in samples(helix, reps)],
            "channel_latency/vyukov/producers:1/capacity:1024/msg:8/consumer:spin":
                [(v, {"implementation": "vyukov", "p50_ns": v * 3})
                 for v in samples(vyukov, reps, seed=7)],
            "channel_latency/dpdk_mp/producers:8/capacity:1024/msg:8/consumer:spin":
                [None] * reps,
        }, reps)

    def router(self, reps=9):
        return suite_doc("router_call", {
            "router_call/helix/callers:1/payload:16": samples(300, reps),
            "router_call/pipe_pingpong/payload:16": samples(20000, reps),
        }, reps)

    def merged(self, helix=100.0, vyukov=90.0, commit="aaa", date="2026-11-24T10:00:00+00:00"):
        return perflab.clean(perflab.merge({"channel_latency": self.channel(helix, vyukov),
                                            "router_call": self.router()},
                                           commit, False, "default", 9, date))

    def test_versus(self):
        doc = suite_doc("channel_latency", {
            "channel_latency/helix/producers:8/capacity:64/msg:8/consumer:spin": samples(30, 12),
            "channel_latency/wfcqueue/producers:8/capacity:64/msg:8/consumer:spin":
                samples(45, 12, seed=3),
            # One stalled repetition is left out, not counted as a sample.
            "channel_latency/helix/producers:16/capacity:64/msg:8/consumer:spin":
                samples(50, 11) + [None],
            "channel_latency/wfcqueue/producers:16/capacity:64/msg:8/consumer:spin":
                samples(50, 12, seed=5),
            # No wfcqueue counterpart: not a row.
            "channel_latency/helix/producers:1/capacity:64/msg:8/consumer:spin": samples(10, 12),
            # Every repetition stalled: not a row either.
            "channel_latency/helix/producers:2/capacity:64/msg:8/consumer:spin": [None] * 12,
            "channel_latency/wfcqueue/producers:2/capacity:64/msg:8/consumer:spin":
                samples(40, 12),
        }, 12)
        rows = perflab.versus_rows(doc, "helix", "wfcqueue")
        self.assertEqual([r["config"] for r in rows],
                         ["producers:16/capacity:64/msg:8/consumer:spin",
                          "producers:8/capacity:64/msg:8/consumer:spin"])
        same, faster = rows
        self.assertEqual((same["n_a"], same["n_b"]), (11, 12))
        self.assertGreater(same["p"], 0.01)
        self.assertAlmostEqual(faster["ratio"], faster["a"] / faster["b"])
        self.assertAlmostEqual(faster["ratio"], 30 / 45, delta=0.03)
        self.assertLess(faster["p"], 0.0001)
        # Swapping the two swaps the ratio.
        back = perflab.versus_rows(doc, "wfcqueue", "helix")[1]
        self.assertAlmostEqual(back["ratio"], 1 / faster["ratio"])
        self.assertEqual(perflab.versus_rows(doc, "helix", "nosuch"), [])

    def test_merge_shape(self):
        doc = self.merged()
        self.assertEqual(perflab.check_doc(doc), [])
        names = {e["name"] for e in doc["benchmarks"]}
        for agg in ("mean", "median", "stddev", "cv"):
            self.assertIn("router_call/helix/callers:1/payload:16_" + agg, names)
        med = next(e for e in doc["benchmarks"]
                   if e["name"] == "router_call/helix/callers:1/payload:16_median")
        self.assertEqual(med["role"], "subject")
        self.assertLessEqual(med["real_time_ci"][0], med["real_time"])
        self.assertGreaterEqual(med["real_time_ci"][1], med["real_time"])
        # Families of the second suite follow the first suite's.
        fams = {e["suite"]: set() for e in doc["benchmarks"]}
        for e in doc["benchmarks"]:
            fams[e["suite"]].add(e["family_index"])
        self.assertFalse(fams["channel_latency"] & fams["router_call"])
        # A stalled configuration has no samples and is not an error of the document.
        bench = perflab.benchmarks_of(doc)
        stalled = bench["channel_latency/dpdk_mp/producers:8/capacity:1024/msg:8/consumer:spin"]
        self.assertEqual(stalled["statuses"], ["stalled"])
        self.assertNotIn("real_time", stalled["stats"])
        json.dumps(doc, allow_nan=False)

    def test_check_finds_problems(self):
        doc = self.merged()
        del doc["context"]["helix_commit"]
        doc["benchmarks"] = [e for e in doc["benchmarks"]
                             if e["name"] != "router_call/helix/callers:1/payload:16_cv"]
        problems = perflab.check_doc(doc)
        self.assertIn("context lacks 'helix_commit'", problems)
        self.assertIn("router_call/helix/callers:1/payload:16 lacks its _cv aggregate", problems)

    def test_classify(self):
        c = perflab.classify
        self.assertEqual(c("channel_latency", {"run_name": "channel_latency/vyukov/producers:2/x",
                                               "implementation": "vyukov"}),
                         ("peer", "producers:2/x", "vyukov"))
        self.assertEqual(c("router_call", {"run_name": "router_call/pipe_pingpong/payload:16"}),
                         ("peer", "callers:1/payload:16", "pipe_pingpong"))
        self.assertEqual(c("router_call", {"run_name": "router_call/helix/callers:1/payload:16"}),
                         ("subject", "callers:1/payload:16", "helix"))
        self.assertEqual(c("syscall_dispatch", {"run_name": "syscall_dispatch/bare_indirect_call"}),
                         ("peer", "*", "bare_indirect_call"))
        self.assertEqual(c("event_bus", {"run_name": "event_bus/fanout_sync/subscribers:4"}),
                         ("subject", "n:4", "helix"))
        self.assertEqual(c("event_bus", {"run_name": "event_bus/fanout_floor/calls:4"}),
                         ("peer", "n:4", "indirect calls"))

    def test_compare_planted_regression(self):
        base = self.merged()
        new = self.merged(helix=125.0)
        rows = perflab.compare_docs(base, new)
        verdicts = {(r["name"], r["metric"]): r["verdict"] for r in rows}
        name = "channel_latency/helix/producers:1/capacity:1024/msg:8/consumer:spin"
        self.assertEqual(verdicts[(name, "real_time")], "regression")
        self.assertEqual(verdicts[(name, "p50_ns")], "regression")
        self.assertEqual(verdicts[("router_call/helix/callers:1/payload:16", "real_time")], "same")
        out = io.StringIO()
        self.assertEqual(perflab.print_comparison(rows, base["context"], new["context"], 0.1,
                                                  0.05, out), 2)
        self.assertIn("helix: 2 regressions", out.getvalue())

    def test_peer_change_is_not_a_regression_of_helix(self):
        rows = perflab.compare_docs(self.merged(), self.merged(vyukov=150.0))
        out = io.StringIO()
        self.assertEqual(perflab.print_comparison(rows, {}, {}, 0.1, 0.05, out), 0)
        self.assertIn("peers: 2 regressions", out.getvalue())

    def test_compare_cli_exit_status(self):
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for i, helix in enumerate((100.0, 130.0)):
                paths.append(os.path.join(d, "%d.json" % i))
                with open(paths[-1], "w") as f:
                    json.dump(self.merged(helix=helix), f)
            with open(os.devnull, "w") as null:
                saved, sys.stdout = sys.stdout, null
                try:
                    self.assertEqual(perflab.main(["compare", paths[0], paths[0]]), 0)
                    self.assertEqual(perflab.main(["compare", paths[0], paths[1]]), 1)
                finally:
                    sys.stdout = saved
            with open(os.path.join(d, "bad.json"), "w") as f:
                f.write("{\"benchmarks\": [")
            with self.assertRaises(SystemExit) as e, open(os.devnull, "w") as null:
                saved, sys.stderr = sys.stderr, null
                try:
                    perflab.main(["compare", os.path.join(d, "bad.json"), paths[0]])
                finally:
                    sys.stderr = saved
            self.assertEqual(e.exception.code, 2)

    def test_history_and_dashboard(self):
        with tempfile.TemporaryDirectory() as d:
            hist = os.path.join(d, "history.jsonl")
            perflab.append_history(hist, self.merged(commit="aaa"))
            perflab.append_history(hist, self.merged(commit="bbb",
                                                     date="2026-11-24T11:00:00+00:00"))
            lines = perflab.append_history(hist, self.merged(
                helix=130.0, commit="ccc", date="2026-11-24T12:00:00+00:00"))
            by_name = {l["name"]: l for l in lines}
            helix = by_name["channel_latency/helix/producers:1/capacity:1024/msg:8/consumer:spin"]
            self.assertEqual(helix["metrics"]["real_time"]["vs_previous"]["verdict"],
                             "regression")
            self.assertTrue(helix["metrics"]["real_time"]["vs_previous"]["run"].endswith("bbb"))
            self.assertEqual(by_name["router_call/helix/callers:1/payload:16"]["metrics"]
                             ["real_time"]["vs_previous"]["verdict"], "same")
            history = perflab.read_history(hist)
            self.assertEqual(len({l["run"] for l in history}), 3)

            page, plots = dashboard.render(history)
            # One plot per helix benchmark (2) plus the channel's producers plots (p50 and
            # ns/msg, spinning consumer).
            self.assertEqual(plots, 4)
            self.assertEqual(page.count('<svg class="plot"'), plots)
            self.assertEqual(page.count('class="regression"'), 2 + 1)  # 2 marks + table row
            self.assertIn("vyukov", page)       # the peer's reference line's legend
            self.assertIn("pipe_pingpong", page)
            self.assertNotIn("http://", page.replace("http://www.w3.org/2000/svg", ""))
            self.assertNotIn("https://", page)
            self.assertNotIn("<script src", page)

            with open(hist, "a") as f:
                f.write("{not json\n")
            with self.assertRaises(SystemExit), open(os.devnull, "w") as null:
                saved, sys.stderr = sys.stderr, null
                try:
                    perflab.read_history(hist)
                finally:
                    sys.stderr = saved


class Profiles(unittest.TestCase):
    SCRIPT = ("bench 101 [000] 1.0: cpu-clock:\n"
              "\t    4011 hx_chan_send+0x12\n\t    4022 producer_main+0x40\n\t    4033 start_thread\n"
              "\n"
              "bench 101 [000] 1.1: cpu-clock:\n"
              "\t    4011 hx_chan_send+0x18\n\t    4022 producer_main+0x40\n\t    4033 start_thread\n"
              "\n"
              "bench 102 [001] 1.2: cpu-clock:\n"
              "\t    5011 hx_chan_recv+0x2\n\t    5022 consumer_main+0x10\n\t    4033 start_thread\n")

    def test_fold_and_draw(self):
        folded = perflab.fold_stacks(self.SCRIPT)
        self.assertEqual(folded, {"bench;start_thread;producer_main;hx_chan_send": 2,
                                  "bench;start_thread;consumer_main;hx_chan_recv": 1})
        svg = perflab.flame_svg(folded, "bench")
        self.assertIn("3 samples", svg)
        self.assertIn("hx_chan_send (2 samples, 66.7%)", svg)
        self.assertEqual(svg.count("<rect"), 6)  # bench, start_thread, 2 x 2 frames


if __name__ == "__main__":
    unittest.main()
