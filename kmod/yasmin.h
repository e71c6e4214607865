/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the files of yasmin.ko. One concern per file:
 *
 *   main.c       init/exit, module parameters
 *   stats.c      counters in /sys/module/yasmin/counters/
 *   grant.c      granting local pages and mapping foreign ones
 *   linger.c     granted pages a peer still maps after we let go
 *   evtchn.c     event channels
 *   xs.c         XenStore rendezvous
 *   ctrl.c       per-domain-pair control channel (struct yasmin_peer)
 *   chan.c       per-socket data channel: setup, event, teardown
 *   datapath.c   copies and notifications over a channel's rings
 *   conn.c       per-socket connections, driven by state.c's table
 *   state.c      the connection state machine, pure
 *   transport.c  the vsock transport ops table
 *   pm.c         save, restore and migration of our own domain
 *
 * Lock order: peer->lock (mutex) -> sk_lock -> peer->tx_lock and
 * peer->conns_lock (spinlocks). Socket operations run under sk_lock and so
 * never take peer->lock; they hand work to the peer's work item instead.
 */
#ifndef YASMIN_H
#define YASMIN_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/af_vsock.h>
#include <xen/grant_table.h>
#include <xen/interface/event_channel.h>

#include "proto.h"
#include "ring.h"
#include "state.h"

/* main.c */
extern domid_t yasmin_self;
extern unsigned int yasmin_ring_kb;
extern unsigned int yasmin_busy_poll_us;
extern unsigned int yasmin_busy_poll_max_us;
/* the longest any busy-poll may spin, whatever the parameters say */
#define YASMIN_BUSY_POLL_LIMIT_US	10000u
extern unsigned int yasmin_max_grants;
extern unsigned int yasmin_max_peer_maps;
extern unsigned int yasmin_max_peer_grants;
extern unsigned int yasmin_max_peer_lingering;
extern unsigned int yasmin_max_maps;
extern unsigned int yasmin_max_peer_conns;
extern unsigned int yasmin_max_evtchns;
extern struct workqueue_struct *yasmin_wq;
extern const struct vsock_transport yasmin_transport;

static inline u32 yasmin_domid_to_cid(domid_t domid)
{
	return (u32)domid + 2;
}

/* stats.c */
enum yasmin_stat {
	YASMIN_STAT_SOCKETS,
	YASMIN_STAT_PEERS,
	YASMIN_STAT_GRANTS,
	YASMIN_STAT_MAPS,
	YASMIN_STAT_EVTCHNS,
	YASMIN_STAT_BYTES_SENT,
	YASMIN_STAT_BYTES_RECEIVED,
	YASMIN_STAT_EVENTS_SENT,
	YASMIN_STAT_EVENTS_RECEIVED,
	YASMIN_STAT_RESETS,
	YASMIN_STAT_GRANTS_LINGERING,	/* subset of GRANTS: closed, still mapped */
	YASMIN_STAT_GRANTS_ABANDONED,	/* handed to the kernel's deferred list */
	YASMIN_STAT_MAPS_LEAKED,	/* unmap failed: kept, never reused */
	YASMIN_STAT_EVENTS_SPURIOUS,	/* events that answered no request */
	YASMIN_STAT_REFUSED,		/* connections refused by a budget */
	YASMIN_STAT_ZC_BYTES_SENT,	/* of BYTES_SENT: by MSG_ZEROCOPY */
	YASMIN_STAT_ZC_BYTES_MOVED,	/* of those: into the ring at close */
	YASMIN_STAT_NR,
};

extern atomic64_t yasmin_stats[YASMIN_STAT_NR];

static inline void yasmin_stat_add(enum yasmin_stat s, s64 v)
{
	atomic64_add(v, &yasmin_stats[s]);
}

int yasmin_stats_init(void);
void yasmin_stats_uninit(void);

