// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-churn: open many stream connections and end them in one chosen
 * way, so a transport's per-connection resources (grants, mappings, event
 * channels, sockets) can be counted before and after.
 *
 *   yasmin-churn -s [-p PORT] [-f vsock|inet]
 *   yasmin-churn -c CID|IP -m MODE [-n COUNT] [-j THREADS] [-p PORT]
 *                [-b BYTES] [-B RING] [-T CONNECT_SECONDS] [-S STALL_SECONDS]
 *                [-H HOLD_SECONDS] [-f vsock|inet]
 *
 * MODE, for COUNT connections (-j run that many at a time):
 *   unread           the server sends 4 MiB; the client reads and checks the
 *                    first -b bytes (default 64 KiB) and closes with the rest
 *                    unread
 *   reset-mid        4 MiB each way at once; half the connections are closed
 *                    by the client after a random 0..256 KiB received (every
 *                    other one with SO_LINGER 0), half by the server after a
 *                    random 0..256 KiB received
 *   connect-timeout  connect to a CID with nobody to answer (no yasmin.ko
 *                    there); each connect must fail within -T (default
 *                    0.5 s) + 1 s, with ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH
 *                    or ECONNRESET, and never succeed
 *   shutdown-close   -b bytes each way: the client sends, shutdown(SHUT_WR),
 *                    reads the reply and the server's verdict to EOF, closes
 *   both-close       after a one-byte handshake both ends send 16 KiB and
 *                    close at once, neither reading the other's bytes
 *   concurrent       COUNT connections open together (-B 4K makes 1,000 fit
 *                    in a Xen guest's grant table), -b bytes each way on each
 *                    at once, all verified; then all held (-H seconds, or
 *                    until SIGUSR1) while the caller counts, then all closed
 *   hold             COUNT connects, one after another, to any listener (one
 *                    that never reads will do); each is held open, or
 *                    refused with ENOBUFS (counted as expected: a peer's
 *                    grant budget is full), and nothing is sent; then all
 *                    held (-H seconds, or until SIGUSR1), then closed. One
 *                    process does what COUNT socat processes would (a PVH
 *                    guest under TCG meets an emulator fault now and then at
 *                    a process start: fewer starts, fewer faults)
 *
 * Every byte that arrives is checked against pattern.h (per connection
 * seed). The server is one epoll loop over non-blocking sockets, so it
 * holds thousands of connections in one thread; SIGUSR1 makes it print
 * "SERVER accepted=N open=N ok=N peer-closed=N failed=N last-close=UPTIME"
 * (a peer closing early is expected in unread and reset-mid only, and
 * counted apart; last-close is when it closed its last connection).
 *
 * Client output: "FAIL conn=N reason" for each unexpected outcome, for
 * concurrent "holding N connections" and "closed N connections at
 * uptime=S" (CLOCK_BOOTTIME, the clock of /proc/uptime, so a caller can
 * time what follows the last close), then one summary line:
 *   "OK mode=M conns=N ok=N expected-errors=N secs=S conn_ms=AVG max_ms=MAX
 *    [errnos=E:N,...]" | "FAIL mode=M conns=N ok=N failed=K exit=RC first: why"
 *
 * Exit: 0 all as expected, 1 data lost, corrupted or extra, 2 usage,
 * 3 socket, option or connect error, 4 unexpected reset or end of stream,
 * 5 stalled (nothing moved for -S seconds, default 20) or too slow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "pattern.h"

#define CHURN_MAGIC	0x59434831u	/* "YCH1" */
#define CHURN_VERSION	1
#define CHUNK		(64 * 1024)
#define BIG		(4 * 1024 * 1024)
#define BOTH_BYTES	(16 * 1024)
#define MID_MAX		(256 * 1024)

enum { EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SOCKET, EXIT_RESET, EXIT_STALL };

enum mode { M_UNREAD, M_RESET, M_TIMEOUT, M_SHUTDOWN, M_BOTH, M_CONCURRENT,
	    M_HOLD, M_NR };
static const char *const mode_names[M_NR] = {
	"unread", "reset-mid", "connect-timeout", "shutdown-close",
	"both-close", "concurrent", "hold",
};

#define F_SERVER_CLOSES	1u

struct header {
	uint32_t magic;
	uint32_t version;
	uint32_t mode;
	uint32_t flags;
	uint64_t seed;
	uint64_t to_server;
	uint64_t to_client;
	uint64_t close_after;	/* F_SERVER_CLOSES: bytes received first */
};

struct trailer {
	uint32_t magic;
	uint32_t status;
	uint64_t verified;
};

static int family = AF_VSOCK;
static unsigned int port = 5000;
static unsigned int cid;
static struct in_addr ip;
static uint64_t ring;
static double stall_s = 20;
static double connect_timeout_s = -1;	/* per mode unless -T */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *errname(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "E?";
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static struct timeval timeval_of(double secs)
{
	struct timeval tv = {
		.tv_sec = (time_t)secs,
		.tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6),
	};

	return tv;
}

/* 1,000 connections and their server need more than the usual 1,024 fds. */
static void raise_nofile(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ? -errno : 0;
}

/* ---- server: one epoll loop over every connection ---- */

