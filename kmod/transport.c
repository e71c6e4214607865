// SPDX-License-Identifier: GPL-2.0
/*
 * The vsock transport ops table, SOCK_STREAM and SOCK_SEQPACKET. Thin on
 * purpose: connection logic lives in conn.c, the data path in datapath.c. The vsock core calls every op below
 * with the socket lock held, except init and destruct.
 */
#include <linux/module.h>
#include <linux/sched.h>
#include <net/af_vsock.h>

#include "yasmin.h"

static u32 yasmin_get_local_cid(void)
{
	return yasmin_domid_to_cid(yasmin_self);
}

static bool yasmin_stream_allow(u32 cid, u32 port)
{
	/* CID 0 and 1 are not domains; CID = domid + 2. */
	return cid >= 2 && cid - 2 < DOMID_FIRST_RESERVED;
}

/*
 * Whenever we tell the core there is nothing to read (or no room to
 * write), we have also asked the peer for an event. The core does not
 * call a pre_block hook before returning EAGAIN to a non-blocking caller,
 * and an edge-triggered epoll waiter never polls again by itself, so
 * without this a non-blocking reader or writer waits for an event nobody
 * was asked to send.
 */
static s64 yasmin_stream_has_data(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	s64 n;

	yasmin_chan_peer_shutdown(c);
	n = yasmin_chan_has_data(c);
	if (!n && yasmin_chan_want_data(c, 1))
		n = yasmin_chan_has_data(c);
	return n;
}

static s64 yasmin_stream_has_space(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	s64 n;

	yasmin_chan_peer_shutdown(c);
	if (yasmin_conn_write_closed(c))
		return 0;
	n = yasmin_chan_has_space(c);

	if (!n && yasmin_chan_want_space(c))
		n = yasmin_chan_has_space(c);
	return n;
}

/*
 * The core refuses a MSG_WAITALL read of rcvhiwat bytes or more. Our reader
 * frees room as it copies and wakes the writer, so a read larger than the
 * ring completes: there is no such limit to report.
 */
static u64 yasmin_stream_rcvhiwat(struct vsock_sock *vsk)
{
	return U64_MAX;
}

static bool yasmin_stream_is_active(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	return c->chan.up && c->state != YASMIN_CONN_CONNECTING;
}

static ssize_t yasmin_stream_enqueue(struct vsock_sock *vsk,
				     struct msghdr *msg, size_t len)
{
	return yasmin_chan_enqueue(yasmin_conn(vsk), msg, len);
}

static ssize_t yasmin_stream_dequeue(struct vsock_sock *vsk,
				     struct msghdr *msg, size_t len, int flags)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	ssize_t got = yasmin_chan_dequeue(c, msg, len, flags);

	/* The last bytes of a connection the peer is done with. */
	if (!(flags & MSG_PEEK))
		yasmin_conn_let_go_if_done(c);
	return got;
}

static bool yasmin_seqpacket_allow(u32 remote_cid)
{
	return yasmin_stream_allow(remote_cid, 0);
}

/* As yasmin_stream_has_data(), in whole messages. */
static u32 yasmin_seqpacket_has_data(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	u32 n;

	yasmin_chan_peer_shutdown(c);
	n = yasmin_chan_msgs(c);
	if (!n && yasmin_chan_want_data(c, 1))
		n = yasmin_chan_msgs(c);
	return n;
}

static int yasmin_seqpacket_enqueue(struct vsock_sock *vsk,
				    struct msghdr *msg, size_t len)
{
	return yasmin_chan_enqueue_msg(yasmin_conn(vsk), msg, len);
}

static ssize_t yasmin_seqpacket_dequeue(struct vsock_sock *vsk,
					struct msghdr *msg, int flags)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	ssize_t got = yasmin_chan_dequeue_msg(c, msg, flags);

	/* Even after EFAULT: the message was dropped all the same. */
	if (!(flags & MSG_PEEK))
		yasmin_conn_let_go_if_done(c);
	return got;
}

