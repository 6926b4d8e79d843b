// SPDX-License-Identifier: MIT
/*
 * The channel and handle syscalls: chan_create, chan_send, chan_recv, chan_close, handle_close,
 * handle_dup (syscall/syscalls.tbl, docs/syscalls.md).
 *
 * A user channel is a kernel object (struct chan_object: a struct hx_kobject around a struct
 * hx_chan). Handles and dispatches in flight hold references; the channel is destroyed
 * (hx_chan_destroy) when the last one goes, so closing a handle while another task sends or
 * receives through the same object never frees it under that task. chan_close closes the
 * channel (sends fail, receives drain) but leaves the object alive until its handles go.
 *
 * Receiving, and why no message is lost:
 *   - hx_chan is single-consumer (a second concurrent hx_chan_recv is a bug, and a panic in
 *     debug builds), but any number of user threads may call chan_recv on handles to one channel.
 *     The object therefore serialises receivers with a sleeping lock of its own (rx_lock, a futex
 *     word), taken with the call's deadline: a receiver that cannot get it in time gets
 *     -HX_EAGAIN (HX_NOWAIT) or -HX_ETIMEDOUT, as if the channel had stayed empty for it.
 *   - A message is received into the object's own buffer (rx_buf, msg_size bytes, allocated with
 *     the object), marked pending, and only then copied to the user. If that copy faults (the
 *     table's rule probed the pages as writable, but another thread may unmap them while the
 *     receiver waits), the call returns -HX_EFAULT and the message stays pending: the next
 *     chan_recv on the channel delivers it before taking anything else from the channel, also
 *     after a close. So every accepted message reaches a user buffer exactly once, in order; the
 *     only cost is one message buffer per channel.
 *
 * Sending copies the user's message into a kernel buffer (on the stack up to SEND_STACK_MAX
 * bytes, else hx_alloc'd: no 4 KiB on the kernel stack) and hands it to hx_chan_send, so a fault
 * leaves the channel untouched.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/abi.h>
#include <helix/errors.h>
#include <helix/ipc/channel.h>
#include <helix/platform.h>
#include <helix/syscall/handles.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

/* Messages up to this size are copied through a stack buffer in chan_send. */
#define SEND_STACK_MAX 256u

