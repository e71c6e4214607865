/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pure half of yasmin-hostile: the control ring as the non-owner sees
 * it, the malformed CONNECTs of bogus-connect and the index corruptions of
 * corrupt-indices. No Xen calls here, so tests/unit checks each attack
 * against kmod/proto.c's and kmod/ring.h's own rules: an attack that the
 * victim's first check already rejects for the wrong reason tests nothing.
 */
#ifndef YASMIN_HOSTILE_H
#define YASMIN_HOSTILE_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#ifndef YASMIN_USERSPACE
#define YASMIN_USERSPACE
#endif
#include "../../kmod/proto.h"

/*
 * Shared words are read and written once each, as the victim does; the
 * fences order slots against indices like virt_mb()/virt_wmb().
 */
#define H_LOAD(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define H_STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define H_MB()		__atomic_thread_fence(__ATOMIC_SEQ_CST)

/* The non-owner's half of a control page: it produces p2o, consumes o2p. */
struct hctrl {
	struct yasmin_ctrl_page *page;
	u32 tx_prod;
	u32 rx_cons;
};

static inline void hctrl_init(struct hctrl *c, void *page)
{
	c->page = page;
	c->tx_prod = 0;
	c->rx_cons = 0;
}

static inline bool hctrl_full(const struct hctrl *c)
{
	return c->tx_prod - H_LOAD(c->page->p2o.cons) >= YASMIN_CTRL_SLOTS;
}

/*
 * 0, or -EAGAIN when the victim has not consumed enough yet; then
 * want_space asks it for an event once it makes room (proto.h), as an
 * honest producer does. Victims that predate want_space ignore it.
 */
static inline int hctrl_put(struct hctrl *c, const struct yasmin_ctrl_msg *m)
{
	if (hctrl_full(c)) {
		H_STORE(c->page->p2o.want_space, YASMIN_NOTIFY_ON);
		H_MB();
		if (hctrl_full(c))
			return -EAGAIN;
	}
	H_MB();
	c->page->p2o_msg[c->tx_prod % YASMIN_CTRL_SLOTS] = *m;
	H_MB();
	c->tx_prod++;
	H_STORE(c->page->p2o.prod, c->tx_prod);
	return 0;
}

/* 1 with a message in @m, 0 when empty, -EPROTO when o2p is broken. */
static inline int hctrl_get(struct hctrl *c, struct yasmin_ctrl_msg *m)
{
	u32 avail = H_LOAD(c->page->o2p.prod) - c->rx_cons;

	if (avail > YASMIN_CTRL_SLOTS)
		return -EPROTO;
	if (!avail)
		return 0;
	H_MB();
	*m = c->page->o2p_msg[c->rx_cons % YASMIN_CTRL_SLOTS];
	H_MB();
	c->rx_cons++;
	H_STORE(c->page->o2p.cons, c->rx_cons);
	return 1;
}

/* After consuming: true when the victim asked for an event (want_space). */
static inline bool hctrl_owes_kick(struct hctrl *c)
{
	H_MB();
	return H_LOAD(c->page->o2p.want_space) &&
	       __atomic_exchange_n(&c->page->o2p.want_space, YASMIN_NOTIFY_OFF,
				   __ATOMIC_SEQ_CST);
}

/* ---- bogus-connect ---- */

/* What an honest victim answers to a case. */
enum hexpect {
	H_DROP,		/* fails yasmin_msg_check(): no answer at all */
	H_RESET,	/* well-formed, unusable channel: RESET */
	H_ANSWER,	/* ACCEPT or RESET, but never silence */
};

struct hbogus {
	const char *name;
	enum hexpect expect;
};

