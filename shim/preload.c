// SPDX-License-Identifier: GPL-2.0
/*
 * libyasmin.so: move an unmodified TCP program onto AF_VSOCK when its peer
 * is a VM on the same Xen host, per the map file (map.c).
 *
 * This file holds what every part shares: the real calls (dlsym
 * RTLD_NEXT), the configuration, the map and the fork handlers. The
 * interposers live by concern in fdtab.c, connect.c, listen.c, names.c,
 * opts.c and exec.c (see shim.h and README.md). A failure of the shim itself never
 * aborts the program: it falls back to the real call.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/vm_sockets.h>

#include "map.h"
#include "shim.h"

/*
 * Without YASMIN_CONF the map is the hand-written /etc/yasmin/hosts when
 * there is one, else /run/yasmin/hosts.auto, which yasmin-mapd keeps in
 * step with dom0's yasmind. A hand-written map wins whole (no merging):
 * an operator who writes one knows exactly what is used. Which file
 * applies is decided again at every check, so writing or removing hosts
 * takes effect in running programs too. hosts.auto lives in /run, so it
 * cannot outlive the boot it was written for, and it must list this VM's
 * own domid (mapd always does), or it is not used at all.
 */
#define HAND_MAP	"/etc/yasmin/hosts"
#define AUTO_MAP	"/run/yasmin/hosts.auto"

HIDDEN struct yasmin_real real;
HIDDEN int yasmin_disabled, yasmin_debug;
/*
 * How long a vsock connect may take before the shim gives up and uses
 * TCP. A peer VM without yasmin.ko never answers, so this bounds the extra
 * delay such a connection pays, once per TTL (connect.c).
 */
HIDDEN long yasmin_connect_timeout_ms = 3000;
HIDDEN long yasmin_nonblock_wait_ms = 1000;
HIDDEN long yasmin_negative_ttl_s = 60;

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct yasmin_map map;
static const char *conf_env;	/* YASMIN_CONF, NULL when unset */
static char hand_path[256], auto_path[256];
static const char *conf_path;	/* the file the map comes from */
static struct stat conf_st;
static int conf_present;
static time_t conf_checked;
static long self_domid = -2;	/* -2: not asked yet, -1: unknown */
static long test_self_domid = -2;	/* YASMIN_TEST_SELF_DOMID, host tests */

HIDDEN void yasmin_dbg(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (!yasmin_debug)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fprintf(stderr, "yasmin[%d]: %s\n", (int)getpid(), buf);
}

static void map_warn(const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "yasmin: %s\n", msg);
}

/* The map file's size limit: far past any real map, short of any harm. */
#define MAP_MAX_BYTES	(16u << 20)

/* A file that could not be used, and why: reported once, not every second. */
static int conf_errno;
static struct stat conf_bad_st;

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       /* a chmod that makes an unreadable map readable */
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Read the whole of what @fd is, up to EOF: a file replaced while we read
 * is read whole, never cut at the size stat() saw before. Returns the
 * text (NUL-terminated, to free) or NULL with errno set.
 */
static char *read_whole(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1), *big;
	ssize_t got;

	while (buf) {
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return NULL;
		}
		if (!got) {
			buf[n] = 0;
			*len = n;
			return buf;
		}
		n += got;
		if (n < cap)
			continue;
		if (cap >= MAP_MAX_BYTES) {
			free(buf);
			errno = EFBIG;
			return NULL;
		}
		cap *= 2;
		big = realloc(buf, cap + 1);
		if (!big)
			free(buf);
		buf = big;
	}
	errno = ENOMEM;
	return NULL;
}

/* The map cannot be used: say why once per cause and file, stay TCP. */
static void map_unusable_locked(const char *why, int err,
				const struct stat *st)
{
	struct stat none;

	if (!st) {
		memset(&none, 0, sizeof(none));
		st = &none;
	}
	if (conf_present || err != conf_errno || !same_file(st, &conf_bad_st)) {
		if (err == ENOENT)
			dbg("map %s: no such file: everything stays TCP",
			    conf_path);
		else
			fprintf(stderr, "yasmin: cannot use %s: %s; everything stays TCP\n",
				conf_path, why ? why : strerror(err));
	}
	conf_present = 0;
	conf_errno = err;
	conf_bad_st = *st;
	yasmin_map_free(&map);
}

/*
 * The map file that applies now. Only a hand-written map that is not
 * there gives way to hosts.auto: one this process cannot stat (EACCES
 * after a worker dropped root, a loop of symlinks) stays the choice, and
 * is reported as unusable, so workers never route by another map than
 * their master's.
 */
