// SPDX-License-Identifier: GPL-2.0
/*
 * Listeners: the app's fd stays its real TCP listener.
 *
 * listen() on a wildcard or this VM's own mapped IPv4 address also opens a
 * vsock listener on the same port, on a hidden fd (high number, FD_CLOEXEC
 * exactly when the TCP listener has it, so both cross exec together).
 * Arrivals on it are surfaced through the TCP listener itself:
 *
 *  - accept()/accept4() calls the real accept on the app's fd;
 *  - a helper thread per process watches the vsock listeners and, while
 *    one has a connection waiting, keeps one "doorbell" connection pending
 *    on the TCP listener: a loopback connect from the reserved source
 *    address 127.89.83.77. The app's poll/epoll/select/blocking accept
 *    wake as for any client. When accept() gets a doorbell, it takes the
 *    vsock connection and dup3()s it onto the accepted fd; if none is
 *    there (another process took it, or it came from a domain not in the
 *    map and was refused), the doorbell is closed and a blocking accept
 *    says ECONNABORTED (never blocks after select() said readable), a
 *    non-blocking one goes on to the next client or EAGAIN.
 *
 * A vsock connection is never taken without its doorbell: the helper
 * rings one doorbell at a time and only while a connection waits, so in
 * one process every doorbell still has its connection when accepted, and
 * a listener that select()/poll() calls readable has a client behind it.
 *
 * Because the app's fd is the real socket, listen() again, shutdown() to
 * wake accepters, SO_RCVTIMEO, SA_RESTART, EPOLLEXCLUSIVE, fstat and
 * SO_REUSEPORT behave as the kernel makes them. The state is keyed by the
 * TCP listener's inode, not an fd number: dup'd, inherited and passed fds
 * find it, and a process that inherits the listeners across exec (nginx's
 * binary upgrade) adopts the inherited vsock listener at its next listen().
 * Only domains in the map are accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/vm_sockets.h>

#include "addr.h"
#include "shim.h"

#define BELL_ADDR	0x7f59534dU	/* 127.89.83.77: 'Y' 'S' 'M' */
#define WATCH_MIN	64	/* the helper's arrays grow from there */
#define CLAIM_MS	200	/* how often a helper asks to be the ringer */

