// SPDX-License-Identifier: GPL-2.0
/*
 * libyasmin.so: move an unmodified TCP program onto AF_VSOCK when its peer
 * is a VM on the same Xen host, per the map file (map.c).
 *
 * The decision is made at connect() and listen() time:
 *
 *  - connect() to a mapped address opens an AF_VSOCK socket to that
 *    domain (CID = domid + 2, same port) and dup3()s it onto the
 *    application's fd: the fd number, FD_CLOEXEC and O_NONBLOCK survive,
 *    and read/write/poll/epoll/sendfile then run natively on it. If vsock
 *    cannot reach the peer (no module, no rendezvous, nobody listening on
 *    vsock), the connect simply goes out over TCP as it would have.
 *
 *  - listen() on a wildcard or own mapped address also listens on vsock,
 *    same port. The application's fd becomes an epoll fd watching both
 *    listeners (kept on hidden fds), so select/poll/epoll on it wake for
 *    either world, and accept() takes from whichever is ready.
 *
 * The application never sees an AF_VSOCK address: names and peers are
 * shown as the mapped IPs in the family it used. Only the interposers are
 * exported (libyasmin.map); the real calls come from dlsym(RTLD_NEXT).
 * A failure of the shim itself never aborts the program: it falls back to
 * the real call.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/vm_sockets.h>

#include "addr.h"
#include "map.h"

#define EXPORT __attribute__((visibility("default")))

#define DEFAULT_CONF	"/etc/yasmin/hosts"
#define HIDDEN_FD_MIN	200	/* hidden listener fds live above this */
#define RING_MIN	4096u
#define RING_MAX	(2u << 20)
#define MAX_OPTS	12

/* ---- the real calls ---- */

static struct {
	int (*socket)(int, int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
} real;

/* ---- per-fd state ---- */

enum yfd_kind { YFD_NONE, YFD_TCP, YFD_VSOCK, YFD_DUAL };

struct yfd_opt {
	int level, name;
	socklen_t len;
	unsigned char val[32];
};

/* A listener serving TCP and vsock; shared by dup()s of the fd. */
struct yfd_dual {
	int refs;
	int tcp_fd, vsock_fd;
	unsigned int turn;	/* alternate which world accept() tries first */
};

struct yfd {
	enum yfd_kind kind;
	int family;			/* AF_INET or AF_INET6, as the app asked */
	int sndbuf, rcvbuf;		/* what the app set, 0 if nothing */
	int nopts;
	struct yfd_opt opts[MAX_OPTS];	/* options vsock has no use for */
	struct sockaddr_storage local, peer;	/* the app's view (VSOCK) */
	socklen_t locallen, peerlen;
	struct yfd_dual *dual;
};

static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct yfd **fds;
static size_t nfds;

/* ---- configuration ---- */

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct yasmin_map map;
static const char *conf_path;
static struct stat conf_st;
static int conf_present;
static time_t conf_checked;
static int disabled, debug;
static long self_domid = -2;	/* -2: not asked yet, -1: unknown */
/*
 * How long a vsock connect may take before we give up and use TCP. A peer
 * VM without yasmin.ko never answers, so this bounds the extra delay such
 * a connection pays; YASMIN_CONNECT_TIMEOUT_MS overrides it.
 */
static long connect_timeout_ms = 3000;

static void dbg(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (!debug)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fprintf(stderr, "yasmin: %s\n", buf);
}

static void map_warn(const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "yasmin: %s\n", msg);
}

