// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-nbio: move bytes over a non-blocking stream socket the way
 * event-driven servers do (nginx, haproxy, node), and verify every one.
 *
 *   yasmin-nbio -s [-p PORT] [-f vsock|inet] [-1] [-S STALL_SECONDS]
 *   yasmin-nbio -c CID|IP [-p PORT] [-n SIZE] [-r|-d] [-m MODE] [-M MODE]
 *               [-w SIZES] [-W SIZES] [-k EXCHANGES] [-P CONNS] [-B RING]
 *               [-f vsock|inet] [-S STALL_SECONDS] [-T CONNECT_SECONDS]
 *               [-t SECONDS]
 *
 * A blocking transfer cannot lose a wakeup: the sleeper asks for one. An
 * event loop after EAGAIN relies on the socket telling epoll or poll that
 * it became ready again, and with edge-triggered epoll a readiness change
 * that nobody reports stops the connection for good. Each MODE is one way
 * real programs wait and move bytes; -m is the client's, -M the server's
 * (default: the same), so the two ends of a connection may differ:
 *
 *   et        epoll EPOLLET: read/write until EAGAIN, then epoll_wait
 *   lt        epoll level-triggered: one read/write per readiness report
 *   poll      poll(): one read/write per readiness report
 *   sendfile  et, sending with sendfile() from a memfd (tmpfs) of the pattern
 *   splice    et, sending pipe -> socket and receiving socket -> pipe
 *   partial   et, writes and reads cycle through odd sizes (-w/-W, default
 *             1,4095,65537,3M), so writes larger than the ring come back short
 *   keepalive et on both ends; -k request/response exchanges on one
 *             connection, each waiting for the last (nginx keep-alive);
 *             requests of 1 B..4 KB, responses of 1 B..600 KB
 *   short     partial, but a read or write that moves less than asked ends
 *             the loop until epoll reports the socket again, never reaching
 *             EAGAIN: what nginx's ngx_unix_recv()/ngx_unix_send() do
 *   ka-short  keepalive, stopping at short reads and writes the same way
 *
 * The client connects (non-blocking), sends a header naming the seed, the
 * sizes and the server's mode, then both ends stream pattern.h bytes (-n
 * each way with -d, to the server by default, to the client with -r) and
 * check what they receive. The server ends with a trailer saying how many
 * bytes it verified, so the client's exit status is the verdict:
 *
 *   0 every byte verified both ways     1 data lost, corrupted or extra
 *   2 usage                             3 socket, option or connect error
 *   4 reset or early end of stream      5 stalled: nothing moved for -S
 *                                         seconds (default 20)
 *
 * A stall names what the end waited for and what a poll() says at that
 * moment: "ready" there means the socket was readable or writable and the
 * wait mechanism never reported it, i.e. a lost wakeup.
 *
 * Output, one line each, for scripts to grep:
 *   server  "OK conn=N mode=M rx=BYTES tx=BYTES" | "FAIL conn=N ... reason"
 *   client  "FAIL conn=N reason" per failed connection, then
 *           "OK mode=M/M conns=N bytes=TOTAL secs=S MBps=X [exchanges=K
 *            rtt_us=U]" | "FAIL mode=M/M conns=N failed=K exit=RC conn=I
 *            first reason"
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
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "pattern.h"

#define NBIO_MAGIC	0x594e4231u	/* "YNB1" */
#define NBIO_VERSION	1
#define CHUNK		(256 * 1024)
#define MAX_SIZES	8
#define MAX_IO		(3 * 1024 * 1024 + 4096)	/* largest -w entry */
#define FILE_WINDOW	(64 * 1024 * 1024)	/* sendfile's memfd */
#define PIPE_WANT	(1024 * 1024)

enum { EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SOCKET, EXIT_RESET, EXIT_STALL };

enum wait_kind { WAIT_ET, WAIT_LT, WAIT_POLL };
enum tx_kind { TX_SEND, TX_SENDFILE, TX_SPLICE };
enum rx_kind { RX_RECV, RX_SPLICE };

