/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address translation between what the application speaks (AF_INET,
 * AF_INET6, v4-mapped) and the map's canonical form (struct in6_addr, IPv4
 * as ::ffff:a.b.c.d). Pure C, unit-tested on the host.
 */
#ifndef YASMIN_SHIM_ADDR_H
#define YASMIN_SHIM_ADDR_H

#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* 0 and the canonical address and port of @sa, or -1 if not AF_INET(6). */
int yasmin_addr_parse(const struct sockaddr *sa, socklen_t len,
		      struct in6_addr *ip, uint16_t *port);

/*
 * Build the address the application expects for @family. An IPv6 address
 * cannot be shown to an AF_INET socket: returns 0 then, else the length.
 */
socklen_t yasmin_addr_build(int family, const struct in6_addr *ip,
			    uint16_t port, struct sockaddr_storage *out);

/*
 * The TCP port an application sees for a vsock port. vsock ports are 32
 * bits and the kernel picks ephemeral ones from all of them; a TCP port
 * has 16. Ports up to 65535 stay as they are (listening ports always do),
 * larger ones fold into the ephemeral range 49152-65535, the same way on
 * both ends, so a client's getsockname() port is its server's
 * getpeername() port.
 */
uint16_t yasmin_addr_port(uint32_t vsock_port);

/* 0.0.0.0, :: or ::ffff:0.0.0.0 */
int yasmin_addr_is_any(const struct in6_addr *ip);

/* getsockname()-style copy: truncate to *len, then report the full size. */
void yasmin_addr_copy_out(const struct sockaddr_storage *src, socklen_t srclen,
			  struct sockaddr *dst, socklen_t *len);

#endif /* YASMIN_SHIM_ADDR_H */
