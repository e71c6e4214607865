// SPDX-License-Identifier: GPL-2.0
/*
 * connect(): to a mapped IP (not this VM's own), try AF_VSOCK to CID
 * domid + 2, same port, on a socket of the shim's; once it is connected,
 * dup3() it onto the app's fd (number, FD_CLOEXEC, O_NONBLOCK kept). If
 * vsock cannot reach the peer, the app's own TCP socket connects as it
 * would have.
 *
 * Blocking connect: waits for the handshake up to an absolute deadline
 * (YASMIN_CONNECT_TIMEOUT_MS). A signal returns EINTR to the caller
 * unless every caught signal has SA_RESTART (then the wait goes on, as
 * the kernel restarts a TCP connect); a retried connect() waits for the
 * same attempt, to the same deadline.
 *
 * Non-blocking connect never waits for a timeout:
 *  - a destination known to speak vsock (it did within the TTL) gets the
 *    vsock socket at once and EINPROGRESS; poll + SO_ERROR give the result;
 *  - a destination known not to (no module, no listener) goes to TCP at once;
 *  - on first contact the handshake (milliseconds when yasmin is there) may
 *    take up to YASMIN_NONBLOCK_WAIT_MS; if it is not done by then the
 *    connection goes over TCP and the attempt goes on as a probe, whose
 *    outcome the next connect() to that VM reads.
 * The choice has to be made before connect() returns: the app registers
 * the fd's open file with epoll afterwards, so it cannot be swapped later.
 *
 * What failed is remembered per destination for YASMIN_NEGATIVE_TTL
 * seconds: a VM that never answers (no yasmin.ko) for all its ports, a
 * refusal (nobody listening on vsock) for that port.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "addr.h"
#include "shim.h"

#define FALLBACK	1
#define SLOW		2	/* no answer yet within a short wait */
#define NCACHE		64
#define NPROBES		8

struct dest_memo {
	long domid;
	int port;		/* -1: every port of the domain */
	int good;		/* 1 speaks vsock, 0 does not */
	time_t until;
};

