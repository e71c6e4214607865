// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-xfer: move bytes over a stream socket and verify every one.
 *
 *   yasmin-xfer -s [-p PORT] [-f vsock|inet] [-1] [-B RING] [-q] [-H SECONDS]
 *   yasmin-xfer -c CID|IP [-p PORT] -n SIZE [-r] [-d] [-P CONNS] [-q] [-z]
 *               [-B RING] [-f vsock|inet] [-t SECONDS] [-w WRITE]
 *               [-T CONNECT_SECONDS] [-R BYTES_PER_SECOND]
 *
 * -R paces each stream's sender, for a transfer that must outlast
 * something (a daemon's restart) however fast the transport is.
 * -q (vsock only, on both ends): SOCK_SEQPACKET. Each direction is then a
 * sequence of messages of 1 to WRITE bytes (-w), their lengths drawn from
 * the seed, and the receiver checks every message's length as well as its
 * bytes: a message split, merged or truncated is a data error.
 * The client opens CONNS connections; each sends a header naming a seed
 * and how many bytes go each way, then both ends stream pattern.h bytes
 * and check what they receive, concurrently in both directions. The server
 * ends each connection with a trailer saying how many bytes it verified,
 * so the client's exit status is the verdict on the whole transfer:
 *
 *   0 every byte verified both ways     1 data lost, corrupted or extra
 *   2 usage                             3 socket, option or connect error
 *   4 reset or early end of stream (errno name and ms since the last I/O)
 *
 * Output, one line each, for scripts to grep:
 *   server  "OK conn=N rx=BYTES tx=BYTES" | "FAIL conn=N ... reason"
 *   client  "FAIL conn=N reason" per failed connection, then
 *           "OK conns=N bytes=TOTAL secs=S MBps=X" |
 *           "FAIL conns=N failed=K exit=RC conn=I first reason"
 * Reasons name errnos (ECONNRESET, EINVAL...) as scripts match on them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/errqueue.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "pattern.h"

#define XFER_MAGIC	0x59584631u	/* "YXF1" */
#define XFER_VERSION	2
#define CHUNK		(256 * 1024)

enum { EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SOCKET, EXIT_RESET };

struct header {
	uint32_t magic;
	uint32_t version;
	uint64_t seed;
	uint64_t to_server;
	uint64_t to_client;
	uint32_t max_msg;	/* -q: longest message; 0: a byte stream */
	uint32_t reserved;
};

struct trailer {
	uint32_t magic;
	uint32_t status;
	uint64_t verified;
};

static int family = AF_VSOCK;
static unsigned int port = 5000;
static unsigned int cid;		/* -c, vsock */
static struct in_addr ip;		/* -c, inet */
static uint64_t ring;
static uint64_t corrupt_at = UINT64_MAX;	/* --corrupt-at: test the test */
static double timeout_s = 600;
static double hold_s;			/* -H: server holds each closed connection */
static double stall_s = 120;		/* -S: see set_stall_timeout() */
static size_t write_size = CHUNK;		/* -w: bytes per send() */
static uint64_t pace_bps;		/* -R: send at most this many bytes/s */
static int seqpacket;			/* -q */
static int zerocopy;			/* -z; 2: -Z, close at once */

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

/* One direction of one connection. */
struct stream {
	int fd;
	uint64_t seed;
	uint64_t len;
	uint64_t done;		/* bytes moved (and verified, if receiving) */
	double last_io;		/* when the last send/recv succeeded */
	double failed_at;	/* when it failed: the judge may come later */
	int err;		/* errno of the failure, 0 if none */
	int bad;		/* verification failed at offset done */
	uint32_t max_msg;	/* SOCK_SEQPACKET: longest message, else 0 */
	uint64_t msgs;		/* SOCK_SEQPACKET: messages moved */
	uint64_t got, want;	/* a message of the wrong length: got, want */
	int eof;		/* stream ended early */
};

/*
 * SOCK_SEQPACKET: the length of message @i of a stream, 1 to max_msg
 * bytes, and never past the stream's end. Both ends compute it.
 */
static size_t msg_len(const struct stream *s, uint64_t i)
{
	uint64_t n = pattern_word(s->seed ^ 0x5eb0a1e7u, i) % s->max_msg + 1;

	return n < s->len - s->done ? n : s->len - s->done;
}

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif
#ifndef SOL_VSOCK
#define SOL_VSOCK	287
#endif

/*
 * -z: MSG_ZEROCOPY. ZC_BUFS buffers take turns; a buffer is in flight from
 * its send until the completion of every send that used it arrives on the
 * error queue, and is then overwritten at once with a poison byte, before
 * it is refilled: a completion that came before the peer had read the
 * bytes shows as bad data at the receiver.
 */
#define ZC_BUFS		8
#define ZC_POISON	0xa5

#define ZC_IDS		1024	/* ids tracked, far more than ever in flight */

struct zc_state {
	unsigned char *buf[ZC_BUFS];
	uint32_t last_id[ZC_BUFS];	/* id of its last send */
	int busy[ZC_BUFS];
	uint32_t next_id;		/* the kernel numbers sends from 0 */
	uint32_t completed;		/* every id below it has completed */
	uint32_t ndone;			/* ids completed in all */
	unsigned char done[ZC_IDS];	/* id % ZC_IDS completed, at or past completed */
	uint64_t zerocopied, copied;	/* sends, by how they completed */
};

/*
 * Take what the error queue holds; with @wait_ms, wait that long first.
 * Ranges may come out of order (a copied send completes at once, before
 * zero-copy ones sent earlier), but every id must come exactly once: a
 * notification that breaks that fails the stream with EBADMSG.
 */
static int zc_reap(struct stream *s, struct zc_state *z, int wait_ms)
{
	struct pollfd p = { .fd = s->fd, .events = 0 };
	char control[128];

	if (wait_ms && poll(&p, 1, wait_ms) < 0 && errno != EINTR)
		return -errno;
	for (;;) {
		struct msghdr m = { .msg_control = control,
				    .msg_controllen = sizeof(control) };
		struct sock_extended_err *e;
		struct cmsghdr *cm;
		uint32_t lo, hi, id;

		if (recvmsg(s->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		cm = CMSG_FIRSTHDR(&m);
		if (!cm || cm->cmsg_level != SOL_VSOCK)
			return -EBADMSG;
		e = (struct sock_extended_err *)CMSG_DATA(cm);
		if (e->ee_origin != SO_EE_ORIGIN_ZEROCOPY || e->ee_errno)
			return -EBADMSG;
		lo = e->ee_info;
		hi = e->ee_data;
		/* only ids we sent and that have not completed yet */
		if (hi - lo >= ZC_IDS || lo - z->completed >= z->next_id - z->completed ||
		    hi - z->completed >= z->next_id - z->completed)
			return -EBADMSG;
		for (id = lo; id != hi + 1; id++) {
			if (z->done[id % ZC_IDS])
				return -EBADMSG;
			z->done[id % ZC_IDS] = 1;
			z->ndone++;
		}
		if (e->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
			z->copied += hi - lo + 1;
		else
			z->zerocopied += hi - lo + 1;
		while (z->completed != z->next_id && z->done[z->completed % ZC_IDS])
			z->done[z->completed++ % ZC_IDS] = 0;
		for (int i = 0; i < ZC_BUFS; i++) {
			id = z->last_id[i];
			if (z->busy[i] && (id - z->completed >= 0x80000000u ||
					   z->done[id % ZC_IDS])) {
				memset(z->buf[i], ZC_POISON, write_size);
				z->busy[i] = 0;
			}
		}
	}
}

static void *send_stream_zc(struct stream *s)
{
	struct zc_state z = { 0 };
	int one = 1, b = 0, err;
	double deadline;

	s->last_io = now();
	if (setsockopt(s->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one))) {
		s->err = errno;
		s->failed_at = now();
		return NULL;
	}
	for (int i = 0; i < ZC_BUFS; i++) {
		z.buf[i] = malloc(write_size);
		if (!z.buf[i]) {
			s->err = ENOMEM;
			return NULL;
		}
	}
	while (s->done < s->len) {
		size_t n = s->len - s->done < write_size ? s->len - s->done :
			   write_size;
		ssize_t w;

		if (s->max_msg)
			n = msg_len(s, s->msgs);
		err = zc_reap(s, &z, 0);
		while (!err && z.busy[b])
			err = zc_reap(s, &z, 100);
		if (err) {
			s->err = -err;
			s->failed_at = now();
			break;
		}
		pattern_fill(s->seed, s->done, z.buf[b], n);
		w = send(s->fd, z.buf[b], n, MSG_NOSIGNAL | MSG_ZEROCOPY);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			s->failed_at = now();
			break;
		}
		if (s->max_msg && (size_t)w != n) {
			s->err = EMSGSIZE;
			s->failed_at = now();
			break;
		}
		z.busy[b] = 1;
		z.last_id[b] = z.next_id++;
		b = (b + 1) % ZC_BUFS;
		s->done += w;
		s->msgs++;
		s->last_io = now();
	}
	/* -Z: close with sends in flight; the peer must still read them. */
	if (zerocopy == 2 && !s->err) {
		printf("zerocopy sends=%u completed=%u before close\n",
		       z.next_id, z.ndone);
		fflush(stdout);
		close(s->fd);
		s->fd = -1;
		for (int i = 0; i < ZC_BUFS; i++)
			free(z.buf[i]);
		return NULL;
	}
	/* Every send completes, even when the peer is gone. */
	deadline = now() + 10;
	while (z.completed != z.next_id && now() < deadline)
		if (zc_reap(s, &z, 100) < 0)
			break;
	printf("zerocopy sends=%u completed=%u zerocopied=%" PRIu64
	       " copied=%" PRIu64 "%s\n", z.next_id, z.completed,
	       z.zerocopied, z.copied,
	       z.completed != z.next_id ? " (completions missing)" : "");
	fflush(stdout);
	if (z.completed != z.next_id && !s->err) {
		s->err = ETIME;
		s->failed_at = now();
	}
	for (int i = 0; i < ZC_BUFS; i++)
		free(z.buf[i]);
	return NULL;
}

static void *send_stream_copy(struct stream *s);

static void *send_stream(void *arg)
{
	struct stream *s = arg;

	if (zerocopy)
		return send_stream_zc(s);
	return send_stream_copy(s);
}

static void *send_stream_copy(struct stream *s)
{
	unsigned char *buf = malloc(CHUNK);

	double start = now();

	s->last_io = start;
	while (buf && s->done < s->len) {
		size_t n = s->len - s->done < write_size ? s->len - s->done :
			   write_size;
		ssize_t w;

		if (s->max_msg)
			n = msg_len(s, s->msgs);

		/* -R: a stream that lasts, whatever the transport's speed */
		if (pace_bps) {
			double ahead = start + (double)s->done / pace_bps - now();

			if (ahead > 0)
				usleep(ahead > 1 ? 1000000 : ahead * 1e6);
			if (ahead > 1)
				continue;
		}

		pattern_fill(s->seed, s->done, buf, n);
		if (corrupt_at >= s->done && corrupt_at < s->done + n)
			buf[corrupt_at - s->done] ^= 0x40;
		w = send(s->fd, buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			s->failed_at = now();
			break;
		}
		/* A message goes whole or not at all. */
		if (s->max_msg && (size_t)w != n) {
			s->err = EMSGSIZE;
			s->failed_at = now();
			break;
		}
		s->done += w;
		s->msgs++;
		s->last_io = now();
	}
	if (!buf)
		s->err = ENOMEM;
	free(buf);
	return NULL;
}

static void recv_stream(struct stream *s)
{
	unsigned char *buf = malloc(CHUNK), *scratch = malloc(CHUNK);

	s->last_io = now();
	while (buf && scratch && s->done < s->len) {
		size_t want = s->len - s->done < CHUNK ? s->len - s->done : CHUNK;
		struct iovec iov = { .iov_base = buf, .iov_len = CHUNK };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r;
		size_t ok;

		/*
		 * A message is read whole into a buffer larger than any
		 * message, so one longer than it should be shows as such.
		 */
		if (s->max_msg) {
			want = msg_len(s, s->msgs);
			r = recvmsg(s->fd, &mh, MSG_TRUNC);
		} else {
			r = recv(s->fd, buf, want, 0);
		}

		if (r < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			s->failed_at = now();
			break;
		}
		if (r == 0) {
			s->eof = 1;
			s->failed_at = now();
			break;
		}
		if (s->max_msg && (size_t)r != want) {
			s->got = r;
			s->want = want;
			s->bad = 1;
			break;
		}
		ok = pattern_check(s->seed, s->done, buf, r, scratch);
		s->done += ok;
		if (ok != (size_t)r) {
			s->bad = 1;
			break;
		}
		s->msgs++;
		s->last_io = now();
	}
	if (!buf || !scratch)
		s->err = ENOMEM;
	free(buf);
	free(scratch);
}

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
			return -ECONNRESET;
		done += n;
	}
	return 0;
}

