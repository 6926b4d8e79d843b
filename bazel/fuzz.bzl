"""hx_cc_fuzz_test: one harness, every engine (docs/fuzzing.md).

rules_fuzzing's target names without rules_fuzzing (it cannot work offline here, TOOLCHAIN.md):

  <name>_lib     the harness (LLVMFuzzerTestOneInput) and what it links
  <name>_bin     the fuzzer: libFuzzer with --config=libfuzzer, AFL++'s driver with --config=afl,
                 else the replay driver (fuzz/engine/replay_main.c)
  <name>         a test replaying the seed corpus and the regression files in every build, the
                 sanitizer configs included
  <name>_smoke   a short campaign (manual: ./helix test runs it under both engines; libFuzzer 60 s,
                 AFL++ 30 s); a crash fails it and names the reproducer
  <name>_run     `bazel run --config=libfuzzer //fuzz:<name>_run -- [campaign options]`

<name> follows OSS-Fuzz (`router_decoder_fuzzer`); the seed corpus is fuzz/corpus/<target>/,
the regressions fuzz/regressions/<target>/ and the dictionary fuzz/dict/<target>.dict, where <target> is
<name> without `_fuzzer` (the name ./helix fuzz takes).
"""

load("//bazel:copts.bzl", "HELIX_COPTS")

def hx_cc_fuzz_test(name, srcs, deps = [], copts = [], data = [], **kwargs):
    if not name.endswith("_fuzzer"):
        fail("a fuzz target's name ends with _fuzzer (OSS-Fuzz's convention): " + name)
    target = name[:-len("_fuzzer")]
    corpus = native.glob(["corpus/%s/**" % target], allow_empty = True)
    regressions = native.glob(["regressions/%s/**" % target], allow_empty = True)
    if not corpus:
        fail("%s: fuzz/corpus/%s/ holds no seed: a fuzzer starts from seeds" % (name, target))
    dictionary = "dict/%s.dict" % target

    native.cc_library(
        name = name + "_lib",
        srcs = srcs,
        copts = HELIX_COPTS + ["-D_GNU_SOURCE"] + copts,
        target_compatible_with = ["@platforms//os:linux"],
        deps = deps + ["//fuzz/engine:harness"],
        alwayslink = True,
    )

    native.cc_binary(
        name = name + "_bin",
        deps = [":" + name + "_lib"] + select({
            "//fuzz/engine:libfuzzer": [],
            "//fuzz/engine:afl": [],
            "//conditions:default": ["//fuzz/engine:replay"],
        }),
        linkopts = select({
            "//fuzz/engine:libfuzzer": ["-fsanitize=fuzzer"],
            "//fuzz/engine:afl": ["/usr/lib/afl/libAFLDriver.a", "-lstdc++"],
            "//conditions:default": [],
        }),
        target_compatible_with = ["@platforms//os:linux"],
    )

    native.filegroup(name = name + "_seed_corpus", srcs = corpus)
    native.filegroup(name = name + "_regressions", srcs = regressions)

    native.sh_test(
        name = name,
        size = "small",
        srcs = ["//fuzz/engine:replay_test.sh"],
        args = ["$(location :%s_bin)" % name] + ["$(locations :%s_seed_corpus)" % name] +
               (["$(locations :%s_regressions)" % name] if regressions else []),
        data = [":" + name + "_bin", ":" + name + "_seed_corpus", ":" + name + "_regressions"] + data,
        target_compatible_with = ["@platforms//os:linux"],
        **kwargs
    )

    engine_args = select({
        "//fuzz/engine:libfuzzer": ["--engine=libfuzzer", "--time=60"],
        "//fuzz/engine:afl": ["--engine=afl", "--time=30"],
        "//conditions:default": ["--engine=none"],
    })
    campaign_args = [
        "--binary=$(location :%s_bin)" % name,
        "--target=" + target,
        "--dict=$(location %s)" % dictionary,
    ]
    # The smoke test and the _run target run the same campaign command; the user's options
    # (after `bazel run ... --`) come last, and the later of two equal options wins.
    campaign_cmd = ["$(location //fuzz/tools:campaign.py)", "run"] + engine_args + campaign_args + \
                   ["$(locations :%s_seed_corpus)" % name]
    campaign_data = [
        ":" + name + "_bin",
        ":" + name + "_seed_corpus",
        dictionary,
        "//fuzz/tools:campaign.py",
    ]
    native.sh_test(
        name = name + "_smoke",
        size = "medium",
        srcs = ["//fuzz/tools:smoke_test.sh"],
        args = campaign_cmd,
        data = campaign_data,
        # Never cached: a campaign explores anew on every run. Manual: //... leaves it out.
        tags = ["manual", "external", "fuzz_smoke"],
        target_compatible_with = ["@platforms//os:linux"],
    )

    native.sh_binary(
        name = name + "_run",
        srcs = ["//fuzz/tools:run.sh"],
        args = campaign_cmd,
        data = campaign_data,
        target_compatible_with = ["@platforms//os:linux"],
    )
