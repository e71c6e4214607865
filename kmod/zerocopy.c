// SPDX-License-Identifier: GPL-2.0
/*
 * MSG_ZEROCOPY: one copy per byte.
 *
 * A sender that asks for it (SO_ZEROCOPY, then send(MSG_ZEROCOPY); vsock
 * cores from 6.7 on) does not copy its bytes into the ring: it pins the
 * pages of its buffer, grants them to the peer read-only and publishes
 * segments that name them (proto.h). The receiver copies each segment
 * with a grant copy straight into its reader's pages: one copy, done by
 * Xen on the receiver's behalf. Once the peer's cons has passed a send's
 * bytes, its grants are ended, its pages let go and its completion goes
 * to the socket's error queue (MSG_ERRQUEUE, as for TCP). A page the peer
 * still maps lingers (linger.c), counted and capped like ring pages.
 *
 * A send goes zero-copy only when all of it can be in flight at once: it
 * fits the peer's window and YASMIN_ZC_SEGS segments, and it then waits
 * for that much room. Any other MSG_ZEROCOPY send is copied and completes
 * at once, flagged SO_EE_CODE_ZEROCOPY_COPIED, as virtio does with a send
 * larger than its credit.
 *
 * The receiving half builds on every kernel line: a 6.1 guest reads what
 * a 6.12 guest sends zero-copy.
 *
 * All functions here run under the socket lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <xen/grant_table.h>
#include <xen/page.h>

#include "yasmin.h"

/* Grant copies handed to Xen in one hypercall. */
#define YASMIN_ZC_BATCH		16

struct yasmin_zc_rx {
	struct gnttab_copy ops[YASMIN_ZC_BATCH];
	struct page *pages[YASMIN_ZC_BATCH];
	unsigned int n;
	bool failed;
};

/* Run the queued grant copies; then the pages are ours to let go. */
static void yasmin_zc_rx_flush(struct yasmin_zc_rx *rx)
{
	unsigned int i;

	if (!rx->n)
		return;
	gnttab_batch_copy(rx->ops, rx->n);
	for (i = 0; i < rx->n; i++) {
		if (rx->ops[i].status != GNTST_okay)
			rx->failed = true;
		set_page_dirty_lock(rx->pages[i]);
		put_page(rx->pages[i]);
	}
	rx->n = 0;
}

static void yasmin_zc_rx_queue(struct yasmin_zc_rx *rx, domid_t peer,
			       grant_ref_t gref, u32 src_off,
			       struct page *page, u32 dst_off, u32 len)
{
	struct gnttab_copy *op = &rx->ops[rx->n];

	op->source.u.ref = gref;
	op->source.domid = peer;
	op->source.offset = src_off;
	op->dest.u.gmfn = xen_page_to_gfn(page);
	op->dest.domid = DOMID_SELF;
	op->dest.offset = dst_off;
	op->len = len;
	op->flags = GNTCOPY_source_gref;
	rx->pages[rx->n++] = page;
}

/*
 * Copy @len bytes at @src_off of the peer's page @gref into @iter: into the
 * reader's own pages when it reads to user memory, else through a bounce
 * page (*@bounce, allocated on first use). Returns the bytes done (short
 * when the reader's buffer faults), or -EPROTO when Xen refused a copy
 * (the peer revoked or never granted the page).
 */
static ssize_t yasmin_zc_rx_copy(struct yasmin_zc_rx *rx, domid_t peer,
				 grant_ref_t gref, u32 src_off, u32 len,
				 struct iov_iter *iter, struct page **bounce)
{
	struct page *pages[2];
	size_t start, done = 0;
	ssize_t got;
	u32 part;

