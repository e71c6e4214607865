// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-hostile: a peer that speaks the YASMIN wire protocol (kmod/proto.h)
 * from userspace, through the same Xen interfaces as the module (XenStore,
 * grant mapping and sharing, event channels), and breaks it on purpose.
 * It runs as root in a guest WITHOUT yasmin.ko, whose domid is higher than
 * the victim's: it is always the non-owner of the control channel.
 *
 *   yasmin-hostile -c VICTIM_CID [options] MODE
 *
 * MODE (one per run, each bounded by -t SECONDS and/or -n COUNT):
 *   corrupt-indices  -r acceptor: accept the victim's connects (it runs
 *                    yasmin-xfer -c <our CID>), then write impossible
 *                    prod/cons, a cons that moves back, and garbage want
 *                    words, one pattern per connection. -r connector: connect to the victim's
 *                    listener -p PORT and do the same to our own channel.
 *                    -r ctrl: break the control ring's indices instead.
 *                    -r accept-lie: accept the victim's connects claiming
 *                    rings one order larger than offered.
 *                    -r seq-acceptor: accept the victim's SOCK_SEQPACKET
 *                    connects and break their message records, msg_prod
 *                    and msg_cons, one pattern per connection.
 *                    -r zc-acceptor: accept the victim's stream connects
 *                    and send it MSG_ZEROCOPY segments that break a rule
 *                    or name a page never granted, one per connection.
 *   bogus-connect    every malformed CONNECT and message of hostile.h's
 *                    table to the listener -p PORT, each answered or not
 *                    as an honest victim must.
 *   connect-flood    -n valid CONNECTs (real rings of order -o) to -p PORT,
 *                    at most -w in flight, never reading; with -U PORT
 *                    every other one goes to that unbound port.
 *   request-churn    rewrite our request key -n times, keeping every old
 *                    control page mapped; hold them -H seconds.
 *   ctrl-fill        keep our control ring full of messages that make the
 *                    victim answer (ACCEPTs for unknown ids, CONNECTs to
 *                    unbound ports) and never consume its ring.
 *   evtchn-storm     notify the control (-r ctrl), a data (-r data, to
 *                    -p PORT) or both (-r both) event channels flat out.
 *   pin              accept each of the victim's connects (it connects to
 *                    us), taking all the pages it offers, and never unmap
 *                    them, not even after it closes: -n connections or -t
 *                    seconds, then hold them -H seconds more.
 *   xs-garbage       write garbage into every key of both rendezvous
 *                    directories of the pair, -n rounds, then remove it;
 *                    with -3 DOMID check that the pairs of DOMID are out of
 *                    reach; with -R remove our pair directory at the end.
 *
 * Every run ends with one line "hostile: MODE key=value ..." saying what
 * was done. Exit: 0 the attack ran, 2 usage, 3 setup failed (Xen devices,
 * rendezvous, the victim never answered the request).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "hostile.h"

enum { EXIT_OK, EXIT_ATTACK, EXIT_USAGE, EXIT_SETUP };

#define PAGE		YASMIN_PAGE_SIZE
#define JOIN_TIMEOUT	15.0
#define MAX_CHANS	1024

static unsigned int self, victim, third = ~0u;
static double secs = 30;
static long count = -1;
static unsigned int port, uport, order, window = 256, hold;
static const char *variant = "";
static int rm_pair;
static uint64_t seed;

static struct xs_handle *xs;
static xengnttab_handle *xgt;
static xengntshr_handle *xgs;
static xenevtchn_handle *xce;
static char in_dir[96], out_dir[96];	/* see join() */

/* The control session: the page we mapped and the port we bound. */
static struct {
	struct hctrl c;
	void *page;
	evtchn_port_t lport;
	u32 gen;
	double checked;
} ses;

static unsigned long rx_msgs[YASMIN_MSG_MAX + 1], rejoins;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: reproducible from the seed the summary prints. */
static u32 rnd(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return (seed * 2685821657736338717ull) >> 32;
}

static u32 nonzero_rnd(void)
{
	u32 v;

	do {
		v = rnd();
	} while (!v);
	return v;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "hostile: setup failed: ");
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fprintf(stdout, "\n");
	exit(EXIT_SETUP);
}

/* ---- XenStore ---- */

static char *xs_get(const char *dir, const char *key)
{
	char path[320];
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_read(xs, XBT_NULL, path, &len);
}

/* -1 when absent or not a number. */
static long long xs_get_u32(const char *dir, const char *key)
{
	char *v = xs_get(dir, key), *end;
	unsigned long long n;

	if (!v)
		return -1;
	n = strtoull(v, &end, 10);
	if (end == v || *end || n > UINT32_MAX)
		n = -1;
	free(v);
	return n;
}

static bool xs_put(const char *dir, const char *key, const void *val,
		   unsigned int len)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(xs, XBT_NULL, path, val, len);
}

static bool xs_put_u32(const char *dir, const char *key, u32 v)
{
	char buf[16];

	return xs_put(dir, key, buf, snprintf(buf, sizeof(buf), "%u", v));
}

static bool xs_del(const char *dir, const char *key)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_rm(xs, XBT_NULL, path);
}

/* ---- event channels ---- */

/* Take every event delivered to us; the device's queue must not overflow. */
static unsigned long drain_events(int ms)
{
	struct pollfd p = { .fd = xenevtchn_fd(xce), .events = POLLIN };
	unsigned long n = 0;
	xenevtchn_port_or_error_t port_;

	while (poll(&p, 1, ms) > 0) {
		port_ = xenevtchn_pending(xce);
		if (port_ < 0)
			break;
		xenevtchn_unmask(xce, port_);
		n++;
		ms = 0;
	}
	return n;
}

/* ---- the control session, as the non-owner (ctrl.c's handshake) ---- */

static void leave(void)
{
	if (ses.lport) {
		xenevtchn_unbind(xce, ses.lport);
		ses.lport = 0;
	}
	if (ses.page) {
		xengnttab_unmap(xgt, ses.page, 1);
		ses.page = NULL;
	}
}

/*
 * Write a new request and join the page the victim publishes for it.
 * @keep_old: keep the previous page mapped while asking for the next
 * (request-churn); otherwise let go of it first, as an honest peer does
 * (a victim may hold a new page back until the old one is unmapped).
 * Returns 0, or -1 when the victim did not answer within @timeout.
 */
