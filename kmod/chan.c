// SPDX-License-Identifier: GPL-2.0
/*
 * The data channel of one connected socket, and the data path over it.
 *
 * The connecting side owns the memory: two interface pages and two rings,
 * granted to the acceptor (proto.h). Each side copies straight between
 * the socket's iov_iter and the ring: two copies per byte end to end.
 *
 * Notifications follow libxenvchan: a reader about to sleep sets
 * want_data, a writer that found the ring full sets want_space, and the
 * other side sends an event only when it sees the word set, clearing it
 * with xchg() so each sleep costs one event. Setting the word and
 * re-checking the ring are separated by a full barrier on both sides, so
 * no wakeup is lost.
 *
 * All functions here run under the socket lock (lock_sock), except
 * yasmin_chan_irq().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <xen/events.h>

#include "yasmin.h"

static irqreturn_t yasmin_chan_irq(int irq, void *dev)
{
	struct yasmin_conn *c = dev;

	yasmin_stat_add(YASMIN_STAT_EVENTS_RECEIVED, 1);
	yasmin_wake(sk_vsock(c->vsk));
	xen_irq_lateeoi(irq, 0);
	return IRQ_HANDLED;
}

static void yasmin_chan_set_rings(struct yasmin_chan *ch, void **c2a,
				  void **a2c)
{
	u32 size = yasmin_ring_order_bytes(ch->order);

	ch->tx.size = size;
	ch->rx.size = size;
	if (ch->connector) {
		ch->tx.pages = c2a;
		ch->rx.pages = a2c;
		ch->tx_prod = &ch->intf->c2a_prod;
		ch->tx_cons = &ch->intf->c2a_cons;
		ch->rx_prod = &ch->intf->a2c_prod;
		ch->rx_cons = &ch->intf->a2c_cons;
	} else {
		ch->tx.pages = a2c;
		ch->rx.pages = c2a;
		ch->tx_prod = &ch->intf->a2c_prod;
		ch->tx_cons = &ch->intf->a2c_cons;
		ch->rx_prod = &ch->intf->c2a_prod;
		ch->rx_cons = &ch->intf->c2a_cons;
	}
	ch->tx_prod_val = 0;
	ch->rx_cons_val = 0;
}

/*
 * yasmin_chan_init_connector() - allocate, zero and grant a channel with
 * rings of 2^@order pages, and fill in the CONNECT fields of @msg.
 */
int yasmin_chan_init_connector(struct yasmin_conn *c, domid_t peer,
			       u32 order, struct yasmin_ctrl_msg *msg)
{
	struct yasmin_chan *ch = &c->chan;
	u32 npages = 1u << order, i;
	u32 *refs;
	int err;

	ch->connector = true;
	ch->order = order;
	err = yasmin_grant_area_init(&ch->local,
				     YASMIN_INTF_PAGES + 2 * npages, peer);
	if (err)
		return err == -ENOSPC ? -ENOBUFS : err;

	ch->intf = ch->local.va[0];
	ch->intf->magic = YASMIN_DATA_MAGIC;
	ch->intf->version = YASMIN_PROTO_VERSION;
	ch->intf->ring_order = order;
	refs = ch->local.va[1];
	for (i = 0; i < 2 * npages; i++)
		refs[i] = ch->local.refs[YASMIN_INTF_PAGES + i];
	yasmin_chan_set_rings(ch, &ch->local.va[YASMIN_INTF_PAGES],
			      &ch->local.va[YASMIN_INTF_PAGES + npages]);

	err = yasmin_evtchn_init_unbound(&ch->ev, peer, yasmin_chan_irq,
					 "yasmin-data", c);
	if (err) {
		yasmin_grant_area_uninit(&ch->local);
		return err;
	}
	msg->ring_order = order;
	msg->intf_ref = ch->local.refs[0];
	msg->refs_ref = ch->local.refs[1];
	msg->evtchn = ch->ev.port;
	ch->up = true;
	return 0;
}

/*
 * yasmin_chan_init_acceptor() - map the channel described by a validated
 * CONNECT. Every value read from the interface pages is read once,
 * checked, and only the copy is used.
 */
int yasmin_chan_init_acceptor(struct yasmin_conn *c, domid_t peer,
			      const struct yasmin_ctrl_msg *msg)
{
	struct yasmin_chan *ch = &c->chan;
	grant_ref_t intf_refs[YASMIN_INTF_PAGES] = {
		msg->intf_ref, msg->refs_ref,
	};
	u32 npages = 1u << msg->ring_order, i;
	const u32 *shared_refs;
	grant_ref_t *refs;
	int err;

	ch->connector = false;
	ch->order = msg->ring_order;
	err = yasmin_map_area_init(&ch->intf_map, peer, intf_refs,
				   YASMIN_INTF_PAGES);
	if (err)
		return err;
	ch->intf = ch->intf_map.va[0];
	if (READ_ONCE(ch->intf->magic) != YASMIN_DATA_MAGIC ||
	    READ_ONCE(ch->intf->version) != YASMIN_PROTO_VERSION ||
	    READ_ONCE(ch->intf->ring_order) != msg->ring_order) {
		pr_warn_ratelimited("domain %u: bad data interface page\n",
				    peer);
		err = -EPROTO;
		goto fail_intf;
	}

	refs = kvmalloc_array(2 * npages, sizeof(*refs), GFP_KERNEL);
	if (!refs) {
		err = -ENOMEM;
		goto fail_intf;
	}
	shared_refs = ch->intf_map.va[1];
	for (i = 0; i < 2 * npages; i++)
		refs[i] = READ_ONCE(shared_refs[i]);
	err = yasmin_map_area_init(&ch->ring_map, peer, refs, 2 * npages);
	kvfree(refs);
	if (err)
		goto fail_intf;
	yasmin_chan_set_rings(ch, &ch->ring_map.va[0],
			      &ch->ring_map.va[npages]);

	err = yasmin_evtchn_init_bound(&ch->ev, peer, msg->evtchn,
				       yasmin_chan_irq, "yasmin-data", c);
	if (err)
		goto fail_rings;
	ch->up = true;
	return 0;

fail_rings:
	yasmin_map_area_uninit(&ch->ring_map);
fail_intf:
	yasmin_map_area_uninit(&ch->intf_map);
	ch->intf = NULL;
	return err;
}