struct sconn {
	int fd;
	unsigned long id;
	struct header h;
	size_t hdr_got;
	uint64_t rx_done, tx_done;
	struct trailer t;
	size_t t_done;
	int rx_eof;		/* shutdown-close: the request is complete */
	int tx_on;		/* may send now */
	uint32_t events;
};

static struct {
	unsigned long accepted, open, ok, peer_closed, failed;
	double last_close;	/* uptime: the caller times what follows */
} st;
static volatile sig_atomic_t report;
static unsigned char srv_buf[CHUNK], srv_scratch[CHUNK];

static void on_usr1(int sig)
{
	(void)sig;
	report = 1;
}

static void sconn_end(int ep, struct sconn *c, int outcome, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* outcome: 0 ok, 1 the peer closed early (expected), 2 failure */
static void sconn_end(int ep, struct sconn *c, int outcome, const char *fmt, ...)
{
	if (outcome == 2) {
		va_list ap;
		char why[256];

		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		printf("FAIL conn=%lu mode=%s rx=%" PRIu64 " tx=%" PRIu64 " %s\n",
		       c->id, c->hdr_got == sizeof(c->h) && c->h.mode < M_NR ?
		       mode_names[c->h.mode] : "?", c->rx_done, c->tx_done, why);
		st.failed++;
	} else if (outcome == 1) {
		st.peer_closed++;
	} else {
		st.ok++;
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	st.last_close = uptime();
	st.open--;
	free(c);
}

/* Whether the peer closing before the end is what this connection expects. */
static int early_close_expected(struct sconn *c)
{
	return c->hdr_got == sizeof(c->h) &&
	       (c->h.mode == M_UNREAD ||
		(c->h.mode == M_RESET && !(c->h.flags & F_SERVER_CLOSES)));
}

static void sconn_interest(int ep, struct sconn *c)
{
	/* Level-triggered: a reported EOF or room nobody uses would spin. */
	uint32_t want = (c->rx_eof ? 0 : EPOLLIN | EPOLLRDHUP) |
			(c->tx_on ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.ptr = c };

	if (want != c->events && !epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
		c->events = want;
}

/* Returns 1 if the connection ended. */
static int sconn_io_error(int ep, struct sconn *c, const char *what, int err)
{
	if ((err == ECONNRESET || err == EPIPE || !err) &&
	    early_close_expected(c))
		sconn_end(ep, c, 1, NULL);
	else
		sconn_end(ep, c, 2, "%s: %s", what, err ? errname(err) : "early EOF");
	return 1;
}

static int sconn_header(int ep, struct sconn *c)
{
	struct header *h = &c->h;

	if (h->magic != CHURN_MAGIC || h->version != CHURN_VERSION ||
	    h->mode >= M_NR || h->mode == M_TIMEOUT) {
		sconn_end(ep, c, 2, "bad header");
		return 1;
	}
	switch (h->mode) {
	case M_BOTH: {
		/* Ack, as much of the data as fits, and close at once: the
		 * client closes as soon as it has the ack. */
		unsigned char b[1 + BOTH_BYTES];
		ssize_t w;

		b[0] = 'A';
		pattern_fill(~h->seed, 0, b + 1, BOTH_BYTES);
		w = send(c->fd, b, sizeof(b), MSG_NOSIGNAL);
		if (w < 1)
			sconn_end(ep, c, 2, "ack: %s", w < 0 ? errname(errno) : "0");
		else
			sconn_end(ep, c, 0, NULL);
		return 1;
	}
	case M_SHUTDOWN:
		break;		/* replies after the request's EOF */
	default:
		c->tx_on = 1;
	}
	c->t.magic = CHURN_MAGIC;
	return 0;
}

/* Returns 1 if the connection ended. */
static int sconn_read(int ep, struct sconn *c)
{
	for (;;) {
		ssize_t r;

		if (c->hdr_got < sizeof(c->h)) {
			r = recv(c->fd, (char *)&c->h + c->hdr_got,
				 sizeof(c->h) - c->hdr_got, 0);
			if (r > 0) {
				c->hdr_got += r;
				if (c->hdr_got == sizeof(c->h) && sconn_header(ep, c))
					return 1;
				continue;
			}
		} else {
			size_t want = CHUNK, ok;

			if (c->rx_done >= c->h.to_server)
				want = 1;	/* only EOF, or extra bytes */
			else
				want = min64(CHUNK, c->h.to_server - c->rx_done);
			r = recv(c->fd, srv_buf, want, 0);
			if (r > 0 && c->rx_done >= c->h.to_server) {
				if (c->h.mode == M_UNREAD)
					continue;	/* nothing is expected */
				sconn_end(ep, c, 2, "extra bytes after %" PRIu64,
					  c->rx_done);
				return 1;
			}
			if (r > 0) {
				ok = pattern_check(c->h.seed, c->rx_done, srv_buf, r,
						   srv_scratch);
				c->rx_done += ok;
				if (ok != (size_t)r) {
					sconn_end(ep, c, 2, "data mismatch at offset %"
						  PRIu64, c->rx_done);
					return 1;
				}
				if (c->h.mode == M_CONCURRENT &&
				    c->rx_done == c->h.to_server)
					c->tx_on = 1;	/* the verdict may go */
				if (c->h.mode == M_RESET &&
				    (c->h.flags & F_SERVER_CLOSES) &&
				    c->rx_done >= c->h.close_after) {
					sconn_end(ep, c, 0, NULL);
					return 1;
				}
				continue;
			}
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r < 0)
			return sconn_io_error(ep, c, "receive", errno);
		/* EOF */
		if (c->hdr_got == sizeof(c->h) && c->h.mode == M_SHUTDOWN &&
		    c->rx_done == c->h.to_server && !c->rx_eof) {
			c->rx_eof = 1;
			c->tx_on = 1;
			return 0;
		}
		if (c->hdr_got == sizeof(c->h) && c->h.mode == M_CONCURRENT &&
		    c->rx_done == c->h.to_server &&
		    c->tx_done == c->h.to_client && c->t_done == sizeof(c->t)) {
			sconn_end(ep, c, 0, NULL);
			return 1;
		}
		if (c->rx_eof)
			return 0;	/* EOF again while replying */
		return sconn_io_error(ep, c, "receive", 0);
	}
}

static int sconn_write(int ep, struct sconn *c)
{
	while (c->tx_on) {
		ssize_t w;

		if (c->tx_done < c->h.to_client) {
			size_t n = min64(CHUNK, c->h.to_client - c->tx_done);

			pattern_fill(~c->h.seed, c->tx_done, srv_buf, n);
			w = send(c->fd, srv_buf, n, MSG_NOSIGNAL);
			if (w > 0)
				c->tx_done += w;
		} else if (c->h.mode == M_UNREAD || c->h.mode == M_RESET) {
			/* All sent: what remains is the peer's close. */
			c->tx_on = 0;
			break;
		} else if (c->rx_done < c->h.to_server) {
			c->tx_on = 0;	/* the verdict waits for the data */
			break;
		} else if (c->t_done < sizeof(c->t)) {
			c->t.verified = c->rx_done;
			w = send(c->fd, (char *)&c->t + c->t_done,
				 sizeof(c->t) - c->t_done, MSG_NOSIGNAL);
			if (w > 0)
				c->t_done += w;
		} else {
			c->tx_on = 0;
			if (c->h.mode == M_SHUTDOWN) {
				/* Reply complete: our close is the client's EOF. */
				sconn_end(ep, c, 0, NULL);
				return 1;
			}
			break;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0)
			return sconn_io_error(ep, c, "send", errno);
	}
	return 0;
}

static int server(void)
{
	int lfd, ep, one = 1;
	unsigned long id = 0;
	union {
		struct sockaddr_vm vm;
		struct sockaddr_in in;
	} a;
	socklen_t alen;
	struct epoll_event ev = { .events = EPOLLIN };
	struct sigaction sa = { .sa_handler = on_usr1 };

	raise_nofile();
	sigaction(SIGUSR1, &sa, NULL);
	lfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ep = epoll_create1(0);
	if (lfd < 0 || ep < 0) {
		printf("FAIL socket/epoll: %s\n", errname(errno));
		return EXIT_SOCKET;
	}
	memset(&a, 0, sizeof(a));
	if (family == AF_VSOCK) {
		a.vm.svm_family = AF_VSOCK;
		a.vm.svm_cid = VMADDR_CID_ANY;
		a.vm.svm_port = port;
		alen = sizeof(a.vm);
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		alen = sizeof(a.in);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (bind(lfd, (struct sockaddr *)&a, alen) || listen(lfd, 1024) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		printf("FAIL bind/listen port %u: %s (%s)\n", port,
		       errname(errno), strerror(errno));
		return EXIT_SOCKET;
	}
	printf("listening on port %u\n", port);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		if (report) {
			report = 0;
			printf("SERVER accepted=%lu open=%lu ok=%lu peer-closed=%lu "
			       "failed=%lu last-close=%.3f\n", st.accepted, st.open,
			       st.ok, st.peer_closed, st.failed, st.last_close);
		}
		for (int i = 0; i < n; i++) {
			struct sconn *c = evs[i].data.ptr;

			if (!c) {
				for (;;) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
					struct epoll_event cev;

					if (fd < 0) {
						if (errno != EAGAIN && errno != EINTR &&
						    errno != ECONNABORTED) {
							printf("FAIL accept: %s\n",
							       errname(errno));
							st.failed++;
						}
						if (errno != EINTR)
							break;
						continue;
					}
					c = calloc(1, sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					c->id = ++id;
					c->events = cev.events = EPOLLIN | EPOLLRDHUP;
					cev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
					st.accepted++;
					st.open++;
				}
				continue;
			}
			if (sconn_read(ep, c))
				continue;
			if (sconn_write(ep, c))
				continue;
			sconn_interest(ep, c);
		}
	}
}

/* ---- client ---- */

static enum mode mode = M_NR;
static uint64_t bytes = 64 * 1024;
static int nconn = 100, nthreads = 1;
static double hold_s = 0;

static struct {
	pthread_mutex_t lock;
	int next;		/* the next connection to make */
	int ok, expected, failed, rc;
	double ms_sum, ms_max;
	char first[400];
	int errnos[256];
} cs = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct cconn {
	int id;
	int fd;
	uint64_t seed;
	struct header h;
	size_t h_done;
	uint64_t tx_done, rx_done;
	struct trailer t;
	size_t t_done;
	double t0;
	int done, tx_off;
};

static void record(struct cconn *c, int rc, int expected_err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One connection's outcome: rc 0 and expected_err an errno (or 0) when it
 * ended as it should. */
static void record(struct cconn *c, int rc, int expected_err, const char *fmt, ...)
{
	double ms = (now() - c->t0) * 1000;
	char why[400] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_lock(&cs.lock);
	cs.ms_sum += ms;
	if (ms > cs.ms_max)
		cs.ms_max = ms;
	if (rc) {
		cs.failed++;
		printf("FAIL conn=%d %s\n", c->id, why);
		/* Bad data outranks everything: 1 < 3 < 4 < 5. */
		if (!cs.rc || rc < cs.rc) {
			cs.rc = rc;
			snprintf(cs.first, sizeof(cs.first), "conn=%d %s", c->id, why);
		}
	} else {
		cs.ok++;
		if (expected_err) {
			cs.expected++;
			cs.errnos[expected_err & 255]++;
		}
	}
	pthread_mutex_unlock(&cs.lock);
}

static void sockaddr_of(void *sa, socklen_t *len, unsigned int to_cid)
{
	union {
		struct sockaddr_vm vm;
		struct sockaddr_in in;
	} *a = sa;

	memset(a, 0, sizeof(*a));
	if (family == AF_VSOCK) {
		a->vm.svm_family = AF_VSOCK;
		a->vm.svm_cid = to_cid;
		a->vm.svm_port = port;
		*len = sizeof(a->vm);
	} else {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(port);
		a->in.sin_addr = ip;
		*len = sizeof(a->in);
	}
}

/* A socket with the ring, connect timeout and stall timeouts set; -errno. */
static int new_socket(void)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;
	struct timeval ct = timeval_of(connect_timeout_s);

	if (fd < 0)
		return -errno;
	if (family == AF_VSOCK && ring &&
	    (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &ring,
			sizeof(ring)) ||
	     setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &ring,
			sizeof(ring))))
		err = -errno;
	if (!err && family == AF_VSOCK &&
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &ct,
		       sizeof(ct)))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static void set_stall(int fd)
{
	struct timeval tv = timeval_of(stall_s);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Blocking connect of c; 0 or the failure recorded. */
static int cconn_connect(struct cconn *c)
{
	union {
		struct sockaddr_vm vm;
		struct sockaddr_in in;
	} a;
	socklen_t alen;

	c->fd = new_socket();
	if (c->fd < 0) {
		record(c, EXIT_SOCKET, 0, "socket/setsockopt: %s", errname(-c->fd));
		return -1;
	}
	sockaddr_of(&a, &alen, cid);
	while (connect(c->fd, (struct sockaddr *)&a, alen)) {
		if (errno == EINTR)
			continue;
		record(c, EXIT_SOCKET, 0, "connect: %s (%s)", errname(errno),
		       strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	set_stall(c->fd);
	return 0;
}

/* Blocking I/O of exactly len bytes: 0, or -errno (-ENODATA for EOF). */
static int full_io(int fd, void *p, size_t len, int out)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = out ? send(fd, (char *)p + done, len - done,
				       MSG_NOSIGNAL)
				: recv(fd, (char *)p + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		done += n;
	}
	return 0;
}

static int io_rc(int err)
{
	return err == -EAGAIN ? EXIT_STALL : err == -ENODATA ||
	       err == -ECONNRESET || err == -EPIPE ? EXIT_RESET : EXIT_SOCKET;
}

static const char *io_name(int err)
{
	return err == -EAGAIN ? "stalled" : err == -ENODATA ? "early EOF" :
	       errname(-err);
}

/* Receive and verify len pattern bytes from offset c->rx_done; 0 or rc. */
static int recv_verified(struct cconn *c, uint64_t len, const char *what)
{
	unsigned char buf[CHUNK], scratch[CHUNK];

	while (len) {
		ssize_t r = recv(c->fd, buf, min64(CHUNK, len), 0);
		size_t ok;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int err = r ? -errno : -ENODATA;

			record(c, io_rc(err), 0, "%s: %s after %" PRIu64 " bytes",
			       what, io_name(err), c->rx_done);
			return -1;
		}
		ok = pattern_check(~c->seed, c->rx_done, buf, r, scratch);
		c->rx_done += ok;
		if (ok != (size_t)r) {
			record(c, EXIT_DATA, 0, "%s: data mismatch at offset %"
			       PRIu64, what, c->rx_done);
			return -1;
		}
		len -= r;
	}
	return 0;
}

static int send_pattern(struct cconn *c, uint64_t len, const char *what)
{
	unsigned char buf[CHUNK];

	while (len) {
		size_t n = min64(CHUNK, len);
		int err;

		pattern_fill(c->seed, c->tx_done, buf, n);
		err = full_io(c->fd, buf, n, 1);
		if (err) {
			record(c, io_rc(err), 0, "%s: %s after %" PRIu64 " bytes",
			       what, io_name(err), c->tx_done);
			return -1;
		}
		c->tx_done += n;
		len -= n;
	}
	return 0;
}

static int send_header(struct cconn *c)
{
	int err = full_io(c->fd, &c->h, sizeof(c->h), 1);

	if (err)
		record(c, io_rc(err), 0, "header: %s", io_name(err));
	return err ? -1 : 0;
}

static void one_unread(struct cconn *c)
{
	c->h.to_client = BIG;
	if (cconn_connect(c) || send_header(c))
		goto out;
	if (recv_verified(c, bytes, "receive"))
		goto out;
	record(c, 0, 0, NULL);
out:
	if (c->fd >= 0)
		close(c->fd);
}

static uint64_t next_rand(uint64_t *s)
{
	*s += 1;
	return pattern_word(0x5eed, *s);
}

/*
 * Both directions at once in one thread, by poll(): the client closes
 * after close_at bytes received, or the server closes first and the client
 * must see a reset or EOF, never bad data.
 */
static void one_reset(struct cconn *c, uint64_t *rnd)
{
	int server_closes = c->id % 2 == 0, linger0 = c->id % 4 == 1;
	uint64_t close_at = next_rand(rnd) % MID_MAX;
	unsigned char buf[CHUNK], scratch[CHUNK];
	double last = now();

	c->h.to_server = c->h.to_client = BIG;
	if (server_closes) {
		c->h.flags |= F_SERVER_CLOSES;
		c->h.close_after = next_rand(rnd) % MID_MAX;
	}
	if (cconn_connect(c) || send_header(c) || set_nonblock(c->fd))
		goto out;
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLOUT };
		int n, moved = 0;

		if (!server_closes && c->rx_done >= close_at) {
			if (linger0) {
				struct linger l = { .l_onoff = 1, .l_linger = 0 };

				setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			}
			record(c, 0, 0, NULL);
			goto out;
		}
		if (c->tx_done == BIG)
			p.events &= ~POLLOUT;
		n = poll(&p, 1, 1000);
		if (n < 0 && errno != EINTR) {
			record(c, EXIT_SOCKET, 0, "poll: %s", errname(errno));
			goto out;
		}
		if (n > 0 && (p.revents & POLLOUT) && c->tx_done < BIG) {
			size_t len = min64(CHUNK, BIG - c->tx_done);
			ssize_t w;

			pattern_fill(c->seed, c->tx_done, buf, len);
			w = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (w > 0) {
				c->tx_done += w;
				moved = 1;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				if (server_closes && (errno == ECONNRESET ||
						      errno == EPIPE)) {
					record(c, 0, errno, NULL);
				} else {
					record(c, io_rc(-errno), 0, "send: %s after %"
					       PRIu64 " bytes", errname(errno),
					       c->tx_done);
				}
				goto out;
			}
		}
		if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			size_t want = min64(CHUNK, BIG - c->rx_done);
			ssize_t r = recv(c->fd, buf, want ? want : 1, 0);

			if (r > 0 && !want) {
				record(c, EXIT_DATA, 0, "extra bytes after %u", BIG);
				goto out;
			}
			if (r > 0) {
				size_t ok = pattern_check(~c->seed, c->rx_done, buf,
							  r, scratch);

				c->rx_done += ok;
				if (ok != (size_t)r) {
					record(c, EXIT_DATA, 0, "data mismatch at offset %"
					       PRIu64, c->rx_done);
					goto out;
				}
				moved = 1;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				int err = r ? errno : 0;

				if (server_closes && (!err || err == ECONNRESET ||
						      err == EPIPE))
					record(c, 0, err ? err : ENODATA, NULL);
				else
					record(c, EXIT_RESET, 0, "receive: %s after %"
					       PRIu64 " bytes", err ? errname(err) :
					       "early EOF", c->rx_done);
				goto out;
			}
		}
		if (moved) {
			last = now();
		} else if (now() - last > stall_s) {
			record(c, EXIT_STALL, 0, "stalled: nothing moved for %.0f s "
			       "(sent %" PRIu64 ", received %" PRIu64 ")", stall_s,
			       c->tx_done, c->rx_done);
			goto out;
		}
	}
