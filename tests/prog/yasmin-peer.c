// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-peer [FD]: print what getpeername() and getsockname() say about
 * FD (default 0), as an inetd-style child sees its accepted socket:
 *   peer FAMILY ADDRESS PORT
 *   local FAMILY ADDRESS PORT
 * FAMILY is inet, inet6, vsock or the number. Exit 1 if a call fails.
 */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int show(const char *what, int fd, int peer)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int r;

	memset(&ss, 0, sizeof(ss));
	r = peer ? getpeername(fd, (struct sockaddr *)&ss, &l)
		 : getsockname(fd, (struct sockaddr *)&ss, &l);
	if (r) {
		printf("%s error %m\n", what);
		return 1;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (void *)&ss;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		printf("%s inet %s %u\n", what, ip, ntohs(s->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (void *)&ss;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		printf("%s inet6 %s %u\n", what, ip, ntohs(s->sin6_port));
	} else if (ss.ss_family == AF_VSOCK) {
		struct sockaddr_vm *s = (void *)&ss;

		printf("%s vsock %u %u\n", what, s->svm_cid, s->svm_port);
	} else {
		printf("%s %d\n", what, ss.ss_family);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int fd = argc > 1 ? atoi(argv[1]) : 0, r;

	r = show("peer", fd, 1);
	r |= show("local", fd, 0);
	fflush(stdout);
	return r;
}
