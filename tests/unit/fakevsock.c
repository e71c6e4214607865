// SPDX-License-Identifier: GPL-2.0
/*
 * A fake AF_VSOCK for the shim's host unit tests (this build host has no
 * vsock transport). Built into a test with the shim's sources and
 * -DYASMIN_TEST_HOOK=fake_vsock_install, it replaces the shim's real calls
 * so that an AF_VSOCK socket is an AF_UNIX one underneath:
 *
 *   listener on port P       abstract "yfk-L-<pid>-P"
 *   client of CID C, port N  abstract "yfk-C-<pid>-C-N" (C = fake_client_cid)
 *
 * <pid> is YASMIN_FAKE_NS when set, so that several processes (real
 * programs under build/libyasmin-fake.so) share one fake host; a process
 * then has the CID YASMIN_FAKE_CID (as listener and as client alike).
 * YASMIN_FAKE_ACCEPT_DELAY_MS makes every accept on a vsock listener that
 * much late, as in a slow guest. A listener, or a connection accepted
 * from one, that came across exec or SCM_RIGHTS is known by its name.
 *
 * getsockname/getpeername/accept answer in struct sockaddr_vm, SO_DOMAIN
 * says AF_VSOCK, and the AF_VSOCK-level options are accepted. A connect to
 * fake_dead_cid never answers, like a VM without yasmin.ko: a non-blocking
 * one stays in progress, a blocking one sleeps the connect timeout
 * (interruptible) and fails with ETIMEDOUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "shim/shim.h"
#include "fakevsock.h"

unsigned int fake_client_cid = 8;
unsigned int fake_dead_cid = 11;
unsigned int fake_self_cid = 7;

static struct yasmin_real orig;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct fake {
	ino_t ino;
	unsigned int lcid, lport, pcid, pport;
	int connected;
};
#define NFAKES	16384	/* entries are never freed: one per socket made */
static struct fake fakes[NFAKES];
static int nfakes;
static unsigned int next_port = 70000;	/* > 65535: folded ports */

static char *install_ns;	/* YASMIN_FAKE_NS at start-up */
static int accept_delay_ms;

/*
 * The fake host these sockets live in: YASMIN_FAKE_NS, else the pid. The
 * value at start-up is kept (nginx's workers drop the environment).
 */
static const char *fake_ns(char *buf, size_t len)
{
	const char *e = install_ns ? install_ns : getenv("YASMIN_FAKE_NS");

	if (e && *e)
		return e;
	snprintf(buf, len, "%d", (int)getpid());
	return buf;
}

static ino_t ino_of(int fd)
{
	struct stat st;

	return syscall(SYS_fstat, fd, &st) ? 0 : st.st_ino;
}

static struct fake *find_ino(int fd, ino_t ino, int create);
static struct fake *find_ino_locked(ino_t ino, int create);

/* The numbers at the end of an abstract "yfk-..." name, 0 if none. */
static int name_tail(const struct sockaddr_un *un, socklen_t ul,
		     const char *prefix, unsigned int *a, unsigned int *b)
{
	size_t off = offsetof(struct sockaddr_un, sun_path) + 1, n;
	char name[sizeof(un->sun_path)], *p;

	if (un->sun_family != AF_UNIX || ul <= off || ul > sizeof(*un) ||
	    un->sun_path[0])
		return 0;
	n = ul - off;
	memcpy(name, un->sun_path + 1, n);
	name[n] = 0;
	if (strncmp(name, prefix, strlen(prefix)) || !(p = strrchr(name, '-')))
		return 0;
	if (!b)
		return sscanf(p, "-%u", a) == 1;
	while (p > name && *--p != '-')
		;
	return sscanf(p, "-%u-%u", a, b) == 2;
}

/*
 * A fake socket this image did not make (it came across exec or
 * SCM_RIGHTS): a listener, or a connection it accepted, known by its
 * names. The shim finds such sockets by their family alone.
 */