static int join(bool keep_old, double timeout)
{
	u32 nonce = nonzero_rnd(), ref, rport;
	long long gen = -1, v;
	double end = now() + timeout;
	void *page;
	int lport;

	if (!keep_old)
		leave();
	if (!xs_put_u32(out_dir, "request", nonce))
		die("cannot write %s/request: %s", out_dir, strerror(errno));
	while ((gen = xs_get_u32(in_dir, "gen")) != nonce) {
		if (now() > end)
			return -1;
		usleep(10000);
	}
	v = xs_get_u32(in_dir, "version");
	if (v != YASMIN_PROTO_VERSION)
		die("victim speaks protocol %lld, not %u", v,
		    YASMIN_PROTO_VERSION);
	v = xs_get_u32(in_dir, "ctrl-ref");
	ref = v;
	v = v < 0 ? v : xs_get_u32(in_dir, "ctrl-evtchn");
	rport = v;
	if (v < 0)
		die("victim published gen %lld without ctrl-ref/ctrl-evtchn", gen);
	page = xengnttab_map_grant_ref(xgt, victim, ref,
				       PROT_READ | PROT_WRITE);
	if (!page)
		die("mapping the control page (ref %u): %s", ref,
		    strerror(errno));
	lport = xenevtchn_bind_interdomain(xce, victim, rport);
	if (lport < 0)
		die("binding the control port %u: %s", rport, strerror(errno));
	if (ses.lport)
		xenevtchn_unbind(xce, ses.lport);
	ses.page = page;
	ses.lport = lport;
	ses.gen = nonce;
	hctrl_init(&ses.c, page);
	if (!xs_put_u32(out_dir, "mapped", nonce))
		die("cannot write %s/mapped: %s", out_dir, strerror(errno));
	ses.checked = now();
	return 0;
}

/*
 * The victim may end the session (that is often the right answer to an
 * attack). Look once a second and come back, as a hostile peer would.
 */
static void keep_session(void)
{
	if (now() - ses.checked < 1)
		return;
	ses.checked = now();
	if (xs_get_u32(in_dir, "gen") == ses.gen)
		return;
	rejoins++;
	if (join(false, JOIN_TIMEOUT))
		die("the victim stopped answering requests");
}

static void kick(void)
{
	xenevtchn_notify(xce, ses.lport);
}

/* Send one message, waiting (bounded) for room. 0, or -1 on timeout. */
static int send_msg(const struct yasmin_ctrl_msg *m, double timeout)
{
	double end = now() + timeout;

	while (hctrl_put(&ses.c, m)) {
		if (now() > end)
			return -1;
		drain_events(1);
	}
	kick();
	return 0;
}

/* ---- data channels ---- */

struct chan {
	bool used;
	int state;		/* CH_* */
	u32 conn_id, order, src_port, dst_port;
	u8 flags;		/* the CONNECT's: YASMIN_CONNECT_SEQPACKET */
	double since;
	unsigned int pattern;
	struct hidx idx;	/* what write_indices() wrote last */
	struct hseq seq;	/* what write_records() wrote last */
	/* connector: our pages, granted to the victim */
	void *mem;
	u32 npages;
	u32 refs[YASMIN_INTF_PAGES + (2u << YASMIN_RING_ORDER_MAX)];
	/* acceptor: the victim's pages, mapped */
	void *imap, *rmap;
	u32 nring;
	evtchn_port_t lport;
	struct yasmin_data_intf *intf;
};

enum { CH_SENT, CH_OPEN, CH_GONE };

static struct chan chans[MAX_CHANS];
static unsigned long n_accepted, n_reset, n_shutdown, n_unknown;

static struct chan *chan_find(u32 conn_id)
{
	unsigned int i;

	for (i = 0; i < MAX_CHANS; i++)
		if (chans[i].used && chans[i].conn_id == conn_id)
			return &chans[i];
	return NULL;
}

static struct chan *chan_slot(void)
{
	unsigned int i;

	for (i = 0; i < MAX_CHANS; i++)
		if (!chans[i].used) {
			memset(&chans[i], 0, sizeof(chans[i]));
			chans[i].used = true;
			return &chans[i];
		}
	return NULL;
}

static void chan_free(struct chan *ch)
{
	if (ch->lport)
		xenevtchn_unbind(xce, ch->lport);
	if (ch->mem)
		xengntshr_unshare(xgs, ch->mem, ch->npages);
	if (ch->rmap)
		xengnttab_unmap(xgt, ch->rmap, ch->nring);
	if (ch->imap)
		xengnttab_unmap(xgt, ch->imap, YASMIN_INTF_PAGES);
	ch->used = false;
}

/* gntalloc refuses more than its limit (1024 pages by default) in all. */
static void raise_gntalloc_limit(void)
{
	FILE *f = fopen("/sys/module/xen_gntalloc/parameters/limit", "w");

	if (f) {
		fprintf(f, "%u\n", 1u << 20);
		fclose(f);
	}
}

/* Grant a zeroed channel of rings of 2^@ord pages, as conn.c's connector. */
static struct chan *chan_grant(u32 ord)
{
	struct chan *ch = chan_slot();
	u32 np = 1u << ord, i;
	int lport;

	if (!ch)
		return NULL;
	ch->order = ord;
	ch->npages = YASMIN_INTF_PAGES + 2 * np;
	ch->mem = xengntshr_share_pages(xgs, victim, ch->npages, ch->refs, 1);
	if (!ch->mem) {
		ch->used = false;
		return NULL;
	}
	memset(ch->mem, 0, (size_t)ch->npages * PAGE);
	ch->intf = ch->mem;
	ch->intf->magic = YASMIN_DATA_MAGIC;
	ch->intf->version = YASMIN_PROTO_VERSION;
	ch->intf->ring_order = ord;
	for (i = 0; i < 2 * np; i++)
		((u32 *)((char *)ch->mem + PAGE))[i] =
			ch->refs[YASMIN_INTF_PAGES + i];
	lport = xenevtchn_bind_unbound_port(xce, victim);
	if (lport < 0) {
		xengntshr_unshare(xgs, ch->mem, ch->npages);
		ch->mem = NULL;
		ch->used = false;
		return NULL;
	}
	ch->lport = lport;
	do {
		ch->conn_id = nonzero_rnd();
	} while (chan_find(ch->conn_id) != ch);
	ch->src_port = 0x40000000u + (rnd() & 0xffffff);
	return ch;
}

