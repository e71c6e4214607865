// SPDX-License-Identifier: GPL-2.0
/*
 * Address translation: what getsockname()/getpeername() (and accept())
 * show for a vsock socket the shim made. Everything comes from the kernel
 * (the socket's CID and port) and the map (domid -> IP), so an fd that
 * crossed exec, fork or SCM_RIGHTS is named right with no memory of its
 * past. Per-fd memory only refines the view: the family the app used, and
 * which of a VM's several IPs the app dialed.
 */
#include <errno.h>
#include <string.h>
#include <linux/vm_sockets.h>

#include "addr.h"
#include "shim.h"

HIDDEN int yasmin_default_family(const struct in6_addr *ip)
{
	return IN6_IS_ADDR_V4MAPPED(ip) ? AF_INET : AF_INET6;
}

HIDDEN socklen_t yasmin_vsock_name(int fd, int peer, int family,
				   const struct yfd *y,
				   struct sockaddr_storage *out)
{
	struct sockaddr_vm va;
	socklen_t vl = sizeof(va);
	struct in6_addr ip;
	long domid;
	int r;

	memset(&va, 0, sizeof(va));
	r = peer ? real.getpeername(fd, (struct sockaddr *)&va, &vl)
		 : real.getsockname(fd, (struct sockaddr *)&va, &vl);
	if (r)
		return 0;
	if (va.svm_family != AF_VSOCK)
		return errno = EINVAL, 0;
	domid = peer ? (long)va.svm_cid - 2 : yasmin_self_domid();
	memset(&ip, 0, sizeof(ip));
	if (peer && y && y->has_peer && yasmin_map_has(domid, &y->peer_ip))
		ip = y->peer_ip;	/* the one of its IPs the app dialed */
	else if (yasmin_map_ip(domid, &ip))
		memset(&ip, 0, sizeof(ip));
	if (yasmin_addr_is_any(&ip)) {
		memset(&ip, 0, sizeof(ip));
		ip.s6_addr[10] = ip.s6_addr[11] = 0xff;
	}
	if (!family)
		family = yasmin_default_family(&ip);
	if (family == AF_INET && !IN6_IS_ADDR_V4MAPPED(&ip)) {
		memset(&ip, 0, sizeof(ip));
		ip.s6_addr[10] = ip.s6_addr[11] = 0xff;
	}
	return yasmin_addr_build(family, &ip, yasmin_addr_port(va.svm_port),
				 out);
}

static int name_of(int fd, int peer, struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr_storage ss;
	struct yfd y;
	socklen_t l;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (yasmin_disabled || !yasmin_is_ours(fd, &y))
		return peer ? real.getpeername(fd, addr, len)
			    : real.getsockname(fd, addr, len);
	if (!addr || !len)
		return errno = EFAULT, -1;
	l = yasmin_vsock_name(fd, peer, y.family, &y, &ss);
	if (!l)
		return -1;
	yasmin_addr_copy_out(&ss, l, addr, len);
	return 0;
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	return name_of(fd, 0, addr, len);
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	return name_of(fd, 1, addr, len);
}