/* Real resources the cases are built from, set up by the tool. */
struct hbogus_ctx {
	u32 intf_ref, refs_ref;	/* a valid channel the victim may map */
	const u32 *ring_refs;	/* its 2 << order ring refs */
	u8 order;
	u32 evtchn;		/* an unbound port reserved for the victim */
	u32 bound_port;		/* a port of ours already bound elsewhere */
	u32 other_port;		/* an unbound port reserved for dom0 */
	u32 other_ref;		/* a page granted to dom0, not the victim */
	u32 src_port, dst_port, conn_id;
};

enum {
	HB_ORDER10, HB_ORDER255, HB_ZERO_ID, HB_RESERVED, HB_RESERVED2,
	HB_FLAGS, HB_ZERO_INTF, HB_ZERO_REFS, HB_ZERO_EVTCHN, HB_TYPE0,
	HB_TYPE5, HB_TYPE255, HB_SHUT_FLAGS, HB_SHUT_NOFLAGS, HB_ACCEPT_REFS,
	HB_BAD_INTF_REF, HB_RESERVED_REF, HB_DOM0_REF, HB_BAD_REFS_REF,
	HB_GARBAGE_RING_REFS, HB_ZERO_RING_REFS, HB_DOM0_RING_REF,
	HB_BAD_MAGIC, HB_BAD_VERSION, HB_ORDER_MISMATCH, HB_BAD_EVTCHN,
	HB_BOUND_EVTCHN, HB_DOM0_EVTCHN, HB_REPEATED_REFS, HB_INTF_AS_RING,
	HB_NO_LISTENER, HB_SEQ_TO_STREAM, HB_VALID, HB_NR
};

static const struct hbogus hbogus_cases[HB_NR] = {
	[HB_ORDER10] = { "ring-order-10", H_DROP },
	[HB_ORDER255] = { "ring-order-255", H_DROP },
	[HB_ZERO_ID] = { "zero-conn-id", H_DROP },
	[HB_RESERVED] = { "reserved-nonzero", H_DROP },
	[HB_RESERVED2] = { "reserved2-nonzero", H_DROP },
	[HB_FLAGS] = { "connect-with-flags", H_DROP },
	[HB_ZERO_INTF] = { "zero-intf-ref", H_DROP },
	[HB_ZERO_REFS] = { "zero-refs-ref", H_DROP },
	[HB_ZERO_EVTCHN] = { "zero-evtchn", H_DROP },
	[HB_TYPE0] = { "type-none", H_DROP },
	[HB_TYPE5] = { "type-5", H_DROP },
	[HB_TYPE255] = { "type-255", H_DROP },
	[HB_SHUT_FLAGS] = { "shutdown-flags-4", H_DROP },
	[HB_SHUT_NOFLAGS] = { "shutdown-no-flags", H_DROP },
	[HB_ACCEPT_REFS] = { "accept-with-refs", H_DROP },
	[HB_BAD_INTF_REF] = { "intf-ref-out-of-table", H_RESET },
	[HB_RESERVED_REF] = { "intf-ref-xenstore-page", H_RESET },
	[HB_DOM0_REF] = { "intf-ref-granted-to-dom0", H_RESET },
	[HB_BAD_REFS_REF] = { "refs-ref-out-of-table", H_RESET },
	[HB_GARBAGE_RING_REFS] = { "ring-refs-garbage", H_RESET },
	[HB_ZERO_RING_REFS] = { "ring-refs-zero", H_RESET },
	[HB_DOM0_RING_REF] = { "ring-ref-granted-to-dom0", H_RESET },
	[HB_BAD_MAGIC] = { "intf-bad-magic", H_RESET },
	[HB_BAD_VERSION] = { "intf-bad-version", H_RESET },
	[HB_ORDER_MISMATCH] = { "intf-order-mismatch", H_RESET },
	[HB_BAD_EVTCHN] = { "evtchn-out-of-range", H_RESET },
	[HB_BOUND_EVTCHN] = { "evtchn-already-bound", H_RESET },
	[HB_DOM0_EVTCHN] = { "evtchn-reserved-for-dom0", H_RESET },
	[HB_REPEATED_REFS] = { "same-ref-for-every-ring-page", H_ANSWER },
	[HB_INTF_AS_RING] = { "intf-page-as-ring-page", H_ANSWER },
	[HB_NO_LISTENER] = { "connect-to-unbound-port", H_RESET },
	[HB_SEQ_TO_STREAM] = { "seqpacket-connect-to-stream-listener", H_RESET },
	[HB_VALID] = { "valid-control", H_ANSWER },
};