static void connect_msg(const struct chan *ch, u32 dport,
			struct yasmin_ctrl_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = YASMIN_MSG_CONNECT;
	m->ring_order = ch->order;
	m->src_port = ch->src_port;
	m->dst_port = dport;
	m->conn_id = ch->conn_id;
	m->intf_ref = ch->refs[0];
	m->refs_ref = ch->refs[1];
	m->evtchn = ch->lport;
}

static void simple_msg(u8 type, u8 flags, u32 src, u32 dst, u32 id,
		       struct yasmin_ctrl_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->flags = flags;
	m->src_port = src;
	m->dst_port = dst;
	m->conn_id = id;
}

/*
 * The victim connects to us: map its channel as chan.c's acceptor does,
 * but trusting nothing, and answer ACCEPT. NULL (and a RESET) when its
 * CONNECT is unusable, which would itself be a finding.
 */
static struct chan *chan_accept(const struct yasmin_ctrl_msg *m)
{
	struct chan *ch = chan_slot();
	struct yasmin_ctrl_msg r;
	u32 irefs[YASMIN_INTF_PAGES] = { m->intf_ref, m->refs_ref }, i;
	u32 rrefs[2u << YASMIN_RING_ORDER_MAX];
	int lport;

	if (!ch || m->ring_order > YASMIN_RING_ORDER_MAX)
		goto refuse;
	ch->conn_id = m->conn_id;
	ch->flags = m->flags;
	ch->order = m->ring_order;
	ch->src_port = m->dst_port;
	ch->dst_port = m->src_port;
	ch->nring = 2u << m->ring_order;
	ch->imap = xengnttab_map_domain_grant_refs(xgt, YASMIN_INTF_PAGES,
						   victim, irefs,
						   PROT_READ | PROT_WRITE);
	if (!ch->imap)
		goto refuse;
	for (i = 0; i < ch->nring; i++)
		rrefs[i] = H_LOAD(((u32 *)((char *)ch->imap + PAGE))[i]);
	ch->rmap = xengnttab_map_domain_grant_refs(xgt, ch->nring, victim,
						   rrefs,
						   PROT_READ | PROT_WRITE);
	if (!ch->rmap)
		goto refuse;
	lport = xenevtchn_bind_interdomain(xce, victim, m->evtchn);
	if (lport < 0)
		goto refuse;
	ch->lport = lport;
	ch->intf = ch->imap;
	ch->state = CH_OPEN;
	ch->since = now();
	simple_msg(YASMIN_MSG_ACCEPT, 0, ch->src_port, ch->dst_port,
		   ch->conn_id, &r);
	r.ring_order = ch->order;	/* we take the whole offer */
	/* accept-lie: claim rings one order larger than offered. */
	if (!strcmp(variant, "accept-lie") && ch->order < YASMIN_RING_ORDER_MAX)
		r.ring_order = ch->order + 1;
	send_msg(&r, 5);
	return ch;

refuse:
	printf("hostile: the victim's CONNECT (id %u) was unusable: %s\n",
	       m->conn_id, strerror(errno));
	if (ch)
		chan_free(ch);
	simple_msg(YASMIN_MSG_RESET, 0, m->dst_port, m->src_port, m->conn_id,
		   &r);
	send_msg(&r, 5);
	return NULL;
}

/* Say goodbye on a channel and let it go. */
static void chan_close(struct chan *ch)
{
	struct yasmin_ctrl_msg r;

	if (ch->state != CH_GONE) {
		simple_msg(YASMIN_MSG_RESET, 0, ch->src_port, ch->dst_port,
			   ch->conn_id, &r);
		send_msg(&r, 2);
	}
	chan_free(ch);
}

/*
 * Read every message the victim sent. CONNECTs are accepted when
 * @accept, else refused; answers update our channels. -EPROTO when the
 * victim broke its own ring (a finding too).
 */
static int pump(bool accept)
{
	struct yasmin_ctrl_msg m, r;
	struct chan *ch;
	int got, n = 0;

	while ((got = hctrl_get(&ses.c, &m)) > 0) {
		n++;
		if (m.type <= YASMIN_MSG_MAX)
			rx_msgs[m.type]++;
		ch = chan_find(m.conn_id);
		switch (m.type) {
		case YASMIN_MSG_CONNECT:
			if (accept) {
				chan_accept(&m);
				break;
			}
			simple_msg(YASMIN_MSG_RESET, 0, m.dst_port,
				   m.src_port, m.conn_id, &r);
			send_msg(&r, 2);
			break;
		case YASMIN_MSG_ACCEPT:
			if (ch && ch->state == CH_SENT) {
				/* The victim's listener may take less. */
				if (m.ring_order > ch->order)
					printf("hostile: the victim took rings of order %u, offered %u\n",
					       m.ring_order, ch->order);
				else
					ch->order = m.ring_order;
				ch->state = CH_OPEN;
				ch->since = now();
				ch->dst_port = m.src_port;
				n_accepted++;
			} else {
				n_unknown++;
			}
			break;
		case YASMIN_MSG_RESET:
		case YASMIN_MSG_SHUTDOWN:
			if (!ch) {
				n_unknown++;
				break;
			}
			if (m.type == YASMIN_MSG_RESET)
				n_reset++;
			else
				n_shutdown++;
			ch->state = CH_GONE;
			break;
		default:
			n_unknown++;
		}
	}
	if (n && hctrl_owes_kick(&ses.c))
		kick();
	if (got < 0)
		printf("hostile: the victim broke its control ring (prod %u cons %u)\n",
		       H_LOAD(ses.c.page->o2p.prod), ses.c.rx_cons);
	return got < 0 ? -EPROTO : n;
}

/* Wait (pumping) until @ch is answered or @timeout passes. */
static void wait_answer(struct chan *ch, double timeout)
{
	double end = now() + timeout;

	while (ch->state == CH_SENT && now() < end) {
		pump(false);
		drain_events(2);
	}
}