/* Re-read the map when the file changed; checked at most once a second. */
static void map_refresh_locked(void)
{
	time_t now = time(NULL);
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (now == conf_checked)
		return;
	conf_checked = now;
	if (stat(conf_path, &st)) {
		if (conf_present)
			dbg("map %s is gone: everything stays TCP", conf_path);
		conf_present = 0;
		yasmin_map_free(&map);
		return;
	}
	if (conf_present && st.st_ino == conf_st.st_ino &&
	    st.st_size == conf_st.st_size &&
	    st.st_mtim.tv_sec == conf_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == conf_st.st_mtim.tv_nsec)
		return;
	f = fopen(conf_path, "re");
	if (!f) {
		fprintf(stderr, "yasmin: cannot read %s: %s; everything stays TCP\n",
			conf_path, strerror(errno));
		conf_present = 0;
		yasmin_map_free(&map);
		return;
	}
	text = malloc(st.st_size + 1);
	if (text)
		len = fread(text, 1, st.st_size, f);
	fclose(f);
	if (!text) {
		yasmin_map_free(&map);
		return;
	}
	if (yasmin_map_parse(&map, text, len, conf_path, map_warn, NULL) < 0)
		fprintf(stderr, "yasmin: out of memory reading %s\n", conf_path);
	free(text);
	conf_st = st;
	conf_present = 1;
	dbg("map %s: %zu entries", conf_path, map.n);
}

/* The domid of @ip, or -1. */
static long map_domid(const struct in6_addr *ip)
{
	const struct yasmin_map_entry *e;
	long d;

	pthread_mutex_lock(&map_lock);
	map_refresh_locked();
	e = yasmin_map_by_addr(&map, ip);
	d = e ? (long)e->domid : -1;
	pthread_mutex_unlock(&map_lock);
	return d;
}

/* The IP of @domid into @ip; -1 if the map does not know it. */
static int map_ip(long domid, struct in6_addr *ip)
{
	const struct yasmin_map_entry *e = NULL;

	pthread_mutex_lock(&map_lock);
	map_refresh_locked();
	if (domid >= 0)
		e = yasmin_map_by_domid(&map, domid);
	if (e)
		*ip = e->addr;
	pthread_mutex_unlock(&map_lock);
	return e ? 0 : -1;
}

/* Our own domid, from the local vsock CID (domid + 2); -1 if unknown. */
static long get_self_domid(void)
{
	unsigned int cid;
	long d = self_domid;
	int fd;

	if (d != -2)
		return d;
	d = -1;
	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (!ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) &&
		    cid >= 2 && cid != VMADDR_CID_ANY)
			d = cid - 2;
		real.close(fd);
	}
	self_domid = d;
	return d;
}

static void atfork_child(void)
{
	pthread_mutex_init(&fd_lock, NULL);
	pthread_mutex_init(&map_lock, NULL);
}

#define LOAD(f) (real.f = (typeof(real.f))dlsym(RTLD_NEXT, #f))

__attribute__((constructor)) static void yasmin_init(void)
{
	const char *e;

	if (real.socket)
		return;
	LOAD(socket); LOAD(connect); LOAD(bind); LOAD(listen);
	LOAD(accept); LOAD(accept4); LOAD(getsockname); LOAD(getpeername);
	LOAD(setsockopt); LOAD(getsockopt); LOAD(close); LOAD(dup);
	LOAD(dup2); LOAD(dup3); LOAD(fcntl); LOAD(fcntl64);
	if (!real.fcntl64)
		real.fcntl64 = real.fcntl;
	e = getenv("YASMIN_DISABLE");
	disabled = e && *e && strcmp(e, "0");
	e = getenv("YASMIN_DEBUG");
	debug = e && *e && strcmp(e, "0");
	e = getenv("YASMIN_CONNECT_TIMEOUT_MS");
	if (e && atol(e) > 0)
		connect_timeout_ms = atol(e);
	e = getenv("YASMIN_CONF");
	conf_path = e && *e ? e : DEFAULT_CONF;
	conf_checked = -1;
	pthread_atfork(NULL, NULL, atfork_child);
	if (disabled)
		dbg("disabled by YASMIN_DISABLE");
}

static int ready(void)
{
	if (!real.socket)
		yasmin_init();
	return real.socket != NULL;
}

/* ---- fd table ---- */

