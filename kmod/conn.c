// SPDX-License-Identifier: GPL-2.0
/*
 * Connections of vsock sockets: what each transition of the state machine
 * in state.h does to the socket, the data channel and the peer. Socket-side functions run under the socket lock and never take
 * peer->lock (see the lock order in yasmin.h). Control messages arrive in
 * the peer's work item with peer->lock held and take the socket lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/random.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "yasmin.h"

atomic_t yasmin_accepted_maps = ATOMIC_INIT(0);
atomic_t yasmin_accepted_conns = ATOMIC_INIT(0);

/* af_vsock.c's default buffer size: a socket nobody tuned gets ring_kb. */
#define YASMIN_VSOCK_DEFAULT_BUFFER_SIZE	(256 * 1024)

void yasmin_wake(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLIN | EPOLLRDNORM |
					   EPOLLOUT | EPOLLWRNORM);
	rcu_read_unlock();
}

/* Someone sleeps on @sk or watches it with poll/epoll. */
bool yasmin_has_waiter(struct sock *sk)
{
	bool ret;

	rcu_read_lock();
	ret = skwq_has_sleeper(rcu_dereference(sk->sk_wq));
	rcu_read_unlock();
	return ret;
}

static void yasmin_conn_attach(struct yasmin_conn *c, struct yasmin_peer *peer)
{
	c->peer = peer;
	spin_lock(&peer->conns_lock);
	list_add_tail(&c->peer_node, &peer->conns);
	spin_unlock(&peer->conns_lock);
}

static void yasmin_conn_detach(struct yasmin_conn *c)
{
	if (!c->peer)
		return;
	spin_lock(&c->peer->conns_lock);
	list_del_init(&c->peer_node);
	spin_unlock(&c->peer->conns_lock);
}

static void yasmin_conn_send(struct yasmin_conn *c, u8 type, u8 flags)
{
	struct vsock_sock *vsk = c->vsk;
	struct yasmin_ctrl_msg msg = {
		.type = type,
		.flags = flags,
		.src_port = vsk->local_addr.svm_port,
		.dst_port = vsk->remote_addr.svm_port,
		.conn_id = c->id,
	};

	if (yasmin_ctrl_send(c->peer, &msg))
		pr_warn_ratelimited("domain %u: control message lost (no memory)\n",
				    c->peer->domid);
}

/* Answer a message about a connection we do not have. */
static void yasmin_conn_reply_reset(struct yasmin_peer *peer,
				    const struct yasmin_ctrl_msg *m)
{
	struct yasmin_ctrl_msg msg = {
		.type = YASMIN_MSG_RESET,
		.src_port = m->dst_port,
		.dst_port = m->src_port,
		.conn_id = m->conn_id,
	};

	yasmin_ctrl_reply(peer, &msg);
}

/*
 * Called where the core asks whether it may write: on a reset connection
 * whose error has been reported, or one let go, turn further writes into
 * EPIPE (and poll says writable, so a writer polling only for POLLOUT
 * finds out). Returns true when the connection was reset or let go.
 * Requires: sk_lock held.
 */
bool yasmin_conn_write_closed(struct yasmin_conn *c)
{
	struct sock *sk = sk_vsock(c->vsk);

	if (!c->was_reset && !c->let_go)
		return false;
	if (!sk->sk_err)
		c->vsk->peer_shutdown |= RCV_SHUTDOWN;
	return true;
}

/*
 * A non-blocking connect() leaves the core's timeout work armed, holding
 * a reference to the socket for the whole connect timeout (60 s if the
 * user asked): a closed socket would live on that long. Once the attempt
 * is decided, the timeout has nothing left to do. Requires: sk_lock held
 * and another reference held by the caller (the put is never the last).
 */
static void yasmin_conn_stop_connect_timer(struct vsock_sock *vsk)
{
	if (cancel_delayed_work(&vsk->connect_work))
		sock_put(sk_vsock(vsk));
}

/*
 * Leave the peer's connection list and let go of the channel, moving the
 * state on by @ev (RESET or CLOSE: CLOSED either way). Requires: sk_lock.
 */
static void yasmin_conn_drop_channel(struct yasmin_conn *c, int ev)
{
	yasmin_conn_detach(c);
	yasmin_chan_uninit(c);
	c->state = yasmin_conn_next(c->state, ev);
}

/*
 * The connection is over without a goodbye: free the channel now and
 * report @err to anyone blocked on the socket. Requires: sk_lock held.
 */
