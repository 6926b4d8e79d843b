#!/usr/bin/env bash
# update_docs.sh GENERATED: `bazel run //syscall:update_docs` runs this with the syscall reference
# generated from syscall/syscalls.tbl (//syscall:gen's syscalls.md) and copies it to
# docs/syscalls.md in the workspace, which //syscall/tests:docs_test checks.
set -euo pipefail
src=${1:?usage: update_docs.sh GENERATED_SYSCALLS_MD (run it with bazel run //syscall:update_docs)}
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
	echo "update_docs: BUILD_WORKSPACE_DIRECTORY is not set: run bazel run //syscall:update_docs" >&2
	exit 2
fi
dst=$BUILD_WORKSPACE_DIRECTORY/docs/syscalls.md
if cmp -s "$src" "$dst"; then
	echo "update_docs: docs/syscalls.md is up to date"
	exit 0
fi
# Bazel's outputs are read-only: write the content, not the file's mode.
cat "$src" >"$dst.tmp.$$"
chmod 0644 "$dst.tmp.$$"
mv -f "$dst.tmp.$$" "$dst"
echo "update_docs: wrote docs/syscalls.md (generated from syscall/syscalls.tbl)"
