// SPDX-License-Identifier: MIT
/*
 * ulib (helix/user/ulib.h): the user programs' runtime. The formatter is kernel/lib/fmt.c and the
 * wire codec ipc/wire.c, the same sources the kernel runs, compiled for user space.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/fmt.h>
#include <helix/ipc/wire.h>
#include <helix/string.h>
#include <helix/syscall/user.h>
#include <helix/user/ulib.h>

/* The request urouter_call encodes: header, a target name and a small payload. */
#define REQUEST_MAX 512u

void uexit(int status)
{
	if (status < 0 || status > HX_PROCESS_EXIT_MAX)
		status = HX_PROCESS_EXIT_MAX;
	for (;;) {
		hx_user_exit(status);
		/* exit only returns if the kernel refused it: nothing sensible is left to do. */
		__builtin_trap();
	}
}

/* memcpy, memmove, memset, memcmp: kernel/arch/x86_64/mem.c (//kernel/arch/x86_64:mem). */

size_t strlen(const char *s)
{
	return hx_strlen(s);
}

int uprintf(const char *fmt, ...)
{
	static char line[UPRINTF_MAX];
	va_list args;
	int n;

	va_start(args, fmt);
	n = hx_vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (n < 0)
		return -HX_EINVAL;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	return (int)hx_user_write(line, (uint64_t)n);
}

int urouter_call(const char *target, uint32_t method, const void *payload, size_t payload_len,
                 void *reply, size_t reply_cap, uint64_t deadline, struct hx_wire_message *response)
{
	uint8_t request[REQUEST_MAX];
	struct hx_wire_message msg;
	size_t len;
	long got;
	int err;

	hx_memset(&msg, 0, sizeof(msg));
	msg.kind = HX_WIRE_REQUEST;
	msg.request_id = 1; /* one call in flight at a time: any id will do */
	msg.method = method;
	msg.payload = payload;
	msg.payload_len = payload_len;
	err = hx_wire_set_target_name(&msg, target);
	if (err)
		return err;
	err = hx_wire_encode(&msg, request, sizeof(request), &len, NULL);
	if (err)
		return err;
	got = hx_user_router_call(request, len, reply, reply_cap, deadline);
	if (got < 0)
		return (int)got;
	err = hx_wire_decode(reply, (size_t)got, response, NULL);
	if (err)
		return -HX_EBADMSG;
	if (response->kind == HX_WIRE_ERROR)
		return response->status;
	if (response->kind != HX_WIRE_RESPONSE)
		return -HX_EBADMSG;
	return 0;
}
