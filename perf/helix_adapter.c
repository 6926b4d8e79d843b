// SPDX-License-Identifier: MIT
/*
 * The helix channel (ipc/channel.c) as a benchmark adapter: producers send with HX_FOREVER, the
 * spinning consumer polls with HX_NOWAIT, the blocking one receives with HX_FOREVER. The harness
 * stops a stalled run with hx_chan_close, which wakes every sleeper (senders then get -HX_EPIPE).
 */
#include <stdio.h>

#include <helix/errors.h>
#include <helix/ipc/channel.h>

#include "perf/bench_queue.h"

static int helix_create(size_t capacity, size_t msg_size, int producers, void **queue)
{
	struct hx_chan *chan;
	int err = hx_chan_create(capacity, msg_size, &chan);

	(void)producers;
	if (err) {
		fprintf(stderr, "hx_chan_create(%zu, %zu): %s\n", capacity, msg_size,
		        hx_error_name(err));
		return -1;
	}
	*queue = chan;
	return 0;
}

static void helix_destroy(void *queue)
{
	hx_chan_destroy(queue);
}

static int helix_send(void *queue, void *producer, const void *msg, const atomic_bool *stop)
{
	(void)producer;
	(void)stop; /* a stop closes the channel: the send returns -HX_EPIPE */
	return hx_chan_send(queue, msg, HX_FOREVER) == 0 ? 0 : -1;
}

static bool helix_try_recv(void *queue, void *msg)
{
	return hx_chan_recv(queue, msg, HX_NOWAIT) == 0;
}

static int helix_recv(void *queue, void *msg, const atomic_bool *stop)
{
	(void)stop; /* closed and drained: -HX_EPIPE */
	return hx_chan_recv(queue, msg, HX_FOREVER) == 0 ? 0 : -1;
}

static void helix_wake_all(void *queue)
{
	hx_chan_close(queue);
}

static void helix_extra(void *queue, uint64_t messages, struct bench_extra *out)
{
	struct hx_chan_stats stats;
	double per = messages ? 1.0 / (double)messages : 0.0;

	hx_chan_get_stats(queue, &stats);
	bench_extra_add(out, "full_events_per_msg", (double)stats.full_events * per);
	bench_extra_add(out, "send_sleeps_per_msg", (double)stats.send_sleeps * per);
	bench_extra_add(out, "recv_sleeps_per_msg", (double)stats.recv_sleeps * per);
	bench_extra_add(out, "wakeups_per_msg", (double)stats.wakeups * per);
	bench_extra_add(out, "remote_wakes_per_msg", (double)stats.remote_wakes * per);
	bench_extra_add(out, "recv_yields_per_msg", (double)stats.recv_yields * per);
}

const struct bench_impl bench_helix = {
	.name = "helix",
	.summary = "helix channel (ipc/channel.c): bounded MPSC, blocking on both sides",
	.producer_wait =
	    "hx_chan_send(HX_FOREVER): the channel's own policy (spin 64 x pause, then announce "
	    "with a seq_cst fence, one sched_yield unless the consumer polls, re-try, futex "
	    "sleep until the consumer or the sender it woke wakes it)",
	.consumer_spin_wait = "hx_chan_recv(HX_NOWAIT) in a loop, one pause after each -HX_EAGAIN",
	.consumer_block_wait = "hx_chan_recv(HX_FOREVER): spin 64 x pause, and on for the last "
	                       "wake's latency (at most 20 us) when that wake came from another "
	                       "CPU; after a wake from its own CPU that brought under 16 "
	                       "messages, one sched_yield and a second spin first; then a "
	                       "seq_cst fence (and a membarrier only when a claimed message is "
	                       "not yet published) + futex sleep until a producer wakes it",
	.bounded = true,
	.create = helix_create,
	.destroy = helix_destroy,
	.send = helix_send,
	.try_recv = helix_try_recv,
	.recv = helix_recv,
	.wake_all = helix_wake_all,
	.extra = helix_extra,
};