static const struct mode {
	const char *name;
	enum wait_kind wait;
	enum tx_kind tx;
	enum rx_kind rx;
	int odd_sizes;
	int keepalive;
	int stop_short;		/* a short read or write means "not ready" */
} modes[] = {
	{ "et", WAIT_ET, TX_SEND, RX_RECV, 0, 0, 0 },
	{ "lt", WAIT_LT, TX_SEND, RX_RECV, 0, 0, 0 },
	{ "poll", WAIT_POLL, TX_SEND, RX_RECV, 0, 0, 0 },
	{ "sendfile", WAIT_ET, TX_SENDFILE, RX_RECV, 0, 0, 0 },
	{ "splice", WAIT_ET, TX_SPLICE, RX_SPLICE, 0, 0, 0 },
	{ "partial", WAIT_ET, TX_SEND, RX_RECV, 1, 0, 0 },
	{ "keepalive", WAIT_ET, TX_SEND, RX_RECV, 0, 1, 0 },
	{ "short", WAIT_ET, TX_SEND, RX_RECV, 1, 0, 1 },
	{ "ka-short", WAIT_ET, TX_SEND, RX_RECV, 0, 1, 1 },
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

static const uint64_t odd_sizes[] = { 1, 4095, 65537, 3 * 1024 * 1024 };
/* Keep-alive: cycles of request and response sizes of coprime lengths, so
 * every request size meets every response size. */
static const uint64_t ka_req[] = { 1, 77, 512, 4000, 300 };
static const uint64_t ka_resp[] = { 100, 4096, 70000, 12, 600003, 1 };

struct header {
	uint32_t magic;
	uint32_t version;
	uint64_t seed;
	uint64_t to_server;
	uint64_t to_client;
	uint32_t mode;		/* the server's */
	uint32_t exchanges;	/* keepalive */
	uint32_t nsizes;	/* the server's -W, 0 for its mode's default */
	uint32_t pad;
	uint64_t sizes[MAX_SIZES];
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
static double timeout_s = 600;
static double stall_s = 20;
static double connect_timeout_s = 60;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *errname(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "E?";
}

/*
 * One end of one connection: what it sends ([prefix][pattern][suffix])
 * and receives ([prefix][pattern][suffix]), how, and how it waits.
 */
struct end {
	int fd;
	const struct mode *m;
	const char *who;
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	unsigned long nwrites, nreads;
	size_t last_ask;		/* bytes the last data call asked for */

	/* sending */
	const unsigned char *tx_pre;
	size_t tx_pre_len, tx_pre_done;
	uint64_t tx_seed, tx_len, tx_done, tx_allowed;
	unsigned char tx_suf[sizeof(struct trailer)];
	size_t tx_suf_len, tx_suf_done;
	int tx_suf_ready;		/* the server's trailer waits for rx */
	unsigned char *txbuf;		/* pattern [tb_off, tb_off + tb_len) */
	uint64_t tb_off;
	size_t tb_len;
	int memfd;
	uint64_t file_base, file_len;
	int tpipe[2];
	size_t in_tpipe;

	/* receiving */
	uint64_t rx_seed, rx_len, rx_done;
	unsigned char rx_suf[sizeof(struct trailer)];
	size_t rx_suf_len, rx_suf_done;
	int want_eof;			/* then read until the peer closes */
	int got_eof;
	unsigned char *rxbuf, *scratch;
	int rpipe[2];

	/* keep-alive: cumulative request and response sizes */
	uint32_t exchanges;
	uint64_t *req_cum, *resp_cum;
	uint32_t ka_next;		/* exchanges whose reply arrived */
	int is_client;

	/* waiting */
	int epfd;
	uint32_t ep_events;		/* level-triggered registration */
	int ready_r, ready_w;
	double last_progress;
	unsigned long waits, eagain_r, eagain_w;

	/* failure */
	int rc;
	char why[400];
};

static void end_fail(struct end *e, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void end_fail(struct end *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (e->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	e->rc = rc;
}

static size_t io_size(struct end *e, unsigned long *count)
{
	if (!e->nsizes)
		return CHUNK;
	return e->sizes[(*count)++ % e->nsizes];
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Keep-alive gating: the client sends request k once reply k-1 arrived;
 * the server sends reply k once request k arrived. */
static void ka_update(struct end *e)
{
	if (!e->m->keepalive)
		return;
	if (e->is_client) {
		while (e->ka_next < e->exchanges &&
		       e->resp_cum[e->ka_next + 1] <= e->rx_done)
			e->ka_next++;
		e->tx_allowed = e->req_cum[e->ka_next < e->exchanges ?
					   e->ka_next + 1 : e->exchanges];
	} else {
		while (e->ka_next < e->exchanges &&
		       e->req_cum[e->ka_next + 1] <= e->rx_done)
			e->ka_next++;
		e->tx_allowed = e->resp_cum[e->ka_next];
	}
}

static int tx_pending(struct end *e)
{
	if (e->tx_pre_done < e->tx_pre_len)
		return 1;
	if (e->tx_done < e->tx_allowed)
		return 1;
	if (e->tx_done < e->tx_len)
		return 0;	/* gated */
	return e->tx_suf_ready && e->tx_suf_done < e->tx_suf_len;
}

static int rx_pending(struct end *e)
{
	return e->rx_done < e->rx_len || e->rx_suf_done < e->rx_suf_len ||
	       (e->want_eof && !e->got_eof);
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC))
		return -1;
	/* A bigger pipe means fewer splices; the default 64 KiB still works. */
	fcntl(p[1], F_SETPIPE_SZ, PIPE_WANT);
	return 0;
}

static int end_init(struct end *e)
{
	size_t big = e->nsizes ? MAX_IO : CHUNK;

	e->memfd = -1;
	e->tpipe[0] = e->tpipe[1] = e->rpipe[0] = e->rpipe[1] = -1;
	e->epfd = -1;
	e->txbuf = malloc(big);
	e->rxbuf = malloc(big);
	e->scratch = malloc(big);
	if (!e->txbuf || !e->rxbuf || !e->scratch)
		return -ENOMEM;
	if (e->m->tx == TX_SENDFILE && e->tx_len) {
		e->memfd = memfd_create("yasmin-nbio", MFD_CLOEXEC);
		if (e->memfd < 0)
			return -errno;
		e->file_len = 0;	/* filled at the first send */
	}
	if (e->m->tx == TX_SPLICE && make_pipe(e->tpipe))
		return -errno;
	if (e->m->rx == RX_SPLICE && make_pipe(e->rpipe))
		return -errno;
	if (!e->m->keepalive)
		e->tx_allowed = e->tx_len;
	return 0;
}

static void end_free(struct end *e)
{
	free(e->txbuf);
	free(e->rxbuf);
	free(e->scratch);
	free(e->req_cum);
	free(e->resp_cum);
	if (e->memfd >= 0)
		close(e->memfd);
	if (e->epfd >= 0)
		close(e->epfd);
	for (int i = 0; i < 2; i++) {
		if (e->tpipe[i] >= 0)
			close(e->tpipe[i]);
		if (e->rpipe[i] >= 0)
			close(e->rpipe[i]);
	}
}

/* The pattern bytes [off, off + n) in e->txbuf, refilled only on a miss so
 * a 3 MiB write retried after a short one does not recompute 3 MiB. */
static const unsigned char *tx_bytes(struct end *e, uint64_t off, size_t n)
{
	size_t cap = e->nsizes ? MAX_IO : CHUNK;

	if (off < e->tb_off || off + n > e->tb_off + e->tb_len) {
		e->tb_off = off;
		e->tb_len = min64(cap, e->tx_len - off);
		pattern_fill(e->tx_seed, off, e->txbuf, e->tb_len);
	}
	return e->txbuf + (off - e->tb_off);
}

/*
 * The memfd holds the pattern window [file_base, file_base + file_len).
 * It is rewritten only once sendfile() has taken all of it: vsock copies
 * into the ring before sendfile() returns, so no page is still in flight.
 */
static int file_refill(struct end *e)
{
	uint64_t len = min64(FILE_WINDOW, e->tx_len - e->tx_done);
	uint64_t done = 0;

	if (ftruncate(e->memfd, len))
		return -errno;
	while (done < len) {
		size_t n = min64(CHUNK, len - done);
		ssize_t w;

		pattern_fill(e->tx_seed, e->tx_done + done, e->txbuf, n);
		w = pwrite(e->memfd, e->txbuf, n, done);
		if (w < 0)
			return -errno;
		done += w;
	}
	e->tb_len = 0;		/* txbuf now holds no valid window */
	e->file_base = e->tx_done;
	e->file_len = len;
	return 0;
}

/* Keep the send pipe full with the bytes after those already in it. */
static int pipe_fill(struct end *e)
{
	for (;;) {
		uint64_t off = e->tx_done + e->in_tpipe;
		size_t n = min64(CHUNK, e->tx_allowed - off);
		ssize_t w;

		if (!n)
			return 0;
		w = write(e->tpipe[1], tx_bytes(e, off, n), n);
		if (w < 0)
			return errno == EAGAIN ? 0 : -errno;
		e->in_tpipe += w;
	}
}

/* One send of pattern bytes by the end's method: bytes moved, or -errno. */
static ssize_t send_pattern(struct end *e)
{
	size_t n = min64(io_size(e, &e->nwrites), e->tx_allowed - e->tx_done);
	ssize_t w;
	int err;

	e->last_ask = n;
	switch (e->m->tx) {
	case TX_SEND:
		w = send(e->fd, tx_bytes(e, e->tx_done, n), n, MSG_NOSIGNAL);
		return w < 0 ? -errno : w;
	case TX_SENDFILE: {
		off_t pos;

		if (e->tx_done == e->file_base + e->file_len) {
			err = file_refill(e);
			if (err)
				return err;
		}
		pos = e->tx_done - e->file_base;
		n = min64(n, e->file_len - pos);
		w = sendfile(e->fd, e->memfd, &pos, n);
		return w < 0 ? -errno : w;
	}
	case TX_SPLICE:
		err = pipe_fill(e);
		if (err)
			return err;
		w = splice(e->tpipe[0], NULL, e->fd, NULL,
			   min64(n, e->in_tpipe), SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (w < 0)
			return -errno;
		e->in_tpipe -= w;
		return w;
	}
	return -EINVAL;
}

/*
 * Send what may be sent now. Edge-triggered: until EAGAIN, since no edge
 * comes otherwise. Level-triggered and poll: one call per report.
 * Returns 1 when something moved, 0 if not, -1 on failure (e->rc set).
 */
static int do_tx(struct end *e)
{
	int moved = 0;

	while (tx_pending(e)) {
		ssize_t w;
		const char *what;

		if (e->tx_pre_done < e->tx_pre_len) {
			what = "header";
			w = send(e->fd, e->tx_pre + e->tx_pre_done,
				 e->tx_pre_len - e->tx_pre_done, MSG_NOSIGNAL);
			if (w < 0)
				w = -errno;
			else
				e->tx_pre_done += w;
		} else if (e->tx_done < e->tx_allowed) {
			what = "data";
			w = send_pattern(e);
			if (w > 0)
				e->tx_done += w;
			/* nginx: less than asked, so the socket is full. */
			if (w > 0 && e->m->stop_short && (size_t)w < e->last_ask) {
				e->ready_w = 0;
				return 1;
			}
		} else {
			what = "trailer";
			w = send(e->fd, e->tx_suf + e->tx_suf_done,
				 e->tx_suf_len - e->tx_suf_done, MSG_NOSIGNAL);
			if (w < 0)
				w = -errno;
			else
				e->tx_suf_done += w;
		}
		if (w == -EINTR)
			continue;
		if (w == -EAGAIN) {
			e->eagain_w++;
			e->ready_w = 0;
			return moved;
		}
		if (w < 0) {
			end_fail(e, EXIT_RESET, "send %s: %s after %" PRIu64
				 " of %" PRIu64 " bytes", what, errname(-w),
				 e->tx_done, e->tx_len);
			return -1;
		}
		if (w == 0) {
			end_fail(e, EXIT_SOCKET, "send %s: returned 0", what);
			return -1;
		}
		moved = 1;
		if (e->m->wait != WAIT_ET) {
			e->ready_w = 0;
			break;
		}
	}
	return moved;
}

/* One receive of pattern bytes, checked: bytes, 0 at EOF, or -errno. */
static ssize_t recv_pattern(struct end *e)
{
	size_t n = min64(io_size(e, &e->nreads), e->rx_len - e->rx_done);
	size_t ok, got = 0;
	ssize_t r;

	e->last_ask = n;
	if (e->m->rx == RX_SPLICE) {
		r = splice(e->fd, NULL, e->rpipe[1], NULL, n, SPLICE_F_NONBLOCK);
		if (r <= 0)
			return r < 0 ? -errno : 0;
		/* The pipe was empty, so it now holds exactly r bytes. */
		while (got < (size_t)r) {
			ssize_t p = read(e->rpipe[0], e->rxbuf + got, r - got);

			if (p <= 0)
				return p < 0 ? -errno : -EPIPE;
			got += p;
		}
	} else {
		r = recv(e->fd, e->rxbuf, n, 0);
		if (r <= 0)
			return r < 0 ? -errno : 0;
	}
	ok = pattern_check(e->rx_seed, e->rx_done, e->rxbuf, r, e->scratch);
	if (ok != (size_t)r) {
		e->rx_done += ok;
		return -EBADMSG;
	}
	e->rx_done += r;
	return r;
}

static int do_rx(struct end *e)
{
	int moved = 0;

	while (rx_pending(e)) {
		ssize_t r;
		const char *what;

		if (e->rx_done < e->rx_len) {
			what = "data";
			r = recv_pattern(e);
			if (r == -EBADMSG) {
				end_fail(e, EXIT_DATA, "receive: data mismatch at offset %"
					 PRIu64, e->rx_done);
				return -1;
			}
			if (r > 0)
				ka_update(e);
			/* nginx: less than asked, so the socket is drained. */
			if (r > 0 && e->m->stop_short && (size_t)r < e->last_ask) {
				e->ready_r = 0;
				return 1;
			}
		} else if (e->rx_suf_done < e->rx_suf_len) {
			what = "trailer";
			r = recv(e->fd, e->rx_suf + e->rx_suf_done,
				 e->rx_suf_len - e->rx_suf_done, 0);
			if (r < 0)
				r = -errno;
			else
				e->rx_suf_done += r;
		} else {
			char c;

			what = "end of stream";
			r = recv(e->fd, &c, 1, 0);
			if (r < 0)
				r = -errno;
			if (r == 0) {
				e->got_eof = 1;
				return 1;
			}
			if (r > 0) {
				end_fail(e, EXIT_DATA, "receive: extra bytes after %"
					 PRIu64 " verified", e->rx_done);
				return -1;
			}
		}
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN) {
			e->eagain_r++;
			e->ready_r = 0;
			return moved;
		}
		if (r <= 0) {
			end_fail(e, EXIT_RESET, "receive %s: %s after %" PRIu64
				 " of %" PRIu64 " bytes", what,
				 r ? errname(-r) : "early EOF", e->rx_done,
				 e->rx_len);
			return -1;
		}
		moved = 1;
		if (e->m->wait != WAIT_ET) {
			e->ready_r = 0;
			break;
		}
	}
	return moved;
}

static void describe_events(char *buf, size_t len, int r, int w)
{
	snprintf(buf, len, "%s%s%s", r ? "readable" : "",
		 r && w ? " and " : "", w ? "writable" : "");
}

/*
 * Nothing moved for stall_s: say what this end waited for and whether the
 * socket was in fact ready, which is a lost wakeup, not a slow peer.
 */
static void stalled(struct end *e, int want_r, int want_w)
{
	struct pollfd p = { .fd = e->fd, .events = POLLIN | POLLOUT };
	char waited[64], ready[64];
	int n = poll(&p, 1, 0);

	describe_events(waited, sizeof(waited), want_r, want_w);
	if (n > 0 && (p.revents & ((want_r ? POLLIN : 0) | (want_w ? POLLOUT : 0))))
		describe_events(ready, sizeof(ready),
				want_r && (p.revents & POLLIN),
				want_w && (p.revents & POLLOUT));
	else
		snprintf(ready, sizeof(ready), "not ready");
	end_fail(e, EXIT_STALL,
		 "stalled: nothing moved for %.0f s (%s, %s waiting until %s): "
		 "sent %" PRIu64 " of %" PRIu64 ", received %" PRIu64 " of %"
		 PRIu64 " bytes, %lu waits, %lu/%lu EAGAIN on send/receive; "
		 "poll() now says %s%s", stall_s, e->m->name, e->who, waited,
		 e->tx_done, e->tx_len, e->rx_done, e->rx_len, e->waits,
		 e->eagain_w, e->eagain_r, ready,
		 strcmp(ready, "not ready") ? ": a lost wakeup" : "");
}

/* Wait for readiness by the end's mechanism, at most until the stall. */
static int wait_ready(struct end *e, int want_r, int want_w)
{
	double left = e->last_progress + stall_s - now();
	int ms = left <= 0 ? 0 : (int)(left * 1000) + 1, n;

	if (left <= 0) {
		stalled(e, want_r, want_w);
		return -1;
	}
	if (ms > 1000)
		ms = 1000;	/* the overall alarm and the stall are both checked */
	e->waits++;
	if (e->m->wait == WAIT_POLL) {
		struct pollfd p = { .fd = e->fd, .events =
			(want_r ? POLLIN | POLLRDHUP : 0) | (want_w ? POLLOUT : 0) };

		n = poll(&p, 1, ms);
		if (n < 0 && errno != EINTR) {
			end_fail(e, EXIT_SOCKET, "poll: %s", errname(errno));
			return -1;
		}
		if (n > 0) {
			e->ready_r = !!(p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
			e->ready_w = !!(p.revents & (POLLOUT | POLLHUP | POLLERR));
		}
		return 0;
	}
	if (e->m->wait == WAIT_LT) {
		uint32_t want = (want_r ? EPOLLIN | EPOLLRDHUP : 0) |
				(want_w ? EPOLLOUT : 0);

		/* Level-triggered EPOLLOUT with nothing to send would spin. */
		if (want != e->ep_events) {
			struct epoll_event ev = { .events = want, .data.fd = e->fd };

			if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, e->fd, &ev)) {
				end_fail(e, EXIT_SOCKET, "epoll_ctl: %s",
					 errname(errno));
				return -1;
			}
			e->ep_events = want;
		}
	}
	{
		struct epoll_event ev;

		n = epoll_wait(e->epfd, &ev, 1, ms);
		if (n < 0 && errno != EINTR) {
			end_fail(e, EXIT_SOCKET, "epoll_wait: %s", errname(errno));
			return -1;
		}
		if (n > 0) {
			if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				e->ready_r = 1;
			if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				e->ready_w = 1;
		}
	}
	return 0;
}

/* Move everything this end sends and receives; 0 or the exit code. */
static int run_end(struct end *e)
{
	if (e->m->wait != WAIT_POLL) {
		struct epoll_event ev = { .data.fd = e->fd };

		e->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (e->m->wait == WAIT_ET)
			ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		else
			ev.events = e->ep_events = EPOLLIN | EPOLLRDHUP;
		if (e->epfd < 0 || epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->fd, &ev)) {
			end_fail(e, EXIT_SOCKET, "epoll: %s", errname(errno));
			return e->rc;
		}
	}
	/* Like nginx, assume a fresh socket is ready and let EAGAIN say not. */
	e->ready_r = e->ready_w = 1;
	e->last_progress = now();
	ka_update(e);
	for (;;) {
		int want_w, want_r, moved = 0, r;

		if (!e->tx_suf_ready && e->rx_done == e->rx_len &&
		    e->tx_done == e->tx_len && e->tx_suf_len) {
			struct trailer *t = (struct trailer *)e->tx_suf;

			t->verified = e->rx_done;
			e->tx_suf_ready = 1;
		}
		want_w = tx_pending(e);
		want_r = rx_pending(e);
		if (!want_w && !want_r)
			return 0;
		if (want_w && e->ready_w) {
			r = do_tx(e);
			if (r < 0)
				return e->rc;
			moved |= r;
		}
		if (want_r && e->ready_r) {
			r = do_rx(e);
			if (r < 0)
				return e->rc;
			moved |= r;
		}
		if (moved) {
			e->last_progress = now();
			continue;
		}
		want_w = tx_pending(e);
		want_r = rx_pending(e);
		if ((want_w && e->ready_w) || (want_r && e->ready_r))
			continue;	/* gating just opened */
		if ((want_w || want_r) && wait_ready(e, want_r, want_w))
			return e->rc;
	}
}

static struct timeval timeval_of(double secs)
{
	struct timeval tv = {
		.tv_sec = (time_t)secs,
		.tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6),
	};

	return tv;
}