out:
	if (c->fd >= 0)
		close(c->fd);
}

static void one_timeout(struct cconn *c)
{
	union {
		struct sockaddr_vm vm;
		struct sockaddr_in in;
	} a;
	socklen_t alen;
	double ms;
	int err;

	c->fd = new_socket();
	if (c->fd < 0) {
		record(c, EXIT_SOCKET, 0, "socket: %s", errname(-c->fd));
		return;
	}
	sockaddr_of(&a, &alen, cid);
	while ((err = connect(c->fd, (struct sockaddr *)&a, alen) ? errno : 0) ==
	       EINTR)
		;
	ms = (now() - c->t0) * 1000;
	close(c->fd);
	if (!err)
		record(c, EXIT_SOCKET, 0, "connect succeeded; nobody should answer");
	else if (err != ETIMEDOUT && err != ECONNREFUSED && err != EHOSTUNREACH &&
		 err != ECONNRESET)
		record(c, EXIT_SOCKET, 0, "connect: %s (%s)", errname(err),
		       strerror(err));
	else if (ms > connect_timeout_s * 1000 + 1000)
		record(c, EXIT_STALL, 0, "connect: %s after %.0f ms, timeout %.0f ms",
		       errname(err), ms, connect_timeout_s * 1000);
	else
		record(c, 0, err, NULL);
}