/* Requires fd_lock. Returns the slot for @fd, allocating it if @create. */
static struct yfd *yfd_get_locked(int fd, int create)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= nfds) {
		size_t n = nfds ? nfds : 256;
		struct yfd **p;

		if (!create)
			return NULL;
		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(fds, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + nfds, 0, (n - nfds) * sizeof(*p));
		fds = p;
		nfds = n;
	}
	if (!fds[fd] && create)
		fds[fd] = calloc(1, sizeof(struct yfd));
	return fds[fd];
}

/* Requires fd_lock. Forget @fd; the hidden fds of a listener to close go
 * to @close_fds (two slots).
 */
static void yfd_drop_locked(int fd, int *close_fds)
{
	struct yfd *y = yfd_get_locked(fd, 0);

	close_fds[0] = close_fds[1] = -1;
	if (!y)
		return;
	if (y->dual && --y->dual->refs == 0) {
		close_fds[0] = y->dual->tcp_fd;
		close_fds[1] = y->dual->vsock_fd;
		free(y->dual);
	}
	free(y);
	fds[fd] = NULL;
}

static void close_hidden(const int *close_fds)
{
	if (close_fds[0] >= 0)
		real.close(close_fds[0]);
	if (close_fds[1] >= 0)
		real.close(close_fds[1]);
}

static void yfd_drop(int fd)
{
	int hidden[2];

	pthread_mutex_lock(&fd_lock);
	yfd_drop_locked(fd, hidden);
	pthread_mutex_unlock(&fd_lock);
	close_hidden(hidden);
}

/* A snapshot of @fd's state; kind YFD_NONE when untracked. */
static struct yfd yfd_copy(int fd)
{
	struct yfd copy = { .kind = YFD_NONE }, *y;

	pthread_mutex_lock(&fd_lock);
	y = yfd_get_locked(fd, 0);
	if (y)
		copy = *y;
	pthread_mutex_unlock(&fd_lock);
	return copy;
}

static int yfd_store(int fd, const struct yfd *state)
{
	struct yfd *y;

	pthread_mutex_lock(&fd_lock);
	y = yfd_get_locked(fd, 1);
	if (y)
		*y = *state;
	pthread_mutex_unlock(&fd_lock);
	return y ? 0 : -1;
}

/* @newfd now refers to what @oldfd does. */
static void yfd_dup(int oldfd, int newfd)
{
	int hidden[2] = { -1, -1 };
	struct yfd *o, *n;

	pthread_mutex_lock(&fd_lock);
	yfd_drop_locked(newfd, hidden);
	o = yfd_get_locked(oldfd, 0);
	if (o) {
		n = yfd_get_locked(newfd, 1);
		if (n) {
			*n = *o;
			if (n->dual)
				n->dual->refs++;
		}
	}
	pthread_mutex_unlock(&fd_lock);
	close_hidden(hidden);
}

/*
 * A stream socket of the Internet families the app made (also ones made
 * before we were loaded, or through a raw syscall).
 */
static struct yfd yfd_tcp(int fd)
{
	struct yfd y = yfd_copy(fd);
	int dom = 0, type = 0;
	socklen_t l = sizeof(int);

	if (y.kind != YFD_NONE)
		return y;
	if (real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) ||
	    (dom != AF_INET && dom != AF_INET6))
		return y;
	l = sizeof(int);
	if (real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) ||
	    type != SOCK_STREAM)
		return y;
	y.kind = YFD_TCP;
	y.family = dom;
	return y;
}

/* ---- helpers ---- */

static const char *ip_str(const struct in6_addr *ip, char *buf, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(ip))
		return inet_ntop(AF_INET, &ip->s6_addr[12], buf, len);
	return inet_ntop(AF_INET6, ip, buf, len);
}

static void remember_opt(struct yfd *y, int level, int name, const void *val,
			 socklen_t len)
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
static void apply_bufsize(int vfd, const struct yfd *y)
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

