// SPDX-License-Identifier: GPL-2.0
/*
 * The data path over a socket's channel (chan.c sets it up).
 *
 * Each side copies straight between the socket's iov_iter and the ring:
 * two copies per byte end to end. Every index the peer writes is read
 * once, validated (prod - cons <= size) and only the snapshot is used.
 *
 * Notifications follow libxenvchan: a reader about to sleep sets
 * want_data, a writer that found the ring full sets want_space, and the
 * other side sends an event only when it sees the word set, clearing it
 * with xchg() so each sleep costs one event. Setting the word and
 * re-checking the ring are separated by a full barrier on both sides, so
 * no wakeup is lost.
 *
 * All functions here run under the socket lock (lock_sock).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "yasmin.h"

s64 yasmin_chan_has_data(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	long used;
	u32 prod;

	/* Nothing is readable before the ACCEPT, whatever the peer wrote. */
	if (!ch->up || c->broken || c->state == YASMIN_CONN_CONNECTING)
		return 0;
	if (!yasmin_index_read(&ch->rx_prod->prod, &ch->rx_prod_max,
			       ch->rx.size, &prod)) {
		yasmin_conn_broken(c, "receive ring index moved back");
		return 0;
	}
	used = yasmin_ring_span(prod, ch->rx_cons_val, ch->rx.size);
	if (used < 0) {
		yasmin_conn_broken(c, "receive ring index out of range");
		return 0;
	}
	return used;
}

/*
 * The most bytes we may have in flight: the ring, or less when the peer's
 * receive window says so. Any value the peer writes is safe: it can only
 * make us wait, as a peer that does not read could anyway.
 */
u32 yasmin_chan_tx_limit(struct yasmin_chan *ch)
{
	u32 window = READ_ONCE(ch->tx_cons->window);

	return window && window < ch->tx.size ? window : ch->tx.size;
}

/*
 * SOCK_SEQPACKET: a message starts only when all of it fits and a record
 * slot is free, so has_space() says no until then, and the core's writer
 * waits (or gets EAGAIN) without having written part of it.
 */
static bool yasmin_chan_msg_fits(struct yasmin_conn *c, s64 space)
{
	struct yasmin_chan *ch = &c->chan;
	u32 msg_cons, pending;

	if (!yasmin_index_read(&ch->tx_cons->msg_cons, &ch->tx_msg_cons_max,
			       YASMIN_MSG_RECS, &msg_cons)) {
		yasmin_conn_broken(c, "send record index moved back");
		return false;
	}
	pending = ch->tx_msg_prod_val - msg_cons;
	if (pending > YASMIN_MSG_RECS) {
		yasmin_conn_broken(c, "send record index out of range");
		return false;
	}
	return pending < YASMIN_MSG_RECS && space >= ch->tx_need;
}

s64 yasmin_chan_has_space(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	long used;
	u32 limit;

	if (!ch->up || c->broken)
		return 0;
	yasmin_zc_reap(c);
	if (c->broken)		/* the reap found the peer's cons broken */
		return 0;
	used = yasmin_chan_tx_used(c);
	if (used < 0)
		return 0;
	limit = yasmin_chan_tx_limit(ch);
	/* A zero-copy send waits until all of it can be in flight. */
	if (ch->tx_need_segs && !yasmin_zc_room(c))
		return 0;
	if (!ch->seqpacket && ch->tx_need && ch->tx_need <= limit &&
	    limit - used < ch->tx_need)
		return 0;
	/*
	 * A message that waits for room but can never fit (the peer shrank
	 * its window meanwhile) must not wait for ever: say there is room,
	 * and yasmin_chan_enqueue_msg() answers EMSGSIZE.
	 */
	if (ch->seqpacket && ch->tx_need > limit)
		return limit;
	if (used >= limit)
		return 0;
	if (ch->seqpacket && !yasmin_chan_msg_fits(c, limit - used))
		return 0;
	return limit - used;
}

/*
 * Bytes we sent that the peer has not consumed, from one read of its cons;
 * a cons that moved back or out of range breaks the connection (-EPROTO).
 * Requires: the socket lock, the channel up.
 */