struct ylisten {
	struct ylisten *next;
	int refs;		/* the registry's and each user's */
	int registered;
	ino_t tcp_ino;
	int family;		/* of the app's TCP listener */
	int vsock_fd;
	uint16_t port;
	struct sockaddr_in target;	/* where the doorbell rings */
	int bell_fd;		/* the helper's pending doorbell, -1 */
	int bell_sent;		/* its byte is sent (TCP_DEFER_ACCEPT) */
	struct timespec quiet_until;	/* after a doorbell failed */
	ino_t vsock_ino;	/* the vsock listener, in every process */
	int claim_fd;		/* the ringer's name, once claimed */
	int claimed;		/* this process rings for the listener */
	struct timespec claim_at;	/* next try to become the ringer */
	int spare_fd;		/* the next doorbell's socket, -1 */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ylisten *reg;
static int helper_running, wake_fd = -1;
static pid_t helper_pid;

static void start_helper_locked(void);

static void l_free(struct ylisten *l)
{
	if (l->vsock_fd >= 0)
		real.close(l->vsock_fd);
	if (l->bell_fd >= 0)
		real.close(l->bell_fd);
	if (l->claim_fd >= 0)
		real.close(l->claim_fd);
	if (l->spare_fd >= 0)
		real.close(l->spare_fd);
	free(l);
}

/*
 * Listeners the app closed that a thread still uses (an accept() in
 * flight, the helper's poll): their vsock socket is still open and bound,
 * and must not be taken for an inherited one, nor block the port.
 */
static struct ylisten *dying;

static void unlink_dying_locked(struct ylisten *l)
{
	struct ylisten **p;

	for (p = &dying; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			return;
		}
}

static void l_put(struct ylisten *l)
{
	int last;

	pthread_mutex_lock(&reg_lock);
	last = --l->refs == 0;
	if (last)
		unlink_dying_locked(l);
	pthread_mutex_unlock(&reg_lock);
	if (last)
		l_free(l);
}

/*
 * The helper's sockets (the next doorbell, the ringer's name) are made in
 * the program's own calls (listen, accept, fork) and kept high: a socket
 * the helper thread made itself would take the lowest free fd for a
 * moment, which a program that closes an fd and opens the next expects
 * to get (close(0); open() -> 0).
 */
static int new_spare(void)
{
	int s = real.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return s < 0 ? -1 : yasmin_hidden_fd(s, 1);
}

static int new_claim(void)
{
	int s = real.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
	    one = 1;

	if (s >= 0)	/* who asks for the vsock listener (serve_asks_locked) */
		real.setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	return s < 0 ? -1 : yasmin_hidden_fd(s, 1);
}

/* The abstract name of the process that rings for vsock port @port. */
static socklen_t ring_name(struct sockaddr_un *un, uint16_t port)
{
	int n;

	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	n = snprintf(un->sun_path + 1, sizeof(un->sun_path) - 1,
		     "yasmin-vsock-%u", port);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

/* Requires reg_lock. Let another process be the ringer. */
static void unclaim_locked(struct ylisten *l)
{
	if (l->claim_fd >= 0)
		real.close(l->claim_fd);
	l->claim_fd = -1;
	l->claimed = 0;
}

/* Requires reg_lock. Returns 1 when the caller must l_free(). */
static int unregister_locked(struct ylisten *l)
{
	struct ylisten **p;

	for (p = &reg; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			__atomic_store_n(&l->registered, 0, __ATOMIC_RELEASE);
			unclaim_locked(l);
			if (--l->refs == 0)
				return 1;
			l->next = dying;
			dying = l;
			return 0;
		}
	return 0;
}

/* Requires reg_lock. Is @fd one of the shim's listener fds? */
static int owned_locked(int fd)
{
	struct ylisten *l;

	for (l = reg; l; l = l->next)
		if (l->vsock_fd == fd || l->bell_fd == fd)
			return 1;
	for (l = dying; l; l = l->next)
		if (l->vsock_fd == fd || l->bell_fd == fd)
			return 1;
	return 0;
}

static struct ylisten *find_locked(ino_t ino)
{
	struct ylisten *l;

	for (l = reg; l; l = l->next)
		if (l->tcp_ino == ino)
			return l;
	return NULL;
}

static struct ylisten *l_get(ino_t ino)
{
	struct ylisten *l;

	pthread_mutex_lock(&reg_lock);
	l = find_locked(ino);
	if (l)
		l->refs++;
	pthread_mutex_unlock(&reg_lock);
	return l;
}

HIDDEN void yasmin_listen_atfork(int phase)
{
	struct ylisten *l;

	if (phase == ATFORK_PREPARE) {
		pthread_mutex_lock(&reg_lock);
		return;
	}
	if (phase == ATFORK_CHILD) {
		/*
		 * The parent's helper owns the doorbells and stays the
		 * ringer (its copy of the name's socket is the parent's);
		 * this one starts anew, as a stand-in.
		 */
		for (l = reg; l; l = l->next) {
			if (l->bell_fd >= 0) {
				real.close(l->bell_fd);
				l->bell_fd = -1;
			}
			unclaim_locked(l);
			l->claim_fd = new_claim();
			if (l->spare_fd >= 0)	/* the parent's to connect */
				real.close(l->spare_fd);
			l->spare_fd = new_spare();
		}
		if (wake_fd >= 0)
			real.close(wake_fd);
		wake_fd = -1;
		helper_running = 0;
		if (reg)
			start_helper_locked();
	}
	pthread_mutex_unlock(&reg_lock);
}

/*
 * Which of the sockets @inos (@n of them) some fd of this process still
 * names, in @alive: one look at every fd, however many listeners.
 */
static void inos_alive(const ino_t *inos, int n, char *alive)
{
	int *fds, nfd, i, k;
	struct stat st;

	fds = yasmin_fd_list(&nfd);
	memset(alive, !fds, n);		/* cannot tell: keep them */
	for (i = 0; fds && i < nfd; i++) {
		/* A raw fstat: it only looks, it does not use the fd, and
		 * a race checker must not take it for a use. */
		if (syscall(SYS_fstat, fds[i], &st) || !S_ISSOCK(st.st_mode))
			continue;
		for (k = 0; k < n; k++)
			if (inos[k] == st.st_ino)
				alive[k] = 1;
	}
	free(fds);
}

/* Does any fd of this process still name the socket @ino? */
static int ino_alive(ino_t ino)
{
	char alive;

	inos_alive(&ino, 1, &alive);
	return alive;
}

static void wake_helper(void)
{
	uint64_t one = 1;

	if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0)
		return;
}

static int quiet(const struct ylisten *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec < l->quiet_until.tv_sec ||
	       (ts.tv_sec == l->quiet_until.tv_sec &&
		ts.tv_nsec < l->quiet_until.tv_nsec);
}

static void go_quiet(struct ylisten *l, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, &l->quiet_until);
	l->quiet_until.tv_sec += ms / 1000;
	l->quiet_until.tv_nsec += (ms % 1000) * 1000000;
	if (l->quiet_until.tv_nsec >= 1000000000) {
		l->quiet_until.tv_sec++;
		l->quiet_until.tv_nsec -= 1000000000;
	}
}

/*
 * Requires reg_lock. Is this process the one that rings for @l?
 *
 * Every process that holds the listener (a forked worker, an inetd child
 * before its exec, an exec'd new binary, a fork-per-connection server's
 * child) runs a helper that watches the same vsock listener. If each rang,
 * a connection would get one doorbell per process, and all but one would
 * stay queued on the TCP listener with nobody behind them: a blocking
 * accept() after select() would then block (iperf3's hang, across
 * processes). So one process rings: the one that holds the abstract
 * AF_UNIX name "yasmin-vsock-<port>" (a VM has one vsock listener per
 * port). The others try to bind it every CLAIM_MS, and one of them takes
 * over within that time when the ringer closes the listener or exits. If
 * the name cannot be used at all (no AF_UNIX here), every helper rings as
 * before. The ringer also hands its vsock listener to the processes of
 * its user that ask for it (fetch_vsock).
 */
static int ringer_locked(struct ylisten *l)
{
	struct sockaddr_un un;
	struct timespec ts;
	socklen_t ul;

	if (l->claimed)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec < l->claim_at.tv_sec ||
	    (ts.tv_sec == l->claim_at.tv_sec && ts.tv_nsec < l->claim_at.tv_nsec))
		return 0;
	l->claim_at = ts;
	l->claim_at.tv_nsec += CLAIM_MS * 1000000L;
	if (l->claim_at.tv_nsec >= 1000000000) {
		l->claim_at.tv_sec++;
		l->claim_at.tv_nsec -= 1000000000;
	}
	if (l->claim_fd < 0)
		return l->claimed = 1;
	ul = ring_name(&un, l->port);
	if (real.bind(l->claim_fd, (struct sockaddr *)&un, ul) &&
	    errno == EADDRINUSE)
		return 0;
	dbg("port %u: this process rings for vsock arrivals", l->port);
	return l->claimed = 1;
}

