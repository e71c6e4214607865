// SPDX-License-Identifier: GPL-2.0
/*
 * Ring index math and the page-wise walk (kmod/ring.c), adversarially:
 * indices wrapping at 2^32, full and empty rings, a peer index beyond the
 * ring, and copies that cross page and ring ends.
 */
// utest-sources: kmod/ring.c
#include <stdint.h>
#include "utest.h"
#include "kmod/ring.h"

UTEST(span_empty_and_full)
{
	UT_ASSERT_EQ(yasmin_ring_span(0, 0, 4096), 0);
	UT_ASSERT_EQ(yasmin_ring_span(4096, 0, 4096), 4096);
	UT_ASSERT_EQ(yasmin_ring_span(100, 100, 65536), 0);
}

UTEST(span_wraps_at_2_32)
{
	/* prod has wrapped past zero, cons has not yet */
	UT_ASSERT_EQ(yasmin_ring_span(5, 0xfffffffeu, 4096), 7);
	UT_ASSERT_EQ(yasmin_ring_span(0, 0xfffff000u, 4096), 4096);
	UT_ASSERT_EQ(yasmin_ring_span(0x800u, 0xfffff800u, 4096), 4096);
	UT_ASSERT_EQ(yasmin_ring_span(0xffffffffu, 0xffffffffu, 4096), 0);
}

UTEST(span_rejects_peer_beyond_ring)
{
	UT_ASSERT_EQ(yasmin_ring_span(4097, 0, 4096), -EPROTO);
	/* cons ahead of prod: the peer claims to have read unwritten bytes */
	UT_ASSERT_EQ(yasmin_ring_span(10, 11, 4096), -EPROTO);
	UT_ASSERT_EQ(yasmin_ring_span(0, 1, 2u << 20), -EPROTO);
	UT_ASSERT_EQ(yasmin_ring_span(0x80000000u, 0, 2u << 20), -EPROTO);
	UT_ASSERT_EQ(yasmin_ring_span(6, 0xfffffffeu, 4), -EPROTO);
}

UTEST(span_exhaustive_small_ring)
{
	/* every (prod, cons) around the wrap for an 8-byte "ring" */
	for (uint32_t c = 0xfffffff0u; c != 0x10u; c++)
		for (uint32_t d = 0; d < 32; d++) {
			long s = yasmin_ring_span(c + d, c, 8);

			UT_ASSERT_EQ(s, d <= 8 ? (long)d : -EPROTO);
		}
}

UTEST(order_for_sizes)
{
	UT_ASSERT_EQ(yasmin_ring_order_for(0), -EINVAL);
	UT_ASSERT_EQ(yasmin_ring_order_for(4095), -EINVAL);
	UT_ASSERT_EQ(yasmin_ring_order_for(4096), 0);
	UT_ASSERT_EQ(yasmin_ring_order_for(4097), 1);
	UT_ASSERT_EQ(yasmin_ring_order_for(65536), 4);
	UT_ASSERT_EQ(yasmin_ring_order_for(512 * 1024), 7);
	UT_ASSERT_EQ(yasmin_ring_order_for(2u << 20), 9);
	UT_ASSERT_EQ(yasmin_ring_order_for((2u << 20) + 1), -EINVAL);
	UT_ASSERT_EQ(yasmin_ring_order_for(UINT64_MAX), -EINVAL);
	UT_ASSERT_EQ(yasmin_ring_order_for(1ull << 32), -EINVAL);
	for (unsigned int o = 0; o <= YASMIN_RING_ORDER_MAX; o++)
		UT_ASSERT_EQ(yasmin_ring_order_for(yasmin_ring_order_bytes(o)), o);
}

/* A fake ring of separately allocated pages, like a mapped one. */
struct fake_ring {
	struct yasmin_ring ring;
	void *pages[64];
};

static void fake_ring_init(struct fake_ring *f, unsigned int order)
{
	unsigned int n = 1u << order;

	UT_ASSERT(n <= 64);
	for (unsigned int i = 0; i < n; i++) {
		f->pages[i] = malloc(YASMIN_PAGE_SIZE);
		UT_ASSERT(f->pages[i]);
		memset(f->pages[i], 0xee, YASMIN_PAGE_SIZE);
	}
	f->ring.pages = f->pages;
	f->ring.size = YASMIN_PAGE_SIZE << order;
}