/*
 * Case @i: the message to send in @m, and the interface pages @intf and
 * @refs (the shared pages of ctx's channel) as the case wants them.
 * Every case starts from a valid CONNECT and breaks exactly one thing.
 */
static inline void hbogus_build(unsigned int i, const struct hbogus_ctx *x,
				struct yasmin_ctrl_msg *m,
				struct yasmin_data_intf *intf, u32 *refs)
{
	u32 n = 2u << x->order, k;

	memset(m, 0, sizeof(*m));
	m->type = YASMIN_MSG_CONNECT;
	m->ring_order = x->order;
	m->src_port = x->src_port;
	m->dst_port = x->dst_port;
	m->conn_id = x->conn_id;
	m->intf_ref = x->intf_ref;
	m->refs_ref = x->refs_ref;
	m->evtchn = x->evtchn;
	intf->magic = YASMIN_DATA_MAGIC;
	intf->version = YASMIN_PROTO_VERSION;
	intf->ring_order = x->order;
	for (k = 0; k < n; k++)
		refs[k] = x->ring_refs[k];

	switch (i) {
	case HB_ORDER10: m->ring_order = 10; intf->ring_order = 10; break;
	case HB_ORDER255: m->ring_order = 255; intf->ring_order = 255; break;
	case HB_ZERO_ID: m->conn_id = 0; break;
	case HB_RESERVED: m->reserved = 1; break;
	case HB_RESERVED2: m->reserved2 = 0x80000000u; break;
	case HB_FLAGS: m->flags = (u8)~YASMIN_CONNECT_MASK; break;
	case HB_ZERO_INTF: m->intf_ref = 0; break;
	case HB_ZERO_REFS: m->refs_ref = 0; break;
	case HB_ZERO_EVTCHN: m->evtchn = 0; break;
	case HB_TYPE0: m->type = YASMIN_MSG_NONE; break;
	case HB_TYPE5: m->type = YASMIN_MSG_MAX + 1; break;
	case HB_TYPE255: m->type = 255; break;
	case HB_SHUT_FLAGS:
	case HB_SHUT_NOFLAGS:
	case HB_ACCEPT_REFS:
		m->type = i == HB_ACCEPT_REFS ? YASMIN_MSG_ACCEPT :
			  YASMIN_MSG_SHUTDOWN;
		m->flags = i == HB_SHUT_FLAGS ? 4 : 0;
		m->ring_order = 0;
		if (i != HB_ACCEPT_REFS) {
			m->intf_ref = 0;
			m->refs_ref = 0;
		}
		m->evtchn = 0;
		break;
	case HB_BAD_INTF_REF: m->intf_ref = 0x7ffffff0u; break;
	case HB_RESERVED_REF: m->intf_ref = 1; break;	/* GNTTAB_RESERVED_XENSTORE */
	case HB_DOM0_REF: m->intf_ref = x->other_ref; break;
	case HB_BAD_REFS_REF: m->refs_ref = 0xfffffff0u; break;
	case HB_GARBAGE_RING_REFS:
		for (k = 0; k < n; k++)
			refs[k] = 0xdead0000u + k;
		break;
	case HB_ZERO_RING_REFS: memset(refs, 0, n * sizeof(*refs)); break;
	case HB_DOM0_RING_REF: refs[n - 1] = x->other_ref; break;
	case HB_BAD_MAGIC: intf->magic = ~YASMIN_DATA_MAGIC; break;
	case HB_BAD_VERSION: intf->version = YASMIN_PROTO_VERSION + 1; break;
	case HB_ORDER_MISMATCH: intf->ring_order = x->order + 1; break;
	case HB_BAD_EVTCHN: m->evtchn = 0x00fffff0u; break;
	case HB_BOUND_EVTCHN: m->evtchn = x->bound_port; break;
	case HB_DOM0_EVTCHN: m->evtchn = x->other_port; break;
	case HB_REPEATED_REFS:
		for (k = 0; k < n; k++)
			refs[k] = x->ring_refs[0];
		break;
	case HB_INTF_AS_RING: refs[0] = x->intf_ref; break;
	case HB_NO_LISTENER: m->dst_port = x->dst_port + 7919; break;
	case HB_SEQ_TO_STREAM: m->flags = YASMIN_CONNECT_SEQPACKET; break;
	default: break;
	}
}

