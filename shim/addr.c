// SPDX-License-Identifier: GPL-2.0
/* Address translation; see addr.h. */
#include <string.h>

#include "addr.h"

int yasmin_addr_parse(const struct sockaddr *sa, socklen_t len,
		      struct in6_addr *ip, uint16_t *port)
{
	if (!sa || len < (socklen_t)sizeof(sa_family_t))
		return -1;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;

		memset(ip, 0, sizeof(*ip));
		ip->s6_addr[10] = 0xff;
		ip->s6_addr[11] = 0xff;
		memcpy(&ip->s6_addr[12], &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		*ip = in6->sin6_addr;
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -1;
}

socklen_t yasmin_addr_build(int family, const struct in6_addr *ip,
			    uint16_t port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)out;

		if (!IN6_IS_ADDR_V4MAPPED(ip))
			return 0;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, &ip->s6_addr[12], 4);
		return sizeof(*in);
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)out;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = *ip;
		return sizeof(*in6);
	}
	return 0;
}

uint16_t yasmin_addr_port(uint32_t vsock_port)
{
	if (vsock_port <= 65535)
		return vsock_port;
	return 49152 + vsock_port % 16384;
}

int yasmin_addr_is_any(const struct in6_addr *ip)
{
	static const struct in6_addr any4 = {
		.s6_addr = { [10] = 0xff, [11] = 0xff },
	};

	return IN6_IS_ADDR_UNSPECIFIED(ip) || !memcmp(ip, &any4, sizeof(*ip));
}

void yasmin_addr_copy_out(const struct sockaddr_storage *src, socklen_t srclen,
			  struct sockaddr *dst, socklen_t *len)
{
	if (!dst || !len)
		return;
	memcpy(dst, src, *len < srclen ? *len : srclen);
	*len = srclen;
}