static struct fake *recover(int fd, ino_t ino)
{
	struct sockaddr_un un;
	socklen_t ul = sizeof(un);
	unsigned int port, pcid = 0, pport = 0;
	struct fake *f;
	int connected;

	if (orig.getsockname(fd, (struct sockaddr *)&un, &ul) ||
	    !name_tail(&un, ul, "yfk-L-", &port, NULL))
		return NULL;
	ul = sizeof(un);
	connected = !orig.getpeername(fd, (struct sockaddr *)&un, &ul) &&
		    name_tail(&un, ul, "yfk-C-", &pcid, &pport);
	/* Filled under the lock: other threads look the table up meanwhile. */
	pthread_mutex_lock(&lock);
	f = find_ino_locked(ino, 1);
	if (f) {
		f->lcid = fake_self_cid;
		f->lport = port;
		if (connected) {
			f->pcid = pcid;
			f->pport = pport;
			f->connected = 1;
		}
	}
	pthread_mutex_unlock(&lock);
	return f;
}

static struct fake *find(int fd, int create)
{
	ino_t ino = ino_of(fd);
	struct fake *f;

	if (!ino)
		return NULL;
	f = find_ino(fd, ino, create);
	if (!f && !create && orig.getsockname)
		f = recover(fd, ino);
	return f;
}

/* Requires lock. */
static struct fake *find_ino_locked(ino_t ino, int create)
{
	struct fake *f = NULL;
	int i;

	for (i = 0; i < nfakes; i++)	/* newest first: the busy ones */
		if (fakes[nfakes - 1 - i].ino == ino) {
			f = &fakes[nfakes - 1 - i];
			break;
		}
	if (!f && create && nfakes < NFAKES) {
		f = &fakes[nfakes++];
		memset(f, 0, sizeof(*f));
		f->ino = ino;
	}
	return f;
}

static struct fake *find_ino(int fd, ino_t ino, int create)
{
	struct fake *f;

	(void)fd;
	pthread_mutex_lock(&lock);
	f = find_ino_locked(ino, create);
	pthread_mutex_unlock(&lock);
	return f;
}

/*
 * An entry's fields are written and read under the lock: an entry is
 * keyed by inode, and a closed socket's inode comes back for a new socket
 * in another thread, which ThreadSanitizer cannot see as ordered.
 */
static void set_local(struct fake *f, unsigned int cid, unsigned int port)
{
	pthread_mutex_lock(&lock);
	f->lcid = cid;
	f->lport = port;
	pthread_mutex_unlock(&lock);
}

static void set_peer(struct fake *f, unsigned int cid, unsigned int port,
		     int connected)
{
	pthread_mutex_lock(&lock);
	f->pcid = cid;
	f->pport = port;
	f->connected = connected;
	pthread_mutex_unlock(&lock);
}

static struct fake snapshot(const struct fake *f)
{
	struct fake v;

	pthread_mutex_lock(&lock);
	v = *f;
	pthread_mutex_unlock(&lock);
	return v;
}

int fake_is_vsock(int fd)
{
	return find(fd, 0) != NULL;
}

