/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring index math and copies. No Xen calls and no locking here: this file
 * is built into the module, into the KUnit suites and into the host unit
 * tests alike.
 *
 * Indices are free-running u32 byte counters: used = prod - cons is right
 * across the 2^32 wrap as long as the ring size divides 2^32, which every
 * power-of-two size does. A ring is a list of page-sized buffers rather
 * than one virtually contiguous area, because a PV guest cannot map a
 * foreign frame a second time through vmap(); see grant.c.
 */
#ifndef YASMIN_RING_H
#define YASMIN_RING_H

#include "proto.h"

#ifdef YASMIN_USERSPACE
#include <stddef.h>
#include <errno.h>
#else
#include <linux/errno.h>
#endif

struct yasmin_ring {
	void **pages;		/* one page-sized buffer per ring page */
	u32 size;		/* bytes, YASMIN_PAGE_SIZE << order */
};

/*
 * yasmin_ring_span() - validate a (prod, cons) snapshot of a ring of @size
 * bytes and return the bytes in use, or -EPROTO when the peer broke the
 * invariant prod - cons <= size. Callers pass values they read once.
 */
static inline long yasmin_ring_span(u32 prod, u32 cons, u32 size)
{
	u32 used = prod - cons;

	if (used > size)
		return -EPROTO;
	return used;
}

static inline u32 yasmin_ring_order_bytes(u32 order)
{
	return YASMIN_PAGE_SIZE << order;
}

/* Smallest order whose ring holds @bytes, or -EINVAL when out of range. */
int yasmin_ring_order_for(u64 bytes);

/*
 * yasmin_ring_walk() - visit the bytes [pos, pos + len) of @ring, wrapped,
 * as contiguous chunks. @fn returns how many bytes of a chunk it handled;
 * a short count stops the walk. Returns the bytes handled in all.
 */
typedef size_t (*yasmin_chunk_fn)(void *buf, size_t len, void *ctx);
size_t yasmin_ring_walk(const struct yasmin_ring *ring, u32 pos, u32 len,
			yasmin_chunk_fn fn, void *ctx);

#endif /* YASMIN_RING_H */