static int yasmin_notify_poll_in(struct vsock_sock *vsk, size_t target,
				 bool *readable)
{
	*readable = yasmin_chan_want_data(yasmin_conn(vsk), target);
	return 0;
}

static int yasmin_notify_poll_out(struct vsock_sock *vsk, size_t target,
				  bool *writable)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	/* A reset or let-go connection is "writable": the write says why not. */
	*writable = yasmin_conn_write_closed(c) || yasmin_chan_want_space(c);
	return 0;
}

static int yasmin_notify_recv_init(struct vsock_sock *vsk, size_t target,
				   struct vsock_transport_recv_notify_data *d)
{
	/* a wait that ended without data (a timeout, a signal) teaches nothing */
	yasmin_conn(vsk)->rx_wait_start = 0;
	return 0;
}

/*
 * Called after prepare_to_wait() and before the reader sleeps. If data
 * arrived between the core's last check and our want_data flag, stay
 * runnable: schedule_timeout() then returns at once and the core looks
 * again.
 */
static int yasmin_notify_recv_pre_block(struct vsock_sock *vsk, size_t target,
					struct vsock_transport_recv_notify_data *d)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	yasmin_chan_wait_begins(c);
	if (yasmin_chan_busy_poll(c, true) || yasmin_chan_want_data(c, 1)) {
		/*
		 * The busy-poll took back the event request, which may have
		 * been another waiter's: wake them all, as the event would
		 * have (we are one of them, and so stay runnable).
		 */
		yasmin_wake(sk_vsock(vsk));
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static int yasmin_notify_recv_pre_dequeue(struct vsock_sock *vsk,
					  size_t target,
					  struct vsock_transport_recv_notify_data *d)
{
	yasmin_chan_wait_ends(yasmin_conn(vsk));
	return 0;
}

/*
 * A read that empties the ring asks for an event too. The core reads once
 * when data is there and returns, so has_data() never saw the ring empty;
 * a reader that stops at a short read (nginx under edge-triggered epoll)
 * never makes the call that would have returned EAGAIN and armed it, and
 * would sleep through the next message. If data is there (it may have
 * come meanwhile, without an event), the reader is woken here instead.
 */
static int yasmin_notify_recv_post_dequeue(struct vsock_sock *vsk,
					   size_t target, ssize_t copied,
					   bool data_read,
					   struct vsock_transport_recv_notify_data *d)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	/*
	 * Not on the hot path of a stream: a read that left data behind
	 * filled the caller's buffer, so the caller reads again; and with
	 * nobody polling the socket, a reader that blocks arms the event in
	 * notify_recv_pre_block.
	 */
	if (!data_read || copied <= 0 || !c->rx_drained ||
	    !yasmin_has_waiter(sk_vsock(vsk)))
		return 0;
	if (yasmin_chan_want_data(c, 1))
		yasmin_wake(sk_vsock(vsk));
	return 0;
}

/*
 * A new sendmsg(): a SEQPACKET message that waited for room before was
 * given up (EAGAIN, a signal), and must not make this one wait for it.
 */
static int yasmin_notify_send_init(struct vsock_sock *vsk,
				   struct vsock_transport_send_notify_data *d)
{
	yasmin_conn(vsk)->chan.tx_need = 0;
	yasmin_zc_send_init(yasmin_conn(vsk));
	return 0;
}

/*
 * The writer sleeps in wait_woken(); if room appeared before our
 * want_space flag was visible, mark it woken so it does not sleep. The
 * same wake reaches any other waiter whose request the busy-poll took
 * back.
 */
static int yasmin_notify_send_pre_block(struct vsock_sock *vsk,
					struct vsock_transport_send_notify_data *d)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	if (yasmin_chan_busy_poll(c, false) || yasmin_chan_want_space(c))
		yasmin_wake(sk_vsock(vsk));
	return 0;
}

