// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: ring index math and the page-wise walk (kmod/ring.c) in the
 * kernel, with indices wrapping at 2^32 and peers lying about them.
 */
// kunit-sources: kmod/ring.c
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "ring.h"

static void ring_span_limits(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, yasmin_ring_span(0, 0, 4096), 0L);
	KUNIT_EXPECT_EQ(test, yasmin_ring_span(4096, 0, 4096), 4096L);
	KUNIT_EXPECT_EQ(test, yasmin_ring_span(4097, 0, 4096), (long)-EPROTO);
	KUNIT_EXPECT_EQ(test, yasmin_ring_span(10, 11, 4096), (long)-EPROTO);
}

static void ring_span_wraps(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, yasmin_ring_span(5, 0xfffffffeU, 4096), 7L);
	KUNIT_EXPECT_EQ(test, yasmin_ring_span(0, 0xfffff000U, 4096), 4096L);
	KUNIT_EXPECT_EQ(test, yasmin_ring_span(6, 0xfffffffeU, 4),
			(long)-EPROTO);
}

static void ring_span_exhaustive(struct kunit *test)
{
	u32 c, d;

	for (c = 0xfffffff0U; c != 0x10U; c++)
		for (d = 0; d < 32; d++)
			KUNIT_EXPECT_EQ(test, yasmin_ring_span(c + d, c, 8),
					d <= 8 ? (long)d : (long)-EPROTO);
}

static void ring_order_for(struct kunit *test)
{
	unsigned int o;

	KUNIT_EXPECT_EQ(test, yasmin_ring_order_for(4095), -EINVAL);
	KUNIT_EXPECT_EQ(test, yasmin_ring_order_for(4096), 0);
	KUNIT_EXPECT_EQ(test, yasmin_ring_order_for(4097), 1);
	KUNIT_EXPECT_EQ(test, yasmin_ring_order_for(512 * 1024), 7);
	KUNIT_EXPECT_EQ(test, yasmin_ring_order_for(2U << 20), 9);
	KUNIT_EXPECT_EQ(test, yasmin_ring_order_for((2U << 20) + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, yasmin_ring_order_for(U64_MAX), -EINVAL);
	for (o = 0; o <= YASMIN_RING_ORDER_MAX; o++)
		KUNIT_EXPECT_EQ(test,
				yasmin_ring_order_for(yasmin_ring_order_bytes(o)),
				(int)o);
}

struct ring_cursor {
	u8 *p;
	size_t limit;
};

static size_t ring_put(void *buf, size_t len, void *ctx)
{
	struct ring_cursor *c = ctx;

	len = min(len, c->limit);
	memcpy(buf, c->p, len);
	c->p += len;
	c->limit -= len;
	return len;
}

static size_t ring_get(void *buf, size_t len, void *ctx)
{
	struct ring_cursor *c = ctx;

	memcpy(c->p, buf, len);
	c->p += len;
	return len;
}

static void ring_walk_roundtrip(struct kunit *test)
{
	void *pages[4];
	struct yasmin_ring ring = { .pages = pages, .size = 4 * PAGE_SIZE };
	u8 *in = kunit_kmalloc(test, 3 * PAGE_SIZE, GFP_KERNEL);
	u8 *out = kunit_kzalloc(test, 3 * PAGE_SIZE, GFP_KERNEL);
	u32 pos = 0xffffffffU - 2 * PAGE_SIZE + 100;
	struct ring_cursor w = { in, SIZE_MAX }, r = { out, SIZE_MAX };
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, in);
	KUNIT_ASSERT_NOT_NULL(test, out);
	for (i = 0; i < 4; i++) {
		pages[i] = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
	for (i = 0; i < 3 * PAGE_SIZE; i++)
		in[i] = (u8)(i * 131 + 7);

	KUNIT_EXPECT_EQ(test, yasmin_ring_walk(&ring, pos, 3 * PAGE_SIZE,
					       ring_put, &w), 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, yasmin_ring_walk(&ring, pos, 3 * PAGE_SIZE,
					       ring_get, &r), 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, memcmp(in, out, 3 * PAGE_SIZE), 0);
	i = pos & (ring.size - 1);
	KUNIT_EXPECT_EQ(test, ((u8 *)pages[i / PAGE_SIZE])[i % PAGE_SIZE],
			in[0]);
}

static void ring_walk_short_and_clamped(struct kunit *test)
{
	void *pages[1];
	struct yasmin_ring ring = { .pages = pages, .size = PAGE_SIZE };
	u8 *buf = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);
	struct ring_cursor c = { buf, 100 };

	KUNIT_ASSERT_NOT_NULL(test, buf);
	pages[0] = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages[0]);
	KUNIT_EXPECT_EQ(test, yasmin_ring_walk(&ring, 4000, 2 * PAGE_SIZE,
					       ring_put, &c), (size_t)100);
	c = (struct ring_cursor){ buf, SIZE_MAX };
	KUNIT_EXPECT_EQ(test, yasmin_ring_walk(&ring, 4000, 2 * PAGE_SIZE,
					       ring_get, &c), PAGE_SIZE);
}

static struct kunit_case yasmin_ring_cases[] = {
	KUNIT_CASE(ring_span_limits),
	KUNIT_CASE(ring_span_wraps),
	KUNIT_CASE(ring_span_exhaustive),
	KUNIT_CASE(ring_order_for),
	KUNIT_CASE(ring_walk_roundtrip),
	KUNIT_CASE(ring_walk_short_and_clamped),
	{}
};

static struct kunit_suite yasmin_ring_suite = {
	.name = "yasmin_ring",
	.test_cases = yasmin_ring_cases,
};

kunit_test_suite(yasmin_ring_suite);

MODULE_LICENSE("GPL");