/*
 * Requires reg_lock. Hand @l's vsock listener to the processes of this
 * user that ask for it on the ringer's name (fetch_vsock). The answer
 * goes to the asker's own name, so the helper makes no fd; the control
 * buffer has room for the asker's credentials only, so fds sent along
 * are not taken in either.
 */
static void serve_asks_locked(struct ylisten *l)
{
	char cin[CMSG_SPACE(sizeof(struct ucred))], cout[CMSG_SPACE(sizeof(int))];
	struct sockaddr_un from;
	struct ucred uc;
	char b;
	int i;

	for (i = 0; i < 8; i++) {
		struct iovec iov = { .iov_base = &b, .iov_len = 1 };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cin, .msg_controllen = sizeof(cin) };
		struct cmsghdr *cm;

		if (recvmsg(l->claim_fd, &mh, MSG_DONTWAIT) < 0)
			return;
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm || cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_CREDENTIALS ||
		    mh.msg_namelen <= sizeof(sa_family_t))
			continue;
		memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
		if (uc.uid != geteuid()) {
			dbg("port %u: process %d of user %u asked for the vsock listener: refused",
			    l->port, (int)uc.pid, (unsigned int)uc.uid);
			continue;
		}
		mh.msg_control = cout;
		mh.msg_controllen = sizeof(cout);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &l->vsock_fd, sizeof(int));
		if (sendmsg(l->claim_fd, &mh, MSG_DONTWAIT) == 1)
			dbg("port %u: vsock listener handed to process %d",
			    l->port, (int)uc.pid);
	}
}

/*
 * The vsock listener on @port of the process that rings for it, or -1:
 * for a process that has the TCP listener but not the vsock one (it came
 * over SCM_RIGHTS, as to Node.js cluster's SCHED_NONE workers, or this
 * process's listen() found the vsock port taken by another's).
 */
static int fetch_vsock(uint16_t port, long wait_ms)
{
	union {		/* the answerer's credentials, then its fd */
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
			 CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	char b = 'v';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf) };
	sa_family_t fam = AF_UNIX;
	struct sockaddr_vm va;
	struct sockaddr_un un;
	struct cmsghdr *cm;
	struct ucred uc;
	struct pollfd p;
	int s, fd = -1, acc = 0, one = 1, cred = 0, sent;
	socklen_t ul, al;

	s = real.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	ul = ring_name(&un, port);
	p.fd = s;
	p.events = POLLIN;
	/* Who answers: any local user can bind the ringer's name. */
	if (real.setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    real.bind(s, (struct sockaddr *)&fam, sizeof(fam)))	/* autobind */
		goto out;
	/*
	 * Nobody holds the name for a moment when the ringer has just
	 * listened (its helper claims it at its next turn) or has just gone
	 * (another holder claims it within CLAIM_MS): ask again meanwhile.
	 */
	while (!(sent = sendto(s, &b, 1, MSG_DONTWAIT, (struct sockaddr *)&un,
			       ul) == 1) && errno == ECONNREFUSED && wait_ms > 0) {
		poll(NULL, 0, 50);
		wait_ms -= 50;
	}
	if (!sent || poll(&p, 1, 300) != 1 ||
	    recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		goto out;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(uc))) {
			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			cred = 1;
		} else if (cm->cmsg_type == SCM_RIGHTS && fd < 0 &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int i, n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			for (i = 1; i < n; i++) {	/* only one is asked for */
				int x;

				memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				real.close(x);
			}
		}
	}
	if (fd < 0)
		goto out;
	if (!cred || (uc.uid != geteuid() && uc.uid != 0)) {
		dbg("port %u: a vsock listener handed by user %d, not ours: refused",
		    port, cred ? (int)uc.uid : -1);
		real.close(fd);
		fd = -1;
		goto out;
	}
	al = sizeof(acc);
	ul = sizeof(va);
	if (yasmin_fd_domain(fd) != AF_VSOCK ||
	    real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) || !acc ||
	    real.getsockname(fd, (struct sockaddr *)&va, &ul) ||
	    va.svm_port != port) {
		real.close(fd);
		fd = -1;
	}
out:
	real.close(s);
	return fd;
}

/* Requires reg_lock. Connect a doorbell to @l's TCP listener. */
static void ring_locked(struct ylisten *l)
{
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(BELL_ADDR) };
	int s;

	s = l->spare_fd;	/* made by accept() or listen() */
	l->spare_fd = -1;
	if (s < 0)		/* the accepts are another process's */
		s = new_spare();
	if (s < 0) {
		go_quiet(l, 100);
		return;
	}
	if (real.bind(s, (struct sockaddr *)&src, sizeof(src)) ||
	    (real.connect(s, (struct sockaddr *)&l->target,
			  sizeof(l->target)) && errno != EINPROGRESS)) {
		dbg("doorbell for port %u: %s", l->port, strerror(errno));
		real.close(s);
		go_quiet(l, 200);
		return;
	}
	l->bell_fd = s;
	l->bell_sent = 0;
}