static void one_shutdown(struct cconn *c)
{
	int err;

	c->h.to_server = c->h.to_client = bytes;
	if (cconn_connect(c) || send_header(c) || send_pattern(c, bytes, "send"))
		goto out;
	if (shutdown(c->fd, SHUT_WR)) {
		record(c, EXIT_SOCKET, 0, "shutdown: %s", errname(errno));
		goto out;
	}
	if (recv_verified(c, bytes, "receive"))
		goto out;
	err = full_io(c->fd, &c->t, sizeof(c->t), 0);
	if (err) {
		record(c, io_rc(err), 0, "trailer: %s", io_name(err));
		goto out;
	}
	if (c->t.magic != CHURN_MAGIC || c->t.verified != bytes) {
		record(c, EXIT_DATA, 0, "server verified %" PRIu64 " of %" PRIu64
		       " bytes", c->t.verified, bytes);
		goto out;
	}
	{
		char x;
		ssize_t r;

		while ((r = recv(c->fd, &x, 1, 0)) < 0 && errno == EINTR)
			;
		if (r) {
			record(c, r > 0 ? EXIT_DATA : io_rc(-errno), 0,
			       "after the reply: %s", r > 0 ? "extra bytes" :
			       io_name(-errno));
			goto out;
		}
	}
	record(c, 0, 0, NULL);
out:
	if (c->fd >= 0)
		close(c->fd);
}

