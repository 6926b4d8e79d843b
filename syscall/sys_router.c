// SPDX-License-Identifier: MIT
/*
 * The router_call syscall: a user program hands the kernel a whole wire message (docs/
 * wire-format.md); the kernel decodes it with the same strict decoder the fuzzers hammer, routes
 * the request to the named (or numbered) module through the router (docs/router.md), and writes
 * the reply back as a wire message. One-way messages are queued and answered with no reply.
 */
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/ipc/router.h>
#include <helix/ipc/wire.h>
#include <helix/platform.h>
#include <helix/string.h>
#include <helix/syscall/syscall.h>
#include <helix/syscall/uaccess.h>

long hx_sys_router_call(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS]);

/* Written once by whoever sets the system up, read by every router_call. */
static HX_ATOMIC(struct hx_router *) the_router;

struct hx_router *hx_syscall_set_router(struct hx_router *router)
{
	/* Acq_rel: the router's set-up happens before its pointer is seen (the acquire load in
	 * hx_sys_router_call pairs with this), and the caller may take the old one apart. */
	return atomic_exchange_explicit(&the_router, router, memory_order_acq_rel);
}

/* The module the message names: by name (a lookup) or by id. */
static int resolve_target(struct hx_router *router, const struct hx_wire_message *msg, uint64_t *id)
{
	if (msg->target_name_len)
		return hx_router_lookup(router, msg->target_name, id);
	*id = msg->target_id;
	return 0;
}

/*
 * The reply envelope: a response with status 0, or an error message carrying the handler's
 * status. A status outside the wire format's -4095..-1 (the module broke the convention) travels
 * as -HX_EPROTO. Addressed back: source = the module, target = the calling process.
 */
static void reply_envelope(struct hx_wire_message *reply, const struct hx_wire_message *request,
                           uint64_t module, uint64_t pid, int status)
{
	hx_memset(reply, 0, sizeof(*reply));
	reply->request_id = request->request_id;
	reply->source_id = module;
	reply->target_id = pid;
	reply->method = request->method;
	if (status == 0) {
		reply->kind = HX_WIRE_RESPONSE;
	} else {
		reply->kind = HX_WIRE_ERROR;
		reply->status = status < 0 && status >= HX_WIRE_STATUS_MIN ? status : -HX_EPROTO;
	}
}

static long route(struct hx_syscall_ctx *ctx, struct hx_router *router,
                  const struct hx_wire_message *msg, uint64_t reply_ptr, size_t reply_cap,
                  uint64_t deadline)
{
	struct hx_wire_message reply;
	struct hx_wire_error werr;
	uint8_t *resp, *out;
	size_t resp_len = 0, out_len = 0;
	uint64_t module;
	int status = 0;
	long result;

	result = resolve_target(router, msg, &module);
	if (result)
		return hx_syscall_fail(ctx, result, 0, "no live module by that name");
	if (msg->kind == HX_WIRE_ONEWAY) {
		result = hx_router_send(router, module, msg->method, msg->payload, msg->payload_len,
		                        deadline);
		return result ? hx_syscall_fail(ctx, result, 0, "the one-way send failed") : 0;
	}
	/* The response payload gets what the reply buffer leaves after the header. */
	resp = hx_alloc(reply_cap);
	out = hx_alloc(reply_cap);
	if (!resp || !out) {
		result = hx_syscall_fail(ctx, -HX_ENOMEM, -1, "no memory for the reply");
		goto out;
	}
	result = hx_router_call(router, module, msg->method, msg->payload, msg->payload_len, resp,
	                        reply_cap - HX_WIRE_HEADER_SIZE, &resp_len, &status, deadline);
	if (result) {
		result = hx_syscall_fail(ctx, result, result == -HX_EMSGSIZE ? 2 : 0,
		                         result == -HX_EMSGSIZE ? "the reply does not fit reply_cap"
		                                                : "the call failed");
		goto out;
	}
	reply_envelope(&reply, msg, module, ctx->caller->pid, status);
	reply.payload = resp_len ? resp : NULL;
	reply.payload_len = resp_len;
	result = hx_wire_encode(&reply, out, reply_cap, &out_len, &werr);
	if (result) {
		/* The module's response is not one CBOR item of the profile: the caller gets an
		 * error message instead of bytes the decoder would refuse. */
		reply_envelope(&reply, msg, module, ctx->caller->pid, -HX_EPROTO);
		result = hx_wire_encode(&reply, out, reply_cap, &out_len, &werr);
		if (result) {
			result = hx_syscall_fail(ctx, result, -1, werr.reason);
			goto out;
		}
	}
	result = hx_copy_to_user(ctx, reply_ptr, out, out_len);
	if (result)
		result = hx_syscall_fail(ctx, result, 2, "the reply could not be written");
	else
		result = (long)out_len;
out:
	hx_free(resp);
	hx_free(out);
	return result;
}

long hx_sys_router_call(struct hx_syscall_ctx *ctx, const uint64_t args[HX_SYSCALL_ARGS])
{
	/* Acquire: pairs with the exchange in hx_syscall_set_router. */
	struct hx_router *router = atomic_load_explicit(&the_router, memory_order_acquire);
	size_t len = (size_t)args[1], reply_cap = (size_t)args[3];
	struct hx_wire_message msg;
	struct hx_wire_error werr;
	uint8_t *buf;
	long result;

	if (!router)
		return hx_syscall_fail(ctx, -HX_ENOSYS, -1, "no router is attached");
	buf = hx_alloc(len);
	if (!buf)
		return hx_syscall_fail(ctx, -HX_ENOMEM, -1, "no memory for the request");
	result = hx_copy_from_user(ctx, buf, args[0], len);
	if (result) {
		result = hx_syscall_fail(ctx, result, 0, "the request could not be read");
		goto out;
	}
	/* Nothing of the message is used before all of it is valid. */
	result = hx_wire_decode(buf, len, &msg, &werr);
	if (result) {
		result = hx_syscall_fail(ctx, result, 0, werr.reason);
		goto out;
	}
	if (msg.kind != HX_WIRE_REQUEST && msg.kind != HX_WIRE_ONEWAY) {
		result = hx_syscall_fail(ctx, -HX_EINVAL, 0, "not a request or a one-way message");
		goto out;
	}
	result = route(ctx, router, &msg, args[2], reply_cap, args[4]);
out:
	hx_free(buf);
	return result;
}
