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
 * fits the peer's window and YASMIN_ZC_SEGS segments, and a blocking one
 * then waits for that much room. Any other MSG_ZEROCOPY send is copied
 * and completes at once, flagged SO_EE_CODE_ZEROCOPY_COPIED, as virtio
 * does with a send larger than its credit. Only whole pages are granted
 * (a granted page is readable whole): the bytes of a send that share a
 * page with other memory are copied into the ring beside the segments.
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
	u32 at[YASMIN_ZC_BATCH];	/* where each copy's bytes start */
	u32 seg[YASMIN_ZC_BATCH];	/* and the segment they come from */
	unsigned int n;
};

/*
 * Run the queued grant copies and let the reader's pages go. Returns the
 * first copy Xen refused, or the number queued when none was.
 */
static unsigned int yasmin_zc_rx_flush(struct yasmin_zc_rx *rx)
{
	unsigned int i, bad, n = rx->n;

	if (!n)
		return 0;
	gnttab_batch_copy(rx->ops, n);
	bad = n;
	for (i = 0; i < n; i++) {
		if (rx->ops[i].status != GNTST_okay && bad == n)
			bad = i;
		set_page_dirty_lock(rx->pages[i]);
		put_page(rx->pages[i]);
	}
	rx->n = 0;
	return bad;
}

static void yasmin_zc_rx_queue(struct yasmin_zc_rx *rx, domid_t peer,
			       const struct yasmin_zc_seg *s, u32 src_off,
			       struct page *page, u32 dst_off, u32 len,
			       u32 at, u32 seg)
{
	struct gnttab_copy *op = &rx->ops[rx->n];

	op->source.u.ref = s->gref;
	op->source.domid = peer;
	op->source.offset = src_off;
	op->dest.u.gmfn = xen_page_to_gfn(page);
	op->dest.domid = DOMID_SELF;
	op->dest.offset = dst_off;
	op->len = len;
	op->flags = GNTCOPY_source_gref;
	rx->pages[rx->n] = page;
	rx->at[rx->n] = at;
	rx->seg[rx->n] = seg;
	rx->n++;
}

static size_t yasmin_zc_ring_to_iter(void *buf, size_t len, void *iter)
{
	return copy_to_iter(buf, len, iter);
}

/*
 * yasmin_zc_copy_out() - copy the received bytes [@pos, @pos + @n) to
 * @iter: ring bytes from the ring, a zero-copy segment's bytes by grant
 * copy from the sender's page straight into the reader's pages (through a
 * bounce page when the reader's buffer is not user memory). @n was
 * validated against the peer's prod, read (with a virt_rmb() after it) by
 * the caller. *@next is the first segment not yet passed, moved on past
 * each segment that ends in the range (and *@passed set). A copy Xen
 * refuses is retried once from the segment as it is then: a sender that
 * closed moved the bytes into the ring and said so (YASMIN_ZC_IN_RING)
 * before it revoked the page. Returns the bytes copied, short when @iter
 * faults, or -EPROTO when the peer broke the segment rules (the
 * connection is then broken).
 */
ssize_t yasmin_zc_copy_out(struct yasmin_conn *c, u32 pos, u32 n,
			   struct iov_iter *iter, u32 *next, bool *passed)
{
	struct yasmin_chan *ch = &c->chan;
	domid_t peer = c->peer ? c->peer->domid : DOMID_INVALID;
	u32 zc_prod = READ_ONCE(ch->rx_prod->zc_prod);
	u32 done = 0, at, left, take, into, ahead, cached = 0, retry = 0;
	bool have = false, retried = false;
	struct page *bounce = NULL, *pages[2];
	const char *why = NULL;
	struct yasmin_zc_seg s, *slot;
	struct yasmin_zc_rx rx;
	unsigned int bad, queued;
	size_t start;
	ssize_t got;
	u32 part;

