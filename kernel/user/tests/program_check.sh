#!/usr/bin/env bash
# program_check.sh ELF...: what kernel/user/user.ld and the user toolchain's flags promise about each
# user program, checked on the files with binutils (the ELF parser's own test checks the same
# images through hx_elf_parse): a static x86_64 ET_EXEC without an interpreter or a dynamic
# section, linked at 0x400000 (HX_USER_IMAGE_BASE) as exactly three PT_LOAD segments R, R+X, R+W,
# none writable and executable, entered at _start, nothing undefined, and no SSE/AVX/x87/MMX
# instruction (the kernel saves no FPU state for user tasks).
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: program_check.sh ELF..." >&2; exit 2; }
failures=0 checks=0
check() {
	checks=$((checks + 1))
	if ! eval "$2"; then
		echo "program_check: FAIL: $1"
		failures=$((failures + 1))
	fi
}

for elf in "$@"; do
	name=$(basename "$elf")
	header=$(readelf -h "$elf")
	phdrs=$(readelf -lW "$elf")
	type=$(awk '/^ *Type:/ { print $2 }' <<<"$header")
	machine=$(awk -F: '/^ *Machine:/ { gsub(/^ +/, "", $2); print $2 }' <<<"$header")
	check "$name: type is EXEC (found: $type)" '[ "$type" = EXEC ]'
	check "$name: machine is x86-64 (found: $machine)" '[ "$machine" = "Advanced Micro Devices X86-64" ]'
	check "$name: no PT_INTERP" '! grep -qE "^ *INTERP " <<<"$phdrs"'
	check "$name: no PT_DYNAMIC" '! grep -qE "^ *DYNAMIC " <<<"$phdrs"'
	check "$name: no PT_TLS" '! grep -qE "^ *TLS " <<<"$phdrs"'
	check "$name: no dynamic section" '! readelf -SW "$elf" | grep -qE "\.(dynamic|interp|dynsym) "'

	# "LOAD off vaddr paddr filesz memsz flags align", flags one to three of R, W, E.
	loads=$(awk '$1 == "LOAD" { flags = ""; for (i = 7; i < NF; i++) flags = flags $i; print $3, flags }' <<<"$phdrs")
	layout=$(awk '{ printf "%s ", $2 }' <<<"$loads")
	first=$(awk 'NR == 1 { print $1 }' <<<"$loads")
	check "$name: PT_LOAD segments are R, RE, RW (found: $layout)" '[ "$layout" = "R RE RW " ]'
	check "$name: linked at 0x400000 (first PT_LOAD at $first)" '[ $((first)) -eq $((0x400000)) ]'
	wx=$(awk '$2 ~ /W/ && $2 ~ /E/' <<<"$loads")
	check "$name: no PT_LOAD is writable and executable" '[ -z "$wx" ]'
	unaligned=""
	while read -r vaddr _; do
		[ $((vaddr % 4096)) -eq 0 ] || unaligned+="$vaddr "
	done <<<"$loads"
	check "$name: every PT_LOAD starts on a page (not: $unaligned)" '[ -z "$unaligned" ]'

	entry=$(awk '/Entry point address/ { print $4 }' <<<"$header")
	start=$(nm "$elf" | awk '$3 == "_start" { print "0x" $1 }')
	check "$name: entered at _start ($entry, _start at ${start:-none})" '[ -n "$start" ] && [ $((entry)) -eq $((start)) ]'
	undefined=$(nm -u "$elf")
	check "$name: no undefined symbols (found: ${undefined//$'\n'/ })" '[ -z "$undefined" ]'
	vector=$(objdump -d --no-show-raw-insn "$elf" | grep -E -m 5 '%[xyz]mm[0-9]|%mm[0-9]|%st(\(|$)|\b(fld|fst|fxsave|fxrstor|xsave|xrstor)[a-z]*\b' || true)
	check "$name: no SSE/AVX/MMX/x87 instruction (found: ${vector//$'\n'/; })" '[ -z "$vector" ]'
done

if [ "$failures" -gt 0 ]; then
	echo "program_check: $failures of $checks checks failed"
	exit 1
fi
echo "program_check: $checks checks passed"