static void yasmin_conn_reset(struct yasmin_conn *c, int err)
{
	struct sock *sk = sk_vsock(c->vsk);

	sock_owned_by_me(sk);
	/* Nothing to reset before connect() or after close. */
	if (c->state == YASMIN_CONN_IDLE || c->state == YASMIN_CONN_CLOSED)
		return;
	/* A CONNECT still waiting must not go out after all. */
	if (c->state == YASMIN_CONN_CONNECTING && c->peer)
		yasmin_ctrl_cancel(c->peer, c->id);
	yasmin_conn_drop_channel(c, YASMIN_EV_RESET);
	yasmin_stat_add(YASMIN_STAT_RESETS, 1);

	if (sk->sk_state == TCP_SYN_SENT) {
		sk->sk_state = TCP_CLOSE;
		if (sk->sk_socket)
			sk->sk_socket->state = SS_UNCONNECTED;
		yasmin_conn_stop_connect_timer(c->vsk);
	} else if (sk->sk_state == TCP_ESTABLISHED) {
		/*
		 * The connection is over for good. Like TCP after a reset,
		 * the next read or write reports @err; once that has been
		 * read (SO_ERROR clears it), reads see end of file and writes
		 * EPIPE (yasmin_conn_write_closed()), so nobody waits forever
		 * on a socket that can never move again. The peer sends no
		 * more from now on; that it reads no more is said only after
		 * the error, since the core reports a shutdown before it.
		 */
		sock_set_flag(sk, SOCK_DONE);
		c->vsk->peer_shutdown |= SEND_SHUTDOWN;
		c->was_reset = true;
	} else {
		/*
		 * connect() gave up already (timeout, signal) and reported
		 * that: an error left now would fail the socket's next
		 * connect() at once.
		 */
		return;
	}
	sk->sk_err = err;
	sk_error_report(sk);
	sk->sk_state_change(sk);
	yasmin_wake(sk);
}

/*
 * yasmin_conn_let_go_if_done() - an acceptor whose peer has shut both
 * directions, and whose reader has taken every byte, unmaps the channel
 * now rather than at its own close: nothing can ever move on it again,
 * and while we map it the connector's pages linger (a connector that
 * closed counts them against max_peer_lingering and refuses new
 * connections past it). Without this, a server that is slow to close
 * (busy, or keeping a socket in CLOSE_WAIT) makes its clients' connects
 * fail with ENOBUFS. Reads then see end of file, writes EPIPE, as before.
 * A RESET the peer sends later finds no connection and is dropped: the
 * reader, who took every byte, sees end of file, not ECONNRESET. Only the
 * peer's SHUTDOWN messages count here, not its prod line's shutdown word:
 * the message's handler wakes every waiter, and once we let go nothing
 * else would (a later message finds no connection).
 * Requires: sk_lock held.
 */
void yasmin_conn_let_go_if_done(struct yasmin_conn *c)
{
	struct vsock_sock *vsk = c->vsk;

	sock_owned_by_me(sk_vsock(vsk));
	if (c->state != YASMIN_CONN_CONNECTED || c->chan.connector ||
	    !c->chan.up || c->shut_told != YASMIN_SHUT_MASK)
		return;
	/* A bad index breaks the connection: that teardown sends RESET. */
	if (yasmin_chan_has_data(c) || c->broken)
		return;
	c->let_go = true;
	/* As after a goodbye: our close will send nothing more. */
	yasmin_conn_drop_channel(c, YASMIN_EV_CLOSE);
	sock_set_flag(sk_vsock(vsk), SOCK_DONE);
	/*
	 * Unmapped first, then said: the connector frees its lingering
	 * pages when our goodbye comes (yasmin_conn_rx()).
	 */
	yasmin_conn_send(c, YASMIN_MSG_SHUTDOWN, YASMIN_SHUT_MASK);
}

/* A message waiting in a connection's inbox. */
struct yasmin_rxmsg {
	struct list_head node;
	struct yasmin_ctrl_msg msg;
};

/*
 * An honest peer sends a connection at most an ACCEPT, a SHUTDOWN per
 * direction and a RESET; more waiting at once is a flood and resets it.
 */
#define YASMIN_INBOX_MAX	8

static void yasmin_inbox_release(struct kref *ref)
{
	struct yasmin_inbox *in = container_of(ref, struct yasmin_inbox, ref);
	struct yasmin_rxmsg *r, *tmp;

	list_for_each_entry_safe(r, tmp, &in->msgs, node)
		kfree(r);
	kfree(in);
}

/*
 * Have the inbox's work item run. Requires: the caller took a socket and
 * an inbox reference, which the work item drops (or we do, if it was
 * queued already and holds its own).
 */
