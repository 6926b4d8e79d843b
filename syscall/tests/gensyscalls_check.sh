#!/usr/bin/env bash
# gensyscalls_check.sh GENSYSCALLS_PY: //syscall/tests:gensyscalls_test, the generator's self-test.
#   1. bad tables: each fails (status 1, no output written) with the expected file:line message;
#   2. a table with every kind: numbers.h, syscall_table.c (compiled with helix's warnings against
#      the real headers, and its descriptors read back field by field), user.h (compiled as C and
#      C++, every stub called through a recording HX_USER_SYSCALL6) and syscalls.md;
#   3. the default HX_USER_SYSCALL6 (the `syscall` instruction) against Linux itself: a table whose
#      numbers are Linux's write, mmap, pread64 and getpid, so every argument register is used.
# Runs from the runfiles root: the headers listed as data are at their workspace paths.
# The expected messages quote with backticks, as the generator does:
# shellcheck disable=SC2016
set -uo pipefail
gen=${1:?usage: gensyscalls_check.sh GENSYSCALLS_PY}
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0 checks=0
CFLAGS=(-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
	-Wpointer-arith -Wvla -Wno-unused-parameter -fno-common)
INCLUDES=(-I "$tmp/inc" -I syscall/include -I kernel/include)

fail() {
	echo "gensyscalls_check: FAIL: $*"
	failures=$((failures + 1))
}

# bad NAME LINE MESSAGE < TABLE: the generator must refuse TABLE with `NAME.tbl:LINE: error: ...MESSAGE...`
bad() {
	local name=$1 line=$2 message=$3 out=$tmp/bad/$1
	checks=$((checks + 1))
	mkdir -p "$out"
	cat >"$tmp/$name.tbl"
	python3 "$gen" --table "$tmp/$name.tbl" --numbers "$out/numbers.h" --user "$out/user.h" \
		--table-c "$out/syscall_table.c" --docs "$out/syscalls.md" 2>"$out/stderr"
	local status=$?
	if [ "$status" -ne 1 ]; then
		fail "$name: exit status $status, expected 1"
	elif ! grep -F -- "$tmp/$name.tbl:$line: error: " "$out/stderr" | grep -qF -- "$message"; then
		fail "$name: expected '$name.tbl:$line: error: ...$message...', got: $(cat "$out/stderr")"
	elif [ -n "$(ls "$out")" ] && [ "$(ls "$out")" != stderr ]; then
		fail "$name: outputs written for a bad table: $(ls "$out")"
	fi
}

# ---- 1. Bad tables ------------------------------------------------------------------------------

bad unknown_directive 2 'unknown directive `sumary`' <<'EOF'
syscall 0 a
  sumary Typo.
EOF
bad not_from_zero 1 'syscall number 1 leaves a gap: the next number is 0' <<'EOF'
syscall 1 a
  summary A.
  returns 0
EOF
bad gap 4 'syscall number 2 leaves a gap: the next number is 1' <<'EOF'
syscall 0 a
  summary A.
  returns 0
syscall 2 b
  summary B.
  returns 0
EOF
bad repeated_number 4 'syscall number 0 out of order: numbers ascend from 0, the next one is 1' <<'EOF'
syscall 0 a
  summary A.
  returns 0
syscall 0 b
  summary B.
  returns 0
EOF
bad bad_number 1 'syscall number `01` is not a decimal number' <<'EOF'
syscall 01 a
EOF
bad duplicate_name 5 'duplicate syscall name `a` (first at line 1)' <<'EOF'
syscall 0 a
  summary A.
  returns 0
# a comment line
syscall 1 a
  summary A again.
  retired
EOF
bad bad_name 1 'bad syscall name `Write`' <<'EOF'
syscall 0 Write
EOF
bad syscall_operands 1 'expected `syscall <nr> <name>`' <<'EOF'
syscall 0
EOF
bad no_summary 1 'syscall a has no `summary`' <<'EOF'
syscall 0 a
  returns 0
