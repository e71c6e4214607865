// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-mapd: the guest's side of the automatic map (yasmind(8)).
 *
 * Watches /local/domain/0/data/yasmin/<self>/map, which dom0's yasmind
 * fills with the peers this VM may reach (readable by this VM alone), and
 * keeps /run/yasmin/hosts.auto equal to it, replaced atomically by rename
 * so libyasmin.so never reads half a file. No entries (no policy for this
 * VM, or no yasmind) is a map with no peers. In /run, so no map outlives
 * the boot it was right for; and removed when we stop, since nobody keeps
 * it right then (programs go back to TCP, never to a stale peer).
 *
 * The domid is read again at every refresh: after save/restore or
 * migration the VM runs under a new one, its old map is gone, and the
 * watches the kernel re-registers on resume fire, so we move to the new
 * path at once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xenstore.h>
#include "policy.h"

#define DEFAULT_OUT "/run/yasmin/hosts.auto"

static struct xs_handle *xs;
static const char *out_path = DEFAULT_OUT;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("yasmin-mapd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void warn_cb(const char *msg, void *ctx)
{
	(void)ctx;
	logmsg("%s", msg);
}

/* Read the map directory consistently. Returns the number of entries,
 * 0 when there is none for us, -1 on a XenStore error. */
static int read_map(const char *path, char ***keys, char ***vals)
{
	xs_transaction_t t;
	unsigned n;
	char **dir;

again:
	*keys = NULL;
	*vals = NULL;
	t = xs_transaction_start(xs);
	if (t == XBT_NULL)
		return -1;
	dir = xs_directory(xs, t, path, &n);
	if (!dir) {
		int e = errno;

		xs_transaction_end(xs, t, true);
		/* absent, or not ours (yet): no peers */
		return e == ENOENT || e == EACCES ? 0 : -1;
	}
	*keys = calloc(n + 1, sizeof(char *));
	*vals = calloc(n + 1, sizeof(char *));
	for (unsigned i = 0; *keys && *vals && i < n; i++) {
		char p[256];
		unsigned len;

		snprintf(p, sizeof(p), "%s/%s", path, dir[i]);
		(*keys)[i] = strdup(dir[i]);
		(*vals)[i] = xs_read(xs, t, p, &len);
		if (!(*vals)[i])
			(*vals)[i] = strdup("");
	}
	free(dir);
	if (!xs_transaction_end(xs, t, false)) {
		for (unsigned i = 0; *keys && *vals && i < n; i++) {
			free((*keys)[i]);
			free((*vals)[i]);
		}
		free(*keys);
		free(*vals);
		if (errno == EAGAIN)
			goto again;
		return -1;
	}
	if (!*keys || !*vals)
		return -1;
	return (int)n;
}

/* Replace out_path with text unless it already holds exactly that. */
static int write_atomic(const char *text)
{
	size_t len = strlen(text);
	char *dircopy = strdup(out_path), *dir, tmp[4096], *old;
	FILE *f;
	int fd, rc = -1;

	if (!dircopy)
		return -1;
	dir = dirname(dircopy);
	f = fopen(out_path, "r");
	if (f) {
		old = malloc(len + 2);
		if (old) {
			size_t got = fread(old, 1, len + 1, f);

			if (got == len && !memcmp(old, text, len)) {
				free(old);
				fclose(f);
				free(dircopy);
				return 0;
			}
			free(old);
		}
		fclose(f);
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		logmsg("mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/.hosts.auto.XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0) {
		logmsg("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644) || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd)) {
		logmsg("%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, out_path)) {
		logmsg("rename %s: %s", out_path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	rc = 1;
out:
	free(dircopy);
	return rc;
}

static int refresh(const char *path, unsigned self)
{
	char **keys, **vals, *text;
	int n = read_map(path, &keys, &vals), rc, lines = 0;

	if (n < 0) {
		logmsg("%s: %s; keeping %s", path, strerror(errno), out_path);
		return -1;
	}
	text = yd_map_render(self, (const char *const *)keys,
			     (const char *const *)vals, (size_t)n, warn_cb, NULL);
	for (int i = 0; i < n; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
	if (!text)
		return -1;
	rc = write_atomic(text);
	if (rc > 0) {
		for (char *p = text; *p; p++)
			lines += *p == '\n' && p[1] && p[1] != '#';
		logmsg("%s: %d address%s", out_path, lines,
		       lines == 1 ? "" : "es");
	}
	free(text);
	return rc < 0 ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: yasmin-mapd [-o FILE] [-d DOMID] [-1]\n"
		"  -o FILE   the map to write (default " DEFAULT_OUT ")\n"
		"  -d DOMID  this VM's domid (default: XenStore's \"domid\")\n"
		"  -1        write the map once and exit\n");
}

/* This VM's domid: XenStore's "domid", relative to our own home. */
static int read_self(unsigned *self)
{
	unsigned len;
	char *v = xs_read(xs, XBT_NULL, "domid", &len);
	int rc = v && !yd_parse_domid(v, self) ? 0 : -1;

	free(v);
	return rc;
}

/* Follow a change of domid: watch the new map, forget the old one. */
static int follow(unsigned *self, bool fixed, char *path, size_t len)
{
	unsigned now = *self;
	char old[128];

	if (!fixed && read_self(&now))
		return -1;
	if (path[0] && now == *self)
		return 0;
	snprintf(old, sizeof(old), "%s", path);
	snprintf(path, len, YD_BASE "/%u/map", now);
	if (old[0]) {
		xs_unwatch(xs, old, "map");
		logmsg("this VM is now domain %u (was %u)", now, *self);
	}
	*self = now;
	if (!xs_watch(xs, path, "map")) {
		logmsg("cannot watch %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned self = 0;
	bool fixed = false, once = false;
	char path[128] = "";
	struct pollfd pfd[2];
	sigset_t sigs;
	int opt, sfd;

	while ((opt = getopt(argc, argv, "o:d:1h")) != -1) {
		switch (opt) {
		case 'o': out_path = optarg; break;
		case 'd':
			if (yd_parse_domid(optarg, &self)) {
				logmsg("'%s' is not a domain id", optarg);
				return 2;
			}
			fixed = true;
			break;
		case '1': once = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	xs = xs_open(0);
	if (!xs) {
		logmsg("cannot open XenStore: %s (is this a Xen guest with xenfs or /dev/xen/xenbus?)",
		       strerror(errno));
		return 1;
	}
	if (!fixed && read_self(&self)) {
		logmsg("cannot read this VM's domid from XenStore; give -d");
		return 1;
	}
	if (once) {
		int rc;

		snprintf(path, sizeof(path), YD_BASE "/%u/map", self);
		rc = refresh(path, self);
		xs_close(xs);
		return rc ? 1 : 0;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0 || follow(&self, fixed, path, sizeof(path)))
		return 1;
	/* our own "domid" key is rewritten when we come back under a new one */
	if (!fixed)
		xs_watch(xs, "domid", "domid");
	logmsg("domain %u: watching %s, writing %s", self, path, out_path);
	pfd[0] = (struct pollfd){ .fd = xs_fileno(xs), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (int timeout = 0;;) {
		int rc = poll(pfd, 2, timeout);
		bool dirty = rc == 0;

		if (rc < 0 && errno != EINTR) {
			logmsg("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGHUP) {
					if (unlink(out_path) && errno != ENOENT)
						logmsg("unlink %s: %s", out_path,
						       strerror(errno));
					break;
				}
				dirty = true;
			}
		}
		if (pfd[0].revents & POLLIN) {
			char **w;

			while ((w = xs_check_watch(xs))) {
				free(w);
				dirty = true;
			}
		}
		/* a failed read is retried soon; otherwise resync slowly */
		if (dirty)
			timeout = follow(&self, fixed, path, sizeof(path)) ||
				  refresh(path, self) ? 2000 : 60000;
	}
	xs_close(xs);
	return 0;
}
