// SPDX-License-Identifier: GPL-2.0
/*
 * The shim itself (the shim's sources linked into this binary, so its interposers
 * are the calls this file makes) over a fake AF_VSOCK (fakevsock.c). One
 * test per defect of the issue-10 audit; each failed on the v1 shim.
 *
 * Map: 127.0.0.5 is this VM (domid 5, CID 7); 127.0.0.6 and 127.0.0.7 are
 * domid 6 (CID 8, the fake clients' CID); 127.0.0.9 and 127.0.0.10 are VMs
 * without yasmin (their CIDs never answer). TCP fallbacks land on local
 * listeners, since all of 127/8 is this host.
 */
// utest-sources: shim/preload.c shim/fdtab.c shim/connect.c shim/listen.c shim/names.c shim/opts.c shim/exec.c shim/map.c shim/addr.c tests/unit/fakevsock.c
// utest-cflags: -D_GNU_SOURCE -DYASMIN_TEST_HOOK=fake_vsock_install
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/vm_sockets.h>
#include "utest.h"
#include "fakevsock.h"

#define PEER_IP "127.0.0.6"

#ifdef __SANITIZE_THREAD__
/*
 * ThreadSanitizer tracks fds by number. Looking at every fd of the process
 * (/proc/self/fd, to learn whether a listener is still open) races with
 * other threads closing theirs by design: a closed or reused number only
 * gives another inode. The fake's fstat of any fd is the same.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:ino_alive\nrace:inos_alive\nrace:find_inherited\n"
	       "race:yasmin_listen_adopt_inherited\nrace:ino_of\n";
}
/* The shim starts its helper thread again in a forked child. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#define RAW_CLOSE(fd) close(fd)	/* TSan cannot see a raw close */
#else
#define RAW_CLOSE(fd) syscall(SYS_close, fd)
#endif