	rx.n = 0;
	if (zc_prod - *next > YASMIN_ZC_SEGS) {
		why = "zero-copy segment index out of range";
		goto broken;
	}
	/*
	 * zc_prod before the segments it covers; pairs with the first
	 * virt_wmb() in yasmin_zc_send().
	 */
	virt_rmb();
	for (;;) {
		if (done == n) {
			queued = rx.n;
			bad = yasmin_zc_rx_flush(&rx);
			if (bad < queued)
				goto refused_in_batch;
			break;
		}
		at = pos + done;
		left = n - done;
		if (*next == zc_prod) {
			take = left;
			goto ring;
		}
		if (!have || cached != *next) {
			/* one snapshot of each segment, checked once */
			slot = &ch->rx_zc[*next & (YASMIN_ZC_SEGS - 1)];
			s.pos = READ_ONCE(slot->pos);
			s.gref = READ_ONCE(slot->gref);
			s.offset = READ_ONCE(slot->offset);
			s.len = READ_ONCE(slot->len);
			if (!s.len || s.offset + s.len > YASMIN_PAGE_SIZE) {
				why = "zero-copy segment out of range";
				goto broken;
			}
			cached = *next;
			have = true;
		}
		into = at - s.pos;
		if (into >= s.len) {
			ahead = s.pos - at;
			if (ahead >= ch->rx.size) {
				why = "zero-copy segment behind the stream";
				goto broken;
			}
			take = min(left, ahead);
			goto ring;
		}
		take = min(left, s.len - into);
		if (s.gref == YASMIN_ZC_IN_RING)
			goto ring;
		if (!user_backed_iter(iter)) {
			/* a kernel reader: through a bounce page */
			if (!bounce) {
				bounce = alloc_page(GFP_KERNEL);
				if (!bounce)
					break;
			}
			get_page(bounce);
			yasmin_zc_rx_queue(&rx, peer, &s, s.offset + into,
					   bounce, 0, take, at, *next);
			if (yasmin_zc_rx_flush(&rx) == 0)
				goto refused;
			got = copy_page_to_iter(bounce, 0, take, iter);
		} else {
			if (rx.n + 2 > YASMIN_ZC_BATCH) {
				queued = rx.n;
				bad = yasmin_zc_rx_flush(&rx);
				if (bad < queued)
					goto refused_in_batch;
			}
			got = iov_iter_get_pages2(iter, pages, take, 2, &start);
			if (got <= 0)
				break;
			part = min_t(size_t, got, PAGE_SIZE - start);
			yasmin_zc_rx_queue(&rx, peer, &s, s.offset + into,
					   pages[0], start, part, at, *next);
			if (got > part)
				yasmin_zc_rx_queue(&rx, peer, &s,
						   s.offset + into + part,
						   pages[1], 0, got - part,
						   at + part, *next);
		}
		done += got;
		if (into + got == s.len) {
			(*next)++;
			*passed = true;
		}
		if (got != take)
			break;
		continue;
ring:
		/* Queued copies first, so a refused one can be undone. */
		queued = rx.n;
		bad = yasmin_zc_rx_flush(&rx);
		if (bad < queued)
			goto refused_in_batch;
		got = yasmin_ring_walk(&ch->rx, at, take,
				       yasmin_zc_ring_to_iter, iter);
		done += got;
		/* a segment whose bytes the sender moved into the ring */
		if (have && cached == *next && at - s.pos < s.len &&
		    at + got - s.pos == s.len) {
			(*next)++;
			*passed = true;
		}
		if (got != take)
			break;
		continue;
refused_in_batch:
		/* Undo from the refused copy on: it and what followed it. */
		iov_iter_revert(iter, pos + done - rx.at[bad]);
		done = rx.at[bad] - pos;
		*next = rx.seg[bad];
refused:
		if (retried && retry == *next) {
			why = "zero-copy segment not readable";
			goto broken;
		}
		retried = true;
		retry = *next;
		have = false;
		/* The sender marks a segment before it revokes its page. */
		virt_rmb();
	}
	/* The reader's buffer faulted: what was queued before it still goes. */
	queued = rx.n;
	bad = yasmin_zc_rx_flush(&rx);
	if (bad < queued) {
		iov_iter_revert(iter, pos + done - rx.at[bad]);
		done = rx.at[bad] - pos;
		*next = rx.seg[bad];
	}
	if (bounce)
		put_page(bounce);
	return done;

broken:
	yasmin_zc_rx_flush(&rx);
	if (bounce)
		put_page(bounce);
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
	ch->rx_zc_next = 0;
}

#ifdef YASMIN_HAVE_MSGZEROCOPY

/* This sendmsg()'s choice; COPY_REPORTED: copied, and said so. */
enum {
	YASMIN_ZC_UNDECIDED, YASMIN_ZC_ZEROCOPY, YASMIN_ZC_COPY,
	YASMIN_ZC_COPY_REPORTED,
};

