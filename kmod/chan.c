// SPDX-License-Identifier: GPL-2.0
/*
 * The data channel of one connected socket: setting it up, its event, and
 * letting go of it. The bytes move in datapath.c.
 *
 * The connecting side owns the memory: two interface pages and two rings,
 * granted to the acceptor (proto.h). What it lets go while the acceptor
 * still maps it lingers until the acceptor unmaps (linger.c).
 *
 * All functions here run under the socket lock (lock_sock), except
 * yasmin_chan_irq().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <xen/events.h>

#include "yasmin.h"

/*
 * An honest peer notifies only to answer a request of ours: it takes our
 * want_data or want_space flag (xchg) and sends one event. So an event
 * counts when we asked (yasmin_chan_want_data() or _want_space() raised
 * the private flag and noted the peer's index then) and the index has
 * since moved forward, to where an honest peer could put it. A reader
 * that busy-polled the answer away before the event came still counts
 * it: the snapshot, not our current position, is the reference.
 *
 * Any other event is spurious: telling the event core so makes it delay
 * this channel's next upcall (lateeoi, as XSA-332's fix does for the PV
 * backends), so a peer that spins on notify cannot keep this vCPU busy.
 * The snapshot is the highest value the peer has shown (rx_prod_max,
 * tx_cons_max), so one that moves an index back and forth gains nothing
 * here, and the data path resets the connection as soon as it reads an
 * index behind it (yasmin_index_read()). One that moves it forward with
 * every event is delivering data or taking it, a byte at a time at
 * worst, as an honest one may. The sleeper is woken either way, so a
 * misjudged event only costs time, and only after two in a row.
 */
static irqreturn_t yasmin_chan_irq(int irq, void *dev)
{
	struct yasmin_conn *c = dev;
	struct yasmin_chan *ch = &c->chan;
	unsigned int eoi = XEN_EOI_FLAG_SPURIOUS;
	u32 idx, then, seen;

	yasmin_stat_add(YASMIN_STAT_EVENTS_RECEIVED, 1);
	seen = READ_ONCE(ch->rx_prod_max);
	if (READ_ONCE(ch->asked_data)) {
		/*
		 * Pairs with the virt_wmb() in yasmin_chan_want_data(); also
		 * reads rx_prod_max before the index, as yasmin_index_read().
		 */
		virt_rmb();
		then = READ_ONCE(ch->asked_rx_prod);
		idx = READ_ONCE(ch->rx_prod->prod);
		/* forward, and at most a ring ahead of what we have read */
		if (idx != then && idx - then <= READ_ONCE(ch->rx.size) &&
		    idx - READ_ONCE(ch->rx_cons_val) <= READ_ONCE(ch->rx.size)) {
			yasmin_index_raise(&ch->rx_prod_max, seen, idx);
			WRITE_ONCE(ch->asked_data, false);
			eoi = 0;
		}
	}
	seen = READ_ONCE(ch->tx_cons_max);
	if (READ_ONCE(ch->asked_space)) {
		/*
		 * Pairs with the virt_wmb() in yasmin_chan_want_space(); also
		 * reads tx_cons_max before the index, as yasmin_index_read().
		 */
		virt_rmb();
		then = READ_ONCE(ch->asked_tx_cons);
		idx = READ_ONCE(ch->tx_cons->cons);
		/* forward, and not past what we have written */
		if (idx != then &&
		    idx - then <= READ_ONCE(ch->tx_prod_val) - then) {
			yasmin_index_raise(&ch->tx_cons_max, seen, idx);
			WRITE_ONCE(ch->asked_space, false);
			eoi = 0;
			if (READ_ONCE(ch->tx_zc_inflight))
				yasmin_conn_zc_kick(c);
		}
	}
	if (eoi)
		yasmin_stat_add(YASMIN_STAT_EVENTS_SPURIOUS, 1);
	yasmin_wake(sk_vsock(c->vsk));
	xen_irq_lateeoi(irq, eoi);
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
		ch->tx_rec = ch->intf->c2a_rec;
		ch->rx_rec = ch->intf->a2c_rec;
		ch->tx_zc = ch->intf->c2a_zc;
		ch->rx_zc = ch->intf->a2c_zc;
	} else {
		ch->tx.pages = a2c;
		ch->rx.pages = c2a;
		ch->tx_prod = &ch->intf->a2c_prod;
		ch->tx_cons = &ch->intf->a2c_cons;
		ch->rx_prod = &ch->intf->c2a_prod;
		ch->rx_cons = &ch->intf->c2a_cons;
		ch->tx_rec = ch->intf->a2c_rec;
		ch->rx_rec = ch->intf->c2a_rec;
		ch->tx_zc = ch->intf->a2c_zc;
		ch->rx_zc = ch->intf->c2a_zc;
	}
	ch->tx_prod_val = 0;
	ch->rx_cons_val = 0;
	ch->tx_msg_prod_val = 0;
	ch->rx_msg_cons_val = 0;
	ch->tx_need = 0;
	ch->rx_window = 0;
	ch->asked_data = false;
	ch->asked_space = false;
	ch->rx_prod_max = 0;
	ch->tx_cons_max = 0;
	ch->rx_msg_prod_max = 0;
	ch->tx_msg_cons_max = 0;
	yasmin_zc_init(ch);
}

