// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-conntime [-n N] [-N] IP PORT: time TCP connects, as a shimmed
 * client sees them. Each connection reads one line from the server.
 *   -n N  N blocking connects in a row (default 1); one line each,
 *         "connect I: MS ms LINE", then "first=MS rest_max=MS rest_total=MS"
 *   -N    then one non-blocking connect: "nonblocking: returned in MS ms
 *         (RESULT), connected in MS ms, SO_ERROR=E" and "read: LINE"
 *         (with -N alone, no blocking connect is made)
 * Exit 0 when every connection worked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, 10000);
			continue;
		}
		if (r <= 0)
			break;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return n > 0 ? 0 : -1;
}

static int blocking(const struct sockaddr_in *sa, int n);

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int n = -1, nonblock = 0, opt, fd, r, err;
	double t0, t1;
	char line[256];

	while ((opt = getopt(argc, argv, "n:N")) != -1) {
		if (opt == 'n')
			n = atoi(optarg);
		else if (opt == 'N')
			nonblock = 1;
		else
			return 2;
	}
	if (optind + 2 != argc || inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
		return fprintf(stderr, "usage: yasmin-conntime [-n N] [-N] IP PORT\n"), 2;
	sa.sin_port = htons(atoi(argv[optind + 1]));
	if (n < 0)
		n = nonblock ? 0 : 1;
	if (n > 0 && blocking(&sa, n))
		return 1;
	if (nonblock) {
		struct pollfd p = { .events = POLLOUT };
		socklen_t l = sizeof(err);

		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		t0 = now_ms();
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		err = r ? errno : 0;
		t1 = now_ms();
		p.fd = fd;
		if (r && err != EINPROGRESS) {
			printf("nonblocking: returned in %.1f ms (%s)\n", t1 - t0, strerror(err));
			return 1;
		}
		poll(&p, 1, 30000);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
		printf("nonblocking: returned in %.1f ms (%s), connected in %.1f ms, SO_ERROR=%d\n",
		       t1 - t0, r ? "EINPROGRESS" : "0", now_ms() - t0, err);
		if (err || read_line(fd, line, sizeof(line)))
			return 1;
		printf("read: %s\n", line);
	}
	return 0;
}

static int blocking(const struct sockaddr_in *sa, int n)
{
	double t0, t1, first = 0, rest_max = 0, rest_total = 0;
	char line[256];
	int i, fd, r;

	for (i = 1; i <= n; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		t0 = now_ms();
		r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
		t1 = now_ms() - t0;
		if (r) {
			printf("connect %d: %.1f ms %s\n", i, t1, strerror(errno));
			return 1;
		}
		if (read_line(fd, line, sizeof(line))) {
			printf("connect %d: %.1f ms, nothing read\n", i, t1);
			return 1;
		}
		if (i == 1 || n <= 3)
			printf("connect %d: %.1f ms %s\n", i, t1, line);
		if (i == 1) {
			first = t1;
		} else {
			rest_total += t1;
			if (t1 > rest_max)
				rest_max = t1;
		}
		close(fd);
	}
	printf("first=%.0f rest_max=%.0f rest_total=%.0f\n", first, rest_max, rest_total);
	return 0;
}