struct probe {
	int fd;			/* hidden, -1 if the slot is free */
	long domid;
	uint16_t port;
	struct timespec deadline;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dest_memo memo[NCACHE];
static struct probe probes[NPROBES] = { [0 ... NPROBES - 1] = { .fd = -1 } };

HIDDEN void yasmin_connect_atfork(int phase)
{
	int i;

	if (phase == ATFORK_PREPARE) {
		pthread_mutex_lock(&cache_lock);
		return;
	}
	if (phase == ATFORK_CHILD)	/* the parent reads its probes */
		for (i = 0; i < NPROBES; i++)
			if (probes[i].fd >= 0) {
				real.close(probes[i].fd);
				probes[i].fd = -1;
			}
	pthread_mutex_unlock(&cache_lock);
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec ts;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (deadline->tv_sec - ts.tv_sec) * 1000 +
	     (deadline->tv_nsec - ts.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

static struct timespec deadline_in(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

static void memo_set_locked(long domid, int port, int good)
{
	time_t t = now_s();
	int i, slot = 0;

	for (i = 0; i < NCACHE; i++) {
		if (memo[i].until && memo[i].domid == domid &&
		    memo[i].port == port) {
			slot = i;
			break;
		}
		if (memo[i].until < memo[slot].until)
			slot = i;
	}
	memo[slot].domid = domid;
	memo[slot].port = port;
	memo[slot].good = good;
	memo[slot].until = t + yasmin_negative_ttl_s;
}

static void memo_set(long domid, int port, int good)
{
	pthread_mutex_lock(&cache_lock);
	memo_set_locked(domid, port, good);
	pthread_mutex_unlock(&cache_lock);
}

/* Turn probes that finished into memos. Requires cache_lock. */
static void probes_reap_locked(void)
{
	int i, err;
	socklen_t l;

	for (i = 0; i < NPROBES; i++) {
		struct probe *p = &probes[i];
		struct pollfd pfd = { .events = POLLOUT };

		if (p->fd < 0)
			continue;
		pfd.fd = p->fd;
		if (poll(&pfd, 1, 0) == 0) {
			if (ms_left(&p->deadline) > 0)
				continue;
			dbg("probe of domain %ld: no answer in time, no yasmin there",
			    p->domid);
			memo_set_locked(p->domid, -1, 0);
		} else {
			err = 0;
			l = sizeof(err);
			real.getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			dbg("probe of domain %ld port %u: %s", p->domid, p->port,
			    err ? strerror(err) : "vsock works");
			if (!err)
				memo_set_locked(p->domid, p->port, 1);
			else if (err == ETIMEDOUT || err == ENODEV)
				memo_set_locked(p->domid, -1, 0);
			else
				memo_set_locked(p->domid, p->port, 0);
		}
		real.close(p->fd);
		p->fd = -1;
	}
}

/* 1 known good, 0 known bad, -1 unknown, 2 being probed. */
static int memo_get(long domid, int port)
{
	time_t t = now_s();
	int i, r = -1;

	pthread_mutex_lock(&cache_lock);
	probes_reap_locked();
	for (i = 0; i < NCACHE && r != 0; i++)
		if (memo[i].until > t && memo[i].domid == domid &&
		    (memo[i].port == port || memo[i].port == -1))
			r = memo[i].good;
	for (i = 0; i < NPROBES && r == -1; i++)
		if (probes[i].fd >= 0 && probes[i].domid == domid)
			r = 2;
	pthread_mutex_unlock(&cache_lock);
	return r;
}

/* Keep @vfd's handshake going as a probe; closes it if no slot. */
static void probe_add(int vfd, long domid, uint16_t port)
{
	int i;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < NPROBES; i++)
		if (probes[i].fd < 0)
			break;
	if (i < NPROBES) {
		probes[i].fd = yasmin_hidden_fd(vfd, 1);
		probes[i].domid = domid;
		probes[i].port = port;
		probes[i].deadline = deadline_in(yasmin_connect_timeout_ms + 500);
		vfd = -1;
	}
	pthread_mutex_unlock(&cache_lock);
	if (vfd >= 0)
		real.close(vfd);
}

static int fallback_error(int err)
{
	switch (err) {
	case ECONNRESET: case ECONNREFUSED: case EHOSTUNREACH:
	case ENETUNREACH: case ENODEV: case ETIMEDOUT: case ENOBUFS:
	case ENOMEM: case EINVAL: case EAFNOSUPPORT: case EPROTONOSUPPORT:
		return 1;
	}
	return 0;
}

/* Remember why vsock failed for @domid/@port. */
static void note_failure(long domid, uint16_t port, int err)
{
	if (err == ETIMEDOUT || err == ENODEV || err == EHOSTUNREACH ||
	    err == ENETUNREACH)
		memo_set(domid, -1, 0);
	else
		memo_set(domid, port, 0);
}

/*
 * The app read SO_ERROR of a vsock connect the shim committed to (the
 * destination had answered before): when it failed, the next connect()
 * there uses TCP at once.
 */
HIDDEN void yasmin_connect_failed(const struct yfd *y, int err)
{
	long domid;

	if (!y->has_peer)
		return;
	domid = yasmin_map_domid(&y->peer_ip);
	if (domid < 0)
		return;
	dbg("vsock connect to domain %ld port %u failed (%s): TCP from now on",
	    domid, y->peer_port, strerror(err));
	note_failure(domid, y->peer_port, err);
}

/* @vfd is connected: make it the app's @fd. */
static int adopt(int fd, int vfd, struct yfd *y, const struct in6_addr *ip,
		 uint16_t port, int nonblock)
{
	int fdfl = real.fcntl(fd, F_GETFD), fl;

	if (fdfl < 0 ||
	    real.dup3(vfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		real.close(vfd);
		return -1;
	}
	real.close(vfd);
	fl = real.fcntl(fd, F_GETFL);
	if (fl >= 0)
		real.fcntl(fd, F_SETFL, nonblock ? (fl | O_NONBLOCK)
						 : (fl & ~O_NONBLOCK));
	y->ino = yasmin_fd_ino(fd);
	y->has_peer = 1;
	y->peer_ip = *ip;
	y->peer_port = port;
	y->pend_fd = -1;
	yfd_put(fd, y);
	return 0;
}

/* The handshake on @vfd succeeded: remember it, and hand @vfd to the app. */
static int connected(int fd, int vfd, struct yfd *y, const struct in6_addr *ip,
		     uint16_t port, long domid, const struct timespec *deadline,
		     int nonblock)
{
	dbg("vsock handshake with domain %ld: %ld ms", domid,
	    yasmin_connect_timeout_ms - ms_left(deadline));
	memo_set(domid, port, 1);
	return adopt(fd, vfd, y, ip, port, nonblock) ? FALLBACK : 0;
}

/* SO_ERROR of a finished handshake on @vfd. */
static int so_error(int vfd)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (real.getsockopt(vfd, SOL_SOCKET, SO_ERROR, &err, &l))
		return errno;
	return err;
}

/*
 * Wait for the handshake on @vfd until @deadline. 0 connected,
 * FALLBACK, or -errno (EINTR: the caller keeps @vfd pending).
 */
static int wait_handshake(int vfd, const struct timespec *deadline,
			  long domid, uint16_t port, int final)
{
	struct pollfd pfd = { .fd = vfd, .events = POLLOUT };
	int n, err;

	n = poll(&pfd, 1, (int)ms_left(deadline));
	if (n < 0)
		return -errno;
	if (n == 0 && !final)
		return SLOW;
	if (n == 0) {
		dbg("vsock connect to domain %ld port %u: no answer in %ld ms: TCP",
		    domid, port, yasmin_connect_timeout_ms);
		memo_set(domid, -1, 0);
		return FALLBACK;
	}
	err = so_error(vfd);
	if (!err)
		return 0;
	dbg("vsock connect to domain %ld port %u failed (%s): TCP", domid,
	    port, strerror(err));
	note_failure(domid, port, err);
	return fallback_error(err) ? FALLBACK : -err;
}

/*
 * A blocking connect() whose wait a signal interrupted: does the program
 * want EINTR? On TCP the kernel restarts connect() after a handler with
 * SA_RESTART, so the shim waits on unless some signal is caught without
 * it (which signal ran is not known here). Handlers of faults (ASan's
 * SIGSEGV, say) do not count: they do not interrupt a system call.
 */
static int wants_eintr(void)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV ||
		    sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
		    sig == SIGTRAP || sig == SIGSYS)
			continue;
		if (sigaction(sig, NULL, &sa))
			continue;	/* the C library's own */
		if (!(sa.sa_flags & SA_SIGINFO) &&
		    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return 1;
	}
	return 0;
}

/* wait_handshake(), through signals whose handlers have SA_RESTART. */
static int wait_blocking(int vfd, const struct timespec *deadline,
			 long domid, uint16_t port)
{
	int r;

	while ((r = wait_handshake(vfd, deadline, domid, port, 1)) == -EINTR &&
	       !wants_eintr())
		;
	return r;
}

/* A connect() after a blocking one was interrupted: same attempt. */
static int resume(int fd, const struct sockaddr *addr, socklen_t len,
		  struct yfd *y)
{
	int fl = real.fcntl(fd, F_GETFL), vfd = y->pend_fd, r;
	struct in6_addr ip = y->pend_ip;
	struct pollfd pfd = { .fd = vfd, .events = POLLOUT };

