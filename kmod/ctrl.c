// SPDX-License-Identifier: GPL-2.0
/*
 * The control channel: one per pair of domains that talk, carrying
 * CONNECT / ACCEPT / RESET / SHUTDOWN between them (proto.h).
 *
 * A session is set up lazily, on the first use by either side. The lower
 * domid ("owner") grants the page and reserves the event channel; the
 * other side maps and binds them. Because only the owner ever creates a
 * page, two domains that connect to each other at the same moment still
 * end up with one channel. Handshake over XenStore:
 *
 *   non-owner wants it:   writes request=N      -> owner publishes gen=N
 *   owner wants it:       writes want=W         -> non-owner requests
 *   non-owner sees gen=N: maps, binds, writes mapped=N
 *
 * A new request (the peer restarted), a vanished gen or mapped key (the
 * peer let go), a removed pair directory (yasmin-xs teardown), or our
 * event channel dropping back to unbound (the peer domain died) ends the
 * session: every socket with that peer is reset and everything is freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <xen/events.h>
#include <xen/xenbus.h>

#include "yasmin.h"

/* How often a live session checks that the peer domain still exists. */
#define YASMIN_LIVENESS_PERIOD	(HZ / 4)
/* Control messages handled per work run before yielding the worker. */
#define YASMIN_CTRL_BUDGET	(4 * YASMIN_CTRL_SLOTS)

/*
 * Answers the peer provoked (RESET for a connection we do not know, an
 * ACCEPT we cannot use) wait in txq only up to one ring's worth: a peer
 * that keeps asking and never reads its ring gets no more answers, rather
 * than growing our memory. Our own messages need no such cap: each socket
 * sends at most a CONNECT, one SHUTDOWN per direction and a RESET.
 */
#define YASMIN_CTRL_MAX_REPLIES	YASMIN_CTRL_SLOTS
/*
 * Our own messages are few per socket, but sockets come and go: past this
 * many waiting, connect() fails with ENOBUFS and the rest is dropped.
 */
#define YASMIN_CTRL_TXQ_MAX	1024
/* A peer that reads nothing of a full ring for this long is dropped. */
#define YASMIN_CTRL_STALL	(10 * HZ)
/* How long a removed pair waits for its peer's death to show (above). */
#define YASMIN_UNPAIR_GRACE	(HZ / 2)
/* An owner drops a session its peer has not bound after this long. */
#define YASMIN_JOIN_TIMEOUT	(10 * HZ)

struct yasmin_txmsg {
	struct list_head node;
	bool reply;
	struct yasmin_ctrl_msg msg;
};

static LIST_HEAD(yasmin_peers);
static DEFINE_MUTEX(yasmin_peers_lock);
/* Set from the domain's save until its restore: no session may start. */
static bool yasmin_ctrl_frozen;
static bool yasmin_ctrl_dying;

static u32 yasmin_nonce(void)
{
	u32 n;

	do {
		n = get_random_u32();
	} while (!n);
	return n;
}

/*
 * The event is acknowledged (lateeoi) by the work item once it has read
 * the ring, flagged spurious when the ring held nothing new: until then
 * the channel stays masked, so a peer that spins on notify costs us one
 * work run per batch, and Xen's event core backs off a spurious source.
 */
static irqreturn_t yasmin_ctrl_irq(int irq, void *dev)
{
	struct yasmin_peer *peer = dev;

	yasmin_stat_add(YASMIN_STAT_EVENTS_RECEIVED, 1);
	set_bit(YASMIN_PEER_EOI, &peer->pending);
	queue_work(yasmin_wq, &peer->work);
	return IRQ_HANDLED;
}

/* Our half of the page: the ring we produce and the one we consume. */
static struct yasmin_ctrl_idx *yasmin_ctrl_tx_idx(struct yasmin_peer *peer)
{
	return yasmin_peer_owner(peer) ? &peer->page->o2p : &peer->page->p2o;
}

static struct yasmin_ctrl_msg *yasmin_ctrl_tx_slots(struct yasmin_peer *peer)
{
	return yasmin_peer_owner(peer) ? peer->page->o2p_msg : peer->page->p2o_msg;
}

static struct yasmin_ctrl_idx *yasmin_ctrl_rx_idx(struct yasmin_peer *peer)
{
	return yasmin_peer_owner(peer) ? &peer->page->p2o : &peer->page->o2p;
}

