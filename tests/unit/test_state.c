// SPDX-License-Identifier: GPL-2.0
/*
 * The connection state machine (kmod/state.c): every (state, event) pair
 * against the table written out here by hand.
 */
// utest-sources: kmod/state.c
#include "utest.h"
#include <errno.h>
#include "kmod/state.h"

enum { I = YASMIN_CONN_IDLE, C = YASMIN_CONN_CONNECTING,
       E = YASMIN_CONN_CONNECTED, X = YASMIN_CONN_CLOSED };

/* rows: states; columns: CONNECT ACCEPT ACCEPTED SHUTDOWN RESET CLOSE ABORT */
static const int expected[4][7] = {
	[I] = { C, E, -EPROTO, -EPROTO, -EPROTO, X, -EINVAL },
	[C] = { C, -EPROTO, E, -EPROTO, X, X, I },
	[E] = { -EISCONN, -EPROTO, -EPROTO, E, X, X, -EINVAL },
	[X] = { C, -EPROTO, -EPROTO, -EPROTO, X, X, I },
};

UTEST(every_transition)
{
	for (int s = 0; s < YASMIN_CONN_NR_STATES; s++)
		for (int e = 0; e < YASMIN_EV_NR_EVENTS; e++) {
			int got = yasmin_conn_next(s, e);

			if (got != expected[s][e])
				UT_FAIL("state %d event %d: got %d, want %d",
					s, e, got, expected[s][e]);
		}
}

UTEST(close_always_allowed)
{
	for (int s = 0; s < YASMIN_CONN_NR_STATES; s++)
		UT_ASSERT_EQ(yasmin_conn_next(s, YASMIN_EV_CLOSE), X);
}

UTEST(only_a_reply_connects_a_connector)
{
	/* a peer cannot push an idle or closed socket into CONNECTED */
	UT_ASSERT(yasmin_conn_next(I, YASMIN_EV_ACCEPTED) < 0);
	UT_ASSERT(yasmin_conn_next(X, YASMIN_EV_ACCEPTED) < 0);
	UT_ASSERT(yasmin_conn_next(E, YASMIN_EV_ACCEPTED) < 0);
}

UTEST(out_of_range_inputs)
{
	UT_ASSERT_EQ(yasmin_conn_next(-1, 0), -EINVAL);
	UT_ASSERT_EQ(yasmin_conn_next(YASMIN_CONN_NR_STATES, 0), -EINVAL);
	UT_ASSERT_EQ(yasmin_conn_next(0, -1), -EINVAL);
	UT_ASSERT_EQ(yasmin_conn_next(0, YASMIN_EV_NR_EVENTS), -EINVAL);
	UT_ASSERT_EQ(yasmin_conn_next(0x7fffffff, 0x7fffffff), -EINVAL);
}