	if (fl >= 0 && (fl & O_NONBLOCK) && poll(&pfd, 1, 0) == 0)
		return errno = EALREADY, -1;
	r = wait_blocking(vfd, &y->pend_deadline, y->pend_domid, y->pend_port);
	if (r == -EINTR)
		return errno = EINTR, -1;
	y->pend_fd = -1;	/* ours now, not the table's */
	yfd_put(fd, y);
	if (r == 0)
		return adopt(fd, vfd, y, &ip, y->pend_port,
			     fl >= 0 && (fl & O_NONBLOCK));
	real.close(vfd);
	if (r == FALLBACK)
		return real.connect(fd, addr, len);
	return errno = -r, -1;
}

static int vsock_connect(int fd, struct yfd *y, long domid,
			 const struct in6_addr *ip, uint16_t port)
{
	struct sockaddr_vm va = {
		.svm_family = AF_VSOCK,
		.svm_cid = (unsigned int)domid + 2,
		.svm_port = port,
	};
	struct timeval tv = {
		.tv_sec = yasmin_connect_timeout_ms / 1000,
		.tv_usec = (yasmin_connect_timeout_ms % 1000) * 1000,
	};
	int fl = real.fcntl(fd, F_GETFL), nonblock, known, vfd, r, err;
	struct timespec deadline;

	if (fl < 0)
		return FALLBACK;
	nonblock = !!(fl & O_NONBLOCK);
	known = memo_get(domid, port);
	if (known == 0 || (known == 2 && nonblock)) {
		dbg("domain %ld port %u %s: TCP at once", domid, port,
		    known ? "is being probed" : "has no vsock (remembered)");
		return FALLBACK;
	}
	vfd = real.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (vfd < 0) {
		dbg("no AF_VSOCK here (%s): TCP", strerror(errno));
		return FALLBACK;
	}
	yasmin_apply_bufsize(vfd, y);
	yasmin_replay_opts(vfd, y);
	real.setsockopt(vfd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
			sizeof(tv));
	deadline = deadline_in(yasmin_connect_timeout_ms);
	if (!real.connect(vfd, (struct sockaddr *)&va, sizeof(va)))
		return adopt(fd, vfd, y, ip, port, nonblock) ? FALLBACK : 0;
	err = errno;
	if (err != EINPROGRESS && err != EINTR) {
		real.close(vfd);
		dbg("vsock connect to domain %ld port %u failed (%s): TCP",
		    domid, port, strerror(err));
		note_failure(domid, port, err);
		return fallback_error(err) ? FALLBACK : -err;
	}
	if (nonblock) {
		struct timespec wait;

		if (known == 1) {
			/* It answered before: commit, the app polls. */
			if (adopt(fd, vfd, y, ip, port, 1))
				return FALLBACK;
			return -EINPROGRESS;
		}
		wait = deadline_in(yasmin_nonblock_wait_ms);
		do {
			r = wait_handshake(vfd, &wait, domid, port, 0);
		} while (r == -EINTR);
		if (r == SLOW) {
			/* Only slow so far: TCP now, the outcome for later. */
			dbg("domain %ld port %u: no vsock answer in %ld ms: TCP, probing",
			    domid, port, yasmin_nonblock_wait_ms);
			probe_add(vfd, domid, port);
			return FALLBACK;
		}
		if (r == 0)
			return connected(fd, vfd, y, ip, port, domid,
					 &deadline, 1);
		real.close(vfd);
		return r;
	}
	r = wait_blocking(vfd, &deadline, domid, port);
	if (r == -EINTR) {
		/* The caller hears of the signal; the attempt goes on. */
		y->pend_fd = yasmin_hidden_fd(vfd, 1);
		y->pend_deadline = deadline;
		y->pend_ip = *ip;
		y->pend_port = port;
		y->pend_domid = domid;
		if (yfd_put(fd, y)) {
			real.close(y->pend_fd);
			return FALLBACK;
		}
		return -EINTR;
	}
	if (r == 0)
		return connected(fd, vfd, y, ip, port, domid, &deadline, 0);
	real.close(vfd);
	return r;
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct in6_addr ip;
	struct yfd y;
	uint16_t port;
	char s[INET6_ADDRSTRLEN];
	int dom, type = 0, r;
	socklen_t tl = sizeof(type);
	long domid, self;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (yasmin_disabled || yasmin_addr_parse(addr, len, &ip, &port))
		return real.connect(fd, addr, len);
	dom = yasmin_fd_domain(fd);
	if ((dom != AF_INET && dom != AF_INET6) ||
	    real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) ||
	    type != SOCK_STREAM)
		return real.connect(fd, addr, len);
	if (yfd_get(fd, &y))
		yfd_init(&y, yasmin_fd_ino(fd), dom);
	if (y.pend_fd >= 0)
		return resume(fd, addr, len, &y);
	domid = yasmin_map_domid(&ip);
	self = yasmin_self_domid();
	if (domid < 0 || domid == self) {
		dbg("connect fd %d to %s port %u: %s, TCP", fd,
		    yasmin_ip_str(&ip, s, sizeof(s)), port,
		    domid < 0 ? "not mapped" : "this VM itself");
		return real.connect(fd, addr, len);
	}
	y.family = dom;
	r = vsock_connect(fd, &y, domid, &ip, port);
	if (r == FALLBACK)
		return real.connect(fd, addr, len);
	if (r < 0)
		return errno = -r, -1;
	dbg("connect fd %d to %s port %u: vsock to domain %ld (CID %ld)", fd,
	    yasmin_ip_str(&ip, s, sizeof(s)), port, domid, domid + 2);
	return 0;
}