static struct yasmin_ctrl_msg *yasmin_ctrl_rx_slots(struct yasmin_peer *peer)
{
	return yasmin_peer_owner(peer) ? peer->page->p2o_msg : peer->page->o2p_msg;
}

static bool yasmin_ctrl_full(struct yasmin_peer *peer)
{
	struct yasmin_ctrl_idx *idx = yasmin_ctrl_tx_idx(peer);

	/* Snapshot; a broken cons reads as full and the ring stalls. */
	return peer->tx_prod - READ_ONCE(idx->cons) >= YASMIN_CTRL_SLOTS;
}

/*
 * The peer's consumer index of the ring we produce, out of range: it
 * consumed what we never wrote. Checked under tx_lock, so our prod is not
 * moving meanwhile (and cons <= prod for an honest peer).
 */
static bool yasmin_ctrl_tx_broken(struct yasmin_peer *peer)
{
	struct yasmin_ctrl_idx *idx = yasmin_ctrl_tx_idx(peer);
	bool broken;

	spin_lock(&peer->tx_lock);
	broken = peer->tx_prod - READ_ONCE(idx->cons) > YASMIN_CTRL_SLOTS;
	spin_unlock(&peer->tx_lock);
	if (broken)
		pr_warn_ratelimited("domain %u broke the control ring's consumer index\n",
				    peer->domid);
	return broken;
}

/*
 * Put one message into the ring; false when it is full (or the peer broke
 * the consumer index, which the receive side will notice too). A full
 * ring asks the consumer for an event once it makes room.
 * Requires: peer->tx_lock held, peer->up.
 */
static bool yasmin_ctrl_put(struct yasmin_peer *peer,
			    const struct yasmin_ctrl_msg *msg)
{
	struct yasmin_ctrl_idx *idx = yasmin_ctrl_tx_idx(peer);

	lockdep_assert_held(&peer->tx_lock);
	if (yasmin_ctrl_full(peer)) {
		WRITE_ONCE(idx->want_space, YASMIN_NOTIFY_ON);
		/*
		 * The flag before re-reading cons; pairs with the virt_mb()
		 * in yasmin_ctrl_rx() between publishing cons and reading the
		 * flag. Either the consumer sees the flag or we see its room.
		 */
		virt_mb();
		if (yasmin_ctrl_full(peer))
			return false;
	}
	/*
	 * Read cons before overwriting the slot it freed; pairs with the
	 * virt_mb() in yasmin_ctrl_rx() before the consumer publishes cons.
	 */
	virt_mb();
	yasmin_ctrl_tx_slots(peer)[peer->tx_prod % YASMIN_CTRL_SLOTS] = *msg;
	/*
	 * The slot (and anything the message refers to, such as a data
	 * interface page) before prod; pairs with the virt_rmb() in
	 * yasmin_ctrl_rx() after the consumer reads prod.
	 */
	virt_wmb();
	peer->tx_prod++;
	WRITE_ONCE(idx->prod, peer->tx_prod);
	return true;
}

/* Requires: peer->tx_lock held. */
static void yasmin_txmsg_del(struct yasmin_peer *peer, struct yasmin_txmsg *t)
{
	list_del(&t->node);
	WRITE_ONCE(peer->txq_len, peer->txq_len - 1);
	if (t->reply)
		peer->txq_replies--;
	kfree(t);
}

/* Move queued messages into the ring. Requires: peer->tx_lock held. */
static bool yasmin_ctrl_flush_locked(struct yasmin_peer *peer)
{
	struct yasmin_txmsg *t, *tmp;
	bool sent = false;

	list_for_each_entry_safe(t, tmp, &peer->txq, node) {
		if (!yasmin_ctrl_put(peer, &t->msg))
			break;
		yasmin_txmsg_del(peer, t);
		sent = true;
	}
	return sent;
}

