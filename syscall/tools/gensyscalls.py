#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gensyscalls.py: the syscall table (syscall/syscalls.tbl) to everything made from it.

    python3 gensyscalls.py --table syscalls.tbl [--numbers numbers.h] [--user user.h]
                           [--table-c syscall_table.c] [--docs syscalls.md]

The parser is strict: every problem in the table is reported as `file:line: error: what` and the
script exits with status 1 without writing any output. The grammar is in the table's header
comment. Outputs (each optional; with none the table is only checked):

  numbers.h        HX_SYS_<name> for every live syscall, HX_SYSCALL_STATIC_COUNT
  user.h           typed user-space stubs hx_user_<name>(...) over HX_USER_SYSCALL6
  syscall_table.c  hx_syscall_static_table[]: the descriptors (struct hx_syscall_desc) and handlers
  syscalls.md      the reference, docs/syscalls.md

Python 3 standard library only; the output depends on the table alone (not on paths or time).
"""

import argparse
import re
import sys
import textwrap

TABLE_PATH = "syscall/syscalls.tbl"  # named in the outputs, whatever path --table was given
GENERATOR_PATH = "syscall/tools/gensyscalls.py"
MAX_ARGS = 6
REGISTERS = ("rdi", "rsi", "rdx", "r10", "r8", "r9")
USER_STUB_PREFIX = "hx_user_"  # user.h: hx_user_<name>(...)
COLUMNS = 100
TAB = 8

NAME_RE = re.compile(r"[a-z_][a-z0-9_]*\Z")
ERRNO_RE = re.compile(r"E[A-Z0-9]+\Z")
INCLUDE_RE = re.compile(r'(<[A-Za-z0-9_./+-]+>|"[A-Za-z0-9_./+-]+")\Z')
# A C integer constant expression as the table may write it: identifiers, numbers, parentheses
# and operators. No strings, commas, braces or preprocessor tokens.
EXPR_RE = re.compile(r"[A-Za-z0-9_ ()+\-*/%<>&|^~!?:]+\Z")
INT_LITERAL_RE = re.compile(r"(-)?\s*(0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)"
                            r"(?:[uU]|[lL]{1,2}|[uU][lL]{1,2}|[lL]{1,2}[uU])?\Z")
OCTAL_RE = re.compile(r"-?\s*0[0-9]+[uUlL]*\Z")
PLAIN_INT_RE = re.compile(r"(0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)\Z")

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1
UINT32_MAX = (1 << 32) - 1
MAX_ALIGN = 128  # struct hx_syscall_arg.align is a uint8_t
MAX_ENUM_VALUES = 255  # .enum_count is a uint8_t

# Identifiers an argument may not be called: the stubs in user.h are C and C++.
KEYWORDS = frozenset(
    """
    alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
    char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
    co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
    extern false float for friend goto if inline int long mutable namespace new noexcept not
    not_eq nullptr operator or or_eq private protected public register reinterpret_cast requires
    restrict return short signed sizeof static static_assert static_cast struct switch template
    this thread_local throw true try typedef typeid typename union unsigned using virtual void
    volatile wchar_t while xor xor_eq
    """.split()
)

INTEGER_KINDS = ("int", "uint")
POINTER_KINDS = ("in", "out", "inout")
ARRAY_KINDS = ("array_in", "array_out")
KINDS = ("int", "uint", "flags", "enum") + POINTER_KINDS + ARRAY_KINDS + (
    "str", "handle", "deadline")
HANDLE_TYPES = {"channel": "HX_KOBJ_CHANNEL", "any": "HX_KOBJ_ANY"}
RIGHTS = {"read": "HX_RIGHT_READ", "write": "HX_RIGHT_WRITE", "transfer": "HX_RIGHT_TRANSFER"}
# The order validation errors are listed in (docs).
DERIVED_ERRORS = ("EFAULT", "EINVAL", "ENAMETOOLONG", "EBADF", "EACCES")


class TableError(Exception):
    pass


class Arg:
    def __init__(self, name, kind, line, index):
        self.name = name
        self.kind = kind
        self.line = line
        self.index = index
        self.lo = self.hi = None  # int/uint bounds (C expressions)
        self.mask = None  # flags
        self.values = []  # enum
        self.ref = None  # in/out/inout: len=<arg>; arrays: count=<arg>
        self.ref_index = None
        self.size = None  # in/out/inout size=, arrays size= (C expression or literal)
        self.align = 1
        self.nullable = False
        self.max = None  # str
        self.htype = None  # handle
        self.rights = []
        self.broken = False  # its kind had an error (already reported)

    def canonical(self):
        """The kind as the docs show it, normalised."""
        k = self.kind
        if k in INTEGER_KINDS:
            return "%s(%s, %s)" % (k, self.lo, self.hi)
        if k == "flags":
            return "flags(%s)" % self.mask
        if k == "enum":
            return "enum(%s)" % ", ".join(self.values)
        if k in POINTER_KINDS or k in ARRAY_KINDS:
            opts = []
            if k in POINTER_KINDS:
                opts.append("len=%s" % self.ref if self.ref else "size=%s" % self.size)
            else:
                opts += ["count=%s" % self.ref, "size=%s" % self.size]
            if self.align != 1:
                opts.append("align=%d" % self.align)
            if self.nullable:
                opts.append("nullable")
            return "%s(%s)" % (k, ", ".join(opts))
        if k == "str":
            return "str(max=%s)" % self.max
        if k == "handle":
            if self.rights:
                return "handle(%s, %s)" % (self.htype, "|".join(self.rights))
            return "handle(%s)" % self.htype
        return k


class Entry:
    def __init__(self, nr, name, line):
        self.nr = nr
        self.name = name
        self.line = line
        self.summary = None
        self.returns = None
        self.args = []
        self.errors = []  # (code, text, line)
        self.retired = False
        self.body_line = None  # first arg/returns/error line (a retired entry has none)
        self.valid = False  # the `syscall` line itself was correct


# ---- Parsing -------------------------------------------------------------------------------------


def split_params(text):
    """Split at top-level commas; raises TableError on unbalanced parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise TableError("unbalanced parentheses")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise TableError("unbalanced parentheses")
    parts.append("".join(cur))
    return [" ".join(p.split()) for p in parts]