/*
 * Judge one finished stream: the exit code it deserves, and if that is not
 * 0, why, in @why. The ms since the last successful I/O is what tells a
 * prompt reset from a peer that vanished and was only noticed much later.
 */
static int judge(const char *dir, struct stream *s, char *why, size_t len)
{
	if (s->bad && s->want) {
		snprintf(why, len, "%s: message %" PRIu64 " at offset %" PRIu64
			 " is %" PRIu64 " bytes, not %" PRIu64, dir, s->msgs,
			 s->done, s->got, s->want);
		return EXIT_DATA;
	}
	if (s->bad) {
		snprintf(why, len, "%s: data mismatch at offset %" PRIu64, dir,
			 s->done);
		return EXIT_DATA;
	}
	if (s->err == EAGAIN) {
		snprintf(why, len, "%s: stalled, nothing moved for %.0f s after %"
			 PRIu64 " of %" PRIu64 " bytes", dir, stall_s, s->done,
			 s->len);
		return EXIT_RESET;
	}
	if (s->err || s->eof) {
		snprintf(why, len, "%s: %s after %" PRIu64 " of %" PRIu64
			 " bytes, %.0f ms after the last I/O", dir,
			 s->eof ? "early EOF" : errname(s->err), s->done, s->len,
			 (s->failed_at - s->last_io) * 1000);
		return EXIT_RESET;
	}
	return EXIT_OK;
}