long yasmin_chan_tx_used(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	long used;
	u32 cons;

	if (!yasmin_index_read(&ch->tx_cons->cons, &ch->tx_cons_max,
			       ch->tx.size, &cons)) {
		yasmin_conn_broken(c, "send ring index moved back");
		return -EPROTO;
	}
	used = yasmin_ring_span(ch->tx_prod_val, cons, ch->tx.size);
	if (used < 0)
		yasmin_conn_broken(c, "send ring index out of range");
	return used;
}

/* Bytes we sent that the peer has not read yet (SIOCOUTQ). */
s64 yasmin_chan_unsent(struct yasmin_conn *c)
{
	long used;

	if (!c->chan.up || c->broken)
		return 0;
	used = yasmin_chan_tx_used(c);
	return used < 0 ? 0 : used;
}

/* Complete messages the peer has published and we have not read. */
u32 yasmin_chan_msgs(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	u32 msg_prod, msgs;

	if (!ch->up || c->broken || c->state == YASMIN_CONN_CONNECTING)
		return 0;
	if (!yasmin_index_read(&ch->rx_prod->msg_prod, &ch->rx_msg_prod_max,
			       YASMIN_MSG_RECS, &msg_prod)) {
		yasmin_conn_broken(c, "receive record index moved back");
		return 0;
	}
	msgs = msg_prod - ch->rx_msg_cons_val;
	if (msgs > YASMIN_MSG_RECS) {
		yasmin_conn_broken(c, "receive record index out of range");
		return 0;
	}
	return msgs;
}

/*
 * Enough to read: @target bytes of a stream, or one whole message. A
 * target past what the peer may have in flight (SO_RCVLOWAT above a ring
 * smaller than the buffer size) means a full window: the writer cannot
 * send more before we read.
 */
static bool yasmin_chan_readable(struct yasmin_conn *c, size_t target)
{
	struct yasmin_chan *ch = &c->chan;
	s64 n = yasmin_chan_has_data(c);	/* raises rx_prod_max */

	if (ch->seqpacket)
		return yasmin_chan_msgs(c) > 0;
	return n >= (s64)min_t(size_t, target, ch->rx_window ?: ch->rx.size);
}

/*
 * Wake a reader waiting for data; it asked with want_data. Requires: our
 * prod (or msg_prod) published, then a full barrier, as the callers do.
 */
void yasmin_chan_kick_reader(struct yasmin_chan *ch)
{
	if (READ_ONCE(ch->tx_cons->want_data) &&
	    xchg(&ch->tx_cons->want_data, YASMIN_NOTIFY_OFF))
		yasmin_evtchn_notify(&ch->ev);
}

/*
 * yasmin_chan_shutdown_publish() - show the peer in our prod line what we
 * shut down (c->shut_sent), ahead of the SHUTDOWN message that says the
 * same.
 * Requires: the socket lock.
 */
void yasmin_chan_shutdown_publish(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return;
	/*
	 * Every prod and msg_prod before the flags that end them; pairs with
	 * the virt_rmb() in yasmin_chan_peer_shutdown().
	 */
	virt_wmb();
	WRITE_ONCE(ch->tx_prod->shutdown, c->shut_sent);
}

/*
 * yasmin_chan_peer_shutdown() - take in what the peer's prod line says it
 * shut down, so that the core's next check (EPIPE, end of stream) sees a
 * shutdown() the peer finished before its SHUTDOWN message got here. Any
 * value is safe: the peer can say as much with SHUTDOWN messages, and the
 * bits only add up. Called before the indices are read.
 * Requires: the socket lock.
 */
void yasmin_chan_peer_shutdown(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	u32 shut;

	sock_owned_by_me(sk_vsock(c->vsk));
	if (!ch->up || c->state != YASMIN_CONN_CONNECTED)
		return;
	shut = READ_ONCE(ch->rx_prod->shutdown) & YASMIN_SHUT_MASK;
	/*
	 * The flags before the indices they end; pairs with the virt_wmb()
	 * in yasmin_chan_shutdown_publish().
	 */
	virt_rmb();
	if (shut & ~c->vsk->peer_shutdown) {
		c->vsk->peer_shutdown |= shut;
		/* Other waiters re-check too: a blocked writer gets EPIPE. */
		sk_vsock(c->vsk)->sk_state_change(sk_vsock(c->vsk));
	}
}

/*
 * Wake a writer waiting for room; it asked with want_space. Requires: our
 * cons (or window) published, then a full barrier, as the callers do.
 */
