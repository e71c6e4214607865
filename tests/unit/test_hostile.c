// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-hostile's pure half (tests/prog/hostile.h), checked against the
 * module's own rules: each bogus-connect case is rejected by
 * yasmin_msg_check() exactly when the tool expects no answer, each
 * corrupt-indices pattern breaks prod - cons <= size as kmod/ring.h judges
 * it, and the control ring it drives keeps the victim's invariants.
 */
// utest-sources: kmod/proto.c
#include <stdint.h>
#include "utest.h"
#include "kmod/ring.h"
#include "tests/prog/hostile.h"

static u32 ring_refs[2u << YASMIN_RING_ORDER_MAX];

static struct hbogus_ctx ctx(u8 order)
{
	u32 i;

	for (i = 0; i < (2u << order); i++)
		ring_refs[i] = 100 + i;
	return (struct hbogus_ctx){
		.intf_ref = 10, .refs_ref = 11, .ring_refs = ring_refs,
		.order = order, .evtchn = 40, .bound_port = 5,
		.other_port = 41, .other_ref = 12, .src_port = 0x40000001,
		.dst_port = 7200, .conn_id = 0xabcdef01,
	};
}

UTEST(bogus_drop_cases_fail_the_message_check_and_no_others_do)
{
	static struct yasmin_data_intf intf;
	static u32 refs[2u << YASMIN_RING_ORDER_MAX];
	struct yasmin_ctrl_msg m;
	unsigned int i, order;

	for (order = 0; order <= YASMIN_RING_ORDER_MAX; order++) {
		struct hbogus_ctx x = ctx(order);

		for (i = 0; i < HB_NR; i++) {
			hbogus_build(i, &x, &m, &intf, refs);
			if (hbogus_cases[i].expect == H_DROP) {
				if (!yasmin_msg_check(&m))
					UT_FAIL("%s passes the check", hbogus_cases[i].name);
			} else if (yasmin_msg_check(&m)) {
				UT_FAIL("%s is dropped before it tests anything",
					hbogus_cases[i].name);
			}
		}
	}
}

UTEST(bogus_cases_break_one_thing_each)
{
	static struct yasmin_data_intf intf;
	static u32 refs[2u << YASMIN_RING_ORDER_MAX];
	struct hbogus_ctx x = ctx(2);
	struct yasmin_ctrl_msg m;
	unsigned int i, k, n = 2u << 2;

	hbogus_build(HB_VALID, &x, &m, &intf, refs);
	UT_ASSERT_EQ(yasmin_msg_check(&m), 0);
	UT_ASSERT_EQ(m.type, YASMIN_MSG_CONNECT);
	UT_ASSERT_EQ(intf.magic, YASMIN_DATA_MAGIC);
	UT_ASSERT_EQ(intf.ring_order, 2);
	for (k = 0; k < n; k++)
		UT_ASSERT_EQ(refs[k], 100 + k);

	hbogus_build(HB_REPEATED_REFS, &x, &m, &intf, refs);
	for (k = 0; k < n; k++)
		UT_ASSERT_EQ(refs[k], 100);
	hbogus_build(HB_BAD_MAGIC, &x, &m, &intf, refs);
	UT_ASSERT(intf.magic != YASMIN_DATA_MAGIC);
	hbogus_build(HB_ORDER_MISMATCH, &x, &m, &intf, refs);
	UT_ASSERT(intf.ring_order != m.ring_order);
	hbogus_build(HB_NO_LISTENER, &x, &m, &intf, refs);
	UT_ASSERT(m.dst_port != x.dst_port);
	/* Every case has a name, and the names are distinct. */
	for (i = 0; i < HB_NR; i++) {
		UT_ASSERT(hbogus_cases[i].name);
		for (k = 0; k < i; k++)
			UT_ASSERT(strcmp(hbogus_cases[i].name, hbogus_cases[k].name));
	}
}

