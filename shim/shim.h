/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libyasmin.so internals shared by its parts:
 *
 *   preload.c  the real calls, configuration, the map, fork handlers
 *   fdtab.c    per-fd memory checked against the socket's identity, and
 *              the fd calls that keep it right (socket, close, dup, fcntl)
 *   connect.c  connect(): vsock first, TCP fallback, the per-destination cache
 *   listen.c   listen()/accept(): the hidden vsock listener and its doorbell
 *   names.c    getsockname()/getpeername(): addresses from the kernel + map
 *   opts.c     setsockopt()/getsockopt()
 *   exec.c     execve(): a program that re-executes itself keeps the shim
 */
#ifndef YASMIN_SHIM_H
#define YASMIN_SHIM_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))
#define HIDDEN __attribute__((visibility("hidden")))

#define RING_MIN	4096u
#define RING_MAX	(2u << 20)
#define MAX_OPTS	12

struct yasmin_real {
	int (*socket)(int, int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*execve)(const char *, char *const [], char *const []);
};

extern HIDDEN struct yasmin_real real;
extern HIDDEN int yasmin_disabled, yasmin_debug;
extern HIDDEN long yasmin_connect_timeout_ms;	/* vsock handshake bound */
extern HIDDEN long yasmin_nonblock_wait_ms;	/* first-contact wait */
extern HIDDEN long yasmin_negative_ttl_s;	/* "no yasmin there" memory */

HIDDEN int yasmin_ready(void);
HIDDEN void yasmin_exec_init(void);	/* exec.c, at start-up */
HIDDEN void yasmin_dbg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
#define dbg yasmin_dbg

/* The map: domid of an IP (-1), and an IP of a domid (-1 if unknown). */
HIDDEN long yasmin_map_domid(const struct in6_addr *ip);
HIDDEN int yasmin_map_ip(long domid, struct in6_addr *ip);
HIDDEN int yasmin_map_has(long domid, const struct in6_addr *ip);
HIDDEN long yasmin_self_domid(void);
HIDDEN const char *yasmin_ip_str(const struct in6_addr *ip, char *buf,
				 size_t len);

/* Fork handlers of the parts (prepare locks, parent/child unlock). */
HIDDEN void yasmin_fdtab_atfork(int phase);
HIDDEN void yasmin_listen_atfork(int phase);
HIDDEN void yasmin_connect_atfork(int phase);
enum { ATFORK_PREPARE, ATFORK_PARENT, ATFORK_CHILD };

/* ---- fdtab.c ---- */

struct yfd_opt {
	int level, name;
	socklen_t len;
	unsigned char val[32];
};

/*
 * What the shim remembers about one fd. It is trusted only while the fd
 * still names the socket it was recorded for (same inode): a raw close,
 * close_range, fclose(fdopen()) or an exec'd image cannot make it lie.
 */
struct yfd {
	ino_t ino;		/* the socket this is about; 0 = nothing */
	int family;		/* AF_INET or AF_INET6, as the app asked */
	int app_vsock;		/* the app's own AF_VSOCK socket: hands off */
	int sndbuf, rcvbuf;	/* what the app set, 0 if nothing */
	int nopts;
	struct yfd_opt opts[MAX_OPTS];
	int has_peer;		/* the IP the app dialed (several per VM) */
	struct in6_addr peer_ip;
	uint16_t peer_port;
	/* A blocking connect interrupted by a signal (see connect.c). */
	int pend_fd;		/* hidden vsock socket, -1 if none */
	struct timespec pend_deadline;
	struct in6_addr pend_ip;
	uint16_t pend_port;
	long pend_domid;
};

HIDDEN ino_t yasmin_fd_ino(int fd);	/* 0 unless @fd is a socket */
HIDDEN int yasmin_fd_domain(int fd);	/* real SO_DOMAIN, -1 */
/* A copy of @fd's memory if it is about the socket @fd names now. */
HIDDEN int yfd_get(int fd, struct yfd *out);
/* Merge: store @y for @fd (y->ino must be set). */
HIDDEN int yfd_put(int fd, const struct yfd *y);
HIDDEN void yfd_forget(int fd);
HIDDEN void yfd_init(struct yfd *y, ino_t ino, int family);
HIDDEN int yasmin_hidden_fd(int fd, int cloexec);	/* move @fd high */
/* The open fds of this process (malloc'd), NULL if unknown. */
HIDDEN int *yasmin_fd_list(int *count);
/* Is the AF_VSOCK @fd one the shim made for a TCP program? */
HIDDEN int yasmin_is_ours(int fd, struct yfd *y);

/* ---- listen.c ---- */
HIDDEN void yasmin_listener_relocate(int fd);
HIDDEN void yasmin_listen_adopt_inherited(void);
HIDDEN void yasmin_listener_closed(ino_t ino);
HIDDEN void yasmin_listener_cloexec(int fd, int cloexec);


/* ---- connect.c ---- */
/* A committed non-blocking vsock connect of @y's fd failed with @err. */
HIDDEN void yasmin_connect_failed(const struct yfd *y, int err);

/* ---- names.c ---- */
/* The app's view of a vsock socket's peer or own address. */
HIDDEN socklen_t yasmin_vsock_name(int fd, int peer, int family,
				   const struct yfd *y,
				   struct sockaddr_storage *out);
HIDDEN int yasmin_default_family(const struct in6_addr *ip);

/* Options vsock honours at the socket level, replayed on a new socket. */
HIDDEN void yasmin_replay_opts(int vfd, const struct yfd *y);
HIDDEN void yasmin_apply_bufsize(int vfd, const struct yfd *y);
HIDDEN void yasmin_remember_opt(struct yfd *y, int level, int name,
				const void *val, socklen_t len);

#endif /* YASMIN_SHIM_H */