/* Bytes of ours into the ring; @ctx points to the source pointer. */
static size_t yasmin_zc_buf_to_ring(void *buf, size_t len, void *ctx)
{
	const u8 **src = ctx;

	memcpy(buf, *src, len);
	*src += len;
	return len;
}

/*
 * One zero-copy send in flight: its granted pages, where each one's bytes
 * sit in the stream and which segment slot names it, and its completion
 * (in area.zc_uarg: it comes once no page is shared any more).
 */
struct yasmin_zc_batch {
	struct list_head node;
	u32 end;		/* our prod just after its last byte */
	u32 segs;
	u32 pos[YASMIN_ZC_SEGS];
	u32 slot[YASMIN_ZC_SEGS];
	struct yasmin_grant_area area;
};

void yasmin_zc_complete(void *uarg)
{
	net_zcopy_put(uarg);
}

/*
 * A send is done with: the peer passed it (@closing false), or the
 * connection goes (@closing true). On the way out its bytes are first
 * written into the ring where they belong and each segment marked so, as
 * a peer still reading after our close needs them and we revoke the
 * pages. A page the peer maps (an honest one never does) cannot be
 * revoked: it lingers, the send's completion waits for it, and a
 * connection we keep is reset.
 */
static void yasmin_zc_batch_done(struct yasmin_conn *c,
				 struct yasmin_zc_batch *b, bool closing)
{
	struct yasmin_chan *ch = &c->chan;
	const u8 *src;
	unsigned int i;
	void *va;

	list_del(&b->node);
	WRITE_ONCE(ch->tx_zc_inflight, ch->tx_zc_inflight - b->segs);
	if (closing && ch->tx_zc) {
		for (i = 0; i < b->area.nr; i++) {
			va = kmap_local_page(b->area.pages[i]);
			src = va;
			yasmin_ring_walk(&ch->tx, b->pos[i], YASMIN_PAGE_SIZE,
					 yasmin_zc_buf_to_ring, &src);
			kunmap_local(va);
		}
		/*
		 * The bytes before the marks; pairs with the virt_rmb() in
		 * yasmin_zc_copy_out() after a refused copy.
		 */
		virt_wmb();
		for (i = 0; i < b->area.nr; i++)
			WRITE_ONCE(ch->tx_zc[b->slot[i]].gref, YASMIN_ZC_IN_RING);
		yasmin_stat_add(YASMIN_STAT_ZC_BYTES_MOVED,
				(s64)b->area.nr * YASMIN_PAGE_SIZE);
		/* The marks before the revocation that makes copies fail. */
		virt_mb();
	}
	if (yasmin_grant_area_try_end(&b->area) && !closing)
		yasmin_conn_broken(c, "the peer maps zero-copy pages");
	yasmin_grant_area_uninit(&b->area, c->id);
	kfree(b);
}

/* Complete the sends cons has passed; true when one is left in flight. */
static bool yasmin_zc_reap_passed(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;
	struct yasmin_zc_batch *b, *tmp;
	long used = yasmin_chan_tx_used(c);

	if (used < 0)
		return false;
	list_for_each_entry_safe(b, tmp, &ch->tx_zc_batches, node) {
		if (ch->tx_prod_val - b->end < used)
			return true;	/* the peer has not passed its end */
		yasmin_zc_batch_done(c, b, false);
	}
	return false;
}

/*
 * yasmin_zc_reap() - complete every send the peer's cons has passed.
 * Called by has_space(), so a sender or a poller that looks for room
 * collects completions, and by the socket's work item when an event says
 * cons moved (yasmin_conn_zc_kick()). While sends remain, the peer is
 * asked for an event, and cons read again after asking, so a send passed
 * meanwhile is not left waiting for an event that will not come.
 */
void yasmin_zc_reap(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	if (!ch->up || list_empty(&ch->tx_zc_batches) ||
	    !yasmin_zc_reap_passed(c))
		return;
	yasmin_chan_ask_space(ch);
	/* Passed before our flag was seen: no event will say so. */
	yasmin_zc_reap_passed(c);
}

/* Room for the segments of the zero-copy send that waits, if any. */
bool yasmin_zc_room(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	return ch->tx_zc_inflight + ch->tx_need_segs <= YASMIN_ZC_SEGS;
}

