#!/usr/bin/env bash
# qemu.sh: boot a helix ISO in QEMU (TCG, headless) with the serial console on stdout, and exit with
# the kernel's own status. The one QEMU launcher: `./helix boot`, `bazel run //kernel:qemu` and the
# boot tests all use it.
#
#   qemu.sh --iso ISO [--elf ELF] [--smp N] [--mem MIB] [--timeout S] [--gdb] [-- extra qemu args]
#
# Exit status: the kernel's own status (0..31). The kernel writes 0x20 | status to isa-debug-exit and
# QEMU exits with (value << 1) | 1 (see kernel/arch/x86_64/include/helix/arch/exit.h); anything else
# is not the kernel's word: 124 when the timeout fired, 125 when QEMU stopped without a status from
# the kernel (a triple fault with -no-reboot, or QEMU itself failed, e.g. exit 1).
set -uo pipefail

iso="" elf="" smp=1 mem=128 timeout=60 gdb=0 extra=()
usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--iso) iso=${2:?}; shift 2 ;;
	--elf) elf=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--gdb) gdb=1; shift ;;
	--) shift; extra=("$@"); break ;;
	*) echo "qemu.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
[ -n "$iso" ] || usage
[ -f "$iso" ] || { echo "qemu.sh: no boot image at $iso" >&2; exit 2; }
for n in "$smp" "$mem" "$timeout"; do
	[[ $n =~ ^[0-9]+$ ]] || { echo "qemu.sh: '$n' is not a number" >&2; exit 2; }
done
[ "$smp" -ge 1 ] || { echo "qemu.sh: --smp must be at least 1" >&2; exit 2; }
[ "$mem" -ge 16 ] || { echo "qemu.sh: --mem must be at least 16 (MiB)" >&2; exit 2; }

qemu=(qemu-system-x86_64
	-machine q35 -cpu qemu64 -accel tcg
	-smp "$smp" -m "$mem"
	-cdrom "$iso" -boot d
	-display none -monitor none -serial stdio
	-no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)

if [ "$gdb" = 1 ]; then
	qemu+=(-s -S)
	timeout=0
	symbols=${elf:-bazel-bin/kernel/helix.elf}
	# Absolute, but through the stable bazel-bin link rather than into Bazel's output base.
	[ -e "$symbols" ] && symbols="$(cd "$(dirname "$symbols")" && pwd)/$(basename "$symbols")"
	cat >&2 <<MSG
qemu.sh: QEMU is waiting for GDB on localhost:1234. In another terminal:
    gdb $symbols \\
        -ex 'target remote localhost:1234' -ex 'hbreak kmain' -ex continue
(hbreak, not break: the kernel's addresses are not mapped until the boot code enables paging.)
MSG
fi

limit="timeout ${timeout}s"
[ "$timeout" -gt 0 ] || limit="no timeout"
echo "qemu.sh: booting $iso (TCG, $smp CPU, $mem MiB, $limit); serial console follows" >&2
status=0
if [ "$timeout" -gt 0 ]; then
	timeout --foreground --kill-after=5 "$timeout" "${qemu[@]}" "${extra[@]}" || status=$?
else
	"${qemu[@]}" "${extra[@]}" || status=$?
fi

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "qemu.sh: timed out after ${timeout}s: the kernel neither exited nor crashed (raise --timeout, or debug with --gdb)" >&2
	exit 124
fi
if [ $((status & 1)) -eq 1 ] && [ $(((status >> 1) & 0x60)) -eq $((0x20)) ]; then
	kernel_status=$(((status >> 1) & 0x1f))
	echo "qemu.sh: kernel exited with status $kernel_status" >&2
	exit "$kernel_status"
fi
echo "qemu.sh: QEMU stopped (exit $status) without a status from the kernel: a triple fault or reset, or QEMU failed to start" >&2
exit 125