static int set_ring(int fd)
{
	if (!ring || family != AF_VSOCK)
		return 0;
	/* The core clamps to the max silently, so raise the max first. */
	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &ring,
		       sizeof(ring)) ||
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &ring,
		       sizeof(ring)))
		return -errno;
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	return 0;
}

/* Cumulative sizes of the keep-alive exchanges, [0] = 0. */
static uint64_t *ka_cumulative(const uint64_t *cycle, size_t n, uint32_t ex)
{
	uint64_t *cum = calloc(ex + 1, sizeof(*cum));

	for (uint32_t i = 0; cum && i < ex; i++)
		cum[i + 1] = cum[i] + cycle[i % n];
	return cum;
}

#define KA_REQ_N (sizeof(ka_req) / sizeof(ka_req[0]))
#define KA_RESP_N (sizeof(ka_resp) / sizeof(ka_resp[0]))

static void set_sizes(struct end *e, const uint64_t *s, int n)
{
	if (!n && e->m->odd_sizes) {
		s = odd_sizes;
		n = sizeof(odd_sizes) / sizeof(odd_sizes[0]);
	}
	e->nsizes = n;
	memcpy(e->sizes, s, n * sizeof(*s));
}

/* ---- server ---- */

struct served {
	int fd;
	unsigned long id;
	int rc;
};