/*
 * vsock gives up on a connect after 2 s by default; TCP waits minutes. A
 * test of 64 simultaneous connects on a slow emulated host must not fail
 * on that policy, so clients wait like TCP would (-T to change).
 */
static double connect_timeout_s = 60;

static struct timeval timeval_of(double secs)
{
	struct timeval tv = {
		.tv_sec = (time_t)secs,
		.tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6),
	};

	return tv;
}

static void set_connect_timeout(int fd)
{
	struct timeval tv = timeval_of(connect_timeout_s);

	if (family == AF_VSOCK &&
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
		       sizeof(tv))) {
		printf("FAIL setsockopt connect timeout: %s (%s)\n",
		       errname(errno), strerror(errno));
		exit(EXIT_SOCKET);
	}
}

/*
 * A peer that vanishes without a reset (a guest that crashed, a TCP peer
 * behind a dead netfront) would leave a blocked send() or recv() to the
 * -t alarm, minutes later. No healthy stream sits still this long, so a
 * call that moves nothing for -S seconds ends the stream as "stalled".
 */
static void set_stall_timeout(int fd)
{
	struct timeval tv = timeval_of(stall_s);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		printf("FAIL setsockopt stall timeout: %s (%s)\n",
		       errname(errno), strerror(errno));
		exit(EXIT_SOCKET);
	}
}