static socklen_t un_name(struct sockaddr_un *un, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static socklen_t un_name(struct sockaddr_un *un, const char *fmt, ...)
{
	va_list ap;
	int n;

	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	va_start(ap, fmt);
	n = vsnprintf(un->sun_path + 1, sizeof(un->sun_path) - 1, fmt, ap);
	va_end(ap);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void vm_out(unsigned int cid, unsigned int port, struct sockaddr *a,
		   socklen_t *len)
{
	struct sockaddr_vm va = { .svm_family = AF_VSOCK, .svm_cid = cid,
				  .svm_port = port };

	if (!a || !len)
		return;
	memcpy(a, &va, *len < sizeof(va) ? *len : sizeof(va));
	*len = sizeof(va);
}

static int f_socket(int d, int t, int p)
{
	int fd;

	if (d != AF_VSOCK)
		return orig.socket(d, t, p);
	fd = orig.socket(AF_UNIX, t, 0);
	if (fd >= 0 && !find(fd, 1))
		return orig.close(fd), errno = EMFILE, -1;
	return fd;
}

static int f_bind(int fd, const struct sockaddr *a, socklen_t len)
{
	const struct sockaddr_vm *va = (const void *)a;
	struct fake *f = find(fd, 0);
	struct sockaddr_un un;
	char ns[32];
	socklen_t ul;
	unsigned int port;

	if (!f)
		return orig.bind(fd, a, len);
	if (len < sizeof(*va) || va->svm_family != AF_VSOCK)
		return errno = EINVAL, -1;
	port = va->svm_port;
	if (port == VMADDR_PORT_ANY)
		port = __atomic_fetch_add(&next_port, 1, __ATOMIC_RELAXED);
	ul = un_name(&un, "yfk-L-%s-%u", fake_ns(ns, sizeof(ns)), port);
	if (orig.bind(fd, (struct sockaddr *)&un, ul))
		return -1;
	set_local(f, fake_self_cid, port);
	return 0;
}

static int f_connect(int fd, const struct sockaddr *a, socklen_t len)
{
	const struct sockaddr_vm *va = (const void *)a;
	struct fake *f = find(fd, 0);
	struct sockaddr_un un;
	char ns[32];
	socklen_t ul;
	unsigned int n;
	int fl;

	if (!f)
		return orig.connect(fd, a, len);
	if (len < sizeof(*va) || va->svm_family != AF_VSOCK)
		return errno = EINVAL, -1;
	if (va->svm_cid == fake_dead_cid) {
		/* A socket that never becomes writable: a listener. */
		int s = orig.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

		sa_family_t fam = AF_UNIX;	/* autobind */

		fl = orig.fcntl(fd, F_GETFL);
		if (s < 0 || orig.bind(s, (struct sockaddr *)&fam, sizeof(fam)) ||
		    orig.listen(s, 1) || orig.dup2(s, fd) < 0)
			return errno = ENOMEM, -1;
		orig.close(s);
		f = find(fd, 1);
		if (fl >= 0 && (fl & O_NONBLOCK))
			return errno = EINPROGRESS, -1;
		fl = getenv("YASMIN_CONNECT_TIMEOUT_MS") ?
		     atoi(getenv("YASMIN_CONNECT_TIMEOUT_MS")) : 3000;
		if (poll(NULL, 0, fl) < 0)
			return -1;	/* EINTR */
		return errno = ETIMEDOUT, -1;
	}
	n = __atomic_fetch_add(&next_port, 1, __ATOMIC_RELAXED);
	ul = un_name(&un, "yfk-C-%s-%u-%u", fake_ns(ns, sizeof(ns)),
		     fake_client_cid, n);
	if (orig.bind(fd, (struct sockaddr *)&un, ul))
		return -1;
	set_local(f, fake_client_cid, n);
	set_peer(f, va->svm_cid, va->svm_port, 0);
	ul = un_name(&un, "yfk-L-%s-%u", fake_ns(ns, sizeof(ns)), va->svm_port);
	if (orig.connect(fd, (struct sockaddr *)&un, ul)) {
		if (errno == ENOENT)
			errno = ECONNRESET;	/* nobody listens on vsock */
		return -1;
	}
	set_peer(f, va->svm_cid, va->svm_port, 1);
	return 0;
}

static int f_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	struct fake *f = find(fd, 0), *nf, lf;
	struct sockaddr_un un;
	socklen_t ul = sizeof(un);
	unsigned int cid, port;
	char *p;
	int nfd;

	if (!f)
		return orig.accept4(fd, a, len, flags);
	if (accept_delay_ms > 0)	/* a slow guest */
		poll(NULL, 0, accept_delay_ms);
	nfd = orig.accept4(fd, (struct sockaddr *)&un, &ul, flags);
	if (nfd < 0)
		return -1;
	nf = find(nfd, 1);
	/* "yfk-C-<ns>-<cid>-<port>": the ns may hold dashes, the numbers not */
	p = ul > offsetof(struct sockaddr_un, sun_path) + 1 &&
	    ul < sizeof(un) ? un.sun_path + 1 : NULL;
	if (p) {
		un.sun_path[ul - offsetof(struct sockaddr_un, sun_path)] = 0;
		p = strrchr(p, '-');
		while (p && p > un.sun_path + 1 && *--p != '-')
			;
	}
	if (!nf || !p || strncmp(un.sun_path + 1, "yfk-C-", 6) ||
	    sscanf(p, "-%u-%u", &cid, &port) != 2)
		return orig.close(nfd), errno = ECONNABORTED, -1;
	lf = snapshot(f);
	set_local(nf, lf.lcid, lf.lport);
	set_peer(nf, cid, port, 1);
	vm_out(cid, port, a, len);
	return nfd;
}

static int f_getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	struct fake *f = find(fd, 0), v;

	if (!f)
		return orig.getsockname(fd, a, len);
	v = snapshot(f);
	vm_out(v.lcid, v.lport, a, len);
	return 0;
}

