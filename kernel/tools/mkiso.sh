#!/usr/bin/env bash
# mkiso.sh ELF GRUB_CFG OUT_ISO: a BIOS-bootable GRUB ISO holding the kernel as /boot/helix.elf.
# Run by the kernel_iso rule (//bazel:kernel.bzl); prints grub-mkrescue's log only when it fails.
set -euo pipefail
elf=$1 cfg=$2 out=$3
if ! grub-file --is-x86-multiboot2 "$elf"; then
	echo "mkiso: $elf has no valid multiboot2 header (grub-file --is-x86-multiboot2)" >&2
	exit 1
fi
root=$(mktemp -d "${TMPDIR:-/tmp}/helix-iso.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/boot/grub"
cp "$elf" "$root/boot/helix.elf"
cp "$cfg" "$root/boot/grub/grub.cfg"
if ! grub-mkrescue -o "$out" "$root" >"$root.log" 2>&1; then
	cat "$root.log" >&2
	rm -f "$root.log"
	echo "mkiso: grub-mkrescue failed (packages grub-pc-bin, grub-common, xorriso, mtools)" >&2
	exit 1
fi
rm -f "$root.log"
