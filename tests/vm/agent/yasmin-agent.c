// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-agent: the harness's command channel between dom0 and the guests,
 * carried over the netfront bridge (never over yasmin itself, so a broken
 * module cannot take the harness down with it).
 *
 *   yasmin-agent serve PORT
 *   yasmin-agent exec HOST PORT TIMEOUT_S COMMAND
 *
 * Request:  "YAG1" u32 timeout_s, u32 len, len bytes of sh -c command.
 *           Then the client's stdin is streamed as frames (see below) and a
 *           zero-length stdin frame marks EOF.
 * Response: frames of { u8 kind, u32 len, data } with kind 1 = stdout,
 *           2 = stderr, 3 = exit status (len 4, u32), 5 = alive (len 0,
 *           sent whenever the server has said nothing for ALIVE_EVERY_S).
 *           All integers are big-endian.
 *
 * The server runs the command in its own process group and kills the whole
 * group when the timeout expires, reporting status 124, so no scenario step
 * can wait forever. The client has its own deadline (timeout + 30 s), and
 * gives up much sooner when the guest stops sending alive frames: a guest
 * that died (or rebooted under a new domid) leaves a connection that never
 * closes, and a scenario should learn that in seconds, not at its timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { F_STDOUT = 1, F_STDERR = 2, F_EXIT = 3, F_STDIN = 4, F_ALIVE = 5 };

/* A live guest answers at least this often... */
#define ALIVE_EVERY_S 2
/* ...so this much silence means it is gone (generous for a loaded TCG host). */
#define SILENT_DEAD_S 45

/* Move exactly @len bytes, retrying short transfers; -1 on EOF or error. */
static int io_all(int fd, void *buf, size_t len, int writing)
{
	char *p = buf;

	while (len) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	return io_all(fd, (void *)buf, len, 1);
}

static int read_all(int fd, void *buf, size_t len)
{
	return io_all(fd, buf, len, 0);
}

static int send_frame(int fd, uint8_t kind, const void *data, uint32_t len)
{
	unsigned char hdr[5];
	uint32_t be = htonl(len);

	hdr[0] = kind;
	memcpy(hdr + 1, &be, 4);
	if (write_all(fd, hdr, 5))
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one request on connection @c; never returns. */
static void serve_one(int c)
{
	char magic[4];
	uint32_t timeout, len;
	int out[2], err[2], in[2], status = 0, open_fds = 2, in_open = 1;
	int reaped = 0;
	char *cmd, buf[65536];
	double deadline, drain_until = 0, last_sent;
	pid_t pid;

	if (read_all(c, magic, 4) || memcmp(magic, "YAG1", 4) ||
	    read_all(c, &timeout, 4) || read_all(c, &len, 4))
		_exit(1);
	timeout = ntohl(timeout);
	len = ntohl(len);
	if (len > (1u << 20))
		_exit(1);
	cmd = calloc(1, len + 1);
	if (!cmd || read_all(c, cmd, len))
		_exit(1);
	if (pipe(out) || pipe(err) || pipe(in))
		_exit(1);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[1]);
		close(out[0]);
		close(err[0]);
		close(c);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	signal(SIGPIPE, SIG_IGN);
	deadline = now() + timeout;
	last_sent = now();
	while (open_fds) {
		struct pollfd p[3] = {
			{ .fd = out[0], .events = POLLIN },
			{ .fd = err[0], .events = POLLIN },
			{ .fd = in_open ? c : -1, .events = POLLIN },
		};
		int left = (int)((deadline - now()) * 1000), ready;

		/*
		 * The command is done when sh exits, even if something it
		 * started in the background (a daemon) still holds the output
		 * pipes: drain what is buffered for a moment, then answer.
		 */
		if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
			reaped = 1;
			drain_until = now() + 0.3;
		}
		if (reaped && now() > drain_until)
			break;
		if (now() - last_sent >= ALIVE_EVERY_S) {
			send_frame(c, F_ALIVE, NULL, 0);
			last_sent = now();
		}
		ready = poll(p, 3, left > 200 ? 200 : left);
		if (left <= 0 || (ready == 0 && now() >= deadline)) {
			char msg[96];
			int n = snprintf(msg, sizeof(msg),
					 "yasmin-agent: timed out after %u s, killed\n",
					 timeout);

			kill(-pid, SIGKILL);
			send_frame(c, F_STDERR, msg, n);
			waitpid(pid, NULL, 0);
			status = 124;
			goto done;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0) {
				if (send_frame(c, i ? F_STDERR : F_STDOUT, buf, n))
					kill(-pid, SIGKILL);
				last_sent = now();
			} else if (n == 0 || errno != EINTR) {
				close(p[i].fd);
				if (i)
					err[0] = -1;
				else
					out[0] = -1;
				open_fds--;
			}
		}
		if (p[2].revents) {
			unsigned char hdr[5];
			uint32_t flen;

			if (read_all(c, hdr, 5) || hdr[0] != F_STDIN) {
				/* Client gone: nobody will read the result. */
				kill(-pid, SIGKILL);
				in_open = 0;
				close(in[1]);
				continue;
			}
			memcpy(&flen, hdr + 1, 4);
			flen = ntohl(flen);
			if (flen == 0 || flen > sizeof(buf) || read_all(c, buf, flen)) {
				in_open = 0;
				close(in[1]);
				continue;
			}
			write_all(in[1], buf, flen);
		}
	}
	if (!reaped && waitpid(pid, &status, 0) < 0)
		status = 255;
	else if (WIFEXITED(status))
		status = WEXITSTATUS(status);
	else
		status = 128 + WTERMSIG(status);
