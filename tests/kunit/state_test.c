// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the connection state machine (kmod/state.c), every transition.
 */
// kunit-sources: kmod/state.c
#include <kunit/test.h>

#include "state.h"

#define I YASMIN_CONN_IDLE
#define C YASMIN_CONN_CONNECTING
#define E YASMIN_CONN_CONNECTED
#define X YASMIN_CONN_CLOSED

/* rows: states; columns: CONNECT ACCEPT ACCEPTED SHUTDOWN RESET CLOSE ABORT */
static const int state_expected[4][7] = {
	[I] = { C, E, -EPROTO, -EPROTO, -EPROTO, X, -EINVAL },
	[C] = { C, -EPROTO, E, -EPROTO, X, X, I },
	[E] = { -EISCONN, -EPROTO, -EPROTO, E, X, X, -EINVAL },
	[X] = { C, -EPROTO, -EPROTO, -EPROTO, X, X, I },
};

static void state_every_transition(struct kunit *test)
{
	int s, e;

	for (s = 0; s < YASMIN_CONN_NR_STATES; s++)
		for (e = 0; e < YASMIN_EV_NR_EVENTS; e++)
			KUNIT_EXPECT_EQ_MSG(test, yasmin_conn_next(s, e),
					    state_expected[s][e],
					    "state %d event %d", s, e);
}

static void state_bad_input(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, yasmin_conn_next(-1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, yasmin_conn_next(0, YASMIN_EV_NR_EVENTS),
			-EINVAL);
}

static struct kunit_case yasmin_state_cases[] = {
	KUNIT_CASE(state_every_transition),
	KUNIT_CASE(state_bad_input),
	{}
};

static struct kunit_suite yasmin_state_suite = {
	.name = "yasmin_state",
	.test_cases = yasmin_state_cases,
};

kunit_test_suite(yasmin_state_suite);