static const char *map_path(void)
{
	struct stat st;

	if (conf_env)
		return conf_env;
	if (!stat(hand_path, &st) || (errno != ENOENT && errno != ENOTDIR))
		return hand_path;
	return auto_path;
}

/*
 * Re-read the map when the file changed; checked at most once a second.
 * The file is opened first and its identity taken from the open file
 * (fstat), so what is read and what is remembered are the same version
 * even when it is replaced meanwhile. Non-blocking, so a FIFO cannot hang
 * every connect; only a regular file is a map.
 */
static void map_refresh_locked(void)
{
	time_t now = time(NULL);
	const char *path;
	long self;
	struct stat st;
	char *text;
	size_t len = 0;
	int fd;

	if (now == conf_checked)
		return;
	conf_checked = now;
	path = map_path();
	if (path != conf_path) {
		/* another file applies: nothing of the last one holds */
		conf_path = path;
		conf_present = 0;
		conf_errno = 0;
		yasmin_map_free(&map);
	}
	if (stat(conf_path, &st)) {
		map_unusable_locked(NULL, errno, NULL);
		return;
	}
	if (conf_present && same_file(&st, &conf_st))
		return;
	/* The same unusable file as last time: nothing new to say or do. */
	if (!conf_present && conf_errno && same_file(&st, &conf_bad_st))
		return;
	fd = open(conf_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		map_unusable_locked(NULL, errno, &st);
		return;
	}
	if (fstat(fd, &st)) {
		map_unusable_locked(NULL, errno, NULL);
		real.close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		map_unusable_locked("not a regular file", EINVAL, &st);
		real.close(fd);
		return;
	}
	text = read_whole(fd, &len);
	real.close(fd);
	if (!text) {
		map_unusable_locked(errno == EFBIG ? "larger than 16 MiB" : NULL,
				    errno, &st);
		return;
	}
	if (yasmin_map_parse(&map, text, len, conf_path, map_warn, NULL) < 0)
		fprintf(stderr, "yasmin: out of memory reading %s\n", conf_path);
	free(text);
	/*
	 * A new map may follow a new domid (the VM was saved and restored,
	 * or migrated): ask vsock again rather than trust what this process
	 * learnt before.
	 */
	__atomic_store_n(&self_domid, -2, __ATOMIC_RELAXED);
	self = conf_path == auto_path ? yasmin_self_domid() : -1;
	if (self >= 0 && !yasmin_map_by_domid(&map, self)) {
		map_unusable_locked("written for another VM: it does not list this one's domid",
				    EINVAL, &st);
		return;
	}
	conf_st = st;
	conf_present = 1;
	conf_errno = 0;
	dbg("map %s: %zu entries", conf_path, map.n);
}

HIDDEN long yasmin_map_domid(const struct in6_addr *ip)
{
	const struct yasmin_map_entry *e;
	long d;

	pthread_mutex_lock(&map_lock);
	map_refresh_locked();
	e = yasmin_map_by_addr(&map, ip);
	d = e ? (long)e->domid : -1;
	pthread_mutex_unlock(&map_lock);
	return d;
}

HIDDEN int yasmin_map_ip(long domid, struct in6_addr *ip)
{
	const struct yasmin_map_entry *e = NULL;

	pthread_mutex_lock(&map_lock);
	map_refresh_locked();
	if (domid >= 0)
		e = yasmin_map_by_domid(&map, domid);
	if (e)
		*ip = e->addr;
	pthread_mutex_unlock(&map_lock);
	return e ? 0 : -1;
}

/* Does the map give @ip to @domid (one of its several IPs)? */
HIDDEN int yasmin_map_has(long domid, const struct in6_addr *ip)
{
	return domid >= 0 && yasmin_map_domid(ip) == domid;
}

HIDDEN long yasmin_self_domid(void)
{
	unsigned int cid;
	long d = __atomic_load_n(&self_domid, __ATOMIC_RELAXED);
	int fd;

	if (d != -2)
		return d;
	d = -1;
	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (!ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) &&
		    cid >= 2 && cid != VMADDR_CID_ANY)
			d = cid - 2;
		real.close(fd);
	}
	if (test_self_domid != -2)	/* host unit tests */
		d = test_self_domid;
	__atomic_store_n(&self_domid, d, __ATOMIC_RELAXED);
	return d;
}

HIDDEN const char *yasmin_ip_str(const struct in6_addr *ip, char *buf,
				 size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(ip))
		return inet_ntop(AF_INET, &ip->s6_addr[12], buf, len);
	return inet_ntop(AF_INET6, ip, buf, len);
}

/*
 * fork(): take every lock first so that the child never inherits one held
 * by a thread that does not exist there, nor a table half reallocated.
 */
