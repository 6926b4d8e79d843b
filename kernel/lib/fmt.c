// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdint.h>

#include <helix/fmt.h>
#include <helix/string.h>

struct sink {
	char *buf;
	size_t size;
	size_t pos; /* bytes the full output has so far; may exceed size */
};

static void put(struct sink *out, char c)
{
	if (out->pos + 1 < out->size)
		out->buf[out->pos] = c;
	out->pos++;
}

static void put_n(struct sink *out, char c, int n)
{
	while (n-- > 0)
		put(out, c);
}

static void put_str(struct sink *out, const char *s, size_t n)
{
	while (n--)
		put(out, *s++);
}

enum {
	FLAG_LEFT = 1 << 0,
	FLAG_PLUS = 1 << 1,
	FLAG_SPACE = 1 << 2,
	FLAG_ALT = 1 << 3,
	FLAG_ZERO = 1 << 4,
};

struct spec {
	unsigned flags;
	int width;     /* 0: none */
	int precision; /* -1: none */
};

/* Right- or left-justify @len bytes of @body in the field. */
static void put_field(struct sink *out, const struct spec *spec, const char *body, size_t len)
{
	int pad = spec->width > (int)len ? spec->width - (int)len : 0;

	if (!(spec->flags & FLAG_LEFT))
		put_n(out, ' ', pad);
	put_str(out, body, len);
	if (spec->flags & FLAG_LEFT)
		put_n(out, ' ', pad);
}

/*
 * An integer by C's rules: sign or prefix, then precision zeros, then digits, in a field of width
 * padded with spaces or (flag 0, no precision, not left-justified) zeros after the sign/prefix.
 */
static void put_integer(struct sink *out, const struct spec *spec, uint64_t magnitude,
                        bool negative, bool is_signed, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char text[24]; /* 22 octal digits hold 2^64 - 1 */
	int ndigits = 0;
	const char *prefix = "";
	int zeros, pad, prefix_len;
	bool is_zero = magnitude == 0;

	while (magnitude) {
		text[sizeof(text) - 1 - ndigits++] = digits[magnitude % base];
		magnitude /= base;
	}
	if (spec->precision < 0 && ndigits == 0)
		text[sizeof(text) - 1 - ndigits++] =
		    '0'; /* 0 prints as "0" unless precision is 0 */

	if (is_signed) {
		if (negative)
			prefix = "-";
		else if (spec->flags & FLAG_PLUS)
			prefix = "+";
		else if (spec->flags & FLAG_SPACE)
			prefix = " ";
	} else if ((spec->flags & FLAG_ALT) && base == 16 && !is_zero) {
		prefix = upper ? "0X" : "0x";
	}
	prefix_len = (int)hx_strlen(prefix);

	zeros = spec->precision > ndigits ? spec->precision - ndigits : 0;
	/* "#o" guarantees a leading zero: widen the precision by one digit when there is none. */
	if (!is_signed && base == 8 && (spec->flags & FLAG_ALT) && zeros == 0 &&
	    (ndigits == 0 || text[sizeof(text) - ndigits] != '0'))
		zeros = 1;

	pad = spec->width - prefix_len - zeros - ndigits;
	if (pad < 0)
		pad = 0;
	if ((spec->flags & FLAG_ZERO) && !(spec->flags & FLAG_LEFT) && spec->precision < 0) {
		zeros += pad;
		pad = 0;
	}
	if (!(spec->flags & FLAG_LEFT))
		put_n(out, ' ', pad);
	put_str(out, prefix, (size_t)prefix_len);
	put_n(out, '0', zeros);
	put_str(out, text + sizeof(text) - ndigits, (size_t)ndigits);
	if (spec->flags & FLAG_LEFT)
		put_n(out, ' ', pad);
}

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

static int64_t signed_arg(va_list *args, enum length length)
{
	switch (length) {
	case LEN_HH:
		return (signed char)va_arg(*args, int);
	case LEN_H:
		return (short)va_arg(*args, int);
	case LEN_L:
		return va_arg(*args, long);
	case LEN_LL:
		return va_arg(*args, long long);
	case LEN_Z:
	case LEN_T:
		return va_arg(*args, ptrdiff_t); /* the signed type of size_t's width */
	case LEN_J:
		return va_arg(*args, intmax_t);
	default:
		return va_arg(*args, int);
	}
}

static uint64_t unsigned_arg(va_list *args, enum length length)
{
	switch (length) {
	case LEN_HH:
		return (unsigned char)va_arg(*args, unsigned);
	case LEN_H:
		return (unsigned short)va_arg(*args, unsigned);
	case LEN_L:
		return va_arg(*args, unsigned long);
	case LEN_LL:
		return va_arg(*args, unsigned long long);
	case LEN_Z:
	case LEN_T:
		return va_arg(*args, size_t);
	case LEN_J:
		return va_arg(*args, uintmax_t);
	default:
		return va_arg(*args, unsigned);
	}
}