void yasmin_chan_kick_writer(struct yasmin_chan *ch)
{
	if (READ_ONCE(ch->rx_prod->want_space) &&
	    xchg(&ch->rx_prod->want_space, YASMIN_NOTIFY_OFF))
		yasmin_evtchn_notify(&ch->ev);
}

/*
 * yasmin_chan_set_window() - let the peer have at most @bytes in flight
 * towards us (SO_VM_SOCKETS_BUFFER_SIZE on a connected socket); the ring
 * cannot grow, so more than its size means all of it. A larger window
 * wakes a writer that waited for room.
 */
void yasmin_chan_set_window(struct yasmin_conn *c, u64 bytes)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return;
	ch->rx_window = bytes < ch->rx.size ? bytes : 0;
	WRITE_ONCE(ch->rx_cons->window, ch->rx_window);
	/*
	 * The window before want_space; pairs with the virt_mb() in
	 * yasmin_chan_want_space() between setting it and re-reading ours.
	 */
	virt_mb();
	yasmin_chan_kick_writer(ch);
}

/*
 * yasmin_chan_rcvlowat() - a reader wants @target bytes: if fewer are
 * there and the writer waits for room, wake it now. Past half the window
 * a read does not wake it by itself (see yasmin_chan_dequeue()), and a
 * reader waiting for more than that would wait for ever.
 */
void yasmin_chan_rcvlowat(struct yasmin_conn *c, int target)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up || ch->seqpacket || yasmin_chan_has_data(c) >= target)
		return;
	/* cons was published by the last read; see yasmin_chan_dequeue() */
	virt_mb();
	yasmin_chan_kick_writer(ch);
}

static size_t yasmin_copy_from_msg(void *buf, size_t len, void *iter)
{
	return copy_from_iter(buf, len, iter);
}

/*
 * Bytes copied between two publications of an index. Publishing as we go
 * lets the other side copy out (or in) while we are still copying: the two
 * copies of a large send overlap instead of taking turns.
 */
#define YASMIN_PUBLISH_CHUNK	(64 * 1024)

ssize_t yasmin_chan_enqueue(struct yasmin_conn *c, struct msghdr *msg,
			    size_t len)
{
	struct yasmin_chan *ch = &c->chan;
	s64 space = yasmin_chan_has_space(c);
	size_t n, copied = 0;
	ssize_t zc;

	if (!ch->up || c->broken)
		return -ENOTCONN;
	zc = yasmin_zc_send(c, msg, len, space);
	if (zc != -EAGAIN) {
		if (zc > 0)
			yasmin_stat_add(YASMIN_STAT_BYTES_SENT, zc);
		return zc;
	}
	n = min_t(size_t, len, space);
	if (!n)
		return 0;
	/*
	 * Read cons (in has_space) before writing the bytes it freed; pairs
	 * with the virt_mb() in yasmin_chan_dequeue() before the consumer
	 * publishes cons.
	 */
	virt_mb();
	while (copied < n) {
		size_t want = min_t(size_t, n - copied, YASMIN_PUBLISH_CHUNK);
		size_t got = yasmin_ring_walk(&ch->tx, ch->tx_prod_val, want,
					      yasmin_copy_from_msg,
					      &msg->msg_iter);

		if (!got)
			break;
		/*
		 * The bytes before prod; pairs with the virt_rmb() in
		 * yasmin_chan_dequeue() after the consumer reads prod.
		 */
		virt_wmb();
		WRITE_ONCE(ch->tx_prod_val, ch->tx_prod_val + got);
		WRITE_ONCE(ch->tx_prod->prod, ch->tx_prod_val);
		copied += got;

		/*
		 * Publish prod before looking at want_data; pairs with the
		 * virt_mb() in yasmin_chan_want_data() between setting
		 * want_data and re-reading prod. Either the reader sees our
		 * prod or we see its flag.
		 */
		virt_mb();
		yasmin_chan_kick_reader(ch);
		if (got != want)
			break;
	}
	if (!copied)
		return -EFAULT;
	yasmin_zc_sent(c, msg);
	yasmin_stat_add(YASMIN_STAT_BYTES_SENT, copied);
	return copied;
}