/*
 * Every connection costs an event channel, and a guest has few (1023 by
 * default, shared with netfront, blkfront and the vCPUs): the data
 * channels of all sockets together may hold max_evtchns of them. The one
 * control channel per peer comes on top and is not charged here. Charged
 * before the channel exists, so racing connects cannot overshoot.
 */
static atomic_t yasmin_data_evtchns = ATOMIC_INIT(0);

static int yasmin_evtchn_charge(struct yasmin_chan *ch, domid_t peer)
{
	if (atomic_inc_return(&yasmin_data_evtchns) <= yasmin_max_evtchns) {
		ch->evtchn_charged = true;
		return 0;
	}
	atomic_dec(&yasmin_data_evtchns);
	yasmin_stat_add(YASMIN_STAT_REFUSED, 1);
	pr_warn_ratelimited("a connection with domain %u would pass max_evtchns=%u; refused\n",
			    peer, yasmin_max_evtchns);
	return -ENOBUFS;
}

static void yasmin_evtchn_uncharge(struct yasmin_chan *ch)
{
	if (ch->evtchn_charged)
		atomic_dec(&yasmin_data_evtchns);
	ch->evtchn_charged = false;
}

/*
 * yasmin_chan_init_connector() - allocate, zero and grant a channel with
 * rings of 2^@order pages, and fill in the CONNECT fields of @msg.
 */