EOF
bad no_returns 1 'syscall a has no `returns`' <<'EOF'
syscall 0 a
  summary A.
EOF
bad second_summary 3 'second `summary` in syscall a' <<'EOF'
syscall 0 a
  summary A.
  summary B.
  returns 0
EOF
bad outside_entry 1 '`arg` outside a syscall entry' <<'EOF'
arg x int(0, 1)
EOF
bad late_include 4 '`include` after the first syscall entry' <<'EOF'
syscall 0 a
  summary A.
  returns 0
include <helix/abi.h>
EOF
bad bad_include 1 'bad include `helix/abi.h`' <<'EOF'
include helix/abi.h
EOF
bad unknown_kind 3 'unknown kind `float`' <<'EOF'
syscall 0 a
  summary A.
  arg x float
  returns 0
EOF
bad unbalanced 3 'unbalanced parentheses' <<'EOF'
syscall 0 a
  summary A.
  arg x int(0, (1)
  returns 0
EOF
bad kind_syntax 3 'bad kind syntax `int 0, 1`' <<'EOF'
syscall 0 a
  summary A.
  arg x int 0, 1
  returns 0
EOF
bad int_one_param 3 '`int` takes (min, max), got 1 parameter' <<'EOF'
syscall 0 a
  summary A.
  arg x int(5)
  returns 0
EOF
bad min_above_max 3 'min 5 is above max 1' <<'EOF'
syscall 0 a
  summary A.
  arg x uint(5, 1)
  returns 0
EOF
bad uint_negative 3 'min -1 is outside the range of uint64_t' <<'EOF'
syscall 0 a
  summary A.
  arg x uint(-1, 1)
  returns 0
EOF
bad octal 3 'octal literals are not allowed' <<'EOF'
syscall 0 a
  summary A.
  arg x flags(0777)
  returns 0
EOF
bad not_an_expression 3 '`"x"` is not a C constant expression' <<'EOF'
syscall 0 a
  summary A.
  arg x enum(1, "x")
  returns 0
EOF
bad enum_twice 3 'enum value `A` listed twice' <<'EOF'
syscall 0 a
  summary A.
  arg x enum(A, B, A)
  returns 0
EOF
bad len_unknown 3 'len=size: syscall a has no argument `size`' <<'EOF'
syscall 0 a
  summary A.
  arg buf in(len=size)
  arg len uint(0, 10)
  returns 0
EOF
bad len_not_integer 4 'len=p names argument `p` of kind in: it must be an integer (int or uint)' <<'EOF'
syscall 0 a
  summary A.
  arg p in(size=4)
  arg buf out(len=p)
  returns 0
EOF
bad count_not_integer 4 'count=f names argument `f` of kind flags' <<'EOF'
syscall 0 a
  summary A.
  arg f flags(3)
  arg v array_in(count=f, size=4)
  returns 0
EOF
bad len_and_size 3 '`in` needs exactly one of len=<arg> and size=N' <<'EOF'
syscall 0 a
  summary A.
  arg p in(len=n, size=4)
  arg n uint(0, 4)
  returns 0
EOF
bad unknown_option 3 'unknown option `aligned=8` in out(...)' <<'EOF'
syscall 0 a
  summary A.
  arg p out(size=8, aligned=8)
  returns 0
EOF
bad option_twice 3 'option `align` given twice' <<'EOF'
syscall 0 a
  summary A.
  arg p out(size=8, align=8, align=8)
  returns 0
EOF
bad nullable_value 3 '`nullable` takes no value' <<'EOF'
syscall 0 a
  summary A.
  arg p out(size=8, nullable=1)
  returns 0
EOF
bad align_not_pow2 3 'align=6 is not a power of two in 1 .. 128' <<'EOF'
syscall 0 a
  summary A.
  arg p out(size=12, align=6)
  returns 0
EOF
bad size_vs_align 3 'size=12 is not a multiple of align=8' <<'EOF'
syscall 0 a
  summary A.
  arg v array_out(count=n, size=12, align=8)
  arg n uint(0, 4)
  returns 0
EOF
bad array_no_size 3 '`array_in` needs count=<arg> and size=N (missing size=)' <<'EOF'
syscall 0 a
  summary A.
  arg v array_in(count=n)
  arg n uint(0, 4)
  returns 0
EOF
bad str_no_max 3 '`str` needs max=N' <<'EOF'
syscall 0 a
  summary A.
  arg s str()
  returns 0
EOF
bad handle_type 3 'unknown handle type `socket`' <<'EOF'
syscall 0 a
  summary A.
  arg h handle(socket)
  returns 0
EOF
bad handle_right 3 'unknown right `exec`' <<'EOF'
syscall 0 a
  summary A.
  arg h handle(channel, read|exec)
  returns 0
EOF
bad handle_right_twice 3 'right `read` listed twice' <<'EOF'
syscall 0 a
  summary A.
  arg h handle(channel, read|read)
  returns 0
EOF
bad deadline_params 3 '`deadline` takes no parameters' <<'EOF'
syscall 0 a
  summary A.
  arg d deadline(1)
  returns 0
EOF
bad keyword_arg 3 'argument name `new` is a C or C++ keyword' <<'EOF'
syscall 0 a
  summary A.
  arg new int(0, 1)
  returns 0
EOF
bad duplicate_arg 4 'duplicate argument name `x` in syscall a' <<'EOF'
syscall 0 a
  summary A.
  arg x int(0, 1)
  arg x int(0, 1)
  returns 0
EOF
bad seven_args 9 'syscall a has more than 6 arguments' <<'EOF'
syscall 0 a
  summary A.
  arg a0 int(0, 1)
  arg a1 int(0, 1)
  arg a2 int(0, 1)
  arg a3 int(0, 1)
  arg a4 int(0, 1)
  arg a5 int(0, 1)
  arg a6 int(0, 1)
  returns 0
EOF
bad arg_after_retired 4 '`arg` after `retired`: a retired entry has only a summary' <<'EOF'
syscall 0 a
  summary A.
  retired
  arg x int(0, 1)
EOF
bad retired_after_arg 4 '`retired` in an entry with arg/returns/error lines (from line 3)' <<'EOF'
syscall 0 a
  summary A.
  arg x int(0, 1)
  retired
EOF
bad bad_errno 4 'bad error code `einval`' <<'EOF'
syscall 0 a
  summary A.
  returns 0
  error einval lowercase
EOF
bad error_no_text 4 '`error` needs a text' <<'EOF'
syscall 0 a
  summary A.
  returns 0
  error EINVAL
EOF
bad comment_in_text 2 '`summary` text may not contain */' <<'EOF'
syscall 0 a
  summary A */ B.
  returns 0
EOF
bad empty_table 2 'the table has no syscall entries' <<'EOF'
# nothing here
include <helix/abi.h>
EOF

# Several errors: all reported, in line order, with a count.
checks=$((checks + 1))
printf 'syscall 0 a\n  summary A.\n  arg x int(1)\n  returns 0\nsyscall 2 b\n' >"$tmp/two.tbl"
python3 "$gen" --table "$tmp/two.tbl" 2>"$tmp/two.err"
if [ "$(grep -c ': error: ' "$tmp/two.err")" -ne 2 ] || ! tail -n 1 "$tmp/two.err" | grep -q "2 errors"; then
	fail "two.tbl: expected 2 errors (lines 3 and 5) and a count, got: $(cat "$tmp/two.err")"
fi

# ---- 2. A table with every kind -----------------------------------------------------------------

cat >"$tmp/good.tbl" <<'EOF'
# Every kind, a retired number, and text that needs escaping in C and Markdown.
include <helix/abi.h>

syscall 0 first
  summary Every integer kind.
  arg a int(-5, 5)
  arg b uint(1, HX_WRITE_MAX)
  arg c flags(0x3)
  arg d enum(HX_CLOCK_MONOTONIC, 7, -1)
  arg e int(INT64_MIN, INT64_MAX)
  arg f uint(0, UINT64_MAX)
  returns 0
  error EINVAL a is 3

syscall 1 gone
  summary What was here.
  retired

syscall 2 pointers
  summary Every pointer kind.
  arg src in(len=n, nullable)
  arg dst out(size=16, align=8)
  arg io inout(len=n, align=4, nullable)
  arg n uint(0, 4096)
  arg items array_in(count=count, size=12, align=4)
  arg count uint(0, 100)
  returns 0

syscall 3 more
  summary Strings "quoted", a \ backslash | a pipe & <b>tags</b>.
  arg path str(max=255)
  arg h handle(channel, write|read)
  arg any handle(any)
  arg vec array_out(count=k, size=sizeof(uint64_t), align=8)
  arg k int(0, 64)
  arg when deadline
  returns the count, 0 .. k
  error EMSGSIZE too big

syscall 4 last
  summary No arguments.
  returns 1
EOF
out=$tmp/good
mkdir -p "$out" "$tmp/inc/helix/syscall"
checks=$((checks + 1))
if ! python3 "$gen" --table "$tmp/good.tbl" --numbers "$tmp/inc/helix/syscall/numbers.h" \
	--user "$tmp/inc/helix/syscall/user.h" --table-c "$out/syscall_table.c" \
	--docs "$out/syscalls.md"; then
	fail "good.tbl: the generator failed"
fi

checks=$((checks + 1))
python3 "$gen" --table "$tmp/good.tbl" --docs "$out/again.md" --table-c "$out/again.c"
if ! cmp -s "$out/syscalls.md" "$out/again.md" || ! cmp -s "$out/syscall_table.c" "$out/again.c"; then
	fail "good.tbl: two runs gave different outputs"
fi

checks=$((checks + 1))
numbers=$tmp/inc/helix/syscall/numbers.h
for want in '#define HX_SYS_first    0' '#define HX_SYS_pointers 2' '#define HX_SYS_last     4' \
	'#define HX_SYSCALL_STATIC_COUNT 5'; do
	grep -qxF "$want" "$numbers" || fail "numbers.h: no line '$want'"
done
grep -q 'define HX_SYS_gone' "$numbers" && fail "numbers.h defines the retired HX_SYS_gone"

checks=$((checks + 1))
docs=$out/syscalls.md
for want in '| 1 | [`gone`](#gone) (retired) | What was here. |' \
	'### pointers' \
	'long hx_user_more(const char *path, int64_t h, int64_t any, void *vec, int64_t k, uint64_t when);' \
	'| `EACCES` | `h` lacks the read and write rights |' \
	'| `ENAMETOOLONG` | `path` is longer than 255 bytes (no NUL among the first 255 + 1) |' \
	'| `EINVAL` | `items` is not aligned to 4 bytes |' \
	'| `EMSGSIZE` | too big |' \
	'| `EINVAL` | a is 3 |'; do
	grep -qxF -- "$want" "$docs" || fail "syscalls.md: no line '$want'"
done
grep -qF 'Strings "quoted", a \\ backslash \| a pipe \& \<b>tags\</b>.' "$docs" ||
	fail "syscalls.md: the summary of more is not escaped for Markdown"
awk 'length > 100 && !/^\|/ { bad = 1 } END { exit bad }' "$docs" ||
	fail "syscalls.md: a line outside a table is longer than 100 columns"

# The descriptors, compiled with helix's warnings and read back.
cat >"$out/table_check.c" <<'EOF'
#include <stdio.h>
#include <string.h>

#include <helix/syscall/handles.h>
#include <helix/syscall/syscall.h>

#define H(name) \
	long hx_sys_##name(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]); \
	long hx_sys_##name(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]) \
	{ \
		return 0; \
	}
H(first)
H(pointers)
H(more)
H(last)

static int failures;
#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			printf("table_check: FAIL line %d: %s\n", __LINE__, #cond); \
			failures++; \
		} \
	} while (0)

