/* SPDX-License-Identifier: MIT */
/*
 * Error codes. Every helix function that can fail returns int: 0 (or a count) on success, a
 * negative HX_E* code on failure. The numbers are Linux's errno values, so a code crosses the
 * syscall boundary and shows up in strace/perf output meaning what a Linux developer expects.
 *
 * HX_ERRORS is the one list: the constants and both name tables are generated from it.
 */
#ifndef HELIX_ERRORS_H
#define HELIX_ERRORS_H

#include <helix/compiler.h>

HX_BEGIN_DECLS

/* X(name, number, description) */
#define HX_ERRORS(X)                               \
	X(EPERM, 1, "operation not permitted")     \
	X(ENOENT, 2, "no such entry")              \
	X(ESRCH, 3, "no such task")                \
	X(EINTR, 4, "interrupted")                 \
	X(EIO, 5, "input/output error")            \
	X(ENXIO, 6, "no such device or address")   \
	X(E2BIG, 7, "argument list too long")      \
	X(ENOEXEC, 8, "not an executable")         \
	X(EBADF, 9, "bad handle")                  \
	X(ECHILD, 10, "no such child")             \
	X(EAGAIN, 11, "try again")                 \
	X(ENOMEM, 12, "out of memory")             \
	X(EACCES, 13, "permission denied")         \
	X(EFAULT, 14, "bad address")               \
	X(EBUSY, 16, "resource busy")              \
	X(EEXIST, 17, "already exists")            \
	X(ENODEV, 19, "no such device")            \
	X(EINVAL, 22, "invalid argument")          \
	X(EMFILE, 24, "too many open handles")     \
	X(ENOSPC, 28, "no space left")             \
	X(EPIPE, 32, "broken pipe (closed)")       \
	X(ERANGE, 34, "out of range")              \
	X(ENAMETOOLONG, 36, "name too long")       \
	X(ENOSYS, 38, "no such system call")       \
	X(EPROTO, 71, "protocol error")            \
	X(EBADMSG, 74, "bad message")              \
	X(EOVERFLOW, 75, "value too large")        \
	X(EMSGSIZE, 90, "message too long")        \
	X(ENOTSUP, 95, "not supported")            \
	X(ECONNREFUSED, 111, "connection refused") \
	X(ETIMEDOUT, 110, "timed out")             \
	X(EHOSTUNREACH, 113, "target unreachable") \
	X(ECANCELED, 125, "canceled")              \
	X(EOWNERDEAD, 130, "owner died")

enum hx_error {
#define HX_ERROR_ENUM(name, number, text) HX_##name = number,
	HX_ERRORS(HX_ERROR_ENUM)
#undef HX_ERROR_ENUM
};

/*
 * hx_error_name - the constant's name for a code: hx_error_name(-HX_EINVAL) is "HX_EINVAL".
 * Accepts the code negative or positive. Any context. Returns "HX_E?" for an unknown code, "OK" for
 * 0.
 */
const char *hx_error_name(int err);

/*
 * hx_strerror - a short description: hx_strerror(-HX_EINVAL) is "invalid argument".
 * Accepts the code negative or positive. Any context. Returns "unknown error" for an unknown code.
 */
const char *hx_strerror(int err);

HX_END_DECLS

#endif /* HELIX_ERRORS_H */