/*
 * Requires reg_lock. Room in the helper's arrays for every registered
 * listener; the number it can watch (fewer only if memory runs out).
 */
static int watch_room_locked(struct ylisten ***ls, struct pollfd **pfd,
			     int *cap)
{
	struct ylisten *l, **nls;
	struct pollfd *npfd;
	static int warned;
	int want = 0, c;

	for (l = reg; l; l = l->next)
		want++;
	if (want <= *cap)
		return want;
	for (c = *cap ? *cap : WATCH_MIN; c < want; c *= 2)
		;
	nls = realloc(*ls, c * sizeof(**ls));
	if (nls)
		*ls = nls;
	npfd = nls ? realloc(*pfd, (2 * c + 1) * sizeof(**pfd)) : NULL;
	if (npfd) {
		*pfd = npfd;
		*cap = c;
		return want;
	}
	if (!warned) {
		warned = 1;
		dbg("out of memory: only %d of %d listeners serve vsock", *cap, want);
		fprintf(stderr, "yasmin: out of memory: only %d of %d listeners serve VMs over vsock\n",
			*cap, want);
	}
	return *cap;
}

/* The TCP inodes of @ls, and room to say which are alive; 0 if no memory. */
static int watch_inos(struct ylisten **ls, int n, ino_t **inos, char **alive)
{
	int i;

	*inos = malloc(n * sizeof(**inos));
	*alive = malloc(n);
	if (!*inos || !*alive)
		return 0;
	for (i = 0; i < n; i++)
		(*inos)[i] = ls[i]->tcp_ino;
	return 1;
}

