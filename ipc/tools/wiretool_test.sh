#!/usr/bin/env bash
# Test of //ipc:wiretool: encode -> decode -> encode round trips (diagnostic notation and JSON)
# give identical bytes; invalid files exit 1 naming the offset and the reason; usage errors exit
# 2; and every reason string in ipc/wire.c is documented in docs/wire-format.md.
set -euo pipefail

tool="$1"
wire_c="$2"
doc="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# expect_status STATUS COMMAND... : runs COMMAND, keeps stderr in $tmp/err.
expect_status() {
	local want="$1" got=0
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" || got=$?
	if [[ "$got" != "$want" ]]; then
		fail "exit $got (wanted $want): $*"
		sed 's/^/    /' "$tmp/err" >&2
		return 1
	fi
}

# ---- Round trips ------------------------------------------------------------------------------

diag_payloads=(
	''
	'0'
	'-1'
	'[1, [2, 3], [4, 5]]'
	'{"a": 1, "b": [2, 3]}'
	'{1: 2, 3: 4, "x": {"nested": [true, false, null]}}'
	"[18446744073709551615, -18446744073709551616, h'', h'00ff', \"\", \"\\u00fc\\u6c34\\ud800\\udd51\"]"
	'{24: 0, "": 1, h'"'"'01'"'"': 2, [1]: 3, {"k": 1}: 4, -5: 5}'
	'[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]'
	'"tab\there, quote \" and backslash \\, control \u0001"'
)
envelopes=(
	"--kind request --request-id 7 --source 1 --target console --method 3"
	"--kind response --request-id 18446744073709551615 --source 2 --target-id 99 --method 0"
	"--kind error --request-id 1 --target-id 1 --status HX_ETIMEDOUT"
	"--kind one-way --target a.b-c_9 --method 4294967295"
)

i=0
for payload in "${diag_payloads[@]}"; do
	envelope="${envelopes[$((i % ${#envelopes[@]}))]}"
	i=$((i + 1))
	# shellcheck disable=SC2086
	expect_status 0 "$tool" encode $envelope -o "$tmp/a.bin" "$payload" || continue
	expect_status 0 "$tool" decode --payload-only "$tmp/a.bin" || continue
	notation="$(cat "$tmp/out")"
	# shellcheck disable=SC2086
	expect_status 0 "$tool" encode $envelope -o "$tmp/b.bin" "$notation" || continue
	cmp -s "$tmp/a.bin" "$tmp/b.bin" || fail "diagnostic round trip differs for: $payload"
	# The full decode shows the envelope.
	expect_status 0 "$tool" decode "$tmp/a.bin" || continue
	grep -q '^version: 1$' "$tmp/out" || fail "no version line for: $payload"
	grep -q '^kind: ' "$tmp/out" || fail "no kind line for: $payload"
done

json_payloads=(
	'{"b": [1, 2, {"c": null}], "a": "x"}'
	'[true, false, null, -9223372036854775808, 18446744073709551615]'
	'{"z": {"y": {"x": []}}, "\u00e9": "caf\u00e9"}'
)
for payload in "${json_payloads[@]}"; do
	expect_status 0 "$tool" encode --json --target svc -o "$tmp/a.bin" "$payload" || continue
	expect_status 0 "$tool" decode --json --payload-only "$tmp/a.bin" || continue
	cp "$tmp/out" "$tmp/payload.json"
	expect_status 0 "$tool" encode --json --target svc --payload-file "$tmp/payload.json" \
		-o "$tmp/b.bin" || continue
	cmp -s "$tmp/a.bin" "$tmp/b.bin" || fail "JSON round trip differs for: $payload"
	expect_status 0 "$tool" decode --json "$tmp/a.bin" || continue
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["target"]=="svc", d' \
		"$tmp/out" || fail "decode --json is not JSON for: $payload"
done

# Known bytes: the doc's example message.
expect_status 0 "$tool" encode --kind request --request-id 1 --source 2 --target echo --method 1 \
	-o "$tmp/echo.bin" '{"text": "hi"}'
got="$(od -An -tx1 -v "$tmp/echo.bin" | tr -d ' \n')"
want="4858574d 01 01 00 04 0100000000000000 0200000000000000 0000000000000000 01000000"
want+=" 00000000 09000000 6563686f a1 6474657874 626869"
want="${want// /}"
[[ "$got" == "$want" ]] || fail "example message bytes: $got"

# "--" ends the options.
expect_status 0 "$tool" encode --target-id 1 -o "$tmp/dash.bin" -- '-18446744073709551616'
expect_status 0 "$tool" decode --payload-only "$tmp/dash.bin"
[[ "$(cat "$tmp/out")" == '-18446744073709551616' ]] || fail "-- payload: $(cat "$tmp/out")"

# Keys are sorted and a stdin payload works.
echo '{"b": 1, "a": 2}' >"$tmp/p.diag"
expect_status 0 "$tool" encode --payload-file - -o "$tmp/s.bin" <"$tmp/p.diag"
expect_status 0 "$tool" decode --payload-only "$tmp/s.bin"
[[ "$(cat "$tmp/out")" == '{"a": 2, "b": 1}' ]] || fail "keys not sorted: $(cat "$tmp/out")"

