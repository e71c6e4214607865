// SPDX-License-Identifier: GPL-2.0
/*
 * Per-fd memory, and the fd calls that keep it right.
 *
 * The kernel is the authority: whether an fd is a vsock socket the shim
 * made, and which VM is at the other end, come from the socket itself
 * (names.c). What only the process knows (the family the app asked for,
 * options vsock has no use for, the IP it dialed) lives here by fd number
 * and carries the socket's inode: an entry whose inode is not the one the
 * fd names now is stale (raw close, close_range, fclose(fdopen()), an fd
 * from SCM_RIGHTS or exec) and is dropped instead of used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct yfd **fds;
static size_t nfds;

static pthread_mutex_t dir_lock;
static int dir_fd;

HIDDEN void yasmin_fdtab_atfork(int phase)
{
	if (phase == ATFORK_PREPARE) {
		pthread_mutex_lock(&dir_lock);
		pthread_mutex_lock(&fd_lock);
		return;
	}
	if (phase == ATFORK_CHILD && dir_fd >= 0) {
		int fd;

		/* It lists the parent's fds. A new one is opened here, not
		 * by the helper thread, which would take the lowest free
		 * fd for a moment (see yasmin_hidden_fd). */
		real.close(dir_fd);
		fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dir_fd = fd >= 0 ? yasmin_hidden_fd(fd, 1) : -1;
	}
	pthread_mutex_unlock(&fd_lock);
	pthread_mutex_unlock(&dir_lock);
}

HIDDEN ino_t yasmin_fd_ino(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return 0;
	return st.st_ino;
}

HIDDEN int yasmin_fd_domain(int fd)
{
	int dom = -1;
	socklen_t l = sizeof(dom);

	if (real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l))
		return -1;
	return dom;
}

HIDDEN void yfd_init(struct yfd *y, ino_t ino, int family)
{
	memset(y, 0, sizeof(*y));
	y->ino = ino;
	y->family = family;
	y->pend_fd = -1;
}

/* Requires fd_lock. The slot of @fd, grown if @create. */
static struct yfd **slot_locked(int fd, int create)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= nfds) {
		size_t n = nfds ? nfds : 256;
		struct yfd **p;

		if (!create)
			return NULL;
		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(fds, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + nfds, 0, (n - nfds) * sizeof(*p));
		fds = p;
		nfds = n;
	}
	return &fds[fd];
}

/* Requires fd_lock. Unhook @fd's entry; the caller frees it. */
static struct yfd *take_locked(int fd)
{
	struct yfd **s = slot_locked(fd, 0), *y;

	if (!s)
		return NULL;
	y = *s;
	*s = NULL;
	return y;
}

static void release(struct yfd *y)
{
	if (!y)
		return;
	if (y->pend_fd >= 0)
		real.close(y->pend_fd);
	free(y);
}

HIDDEN int yfd_get(int fd, struct yfd *out)
{
	ino_t ino = yasmin_fd_ino(fd);
	struct yfd **s, *stale = NULL;
	int r = -1;

	pthread_mutex_lock(&fd_lock);
	s = slot_locked(fd, 0);
	if (s && *s) {
		if (ino && (*s)->ino == ino) {
			*out = **s;
			r = 0;
		} else {
			stale = *s;
			*s = NULL;
		}
	}
	pthread_mutex_unlock(&fd_lock);
	if (stale)
		dbg("fd %d: forgetting what was known of a closed socket", fd);
	release(stale);
	return r;
}

HIDDEN int yfd_put(int fd, const struct yfd *y)
{
	struct yfd **s, *old = NULL;
	int r = -1;

	pthread_mutex_lock(&fd_lock);
	s = slot_locked(fd, 1);
	if (s) {
		if (!*s) {
			*s = malloc(sizeof(**s));
		} else if ((*s)->pend_fd >= 0 && (*s)->pend_fd != y->pend_fd) {
			old = malloc(sizeof(*old));
			if (old)
				*old = **s;
		}
		if (*s) {
			**s = *y;
			r = 0;
		}
	}
	pthread_mutex_unlock(&fd_lock);
	if (old) {
		old->ino = 0;
		release(old);	/* its superseded hidden socket */
	}
	return r;
}

HIDDEN void yfd_forget(int fd)
{
	struct yfd *y;

	pthread_mutex_lock(&fd_lock);
	y = take_locked(fd);
	pthread_mutex_unlock(&fd_lock);
	release(y);
}

/* @newfd now names what @oldfd does. */
static void yfd_dup(int oldfd, int newfd)
{
	struct yfd **o, **n, *src, *drop = NULL, *copy = NULL;

	if (oldfd == newfd)
		return;
	copy = malloc(sizeof(*copy));
	pthread_mutex_lock(&fd_lock);
	drop = take_locked(newfd);
	o = slot_locked(oldfd, 0);
	src = o ? *o : NULL;	/* before the table may move */
	if (src && copy) {
		n = slot_locked(newfd, 1);
		if (n) {
			*copy = *src;
			copy->pend_fd = -1;	/* stays with the original */
			*n = copy;
			copy = NULL;
		}
	}
	pthread_mutex_unlock(&fd_lock);
	free(copy);
	release(drop);
}

HIDDEN int yasmin_is_ours(int fd, struct yfd *y)
{
	ino_t ino;

	if (yasmin_fd_domain(fd) != AF_VSOCK)
		return 0;
	if (!yfd_get(fd, y))
		return !y->app_vsock;
	ino = yasmin_fd_ino(fd);
	yfd_init(y, ino, 0);
	return 1;
}

/* ---- the fds of this process ---- */

