// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-xfer: move bytes over a stream socket and verify every one.
 *
 *   yasmin-xfer -s [-p PORT] [-f vsock|inet] [-1] [-B RING]
 *   yasmin-xfer -c CID|IP [-p PORT] -n SIZE [-r] [-d] [-P CONNS]
 *               [-B RING] [-f vsock|inet] [-t SECONDS] [-w WRITE]
 *               [-T CONNECT_SECONDS]
 *
 * The client opens CONNS connections; each sends a header naming a seed
 * and how many bytes go each way, then both ends stream pattern.h bytes
 * and check what they receive, concurrently in both directions. The server
 * ends each connection with a trailer saying how many bytes it verified,
 * so the client's exit status is the verdict on the whole transfer:
 *
 *   0 every byte verified both ways     1 data lost, corrupted or extra
 *   2 usage                             3 socket, option or connect error
 *   4 reset or early end of stream (errno name and ms since the last I/O)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "pattern.h"

#define XFER_MAGIC	0x59584631u	/* "YXF1" */
#define CHUNK		(256 * 1024)

enum { EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_SOCKET, EXIT_RESET };

struct header {
	uint32_t magic;
	uint32_t version;
	uint64_t seed;
	uint64_t to_server;
	uint64_t to_client;
};

struct trailer {
	uint32_t magic;
	uint32_t status;
	uint64_t verified;
};

static int family = AF_VSOCK;
static unsigned int port = 5000;
static uint64_t ring;
static uint64_t corrupt_at = UINT64_MAX;	/* --corrupt-at: test the test */
static double timeout_s = 600;
static size_t write_size = CHUNK;		/* -w: bytes per send() */

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
	double last_io;
	int err;		/* errno of the failure, 0 if none */
	int bad;		/* verification failed at offset done */
	int eof;		/* stream ended early */
};

static void *send_stream(void *arg)
{
	struct stream *s = arg;
	unsigned char *buf = malloc(CHUNK);

	s->last_io = now();
	while (buf && s->done < s->len) {
		size_t n = s->len - s->done < write_size ? s->len - s->done :
			   write_size;
		ssize_t w;

		pattern_fill(s->seed, s->done, buf, n);
		if (corrupt_at >= s->done && corrupt_at < s->done + n)
			buf[corrupt_at - s->done] ^= 0x40;
		w = send(s->fd, buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			break;
		}
		s->done += w;
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
		ssize_t r = recv(s->fd, buf, want, 0);
		size_t ok;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			break;
		}
		if (r == 0) {
			s->eof = 1;
			break;
		}
		ok = pattern_check(s->seed, s->done, buf, r, scratch);
		s->done += ok;
		if (ok != (size_t)r) {
			s->bad = 1;
			break;
		}
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

/* Report a failed stream; returns the exit code it deserves. */
static int report(const char *who, const char *dir, struct stream *s)
{
	if (s->bad) {
		printf("FAIL %s %s: data mismatch at offset %" PRIu64 "\n", who,
		       dir, s->done);
		return EXIT_DATA;
	}
	if (s->err || s->eof) {
		printf("FAIL %s %s: %s after %" PRIu64 " of %" PRIu64
		       " bytes, %.0f ms after the last I/O\n", who, dir,
		       s->eof ? "early EOF" : errname(s->err), s->done, s->len,
		       (now() - s->last_io) * 1000);
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

static void set_connect_timeout(int fd)
{
	struct timeval tv = {
		.tv_sec = (time_t)connect_timeout_s,
		.tv_usec = (suseconds_t)((connect_timeout_s -
					 (time_t)connect_timeout_s) * 1e6),
	};

	if (family == AF_VSOCK &&
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
		       sizeof(tv))) {
		printf("FAIL setsockopt connect timeout: %s\n", errname(errno));
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
		printf("FAIL setsockopt ring %" PRIu64 ": %s\n", ring,
		       errname(errno));
		exit(EXIT_SOCKET);
	}
}

static int make_socket(void)
{
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0) {
		printf("FAIL socket: %s\n", errname(errno));
		exit(EXIT_SOCKET);
	}
	return fd;
}

/* ---- server ---- */

struct served {
	int fd;
	unsigned long id;
};

static void *serve_one(void *arg)
{
	struct served *sv = arg;
	struct header h;
	struct trailer t = { .magic = XFER_MAGIC };
	struct stream rx = { .fd = sv->fd }, tx = { .fd = sv->fd };
	pthread_t sender;
	int err, rc, rc2;

	err = full_io(sv->fd, &h, sizeof(h), 0);
	if (err || h.magic != XFER_MAGIC) {
		printf("FAIL conn=%lu: bad header (%s)\n", sv->id,
		       err ? errname(-err) : "magic");
		goto out;
	}
	rx.seed = h.seed;
	rx.len = h.to_server;
	tx.seed = ~h.seed;
	tx.len = h.to_client;
	pthread_create(&sender, NULL, send_stream, &tx);
	recv_stream(&rx);
	pthread_join(sender, NULL);
	rc = report("server", "receive", &rx);
	rc2 = report("server", "send", &tx);
	t.status = rc ? rc : rc2;
	t.verified = rx.done;
	full_io(sv->fd, &t, sizeof(t), 1);
	if (!t.status)
		printf("OK conn=%lu rx=%" PRIu64 " tx=%" PRIu64 "\n", sv->id,
		       rx.done, tx.done);
	/* Wait for the client to close first: our close must not reset. */
	{
		char c;

		while (recv(sv->fd, &c, 1, 0) > 0)
			;
	}
out:
	fflush(stdout);
	close(sv->fd);
	free(sv);
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
	set_ring(lfd);
	if (bind(lfd, (struct sockaddr *)&a, alen) || listen(lfd, 128)) {
		printf("FAIL bind/listen port %u: %s\n", port, errname(errno));
		return EXIT_SOCKET;
	}
	printf("listening on port %u\n", port);
	fflush(stdout);
	for (;;) {
		struct served *sv;
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			printf("FAIL accept: %s\n", errname(errno));
			return EXIT_SOCKET;
		}
		sv = malloc(sizeof(*sv));
		if (!sv) {
			close(fd);
			continue;
		}
		sv->fd = fd;
		sv->id = ++id;
		if (once) {
			serve_one(sv);
			return EXIT_OK;
		}
		pthread_create(&t, NULL, serve_one, sv);
		pthread_detach(t);
	}
}

