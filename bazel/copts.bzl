"""Every compiler flag helix sets, in one place (abseil's ABSL_DEFAULT_COPTS idea).

HELIX_COPTS apply to every C target, kernel and hosted alike. The kernel-only code generation flags
live in KERNEL_COMPILE_FLAGS / KERNEL_LINK_FLAGS and reach only the freestanding toolchain
(//bazel/toolchains), so the same cc_library compiles correctly in both variants.
"""

HELIX_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wpointer-arith",
    "-Wvla",
    "-Wno-unused-parameter",
    "-fno-common",
]

# Catch2 tests (C++).
HELIX_TEST_COPTS = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
]

# Freestanding x86_64 kernel code generation: no libc, no red zone (interrupts push onto the
# current stack), the kernel code model (-2 GiB), no SSE/AVX/x87 (no FPU state is saved on entry),
# frame pointers for exception backtraces, debug info for GDB (GRUB loads only the segments).
KERNEL_COMPILE_FLAGS = [
    "-ffreestanding",
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=kernel",
    "-mno-red-zone",
    "-mgeneral-regs-only",
    "-mno-mmx",
    "-mno-sse",
    "-mno-sse2",
    "-mno-avx",
    "-fno-stack-protector",
    "-fno-omit-frame-pointer",
    "-fcf-protection=none",
    "-U_FORTIFY_SOURCE",
    "-g",
    # Optimised in every mode but dbg (-c dbg adds -O0 after this): the kernel under test is the one
    # that ships. Frame pointers keep backtraces and GDB usable.
    "-O2",
]

KERNEL_OPT_COMPILE_FLAGS = []

KERNEL_DBG_COMPILE_FLAGS = ["-O0"]

# -nostdlib is what makes the kernel freestanding for real: a stray libc call fails to link.
KERNEL_LINK_FLAGS = [
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,--build-id=none",
    "-Wl,-z,max-page-size=0x1000",
    "-Wl,-z,noexecstack",
    "-Wl,--no-warn-rwx-segments",
]

# Freestanding x86_64 user programs (kernel/user, //bazel/toolchains:x86_64_user_toolchain): ring 3
# code linked at 0x400000, so the small code model (everything below 2 GiB) instead of the
# kernel's; no PIC (ET_EXEC, the loader relocates nothing); general registers only, because the
# kernel saves no FPU/SSE state when it switches tasks. The red zone is allowed: the kernel never
# pushes onto a user stack (interrupts and syscalls switch to the task's kernel stack).
USER_COMPILE_FLAGS = [
    "-ffreestanding",
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=small",
    "-mgeneral-regs-only",
    "-fno-stack-protector",
    "-fno-omit-frame-pointer",
    "-fcf-protection=none",
    # No .eh_frame: nothing unwinds user programs, and it would only pad the read-only segment.
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-U_FORTIFY_SOURCE",
    "-g",
    "-O2",
]

USER_OPT_COMPILE_FLAGS = []

USER_DBG_COMPILE_FLAGS = ["-O0"]

# The program's segments come from kernel/user/user.ld (its PHDRS: R, R+X, R+W, page-aligned).
USER_LINK_FLAGS = [
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,--build-id=none",
    "-Wl,-z,max-page-size=0x1000",
    "-Wl,-z,noexecstack",
]