int main(void)
{
	const struct hx_syscall_desc *t = hx_syscall_static_table;
	const struct hx_syscall_arg *a = t[0].args;

	CHECK(HX_SYSCALL_STATIC_COUNT == 5 && HX_SYS_first == 0 && HX_SYS_more == 3);
	CHECK(t[0].nr == 0 && !strcmp(t[0].name, "first") && t[0].nargs == 6);
	CHECK(!strcmp(t[0].summary, "Every integer kind.") && t[0].handler == hx_sys_first);
	CHECK(!strcmp(a[0].name, "a") && a[0].kind == HX_ARG_INT && a[0].min == -5 && a[0].max == 5);
	CHECK(a[1].kind == HX_ARG_UINT && a[1].min == 1 && (uint64_t)a[1].max == HX_WRITE_MAX);
	CHECK(a[2].kind == HX_ARG_FLAGS && a[2].mask == 3);
	CHECK(a[3].kind == HX_ARG_ENUM && a[3].enum_count == 3);
	CHECK(a[3].enum_values[0] == HX_CLOCK_MONOTONIC && a[3].enum_values[1] == 7 &&
	      a[3].enum_values[2] == -1);
	CHECK(a[4].kind == HX_ARG_INT && a[4].min == INT64_MIN && a[4].max == INT64_MAX);
	CHECK(a[5].kind == HX_ARG_UINT && a[5].min == 0 && (uint64_t)a[5].max == UINT64_MAX);

	CHECK(t[1].nr == 1 && !strcmp(t[1].name, "gone") && !strcmp(t[1].summary, "What was here."));
	CHECK(t[1].handler == NULL && t[1].nargs == 0);

	a = t[2].args;
	CHECK(t[2].nargs == 6 && t[2].handler == hx_sys_pointers);
	CHECK(a[0].kind == HX_ARG_UPTR && a[0].access == (HX_UACCESS_READ | HX_UACCESS_NULL));
	CHECK(a[0].len_arg == 3 && a[0].align == 1);
	CHECK(a[1].kind == HX_ARG_UPTR && a[1].access == HX_UACCESS_WRITE);
	CHECK(a[1].len_arg == HX_ARG_NO_LEN && a[1].size == 16 && a[1].align == 8);
	CHECK(a[2].kind == HX_ARG_UPTR && a[2].len_arg == 3 && a[2].align == 4);
	CHECK(a[2].access == (HX_UACCESS_READ | HX_UACCESS_WRITE | HX_UACCESS_NULL));
	CHECK(a[4].kind == HX_ARG_UARRAY && a[4].access == HX_UACCESS_READ);
	CHECK(a[4].len_arg == 5 && a[4].size == 12 && a[4].align == 4);

	a = t[3].args;
	CHECK(t[3].nargs == 6 && t[3].handler == hx_sys_more);
	CHECK(!strcmp(t[3].summary, "Strings \"quoted\", a \\ backslash | a pipe & <b>tags</b>."));
	CHECK(a[0].kind == HX_ARG_USTR && a[0].access == HX_UACCESS_READ && a[0].max == 255);
	CHECK(a[1].kind == HX_ARG_HANDLE && a[1].handle_type == HX_KOBJ_CHANNEL);
	CHECK(a[1].rights == (HX_RIGHT_READ | HX_RIGHT_WRITE));
	CHECK(a[2].kind == HX_ARG_HANDLE && a[2].handle_type == HX_KOBJ_ANY && a[2].rights == 0);
	CHECK(a[3].kind == HX_ARG_UARRAY && a[3].access == HX_UACCESS_WRITE);
	CHECK(a[3].len_arg == 4 && a[3].size == sizeof(uint64_t) && a[3].align == 8);
	CHECK(a[5].kind == HX_ARG_DEADLINE && !strcmp(a[5].name, "when"));

	CHECK(t[4].nr == 4 && t[4].nargs == 0 && t[4].handler == hx_sys_last);
	CHECK(t[4].args[0].kind == HX_ARG_NONE);
	return failures != 0;
}
EOF
checks=$((checks + 1))
if ! gcc "${CFLAGS[@]}" -pedantic "${INCLUDES[@]}" -c "$out/syscall_table.c" -o "$out/table.o"; then
	fail "syscall_table.c does not compile"
