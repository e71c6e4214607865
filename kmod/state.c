// SPDX-License-Identifier: GPL-2.0
/*
 * Connection state transitions; see state.h. Pure code, shared by the
 * module, the KUnit suites and the host unit tests.
 */
#include "state.h"

#ifdef YASMIN_USERSPACE
#include <errno.h>
#else
#include <linux/errno.h>
#endif

#define S(x) (YASMIN_CONN_##x + 1)	/* 0 in the table means "refused" */

static const signed char yasmin_conn_table[YASMIN_CONN_NR_STATES]
					  [YASMIN_EV_NR_EVENTS] = {
	[YASMIN_CONN_IDLE] = {
		[YASMIN_EV_CONNECT] = S(CONNECTING),
		[YASMIN_EV_ACCEPT] = S(CONNECTED),
		[YASMIN_EV_CLOSE] = S(CLOSED),
	},
	[YASMIN_CONN_CONNECTING] = {
		/* A retry after a timeout: the old attempt is dropped first. */
		[YASMIN_EV_CONNECT] = S(CONNECTING),
		[YASMIN_EV_ACCEPTED] = S(CONNECTED),
		[YASMIN_EV_RESET] = S(CLOSED),
		[YASMIN_EV_CLOSE] = S(CLOSED),
		[YASMIN_EV_ABORT] = S(IDLE),
	},
	[YASMIN_CONN_CONNECTED] = {
		[YASMIN_EV_SHUTDOWN] = S(CONNECTED),
		[YASMIN_EV_RESET] = S(CLOSED),
		[YASMIN_EV_CLOSE] = S(CLOSED),
	},
	[YASMIN_CONN_CLOSED] = {
		[YASMIN_EV_CONNECT] = S(CONNECTING),
		[YASMIN_EV_RESET] = S(CLOSED),
		[YASMIN_EV_CLOSE] = S(CLOSED),
		[YASMIN_EV_ABORT] = S(IDLE),
	},
};

int yasmin_conn_next(int s, int ev)
{
	int next;

	if (s < 0 || s >= YASMIN_CONN_NR_STATES ||
	    ev < 0 || ev >= YASMIN_EV_NR_EVENTS)
		return -EINVAL;
	next = yasmin_conn_table[s][ev];
	if (next)
		return next - 1;
	switch (ev) {
	case YASMIN_EV_CONNECT:
		return s == YASMIN_CONN_CONNECTED ? -EISCONN : -EALREADY;
	case YASMIN_EV_CLOSE:
		return -EINVAL;		/* unreachable: CLOSE is always allowed */
	case YASMIN_EV_ABORT:
		return -EINVAL;		/* a local bug: nothing to abort */
	default:
		return -EPROTO;		/* the peer sent what cannot happen */
	}
}