int yasmin_chan_init_connector(struct yasmin_conn *c, struct yasmin_peer *p,
			       u32 order, struct yasmin_ctrl_msg *msg)
{
	struct yasmin_chan *ch = &c->chan;
	u32 npages = 1u << order, i;
	domid_t peer = p->domid;
	u32 *refs;
	int err;

	ch->connector = true;
	ch->order = order;
	err = yasmin_evtchn_charge(ch, peer);
	if (err)
		return err;
	err = yasmin_grant_area_init(&ch->local,
				     YASMIN_INTF_PAGES + 2 * npages, peer,
				     c->id, &p->grants);
	if (err) {
		yasmin_evtchn_uncharge(ch);
		return err == -ENOSPC ? -ENOBUFS : err;
	}

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
		yasmin_grant_area_uninit(&ch->local, c->id);
		yasmin_evtchn_uncharge(ch);
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
 * CONNECT, with rings of 2^@order pages (@order <= the offered order: the
 * listener's size, see yasmin_conn_rx_connect()). Only the first 2^@order
 * pages of each offered ring are mapped; the rest stay the connector's.
 * Every value read from the interface pages is read once, checked, and
 * only the copy is used.
 */
int yasmin_chan_init_acceptor(struct yasmin_conn *c, domid_t peer,
			      const struct yasmin_ctrl_msg *msg, u32 order)
{
	struct yasmin_chan *ch = &c->chan;
	grant_ref_t intf_refs[YASMIN_INTF_PAGES] = {
		msg->intf_ref, msg->refs_ref,
	};
	u32 offered = 1u << msg->ring_order, npages = 1u << order, i;
	const u32 *shared_refs;
	grant_ref_t *refs;
	int err;

	if (WARN_ON_ONCE(order > msg->ring_order))
		return -EINVAL;
	ch->connector = false;
	ch->order = order;
	err = yasmin_evtchn_charge(ch, peer);
	if (err)
		return err;
	err = yasmin_map_area_init(&ch->intf_map, peer, intf_refs,
				   YASMIN_INTF_PAGES);
	if (err)
		goto fail_charge;
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
	/* c2a's refs start at 0, a2c's at the offered ring's page count. */
	shared_refs = ch->intf_map.va[1];
	for (i = 0; i < npages; i++) {
		refs[i] = READ_ONCE(shared_refs[i]);
		refs[npages + i] = READ_ONCE(shared_refs[offered + i]);
	}
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
fail_charge:
	yasmin_evtchn_uncharge(ch);
	return err;
}

/*
 * yasmin_chan_accepted() - the acceptor took rings of 2^@order pages, at
 * most what we offered: use that much of each, and let go of the pages
 * past it in both rings, so an offer the listener cut costs no grants.
 * Returns -EPROTO for an order we never offered (the peer is lying).
 */
int yasmin_chan_accepted(struct yasmin_conn *c, u32 order)
{
	struct yasmin_chan *ch = &c->chan;
	u32 offered, taken, a2c;

	if (!ch->up || !ch->connector || order > ch->order)
		return -EPROTO;
	offered = 1u << ch->order;
	taken = 1u << order;
	a2c = YASMIN_INTF_PAGES + offered;
	/*
	 * a2c's tail first, then c2a's, which moves a2c down behind it. A
	 * trim that fails (no memory) keeps its pages granted until close.
	 */
	if (order < ch->order &&
	    !yasmin_grant_area_trim(&ch->local, a2c + taken, offered - taken,
				    c->id) &&
	    !yasmin_grant_area_trim(&ch->local, YASMIN_INTF_PAGES + taken,
				    offered - taken, c->id))
		a2c = YASMIN_INTF_PAGES + taken;
	/*
	 * Sizes and pages only: the interrupt handler may be reading the
	 * index pointers and the sizes meanwhile.
	 */
	ch->order = order;
	WRITE_ONCE(ch->tx.size, yasmin_ring_order_bytes(order));
	WRITE_ONCE(ch->rx.size, ch->tx.size);
	ch->tx.pages = &ch->local.va[YASMIN_INTF_PAGES];
	ch->rx.pages = &ch->local.va[a2c];
	return 0;
}

/*
 * yasmin_chan_uninit() - let go of the channel. The connector's pages stay
 * granted while the acceptor still maps them (linger.c), so whatever we
 * wrote before closing can still be read on the other side, and they are
 * freed as soon as it unmaps.
 */
void yasmin_chan_uninit(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up)
		return;
	ch->up = false;
	yasmin_evtchn_uninit(&ch->ev, c);
	/* Sends in flight complete; pages the peer maps linger. */
	yasmin_zc_uninit(c);
	yasmin_evtchn_uncharge(ch);
	if (ch->connector) {
		yasmin_grant_area_uninit(&ch->local, c->id);
	} else {
		yasmin_map_area_uninit(&ch->ring_map);
		yasmin_map_area_uninit(&ch->intf_map);
		if (c->peer && c->peer_maps) {
			atomic_sub(c->peer_maps, &c->peer->maps);
			atomic_dec(&c->peer->accepted);
			atomic_sub(c->peer_maps, &yasmin_accepted_maps);
			atomic_dec(&yasmin_accepted_conns);
		}
		c->peer_maps = 0;
	}
	ch->intf = NULL;
	ch->tx_prod = NULL;
	ch->tx_cons = NULL;
	ch->rx_prod = NULL;
	ch->rx_cons = NULL;
	ch->tx_rec = NULL;
	ch->rx_rec = NULL;
	ch->tx_zc = NULL;
	ch->rx_zc = NULL;
}
