/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The byte stream every transfer test sends: byte i of stream (seed) is a
 * pure function of (seed, i), so a receiver checks any offset on its own
 * and a lost, duplicated, reordered or corrupted byte is caught exactly
 * where it happens.
 */
#ifndef YASMIN_PATTERN_H
#define YASMIN_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t pattern_word(uint64_t seed, uint64_t index)
{
	/* splitmix64 of (seed, index): cheap and never periodic in practice */
	uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fill buf with the stream's bytes [off, off + len). */
static inline void pattern_fill(uint64_t seed, uint64_t off, unsigned char *buf,
				size_t len)
{
	while (len >= 8 && off % 8 == 0) {
		uint64_t w = pattern_word(seed, off / 8);

		memcpy(buf, &w, 8);
		buf += 8;
		off += 8;
		len -= 8;
	}
	while (len) {
		uint64_t w = pattern_word(seed, off / 8);
		size_t in = off % 8, n = 8 - in;

		if (n > len)
			n = len;
		memcpy(buf, (unsigned char *)&w + in, n);
		buf += n;
		off += n;
		len -= n;
	}
}

/*
 * Check buf against the stream's bytes [off, off + len), using @scratch (at
 * least len bytes) for the expected bytes. Returns len when all match,
 * else the index of the first bad byte.
 */
static inline size_t pattern_check(uint64_t seed, uint64_t off,
				   const unsigned char *buf, size_t len,
				   unsigned char *scratch)
{
	size_t i;

	pattern_fill(seed, off, scratch, len);
	if (!memcmp(buf, scratch, len))
		return len;
	for (i = 0; buf[i] == scratch[i]; i++)
		;
	return i;
}

#endif /* YASMIN_PATTERN_H */
