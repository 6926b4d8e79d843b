#!/usr/bin/env python3
"""Fuzzing campaigns for helix-core's fuzz targets (docs/fuzzing.md): the engine-specific part of
`./helix fuzz`, of the fuzz targets' `_smoke` tests and of their `_run` targets. Standard library
only.

  campaign.py run --engine libfuzzer|afl --binary BIN --target NAME [--dict FILE] [--jobs N]
                  [--time S] [--workdir DIR] [--crash-dir DIR] SEED...
      a campaign with live progress; on exit: execs/s, edge coverage, corpus size, crashes.
      Exit status 0 when nothing crashed, 1 when something did (the reproducers are listed),
      2 when the campaign could not run.
  campaign.py minimize --binary BIN --workdir DIR SEED...        (a libFuzzer build)
  campaign.py reproduce --binary BIN FILE                        (decoded input + stack trace)
  campaign.py coverage --binary BIN --workdir DIR --report DIR SEED...   (a --config=fuzzcov build)
  campaign.py regress --target NAME --regressions DIR FILE [--name NAME]

The working directory of a target (default fuzz/out/<target>/<engine>) keeps its corpus between
campaigns: a second campaign starts where the first stopped.
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

# Status lines at most this often (seconds).
PROGRESS_EVERY = 10

# AFL++ secondary instances take these settings in turn (power schedules, MOpt, the deterministic
# stage on the main only): varied instances find more together than identical ones.
AFL_SECONDARY_SETTINGS = [
    ["-p", "explore"],
    ["-p", "coe", "-L", "0"],
    ["-p", "rare"],
    ["-p", "fast", "-Z"],
    ["-p", "exploit"],
    ["-p", "seek", "-L", "0"],
]

AFL_ENV = {
    "AFL_NO_UI": "1",
    "AFL_SKIP_CPUFREQ": "1",
    "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1",
    # More instances than cores is allowed (and part of the scenario on 2-core machines).
    "AFL_NO_AFFINITY": "1",
    "AFL_AUTORESUME": "1",
    "AFL_FAST_CAL": "1",
    # An ASan build: abort on the first report, keep the shadow memory (no memory limit).
    "ASAN_OPTIONS": "abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1",
    "UBSAN_OPTIONS": "halt_on_error=1:abort_on_error=1:print_stacktrace=1",
}

CRASH_PATTERNS = ("crash-*", "leak-*", "timeout-*", "oom-*", "slow-unit-*")


def say(msg):
    print("campaign: " + msg, flush=True)


def die(msg, status=2):
    print("campaign: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(status)


def human(n):
    for unit in ("", "k", "M", "G"):
        if abs(n) < 1000:
            return ("%d%s" % (n, unit)) if unit == "" else ("%.1f%s" % (n, unit))
        n /= 1000.0
    return "%.1fT" % n


def stage_seeds(seeds, into):
    """Copies the seed files (and the files inside seed directories) into @into, named by
    content, and returns how many there are."""
    os.makedirs(into, exist_ok=True)
    count = 0
    for seed in seeds:
        paths = [seed]
        if os.path.isdir(seed):
            paths = sorted(os.path.join(seed, f) for f in os.listdir(seed))
        for path in paths:
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            name = hashlib.sha1(data).hexdigest()
            dest = os.path.join(into, name)
            if not os.path.exists(dest):
                with open(dest, "wb") as f:
                    f.write(data)
            count += 1
    return count


def dir_stats(path):
    files = [os.path.join(path, f) for f in os.listdir(path)] if os.path.isdir(path) else []
    files = [f for f in files if os.path.isfile(f)]
    return len(files), sum(os.path.getsize(f) for f in files)


def copy_binary(binary, workdir):
    """Runs a private copy: a rebuild during the campaign must not change the program under it."""
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        die("%s is not an executable (build the fuzz target first)" % binary)
    dest = os.path.join(workdir, os.path.basename(binary))
    if os.path.abspath(dest) != os.path.abspath(binary):
        shutil.copy2(binary, dest + ".tmp")
        os.replace(dest + ".tmp", dest)
    return dest


def collect_crashes(paths, crash_dir):
    """Copies every crash file found into @crash_dir (named by content); returns their paths."""
    found = []
    os.makedirs(crash_dir, exist_ok=True)
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        # libFuzzer names its artifacts by kind (crash-, leak-, timeout-, oom-, slow-unit-);
        # AFL++ keeps crashes and hangs in directories of those names.
        base = os.path.basename(path)
        kind = "crash"
        for prefix in ("leak", "timeout", "oom", "slow-unit"):
            if base.startswith(prefix):
                kind = prefix
        if os.path.basename(os.path.dirname(path)) == "hangs":
            kind = "hang"
        dest = os.path.join(crash_dir, "%s-%s" % (kind, hashlib.sha1(data).hexdigest()[:16]))
        if not os.path.exists(dest):
            with open(dest, "wb") as f:
                f.write(data)
        if dest not in found:
            found.append(dest)
    return found


# ---- libFuzzer -----------------------------------------------------------------------------------

STATUS_RE = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)"
                       r"(?:.*?exec/s: (\d+))?")


def libfuzzer_last_status(text):
    last = None
    for line in text.splitlines():
        m = STATUS_RE.match(line)
        if m:
            last = m
    return last


def libfuzzer_coverage(binary, corpus, env):
    """Edge coverage and features of a whole corpus: a run that only loads it (-runs=0)."""
    out = subprocess.run([binary, "-runs=0", "-rss_limit_mb=4096", corpus], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace")
    cov = ft = None
    for line in out.stdout.splitlines():
        m = STATUS_RE.match(line)
        if m and m.group(2) in ("INITED", "DONE"):
            cov, ft = int(m.group(3)), int(m.group(4))
    return cov, ft


def run_libfuzzer(args, binary, workdir, seeds_dir, env):
    corpus = os.path.join(workdir, "corpus")
    artifacts = os.path.join(workdir, "artifacts")
    logs = os.path.join(workdir, "logs")
    for d in (corpus, artifacts, logs):
        os.makedirs(d, exist_ok=True)
    cmd = [binary, "-max_total_time=%d" % args.time, "-timeout=10", "-rss_limit_mb=2560",
           "-print_final_stats=1", "-artifact_prefix=%s/" % artifacts, "-reload=1"]
    if args.dict:
        cmd.append("-dict=%s" % os.path.abspath(args.dict))
    if args.jobs > 1:
        cmd += ["-jobs=%d" % args.jobs, "-workers=%d" % args.jobs]
    cmd += [corpus, seeds_dir]
    say("running: " + " ".join(cmd))
    start = time.time()
    interrupted = False
    # With -jobs, libFuzzer's jobs write fuzz-<job>.log in the working directory and the parent
    # only reports on them; alone, the fuzzer's own output is the log.
    log_path = os.path.join(logs, "libfuzzer.log")
    job_logs = os.path.join(logs, "fuzz-*.log") if args.jobs > 1 else log_path
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=logs, env=env, stdout=log, stderr=subprocess.STDOUT)
        last_print = 0.0
        try:
            while proc.poll() is None:
                time.sleep(1)
                now = time.time()
                if now - last_print >= PROGRESS_EVERY:
                    last_print = now
                    libfuzzer_progress(job_logs, now - start, artifacts)
        except KeyboardInterrupt:
            say("interrupted: stopping the fuzzers")
            interrupted = True
            proc.send_signal(signal.SIGINT)
            proc.wait()
    elapsed = time.time() - start
    execs = peak = 0
    for path in sorted(glob.glob(job_logs)):
        with open(path, errors="replace") as f:
            text = f.read()
        st = libfuzzer_last_status(text)
        peak = max(peak, int(st.group(3)) if st else 0)
        m = re.findall(r"stat::number_of_executed_units: (\d+)", text)
        if m:
            execs += int(m[-1])
        else:
            execs += int(st.group(1)) if st else 0
    crashes = []
    for pattern in CRASH_PATTERNS:
        crashes += glob.glob(os.path.join(artifacts, pattern))
    cov, ft = libfuzzer_coverage(binary, corpus, env)
    return {
        "execs": execs,
        "elapsed": elapsed,
        # The final corpus replayed alone can reach a little less than the campaign saw at its
        # peak: some edges depend on timing (threads, deadlines) rather than on the input.
        "coverage": "%s edges (libFuzzer cov) and %s features on the final corpus; peak %d "
                    "during the campaign" % (cov, ft, peak),
        "corpus": corpus,
        "crashes": crashes,
        "log": job_logs,
        # libFuzzer exits 72 after ^C: the campaign was cut short, not broken.
        "status": 0 if interrupted else proc.returncode,
    }


def libfuzzer_progress(job_logs, elapsed, artifacts):
    execs = cov = corp = 0
    for path in glob.glob(job_logs):
        with open(path, errors="replace") as f:
            st = libfuzzer_last_status(f.read())
        if st:
            execs += int(st.group(1))
            cov = max(cov, int(st.group(3)))
            corp = max(corp, int(st.group(5)))
    crashes = sum(len(glob.glob(os.path.join(artifacts, p))) for p in CRASH_PATTERNS)
    say("[%4ds] execs %s (%s/s)  cov %d  corpus %d  crashes %d"
        % (elapsed, human(execs), human(execs / max(elapsed, 1)), cov, corp, crashes))


# ---- AFL++ ---------------------------------------------------------------------------------------

def afl_stats(path):
    stats = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                stats[key.strip()] = value.strip()
    except OSError:
        pass
    return stats


def afl_instances(sync):
    return sorted(d for d in glob.glob(os.path.join(sync, "*")) if os.path.isdir(d))


def afl_plot_last(path):
    """The last line of an instance's plot_data (written every 5 s; fuzzer_stats only every
    minute): total_execs, corpus_count, saved_crashes, edges_found, or None."""
    try:
        with open(path) as f:
            rows = [line for line in f if line.strip() and not line.startswith("#")]
    except OSError:
        return None
    if not rows:
        return None
    cols = [c.strip() for c in rows[-1].split(",")]
    try:
        return int(cols[11]), int(cols[3]), int(cols[7]), int(cols[12])
    except (IndexError, ValueError):
        return None


def afl_summary(sync):
    execs = crashes = corpus = edges = total = 0
    for inst in afl_instances(sync):
        st = afl_stats(os.path.join(inst, "fuzzer_stats"))
        i_execs = int(st.get("execs_done", 0))
        i_crashes = int(st.get("saved_crashes", st.get("unique_crashes", 0)))
        i_corpus = int(st.get("corpus_count", 0))
        i_edges = int(st.get("edges_found", 0))
        plot = afl_plot_last(os.path.join(inst, "plot_data"))
        if plot and plot[0] > i_execs:
            i_execs, i_corpus, i_crashes, i_edges = plot
        execs += i_execs
        crashes += i_crashes
        corpus = max(corpus, i_corpus)
        edges = max(edges, i_edges)
        total = max(total, int(st.get("total_edges", 0)))
    return execs, crashes, corpus, edges, total


def run_afl(args, binary, workdir, seeds_dir, env):
    if not shutil.which("afl-fuzz"):
        die("afl-fuzz is not installed (the afl++ package; ./helix installs it)")
    sync = os.path.join(workdir, "sync")
    logs = os.path.join(workdir, "logs")
    os.makedirs(sync, exist_ok=True)
    os.makedirs(logs, exist_ok=True)
    env = dict(env)
    env.update(AFL_ENV)
    procs = []
    interrupted = False
    # AFL_AUTORESUME continues a previous campaign's counters: report this campaign's share.
    baseline = afl_summary(sync)[0]
    start = time.time()
    for i in range(args.jobs):
        name = "main" if i == 0 else "s%d" % i
        cmd = ["afl-fuzz", "-i", seeds_dir, "-o", sync, "-V", str(args.time), "-m", "none",
               "-t", "2000+"]
        if args.dict:
            cmd += ["-x", os.path.abspath(args.dict)]
        if i == 0:
            cmd += ["-M", name]
        else:
            cmd += ["-S", name] + AFL_SECONDARY_SETTINGS[(i - 1) % len(AFL_SECONDARY_SETTINGS)]
        cmd += ["--", binary]
        say("running: " + " ".join(cmd))
        log = open(os.path.join(logs, name + ".log"), "w")
        procs.append((subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL), log, name))
    last_print = 0.0
    try:
        while any(p.poll() is None for p, _, _ in procs):
            time.sleep(1)
            now = time.time()
            if now - last_print >= PROGRESS_EVERY:
                last_print = now
                execs, crashes, corpus, edges, total = afl_summary(sync)
                execs = max(execs - baseline, 0)
                el = now - start
                say("[%4ds] execs %s (%s/s)  edges %d/%d  corpus %d  crashes %d  (%d running)"
                    % (el, human(execs), human(execs / max(el, 1)), edges, total, corpus,
                       crashes, sum(p.poll() is None for p, _, _ in procs)))
    except KeyboardInterrupt:
        say("interrupted: stopping the fuzzers")
        interrupted = True
        for p, _, _ in procs:
            p.send_signal(signal.SIGINT)
        for p, _, _ in procs:
            p.wait()
    elapsed = time.time() - start
    status = 0
    for p, log, name in procs:
        log.close()
        if p.returncode not in (0, None) and not interrupted:
            status = p.returncode
            with open(os.path.join(logs, name + ".log"), errors="replace") as f:
                tail = f.read()[-3000:]
            say("afl-fuzz %s exited %d; the end of its log:\n%s" % (name, p.returncode, tail))
    execs, _, corpus, edges, total = afl_summary(sync)
    execs = max(execs - baseline, 0)
    crashes = []
    for inst in afl_instances(sync):
        crashes += [c for c in glob.glob(os.path.join(inst, "crashes", "id:*"))]
        crashes += [c for c in glob.glob(os.path.join(inst, "hangs", "id:*"))]
    main_queue = os.path.join(sync, "main", "queue")
    return {
        "execs": execs,
        "elapsed": elapsed,
        "coverage": "%d of %d edges (AFL++ map, %.2f%%)"
                    % (edges, total, 100.0 * edges / total if total else 0.0),
        "corpus": main_queue,
        "crashes": crashes,
        "log": os.path.join(logs, "*.log"),
        "status": status,
    }


# ---- commands ------------------------------------------------------------------------------------

def cmd_run(args):
    if args.engine == "none":
        die("this build has no fuzzing engine: build with --config=libfuzzer or --config=afl")
    if args.jobs < 1 or args.time < 1:
        die("--jobs and --time must be at least 1")
    # Under `bazel run` the working directory is the runfiles tree: work in the workspace.
    root = os.environ.get("BUILD_WORKSPACE_DIRECTORY", ".")
    workdir = os.path.abspath(args.workdir or os.path.join(root, "fuzz", "out", args.target,
                                                           args.engine))
    os.makedirs(workdir, exist_ok=True)
    binary = copy_binary(args.binary, workdir)
    seeds_dir = os.path.join(workdir, "seeds")
    nseeds = stage_seeds(args.seeds, seeds_dir)
    if nseeds == 0:
        die("no seed inputs in %s" % " ".join(args.seeds))
    env = dict(os.environ)
    env.pop("HX_FUZZ_TRACE", None)
    say("%s on %s: %d job(s), %d s, %d seeds, work in %s"
        % (args.engine, args.target, args.jobs, args.time, nseeds, workdir))
    if args.engine == "libfuzzer":
        result = run_libfuzzer(args, binary, workdir, seeds_dir, env)
    else:
        result = run_afl(args, binary, workdir, seeds_dir, env)
    if result["status"] not in (0, None) and not result["crashes"]:
        # libFuzzer exits non-zero on a finding (a reproducer) or when it could not start.
        for path in sorted(glob.glob(result["log"])):
            with open(path, errors="replace") as f:
                print("---- the end of %s" % path)
                print(f.read()[-3000:])
        die("the engine exited %d without leaving a reproducer" % result["status"])
    crash_dir = os.path.abspath(args.crash_dir or os.path.join(workdir, "crashes"))
    crashes = collect_crashes(result["crashes"], crash_dir) if result["crashes"] else []
    n, size = dir_stats(result["corpus"])
    print()
    print("%s campaign on %s (%d job%s, %d s)"
          % (args.engine, args.target, args.jobs, "" if args.jobs == 1 else "s",
             round(result["elapsed"])))
    print("  execs      %d (%d/s)" % (result["execs"],
                                     result["execs"] / max(result["elapsed"], 1e-9)))
    print("  coverage   %s" % result["coverage"])
    print("  corpus     %d inputs, %d bytes (%s)" % (n, size, result["corpus"]))
    print("  crashes    %d" % len(crashes))
    print("  logs       %s" % result["log"])
    for c in crashes:
        print("  reproducer %s" % c)
    if crashes:
        print("\nReproduce: ./helix fuzz %s --reproduce FILE; keep it as a regression test: "
              "./helix fuzz %s --add-regression FILE" % (args.target, args.target))
        return 1
    if result["execs"] == 0:
        die("the campaign ran no input (see %s)" % result["log"])
    return 0


def cmd_minimize(args):
    workdir = os.path.abspath(args.workdir)
    binary = copy_binary(args.binary, workdir)
    corpus = os.path.join(workdir, "corpus")
    os.makedirs(corpus, exist_ok=True)
    before = dir_stats(corpus)
    seeds_dir = os.path.join(workdir, "seeds")
    stage_seeds(args.seeds, seeds_dir)
    merged = corpus + ".min"
    shutil.rmtree(merged, ignore_errors=True)
    os.makedirs(merged)
    cmd = [binary, "-merge=1", "-rss_limit_mb=4096", merged, corpus, seeds_dir]
    say("running: " + " ".join(cmd))
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace")
    if out.returncode != 0:
        print(out.stdout[-4000:])
        die("the merge failed (exit %d)" % out.returncode)
    shutil.rmtree(corpus)
    os.replace(merged, corpus)
    after = dir_stats(corpus)
    print("minimized %s: %d inputs (%d bytes) -> %d inputs (%d bytes), the same coverage"
          % (corpus, before[0], before[1], after[0], after[1]))
    return 0


def cmd_reproduce(args):
    if not os.path.isfile(args.file):
        die("%s: no such file" % args.file)
    env = dict(os.environ)
    env["HX_FUZZ_TRACE"] = "1"
    env.setdefault("ASAN_OPTIONS", "symbolize=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    say("replaying %s (%d bytes) with the decoded input (HX_FUZZ_TRACE=1)"
        % (args.file, os.path.getsize(args.file)))
    status = subprocess.call([args.binary, os.path.abspath(args.file)], env=env)
    print()
    if status == 0:
        say("%s ran cleanly: no finding reproduced" % args.file)
    else:
        say("%s reproduced a finding (exit %d)" % (args.file, status))
    return 0 if status == 0 else 1


def cmd_regress(args):
    if not os.path.isfile(args.file):
        die("%s: no such file" % args.file)
    with open(args.file, "rb") as f:
        data = f.read()
    name = args.name or "%s-%s" % (re.sub(r"[^a-z]+", "", os.path.basename(args.file)
                                          .split("-")[0].lower()) or "crash",
                                   hashlib.sha1(data).hexdigest()[:16])
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        die("--name %r: use letters, digits, '.', '_' and '-'" % name)
    os.makedirs(args.regressions, exist_ok=True)
    dest = os.path.join(args.regressions, name)
    if os.path.exists(dest):
        die("%s exists already" % dest)
    for other in os.listdir(args.regressions):
        with open(os.path.join(args.regressions, other), "rb") as f:
            if f.read() == data:
                die("%s is already a regression input: %s/%s" % (args.file, args.regressions,
                                                                 other))
    with open(dest, "wb") as f:
        f.write(data)
    print("added %s: //fuzz:%s_fuzzer replays it in every build from now on "
          "(commit it with the fix)" % (dest, args.target))
    return 0


def cmd_coverage(args):
    for tool in ("llvm-profdata", "llvm-cov"):
        if not shutil.which(tool):
            die("%s is not installed (the llvm package; ./helix installs it)" % tool)
    workdir = os.path.abspath(args.workdir)
    profiles = os.path.join(workdir, "profiles")
    shutil.rmtree(profiles, ignore_errors=True)
    os.makedirs(profiles)
    env = dict(os.environ)
    env["LLVM_PROFILE_FILE"] = os.path.join(profiles, "%p.profraw")
    env.pop("HX_FUZZ_TRACE", None)
    inputs = [s for s in args.seeds if os.path.exists(s)]
    if not inputs:
        die("no corpus to measure: run a campaign first or give seed directories")
    say("replaying %s" % " ".join(inputs))
    status = subprocess.call([args.binary] + inputs, env=env)
    if status != 0:
        die("the replay failed (exit %d): an input in the corpus crashes" % status)
    merged = os.path.join(workdir, "coverage.profdata")
    subprocess.check_call(["llvm-profdata", "merge", "-sparse", "-o", merged]
                          + glob.glob(os.path.join(profiles, "*.profraw")))
    ignore = ["-ignore-filename-regex=(^/usr/|external/|fuzz/engine/|_fuzzer\\.c$)"]
    report = subprocess.run(["llvm-cov", "report", args.binary, "-instr-profile=" + merged]
                            + ignore, stdout=subprocess.PIPE, text=True)
    print(report.stdout)
    shutil.rmtree(args.report, ignore_errors=True)
    subprocess.check_call(["llvm-cov", "show", args.binary, "-instr-profile=" + merged,
                           "-format=html", "-output-dir=" + args.report,
                           "-show-line-counts-or-regions"] + ignore)
    print("line-by-line report: %s/index.html" % args.report)
    return 0


def stop_on_sigterm(signum, frame):
    # A campaign stopped by its supervisor (a CI timeout, kill) ends like one stopped with ^C:
    # the engines stop, the summary and the reproducers still come out.
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="a fuzzing campaign")
    r.add_argument("--engine", choices=["libfuzzer", "afl", "none"], required=True)
    r.add_argument("--binary", required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--dict")
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--time", type=int, default=600, help="seconds (default 600)")
    r.add_argument("--workdir")
    r.add_argument("--crash-dir")
    r.add_argument("seeds", nargs="*")

    m = sub.add_parser("minimize", help="minimize the campaign corpus (libFuzzer -merge=1)")
    m.add_argument("--binary", required=True)
    m.add_argument("--workdir", required=True)
    m.add_argument("seeds", nargs="*")

    x = sub.add_parser("reproduce", help="run one input with its decoding and a stack trace")
    x.add_argument("--binary", required=True)
    x.add_argument("file")

    g = sub.add_parser("regress", help="keep an input as a regression test")
    g.add_argument("--target", required=True)
    g.add_argument("--regressions", required=True)
    g.add_argument("--name")
    g.add_argument("file")

    c = sub.add_parser("coverage", help="llvm-cov report of what a corpus reaches")
    c.add_argument("--binary", required=True)
    c.add_argument("--workdir", required=True)
    c.add_argument("--report", required=True)
    c.add_argument("seeds", nargs="*")

    args = p.parse_args()
    return {"run": cmd_run, "minimize": cmd_minimize, "reproduce": cmd_reproduce,
            "regress": cmd_regress, "coverage": cmd_coverage}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