static int yasmin_ctrl_queue(struct yasmin_peer *peer,
			     const struct yasmin_ctrl_msg *msg, bool reply)
{
	struct yasmin_txmsg *t = kmalloc(sizeof(*t), GFP_KERNEL);
	bool queued = false, sent = false;
	int err = 0;

	if (!t)
		return -ENOMEM;
	spin_lock(&peer->tx_lock);
	if (!peer->up && msg->type != YASMIN_MSG_CONNECT) {
		/* A session that comes up resets everything of the last one. */
	} else if (peer->up && list_empty(&peer->txq) &&
		   yasmin_ctrl_put(peer, msg)) {
		sent = true;
	} else if (reply && peer->txq_replies >= YASMIN_CTRL_MAX_REPLIES) {
		err = -ENOBUFS;
	} else if (peer->txq_len >= YASMIN_CTRL_TXQ_MAX) {
		err = -ENOBUFS;
	} else {
		t->msg = *msg;
		t->reply = reply;
		list_add_tail(&t->node, &peer->txq);
		WRITE_ONCE(peer->txq_len, peer->txq_len + 1);
		if (reply)
			peer->txq_replies++;
		queued = true;
	}
	if (sent)
		yasmin_evtchn_notify(&peer->ev);
	spin_unlock(&peer->tx_lock);
	if (!queued)
		kfree(t);
	else
		yasmin_peer_kick(peer, YASMIN_PEER_USE);
	if (err)
		pr_warn_ratelimited("domain %u does not read its control ring; message dropped\n",
				    peer->domid);
	return err;
}

/*
 * yasmin_ctrl_send() - send @msg to the peer, now if the session is up and
 * the ring has room, else as soon as it has. Messages keep their order.
 * Callable under sk_lock; never sleeps on the peer.
 */
int yasmin_ctrl_send(struct yasmin_peer *peer,
		     const struct yasmin_ctrl_msg *msg)
{
	return yasmin_ctrl_queue(peer, msg, false);
}

/* The same for an answer the peer provoked; bounded, see above. */
int yasmin_ctrl_reply(struct yasmin_peer *peer,
		      const struct yasmin_ctrl_msg *msg)
{
	return yasmin_ctrl_queue(peer, msg, true);
}

/*
 * Drop queued messages about @conn_id (a connect that timed out). True
 * when its CONNECT was among them: the peer never heard of it.
 */
bool yasmin_ctrl_cancel(struct yasmin_peer *peer, u32 conn_id)
{
	struct yasmin_txmsg *t, *tmp;
	bool connect = false;

	spin_lock(&peer->tx_lock);
	list_for_each_entry_safe(t, tmp, &peer->txq, node) {
		if (t->msg.conn_id == conn_id) {
			connect |= t->msg.type == YASMIN_MSG_CONNECT;
			yasmin_txmsg_del(peer, t);
		}
	}
	spin_unlock(&peer->tx_lock);
	return connect;
}

static void yasmin_session_down(struct yasmin_peer *peer, int err,
				const char *why)
{
	struct yasmin_txmsg *t, *tmp;
	LIST_HEAD(dropped);
	bool was_up;

	lockdep_assert_held(&peer->lock);

	spin_lock(&peer->tx_lock);
	was_up = peer->up;
	peer->up = false;
	list_splice_init(&peer->txq, &dropped);
	peer->txq_len = 0;
	peer->txq_replies = 0;
	spin_unlock(&peer->tx_lock);
	list_for_each_entry_safe(t, tmp, &dropped, node)
		kfree(t);
	peer->wanted = false;
	peer->unpaired_at = 0;

	yasmin_conn_reset_peer(peer, err);

	yasmin_evtchn_uninit(&peer->ev, peer);
	/* No handler of the old channel runs any more: nothing to EOI. */
	clear_bit(YASMIN_PEER_EOI, &peer->pending);
	if (yasmin_peer_owner(peer)) {
		if (peer->page_grant.nr) {
			yasmin_grant_area_uninit(&peer->page_grant,
						 YASMIN_LINGER_CTRL);
			yasmin_xs_unpublish_ctrl(peer->domid);
		}
		peer->peer_bound = false;
	} else {
		yasmin_map_area_uninit(&peer->page_map);
		yasmin_xs_remove(peer->domid, "mapped");
		yasmin_xs_remove(peer->domid, "request");
		peer->requested = false;
	}
	peer->page = NULL;
	/* A peer can open and close sessions at will: keep the log bounded. */
	if (was_up)
		pr_info_ratelimited("domain %u: control channel closed (%s)\n",
				    peer->domid, why);
}

static void yasmin_session_start(struct yasmin_peer *peer)
{
	spin_lock(&peer->tx_lock);
	peer->tx_prod = 0;
	peer->rx_cons = 0;
	peer->up = true;
	spin_unlock(&peer->tx_lock);
	peer->wanted = false;
	peer->tx_cons_seen = 0;
	peer->tx_moved = jiffies;
	peer->up_since = jiffies;
	queue_delayed_work(yasmin_wq, &peer->liveness, YASMIN_LIVENESS_PERIOD);
	pr_info_ratelimited("domain %u: control channel open (gen %u)\n",
			    peer->domid, peer->gen);
}