ssize_t yasmin_chan_dequeue(struct yasmin_conn *c, struct msghdr *msg,
			    size_t len, int flags)
{
	struct yasmin_chan *ch = &c->chan;
	s64 avail = yasmin_chan_has_data(c);
	size_t n, copied = 0;
	bool passed = false;
	u32 used, next;
	ssize_t got;

	if (!ch->up || c->broken)
		return 0;
	n = min_t(size_t, len, avail);
	if (!n)
		return 0;
	/*
	 * prod (in has_data) before the bytes it covers; pairs with the
	 * virt_wmb() in yasmin_chan_enqueue().
	 */
	virt_rmb();
	if (flags & MSG_PEEK) {
		next = ch->rx_zc_next;
		got = yasmin_zc_copy_out(c, ch->rx_cons_val, n, &msg->msg_iter,
					 &next, &passed);
		return got ? got : -EFAULT;
	}
	while (copied < n) {
		size_t want = min_t(size_t, n - copied, YASMIN_PUBLISH_CHUNK);

		got = yasmin_zc_copy_out(c, ch->rx_cons_val, want,
					 &msg->msg_iter, &ch->rx_zc_next,
					 &passed);
		if (got < 0)
			return copied ? copied : got;
		if (!got)
			break;
		/*
		 * Finish reading the bytes before handing their room back;
		 * pairs with the virt_mb() in yasmin_chan_enqueue() after the
		 * producer reads cons.
		 */
		virt_mb();
		WRITE_ONCE(ch->rx_cons_val, ch->rx_cons_val + got);
		WRITE_ONCE(ch->rx_cons->cons, ch->rx_cons_val);
		copied += got;

		/*
		 * Publish cons before looking at want_space; pairs with the
		 * virt_mb() in yasmin_chan_want_space(). A blocked writer is
		 * woken once half the ring is free, so a stream costs one
		 * event per half ring, not one per read.
		 */
		virt_mb();
		used = avail - copied;
		/* A zero-copy sender waits for its completions. */
		if (used <= (ch->rx_window ?: ch->rx.size) / 2 || passed)
			yasmin_chan_kick_writer(ch);
		if (got != want)
			break;
	}
	if (!copied)
		return -EFAULT;
	c->rx_drained = copied == avail;
	c->tx_at_read = ch->tx_prod_val;
	yasmin_stat_add(YASMIN_STAT_BYTES_RECEIVED, copied);
	return copied;
}

/*
 * yasmin_chan_enqueue_msg() - SOCK_SEQPACKET: send one message of @len
 * bytes whole, or nothing. Returns @len, 0 when it does not fit yet (the
 * core then waits until has_space() says it does), or an error:
 * EMSGSIZE for a message larger than the peer will ever take.
 */
ssize_t yasmin_chan_enqueue_msg(struct yasmin_conn *c, struct msghdr *msg,
				size_t len)
{
	struct yasmin_chan *ch = &c->chan;
	struct yasmin_msg_rec *rec;
	ssize_t zc;
	s64 space;
	u32 end;

	ch->tx_need = 0;
	if (!ch->up || c->broken)
		return -ENOTCONN;
	if (len > yasmin_chan_tx_limit(ch))
		return -EMSGSIZE;
	ch->tx_need = len;
	space = yasmin_chan_has_space(c);
	if (!space)
		return 0;
	ch->tx_need = 0;
	/*
	 * has_space() measured the room from one read of the peer's window
	 * and cons: all of it when the message can never fit (it returns the
	 * window then), else at least len and a free record. Decide on that
	 * snapshot: a window read again here could differ, and let a message
	 * past the room and the records that were checked.
	 */
	if (len > space)
		return -EMSGSIZE;
	zc = yasmin_zc_send(c, msg, len, space);
	if (zc >= 0 && zc != len)
		return zc;	/* 0: waits for room */
	if (zc == -EAGAIN) {
		/* As in yasmin_chan_enqueue(): cons, then the bytes it freed. */
		virt_mb();
		if (yasmin_ring_walk(&ch->tx, ch->tx_prod_val, len,
				     yasmin_copy_from_msg,
				     &msg->msg_iter) != len)
			return -EFAULT;
		end = ch->tx_prod_val + len;
		/* The bytes before prod, as in yasmin_chan_enqueue(). */
		virt_wmb();
		WRITE_ONCE(ch->tx_prod_val, end);
		WRITE_ONCE(ch->tx_prod->prod, end);
		yasmin_zc_sent(c, msg);
	} else if (zc < 0) {
		return zc;
	}
	end = ch->tx_prod_val;
	rec = &ch->tx_rec[ch->tx_msg_prod_val & (YASMIN_MSG_RECS - 1)];
	WRITE_ONCE(rec->end, end);
	WRITE_ONCE(rec->flags, msg->msg_flags & MSG_EOR ? YASMIN_REC_EOR : 0);
	/*
	 * prod and the record before msg_prod; pairs with the virt_rmb() in
	 * yasmin_chan_dequeue_msg() after it reads msg_prod.
	 */
	virt_wmb();
	ch->tx_msg_prod_val++;
	WRITE_ONCE(ch->tx_prod->msg_prod, ch->tx_msg_prod_val);
	/* msg_prod before want_data; as in yasmin_chan_enqueue(). */
	virt_mb();
	yasmin_chan_kick_reader(ch);
	yasmin_stat_add(YASMIN_STAT_BYTES_SENT, len);
	return len;
}

