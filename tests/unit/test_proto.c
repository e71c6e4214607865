// SPDX-License-Identifier: GPL-2.0
/*
 * Control message validation (kmod/proto.c): every type valid and broken,
 * and a million random messages checked against an independent reading of
 * the rules in proto.h.
 */
// utest-sources: kmod/proto.c
#include <stdint.h>
#include "utest.h"
#include <errno.h>
#include "kmod/proto.h"

static struct yasmin_ctrl_msg connect_msg(void)
{
	return (struct yasmin_ctrl_msg){
		.type = YASMIN_MSG_CONNECT, .ring_order = 7, .src_port = 1025,
		.dst_port = 5000, .conn_id = 0x12345678, .intf_ref = 8,
		.refs_ref = 9, .evtchn = 12,
	};
}

static struct yasmin_ctrl_msg simple_msg(uint8_t type, uint8_t flags)
{
	return (struct yasmin_ctrl_msg){
		.type = type, .flags = flags, .src_port = 5000,
		.dst_port = 1025, .conn_id = 0x12345678,
	};
}

UTEST(valid_messages_pass)
{
	struct yasmin_ctrl_msg m = connect_msg();

	UT_ASSERT_EQ(yasmin_msg_check(&m), 0);
	m.ring_order = YASMIN_RING_ORDER_MAX;
	UT_ASSERT_EQ(yasmin_msg_check(&m), 0);
	m = simple_msg(YASMIN_MSG_ACCEPT, 0);
	UT_ASSERT_EQ(yasmin_msg_check(&m), 0);
	m = simple_msg(YASMIN_MSG_RESET, 0);
	UT_ASSERT_EQ(yasmin_msg_check(&m), 0);
	for (uint8_t f = 1; f <= YASMIN_SHUT_MASK; f++) {
		m = simple_msg(YASMIN_MSG_SHUTDOWN, f);
		UT_ASSERT_EQ(yasmin_msg_check(&m), 0);
	}
}

UTEST(connect_needs_its_fields)
{
	struct yasmin_ctrl_msg m;

	m = connect_msg(); m.ring_order = YASMIN_RING_ORDER_MAX + 1;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.ring_order = 255;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.evtchn = 0;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.intf_ref = 0;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.refs_ref = 0;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.flags = 2;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.flags = YASMIN_CONNECT_SEQPACKET | 0x80;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
}

UTEST(connect_may_ask_for_seqpacket)
{
	struct yasmin_ctrl_msg m = connect_msg();

	m.flags = YASMIN_CONNECT_SEQPACKET;
	UT_ASSERT_EQ(yasmin_msg_check(&m), 0);
	/* Only a CONNECT: the same bit on an ACCEPT or RESET is refused. */
	m = simple_msg(YASMIN_MSG_ACCEPT, YASMIN_CONNECT_SEQPACKET);
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = simple_msg(YASMIN_MSG_RESET, YASMIN_CONNECT_SEQPACKET);
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
}

UTEST(connect_only_fields_elsewhere_are_refused)
{
	uint8_t types[] = { YASMIN_MSG_ACCEPT, YASMIN_MSG_RESET };

	for (unsigned int i = 0; i < 2; i++) {
		struct yasmin_ctrl_msg m = simple_msg(types[i], 0);

		/* An ACCEPT names the ring order taken; a RESET names none. */
		m.ring_order = 1;
		UT_ASSERT_EQ(yasmin_msg_check(&m),
			     types[i] == YASMIN_MSG_ACCEPT ? 0 : -EPROTO);
		m.ring_order = YASMIN_RING_ORDER_MAX;
		UT_ASSERT_EQ(yasmin_msg_check(&m),
			     types[i] == YASMIN_MSG_ACCEPT ? 0 : -EPROTO);
		m.ring_order = YASMIN_RING_ORDER_MAX + 1;
		UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
		m = simple_msg(types[i], 0); m.intf_ref = 8;
		UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
		m = simple_msg(types[i], 0); m.refs_ref = 8;
		UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
		m = simple_msg(types[i], 0); m.evtchn = 3;
		UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
		m = simple_msg(types[i], 1);
		UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	}
}

