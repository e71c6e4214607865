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
	prod = READ_ONCE(ch->rx_prod->prod);
	used = yasmin_ring_span(prod, ch->rx_cons_val, ch->rx.size);
	if (used < 0) {
		yasmin_conn_broken(c, "receive ring index out of range");
		return 0;
	}
	yasmin_index_seen(&ch->rx_prod_max, prod);
	return used;
}

s64 yasmin_chan_has_space(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	long used;
	u32 cons;

	if (!ch->up || c->broken)
		return 0;
	cons = READ_ONCE(ch->tx_cons->cons);
	used = yasmin_ring_span(ch->tx_prod_val, cons, ch->tx.size);
	if (used < 0) {
		yasmin_conn_broken(c, "send ring index out of range");
		return 0;
	}
	yasmin_index_seen(&ch->tx_cons_max, cons);
	return ch->tx.size - used;
}

static size_t yasmin_copy_from_msg(void *buf, size_t len, void *iter)
{
	return copy_from_iter(buf, len, iter);
}

static size_t yasmin_copy_to_msg(void *buf, size_t len, void *iter)
{
	return copy_to_iter(buf, len, iter);
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

	if (!ch->up || c->broken)
		return -ENOTCONN;
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
		if (READ_ONCE(ch->tx_cons->want_data) &&
		    xchg(&ch->tx_cons->want_data, YASMIN_NOTIFY_OFF))
			yasmin_evtchn_notify(&ch->ev);
		if (got != want)
			break;
	}
	if (!copied)
		return -EFAULT;
	yasmin_stat_add(YASMIN_STAT_BYTES_SENT, copied);
	return copied;
}

ssize_t yasmin_chan_dequeue(struct yasmin_conn *c, struct msghdr *msg,
			    size_t len, int flags)
{
	struct yasmin_chan *ch = &c->chan;
	s64 avail = yasmin_chan_has_data(c);
	size_t n, copied = 0;
	u32 used;

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
		copied = yasmin_ring_walk(&ch->rx, ch->rx_cons_val, n,
					  yasmin_copy_to_msg, &msg->msg_iter);
		return copied ? copied : -EFAULT;
	}
	while (copied < n) {
		size_t want = min_t(size_t, n - copied, YASMIN_PUBLISH_CHUNK);
		size_t got = yasmin_ring_walk(&ch->rx, ch->rx_cons_val, want,
					      yasmin_copy_to_msg,
					      &msg->msg_iter);

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
		if (used <= ch->rx.size / 2 &&
		    READ_ONCE(ch->rx_prod->want_space) &&
		    xchg(&ch->rx_prod->want_space, YASMIN_NOTIFY_OFF))
			yasmin_evtchn_notify(&ch->ev);
		if (got != want)
			break;
	}
	if (!copied)
		return -EFAULT;
	c->rx_drained = copied == avail;
	yasmin_stat_add(YASMIN_STAT_BYTES_RECEIVED, copied);
	return copied;
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
bool yasmin_chan_busy_poll(struct yasmin_conn *c, bool want_data)
{
	u64 end;

	if (!yasmin_busy_poll_us || !c->chan.up)
		return false;
	end = local_clock() + (u64)yasmin_busy_poll_us * NSEC_PER_USEC;
	do {
		if (want_data ? yasmin_chan_has_data(c) > 0 :
				yasmin_chan_has_space(c) > 0)
			return true;
		if (need_resched() || signal_pending(current) || !c->chan.up)
			break;
		cpu_relax();
	} while (local_clock() < end);
	return false;
}

/*
 * yasmin_chan_want_data() - true when at least @target bytes are readable;
 * otherwise ask the writer for an event and check once more, closing the
 * window in which it published data without seeing our request.
 */
bool yasmin_chan_want_data(struct yasmin_conn *c, size_t target)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return false;
	if (yasmin_chan_has_data(c) >= (s64)target)
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
	return yasmin_chan_has_data(c) >= (s64)target;
}

/* The same for room to write. */
bool yasmin_chan_want_space(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return false;
	if (yasmin_chan_has_space(c) > 0)
		return true;
	if (!ch->up)
		return false;
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
	return yasmin_chan_has_space(c) > 0;
}