/* grant.c: local pages granted to one peer. */
struct yasmin_grant_area {
	domid_t peer;
	unsigned int nr;
	atomic_t *charge;	/* the peer's grant count, or NULL */
	void *zc_uarg;		/* MSG_ZEROCOPY: completed once all end */
	struct page **pages;
	void **va;
	grant_ref_t *refs;
};

int yasmin_grant_area_init(struct yasmin_grant_area *a, unsigned int nr,
			   domid_t peer, u32 tag, atomic_t *charge);
int yasmin_grant_area_init_pages(struct yasmin_grant_area *a,
				 struct page **pages, unsigned int nr,
				 domid_t peer, u32 tag, atomic_t *charge);
void yasmin_grant_area_uninit(struct yasmin_grant_area *a, u32 tag);
unsigned int yasmin_grant_area_try_end(struct yasmin_grant_area *a);
int yasmin_grant_area_trim(struct yasmin_grant_area *a, unsigned int first,
			   unsigned int count, u32 tag);
void yasmin_grant_area_abandon(struct yasmin_grant_area *a);

/*
 * linger.c: pages of a closed channel (tag = conn_id) or control page
 * (tag = YASMIN_LINGER_CTRL) that the peer still maps. They stay granted
 * and intact until the peer unmaps them, then they are freed; nothing is
 * revoked under the peer's feet and nothing goes to the kernel's slow
 * deferred list.
 */
#define YASMIN_LINGER_CTRL	0u
void yasmin_linger_add(struct yasmin_grant_area *a, u32 tag);
void yasmin_linger_reap(domid_t peer, u32 tag);
void yasmin_linger_reap_all(void);
void yasmin_linger_reap_peer(domid_t peer);
bool yasmin_linger_holds(domid_t peer, u32 tag);
unsigned int yasmin_linger_count(domid_t peer);
bool yasmin_linger_room(domid_t peer, long wait);
void yasmin_linger_init(void);
void yasmin_linger_uninit(void);

/* grant.c: foreign pages mapped from one peer. */
struct yasmin_map_area {
	unsigned int nr;
	struct page **pages;
	void **va;
	grant_handle_t *handles;
};

int yasmin_map_area_init(struct yasmin_map_area *m, domid_t peer,
			 const grant_ref_t *refs, unsigned int nr);
void yasmin_map_area_uninit(struct yasmin_map_area *m);

/* evtchn.c */
struct yasmin_evtchn {
	evtchn_port_t port;
	int irq;		/* 0 when not bound */
};

int yasmin_evtchn_init_unbound(struct yasmin_evtchn *ev, domid_t peer,
			       irq_handler_t handler, const char *name,
			       void *dev);
int yasmin_evtchn_init_bound(struct yasmin_evtchn *ev, domid_t peer,
			     evtchn_port_t remote, irq_handler_t handler,
			     const char *name, void *dev);
void yasmin_evtchn_uninit(struct yasmin_evtchn *ev, void *dev);
void yasmin_evtchn_notify(struct yasmin_evtchn *ev);
bool yasmin_evtchn_connected(struct yasmin_evtchn *ev);

/* xs.c */
int yasmin_xs_init(void);
int yasmin_xs_find_self(domid_t *self);
void yasmin_xs_uninit(void);
bool yasmin_xs_pair_exists(domid_t peer);
int yasmin_xs_read_u32(domid_t peer, const char *key, u32 *val);
int yasmin_xs_write_u32(domid_t peer, const char *key, u32 val);
int yasmin_xs_remove(domid_t peer, const char *key);
int yasmin_xs_consume(domid_t peer, const char *key);
int yasmin_xs_publish_ctrl(domid_t peer, grant_ref_t ref,
			   evtchn_port_t port, u32 gen);
void yasmin_xs_unpublish_ctrl(domid_t peer);

/* ctrl.c: one per domain pair we talk to. */
struct yasmin_peer {
	domid_t domid;
	struct list_head node;		/* in the global peer list */

