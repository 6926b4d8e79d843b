#!/usr/bin/env bash
# boot_check.sh: boot an ISO through kernel/tools/qemu.sh and check the serial console and the exit
# status. Used by the boot tests in kernel/BUILD.
#
#   boot_check.sh --qemu QEMU_SH --iso ISO --status N [--timeout S] [--mem MIB] [--smp N]
#                 [--expect ERE]... [--contain ERE]... [--reject ERE]...
#
# --expect patterns must match lines in the given order (each after the previous match);
# --contain patterns must each match some line, in any order (lines that other tasks print
# asynchronously, such as the audit subscriber's); --reject patterns must match no line.
set -uo pipefail

qemu="" iso="" want_status="" timeout=60 mem=128 smp=1 expects=() contains=() rejects=()
while [ $# -gt 0 ]; do
	case $1 in
	--qemu) qemu=$2; shift 2 ;;
	--iso) iso=$2; shift 2 ;;
	--status) want_status=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--expect) expects+=("$2"); shift 2 ;;
	--contain) contains+=("$2"); shift 2 ;;
	--reject) rejects+=("$2"); shift 2 ;;
	*) echo "boot_check: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$qemu" ] && [ -n "$iso" ] && [ -n "$want_status" ] || { echo "boot_check: --qemu, --iso and --status are required" >&2; exit 2; }

out_dir=${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}}
log="$out_dir/serial.log"
status=0
"$qemu" --iso "$iso" --timeout "$timeout" --mem "$mem" --smp "$smp" >"$log" 2>"$out_dir/qemu.stderr" </dev/null || status=$?
tr -d '\r' <"$log" >"$log.clean"

failures=0 checks=0
fail() {
	echo "boot_check: FAIL: $*"
	failures=$((failures + 1))
}

checks=$((checks + 1))
[ "$status" = "$want_status" ] || fail "exit status $status, expected $want_status ($(tail -n 1 "$out_dir/qemu.stderr"))"

line_no=0
for pattern in "${expects[@]}"; do
	checks=$((checks + 1))
	found=$(tail -n "+$((line_no + 1))" "$log.clean" | grep -n -E -m 1 -- "$pattern" | cut -d: -f1)
	if [ -z "$found" ]; then
		if grep -q -E -- "$pattern" "$log.clean"; then
			fail "line /$pattern/ appears, but not after line $line_no (order)"
		else
			fail "no line matches /$pattern/"
		fi
	else
		line_no=$((line_no + found))
	fi
done
for pattern in "${contains[@]}"; do
	checks=$((checks + 1))
	grep -q -E -- "$pattern" "$log.clean" || fail "no line matches /$pattern/"
done
for pattern in "${rejects[@]}"; do
	checks=$((checks + 1))
	if grep -n -E -- "$pattern" "$log.clean" >/dev/null; then
		fail "a line matches the rejected /$pattern/: $(grep -E -m 1 -- "$pattern" "$log.clean")"
	fi
done

if [ "$failures" -gt 0 ]; then
	echo "---- serial console ($log) ----"
	cat "$log.clean"
	echo "---- qemu.sh ----"
	cat "$out_dir/qemu.stderr"
	echo "boot_check: $failures of $checks checks failed"
	exit 1
fi
echo "boot_check: $checks checks passed"
