// SPDX-License-Identifier: MIT
#include <stdatomic.h>

#include <helix/errors.h>
#include <helix/fmt.h>
#include <helix/log.h>
#include <helix/platform.h>
#include <helix/string.h>

static _Atomic int current_level = HX_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void hx_log_set_level(enum hx_log_level level)
{
	if (level >= HX_LOG_DEBUG && level <= HX_LOG_ERROR)
		atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

enum hx_log_level hx_log_get_level(void)
{
	return (enum hx_log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

int hx_log_level_parse(const char *name, enum hx_log_level *out)
{
	if (!name || !out)
		return -HX_EINVAL;
	for (int level = HX_LOG_DEBUG; level <= HX_LOG_ERROR; level++) {
		if (hx_strcmp(name, level_names[level]) == 0) {
			*out = (enum hx_log_level)level;
			return 0;
		}
	}
	return -HX_EINVAL;
}

const char *hx_log_level_name(enum hx_log_level level)
{
	if (level < HX_LOG_DEBUG || level > HX_LOG_ERROR)
		return "?";
	return level_names[level];
}

/* Finishes a formatted line: cut with "..." when it did not fit, then the newline. */
static void emit(char *line, int len)
{
	size_t n = (size_t)len;

	if (n > HX_LOG_LINE_MAX - 2) {
		n = HX_LOG_LINE_MAX - 2;
		hx_memcpy(line + n - 3, "...", 3);
	}
	line[n++] = '\n';
	hx_console_write(line, n);
}

void hx_vlog(enum hx_log_level level, const char *fmt, va_list args)
{
	char line[HX_LOG_LINE_MAX];
	uint64_t now = hx_time_ns();
	int len;

	if ((int)level < atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	len = hx_snprintf(
	    line, sizeof(line), "[%5llu.%06llu] %s: ", (unsigned long long)(now / 1000000000u),
	    (unsigned long long)(now % 1000000000u / 1000u), hx_log_level_name(level));
	if (len < (int)sizeof(line))
		len += hx_vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, args);
	emit(line, len);
}

void hx_log(enum hx_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	hx_vlog(level, fmt, args);
	va_end(args);
}

void hx_printk(const char *fmt, ...)
{
	char line[HX_LOG_LINE_MAX];
	va_list args;
	int len;

	va_start(args, fmt);
	len = hx_vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (len > (int)sizeof(line) - 1) {
		len = (int)sizeof(line) - 1;
		hx_memcpy(line + len - 4, "...\n", 4);
	}
	hx_console_write(line, (size_t)len);
}