elif ! gcc -std=c11 -Wall -Werror "${INCLUDES[@]}" "$out/table_check.c" "$out/table.o" \
	-o "$out/table_check"; then
	fail "table_check.c does not compile"
elif ! "$out/table_check"; then
	fail "the descriptors in syscall_table.c are not what good.tbl says"
fi

# A symbolic bound the generator cannot check is caught by the compiler.
checks=$((checks + 1))
sed 's/arg b uint(1, HX_WRITE_MAX)/arg b uint(HX_WRITE_MAX, 1)/' "$tmp/good.tbl" >"$tmp/swapped.tbl"
python3 "$gen" --table "$tmp/swapped.tbl" --table-c "$out/swapped.c"
if gcc "${CFLAGS[@]}" "${INCLUDES[@]}" -fsyntax-only "$out/swapped.c" 2>"$out/swapped.err"; then
	fail "swapped.tbl: uint(HX_WRITE_MAX, 1) compiled"
elif ! grep -qF 'first: b: min is above max' "$out/swapped.err"; then
	fail "swapped.tbl: not the expected static assertion: $(cat "$out/swapped.err")"
fi

# The user stubs, as C and as C++, through a recording HX_USER_SYSCALL6.
cat >"$out/stubs_check.c" <<'EOF'
#include <stdint.h>
#include <stdio.h>