static void *helper(void *arg)
{
	struct ylisten **ls = NULL;
	struct pollfd *pfd = NULL, *asks;
	ino_t *inos = NULL;
	char *alive = NULL;
	struct timespec last_check = { 0 }, ts;
	int n, i, wfd, cap = 0, room;

	(void)arg;
	for (;;) {
		struct ylisten *l;

		pthread_mutex_lock(&reg_lock);
		if (!reg || helper_pid != getpid()) {
			helper_running = 0;
			pthread_mutex_unlock(&reg_lock);
			free(ls);
			free(pfd);
			return NULL;
		}
		room = watch_room_locked(&ls, &pfd, &cap);
		if (!room) {	/* no memory at all: try again soon */
			pthread_mutex_unlock(&reg_lock);
			poll(NULL, 0, CLAIM_MS);
			continue;
		}
		/* pfd: the listeners' n, the asks' n, then the wake fd. */
		asks = pfd + room;
		n = 0;
		for (l = reg; l && n < room; l = l->next) {
			l->refs++;
			ls[n] = l;
			if (l->bell_fd >= 0) {
				pfd[n].fd = l->bell_fd;
				pfd[n].events = POLLIN | POLLRDHUP |
						(l->bell_sent ? 0 : POLLOUT);
			} else {
				pfd[n].fd = quiet(l) || !ringer_locked(l) ? -1
								      : l->vsock_fd;
				pfd[n].events = POLLIN;
			}
			pfd[n].revents = 0;
			/* The ringer answers who asks for the listener. */
			asks[n].fd = l->claimed ? l->claim_fd : -1;
			asks[n].events = POLLIN;
			asks[n].revents = 0;
			n++;
		}
		wfd = wake_fd;
		asks[n].fd = wfd;
		asks[n].events = POLLIN;
		asks[n].revents = 0;
		pthread_mutex_unlock(&reg_lock);

		if (poll(pfd, 2 * n + 1, 200) > 0 && asks[n].revents) {
			uint64_t v;

			if (read(wfd, &v, sizeof(v)) < 0)
				v = 0;
		}

		clock_gettime(CLOCK_MONOTONIC, &ts);
		pthread_mutex_lock(&reg_lock);
		for (i = 0; i < n; i++) {
			l = ls[i];
			if (l->registered && asks[i].revents && l->claimed &&
			    asks[i].fd == l->claim_fd)
				serve_asks_locked(l);
			if (!l->registered || !pfd[i].revents)
				continue;
			if (pfd[i].fd == l->bell_fd && l->bell_fd >= 0) {
				char c;
				ssize_t r;

				/*
				 * Once connected, the doorbell sends a byte:
				 * a listener with TCP_DEFER_ACCEPT (nginx's
				 * "deferred") queues a connection only when
				 * data comes, or after its timeout.
				 */
				if ((pfd[i].revents & POLLOUT) && !l->bell_sent &&
				    send(l->bell_fd, "Y", 1,
					 MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
					l->bell_sent = 1;
				r = recv(l->bell_fd, &c, 1, MSG_DONTWAIT);

				if (r == 0 || (r < 0 && errno != EAGAIN) ||
				    (pfd[i].revents & (POLLHUP | POLLERR | POLLRDHUP))) {
					int err = 0;
					socklen_t el = sizeof(err);

					real.getsockopt(l->bell_fd, SOL_SOCKET,
							SO_ERROR, &err, &el);
					real.close(l->bell_fd);
					l->bell_fd = -1;
					if (err)	/* listener gone or shut */
						go_quiet(l, 200);
				}
			} else if (pfd[i].fd == l->vsock_fd && l->bell_fd < 0 &&
				   l->claimed && (pfd[i].revents & POLLIN)) {
				ring_locked(l);
			}
		}
		pthread_mutex_unlock(&reg_lock);

		/* Once a second: drop listeners whose TCP socket is gone. */
		if (ts.tv_sec != last_check.tv_sec &&
		    watch_inos(ls, n, &inos, &alive)) {
			last_check = ts;
			inos_alive(inos, n, alive);
			for (i = 0; i < n; i++) {
				l = ls[i];
				if (__atomic_load_n(&l->registered, __ATOMIC_ACQUIRE) &&
				    !alive[i]) {
					int last;

					dbg("listener on port %u was closed: vsock listener too",
					    l->port);
					pthread_mutex_lock(&reg_lock);
					last = l->registered && unregister_locked(l);
					pthread_mutex_unlock(&reg_lock);
					if (last)
						l_free(l);
				}
			}
		}
		free(inos);
		free(alive);
		inos = NULL;
		alive = NULL;
		for (i = 0; i < n; i++)
			l_put(ls[i]);
	}
}

/* Requires reg_lock. */
static void start_helper_locked(void)
{
	sigset_t all, old;
	pthread_attr_t at;
	pthread_t t;
	int fd;

	if (helper_running && helper_pid == getpid())
		return;
	if (wake_fd < 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return;
		wake_fd = yasmin_hidden_fd(fd, 1);
	}
	/* The app's signals stay with the app's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 64 * 1024);
	helper_pid = getpid();
	if (!pthread_create(&t, &at, helper, NULL))
		helper_running = 1;
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* A vsock listener on @port this process inherited (exec), or -1. */
static int find_inherited(uint16_t port)
{
	int *fds, n = 0, i, fd, acc, r = -1;
	struct sockaddr_vm va;
	socklen_t sl;

	fds = yasmin_fd_list(&n);
	for (i = 0; fds && i < n && r < 0; i++) {
		fd = fds[i];
		if (yasmin_fd_domain(fd) != AF_VSOCK)
			continue;
		sl = sizeof(acc);
		if (real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl) ||
		    !acc)
			continue;
		sl = sizeof(va);
		if (real.getsockname(fd, (struct sockaddr *)&va, &sl) ||
		    va.svm_port != port)
			continue;
		pthread_mutex_lock(&reg_lock);
		if (!owned_locked(fd))
			r = fd;
		pthread_mutex_unlock(&reg_lock);
	}
	free(fds);
	return r;
}

/*
 * The vsock socket of another listener on @port, dup'd: one of a
 * SO_REUSEPORT group, or one the app closed and is listening again on
 * (still open while a thread finishes with it).
 */
static int share_port(uint16_t port)
{
	struct ylisten *l;
	int r = -1;

	pthread_mutex_lock(&reg_lock);
	for (l = reg; l && r < 0; l = l->next)
		if (l->port == port && l->vsock_fd >= 0)
			r = real.fcntl(l->vsock_fd, F_DUPFD_CLOEXEC, 0);
	for (l = dying; l && r < 0; l = l->next)
		if (l->port == port && l->vsock_fd >= 0)
			r = real.fcntl(l->vsock_fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&reg_lock);
	return r;
}

/* Drop registered listeners whose TCP socket this process closed. */
static void reap(void)
{
	struct ylisten *l;
	ino_t *inos = NULL, *p;
	int n = 0, cap = 0, i, last;
	char *alive;

	pthread_mutex_lock(&reg_lock);
	for (l = reg; l; l = l->next) {
		if (n == cap) {
			cap = cap ? 2 * cap : WATCH_MIN;
			p = realloc(inos, cap * sizeof(*inos));
			if (!p)
				break;
			inos = p;
		}
		inos[n++] = l->tcp_ino;
	}
	pthread_mutex_unlock(&reg_lock);
	alive = n ? malloc(n) : NULL;
	if (!alive)
		n = 0;
	else
		inos_alive(inos, n, alive);
	for (i = 0; i < n; i++) {
		if (alive[i])
			continue;
		pthread_mutex_lock(&reg_lock);
		l = find_locked(inos[i]);
		last = l && unregister_locked(l);
		pthread_mutex_unlock(&reg_lock);
		if (last)
			l_free(l);
	}
	free(alive);
	free(inos);
}

/* Where @fd's doorbell rings; -1 if vsock cannot serve it. */
static int listener_target(int fd, const struct in6_addr *ip, uint16_t port,
			   struct sockaddr_in *t)
{
	long domid;

	memset(t, 0, sizeof(*t));
	t->sin_family = AF_INET;
	t->sin_port = htons(port);
	if (yasmin_addr_is_any(ip)) {
		t->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return 0;
	}
	domid = yasmin_map_domid(ip);
	if (domid < 0 || domid != yasmin_self_domid() ||
	    !IN6_IS_ADDR_V4MAPPED(ip)) {
		dbg("listen fd %d: not a wildcard nor this VM's mapped IPv4, TCP only",
		    fd);
		return -1;
	}
	memcpy(&t->sin_addr, &ip->s6_addr[12], 4);
	return 0;
}

/* Requires nothing; registers @yl and makes sure a helper serves it. */
static void register_listener(struct ylisten *yl)
{
	pthread_mutex_lock(&reg_lock);
	yl->next = reg;
	reg = yl;
	start_helper_locked();
	pthread_mutex_unlock(&reg_lock);
	wake_helper();
}

/*
 * At start-up: TCP listeners inherited across exec (nginx's binary
 * upgrade, socket activation) whose vsock listener came along are served
 * again, whether or not the program calls listen() on them.
 */
HIDDEN void yasmin_listen_adopt_inherited(void)
{
	struct { int fd; uint16_t port; } vs[16];
	int *fds, nfd = 0, nvs = 0, fd, acc, dom, i, k, pass;
	struct sockaddr_storage ss;
	struct sockaddr_vm va;
	struct in6_addr ip;
	uint16_t port;
	socklen_t sl;

	fds = yasmin_fd_list(&nfd);
	for (pass = 0; fds && pass < 2; pass++) {
		for (k = 0; k < nfd; k++) {
			struct ylisten *yl;

			fd = fds[k];
			dom = yasmin_fd_domain(fd);
			sl = sizeof(acc);
			if (dom < 0 ||
			    real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl) ||
			    !acc)
				continue;
			if (pass == 0) {
				sl = sizeof(va);
				if (dom == AF_VSOCK && nvs < 16 &&
				    !real.getsockname(fd, (struct sockaddr *)&va, &sl)) {
					vs[nvs].fd = fd;
					vs[nvs++].port = va.svm_port;
				}
				continue;
			}
			if (dom != AF_INET && dom != AF_INET6)
				continue;
			sl = sizeof(ss);
			if (real.getsockname(fd, (struct sockaddr *)&ss, &sl) ||
			    yasmin_addr_parse((struct sockaddr *)&ss, sl, &ip, &port))
				continue;
			for (i = 0; i < nvs && vs[i].port != port; i++)
				;
			if (i == nvs)
				continue;
			yl = calloc(1, sizeof(*yl));
			if (!yl)
				break;
			if (listener_target(fd, &ip, port, &yl->target)) {
				free(yl);
				continue;
			}
			/* Each registered listener holds its own dup; the
			 * inherited fd stays as it came (maybe without
			 * FD_CLOEXEC, on purpose). */
			yl->vsock_fd = real.fcntl(vs[i].fd, F_DUPFD_CLOEXEC,
						  vs[i].fd + 1);
			if (yl->vsock_fd < 0) {
				free(yl);
				continue;
			}
			yl->refs = 1;
			yl->registered = 1;
			yl->tcp_ino = yasmin_fd_ino(fd);
			yl->family = dom;
			yl->bell_fd = -1;
			yl->claim_fd = new_claim();
			yl->spare_fd = new_spare();
			yl->vsock_ino = yasmin_fd_ino(yl->vsock_fd);
			yl->port = port;
			register_listener(yl);
			dbg("fd %d: inherited listener on port %u, vsock fd %d",
			    fd, port, vs[i].fd);
		}
		if (!nvs)
			break;
	}
	free(fds);
}

/*
 * Can vsock serve the TCP listener @fd (a wildcard or this VM's own
 * mapped IPv4 address, not IPv6 only)? Its family, address and port.
 */
static int servable(int fd, int *dom, struct in6_addr *ip, uint16_t *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in t;
	socklen_t l = sizeof(ss), ol;
	int type = 0, v6only = 0;

	*dom = yasmin_fd_domain(fd);
	ol = sizeof(type);
	if ((*dom != AF_INET && *dom != AF_INET6) ||
	    real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ol) ||
	    type != SOCK_STREAM ||
	    real.getsockname(fd, (struct sockaddr *)&ss, &l) ||
	    yasmin_addr_parse((struct sockaddr *)&ss, l, ip, port))
		return -1;
	if (*dom == AF_INET6 && yasmin_addr_is_any(ip)) {
		ol = sizeof(v6only);
		real.getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol);
		if (v6only) {
			dbg("listen fd %d port %u: IPv6 only, TCP only", fd, *port);
			return -1;
		}
	}
	return listener_target(fd, ip, *port, &t);
}