/* Prototypes of the handlers (the generated syscall_table.c declares them too). */
long hx_sys_chan_create(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_chan_send(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_chan_recv(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_chan_close(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_handle_close(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);
long hx_sys_handle_dup(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);

/* rx_lock states (Drepper, "Futexes Are Tricky", mutex 2). */
#define RX_FREE      0u
#define RX_HELD      1u
#define RX_CONTENDED 2u /* held, and someone may sleep on it: the unlock wakes one */

struct chan_object {
	struct hx_kobject base;
	struct hx_chan *chan;
	uint32_t msg_size;
	HX_ATOMIC(uint32_t) rx_lock; /* serialises receivers; guards rx_pending and rx_buf */
	bool rx_pending;             /* rx_buf holds a message taken from chan, not yet delivered */
	unsigned char rx_buf[];      /* msg_size bytes */
};

static void chan_object_destroy(struct hx_kobject *obj)
{
	struct chan_object *co = HX_CONTAINER_OF(obj, struct chan_object, base);

	hx_chan_destroy(co->chan); /* nobody else uses it: that was the last reference */
	hx_free(co);
}

/* The channel object behind a resolved HANDLE argument, or NULL (not a channel: defensive, the
 * gateway resolved it with the table's type). */
static struct chan_object *chan_object_of(struct hx_kobject *obj)
{
	if (!obj || obj->type != HX_KOBJ_CHANNEL)
		return NULL;
	return HX_CONTAINER_OF(obj, struct chan_object, base);
}

/* Take rx_lock, waiting until @deadline. 0, -HX_EAGAIN (held, HX_NOWAIT), -HX_ETIMEDOUT. */
static int rx_lock(struct chan_object *co, uint64_t deadline)
{
	uint32_t state = RX_FREE;

	/* Acquire (here and below): pairs with the release in rx_unlock, so the previous
	 * receiver's rx_pending and rx_buf are visible to this one. */
	if (atomic_compare_exchange_strong_explicit(&co->rx_lock, &state, RX_HELD,
	                                            memory_order_acquire, memory_order_relaxed))
		return 0;
	if (deadline == HX_NOWAIT)
		return -HX_EAGAIN;
	/* Mark it contended before sleeping, so the holder's unlock wakes someone. A waiter that
	 * times out leaves the mark behind: that costs one needless wake, nothing else. */
	while (atomic_exchange_explicit(&co->rx_lock, RX_CONTENDED, memory_order_acquire) !=
	       RX_FREE) {
		if (hx_futex_wait(&co->rx_lock, RX_CONTENDED, deadline) == -HX_ETIMEDOUT)
			return -HX_ETIMEDOUT;
	}
	return 0;
}

static void rx_unlock(struct chan_object *co)
{
	/* Release: pairs with the acquire in rx_lock. */
	if (atomic_exchange_explicit(&co->rx_lock, RX_FREE, memory_order_release) == RX_CONTENDED)
		hx_futex_wake(&co->rx_lock, 1);
}

/*
 * chan_create(capacity, msg_size) - a channel and a handle to it with HX_RIGHTS_ALL. Returns the
 * handle, -HX_ENOMEM, -HX_EMFILE (the table is full, or the caller has no handle table), or
 * -HX_EINVAL (sizes outside the user limits: the table refuses them first). On any failure
 * nothing is left behind.
 */
long hx_sys_chan_create(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	struct hx_handle_table *table = ctx->caller->handles;
	uint64_t capacity = args[0];
	uint64_t msg_size = args[1];
	struct chan_object *co;
	int handle, err;

	if (capacity < 1 || capacity > HX_USER_CHAN_MAX_CAP)
		return hx_syscall_fail(ctx, -HX_EINVAL, 0, "capacity outside the user limit");
	if (msg_size < 1 || msg_size > HX_USER_CHAN_MAX_MSG)
		return hx_syscall_fail(ctx, -HX_EINVAL, 1, "msg_size outside the user limit");
	if (!table)
		return hx_syscall_fail(ctx, -HX_EMFILE, -1, "the caller has no handle table");
	co = hx_zalloc(sizeof(*co) + (size_t)msg_size);
	if (!co)
		return hx_syscall_fail(ctx, -HX_ENOMEM, -1, "no memory for the channel object");
	err = hx_chan_create((size_t)capacity, (size_t)msg_size, &co->chan);
	if (err) {
		hx_free(co);
		return hx_syscall_fail(ctx, err, -1, "no memory for the channel");
	}
	co->msg_size = (uint32_t)msg_size;
	hx_kobject_init(&co->base, HX_KOBJ_CHANNEL, chan_object_destroy);
	handle = hx_handle_install(table, &co->base, HX_RIGHTS_ALL);
	/* Drop the creator's reference: the handle holds its own, and after a failed install this
	 * destroys the channel. co may be gone from here on (another thread may close the handle).
	 */
	hx_kobject_put(&co->base);
	if (handle < 0)
		return hx_syscall_fail(ctx, handle, -1, "the handle table is full");
	return handle;
}

/*
 * chan_send(chan, msg, len, deadline) - copy the message from user @msg into a kernel buffer and
 * send it, waiting for room until @deadline. Returns 0, -HX_EMSGSIZE (len is not the channel's
 * message size), -HX_EFAULT (msg not readable), -HX_ENOMEM (no kernel buffer for a message above
 * SEND_STACK_MAX bytes), -HX_EAGAIN, -HX_ETIMEDOUT, -HX_EPIPE (hx_chan_send).
 */
long hx_sys_chan_send(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	struct chan_object *co = chan_object_of(ctx->objects[0]);
	unsigned char small[SEND_STACK_MAX];
	unsigned char *buf = small;
	uint64_t len = args[2];
	int err;

	if (!co)
		return hx_syscall_fail(ctx, -HX_EBADF, 0, "not a channel");
	if (len != co->msg_size)
		return hx_syscall_fail(ctx, -HX_EMSGSIZE, 2, "len is not the channel's msg_size");
	if (len > SEND_STACK_MAX) {
		buf = hx_alloc((size_t)len);
		if (!buf)
			return hx_syscall_fail(ctx, -HX_ENOMEM, -1, "no memory for the message");
	}
	err = hx_copy_from_user(ctx, buf, args[1], (size_t)len);
	if (err)
		hx_syscall_fail(ctx, err, 1, "msg not readable");
	else
		err = hx_chan_send(co->chan, buf, args[3]);
	if (buf != small)
		hx_free(buf);
	return err ? hx_syscall_fail(ctx, err, -1, "send failed") : 0;
}

/*
 * chan_recv(chan, msg, len, deadline) - receive the next message into user @msg, waiting until
 * @deadline (for the channel, and for another receiver on the same channel to finish). Returns 0,
 * -HX_EMSGSIZE, -HX_EAGAIN, -HX_ETIMEDOUT, -HX_EPIPE (closed and drained), -HX_EFAULT (msg not
 * writable: the message stays in the kernel and the next chan_recv delivers it; see the top of
 * this file).
 */
long hx_sys_chan_recv(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	struct chan_object *co = chan_object_of(ctx->objects[0]);
	uint64_t len = args[2];
	uint64_t deadline = args[3];
	int err;

	if (!co)
		return hx_syscall_fail(ctx, -HX_EBADF, 0, "not a channel");
	if (len != co->msg_size)
		return hx_syscall_fail(ctx, -HX_EMSGSIZE, 2, "len is not the channel's msg_size");
	err = rx_lock(co, deadline);
	if (err)
		return hx_syscall_fail(ctx, err, -1, "another receive is in progress");
	if (!co->rx_pending) {
		err = hx_chan_recv(co->chan, co->rx_buf, deadline);
		if (err) {
			rx_unlock(co);
			return hx_syscall_fail(ctx, err, -1, "receive failed");
		}
		co->rx_pending = true; /* taken from the channel: ours to deliver */
	}
	err = hx_copy_to_user(ctx, args[1], co->rx_buf, (size_t)len);
	if (!err)
		co->rx_pending = false;
	rx_unlock(co);
	if (err)
		return hx_syscall_fail(ctx, err, 1, "msg not writable; the message is kept");
	return 0;
}

/* chan_close(chan) - close the channel for everyone (hx_chan_close): 0, or -HX_EPIPE when it
 * was closed already. The object and its handles stay until closed. */
long hx_sys_chan_close(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	struct chan_object *co = chan_object_of(ctx->objects[0]);
	int err;

	if (!co)
		return hx_syscall_fail(ctx, -HX_EBADF, 0, "not a channel");
	err = hx_chan_close(co->chan);
	return err ? hx_syscall_fail(ctx, err, 0, "the channel was closed already") : 0;
}

/*
 * handle_close(handle) - remove the handle from the caller's table. The object goes with its last
 * reference: the gateway's own (from resolving the argument) is dropped after the post-hooks, so
 * the destroy runs there, never under this handler. 0 or -HX_EBADF (closed meanwhile by another
 * thread).
 */
long hx_sys_handle_close(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	int err;

	if (!ctx->caller->handles)
		return hx_syscall_fail(ctx, -HX_EBADF, 0, "the caller has no handle table");
	err = hx_handle_close(ctx->caller->handles, (int64_t)args[0]);
	return err ? hx_syscall_fail(ctx, err, 0, "not a live handle") : 0;
}

/*
 * handle_dup(handle, rights) - a second handle to the object with @rights, a subset of the
 * original's (whose transfer right the gateway checked). Returns the new handle, -HX_EINVAL
 * (rights 0), -HX_EACCES (not a subset), -HX_EMFILE, -HX_EBADF (closed meanwhile).
 */
long hx_sys_handle_dup(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	uint64_t rights = args[1];
	int handle;

	if (rights == 0 || (rights & ~(uint64_t)HX_RIGHTS_ALL))
		return hx_syscall_fail(ctx, -HX_EINVAL, 1, "rights 0 or outside HX_RIGHTS_ALL");
	if (!ctx->caller->handles)
		return hx_syscall_fail(ctx, -HX_EBADF, 0, "the caller has no handle table");
	handle = hx_handle_dup(ctx->caller->handles, (int64_t)args[0], (uint32_t)rights);
	if (handle == -HX_EACCES)
		return hx_syscall_fail(ctx, handle, 1, "rights not a subset of the handle's");
	if (handle == -HX_EBADF)
		return hx_syscall_fail(ctx, handle, 0, "not a live handle");
	if (handle < 0)
		return hx_syscall_fail(ctx, handle, -1, "the handle table is full");
	return handle;
}