/* Owner: create and publish a fresh page for the peer's request @gen. */
static void yasmin_session_up_owner(struct yasmin_peer *peer, u32 gen)
{
	int err;

	lockdep_assert_held(&peer->lock);
	/* Not charged to the peer: at most one lingers (linger_holds). */
	err = yasmin_grant_area_init(&peer->page_grant, 1, peer->domid,
				     YASMIN_LINGER_CTRL, NULL);
	if (err)
		goto fail;
	err = yasmin_evtchn_init_unbound(&peer->ev, peer->domid,
					 yasmin_ctrl_irq, "yasmin-ctrl", peer);
	if (err)
		goto fail_grant;
	peer->page = peer->page_grant.va[0];
	peer->gen = gen;
	peer->peer_bound = false;
	/*
	 * Consume the request and any mapped key left from an earlier
	 * session: a peer that died leaves both behind, and a reloaded owner
	 * must not serve or trust them again.
	 */
	yasmin_xs_consume(peer->domid, "request");
	yasmin_xs_consume(peer->domid, "mapped");
	err = yasmin_xs_publish_ctrl(peer->domid, peer->page_grant.refs[0],
				     peer->ev.port, gen);
	if (err)
		goto fail_evtchn;
	yasmin_session_start(peer);
	return;

fail_evtchn:
	yasmin_evtchn_uninit(&peer->ev, peer);
	clear_bit(YASMIN_PEER_EOI, &peer->pending);
fail_grant:
	yasmin_grant_area_uninit(&peer->page_grant, YASMIN_LINGER_CTRL);
	peer->page = NULL;
fail:
	pr_warn_ratelimited("domain %u: cannot create control channel: %d\n",
			    peer->domid, err);
}

/* Non-owner: map the page the owner published for our request. */
static void yasmin_session_up_peer(struct yasmin_peer *peer)
{
	u32 ref, port, version;
	grant_ref_t gref;
	int err;

	lockdep_assert_held(&peer->lock);
	err = yasmin_xs_read_u32(peer->domid, "version", &version);
	if (!err && version != YASMIN_PROTO_VERSION) {
		pr_warn_ratelimited("domain %u speaks protocol %u, not %u\n",
				    peer->domid, version, YASMIN_PROTO_VERSION);
		return;
	}
	if (!err)
		err = yasmin_xs_read_u32(peer->domid, "ctrl-ref", &ref);
	if (!err)
		err = yasmin_xs_read_u32(peer->domid, "ctrl-evtchn", &port);
	if (err)
		goto fail;
	gref = ref;
	err = yasmin_map_area_init(&peer->page_map, peer->domid, &gref, 1);
	if (err)
		goto fail;
	err = yasmin_evtchn_init_bound(&peer->ev, peer->domid, port,
				       yasmin_ctrl_irq, "yasmin-ctrl", peer);
	if (err)
		goto fail_map;
	peer->page = peer->page_map.va[0];
	err = yasmin_xs_write_u32(peer->domid, "mapped", peer->gen);
	if (err)
		goto fail_evtchn;
	peer->requested = false;
	yasmin_session_start(peer);
	return;

fail_evtchn:
	yasmin_evtchn_uninit(&peer->ev, peer);
	clear_bit(YASMIN_PEER_EOI, &peer->pending);
fail_map:
	yasmin_map_area_uninit(&peer->page_map);
	peer->page = NULL;
fail:
	pr_warn_ratelimited("domain %u: cannot join control channel: %d\n",
			    peer->domid, err);
}

static void yasmin_session_request(struct yasmin_peer *peer)
{
	lockdep_assert_held(&peer->lock);
	peer->gen = yasmin_nonce();
	if (!yasmin_xs_write_u32(peer->domid, "request", peer->gen))
		peer->requested = true;
}

static u32 yasmin_xs_u32_or_zero(domid_t peer, const char *key)
{
	u32 v;

	return yasmin_xs_read_u32(peer, key, &v) ? 0 : v;
}