static void yasmin_inbox_kick(struct yasmin_inbox *in)
{
	if (!queue_work(yasmin_wq, &in->work)) {
		sock_put(in->sk);
		kref_put(&in->ref, yasmin_inbox_release);
	}
}

/*
 * References to @c's inbox and socket, unless the socket is already on
 * its way to being freed. Requires: peer->conns_lock held (so @c, which
 * is on peer->conns, is not freed meanwhile).
 */
static struct yasmin_inbox *yasmin_inbox_get(struct yasmin_conn *c)
{
	struct yasmin_inbox *in = c->inbox;

	if (!refcount_inc_not_zero(&in->sk->sk_refcnt))
		return NULL;
	kref_get(&in->ref);
	return in;
}

/*
 * The peer broke the protocol on this socket. The reader or writer sees
 * EPROTO at once; the teardown (unmapping, unbinding, the RESET) needs to
 * sleep and runs from the inbox work item, since we may be called from
 * has_data() after the core's prepare_to_wait(). Requires: sk_lock held.
 */
void yasmin_conn_broken(struct yasmin_conn *c, const char *why)
{
	struct sock *sk = sk_vsock(c->vsk);
	struct yasmin_inbox *in = c->inbox;

	sock_owned_by_me(sk);
	if (c->broken)
		return;
	c->broken = true;
	pr_warn_ratelimited("domain %u, port %u: %s; resetting\n",
			    c->peer ? c->peer->domid : DOMID_INVALID,
			    c->vsk->local_addr.svm_port, why);
	/* After connect() gave up, nobody is owed it (see conn_reset). */
	if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_ESTABLISHED) {
		sk->sk_err = EPROTO;
		sk_error_report(sk);
	}
	spin_lock(&in->lock);
	in->broken = true;
	spin_unlock(&in->lock);
	sock_hold(sk);
	kref_get(&in->ref);
	yasmin_inbox_kick(in);
}

/*
 * yasmin_conn_zc_kick() - the peer's cons moved while MSG_ZEROCOPY sends
 * are in flight: have the socket's work item complete those it passed,
 * so their completions come whether or not the sender sends or polls
 * again (a poller waiting for POLLERR alone is not woken by our events).
 * Called from the channel's interrupt handler: no locks, only flags.
 */
void yasmin_conn_zc_kick(struct yasmin_conn *c)
{
	struct yasmin_inbox *in = c->inbox;

	if (!refcount_inc_not_zero(&in->sk->sk_refcnt))
		return;
	kref_get(&in->ref);
	WRITE_ONCE(in->zc_reap, true);
	yasmin_inbox_kick(in);
}

/*
 * yasmin_conn_reset_peer() - reset every socket talking to @peer, each in
 * its own work item. Requires: peer->lock held (so no new session can
 * start meanwhile).
 */
void yasmin_conn_reset_peer(struct yasmin_peer *peer, int err)
{
	struct yasmin_inbox *in;
	struct yasmin_conn *c;

	lockdep_assert_held(&peer->lock);
	spin_lock(&peer->conns_lock);
	list_for_each_entry(c, &peer->conns, peer_node) {
		in = yasmin_inbox_get(c);
		if (!in)
			continue;
		spin_lock(&in->lock);
		/*
		 * The first reason stands: a peer domain that died is a
		 * reset, even when dom0 removes the pair (EHOSTUNREACH)
		 * before the socket's work has run.
		 */
		if (!in->gone_err || in->gone_id != c->id) {
			in->gone_err = err;
			in->gone_id = c->id;
		}
		spin_unlock(&in->lock);
		yasmin_inbox_kick(in);
	}
	spin_unlock(&peer->conns_lock);
}

static void yasmin_conn_rx_locked(struct yasmin_conn *c,
				  const struct yasmin_ctrl_msg *m);

