// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: validation of control messages from an untrusted peer
 * (kmod/proto.c).
 */
// kunit-sources: kmod/proto.c
#include <kunit/test.h>

#include "proto.h"

static struct yasmin_ctrl_msg proto_connect(void)
{
	return (struct yasmin_ctrl_msg){
		.type = YASMIN_MSG_CONNECT, .ring_order = 7, .src_port = 1025,
		.dst_port = 5000, .conn_id = 0x1234, .intf_ref = 8,
		.refs_ref = 9, .evtchn = 12,
	};
}

static struct yasmin_ctrl_msg proto_simple(u8 type, u8 flags)
{
	return (struct yasmin_ctrl_msg){
		.type = type, .flags = flags, .src_port = 5000,
		.dst_port = 1025, .conn_id = 0x1234,
	};
}

static void proto_valid(struct kunit *test)
{
	struct yasmin_ctrl_msg m = proto_connect();
	u8 f;

	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), 0);
	m = proto_simple(YASMIN_MSG_ACCEPT, 0);
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), 0);
	m = proto_simple(YASMIN_MSG_RESET, 0);
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), 0);
	for (f = 1; f <= YASMIN_SHUT_MASK; f++) {
		m = proto_simple(YASMIN_MSG_SHUTDOWN, f);
		KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), 0);
	}
}

static void proto_bad_connect(struct kunit *test)
{
	struct yasmin_ctrl_msg m;

	m = proto_connect();
	m.ring_order = YASMIN_RING_ORDER_MAX + 1;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_connect();
	m.evtchn = 0;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_connect();
	m.intf_ref = 0;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_connect();
	m.conn_id = 0;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_connect();
	m.reserved2 = 1;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
}

static void proto_bad_others(struct kunit *test)
{
	struct yasmin_ctrl_msg m;
	unsigned int t;

	m = proto_simple(YASMIN_MSG_ACCEPT, 0);
	m.evtchn = 3;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	/* An ACCEPT names the ring order it took, within the rings' range. */
	m = proto_simple(YASMIN_MSG_ACCEPT, 0);
	m.ring_order = YASMIN_RING_ORDER_MAX;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), 0);
	m.ring_order = YASMIN_RING_ORDER_MAX + 1;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_simple(YASMIN_MSG_RESET, 0);
	m.ring_order = 1;
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_simple(YASMIN_MSG_RESET, 1);
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_simple(YASMIN_MSG_SHUTDOWN, 0);
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	m = proto_simple(YASMIN_MSG_SHUTDOWN, 4);
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	for (t = YASMIN_MSG_MAX + 1; t < 256; t++) {
		m = proto_simple(t, 0);
		KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
	}
	m = proto_simple(YASMIN_MSG_NONE, 0);
	KUNIT_EXPECT_EQ(test, yasmin_msg_check(&m), -EPROTO);
}

static struct kunit_case yasmin_proto_cases[] = {
	KUNIT_CASE(proto_valid),
	KUNIT_CASE(proto_bad_connect),
	KUNIT_CASE(proto_bad_others),
	{}
};

static struct kunit_suite yasmin_proto_suite = {
	.name = "yasmin_proto",
	.test_cases = yasmin_proto_cases,
};

kunit_test_suite(yasmin_proto_suite);
