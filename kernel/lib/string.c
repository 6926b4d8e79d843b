// SPDX-License-Identifier: MIT
#include <helix/string.h>

size_t hx_strlen(const char *s)
{
	const char *p = s;
	while (*p)
		p++;
	return (size_t)(p - s);
}

size_t hx_strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int hx_strcmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	while (*x && *x == *y) {
		x++;
		y++;
	}
	return (int)*x - (int)*y;
}

int hx_strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	for (; n > 0; n--, x++, y++) {
		if (*x != *y || *x == 0)
			return (int)*x - (int)*y;
	}
	return 0;
}

size_t hx_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = hx_strlen(src);
	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		hx_memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