static void yasmin_inbox_work(struct work_struct *work)
{
	struct yasmin_inbox *in = container_of(work, struct yasmin_inbox,
					       work);
	struct sock *sk = in->sk;
	struct yasmin_rxmsg *r, *tmp;
	struct yasmin_conn *c;
	bool flooded, broken, zc_reap;
	LIST_HEAD(msgs);
	u32 gone_id, flood_id;
	int gone;

	lock_sock(sk);
	zc_reap = xchg(&in->zc_reap, false);
	spin_lock(&in->lock);
	list_splice_init(&in->msgs, &msgs);
	in->nr = 0;
	gone = in->gone_err;
	gone_id = in->gone_id;
	in->gone_err = 0;
	flooded = in->flooded;
	flood_id = in->flood_id;
	in->flooded = false;
	broken = in->broken;
	in->broken = false;
	/* Stable under sk_lock: only destruct clears it, under both. */
	c = in->conn;
	spin_unlock(&in->lock);
	if (c) {
		list_for_each_entry(r, &msgs, node)
			yasmin_conn_rx_locked(c, &r->msg);
		/* Both are about the attempt that was live when they came. */
		if (flooded && flood_id == c->id)
			yasmin_conn_broken(c, "control message flood");
		/* A new connect() may have replaced the broken attempt. */
		if (broken && c->broken &&
		    (c->state == YASMIN_CONN_CONNECTED ||
		     c->state == YASMIN_CONN_CONNECTING)) {
			/* Let go of the channel first, then say so. */
			yasmin_conn_reset(c, EPROTO);
			yasmin_conn_send(c, YASMIN_MSG_RESET, 0);
		}
		if (gone && gone_id == c->id)
			yasmin_conn_reset(c, gone);
		if (zc_reap)
			yasmin_zc_reap(c);
	}
	release_sock(sk);
	list_for_each_entry_safe(r, tmp, &msgs, node)
		kfree(r);
	sock_put(sk);
	kref_put(&in->ref, yasmin_inbox_release);
}

/*
 * Hand a message about an existing connection to its socket's work item.
 * Requires: peer->lock held.
 */
static void yasmin_conn_post(struct yasmin_peer *peer,
			     const struct yasmin_ctrl_msg *m)
{
	struct yasmin_rxmsg *r = kmalloc(sizeof(*r), GFP_KERNEL);
	struct yasmin_inbox *in = NULL;
	struct vsock_sock *vsk;
	struct yasmin_conn *c;

	spin_lock(&peer->conns_lock);
	list_for_each_entry(c, &peer->conns, peer_node) {
		vsk = c->vsk;
		if (c->id == m->conn_id &&
		    vsk->local_addr.svm_port == m->dst_port &&
		    vsk->remote_addr.svm_port == m->src_port) {
			in = yasmin_inbox_get(c);
			break;
		}
	}
	spin_unlock(&peer->conns_lock);
	if (!in) {
		kfree(r);
		/* An ACCEPT nobody takes must not leave the peer waiting. */
		if (m->type == YASMIN_MSG_ACCEPT)
			yasmin_conn_reply_reset(peer, m);
		return;
	}
	spin_lock(&in->lock);
	if (r && in->nr < YASMIN_INBOX_MAX) {
		r->msg = *m;
		list_add_tail(&r->node, &in->msgs);
		in->nr++;
		r = NULL;
	} else {
		in->flooded = true;
		in->flood_id = m->conn_id;
	}
	spin_unlock(&in->lock);
	kfree(r);
	yasmin_inbox_kick(in);
}

int yasmin_conn_init(struct vsock_sock *vsk, struct vsock_sock *psk)
{
	struct yasmin_conn *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	c->inbox = kzalloc(sizeof(*c->inbox), GFP_KERNEL);
	if (!c->inbox) {
		kfree(c);
		return -ENOMEM;
	}
	kref_init(&c->inbox->ref);
	spin_lock_init(&c->inbox->lock);
	INIT_LIST_HEAD(&c->inbox->msgs);
	INIT_WORK(&c->inbox->work, yasmin_inbox_work);
	c->inbox->conn = c;
	c->inbox->sk = sk_vsock(vsk);
	c->vsk = vsk;
	c->state = YASMIN_CONN_IDLE;
	INIT_LIST_HEAD(&c->peer_node);
	vsk->trans = c;
	yasmin_stat_add(YASMIN_STAT_SOCKETS, 1);
	return 0;
}

void yasmin_conn_destruct(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	if (!c)
		return;
	yasmin_conn_detach(c);
	yasmin_chan_uninit(c);
	/*
	 * We run either at the socket's last reference (no inbox work is
	 * queued: it would hold one) or under sk_lock when the socket moves
	 * to another transport: either way no inbox work is using c.
	 */
	spin_lock(&c->inbox->lock);
	c->inbox->conn = NULL;
	spin_unlock(&c->inbox->lock);
	kref_put(&c->inbox->ref, yasmin_inbox_release);
	vsk->trans = NULL;
	kfree(c);
	yasmin_stat_add(YASMIN_STAT_SOCKETS, -1);
}

/*
 * Requires: sk_lock held. The goodbye goes out after the channel is closed,
 * so when it reaches the connector an acceptor has already unmapped and
 * the connector's lingering pages are freed at once (linger.c). Our own
 * pages, as connector, stay granted while the acceptor still maps them:
 * it may still be reading what we wrote last.
 */
