"""The freestanding x86_64 C toolchains (//bazel/toolchains): the host's gcc, no libc."""

load("@bazel_tools//tools/cpp:unix_cc_toolchain_config.bzl", "cc_toolchain_config")

def freestanding_toolchain(name, privilege, compile_flags, dbg_compile_flags, opt_compile_flags, link_flags):
    """<name>_config, <name>_cc_toolchain and <name>_toolchain: the host's gcc with these flags,
    resolved for os:none x86_64 platforms carrying the constraint value `privilege`."""
    cc_toolchain_config(
        name = name + "_config",
        abi_libc_version = "none",
        abi_version = "none",
        compile_flags = compile_flags,
        compiler = "gcc",
        cpu = "x86_64",
        # Only the compiler's own freestanding headers (stdint.h, stddef.h, stdarg.h, stdatomic.h,
        # ...). A source that includes a libc header fails Bazel's include check at compile time.
        cxx_builtin_include_directories = ["/usr/lib/gcc/x86_64-linux-gnu"],
        dbg_compile_flags = dbg_compile_flags,
        host_system_name = "x86_64-linux-gnu",
        link_flags = link_flags,
        opt_compile_flags = opt_compile_flags,
        supports_start_end_lib = False,
        target_libc = "none",
        target_system_name = "x86_64-helix-none",
        tool_paths = {
            "ar": "/usr/bin/ar",
            "cpp": "/usr/bin/cpp",
            "gcc": "/usr/bin/gcc",
            "gcov": "/usr/bin/gcov",
            "ld": "/usr/bin/ld",
            "llvm-cov": "/bin/false",
            "nm": "/usr/bin/nm",
            "objcopy": "/usr/bin/objcopy",
            "objdump": "/usr/bin/objdump",
            "strip": "/usr/bin/strip",
        },
        toolchain_identifier = "helix-" + name,
    )

    native.cc_toolchain(
        name = name + "_cc_toolchain",
        all_files = ":empty",
        compiler_files = ":empty",
        dwp_files = ":empty",
        linker_files = ":empty",
        objcopy_files = ":empty",
        strip_files = ":empty",
        supports_param_files = True,
        toolchain_config = ":" + name + "_config",
        toolchain_identifier = "helix-" + name,
    )

    native.toolchain(
        name = name + "_toolchain",
        exec_compatible_with = [
            "@platforms//os:linux",
            "@platforms//cpu:x86_64",
        ],
        target_compatible_with = [
            "@platforms//os:none",
            "@platforms//cpu:x86_64",
            privilege,
        ],
        toolchain = ":" + name + "_cc_toolchain",
        toolchain_type = "@bazel_tools//tools/cpp:toolchain_type",
    )