UTEST(corrupt_patterns_break_the_ring_invariant)
{
	static const u32 starts[] = { 0, 1, 4096, 0x7fffffff, 0xfffff000, 0xffffffff };
	unsigned int i, a, b, order;
	struct hidx o;

	for (order = 0; order <= YASMIN_RING_ORDER_MAX; order++) {
		u32 size = yasmin_ring_order_bytes(order);

		for (a = 0; a < 6; a++) {
			for (b = 0; b < 6; b++) {
				u32 vcons = starts[a], vprod = starts[b];

				for (i = 0; i < HC_NR; i++) {
					bool broken;

					o = (struct hidx){ 0 };
					hcorrupt(i, vcons, vprod, size, 12345, &o);
					/* the victim's view: our prod vs its cons,
					 * its prod vs our cons */
					broken = yasmin_ring_span(o.prod, vcons, size) < 0 ||
						 yasmin_ring_span(vprod, o.cons, size) < 0;
					if (i == HC_WANT_WORDS || i == HC_CONS_BACK)
						UT_ASSERT(!broken);
					else if (i != HC_RANDOM && !broken)
						UT_FAIL("%s leaves the ring valid",
							hcorrupt_names[i]);
				}
			}
		}
	}
}

/*
 * cons-moves-back: every write is a valid snapshot for a victim that sent
 * all the window allows, and every other one is behind the first.
 */
UTEST(cons_back_keeps_the_span_and_moves_back)
{
	static const u32 starts[] = { 0, 1, 4096, 0x7fffffff, 0xfffff000, 0xffffffff };
	unsigned int a, k, order;

	for (order = 0; order <= YASMIN_RING_ORDER_MAX; order++) {
		u32 size = yasmin_ring_order_bytes(order);

		for (a = 0; a < 6; a++) {
			struct hidx o = { 0 };
			u32 first, vprod;

			hcorrupt(HC_CONS_BACK, 0, starts[a], size, 7, &o);
			first = o.cons;
			UT_ASSERT_EQ(first, starts[a]);
			UT_ASSERT_EQ(o.window, size / 2);
			/* the victim sends all the window lets it */
			vprod = first + size / 2;
			for (k = 1; k <= 4; k++) {
				hcorrupt(HC_CONS_BACK, 0, vprod, size, 7, &o);
				UT_ASSERT(yasmin_ring_span(vprod, o.cons, size) >= 0);
				if (k & 1)
					UT_ASSERT((int32_t)(o.cons - first) < 0);
				else
					UT_ASSERT_EQ(o.cons, first);
			}
		}
	}
}

UTEST(seqpacket_patterns_break_a_record_rule_and_only_that)
{
	static const u32 starts[] = { 0, 1, 127, 128, 4096, 0x7fffffff, 0xffffff80, 0xffffffff };
	unsigned int i, a, b, c;
	struct hseq o;

	for (a = 0; a < 8; a++)
		for (b = 0; b < 8; b++)
			for (c = 0; c < 8; c++) {
				u32 vcons = starts[a], vmc = starts[b], vmp = starts[c];

				/* no pattern: nothing broken */
				o = (struct hseq){ 0 };
				hseq_corrupt(HS_NR, vcons, vmc, vmp, &o);
				UT_ASSERT_EQ(hseq_broken(&o, vcons, vmc, vmp), 0);
				for (i = 0; i < HS_NR; i++) {
					o = (struct hseq){ 0 };
					hseq_corrupt(i, vcons, vmc, vmp, &o);
					/* valid alone: it breaks an order */
					if (i == HS_MSG_CONS_BACK)
						UT_ASSERT_EQ(hseq_broken(&o, vcons, vmc, vmp), 0);
					else if (!hseq_broken(&o, vcons, vmc, vmp))
						UT_FAIL("%s breaks nothing", hseq_names[i]);
					/* the byte ring stays valid on its own */
					UT_ASSERT(yasmin_ring_span(o.prod, vcons, 4096) >= 0);
				}
			}
	for (i = 0; i < HS_NR; i++)
		UT_ASSERT(hseq_names[i]);
}

/*
 * msg-cons-moves-back: every write is a valid snapshot while the victim
 * keeps publishing, every even one takes all it published, and every odd
 * one is behind the write before it.
 */
