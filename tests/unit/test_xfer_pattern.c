// SPDX-License-Identifier: GPL-2.0
/*
 * The transfer pattern (tests/prog/pattern.h) that yasmin-xfer streams and
 * checks. Every transport verdict in tests/vm rests on it, so it must catch
 * each way a stream goes wrong (a flipped bit, a lost byte, a duplicated
 * byte, two reordered blocks, bytes from another connection or from the
 * other direction) at the exact offset, and give the same bytes for an
 * offset whatever the alignment of the reads that reach it.
 */
#include "utest.h"
#include <stdint.h>
#include "tests/prog/pattern.h"

#define LEN 65536

static unsigned char stream[LEN], buf[LEN], scratch[LEN];

static void fill_all(uint64_t seed)
{
	pattern_fill(seed, 0, stream, LEN);
}

/* The first index where buf differs from the stream at @off, by brute force. */
static size_t first_diff(uint64_t seed, uint64_t off, const unsigned char *b,
			 size_t len)
{
	unsigned char one[1];

	for (size_t i = 0; i < len; i++) {
		pattern_fill(seed, off + i, one, 1);
		if (one[0] != b[i])
			return i;
	}
	return len;
}

/*
 * Frozen values: the pattern is a wire format between two hosts' builds of
 * yasmin-xfer (dom0 and guests can run different builds), so it must not
 * change by accident. pattern_word(0, 0) is splitmix64's first output for
 * state 0, a published constant.
 */
UTEST(pattern_is_frozen)
{
	UT_ASSERT(pattern_word(0, 0) == 0xe220a8397b1dcdafull);
	UT_ASSERT(pattern_word(0, 1) == 0x6e789e6aa1b965f4ull);
}

UTEST(any_offset_any_length_matches_one_long_fill)
{
	fill_all(42);
	/* Every alignment of start and length, including sub-word ones. */
	for (uint64_t off = 0; off < 64; off++)
		for (size_t len = 0; len < 80; len++) {
			memset(buf, 0xa5, len);
			pattern_fill(42, off, buf, len);
			if (memcmp(buf, stream + off, len))
				UT_FAIL("fill(off %llu, len %zu) differs",
					(unsigned long long)off, len);
		}
}

UTEST(offsets_past_4_gib_are_distinct_and_stable)
{
	uint64_t off = (1ull << 32) - 3;	/* crosses the 32-bit boundary */
	unsigned char a[16], b[16];

	pattern_fill(7, off, a, 16);
	pattern_fill(7, off + 5, b, 11);
	UT_ASSERT(!memcmp(a + 5, b, 11));
	/* A 32-bit offset counter that wrapped would replay offset 0..15. */
	pattern_fill(7, 1ull << 32, a, 16);
	pattern_fill(7, 0, b, 16);
	UT_ASSERT(memcmp(a, b, 16));
}

UTEST(clean_buffer_checks_whole)
{
	fill_all(1);
	memcpy(buf, stream + 1000, 5000);
	UT_ASSERT_EQ(pattern_check(1, 1000, buf, 5000, scratch), 5000);
	UT_ASSERT_EQ(pattern_check(1, 0, buf, 0, scratch), 0);
}

UTEST(flipped_bit_is_found_exactly)
{
	fill_all(2);
	for (size_t at = 0; at < 4096; at += 37) {
		memcpy(buf, stream, 4096);
		buf[at] ^= 0x40;
		UT_ASSERT_EQ(pattern_check(2, 0, buf, 4096, scratch), at);
	}
}

UTEST(lost_byte_is_found_where_it_was_lost)
{
	fill_all(3);
	/* byte 777 never arrived: the reader sees 778.. at offset 777 */
	memcpy(buf, stream, 777);
	memcpy(buf + 777, stream + 778, 2000);
	UT_ASSERT_EQ(pattern_check(3, 0, buf, 2777, scratch),
		     first_diff(3, 0, buf, 2777));
	UT_ASSERT(pattern_check(3, 0, buf, 2777, scratch) >= 777);
	/* A shifted stream stays detectably wrong beyond a coincidence. */
	UT_ASSERT(pattern_check(3, 0, buf, 2777, scratch) < 777 + 8);
}

UTEST(duplicated_block_is_found)
{
	fill_all(4);
	/* a 512-byte block delivered twice (a retransmit or a ring replay) */
	memcpy(buf, stream, 4096);
	memcpy(buf + 4096, stream + 3584, 512);
	UT_ASSERT_EQ(pattern_check(4, 0, buf, 4608, scratch), 4096);
}

UTEST(reordered_blocks_are_found_at_the_first)
{
	fill_all(5);
	memcpy(buf, stream, 8192);
	memcpy(buf + 8192, stream + 12288, 4096);
	memcpy(buf + 12288, stream + 8192, 4096);
	UT_ASSERT_EQ(pattern_check(5, 0, buf, 16384, scratch), 8192);
}

UTEST(other_connection_or_direction_is_found)
{
	unsigned char other[256];

	/*
	 * yasmin-xfer gives each connection its own seed and the reverse
	 * direction ~seed: crossed streams must fail in the first word.
	 */
	fill_all(6);
	pattern_fill(~6ull, 0, other, sizeof(other));
	UT_ASSERT(pattern_check(6, 0, other, sizeof(other), scratch) < 8);
	pattern_fill(6 ^ (1ull << 48), 0, other, sizeof(other));
	UT_ASSERT(pattern_check(6, 0, other, sizeof(other), scratch) < 8);
}

UTEST(no_short_period)
{
	/* A periodic pattern would hide a reorder by whole periods. */
	fill_all(8);
	for (size_t p = 8; p <= LEN / 2; p *= 2)
		UT_ASSERT(memcmp(stream, stream + p, LEN / 2));
}

UTEST(zeroed_pages_are_found)
{
	/* A ring page never written (or zeroed by the peer) reads as zeros. */
	fill_all(9);
	memcpy(buf, stream, 8192);
	memset(buf + 4096, 0, 4096);
	UT_ASSERT_EQ(pattern_check(9, 0, buf, 8192, scratch),
		     first_diff(9, 0, buf, 8192));
	UT_ASSERT(pattern_check(9, 0, buf, 8192, scratch) < 4096 + 8);
}