/* ---- client ---- */

struct conn {
	const char *host;
	uint64_t seed;
	uint64_t to_server, to_client;
	int rc;
	uint64_t moved;
};

static int connect_to(const char *host)
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
		a.vm.svm_cid = strtoul(host, NULL, 0);
		a.vm.svm_port = port;
		alen = sizeof(a.vm);
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		if (inet_pton(AF_INET, host, &a.in.sin_addr) != 1) {
			printf("FAIL bad IPv4 address '%s'\n", host);
			exit(EXIT_USAGE);
		}
		alen = sizeof(a.in);
	}
	set_ring(fd);
	set_connect_timeout(fd);
	while (connect(fd, (struct sockaddr *)&a, alen)) {
		if (errno == EINTR)
			continue;
		printf("FAIL connect: %s (%s)\n", errname(errno),
		       strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void *client_one(void *arg)
{
	struct conn *c = arg;
	struct header h = {
		.magic = XFER_MAGIC, .version = 1, .seed = c->seed,
		.to_server = c->to_server, .to_client = c->to_client,
	};
	struct trailer t;
	struct stream tx, rx;
	pthread_t sender;
	int fd, err, rc;

	fd = connect_to(c->host);
	if (fd < 0) {
		c->rc = EXIT_SOCKET;
		return NULL;
	}
	err = full_io(fd, &h, sizeof(h), 1);
	if (err) {
		printf("FAIL header: %s\n", errname(-err));
		c->rc = EXIT_RESET;
		goto out;
	}
	tx = (struct stream){ .fd = fd, .seed = c->seed, .len = c->to_server };
	rx = (struct stream){ .fd = fd, .seed = ~c->seed, .len = c->to_client };
	pthread_create(&sender, NULL, send_stream, &tx);
	recv_stream(&rx);
	pthread_join(sender, NULL);
	c->moved = tx.done + rx.done;
	rc = report("client", "send", &tx);
	if (!rc)
		rc = report("client", "receive", &rx);
	if (rc) {
		c->rc = rc;
		goto out;
	}
	err = full_io(fd, &t, sizeof(t), 0);
	if (err) {
		printf("FAIL trailer: %s\n", errname(-err));
		c->rc = EXIT_RESET;
	} else if (t.magic != XFER_MAGIC || t.status ||
		   t.verified != c->to_server) {
		printf("FAIL server verified %" PRIu64 " of %" PRIu64
		       " bytes (status %u)\n", t.verified, c->to_server,
		       t.status);
		c->rc = t.status ? (int)t.status : EXIT_DATA;
	}
out:
	close(fd);
	return NULL;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	case '\0': break;
	default: return UINT64_MAX;
	}
	return v < 0 ? UINT64_MAX : (uint64_t)v;
}

static void on_alarm(int sig)
{
	(void)sig;
	printf("FAIL timed out after %.0f s\n", timeout_s);
	fflush(stdout);
	_exit(EXIT_RESET);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: yasmin-xfer -s [-p PORT] [-f vsock|inet] [-1] [-B RING]\n"
		"       yasmin-xfer -c CID|IP [-p PORT] -n SIZE [-r] [-d] [-P CONNS]\n"
		"                   [-B RING] [-f vsock|inet] [-t SECONDS] [-T CONNECT_SECONDS] [-w WRITE]\n");
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "corrupt-at", required_argument, NULL, 'X' },
		{ 0 }
	};
	const char *host = NULL;
	int srv = 0, once = 0, reverse = 0, both = 0, nconn = 1, opt, i, rc;
	uint64_t size = UINT64_MAX, moved = 0;
	struct conn *conns;
	pthread_t *threads;
	double t0, secs;

	while ((opt = getopt_long(argc, argv, "sc:p:n:rdP:B:f:t:T:w:1", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 's': srv = 1; break;
		case 'c': host = optarg; break;
		case 'p': port = strtoul(optarg, NULL, 0); break;
		case 'n': size = parse_size(optarg); break;
		case 'r': reverse = 1; break;
		case 'd': both = 1; break;
		case 'P': nconn = atoi(optarg); break;
		case 'B': ring = parse_size(optarg); break;
		case 't': timeout_s = atof(optarg); break;
		case 'T': connect_timeout_s = atof(optarg); break;
		case 'w': write_size = parse_size(optarg); break;
		case '1': once = 1; break;
		case 'X': corrupt_at = parse_size(optarg); break;
		case 'f':
			if (!strcmp(optarg, "vsock"))
				family = AF_VSOCK;
			else if (!strcmp(optarg, "inet"))
				family = AF_INET;
			else
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc || srv == !!host || nconn < 1 || nconn > 1024 ||
	    ring == UINT64_MAX || !write_size || write_size > CHUNK)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (srv)
		return server(once);
	if (size == UINT64_MAX)
		usage();

	signal(SIGALRM, on_alarm);
	alarm((unsigned int)timeout_s);
	conns = calloc(nconn, sizeof(*conns));
	threads = calloc(nconn, sizeof(*threads));
	if (!conns || !threads)
		return EXIT_SOCKET;
	srand(time(NULL) ^ getpid());
	t0 = now();
	for (i = 0; i < nconn; i++) {
		conns[i].host = host;
		conns[i].seed = ((uint64_t)rand() << 32) ^ rand() ^ i;
		conns[i].to_server = (!reverse || both) ? size : 0;
		conns[i].to_client = (reverse || both) ? size : 0;
		pthread_create(&threads[i], NULL, client_one, &conns[i]);
	}
	rc = EXIT_OK;
	for (i = 0; i < nconn; i++) {
		pthread_join(threads[i], NULL);
		moved += conns[i].moved;
		if (conns[i].rc && (!rc || conns[i].rc < rc))
			rc = conns[i].rc;
	}
	secs = now() - t0;
	if (rc)
		printf("FAIL conns=%d exit=%d\n", nconn, rc);
	else
		printf("OK conns=%d bytes=%" PRIu64 " secs=%.2f MBps=%.1f\n",
		       nconn, moved, secs, moved / secs / 1e6);
	return rc;
}