/* ---- corrupt-indices ---- */

static unsigned long n_violations_reset;

/*
 * Write pattern @pat over @ch's interface page from the victim's latest
 * indices: the stream indices (our two lines; @connector says which side
 * we are), or, on a SOCK_SEQPACKET channel we accepted, its records.
 */
static void write_indices(struct chan *ch, unsigned int pat, bool connector)
{
	struct yasmin_data_intf *in = ch->intf;
	struct yasmin_prod_line *tx = connector ? &in->c2a_prod : &in->a2c_prod;
	struct yasmin_cons_line *txc = connector ? &in->c2a_cons : &in->a2c_cons;
	struct yasmin_prod_line *rxp = connector ? &in->a2c_prod : &in->c2a_prod;
	struct yasmin_cons_line *rx = connector ? &in->a2c_cons : &in->c2a_cons;
	struct hidx *o = &ch->idx;

	hcorrupt(pat, H_LOAD(txc->cons), H_LOAD(rxp->prod), PAGE << ch->order,
		 rnd(), o);
	H_STORE(tx->prod, o->prod);
	H_STORE(tx->want_space, o->want_space);
	H_STORE(rx->window, o->window);
	H_STORE(rx->cons, o->cons);
	H_STORE(rx->want_data, o->want_data);
}

static void write_records(struct chan *ch, unsigned int pat, bool connector)
{
	struct yasmin_data_intf *in = ch->intf;
	u32 vmsg_cons = H_LOAD(in->a2c_cons.msg_cons);
	struct hseq *o = &ch->seq;

	(void)connector;	/* acceptor only */
	hseq_corrupt(pat, H_LOAD(in->a2c_cons.cons), vmsg_cons,
		     H_LOAD(in->c2a_prod.msg_prod), o);
	/* the record first, then prod and msg_prod, as a producer */
	H_STORE(in->a2c_rec[vmsg_cons % YASMIN_MSG_RECS].end, o->rec_end);
	H_STORE(in->a2c_rec[vmsg_cons % YASMIN_MSG_RECS].flags, o->rec_flags);
	H_MB();
	H_STORE(in->a2c_prod.prod, o->prod);
	H_STORE(in->a2c_prod.msg_prod, o->msg_prod);
	/* we read everything it sends, but the records we say */
	H_STORE(in->c2a_cons.cons, H_LOAD(in->c2a_prod.prod));
	H_STORE(in->c2a_cons.msg_cons, o->msg_cons);
}

/* A stream channel we accepted: segments, as a lying zero-copy sender. */
static void write_segments(struct chan *ch, unsigned int pat, bool connector)
{
	struct yasmin_data_intf *in = ch->intf;
	struct hzc o;

	(void)connector;	/* acceptor only */
	hzc_corrupt(pat, H_LOAD(in->a2c_cons.cons), &o);
	/* segment 0, then zc_prod, then prod, as a producer */
	H_STORE(in->a2c_zc[0].pos, o.pos);
	H_STORE(in->a2c_zc[0].gref, o.gref);
	H_STORE(in->a2c_zc[0].offset, o.offset);
	H_STORE(in->a2c_zc[0].len, o.len);
	H_MB();
	H_STORE(in->a2c_prod.zc_prod, o.zc_prod);
	H_MB();
	H_STORE(in->a2c_prod.prod, o.prod);
	/* we read everything it sends */
	H_STORE(in->c2a_cons.cons, H_LOAD(in->c2a_prod.prod));
}

/*
 * Rewrite pattern @pat with @write and kick the victim until it resets
 * the connection or @timeout passes.
 */
static void corrupt_chan(struct chan *ch, unsigned int pat, bool connector,
			 bool accept, double timeout,
			 void (*write)(struct chan *, unsigned int, bool))
{
	double end = now() + timeout;

	while (ch->state == CH_OPEN && now() < end) {
		write(ch, pat, connector);
		H_MB();
		xenevtchn_notify(xce, ch->lport);
		/* the victim's other connects keep coming meanwhile */
		pump(accept);
		drain_events(10);
	}
	if (ch->state == CH_GONE)
		n_violations_reset++;
}

static void mode_corrupt_acceptor(void)
{
	bool seq = !strcmp(variant, "seq-acceptor");
	bool zc = !strcmp(variant, "zc-acceptor");
	unsigned int i, npat = seq ? HS_NR : zc ? HZ_NR : HC_NR;
	double end = now() + secs;
	unsigned long conns = 0;

	while (now() < end && (count < 0 || (long)conns < count)) {
		keep_session();
		pump(true);
		for (i = 0; i < MAX_CHANS; i++) {
			struct chan *ch = &chans[i];

			if (!ch->used)
				continue;
			if (ch->state == CH_GONE) {
				printf("hostile: conn %lu (id %u): gone before we broke it\n",
				       conns++, ch->conn_id);
				chan_free(ch);
				continue;
			}
			ch->pattern = conns % npat;
			printf("hostile: conn %lu (id %u): %s\n", conns,
			       ch->conn_id, seq ? hseq_names[ch->pattern] :
			       zc ? hzc_names[ch->pattern] :
			       hcorrupt_names[ch->pattern]);
			if (seq && !(ch->flags & YASMIN_CONNECT_SEQPACKET))
				printf("hostile: conn %lu: not a SOCK_SEQPACKET connect\n",
				       conns);
			corrupt_chan(ch, ch->pattern, false, true, 3,
				     seq ? write_records :
				     zc ? write_segments : write_indices);
			printf("hostile: conn %lu: %s\n", conns,
			       ch->state == CH_GONE ? "reset by the victim" :
			       "still open after 3 s; we reset it");
			chan_close(ch);
			conns++;
		}
		drain_events(20);
	}
	printf("hostile: corrupt-indices variant=%s conns=%lu reset_by_victim=%lu secs=%.1f\n",
	       *variant ? variant : "acceptor", conns, n_violations_reset,
	       secs - (end - now()));
}

/*
 * Accept each of the victim's connects claiming larger rings than it
 * offered (chan_accept()): it must reset every one rather than write past
 * the pages it granted.
 */