def int_literal(expr):
    """The value of a plain integer literal (optionally negative, C suffixes allowed), else None."""
    m = INT_LITERAL_RE.match(expr)
    if not m:
        return None
    value = int(m.group(2), 0)
    return -value if m.group(1) else value


def check_expr(expr, what):
    if not expr:
        raise TableError("%s is empty" % what)
    if not EXPR_RE.match(expr):
        raise TableError("%s `%s` is not a C constant expression" % (what, expr))
    if OCTAL_RE.match(expr):
        raise TableError("%s `%s`: octal literals are not allowed (write it in decimal or hex)"
                         % (what, expr))
    depth = 0
    for ch in expr:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        raise TableError("%s `%s` has unbalanced parentheses" % (what, expr))
    return expr


def plain_int(text, what):
    if not PLAIN_INT_RE.match(text):
        raise TableError("%s must be an integer literal, not `%s`" % (what, text))
    return int(text, 0)


def parse_options(arg, params, allowed, flags=()):
    """key=value options (and bare flags such as nullable), each at most once."""
    seen = {}
    for p in params:
        if p in flags:
            key, value = p, None
        elif "=" in p:
            key, _, value = p.partition("=")
            key, value = key.strip(), value.strip()
            if key in flags:
                raise TableError("`%s` takes no value" % key)
        else:
            key, value = p, None
        if key not in allowed and key not in flags:
            raise TableError("unknown option `%s` in %s(...) (allowed: %s)"
                             % (p, arg.kind, ", ".join(list(allowed) + list(flags))))
        if key in allowed and value is None:
            raise TableError("option `%s` needs a value (%s=...)" % (key, key))
        if key in allowed and value == "":
            raise TableError("option `%s=` has an empty value" % key)
        if key in seen:
            raise TableError("option `%s` given twice" % key)
        seen[key] = value
    return seen


def parse_size(text):
    lit = int_literal(text)
    if lit is None:
        return check_expr(text, "size")
    if not PLAIN_INT_RE.match(text):
        raise TableError("size must be a plain integer or a C constant expression, not `%s`"
                         % text)
    if lit < 1 or lit > UINT32_MAX:
        raise TableError("size=%s is outside 1 .. %d" % (text, UINT32_MAX))
    return str(lit)


def parse_align(text):
    align = plain_int(text, "align")
    if align < 1 or align > MAX_ALIGN or align & (align - 1):
        raise TableError("align=%s is not a power of two in 1 .. %d" % (text, MAX_ALIGN))
    return align


def check_size_align(arg):
    lit = int_literal(arg.size)
    if lit is not None and arg.align > 1 and lit % arg.align:
        raise TableError("size=%s is not a multiple of align=%d" % (arg.size, arg.align))


def parse_kind(arg, text):
    m = re.match(r"([a-z_]+)\s*(.*)\Z", text)
    if not m:
        raise TableError("bad kind `%s`" % text)
    kind, rest = m.group(1), m.group(2)
    if kind not in KINDS:
        raise TableError("unknown kind `%s` (kinds: %s)" % (kind, ", ".join(KINDS)))
    arg.kind = kind
    if kind == "deadline":
        if rest:
            raise TableError("`deadline` takes no parameters")
        return
    if not rest:
        raise TableError("`%s` needs parameters: %s(...)" % (kind, kind))
    if not (rest.startswith("(") and rest.endswith(")")):
        raise TableError("bad kind syntax `%s`: expected %s(...)" % (text, kind))
    params = split_params(rest[1:-1])
    if params == [""]:
        params = []
    if "" in params:
        raise TableError("empty parameter in `%s`" % text)

    if kind in INTEGER_KINDS:
        if len(params) != 2:
            raise TableError("`%s` takes (min, max), got %d parameter%s"
                             % (kind, len(params), "" if len(params) == 1 else "s"))
        arg.lo = check_expr(params[0], "min")
        arg.hi = check_expr(params[1], "max")
        lo, hi = int_literal(arg.lo), int_literal(arg.hi)
        lower, upper = (INT64_MIN, INT64_MAX) if kind == "int" else (0, UINT64_MAX)
        for name, value in (("min", lo), ("max", hi)):
            if value is not None and not lower <= value <= upper:
                raise TableError("%s %d is outside the range of %s" % (
                    name, value, "int64_t" if kind == "int" else "uint64_t"))
        if lo is not None and hi is not None and lo > hi:
            raise TableError("min %d is above max %d" % (lo, hi))
    elif kind == "flags":
        if len(params) != 1:
            raise TableError("`flags` takes one mask, got %d parameters" % len(params))
        arg.mask = check_expr(params[0], "mask")
        lit = int_literal(arg.mask)
        if lit is not None and not 0 <= lit <= UINT64_MAX:
            raise TableError("mask %d is outside the range of uint64_t" % lit)
    elif kind == "enum":
        if not params:
            raise TableError("`enum` needs at least one value")
        if len(params) > MAX_ENUM_VALUES:
            raise TableError("`enum` has %d values, at most %d" % (len(params), MAX_ENUM_VALUES))
        for p in params:
            check_expr(p, "enum value")
            if p in arg.values:
                raise TableError("enum value `%s` listed twice" % p)
            arg.values.append(p)
    elif kind in POINTER_KINDS:
        opts = parse_options(arg, params, ("len", "size", "align"), ("nullable",))
        if ("len" in opts) == ("size" in opts):
            raise TableError("`%s` needs exactly one of len=<arg> and size=N" % kind)
        if "len" in opts:
            if not NAME_RE.match(opts["len"]):
                raise TableError("len=%s is not an argument name" % opts["len"])
            arg.ref = opts["len"]
        else:
            arg.size = parse_size(opts["size"])
        if "align" in opts:
            arg.align = parse_align(opts["align"])
        if arg.size is not None:
            check_size_align(arg)
        arg.nullable = "nullable" in opts
    elif kind in ARRAY_KINDS:
        opts = parse_options(arg, params, ("count", "size", "align"), ("nullable",))
        for key in ("count", "size"):
            if key not in opts:
                raise TableError("`%s` needs count=<arg> and size=N (missing %s=)" % (kind, key))
        if not NAME_RE.match(opts["count"]):
            raise TableError("count=%s is not an argument name" % opts["count"])
        arg.ref = opts["count"]
        arg.size = parse_size(opts["size"])
        if "align" in opts:
            arg.align = parse_align(opts["align"])
        check_size_align(arg)
        arg.nullable = "nullable" in opts
    elif kind == "str":
        opts = parse_options(arg, params, ("max",))
        if "max" not in opts:
            raise TableError("`str` needs max=N")
        lit = int_literal(opts["max"])
        if lit is None:
            arg.max = check_expr(opts["max"], "max")
        elif not PLAIN_INT_RE.match(opts["max"]) or not 1 <= lit <= INT64_MAX:
            raise TableError("max=%s is not an integer in 1 .. %d" % (opts["max"], INT64_MAX))
        else:
            arg.max = str(lit)
    elif kind == "handle":
        if not 1 <= len(params) <= 2:
            raise TableError("`handle` takes (type[, rights]), got %d parameters" % len(params))
        if params[0] not in HANDLE_TYPES:
            raise TableError("unknown handle type `%s` (types: %s)"
                             % (params[0], ", ".join(HANDLE_TYPES)))
        arg.htype = params[0]
        if len(params) == 2:
            for right in (r.strip() for r in params[1].split("|")):
                if right not in RIGHTS:
                    raise TableError("unknown right `%s` (rights: %s, joined with |)"
                                     % (right, ", ".join(RIGHTS)))
                if right in arg.rights:
                    raise TableError("right `%s` listed twice" % right)
                arg.rights.append(right)
            arg.rights.sort(key=list(RIGHTS).index)


