#!/usr/bin/env bash
# docs_check.sh GENERATED CHECKED_IN: //syscall/tests:docs_test. docs/syscalls.md (CHECKED_IN) must
# be exactly what syscall/tools/gensyscalls.py generates from syscall/syscalls.tbl (GENERATED).
set -uo pipefail
generated=${1:?usage: docs_check.sh GENERATED CHECKED_IN}
checked_in=${2:?usage: docs_check.sh GENERATED CHECKED_IN}
diff -u --label docs/syscalls.md --label "generated from syscall/syscalls.tbl" \
	"$checked_in" "$generated"
case $? in
0)
	echo "docs_check: docs/syscalls.md matches syscall/syscalls.tbl"
	;;
1)
	echo "docs/syscalls.md is stale: run bazel run //syscall:update_docs"
	exit 1
	;;
*)
	echo "docs_check: cannot compare $checked_in with $generated"
	exit 1
	;;
esac