static void yasmin_peer_sync_owner(struct yasmin_peer *peer)
{
	u32 req = yasmin_xs_u32_or_zero(peer->domid, "request");
	u32 mapped = yasmin_xs_u32_or_zero(peer->domid, "mapped");

	if (peer->up && req && req != peer->last_request)
		yasmin_session_down(peer, ECONNRESET, "peer restarted");
	else if (peer->up && peer->peer_bound && mapped != peer->gen)
		yasmin_session_down(peer, ECONNRESET, "peer left");
	else if (peer->up && mapped == peer->gen)
		peer->peer_bound = true;

	/*
	 * A new page only once the peer let go of the last one: a peer that
	 * rewrites its request while keeping old pages mapped holds at most
	 * one of them. The request waits; freeing the page re-runs this.
	 */
	if (!peer->up && req && req != peer->last_request &&
	    !yasmin_linger_holds(peer->domid, YASMIN_LINGER_CTRL)) {
		peer->last_request = req;
		yasmin_session_up_owner(peer, req);
	}
}

static void yasmin_peer_sync_other(struct yasmin_peer *peer)
{
	u32 gen = yasmin_xs_u32_or_zero(peer->domid, "gen");
	u32 want = yasmin_xs_u32_or_zero(peer->domid, "want");

	if (peer->up && gen != peer->gen)
		yasmin_session_down(peer, ECONNRESET, "owner restarted");
	if (want && want != peer->last_want) {
		peer->last_want = want;
		yasmin_xs_consume(peer->domid, "want");
		if (peer->up)
			yasmin_session_down(peer, ECONNRESET, "owner restarted");
		if (!peer->requested)
			yasmin_session_request(peer);
	}
	if (!peer->up && peer->requested && gen == peer->gen)
		yasmin_session_up_peer(peer);
}

static void yasmin_peer_sync_xs(struct yasmin_peer *peer)
{
	lockdep_assert_held(&peer->lock);
	if (!yasmin_xs_pair_exists(peer->domid)) {
		if (!peer->up) {
			yasmin_conn_reset_peer(peer, EHOSTUNREACH);
			return;
		}
		/*
		 * dom0's yasmind removes a dead domain's pairs as soon as it
		 * is released: a peer that is gone is a reset, as without
		 * yasmind; only a live peer's pair removed (policy) is
		 * EHOSTUNREACH. Xen may not have closed the dying peer's
		 * event channels yet, so the channel gets a grace period to
		 * show it gone (the liveness check calls that a reset)
		 * before the removal counts as policy.
		 */
		if ((!yasmin_peer_owner(peer) || peer->peer_bound) &&
		    !yasmin_evtchn_connected(&peer->ev)) {
			yasmin_session_down(peer, ECONNRESET,
					    "peer domain gone");
		} else if (!peer->unpaired_at) {
			peer->unpaired_at = jiffies ?: 1;
		} else if (time_after_eq(jiffies, peer->unpaired_at +
					 YASMIN_UNPAIR_GRACE)) {
			yasmin_session_down(peer, EHOSTUNREACH,
					    "rendezvous removed");
		}
		return;
	}
	peer->unpaired_at = 0;
	if (yasmin_peer_owner(peer))
		yasmin_peer_sync_owner(peer);
	else
		yasmin_peer_sync_other(peer);
}

/* A local socket needs the session: ask for it if nobody has. */
static void yasmin_peer_use(struct yasmin_peer *peer)
{
	lockdep_assert_held(&peer->lock);
	if (peer->up)
		return;
	if (!yasmin_peer_owner(peer)) {
		if (!peer->requested)
			yasmin_session_request(peer);
		return;
	}
	/* Once per down period: every queued message kicks us. */
	if (!peer->wanted &&
	    !yasmin_xs_write_u32(peer->domid, "want", yasmin_nonce()))
		peer->wanted = true;
}