static void mode_accept_lie(void)
{
	double end = now() + secs, wait;
	unsigned long conns = 0, reset = 0;
	unsigned int i;

	while (now() < end && (count < 0 || (long)conns < count)) {
		keep_session();
		pump(true);
		for (i = 0; i < MAX_CHANS; i++) {
			struct chan *ch = &chans[i];

			if (!ch->used)
				continue;
			wait = now() + 3;
			while (ch->state == CH_OPEN && now() < wait) {
				pump(true);
				drain_events(10);
			}
			printf("hostile: conn %lu (id %u): %s\n", conns,
			       ch->conn_id, ch->state == CH_GONE ?
			       "reset by the victim" : "still open after 3 s");
			reset += ch->state == CH_GONE;
			chan_close(ch);
			conns++;
		}
		drain_events(20);
	}
	printf("hostile: corrupt-indices variant=accept-lie conns=%lu reset_by_victim=%lu secs=%.1f\n",
	       conns, reset, secs - (end - now()));
}

static void mode_corrupt_connector(void)
{
	double end = now() + secs;
	unsigned long conns = 0, refused = 0;
	struct yasmin_ctrl_msg m;
	struct chan *ch;

	while (now() < end && (count < 0 || (long)conns < count)) {
		keep_session();
		ch = chan_grant(order);
		if (!ch)
			die("cannot grant a channel: %s", strerror(errno));
		connect_msg(ch, port, &m);
		send_msg(&m, 5);
		wait_answer(ch, 5);
		if (ch->state != CH_OPEN) {
			refused++;
			chan_free(ch);
			drain_events(100);
			continue;
		}
		ch->pattern = conns % HC_NR;
		printf("hostile: conn %lu (id %u): %s\n", conns, ch->conn_id,
		       hcorrupt_names[ch->pattern]);
		corrupt_chan(ch, ch->pattern, true, false, 3, write_indices);
		printf("hostile: conn %lu: %s\n", conns,
		       ch->state == CH_GONE ? "reset by the victim" :
		       "still open after 3 s; we reset it");
		chan_close(ch);
		conns++;
	}
	printf("hostile: corrupt-indices variant=connector conns=%lu reset_by_victim=%lu refused=%lu secs=%.1f\n",
	       conns, n_violations_reset, refused, secs - (end - now()));
}

/*
 * The control ring itself: our prod beyond the ring, then the victim's
 * consumer index of its own ring moved where it cannot be. After each the
 * session should end; we come back with a new request.
 */
static void mode_corrupt_ctrl(void)
{
	static const char *const names[] = {
		"p2o-prod-33-ahead", "p2o-prod-2^31-ahead", "p2o-prod-behind",
		"o2p-cons-ahead-of-prod", "o2p-cons-2^31-off",
	};
	unsigned long rounds = 0, ended = 0, i;
	double end = now() + secs, t;
	struct yasmin_ctrl_msg m;
	u32 vprod, vcons;

	for (i = 0; now() < end && (count < 0 || (long)rounds < count); i++) {
		unsigned int pat = i % 5;

		vcons = H_LOAD(ses.c.page->p2o.cons);
		vprod = H_LOAD(ses.c.page->o2p.prod);
		switch (pat) {
		case 0: H_STORE(ses.c.page->p2o.prod, vcons + 33); break;
		case 1: H_STORE(ses.c.page->p2o.prod, vcons + 0x80000000u); break;
		case 2: H_STORE(ses.c.page->p2o.prod, vcons - 1); break;
		case 3: H_STORE(ses.c.page->o2p.cons, vprod + 5); break;
		case 4: H_STORE(ses.c.page->o2p.cons, vprod + 0x80000000u); break;
		}
		/*
		 * A broken o2p.cons only shows when the victim has something
		 * to send: ask it for an answer (ACCEPT for an unknown id).
		 */
		if (pat >= 3) {
			simple_msg(YASMIN_MSG_ACCEPT, 0, 1, 1, nonzero_rnd(), &m);
			hctrl_put(&ses.c, &m);
		}
		kick();
		rounds++;
		/*
		 * A broken prod is seen at the next event; a broken cons only
		 * as a ring that never drains, which a victim may give its
		 * stall timeout (10 s in kmod/ctrl.c) before ending it.
		 */
		t = now();
		while (now() - t < 15 && xs_get_u32(in_dir, "gen") == ses.gen)
			drain_events(20);
		if (xs_get_u32(in_dir, "gen") != ses.gen) {
			ended++;
			printf("hostile: round %lu (%s): the victim ended the session after %.2f s\n",
			       rounds, names[pat], now() - t);
		} else {
			printf("hostile: round %lu (%s): session still up after 15 s\n",
			       rounds, names[pat]);
		}
		if (join(false, JOIN_TIMEOUT))
			die("the victim stopped answering requests");
	}
	printf("hostile: corrupt-indices variant=ctrl rounds=%lu sessions_ended=%lu\n",
	       rounds, ended);
}

/* ---- bogus-connect ---- */

