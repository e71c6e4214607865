// SPDX-License-Identifier: GPL-2.0
/*
 * Socket options. A TCP socket's options are set for real and also
 * remembered, so that the vsock socket that may replace it at connect()
 * gets the ones vsock honours (connect.c). On a vsock socket the shim
 * made, TCP-level options are remembered and answered, TCP_INFO is a
 * plausible healthy connection, SO_DOMAIN says AF_INET(6).
 */
#include <errno.h>
#include <string.h>
#include <netinet/tcp.h>
#include <linux/vm_sockets.h>

#include "shim.h"

HIDDEN void yasmin_remember_opt(struct yfd *y, int level, int name,
				const void *val, socklen_t len)
{
	int i;

	if (!val || len > sizeof(y->opts[0].val))
		return;
	for (i = 0; i < y->nopts; i++)
		if (y->opts[i].level == level && y->opts[i].name == name)
			break;
	if (i == y->nopts) {
		if (y->nopts == MAX_OPTS)
			return;
		y->nopts++;
	}
	y->opts[i].level = level;
	y->opts[i].name = name;
	y->opts[i].len = len;
	memcpy(y->opts[i].val, val, len);
}

static const struct yfd_opt *find_opt(const struct yfd *y, int level, int name)
{
	int i;

	for (i = 0; i < y->nopts; i++)
		if (y->opts[i].level == level && y->opts[i].name == name)
			return &y->opts[i];
	return NULL;
}

/* SO_SNDBUF/SO_RCVBUF become the vsock ring: power of two, 4 KiB..2 MiB. */
HIDDEN void yasmin_apply_bufsize(int vfd, const struct yfd *y)
{
	unsigned long long want = y->sndbuf > y->rcvbuf ? y->sndbuf : y->rcvbuf;
	unsigned long long ring = RING_MIN, max = RING_MAX;

	if (want <= 0)
		return;
	while (ring < want && ring < RING_MAX)
		ring <<= 1;
	real.setsockopt(vfd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &max,
			sizeof(max));
	real.setsockopt(vfd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &ring,
			sizeof(ring));
	dbg("ring of %llu bytes for SO_SNDBUF/SO_RCVBUF %llu", ring, want);
}

HIDDEN void yasmin_replay_opts(int vfd, const struct yfd *y)
{
	int i;

	for (i = 0; i < y->nopts; i++) {
		const struct yfd_opt *o = &y->opts[i];

		if (o->level != SOL_SOCKET)
			continue;
		switch (o->name) {
		case SO_RCVTIMEO_OLD: case SO_SNDTIMEO_OLD:
		case SO_RCVTIMEO_NEW: case SO_SNDTIMEO_NEW:
		case SO_LINGER: case SO_KEEPALIVE: case SO_RCVLOWAT:
			real.setsockopt(vfd, o->level, o->name, o->val, o->len);
			break;
		}
	}
}

static int is_bufsize(int level, int name)
{
	return level == SOL_SOCKET &&
	       (name == SO_SNDBUF || name == SO_RCVBUF ||
		name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE);
}

static void note_bufsize(struct yfd *y, int name, const void *val)
{
	int v;

	memcpy(&v, val, sizeof(v));
	if (name == SO_SNDBUF || name == SO_SNDBUFFORCE)
		y->sndbuf = v;
	else
		y->rcvbuf = v;
}

EXPORT int setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	struct yfd y;
	int dom, type = 0;
	socklen_t tl = sizeof(type);

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (yasmin_disabled)
		return real.setsockopt(fd, level, name, val, len);
	dom = yasmin_fd_domain(fd);
	if (dom == AF_INET || dom == AF_INET6) {
		if (real.setsockopt(fd, level, name, val, len))
			return -1;
		if (real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) ||
		    type != SOCK_STREAM)
			return 0;
		if (yfd_get(fd, &y))
			yfd_init(&y, yasmin_fd_ino(fd), dom);
		if (!y.ino)
			return 0;
		if (is_bufsize(level, name) && val && len >= sizeof(int))
			note_bufsize(&y, name, val);
		else
			yasmin_remember_opt(&y, level, name, val, len);
		yfd_put(fd, &y);
		return 0;
	}
	if (dom != AF_VSOCK || !yasmin_is_ours(fd, &y))
		return real.setsockopt(fd, level, name, val, len);
	if (is_bufsize(level, name)) {
		if (!val || len < (socklen_t)sizeof(int))
			return errno = EINVAL, -1;
		note_bufsize(&y, name, val);
	} else if (level == SOL_SOCKET &&
		   !real.setsockopt(fd, level, name, val, len)) {
		return 0;
	} else {
		/* TCP-level and other options: remember them and say yes. */
		yasmin_remember_opt(&y, level, name, val, len);
	}
	if (y.ino)
		yfd_put(fd, &y);
	return 0;
}