	if (!user_backed_iter(iter)) {
		if (!*bounce) {
			*bounce = alloc_page(GFP_KERNEL);
			if (!*bounce)
				return 0;
		}
		yasmin_zc_rx_flush(rx);
		get_page(*bounce);
		yasmin_zc_rx_queue(rx, peer, gref, src_off, *bounce, 0, len);
		yasmin_zc_rx_flush(rx);
		if (rx->failed)
			return -EPROTO;
		return copy_page_to_iter(*bounce, 0, len, iter);
	}
	while (done < len) {
		if (rx->n + 2 > YASMIN_ZC_BATCH)
			yasmin_zc_rx_flush(rx);
		got = iov_iter_get_pages2(iter, pages, len - done, 2, &start);
		if (got <= 0)
			break;
		part = min_t(size_t, got, PAGE_SIZE - start);
		yasmin_zc_rx_queue(rx, peer, gref, src_off + done, pages[0],
				   start, part);
		if (got > part)
			yasmin_zc_rx_queue(rx, peer, gref, src_off + done + part,
					   pages[1], 0, got - part);
		done += got;
	}
	return rx->failed ? -EPROTO : done;
}

static size_t yasmin_zc_ring_to_iter(void *buf, size_t len, void *iter)
{
	return copy_to_iter(buf, len, iter);
}

/*
 * yasmin_zc_copy_out() - copy the received bytes [@pos, @pos + @n) to
 * @iter: ring bytes from the ring, a zero-copy segment's bytes by grant
 * copy from the sender's page. @n was validated against the peer's prod,
 * read (with a virt_rmb() after it) by the caller. *@next is the first
 * segment not yet passed, moved on past each segment that ends in the
 * range (and *@passed set). Returns the bytes copied, short when @iter
 * faults, or -EPROTO when the peer broke the segment rules (the
 * connection is then broken).
 */
ssize_t yasmin_zc_copy_out(struct yasmin_conn *c, u32 pos, u32 n,
			   struct iov_iter *iter, u32 *next, bool *passed)
{
	struct yasmin_chan *ch = &c->chan;
	domid_t peer = c->peer ? c->peer->domid : DOMID_INVALID;
	struct page *bounce = NULL;
	struct yasmin_zc_rx rx;
	u32 zc_prod = READ_ONCE(ch->rx_prod->zc_prod);
	u32 done = 0, at, left, take, into, ahead;
	const char *why = NULL;
	struct yasmin_zc_seg s, *slot;
	ssize_t got;

	rx.n = 0;
	rx.failed = false;
	if (zc_prod - *next > YASMIN_ZC_SEGS) {
		why = "zero-copy segment index out of range";
		goto broken;
	}
	/*
	 * zc_prod before the segments it covers; pairs with the first
	 * virt_wmb() in yasmin_zc_send().
	 */
	virt_rmb();
	while (done < n) {
		at = pos + done;
		left = n - done;
		if (*next == zc_prod) {
			take = left;
		} else {
			slot = &ch->rx_zc[*next & (YASMIN_ZC_SEGS - 1)];
			s.pos = READ_ONCE(slot->pos);
			s.gref = READ_ONCE(slot->gref);
			s.offset = READ_ONCE(slot->offset);
			s.len = READ_ONCE(slot->len);
			if (!s.len || s.offset + s.len > YASMIN_PAGE_SIZE) {
				why = "zero-copy segment out of range";
				goto broken;
			}
			into = at - s.pos;
			if (into < s.len) {
				take = min(left, s.len - into);
				got = yasmin_zc_rx_copy(&rx, peer, s.gref,
							s.offset + into, take,
							iter, &bounce);
				if (got < 0) {
					why = "zero-copy segment not readable";
					goto broken;
				}
				done += got;
				if (got != take)
					break;
				if (into + take == s.len) {
					(*next)++;
					*passed = true;
				}
				continue;
			}
			ahead = s.pos - at;
			if (ahead >= ch->rx.size) {
				why = "zero-copy segment behind the stream";
				goto broken;
			}
			take = min(left, ahead);
		}
		got = yasmin_ring_walk(&ch->rx, at, take,
				       yasmin_zc_ring_to_iter, iter);
		done += got;
		if (got != take)
			break;
	}
	yasmin_zc_rx_flush(&rx);
	if (bounce)
		put_page(bounce);
	if (rx.failed) {
		why = "zero-copy segment not readable";
		goto broken_flushed;
	}
	return done;

broken:
	yasmin_zc_rx_flush(&rx);
	if (bounce)
		put_page(bounce);
broken_flushed:
	yasmin_conn_broken(c, why);
	return -EPROTO;
}