static void mode_bogus(void)
{
	static const char *const got_names[] = { "nothing", "ACCEPT", "RESET" };
	unsigned long cases = 0, unexpected = 0, i;
	u32 other_ref;
	struct hbogus_ctx x;
	struct yasmin_ctrl_msg m;
	double end = now() + secs;
	void *other_page;
	int other_port;

	other_page = xengntshr_share_pages(xgs, 0, 1, &other_ref, 1);
	other_port = xenevtchn_bind_unbound_port(xce, 0);
	if (!other_page || other_port < 0)
		die("cannot grant a page or reserve a port for dom0: %s",
		    strerror(errno));
	for (i = 0; now() < end && (count < 0 || (long)i < count); i++) {
		unsigned int c = i % HB_NR;
		const struct hbogus *b = &hbogus_cases[c];
		struct chan *ch = chan_grant(order);
		int got;

		if (!ch)
			die("cannot grant a channel: %s", strerror(errno));
		memset(&x, 0, sizeof(x));
		x.intf_ref = ch->refs[0];
		x.refs_ref = ch->refs[1];
		x.ring_refs = &ch->refs[YASMIN_INTF_PAGES];
		x.order = order;
		x.evtchn = ch->lport;
		x.bound_port = ses.lport;
		x.other_port = other_port;
		x.other_ref = other_ref;
		x.src_port = ch->src_port;
		x.dst_port = port;
		x.conn_id = ch->conn_id;
		hbogus_build(c, &x, &m, ch->intf,
			     (u32 *)((char *)ch->mem + PAGE));
		/* Answers come back keyed by the id we sent, if any. */
		if (m.conn_id != ch->conn_id)
			ch->conn_id = m.conn_id;
		send_msg(&m, 5);
		wait_answer(ch, b->expect == H_DROP ? 1 : 5);
		got = ch->state == CH_OPEN ? 1 : ch->state == CH_GONE ? 2 : 0;
		if ((b->expect == H_DROP && got) ||
		    (b->expect == H_RESET && got != 2) ||
		    (b->expect == H_ANSWER && !got)) {
			unexpected++;
			printf("hostile: UNEXPECTED ");
		} else {
			printf("hostile: ");
		}
		printf("case %s: victim answered %s (expected %s)\n", b->name,
		       got_names[got], b->expect == H_DROP ? "nothing" :
		       b->expect == H_RESET ? "RESET" : "an answer");
		if (ch->state == CH_OPEN)
			chan_close(ch);
		else
			chan_free(ch);
		cases++;
	}
	/* Answers about messages we never made a channel for. */
	simple_msg(YASMIN_MSG_ACCEPT, 0, 1, port, nonzero_rnd(), &m);
	send_msg(&m, 5);
	simple_msg(YASMIN_MSG_RESET, 0, 1, port, nonzero_rnd(), &m);
	send_msg(&m, 5);
	simple_msg(YASMIN_MSG_SHUTDOWN, YASMIN_SHUT_MASK, 1, port,
		   nonzero_rnd(), &m);
	send_msg(&m, 5);
	end = now() + 1;
	while (now() < end) {
		pump(false);
		drain_events(10);
	}
	xengntshr_unshare(xgs, other_page, 1);
	xenevtchn_unbind(xce, other_port);
	printf("hostile: bogus-connect cases=%lu unexpected=%lu stray_answers=%lu\n",
	       cases, unexpected, n_unknown);
}

/* ---- connect-flood ---- */

static void mode_flood(void)
{
	unsigned long sent = 0, to_unbound = 0, no_res = 0, inflight, peak = 0;
	double t0 = now(), end = t0 + secs;
	struct yasmin_ctrl_msg m;
	struct chan *ch;
	unsigned int i;

	if (window > MAX_CHANS)
		window = MAX_CHANS;
	while (now() < end && (count < 0 || (long)sent < count)) {
		keep_session();
		pump(false);
		inflight = 0;
		for (i = 0; i < MAX_CHANS; i++) {
			if (chans[i].used && chans[i].state == CH_GONE)
				chan_free(&chans[i]);
			else if (chans[i].used)
				inflight++;
		}
		if (inflight > peak)
			peak = inflight;
		if (inflight >= window || hctrl_full(&ses.c)) {
			drain_events(5);
			continue;
		}
		ch = chan_grant(order);
		if (!ch) {
			/* Out of ports or grants: wait for the victim. */
			no_res++;
			drain_events(20);
			continue;
		}
		connect_msg(ch, uport && (sent & 1) ? uport : port, &m);
		if (uport && (sent & 1))
			to_unbound++;
		hctrl_put(&ses.c, &m);
		kick();
		sent++;
		drain_events(0);
	}
	/* Let the last CONNECTs be answered before counting. */
	end = now() + 10;
	do {
		pump(false);
		drain_events(10);
		for (i = 0, inflight = 0; i < MAX_CHANS; i++)
			inflight += chans[i].used && chans[i].state == CH_SENT;
	} while (inflight && now() < end);
	inflight = 0;
	for (i = 0; i < MAX_CHANS; i++)
		inflight += chans[i].used && chans[i].state == CH_OPEN;
	printf("hostile: connect-flood sent=%lu to_unbound=%lu accepted=%lu reset=%lu shutdown=%lu peak_inflight=%lu open_at_end=%lu waits_for_resources=%lu secs=%.1f rate=%.0f/s\n",
	       sent, to_unbound, n_accepted, n_reset, n_shutdown, peak,
	       inflight, no_res, now() - t0, sent / (now() - t0));
	/* Hold what is open, never reading, then exit without goodbyes. */
	end = now() + hold;
	while (now() < end) {
		pump(false);
		drain_events(50);
	}
}

/* ---- request-churn ---- */

static void mode_churn(void)
{
	unsigned long n = 0, failed = 0;
	double t0 = now(), end = t0 + secs;

	/*
	 * A victim that serves a new page only once the old one is let go
	 * leaves our requests unanswered: that is its defence, counted, not
	 * a failure of the run.
	 */
	while (now() < end && (count < 0 || (long)(n + failed) < count)) {
		if (join(true, 2))
			failed++;
		else
			n++;
	}
	printf("hostile: request-churn requests=%lu answered=%lu unanswered=%lu pages_kept_mapped=%lu secs=%.1f hold=%u\n",
	       n + failed, n, failed, n + 1, now() - t0, hold);
	fflush(stdout);
	sleep(hold);
}

/* ---- ctrl-fill ---- */

static void mode_fill(void)
{
	unsigned long sent = 0, accepts = 0, connects = 0, fulls = 0;
	double t0 = now(), end = t0 + secs;
	struct yasmin_ctrl_msg m;

	while (now() < end) {
		keep_session();
		if (hctrl_full(&ses.c)) {
			fulls++;
			drain_events(1);
			continue;
		}
		if (rnd() & 1) {
			simple_msg(YASMIN_MSG_ACCEPT, 0, rnd() | 1, rnd() | 1,
				   nonzero_rnd(), &m);
			accepts++;
		} else {
			simple_msg(YASMIN_MSG_CONNECT, 0, rnd() | 1,
				   0x50000000u + (rnd() & 0xfffff),
				   nonzero_rnd(), &m);
			m.intf_ref = 8;
			m.refs_ref = 9;
			m.evtchn = 1;
			connects++;
		}
		hctrl_put(&ses.c, &m);
		sent++;
		if (!(sent % 16))
			kick();
	}
	kick();
	printf("hostile: ctrl-fill sent=%lu accepts_for_unknown_ids=%lu connects_to_unbound_ports=%lu ring_full_waits=%lu victim_unread_answers=%u secs=%.1f rate=%.0f/s\n",
	       sent, accepts, connects, fulls,
	       H_LOAD(ses.c.page->o2p.prod) - ses.c.rx_cons, now() - t0,
	       sent / (now() - t0));
	fflush(stdout);
	sleep(hold);
}