/* Returns how many messages were consumed. */
static unsigned int yasmin_ctrl_rx(struct yasmin_peer *peer)
{
	struct yasmin_ctrl_idx *idx = yasmin_ctrl_rx_idx(peer);
	struct yasmin_ctrl_msg *slots = yasmin_ctrl_rx_slots(peer);
	unsigned int budget = YASMIN_CTRL_BUDGET, consumed = 0;
	struct yasmin_ctrl_msg m;
	u32 prod, avail;

	lockdep_assert_held(&peer->lock);
	while (peer->up && budget) {
		prod = READ_ONCE(idx->prod);
		avail = prod - peer->rx_cons;
		if (avail > YASMIN_CTRL_SLOTS) {
			pr_warn_ratelimited("domain %u broke the control ring (prod %u cons %u)\n",
					    peer->domid, prod, peer->rx_cons);
			yasmin_session_down(peer, EPROTO, "protocol violation");
			return consumed;
		}
		if (!avail)
			break;
		/*
		 * prod before the slots it covers; pairs with the virt_wmb()
		 * in yasmin_ctrl_put().
		 */
		virt_rmb();
		while (avail && budget) {
			avail--;
			budget--;
			/*
			 * One private copy; the peer may rewrite the slot. The
			 * compiler barrier keeps it from re-reading the slot in
			 * place of the copy after we checked it.
			 */
			memcpy(&m, &slots[peer->rx_cons % YASMIN_CTRL_SLOTS],
			       sizeof(m));
			barrier();
			peer->rx_cons++;
			consumed++;
			if (yasmin_msg_check(&m)) {
				pr_warn_ratelimited("domain %u sent a malformed control message (type %u)\n",
						    peer->domid, m.type);
				continue;
			}
			yasmin_conn_rx(peer, &m);
			if (!peer->up)
				return consumed;
		}
		/*
		 * Finish reading the slots before handing them back; pairs
		 * with the virt_mb() in yasmin_ctrl_put() after the producer
		 * reads cons.
		 */
		virt_mb();
		WRITE_ONCE(idx->cons, peer->rx_cons);
		/*
		 * Publish cons before looking at want_space; pairs with the
		 * virt_mb() in yasmin_ctrl_put(). A producer that found the
		 * ring full waits for this room.
		 */
		virt_mb();
		if (READ_ONCE(idx->want_space) &&
		    xchg(&idx->want_space, YASMIN_NOTIFY_OFF))
			yasmin_evtchn_notify(&peer->ev);
	}
	/*
	 * More waiting: come back a tick later, so a peer that produces
	 * without pause gets YASMIN_CTRL_BUDGET messages a tick, not a CPU.
	 */
	if (!budget)
		queue_delayed_work(yasmin_wq, &peer->rx_later, 1);
	return consumed;
}

static void yasmin_peer_work(struct work_struct *work)
{
	struct yasmin_peer *peer = container_of(work, struct yasmin_peer,
						work);
	unsigned int consumed = 0;
	bool sent = false, eoi;

	mutex_lock(&peer->lock);
	/* Pending bits stay set: a restore kicks every peer again. */
	if (READ_ONCE(yasmin_ctrl_dying) || READ_ONCE(yasmin_ctrl_frozen))
		goto out;
	if (test_and_clear_bit(YASMIN_PEER_XS, &peer->pending))
		yasmin_peer_sync_xs(peer);
	if (test_and_clear_bit(YASMIN_PEER_USE, &peer->pending))
		yasmin_peer_use(peer);
	/* Taken before reading the ring: a later event is EOI'd later. */
	eoi = test_and_clear_bit(YASMIN_PEER_EOI, &peer->pending);
	if (peer->up)
		consumed = yasmin_ctrl_rx(peer);
	if (peer->up && yasmin_ctrl_tx_broken(peer))
		yasmin_session_down(peer, EPROTO, "consumer index out of range");
	spin_lock(&peer->tx_lock);
	if (peer->up && !list_empty(&peer->txq)) {
		/* An event may only have announced room in the ring. */
		sent = yasmin_ctrl_flush_locked(peer);
		if (sent)
			yasmin_evtchn_notify(&peer->ev);
	}
	spin_unlock(&peer->tx_lock);
	if (eoi && peer->ev.irq) {
		if (consumed >= YASMIN_CTRL_BUDGET) {
			/*
			 * More is waiting: stay masked until rx_later's run a
			 * tick from now, so a peer that never stops producing
			 * gets a budget a tick, not a CPU.
			 */
			set_bit(YASMIN_PEER_EOI, &peer->pending);
		} else if (!consumed && !sent) {
			yasmin_stat_add(YASMIN_STAT_EVENTS_SPURIOUS, 1);
			xen_irq_lateeoi(peer->ev.irq, XEN_EOI_FLAG_SPURIOUS);
		} else {
			xen_irq_lateeoi(peer->ev.irq, 0);
		}
	}
out:
	mutex_unlock(&peer->lock);
}

/*
 * A peer that leaves our messages unread in a full ring for
 * YASMIN_CTRL_STALL is not serving the session: end it, which frees the
 * queue and resets its connections. Requires: peer->lock held, peer->up.
 */
