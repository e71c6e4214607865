// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: what a hostile peer can put in the control ring. Each 32-byte
 * slice of the input is one message; validation must never crash and must
 * agree with the rules of proto.h. The leftover bytes become ring indices,
 * checked against the invariant of yasmin_ring_span().
 */
// fuzz-sources: kmod/proto.c kmod/ring.c
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "kmod/ring.h"

static int reference_ok(const struct yasmin_ctrl_msg *m)
{
	int extra = m->ring_order || m->intf_ref || m->refs_ref || m->evtchn;

	if (m->reserved || m->reserved2 || !m->conn_id)
		return 0;
	switch (m->type) {
	case YASMIN_MSG_CONNECT:
		return !m->flags && m->ring_order <= YASMIN_RING_ORDER_MAX &&
		       m->evtchn && m->intf_ref && m->refs_ref;
	case YASMIN_MSG_ACCEPT:
	case YASMIN_MSG_RESET:
		return !m->flags && !extra;
	case YASMIN_MSG_SHUTDOWN:
		return m->flags && !(m->flags & ~YASMIN_SHUT_MASK) && !extra;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yasmin_ctrl_msg m;
	uint32_t idx[3];

	while (size >= sizeof(m)) {
		memcpy(&m, data, sizeof(m));
		if ((yasmin_msg_check(&m) == 0) != reference_ok(&m))
			abort();
		data += sizeof(m);
		size -= sizeof(m);
	}
	if (size >= sizeof(idx)) {
		long span;
		uint32_t ring;

		memcpy(idx, data, sizeof(idx));
		ring = YASMIN_PAGE_SIZE << (idx[2] % (YASMIN_RING_ORDER_MAX + 1));
		span = yasmin_ring_span(idx[0], idx[1], ring);
		if (span != -EPROTO && (span < 0 || span > (long)ring ||
					(uint32_t)(idx[1] + span) != idx[0]))
			abort();
	}
	return 0;
}