def check_text(text, directive):
    if not text:
        raise TableError("`%s` needs a text" % directive)
    for ch in text:
        if not " " <= ch <= "~":
            raise TableError("`%s` text may hold printable ASCII only (found %r)"
                             % (directive, ch))
    if "*/" in text:
        raise TableError("`%s` text may not contain */ (it goes into C comments)" % directive)
    return text


class Parser:
    def __init__(self):
        self.errors = []  # (line, message)
        self.includes = []
        self.entries = []
        self.names = {}  # name -> line
        self.expected_nr = 0
        self.entry = None
        self.last_line = 0

    def error(self, line, message):
        self.errors.append((line, message))

    def parse(self, text):
        for lineno, raw in enumerate(text.splitlines(), 1):
            self.last_line = lineno
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split(None, 1)
            directive = words[0]
            rest = " ".join(words[1].split()) if len(words) > 1 else ""
            handler = getattr(self, "d_" + directive, None) if NAME_RE.match(directive) else None
            if handler is None:
                self.error(lineno, "unknown directive `%s` (directives: include, syscall, "
                           "summary, arg, returns, error, retired)" % directive)
                continue
            try:
                handler(lineno, rest)
            except TableError as e:
                self.error(lineno, str(e))
        self.finish_entry()
        if not self.entries and not self.errors:
            self.error(max(self.last_line, 1), "the table has no syscall entries")
        self.errors.sort(key=lambda e: e[0])
        return self.errors

    def need_entry(self, directive):
        if self.entry is None:
            raise TableError("`%s` outside a syscall entry (a `syscall <nr> <name>` line "
                             "comes first)" % directive)
        return self.entry

    def d_include(self, line, rest):
        if self.entries or self.entry:
            raise TableError("`include` after the first syscall entry: includes come first")
        if not INCLUDE_RE.match(rest):
            raise TableError("bad include `%s`: expected include <header> or include \"header\""
                             % rest)
        if rest in self.includes:
            raise TableError("include %s given twice" % rest)
        self.includes.append(rest)

    def d_syscall(self, line, rest):
        self.finish_entry()
        self.entry = Entry(-1, "?", line)  # until this line is known to be right
        words = rest.split()
        if len(words) != 2:
            if words and words[0].isdigit():  # do not report the next number as a gap too
                self.expected_nr = max(self.expected_nr, int(words[0]) + 1)
            raise TableError("expected `syscall <nr> <name>`")
        nr_text, name = words
        if not re.match(r"(0|[1-9][0-9]*)\Z", nr_text):
            raise TableError("syscall number `%s` is not a decimal number" % nr_text)
        nr = int(nr_text)
        entry = Entry(nr, name, line)
        self.entry = entry  # even when wrong, so its lines are not reported as outside an entry
        if nr != self.expected_nr:
            expected = self.expected_nr
            self.expected_nr = max(self.expected_nr, nr + 1)
            if nr < expected:
                raise TableError("syscall number %d out of order: numbers ascend from 0, the "
                                 "next one is %d" % (nr, expected))
            raise TableError("syscall number %d leaves a gap: the next number is %d (numbers "
                             "are never skipped or reused; a syscall that goes away stays as a "
                             "`retired` entry)" % (nr, expected))
        self.expected_nr = nr + 1
        if not NAME_RE.match(name):
            raise TableError("bad syscall name `%s`: expected [a-z_][a-z0-9_]*" % name)
        if name in self.names:
            raise TableError("duplicate syscall name `%s` (first at line %d)"
                             % (name, self.names[name]))
        self.names[name] = line
        entry.valid = True

    def d_summary(self, line, rest):
        entry = self.need_entry("summary")
        if entry.summary is not None:
            raise TableError("second `summary` in syscall %s" % entry.name)
        entry.summary = rest
        check_text(rest, "summary")

    def body(self, directive, line):
        entry = self.need_entry(directive)
        if entry.retired:
            raise TableError("`%s` after `retired`: a retired entry has only a summary"
                             % directive)
        if entry.body_line is None:
            entry.body_line = line
        return entry

    def d_arg(self, line, rest):
        entry = self.body("arg", line)
        name, _, kind = rest.partition(" ")
        if not kind:
            raise TableError("expected `arg <name> <kind>`")
        if len(entry.args) == MAX_ARGS:
            raise TableError("syscall %s has more than %d arguments" % (entry.name, MAX_ARGS))
        if not NAME_RE.match(name):
            raise TableError("bad argument name `%s`: expected [a-z_][a-z0-9_]*" % name)
        if name in KEYWORDS:
            raise TableError("argument name `%s` is a C or C++ keyword" % name)
        if any(a.name == name for a in entry.args):
            raise TableError("duplicate argument name `%s` in syscall %s" % (name, entry.name))
        arg = Arg(name, None, line, len(entry.args))
        entry.args.append(arg)  # even when its kind is wrong: others may name it in len=
        try:
            parse_kind(arg, kind)
        except TableError:
            arg.broken = True
            raise

    def d_returns(self, line, rest):
        entry = self.body("returns", line)
        if entry.returns is not None:
            raise TableError("second `returns` in syscall %s" % entry.name)
        entry.returns = rest
        check_text(rest, "returns")

    def d_error(self, line, rest):
        entry = self.body("error", line)
        code, _, text = rest.partition(" ")
        if not ERRNO_RE.match(code):
            raise TableError("bad error code `%s`: expected E<NAME> (an HX_E* code without "
                             "HX_), e.g. EINVAL" % code)
        check_text(text, "error")
        if any(c == code and t == text for c, t, _ in entry.errors):
            raise TableError("duplicate error line %s in syscall %s" % (code, entry.name))
        entry.errors.append((code, text, line))

    def d_retired(self, line, rest):
        entry = self.need_entry("retired")
        if rest:
            raise TableError("`retired` takes no operands")
        if entry.retired:
            raise TableError("second `retired` in syscall %s" % entry.name)
        if entry.body_line is not None:
            raise TableError("`retired` in an entry with arg/returns/error lines (from line %d):"
                             " a retired entry has only a summary" % entry.body_line)
        entry.retired = True

    def finish_entry(self):
        entry, self.entry = self.entry, None
        if entry is None or not entry.valid:
            return
        if entry.summary is None:
            self.error(entry.line, "syscall %s has no `summary`" % entry.name)
        if not entry.retired and entry.returns is None:
            self.error(entry.line, "syscall %s has no `returns`" % entry.name)
        by_name = {a.name: a for a in entry.args}
        for arg in entry.args:
            if arg.ref is None or arg.broken:
                continue
            key = "len" if arg.kind in POINTER_KINDS else "count"
            target = by_name.get(arg.ref)
            if target is not None and target.broken:
                continue
            if target is None:
                self.error(arg.line, "%s=%s: syscall %s has no argument `%s`"
                           % (key, arg.ref, entry.name, arg.ref))
            elif target.kind not in INTEGER_KINDS:
                self.error(arg.line, "%s=%s names argument `%s` of kind %s: it must be an "
                           "integer (int or uint)" % (key, arg.ref, arg.ref, target.kind))
            else:
                arg.ref_index = target.index
        self.entries.append(entry)