/*
 * yasmin_chan_dequeue_msg() - SOCK_SEQPACKET: read the next message into
 * @msg, as much as fits, and drop the rest of it (MSG_PEEK: leave it).
 * Returns the message's whole length, for MSG_TRUNC; MSG_EOR is set in
 * @msg when the sender set it. A buffer we cannot write to loses the
 * message, as on virtio, and gives EFAULT.
 */
ssize_t yasmin_chan_dequeue_msg(struct yasmin_conn *c, struct msghdr *msg,
				int flags)
{
	struct yasmin_chan *ch = &c->chan;
	struct yasmin_msg_rec *rec;
	u32 end, rflags, prod, mlen, n, next;
	bool passed = false;
	ssize_t ret, got;
	long used;

	if (!yasmin_chan_msgs(c))
		return c->broken ? -EPROTO : -EAGAIN;
	/*
	 * msg_prod (in msgs) before the record, prod and the bytes; pairs
	 * with the virt_wmb() in yasmin_chan_enqueue_msg().
	 */
	virt_rmb();
	rec = &ch->rx_rec[ch->rx_msg_cons_val & (YASMIN_MSG_RECS - 1)];
	end = READ_ONCE(rec->end);
	rflags = READ_ONCE(rec->flags);
	if (!yasmin_index_read(&ch->rx_prod->prod, &ch->rx_prod_max,
			       ch->rx.size, &prod)) {
		yasmin_conn_broken(c, "receive ring index moved back");
		return -EPROTO;
	}
	used = yasmin_ring_span(prod, ch->rx_cons_val, ch->rx.size);
	mlen = end - ch->rx_cons_val;
	if (used < 0 || mlen > used || (rflags & ~YASMIN_REC_EOR)) {
		yasmin_conn_broken(c, "message record out of range");
		return -EPROTO;
	}
	n = min_t(size_t, mlen, msg_data_left(msg));
	ret = mlen;
	next = ch->rx_zc_next;
	if (n) {
		got = yasmin_zc_copy_out(c, ch->rx_cons_val, n, &msg->msg_iter,
					 &next, &passed);
		if (got < 0)
			return got;
		if (got != n)
			ret = -EFAULT;
	}
	if (rflags & YASMIN_REC_EOR)
		msg->msg_flags |= MSG_EOR;
	if (flags & MSG_PEEK)
		return ret;
	/* What the reader did not take is dropped, segments and all. */
	ch->rx_zc_next = next;
	yasmin_zc_skip(c, end);
	/*
	 * Finish reading the record and the bytes before handing their room
	 * back; pairs with the virt_mb() in yasmin_chan_enqueue_msg() after
	 * the producer reads cons and msg_cons.
	 */
	virt_mb();
	ch->rx_cons_val = end;
	WRITE_ONCE(ch->rx_cons->cons, end);
	ch->rx_msg_cons_val++;
	WRITE_ONCE(ch->rx_cons->msg_cons, ch->rx_msg_cons_val);
	/*
	 * cons before want_space; pairs with the virt_mb() in
	 * yasmin_chan_want_space(). A writer waits for a whole message's
	 * room, so every read that frees some may be the one it needs.
	 */
	virt_mb();
	yasmin_chan_kick_writer(ch);
	yasmin_stat_add(YASMIN_STAT_BYTES_RECEIVED, mlen);
	/*
	 * The last message read: ask for an event now, as the stream path
	 * does after a read that empties the ring (the core calls no
	 * post_dequeue hook for SEQPACKET): an edge-triggered poller that
	 * stops here would otherwise sleep through the next message.
	 */
	if (!yasmin_chan_msgs(c) && yasmin_has_waiter(sk_vsock(c->vsk)) &&
	    yasmin_chan_want_data(c, 1))
		yasmin_wake(sk_vsock(c->vsk));
	return ret;
}

