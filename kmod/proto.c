// SPDX-License-Identifier: GPL-2.0
/*
 * Validation of control messages received from the peer; see proto.h.
 * Pure code: built into the module, the KUnit suites, the host unit tests
 * and the fuzzer.
 */
#include "proto.h"

#ifdef YASMIN_USERSPACE
#include <errno.h>
#else
#include <linux/errno.h>
#endif

/*
 * yasmin_msg_check() - 0 when @m is well formed, -EPROTO otherwise.
 * @m must be a private copy: the peer can rewrite the shared slot at any
 * time, so checking it in place would prove nothing.
 */
int yasmin_msg_check(const struct yasmin_ctrl_msg *m)
{
	if (m->reserved || m->reserved2 || !m->conn_id)
		return -EPROTO;

	switch (m->type) {
	case YASMIN_MSG_CONNECT:
		if ((m->flags & ~YASMIN_CONNECT_MASK) ||
		    m->ring_order > YASMIN_RING_ORDER_MAX)
			return -EPROTO;
		/* Port 0 and grant ref 0 are never handed out by Xen. */
		if (!m->evtchn || !m->intf_ref || !m->refs_ref)
			return -EPROTO;
		return 0;
	case YASMIN_MSG_ACCEPT:
		/* ring_order: the rings the acceptor took (<= offered). */
		if (m->flags || m->ring_order > YASMIN_RING_ORDER_MAX)
			return -EPROTO;
		if (m->intf_ref || m->refs_ref || m->evtchn)
			return -EPROTO;
		return 0;
	case YASMIN_MSG_RESET:
		if (m->flags)
			return -EPROTO;
		break;
	case YASMIN_MSG_SHUTDOWN:
		if (!m->flags || (m->flags & ~YASMIN_SHUT_MASK))
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}
	if (m->ring_order || m->intf_ref || m->refs_ref || m->evtchn)
		return -EPROTO;
	return 0;
}