__attribute__((constructor(101))) static void test_env(void)
{
	static char path[] = "/tmp/yasmin-unit-map-XXXXXX";
	const char *map = "127.0.0.5 5 self\n127.0.0.6 6 peer\n127.0.0.7 6 peer-b\n"
			  "127.0.0.9 9 nomod\n127.0.0.10 10 nomod2\n";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
		abort();
	syscall(SYS_close, fd);
	setenv("YASMIN_CONF", path, 1);
	setenv("YASMIN_TEST_SELF_DOMID", "5", 1);
	setenv("YASMIN_CONNECT_TIMEOUT_MS", "600", 1);
	setenv("YASMIN_NONBLOCK_WAIT_MS", "100", 1);
	fake_dead_cid = 11;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A hung test fails instead of hanging the run. */
static void *watchdog_fn(void *arg)
{
	poll(NULL, 0, (int)(long)arg * 1000);
	fprintf(stderr, "  watchdog: test still running after %ld s\n", (long)arg);
	/* Not _exit(): ThreadSanitizer's can wait for the hung threads. */
	syscall(SYS_exit_group, 3);
	return NULL;
}

static void watchdog(long secs)
{
	sigset_t all, old;
	pthread_t t;

	/* Signals are for the test's threads, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_create(&t, NULL, watchdog_fn, (void *)secs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(t);
}

static struct sockaddr_in sin4(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* A TCP listener on 0.0.0.0, port chosen by the kernel. */
static int tcp_listener(int *port, int flags)
{
	struct sockaddr_in a = sin4("0.0.0.0", 0);
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | flags, 0), one = 1;

	UT_ASSERT(s >= 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*port)
		a.sin_port = htons(*port);
	UT_ASSERT_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	UT_ASSERT_EQ(listen(s, 64), 0);
	UT_ASSERT_EQ(getsockname(s, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return s;
}

/* A shimmed TCP client of @ip:@port (vsock when @ip is a VM). */
static int client(const char *ip, int port)
{
	struct sockaddr_in a = sin4(ip, port);
	int c = socket(AF_INET, SOCK_STREAM, 0);

	UT_ASSERT(c >= 0);
	UT_ASSERT_EQ(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	return c;
}

/* The app's raw vsock client from CID @cid to this VM's @port. */
static int raw_vsock_client(unsigned int cid, int port)
{
	struct sockaddr_vm va = { .svm_family = AF_VSOCK, .svm_cid = 7,
				  .svm_port = port };
	int c = socket(AF_VSOCK, SOCK_STREAM, 0);

	fake_client_cid = cid;
	UT_ASSERT(c >= 0);
	UT_ASSERT_EQ(connect(c, (struct sockaddr *)&va, sizeof(va)), 0);
	fake_client_cid = 8;
	return c;
}

static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

static void assert_peer(int fd, const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (void *)&ss;
	socklen_t l = sizeof(ss);
	char buf[INET_ADDRSTRLEN] = "";

	memset(&ss, 0, sizeof(ss));
	UT_ASSERT_EQ(getpeername(fd, (struct sockaddr *)&ss, &l), 0);
	UT_ASSERT_EQ(ss.ss_family, AF_INET);
	inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
	UT_ASSERT_STREQ(buf, ip);
}

/* Accept one vsock connection that arrived on @s, within 3 s. */
static int accept_vsock(int s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	double t0 = now_ms();
	int fd;

	for (;;) {
		UT_ASSERT(wait_readable(s, 3000) == 1);
		l = sizeof(a);
		fd = accept4(s, (struct sockaddr *)&a, &l, SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		UT_ASSERT(errno == EAGAIN);
		UT_ASSERT(now_ms() - t0 < 3000);
	}
	UT_ASSERT(fake_is_vsock(fd));
	UT_ASSERT_EQ(a.sin_family, AF_INET);
	return fd;
}

static void ping(int from, int to)
{
	char buf[8] = "";

	UT_ASSERT_EQ(write(from, "ping", 4), 4);
	UT_ASSERT_EQ(read(to, buf, sizeof(buf)), 4);
	UT_ASSERT(!memcmp(buf, "ping", 4));
}

/* nginx: listen() again, EPOLLEXCLUSIVE, fstat: the fd is the socket. */
UTEST(listener_stays_a_real_socket)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	struct stat st;
	int port = 0, s, ep, acc = 0;
	socklen_t l = sizeof(acc);

	watchdog(10);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	UT_ASSERT_EQ(fstat(s, &st), 0);
	UT_ASSERT(S_ISSOCK(st.st_mode));
	UT_ASSERT_EQ(listen(s, 511), 0);
	UT_ASSERT_EQ(fake_orig_getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l), 0);
	UT_ASSERT_EQ(acc, 1);
	ep = epoll_create1(0);
	UT_ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
}

/* A raw accept4 syscall (or io_uring) on the listener gets TCP clients. */
UTEST(raw_accept4_on_the_listener_works)
{
	int port = 0, s, c, a;

	watchdog(10);
	s = tcp_listener(&port, 0);
	c = client("127.0.0.1", port);
	a = (int)syscall(SYS_accept4, s, NULL, NULL, SOCK_CLOEXEC);
	UT_ASSERT(a >= 0);
	ping(c, a);
}

/* A VM's arrival wakes epoll on the TCP listener and accepts as vsock. */
UTEST(vsock_arrival_wakes_the_tcp_listener)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	int port = 0, s, ep, c, a, t;

	watchdog(10);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	ep = epoll_create1(0);
	UT_ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
	c = client(PEER_IP, port);
	UT_ASSERT(fake_is_vsock(c));
	assert_peer(c, PEER_IP);
	UT_ASSERT_EQ(epoll_wait(ep, &ev, 1, 3000), 1);
	a = accept_vsock(s);
	assert_peer(a, PEER_IP);
	ping(c, a);
	ping(a, c);
	/* TCP clients still come through the same fd. */
	t = client("127.0.0.1", port);
	UT_ASSERT(!fake_is_vsock(t));
	UT_ASSERT(wait_readable(s, 3000) == 1);
	a = accept(s, NULL, NULL);
	UT_ASSERT(a >= 0);
	UT_ASSERT(!fake_is_vsock(a));
	assert_peer(a, "127.0.0.1");
}

static void *blocked_accept(void *arg)
{
	int s = (int)(long)arg, r;

	r = accept(s, NULL, NULL);
	return (void *)(long)(r < 0 ? -errno : r);
}

/* Another thread's shutdown() wakes a thread blocked in accept(). */
UTEST(shutdown_wakes_a_blocked_accept)
{
	pthread_t t;
	void *ret;
	int port = 0, s;

	watchdog(10);
	s = tcp_listener(&port, 0);
	pthread_create(&t, NULL, blocked_accept, (void *)(long)s);
	poll(NULL, 0, 200);
	UT_ASSERT_EQ(shutdown(s, SHUT_RDWR), 0);
	pthread_join(t, &ret);
	UT_ASSERT((long)ret < 0);
}

/* SO_RCVTIMEO on the listener bounds a blocking accept(). */
UTEST(listener_rcvtimeo_is_honoured)
{
	struct timeval tv = { .tv_usec = 200000 };
	int port = 0, s, r;
	double t0;

	watchdog(10);
	s = tcp_listener(&port, 0);
	UT_ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	t0 = now_ms();
	r = accept(s, NULL, NULL);
	UT_ASSERT_EQ(r, -1);
	UT_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
	UT_ASSERT(now_ms() - t0 < 2000);
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* SA_RESTART: a signal does not make accept() fail with EINTR. */
UTEST(sa_restart_restarts_accept)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	pthread_t t;
	void *ret;
	int port = 0, s, c;

	watchdog(10);
	sigaction(SIGUSR1, &sa, NULL);
	s = tcp_listener(&port, 0);
	pthread_create(&t, NULL, blocked_accept, (void *)(long)s);
	poll(NULL, 0, 200);
	pthread_kill(t, SIGUSR1);
	poll(NULL, 0, 200);
	c = client("127.0.0.1", port);
	pthread_join(t, &ret);
	UT_ASSERT((long)ret >= 0);
	close(c);
}

/* An fd with no shim memory (exec, raw dup, SCM_RIGHTS) is named right. */
UTEST(peer_comes_from_the_kernel_not_memory)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b = 'x';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int port = 0, s, c, a, raw, sp[2], got;

	watchdog(10);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	c = client(PEER_IP, port);
	a = accept_vsock(s);
	raw = (int)syscall(SYS_dup, a);		/* as after exec */
	assert_peer(raw, PEER_IP);
	UT_ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &a, sizeof(int));
	UT_ASSERT_EQ(sendmsg(sp[0], &mh, 0), 1);
	mh.msg_controllen = sizeof(cbuf);
	UT_ASSERT_EQ(recvmsg(sp[1], &mh, 0), 1);
	cm = CMSG_FIRSTHDR(&mh);
	UT_ASSERT(cm && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	assert_peer(got, PEER_IP);
	close(c);
}

/* A raw close leaves no stale identity for the next socket on that fd. */
UTEST(raw_close_leaves_no_stale_peer)
{
	int port = 0, tport = 0, s, ts, c, t, one = 1, v = 0;
	socklen_t l = sizeof(v);

	watchdog(10);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	ts = tcp_listener(&tport, 0);
	(void)s;
	(void)ts;
	c = client(PEER_IP, port);
	UT_ASSERT(fake_is_vsock(c));
	syscall(SYS_close, c);			/* libuv, close_range... */
	/* A socket the shim never saw (a raw syscall, or one inherited)
	 * gets the same number. */
	t = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	UT_ASSERT_EQ(t, c);
	{
		struct sockaddr_in a = sin4("127.0.0.1", tport);

		UT_ASSERT_EQ(syscall(SYS_connect, t, &a, sizeof(a)), 0);
	}
	assert_peer(c, "127.0.0.1");
	UT_ASSERT_EQ(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	UT_ASSERT_EQ(fake_orig_getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0);
	UT_ASSERT(v != 0);
}

/* A raw-closed listener frees its vsock port; the port can listen again. */
UTEST(closed_listener_frees_the_vsock_port)
{
	int port = 0, s, s2, c, a;

	watchdog(15);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	RAW_CLOSE(s);
	poll(NULL, 0, 1500);		/* the helper looks once a second */
	s2 = tcp_listener(&port, SOCK_NONBLOCK);
	c = client(PEER_IP, port);
	UT_ASSERT(fake_is_vsock(c));
	a = accept_vsock(s2);
	ping(c, a);
	/* And after close() at once. */
	close(s2);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	c = client(PEER_IP, port);
	UT_ASSERT(fake_is_vsock(c));
	a = accept_vsock(s);
	ping(c, a);
}

/* Node.js: server.close() (libuv closes with a raw syscall), then listen
 * again on the same port at once: the new listener serves vsock. */
UTEST(listen_again_at_once_after_a_raw_close)
{
	int port = 0, s, i, c, a;

	watchdog(15);
	for (i = 0; i < 5; i++) {
		s = tcp_listener(&port, SOCK_NONBLOCK);
		c = client(PEER_IP, port);
		UT_ASSERT(fake_is_vsock(c));
		a = accept_vsock(s);
		ping(c, a);
		close(a);
		close(c);
		RAW_CLOSE(s);
	}
}

/* A domain missing from the map is refused, never shown as 0.0.0.0. */
UTEST(unmapped_domain_is_refused)
{
	int port = 0, s, c, r;
	char b;

	watchdog(10);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	c = raw_vsock_client(77 + 2, port);
	UT_ASSERT(wait_readable(s, 3000) == 1);	/* the doorbell */
	r = accept(s, NULL, NULL);
	UT_ASSERT_EQ(r, -1);
	UT_ASSERT_EQ(errno, EAGAIN);
	UT_ASSERT(wait_readable(c, 3000) == 1);
	UT_ASSERT(read(c, &b, 1) <= 0);		/* closed by the shim */
}

/* A non-blocking connect to a VM without yasmin returns at once. */
UTEST(nonblocking_connect_does_not_block)
{
	struct pollfd p = { .events = POLLOUT };
	struct sockaddr_in a;
	int port = 0, s, c, r, err = -1;
	socklen_t l = sizeof(err);
	double t0;

	watchdog(10);
	s = tcp_listener(&port, 0);
	a = sin4("127.0.0.9", port);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	t0 = now_ms();
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	UT_ASSERT(now_ms() - t0 < 400);
	UT_ASSERT(r == 0 || errno == EINPROGRESS);
	p.fd = c;
	UT_ASSERT_EQ(poll(&p, 1, 3000), 1);
	UT_ASSERT_EQ(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &l), 0);
	UT_ASSERT_EQ(err, 0);
	UT_ASSERT(!fake_is_vsock(c));
	UT_ASSERT(accept(s, NULL, NULL) >= 0);
}

/* One timeout per VM without yasmin, not one per connect. */
UTEST(fallback_is_remembered)
{
	struct sockaddr_in a;
	int port = 0, s, c, i;
	double t0;

	watchdog(30);
	s = tcp_listener(&port, 0);
	a = sin4("127.0.0.9", port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	t0 = now_ms();
	UT_ASSERT_EQ(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	UT_ASSERT(now_ms() - t0 < 1500);	/* one 600 ms timeout */
	UT_ASSERT(!fake_is_vsock(c));
	close(c);
	t0 = now_ms();
	for (i = 0; i < 100; i++) {
		c = socket(AF_INET, SOCK_STREAM, 0);
		UT_ASSERT_EQ(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
		close(c);
		close(accept(s, NULL, NULL));
	}
	UT_ASSERT(now_ms() - t0 < 1000);
	/* And a non-blocking one now returns at once. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	t0 = now_ms();
	i = connect(c, (struct sockaddr *)&a, sizeof(a));
	UT_ASSERT(i == 0 || errno == EINPROGRESS);
	UT_ASSERT(now_ms() - t0 < 50);
}

static void on_alrm(int sig)
{
	(void)sig;
}

/* Under a periodic signal, connect() returns EINTR; retries end. */
UTEST(connect_eintr_goes_to_the_caller)
{
	struct sigaction sa = { .sa_handler = on_alrm };
	struct itimerval it = { .it_interval = { .tv_usec = 20000 },
				.it_value = { .tv_usec = 20000 } };
	struct sockaddr_in a;
	int port = 0, s, c, r, eintr = 0;
	double t0;

	watchdog(15);
	s = tcp_listener(&port, 0);
	(void)s;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	fake_dead_cid = 10 + 2;
	a = sin4("127.0.0.10", port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	t0 = now_ms();
	while ((r = connect(c, (struct sockaddr *)&a, sizeof(a))) && errno == EINTR)
		eintr++;
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	UT_ASSERT(eintr > 0);
	UT_ASSERT_EQ(r, 0);	/* fell back to TCP at the same deadline */
	UT_ASSERT(now_ms() - t0 < 2000);
}

/* The shim's own fds are not the lowest free ones. */
UTEST(hidden_fds_stay_out_of_the_way)
{
	int port = 0, s, n, dead, c, a, nul;

	watchdog(10);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	n = socket(AF_INET, SOCK_STREAM, 0);
	UT_ASSERT_EQ(n, s + 1);
	/* dup2 onto every fd from there to 1024: the listener survives. */
	nul = open("/dev/null", O_RDONLY);
	for (dead = n + 2; dead < 1024; dead++)
		dup2(nul, dead);
	c = client(PEER_IP, port);
	UT_ASSERT(fake_is_vsock(c));
	a = accept_vsock(s);
	ping(c, a);
}

struct churn {
	int stop, fd;
};

static void *accept_churn(void *arg)
{
	struct churn *ch = arg;

	while (!__atomic_load_n(&ch->stop, __ATOMIC_RELAXED)) {
		int fd = accept4(__atomic_load_n(&ch->fd, __ATOMIC_RELAXED),
				 NULL, NULL, SOCK_NONBLOCK);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* close() while another thread accepts: no use after free (ASan). */
UTEST(close_races_accept_safely)
{
	struct churn ch = { 0 };
	pthread_t t[2];
	double t0 = now_ms();
	int port = 0, s, i;

	watchdog(20);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	ch.fd = s;
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, accept_churn, &ch);
	while (now_ms() - t0 < 1500) {
		int p2 = 0, n = tcp_listener(&p2, SOCK_NONBLOCK);

		dup2(n, s);		/* the number the others accept on */
		close(n);
		close(client(PEER_IP, p2));
	}
	__atomic_store_n(&ch.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

static void *fd_churn(void *arg)
{
	struct churn *ch = arg;
	int i = 0;

	while (!__atomic_load_n(&ch->stop, __ATOMIC_RELAXED)) {
		int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		dup2(s, 300 + (i++ % 3000));	/* grows the fd table */
		close(s);
	}
	return NULL;
}

/* fork() while another thread grows the fd table: the child works. */
UTEST(fork_while_threads_use_the_shim)
{
	struct churn ch = { 0 };
	pthread_t t;
	int i, status, port = 0;

#ifdef __SANITIZE_THREAD__
	/*
	 * Not under ThreadSanitizer: a child that starts a thread (the
	 * shim's helper) hangs for good on a lock of TSan's own allocator
	 * that the churning thread held at fork(). The ASan build runs it.
	 */
	printf("  skipped under ThreadSanitizer\n");
	return;
#endif
	watchdog(30);
	tcp_listener(&port, SOCK_NONBLOCK);
	pthread_create(&t, NULL, fd_churn, &ch);
	for (i = 0; i < 40; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			close(s);
			_exit(0);
		}
		UT_ASSERT(pid > 0);
		UT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
		UT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	__atomic_store_n(&ch.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
}

/* A listener bound to this VM's own mapped IP serves VMs too. */
UTEST(listener_on_the_own_mapped_ip)
{
	struct sockaddr_in a = sin4("127.0.0.5", 0);
	socklen_t l = sizeof(a);
	int s, c, x;

	watchdog(10);
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	UT_ASSERT_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	UT_ASSERT_EQ(listen(s, 8), 0);
	UT_ASSERT_EQ(getsockname(s, (struct sockaddr *)&a, &l), 0);
	c = client(PEER_IP, ntohs(a.sin_port));
	UT_ASSERT(fake_is_vsock(c));
	x = accept_vsock(s);
	assert_peer(x, PEER_IP);
	ping(c, x);
}

/* A VM with several IPs: the client sees the one it dialed. */
UTEST(several_ips_client_sees_the_one_dialed)
{
	int port = 0, s, c;

	watchdog(10);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	c = client("127.0.0.7", port);
	UT_ASSERT(fake_is_vsock(c));
	assert_peer(c, "127.0.0.7");
	close(accept_vsock(s));
}

/* iperf3's server: a blocking listener on :: that takes IPv4 too. */
static int iperf3_listener(int *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = in6addr_any };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET6, SOCK_STREAM, 0), one = 1, zero = 0;

	UT_ASSERT(s >= 0);
	UT_ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	UT_ASSERT_EQ(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
	a.sin6_port = htons(*port);
	UT_ASSERT_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	UT_ASSERT_EQ(listen(s, INT_MAX), 0);
	UT_ASSERT_EQ(getsockname(s, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin6_port);
	return s;
}

/* select() on @s alone, for up to @ms. */
static int select_readable(int s, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };
	fd_set rs;

	FD_ZERO(&rs);
	FD_SET(s, &rs);
	return select(s + 1, &rs, NULL, NULL, &tv);
}

/* A v4-mapped AF_INET6 name's IPv4 text and port. */
static void name6(int fd, int peer, char *ip, int *port)
{
	struct sockaddr_in6 a;
	socklen_t l = sizeof(a);

	memset(&a, 0, sizeof(a));
	UT_ASSERT_EQ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a, &l), 0);
	UT_ASSERT_EQ(a.sin6_family, AF_INET6);
	UT_ASSERT(IN6_IS_ADDR_V4MAPPED(&a.sin6_addr));
	inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], ip, INET_ADDRSTRLEN);
	*port = ntohs(a.sin6_port);
}

#define COOKIE "abcdefghijklmnopqrstuvwxyz234567890a"	/* 36 + NUL */

/*
 * iperf3 3.12, both ends, as shim_iperf3 runs it: the server selects on
 * its blocking listener, accepts the control connection, later the data
 * connection (which a slow guest finds already waiting), and calls
 * accept() again whenever select() says the listener is readable. So a
 * readable listener must have a client behind it; a doorbell left queued
 * after its vsock connection was taken made that accept() block for good
 * and hung the test.
 */
UTEST(iperf3_sequence_leaves_no_phantom_client)
{
	char cookie[sizeof(COOKIE)], ca[16 + 1], ip[INET_ADDRSTRLEN];
	char buf[4096];
	int port = 0, s, c, a, d, ad, x, one = 1, v, round, sport, pport, lport;
	socklen_t l;

	watchdog(30);
	for (round = 0; round < 2; round++) {	/* iperf3 -c, then -c -R */
		s = iperf3_listener(&port);
		/* Control: connect, cookie, TCP_NODELAY, TCP_MAXSEG. */
		c = client(PEER_IP, port);
		UT_ASSERT(fake_is_vsock(c));
		UT_ASSERT_EQ(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
		UT_ASSERT_EQ(write(c, COOKIE, sizeof(COOKIE)), (ssize_t)sizeof(COOKIE));
		l = sizeof(v);
		UT_ASSERT_EQ(getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &v, &l), 0);
		UT_ASSERT(v > 0);
		UT_ASSERT_EQ(select_readable(s, 3000), 1);
		a = accept(s, NULL, NULL);
		UT_ASSERT(a >= 0 && fake_is_vsock(a));
		UT_ASSERT_EQ(setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
		UT_ASSERT_EQ(read(a, cookie, sizeof(cookie)), (ssize_t)sizeof(cookie));
		name6(a, 1, ip, &pport);
		UT_ASSERT_STREQ(ip, PEER_IP);
		/* Data: SO_SNDBUF read back, blocking connect, cookie. */
		d = socket(AF_INET, SOCK_STREAM, 0);
		l = sizeof(v);
		UT_ASSERT_EQ(getsockopt(d, SOL_SOCKET, SO_SNDBUF, &v, &l), 0);
		{
			struct sockaddr_in sa = sin4(PEER_IP, port);

			UT_ASSERT_EQ(connect(d, (struct sockaddr *)&sa, sizeof(sa)), 0);
		}
		UT_ASSERT(fake_is_vsock(d));
		UT_ASSERT_EQ(write(d, COOKIE, sizeof(COOKIE)), (ssize_t)sizeof(COOKIE));
		l = 16;	/* TCP_CA_NAME_MAX */
		UT_ASSERT_EQ(getsockopt(d, IPPROTO_TCP, TCP_CONGESTION, ca, &l), 0);
		/* A slow server: the data connection waits before it looks. */
		poll(NULL, 0, 300);
		UT_ASSERT_EQ(select_readable(s, 3000), 1);
		ad = accept(s, NULL, NULL);
		UT_ASSERT(ad >= 0 && fake_is_vsock(ad));
		UT_ASSERT_EQ(read(ad, cookie, sizeof(cookie)), (ssize_t)sizeof(cookie));
		UT_ASSERT_STREQ(cookie, COOKIE);
		UT_ASSERT_EQ(fcntl(ad, F_SETFL, fcntl(ad, F_GETFL) | O_NONBLOCK), 0);
		UT_ASSERT_EQ(fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK), 0);
		/* "local 127.0.0.5 port P connected to 127.0.0.6 port Q", and
		 * the client's own port is Q. */
		name6(ad, 0, ip, &sport);
		UT_ASSERT_EQ(sport, port);
		name6(ad, 1, ip, &pport);
		UT_ASSERT_STREQ(ip, PEER_IP);
		{
			struct sockaddr_in la;

			l = sizeof(la);
			UT_ASSERT_EQ(getsockname(d, (struct sockaddr *)&la, &l), 0);
			lport = ntohs(la.sin_port);
		}
		UT_ASSERT_EQ(lport, pport);
		/* The test runs: the listener is in the select set throughout
		 * and must not turn readable with nobody there. */
		memset(buf, round ? 'R' : 'x', sizeof(buf));
		UT_ASSERT_EQ(write(round ? ad : d, buf, sizeof(buf)), (ssize_t)sizeof(buf));
		UT_ASSERT_EQ(wait_readable(round ? d : ad, 3000), 1);
		UT_ASSERT(read(round ? d : ad, buf, sizeof(buf)) > 0);
		UT_ASSERT_EQ(select_readable(s, 500), 0);
		/* Another client during the test: readable, accepted at once. */
		x = client(PEER_IP, port);
		UT_ASSERT_EQ(select_readable(s, 3000), 1);
		v = accept(s, NULL, NULL);
		UT_ASSERT(v >= 0 && fake_is_vsock(v));
		close(v);
		close(x);
		UT_ASSERT_EQ(select_readable(s, 300), 0);
		/* The end: everything closed, the next test listens again. */
		close(ad);
		close(d);
		close(a);
		close(c);
		close(s);
	}
}

/*
 * GCC 12's AddressSanitizer does not lock its allocator around fork(): a
 * thread the child starts (the shim's helper) can block for good on a lock
 * the parent's helper held at that moment (it allocates as it starts, then
 * once a second). Tests that need the child's helper fork once the
 * parent's is idle.
 */
static void settle_before_fork(void)
{
	poll(NULL, 0, 100);
}

/*
 * A forked child that holds the listener too (a daemon's worker, an
 * inetd child before exec, a fork-per-connection server's child) must not
 * ring a second doorbell for the parent's vsock client: the parent's
 * listener would stay readable with nobody behind it.
 */
UTEST(a_forked_holder_does_not_ring_twice)
{
	int port = 0, s, c, a, status;
	pid_t pid;

	watchdog(20);
	s = iperf3_listener(&port);
	settle_before_fork();
	pid = fork();
	if (pid == 0) {		/* holds s, does nothing with it */
		poll(NULL, 0, 2000);
		_exit(0);
	}
	UT_ASSERT(pid > 0);
	poll(NULL, 0, 300);	/* the child's helper is up */
	c = client(PEER_IP, port);
	poll(NULL, 0, 500);	/* every helper has seen it */
	UT_ASSERT_EQ(select_readable(s, 3000), 1);
	a = accept(s, NULL, NULL);
	UT_ASSERT(a >= 0 && fake_is_vsock(a));
	ping(c, a);
	UT_ASSERT_EQ(select_readable(s, 500), 0);
	UT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
}

/* When the process that rings closes its listener, another holder rings. */
UTEST(another_holder_rings_when_the_first_closes)
{
	int port = 0, s, c, a, status;
	char ns[16];
	pid_t pid;

	watchdog(20);
	s = iperf3_listener(&port);
	snprintf(ns, sizeof(ns), "%d", (int)getpid());
	settle_before_fork();
	pid = fork();
	if (pid == 0) {
		setenv("YASMIN_FAKE_NS", ns, 1);	/* the parent's fake host */
		poll(NULL, 0, 500);	/* the parent has closed it */
		c = client(PEER_IP, port);
		if (select_readable(s, 3000) != 1)
			_exit(2);
		a = accept(s, NULL, NULL);
		if (a < 0 || !fake_is_vsock(a))
			_exit(3);
		ping(c, a);
		_exit(0);
	}
	UT_ASSERT(pid > 0);
	poll(NULL, 0, 100);
	close(s);
	UT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	UT_ASSERT(WIFEXITED(status));
	UT_ASSERT_EQ(WEXITSTATUS(status), 0);
}

/*
 * nginx (and any program that sets its process title) writes over the
 * environment block, and nginx's workers drop the environment: the map's
 * path must have been copied.
 */
UTEST(map_path_survives_the_environment)
{
	char *e = getenv("YASMIN_CONF");
	int port = 0, s, c;

	watchdog(10);
	UT_ASSERT(e != NULL);
	memset(e, 'x', strlen(e));	/* "nginx: worker process" */
	clearenv();
	poll(NULL, 0, 1100);		/* the map is looked at again */
	s = tcp_listener(&port, SOCK_NONBLOCK);
	c = client(PEER_IP, port);
	UT_ASSERT(fake_is_vsock(c));
	close(accept_vsock(s));
}

struct later_connect {
	int fd, port;
};

static void *connect_later(void *arg)
{
	struct later_connect *lc = arg;
	struct sockaddr_vm va = { .svm_family = AF_VSOCK, .svm_cid = 7,
				  .svm_port = lc->port };

	poll(NULL, 0, 1);
	return (void *)(long)connect(lc->fd, (struct sockaddr *)&va, sizeof(va));
}

/*
 * The helper thread makes no fd of its own while the program runs: a
 * program that closes an fd and opens another gets the same number, even
 * while vsock clients arrive (a doorbell's socket was made by the helper
 * and took the lowest free fd for a moment).
 */
UTEST(helper_never_takes_the_lowest_fd)
{
	struct later_connect lc;
	int port = 0, s, i, t, t0, a;
	pthread_t th;
	void *r;

	watchdog(60);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	lc.port = port;
	for (i = 0; i < 500; i++) {
		/* A vsock client whose connect makes no fd either. */
		lc.fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		UT_ASSERT(lc.fd >= 0);
		t0 = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		syscall(SYS_close, t0);
		pthread_create(&th, NULL, connect_later, &lc);
		/* While the helper rings for it: the lowest free fd stays. */
		do {
			t = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
			syscall(SYS_close, t);
			UT_ASSERT_EQ(t, t0);
		} while (wait_readable(s, 0) == 0);
		pthread_join(th, &r);
		UT_ASSERT_EQ((long)r, 0);
		a = accept_vsock(s);
		close(a);
		close(lc.fd);
	}
}

static void send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b = 'f';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	UT_ASSERT_EQ(sendmsg(sock, &mh, 0), 1);
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &mh, 0) != 1 || !(cm = CMSG_FIRSTHDR(&mh)) ||
	    cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A vsock client's "ping", accepted by a process forked before listen(). */
static int stranger_serves(int sp, const char *ns, int relisten)
{
	char ip[INET_ADDRSTRLEN], buf[8] = "";
	struct sockaddr_in6 pa;
	socklen_t pl = sizeof(pa);
	int ls = recv_fd(sp), x;

	setenv("YASMIN_FAKE_NS", ns, 1);	/* the parent's fake host */
	if (ls < 0)
		return 2;
	if (relisten && listen(ls, 16))
		return 3;
	if (select_readable(ls, 3000) != 1)
		return 4;
	x = accept(ls, (struct sockaddr *)&pa, &pl);
	if (x < 0 || !fake_is_vsock(x))
		return 5;
	inet_ntop(AF_INET, &pa.sin6_addr.s6_addr[12], ip, sizeof(ip));
	if (strcmp(ip, PEER_IP))
		return 6;
	if (read(x, buf, 4) != 4 || memcmp(buf, "ping", 4))
		return 7;
	return 0;
}

/*
 * Node.js cluster's SCHED_NONE: the workers accept on a listener that
 * came over SCM_RIGHTS (and may listen() on it again, finding the vsock
 * port taken). The doorbells the listening process rings there are not
 * clients: such a process gets the vsock listener from the ringer and
 * serves VMs too.
 */
static void passed_listener(int relisten)
{
	int port = 0, s, c, sp[2], status;
	char ns[16];
	pid_t pid;

	watchdog(20);
	snprintf(ns, sizeof(ns), "%d", (int)getpid());
	UT_ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	settle_before_fork();
	pid = fork();
	if (pid == 0)		/* forked before listen(): a stranger to it */
		_exit(stranger_serves(sp[1], ns, relisten));
	UT_ASSERT(pid > 0);
	s = iperf3_listener(&port);
	send_fd(sp[0], s);
	poll(NULL, 0, 200);
	c = client(PEER_IP, port);
	UT_ASSERT_EQ(write(c, "ping", 4), 4);
	UT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	UT_ASSERT(WIFEXITED(status));
	UT_ASSERT_EQ(WEXITSTATUS(status), 0);
	UT_ASSERT_EQ(select_readable(s, 300), 0);
}

UTEST(a_passed_listener_serves_vms)
{
	passed_listener(0);
}

UTEST(a_passed_listener_listened_again_serves_vms)
{
	passed_listener(1);
}

/* nginx's "listen ... deferred": a doorbell is queued at once all the same. */
UTEST(deferred_accept_listener_wakes_at_once)
{
	int port = 0, s, c, a, secs = 5;
	double t0;

	watchdog(20);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	UT_ASSERT_EQ(setsockopt(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs)), 0);
	t0 = now_ms();
	c = client(PEER_IP, port);
	a = accept_vsock(s);
	UT_ASSERT(now_ms() - t0 < 500);
	ping(c, a);
}

/* The shim's /proc/self/fd directory fd, found as the program would. */
static int shim_dir_fd(void)
{
	char path[64], link[64], want[64];
	int fd;

	snprintf(want, sizeof(want), "/proc/%d/fd", (int)getpid());
	for (fd = 3; fd < 65536; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strcmp(link, want) && fcntl(fd, F_GETFD) >= 0)
			return fd;
	}
	return -1;
}

/*
 * A program that dup2()s its log onto a fixed number the shim uses for
 * /proc/self/fd: the shim moves away; its scans neither rewind the file
 * nor close it in a forked child.
 */
UTEST(dup2_onto_the_fd_directory_fd_moves_it)
{
	char path[] = "/tmp/yasmin-unit-log-XXXXXX";
	int port = 0, s, d, f, status;
	pid_t pid;

	watchdog(20);
	s = tcp_listener(&port, SOCK_NONBLOCK);
	(void)s;
	d = shim_dir_fd();
	UT_ASSERT(d >= 0);
	f = mkstemp(path);
	UT_ASSERT(f >= 0);
	unlink(path);
	UT_ASSERT_EQ(dup2(f, d), d);
	close(f);
	UT_ASSERT_EQ(write(d, "line 1 of the log\n", 18), 18);
	poll(NULL, 0, 1500);		/* the helper looks once a second */
	UT_ASSERT_EQ(write(d, "line 2\n", 7), 7);
	UT_ASSERT_EQ(lseek(d, 0, SEEK_CUR), 25);
	UT_ASSERT(shim_dir_fd() >= 0);	/* the shim's moved, still there */
	UT_ASSERT(shim_dir_fd() != d);
	settle_before_fork();
	pid = fork();
	if (pid == 0) {
		poll(NULL, 0, 100);
		_exit(fcntl(d, F_GETFD) < 0 ? 2 :
		      write(d, "3\n", 2) != 2 ? 3 : 0);
	}
	UT_ASSERT(pid > 0);
	UT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	UT_ASSERT(WIFEXITED(status));
	UT_ASSERT_EQ(WEXITSTATUS(status), 0);
	UT_ASSERT_EQ(lseek(d, 0, SEEK_CUR), 27);
	close(d);
}

/* @s is readable, and a blocking accept() fails at once with ECONNABORTED. */
static void accept_is_aborted(int s)
{
	double t0;

	UT_ASSERT_EQ(select_readable(s, 3000), 1);
	t0 = now_ms();
	UT_ASSERT_EQ(accept(s, NULL, NULL), -1);
	UT_ASSERT_EQ(errno, ECONNABORTED);
	UT_ASSERT(now_ms() - t0 < 1000);
}

/*
 * A doorbell with no vsock connection behind it (a domain not in the map,
 * or a local client from the doorbell's address): a blocking accept()
 * after select() said readable returns ECONNABORTED, as for a connection
 * reset while queued, instead of blocking.
 */
UTEST(an_empty_doorbell_does_not_block_accept)
{
	struct timeval tv = { .tv_sec = 2 };
	struct sockaddr_in src = sin4("127.89.83.77", 0), dst;
	int port = 0, s, c, t, a;
	char b;

	watchdog(20);
	s = iperf3_listener(&port);
	UT_ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	/* A VM the map does not list. */
	c = raw_vsock_client(77 + 2, port);
	accept_is_aborted(s);
	UT_ASSERT(wait_readable(c, 3000) == 1);
	UT_ASSERT(read(c, &b, 1) <= 0);		/* closed by the shim */
	/* A local client from the doorbell's address. */
	t = socket(AF_INET, SOCK_STREAM, 0);
	UT_ASSERT_EQ(bind(t, (struct sockaddr *)&src, sizeof(src)), 0);
	dst = sin4("127.0.0.1", port);
	UT_ASSERT_EQ(connect(t, (struct sockaddr *)&dst, sizeof(dst)), 0);
	accept_is_aborted(s);
	/* One with a TCP client queued behind it: that client. */
	t = socket(AF_INET, SOCK_STREAM, 0);
	UT_ASSERT_EQ(bind(t, (struct sockaddr *)&src, sizeof(src)), 0);
	UT_ASSERT_EQ(connect(t, (struct sockaddr *)&dst, sizeof(dst)), 0);
	c = client("127.0.0.1", port);
	poll(NULL, 0, 50);
	a = accept(s, NULL, NULL);
	UT_ASSERT(a >= 0 && !fake_is_vsock(a));
	ping(c, a);
	/* And a VM of the map still gets through, then TCP. */
	c = client(PEER_IP, port);
	UT_ASSERT_EQ(select_readable(s, 3000), 1);
	a = accept(s, NULL, NULL);
	UT_ASSERT(a >= 0 && fake_is_vsock(a));
	ping(c, a);
	t = client("127.0.0.1", port);
	UT_ASSERT_EQ(select_readable(s, 3000), 1);
	a = accept(s, NULL, NULL);
	UT_ASSERT(a >= 0 && !fake_is_vsock(a));
}

/* A server with many listeners: a VM reaches every one of them. */
UTEST(more_than_64_listeners_are_all_served)
{
	int port[80], s[80], i, c, a;

	watchdog(30);
	for (i = 0; i < 80; i++) {
		port[i] = 0;
		s[i] = tcp_listener(&port[i], SOCK_NONBLOCK);
	}
	for (i = 0; i < 80; i += 13) {
		c = client(PEER_IP, port[i]);
		UT_ASSERT(fake_is_vsock(c));
		a = accept_vsock(s[i]);
		ping(c, a);
		close(a);
		close(c);
	}
	c = client(PEER_IP, port[79]);
	a = accept_vsock(s[79]);
	ping(c, a);
	close(a);
	close(c);
	for (i = 0; i < 80; i++)
		close(s[i]);
}

/*
 * Another user's program holds the vsock port (and, at worst, answers on
 * the ringer's name with its own listener): the shim does not take what
 * it is handed, and says on stderr that VMs will not reach this server.
 */
static pid_t squat_vsock(int port, int answer, const char *ns)
{
	struct sockaddr_vm va = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int p[2], v, u, n;
	pid_t pid;
	char b;

	UT_ASSERT_EQ(pipe(p), 0);
	pid = fork();
	UT_ASSERT(pid >= 0);
	if (pid) {
		close(p[1]);
		UT_ASSERT_EQ(read(p[0], &b, 1), 1);
		close(p[0]);
		return pid;
	}
	setenv("YASMIN_FAKE_NS", ns, 1);
	if (setgid(65534) || setuid(65534))
		_exit(9);
	v = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (v < 0 || bind(v, (struct sockaddr *)&va, sizeof(va)) || listen(v, 8))
		_exit(8);
	n = snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1,
		     "yasmin-vsock-%d", port);
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (answer && bind(u, (struct sockaddr *)&un,
			   offsetof(struct sockaddr_un, sun_path) + 1 + n))
		_exit(7);
	if (write(p[1], "r", 1) != 1)
		_exit(6);
	for (;;) {	/* hand our listener to whoever asks */
		struct sockaddr_un from;
		socklen_t fl = sizeof(from);
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = &b, .iov_len = 1 };
		struct msghdr mh = { .msg_name = &from, .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;

		if (recvfrom(u, &b, 1, 0, (struct sockaddr *)&from, &fl) != 1)
			continue;
		mh.msg_namelen = fl;
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &v, sizeof(int));
		sendmsg(u, &mh, 0);
	}
}