/* ---- pin ---- */

/*
 * Every page the victim lets go stays mapped here: its grants linger.
 * It must stop giving us new connections at its max_peer_lingering, and
 * get every page back when we exit (gntdev unmaps what a process held).
 */
static void mode_pin(void)
{
	double t0 = now(), end = t0 + secs;
	unsigned long conns = 0, pages = 0, closed = 0;
	unsigned int i;

	while (now() < end && (count < 0 || (long)conns < count)) {
		keep_session();
		pump(true);
		for (i = 0; i < MAX_CHANS; i++) {
			struct chan *ch = &chans[i];

			/* pattern marks a channel already counted */
			if (!ch->used || ch->pattern)
				continue;
			ch->pattern = 1;
			conns++;
			pages += YASMIN_INTF_PAGES + ch->nring;
		}
		drain_events(20);
	}
	for (i = 0; i < MAX_CHANS; i++)
		closed += chans[i].used && chans[i].state == CH_GONE;
	printf("hostile: pin conns=%lu pages_pinned=%lu closed_by_victim=%lu secs=%.1f hold=%u\n",
	       conns, pages, closed, now() - t0, hold);
	fflush(stdout);
	end = now() + hold;
	while (now() < end) {
		keep_session();
		pump(false);
		drain_events(100);
	}
}

/* ---- evtchn-storm ---- */

static void mode_storm(void)
{
	bool ctrl = !strcmp(variant, "ctrl") || !strcmp(variant, "both");
	bool data = !strcmp(variant, "data") || !strcmp(variant, "both");
	unsigned long n = 0, fails = 0;
	struct yasmin_ctrl_msg m;
	struct chan *ch = NULL;
	double t0, end;

	if (!ctrl && !data)
		die("evtchn-storm needs -r ctrl, data or both");
	if (data) {
		ch = chan_grant(order);
		if (!ch)
			die("cannot grant a channel: %s", strerror(errno));
		connect_msg(ch, port, &m);
		send_msg(&m, 5);
		wait_answer(ch, 5);
		if (ch->state != CH_OPEN)
			die("the victim did not accept our connect to port %u",
			    port);
	}
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		unsigned int k;

		for (k = 0; k < 1024; k++) {
			if (ctrl && xenevtchn_notify(xce, ses.lport))
				fails++;
			if (data && xenevtchn_notify(xce, ch->lport))
				fails++;
			n += ctrl + data;
		}
		drain_events(0);
	}
	t0 = now() - t0;
	printf("hostile: evtchn-storm variant=%s events=%lu failed_notifies=%lu secs=%.1f rate=%.0f/s\n",
	       variant, n, fails, t0, n / t0);
	if (ch) {
		pump(false);
		chan_close(ch);
	}
}

/* ---- xs-garbage ---- */

static void mode_xs_garbage(void)
{
	static const char *const keys[] = {
		"request", "mapped", "want", "gen", "ctrl-ref", "ctrl-evtchn",
		"version", "junk", "request/sub", "deep/a/b/c/d/e/f/g",
	};
	static const char *const vals[] = {
		"", "0", "-1", "abc", "4294967295", "4294967296",
		"99999999999999999999999999", "0x10", " 17", "17 ", "17abc",
		"+5", "1e9", "\xff\xfe\x01", "%s%n%s",
	};
	char big[4097], path[200], junk[48], *dirs[2] = { out_dir, in_dir };
	unsigned long writes = 0, wfail = 0, rms = 0, denied = 0, rounds, k;
	unsigned int d, i, j;
	double t0 = now();
	u32 bin[64];

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (i = 0; i < 64; i++)
		bin[i] = rnd();
	rounds = count < 0 ? 3 : count;
	for (k = 0; k < rounds && now() - t0 < secs; k++) {
		for (d = 0; d < 2; d++) {
			for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
				for (j = 0; j < sizeof(vals) / sizeof(*vals); j++) {
					if (xs_put(dirs[d], keys[i], vals[j],
						   strlen(vals[j])))
						writes++;
					else
						wfail++;
				}
				/* long and binary values, NULs included */
				writes += xs_put(dirs[d], keys[i], big, 4096);
				writes += xs_put(dirs[d], keys[i], big, 2048);
				writes += xs_put(dirs[d], keys[i], bin,
						 sizeof(bin));
				writes += xs_put_u32(dirs[d], keys[i], rnd());
			}
			for (i = 0; i < 100; i++) {
				snprintf(junk, sizeof(junk), "junk-%u-%u", i,
					 rnd());
				if (xs_put(dirs[d], junk, "x", 1)) {
					writes++;
					rms += xs_del(dirs[d], junk);
				}
			}
			for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
				rms += xs_del(dirs[d], keys[i]);
			xs_del(dirs[d], "deep");
		}
	}
	/*
	 * The victim's pair with the third domain, both ways, and the
	 * victim's own directory must be out of our reach (yasmin-xs's ACL).
	 */
	if (third != ~0u) {
		char probes[3][200];

		snprintf(probes[0], sizeof(probes[0]), "%s/%u/%u/request",
			 YASMIN_XS_BASE, victim, third);
		snprintf(probes[1], sizeof(probes[1]), "%s/%u/%u/gen",
			 YASMIN_XS_BASE, third, victim);
		snprintf(probes[2], sizeof(probes[2]), "%s/%u/junk",
			 YASMIN_XS_BASE, victim);
		for (i = 0; i < 3; i++) {
			if (!xs_write(xs, XBT_NULL, probes[i], "1", 1)) {
				denied++;
				continue;
			}
			printf("hostile: WROTE %s: the ACL lets us in\n",
			       probes[i]);
			xs_rm(xs, XBT_NULL, probes[i]);
		}
	}
	if (rm_pair) {
		snprintf(path, sizeof(path), "%s", out_dir);
		printf("hostile: removing our pair directory %s: %s\n", path,
		       xs_rm(xs, XBT_NULL, path) ? "done" : strerror(errno));
	}
	printf("hostile: xs-garbage rounds=%lu writes=%lu refused_writes=%lu removes=%lu foreign_writes_denied=%lu secs=%.1f\n",
	       k, writes, wfail, rms, denied, now() - t0);
}

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "yasmin-hostile: %s\n", why);
	fprintf(stderr,
		"usage: yasmin-hostile -c VICTIM_CID [-t SECS] [-n COUNT] [-p PORT]\n"
		"           [-U UNBOUND_PORT] [-o ORDER] [-w WINDOW] [-r VARIANT]\n"
		"           [-H HOLD_SECS] [-3 THIRD_DOMID] [-R] [-s SEED] MODE\n"
		"MODE: corrupt-indices (-r acceptor|seq-acceptor|zc-acceptor|accept-lie|connector|ctrl)\n"
		"      bogus-connect\n"
		"      connect-flood request-churn ctrl-fill\n"
		"      evtchn-storm (-r ctrl|data|both) pin xs-garbage\n"
		"Exit: 0 attack ran, 2 usage, 3 setup failed.\n");
	exit(EXIT_USAGE);
}

