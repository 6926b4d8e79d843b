"""Rules for helix user programs (kernel/user/README.md).

User programs are built by Bazel's own cc rules, through a second freestanding platform and
toolchain (//bazel/platforms:x86_64_helix_user, //bazel/toolchains:x86_64_user_toolchain) reached
by `user_transition`, the way the kernel image reaches its own. Why not a genrule running gcc with
explicit flags: the programs link the same portable libraries as the kernel and the hosted tests
(//kernel/lib:base for the formatter, //ipc:wire for the router's wire format), with one source list
each; a genrule would have to restate those lists, their include paths and HELIX_COPTS, and would
drift. The transition costs one platform and one toolchain declaration, and works offline with
Bazel 4.2.3.

  hx_user_program(name, srcs, deps)   cc_binary <name>_image (user platform only, with debug
                                      information) and the ELF <name>.elf without it (target
                                      :<name>), from any configuration
  hx_embedded_programs(name, programs)
                                      <name>.S: each program's ELF by .incbin, and the table
                                      behind hx_program_find (helix/programs.h)
"""

USER_PLATFORM = "//bazel/platforms:x86_64_helix_user"

def _user_transition_impl(settings, attr):
    # As kernel_transition: the sanitizer and fuzzing configs' flags are for hosted code only, and
    # a static ET_EXEC has no use for PIC or shared libraries.
    return {
        "//command_line_option:platforms": USER_PLATFORM,
        "//command_line_option:copt": [],
        "//command_line_option:conlyopt": [],
        "//command_line_option:cxxopt": [],
        "//command_line_option:linkopt": [],
        "//command_line_option:strip": "never",
        "//command_line_option:features": ["-supports_pic", "-supports_dynamic_linker"],
    }

user_transition = transition(
    implementation = _user_transition_impl,
    inputs = [],
    outputs = [
        "//command_line_option:platforms",
        "//command_line_option:copt",
        "//command_line_option:conlyopt",
        "//command_line_option:cxxopt",
        "//command_line_option:linkopt",
        "//command_line_option:strip",
        "//command_line_option:features",
    ],
)

_ALLOWLIST = {
    "_allowlist_function_transition": attr.label(
        default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
    ),
}

# The names spawn() can take: HX_PROGRAM_NAME_MAX (helix/abi.h) characters at most.
_NAME_MAX = 31
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-"

def _check_name(name):
    if not name or len(name) > _NAME_MAX:
        fail("user program name %r: 1..%d characters" % (name, _NAME_MAX))
    for c in name.elems():
        if c not in _NAME_CHARS:
            fail("user program name %r: only [a-z0-9_-]" % name)

UserProgramInfo = provider(
    doc = "A user program's ELF and the name spawn() knows it by.",
    fields = ["name", "elf"],
)

def _user_elf_impl(ctx):
    files = ctx.attr.binary[0][DefaultInfo].files.to_list()
    if len(files) != 1:
        fail("expected exactly one file from %s, got %d" % (ctx.attr.binary[0].label, len(files)))
    _check_name(ctx.label.name)
    out = ctx.actions.declare_file(ctx.label.name + ".elf")

    # Debug information stays in the unstripped <name>_image (for GDB); the ELF the kernel embeds
    # leaves it out, a quarter of the size.
    ctx.actions.run_shell(
        inputs = [files[0]],
        outputs = [out],
        command = "objcopy --strip-debug \"$1\" \"$2\"",
        arguments = [files[0].path, out.path],
        mnemonic = "StripUserProgram",
        progress_message = "Stripping user program %s" % out.short_path,
        use_default_shell_env = True,
    )
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out])),
        UserProgramInfo(name = ctx.label.name, elf = out),
    ]

user_elf = rule(
    implementation = _user_elf_impl,
    doc = "A user program's ELF (<name>.elf), built for the user platform from any configuration.",
    attrs = dict(_ALLOWLIST, binary = attr.label(mandatory = True, cfg = user_transition)),
)

def hx_user_program(name, srcs, deps = [], copts = [], **kwargs):
    """A user program: cc_binary `<name>_image` linked by kernel/user/user.ld, ELF `:<name>`."""
    native.cc_binary(
        name = name + "_image",
        srcs = srcs,
        copts = copts,
        additional_linker_inputs = ["//kernel/user:user.ld"],
        linkopts = ["-T $(location //kernel/user:user.ld)"],
        target_compatible_with = ["//bazel/platforms:user_mode"],
        deps = deps + ["//kernel/user:ulib"],
    )
    user_elf(
        name = name,
        binary = ":" + name + "_image",
        **kwargs
    )