static void taken_vsock_port(int answer)
{
	struct sockaddr_in a = sin4("0.0.0.0", 0);
	char path[] = "/tmp/yasmin-unit-err-XXXXXX", buf[512] = "", want[32];
	socklen_t l = sizeof(a);
	int s, port, e, saved, c, status, one = 1;
	pid_t pid;
	char ns[16];

	watchdog(20);
	if (geteuid()) {
		printf("  skipped: needs root to be another user\n");
		return;
	}
	snprintf(ns, sizeof(ns), "%d", (int)getpid());
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	UT_ASSERT_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	UT_ASSERT_EQ(getsockname(s, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	settle_before_fork();
	pid = squat_vsock(port, answer, ns);
	e = mkstemp(path);
	UT_ASSERT(e >= 0);
	unlink(path);
	saved = dup(2);
	dup2(e, 2);
	UT_ASSERT_EQ(listen(s, 16), 0);
	dup2(saved, 2);
	close(saved);
	UT_ASSERT(pread(e, buf, sizeof(buf) - 1, 0) > 0);
	snprintf(want, sizeof(want), "port %d", port);
	UT_ASSERT(strstr(buf, want) != NULL);
	UT_ASSERT(strstr(buf, "VM") != NULL);
	/* The squatter's listener is not served through ours. */
	c = client(PEER_IP, port);
	UT_ASSERT_EQ(select_readable(s, 800), 0);
	close(c);
	kill(pid, SIGKILL);
	UT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	close(e);
}

UTEST(a_vsock_port_held_by_another_user_is_reported)
{
	taken_vsock_port(0);
}

UTEST(a_listener_handed_by_another_user_is_refused)
{
	taken_vsock_port(1);
}

/*
 * Every caught signal has SA_RESTART: a blocking connect() is not
 * interrupted, as on TCP (the kernel restarts it), and falls back at its
 * deadline.
 */
UTEST(sa_restart_connect_is_not_interrupted)
{
	struct sigaction sa = { .sa_handler = on_alrm, .sa_flags = SA_RESTART };
	struct itimerval it = { .it_interval = { .tv_usec = 20000 },
				.it_value = { .tv_usec = 20000 } };
	struct sockaddr_in a;
	int port = 0, s, c, r, a2;
	double t0;

	watchdog(15);
	s = tcp_listener(&port, 0);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	fake_dead_cid = 10 + 2;
	a = sin4("127.0.0.10", port);
	c = socket(AF_INET, SOCK_STREAM, 0);
	t0 = now_ms();
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	UT_ASSERT_EQ(r, 0);	/* TCP, at the deadline, no EINTR */
	UT_ASSERT(!fake_is_vsock(c));
	UT_ASSERT(now_ms() - t0 < 2000);
	a2 = accept(s, NULL, NULL);
	UT_ASSERT(a2 >= 0);
	ping(c, a2);
}