static void one_both(struct cconn *c)
{
	unsigned char b[BOTH_BYTES];
	char ack;
	int err;

	c->h.to_server = c->h.to_client = BOTH_BYTES;
	if (cconn_connect(c) || send_header(c))
		goto out;
	err = full_io(c->fd, &ack, 1, 0);
	if (err || ack != 'A') {
		record(c, err ? io_rc(err) : EXIT_DATA, 0, "ack: %s",
		       err ? io_name(err) : "wrong byte");
		goto out;
	}
	/* The server is closing now too; our bytes may meet its reset. */
	pattern_fill(c->seed, 0, b, sizeof(b));
	err = send(c->fd, b, sizeof(b), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? errno : 0;
	if (err && err != EPIPE && err != ECONNRESET && err != EAGAIN)
		record(c, EXIT_SOCKET, 0, "send: %s", errname(err));
	else
		record(c, 0, err, NULL);
out:
	if (c->fd >= 0)
		close(c->fd);
}

static void *worker(void *arg)
{
	uint64_t rnd = (uint64_t)(uintptr_t)arg * 7919 + getpid();

	for (;;) {
		struct cconn c = { .fd = -1 };

		pthread_mutex_lock(&cs.lock);
		c.id = ++cs.next;
		pthread_mutex_unlock(&cs.lock);
		if (c.id > nconn)
			return NULL;
		c.seed = next_rand(&rnd) ^ ((uint64_t)c.id << 40);
		c.h = (struct header){ .magic = CHURN_MAGIC,
			.version = CHURN_VERSION, .mode = mode, .seed = c.seed };
		c.t0 = now();
		switch (mode) {
		case M_UNREAD: one_unread(&c); break;
		case M_RESET: one_reset(&c, &rnd); break;
		case M_TIMEOUT: one_timeout(&c); break;
		case M_SHUTDOWN: one_shutdown(&c); break;
		case M_BOTH: one_both(&c); break;
		default: break;
		}
	}
}

static volatile sig_atomic_t released;

static void on_release(int sig)
{
	(void)sig;
	released = 1;
}

/*
 * concurrent: connect all (blocking, one after another), then move every
 * connection's bytes at once through one epoll loop, then hold, then close.
 */
static void concurrent(void)
{
	struct cconn *cc = calloc(nconn, sizeof(*cc));
	unsigned char buf[CHUNK], scratch[CHUNK];
	int ep = epoll_create1(0), left = 0, i, open = 0;
	double last, t;

	if (!cc || ep < 0) {
		printf("FAIL out of memory or epoll\n");
		exit(EXIT_SOCKET);
	}
	for (i = 0; i < nconn; i++) {
		struct cconn *c = &cc[i];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
					  .data.ptr = c };

		c->id = i + 1;
		c->seed = pattern_word(getpid(), i) ^ ((uint64_t)i << 40);
		c->h = (struct header){ .magic = CHURN_MAGIC,
			.version = CHURN_VERSION, .mode = M_CONCURRENT,
			.seed = c->seed, .to_server = bytes, .to_client = bytes };
		c->t0 = now();
		if (cconn_connect(c))
			continue;
		open++;
		if (set_nonblock(c->fd) || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) {
			record(c, EXIT_SOCKET, 0, "epoll: %s", errname(errno));
			close(c->fd);
			c->fd = -1;
			open--;
			continue;
		}
		left++;
	}
	printf("connected %d of %d in %.1f s\n", open, nconn,
	       now() - cc[0].t0);
	last = now();
	while (left) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 1000);

		for (int k = 0; k < n; k++) {
			struct cconn *c = evs[k].data.ptr;
			ssize_t r;
			int fail = 0;

			if (c->done)
				continue;
			while ((evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
			       (c->h_done < sizeof(c->h) || c->tx_done < bytes)) {
				if (c->h_done < sizeof(c->h)) {
					r = send(c->fd, (char *)&c->h + c->h_done,
						 sizeof(c->h) - c->h_done, MSG_NOSIGNAL);
					if (r > 0)
						c->h_done += r;
				} else {
					size_t len = min64(CHUNK, bytes - c->tx_done);

					pattern_fill(c->seed, c->tx_done, buf, len);
					r = send(c->fd, buf, len, MSG_NOSIGNAL);
					if (r > 0)
						c->tx_done += r;
				}
				if (r > 0) {
					last = now();
					continue;
				}
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				record(c, io_rc(-errno), 0, "send: %s after %" PRIu64
				       " bytes", errname(errno), c->tx_done);
				fail = 1;
				break;
			}
			while (!fail && (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
				if (c->rx_done < bytes) {
					size_t ok;

					r = recv(c->fd, buf, min64(CHUNK, bytes - c->rx_done), 0);
					if (r > 0) {
						ok = pattern_check(~c->seed, c->rx_done, buf,
								   r, scratch);
						c->rx_done += ok;
						if (ok != (size_t)r) {
							record(c, EXIT_DATA, 0,
							       "data mismatch at offset %"
							       PRIu64, c->rx_done);
							fail = 1;
							break;
						}
					}
				} else if (c->t_done < sizeof(c->t)) {
					r = recv(c->fd, (char *)&c->t + c->t_done,
						 sizeof(c->t) - c->t_done, 0);
					if (r > 0)
						c->t_done += r;
				} else {
					break;
				}
				if (r > 0) {
					last = now();
					continue;
				}
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				record(c, EXIT_RESET, 0, "receive: %s after %" PRIu64
				       " bytes", r ? errname(errno) : "early EOF",
				       c->rx_done);
				fail = 1;
			}
			if (!fail && c->h_done == sizeof(c->h) && c->tx_done == bytes &&
			    !c->tx_off) {
				/* Level-triggered room nobody uses would spin. */
				struct epoll_event ev = { .events = EPOLLIN,
							  .data.ptr = c };

				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->tx_off = 1;
			}
			if (!fail && c->t_done == sizeof(c->t) && c->tx_done == bytes) {
				if (c->t.magic != CHURN_MAGIC || c->t.verified != bytes)
					record(c, EXIT_DATA, 0, "server verified %" PRIu64
					       " of %" PRIu64 " bytes", c->t.verified,
					       bytes);
				else
					record(c, 0, 0, NULL);
				fail = 1;	/* done either way */
			}
			if (fail) {
				/* Out of the loop, but held open with the rest. */
				c->done = 1;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				left--;
			}
		}
		if (left && now() - last > stall_s) {
			for (i = 0; i < nconn; i++)
				if (cc[i].fd >= 0 && !cc[i].done)
					record(&cc[i], EXIT_STALL, 0,
					       "stalled with %d connections unfinished: "
					       "sent %" PRIu64 ", received %" PRIu64,
					       left, cc[i].tx_done, cc[i].rx_done);
			break;
		}
	}
	t = 0;
	for (i = 0; i < nconn; i++)
		t += cc[i].fd >= 0;
	printf("holding %.0f connections\n", t);
	if (hold_s > 0) {
		double until = now() + hold_s;

		while (!released && now() < until)
			usleep(20000);
	}
	for (i = 0; i < nconn; i++)
		if (cc[i].fd >= 0)
			close(cc[i].fd);
	printf("closed %.0f connections at uptime=%.3f\n", t, uptime());
	close(ep);
	free(cc);
}

