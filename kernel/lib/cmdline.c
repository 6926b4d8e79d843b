// SPDX-License-Identifier: MIT
#include <helix/cmdline.h>
#include <helix/errors.h>
#include <helix/string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static int fail(struct hx_cmdline *out, struct hx_cmdline_error *error, int err, size_t offset,
                const char *reason)
{
	out->count = 0;
	if (error) {
		error->offset = offset;
		error->reason = reason;
	}
	return err;
}

int hx_cmdline_parse(struct hx_cmdline *out, const char *text, struct hx_cmdline_error *error)
{
	size_t len, i = 0;
	char *store;

	if (!out)
		return -HX_EINVAL;
	out->count = 0;
	if (!text)
		text = "";
	len = hx_strnlen(text, HX_CMDLINE_MAX_LEN + 1);
	if (len > HX_CMDLINE_MAX_LEN)
		return fail(out, error, -HX_E2BIG, HX_CMDLINE_MAX_LEN, "command line too long");

	/* Each word of n input bytes stores at most n + 1 bytes (key NUL + value NUL - '='). */
	store = out->storage;
	for (;;) {
		struct hx_cmdline_arg *arg;
		size_t key_start;

		while (i < len && is_space(text[i]))
			i++;
		if (i == len)
			break;
		if (out->count == HX_CMDLINE_MAX_ARGS)
			return fail(out, error, -HX_E2BIG, i, "too many arguments");
		arg = &out->args[out->count];

		key_start = i;
		while (i < len && is_key_char(text[i]))
			i++;
		if (i == key_start)
			return fail(out, error, -HX_EINVAL, i,
			            text[i] == '=' ? "empty key" : "invalid character in key");
		if (i < len && !is_space(text[i]) && text[i] != '=')
			return fail(out, error, -HX_EINVAL, i, "invalid character in key");
		if (i - key_start > HX_CMDLINE_KEY_MAX)
			return fail(out, error, -HX_EINVAL, key_start, "key too long");
		arg->key = store;
		hx_memcpy(store, text + key_start, i - key_start);
		store += i - key_start;
		*store++ = '\0';
		arg->value = NULL;

		if (i < len && text[i] == '=') {
			i++;
			arg->value = store;
			if (i < len && text[i] == '"') {
				size_t quote = i++;
				for (;;) {
					if (i == len)
						return fail(out, error, -HX_EINVAL, quote,
						            "unterminated quote");
					if (text[i] == '"')
						break;
					if (text[i] == '\\') {
						if (i + 1 == len ||
						    (text[i + 1] != '"' && text[i + 1] != '\\'))
							return fail(
							    out, error, -HX_EINVAL, i,
							    "bad escape (only \\\" and \\\\)");
						i++;
					}
					*store++ = text[i++];
				}
				i++; /* the closing quote */
				if (i < len && !is_space(text[i]))
					return fail(out, error, -HX_EINVAL, i,
					            "text after closing quote");
			} else {
				while (i < len && !is_space(text[i])) {
					if (text[i] == '"')
						return fail(out, error, -HX_EINVAL, i,
						            "quote inside an unquoted value");
					*store++ = text[i++];
				}
			}
			*store++ = '\0';
		}
		out->count++;
	}
	return 0;
}

static const struct hx_cmdline_arg *find_last(const struct hx_cmdline *cmdline, const char *key)
{
	if (!cmdline || !key)
		return NULL;
	for (size_t i = cmdline->count; i > 0; i--) {
		if (hx_strcmp(cmdline->args[i - 1].key, key) == 0)
			return &cmdline->args[i - 1];
	}
	return NULL;
}

const char *hx_cmdline_get(const struct hx_cmdline *cmdline, const char *key)
{
	const struct hx_cmdline_arg *arg = find_last(cmdline, key);
	return arg ? arg->value : NULL;
}

bool hx_cmdline_has(const struct hx_cmdline *cmdline, const char *key)
{
	return find_last(cmdline, key) != NULL;
}