static void set_ring(int fd)
{
	if (!ring || family != AF_VSOCK)
		return;
	/* The core clamps to the max silently, so raise the max first. */
	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &ring,
		       sizeof(ring)) ||
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &ring,
		       sizeof(ring))) {
		printf("FAIL setsockopt ring %" PRIu64 ": %s (%s)\n", ring,
		       errname(errno), strerror(errno));
		exit(EXIT_SOCKET);
	}
}

static int make_socket(void)
{
	int fd = socket(family, seqpacket ? SOCK_SEQPACKET : SOCK_STREAM, 0);

	if (fd < 0) {
		printf("FAIL socket: %s (%s)\n", errname(errno),
		       strerror(errno));
		exit(EXIT_SOCKET);
	}
	return fd;
}

/* ---- server ---- */

struct served {
	int fd;
	unsigned long id;
	int rc;
};

static void *serve_one(void *arg)
{
	struct served *sv = arg;
	struct header h;
	struct trailer t = { .magic = XFER_MAGIC };
	struct stream rx = { .fd = sv->fd }, tx = { .fd = sv->fd };
	char why[256] = "", why2[256] = "";
	pthread_t sender;
	int err, rc, rc2;

	err = full_io(sv->fd, &h, sizeof(h), 0);
	if (err || h.magic != XFER_MAGIC || h.version != XFER_VERSION) {
		/*
		 * Closing is the only answer: the client may be blocked
		 * sending, and a reset tells it sooner than any trailer.
		 */
		printf("FAIL conn=%lu: bad header (%s)\n", sv->id,
		       err ? errname(-err) :
		       h.magic != XFER_MAGIC ? "magic" : "version");
		sv->rc = err ? EXIT_RESET : EXIT_DATA;
		goto out;
	}
	if (!h.max_msg != !seqpacket || h.max_msg > CHUNK) {
		printf("FAIL conn=%lu: bad header (max_msg %u)\n", sv->id,
		       h.max_msg);
		sv->rc = EXIT_DATA;
		goto out;
	}
	rx.seed = h.seed;
	rx.len = h.to_server;
	tx.seed = ~h.seed;	/* the other direction is another stream */
	tx.len = h.to_client;
	rx.max_msg = h.max_msg;
	tx.max_msg = h.max_msg;
	if (pthread_create(&sender, NULL, send_stream, &tx)) {
		printf("FAIL conn=%lu: no thread for the sender\n", sv->id);
		sv->rc = EXIT_SOCKET;
		goto out;
	}
	recv_stream(&rx);
	pthread_join(sender, NULL);
	rc = judge("receive", &rx, why, sizeof(why));
	rc2 = judge("send", &tx, why2, sizeof(why2));
	t.status = rc ? rc : rc2;
	t.verified = rx.done;
	err = full_io(sv->fd, &t, sizeof(t), 1);
	if (t.status)
		printf("FAIL conn=%lu rx=%" PRIu64 " tx=%" PRIu64 " %s%s%s\n",
		       sv->id, rx.done, tx.done, why, *why && *why2 ? "; " : "",
		       why2);
	else if (err)
		printf("FAIL conn=%lu rx=%" PRIu64 " tx=%" PRIu64
		       " trailer: %s\n", sv->id, rx.done, tx.done,
		       errname(-err));
	else
		printf("OK conn=%lu rx=%" PRIu64 " tx=%" PRIu64 "\n", sv->id,
		       rx.done, tx.done);
	sv->rc = t.status ? (int)t.status : err ? EXIT_RESET : EXIT_OK;
	/*
	 * Let the client close first: if we closed with its last bytes or
	 * the trailer still in flight, it could see a reset, not a verdict.
	 */
	{
		char c;

		for (;;) {
			ssize_t n = recv(sv->fd, &c, 1, 0);

			if (n <= 0 && !(n < 0 && errno == EINTR))
				break;
		}
	}
	/* -H: a server slow to close, its socket in CLOSE_WAIT meanwhile. */
	if (hold_s > 0)
		usleep((useconds_t)(hold_s * 1e6));
out:
	close(sv->fd);
	return NULL;
}