/*
 * /proc/self/fd, read through one directory fd kept high: a scan never
 * takes the lowest free fd from under a single-threaded app that expects
 * it (close(0); open() -> 0) while the helper thread looks.
 */
static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;
static int dir_fd = -1;

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

HIDDEN int *yasmin_fd_list(int *count)
{
	char buf[4096];
	int n = 0, cap = 0, *out = NULL, *p;
	long got, off;

	pthread_mutex_lock(&dir_lock);
	if (dir_fd < 0) {
		int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0)
			dir_fd = yasmin_hidden_fd(fd, 1);
	}
	if (dir_fd < 0 || lseek(dir_fd, 0, SEEK_SET) < 0)
		goto fail;
	while ((got = syscall(SYS_getdents64, dir_fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < got;) {
			struct linux_dirent64 *d = (void *)(buf + off);

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9' ||
			    atoi(d->d_name) == dir_fd)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				p = realloc(out, cap * sizeof(*out));
				if (!p)
					goto fail;
				out = p;
			}
			out[n++] = atoi(d->d_name);
		}
	}
	if (got < 0)
		goto fail;
	pthread_mutex_unlock(&dir_lock);
	*count = n;
	if (!out)
		out = malloc(sizeof(*out));
	return out;
fail:
	pthread_mutex_unlock(&dir_lock);
	free(out);
	return NULL;
}

/* ---- hidden fds ---- */

/*
 * The shim's own long-lived fds (vsock listeners, a pending connect's
 * socket) live high, never at the lowest free number the app expects to
 * get from its next socket()/open(): near the top of RLIMIT_NOFILE.
 */
HIDDEN int yasmin_hidden_fd(int fd, int cloexec)
{
	struct rlimit rl;
	long base = 200;
	int nfd;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		if (rl.rlim_cur > 512)
			base = (long)rl.rlim_cur - 256;
		else if (rl.rlim_cur > 64)
			base = (long)rl.rlim_cur / 2;
	}
	if (base > (1L << 20))
		base = 1L << 20;
	nfd = real.fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, (int)base);
	if (nfd < 0)
		return fd;
	real.close(fd);
	return nfd;
}

/* Move a pending connect's hidden socket away from @fd. */
static void relocate_pending(int fd)
{
	size_t i;

	pthread_mutex_lock(&fd_lock);
	for (i = 0; i < nfds; i++)
		if (fds[i] && fds[i]->pend_fd == fd) {
			int nfd = real.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);

			if (nfd >= 0) {
				fds[i]->pend_fd = nfd;
				real.close(fd);
			}
		}
	pthread_mutex_unlock(&fd_lock);
}

/*
 * Move the /proc/self/fd directory fd away from @fd: left there, the
 * helper's scan would rewind the app's file (lseek) and a forked child's
 * handler would close it.
 */
static void relocate_dir(int fd)
{
	int nfd;

	pthread_mutex_lock(&dir_lock);
	if (dir_fd >= 0 && dir_fd == fd) {
		nfd = real.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
		if (nfd >= 0) {
			dir_fd = nfd;
			real.close(fd);
		} else {
			dir_fd = -1;	/* let the app's dup2 close it */
		}
	}
	pthread_mutex_unlock(&dir_lock);
}

/* The app is about to dup2() onto @fd: if the shim lives there, move. */
static void make_room(int fd)
{
	relocate_dir(fd);
	relocate_pending(fd);
	yasmin_listener_relocate(fd);
}

/* ---- the fd calls ---- */

EXPORT int socket(int domain, int type, int protocol)
{
	struct yfd y;
	int fd;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	fd = real.socket(domain, type, protocol);
	if (fd < 0 || yasmin_disabled)
		return fd;
	yfd_forget(fd);		/* a stale entry from a raw close() */
	if (domain == AF_VSOCK) {
		yfd_init(&y, yasmin_fd_ino(fd), 0);
		y.app_vsock = 1;
		yfd_put(fd, &y);
	}
	return fd;
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	return real.bind(fd, addr, len);
}

EXPORT int close(int fd)
{
	ino_t ino;
	int r;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	ino = yasmin_fd_ino(fd);
	yfd_forget(fd);
	r = real.close(fd);
	if (ino)
		yasmin_listener_closed(ino);
	return r;
}

EXPORT int dup(int fd)
{
	int nfd;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	nfd = real.dup(fd);
	if (nfd >= 0)
		yfd_dup(fd, nfd);
	return nfd;
}

EXPORT int dup2(int fd, int nfd)
{
	ino_t ino;
	int r;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (fd != nfd)
		make_room(nfd);
	ino = yasmin_fd_ino(nfd);
	r = real.dup2(fd, nfd);
	if (r >= 0 && fd != nfd) {
		yfd_dup(fd, r);
		if (ino)
			yasmin_listener_closed(ino);
	}
	return r;
}

EXPORT int dup3(int fd, int nfd, int flags)
{
	ino_t ino;
	int r;

	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	if (fd != nfd)
		make_room(nfd);
	ino = yasmin_fd_ino(nfd);
	r = real.dup3(fd, nfd, flags);
	if (r >= 0) {
		yfd_dup(fd, r);
		if (ino)
			yasmin_listener_closed(ino);
	}
	return r;
}

static int do_fcntl(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
	int r = fn(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		yfd_dup(fd, r);
	if (r >= 0 && cmd == F_SETFD)
		yasmin_listener_cloexec(fd, !!((long)arg & FD_CLOEXEC));
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	return do_fcntl(real.fcntl, fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!yasmin_ready())
		return errno = ENOSYS, -1;
	return do_fcntl(real.fcntl64, fd, cmd, arg);
}