static int f_getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	struct fake *f = find(fd, 0), v;

	if (!f)
		return orig.getpeername(fd, a, len);
	v = snapshot(f);
	if (!v.connected)
		return errno = ENOTCONN, -1;
	vm_out(v.pcid, v.pport, a, len);
	return 0;
}

static int f_setsockopt(int fd, int level, int name, const void *v,
			socklen_t l)
{
	if (level == AF_VSOCK && find(fd, 0))
		return 0;
	return orig.setsockopt(fd, level, name, v, l);
}

static int f_getsockopt(int fd, int level, int name, void *v, socklen_t *l)
{
	if (find(fd, 0)) {
		if (level == SOL_SOCKET && name == SO_DOMAIN && v && l &&
		    *l >= sizeof(int)) {
			*(int *)v = AF_VSOCK;
			*l = sizeof(int);
			return 0;
		}
		if (level == AF_VSOCK) {
			memset(v, 0, *l);
			return 0;
		}
	}
	return orig.getsockopt(fd, level, name, v, l);
}

static void fk_prepare(void) { pthread_mutex_lock(&lock); }
static void fk_release(void) { pthread_mutex_unlock(&lock); }

void fake_vsock_install(struct yasmin_real *r)
{
	const char *e = getenv("YASMIN_FAKE_CID");

	if (getenv("YASMIN_FAKE_NS") && *getenv("YASMIN_FAKE_NS"))
		install_ns = strdup(getenv("YASMIN_FAKE_NS"));
	if (getenv("YASMIN_FAKE_ACCEPT_DELAY_MS"))
		accept_delay_ms = atoi(getenv("YASMIN_FAKE_ACCEPT_DELAY_MS"));

	if (e && atoi(e) > 2) {
		fake_self_cid = fake_client_cid = atoi(e);
		/* Client ports of the processes sharing a fake host differ. */
		next_port = 70000 + (unsigned int)getpid() % 8192 * 64;
	}
	pthread_atfork(fk_prepare, fk_release, fk_release);
	orig = *r;
	r->socket = f_socket;
	r->bind = f_bind;
	r->connect = f_connect;
	r->accept4 = f_accept4;
	r->getsockname = f_getsockname;
	r->getpeername = f_getpeername;
	r->setsockopt = f_setsockopt;
	r->getsockopt = f_getsockopt;
}

/* The calls under the shim, for tests that want the kernel's own answer. */
int fake_orig_getsockopt(int fd, int level, int name, void *v, socklen_t *l)
{
	return orig.getsockopt(fd, level, name, v, l);
}
