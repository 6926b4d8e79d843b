// SPDX-License-Identifier: MIT
/*
 * The four functions gcc may call even in freestanding code (for struct copies, initialisers and
 * the hx_mem* builtins), here because neither the kernel nor the user programs have a libc. rep
 * movsb/stosb: short, and fast on CPUs with ERMS; written in asm so gcc cannot turn a loop back
 * into a call to itself.
 */
#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t len);
void *memmove(void *dst, const void *src, size_t len);
void *memset(void *dst, int value, size_t len);
int memcmp(const void *a, const void *b, size_t len);

void *memcpy(void *restrict dst, const void *restrict src, size_t len)
{
	void *ret = dst;

	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
	return ret;
}

void *memmove(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + len)
		return memcpy(dst, src, len);
	/* Overlapping with dst above src: copy backwards, from the last byte down. */
	d += len - 1;
	s += len - 1;
	__asm__ volatile("std\n\t"
	                 "rep movsb\n\t"
	                 "cld"
	                 : "+D"(d), "+S"(s), "+c"(len)
	                 :
	                 : "memory");
	return dst;
}

void *memset(void *dst, int value, size_t len)
{
	void *ret = dst;

	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(len) : "a"(value) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < len; i++) {
		if (x[i] != y[i])
			return (int)x[i] - (int)y[i];
	}
	return 0;
}