static long num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		usage(what);
	return v;
}

int main(int argc, char **argv)
{
	const char *mode;
	char *dom;
	unsigned int len;
	int opt;

	seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((opt = getopt(argc, argv, "c:t:n:p:U:o:w:r:H:3:Rs:h")) != -1) {
		switch (opt) {
		case 'c': victim = num(optarg, 2, 32751 + 2, "bad CID") - 2; break;
		case 't': secs = num(optarg, 1, 3600, "bad seconds"); break;
		case 'n': count = num(optarg, 0, 10000000, "bad count"); break;
		case 'p': port = num(optarg, 1, UINT32_MAX, "bad port"); break;
		case 'U': uport = num(optarg, 1, UINT32_MAX, "bad port"); break;
		case 'o':
			order = num(optarg, 0, YASMIN_RING_ORDER_MAX,
				    "ring order must be 0..9");
			break;
		case 'w': window = num(optarg, 1, MAX_CHANS, "bad window"); break;
		case 'r': variant = optarg; break;
		case 'H': hold = num(optarg, 0, 3600, "bad hold seconds"); break;
		case '3': third = num(optarg, 0, 32751, "bad domid"); break;
		case 'R': rm_pair = 1; break;
		case 's': seed = num(optarg, 1, LONG_MAX, "bad seed"); break;
		default: usage(NULL);
		}
	}
	if (optind != argc - 1)
		usage("give exactly one MODE");
	mode = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("hostile: seed %" PRIu64 "\n", seed);
	if (!seed)
		seed = 1;

	xs = xs_open(0);
	if (!xs)
		die("xs_open: %s", strerror(errno));
	dom = xs_read(xs, XBT_NULL, "domid", &len);
	if (!dom)
		die("cannot read our domid: %s", strerror(errno));
	self = strtoul(dom, NULL, 10);
	free(dom);
	if (!victim)
		usage("-c VICTIM_CID is required");
	if (self <= victim)
		die("we are domain %u, the victim %u: the attacker must have the higher domid (the non-owner)",
		    self, victim);
	/* in: what the victim (owner) tells us; out: what we tell it. */
	snprintf(in_dir, sizeof(in_dir), "%s/%u/%u", YASMIN_XS_BASE, self,
		 victim);
	snprintf(out_dir, sizeof(out_dir), "%s/%u/%u", YASMIN_XS_BASE, victim,
		 self);
	printf("hostile: domain %u against domain %u, mode %s\n", self,
	       victim, mode);
	if (!strcmp(mode, "xs-garbage")) {
		mode_xs_garbage();
		return EXIT_OK;
	}

	xgt = xengnttab_open(NULL, 0);
	xgs = xengntshr_open(NULL, 0);
	xce = xenevtchn_open(NULL, 0);
	if (!xgt || !xgs || !xce)
		die("opening /dev/xen/gntdev, gntalloc or evtchn: %s",
		    strerror(errno));
	xengnttab_set_max_grants(xgt, 1u << 20);
	raise_gntalloc_limit();
	if (join(false, JOIN_TIMEOUT))
		die("the victim did not answer our request within %.0f s",
		    JOIN_TIMEOUT);
	printf("hostile: joined control channel gen %u\n", ses.gen);

	if (!strcmp(mode, "corrupt-indices")) {
		if (!strcmp(variant, "connector")) {
			if (!port)
				usage("-r connector needs -p PORT");
			mode_corrupt_connector();
		} else if (!strcmp(variant, "ctrl")) {
			mode_corrupt_ctrl();
		} else if (!strcmp(variant, "accept-lie")) {
			mode_accept_lie();
		} else if (!*variant || !strcmp(variant, "acceptor") ||
			   !strcmp(variant, "seq-acceptor") ||
			   !strcmp(variant, "zc-acceptor")) {
			mode_corrupt_acceptor();
		} else {
			usage("-r must be acceptor, seq-acceptor, zc-acceptor, accept-lie, connector or ctrl");
		}
	} else if (!strcmp(mode, "bogus-connect")) {
		if (!port)
			usage("bogus-connect needs -p PORT");
		mode_bogus();
	} else if (!strcmp(mode, "connect-flood")) {
		if (!port)
			usage("connect-flood needs -p PORT");
		mode_flood();
	} else if (!strcmp(mode, "pin")) {
		mode_pin();
	} else if (!strcmp(mode, "request-churn")) {
		mode_churn();
	} else if (!strcmp(mode, "ctrl-fill")) {
		mode_fill();
	} else if (!strcmp(mode, "evtchn-storm")) {
		if (strcmp(variant, "ctrl") && !port)
			usage("evtchn-storm -r data|both needs -p PORT");
		mode_storm();
	} else {
		usage("unknown MODE");
	}
	printf("hostile: victim sent connect=%lu accept=%lu reset=%lu shutdown=%lu; rejoins=%lu\n",
	       rx_msgs[YASMIN_MSG_CONNECT], rx_msgs[YASMIN_MSG_ACCEPT],
	       rx_msgs[YASMIN_MSG_RESET], rx_msgs[YASMIN_MSG_SHUTDOWN],
	       rejoins);
	return EXIT_OK;
}