/*
 * yasmin_chan_uninit() - let go of the channel. The connector's pages stay
 * alive while the acceptor still maps them (grant.c), so whatever we wrote
 * before closing can still be read on the other side.
 */
void yasmin_chan_uninit(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return;
	ch->up = false;
	yasmin_evtchn_uninit(&ch->ev, c);
	if (ch->connector) {
		yasmin_grant_area_uninit(&ch->local);
	} else {
		yasmin_map_area_uninit(&ch->ring_map);
		yasmin_map_area_uninit(&ch->intf_map);
	}
	ch->intf = NULL;
	ch->tx_prod = NULL;
	ch->tx_cons = NULL;
	ch->rx_prod = NULL;
	ch->rx_cons = NULL;
}

/*
 * A closed connector's memory, kept granted until the acceptor says it let
 * go. Revoking a grant the peer still maps would park it on the grant
 * table's deferred list, which is retried only once a second: fast
 * connection churn would then exhaust the grant table.
 */
struct yasmin_orphan {
	struct list_head node;
	u32 conn_id;
	struct yasmin_grant_area area;
};

/*
 * yasmin_chan_orphan() - close the channel of a socket being released. The
 * acceptor may still read what we wrote, so the connector's pages stay
 * granted until yasmin_chan_reap() hears from the peer about this
 * connection, or the session ends.
 */
void yasmin_chan_orphan(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	struct yasmin_orphan *o;

	if (!ch->up || !ch->connector || !c->peer)
		goto free;
	o = kmalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		goto free;
	ch->up = false;
	yasmin_evtchn_uninit(&ch->ev, c);
	o->conn_id = c->id;
	o->area = ch->local;
	memset(&ch->local, 0, sizeof(ch->local));
	spin_lock(&c->peer->conns_lock);
	list_add_tail(&o->node, &c->peer->orphans);
	spin_unlock(&c->peer->conns_lock);
	return;
free:
	yasmin_chan_uninit(c);
}

static void yasmin_orphan_free(struct yasmin_orphan *o)
{
	yasmin_grant_area_uninit(&o->area);
	kfree(o);
}

/* The peer spoke about @conn_id after we closed it: it has let go. */
void yasmin_chan_reap(struct yasmin_peer *peer, u32 conn_id)
{
	struct yasmin_orphan *o, *found = NULL;

	spin_lock(&peer->conns_lock);
	list_for_each_entry(o, &peer->orphans, node) {
		if (o->conn_id == conn_id) {
			list_del(&o->node);
			found = o;
			break;
		}
	}
	spin_unlock(&peer->conns_lock);
	if (found)
		yasmin_orphan_free(found);
}

/* The session is over: revoke everything (deferred while still mapped). */
void yasmin_chan_reap_all(struct yasmin_peer *peer)
{
	struct yasmin_orphan *o, *tmp;
	LIST_HEAD(all);

	spin_lock(&peer->conns_lock);
	list_splice_init(&peer->orphans, &all);
	spin_unlock(&peer->conns_lock);
	list_for_each_entry_safe(o, tmp, &all, node)
		yasmin_orphan_free(o);
}

s64 yasmin_chan_has_data(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	long used;

	if (!ch->up)
		return 0;
	used = yasmin_ring_span(READ_ONCE(ch->rx_prod->prod), ch->rx_cons_val,
				ch->rx.size);
	if (used < 0) {
		yasmin_conn_broken(c, "receive ring index out of range");
		return 0;
	}
	return used;
}

s64 yasmin_chan_has_space(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	long used;

	if (!ch->up)
		return 0;
	used = yasmin_ring_span(ch->tx_prod_val, READ_ONCE(ch->tx_cons->cons),
				ch->tx.size);
	if (used < 0) {
		yasmin_conn_broken(c, "send ring index out of range");
		return 0;
	}
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

	if (!ch->up)
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
		ch->tx_prod_val += got;
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

	if (!ch->up)
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
		ch->rx_cons_val += got;
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
	yasmin_stat_add(YASMIN_STAT_BYTES_RECEIVED, copied);
	return copied;
}

/*
 * yasmin_chan_busy_poll() - before a reader or writer sleeps, watch the
 * ring for up to busy_poll_us: a reply that lands meanwhile costs neither
 * an event nor a wakeup. Stops early when the CPU is wanted elsewhere.
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
	WRITE_ONCE(ch->tx_prod->want_space, YASMIN_NOTIFY_ON);
	/*
	 * The flag before re-reading cons; pairs with the virt_mb() in
	 * yasmin_chan_dequeue() between publishing cons and reading the flag.
	 */
	virt_mb();
	return yasmin_chan_has_space(c) > 0;
}