static int server(int once)
{
	int lfd = make_socket(), one = 1;
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
	/* Accepted sockets inherit the listener's buffer size. */
	set_ring(lfd);
	if (bind(lfd, (struct sockaddr *)&a, alen) || listen(lfd, SOMAXCONN)) {
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
		set_stall_timeout(fd);
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
		/* Detached threads cannot be joined to free sv; leak-free
		 * enough for a test server that lives as long as its host. */
		pthread_detach(t);
	}
}

/* ---- client ---- */

struct conn {
	int id;
	uint64_t seed;
	uint64_t to_server, to_client;
	int rc;
	uint64_t moved;
	char why[320];		/* first failure, for the final line */
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

static int connect_to(struct conn *c)
{
	int fd = make_socket();
	union {
		struct sockaddr_vm vm;
		struct sockaddr_in in;
	} a;
	socklen_t alen;

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
	set_ring(fd);
	set_connect_timeout(fd);
	while (connect(fd, (struct sockaddr *)&a, alen)) {
		if (errno == EINTR)
			continue;
		conn_fail(c, EXIT_SOCKET, "connect: %s (%s)", errname(errno),
			  strerror(errno));
		close(fd);
		return -1;
	}
	set_stall_timeout(fd);
	return fd;
}

static void *client_one(void *arg)
{
	struct conn *c = arg;
	struct header h = {
		.magic = XFER_MAGIC, .version = XFER_VERSION, .seed = c->seed,
		.to_server = c->to_server, .to_client = c->to_client,
		.max_msg = seqpacket ? (uint32_t)write_size : 0,
	};
	struct trailer t;
	struct stream tx, rx;
	char why[256];
	pthread_t sender;
	double t_io;
	int fd, err, rc;

	fd = connect_to(c);
	if (fd < 0)
		return NULL;
	t_io = now();
	err = full_io(fd, &h, sizeof(h), 1);
	if (err) {
		conn_fail(c, EXIT_RESET, "header: %s, %.0f ms after connect",
			  errname(-err), (now() - t_io) * 1000);
		goto out;
	}
	tx = (struct stream){ .fd = fd, .seed = c->seed, .len = c->to_server,
			      .max_msg = h.max_msg };
	rx = (struct stream){ .fd = fd, .seed = ~c->seed, .len = c->to_client,
			      .max_msg = h.max_msg };
	if (pthread_create(&sender, NULL, send_stream, &tx)) {
		conn_fail(c, EXIT_SOCKET, "no thread for the sender");
		goto out;
	}
	recv_stream(&rx);
	pthread_join(sender, NULL);
	if (tx.fd < 0) {
		/* -Z: closed after sending; the server says what it got. */
		c->moved = tx.done;
		rc = judge("send", &tx, why, sizeof(why));
		if (rc)
			conn_fail(c, rc, "%s", why);
		return NULL;
	}
	c->moved = tx.done + rx.done;
	/* Corruption outranks a reset: it is what the test exists to find. */
	rc = judge("receive", &rx, why, sizeof(why));
	if (rc != EXIT_DATA) {
		char why2[256];
		int rc2 = judge("send", &tx, why2, sizeof(why2));

		if (!rc && rc2) {
			rc = rc2;
			memcpy(why, why2, sizeof(why));
		}
	}
	if (rc) {
		conn_fail(c, rc, "%s", why);
		goto out;
	}
	t_io = tx.last_io > rx.last_io ? tx.last_io : rx.last_io;
	err = full_io(fd, &t, sizeof(t), 0);
	if (err)
		conn_fail(c, EXIT_RESET, "trailer: %s, %.0f ms after the last I/O",
			  errname(-err), (now() - t_io) * 1000);
	else if (t.magic != XFER_MAGIC)
		conn_fail(c, EXIT_DATA, "trailer: bad magic %#x (extra bytes?)",
			  t.magic);
	else if (t.status || t.verified != c->to_server)
		conn_fail(c, t.status ? (int)t.status : EXIT_DATA,
			  "server verified %" PRIu64 " of %" PRIu64
			  " bytes (server status %u)", t.verified, c->to_server,
			  t.status);
out:
	close(fd);
	return NULL;
}

/* SIZE[K|M|G]; UINT64_MAX when it is not one. */
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

static void on_alarm(int sig)
{
	(void)sig;
	printf("FAIL timed out after %.0f s\n", timeout_s);
	fflush(stdout);
	_exit(EXIT_RESET);
}

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "yasmin-xfer: %s\n", why);
	fprintf(stderr,
		"usage: yasmin-xfer -s [-p PORT] [-f vsock|inet] [-1] [-B RING] [-q] [-H SECONDS]\n"
		"       yasmin-xfer -c CID|IP [-p PORT] -n SIZE [-r] [-d] [-P CONNS] [-q] [-z]\n"
		"                   [-B RING] [-f vsock|inet] [-t SECONDS]\n"
		"                   [-T CONNECT_SECONDS] [-S STALL_SECONDS] [-w WRITE]\n"
		"                   [-R BYTES_PER_SECOND]\n"
		"-q: SOCK_SEQPACKET, messages of 1..WRITE bytes (at most the peer's RING).\n"
		"-z: the client sends with MSG_ZEROCOPY and prints how its sends completed;\n"
		"    each buffer is overwritten as soon as its completion arrives.\n"
		"-Z: as -z, but close right after the last send, completions or not\n"
		"    (the server's log says whether every byte arrived).\n"
		"-H: the server keeps each connection open SECONDS after the client closed.\n"
		"SIZE, RING, WRITE and -R take K, M or G. Exit: 0 verified, 1 bad data,\n"
		"2 usage, 3 socket/option/connect error, 4 reset or early EOF.\n");
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		/* Flip one sent byte: proves the receiver's check catches it. */
		{ "corrupt-at", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *host = NULL;
	int srv = 0, once = 0, reverse = 0, both = 0, nconn = 1, opt, i, rc;
	int failed = 0, first = -1;
	uint64_t size = UINT64_MAX, moved = 0;
	struct conn *conns;
	pthread_t *threads;
	double t0, secs;
	long v;

	while ((opt = getopt_long(argc, argv, "sc:p:n:rdP:B:f:t:T:S:H:w:R:qzZ1h",
				  longopts, NULL)) != -1) {
		switch (opt) {
		case 's': srv = 1; break;
		case 'q': seqpacket = 1; break;
		case 'z': zerocopy = 1; break;
		case 'Z': zerocopy = 2; break;
		case 'c': host = optarg; break;
		case 'p':
			/* vsock ports are 32 bits; inet's are checked below */
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
		case 'P':
			v = parse_int(optarg, 1, 1024);
			if (v == LONG_MIN)
				usage("connections must be 1..1024");
			nconn = v;
			break;
		case 'B':
			ring = parse_size(optarg);
			if (ring == UINT64_MAX || !ring)
				usage("bad ring size");
			break;
		case 't': timeout_s = atof(optarg); break;
		case 'T': connect_timeout_s = atof(optarg); break;
		case 'H':
			hold_s = atof(optarg);
			if (hold_s < 0 || hold_s > 3600)
				usage("hold seconds must be 0..3600");
			break;
		case 'S':
			stall_s = atof(optarg);
			if (!(stall_s >= 1 && stall_s <= 86400))
				usage("stall seconds must be 1..86400");
			break;
		case 'w':
			write_size = parse_size(optarg);
			if (!write_size || write_size > CHUNK)
				usage("write size must be 1..256K");
			break;
		case 'R':
			pace_bps = parse_size(optarg);
			if (pace_bps == UINT64_MAX || !pace_bps)
				usage("bad rate");
			break;
		case '1': once = 1; break;
		case 'X':
			corrupt_at = parse_size(optarg);
			if (corrupt_at == UINT64_MAX)
				usage("bad --corrupt-at offset");
			break;
		case 'f':
			if (!strcmp(optarg, "vsock"))
				family = AF_VSOCK;
			else if (!strcmp(optarg, "inet"))
				family = AF_INET;
			else
				usage("family must be vsock or inet");
			break;
		case 'h':
			usage(NULL);
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
	if (seqpacket && family != AF_VSOCK)
		usage("-q needs -f vsock");
	signal(SIGPIPE, SIG_IGN);	/* a dead peer is EPIPE, reported */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (srv)
		return server(once);
	if (size == UINT64_MAX)
		usage("-n SIZE is required with -c");
	if (family == AF_VSOCK) {
		v = parse_int(host, 0, UINT32_MAX);
		if (v == LONG_MIN)
			usage("-c needs a CID with -f vsock");
		cid = v;
	} else if (inet_pton(AF_INET, host, &ip) != 1) {
		usage("-c needs an IPv4 address with -f inet");
	}

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
		/* Distinct seeds: a byte delivered to the wrong connection
		 * fails that connection's check. */
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
		/* Bad data outranks everything: 1 < 3 < 4. */
		if (!rc || conns[i].rc < rc) {
			rc = conns[i].rc;
			first = i;
		}
	}
	secs = now() - t0;
	if (rc)
		printf("FAIL conns=%d failed=%d exit=%d conn=%d %s\n", nconn,
		       failed, rc, first + 1, conns[first].why);
	else
		printf("OK conns=%d bytes=%" PRIu64 " secs=%.2f MBps=%.1f\n",
		       nconn, moved, secs, moved / secs / 1e6);
	return rc;
}