UTEST(msg_cons_back_keeps_the_records_and_moves_back)
{
	static const u32 starts[] = { 0, 1, 127, 128, 0x7fffffff, 0xffffff80, 0xffffffff };
	unsigned int a, k;

	for (a = 0; a < 7; a++) {
		struct hseq o = { 0 };
		u32 vmp = starts[a], prev = 0;

		for (k = 0; k < 12; k++) {
			hseq_corrupt(HS_MSG_CONS_BACK, 0, 0, vmp, &o);
			UT_ASSERT_EQ(hseq_broken(&o, 0, 0, vmp), 0);
			if (k & 1)
				UT_ASSERT((int32_t)(o.msg_cons - prev) < 0);
			else
				UT_ASSERT_EQ(o.msg_cons, vmp);
			prev = o.msg_cons;
			/* the victim goes on sending, up to a ring of records */
			vmp += k % 3 == 2 ? YASMIN_MSG_RECS - 1 : k % 3;
		}
	}
}

UTEST(zerocopy_patterns_break_a_segment_rule_or_name_an_ungranted_page)
{
	static const u32 starts[] = { 0, 1, 63, 64, 4096, 0x7fffffff, 0xffffffc0, 0xffffffff };
	unsigned int i, a;
	struct hzc o;

	for (a = 0; a < 8; a++) {
		u32 vcons = starts[a];

		for (i = 0; i < HZ_NR; i++) {
			hzc_corrupt(i, vcons, &o);
			/* the byte ring stays valid on its own */
			UT_ASSERT(yasmin_ring_span(o.prod, vcons, 4096) >= 0);
			if (i == HZ_UNGRANTED) {
				/* a valid segment: only Xen's copy can fail */
				UT_ASSERT_EQ(hzc_broken(&o, vcons, 4096), 0);
				UT_ASSERT_EQ(o.gref, HZC_UNGRANTED_REF);
			} else if (!hzc_broken(&o, vcons, 4096)) {
				UT_FAIL("%s breaks nothing", hzc_names[i]);
			}
		}
	}
	for (i = 0; i < HZ_NR; i++)
		UT_ASSERT(hzc_names[i]);
}

UTEST(ctrl_ring_put_get_respect_the_slots)
{
	static struct yasmin_ctrl_page page;
	struct yasmin_ctrl_msg m = { .type = YASMIN_MSG_RESET, .conn_id = 1 };
	struct hctrl c;
	unsigned int i;

	memset(&page, 0, sizeof(page));
	hctrl_init(&c, &page);
	for (i = 0; i < YASMIN_CTRL_SLOTS; i++) {
		m.conn_id = i + 1;
		UT_ASSERT_EQ(hctrl_put(&c, &m), 0);
	}
	UT_ASSERT_EQ(page.p2o.want_space, 0);
	UT_ASSERT_EQ(hctrl_put(&c, &m), -EAGAIN);
	UT_ASSERT_EQ(page.p2o.want_space, YASMIN_NOTIFY_ON);
	UT_ASSERT_EQ(page.p2o.prod, YASMIN_CTRL_SLOTS);
	UT_ASSERT_EQ(page.p2o_msg[3].conn_id, 4);
	/* The victim consumes one: one slot frees. */
	page.p2o.cons = 1;
	m.conn_id = 99;
	UT_ASSERT_EQ(hctrl_put(&c, &m), 0);
	UT_ASSERT_EQ(page.p2o_msg[0].conn_id, 99);

	/* Reading o2p, across the 2^32 wrap of the indices. */
	page.o2p.prod = 0xffffffffu;
	page.o2p.cons = 0xfffffffeu;
	c.rx_cons = 0xfffffffeu;
	page.o2p_msg[0xfffffffeu % YASMIN_CTRL_SLOTS].conn_id = 7;
	UT_ASSERT_EQ(hctrl_get(&c, &m), 1);
	UT_ASSERT_EQ(m.conn_id, 7);
	UT_ASSERT_EQ(page.o2p.cons, 0xffffffffu);
	UT_ASSERT_EQ(hctrl_get(&c, &m), 0);
	/* The victim's want_space is answered once. */
	page.o2p.want_space = YASMIN_NOTIFY_ON;
	UT_ASSERT(hctrl_owes_kick(&c));
	UT_ASSERT(!hctrl_owes_kick(&c));
	/* A victim that breaks its own ring is reported, not followed. */
	page.o2p.prod = c.rx_cons + YASMIN_CTRL_SLOTS + 1;
	UT_ASSERT_EQ(hctrl_get(&c, &m), -EPROTO);
	UT_ASSERT_EQ(page.o2p.cons, 0xffffffffu);
}