/*
 * yasmin_chan_busy_poll() - before a reader or writer sleeps, watch the
 * ring for up to busy_poll_us: a reply that lands meanwhile costs no sleep
 * and no wakeup (the peer's event, if we had asked for one, still comes,
 * and still counts: see yasmin_chan_irq()). Stops early when the CPU is
 * wanted elsewhere.
 * Returns true when there is something to read (@want_data) or room to
 * write.
 */
/*
 * The parameters as they are now (root may change them at any time),
 * bounded: no wait spins for longer than YASMIN_BUSY_POLL_LIMIT_US, and a
 * window that grew under a larger maximum obeys the current one.
 */
static u32 yasmin_poll_base(void)
{
	return min_t(u32, READ_ONCE(yasmin_busy_poll_us),
		     YASMIN_BUSY_POLL_LIMIT_US);
}

static u32 yasmin_poll_max(void)
{
	return min_t(u32, READ_ONCE(yasmin_busy_poll_max_us),
		     YASMIN_BUSY_POLL_LIMIT_US);
}

bool yasmin_chan_busy_poll(struct yasmin_conn *c, bool want_data)
{
	struct yasmin_chan *ch = &c->chan;
	u32 window = yasmin_poll_base();
	u64 end;

	if (!window || !ch->up)
		return false;
	if (want_data && c->rx_wait_reply && c->rx_poll_us > window)
		window = min(c->rx_poll_us, max(yasmin_poll_max(), window));
	/*
	 * has_data() and has_space() asked for an event already, for callers
	 * that never block (they get EAGAIN and wait in poll). A caller that
	 * polls first takes the request back: an answer that lands while it
	 * polls then costs the peer no notify and us no interrupt, each as
	 * dear as a round trip under emulation. want_data() or want_space()
	 * asks again before it sleeps. A hint: the peer may have read the
	 * flag already and send its event all the same, which is harmless, so
	 * no barrier orders this store. The request may have been another
	 * waiter's too (an epoll watcher, a second thread), so the callers
	 * wake the socket's waiters whenever this or the request after it
	 * finds what they wait for, as the event would have. A zero-copy
	 * sender's request also stands for its completions: it stays.
	 */
	if (want_data)
		WRITE_ONCE(ch->rx_cons->want_data, YASMIN_NOTIFY_OFF);
	else if (!READ_ONCE(ch->tx_zc_inflight))
		WRITE_ONCE(ch->tx_prod->want_space, YASMIN_NOTIFY_OFF);
	end = local_clock() + (u64)window * NSEC_PER_USEC;
	do {
		if (want_data ? yasmin_chan_readable(c, 1) :
				yasmin_chan_has_space(c) > 0)
			return true;
		if (need_resched() || signal_pending(current) ||
		    !c->chan.up || c->broken)
			break;
		cpu_relax();
	} while (local_clock() < end);
	return false;
}

/*
 * A blocking reader's window adapts as the guest's halt-polling does
 * (cpuidle-haltpoll, KVM's halt_poll_ns): a wait that outlasted the
 * window but ended within busy_poll_max_us would have been caught by a
 * longer one, so the window doubles; a wait longer than that means the
 * peer has nothing to say soon, and it halves, never below busy_poll_us.
 * A request-response peer is then answered without an event, whatever
 * its round trip (under emulation it is above busy_poll_us), and a quiet
 * connection costs no more than busy_poll_us per wait.
 *
 * Only a SOCK_STREAM wait for a reply learns and uses the window: one
 * where we sent since our last read (the 6.1 and 6.12 cores call no
 * notify hook from a SOCK_SEQPACKET wait, so those never busy-poll). A stream's reader never sends, and its waits end
 * when the writer's next burst lands, which a longer poll only turns into
 * spinning (measured: 10-20 % more CPU per GB at 64 KiB writes); nor do
 * writers, which wait for half a ring to drain (bench/analysis.md).
 * yasmin_chan_wait_begins() is called before each block of a receive,
 * yasmin_chan_wait_ends() when it got data. Requires: the socket lock.
 */
