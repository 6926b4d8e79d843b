"""Rules that carry the kernel image into the freestanding configuration.

The kernel's cc_binary is only compatible with @platforms//os:none, so a plain `bazel build //...`
skips it in the host configuration; `kernel_elf` and `kernel_iso` reach it through
`kernel_transition`, which switches to //bazel/platforms:x86_64_none. The transition also clears the
user's --copt/--linkopt/--features (the sanitizer configs set those for hosted targets only), turns
off PIC and shared libraries (meaningless for -mcmodel=kernel), and keeps debug symbols
(--strip=never) so GDB can use the ELF.
"""

# What every freestanding transition sets besides the platform: the sanitizer and fuzzing configs'
# flags are for hosted code only, debug symbols stay (GDB), and code that is never position
# independent (-mcmodel=kernel; a static ET_EXEC) has no use for PIC or shared libraries.
# bazel/user.bzl's user_transition uses the same.
FREESTANDING_SETTINGS = {
    "//command_line_option:copt": [],
    "//command_line_option:conlyopt": [],
    "//command_line_option:cxxopt": [],
    "//command_line_option:linkopt": [],
    "//command_line_option:strip": "never",
    "//command_line_option:features": ["-supports_pic", "-supports_dynamic_linker"],
}

FREESTANDING_OUTPUTS = ["//command_line_option:platforms"] + sorted(FREESTANDING_SETTINGS.keys())

def freestanding_settings(platform):
    """The transition's result for @platform."""
    settings = dict(FREESTANDING_SETTINGS)
    settings["//command_line_option:platforms"] = platform
    return settings

def _kernel_transition_impl(settings, attr):
    return freestanding_settings("//bazel/platforms:x86_64_none")

kernel_transition = transition(
    implementation = _kernel_transition_impl,
    inputs = [],
    outputs = FREESTANDING_OUTPUTS,
)

_ALLOWLIST = {
    "_allowlist_function_transition": attr.label(
        default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
    ),
}

def _single_file(target):
    files = target[DefaultInfo].files.to_list()
    if len(files) != 1:
        fail("expected exactly one file from %s, got %d" % (target.label, len(files)))
    return files[0]

def _kernel_elf_impl(ctx):
    elf = _single_file(ctx.attr.binary[0])
    out = ctx.actions.declare_file(ctx.label.name + ".elf")
    ctx.actions.symlink(output = out, target_file = elf)
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

kernel_elf = rule(
    implementation = _kernel_elf_impl,
    doc = "The kernel ELF (<name>.elf), built for the freestanding platform.",
    attrs = dict(_ALLOWLIST, binary = attr.label(mandatory = True, cfg = kernel_transition)),
)

def _kernel_iso_impl(ctx):
    elf = _single_file(ctx.attr.kernel[0])
    cmdline = ctx.attr.cmdline
    if ctx.attr.cmdline_flag:
        extra = ctx.attr.cmdline_flag[BuildSettingInfo].value if BuildSettingInfo in ctx.attr.cmdline_flag else ""
        cmdline = (cmdline + " " + extra).strip()
    for forbidden in ["\n", "\r", "\"", "\\", "$", ";", "{", "}"]:
        if forbidden in cmdline:
            fail("kernel command line %r: the character %r cannot pass through grub.cfg" % (cmdline, forbidden))

    cfg = ctx.actions.declare_file(ctx.label.name + ".grub.cfg")
    ctx.actions.write(cfg, "\n".join([
        "set timeout=0",
        "set timeout_style=hidden",
        "set default=0",
        "menuentry \"helix\" {",
        "    multiboot2 /boot/helix.elf %s" % cmdline,
        "    boot",
        "}",
        "",
    ]))
    iso = ctx.actions.declare_file(ctx.label.name + ".iso")
    ctx.actions.run_shell(
        inputs = [elf, cfg, ctx.file._mkiso],
        outputs = [iso],
        command = "%s %s %s %s" % (ctx.file._mkiso.path, elf.path, cfg.path, iso.path),
        mnemonic = "GrubMkrescue",
        progress_message = "Building boot image %s" % iso.short_path,
        use_default_shell_env = True,
    )
    return [DefaultInfo(files = depset([iso]), runfiles = ctx.runfiles(files = [iso]))]

BuildSettingInfo = provider(fields = ["value"])

def _string_setting_impl(ctx):
    return [BuildSettingInfo(value = ctx.build_setting_value)]

string_setting = rule(
    implementation = _string_setting_impl,
    build_setting = config.string(flag = True),
    doc = "A string flag set on the command line: --//pkg:name=value.",
)

kernel_iso = rule(
    implementation = _kernel_iso_impl,
    doc = "A GRUB (BIOS) boot ISO holding the kernel, booted with the given command line.",
    attrs = dict(
        _ALLOWLIST,
        kernel = attr.label(mandatory = True, cfg = kernel_transition),
        cmdline = attr.string(default = "", doc = "kernel command line baked into grub.cfg"),
        cmdline_flag = attr.label(doc = "a string_setting whose value is appended to cmdline"),
        _mkiso = attr.label(default = "//kernel/tools:mkiso.sh", allow_single_file = True),
    ),
)

def _shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"

# sh_test args go through "Make" variable expansion and shell tokenisation: escape both.
def _test_arg(flag, value):
    return flag + " " + _shell_quote(value).replace("$", "$$")

def kernel_boot_test(name, kernel, cmdline, status, expect = [], contain = [], reject = [], mem = 128, smp = 1, **kwargs):
    """Boots `kernel` with `cmdline` in QEMU and checks the serial console and the exit status.

    Makes `<name>_iso` and the sh_test `<name>` (kernel/tests/boot_check.sh through
    kernel/tools/qemu.sh). `expect`: extended regular expressions that must match lines in this
    order; `contain`: ones that must each match a line, in any order (what other tasks print
    asynchronously); `reject`: ones that must match no line; `status`: the kernel's exit status.
    """
    kernel_iso(
        name = name + "_iso",
        cmdline = cmdline,
        kernel = kernel,
        testonly = True,
    )

    native.sh_test(
        name = name,
        srcs = ["//kernel/tests:boot_check.sh"],
        args = [
            "--qemu $(rootpath //kernel/tools:qemu.sh)",
            "--iso $(rootpath :%s_iso)" % name,
            "--status %d" % status,
            "--mem %d" % mem,
            "--smp %d" % smp,
        ] + [_test_arg("--expect", e) for e in expect] + [_test_arg("--contain", c) for c in contain] +
        [_test_arg("--reject", r) for r in reject],
        data = ["//kernel/tools:qemu.sh", ":%s_iso" % name],
        size = kwargs.pop("size", "medium"),
        **kwargs
    )