def _embedded_programs_impl(ctx):
    programs = [p[UserProgramInfo] for p in ctx.attr.programs]
    by_name = {}
    for p in programs:
        if p.name in by_name:
            fail("two user programs are named %r" % p.name)
        by_name[p.name] = p

    # Sorted by name, so the table's order does not depend on the BUILD file's.
    programs = [by_name[n] for n in sorted(by_name.keys())]
    lines = [
        "/* Generated by hx_embedded_programs (bazel/user.bzl) for %s: do not edit. */" % ctx.label,
        "/* Each image 16-byte aligned in .rodata; the table in .data.rel.ro (it holds pointers). */",
        "\t.section .rodata.hx_program_images, \"a\", @progbits",
    ]
    for i, p in enumerate(programs):
        lines += [
            "\t.balign 16",
            "hx_program_image_%d:" % i,
            "\t.incbin \"%s\"" % p.elf.path,
            "hx_program_image_%d_end:" % i,
        ]
    lines += ["\t.section .rodata.hx_program_names, \"a\", @progbits"]
    for i, p in enumerate(programs):
        lines += ["hx_program_name_%d:" % i, "\t.asciz \"%s\"" % p.name]
    lines += [
        "\t.section .data.rel.ro.hx_program_table, \"aw\", @progbits",
        "\t.balign 8",
        "\t.globl hx_program_table",
        "\t.type hx_program_table, @object",
        "hx_program_table:",
    ]
    for i, p in enumerate(programs):
        # struct hx_program { const char *name; const uint8_t *image; size_t size; }
        lines += [
            "\t.quad hx_program_name_%d" % i,
            "\t.quad hx_program_image_%d" % i,
            "\t.quad hx_program_image_%d_end - hx_program_image_%d" % (i, i),
        ]
    lines += [
        "\t.size hx_program_table, . - hx_program_table",
        "\t.section .rodata.hx_program_table_len, \"a\", @progbits",
        "\t.balign 8",
        "\t.globl hx_program_table_len",
        "\t.type hx_program_table_len, @object",
        "hx_program_table_len:",
        "\t.quad %d" % len(programs),
        "\t.size hx_program_table_len, 8",
        "\t.section .note.GNU-stack, \"\", @progbits",
        "",
    ]
    # The assembler's dependency output does not list .incbin files, so Bazel prunes the ELFs
    # from the compile action's inputs after the first build, and a changed program would not
    # reach the kernel. The .S therefore ends with each ELF's SHA-256: a changed program changes
    # the .S, which recompiles.
    template = ctx.actions.declare_file(ctx.label.name + ".S.in")
    ctx.actions.write(template, "\n".join(lines))
    asm = ctx.actions.declare_file(ctx.label.name + ".S")
    ctx.actions.run_shell(
        inputs = [template] + [p.elf for p in programs],
        outputs = [asm],
        arguments = [template.path, asm.path] + [p.elf.path for p in programs],
        command = 'in="$1"; out="$2"; shift 2; { cat "$in"; for f in "$@"; do ' +
                  'echo "/* sha256 $(sha256sum < "$f" | cut -d" " -f1) $f */"; done; } > "$out"',
        mnemonic = "EmbedPrograms",
        progress_message = "Embedding %d user programs" % len(programs),
    )

    # The ELFs reach the assembler as "headers" of this target: that makes them inputs of the
    # compile action of any cc_library that lists this target in deps, so .incbin finds them
    # (by their exec path) inside the sandbox.
    elfs = depset([p.elf for p in programs])
    return [
        DefaultInfo(files = depset([asm])),
        CcInfo(compilation_context = cc_common.create_compilation_context(headers = elfs)),
    ]

hx_embedded_programs = rule(
    implementation = _embedded_programs_impl,
    doc = "An assembly file embedding user programs (.incbin) and their table. List the target " +
          "in a cc_library's srcs (the .S) and deps (the ELFs as compile inputs).",
    attrs = {"programs": attr.label_list(mandatory = True, providers = [UserProgramInfo])},
)