void yasmin_chan_wait_begins(struct yasmin_conn *c)
{
	if (c->rx_wait_start)
		return;
	c->rx_wait_start = local_clock();
	c->rx_wait_reply = c->chan.tx_prod_val != c->tx_at_read;
}

void yasmin_chan_wait_ends(struct yasmin_conn *c)
{
	u32 base = yasmin_poll_base(), max = yasmin_poll_max();
	u32 window;
	u64 waited;

	if (!c->rx_wait_start)
		return;
	waited = local_clock() - c->rx_wait_start;
	c->rx_wait_start = 0;
	if (!c->rx_wait_reply)
		return;
	if (!base || max <= base) {
		c->rx_poll_us = 0;
		return;
	}
	/* both at most YASMIN_BUSY_POLL_LIMIT_US: doubling cannot wrap */
	window = clamp(c->rx_poll_us, base, max);
	if (waited <= (u64)window * NSEC_PER_USEC)
		return;			/* the poll caught it */
	if (waited <= (u64)max * NSEC_PER_USEC)
		window = min_t(u32, window * 2, max);
	else
		window = max_t(u32, window / 2, base);
	c->rx_poll_us = window;
}

/*
 * yasmin_chan_want_data() - true when at least @target bytes (SEQPACKET:
 * a whole message) are readable; otherwise ask the writer for an event
 * and check once more, closing the window in which it published data
 * without seeing our request.
 */
bool yasmin_chan_want_data(struct yasmin_conn *c, size_t target)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return false;
	if (yasmin_chan_readable(c, target))
		return true;
	if (!ch->up)
		return false;
	/* has_data() above just raised rx_prod_max to what it saw */
	WRITE_ONCE(ch->asked_rx_prod, READ_ONCE(ch->rx_prod_max));
	/*
	 * The snapshot before asked_data; pairs with the virt_rmb() in
	 * yasmin_chan_irq() between reading asked_data and the snapshot.
	 */
	virt_wmb();
	WRITE_ONCE(ch->asked_data, true);
	/*
	 * Asked before the flag the peer answers, whose event can only come
	 * after the peer saw the flag; the virt_mb() below pairs with the
	 * peer's reading of it.
	 */
	virt_wmb();
	WRITE_ONCE(ch->rx_cons->want_data, YASMIN_NOTIFY_ON);
	/*
	 * The flag before re-reading prod; pairs with the virt_mb() in
	 * yasmin_chan_enqueue() between publishing prod and reading the flag.
	 */
	virt_mb();
	if (yasmin_chan_readable(c, target))
		return true;
	/*
	 * Waiting for more than there is (SO_RCVLOWAT): a writer waiting for
	 * room may need it now, since our reads wake it only past half the
	 * window. The barrier above orders our last cons before its flag.
	 */
	if (target > 1)
		yasmin_chan_kick_writer(ch);
	return false;
}

/* The same for room to write. */
/*
 * yasmin_chan_ask_space() - ask the peer for an event once cons moves:
 * the snapshot, then asked_space, then the flag the peer answers, then a
 * full barrier before the caller reads cons again.
 */
void yasmin_chan_ask_space(struct yasmin_chan *ch)
{
	WRITE_ONCE(ch->asked_tx_cons, READ_ONCE(ch->tx_cons_max));
	/* As in yasmin_chan_want_data(): the snapshot, then asked_space... */
	virt_wmb();
	WRITE_ONCE(ch->asked_space, true);
	/* ...then the flag the peer answers. */
	virt_wmb();
	WRITE_ONCE(ch->tx_prod->want_space, YASMIN_NOTIFY_ON);
	/*
	 * The flag before re-reading cons; pairs with the virt_mb() in
	 * yasmin_chan_dequeue() between publishing cons and reading the flag.
	 */
	virt_mb();
}

bool yasmin_chan_want_space(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return false;
	if (yasmin_chan_has_space(c) > 0)
		return true;
	if (!ch->up)
		return false;
	yasmin_chan_ask_space(ch);
	return yasmin_chan_has_space(c) > 0;
}