/*
 * hold: connect COUNT times, one after another, keeping each connection
 * that is made; a connect refused for ENOBUFS is an expected outcome.
 */
static void hold(void)
{
	struct cconn *cc = calloc(nconn, sizeof(*cc));
	int i, held = 0, refused = 0;

	if (!cc) {
		printf("FAIL out of memory\n");
		exit(EXIT_SOCKET);
	}
	for (i = 0; i < nconn; i++) {
		struct cconn *c = &cc[i];
		union {
			struct sockaddr_vm vm;
			struct sockaddr_in in;
		} a;
		socklen_t alen;
		int err = 0;

		c->id = i + 1;
		c->t0 = now();
		c->fd = new_socket();
		if (c->fd < 0) {
			record(c, EXIT_SOCKET, 0, "socket/setsockopt: %s",
			       errname(-c->fd));
			continue;
		}
		sockaddr_of(&a, &alen, cid);
		while (connect(c->fd, (struct sockaddr *)&a, alen) && !err)
			if (errno != EINTR)
				err = errno;
		if (!err) {
			held++;
			record(c, 0, 0, NULL);
			continue;
		}
		close(c->fd);
		c->fd = -1;
		if (err == ENOBUFS) {
			refused++;
			record(c, 0, ENOBUFS, NULL);
		} else
			record(c, EXIT_SOCKET, 0, "connect: %s (%s)",
			       errname(err), strerror(err));
	}
	printf("holding %d connections, %d refused for ENOBUFS\n", held,
	       refused);
	fflush(stdout);
	if (hold_s > 0) {
		double until = now() + hold_s;

		while (!released && now() < until)
			usleep(20000);
	}
	for (i = 0; i < nconn; i++)
		if (cc[i].fd >= 0)
			close(cc[i].fd);
	printf("closed %d connections at uptime=%.3f\n", held, uptime());
	free(cc);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return UINT64_MAX;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end || v < 0 || v >= 18e18)
		return UINT64_MAX;
	return (uint64_t)v;
}