# ---- Invalid input: exit 1 with the offset and the reason -------------------------------------

bad() {
	local name="$1" offset="$2" reason="$3"
	shift 3
	expect_status 0 "$tool" encode --unchecked "$@" -o "$tmp/$name.bin" || return 0
	expect_status 1 "$tool" decode "$tmp/$name.bin" || return 0
	grep -qF "invalid message at offset $offset: $reason" "$tmp/err" ||
		fail "$name: wanted 'offset $offset: $reason', got: $(head -1 "$tmp/err")"
}
bad truncated 44 "truncated: target name runs past the end" --target console --truncate 47 '[1]'
bad version2 4 "unsupported version" --version 2 --target console '[1]'
bad kind9 5 "unknown kind" --kind 9 --target-id 1
bad flags 6 "reserved flag set" --flags 128 --target-id 1
bad order 54 "map keys not in canonical order" --target console --payload-hex 'a2 02 00 01 00'
bad depth17 67 "nesting deeper than 16" --target console \
	--payload-hex '8181818181818181818181818181818181 00'
bad trailing 52 "trailing bytes after the payload" --target console --append-hex '00' '1'
bad lenmismatch 51 "truncated: payload runs past the end" --target console --payload-len 9 '1'
bad name32 7 "target name longer than 31 characters" --target aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
bad badname 44 "bad character in target name" --target Console
bad status 36 "nonzero status in a message that is not an error" --target-id 1 --status -22
bad utf8 52 "invalid UTF-8: surrogate code point" --target console --payload-hex '63 eda080'
bad float 51 "floating-point numbers not allowed" --target console --payload-hex 'f93c00'
expect_status 1 "$tool" decode "$tmp/order.bin"
grep -qF '[01]' "$tmp/err" || fail "no byte context around the offset: $(cat "$tmp/err")"

# Payloads and headers the encoder refuses.
expect_status 1 "$tool" encode -o "$tmp/x.bin" '{"a": 1, "a": 2}'
grep -qF 'payload:1:10: duplicate map key' "$tmp/err" || fail "duplicate: $(cat "$tmp/err")"
expect_status 1 "$tool" encode -o "$tmp/x.bin" '[1.5]'
grep -qF 'floating-point numbers not allowed' "$tmp/err" || fail "float: $(cat "$tmp/err")"
expect_status 1 "$tool" encode -o "$tmp/x.bin" '0("tag")'
expect_status 1 "$tool" encode -o "$tmp/x.bin" '[_ 1]'
expect_status 1 "$tool" encode -o "$tmp/x.bin" 'undefined'
expect_status 1 "$tool" encode -o "$tmp/x.bin" '[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]'
expect_status 1 "$tool" encode -o "$tmp/x.bin" '"\udc00"'
expect_status 1 "$tool" encode -o "$tmp/x.bin" '[1, 2'
expect_status 1 "$tool" encode --json -o "$tmp/x.bin" '{1: 2}'
expect_status 1 "$tool" encode --kind error -o "$tmp/x.bin"
expect_status 1 "$tool" encode --target 'has space' -o "$tmp/x.bin"
expect_status 1 "$tool" encode --payload-hex 'a2 02 00 01 00' -o "$tmp/x.bin"
head -c 70000 /dev/zero >"$tmp/huge.bin"
expect_status 1 "$tool" decode "$tmp/huge.bin"
grep -qF 'message larger than 64 KiB' "$tmp/err" || fail "huge: $(cat "$tmp/err")"

# ---- Usage errors: exit 2 ---------------------------------------------------------------------

expect_status 2 "$tool"
expect_status 2 "$tool" frobnicate
expect_status 2 "$tool" decode
expect_status 2 "$tool" decode --bogus "$tmp/a.bin"
expect_status 2 "$tool" decode "$tmp/does-not-exist.bin"
expect_status 2 "$tool" encode --request-id -1 -o "$tmp/x.bin"
expect_status 2 "$tool" encode --method 4294967296 -o "$tmp/x.bin"
expect_status 2 "$tool" encode --version 2 -o "$tmp/x.bin"
expect_status 2 "$tool" encode --target a --target-id 3 -o "$tmp/x.bin"
expect_status 2 "$tool" encode --payload-hex 0 -o "$tmp/x.bin"
expect_status 2 "$tool" encode '1' '2' -o "$tmp/x.bin"
expect_status 0 "$tool" --help

# ---- Every reason in wire.c is in the docs ----------------------------------------------------

reasons=0
while IFS= read -r reason; do
	reasons=$((reasons + 1))
	grep -qF "$reason" "$doc" || fail "reason not in docs/wire-format.md: $reason"
done < <(grep -vE '^\s*(\*|/\*|//)|HX_STATIC_ASSERT' "$wire_c" |
	grep -oE '"[a-zA-Z][^"]{6,}"' | tr -d '"' |
	grep -vE '^(request|response|error|one-way)$' | sort -u)
[[ "$reasons" -gt 30 ]] || fail "found only $reasons reason strings in $wire_c"

if [[ "$failures" -ne 0 ]]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "PASS ($reasons reasons documented)"
