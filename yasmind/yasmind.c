// SPDX-License-Identifier: GPL-2.0
/*
 * yasmind: dom0's rendezvous daemon (yasmind(8)).
 *
 * It keeps YD_BASE (kmod/proto.h) equal to what the policy file allows for
 * the domains that run now: each allowed ordered pair's directory with the
 * two-endpoint ACL yasmin-xs sets, each domain's own directory readable by
 * it alone, and in it "map", the peers that domain may reach as
 * IP -> domid, for yasmin-mapd. A dead domain's entries go as soon as its
 * @releaseDomain arrives; everything still valid is left as it is, so a
 * restart of yasmind, or a reload, drops no live connection.
 *
 * The decisions are policy.c's (pure, unit-tested); this file only reads
 * Xen and XenStore and applies them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenstore.h>
#include "policy.h"

#define DEFAULT_CONF "/etc/yasmin/yasmind.conf"
#define VIF_BACKEND "/local/domain/0/backend/vif"
/* dom0-only: the handle of the domain each domid had when we last looked,
 * so a yasmind that was not running when a domid was recycled still
 * notices. */
#define STATE "/local/domain/0/data/yasmind"
#define MAX_DOMS 4096

static const char *conf_path = DEFAULT_CONF;
static struct xs_handle *xs;
static xc_interface *xc;
static struct yd_policy policy;
static bool dry_run;