/*
 * Serve the vsock arrivals of @vfd (a vsock listener on @port, which this
 * takes) through the TCP listener @fd. If another thread registered @fd's
 * socket meanwhile, that one serves and @vfd is closed.
 */
static void serve(int fd, ino_t ino, int dom, const struct in6_addr *ip,
		  uint16_t port, int vfd, const char *how)
{
	struct ylisten *yl = calloc(1, sizeof(*yl));
	int fdfl, fl, dup = 0;

	if (!yl || listener_target(fd, ip, port, &yl->target)) {
		free(yl);
		real.close(vfd);
		return;
	}
	fdfl = real.fcntl(fd, F_GETFD);
	vfd = yasmin_hidden_fd(vfd, fdfl < 0 || (fdfl & FD_CLOEXEC));
	fl = real.fcntl(vfd, F_GETFL);
	if (fl >= 0)
		real.fcntl(vfd, F_SETFL, fl | O_NONBLOCK);
	yl->refs = 1;
	yl->registered = 1;
	yl->tcp_ino = ino;
	yl->family = dom;
	yl->vsock_fd = vfd;
	yl->bell_fd = -1;
	yl->claim_fd = new_claim();
	yl->spare_fd = new_spare();
	yl->vsock_ino = yasmin_fd_ino(vfd);
	yl->port = port;
	pthread_mutex_lock(&reg_lock);
	if (find_locked(ino)) {
		dup = 1;
	} else {
		yl->next = reg;
		reg = yl;
		start_helper_locked();
	}
	pthread_mutex_unlock(&reg_lock);
	if (dup) {
		l_free(yl);
		return;
	}
	wake_helper();
	dbg("listen fd %d port %u: TCP and vsock (%s, hidden fd %d)", fd, port,
	    how, vfd);
}

