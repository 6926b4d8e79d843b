#!/usr/bin/env bash
# image_check.sh ELF: properties of the kernel image that the compiler flags promise but nothing else
# checks: a multiboot2 header GRUB accepts, no SSE/AVX/x87/MMX instruction anywhere (no FPU state is
# saved on interrupt entry), nothing left undefined, the kernel linked in the top 2 GiB
# (-mcmodel=kernel) and entered at a low physical address.
set -uo pipefail
elf=${1:?usage: image_check.sh ELF}
failures=0 checks=0
check() {
	checks=$((checks + 1))
	if ! eval "$2"; then
		echo "image_check: FAIL: $1"
		failures=$((failures + 1))
	fi
}

check "GRUB accepts the multiboot2 header" 'grub-file --is-x86-multiboot2 "$elf"'

vector=$(objdump -d --no-show-raw-insn "$elf" | grep -E -m 5 '%[xyz]mm[0-9]|%mm[0-9]|%st(\(|$)|\b(fld|fst|fxsave|fxrstor|xsave|xrstor)[a-z]*\b' || true)
check "no SSE/AVX/MMX/x87 instruction in the kernel (found: ${vector//$'\n'/; })" '[ -z "$vector" ]'

undefined=$(nm -u "$elf")
check "no undefined symbols (found: ${undefined//$'\n'/ })" '[ -z "$undefined" ]'

text_vma=$(objdump -h "$elf" | awk '$2 == ".text" { print $4 }')
check ".text is linked in the top 2 GiB (at 0x$text_vma)" '[[ $text_vma == ffffffff8* ]]'

entry=$(readelf -h "$elf" | awk '/Entry point address/ { print $4 }')
check "the entry point is a low physical address (at $entry)" '[ $((entry)) -lt $((0x40000000)) ]'

if [ "$failures" -gt 0 ]; then
	echo "image_check: $failures of $checks checks failed"
	exit 1
fi
echo "image_check: $checks checks passed"
