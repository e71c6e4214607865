// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-bench: one measuring tool for every path the benchmarks compare, so
 * that the only thing that differs between two numbers is the path.
 *
 *   yasmin-bench serve FAMILY ADDR PORT
 *   yasmin-bench lat   FAMILY ADDR PORT SIZE SECONDS [RING]
 *   yasmin-bench bw    FAMILY ADDR PORT SIZE SECONDS [RING] [STREAMS]
 *   yasmin-bench bwzc  FAMILY ADDR PORT SIZE SECONDS [RING] [STREAMS]
 *   yasmin-bench conn  FAMILY ADDR PORT SECONDS
 *   yasmin-bench memcpy SIZE SECONDS
 *
 * FAMILY is vsock (ADDR = CID), inet (ADDR = IPv4) or unix (ADDR = socket
 * path, PORT ignored). RING sets SO_VM_SOCKETS_BUFFER_SIZE on vsock and
 * SO_SNDBUF/SO_RCVBUF elsewhere (0 = default). Each client run prints one
 * line "metric=value" with value in microseconds (lat: half a round trip),
 * MB/s (bw, memcpy; MB = 10^6 bytes) or connections per second (conn);
 * bw, bwzc and memcpy print "bytes=N" (bytes moved) before it. bwzc is bw
 * with MSG_ZEROCOPY sends (SO_ZEROCOPY; a few page-aligned buffers, each
 * reused once its completion has come) and also prints how the sends
 * completed: "zerocopied=N copied=N".
 *
 * Every request starts with a header naming the mode and message size, so
 * one server serves all modes. Streams are counted by bytes the server
 * acknowledges having received, not bytes the client queued.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <poll.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum mode { M_LAT = 1, M_BW = 2, M_CONN = 3 };

struct hdr {
	uint32_t mode;
	uint32_t size;
};

static int family;
static const char *addr;
static unsigned int port;
static unsigned long long ring;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "yasmin-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int parse_family(const char *f)
{
	if (!strcmp(f, "vsock"))
		return AF_VSOCK;
	if (!strcmp(f, "inet"))
		return AF_INET;
	if (!strcmp(f, "unix"))
		return AF_UNIX;
	fprintf(stderr, "yasmin-bench: family must be vsock, inet or unix\n");
	exit(2);
}

static socklen_t make_addr(struct sockaddr_storage *ss, int listening)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_VSOCK) {
		struct sockaddr_vm *vm = (void *)ss;

		vm->svm_family = AF_VSOCK;
		vm->svm_cid = listening ? VMADDR_CID_ANY : strtoul(addr, NULL, 0);
		vm->svm_port = port;
		return sizeof(*vm);
	}
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		if (listening)
			in->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
			errno = EINVAL, die("bad IPv4 address");
		return sizeof(*in);
	}
	{
		struct sockaddr_un *un = (void *)ss;

		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", addr);
		return sizeof(*un);
	}
}

static void tune(int s)
{
	int one = 1;

	if (family == AF_INET)
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!ring)
		return;
	if (family == AF_VSOCK) {
		if (setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE,
			       &ring, sizeof(ring)) ||
		    setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE,
			       &ring, sizeof(ring)))
			die("SO_VM_SOCKETS_BUFFER_SIZE");
	} else {
		int b = ring;

		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &b, sizeof(b));
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &b, sizeof(b));
	}
}

static int dial(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, 0);
	int s = socket(family, SOCK_STREAM, 0);

	if (s < 0)
		die("socket");
	tune(s);
	if (connect(s, (void *)&ss, len))
		die("connect");
	return s;
}

static void xfer(int s, void *buf, size_t len, int sending)
{
	char *p = buf;

	while (len) {
		ssize_t n = sending ? send(s, p, len, MSG_NOSIGNAL) :
				      recv(s, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			die(sending ? "send" : "recv");
		}
		p += n;
		len -= n;
	}
}

