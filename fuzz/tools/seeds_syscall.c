// SPDX-License-Identifier: MIT
/*
 * Seeds for syscall_validator_fuzzer (fuzz/tools/seedgen.h): programs in the input format of
 * fuzz/syscall_input.h. One seed per syscall with arguments that pass the table's rules (numbers
 * and argument counts come from the generated descriptors, so a new syscall gets its seed without
 * an edit here), and hand-written programs for the paths a fuzzer reaches slowly on its own: a
 * channel's whole life, a full channel, a write that runs into an unmapped page, the probe
 * syscall's string/array/inout arguments (a count whose byte size overflows, a name that runs into
 * the user limit), a router_call carrying a real wire message, the
 * policy, allocation failures, and numbers outside the table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <helix/abi.h>
#include <helix/ipc/wire.h>
#include <helix/syscall/numbers.h>
#include <helix/syscall/syscall.h>

#include "fuzz/syscall_input.h"
#include "seedgen.h"

struct prog {
	uint8_t buf[8192];
	struct hxf_writer w;
	int args; /* argument records written for the call being made */
};

/* Starts a program: @mem_len bytes of @mem at the start of the user space, and a policy byte. */
static void prog_begin(struct prog *p, const void *mem, uint16_t mem_len, uint8_t policy)
{
	p->w = (struct hxf_writer){ .buf = p->buf, .cap = sizeof(p->buf) };
	hxf_put_u16(&p->w, mem_len);
	for (uint16_t i = 0; i < mem_len; i++)
		hxf_put_u8(&p->w, ((const uint8_t *)mem)[i]);
	hxf_put_u8(&p->w, policy);
	p->args = -1;
}

/* Pads the call being made to six argument records (unused registers: strategy 0). */
static void call_end(struct prog *p)
{
	for (; p->args >= 0 && p->args < HX_SYSCALL_ARGS; p->args++)
		hxf_put_u8(&p->w, HXF_WELL_FORMED);
	p->args = -1;
}

static void call(struct prog *p, unsigned op)
{
	call_end(p);
	hxf_put_u8(&p->w, (uint8_t)op);
	p->args = 0;
}

/* Well-formed arguments: integers as their offset from the rule's minimum, pointers as offsets
 * into the user space, handles as indexes into the live handles, deadlines 0 (HX_NOWAIT),
 * 1 (the past) or n (now + n * 100 ns). */
static void arg16(struct prog *p, uint16_t v)
{
	hxf_put_u8(&p->w, HXF_WELL_FORMED);
	hxf_put_u16(&p->w, v);
	p->args++;
}

static void arg8(struct prog *p, uint8_t v)
{
	hxf_put_u8(&p->w, HXF_WELL_FORMED);
	hxf_put_u8(&p->w, v);
	p->args++;
}

static void arg_boundary(struct prog *p, uint8_t pick)
{
	hxf_put_u8(&p->w, HXF_BOUNDARY);
	hxf_put_u8(&p->w, pick);
	p->args++;
}

static void arg_raw(struct prog *p, uint64_t v)
{
	hxf_put_u8(&p->w, HXF_RAW);
	hxf_put_u64(&p->w, v);
	p->args++;
}

static int prog_write(struct prog *p, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	int err = 0;

	call_end(p);
	if (p->w.len > p->w.cap) {
		fprintf(stderr, "seeds_syscall: %s: the program outgrew its buffer\n", name);
		return -EOVERFLOW;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "wb");
	if (!f) {
		err = -errno;
		fprintf(stderr, "seeds_syscall: %s: %s\n", path, strerror(errno));
		return err;
	}
	if (fwrite(p->buf, 1, p->w.len, f) != p->w.len)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -EIO;
	return err;
}

/* A well-formed value for every argument of @desc (pointers 64 bytes apart at +0x100). */
static void well_formed_call(struct prog *p, const struct hx_syscall_desc *desc)
{
	call(p, desc->nr);
	for (int i = 0; i < desc->nargs; i++) {
		switch (desc->args[i].kind) {
		case HX_ARG_INT:
		case HX_ARG_UINT:
			arg16(p, 7); /* min + 7, within the smallest range the table has */
			break;
		case HX_ARG_UPTR:
		case HX_ARG_UARRAY:
		case HX_ARG_USTR:
			arg16(p, (uint16_t)(0x100 + 0x40 * i));
			break;
		case HX_ARG_FLAGS:
		case HX_ARG_ENUM:
		case HX_ARG_HANDLE:
		case HX_ARG_DEADLINE:
		default:
			arg8(p, 1);
			break;
		}
	}
}

