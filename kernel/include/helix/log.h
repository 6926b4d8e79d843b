/* SPDX-License-Identifier: MIT */
/*
 * Console logging with levels. A line is formatted into a bounded buffer and handed to
 * hx_console_write in one call, so concurrent lines never interleave. Lines longer than
 * HX_LOG_LINE_MAX are cut and end in "...". Any context; never allocates; never sleeps.
 */
#ifndef HELIX_LOG_H
#define HELIX_LOG_H

#include <stdarg.h>

#include <helix/compiler.h>

HX_BEGIN_DECLS

#define HX_LOG_LINE_MAX 256

enum hx_log_level {
	HX_LOG_DEBUG = 0,
	HX_LOG_INFO = 1,
	HX_LOG_WARN = 2,
	HX_LOG_ERROR = 3,
};

/* Messages below the level are dropped. The default is HX_LOG_INFO. */
void hx_log_set_level(enum hx_log_level level);
enum hx_log_level hx_log_get_level(void);

/* hx_log_level_parse - "debug", "info", "warn" or "error" into @out. Returns 0 or -HX_EINVAL. */
int hx_log_level_parse(const char *name, enum hx_log_level *out);
/* The level's name: "debug", "info", "warn", "error". */
const char *hx_log_level_name(enum hx_log_level level);

/* hx_log - "[ seconds.micros] level: message\n" when @level is enabled. */
void hx_log(enum hx_log_level level, const char *fmt, ...) HX_PRINTF(2, 3);
void hx_vlog(enum hx_log_level level, const char *fmt, va_list args);

/* hx_printk - the message as it is, whatever the level (banners, test verdicts). */
void hx_printk(const char *fmt, ...) HX_PRINTF(1, 2);

#define hx_debug(...) hx_log(HX_LOG_DEBUG, __VA_ARGS__)
#define hx_info(...)  hx_log(HX_LOG_INFO, __VA_ARGS__)
#define hx_warn(...)  hx_log(HX_LOG_WARN, __VA_ARGS__)
#define hx_error(...) hx_log(HX_LOG_ERROR, __VA_ARGS__)

HX_END_DECLS

#endif /* HELIX_LOG_H */