done:
	{
		uint32_t be = htonl(status);

		send_frame(c, F_EXIT, &be, 4);
	}
	_exit(0);
}

static int serve(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_port = htons(atoi(port));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (void *)&a, sizeof(a)) || listen(s, 64)) {
		perror("yasmin-agent: listen");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(s);
			signal(SIGCHLD, SIG_DFL);
			serve_one(c);
		}
		close(c);
	}
}

static int client_connect(const char *host, const char *port, double deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

	if (getaddrinfo(host, port, &hints, &ai)) {
		fprintf(stderr, "yasmin-agent: cannot resolve %s\n", host);
		return -1;
	}
	/*
	 * The guest may still be booting: retry until the deadline. Each
	 * try waits for the deadline at most, not for TCP's own SYN retries
	 * (two minutes): a paused or hung guest answers no SYN at all.
	 */
	do {
		int s = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int err = 0, left = (int)((deadline - now()) * 1000);
		socklen_t el = sizeof(err);
		struct pollfd p = { .fd = s, .events = POLLOUT };

		if (s >= 0 && (connect(s, ai->ai_addr, ai->ai_addrlen) == 0 ||
			       (errno == EINPROGRESS &&
				poll(&p, 1, left > 0 ? left : 0) == 1 &&
				!getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) &&
				!err)) &&
		    fcntl(s, F_SETFL, 0) == 0) {
			freeaddrinfo(ai);
			return s;
		}
		if (s >= 0)
			close(s);
		usleep(200000);
	} while (now() < deadline);
	freeaddrinfo(ai);
	fprintf(stderr, "yasmin-agent: cannot reach %s:%s\n", host, port);
	return -1;
}

static int client(const char *host, const char *port, const char *tmo,
		  const char *cmd)
{
	uint32_t timeout = atoi(tmo), be;
	double deadline = now() + timeout + 30, heard;
	int s = client_connect(host, port, now() + 10), stdin_open = 1;
	char buf[65536];

	if (s < 0)
		return 255;
	signal(SIGPIPE, SIG_IGN);
	be = htonl(timeout);
	if (write_all(s, "YAG1", 4) || write_all(s, &be, 4))
		return 255;
	be = htonl(strlen(cmd));
	if (write_all(s, &be, 4) || write_all(s, cmd, strlen(cmd)))
		return 255;
	heard = now();
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s, .events = POLLIN },
			{ .fd = stdin_open ? 0 : -1, .events = POLLIN },
		};
		int left = (int)((deadline - now()) * 1000);
		unsigned char hdr[5];
		uint32_t len;

		if (left <= 0 || (poll(p, 2, left > 1000 ? 1000 : left) == 0 &&
				  now() >= deadline)) {
			fprintf(stderr, "yasmin-agent: no answer from %s within %u s\n",
				host, timeout + 30);
			return 124;
		}
		if (now() - heard > SILENT_DEAD_S) {
			fprintf(stderr, "yasmin-agent: %s silent for %d s: the guest died or rebooted\n",
				host, SILENT_DEAD_S);
			return 125;
		}
		if (p[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n <= 0) {
				stdin_open = 0;
				n = 0;
			}
			send_frame(s, F_STDIN, buf, n);
		}
		if (!p[0].revents)
			continue;
		if (read_all(s, hdr, 5)) {
			fprintf(stderr, "yasmin-agent: connection to %s lost\n", host);
			return 255;
		}
		memcpy(&len, hdr + 1, 4);
		len = ntohl(len);
		if (len > sizeof(buf) || read_all(s, buf, len))
			return 255;
		heard = now();
		if (hdr[0] == F_ALIVE)
			continue;
		if (hdr[0] == F_EXIT && len == 4) {
			memcpy(&be, buf, 4);
			return ntohl(be);
		}
		write_all(hdr[0] == F_STDERR ? 2 : 1, buf, len);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "exec"))
		return client(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: yasmin-agent serve PORT\n"
		"       yasmin-agent exec HOST PORT TIMEOUT_S COMMAND\n");
	return 2;
}