/*
 * yasmin_zc_skip() - pass every segment that ends at or before @to: the
 * rest of a SOCK_SEQPACKET message the reader did not take whole is
 * dropped, and its segments with it.
 */
void yasmin_zc_skip(struct yasmin_conn *c, u32 to)
{
	struct yasmin_chan *ch = &c->chan;
	u32 zc_prod = READ_ONCE(ch->rx_prod->zc_prod);
	struct yasmin_zc_seg *slot;
	u32 pos, len;

	/* A bad zc_prod is left for yasmin_zc_copy_out() to find. */
	if (zc_prod - ch->rx_zc_next > YASMIN_ZC_SEGS)
		return;
	/* As in yasmin_zc_copy_out(): zc_prod, then the segments. */
	virt_rmb();
	while (ch->rx_zc_next != zc_prod) {
		slot = &ch->rx_zc[ch->rx_zc_next & (YASMIN_ZC_SEGS - 1)];
		pos = READ_ONCE(slot->pos);
		len = READ_ONCE(slot->len);
		if (to - pos > ch->rx.size || to - pos < len)
			break;
		ch->rx_zc_next++;
	}
}

void yasmin_zc_init(struct yasmin_chan *ch)
{
	ch->tx_zc_prod_val = 0;
	ch->tx_zc_inflight = 0;
	INIT_LIST_HEAD(&ch->tx_zc_batches);
	ch->tx_need_segs = 0;
	ch->tx_zc_mode = 0;
	ch->tx_zc_uarg = NULL;
	ch->rx_zc_next = 0;
}

#ifdef YASMIN_HAVE_MSGZEROCOPY

enum { YASMIN_ZC_UNDECIDED, YASMIN_ZC_ZEROCOPY, YASMIN_ZC_COPY };

/* One zero-copy send in flight: its granted pages and its completion. */
struct yasmin_zc_batch {
	struct list_head node;
	u32 end;		/* our prod just after its last byte */
	u32 segs;
	struct ubuf_info *uarg;
	struct yasmin_grant_area area;
};

static void yasmin_zc_batch_done(struct yasmin_conn *c,
				 struct yasmin_zc_batch *b)
{
	list_del(&b->node);
	WRITE_ONCE(c->chan.tx_zc_inflight, c->chan.tx_zc_inflight - b->segs);
	yasmin_grant_area_uninit(&b->area, c->id);
	net_zcopy_put(b->uarg);
	kfree(b);
}

/*
 * Ask the peer for an event once cons moves, so a completion is reported
 * while we are not sending. As in yasmin_chan_want_space(): the snapshot,
 * then asked_space, then the flag the peer answers, ordered by the
 * barriers that comment pairs.
 */
static void yasmin_zc_ask_cons(struct yasmin_chan *ch)
{
	WRITE_ONCE(ch->asked_tx_cons, READ_ONCE(ch->tx_cons_max));
	virt_wmb();
	WRITE_ONCE(ch->asked_space, true);
	virt_wmb();
	WRITE_ONCE(ch->tx_prod->want_space, YASMIN_NOTIFY_ON);
}

/*
 * yasmin_zc_reap() - complete every send the peer's cons has passed.
 * Called by has_space(), so a sender or a poller that looks for room
 * collects completions, and by the socket's work item when an event says
 * cons moved (yasmin_conn_zc_kick()).
 */
void yasmin_zc_reap(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	struct yasmin_zc_batch *b, *tmp;
	long used;

	if (!ch->up || list_empty(&ch->tx_zc_batches))
		return;
	used = yasmin_ring_span(ch->tx_prod_val, READ_ONCE(ch->tx_cons->cons),
				ch->tx.size);
	if (used < 0)
		return;		/* has_space() breaks the connection */
	list_for_each_entry_safe(b, tmp, &ch->tx_zc_batches, node) {
		if (ch->tx_prod_val - b->end < used)
			break;	/* the peer has not passed its end yet */
		yasmin_zc_batch_done(c, b);
	}
	if (!list_empty(&ch->tx_zc_batches))
		yasmin_zc_ask_cons(ch);
}

