// SPDX-License-Identifier: GPL-2.0
/*
 * Address translation of the shim (shim/addr.c): AF_INET, AF_INET6 and
 * v4-mapped addresses in and out, truncation, and bad input.
 */
// utest-sources: shim/addr.c
#include <arpa/inet.h>
#include "utest.h"
#include "shim/addr.h"

UTEST(vsock_ports_fold_into_the_ephemeral_range)
{
	uint32_t p;

	UT_ASSERT_EQ(yasmin_addr_port(0), 0);
	UT_ASSERT_EQ(yasmin_addr_port(5201), 5201);
	UT_ASSERT_EQ(yasmin_addr_port(65535), 65535);
	UT_ASSERT_EQ(yasmin_addr_port(65536), 49152);
	UT_ASSERT_EQ(yasmin_addr_port(UINT32_MAX), 65535);
	for (p = 65536; p < 0xfff00000u; p += 104729)
		UT_ASSERT(yasmin_addr_port(p) >= 49152);
}

/* Two live connections a few ports apart must not look like one. */
UTEST(neighbouring_vsock_ports_stay_distinct)
{
	static unsigned char seen[65536];
	uint32_t base = 3298898450u, p;

	for (p = base; p < base + 16384; p++) {
		uint16_t t = yasmin_addr_port(p);

		UT_ASSERT_EQ(seen[t], 0);
		seen[t] = 1;
	}
}

UTEST(inet_round_trip)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(5201) };
	struct sockaddr_storage out;
	struct in6_addr ip;
	uint16_t port;
	socklen_t l;

	inet_pton(AF_INET, "198.18.0.12", &in.sin_addr);
	UT_ASSERT_EQ(yasmin_addr_parse((struct sockaddr *)&in, sizeof(in), &ip, &port), 0);
	UT_ASSERT_EQ(port, 5201);
	UT_ASSERT(IN6_IS_ADDR_V4MAPPED(&ip));
	l = yasmin_addr_build(AF_INET, &ip, port, &out);
	UT_ASSERT_EQ(l, sizeof(in));
	UT_ASSERT(!memcmp(&out, &in, sizeof(in)));
}

UTEST(v4_shown_to_inet6_as_mapped)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct sockaddr_storage out;
	struct sockaddr_in6 *o6 = (struct sockaddr_in6 *)&out;
	struct in6_addr ip;
	uint16_t port;
	char s[64];

	inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
	yasmin_addr_parse((struct sockaddr *)&in, sizeof(in), &ip, &port);
	UT_ASSERT_EQ(yasmin_addr_build(AF_INET6, &ip, port, &out), sizeof(*o6));
	UT_ASSERT_EQ(o6->sin6_family, AF_INET6);
	UT_ASSERT_EQ(ntohs(o6->sin6_port), 80);
	inet_ntop(AF_INET6, &o6->sin6_addr, s, sizeof(s));
	UT_ASSERT_STREQ(s, "::ffff:10.1.2.3");
}

UTEST(v6_cannot_be_shown_to_inet)
{
	struct sockaddr_storage out;
	struct in6_addr ip;

	inet_pton(AF_INET6, "fd00::1", &ip);
	UT_ASSERT_EQ(yasmin_addr_build(AF_INET, &ip, 1, &out), 0);
	UT_ASSERT_EQ(yasmin_addr_build(AF_UNIX, &ip, 1, &out), 0);
}

UTEST(mapped_inet6_parses_like_inet)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct in6_addr a, b;
	uint16_t pa, pb;

	inet_pton(AF_INET6, "::ffff:192.0.2.7", &in6.sin6_addr);
	inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
	UT_ASSERT_EQ(yasmin_addr_parse((struct sockaddr *)&in6, sizeof(in6), &a, &pa), 0);
	UT_ASSERT_EQ(yasmin_addr_parse((struct sockaddr *)&in, sizeof(in), &b, &pb), 0);
	UT_ASSERT(!memcmp(&a, &b, sizeof(a)));
	UT_ASSERT_EQ(pa, pb);
}

UTEST(bad_input)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_un { sa_family_t f; char p[108]; } un = { .f = AF_UNIX };
	struct in6_addr ip;
	uint16_t port;

	UT_ASSERT_EQ(yasmin_addr_parse(NULL, 16, &ip, &port), -1);
	UT_ASSERT_EQ(yasmin_addr_parse((struct sockaddr *)&in, 0, &ip, &port), -1);
	UT_ASSERT_EQ(yasmin_addr_parse((struct sockaddr *)&in, sizeof(in) - 1, &ip, &port), -1);
	UT_ASSERT_EQ(yasmin_addr_parse((struct sockaddr *)&un, sizeof(un), &ip, &port), -1);
	in.sin_family = AF_INET6;	/* too short for an AF_INET6 address */
	UT_ASSERT_EQ(yasmin_addr_parse((struct sockaddr *)&in, sizeof(in), &ip, &port), -1);
}

UTEST(wildcards)
{
	struct in6_addr a;

	inet_pton(AF_INET6, "::", &a);
	UT_ASSERT(yasmin_addr_is_any(&a));
	inet_pton(AF_INET6, "::ffff:0.0.0.0", &a);
	UT_ASSERT(yasmin_addr_is_any(&a));
	inet_pton(AF_INET6, "::1", &a);
	UT_ASSERT(!yasmin_addr_is_any(&a));
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &a);
	UT_ASSERT(!yasmin_addr_is_any(&a));
}

UTEST(copy_out_truncates_and_reports_full_size)
{
	struct sockaddr_storage src;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
	unsigned char dst[8];
	socklen_t len = sizeof(dst);

	memset(&src, 0xab, sizeof(src));
	s6->sin6_family = AF_INET6;
	memset(dst, 0, sizeof(dst));
	yasmin_addr_copy_out(&src, sizeof(*s6), (struct sockaddr *)dst, &len);
	UT_ASSERT_EQ(len, sizeof(*s6));
	UT_ASSERT(!memcmp(dst, &src, sizeof(dst)));
	yasmin_addr_copy_out(&src, sizeof(*s6), NULL, &len);	/* no crash */
}