	/* Session state: protected by lock, used by the work item only. */
	struct mutex lock;
	bool requested;			/* non-owner: request written */
	bool peer_bound;		/* owner: peer mapped this gen */
	u32 last_request;		/* owner: last request served */
	u32 last_want;			/* non-owner: last want seen */
	bool wanted;			/* owner: want written, not yet up */
	u32 tx_cons_seen;		/* the peer's cons at tx_moved */
	unsigned long tx_moved;		/* jiffies it last moved */
	unsigned long up_since;		/* jiffies the session came up */
	unsigned long unpaired_at;	/* jiffies dom0 removed the pair */

	/*
	 * up, gen and the control page: written under lock and tx_lock,
	 * read under either.
	 */
	spinlock_t tx_lock;
	bool up;
	u32 gen;
	struct yasmin_ctrl_page *page;
	struct yasmin_grant_area page_grant;	/* owner */
	struct yasmin_map_area page_map;	/* non-owner */
	struct yasmin_evtchn ev;
	u32 tx_prod;				/* private copies of our */
	u32 rx_cons;				/* own indices */
	struct list_head txq;			/* messages awaiting room */

	spinlock_t conns_lock;
	struct list_head conns;

	/*
	 * What this peer's connections cost us as acceptor: pages mapped
	 * (bounded by max_peer_maps) and connections, each with an event
	 * channel (bounded by max_peer_conns).
	 */
	atomic_t maps;
	atomic_t accepted;
	/*
	 * What our connections to this peer cost us as connector: pages
	 * granted to it, live or lingering (bounded by max_peer_grants), so
	 * a peer that never unmaps cannot use up max_grants for all.
	 */
	atomic_t grants;
	/* Messages in txq, and how many of them answer the peer. */
	unsigned int txq_len;
	unsigned int txq_replies;

	unsigned long pending;		/* YASMIN_PEER_* bits */
	struct work_struct work;
	struct delayed_work liveness;
	struct delayed_work rx_later;	/* the ring had more than a budget */
};

/*
 * The lower domid owns the pair's control page. Our domid changes only
 * across a save and restore, when every session is down.
 */
static inline bool yasmin_peer_owner(const struct yasmin_peer *peer)
{
	return READ_ONCE(yasmin_self) < peer->domid;
}

#define YASMIN_PEER_XS		0	/* re-read XenStore */
#define YASMIN_PEER_USE		1	/* a local socket wants the channel */
#define YASMIN_PEER_EOI		2	/* an event awaits its lateeoi */

struct yasmin_peer *yasmin_peer_find(domid_t domid);
struct yasmin_peer *yasmin_peer_get(domid_t domid);
void yasmin_peer_kick(struct yasmin_peer *peer, int bit);
void yasmin_peer_xs_changed(domid_t domid);
void yasmin_peers_xs_changed_all(void);
int yasmin_ctrl_send(struct yasmin_peer *peer,
		     const struct yasmin_ctrl_msg *msg);
int yasmin_ctrl_reply(struct yasmin_peer *peer,
		      const struct yasmin_ctrl_msg *msg);
bool yasmin_ctrl_cancel(struct yasmin_peer *peer, u32 conn_id);
int yasmin_ctrl_init(void);
void yasmin_ctrl_uninit(void);
void yasmin_ctrl_suspend(void);
void yasmin_ctrl_resume(void);

/* pm.c */
int yasmin_pm_init(void);
void yasmin_pm_uninit(void);

/* chan.c: the data channel of one connected socket. */
/*
 * yasmin_index_raise() - the event handler's update of *@max (rx_prod_max
 * or tx_cons_max) to @idx, which it read from the index after reading
 * @seen from *@max. It holds no socket lock, so the data path may have
 * moved *@max on meanwhile: the store happens only if *@max still holds
 * @seen, and a handler that stalled between its read and here cannot put
 * back a value the data path has long passed.
 */