void yasmin_conn_release(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	struct sock *sk = sk_vsock(vsk);
	u8 type = YASMIN_MSG_NONE, flags = 0;

	sock_owned_by_me(sk);
	if (c->state == YASMIN_CONN_CONNECTED) {
		/* Like TCP: unread data turns a close into a reset. */
		if (yasmin_chan_has_data(c) > 0 || c->broken) {
			type = YASMIN_MSG_RESET;
		} else {
			type = YASMIN_MSG_SHUTDOWN;
			flags = YASMIN_SHUT_MASK;
			c->shut_sent = flags;
			yasmin_chan_shutdown_publish(c);
		}
	} else if (c->state == YASMIN_CONN_CONNECTING) {
		/* A CONNECT that never left needs no RESET after it. */
		if (!yasmin_ctrl_cancel(c->peer, c->id) && !c->connect_unsent)
			type = YASMIN_MSG_RESET;
	}
	yasmin_conn_drop_channel(c, YASMIN_EV_CLOSE);
	if (type != YASMIN_MSG_NONE)
		yasmin_conn_send(c, type, flags);
	sk->sk_state = TCP_CLOSE;
	vsock_remove_sock(vsk);
}

/*
 * The receive window of a connection whose rings are set: the socket's
 * buffer size. A stream's is the whole ring while the size is the core's
 * default (ring_kb sized the ring then); a SEQPACKET socket's is its
 * buffer size always, since that bounds the messages its peer may send
 * (EMSGSIZE), as on virtio. SO_VM_SOCKETS_BUFFER_SIZE changes it later
 * (transport.c).
 */
static void yasmin_conn_set_window(struct yasmin_conn *c)
{
	u64 size = c->vsk->buffer_size;

	if (size == YASMIN_VSOCK_DEFAULT_BUFFER_SIZE && !c->chan.seqpacket)
		size = U64_MAX;
	yasmin_chan_set_window(c, size);
}

/*
 * Ring size for a new connection: the socket's buffer size, or, left at
 * the default, ring_kb for a stream and the largest rings for SEQPACKET.
 * Rings cannot grow after connect, and a SEQPACKET receiver may raise its
 * buffer (up to 2 MiB) and expect its peer to send that much unread, in
 * messages a stream's partial writes cannot stand in for.
 */
static int yasmin_conn_order(struct vsock_sock *vsk)
{
	u64 want = vsk->buffer_size;

	if (want == YASMIN_VSOCK_DEFAULT_BUFFER_SIZE)
		want = sk_vsock(vsk)->sk_type == SOCK_SEQPACKET ?
		       yasmin_ring_order_bytes(YASMIN_RING_ORDER_MAX) :
		       (u64)yasmin_ring_kb * 1024;
	return yasmin_ring_order_for(want);
}

/*
 * The largest rings a listener takes: its buffer size, or ring_kb. A size
 * outside the rings' range is clamped to it here rather than refused: the
 * listener only bounds what its peers may offer.
 */
static u32 yasmin_conn_listener_order(struct vsock_sock *vsk)
{
	int order = yasmin_conn_order(vsk);

	if (order >= 0)
		return order;
	return vsk->buffer_size < YASMIN_PAGE_SIZE ? YASMIN_RING_ORDER_MIN :
						     YASMIN_RING_ORDER_MAX;
}

/*
 * How long a connect may wait for the peer to let go of the pages of our
 * closed connections: the socket's connect timeout, as for its ACCEPT;
 * a non-blocking connect only moments, as it must not sleep for long.
 */
static long yasmin_conn_room_wait(struct vsock_sock *vsk)
{
	struct socket *sock = sk_vsock(vsk)->sk_socket;

	if (!sock || !sock->file || (sock->file->f_flags & O_NONBLOCK))
		return HZ / 10;
	return vsk->connect_timeout;
}