/* ---- corrupt-indices ---- */

/*
 * What we write into the two lines we own of a data interface page: the
 * prod line of the ring we produce and the cons line of the ring we read.
 */
struct hidx {
	u32 prod, want_space;
	u32 cons, want_data, window;
	/* HC_CONS_BACK: the cons it oscillates below, and writes so far */
	u32 back_from;
	unsigned long writes;
};

enum {
	HC_PROD_BEYOND, HC_PROD_FAR, HC_PROD_BEHIND, HC_CONS_AHEAD,
	HC_CONS_FAR_BEHIND, HC_RANDOM, HC_WANT_WORDS, HC_CONS_BACK, HC_NR
};

static const char *const hcorrupt_names[HC_NR] = {
	[HC_PROD_BEYOND] = "prod-one-past-full",
	[HC_PROD_FAR] = "prod-2^31-ahead",
	[HC_PROD_BEHIND] = "prod-behind-cons",
	[HC_CONS_AHEAD] = "cons-ahead-of-prod",
	[HC_CONS_FAR_BEHIND] = "cons-more-than-a-ring-behind",
	[HC_RANDOM] = "random-indices",
	[HC_WANT_WORDS] = "garbage-want-words",
	[HC_CONS_BACK] = "cons-moves-back",
};

/*
 * Pattern @i given the victim's own indices as last seen: @vcons is its
 * cons on the ring we produce, @vprod its prod on the ring we read. @o
 * is the channel's, zeroed before its first write, and kept between
 * writes. Every pattern but HC_RANDOM (which may hit a valid pair by
 * luck), HC_WANT_WORDS (valid indices, garbage notify words) and
 * HC_CONS_BACK breaks prod - cons <= size on at least one ring.
 *
 * HC_CONS_BACK keeps that invariant in every write and breaks another:
 * cons only moves forward. It takes everything the victim sent once, then
 * alternates between that and one byte less, with a window of half the
 * ring so the victim's prod stays within reach of both.
 */
static inline void hcorrupt(unsigned int i, u32 vcons, u32 vprod, u32 size,
			    u32 rnd, struct hidx *o)
{
	o->prod = vcons;
	o->cons = vprod;
	o->want_space = YASMIN_NOTIFY_OFF;
	o->want_data = YASMIN_NOTIFY_OFF;
	o->window = 0;
	switch (i) {
	case HC_PROD_BEYOND: o->prod = vcons + size + 1; break;
	case HC_PROD_FAR: o->prod = vcons + 0x80000000u; break;
	case HC_PROD_BEHIND: o->prod = vcons - 1; break;
	case HC_CONS_AHEAD: o->cons = vprod + 1; break;
	case HC_CONS_FAR_BEHIND: o->cons = vprod - size - 1; break;
	case HC_RANDOM:
		o->prod = rnd;
		o->cons = rnd * 2654435761u;
		o->want_space = rnd >> 3;
		o->want_data = rnd << 5;
		break;
	case HC_WANT_WORDS:
		o->want_space = 0xffffffffu;
		o->want_data = rnd | 2;
		break;
	case HC_CONS_BACK:
		if (!o->writes)
			o->back_from = vprod;
		o->cons = o->back_from - (u32)(o->writes & 1);
		o->window = size / 2;
		break;
	}
	o->writes++;
}