static inline void yasmin_index_raise(u32 *max, u32 seen, u32 idx)
{
	if ((s32)(idx - seen) > 0)
		/* after our read of @idx; pairs with yasmin_index_read() */
		cmpxchg(max, seen, idx);
}

/*
 * yasmin_index_read() - read, once, an index the peer only moves forward
 * (its prod on the ring we read, its cons on the ring we write, of @size
 * bytes; or its msg_prod or msg_cons, over @size records) into *@idx, and
 * make it *@max, the highest value it has shown. Returns false when the
 * index moved back: an honest peer never takes back bytes or records it
 * published or room it gave, and one that did could wake a waiter with
 * every step forward and take the step back before the waiter looked.
 * Requires: the socket lock (for rx_prod_max and tx_cons_max, the event
 * handler is the only other writer, through yasmin_index_raise()).
 *
 * Only a step back of at most a ring counts: an index more than a ring
 * behind *@max is also out of range (the caller's span check refuses
 * it), and so *@max never outlives a 2^32 wrap of the index.
 */
static inline bool yasmin_index_read(const u32 *shared, u32 *max, u32 size,
				     u32 *idx)
{
	u32 seen = READ_ONCE(*max), back;

	/*
	 * Whoever stored *@max read that value from *@shared first (pairs
	 * with the cmpxchg() in yasmin_index_raise() and the release
	 * below): our read of *@shared after it sees that value or a later
	 * one, so an honest index is never behind what *@max says.
	 */
	virt_rmb();
	*idx = READ_ONCE(*shared);
	back = seen - *idx;
	if (back && back <= size)
		return false;
	if (back)	/* after our read of *@idx, as in yasmin_index_raise() */
		virt_store_release(max, *idx);
	return true;
}

struct yasmin_chan {
	bool up;
	bool connector;
	bool evtchn_charged;	/* holds one of max_evtchns (chan.c) */
	u32 order;		/* of the rings in use (offered until ACCEPT) */
	struct yasmin_grant_area local;		/* connector's memory */
	struct yasmin_map_area intf_map;	/* acceptor's mappings */
	struct yasmin_map_area ring_map;
	struct yasmin_data_intf *intf;
	struct yasmin_ring tx, rx;
	struct yasmin_prod_line *tx_prod;	/* ours */
	struct yasmin_cons_line *tx_cons;	/* peer's */
	struct yasmin_prod_line *rx_prod;	/* peer's */
	struct yasmin_cons_line *rx_cons;	/* ours */
	u32 tx_prod_val;			/* private copies */
	u32 rx_cons_val;
	/*
	 * SOCK_SEQPACKET: the record rings (ours, the peer's), our private
	 * copies of their indices, and how many bytes the message the
	 * writer waits to send needs (0 when none waits).
	 */
	bool seqpacket;
	struct yasmin_msg_rec *tx_rec;
	struct yasmin_msg_rec *rx_rec;
	u32 tx_msg_prod_val;
	u32 rx_msg_cons_val;
	u32 tx_need;
	/* The receive window we give the peer; 0: the whole ring. */
	u32 rx_window;
	/*
	 * MSG_ZEROCOPY (zerocopy.c). The segment rings (ours, the peer's);
	 * as a sender, our zc_prod, the segments still in flight, their
	 * batches (oldest first), the segments the waiting message needs,
	 * and this sendmsg()'s choice (zerocopy.c); as a receiver, the next
	 * segment of the peer's we have not passed.
	 */
	struct yasmin_zc_seg *tx_zc;
	struct yasmin_zc_seg *rx_zc;
	u32 tx_zc_prod_val;
	u32 tx_zc_inflight;
	struct list_head tx_zc_batches;
	u32 tx_need_segs;
	u8 tx_zc_mode;
	u32 rx_zc_next;
	struct yasmin_evtchn ev;
	/*
	 * We asked the peer for an event (want_data, want_space) and none
	 * has answered yet, and the peer's index when we asked; set by
	 * readers and writers, cleared by the interrupt handler when an
	 * event answers (chan.c).
	 */
	bool asked_data;
	bool asked_space;
	u32 asked_rx_prod;
	u32 asked_tx_cons;
	/*
	 * The highest prod and cons the peer has shown: an index behind it
	 * breaks the connection (yasmin_index_read()), and a value the peer
	 * moved back does not count as new when it comes again (chan.c).
	 * Written by readers and writers under the socket lock and by the
	 * interrupt handler without it (yasmin_index_raise()): a race can
	 * only leave it lower, which skips one check or counts one event.
	 */
	u32 rx_prod_max;
	u32 tx_cons_max;
	/*
	 * The same for SOCK_SEQPACKET's record indices, msg_prod and msg_cons.
	 * Only the data path reads those, so only it writes these.
	 */
	u32 rx_msg_prod_max;
	u32 tx_msg_cons_max;
};