/* Requires: sk_lock held; sk_state is TCP_SYN_SENT. */
int yasmin_conn_connect(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	u32 cid = vsk->remote_addr.svm_cid;
	struct yasmin_ctrl_msg msg = { .type = YASMIN_MSG_CONNECT };
	struct yasmin_peer *peer;
	domid_t domid;
	int order, err, next;

	sock_owned_by_me(sk_vsock(vsk));
	domid = cid - 2;
	if (domid == yasmin_self)
		return -ENETUNREACH;
	next = yasmin_conn_next(c->state, YASMIN_EV_CONNECT);
	if (next < 0)
		return next;

	/* A new attempt on a socket whose last one failed or timed out. */
	if (c->state != YASMIN_CONN_IDLE) {
		/* A CONNECT that never left needs no RESET after it. */
		if (c->state == YASMIN_CONN_CONNECTING &&
		    !yasmin_ctrl_cancel(c->peer, c->id) && !c->connect_unsent)
			yasmin_conn_send(c, YASMIN_MSG_RESET, 0);
		yasmin_conn_detach(c);
		yasmin_chan_uninit(c);
		c->state = yasmin_conn_next(c->state, YASMIN_EV_ABORT);
		c->broken = false;
		c->shut_sent = 0;
		c->shut_told = 0;
		c->connect_unsent = false;
		c->was_reset = false;
		c->let_go = false;
	}

	order = yasmin_conn_order(vsk);
	if (order < 0)
		return order;

	/*
	 * A peer object only for a domain dom0 paired us with: connecting to
	 * every CID must not make us allocate for each.
	 */
	peer = yasmin_peer_find(domid);
	if (!peer || !READ_ONCE(peer->up)) {
		if (!yasmin_xs_pair_exists(domid)) {
			pr_warn_ratelimited("no rendezvous with domain %u: run 'yasmin-xs setup %u %u' in dom0\n",
					    domid, yasmin_self, domid);
			return -EHOSTUNREACH;
		}
		peer = yasmin_peer_get(domid);
		if (!peer)
			return -ENOMEM;
	}

	/* A fresh id per attempt: late messages about the last one miss. */
	do {
		c->id = get_random_u32();
	} while (!c->id);
	c->chan.seqpacket = sk_vsock(vsk)->sk_type == SOCK_SEQPACKET;
	/* Before the channel: it may wait, holding no event channel. */
	if (!yasmin_linger_room(domid, yasmin_conn_room_wait(vsk)))
		return -ENOBUFS;
	err = yasmin_chan_init_connector(c, peer, order, &msg);
	if (err)
		return err;
	if (c->chan.seqpacket)
		msg.flags = YASMIN_CONNECT_SEQPACKET;
	msg.src_port = vsk->local_addr.svm_port;
	msg.dst_port = vsk->remote_addr.svm_port;
	msg.conn_id = c->id;

	yasmin_conn_attach(c, peer);
	c->state = next;
	err = yasmin_ctrl_send(peer, &msg);
	if (err) {
		yasmin_conn_detach(c);
		yasmin_chan_uninit(c);
		c->state = yasmin_conn_next(c->state, YASMIN_EV_ABORT);
	}
	return err;
}

/* Requires: sk_lock held. */
int yasmin_conn_shutdown(struct vsock_sock *vsk, int mode)
{
	struct yasmin_conn *c = yasmin_conn(vsk);
	/* Each direction is announced once, however often shutdown() runs. */
	u8 flags = mode & YASMIN_SHUT_MASK & ~c->shut_sent;

	sock_owned_by_me(sk_vsock(vsk));
	if (c->state == YASMIN_CONN_CONNECTED && flags) {
		c->shut_sent |= flags;
		yasmin_chan_shutdown_publish(c);
		yasmin_conn_send(c, YASMIN_MSG_SHUTDOWN, flags);
	}
	return 0;
}

int yasmin_conn_cancel(struct vsock_sock *vsk)
{
	struct yasmin_conn *c = yasmin_conn(vsk);

	if (c && c->peer && c->state == YASMIN_CONN_CONNECTING &&
	    yasmin_ctrl_cancel(c->peer, c->id))
		c->connect_unsent = true;
	return 0;
}

static void yasmin_conn_uncharge_accept(struct yasmin_peer *peer,
					unsigned int maps)
{
	atomic_sub(maps, &peer->maps);
	atomic_dec(&peer->accepted);
	atomic_sub(maps, &yasmin_accepted_maps);
	atomic_dec(&yasmin_accepted_conns);
}

/*
 * Charge a connection from @peer mapping @maps pages to its budgets and
 * to every peer's together; false (refused, and said so) past any.
 */