/* Socket-level options vsock honours too. */
static void replay_opts(int vfd, const struct yfd *y)
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

/* The app's view of this VM's own address, for getsockname(). */
static void local_view(struct yfd *y, uint16_t port)
{
	struct in6_addr ip;

	if (map_ip(get_self_domid(), &ip))
		memset(&ip, 0, sizeof(ip));
	if (y->family == AF_INET && !IN6_IS_ADDR_V4MAPPED(&ip)) {
		memset(&ip, 0, sizeof(ip));
		ip.s6_addr[10] = ip.s6_addr[11] = 0xff;
	}
	y->locallen = yasmin_addr_build(y->family, &ip, port, &y->local);
}

static uint16_t vsock_local_port(int fd)
{
	struct sockaddr_vm a;
	socklen_t l = sizeof(a);

	if (real.getsockname(fd, (struct sockaddr *)&a, &l))
		return 0;
	return yasmin_addr_port(a.svm_port);
}

/* ---- connect ---- */

#define FALLBACK 1

/* Connect @fd to @domid over vsock. 0, FALLBACK to use TCP, or -errno. */
static int vsock_connect(int fd, struct yfd *y, long domid,
			 const struct in6_addr *ip, uint16_t port)
{
	struct sockaddr_vm va = {
		.svm_family = AF_VSOCK,
		.svm_cid = (unsigned int)domid + 2,
		.svm_port = port,
	};
	struct timeval tv = {
		.tv_sec = connect_timeout_ms / 1000,
		.tv_usec = (connect_timeout_ms % 1000) * 1000,
	};
	int vfd, fl, fdfl, err;

	vfd = real.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (vfd < 0) {
		dbg("no AF_VSOCK here (%s): TCP", strerror(errno));
		return FALLBACK;
	}
	apply_bufsize(vfd, y);
	replay_opts(vfd, y);
	real.setsockopt(vfd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
			sizeof(tv));
	/*
	 * Connect before touching the app's fd, so that a peer without a
	 * vsock listener still gets the TCP connection it expected. Even a
	 * non-blocking socket waits here: yasmin answers in milliseconds,
	 * and returning 0 at once is a valid non-blocking connect.
	 */
	while (real.connect(vfd, (struct sockaddr *)&va, sizeof(va))) {
		err = errno;
		if (err == EINTR)
			continue;
		real.close(vfd);
		switch (err) {
		case ECONNRESET: case ECONNREFUSED: case EHOSTUNREACH:
		case ENETUNREACH: case ENODEV: case ETIMEDOUT: case ENOBUFS:
		case ENOMEM: case EINVAL:
			dbg("vsock connect to domain %ld port %u failed (%s): TCP",
			    domid, port, strerror(err));
			return FALLBACK;
		}
		return -err;
	}

	fl = real.fcntl(fd, F_GETFL);
	fdfl = real.fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0 ||
	    real.dup3(vfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		real.close(vfd);
		return FALLBACK;
	}
	real.close(vfd);
	if (fl & O_NONBLOCK)
		real.fcntl(fd, F_SETFL, real.fcntl(fd, F_GETFL) | O_NONBLOCK);

	y->kind = YFD_VSOCK;
	y->peerlen = yasmin_addr_build(y->family, ip, port, &y->peer);
	local_view(y, vsock_local_port(fd));
	yfd_store(fd, y);
	return 0;
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct in6_addr ip;
	struct yfd y;
	uint16_t port;
	char s[INET6_ADDRSTRLEN];
	long domid, self;
	int r;

	if (!ready())
		return errno = ENOSYS, -1;
	if (disabled || yasmin_addr_parse(addr, len, &ip, &port))
		return real.connect(fd, addr, len);
	y = yfd_tcp(fd);
	if (y.kind != YFD_TCP)
		return real.connect(fd, addr, len);
	domid = map_domid(&ip);
	self = get_self_domid();
	if (domid < 0 || domid == self) {
		dbg("connect fd %d to %s port %u: %s, TCP", fd,
		    ip_str(&ip, s, sizeof(s)), port,
		    domid < 0 ? "not mapped" : "this VM itself");
		return real.connect(fd, addr, len);
	}
	r = vsock_connect(fd, &y, domid, &ip, port);
	if (r == FALLBACK)
		return real.connect(fd, addr, len);
	if (r < 0)
		return errno = -r, -1;
	dbg("connect fd %d to %s port %u: vsock to domain %ld (CID %ld)", fd,
	    ip_str(&ip, s, sizeof(s)), port, domid, domid + 2);
	return 0;
}