/* A TCP_INFO for a healthy local connection. */
static void fake_tcp_info(struct tcp_info *ti)
{
	memset(ti, 0, sizeof(*ti));
	ti->tcpi_state = TCP_ESTABLISHED;
	ti->tcpi_options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK |
			   TCPI_OPT_WSCALE;
	ti->tcpi_snd_wscale = 7;
	ti->tcpi_rcv_wscale = 7;
	ti->tcpi_rto = 200000;
	ti->tcpi_ato = 40000;
	ti->tcpi_snd_mss = 65483;
	ti->tcpi_rcv_mss = 65483;
	ti->tcpi_pmtu = 65535;
	ti->tcpi_rcv_ssthresh = 65483;
	ti->tcpi_rtt = 20;
	ti->tcpi_rttvar = 10;
	ti->tcpi_snd_ssthresh = 0x7fffffff;
	ti->tcpi_snd_cwnd = 10;
	ti->tcpi_advmss = 65483;
	ti->tcpi_reordering = 3;
	ti->tcpi_rcv_space = 65483;
}

static int opt_out(void *val, socklen_t *len, const void *src, socklen_t n)
{
	if (!val || !len)
		return errno = EFAULT, -1;
	if (*len < n)
		n = *len;
	memcpy(val, src, n);
	*len = n;
	return 0;
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct sockaddr_storage ss;
	const struct yfd_opt *o;
	struct tcp_info ti;
	struct yfd y;
	int v;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (yasmin_disabled || !yasmin_is_ours(fd, &y))
		return real.getsockopt(fd, level, name, val, len);

	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			if (real.getsockopt(fd, level, name, val, len))
				return -1;
			if (val && len && *len >= sizeof(int) && *(int *)val)
				yasmin_connect_failed(&y, *(int *)val);
			return 0;
		case SO_DOMAIN:
			v = y.family;
			if (!v) {
				v = AF_INET;
				if (yasmin_vsock_name(fd, 1, 0, &y, &ss))
					v = ss.ss_family;
			}
			return opt_out(val, len, &v, sizeof(int));
		case SO_PROTOCOL:
			v = IPPROTO_TCP;
			return opt_out(val, len, &v, sizeof(v));
		case SO_SNDBUF:
		case SO_RCVBUF: {
			unsigned long long ring = 0;
			socklen_t rl = sizeof(ring);

			v = name == SO_SNDBUF ? y.sndbuf : y.rcvbuf;
			if (!v && !real.getsockopt(fd, AF_VSOCK,
						   SO_VM_SOCKETS_BUFFER_SIZE,
						   &ring, &rl))
				v = (int)ring;
			return opt_out(val, len, &v, sizeof(v));
		}
		}
		o = find_opt(&y, level, name);
		if (o)
			return opt_out(val, len, o->val, o->len);
		return real.getsockopt(fd, level, name, val, len);
	}
	if (level == IPPROTO_TCP && name == TCP_INFO) {
		fake_tcp_info(&ti);
		return opt_out(val, len, &ti, sizeof(ti));
	}
	o = find_opt(&y, level, name);
	if (o)
		return opt_out(val, len, o->val, o->len);
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_MAXSEG:
			v = 65483;
			return opt_out(val, len, &v, sizeof(v));
		case TCP_CONGESTION:
			return opt_out(val, len, "cubic", 6);
		default:
			v = 0;
			return opt_out(val, len, &v, sizeof(v));
		}
	}
	return real.getsockopt(fd, level, name, val, len);
}