static bool yasmin_conn_charge_accept(struct yasmin_peer *peer,
				      unsigned int maps)
{
	unsigned int share = yasmin_max_evtchns - yasmin_max_evtchns / 4;
	const char *cap = NULL;
	unsigned int limit = 0;

	/* The peer's own caps first: past them, others' budgets are spared. */
	if (atomic_read(&peer->maps) + maps > yasmin_max_peer_maps) {
		cap = "max_peer_maps";
		limit = yasmin_max_peer_maps;
	} else if (atomic_read(&peer->accepted) + 1 > yasmin_max_peer_conns) {
		cap = "max_peer_conns";
		limit = yasmin_max_peer_conns;
	}
	if (cap)
		goto refuse;
	atomic_add(maps, &peer->maps);
	atomic_inc(&peer->accepted);
	atomic_add(maps, &yasmin_accepted_maps);
	atomic_inc(&yasmin_accepted_conns);
	if (atomic_read(&yasmin_accepted_maps) > yasmin_max_maps) {
		cap = "max_maps";
		limit = yasmin_max_maps;
	} else if (atomic_read(&yasmin_accepted_conns) > share) {
		cap = "three quarters of max_evtchns";
		limit = share;
	}
	if (!cap)
		return true;
	yasmin_conn_uncharge_accept(peer, maps);
refuse:
	yasmin_stat_add(YASMIN_STAT_REFUSED, 1);
	pr_warn_ratelimited("domain %u: refusing a connection of %u pages past %s=%u\n",
			    peer->domid, maps, cap, limit);
	return false;
}

/* CONNECT for one of our listeners. Requires: peer->lock held. */
static void yasmin_conn_rx_connect(struct yasmin_peer *peer,
				   const struct yasmin_ctrl_msg *m,
				   struct sockaddr_vm *src,
				   struct sockaddr_vm *dst)
{
	struct yasmin_ctrl_msg reply = {
		.type = YASMIN_MSG_ACCEPT,
		.src_port = m->dst_port,
		.dst_port = m->src_port,
		.conn_id = m->conn_id,
	};
	struct sock *listener, *child;
	struct vsock_sock *vchild;
	struct yasmin_conn *c;
	unsigned int maps;
	u32 order;
	int err;

	/*
	 * Our answers already wait in txq: the peer does not read its ring.
	 * Take no new connection it could not even be told about.
	 */
	if (READ_ONCE(peer->txq_len) >= YASMIN_CTRL_SLOTS)
		return;
	listener = vsock_find_bound_socket(dst);
	if (!listener) {
		yasmin_conn_reply_reset(peer, m);
		return;
	}
	lock_sock(listener);
	/* A SOCK_STREAM connect to a SOCK_SEQPACKET listener, or back. */
	if (listener->sk_state != TCP_LISTEN ||
	    sk_acceptq_is_full(listener) ||
	    listener->sk_shutdown == SHUTDOWN_MASK ||
	    (listener->sk_type == SOCK_SEQPACKET) !=
	    !!(m->flags & YASMIN_CONNECT_SEQPACKET))
		goto refuse;

	child = vsock_create_connected(listener);
	if (!child)
		goto refuse;
	lock_sock_nested(child, SINGLE_DEPTH_NESTING);
	child->sk_state = TCP_ESTABLISHED;
	vchild = vsock_sk(child);
	vsock_addr_init(&vchild->local_addr, dst->svm_cid, dst->svm_port);
	vsock_addr_init(&vchild->remote_addr, src->svm_cid, src->svm_port);

	err = vsock_assign_transport(vchild, vsock_sk(listener));
	if (err || vchild->transport != &yasmin_transport)
		goto drop_child;
	c = yasmin_conn(vchild);
	c->id = m->conn_id;
	/*
	 * The rings are the smaller of the offer and the listener's size
	 * (which the child inherited), so a peer cannot make us map more
	 * than the listener asked for. What all of one peer's connections
	 * map is capped too: its CONNECTs past max_peer_maps are refused.
	 */
	order = min_t(u32, m->ring_order, yasmin_conn_listener_order(vchild));
	reply.ring_order = order;
	maps = YASMIN_INTF_PAGES + (2u << order);
	if (!yasmin_conn_charge_accept(peer, maps))
		goto drop_child;
	c->chan.seqpacket = child->sk_type == SOCK_SEQPACKET;
	err = yasmin_chan_init_acceptor(c, peer->domid, m, order);
	if (err) {
		yasmin_conn_uncharge_accept(peer, maps);
		goto drop_child;
	}
	c->peer_maps = maps;
	/* The child keeps the listener's buffer size, as its window. */
	yasmin_conn_set_window(c);
	yasmin_conn_attach(c, peer);
	c->state = yasmin_conn_next(c->state, YASMIN_EV_ACCEPT);

	yasmin_ctrl_send(peer, &reply);
	sk_acceptq_added(listener);
	vsock_insert_connected(vchild);
	vsock_enqueue_accept(listener, child);
	release_sock(child);
	listener->sk_data_ready(listener);
	release_sock(listener);
	sock_put(listener);
	return;

drop_child:
	release_sock(child);
	sock_put(child);
refuse:
	release_sock(listener);
	sock_put(listener);
	yasmin_conn_reply_reset(peer, m);
}

