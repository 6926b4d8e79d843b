/* SPDX-License-Identifier: MIT */
/*
 * ulib: the runtime every helix user program links (kernel/user/README.md). crt0.S's _start calls
 * main() and passes its result to uexit(). Besides the four functions the compiler may call
 * (memcpy, memmove, memset, memcmp) and strlen, a printf to the console and a router call that
 * encodes the request and decodes the reply with the kernel's own wire codec (helix/ipc/wire.h).
 * The syscalls themselves are the generated stubs of helix/syscall/user.h.
 *
 * Single-threaded: programs have one task, and uprintf formats into one static buffer.
 */
#ifndef HELIX_USER_ULIB_H
#define HELIX_USER_ULIB_H

#include <stddef.h>
#include <stdint.h>

#include <helix/compiler.h>
#include <helix/ipc/wire.h>

HX_BEGIN_DECLS

/* The program's own code: its result is the exit status (0..HX_PROCESS_EXIT_MAX). */
int main(void);

/*
 * uexit - end the process with @status. A status outside 0..HX_PROCESS_EXIT_MAX, which the
 * kernel refuses, ends it with HX_PROCESS_EXIT_MAX instead. Never returns.
 */
HX_NORETURN void uexit(int status);

void *memcpy(void *restrict dst, const void *restrict src, size_t len);
void *memmove(void *dst, const void *src, size_t len);
void *memset(void *dst, int value, size_t len);
int memcmp(const void *a, const void *b, size_t len);
size_t strlen(const char *s);

/* The longest line uprintf writes in one piece; longer output is cut there. */
#define UPRINTF_MAX 1024

/*
 * uprintf - format as hx_snprintf (helix/fmt.h: no floating point) and write the result to the
 * console with one write syscall. Returns the bytes written, or the write's negative HX_E*.
 */
int uprintf(const char *fmt, ...) HX_PRINTF(1, 2);

/*
 * urouter_call - call method @method of the kernel module named @target with @payload (one CBOR
 * item of @payload_len bytes, or none) through the router_call syscall, waiting until @deadline.
 * The reply lands in @reply (@reply_cap bytes) and is decoded into *@response, whose payload
 * points into @reply. Returns 0 for a response; the module's status (negative HX_E*) for an error
 * reply (*@response filled as well); the syscall's error; -HX_EINVAL for a bad @target;
 * -HX_ENOSPC for a request over 512 bytes; -HX_EBADMSG when the reply does not decode.
 */
int urouter_call(const char *target, uint32_t method, const void *payload, size_t payload_len,
                 void *reply, size_t reply_cap, uint64_t deadline,
                 struct hx_wire_message *response);

HX_END_DECLS

#endif /* HELIX_USER_ULIB_H */