/* conn.c: transport state of one vsock socket (vsk->trans). */

/*
 * Control messages for one connection wait here for the socket's own work
 * item, which takes the socket lock. The peer's work item never waits for
 * a socket lock, so a user stalled inside a socket call (a page fault on
 * userfaultfd memory, say) delays only that socket, not every connection
 * with the peer. Lives apart from yasmin_conn: a queued work item may
 * outlive the conn when the socket moves to another transport.
 */
struct yasmin_inbox {
	struct kref ref;		/* the conn's, and a queued work's */
	spinlock_t lock;
	struct yasmin_conn *conn;	/* NULL once destructed; see conn.c */
	struct sock *sk;
	struct list_head msgs;
	unsigned int nr;
	int gone_err;			/* the peer's session ended... */
	u32 gone_id;			/* ...for this connection attempt */
	bool flooded;			/* the peer sent more than can be */
	u32 flood_id;
	bool broken;			/* conn is broken: tear it down */
	bool zc_reap;			/* MSG_ZEROCOPY sends may be done */
	struct work_struct work;
};

struct yasmin_conn {
	struct vsock_sock *vsk;
	struct yasmin_peer *peer;	/* set once connecting or accepted */
	struct list_head peer_node;	/* in peer->conns */
	u32 id;
	enum yasmin_conn_state state;
	u8 shut_sent;			/* YASMIN_SHUT_* we already sent */
	u8 shut_told;			/* and the peer's SHUTDOWN messages said */
	bool connect_unsent;		/* CONNECT cancelled before it left */
	bool was_reset;			/* reset while connected */
	bool let_go;			/* channel let go: the peer is done */
	unsigned int peer_maps;		/* charged to peer->maps (acceptor) */
	bool broken;			/* the peer broke the channel */
	bool rx_drained;		/* the last read took all there was */
	/*
	 * A blocking reader's busy-poll window for replies (0: busy_poll_us),
	 * when its wait began (0: not waiting), whether it waits for a reply,
	 * and our tx_prod_val at the last read; datapath.c. Under the socket
	 * lock.
	 */
	u32 rx_poll_us;
	u64 rx_wait_start;
	bool rx_wait_reply;
	u32 tx_at_read;
	struct yasmin_inbox *inbox;
	struct yasmin_chan chan;
};

static inline struct yasmin_conn *yasmin_conn(struct vsock_sock *vsk)
{
	return vsk->trans;
}

int yasmin_chan_init_connector(struct yasmin_conn *c, struct yasmin_peer *peer,
			       u32 order, struct yasmin_ctrl_msg *msg);
int yasmin_chan_init_acceptor(struct yasmin_conn *c, domid_t peer,
			      const struct yasmin_ctrl_msg *msg, u32 order);
int yasmin_chan_accepted(struct yasmin_conn *c, u32 order);
void yasmin_chan_uninit(struct yasmin_conn *c);
/* datapath.c */
s64 yasmin_chan_has_data(struct yasmin_conn *c);
s64 yasmin_chan_has_space(struct yasmin_conn *c);
ssize_t yasmin_chan_enqueue(struct yasmin_conn *c, struct msghdr *msg,
			    size_t len);