/*
 * One message about connection @c, in its inbox work item.
 * Requires: sk_lock held.
 */
static void yasmin_conn_rx_locked(struct yasmin_conn *c,
				  const struct yasmin_ctrl_msg *m)
{
	struct vsock_sock *vsk = c->vsk;
	struct sock *sk = sk_vsock(vsk);
	int ev, next;

	sock_owned_by_me(sk);
	if (c->id != m->conn_id || !c->peer)
		return;
	ev = m->type == YASMIN_MSG_ACCEPT ? YASMIN_EV_ACCEPTED :
	     m->type == YASMIN_MSG_RESET ? YASMIN_EV_RESET : YASMIN_EV_SHUTDOWN;
	next = yasmin_conn_next(c->state, ev);
	if (next < 0) {
		/*
		 * On a live connection, a message that cannot happen means the
		 * peer may have let go of the channel (a second ACCEPT): never
		 * keep a socket on a ring nobody serves.
		 */
		if (c->state == YASMIN_CONN_CONNECTED)
			yasmin_conn_broken(c, "impossible control message");
		/* An ACCEPT we cannot use must not leave the peer waiting. */
		else if (ev == YASMIN_EV_ACCEPTED)
			yasmin_conn_reply_reset(c->peer, m);
		return;
	}

	switch (ev) {
	case YASMIN_EV_ACCEPTED:
		if (sk->sk_state != TCP_SYN_SENT || !sk->sk_socket) {
			/*
			 * connect() gave up (timeout, signal) meanwhile: let
			 * go of the channel now, then tell the acceptor.
			 */
			yasmin_conn_reset(c, ECONNRESET);
			yasmin_conn_reply_reset(c->peer, m);
			break;
		}
		/*
		 * Rings larger than offered would overrun what we granted.
		 * Torn down here, where we may sleep, so connect() sees one
		 * error and the socket keeps none for a later attempt.
		 */
		if (yasmin_chan_accepted(c, m->ring_order)) {
			pr_warn_ratelimited("domain %u, port %u: ACCEPT with rings larger than offered; resetting\n",
					    c->peer->domid, vsk->local_addr.svm_port);
			yasmin_conn_reset(c, EPROTO);
			yasmin_conn_send(c, YASMIN_MSG_RESET, 0);
			break;
		}
		c->state = next;
		yasmin_conn_set_window(c);
		vsk->local_addr.svm_cid = yasmin_domid_to_cid(yasmin_self);
		sk->sk_state = TCP_ESTABLISHED;
		sk->sk_socket->state = SS_CONNECTED;
		vsock_insert_connected(vsk);
		yasmin_conn_stop_connect_timer(vsk);
		sk->sk_state_change(sk);
		break;
	case YASMIN_EV_RESET: {
		bool was_closed = c->state == YASMIN_CONN_CLOSED;

		yasmin_conn_reset(c, ECONNRESET);
		/*
		 * An acceptor answers a RESET once it has unmapped: the
		 * connector then frees its lingering pages at once instead of
		 * at its next retry (a connector receiving a RESET about a
		 * connection it no longer has only reaps, it never answers).
		 * Only the first: a peer repeating its RESET gets no echo.
		 */
		if (!c->chan.connector && !was_closed)
			yasmin_conn_send(c, YASMIN_MSG_RESET, 0);
		break;
	}
	case YASMIN_EV_SHUTDOWN:
		c->shut_told |= m->flags;
		vsk->peer_shutdown |= m->flags;
		yasmin_conn_let_go_if_done(c);
		sk->sk_state_change(sk);
		yasmin_wake(sk);
		break;
	}
}

/*
 * yasmin_conn_rx() - one validated control message from @peer. A CONNECT
 * is served here; anything else goes to its connection's inbox.
 * Requires: peer->lock held.
 */
void yasmin_conn_rx(struct yasmin_peer *peer, const struct yasmin_ctrl_msg *m)
{
	struct sockaddr_vm src, dst;

	lockdep_assert_held(&peer->lock);
	if (m->type == YASMIN_MSG_CONNECT) {
		vsock_addr_init(&src, yasmin_domid_to_cid(peer->domid),
				m->src_port);
		vsock_addr_init(&dst, yasmin_domid_to_cid(yasmin_self),
				m->dst_port);
		yasmin_conn_rx_connect(peer, m, &src, &dst);
		return;
	}
	/* A goodbye: the peer may be done with a channel we closed. */
	if (m->type != YASMIN_MSG_ACCEPT)
		yasmin_linger_reap(peer->domid, m->conn_id);
	yasmin_conn_post(peer, m);
}