# ---- C helpers -----------------------------------------------------------------------------------


def c_string(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def width(text):
    col = 0
    for ch in text:
        col = (col // TAB + 1) * TAB if ch == "\t" else col + 1
    return col


def wrap_call(head, items, tail, indent="\t"):
    """`head(item, item, ...)tail`, wrapped at COLUMNS with continuation lines aligned after the
    opening parenthesis (as clang-format does)."""
    one = indent + head + ", ".join(items) + tail
    if width(one) <= COLUMNS or not items:
        return [one]
    cont = indent + " " * (width(indent + head) - width(indent))
    lines, cur = [], indent + head
    for i, item in enumerate(items):
        piece = item + ("," if i + 1 < len(items) else tail)
        fresh = i == 0 or cur == cont
        if not fresh and width(cur + " " + piece) > COLUMNS:
            lines.append(cur)
            cur = cont + piece
        else:
            cur += ("" if fresh else " ") + piece
    lines.append(cur)
    return lines


GEN_NOTE = "Generated from %s by %s: do not edit." % (TABLE_PATH, GENERATOR_PATH)


def live(entries):
    return [e for e in entries if not e.retired]


# ---- numbers.h -----------------------------------------------------------------------------------


def gen_numbers(entries):
    out = [
        "/* SPDX-License-Identifier: MIT */",
        "/*",
        " * helix/syscall/numbers.h: the syscall numbers.",
        " * " + GEN_NOTE,
        " * A number is never reused: a retired syscall keeps its number, and HX_SYS_<name> is not",
        " * defined for it.",
        " */",
        "#ifndef HELIX_SYSCALL_NUMBERS_H",
        "#define HELIX_SYSCALL_NUMBERS_H",
        "",
    ]
    namew = max([len("HX_SYS_" + e.name) for e in live(entries)] or [0])
    for e in entries:
        if e.retired:
            out.append("/* %d: %s (retired) */" % (e.nr, e.name))
        else:
            out.append("#define %-*s %d" % (namew, "HX_SYS_" + e.name, e.nr))
    out += [
        "",
        "/* One more than the highest number in the table. */",
        "#define HX_SYSCALL_STATIC_COUNT %d" % (entries[-1].nr + 1),
        "",
        "#endif /* HELIX_SYSCALL_NUMBERS_H */",
    ]
    return "\n".join(out) + "\n"


# ---- user.h --------------------------------------------------------------------------------------

USER_TYPES = {
    "int": "int64_t",
    "uint": "uint64_t",
    "flags": "uint64_t",
    "enum": "int64_t",
    "in": "const void *",
    "array_in": "const void *",
    "str": "const char *",
    "out": "void *",
    "inout": "void *",
    "array_out": "void *",
    "handle": "int64_t",
    "deadline": "uint64_t",
}


def param_decl(arg):
    ctype = USER_TYPES[arg.kind]
    return ctype + arg.name if ctype.endswith("*") else "%s %s" % (ctype, arg.name)


def user_value(arg):
    if USER_TYPES[arg.kind].endswith("*"):
        return "(uint64_t)(uintptr_t)" + arg.name
    return "(uint64_t)" + arg.name


def user_signature(entry):
    """The stub's declaration, wrapped as C."""
    params = [param_decl(a) for a in entry.args] or ["void"]
    return wrap_call("long %s%s(" % (USER_STUB_PREFIX, entry.name), params, ");", indent="")


USER_H_HEAD = """/* SPDX-License-Identifier: MIT */
/*
 * helix/syscall/user.h: typed syscall stubs for user programs.
 * @NOTE@
 *
 * Each @PREFIX@<name>(...) passes its arguments as the six raw register values to
 * HX_USER_SYSCALL6(nr, a0, a1, a2, a3, a4, a5) (unused ones 0) and returns its result: >= 0, or
 * a negative HX_E* code. By default that is the x86_64 `syscall` instruction (nr in rax, the
 * arguments in rdi, rsi, rdx, r10, r8, r9, the result in rax; rcx and r11 clobbered). A hosted
 * test defines HX_USER_SYSCALL6 before including this header, e.g. as
 * helix_syscall_entry(nr, a0, a1, a2, a3, a4, a5), to run the same stubs against the gateway.
 * docs/syscalls.md describes every call.
 */
#ifndef HELIX_SYSCALL_USER_H
#define HELIX_SYSCALL_USER_H

#include <stdint.h>

#include <helix/abi.h>

#ifndef HX_USER_SYSCALL6
static inline long hx_user_syscall6(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                                    uint64_t a4, uint64_t a5)
{
\tregister uint64_t r10 __asm__("r10") = a3;
\tregister uint64_t r8 __asm__("r8") = a4;
\tregister uint64_t r9 __asm__("r9") = a5;
\tlong ret;

\t__asm__ volatile("syscall"
\t                 : "=a"(ret)
\t                 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
\t                 : "rcx", "r11", "memory");
\treturn ret;
}
#define HX_USER_SYSCALL6(nr, a0, a1, a2, a3, a4, a5) \\
\thx_user_syscall6((nr), (a0), (a1), (a2), (a3), (a4), (a5))
#endif
"""


def gen_user(entries):
    head = USER_H_HEAD.replace("@NOTE@", GEN_NOTE).replace("@PREFIX@", USER_STUB_PREFIX)
    out = head.rstrip("\n").split("\n")
    for e in live(entries):
        values = [user_value(a) for a in e.args] + ["0"] * (MAX_ARGS - len(e.args))
        out.append("")
        out.append("/* %s: %s */" % (e.name, e.summary))
        params = [param_decl(a) for a in e.args] or ["void"]
        out += wrap_call("static inline long %s%s(" % (USER_STUB_PREFIX, e.name), params, ")",
                         indent="")
        out.append("{")
        out += wrap_call("return HX_USER_SYSCALL6(", [str(e.nr)] + values, ");")
        out.append("}")
    out += [
        "",
        "#endif /* HELIX_SYSCALL_USER_H */",
    ]
    return "\n".join(out) + "\n"


# ---- syscall_table.c -----------------------------------------------------------------------------

ARG_KINDS_C = {
    "int": "HX_ARG_INT",
    "uint": "HX_ARG_UINT",
    "flags": "HX_ARG_FLAGS",
    "enum": "HX_ARG_ENUM",
    "in": "HX_ARG_UPTR",
    "out": "HX_ARG_UPTR",
    "inout": "HX_ARG_UPTR",
    "array_in": "HX_ARG_UARRAY",
    "array_out": "HX_ARG_UARRAY",
    "str": "HX_ARG_USTR",
    "handle": "HX_ARG_HANDLE",
    "deadline": "HX_ARG_DEADLINE",
}
ACCESS_C = {
    "in": "HX_UACCESS_READ",
    "array_in": "HX_UACCESS_READ",
    "str": "HX_UACCESS_READ",
    "out": "HX_UACCESS_WRITE",
    "array_out": "HX_UACCESS_WRITE",
    "inout": "HX_UACCESS_READ | HX_UACCESS_WRITE",
}


def enum_array(entry, arg):
    return "hx_enum_values_%d_%s" % (entry.nr, arg.name)


def error_array(entry):
    return "hx_errors_%d_%s" % (entry.nr, entry.name)


def arg_fields(entry, arg):
    """The designated initialisers of one struct hx_syscall_arg. Fields the kind does not use
    stay 0."""
    f = [(".name", c_string(arg.name)), (".kind", ARG_KINDS_C[arg.kind])]
    k = arg.kind
    if k == "int":
        f += [(".min", "(int64_t)(%s)" % arg.lo), (".max", "(int64_t)(%s)" % arg.hi)]
    elif k == "uint":
        f += [(".min", "(int64_t)(uint64_t)(%s)" % arg.lo),
              (".max", "(int64_t)(uint64_t)(%s)" % arg.hi)]
    elif k == "flags":
        f.append((".mask", "(uint64_t)(%s)" % arg.mask))
    elif k == "enum":
        f += [(".enum_values", enum_array(entry, arg)), (".enum_count", str(len(arg.values)))]
    elif k in POINTER_KINDS or k in ARRAY_KINDS:
        access = ACCESS_C[k] + (" | HX_UACCESS_NULL" if arg.nullable else "")
        f.append((".access", access))
        if arg.ref is not None:
            f.append((".len_arg", "%d /* %s */" % (arg.ref_index, arg.ref)))
        else:
            f.append((".len_arg", "HX_ARG_NO_LEN"))
        f.append((".align", str(arg.align)))
        if arg.size is not None:
            lit = int_literal(arg.size)
            f.append((".size", str(lit) if lit is not None else "(uint32_t)(%s)" % arg.size))
    elif k == "str":
        f += [(".access", ACCESS_C[k]), (".max", "(int64_t)(%s)" % arg.max)]
    elif k == "handle":
        rights = " | ".join(RIGHTS[r] for r in arg.rights) or "0"
        f += [(".handle_type", HANDLE_TYPES[arg.htype]), (".rights", rights)]
    return f


def static_assert(cond, message):
    return wrap_call("_Static_assert(", [cond, c_string(message)], ");", indent="")


def static_asserts(entry, arg):
    where = "%s: %s" % (entry.name, arg.name)
    out = []
    if arg.kind in INTEGER_KINDS:
        lo, hi = int_literal(arg.lo), int_literal(arg.hi)
        # Literal bounds were checked here; (uint64_t)0 <= max holds anyway (and gcc's
        # -Wtype-limits would say so).
        if (lo is None or hi is None) and not (arg.kind == "uint" and lo == 0):
            t = "int64_t" if arg.kind == "int" else "uint64_t"
            out += static_assert("(%s)(%s) <= (%s)(%s)" % (t, arg.lo, t, arg.hi),
                                 "%s: min is above max" % where)
    if arg.size is not None and int_literal(arg.size) is None:
        out += static_assert("(%s) >= 1 && (%s) <= UINT32_MAX" % (arg.size, arg.size),
                             "%s: size outside 1 .. UINT32_MAX" % where)
        if arg.align > 1:
            out += static_assert("(%s) %% %d == 0" % (arg.size, arg.align),
                                 "%s: size is not a multiple of align" % where)
    if arg.kind == "str" and int_literal(arg.max) is None:
        out += static_assert("(%s) >= 1" % arg.max, "%s: max is below 1" % where)
    return out


def gen_table_c(includes, entries):
    out = [
        "/* SPDX-License-Identifier: MIT */",
        "/*",
        " * syscall_table.c: the static syscall descriptors.",
        " * " + GEN_NOTE,
        " * Indexed by number; a retired number's entry has a NULL handler (-HX_ENOSYS).",
        " */",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "#include <helix/errors.h>",
        "#include <helix/syscall/handles.h>",
        "#include <helix/syscall/syscall.h>",
        "#include <helix/syscall/uaccess.h>",
    ]
    fixed = {"<stddef.h>", "<stdint.h>", "<helix/errors.h>", "<helix/syscall/handles.h>",
             "<helix/syscall/syscall.h>", "<helix/syscall/uaccess.h>"}
    extra = [i for i in includes if i not in fixed]
    if extra:
        out.append("")
        out += ["#include %s" % i for i in extra]
    out += [
        "",
        "_Static_assert(HX_SYSCALL_STATIC_COUNT == %d, \"numbers.h and the table disagree\");"
        % (entries[-1].nr + 1),
        "_Static_assert(HX_SYSCALL_STATIC_COUNT <= HX_SYSCALL_DYNAMIC_BASE,",
        "               \"the static numbers run into the dynamic range\");",
        "",
        "/* The handlers (sys_*.c). */",
    ]
    for e in live(entries):
        params = ["struct hx_syscall_ctx *ctx", "const uint64_t args[HX_SYSCALL_ARGS]"]
        out += wrap_call("long hx_sys_%s(" % e.name, params, ");", indent="")

    checks, codes = [], []
    for e in live(entries):
        for a in e.args:
            checks += static_asserts(e, a)
        codes += [(c, e.name) for c, _, _ in e.errors if c not in [x for x, _ in codes]]
    for c, name in codes:
        checks += static_assert("HX_%s > 0" % c, "error %s (%s) is not an HX_E* code" % (c, name))
    if checks:
        out += ["", "/* What the generator cannot check: symbolic bounds, sizes, error names. */"]
        out += checks

    enums = [(e, a) for e in live(entries) for a in e.args if a.kind == "enum"]
    if enums:
        out += ["", "/* enum arguments: the allowed values. */"]
        for e, a in enums:
            out += wrap_call("static const int64_t %s[%d] = { " % (enum_array(e, a), len(a.values)),
                             a.values, " };", indent="")

    documented = [e for e in live(entries) if e.errors]
    if documented:
        out += ["", "/* The errors each handler documents (its `error` lines), as results. */"]
        for e in documented:
            out += wrap_call("static const int %s[%d] = { " % (error_array(e), len(e.errors)),
                             ["-HX_%s" % c for c, _, _ in e.errors], " };", indent="")

    out += ["", "const struct hx_syscall_desc hx_syscall_static_table[HX_SYSCALL_STATIC_COUNT] = {"]
    for e in entries:
        out.append("\t[%d] = {" % e.nr)
        out.append("\t\t.nr = %d," % e.nr)
        out.append("\t\t.name = %s," % c_string(e.name))
        out.append("\t\t.summary = %s," % c_string(e.summary))
        if e.retired:
            out.append("\t\t.handler = NULL, /* retired */")
        else:
            out.append("\t\t.nargs = %d," % len(e.args))
            if e.args:
                out.append("\t\t.args = {")
                for a in e.args:
                    out.append("\t\t\t[%d] = {" % a.index)
                    for field, value in arg_fields(e, a):
                        out.append("\t\t\t\t%s = %s," % (field, value))
                    out.append("\t\t\t},")
                out.append("\t\t},")
            if e.errors:
                out.append("\t\t.errors = %s," % error_array(e))
                out.append("\t\t.nerrors = %d," % len(e.errors))
            out.append("\t\t.handler = hx_sys_%s," % e.name)
        out.append("\t},")
    out.append("};")
    return "\n".join(out) + "\n"


# ---- syscalls.md ---------------------------------------------------------------------------------


def md_cell(text):
    return text.replace("|", "\\|")


def md_text(text):
    """Free text from the table (summary, returns, error): backslashes, < and & escaped outside
    code spans, so it never reads as HTML."""
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"([\\<&])", r"\\\1", parts[i])
    return "".join(parts)


def code(expr):
    """A C value in prose: plain integers as they are, anything else as code."""
    return expr if re.match(r"-?(0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)\Z", expr) else "`%s`" % expr


def one_of(values):
    return ", ".join(code(v) for v in values)


def rights_words(rights):
    words = list(rights)
    if len(words) == 1:
        return "the %s right" % words[0]
    return "the %s and %s rights" % (", ".join(words[:-1]), words[-1])


def pointer_extent(arg):
    """How much memory a pointer argument covers, in words."""
    if arg.kind in ARRAY_KINDS:
        return "`%s` elements of %s bytes (`%s` * %s must not overflow)" % (
            arg.ref, code(arg.size), arg.ref, code(arg.size))
    if arg.ref is not None:
        return "`%s` bytes" % arg.ref
    return "%s bytes" % code(arg.size)


def arg_rule(arg):
    k = arg.kind
    if k == "int":
        return "signed integer from %s to %s" % (code(arg.lo), code(arg.hi))
    if k == "uint":
        return "unsigned integer from %s to %s" % (code(arg.lo), code(arg.hi))
    if k == "flags":
        return "flags: no bit outside %s" % code(arg.mask)
    if k == "enum":
        return "one of %s" % one_of(arg.values)
    if k in POINTER_KINDS or k in ARRAY_KINDS:
        what = "buffer" if k in POINTER_KINDS else "array"
        verb = {"in": "reads", "out": "writes", "inout": "reads and writes"}[k.split("_")[-1]]
        parts = ["user %s the kernel %s, %s" % (what, verb, pointer_extent(arg))]
        if arg.align > 1:
            parts.append("aligned to %d bytes" % arg.align)
        if not arg.nullable:
            parts.append("NULL refused")
        elif arg.ref is not None:
            parts.append("NULL allowed when `%s` is 0" % arg.ref)
        else:
            parts.append("NULL allowed (then nothing is %s)"
                         % {"reads": "read", "writes": "written"}.get(verb, "read or written"))
        where = "must lie in the caller's user range without wrap-around"
        if arg.ref is not None:
            where += " (if `%s` is 0, just the address)" % arg.ref
        parts.append(where)
        if k.split("_")[-1] in ("out", "inout"):
            parts.append("its pages must be writable")
        return "; ".join(parts)
    if k == "str":
        return ("NUL-terminated user string the kernel reads, at most %s bytes before the NUL; "
                "NULL refused; must lie in the caller's user range" % code(arg.max))
    if k == "handle":
        target = "a channel" if arg.htype == "channel" else "any kernel object"
        rule = "handle to %s" % target
        if arg.rights:
            rule += " with %s" % rights_words(arg.rights)
        return rule + "; must be live in the caller's handle table"
    if k == "deadline":
        return ("absolute monotonic time in ns (the clock `HX_CLOCK_MONOTONIC`), `HX_NOWAIT` "
                "(do not wait) or `HX_FOREVER` (no deadline); any value is accepted")
    raise AssertionError(k)


def arg_errors(arg):
    """The validation errors an argument's kind gives: [(code, when)]."""
    k, n = arg.kind, "`%s`" % arg.name
    errs = []
    if k == "int":
        errs.append(("EINVAL", "%s is below %s or above %s" % (n, code(arg.lo), code(arg.hi))))
    elif k == "uint":
        if int_literal(arg.lo) == 0:
            errs.append(("EINVAL", "%s is above %s" % (n, code(arg.hi))))
        else:
            errs.append(("EINVAL", "%s is below %s or above %s"
                         % (n, code(arg.lo), code(arg.hi))))
    elif k == "flags":
        errs.append(("EINVAL", "%s has a bit outside %s" % (n, code(arg.mask))))
    elif k == "enum":
        if len(arg.values) == 1:
            errs.append(("EINVAL", "%s is not %s" % (n, one_of(arg.values))))
        else:
            errs.append(("EINVAL", "%s is none of %s" % (n, one_of(arg.values))))
    elif k in POINTER_KINDS or k in ARRAY_KINDS:
        if not arg.nullable:
            null = "is NULL, "
        elif arg.ref is not None:
            null = "is NULL while `%s` is not 0, " % arg.ref
        else:
            null = ""
        direction = k.split("_")[-1]
        page = {"in": "a page of it is not mapped",
                "out": "a page of it is not mapped or not writable",
                "inout": "a page of it is not mapped or not writable"}[direction]
        errs.append(("EFAULT", "%s %slies outside the caller's user range or wraps around, or %s"
                     % (n, null, page)))
        if k in ARRAY_KINDS:
            errs.append(("EINVAL", "`%s` * %s overflows" % (arg.ref, code(arg.size))))
        if arg.align > 1:
            errs.append(("EINVAL", "%s is not aligned to %d bytes" % (n, arg.align)))
    elif k == "str":
        errs.append(("EFAULT", "%s is NULL or lies outside the caller's user range, or a page "
                     "before its NUL is not mapped" % n))
        errs.append(("ENAMETOOLONG", "%s is longer than %s bytes (no NUL among the first %s "
                     "+ 1)" % (n, code(arg.max), code(arg.max))))
    elif k == "handle":
        why = "%s is not a live handle of the caller (closed, stale, forged or out of range)" % n
        if arg.htype != "any":
            why += " or not a handle to a %s" % arg.htype
        errs.append(("EBADF", why))
        if arg.rights:
            errs.append(("EACCES", "%s lacks %s" % (n, rights_words(arg.rights))))
    return errs


NBSP = "\u00a0"  # stands for a space inside a code span while wrapping


# A word that would start a list, heading, quote or fence at the start of a line.
BLOCK_START_RE = re.compile(r" (?=(?:[-+*>]|#+|\d+[.)]|={2,}|`{3,}|~{3,})(?: |$))")


def para(text, first="", rest=""):
    """A Markdown paragraph or list item wrapped at COLUMNS; code spans are never broken, and no
    line starts with a word Markdown would read as the start of another block."""
    protected = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", NBSP), text)
    protected = BLOCK_START_RE.sub(NBSP, protected)
    lines = textwrap.wrap(protected, COLUMNS, initial_indent=first, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False)
    return [line.replace(NBSP, " ") for line in lines]


DOCS_INTRO = [
    "The reference for every helix syscall. It is generated from the one table, `%s`, by `%s`: "
    "do not edit it; change the table and run `bazel run //syscall:update_docs` "
    "(`//syscall/tests:docs_test` fails while this file is stale). The same table gives the "
    "numbers (`helix/syscall/numbers.h`), the kernel's descriptors (`hx_syscall_static_table`: "
    "the rules the gateway checks every argument against, and the fuzzers' grammar) and the "
    "user stubs (`helix/syscall/user.h`)." % (TABLE_PATH, GENERATOR_PATH),
    "## Calling convention",
    "A user program puts the syscall number in `rax` and up to six arguments in `rdi`, `rsi`, "
    "`rdx`, `r10`, `r8` and `r9` (in that order) and executes `syscall`; `rcx` and `r11` are "
    "clobbered, the registers of unused arguments are ignored. The result comes back in `rax`: "
    "a value >= 0 is success, a negative one is `-HX_E*`, Linux's errno number "
    "(`kernel/include/helix/errors.h`). Below, errors are named without the minus and the "
    "`HX_`. `helix/syscall/user.h` has a typed stub `%s<name>(...)` for each syscall."
    % USER_STUB_PREFIX,
    "## The path of a call",
    "The kernel's `syscall` entry stub calls `helix_syscall_entry(nr, a0, ..., a5)` "
    "(`helix/syscall/syscall.h`), the one gateway, which",
    ["bounds-checks and clamps the number and looks it up;",
     "runs the pre-hooks in priority order (security, then audit, then tracing); one may deny "
     "the call with its own error;",
     "checks every argument against its rule below and resolves the handle arguments: a call "
     "that breaks a rule fails with that rule's error and the handler does not run;",
     "runs the handler, which touches user memory only through the copy helpers (a page fault "
     "during a copy is `EFAULT`, never a kernel crash);",
     "runs the post-hooks with the result, and returns it."],
    "`docs/syscall-framework.md` describes the framework in full. Each syscall's error table "
    "below lists first the errors its argument rules give, then those of its handler.",
    "## Errors of every syscall",
    ("table", ("error", "when"), [
        ("`ENOSYS`", "the number is not a syscall: never assigned, retired, or a dynamic number "
         "with nothing registered"),
        ("`ESRCH`", "no calling process is bound to the calling task"),
        ("a pre-hook's error", "a pre-hook denied the call, e.g. `EPERM` from the policy hook's "
         "deny rules"),
    ]),
]


def md_table(header, rows, align=None):
    out = ["| %s |" % " | ".join(header),
           "|%s|" % "|".join(align or ["---"] * len(header))]
    out += ["| %s |" % " | ".join(md_cell(c) for c in row) for row in rows]
    return out


def md_blocks(blocks):
    out = []
    for block in blocks:
        out.append("")
        if isinstance(block, tuple):
            out += md_table(block[1], block[2])
        elif isinstance(block, list):
            for i, item in enumerate(block):
                out += para(item, "%d. " % (i + 1), "   ")
        elif block.startswith("#"):
            out.append(block)
        else:
            out += para(block)
    return out


def gen_docs(entries):
    out = ["<!-- %s -->" % GEN_NOTE, "", "# Syscalls"]
    out += md_blocks(DOCS_INTRO)
    out += ["", "## All syscalls", ""]
    rows = []
    for e in entries:
        link = "[`%s`](#%s)%s" % (e.name, e.name, " (retired)" if e.retired else "")
        rows.append((str(e.nr), link, md_text(e.summary)))
    out += md_table(("nr", "name", "summary"), rows, ["--:", "---", "---"])
    out += ["", "## Reference"]
    for e in entries:
        out += ["", "### %s" % e.name, ""]
        if e.retired:
            out += para("Retired: number %d is no longer in use and fails with `ENOSYS`. It was: "
                        "%s" % (e.nr, md_text(e.summary)))
            continue
        out += para(md_text(e.summary))
        out += ["", "```c"] + user_signature(e) + ["```", ""]
        out += ["Number %d (`HX_SYS_%s`)." % (e.nr, e.name), ""]
        if e.args:
            out += ["Arguments:", ""]
            for a in e.args:
                out += para("`%s` in `%s`, `%s`: %s." % (a.name, REGISTERS[a.index],
                                                         a.canonical(), arg_rule(a)), "- ", "  ")
        else:
            out.append("Arguments: none.")
        out.append("")
        out += para("Returns: %s%s" % (md_text(e.returns), "" if e.returns.endswith(".") else "."))
        out.append("")
        errs = []
        for a in e.args:
            errs += [(DERIVED_ERRORS.index(c), a.index, c, w) for c, w in arg_errors(a)]
        errs.sort(key=lambda x: (x[0], x[1]))
        rows = [("`%s`" % c, w) for _, _, c, w in errs]
        rows += [("`%s`" % c, md_text(t)) for c, t, _ in e.errors]
        if rows:
            out += ["Errors (besides those of every syscall):", ""]
            out += md_table(("error", "when"), rows)
        else:
            out.append("Errors: only those of every syscall.")
    return "\n".join(out) + "\n"


# ---- Main ----------------------------------------------------------------------------------------


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main(argv):
    ap = argparse.ArgumentParser(description="Generate the syscall numbers, table, user stubs "
                                 "and reference from syscalls.tbl.")
    ap.add_argument("--table", required=True, help="the syscall table (syscalls.tbl)")
    ap.add_argument("--numbers", help="write helix/syscall/numbers.h here")
    ap.add_argument("--user", help="write helix/syscall/user.h here")
    ap.add_argument("--table-c", dest="table_c", help="write syscall_table.c here")
    ap.add_argument("--docs", help="write syscalls.md here")
    opts = ap.parse_args(argv)

    try:
        with open(opts.table, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        print("%s: error: cannot read the table: %s" % (opts.table, e), file=sys.stderr)
        return 1
    parser = Parser()
    errors = parser.parse(text)
    if errors:
        for line, message in errors:
            print("%s:%d: error: %s" % (opts.table, line, message), file=sys.stderr)
        print("%s: %d error%s" % (opts.table, len(errors), "" if len(errors) == 1 else "s"),
              file=sys.stderr)
        return 1
    entries = parser.entries
    outputs = [
        (opts.numbers, lambda: gen_numbers(entries)),
        (opts.user, lambda: gen_user(entries)),
        (opts.table_c, lambda: gen_table_c(parser.includes, entries)),
        (opts.docs, lambda: gen_docs(entries)),
    ]
    for path, make in outputs:
        if path:
            write(path, make())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