static uint64_t seen[7];
static long record(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                   uint64_t a5)
{
	seen[0] = nr, seen[1] = a0, seen[2] = a1, seen[3] = a2, seen[4] = a3, seen[5] = a4;
	seen[6] = a5;
	return -22;
}
#define HX_USER_SYSCALL6(nr, a0, a1, a2, a3, a4, a5) record(nr, a0, a1, a2, a3, a4, a5)
#include <helix/syscall/user.h>

static int hx_gone; /* no stub for a retired number: this would not compile otherwise */

static int failures;
static void expect(int line, long result, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                   uint64_t a3, uint64_t a4, uint64_t a5)
{
	const uint64_t want[7] = { nr, a0, a1, a2, a3, a4, a5 };
	for (int i = 0; i < 7; i++) {
		if (seen[i] != want[i]) {
			printf("stubs_check: FAIL line %d: register %d is %llu, expected %llu\n", line, i,
			       (unsigned long long)seen[i], (unsigned long long)want[i]);
			failures++;
		}
	}
	if (result != -22) {
		printf("stubs_check: FAIL line %d: result %ld\n", line, result);
		failures++;
	}
}
#define EXPECT(call, ...) expect(__LINE__, call, __VA_ARGS__)

int main(void)
{
	char buf[64];
	const uint64_t p = (uint64_t)(uintptr_t)buf;
	const char *path = "path";

	EXPECT(hx_user_first(-1, 2, 3, 4, -5, UINT64_MAX), 0, UINT64_MAX, 2, 3, 4, (uint64_t)-5,
	       UINT64_MAX);
	EXPECT(hx_user_pointers(buf, buf + 1, buf + 2, 3, buf + 4, 5), 2, p, p + 1, p + 2, 3, p + 4, 5);
	EXPECT(hx_user_more(path, 7, 8, buf, 9, 10), 3, (uint64_t)(uintptr_t)path, 7, 8, p, 9, 10);
	EXPECT(hx_user_last(), 4, 0, 0, 0, 0, 0, 0);
	return failures + hx_gone != 0;
}
EOF
cp "$out/stubs_check.c" "$out/stubs_check.cc"
checks=$((checks + 1))
if ! gcc -std=c11 -Wall -Wextra -Werror -pedantic -I "$tmp/inc" -I kernel/include \
	"$out/stubs_check.c" -o "$out/stubs_check_c"; then
	fail "user.h: the C stubs do not compile"