UTEST(shutdown_flags)
{
	struct yasmin_ctrl_msg m = simple_msg(YASMIN_MSG_SHUTDOWN, 0);

	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m.flags = 4;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m.flags = 0xff;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
}

UTEST(reserved_fields_and_conn_id)
{
	struct yasmin_ctrl_msg m = connect_msg();

	m.reserved = 1;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.reserved2 = 0x80000000u;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = connect_msg(); m.conn_id = 0;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	m = simple_msg(YASMIN_MSG_RESET, 0); m.conn_id = 0;
	UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
}

UTEST(unknown_types_are_refused)
{
	for (unsigned int t = 0; t < 256; t++) {
		struct yasmin_ctrl_msg m = simple_msg((uint8_t)t, 0);

		if (t >= YASMIN_MSG_CONNECT && t <= YASMIN_MSG_MAX)
			continue;
		UT_ASSERT_EQ(yasmin_msg_check(&m), -EPROTO);
	}
}

/* The rules of proto.h, written again without looking at proto.c. */
static int reference_ok(const struct yasmin_ctrl_msg *m)
{
	int connect_fields = m->ring_order || m->intf_ref || m->refs_ref ||
			     m->evtchn;

	if (m->reserved || m->reserved2 || m->conn_id == 0)
		return 0;
	if (m->type == YASMIN_MSG_CONNECT)
		return m->flags <= 1 && m->ring_order <= 9 && m->evtchn &&
		       m->intf_ref && m->refs_ref;
	if (m->type == YASMIN_MSG_ACCEPT)
		return m->flags == 0 && m->ring_order <= 9 && !m->intf_ref &&
		       !m->refs_ref && !m->evtchn;
	if (m->type == YASMIN_MSG_RESET)
		return m->flags == 0 && !connect_fields;
	if (m->type == YASMIN_MSG_SHUTDOWN)
		return m->flags >= 1 && m->flags <= 3 && !connect_fields;
	return 0;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

UTEST(random_messages_agree_with_reference)
{
	unsigned int ok = 0;

	for (int i = 0; i < 1000000; i++) {
		struct yasmin_ctrl_msg m;
		uint32_t *w = (uint32_t *)&m;

		for (unsigned int j = 0; j < sizeof(m) / 4; j++)
			w[j] = rnd();
		/* bias towards almost-valid messages, where bugs hide */
		if (rnd() & 1) {
			m.type = rnd() % 6;
			m.reserved = (rnd() & 7) ? 0 : m.reserved;
			m.reserved2 = (rnd() & 7) ? 0 : m.reserved2;
			m.flags = rnd() % 5;
			m.ring_order = (rnd() & 1) ? rnd() % 11 : 0;
			if (rnd() & 1)
				m.intf_ref = m.refs_ref = m.evtchn = 0;
			if (m.type == YASMIN_MSG_CONNECT && (rnd() & 1))
				m.flags = 0;
		}
		int want = reference_ok(&m) ? 0 : -EPROTO;

		UT_ASSERT_EQ(yasmin_msg_check(&m), want);
		ok += want == 0;
	}
	UT_ASSERT(ok > 1000);	/* the biased half really reaches valid ones */
}

UTEST(abi_layout)
{
	UT_ASSERT_EQ(sizeof(struct yasmin_ctrl_msg), 32);
	UT_ASSERT_EQ(sizeof(struct yasmin_data_intf),
		     5 * 64 + 2 * 128 * 8 + 2 * 64 * 12);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_prod_line, msg_prod), 8);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_prod_line, zc_prod), 12);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_prod_line, shutdown), 16);
	UT_ASSERT_EQ(sizeof(struct yasmin_zc_seg), 12);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_zc_seg, offset), 8);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_data_intf, c2a_zc), 2368);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_data_intf, a2c_zc), 3136);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_cons_line, window), 8);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_cons_line, msg_cons), 12);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_data_intf, c2a_rec), 320);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_data_intf, a2c_rec), 1344);
	UT_ASSERT(sizeof(struct yasmin_ctrl_page) <= 4096);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_data_intf, c2a_prod), 64);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_data_intf, a2c_cons), 256);
	UT_ASSERT_EQ(__builtin_offsetof(struct yasmin_ctrl_page, o2p_msg), 256);
}