/* A new sendmsg(). */
void yasmin_zc_send_init(struct yasmin_conn *c)
{
	struct yasmin_chan *ch = &c->chan;

	ch->tx_zc_mode = YASMIN_ZC_UNDECIDED;
	ch->tx_need_segs = 0;
}

/*
 * The copy path put bytes of a MSG_ZEROCOPY send in the ring: the first
 * time in a sendmsg(), report the send complete and copied (its bytes are
 * ours now, nothing of the caller's is pinned, so nothing is charged to
 * its locked memory). A send that copied nothing reports nothing.
 */
void yasmin_zc_sent(struct yasmin_conn *c, struct msghdr *msg)
{
	struct yasmin_chan *ch = &c->chan;
	struct ubuf_info *uarg;

	if (ch->tx_zc_mode != YASMIN_ZC_COPY)
		return;
	uarg = msg_zerocopy_realloc(sk_vsock(c->vsk), 0, NULL);
	if (!uarg)
		return;
	uarg_to_msgzc(uarg)->zerocopy = 0;
	ch->tx_zc_mode = YASMIN_ZC_COPY_REPORTED;
	net_zcopy_put(uarg);
}

/* This send is copied; the copy path reports it (yasmin_zc_sent()). */
static ssize_t yasmin_zc_copy_instead(struct yasmin_conn *c)
{
	c->chan.tx_zc_mode = YASMIN_ZC_COPY;
	c->chan.tx_need_segs = 0;
	c->chan.tx_need = 0;
	return -EAGAIN;
}

/*
 * yasmin_zc_send() - send the @len bytes of @msg zero-copy, all or none.
 * @space is what has_space() just said. Whole pages of the buffer are
 * granted; the bytes of a page it shares with other memory are copied
 * into the ring instead (a page granted is readable whole). Returns @len;
 * 0 when the send waits for room (tx_need and tx_need_segs make
 * has_space() say no until it fits); -EAGAIN when it is to be copied (the
 * caller's copy path); -ENOMEM when a page of the buffer cannot be pinned
 * (virtio's answer), with nothing sent.
 */