static void atfork_prepare(void)
{
	yasmin_listen_atfork(ATFORK_PREPARE);
	yasmin_connect_atfork(ATFORK_PREPARE);
	yasmin_fdtab_atfork(ATFORK_PREPARE);
	pthread_mutex_lock(&map_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&map_lock);
	yasmin_fdtab_atfork(ATFORK_PARENT);
	yasmin_connect_atfork(ATFORK_PARENT);
	yasmin_listen_atfork(ATFORK_PARENT);
}

static void atfork_child(void)
{
	pthread_mutex_unlock(&map_lock);
	yasmin_fdtab_atfork(ATFORK_CHILD);
	yasmin_connect_atfork(ATFORK_CHILD);
	yasmin_listen_atfork(ATFORK_CHILD);
}

static long env_long(const char *name, long def)
{
	const char *e = getenv(name);

	return e && atol(e) > 0 ? atol(e) : def;
}

#ifdef YASMIN_TEST_HOOK
/* Host unit tests swap in a fake AF_VSOCK (tests/unit/fakevsock.c). */
void YASMIN_TEST_HOOK(struct yasmin_real *r);
#endif

#define LOAD(f) (r.f = (typeof(r.f))dlsym(RTLD_NEXT, #f))

__attribute__((constructor)) static void yasmin_init(void)
{
	static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
	int (*sock)(int, int, int);
	struct yasmin_real r;
	const char *e;

	pthread_mutex_lock(&init_lock);
	if (real.socket) {
		pthread_mutex_unlock(&init_lock);
		return;
	}
	LOAD(socket); LOAD(connect); LOAD(bind); LOAD(listen);
	LOAD(accept4); LOAD(getsockname); LOAD(getpeername);
	LOAD(setsockopt); LOAD(getsockopt); LOAD(close); LOAD(dup);
	LOAD(dup2); LOAD(dup3); LOAD(fcntl); LOAD(fcntl64); LOAD(execve);
	if (!r.fcntl64)
		r.fcntl64 = r.fcntl;
#ifdef YASMIN_TEST_HOOK
	YASMIN_TEST_HOOK(&r);
#endif
	e = getenv("YASMIN_DISABLE");
	yasmin_disabled = e && *e && strcmp(e, "0");
	e = getenv("YASMIN_DEBUG");
	yasmin_debug = e && *e && strcmp(e, "0");
	yasmin_connect_timeout_ms = env_long("YASMIN_CONNECT_TIMEOUT_MS",
					     yasmin_connect_timeout_ms);
	yasmin_nonblock_wait_ms = env_long("YASMIN_NONBLOCK_WAIT_MS",
					   yasmin_nonblock_wait_ms);
	yasmin_negative_ttl_s = env_long("YASMIN_NEGATIVE_TTL",
					 yasmin_negative_ttl_s);
	/*
	 * A copy: the environment block is the program's, and some write
	 * over it (nginx, and others that set their process title, reuse
	 * its memory; nginx's workers also drop every variable).
	 */
	e = getenv("YASMIN_CONF");
	conf_env = e && *e ? strdup(e) : NULL;
	snprintf(hand_path, sizeof(hand_path), "%s", HAND_MAP);
	snprintf(auto_path, sizeof(auto_path), "%s", AUTO_MAP);
#ifdef YASMIN_TEST_ETC
	/* host tests keep their map files out of /etc and /run */
	e = getenv("YASMIN_TEST_ETC");
	if (e) {
		snprintf(hand_path, sizeof(hand_path), "%s/hosts", e);
		snprintf(auto_path, sizeof(auto_path), "%s/hosts.auto", e);
	}
#endif
	conf_path = conf_env ? conf_env : hand_path;
	yasmin_exec_init();
#if defined(YASMIN_TEST_HOOK) || defined(YASMIN_TEST_ETC)
	/* host tests only: a production shim takes its domid from vsock */
	e = getenv("YASMIN_TEST_SELF_DOMID");
	if (e && *e)
		test_self_domid = atol(e);
#endif
	conf_checked = -1;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* Last: real.socket set means "ready" to the other threads. */
	sock = r.socket;
	r.socket = NULL;
	real = r;
	__atomic_store_n(&real.socket, sock, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&init_lock);
	if (yasmin_disabled)
		dbg("disabled by YASMIN_DISABLE");
	else
		yasmin_listen_adopt_inherited();
}

HIDDEN int yasmin_ready(void)
{
	if (!__atomic_load_n(&real.socket, __ATOMIC_ACQUIRE))
		yasmin_init();
	return real.socket != NULL;
}