#define WRITE(name)                                    \
	do {                                           \
		int rc_ = prog_write(&p, dir, (name)); \
		if (rc_ < 0)                           \
			return rc_;                    \
		count++;                               \
	} while (0)

int hx_seeds_syscall_validator(const char *dir)
{
	static struct prog p;
	uint8_t mem[512];
	char name[64];
	uint8_t policy;
	int count = 0;

	/* One per syscall: arguments that pass the rules, then a handle from chan_create first so
	 * the handle arguments resolve. */
	memset(mem, 'm', sizeof(mem));
	for (unsigned nr = 0; nr < HX_SYSCALL_STATIC_COUNT; nr++) {
		const struct hx_syscall_desc *desc = &hx_syscall_static_table[nr];

		if (!desc->handler)
			continue;
		prog_begin(&p, mem, sizeof(mem), 0);
		call(&p, HX_SYS_chan_create);
		arg16(&p, 3);
		arg16(&p, 63); /* capacity 4, 64-byte messages */
		well_formed_call(&p, desc);
		snprintf(name, sizeof(name), "wf-%s", desc->name);
		WRITE(name);
	}

	/* A channel's life: create(2, 8), send twice (the second fills it), a third send (full),
	 * dup read-only, receive both through the dup, receive again (empty), close, send (closed),
	 * receive (drained: EPIPE), close the handles. */
	memcpy(mem, "message1message2", 16);
	prog_begin(&p, mem, 16, 0);
	call(&p, HX_SYS_chan_create);
	arg16(&p, 1);
	arg16(&p, 7);
	for (int i = 0; i < 3; i++) {
		call(&p, HX_SYS_chan_send);
		arg8(&p, 0);
		arg16(&p, (uint16_t)(8 * (i & 1)));
		arg16(&p, 7);
		arg8(&p, 0);
	}
	call(&p, HX_SYS_handle_dup);
	arg8(&p, 0);
	arg8(&p, HX_RIGHT_READ);
	for (int i = 0; i < 3; i++) {
		call(&p, HX_SYS_chan_recv);
		arg8(&p, 1);
		arg16(&p, (uint16_t)(0x200 + 8 * i));
		arg16(&p, 7);
		arg8(&p, i == 2 ? 30 : 0); /* the last one waits 3 us */
	}
	call(&p, HX_SYS_chan_close);
	arg8(&p, 0);
	call(&p, HX_SYS_chan_send);
	arg8(&p, 0);
	arg16(&p, 0);
	arg16(&p, 7);
	arg8(&p, 0);
	call(&p, HX_SYS_chan_recv);
	arg8(&p, 0);
	arg16(&p, 0x300);
	arg16(&p, 7);
	arg8(&p, 0);
	call(&p, HX_SYS_handle_close);
	arg8(&p, 1);
	call(&p, HX_SYS_handle_close);
	arg8(&p, 0);
	WRITE("chan-life");

	/* Sizes that do not match the channel, and a message from the read-only page. */
	prog_begin(&p, mem, 16, 0);
	call(&p, HX_SYS_chan_create);
	arg16(&p, 0);
	arg16(&p, 3);
	call(&p, HX_SYS_chan_send);
	arg8(&p, 0);
	arg16(&p, 0);
	arg16(&p, 7); /* 8 bytes to a 4-byte channel */
	arg8(&p, 0);
	call(&p, HX_SYS_chan_send);
	arg8(&p, 0);
	arg16(&p, (uint16_t)(HXF_RO_PAGE * 4096));
	arg16(&p, 3);
	arg8(&p, 0);
	call(&p, HX_SYS_chan_recv);
	arg8(&p, 0);
	arg16(&p, (uint16_t)(HXF_RO_PAGE * 4096)); /* not writable */
	arg16(&p, 3);
	arg8(&p, 0);
	WRITE("chan-sizes-pages");

	/* write: a line, then a write that runs into the absent page (a prefix is written). */
	memcpy(mem, "hello from the syscall fuzzer\n", 30);
	prog_begin(&p, mem, 30, 0);
	call(&p, HX_SYS_write);
	arg16(&p, 0);
	arg16(&p, 30);
	call(&p, HX_SYS_write);
	arg16(&p, (uint16_t)(HXF_ABSENT_PAGE * 4096 - 300));
	arg16(&p, 500); /* well-formed lengths are below 512 */
	WRITE("write-hello-and-fault");

	/* clock_gettime into a fine page, the read-only page, a misaligned address, the limit. */
	prog_begin(&p, mem, 0, 0);
	call(&p, HX_SYS_clock_gettime);
	arg8(&p, 0);
	arg16(&p, 0x40);
	call(&p, HX_SYS_clock_gettime);
	arg8(&p, 0);
	arg16(&p, (uint16_t)(HXF_RO_PAGE * 4096));
	call(&p, HX_SYS_clock_gettime);
	arg8(&p, 0);
	arg_raw(&p, 0); /* NULL */
	call(&p, HX_SYS_clock_gettime);
	arg8(&p, 0);
	arg_boundary(&p, 6); /* limit - 8 */
	WRITE("clock-pages");

	/* The probe: a name, four items, state; then a name without a NUL in 32 bytes; then items
	 * whose count * 8 overflows. */
	memset(mem, 0, sizeof(mem));
	memcpy(mem, "probe", 6);
	for (int i = 0; i < 4; i++)
		mem[64 + 8 * i] = (uint8_t)(i + 1);
	mem[128] = 100;
	memset(mem + 256, 'x', 64);
	prog_begin(&p, mem, sizeof(mem), 0);
	call(&p, HXF_OP_PROBE);
	arg16(&p, 0);
	arg16(&p, 64);
	arg16(&p, 4);
	arg16(&p, 128);
	arg8(&p, 0x05);
	arg16(&p, 3);
	call(&p, HXF_OP_PROBE);
	arg16(&p, 256);
	arg16(&p, 64);
	arg16(&p, 0);
	arg_raw(&p, 0);
	arg8(&p, 0);
	arg16(&p, 8);
	call(&p, HXF_OP_PROBE);
	arg16(&p, 0);
	arg16(&p, 64);
	arg_raw(&p, UINT64_MAX / 4);
	arg16(&p, 128);
	arg8(&p, 0);
	arg16(&p, 8);
	/* A name in the last 16 bytes of the space with no NUL before the limit. */
	call_end(&p);
	hxf_put_u8(&p.w, HXF_OP_POKE);
	hxf_put_u16(&p.w, (uint16_t)(HXF_USER_PAGES * 4096 - 16));
	hxf_put_u8(&p.w, 16);
	for (int i = 0; i < 16; i++)
		hxf_put_u8(&p.w, 'y');
	call(&p, HXF_OP_PROBE);
	arg_boundary(&p, 7); /* limit - 16 */
	arg16(&p, 64);
	arg16(&p, 0);
	arg_raw(&p, 0);
	arg8(&p, 0);
	arg16(&p, 8);
	WRITE("probe-kinds");

	/* router_call: a request to "echo" built with the wire encoder, the reply after it. */
	{
		static uint8_t msgbuf[256];
		const uint8_t payload[] = { 0x82, 0x01, 0x63, 'a', 'b', 'c' }; /* [1, "abc"] */
		struct hx_wire_message msg = {
			.kind = HX_WIRE_REQUEST,
			.request_id = 1,
			.method = 1,
			.payload = payload,
			.payload_len = sizeof(payload),
		};
		size_t len;

		if (hx_wire_set_target_name(&msg, "echo") ||
		    hx_wire_encode(&msg, msgbuf, sizeof(msgbuf), &len, NULL)) {
			fprintf(stderr, "seeds_syscall: the echo request does not encode\n");
			return -EINVAL;
		}
		prog_begin(&p, msgbuf, (uint16_t)len, 0);
		call(&p, HX_SYS_router_call);
		arg16(&p, 0);
		arg16(&p, (uint16_t)(len - HX_WIRE_HEADER_SIZE));
		arg16(&p, 0x400);
		arg16(&p, 256);
		arg8(&p, 200); /* now + 20 us (the harness caps waits there) */
		WRITE("router-echo");
	}

	/* The policy: deny write, restrict dup's rights to READ, then try both. The policy byte
	 * denies (byte % HX_SYSCALL_STATIC_COUNT); bit 7 adds the flags rule. */
	policy = 0x80;
	while (policy % HX_SYSCALL_STATIC_COUNT != HX_SYS_write)
		policy++;
	prog_begin(&p, mem, 16, policy);
	call(&p, HX_SYS_write);
	arg16(&p, 0);
	arg16(&p, 4);
	call(&p, HX_SYS_chan_create);
	arg16(&p, 0);
	arg16(&p, 0);
	call(&p, HX_SYS_handle_dup);
	arg8(&p, 0);
	arg8(&p, HX_RIGHTS_ALL);
	call(&p, HX_SYS_handle_dup);
	arg8(&p, 0);
	arg8(&p, HX_RIGHT_READ);
	WRITE("policy-deny-and-flags");

	/* Numbers outside the table, and garbage in the unused registers of getpid. */
	prog_begin(&p, mem, 0, 0);
	{
		const uint64_t numbers[] = {
			HX_SYSCALL_STATIC_COUNT, 255, HXF_PROBE_NR + 1, 511, 512, UINT64_MAX,
			(uint64_t)1 << 32
		};

		for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
			hxf_put_u8(&p.w, HXF_OP_RAW);
			hxf_put_u64(&p.w, numbers[i]);
			for (int a = 0; a < HX_SYSCALL_ARGS; a++)
				hxf_put_u64(&p.w, UINT64_MAX - (uint64_t)a);
		}
	}
	call(&p, HX_SYS_getpid);
	for (int a = 0; a < HX_SYSCALL_ARGS; a++)
		arg_raw(&p, 0xdead0000u + (uint64_t)a);
	WRITE("raw-numbers");

	/* An exhausted kernel heap: each allocation of chan_create in turn, a send above the
	 * 256-byte stack buffer, a dup; then the same calls with the heap back. */
	prog_begin(&p, mem, sizeof(mem), 0);
	for (uint8_t skip = 0; skip < 3; skip++) {
		call_end(&p);
		hxf_put_u8(&p.w, HXF_OP_FAILALLOC);
		hxf_put_u8(&p.w, skip);
		hxf_put_u8(&p.w, 1);
		call(&p, HX_SYS_chan_create);
		arg16(&p, 1);
		arg16(&p, 299); /* 300-byte messages */
	}
	call(&p, HX_SYS_chan_create);
	arg16(&p, 1);
	arg16(&p, 299);
	call_end(&p);
	hxf_put_u8(&p.w, HXF_OP_FAILALLOC);
	hxf_put_u8(&p.w, 0);
	hxf_put_u8(&p.w, 4);
	call(&p, HX_SYS_chan_send);
	arg8(&p, 0);
	arg16(&p, 0);
	arg16(&p, 299);
	arg8(&p, 0);
	call_end(&p);
	hxf_put_u8(&p.w, HXF_OP_FAILALLOC);
	hxf_put_u8(&p.w, 0);
	hxf_put_u8(&p.w, 4);
	call(&p, HX_SYS_handle_dup);
	arg8(&p, 0);
	arg8(&p, HX_RIGHT_READ);
	call(&p, HX_SYS_chan_send);
	arg8(&p, 0);
	arg16(&p, 0);
	arg16(&p, 299);
	arg8(&p, 0);
	call(&p, HX_SYS_chan_recv);
	arg8(&p, 0);
	arg16(&p, 0x400);
	arg16(&p, 299);
	arg8(&p, 0);
	WRITE("enomem-paths");

	/* Stale and forged handles: create, close, use the closed value; another generation. */
	prog_begin(&p, mem, 16, 0);
	call(&p, HX_SYS_chan_create);
	arg16(&p, 0);
	arg16(&p, 0);
	call(&p, HX_SYS_chan_create);
	arg16(&p, 0);
	arg16(&p, 0);
	call(&p, HX_SYS_handle_close);
	arg8(&p, 0);
	call(&p, HX_SYS_chan_send);
	arg_boundary(&p, 0); /* the closed handle */
	arg16(&p, 0);
	arg16(&p, 0);
	arg8(&p, 0);
	call(&p, HX_SYS_chan_close);
	arg_boundary(&p, 1); /* the live slot, another generation */
	WRITE("handles-stale-forged");
	return count;
}