ssize_t yasmin_chan_dequeue(struct yasmin_conn *c, struct msghdr *msg,
			    size_t len, int flags);
ssize_t yasmin_chan_enqueue_msg(struct yasmin_conn *c, struct msghdr *msg,
				size_t len);
ssize_t yasmin_chan_dequeue_msg(struct yasmin_conn *c, struct msghdr *msg,
				int flags);
u32 yasmin_chan_msgs(struct yasmin_conn *c);
long yasmin_chan_tx_used(struct yasmin_conn *c);
s64 yasmin_chan_unsent(struct yasmin_conn *c);
void yasmin_chan_set_window(struct yasmin_conn *c, u64 bytes);
void yasmin_chan_rcvlowat(struct yasmin_conn *c, int target);
bool yasmin_chan_want_data(struct yasmin_conn *c, size_t target);
bool yasmin_chan_want_space(struct yasmin_conn *c);
void yasmin_chan_shutdown_publish(struct yasmin_conn *c);
void yasmin_chan_peer_shutdown(struct yasmin_conn *c);
void yasmin_chan_ask_space(struct yasmin_chan *ch);
bool yasmin_chan_busy_poll(struct yasmin_conn *c, bool want_data);
void yasmin_chan_wait_begins(struct yasmin_conn *c);
void yasmin_chan_wait_ends(struct yasmin_conn *c);
void yasmin_chan_kick_writer(struct yasmin_chan *ch);
void yasmin_chan_kick_reader(struct yasmin_chan *ch);
u32 yasmin_chan_tx_limit(struct yasmin_chan *ch);
/* zerocopy.c */
void yasmin_zc_init(struct yasmin_chan *ch);
void yasmin_zc_uninit(struct yasmin_conn *c);
ssize_t yasmin_zc_copy_out(struct yasmin_conn *c, u32 pos, u32 n,
			   struct iov_iter *iter, u32 *next, bool *passed);
void yasmin_zc_skip(struct yasmin_conn *c, u32 to);
void yasmin_zc_complete(void *uarg);
void yasmin_zc_send_init(struct yasmin_conn *c);
ssize_t yasmin_zc_send(struct yasmin_conn *c, struct msghdr *msg, size_t len,
		       s64 space);
void yasmin_zc_sent(struct yasmin_conn *c, struct msghdr *msg);
bool yasmin_zc_room(struct yasmin_conn *c);
void yasmin_zc_reap(struct yasmin_conn *c);

/*
 * What all peers' connections cost us as acceptor: pages mapped (bounded
 * by max_maps) and connections (by three quarters of max_evtchns, so that
 * our own connects always have event channels left).
 */
extern atomic_t yasmin_accepted_maps;
extern atomic_t yasmin_accepted_conns;

int yasmin_conn_init(struct vsock_sock *vsk, struct vsock_sock *psk);
void yasmin_conn_destruct(struct vsock_sock *vsk);
void yasmin_conn_release(struct vsock_sock *vsk);
int yasmin_conn_connect(struct vsock_sock *vsk);
int yasmin_conn_shutdown(struct vsock_sock *vsk, int mode);
int yasmin_conn_cancel(struct vsock_sock *vsk);
void yasmin_conn_broken(struct yasmin_conn *c, const char *why);
void yasmin_conn_zc_kick(struct yasmin_conn *c);
void yasmin_conn_let_go_if_done(struct yasmin_conn *c);
bool yasmin_conn_write_closed(struct yasmin_conn *c);
void yasmin_conn_rx(struct yasmin_peer *peer,
		    const struct yasmin_ctrl_msg *msg);
void yasmin_conn_reset_peer(struct yasmin_peer *peer, int err);
void yasmin_wake(struct sock *sk);
bool yasmin_has_waiter(struct sock *sk);

#endif /* YASMIN_H */