elif ! "$out/stubs_check_c"; then
	fail "user.h: the C stubs pass the wrong registers"
fi
checks=$((checks + 1))
if ! g++ -std=c++17 -Wall -Wextra -Werror -pedantic -I "$tmp/inc" -I kernel/include \
	"$out/stubs_check.cc" -o "$out/stubs_check_cc"; then
	fail "user.h: the C++ stubs do not compile"
elif ! "$out/stubs_check_cc"; then
	fail "user.h: the C++ stubs pass the wrong registers"
fi

# ---- 3. The default HX_USER_SYSCALL6 against Linux --------------------------------------------

{
	echo "# Linux's numbers for write (1), mmap (9), pread64 (17) and getpid (39)."
	for nr in $(seq 0 39); do
		case $nr in
		1) printf 'syscall 1 write\n  summary Linux write.\n  arg fd int(0, 1024)\n  arg buf in(len=count)\n  arg count uint(0, 8192)\n  returns count\n' ;;
		9) printf 'syscall 9 mmap\n  summary Linux mmap.\n  arg addr inout(size=4096, nullable)\n  arg len uint(1, 8192)\n  arg prot flags(7)\n  arg flags flags(0xffffffff)\n  arg fd int(-1, 1024)\n  arg off uint(0, 8192)\n  returns addr\n' ;;
		17) printf 'syscall 17 pread64\n  summary Linux pread64.\n  arg fd int(0, 1024)\n  arg buf out(len=count)\n  arg count uint(0, 8192)\n  arg pos uint(0, 8192)\n  returns count\n' ;;
		39) printf 'syscall 39 getpid\n  summary Linux getpid.\n  returns pid\n' ;;
		*) printf 'syscall %d unused_%d\n  summary Not used here.\n  retired\n' "$nr" "$nr" ;;
		esac
	done
} >"$tmp/linux.tbl"
mkdir -p "$tmp/linux/helix/syscall"
cat >"$out/linux_check.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <helix/syscall/user.h>

