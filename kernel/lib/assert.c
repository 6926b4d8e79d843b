// SPDX-License-Identifier: MIT
#include <helix/assert.h>
#include <helix/fmt.h>
#include <helix/platform.h>

#define HX_PANIC_LINE_MAX 512

/* A panic message must get out even when the heap or the logger are what broke: a stack buffer. */
void hx_panic(const char *fmt, ...)
{
	char line[HX_PANIC_LINE_MAX];
	int len = hx_snprintf(line, sizeof(line), "panic: ");
	va_list args;

	va_start(args, fmt);
	len += hx_vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, args);
	va_end(args);
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	hx_console_write(line, (size_t)len);
	hx_platform_abort();
}

void hx_assert_fail(const char *expr, const char *file, int line)
{
	hx_panic("assertion failed: %s at %s:%d", expr, file, line);
}