/* Room for the segments of the zero-copy send that waits, if any. */
bool yasmin_zc_room(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	return ch->tx_zc_inflight + ch->tx_need_segs <= YASMIN_ZC_SEGS;
}

/* A new sendmsg(): the last one's copied send, if any, is complete. */
void yasmin_zc_send_init(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	net_zcopy_put(ch->tx_zc_uarg);
	ch->tx_zc_uarg = NULL;
	ch->tx_zc_mode = YASMIN_ZC_UNDECIDED;
	ch->tx_need_segs = 0;
}

/* The bytes of a copied MSG_ZEROCOPY send are in the ring: complete it. */
void yasmin_zc_sent(struct yasmin_conn *c, struct msghdr *msg)
{
	if (c->chan.tx_zc_uarg && !msg_data_left(msg)) {
		net_zcopy_put(c->chan.tx_zc_uarg);
		c->chan.tx_zc_uarg = NULL;
	}
}

/* This send is copied: its completion says so. -ENOMEM, or -EAGAIN. */
static ssize_t yasmin_zc_copy_instead(struct yasmin_conn *c, size_t len)
{
	struct ubuf_info *uarg;

	uarg = msg_zerocopy_realloc(sk_vsock(c->vsk), len, NULL);
	if (!uarg)
		return -ENOMEM;
	uarg_to_msgzc(uarg)->zerocopy = 0;
	c->chan.tx_zc_uarg = uarg;
	c->chan.tx_zc_mode = YASMIN_ZC_COPY;
	c->chan.tx_need_segs = 0;
	c->chan.tx_need = 0;
	return -EAGAIN;
}

/*
 * yasmin_zc_send() - send the @len bytes of @msg zero-copy, all or none.
 * @space is what has_space() just said. Returns @len; 0 when the send
 * waits for room (tx_need and tx_need_segs make has_space() say no until
 * it fits); -EAGAIN when it is to be copied (the caller's copy path);
 * -ENOMEM when a page of the buffer cannot be pinned (virtio's answer),
 * with nothing sent.
 */