EXPORT int listen(int fd, int backlog)
{
	struct sockaddr_vm va = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY };
	const char *how = "new";
	struct ylisten *yl;
	struct in6_addr ip;
	uint16_t port;
	int dom, vfd;
	ino_t ino;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (real.listen(fd, backlog))
		return -1;
	if (yasmin_disabled)
		return 0;
	ino = yasmin_fd_ino(fd);
	yl = ino ? l_get(ino) : NULL;
	if (yl) {	/* listen() again: the backlog follows */
		real.listen(yl->vsock_fd, backlog);
		l_put(yl);
		return 0;
	}
	if (!ino || servable(fd, &dom, &ip, &port))
		return 0;

	reap();
	vfd = find_inherited(port);
	if (vfd >= 0)
		how = "inherited";
	else if ((vfd = share_port(port)) >= 0)
		how = "shared";	/* SO_REUSEPORT, or listening again */
	if (vfd < 0) {
		vfd = real.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC |
				  SOCK_NONBLOCK, 0);
		va.svm_port = port;
		if (vfd >= 0 &&
		    (real.bind(vfd, (struct sockaddr *)&va, sizeof(va)) ||
		     real.listen(vfd, backlog))) {
			int err = errno;

			real.close(vfd);
			vfd = -1;
			/* Another process's: its ringer hands it over. */
			if (err == EADDRINUSE && (vfd = fetch_vsock(port, 1000)) >= 0) {
				how = "another process's";
			} else {
				if (err == EADDRINUSE)	/* not only with -d */
					fprintf(stderr,
						"yasmin: vsock port %u is held by another program: VM clients will not reach this server (port %u) over yasmin, only over TCP\n",
						port, port);
				errno = err;
			}
		}
	} else {
		real.listen(vfd, backlog);
	}
	if (vfd < 0) {
		dbg("listen fd %d port %u: no vsock listener (%s), TCP only",
		    fd, port, strerror(errno));
		return 0;
	}
	serve(fd, ino, dom, &ip, port, vfd, how);
	return 0;
}

static int is_doorbell(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return s4->sin_addr.s_addr == htonl(BELL_ADDR);
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		uint32_t a;

		memcpy(&a, &s6->sin6_addr.s6_addr[12], 4);
		return a == htonl(BELL_ADDR);
	}
	return 0;
}

/* A waiting vsock connection of @l from a mapped domain, or -1. */
static int take_vsock(int fd, struct ylisten *l, int flags)
{
	struct sockaddr_vm va;
	struct in6_addr ip;
	socklen_t vl;
	long domid;
	int v;

	for (;;) {
		vl = sizeof(va);
		v = real.accept4(__atomic_load_n(&l->vsock_fd, __ATOMIC_ACQUIRE),
				 (struct sockaddr *)&va, &vl, flags);
		if (v < 0)
			return -1;
		domid = (long)va.svm_cid - 2;
		if (!yasmin_map_ip(domid, &ip) && domid != yasmin_self_domid())
			break;
		dbg("accept fd %d: refusing vsock from domain %ld, not in the map",
		    fd, domid);
		real.close(v);
	}
	return v;
}

/* @v is the app's new vsock fd: its memory, and the address it sees. */
static void accepted(int listen_fd, int v, const struct ylisten *l,
		     struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr_vm va;
	socklen_t vl = sizeof(va);

	struct sockaddr_storage ss;
	struct yfd y;
	socklen_t sl;
	char s[INET6_ADDRSTRLEN];

	yfd_init(&y, yasmin_fd_ino(v), l->family);
	yfd_put(v, &y);
	sl = yasmin_vsock_name(v, 1, l->family, &y, &ss);
	if (addr && len && sl)
		yasmin_addr_copy_out(&ss, sl, addr, len);
	if (yasmin_debug && sl) {
		struct in6_addr ip;
		uint16_t port;

		if (!yasmin_addr_parse((struct sockaddr *)&ss, sl, &ip, &port) &&
		    !real.getpeername(v, (struct sockaddr *)&va, &vl))
			dbg("accept fd %d: vsock from domain %ld (%s port %u) as fd %d",
			    listen_fd, (long)va.svm_cid - 2,
			    yasmin_ip_str(&ip, s, sizeof(s)), port, v);
	}
}

/*
 * A doorbell came on a listener this process serves no vsock on: it came
 * over SCM_RIGHTS (Node.js cluster's SCHED_NONE workers), or its listen()
 * found the vsock port taken by another process. The process that rang
 * hands its vsock listener over; then this one serves it too. NULL if it
 * cannot.
 */
static struct ylisten *serve_from_ringer(int fd, ino_t ino)
{
	struct in6_addr ip;
	uint16_t port;
	int dom, vfd;

