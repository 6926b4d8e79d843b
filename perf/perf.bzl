"""hx_perf_suite: a benchmark and the smoke test of its output (perf/README.md)."""

load("//bazel:copts.bzl", "HELIX_COPTS")

# Hosted Linux only: glibc extensions (pthread_setaffinity_np, sched_getcpu, pthread_timedjoin_np),
# and the build mode recorded in the results.
PERF_COPTS = HELIX_COPTS + [
    "-D_GNU_SOURCE",
    "-DPERF_COMPILATION_MODE_$(COMPILATION_MODE)",
]

LINUX_ONLY = ["@platforms//os:linux"]

def hx_perf_suite(name, srcs, deps = [], linkopts = [], smoke_size = "small", smoke_tags = []):
    """`bazel run -c opt //perf:<name>` and `<name>_smoke_test`.

    The benchmark is testonly and tagged "benchmark"; it links the report helpers and the hosted
    platform. The smoke test runs `<name>_smoke_test.sh <binary>`, which runs a --quick pass and
    checks the JSON is complete and well-formed, never the timing.
    """
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        copts = PERF_COPTS,
        linkopts = linkopts,
        tags = ["benchmark"],
        target_compatible_with = LINUX_ONLY,
        # perf/tools runs every suite in its end-to-end test of the lab.
        visibility = ["//perf/tools:__pkg__"],
        deps = [
            ":bench_report",
            "//kernel/hosted:platform",
            "//kernel/lib:base",
        ] + deps,
    )
    native.sh_test(
        name = name + "_smoke_test",
        size = smoke_size,
        srcs = [name + "_smoke_test.sh"],
        args = ["$(location :%s)" % name],
        data = [":" + name],
        tags = smoke_tags,
        target_compatible_with = LINUX_ONLY,
    )