static int failures;
#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			printf("linux_check: FAIL line %d: %s\n", __LINE__, #cond); \
			failures++; \
		} \
	} while (0)

int main(int argc, char **argv)
{
	static char pages[8192];
	char buf[16] = { 0 };
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);

	CHECK(argc == 2 && fd >= 0);
	memset(pages, 'a', 4096);
	memset(pages + 4096, 'b', 4096);
	CHECK(hx_user_write(fd, pages, sizeof(pages)) == (long)sizeof(pages)); /* rdi, rsi, rdx */
	CHECK(hx_user_pread64(fd, buf, sizeof(buf), 4090) == (long)sizeof(buf)); /* r10 */
	CHECK(buf[5] == 'a' && buf[6] == 'b');
	long addr = hx_user_mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096); /* r8, r9 */
	CHECK(addr > 0 && addr % 4096 == 0);
	if (addr > 0) {
		CHECK(((const char *)addr)[0] == 'b' && ((const char *)addr)[4095] == 'b');
	}
	CHECK(hx_user_getpid() == getpid());
	return failures != 0;
}
EOF
checks=$((checks + 1))
if ! python3 "$gen" --table "$tmp/linux.tbl" --user "$tmp/linux/helix/syscall/user.h"; then
	fail "linux.tbl: the generator failed"
elif ! gcc -std=gnu11 -Wall -Wextra -Werror -I "$tmp/linux" -I kernel/include \
	"$out/linux_check.c" -o "$out/linux_check"; then
	fail "linux_check.c does not compile"
elif ! "$out/linux_check" "$tmp/linux.data"; then
	fail "the default HX_USER_SYSCALL6 does not pass the registers Linux expects"
fi

if [ "$failures" -gt 0 ]; then
	echo "gensyscalls_check: $failures of $checks checks failed"
	exit 1
fi
echo "gensyscalls_check: $checks checks passed"