	if (servable(fd, &dom, &ip, &port) || (vfd = fetch_vsock(port, 0)) < 0)
		return NULL;
	serve(fd, ino, dom, &ip, port, vfd, "another process's");
	return l_get(ino);
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct sockaddr_storage ss;
	struct ylisten *l;
	socklen_t sl;
	ino_t ino;
	int nfd, v, fl;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (yasmin_disabled)
		return real.accept4(fd, addr, len, flags);
	ino = yasmin_fd_ino(fd);
	if (!ino)
		return real.accept4(fd, addr, len, flags);
	l = l_get(ino);
	/*
	 * A vsock connection is taken only with the doorbell that announced
	 * it. Taking one first, while its doorbell waits on the listener,
	 * would leave that doorbell queued with nothing behind it: the
	 * listener then stays readable for good, and a program that accepts
	 * on a blocking listener once select() says readable (iperf3 during
	 * a test) blocks in accept() until the next client.
	 */
	for (;;) {
		sl = sizeof(ss);
		nfd = real.accept4(fd, (struct sockaddr *)&ss, &sl, flags);
		if (nfd < 0)
			break;
		if (!is_doorbell(&ss)) {
			if (addr && len)
				yasmin_addr_copy_out(&ss, sl, addr, len);
			if (l)
				dbg("accept fd %d: TCP as fd %d", fd, nfd);
			break;
		}
		if (!l)
			l = serve_from_ringer(fd, ino);
		v = l ? take_vsock(fd, l, flags) : -1;
		if (v >= 0) {
			if (real.dup3(v, nfd, (flags & SOCK_CLOEXEC) ? O_CLOEXEC
								     : 0) >= 0) {
				real.close(v);
				v = nfd;
			} else {
				real.close(nfd);
			}
			accepted(fd, v, l, addr, len);
			nfd = v;
			pthread_mutex_lock(&reg_lock);	/* the next doorbell */
			if (l->registered && l->spare_fd < 0)
				l->spare_fd = new_spare();
			pthread_mutex_unlock(&reg_lock);
			break;
		}
		/*
		 * Someone else took it (or drained it before its doorbell
		 * came), or this process cannot serve vsock here: drop the
		 * doorbell and go on, so that a client behind it is not
		 * hidden by a spurious EAGAIN (edge-triggered loops accept
		 * until the kernel says EAGAIN), and a doorbell is never
		 * handed to the program as a client.
		 */
		if (!l)
			dbg("accept fd %d: another process's doorbell, closed", fd);
		real.close(nfd);
		/*
		 * A blocking listener that select()/poll() called readable
		 * must not block now: as on TCP for a connection reset while
		 * queued, say ECONNABORTED, which servers retry (nginx,
		 * libuv and the C library's users take it as transient). A
		 * client already queued behind is accepted instead. A
		 * non-blocking listener goes on: the next client, or EAGAIN.
		 */
		fl = real.fcntl(fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK) &&
		    poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 0) != 1) {
			dbg("accept fd %d: a doorbell with no vsock connection, ECONNABORTED",
			    fd);
			errno = ECONNABORTED;
			nfd = -1;
			break;
		}
	}
	if (l) {
		int err = errno;

		l_put(l);
		errno = err;
	}
	return nfd;
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return do_accept(fd, addr, len, 0);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return do_accept(fd, addr, len, flags);
}

/* The app closed an fd of the socket @ino: was it the last? */
HIDDEN void yasmin_listener_closed(ino_t ino)
{
	struct ylisten *l;
	int last = 0;

	l = l_get(ino);
	if (!l)
		return;
	if (!ino_alive(ino)) {
		dbg("listener on port %u closed: vsock listener too", l->port);
		pthread_mutex_lock(&reg_lock);
		if (l->registered)
			last = unregister_locked(l);
		pthread_mutex_unlock(&reg_lock);
	}
	if (last)
		l_free(l);	/* cannot be: we hold a reference */
	l_put(l);
}

/* The app changed FD_CLOEXEC of @fd: its vsock listener follows. */
HIDDEN void yasmin_listener_cloexec(int fd, int cloexec)
{
	struct ylisten *l;
	ino_t ino = yasmin_fd_ino(fd);
	int fl;

	l = ino ? l_get(ino) : NULL;
	if (!l)
		return;
	fl = real.fcntl(l->vsock_fd, F_GETFD);
	if (fl >= 0)
		real.fcntl(l->vsock_fd, F_SETFD,
			   cloexec ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC));
	l_put(l);
}

/* Requires reg_lock. Move @l's fds off @fd. */
static void relocate_locked(struct ylisten *l, int fd)
{
	int nfd, fdfl;

	if (l->vsock_fd == fd) {
		fdfl = real.fcntl(fd, F_GETFD);
		nfd = real.fcntl(fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ?
				 F_DUPFD_CLOEXEC : F_DUPFD, fd + 1);
		if (nfd >= 0) {
			__atomic_store_n(&l->vsock_fd, nfd, __ATOMIC_RELEASE);
			real.close(fd);
		}
	}
	if (l->bell_fd == fd) {
		nfd = real.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
		if (nfd >= 0) {
			l->bell_fd = nfd;
			real.close(fd);
		}
	}
	if (l->claim_fd == fd) {
		nfd = real.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
		if (nfd >= 0) {
			l->claim_fd = nfd;
			real.close(fd);
		}
	}
	if (l->spare_fd == fd) {
		nfd = real.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
		if (nfd >= 0) {
			l->spare_fd = nfd;
			real.close(fd);
		}
	}
}

/* The app is about to dup2() onto @fd: move a hidden fd that lives there. */
HIDDEN void yasmin_listener_relocate(int fd)
{
	struct ylisten *l;
	int nfd;

	pthread_mutex_lock(&reg_lock);
	for (l = reg; l; l = l->next)
		relocate_locked(l, fd);
	for (l = dying; l; l = l->next)
		relocate_locked(l, fd);
	if (wake_fd == fd) {
		nfd = real.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
		if (nfd >= 0) {
			wake_fd = nfd;
			real.close(fd);
		}
	}
	pthread_mutex_unlock(&reg_lock);
}