ssize_t yasmin_zc_send(struct yasmin_conn *c, struct msghdr *msg, size_t len,
		       s64 space)
{
	struct yasmin_chan *ch = &c->chan;
	struct sock *sk = sk_vsock(c->vsk);
	struct page *pages[YASMIN_ZC_SEGS];
	u16 offs[YASMIN_ZC_SEGS], lens[YASMIN_ZC_SEGS];
	struct yasmin_zc_batch *b;
	struct ubuf_info *uarg;
	unsigned int npg = 0, i, segs;
	size_t total = 0, start, part;
	ssize_t got;
	u32 pos;
	int err;

	if (!(msg->msg_flags & MSG_ZEROCOPY) || !sock_flag(sk, SOCK_ZEROCOPY) ||
	    ch->tx_zc_mode == YASMIN_ZC_COPY)
		return -EAGAIN;
	if (ch->tx_zc_mode == YASMIN_ZC_UNDECIDED) {
		segs = iov_iter_npages(&msg->msg_iter, YASMIN_ZC_SEGS + 1);
		if (!user_backed_iter(&msg->msg_iter) ||
		    len != msg_data_left(msg) || segs > YASMIN_ZC_SEGS ||
		    len > yasmin_chan_tx_limit(ch) || !c->peer)
			return yasmin_zc_copy_instead(c, len);
		ch->tx_zc_mode = YASMIN_ZC_ZEROCOPY;
		ch->tx_need_segs = segs;
	}
	/* The peer may have shrunk its window while we waited. */
	if (len > yasmin_chan_tx_limit(ch))
		return yasmin_zc_copy_instead(c, len);
	segs = ch->tx_need_segs;
	if (space < (s64)len || !yasmin_zc_room(c)) {
		ch->tx_need = len;
		return 0;
	}
	ch->tx_need = 0;

	while (total < len) {
		got = iov_iter_get_pages2(&msg->msg_iter, pages + npg,
					  len - total, segs - npg, &start);
		if (got <= 0)
			goto fail_pin;
		for (; got > 0; got -= part, start = 0) {
			part = min_t(size_t, got, PAGE_SIZE - start);
			offs[npg] = start;
			lens[npg] = part;
			npg++;
			total += part;
		}
	}
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		goto fail_pin;
	err = yasmin_grant_area_init_pages(&b->area, pages, npg,
					   c->peer->domid, c->id,
					   &c->peer->grants);
	for (i = 0; i < npg; i++)
		put_page(pages[i]);	/* the area holds its own */
	if (err) {
		/* Out of grants: copied instead, and nothing is lost. */
		kfree(b);
		iov_iter_revert(&msg->msg_iter, total);
		return yasmin_zc_copy_instead(c, len);
	}
	uarg = msg_zerocopy_realloc(sk, len, NULL);
	if (!uarg) {
		yasmin_grant_area_uninit(&b->area, c->id);
		kfree(b);
		iov_iter_revert(&msg->msg_iter, total);
		return -ENOMEM;
	}

	pos = ch->tx_prod_val;
	for (i = 0; i < npg; i++) {
		struct yasmin_zc_seg *slot =
			&ch->tx_zc[ch->tx_zc_prod_val++ & (YASMIN_ZC_SEGS - 1)];

		WRITE_ONCE(slot->pos, pos);
		WRITE_ONCE(slot->gref, b->area.refs[i]);
		WRITE_ONCE(slot->offset, offs[i]);
		WRITE_ONCE(slot->len, lens[i]);
		pos += lens[i];
	}
	/*
	 * The segments before zc_prod; pairs with the virt_rmb() in
	 * yasmin_zc_copy_out() after it reads zc_prod.
	 */
	virt_wmb();
	WRITE_ONCE(ch->tx_prod->zc_prod, ch->tx_zc_prod_val);
	/*
	 * zc_prod before the prod that covers its segments; pairs with the
	 * virt_rmb() the reader issues after reading prod, before it calls
	 * yasmin_zc_copy_out() (yasmin_chan_dequeue() and _dequeue_msg()).
	 */
	virt_wmb();
	ch->tx_prod_val += len;
	WRITE_ONCE(ch->tx_prod->prod, ch->tx_prod_val);

	b->end = ch->tx_prod_val;
	b->segs = npg;
	b->uarg = uarg;
	list_add_tail(&b->node, &ch->tx_zc_batches);
	WRITE_ONCE(ch->tx_zc_inflight, ch->tx_zc_inflight + npg);
	ch->tx_need_segs = 0;
	yasmin_stat_add(YASMIN_STAT_ZC_BYTES_SENT, len);
	yasmin_zc_ask_cons(ch);
	/*
	 * prod, and our want_space flag, before looking at want_data; pairs
	 * with the virt_mb() in yasmin_chan_want_data(), as in
	 * yasmin_chan_enqueue().
	 */
	virt_mb();
	yasmin_chan_kick_reader(ch);
	return len;

fail_pin:
	for (i = 0; i < npg; i++)
		put_page(pages[i]);
	iov_iter_revert(&msg->msg_iter, total);
	return -ENOMEM;
}

/* The connection goes: every send in flight completes, pages let go. */
void yasmin_zc_uninit(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	struct yasmin_zc_batch *b, *tmp;

	if (!ch->tx_zc_batches.next)
		return;		/* never set up */
	list_for_each_entry_safe(b, tmp, &ch->tx_zc_batches, node)
		yasmin_zc_batch_done(c, b);
	net_zcopy_put(ch->tx_zc_uarg);
	ch->tx_zc_uarg = NULL;
}

#else	/* the vsock core has no MSG_ZEROCOPY for transports (before 6.7) */

void yasmin_zc_reap(struct yasmin_conn *c)
{
}

bool yasmin_zc_room(struct yasmin_conn *c)
{
	return true;
}

void yasmin_zc_send_init(struct yasmin_conn *c)
{
}

void yasmin_zc_sent(struct yasmin_conn *c, struct msghdr *msg)
{
}

ssize_t yasmin_zc_send(struct yasmin_conn *c, struct msghdr *msg, size_t len,
		       s64 space)
{
	return -EAGAIN;
}

void yasmin_zc_uninit(struct yasmin_conn *c)
{
}

#endif