static void fake_ring_free(struct fake_ring *f)
{
	for (unsigned int i = 0; i < f->ring.size / YASMIN_PAGE_SIZE; i++)
		free(f->pages[i]);
}

struct cursor {
	unsigned char *p;
	size_t limit;		/* a short count after this many bytes */
	unsigned int calls;
};

static size_t to_ring(void *buf, size_t len, void *ctx)
{
	struct cursor *c = ctx;

	if (len > c->limit)
		len = c->limit;
	memcpy(buf, c->p, len);
	c->p += len;
	c->limit -= len;
	c->calls++;
	return len;
}

static size_t from_ring(void *buf, size_t len, void *ctx)
{
	struct cursor *c = ctx;

	memcpy(c->p, buf, len);
	c->p += len;
	c->calls++;
	return len;
}

static unsigned char byte_at(uint64_t i)
{
	return (unsigned char)(i * 131 + (i >> 8) * 7 + 1);
}

UTEST(walk_crosses_pages_and_ring_end)
{
	struct fake_ring f;
	unsigned char in[3 * 4096], out[3 * 4096];
	uint32_t pos = 0xffffffffu - 4096 * 2 + 100;	/* wraps 2^32 too */

	fake_ring_init(&f, 2);	/* 16 KiB */
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = byte_at(i);
	struct cursor w = { in, SIZE_MAX, 0 };
	UT_ASSERT_EQ(yasmin_ring_walk(&f.ring, pos, sizeof(in), to_ring, &w),
		     sizeof(in));
	UT_ASSERT(w.calls >= 3);
	struct cursor r = { out, SIZE_MAX, 0 };
	UT_ASSERT_EQ(yasmin_ring_walk(&f.ring, pos, sizeof(out), from_ring, &r),
		     sizeof(out));
	UT_ASSERT(!memcmp(in, out, sizeof(in)));
	/* the byte at pos landed at offset pos mod size of the ring */
	uint32_t off = pos & (f.ring.size - 1);
	UT_ASSERT_EQ(((unsigned char *)f.pages[off / 4096])[off % 4096], in[0]);
	fake_ring_free(&f);
}

UTEST(walk_every_offset_and_length)
{
	struct fake_ring f;
	static unsigned char in[8192 + 17], out[8192 + 17];

	fake_ring_init(&f, 1);	/* 8 KiB */
	for (uint32_t pos = 0; pos < 8192 * 2; pos += 509) {
		for (uint32_t len = 0; len <= 8192; len += 1021) {
			for (size_t i = 0; i < len; i++)
				in[i] = byte_at(pos + i);
			struct cursor w = { in, SIZE_MAX, 0 };
			struct cursor r = { out, SIZE_MAX, 0 };

			UT_ASSERT_EQ(yasmin_ring_walk(&f.ring, pos, len, to_ring, &w), len);
			UT_ASSERT_EQ(yasmin_ring_walk(&f.ring, pos, len, from_ring, &r), len);
			UT_ASSERT(!memcmp(in, out, len));
		}
	}
	fake_ring_free(&f);
}

UTEST(walk_clamps_to_ring_size)
{
	struct fake_ring f;
	static unsigned char buf[3 * 4096];
	struct cursor c = { buf, SIZE_MAX, 0 };

	fake_ring_init(&f, 0);
	UT_ASSERT_EQ(yasmin_ring_walk(&f.ring, 4000, sizeof(buf), from_ring, &c),
		     4096);
	fake_ring_free(&f);
}

UTEST(walk_stops_at_short_count)
{
	struct fake_ring f;
	static unsigned char buf[4 * 4096];
	struct cursor c = { buf, 5000, 0 };

	fake_ring_init(&f, 2);
	/* like copy_from_iter() faulting half way */
	UT_ASSERT_EQ(yasmin_ring_walk(&f.ring, 4000, sizeof(buf), to_ring, &c),
		     5000);
	UT_ASSERT_EQ(c.calls, 3);
	fake_ring_free(&f);
}

UTEST(walk_zero_length_touches_nothing)
{
	struct fake_ring f;
	struct cursor c = { NULL, SIZE_MAX, 0 };

	fake_ring_init(&f, 0);
	UT_ASSERT_EQ(yasmin_ring_walk(&f.ring, 123, 0, to_ring, &c), 0);
	UT_ASSERT_EQ(c.calls, 0);
	fake_ring_free(&f);
}