static void yasmin_peer_check_stall(struct yasmin_peer *peer)
{
	u32 cons = READ_ONCE(yasmin_ctrl_tx_idx(peer)->cons);
	bool waiting;

	spin_lock(&peer->tx_lock);
	waiting = !list_empty(&peer->txq) && yasmin_ctrl_full(peer);
	spin_unlock(&peer->tx_lock);
	if (!waiting || cons != peer->tx_cons_seen) {
		peer->tx_cons_seen = cons;
		peer->tx_moved = jiffies;
		/* Anything held back: offer it again. */
		queue_work(yasmin_wq, &peer->work);
		return;
	}
	if (time_after(jiffies, peer->tx_moved + YASMIN_CTRL_STALL)) {
		pr_warn_ratelimited("domain %u stopped reading its control ring\n",
				    peer->domid);
		yasmin_session_down(peer, ECONNRESET, "control ring not read");
		return;
	}
	queue_work(yasmin_wq, &peer->work);
}

static void yasmin_peer_liveness(struct work_struct *work)
{
	struct yasmin_peer *peer = container_of(to_delayed_work(work),
						struct yasmin_peer, liveness);
	bool bound;

	mutex_lock(&peer->lock);
	if (!peer->up || READ_ONCE(yasmin_ctrl_dying))
		goto out;
	yasmin_peer_check_stall(peer);
	if (!peer->up)
		goto out;
	bound = yasmin_evtchn_connected(&peer->ev);
	if (yasmin_peer_owner(peer) && !peer->peer_bound) {
		peer->peer_bound = bound;
		/* A page and a port held for a peer that never comes. */
		if (!bound && time_after(jiffies, peer->up_since +
					 YASMIN_JOIN_TIMEOUT))
			yasmin_session_down(peer, ECONNRESET,
					    "peer never joined");
	} else if (!bound) {
		pr_info_ratelimited("domain %u is gone\n", peer->domid);
		yasmin_session_down(peer, ECONNRESET, "peer domain gone");
	}
	/* The pair was removed and the peer lives on: look again. */
	if (peer->up && peer->unpaired_at &&
	    time_after_eq(jiffies, peer->unpaired_at + YASMIN_UNPAIR_GRACE))
		yasmin_peer_kick(peer, YASMIN_PEER_XS);
	if (peer->up)
		queue_delayed_work(yasmin_wq, &peer->liveness,
				   YASMIN_LIVENESS_PERIOD);
out:
	mutex_unlock(&peer->lock);
}

static void yasmin_peer_rx_later(struct work_struct *work)
{
	struct yasmin_peer *peer = container_of(to_delayed_work(work),
						struct yasmin_peer, rx_later);

	queue_work(yasmin_wq, &peer->work);
}

void yasmin_peer_kick(struct yasmin_peer *peer, int bit)
{
	set_bit(bit, &peer->pending);
	queue_work(yasmin_wq, &peer->work);
}

/* The peer object for @domid if it exists. */
struct yasmin_peer *yasmin_peer_find(domid_t domid)
{
	struct yasmin_peer *peer, *found = NULL;

	mutex_lock(&yasmin_peers_lock);
	list_for_each_entry(peer, &yasmin_peers, node) {
		if (peer->domid == domid) {
			found = peer;
			break;
		}
	}
	mutex_unlock(&yasmin_peers_lock);
	return found;
}

/*
 * The peer object for @domid, created on first use; lives until unload.
 * Only domains dom0 paired with us get one (see yasmin_conn_connect()), so
 * there are at most as many as dom0 allows.
 */
struct yasmin_peer *yasmin_peer_get(domid_t domid)
{
	struct yasmin_peer *peer;

	mutex_lock(&yasmin_peers_lock);
	list_for_each_entry(peer, &yasmin_peers, node) {
		if (peer->domid == domid)
			goto out;
	}
	peer = kzalloc(sizeof(*peer), GFP_KERNEL);
	if (!peer)
		goto out;
	peer->domid = domid;
	mutex_init(&peer->lock);
	spin_lock_init(&peer->tx_lock);
	spin_lock_init(&peer->conns_lock);
	INIT_LIST_HEAD(&peer->txq);
	INIT_LIST_HEAD(&peer->conns);
	INIT_WORK(&peer->work, yasmin_peer_work);
	INIT_DELAYED_WORK(&peer->liveness, yasmin_peer_liveness);
	INIT_DELAYED_WORK(&peer->rx_later, yasmin_peer_rx_later);
	list_add(&peer->node, &yasmin_peers);
	yasmin_stat_add(YASMIN_STAT_PEERS, 1);
out:
	mutex_unlock(&yasmin_peers_lock);
	return peer;
}

void yasmin_peer_xs_changed(domid_t domid)
{
	struct yasmin_peer *peer = yasmin_peer_get(domid);

	if (peer)
		yasmin_peer_kick(peer, YASMIN_PEER_XS);
}

