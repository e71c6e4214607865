// SPDX-License-Identifier: GPL-2.0
/*
 * Ring index math and copies; see ring.h.
 */
#include "ring.h"

int yasmin_ring_order_for(u64 bytes)
{
	u32 order;

	if (bytes < yasmin_ring_order_bytes(YASMIN_RING_ORDER_MIN) ||
	    bytes > yasmin_ring_order_bytes(YASMIN_RING_ORDER_MAX))
		return -EINVAL;
	for (order = YASMIN_RING_ORDER_MIN; order < YASMIN_RING_ORDER_MAX; order++)
		if (bytes <= yasmin_ring_order_bytes(order))
			break;
	return order;
}

size_t yasmin_ring_walk(const struct yasmin_ring *ring, u32 pos, u32 len,
			yasmin_chunk_fn fn, void *ctx)
{
	size_t done = 0;

	if (len > ring->size)
		len = ring->size;
	while (len) {
		u32 off = pos & (ring->size - 1);
		u32 in_page = off & (YASMIN_PAGE_SIZE - 1);
		u32 n = YASMIN_PAGE_SIZE - in_page;
		size_t got;

		if (n > len)
			n = len;
		got = fn((char *)ring->pages[off / YASMIN_PAGE_SIZE] + in_page,
			 n, ctx);
		done += got;
		if (got != n)
			break;
		pos += n;
		len -= n;
	}
	return done;
}