/* ---- listeners ---- */

EXPORT int listen(int fd, int backlog)
{
	struct sockaddr_storage ss;
	struct sockaddr_vm va = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t l = sizeof(ss);
	struct in6_addr ip;
	struct yfd y;
	uint16_t port;
	int vfd = -1, tfd = -1, ep = -1, fl, fdfl;
	long domid;

	if (!ready())
		return errno = ENOSYS, -1;
	if (real.listen(fd, backlog))
		return -1;
	if (disabled)
		return 0;
	y = yfd_tcp(fd);
	if (y.kind != YFD_TCP)
		return 0;
	if (real.getsockname(fd, (struct sockaddr *)&ss, &l) ||
	    yasmin_addr_parse((struct sockaddr *)&ss, l, &ip, &port))
		return 0;
	if (!yasmin_addr_is_any(&ip)) {
		domid = map_domid(&ip);
		if (domid < 0 || domid != get_self_domid()) {
			dbg("listen fd %d: bound to an unmapped address, TCP only", fd);
			return 0;
		}
	}

	vfd = real.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	va.svm_port = port;
	if (vfd < 0 || real.bind(vfd, (struct sockaddr *)&va, sizeof(va)) ||
	    real.listen(vfd, backlog)) {
		dbg("listen fd %d port %u: no vsock listener (%s), TCP only",
		    fd, port, strerror(errno));
		goto tcp_only;
	}
	fl = real.fcntl(fd, F_GETFL);
	fdfl = real.fcntl(fd, F_GETFD);
	tfd = real.fcntl(fd, F_DUPFD_CLOEXEC, HIDDEN_FD_MIN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (fl < 0 || fdfl < 0 || tfd < 0 || ep < 0)
		goto tcp_only;
	/* The hidden fds never block: accept() below does the waiting. */
	real.fcntl(tfd, F_SETFL, fl | O_NONBLOCK);
	ev.data.fd = tfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev))
		goto tcp_only;
	ev.data.fd = vfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, vfd, &ev))
		goto tcp_only;
	y.dual = calloc(1, sizeof(*y.dual));
	if (!y.dual)
		goto tcp_only;
	y.dual->refs = 1;
	y.dual->tcp_fd = tfd;
	y.dual->vsock_fd = vfd;
	y.kind = YFD_DUAL;
	/* The app's fd number now names the epoll fd; its socket lives on. */
	if (real.dup3(ep, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		free(y.dual);
		goto tcp_only;
	}
	real.close(ep);
	if (fl & O_NONBLOCK)
		real.fcntl(fd, F_SETFL, O_NONBLOCK);
	if (yfd_store(fd, &y)) {
		/* Cannot track it: put the TCP listener back. */
		real.dup3(tfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
		real.fcntl(fd, F_SETFL, fl);
		free(y.dual);
		ep = -1;
		goto tcp_only;
	}
	dbg("listen fd %d port %u: TCP and vsock", fd, port);
	return 0;

tcp_only:
	if (vfd >= 0)
		real.close(vfd);
	if (tfd >= 0)
		real.close(tfd);
	if (ep >= 0)
		real.close(ep);
	return 0;
}

static int dual_nonblocking(int fd)
{
	int fl = real.fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

static int accept_vsock(int fd, const struct yfd *l, struct sockaddr *addr,
			socklen_t *len, int flags)
{
	struct sockaddr_vm va;
	socklen_t vl = sizeof(va);
	struct in6_addr ip;
	struct yfd y = { .kind = YFD_VSOCK, .family = l->family };
	char s[INET6_ADDRSTRLEN];
	uint16_t peer_port;
	long domid;
	int nfd;

	nfd = real.accept4(l->dual->vsock_fd, (struct sockaddr *)&va, &vl,
			   flags);
	if (nfd < 0)
		return -1;
	domid = (long)va.svm_cid - 2;
	if (map_ip(domid, &ip)) {
		/* Not in our map: show 0.0.0.0 rather than a vsock address. */
		memset(&ip, 0, sizeof(ip));
		ip.s6_addr[10] = ip.s6_addr[11] = 0xff;
	}
	if (l->family == AF_INET && !IN6_IS_ADDR_V4MAPPED(&ip)) {
		memset(&ip, 0, sizeof(ip));
		ip.s6_addr[10] = ip.s6_addr[11] = 0xff;
	}
	peer_port = yasmin_addr_port(va.svm_port);
	y.peerlen = yasmin_addr_build(y.family, &ip, peer_port, &y.peer);
	local_view(&y, vsock_local_port(nfd));
	if (yfd_store(nfd, &y)) {
		real.close(nfd);
		return errno = ENOMEM, -1;
	}
	yasmin_addr_copy_out(&y.peer, y.peerlen, addr, len);
	dbg("accept fd %d: vsock from domain %ld (%s port %u) as fd %d", fd,
	    domid, ip_str(&ip, s, sizeof(s)), peer_port, nfd);
	return nfd;
}

static int accept_dual(int fd, const struct yfd *l, struct sockaddr *addr,
		       socklen_t *len, int flags)
{
	for (;;) {
		/* Take turns, so a busy world cannot starve the other. */
		int vsock_first = __atomic_fetch_add(&l->dual->turn, 1,
						     __ATOMIC_RELAXED) & 1;
		struct epoll_event ev;
		int i, nfd;

		for (i = 0; i < 2; i++) {
			if (vsock_first == (i == 0)) {
				nfd = accept_vsock(fd, l, addr, len, flags);
			} else {
				nfd = real.accept4(l->dual->tcp_fd, addr, len,
						   flags);
				if (nfd >= 0)
					dbg("accept fd %d: TCP as fd %d", fd, nfd);
			}
			if (nfd >= 0)
				return nfd;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
		}
		if (dual_nonblocking(fd))
			return errno = EAGAIN, -1;
		if (epoll_wait(fd, &ev, 1, -1) < 0)
			return -1;
	}
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct yfd l;

	if (!ready())
		return errno = ENOSYS, -1;
	l = yfd_copy(fd);
	if (l.kind != YFD_DUAL)
		return real.accept4(fd, addr, len, flags);
	return accept_dual(fd, &l, addr, len, flags);
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return do_accept(fd, addr, len, 0);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return do_accept(fd, addr, len, flags);
}

/* ---- the rest of the socket API ---- */

EXPORT int socket(int domain, int type, int protocol)
{
	struct yfd y = { .kind = YFD_TCP, .family = domain };
	int fd;

	if (!ready())
		return errno = ENOSYS, -1;
	fd = real.socket(domain, type, protocol);
	if (fd < 0 || disabled)
		return fd;
	if ((domain == AF_INET || domain == AF_INET6) &&
	    (type & 0xf) == SOCK_STREAM &&
	    (protocol == 0 || protocol == IPPROTO_TCP))
		yfd_store(fd, &y);
	else
		yfd_drop(fd);	/* a stale entry from a raw close() */
	return fd;
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!ready())
		return errno = ENOSYS, -1;
	return real.bind(fd, addr, len);
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct yfd y;

	if (!ready())
		return errno = ENOSYS, -1;
	y = yfd_copy(fd);
	if (y.kind == YFD_DUAL)
		return real.getsockname(y.dual->tcp_fd, addr, len);
	if (y.kind == YFD_VSOCK) {
		if (!addr || !len)
			return errno = EFAULT, -1;
		yasmin_addr_copy_out(&y.local, y.locallen, addr, len);
		return 0;
	}
	return real.getsockname(fd, addr, len);
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct yfd y;

	if (!ready())
		return errno = ENOSYS, -1;
	y = yfd_copy(fd);
	if (y.kind == YFD_DUAL)
		return errno = ENOTCONN, -1;
	if (y.kind == YFD_VSOCK) {
		if (!addr || !len)
			return errno = EFAULT, -1;
		/* A reset peer is still named, like TCP does until close. */
		yasmin_addr_copy_out(&y.peer, y.peerlen, addr, len);
		return 0;
	}
	return real.getpeername(fd, addr, len);
}

EXPORT int setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	struct yfd y;
	int v;

	if (!ready())
		return errno = ENOSYS, -1;
	y = yfd_copy(fd);
	if (y.kind == YFD_NONE)
		return real.setsockopt(fd, level, name, val, len);
	if (y.kind == YFD_DUAL)
		return real.setsockopt(y.dual->tcp_fd, level, name, val, len);
	if (y.kind == YFD_TCP) {
		if (real.setsockopt(fd, level, name, val, len))
			return -1;
	}
	if (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF ||
				    name == SO_SNDBUFFORCE ||
				    name == SO_RCVBUFFORCE)) {
		if (!val || len < (socklen_t)sizeof(int))
			return errno = EINVAL, -1;
		memcpy(&v, val, sizeof(v));
		if (name == SO_SNDBUF || name == SO_SNDBUFFORCE)
			y.sndbuf = v;
		else
			y.rcvbuf = v;
	} else if (y.kind == YFD_VSOCK && level == SOL_SOCKET &&
		   !real.setsockopt(fd, level, name, val, len)) {
		return 0;
	}
	/* TCP-level and other options: remember them and say yes. */
	remember_opt(&y, level, name, val, len);
	yfd_store(fd, &y);
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
	const struct yfd_opt *o;
	struct tcp_info ti;
	struct yfd y;
	int v;

	if (!ready())
		return errno = ENOSYS, -1;
	y = yfd_copy(fd);
	if (y.kind == YFD_DUAL)
		return real.getsockopt(y.dual->tcp_fd, level, name, val, len);
	if (y.kind != YFD_VSOCK)
		return real.getsockopt(fd, level, name, val, len);

	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_DOMAIN:
			return opt_out(val, len, &y.family, sizeof(int));
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

EXPORT int close(int fd)
{
	if (!ready())
		return errno = ENOSYS, -1;
	yfd_drop(fd);
	return real.close(fd);
}

EXPORT int dup(int fd)
{
	int nfd;

	if (!ready())
		return errno = ENOSYS, -1;
	nfd = real.dup(fd);
	if (nfd >= 0)
		yfd_dup(fd, nfd);
	return nfd;
}

EXPORT int dup2(int fd, int nfd)
{
	int r;

	if (!ready())
		return errno = ENOSYS, -1;
	r = real.dup2(fd, nfd);
	if (r >= 0 && fd != nfd)
		yfd_dup(fd, r);
	return r;
}

EXPORT int dup3(int fd, int nfd, int flags)
{
	int r;

	if (!ready())
		return errno = ENOSYS, -1;
	r = real.dup3(fd, nfd, flags);
	if (r >= 0)
		yfd_dup(fd, r);
	return r;
}

static int do_fcntl(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
	int r = fn(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		yfd_dup(fd, r);
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!ready())
		return errno = ENOSYS, -1;
	return do_fcntl(real.fcntl, fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!ready())
		return errno = ENOSYS, -1;
	return do_fcntl(real.fcntl64, fd, cmd, arg);
}
