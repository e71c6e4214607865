/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection state machine of one socket as a pure transition
 * function, so every transition can be tested without Xen or a socket
 * (KUnit and host unit tests). conn.c applies it.
 *
 *   IDLE --CONNECT--> CONNECTING --ACCEPTED--> CONNECTED
 *   IDLE --ACCEPT (a CONNECT for our listener)--> CONNECTED
 *   CONNECTED --SHUTDOWN--> CONNECTED (half-close is a flag, not a state)
 *   any --RESET / CLOSE--> CLOSED;  CLOSED --CONNECT--> CONNECTING (retry)
 *   CONNECTING / CLOSED --ABORT--> IDLE (an attempt dropped before a retry,
 *                                       or one whose CONNECT never left)
 *
 * Anything else is refused: -EPROTO when the peer sent something that
 * cannot happen in this state (the caller answers RESET or drops it),
 * -EISCONN or -EALREADY when a local call comes at the wrong time.
 */
#ifndef YASMIN_STATE_H
#define YASMIN_STATE_H

enum yasmin_conn_state {
	YASMIN_CONN_IDLE,
	YASMIN_CONN_CONNECTING,
	YASMIN_CONN_CONNECTED,
	YASMIN_CONN_CLOSED,
	YASMIN_CONN_NR_STATES,
};

enum yasmin_conn_event {
	YASMIN_EV_CONNECT,	/* local connect() */
	YASMIN_EV_ACCEPT,	/* we took the peer's CONNECT */
	YASMIN_EV_ACCEPTED,	/* the peer's ACCEPT for our CONNECT */
	YASMIN_EV_SHUTDOWN,	/* the peer's SHUTDOWN */
	YASMIN_EV_RESET,	/* the peer's RESET, its death, or a violation */
	YASMIN_EV_CLOSE,	/* local release */
	YASMIN_EV_ABORT,	/* local: drop a connect attempt to retry it */
	YASMIN_EV_NR_EVENTS,
};

/* The next state, or a negative errno when @ev is not allowed in @s. */
int yasmin_conn_next(int s, int ev);

#endif /* YASMIN_STATE_H */