static long parse_int(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (end == s || *end || errno || v < min || v > max)
		return LONG_MIN;
	return v;
}

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "yasmin-churn: %s\n", why);
	fprintf(stderr,
		"usage: yasmin-churn -s [-p PORT] [-f vsock|inet]\n"
		"       yasmin-churn -c CID|IP -m MODE [-n COUNT] [-j THREADS] [-p PORT]\n"
		"                    [-b BYTES] [-B RING] [-T CONNECT] [-S STALL]\n"
		"                    [-H HOLD] [-f vsock|inet]\n"
		"MODE: unread reset-mid connect-timeout shutdown-close both-close\n"
		"      concurrent. Exit: 0 as expected, 1 bad data, 2 usage,\n"
		"      3 socket/connect error, 4 unexpected reset/EOF, 5 stalled.\n");
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	const char *host = NULL;
	int srv = 0, opt, i;
	pthread_t *th;
	double t0, secs;
	long v;

	while ((opt = getopt(argc, argv, "sc:m:n:j:p:b:B:T:S:H:f:h")) != -1) {
		switch (opt) {
		case 's': srv = 1; break;
		case 'c': host = optarg; break;
		case 'm':
			for (i = 0; i < M_NR; i++)
				if (!strcmp(optarg, mode_names[i]))
					mode = i;
			if (mode == M_NR)
				usage("unknown mode");
			break;
		case 'n':
			v = parse_int(optarg, 1, 1000000);
			if (v == LONG_MIN)
				usage("count must be 1..1000000");
			nconn = v;
			break;
		case 'j':
			v = parse_int(optarg, 1, 64);
			if (v == LONG_MIN)
				usage("threads must be 1..64");
			nthreads = v;
			break;
		case 'p':
			v = parse_int(optarg, 0, UINT32_MAX);
			if (v == LONG_MIN)
				usage("bad port");
			port = v;
			break;
		case 'b':
			bytes = parse_size(optarg);
			if (bytes == UINT64_MAX || bytes > BIG)
				usage("bytes must be 0..4M");
			break;
		case 'B':
			ring = parse_size(optarg);
			if (ring == UINT64_MAX || !ring)
				usage("bad ring size");
			break;
		case 'T':
			connect_timeout_s = atof(optarg);
			if (!(connect_timeout_s > 0 && connect_timeout_s <= 600))
				usage("connect timeout must be 0..600 s");
			break;
		case 'S':
			stall_s = atof(optarg);
			if (!(stall_s >= 1 && stall_s <= 86400))
				usage("stall seconds must be 1..86400");
			break;
		case 'H': hold_s = atof(optarg); break;
		case 'f':
			if (!strcmp(optarg, "vsock"))
				family = AF_VSOCK;
			else if (!strcmp(optarg, "inet"))
				family = AF_INET;
			else
				usage("family must be vsock or inet");
			break;
		default: usage(NULL);
		}
	}
	if (optind != argc)
		usage("stray arguments");
	if (srv == !!host)
		usage("give exactly one of -s and -c");
	if (family == AF_INET && port > 65535)
		usage("bad port");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (srv)
		return server();
	if (mode == M_NR)
		usage("-m MODE is required with -c");
	if (mode == M_UNREAD && bytes > BIG)
		usage("unread reads at most 4M");
	if (family == AF_VSOCK) {
		v = parse_int(host, 0, UINT32_MAX);
		if (v == LONG_MIN)
			usage("-c needs a CID with -f vsock");
		cid = v;
	} else if (inet_pton(AF_INET, host, &ip) != 1) {
		usage("-c needs an IPv4 address with -f inet");
	}
	if (connect_timeout_s < 0)
		/* A slow emulated host may take seconds to answer 1,000
		 * connects; only connect-timeout wants a short one. */
		connect_timeout_s = mode == M_TIMEOUT ? 0.5 : 60;
	raise_nofile();
	{
		struct sigaction sa = { .sa_handler = on_release };

		sigaction(SIGUSR1, &sa, NULL);
	}
	t0 = now();
	if (mode == M_CONCURRENT) {
		concurrent();
	} else if (mode == M_HOLD) {
		hold();
	} else {
		th = calloc(nthreads, sizeof(*th));
		for (i = 0; th && i < nthreads; i++)
			if (pthread_create(&th[i], NULL, worker,
					   (void *)(uintptr_t)(i + 1))) {
				printf("FAIL no thread %d\n", i + 1);
				return EXIT_SOCKET;
			}
		for (i = 0; th && i < nthreads; i++)
			pthread_join(th[i], NULL);
		if (mode != M_TIMEOUT)
			printf("closed %d connections at uptime=%.3f\n", nconn,
			       uptime());
	}
	secs = now() - t0;
	if (cs.rc) {
		printf("FAIL mode=%s conns=%d ok=%d failed=%d exit=%d first: %s\n",
		       mode_names[mode], nconn, cs.ok, cs.failed, cs.rc, cs.first);
		return cs.rc;
	}
	printf("OK mode=%s conns=%d ok=%d expected-errors=%d secs=%.2f "
	       "conn_ms=%.1f max_ms=%.1f", mode_names[mode], nconn, cs.ok,
	       cs.expected, secs, cs.ms_sum / nconn, cs.ms_max);
	if (cs.expected) {
		const char *sep = " errnos=";

		for (i = 0; i < 256; i++)
			if (cs.errnos[i]) {
				printf("%s%s:%d", sep, errname(i), cs.errnos[i]);
				sep = ",";
			}
	}
	printf("\n");
	return 0;
}