static void *serve_conn(void *arg)
{
	int s = (int)(long)arg;
	struct hdr h;
	char *buf;

	if (recv(s, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
	    h.size == 0 || h.size > (64u << 20)) {
		close(s);
		return NULL;
	}
	buf = malloc(h.size);
	if (!buf) {
		close(s);
		return NULL;
	}
	if (h.mode == M_LAT) {
		/* Echo each message back whole. */
		for (;;) {
			ssize_t got = recv(s, buf, h.size, MSG_WAITALL);

			if (got != (ssize_t)h.size)
				break;
			if (send(s, buf, h.size, MSG_NOSIGNAL) != (ssize_t)h.size)
				break;
		}
	} else if (h.mode == M_BW) {
		/* Sink; on EOF report the byte count back. */
		uint64_t total = 0;
		ssize_t n;

		while ((n = recv(s, buf, h.size, 0)) > 0)
			total += n;
		send(s, &total, sizeof(total), MSG_NOSIGNAL);
	}
	free(buf);
	close(s);
	return NULL;
}

static __attribute__((noreturn)) void serve(void)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, 1);
	int l = socket(family, SOCK_STREAM, 0), one = 1;

	if (l < 0)
		die("socket");
	if (family == AF_UNIX)
		unlink(addr);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/*
	 * A yasmin listener bounds the rings its clients get: take the
	 * largest, so that each client's RING is what is measured.
	 */
	if (family == AF_VSOCK && !ring)
		ring = 2u << 20;
	tune(l);
	if (bind(l, (void *)&ss, len) || listen(l, 128))
		die("bind/listen");
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		pthread_t t;
		int c = accept(l, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if (pthread_create(&t, NULL, serve_conn, (void *)(long)c))
			close(c);
		else
			pthread_detach(t);
	}
}

static void lat(unsigned int size, double secs)
{
	struct hdr h = { M_LAT, size };
	char *buf = calloc(1, size);
	int s = dial();
	unsigned long n = 0;
	double t0, t;

	xfer(s, &h, sizeof(h), 1);
	/* One warm-up round trip, then as many as fit in the time. */
	xfer(s, buf, size, 1);
	xfer(s, buf, size, 0);
	t0 = now();
	do {
		xfer(s, buf, size, 1);
		xfer(s, buf, size, 0);
		n++;
		t = now();
	} while (t - t0 < secs);
	printf("lat_us=%.3f\n", (t - t0) / n / 2 * 1e6);
	close(s);
	free(buf);
}

struct stream {
	unsigned int size;
	double secs;
	uint64_t acked;
	double elapsed;
};

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif
#define ZC_BUFS		4

static int zerocopy;			/* bwzc */
static unsigned long long zc_done, zc_copied;
static pthread_mutex_t zc_lock = PTHREAD_MUTEX_INITIALIZER;

#define ZC_IDS		1024

/*
 * Wait (poll for POLLERR) until MSG_ZEROCOPY send @id has completed,
 * counting how each completion came; they may come out of order.
 */