/* What we last saw at each domid, to notice a domid that was recycled. */
static struct {
	bool seen;
	xen_domain_handle_t handle;
	bool saved;		/* STATE/<domid> holds handle */
	bool name_watched;
} known[YD_MAX_DOMID + 1];

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("yasmind: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void warn_cb(const char *msg, void *ctx)
{
	(void)ctx;
	logmsg("%s", msg);
}

/*
 * Read and parse the policy. A missing file is the empty policy (nothing
 * allowed). Returns 0 with *out set, or -1 (errors logged, *out empty).
 */
static int load_policy(const char *path, struct yd_policy *out)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int errors;

	memset(out, 0, sizeof(*out));
	if (!f) {
		if (errno == ENOENT) {
			logmsg("%s: no such file: no VM may talk to any other", path);
			return 0;
		}
		logmsg("%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got;

		if (len + 4096 > cap) {
			char *t = realloc(text, cap + 65536);

			if (!t) {
				free(text);
				fclose(f);
				logmsg("%s: out of memory", path);
				return -1;
			}
			text = t;
			cap += 65536;
		}
		got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		logmsg("%s: read error", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	errors = yd_policy_parse(out, text ? text : "", len, path, warn_cb, NULL);
	free(text);
	if (errors) {
		logmsg("%s: %d error%s: policy not used", path,
		       errors < 0 ? 1 : errors, errors == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

static char *xread(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xread(const char *fmt, ...)
{
	char path[256];
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(xs, XBT_NULL, path, &len);
}

/* Numeric children of path (canonical domids), sorted as XenStore lists. */
static size_t list_domids(const char *path, unsigned *out, size_t max)
{
	unsigned n = 0;
	char **dir = xs_directory(xs, XBT_NULL, path, &n);
	size_t k = 0;

	for (unsigned i = 0; dir && i < n && k < max; i++)
		if (!yd_parse_domid(dir[i], &out[k]))
			k++;
	free(dir);
	return k;
}

struct live {
	struct yd_dom doms[MAX_DOMS];
	char *names[MAX_DOMS];
	char ips[MAX_DOMS][512];
	xen_domain_handle_t handles[MAX_DOMS];
	size_t n;
	bool unnamed;
};

static void live_free(struct live *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	l->n = 0;
}

/* The domains that run now (not dying), their names and vif addresses. */
static int gather(struct live *l)
{
	static xc_domaininfo_t info[256];
	uint32_t first = 0;
	int got;

	l->n = 0;
	l->unnamed = false;
	do {
		got = xc_domain_getinfolist(xc, first, 256, info);
		if (got < 0) {
			logmsg("xc_domain_getinfolist: %s", strerror(errno));
			live_free(l);
			return -1;
		}
		for (int i = 0; i < got && l->n < MAX_DOMS; i++) {
			unsigned d = info[i].domain, devs[64];
			size_t k = l->n, ndev, used = 0;

			first = d + 1;
			if (d > YD_MAX_DOMID || (info[i].flags & XEN_DOMINF_dying))
				continue;
			l->names[k] = xread("/local/domain/%u/name", d);
			if (!l->names[k])
				l->unnamed = true;
			l->ips[k][0] = '\0';
			{
				char p[96];

				snprintf(p, sizeof(p), VIF_BACKEND "/%u", d);
				ndev = list_domids(p, devs, 64);
			}
			for (size_t j = 0; j < ndev; j++) {
				char *ip = xread(VIF_BACKEND "/%u/%u/ip", d, devs[j]);

				if (ip && used + 2 < sizeof(l->ips[k])) {
					if (used)
						l->ips[k][used++] = ' ';
					yd_ips_normalise(ip, l->ips[k] + used,
							 sizeof(l->ips[k]) - used);
					used = strlen(l->ips[k]);
					if (used && l->ips[k][used - 1] == ' ')
						l->ips[k][--used] = '\0';
				}
				free(ip);
			}
			memcpy(l->handles[k], info[i].handle, sizeof(l->handles[k]));
			l->doms[k] = (struct yd_dom){ d, l->names[k], l->ips[k] };
			l->n++;
		}
	} while (got == 256);
	return 0;
}

static void read_tree(struct yd_tree *t)
{
	static unsigned doms[MAX_DOMS], kids[MAX_DOMS];
	static struct yd_pair pairs[65536];

	t->doms = doms;
	t->pairs = pairs;
	t->npairs = 0;
	t->ndoms = list_domids(YD_BASE, doms, MAX_DOMS);
	for (size_t i = 0; i < t->ndoms; i++) {
		char p[96];
		size_t n;

		snprintf(p, sizeof(p), YD_BASE "/%u", doms[i]);
		n = list_domids(p, kids, MAX_DOMS);
		for (size_t j = 0; j < n && t->npairs < 65536; j++)
			pairs[t->npairs++] = (struct yd_pair){ doms[i], kids[j] };
	}
}

static void rm_node(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rm_node(const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (dry_run) {
		printf("rm %s\n", path);
		return;
	}
	if (!xs_rm(xs, XBT_NULL, path) && errno != ENOENT)
		logmsg("xs_rm %s: %s", path, strerror(errno));
}

/* Create path if missing (keeping its contents if not) and set its ACL. */
static void ensure(const char *path, struct xs_permissions *perms, unsigned n)
{
	unsigned len, have_n = 0;
	char *v = xs_read(xs, XBT_NULL, path, &len);
	struct xs_permissions *have;
	bool same;

	free(v);
	if (!v) {
		if (dry_run) {
			printf("mk %s\n", path);
			return;
		}
		if (!xs_write(xs, XBT_NULL, path, "", 0)) {
			logmsg("xs_write %s: %s", path, strerror(errno));
			return;
		}
	}
	have = xs_get_permissions(xs, XBT_NULL, path, &have_n);
	same = have && have_n == n;
	for (unsigned i = 0; same && i < n; i++)
		same = have[i].id == perms[i].id &&
		       (have[i].perms & (XS_PERM_READ | XS_PERM_WRITE)) == perms[i].perms;
	free(have);
	if (same)
		return;
	if (dry_run) {
		printf("chmod %s\n", path);
		return;
	}
	if (!xs_set_permissions(xs, XBT_NULL, path, perms, n))
		logmsg("xs_set_permissions %s: %s", path, strerror(errno));
}

/* Everything a domain had, at once: its directory and <a>/<d> for all a. */
static void remove_domain(unsigned d)
{
	unsigned doms[MAX_DOMS];
	size_t n = list_domids(YD_BASE, doms, MAX_DOMS);

	rm_node(YD_BASE "/%u", d);
	for (size_t i = 0; i < n; i++)
		rm_node(YD_BASE "/%u/%u", doms[i], d);
}

/* Make YD_BASE/<d>/map hold exactly the entries of d's map. */
static void publish_map(const struct yd_plan *plan, const struct live *l,
			unsigned d)
{
	struct xs_permissions perms[2] = {
		{ 0, XS_PERM_NONE }, { d, XS_PERM_READ } };
	struct yd_map_entry *e;
	char path[96], key[128];
	char **have;
	unsigned nhave = 0;
	int n = yd_map_for(plan, l->doms, l->n, d, &e);
	xs_transaction_t t;

	if (n < 0) {
		logmsg("out of memory building the map of %u", d);
		return;
	}
	snprintf(path, sizeof(path), YD_BASE "/%u/map", d);
	ensure(path, perms, 2);
again:
	t = dry_run ? XBT_NULL : xs_transaction_start(xs);
	have = xs_directory(xs, t, path, &nhave);
	for (unsigned i = 0; have && i < nhave; i++) {
		unsigned k;
		bool keep = false;

		if (!yd_parse_domid(have[i], &k))
			for (int j = 0; j < n; j++)
				keep |= e[j].domid == k;
		if (!keep) {
			snprintf(key, sizeof(key), "%s/%s", path, have[i]);
			if (dry_run)
				printf("rm %s\n", key);
			else
				xs_rm(xs, t, key);
		}
	}
	free(have);
	for (int j = 0; j < n; j++) {
		unsigned len;
		char *v;

		snprintf(key, sizeof(key), "%s/%u", path, e[j].domid);
		v = xs_read(xs, t, key, &len);
		if (!v || strcmp(v, e[j].value)) {
			if (dry_run)
				printf("write %s = %s\n", key, e[j].value);
			else if (xs_write(xs, t, key, e[j].value, strlen(e[j].value)))
				xs_set_permissions(xs, t, key, perms, 2);
		}
		free(v);
	}
	if (!dry_run && !xs_transaction_end(xs, t, false)) {
		if (errno == EAGAIN)
			goto again;
		logmsg("map of %u: %s", d, strerror(errno));
	}
	yd_map_free(e, n);
}

/* Watch each running domain's name: a rename (xl rename, migration) may
 * change what the policy gives it. */
static void watch_names(const struct live *l)
{
	bool run[YD_MAX_DOMID + 1] = { false };
	char p[64];

	for (size_t i = 0; i < l->n; i++)
		run[l->doms[i].domid] = true;
	for (unsigned d = 0; d <= YD_MAX_DOMID; d++) {
		if (run[d] == known[d].name_watched)
			continue;
		snprintf(p, sizeof(p), "/local/domain/%u/name", d);
		if (run[d])
			known[d].name_watched = xs_watch(xs, p, "name");
		else {
			xs_unwatch(xs, p, "name");
			known[d].name_watched = false;
		}
	}
}

static void handle_hex(const xen_domain_handle_t h, char *out)
{
	for (size_t i = 0; i < sizeof(xen_domain_handle_t); i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* What the previous yasmind saw: STATE/<domid> = handle in hex. */
static void load_known(void)
{
	static unsigned doms[MAX_DOMS];
	size_t n = list_domids(STATE, doms, MAX_DOMS);

	for (size_t i = 0; i < n; i++) {
		char *v = xread(STATE "/%u", doms[i]);
		unsigned d = doms[i];

		if (v && strlen(v) == 2 * sizeof(xen_domain_handle_t)) {
			for (size_t j = 0; j < sizeof(xen_domain_handle_t); j++) {
				unsigned x;

				sscanf(v + 2 * j, "%2x", &x);
				known[d].handle[j] = (uint8_t)x;
			}
			known[d].seen = known[d].saved = true;
		}
		free(v);
	}
}

static void save_known(void)
{
	struct xs_permissions perms[1] = { { 0, XS_PERM_NONE } };
	char path[64], hex[2 * sizeof(xen_domain_handle_t) + 1];

	if (dry_run)
		return;
	ensure(STATE, perms, 1);
	for (unsigned d = 0; d <= YD_MAX_DOMID; d++) {
		if (!known[d].seen || known[d].saved)
			continue;
		snprintf(path, sizeof(path), STATE "/%u", d);
		handle_hex(known[d].handle, hex);
		known[d].saved = xs_write(xs, XBT_NULL, path, hex, strlen(hex));
	}
}

static int reconcile(void)
{
	static struct live l;
	struct yd_tree tree;
	struct yd_plan plan;
	struct xs_permissions base_perms[1] = { { 0, XS_PERM_NONE } };
	bool running[YD_MAX_DOMID + 1] = { false };
	char path[96];

	if (gather(&l))
		return -1;
	/* A domid whose domain changed under us (it died and the id was
	 * given again before we looked): the old one's entries go first. */
	for (size_t i = 0; i < l.n; i++) {
		unsigned d = l.doms[i].domid;

		running[d] = true;
		if (known[d].seen &&
		    memcmp(known[d].handle, l.handles[i], sizeof(l.handles[i]))) {
			logmsg("domid %u now belongs to another domain: removing the old one's entries", d);
			remove_domain(d);
			known[d].saved = false;
		}
		if (!known[d].seen)
			known[d].saved = false;
		known[d].seen = true;
		memcpy(known[d].handle, l.handles[i], sizeof(known[d].handle));
	}
	for (unsigned d = 0; d <= YD_MAX_DOMID; d++) {
		if (running[d])
			continue;
		if (known[d].saved && !dry_run)
			rm_node(STATE "/%u", d);
		known[d].seen = known[d].saved = false;
	}

	read_tree(&tree);
	if (yd_plan_compute(&policy, l.doms, l.n, &tree, &plan)) {
		logmsg("out of memory");
		live_free(&l);
		return -1;
	}
	for (size_t i = 0; i < plan.n_rm_doms; i++) {
		logmsg("domain %u is gone: removing its rendezvous", plan.rm_doms[i]);
		rm_node(YD_BASE "/%u", plan.rm_doms[i]);
	}
	for (size_t i = 0; i < plan.n_rm_pairs; i++) {
		logmsg("%u/%u: not allowed (any more): removed",
		       plan.rm_pairs[i].a, plan.rm_pairs[i].b);
		rm_node(YD_BASE "/%u/%u", plan.rm_pairs[i].a, plan.rm_pairs[i].b);
	}
	/* Parents first: a node created on the way inherits its parent's ACL. */
	ensure(YD_BASE, base_perms, 1);
	for (size_t i = 0; i < plan.ndoms; i++) {
		struct xs_permissions p[2] = {
			{ 0, XS_PERM_NONE }, { plan.doms[i], XS_PERM_READ } };

		snprintf(path, sizeof(path), YD_BASE "/%u", plan.doms[i]);
		ensure(path, p, 2);
	}
	for (size_t i = 0; i < plan.npairs; i++) {
		unsigned a = plan.pairs[i].a, b = plan.pairs[i].b;
		struct xs_permissions p[3] = {
			{ 0, XS_PERM_NONE }, { a, XS_PERM_READ | XS_PERM_WRITE }, { b, XS_PERM_READ | XS_PERM_WRITE } };

		snprintf(path, sizeof(path), YD_BASE "/%u/%u", a, b);
		ensure(path, p, 3);
	}
	for (size_t i = 0; i < plan.ndoms; i++)
		publish_map(&plan, &l, plan.doms[i]);
	save_known();
	if (!dry_run)
		watch_names(&l);
	yd_plan_free(&plan);
	live_free(&l);
	return l.unnamed ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: yasmind [-c FILE] [-t | -n | -1]\n"
		"  -c FILE  policy file (default " DEFAULT_CONF ")\n"
		"  -t       check the policy file and exit: 0 good, 1 not\n"
		"  -n       print what one pass would change, change nothing, exit\n"
		"  -1       one pass, then exit (no watching)\n"
		"Runs in the foreground, logs to stderr; SIGHUP reloads the policy.\n");
}

int main(int argc, char **argv)
{
	bool check_only = false, once = false;
	struct pollfd pfd[2];
	sigset_t sigs;
	int opt, sfd;

	while ((opt = getopt(argc, argv, "c:tn1h")) != -1) {
		switch (opt) {
		case 'c': conf_path = optarg; break;
		case 't': check_only = true; break;
		case 'n': dry_run = once = true; break;
		case '1': once = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (check_only) {
		int rc = load_policy(conf_path, &policy);

		if (!rc)
			printf("%s: good: %zu group%s, default %s\n", conf_path,
			       policy.n, policy.n == 1 ? "" : "s",
			       policy.default_all ? "all" : "none");
		yd_policy_free(&policy);
		return rc ? 1 : 0;
	}
	if (load_policy(conf_path, &policy))
		return 1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	xs = xs_open(0);
	if (!xs) {
		logmsg("cannot open XenStore: %s", strerror(errno));
		return 1;
	}
	xc = xc_interface_open(NULL, NULL, 0);
	if (!xc) {
		logmsg("cannot open the hypervisor interface: %s", strerror(errno));
		return 1;
	}
	load_known();
	if (once) {
		int rc = reconcile();

		xc_interface_close(xc);
		xs_close(xs);
		return rc < 0 ? 1 : 0;
	}
	if (sfd < 0 ||
	    !xs_watch(xs, "@introduceDomain", "domains") ||
	    !xs_watch(xs, "@releaseDomain", "domains") ||
	    !xs_watch(xs, VIF_BACKEND, "vif")) {
		logmsg("cannot set up watches: %s", strerror(errno));
		return 1;
	}
	logmsg("running: policy %s (%zu group%s, default %s)", conf_path,
	       policy.n, policy.n == 1 ? "" : "s",
	       policy.default_all ? "all" : "none");
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
					/* Leave everything in place: the next
					 * yasmind reconciles, nothing drops. */
					logmsg("exiting; rendezvous left in place");
					break;
				}
				{
					struct yd_policy np;

					if (!load_policy(conf_path, &np)) {
						yd_policy_free(&policy);
						policy = np;
						logmsg("policy reloaded (%zu group%s, default %s)",
						       policy.n, policy.n == 1 ? "" : "s",
						       policy.default_all ? "all" : "none");
						dirty = true;
					} else {
						logmsg("keeping the previous policy");
					}
				}
			}
		}
		if (pfd[0].revents & POLLIN) {
			char **w;

			while ((w = xs_check_watch(xs))) {
				free(w);
				dirty = true;
			}
		}
		if (dirty) {
			rc = reconcile();
			/* A domain without a name yet: look again soon; else a
			 * slow resync in case a watch event was ever lost. */
			timeout = rc > 0 ? 1000 : 60000;
		}
	}
	yd_policy_free(&policy);
	xc_interface_close(xc);
	xs_close(xs);
	return 0;
}