static int yasmin_notify_send_pre_enqueue(struct vsock_sock *vsk,
					  struct vsock_transport_send_notify_data *d)
{
	return 0;
}

static int yasmin_notify_send_post_enqueue(struct vsock_sock *vsk,
					   ssize_t written,
					   struct vsock_transport_send_notify_data *d)
{
	return 0;
}

/*
 * SO_VM_SOCKETS_BUFFER_SIZE reads back what was set, as on virtio. Before
 * connect() it sizes the rings; on a connected socket, whose ring cannot
 * change, it becomes the receive window the peer may fill (at most the
 * ring).
 */
static void yasmin_notify_buffer_size(struct vsock_sock *vsk, u64 *val)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	if (c && c->chan.up && c->state != YASMIN_CONN_CONNECTING)
		yasmin_chan_set_window(c, *val);
}

#ifdef YASMIN_HAVE_NOTIFY_SET_RCVLOWAT
/* A reader now waits for more: the writer may be waiting for room. */
static int yasmin_notify_set_rcvlowat(struct vsock_sock *vsk, int val)
{
	yasmin_chan_rcvlowat(yasmin_conn(vsk), val);
	return 0;
}
#endif

#ifdef YASMIN_HAVE_MSGZEROCOPY
/* See zerocopy.c. */
static bool yasmin_msgzerocopy_allow(void)
{
	return true;
}
#endif

#ifdef YASMIN_HAVE_UNSENT_BYTES
static ssize_t yasmin_unsent_bytes(struct vsock_sock *vsk)
{
	return yasmin_chan_unsent(yasmin_conn(vsk));
}
#endif

const struct vsock_transport yasmin_transport = {
	.module = THIS_MODULE,
	.get_local_cid = yasmin_get_local_cid,

	.init = yasmin_conn_init,
	.destruct = yasmin_conn_destruct,
	.release = yasmin_conn_release,
	.connect = yasmin_conn_connect,
	.shutdown = yasmin_conn_shutdown,
	.cancel_pkt = yasmin_conn_cancel,

	.stream_allow = yasmin_stream_allow,
	.stream_has_data = yasmin_stream_has_data,
	.stream_has_space = yasmin_stream_has_space,
	.stream_rcvhiwat = yasmin_stream_rcvhiwat,
	.stream_is_active = yasmin_stream_is_active,
	.stream_enqueue = yasmin_stream_enqueue,
	.stream_dequeue = yasmin_stream_dequeue,

	.seqpacket_allow = yasmin_seqpacket_allow,
	.seqpacket_has_data = yasmin_seqpacket_has_data,
	.seqpacket_enqueue = yasmin_seqpacket_enqueue,
	.seqpacket_dequeue = yasmin_seqpacket_dequeue,

	.notify_poll_in = yasmin_notify_poll_in,
	.notify_poll_out = yasmin_notify_poll_out,
	.notify_recv_init = yasmin_notify_recv_init,
	.notify_recv_pre_block = yasmin_notify_recv_pre_block,
	.notify_recv_pre_dequeue = yasmin_notify_recv_pre_dequeue,
	.notify_recv_post_dequeue = yasmin_notify_recv_post_dequeue,
	.notify_send_init = yasmin_notify_send_init,
	.notify_send_pre_block = yasmin_notify_send_pre_block,
	.notify_send_pre_enqueue = yasmin_notify_send_pre_enqueue,
	.notify_send_post_enqueue = yasmin_notify_send_post_enqueue,
	.notify_buffer_size = yasmin_notify_buffer_size,
#ifdef YASMIN_HAVE_NOTIFY_SET_RCVLOWAT
	.notify_set_rcvlowat = yasmin_notify_set_rcvlowat,
#endif
#ifdef YASMIN_HAVE_UNSENT_BYTES
	.unsent_bytes = yasmin_unsent_bytes,
#endif
#ifdef YASMIN_HAVE_MSGZEROCOPY
	.msgzerocopy_allow = yasmin_msgzerocopy_allow,
#endif
};