static void zc_wait(int s, unsigned char *done, uint32_t id)
{
	char control[128];

	while (!done[id % ZC_IDS]) {
		struct msghdr m = { .msg_control = control,
				    .msg_controllen = sizeof(control) };
		struct pollfd p = { .fd = s };
		struct sock_extended_err *e;
		struct cmsghdr *cm;

		if (recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				die("recvmsg(MSG_ERRQUEUE)");
			poll(&p, 1, 1000);
			continue;
		}
		cm = CMSG_FIRSTHDR(&m);
		if (!cm)
			continue;
		e = (struct sock_extended_err *)CMSG_DATA(cm);
		if (e->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
			continue;
		pthread_mutex_lock(&zc_lock);
		if (e->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
			zc_copied += e->ee_data - e->ee_info + 1;
		else
			zc_done += e->ee_data - e->ee_info + 1;
		pthread_mutex_unlock(&zc_lock);
		for (uint32_t i = e->ee_info; i != e->ee_data + 1; i++)
			done[i % ZC_IDS] = 1;
	}
}

/*
 * Iterations between clock reads: one per MiB moved, at most 64 (a run
 * of small sends must still end near its time). On Xen PV a clock read is
 * a system call (no vDSO clock); read once per 64 KiB send it took 5 % of
 * a yasmin sender's time, and 13 % of the memcpy loop's.
 */
static unsigned int clock_every(unsigned int size)
{
	unsigned int n = size ? (1u << 20) / size : 64;

	return n < 1 ? 1 : n > 64 ? 64 : n;
}

static void *bw_stream(void *arg)
{
	struct stream *st = arg;
	struct hdr h = { M_BW, st->size };
	char *buf = malloc(st->size);
	unsigned int every = clock_every(st->size);
	int s = dial();
	double t0;

	memset(buf, 0x5a, st->size);
	xfer(s, &h, sizeof(h), 1);
	t0 = now();
	if (zerocopy) {
		static __thread unsigned char done[ZC_IDS];
		char *zbuf[ZC_BUFS];
		uint32_t sent = 0;
		int one = 1;

		if (setsockopt(s, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
			die("SO_ZEROCOPY");
		for (int i = 0; i < ZC_BUFS; i++) {
			if (posix_memalign((void **)&zbuf[i], 4096, st->size))
				die("posix_memalign");
			memset(zbuf[i], 0x5a, st->size);
		}
		do {
			/* a buffer is reused only once its send completed */
			if (sent >= ZC_BUFS)
				zc_wait(s, done, sent - ZC_BUFS);
			done[sent % ZC_IDS] = 0;
			if (send(s, zbuf[sent % ZC_BUFS], st->size,
				 MSG_NOSIGNAL | MSG_ZEROCOPY) != (ssize_t)st->size)
				die("send(MSG_ZEROCOPY)");
			sent++;
		} while (sent % every || now() - t0 < st->secs);
		for (uint32_t i = sent >= ZC_BUFS ? sent - ZC_BUFS : 0; i < sent; i++)
			zc_wait(s, done, i);
		for (int i = 0; i < ZC_BUFS; i++)
			free(zbuf[i]);
	} else {
		unsigned long n = 0;

		do {
			xfer(s, buf, st->size, 1);
		} while (++n % every || now() - t0 < st->secs);
	}
	shutdown(s, SHUT_WR);
	xfer(s, &st->acked, sizeof(st->acked), 0);
	st->elapsed = now() - t0;
	close(s);
	free(buf);
	return NULL;
}

static void bw(unsigned int size, double secs, int streams)
{
	pthread_t t[64];
	struct stream st[64];
	double mbps = 0;

	if (streams < 1 || streams > 64)
		streams = 1;
	for (int i = 0; i < streams; i++) {
		st[i] = (struct stream){ .size = size, .secs = secs };
		if (pthread_create(&t[i], NULL, bw_stream, &st[i]))
			die("pthread_create");
	}
	uint64_t bytes = 0;

	for (int i = 0; i < streams; i++) {
		pthread_join(t[i], NULL);
		mbps += st[i].acked / st[i].elapsed / 1e6;
		bytes += st[i].acked;
	}
	if (zerocopy)
		printf("zerocopied=%llu copied=%llu\n", zc_done, zc_copied);
	printf("bytes=%llu\n", (unsigned long long)bytes);
	printf("bw_MBps=%.2f\n", mbps);
}

static void conn(double secs)
{
	struct hdr h = { M_CONN, 1 };
	unsigned long n = 0;
	double t0 = now(), t;

	do {
		int s = dial();

		xfer(s, &h, sizeof(h), 1);
		close(s);
		n++;
		t = now();
	} while (t - t0 < secs);
	printf("conn_per_s=%.1f\n", n / (t - t0));
}

static void mcpy(unsigned int size, double secs)
{
	char *a = malloc(size), *b = malloc(size);
	unsigned long n = 0;
	unsigned int every = clock_every(size);
	double t0, t;

	if (!a || !b)
		die("malloc");
	memset(a, 1, size);
	memset(b, 2, size);
	t0 = now();
	t = t0;
	do {
		memcpy(b, a, size);
		/* Keep the copy from being optimised away. */
		__asm__ volatile("" : : "r"(b) : "memory");
		if (++n % every)
			continue;
		t = now();
	} while (t - t0 < secs);
	printf("bytes=%llu\n", (unsigned long long)size * n);
	printf("bw_MBps=%.2f\n", (double)size * n / (t - t0) / 1e6);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "memcpy") && argc == 4) {
		mcpy(strtoul(argv[2], NULL, 0), atof(argv[3]));
		return 0;
	}
	if (argc < 5)
		goto usage;
	family = parse_family(argv[2]);
	addr = argv[3];
	port = strtoul(argv[4], NULL, 0);
	if (!strcmp(cmd, "serve") && argc == 5)
		serve();
	if (!strcmp(cmd, "lat") && (argc == 7 || argc == 8)) {
		ring = argc == 8 ? strtoull(argv[7], NULL, 0) : 0;
		lat(strtoul(argv[5], NULL, 0), atof(argv[6]));
		return 0;
	}
	if (!strcmp(cmd, "bwzc"))
		zerocopy = 1;
	if ((!strcmp(cmd, "bw") || zerocopy) && argc >= 7 && argc <= 9) {
		ring = argc >= 8 ? strtoull(argv[7], NULL, 0) : 0;
		bw(strtoul(argv[5], NULL, 0), atof(argv[6]),
		   argc == 9 ? atoi(argv[8]) : 1);
		return 0;
	}
	if (!strcmp(cmd, "conn") && argc == 6) {
		conn(atof(argv[5]));
		return 0;
	}
usage:
	fprintf(stderr,
		"usage: yasmin-bench serve FAMILY ADDR PORT\n"
		"       yasmin-bench lat FAMILY ADDR PORT SIZE SECONDS [RING]\n"
		"       yasmin-bench bw FAMILY ADDR PORT SIZE SECONDS [RING] [STREAMS]\n"
		"       yasmin-bench bwzc FAMILY ADDR PORT SIZE SECONDS [RING] [STREAMS]\n"
		"       yasmin-bench conn FAMILY ADDR PORT SECONDS\n"
		"       yasmin-bench memcpy SIZE SECONDS\n");
	return 2;
}