/* ---- corrupt-indices, SOCK_SEQPACKET ---- */

/*
 * What we write into a SOCK_SEQPACKET channel besides the byte indices:
 * the prod and msg_prod of the ring we produce, the record at the
 * victim's next msg_cons, and the msg_cons of the ring we read.
 */
struct hseq {
	u32 prod, msg_prod;
	u32 rec_end, rec_flags;
	u32 msg_cons;
	/* HS_MSG_CONS_BACK: the msg_cons it last took all to, writes so far */
	u32 back_from;
	unsigned long writes;
};

enum {
	HS_MSG_PROD_AHEAD, HS_MSG_PROD_FAR, HS_REC_PAST_PROD,
	HS_REC_BEHIND_CONS, HS_REC_FLAGS, HS_MSG_CONS_AHEAD,
	HS_MSG_CONS_BEHIND, HS_MSG_CONS_BACK, HS_NR
};

static const char *const hseq_names[HS_NR] = {
	[HS_MSG_PROD_AHEAD] = "msg-prod-one-past-the-records",
	[HS_MSG_PROD_FAR] = "msg-prod-2^31-ahead",
	[HS_REC_PAST_PROD] = "record-ends-past-prod",
	[HS_REC_BEHIND_CONS] = "record-ends-behind-cons",
	[HS_REC_FLAGS] = "record-with-unknown-flags",
	[HS_MSG_CONS_AHEAD] = "msg-cons-ahead-of-msg-prod",
	[HS_MSG_CONS_BEHIND] = "msg-cons-more-than-the-records-behind",
	[HS_MSG_CONS_BACK] = "msg-cons-moves-back",
};

/*
 * Pattern @i given the victim's indices as last seen: @vcons and
 * @vmsg_cons on the ring we produce, @vmsg_prod on the ring we read. The
 * byte indices stay valid (prod at most 16 bytes past @vcons), so what
 * breaks is always a SEQPACKET rule: the records in flight, a record's
 * end, its flags, or the records the victim has in flight to us. @o is
 * the channel's, zeroed before its first write, and kept between writes.
 *
 * HS_MSG_CONS_BACK breaks none of those in any one write, only the rule
 * that msg_cons never moves back: every other write takes every record
 * the victim has published so far, and the write after it gives one of
 * them back. The victim's records keep flowing, so a victim that checks
 * only each snapshot never resets.
 */
static inline void hseq_corrupt(unsigned int i, u32 vcons, u32 vmsg_cons,
				u32 vmsg_prod, struct hseq *o)
{
	o->prod = vcons;
	o->msg_prod = vmsg_cons;
	o->rec_end = vcons;
	o->rec_flags = 0;
	o->msg_cons = vmsg_prod;
	switch (i) {
	case HS_MSG_PROD_AHEAD: o->msg_prod = vmsg_cons + YASMIN_MSG_RECS + 1; break;
	case HS_MSG_PROD_FAR: o->msg_prod = vmsg_cons + 0x80000000u; break;
	case HS_REC_PAST_PROD:
		o->prod = vcons + 16;
		o->rec_end = vcons + 17;
		o->msg_prod = vmsg_cons + 1;
		break;
	case HS_REC_BEHIND_CONS:
		o->prod = vcons + 16;
		o->rec_end = vcons - 1;
		o->msg_prod = vmsg_cons + 1;
		break;
	case HS_REC_FLAGS:
		o->rec_flags = 0xdead0000u | YASMIN_REC_EOR;
		o->msg_prod = vmsg_cons + 1;
		break;
	case HS_MSG_CONS_AHEAD: o->msg_cons = vmsg_prod + 1; break;
	case HS_MSG_CONS_BEHIND: o->msg_cons = vmsg_prod - YASMIN_MSG_RECS - 1; break;
	case HS_MSG_CONS_BACK:
		if (!(o->writes & 1))
			o->back_from = vmsg_prod;
		o->msg_cons = o->back_from - (u32)(o->writes & 1);
		break;
	}
	o->writes++;
}