/* Every peer we know re-reads XenStore (our directory changed whole). */
void yasmin_peers_xs_changed_all(void)
{
	struct yasmin_peer *peer;

	mutex_lock(&yasmin_peers_lock);
	list_for_each_entry(peer, &yasmin_peers, node)
		yasmin_peer_kick(peer, YASMIN_PEER_XS);
	mutex_unlock(&yasmin_peers_lock);
}

/*
 * The peer after @prev in the global list (the first when @prev is NULL),
 * or NULL. Safe without holding the list lock in between: peers are only
 * ever added at the head and never freed before unload, so an entry's
 * next pointer stays valid. Peers added meanwhile are not visited.
 */
static struct yasmin_peer *yasmin_peer_next(struct yasmin_peer *prev)
{
	struct list_head *next;

	mutex_lock(&yasmin_peers_lock);
	next = prev ? prev->node.next : yasmin_peers.next;
	mutex_unlock(&yasmin_peers_lock);
	return next == &yasmin_peers ? NULL :
	       list_entry(next, struct yasmin_peer, node);
}

/*
 * yasmin_ctrl_suspend() - the domain is about to be saved (xl save,
 * migration): end every session, resetting its sockets, so that no page of
 * a peer is still mapped when the domain's memory is written out (a PV
 * guest with foreign mappings cannot be saved) and no peer waits on a
 * channel that will not come back: after the restore we are a new domain
 * to everyone. User space is already frozen. A peer that appears after
 * yasmin_ctrl_frozen is set cannot start a session.
 */
void yasmin_ctrl_suspend(void)
{
	struct yasmin_peer *peer = NULL;
	s64 maps;

	WRITE_ONCE(yasmin_ctrl_frozen, true);
	while ((peer = yasmin_peer_next(peer))) {
		mutex_lock(&peer->lock);
		yasmin_session_down(peer, ECONNRESET, "domain being saved");
		mutex_unlock(&peer->lock);
	}
	/* The sockets' resets run there and let go of their data rings. */
	flush_workqueue(yasmin_wq);
	maps = atomic64_read(&yasmin_stats[YASMIN_STAT_MAPS]);
	if (maps)
		pr_warn("%lld foreign pages still mapped at save\n", maps);
}

/*
 * yasmin_ctrl_resume() - the domain runs again: under the same domid
 * when the save was cancelled or only checkpointed, a new one after a
 * restore. Every session starts from nothing; which side owns a pair's
 * page follows the new domid (yasmin_peer_owner()).
 */
void yasmin_ctrl_resume(void)
{
	struct yasmin_peer *peer = NULL;

	while ((peer = yasmin_peer_next(peer))) {
		mutex_lock(&peer->lock);
		peer->last_request = 0;
		peer->last_want = 0;
		peer->wanted = false;
		peer->gen = 0;
		mutex_unlock(&peer->lock);
	}
	WRITE_ONCE(yasmin_ctrl_frozen, false);
	/*
	 * Every peer looks again, those the re-registered watch created
	 * while we were frozen too: their work ran, found us frozen, and
	 * left their pending bits for this kick.
	 */
	yasmin_peers_xs_changed_all();
}

int yasmin_ctrl_init(void)
{
	yasmin_ctrl_dying = false;
	return 0;
}

void yasmin_ctrl_uninit(void)
{
	struct yasmin_peer *peer, *tmp;

	/*
	 * No sockets exist any more (the vsock core holds a module ref per
	 * socket). From here on a queued work item does nothing.
	 */
	WRITE_ONCE(yasmin_ctrl_dying, true);
	list_for_each_entry(peer, &yasmin_peers, node) {
		mutex_lock(&peer->lock);
		yasmin_session_down(peer, ESHUTDOWN, "module unloading");
		mutex_unlock(&peer->lock);
	}
	/* Before the peers go: freeing a control page kicks its peer. */
	yasmin_linger_uninit();
	list_for_each_entry_safe(peer, tmp, &yasmin_peers, node) {
		cancel_delayed_work_sync(&peer->liveness);
		cancel_delayed_work_sync(&peer->rx_later);
		cancel_work_sync(&peer->work);
		if (!yasmin_peer_owner(peer))
			yasmin_xs_remove(peer->domid, "request");
		list_del(&peer->node);
		kfree(peer);
		yasmin_stat_add(YASMIN_STAT_PEERS, -1);
	}
}