/*
 * Widths and precisions saturate here: far beyond any real use, far below INT_MAX, so a hostile
 * format cannot overflow the arithmetic or spin for billions of pad bytes.
 */
#define WIDTH_MAX 4096

static int parse_number(const char **p)
{
	int n = 0;
	while (**p >= '0' && **p <= '9') {
		n = HX_MIN(n * 10 + (**p - '0'), WIDTH_MAX);
		(*p)++;
	}
	return n;
}

int hx_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink out = { buf, size, 0 };
	va_list args;
	const char *p = fmt;

	va_copy(args, ap);
	while (*p) {
		const char *start = p;
		struct spec spec = { 0, 0, -1 };
		enum length length = LEN_NONE;

		if (*p != '%') {
			put(&out, *p++);
			continue;
		}
		p++;
		for (;; p++) {
			if (*p == '-')
				spec.flags |= FLAG_LEFT;
			else if (*p == '+')
				spec.flags |= FLAG_PLUS;
			else if (*p == ' ')
				spec.flags |= FLAG_SPACE;
			else if (*p == '#')
				spec.flags |= FLAG_ALT;
			else if (*p == '0')
				spec.flags |= FLAG_ZERO;
			else
				break;
		}
		if (*p == '*') {
			int width = va_arg(args, int);
			if (width < 0) {
				spec.flags |= FLAG_LEFT;
				width = width < -WIDTH_MAX ? WIDTH_MAX : -width;
			}
			spec.width = width > WIDTH_MAX ? WIDTH_MAX : width;
			p++;
		} else {
			spec.width = parse_number(&p);
		}
		if (*p == '.') {
			p++;
			if (*p == '*') {
				int precision = va_arg(args, int);
				spec.precision = precision < 0 ? -1 : HX_MIN(precision, WIDTH_MAX);
				p++;
			} else {
				spec.precision = parse_number(&p);
			}
		}
		switch (*p) {
		case 'h':
			length = p[1] == 'h' ? LEN_HH : LEN_H;
			p += length == LEN_HH ? 2 : 1;
			break;
		case 'l':
			length = p[1] == 'l' ? LEN_LL : LEN_L;
			p += length == LEN_LL ? 2 : 1;
			break;
		case 'z':
			length = LEN_Z;
			p++;
			break;
		case 't':
			length = LEN_T;
			p++;
			break;
		case 'j':
			length = LEN_J;
			p++;
			break;
		default:
			break;
		}

		switch (*p) {
		case 'd':
		case 'i': {
			int64_t v = signed_arg(&args, length);
			uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			put_integer(&out, &spec, magnitude, v < 0, true, 10, false);
			break;
		}
		case 'u':
			put_integer(&out, &spec, unsigned_arg(&args, length), false, false, 10,
			            false);
			break;
		case 'x':
		case 'X':
			put_integer(&out, &spec, unsigned_arg(&args, length), false, false, 16,
			            *p == 'X');
			break;
		case 'o':
			put_integer(&out, &spec, unsigned_arg(&args, length), false, false, 8,
			            false);
			break;
		case 'c': {
			char c = (char)va_arg(args, int);
			put_field(&out, &spec, &c, 1);
			break;
		}
		case 's': {
			const char *s = va_arg(args, const char *);
			size_t len;
			if (!s) /* glibc: "(null)", or nothing when the precision cannot hold it */
				s = spec.precision < 0 || spec.precision >= 6 ? "(null)" : "";
			len = spec.precision < 0 ? hx_strlen(s)
			                         : hx_strnlen(s, (size_t)spec.precision);
			put_field(&out, &spec, s, len);
			break;
		}
		case 'p': {
			const void *ptr = va_arg(args, const void *);
			if (!ptr) {
				put_field(&out, &spec, "(nil)", 5);
			} else {
				spec.flags |= FLAG_ALT;
				put_integer(&out, &spec, (uint64_t)(uintptr_t)ptr, false, false, 16,
				            false);
			}
			break;
		}
		case '%':
			put(&out, '%');
			break;
		default:
			/* Unknown or missing conversion: show the spec as written. */
			if (*p)
				p++;
			put_str(&out, start, (size_t)(p - start));
			continue;
		}
		p++;
	}
	va_end(args);

	if (size > 0)
		buf[out.pos < size ? out.pos : size - 1] = '\0';
	return out.pos > 0x7fffffff ? 0x7fffffff : (int)out.pos;
}

int hx_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list args;
	int n;

	va_start(args, fmt);
	n = hx_vsnprintf(buf, size, fmt, args);
	va_end(args);
	return n;
}