/*
 * The victim's rules (kmod/datapath.c), for the unit test: non-zero when
 * @o breaks one. A record is only looked at when one is in flight.
 */
static inline int hseq_broken(const struct hseq *o, u32 vcons, u32 vmsg_cons,
			      u32 vmsg_prod)
{
	u32 msgs = o->msg_prod - vmsg_cons;

	if (msgs > YASMIN_MSG_RECS)
		return 1;
	if (msgs && (o->rec_end - vcons > o->prod - vcons ||
		     (o->rec_flags & ~YASMIN_REC_EOR)))
		return 2;
	if (vmsg_prod - o->msg_cons > YASMIN_MSG_RECS)
		return 3;
	return 0;
}

/* ---- corrupt-indices, MSG_ZEROCOPY segments ---- */

/*
 * What we write as a zero-copy sender on a fresh stream channel (the
 * victim has passed no segment yet): the ring's prod, our zc_prod, and
 * segment 0. The ref we name was never granted to the victim; only a
 * segment that passes every other rule gets as far as using it.
 */
struct hzc {
	u32 prod, zc_prod;
	u32 pos, gref;
	u16 offset, len;
};

enum {
	HZ_LEN_ZERO, HZ_PAST_PAGE, HZ_BEHIND_CONS, HZ_ZC_PROD_FAR,
	HZ_ZC_PROD_2_31, HZ_UNGRANTED, HZ_NR
};

static const char *const hzc_names[HZ_NR] = {
	[HZ_LEN_ZERO] = "segment-of-zero-bytes",
	[HZ_PAST_PAGE] = "segment-past-its-page",
	[HZ_BEHIND_CONS] = "segment-behind-cons",
	[HZ_ZC_PROD_FAR] = "zc-prod-one-past-the-segments",
	[HZ_ZC_PROD_2_31] = "zc-prod-2^31-ahead",
	[HZ_UNGRANTED] = "segment-in-a-page-never-granted",
};

#define HZC_UNGRANTED_REF	0x7ffffff0u

/* Pattern @i given the victim's cons @vcons on the ring we produce. */
static inline void hzc_corrupt(unsigned int i, u32 vcons, struct hzc *o)
{
	o->prod = vcons + 16;
	o->zc_prod = 1;
	o->pos = vcons;
	o->gref = HZC_UNGRANTED_REF;
	o->offset = 0;
	o->len = 16;
	switch (i) {
	case HZ_LEN_ZERO: o->len = 0; break;
	case HZ_PAST_PAGE: o->offset = YASMIN_PAGE_SIZE - 8; break;
	case HZ_BEHIND_CONS: o->pos = vcons - 64; break;
	case HZ_ZC_PROD_FAR: o->zc_prod = YASMIN_ZC_SEGS + 1; break;
	case HZ_ZC_PROD_2_31: o->zc_prod = 0x80000000u; break;
	case HZ_UNGRANTED: break;
	}
}

/*
 * The victim's rules (kmod/zerocopy.c, yasmin_zc_copy_out()), for the unit
 * test: non-zero when @o breaks one before any copy is tried, for a victim
 * that has passed no segment and reads from @vcons, with a ring of @size.
 */
static inline int hzc_broken(const struct hzc *o, u32 vcons, u32 size)
{
	if (o->zc_prod > YASMIN_ZC_SEGS)
		return 1;
	if (!o->zc_prod)
		return 0;
	if (!o->len || o->offset + o->len > YASMIN_PAGE_SIZE)
		return 2;
	if (vcons - o->pos >= o->len && o->pos - vcons >= size)
		return 3;
	return 0;
}

#endif /* YASMIN_HOSTILE_H */