static int recv_header(int fd, struct header *h)
{
	size_t done = 0;

	while (done < sizeof(*h)) {
		ssize_t n = recv(fd, (char *)h + done, sizeof(*h) - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		done += n;
	}
	return 0;
}

static void *serve_one(void *arg)
{
	struct served *sv = arg;
	struct header h;
	struct end e = { .fd = sv->fd, .who = "server" };
	struct trailer *t = (struct trailer *)e.tx_suf;
	struct timeval tv = timeval_of(stall_s);
	int err;

	/* The header comes before the mode is known: read it blocking. */
	setsockopt(sv->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	err = recv_header(sv->fd, &h);
	if (err || h.magic != NBIO_MAGIC || h.version != NBIO_VERSION ||
	    h.mode >= NMODES || h.nsizes > MAX_SIZES) {
		printf("FAIL conn=%lu: bad header (%s)\n", sv->id,
		       err ? errname(-err) : "magic, version, mode or sizes");
		sv->rc = err ? EXIT_RESET : EXIT_DATA;
		goto out;
	}
	e.m = &modes[h.mode];
	set_sizes(&e, h.sizes, h.nsizes);
	e.rx_seed = h.seed;
	e.tx_seed = ~h.seed;	/* the other direction is another stream */
	if (e.m->keepalive) {
		e.exchanges = h.exchanges;
		e.req_cum = ka_cumulative(ka_req, KA_REQ_N, h.exchanges);
		e.resp_cum = ka_cumulative(ka_resp, KA_RESP_N, h.exchanges);
		if (!e.req_cum || !e.resp_cum) {
			sv->rc = EXIT_SOCKET;
			goto out_free;
		}
		e.rx_len = e.req_cum[h.exchanges];
		e.tx_len = e.resp_cum[h.exchanges];
	} else {
		e.rx_len = h.to_server;
		e.tx_len = h.to_client;
	}
	t->magic = NBIO_MAGIC;
	e.tx_suf_len = sizeof(*t);
	/* Let the client close first: if we closed with its last bytes or
	 * the trailer in flight, it could see a reset, not a verdict. */
	e.want_eof = 1;
	err = end_init(&e);
	if (!err)
		err = set_nonblock(sv->fd);
	if (err) {
		printf("FAIL conn=%lu: setup: %s\n", sv->id, errname(-err));
		sv->rc = EXIT_SOCKET;
		goto out_free;
	}
	sv->rc = run_end(&e);
	if (sv->rc)
		printf("FAIL conn=%lu mode=%s rx=%" PRIu64 " tx=%" PRIu64 " %s\n",
		       sv->id, e.m->name, e.rx_done, e.tx_done, e.why);
	else
		printf("OK conn=%lu mode=%s rx=%" PRIu64 " tx=%" PRIu64 "\n",
		       sv->id, e.m->name, e.rx_done, e.tx_done);
out_free:
	end_free(&e);
out:
	close(sv->fd);
	return NULL;
}

static int make_socket(int flags)
{
	int fd = socket(family, SOCK_STREAM | flags, 0);

	if (fd < 0) {
		printf("FAIL socket: %s (%s)\n", errname(errno), strerror(errno));
		exit(EXIT_SOCKET);
	}
	return fd;
}

static int server(int once)
{
	int lfd = make_socket(0), one = 1;
	unsigned long id = 0;
	union {
		struct sockaddr_vm vm;
		struct sockaddr_in in;
	} a;
	socklen_t alen;

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
	if (bind(lfd, (struct sockaddr *)&a, alen) || listen(lfd, 128)) {
		printf("FAIL bind/listen port %u: %s (%s)\n", port,
		       errname(errno), strerror(errno));
		return EXIT_SOCKET;
	}
	printf("listening on port %u\n", port);
	for (;;) {
		struct served *sv;
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			printf("FAIL accept: %s (%s)\n", errname(errno),
			       strerror(errno));
			return EXIT_SOCKET;
		}
		sv = calloc(1, sizeof(*sv));
		if (!sv) {
			close(fd);
			continue;
		}
		sv->fd = fd;
		sv->id = ++id;
		if (once) {
			int rc;

			serve_one(sv);
			rc = sv->rc;
			free(sv);
			return rc;
		}
		if (pthread_create(&t, NULL, serve_one, sv)) {
			printf("FAIL conn=%lu: no thread to serve it\n", sv->id);
			close(fd);
			free(sv);
			continue;
		}
		pthread_detach(t);
	}
}

/* ---- client ---- */

static const struct mode *cmode, *smode;
static uint64_t csizes[MAX_SIZES], ssizes[MAX_SIZES];
static int ncsizes, nssizes;
static uint32_t exchanges = 1000;

struct conn {
	int id;
	uint64_t seed;
	uint64_t to_server, to_client;
	int rc;
	uint64_t moved;
	char why[480];
};

static void conn_fail(struct conn *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_fail(struct conn *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->rc = rc;
	printf("FAIL conn=%d %s\n", c->id, c->why);
}

/* A non-blocking connect, as event loops do it: EINPROGRESS, then wait
 * for writability and read SO_ERROR. */
static int connect_to(struct conn *c)
{
	int fd = make_socket(SOCK_NONBLOCK), err = 0;
	struct timeval tv = timeval_of(connect_timeout_s);
	union {
		struct sockaddr_vm vm;
		struct sockaddr_in in;
	} a;
	socklen_t alen, elen = sizeof(err);

	memset(&a, 0, sizeof(a));
	if (family == AF_VSOCK) {
		a.vm.svm_family = AF_VSOCK;
		a.vm.svm_cid = cid;
		a.vm.svm_port = port;
		alen = sizeof(a.vm);
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		a.in.sin_addr = ip;
		alen = sizeof(a.in);
	}
	err = set_ring(fd);
	if (!err && family == AF_VSOCK &&
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
		       sizeof(tv)))
		err = -errno;
	if (err) {
		conn_fail(c, EXIT_SOCKET, "setsockopt: %s", errname(-err));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&a, alen) && errno != EINPROGRESS) {
		conn_fail(c, EXIT_SOCKET, "connect: %s (%s)", errname(errno),
			  strerror(errno));
		goto fail;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n = poll(&p, 1, (int)(connect_timeout_s * 1000) + 5000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			conn_fail(c, EXIT_SOCKET, "connect: never became writable");
			goto fail;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
		conn_fail(c, EXIT_SOCKET, "connect: %s (%s)", errname(err),
			  strerror(err));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static double rtt_sum;

static void *client_one(void *arg)
{
	struct conn *c = arg;
	struct header h = {
		.magic = NBIO_MAGIC, .version = NBIO_VERSION, .seed = c->seed,
		.to_server = c->to_server, .to_client = c->to_client,
		.mode = smode - modes, .exchanges = exchanges,
		.nsizes = nssizes,
	};
	struct end e = { .m = cmode, .who = "client", .is_client = 1 };
	struct trailer *t = (struct trailer *)e.rx_suf;
	double t0;
	int err;

	memcpy(h.sizes, ssizes, sizeof(ssizes));
	e.fd = connect_to(c);
	if (e.fd < 0)
		return NULL;
	set_sizes(&e, csizes, ncsizes);
	e.tx_pre = (const unsigned char *)&h;
	e.tx_pre_len = sizeof(h);
	e.tx_seed = c->seed;
	e.rx_seed = ~c->seed;
	if (cmode->keepalive) {
		e.exchanges = exchanges;
		e.req_cum = ka_cumulative(ka_req, KA_REQ_N, exchanges);
		e.resp_cum = ka_cumulative(ka_resp, KA_RESP_N, exchanges);
		if (!e.req_cum || !e.resp_cum) {
			conn_fail(c, EXIT_SOCKET, "out of memory");
			goto out;
		}
		e.tx_len = c->to_server = e.req_cum[exchanges];
		e.rx_len = c->to_client = e.resp_cum[exchanges];
	} else {
		e.tx_len = c->to_server;
		e.rx_len = c->to_client;
	}
	e.rx_suf_len = sizeof(*t);
	err = end_init(&e);
	if (err) {
		conn_fail(c, EXIT_SOCKET, "setup: %s", errname(-err));
		goto out;
	}
	t0 = now();
	if (run_end(&e)) {
		c->moved = e.tx_done + e.rx_done;
		conn_fail(c, e.rc, "%s", e.why);
		goto out;
	}
	c->moved = e.tx_done + e.rx_done;
	if (cmode->keepalive)
		rtt_sum += (now() - t0) / exchanges;	/* -P 1 only */
	if (t->magic != NBIO_MAGIC)
		conn_fail(c, EXIT_DATA, "trailer: bad magic %#x (extra bytes?)",
			  t->magic);
	else if (t->status || t->verified != c->to_server)
		conn_fail(c, t->status ? (int)t->status : EXIT_DATA,
			  "server verified %" PRIu64 " of %" PRIu64
			  " bytes (server status %u)", t->verified, c->to_server,
			  t->status);
out:
	end_free(&e);
	close(e.fd);
	return NULL;
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
		fprintf(stderr, "yasmin-nbio: %s\n", why);
	fprintf(stderr,
		"usage: yasmin-nbio -s [-p PORT] [-f vsock|inet] [-1] [-S STALL]\n"
		"       yasmin-nbio -c CID|IP [-p PORT] [-n SIZE] [-r|-d] [-m MODE] [-M MODE]\n"
		"                   [-w SIZES] [-W SIZES] [-k EXCHANGES] [-P CONNS] [-B RING]\n"
		"                   [-f vsock|inet] [-S STALL] [-T CONNECT] [-t SECONDS]\n"
		"MODE: et lt poll sendfile splice partial keepalive short ka-short\n"
		"      (-m client, -M server).\n"
		"SIZES: comma-separated write/read sizes (K, M), at most 8, each <= 3M.\n"
		"Exit: 0 verified, 1 bad data, 2 usage, 3 socket/connect error,\n"
		"4 reset or early EOF, 5 stalled for STALL seconds (default 20).\n");
	exit(EXIT_USAGE);
}

static const struct mode *parse_mode(const char *s)
{
	for (size_t i = 0; i < NMODES; i++)
		if (!strcmp(s, modes[i].name))
			return &modes[i];
	usage("unknown mode");
	return NULL;
}

static int parse_sizes(const char *s, uint64_t *out)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t v = parse_size(tok);

		if (n == MAX_SIZES || v == UINT64_MAX || !v ||
		    v > 3 * 1024 * 1024)
			usage("sizes: at most 8, each 1..3M");
		out[n++] = v;
	}
	free(copy);
	if (!n)
		usage("empty size list");
	return n;
}

static void on_alarm(int sig)
{
	(void)sig;
	printf("FAIL timed out after %.0f s\n", timeout_s);
	fflush(stdout);
	_exit(EXIT_STALL);
}

int main(int argc, char **argv)
{
	const char *host = NULL;
	int srv = 0, once = 0, reverse = 0, both = 0, nconn = 1, opt, i, rc;
	int failed = 0, first = -1;
	uint64_t size = 64 * 1024 * 1024, moved = 0;
	struct conn *conns;
	pthread_t *threads;
	double t0, secs;
	long v;

	while ((opt = getopt(argc, argv, "sc:p:n:rdm:M:w:W:k:P:B:f:t:T:S:1h")) != -1) {
		switch (opt) {
		case 's': srv = 1; break;
		case 'c': host = optarg; break;
		case 'p':
			v = parse_int(optarg, 0, UINT32_MAX);
			if (v == LONG_MIN)
				usage("bad port");
			port = v;
			break;
		case 'n':
			size = parse_size(optarg);
			if (size == UINT64_MAX)
				usage("bad size");
			break;
		case 'r': reverse = 1; break;
		case 'd': both = 1; break;
		case 'm': cmode = parse_mode(optarg); break;
		case 'M': smode = parse_mode(optarg); break;
		case 'w': ncsizes = parse_sizes(optarg, csizes); break;
		case 'W': nssizes = parse_sizes(optarg, ssizes); break;
		case 'k':
			v = parse_int(optarg, 1, 10000000);
			if (v == LONG_MIN)
				usage("exchanges must be 1..10000000");
			exchanges = v;
			break;
		case 'P':
			v = parse_int(optarg, 1, 256);
			if (v == LONG_MIN)
				usage("connections must be 1..256");
			nconn = v;
			break;
		case 'B':
			ring = parse_size(optarg);
			if (ring == UINT64_MAX || !ring)
				usage("bad ring size");
			break;
		case 'f':
			if (!strcmp(optarg, "vsock"))
				family = AF_VSOCK;
			else if (!strcmp(optarg, "inet"))
				family = AF_INET;
			else
				usage("family must be vsock or inet");
			break;
		case 't': timeout_s = atof(optarg); break;
		case 'T': connect_timeout_s = atof(optarg); break;
		case 'S':
			stall_s = atof(optarg);
			if (!(stall_s >= 1 && stall_s <= 86400))
				usage("stall seconds must be 1..86400");
			break;
		case '1': once = 1; break;
		case 'h': usage(NULL); break;
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
		return server(once);
	if (!cmode)
		cmode = &modes[0];
	if (!smode)
		smode = cmode;
	if (cmode->keepalive != smode->keepalive)
		usage("keepalive must be the mode of both ends");
	if (family == AF_VSOCK) {
		v = parse_int(host, 0, UINT32_MAX);
		if (v == LONG_MIN)
			usage("-c needs a CID with -f vsock");
		cid = v;
	} else if (inet_pton(AF_INET, host, &ip) != 1) {
		usage("-c needs an IPv4 address with -f inet");
	}
	if (cmode->keepalive && nconn > 1)
		usage("keepalive times one connection: -P 1");

	signal(SIGALRM, on_alarm);
	alarm((unsigned int)timeout_s);
	conns = calloc(nconn, sizeof(*conns));
	threads = calloc(nconn, sizeof(*threads));
	if (!conns || !threads)
		return EXIT_SOCKET;
	srand(time(NULL) ^ getpid());
	t0 = now();
	for (i = 0; i < nconn; i++) {
		conns[i].id = i + 1;
		conns[i].seed = ((uint64_t)rand() << 32) ^ rand() ^
				((uint64_t)i << 48);
		conns[i].to_server = (!reverse || both) ? size : 0;
		conns[i].to_client = (reverse || both) ? size : 0;
		if (pthread_create(&threads[i], NULL, client_one, &conns[i])) {
			printf("FAIL no thread for connection %d\n", i + 1);
			return EXIT_SOCKET;
		}
	}
	rc = EXIT_OK;
	for (i = 0; i < nconn; i++) {
		pthread_join(threads[i], NULL);
		moved += conns[i].moved;
		if (!conns[i].rc)
			continue;
		failed++;
		if (!rc || conns[i].rc < rc) {
			rc = conns[i].rc;
			first = i;
		}
	}
	secs = now() - t0;
	if (rc) {
		printf("FAIL mode=%s/%s conns=%d failed=%d exit=%d conn=%d %s\n",
		       cmode->name, smode->name, nconn, failed, rc, first + 1,
		       conns[first].why);
	} else if (cmode->keepalive) {
		printf("OK mode=%s/%s conns=%d bytes=%" PRIu64
		       " secs=%.2f MBps=%.1f exchanges=%u rtt_us=%.0f\n",
		       cmode->name, smode->name, nconn, moved, secs,
		       moved / secs / 1e6, exchanges, rtt_sum * 1e6);
	} else {
		printf("OK mode=%s/%s conns=%d bytes=%" PRIu64
		       " secs=%.2f MBps=%.1f\n", cmode->name, smode->name, nconn,
		       moved, secs, moved / secs / 1e6);
	}
	return rc;
}