ssize_t yasmin_zc_send(struct yasmin_conn *c, struct msghdr *msg, size_t len,
		       s64 space)
{
	struct yasmin_chan *ch = &c->chan;
	struct sock *sk = sk_vsock(c->vsk);
	struct page *pages[YASMIN_ZC_SEGS], *full[YASMIN_ZC_SEGS];
	u16 offs[YASMIN_ZC_SEGS], lens[YASMIN_ZC_SEGS];
	unsigned int npg = 0, nfull = 0, i, segs;
	struct yasmin_zc_batch *b;
	struct ubuf_info *uarg;
	size_t total = 0, start, part;
	const u8 *src;
	void *va;
	ssize_t got;
	u32 pos;
	int err;

	/* io_uring's SEND_ZC brings its own notification: copy for it. */
	if (!(msg->msg_flags & MSG_ZEROCOPY) || !sock_flag(sk, SOCK_ZEROCOPY) ||
	    msg->msg_ubuf || ch->tx_zc_mode >= YASMIN_ZC_COPY)
		return -EAGAIN;
	if (ch->tx_zc_mode == YASMIN_ZC_UNDECIDED) {
		segs = iov_iter_npages(&msg->msg_iter, YASMIN_ZC_SEGS + 1);
		if (!user_backed_iter(&msg->msg_iter) ||
		    len != msg_data_left(msg) || segs > YASMIN_ZC_SEGS ||
		    len > yasmin_chan_tx_limit(ch) || !c->peer)
			return yasmin_zc_copy_instead(c);
		ch->tx_zc_mode = YASMIN_ZC_ZEROCOPY;
		ch->tx_need_segs = segs;
	}
	/* The peer may have shrunk its window while we waited. */
	if (len > yasmin_chan_tx_limit(ch))
		return yasmin_zc_copy_instead(c);
	segs = ch->tx_need_segs;
	if (space < (s64)len || !yasmin_zc_room(c)) {
		/*
		 * A non-blocking writer that waited for all of it would
		 * get EAGAIN while there is room: its reader, polling
		 * for more than is there (SO_RCVLOWAT), may wait for those
		 * bytes. What fits is copied now, as virtio does.
		 */
		if (msg->msg_flags & MSG_DONTWAIT)
			return yasmin_zc_copy_instead(c);
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
			if (part == PAGE_SIZE)
				full[nfull++] = pages[npg];
			npg++;
			total += part;
		}
	}
	if (!nfull) {
		/* Not one whole page: nothing to gain, copy it. */
		for (i = 0; i < npg; i++)
			put_page(pages[i]);
		iov_iter_revert(&msg->msg_iter, total);
		return yasmin_zc_copy_instead(c);
	}
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		goto fail_pin;
	err = yasmin_grant_area_init_pages(&b->area, full, nfull,
					   c->peer->domid, c->id,
					   &c->peer->grants);
	uarg = err ? NULL : msg_zerocopy_realloc(sk, len, NULL);
	if (!uarg) {
		/* Out of grants or of locked memory: copied, nothing lost. */
		if (!err)
			yasmin_grant_area_uninit(&b->area, c->id);
		kfree(b);
		for (i = 0; i < npg; i++)
			put_page(pages[i]);
		iov_iter_revert(&msg->msg_iter, total);
		return yasmin_zc_copy_instead(c);
	}
	b->area.zc_uarg = uarg;

	/*
	 * cons (in has_space()) before we write the room and the slots it
	 * freed; pairs with the virt_mb() in yasmin_chan_dequeue() before
	 * the consumer publishes cons.
	 */
	virt_mb();
	pos = ch->tx_prod_val;
	for (i = 0, nfull = 0; i < npg; i++) {
		struct yasmin_zc_seg *slot;

		if (lens[i] != PAGE_SIZE) {
			/* shares its page: its bytes go in the ring */
			va = kmap_local_page(pages[i]);
			src = (const u8 *)va + offs[i];
			yasmin_ring_walk(&ch->tx, pos, lens[i],
					 yasmin_zc_buf_to_ring, &src);
			kunmap_local(va);
		} else {
			b->pos[nfull] = pos;
			b->slot[nfull] = ch->tx_zc_prod_val & (YASMIN_ZC_SEGS - 1);
			slot = &ch->tx_zc[b->slot[nfull]];
			WRITE_ONCE(slot->pos, pos);
			WRITE_ONCE(slot->gref, b->area.refs[nfull]);
			WRITE_ONCE(slot->offset, 0);
			WRITE_ONCE(slot->len, YASMIN_PAGE_SIZE);
			ch->tx_zc_prod_val++;
			nfull++;
		}
		put_page(pages[i]);	/* the area holds its own */
		pos += lens[i];
	}
	/*
	 * The segments before zc_prod; pairs with the virt_rmb() in
	 * yasmin_zc_copy_out() after it reads zc_prod.
	 */
	virt_wmb();
	WRITE_ONCE(ch->tx_prod->zc_prod, ch->tx_zc_prod_val);
	/*
	 * zc_prod and the ring bytes before the prod that covers them;
	 * pairs with the virt_rmb() the reader issues after reading prod,
	 * before it calls yasmin_zc_copy_out() (yasmin_chan_dequeue() and
	 * yasmin_chan_dequeue_msg()).
	 */
	virt_wmb();
	ch->tx_prod_val += len;
	WRITE_ONCE(ch->tx_prod->prod, ch->tx_prod_val);

	b->end = ch->tx_prod_val;
	b->segs = nfull;
	list_add_tail(&b->node, &ch->tx_zc_batches);
	WRITE_ONCE(ch->tx_zc_inflight, ch->tx_zc_inflight + nfull);
	ch->tx_need_segs = 0;
	yasmin_stat_add(YASMIN_STAT_ZC_BYTES_SENT, len);
	/*
	 * prod before looking at want_data; pairs with the virt_mb() in
	 * yasmin_chan_want_data(), as in yasmin_chan_enqueue().
	 */
	virt_mb();
	yasmin_chan_kick_reader(ch);
	/* Ask for the event that completes it (and catch a fast reader). */
	yasmin_zc_reap(c);
	return len;

fail_pin:
	for (i = 0; i < npg; i++)
		put_page(pages[i]);
	iov_iter_revert(&msg->msg_iter, total);
	ch->tx_zc_mode = YASMIN_ZC_UNDECIDED;
	ch->tx_need_segs = 0;
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
		yasmin_zc_batch_done(c, b, true);
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

void yasmin_zc_complete(void *uarg)
{
}

#endif
