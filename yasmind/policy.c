// SPDX-License-Identifier: GPL-2.0
/*
 * yasmind's pure logic: policy parser, pair plan, maps (policy.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

int yd_parse_domid(const char *s, unsigned *d)
{
	unsigned long v = 0;
	size_t i;

	if (!s[0] || (s[0] == '0' && s[1]) || strlen(s) > 5)
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > YD_MAX_DOMID)
		return -1;
	*d = (unsigned)v;
	return 0;
}

static void say(yd_warn_fn warn, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(yd_warn_fn warn, void *ctx, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	warn(buf, ctx);
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

void yd_policy_free(struct yd_policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		for (size_t j = 0; j < p->groups[i].n; j++)
			free(p->groups[i].vms[j]);
		free(p->groups[i].vms);
		free(p->groups[i].name);
	}
	free(p->groups);
	memset(p, 0, sizeof(*p));
}

/* Split line (modified in place) into at most max whitespace tokens. */
static size_t tokens(char *line, char **tok, size_t max, bool *more)
{
	size_t n = 0;
	char *s = line;

	*more = false;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s)
			break;
		if (n == max) {
			*more = true;
			break;
		}
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

#define MAX_TOKENS 1026	/* "group NAME" and 1024 VMs */

int yd_policy_parse(struct yd_policy *p, const char *text, size_t len,
		    const char *file, yd_warn_fn warn, void *ctx)
{
	char **tok = calloc(MAX_TOKENS, sizeof(*tok));
	unsigned lineno = 0, default_line = 0;
	size_t off = 0;
	int errors = 0;
	bool more;

	memset(p, 0, sizeof(*p));
	if (!tok)
		return -1;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (text + off)) : len - off;
		char *line = strndup(text + off, ll), *hash;
		size_t n;

		off += ll + 1;
		lineno++;
		if (!line)
			goto oom;
		if (strlen(line) != ll) {
			say(warn, ctx, "%s:%u: NUL byte in line", file, lineno);
			errors++;
			free(line);
			continue;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		n = tokens(line, tok, MAX_TOKENS, &more);
		if (n == 0) {
			free(line);
			continue;
		}
		if (!strcmp(tok[0], "default")) {
			if (n != 2 || (strcmp(tok[1], "none") &&
				       strcmp(tok[1], "all"))) {
				say(warn, ctx, "%s:%u: expected 'default none' or 'default all'",
				    file, lineno);
				errors++;
			} else if (default_line) {
				say(warn, ctx, "%s:%u: 'default' given twice (first at line %u)",
				    file, lineno, default_line);
				errors++;
			} else {
				default_line = lineno;
				p->default_all = !strcmp(tok[1], "all");
			}
		} else if (!strcmp(tok[0], "group")) {
			struct yd_group g = { 0 }, *ng;
			bool bad = false;

			if (more) {
				say(warn, ctx, "%s:%u: more than %d VMs in one group",
				    file, lineno, MAX_TOKENS - 2);
				errors++;
				free(line);
				continue;
			}
			if (n < 2) {
				say(warn, ctx, "%s:%u: 'group' needs a name and at least two VM names",
				    file, lineno);
				errors++;
				free(line);
				continue;
			}
			for (size_t i = 0; i < p->n; i++) {
				if (!strcmp(p->groups[i].name, tok[1])) {
					say(warn, ctx, "%s:%u: group '%s' defined twice (first at line %u)",
					    file, lineno, tok[1], p->groups[i].line);
					bad = true;
				}
			}
			if (n < 4) {
				say(warn, ctx, "%s:%u: group '%s' needs at least two VM names",
				    file, lineno, tok[1]);
				bad = true;
			}
			for (size_t i = 2; i < n; i++) {
				if (all_digits(tok[i])) {
					say(warn, ctx, "%s:%u: '%s' looks like a domid: the policy names VMs by name (a domid changes when its VM restarts)",
					    file, lineno, tok[i]);
					bad = true;
				} else if (strlen(tok[i]) > YD_NAME_MAX) {
					say(warn, ctx, "%s:%u: VM name '%.20s...' longer than %d characters",
					    file, lineno, tok[i], YD_NAME_MAX);
					bad = true;
				} else if (strchr(tok[i], '/')) {
					say(warn, ctx, "%s:%u: '%s' is not a VM name ('/' not allowed)",
					    file, lineno, tok[i]);
					bad = true;
				}
				for (size_t j = 2; j < i; j++) {
					if (!strcmp(tok[i], tok[j])) {
						say(warn, ctx, "%s:%u: '%s' listed twice in group '%s'",
						    file, lineno, tok[i], tok[1]);
						bad = true;
					}
				}
			}
			if (bad) {
				errors++;
				free(line);
				continue;
			}
			g.line = lineno;
			g.name = strdup(tok[1]);
			g.vms = calloc(n - 2, sizeof(*g.vms));
			if (!g.name || !g.vms) {
				free(g.name);
				free(g.vms);
				free(line);
				goto oom;
			}
			for (size_t i = 2; i < n; i++) {
				g.vms[g.n] = strdup(tok[i]);
				if (!g.vms[g.n]) {
					while (g.n)
						free(g.vms[--g.n]);
					free(g.vms);
					free(g.name);
					free(line);
					goto oom;
				}
				g.n++;
			}
			ng = realloc(p->groups, (p->n + 1) * sizeof(*ng));
			if (!ng) {
				for (size_t i = 0; i < g.n; i++)
					free(g.vms[i]);
				free(g.vms);
				free(g.name);
				free(line);
				goto oom;
			}
			p->groups = ng;
			p->groups[p->n++] = g;
		} else {
			say(warn, ctx, "%s:%u: unknown keyword '%s' (expected 'default' or 'group')",
			    file, lineno, tok[0]);
			errors++;
		}
		free(line);
	}
	free(tok);
	if (errors)
		yd_policy_free(p);
	return errors;
oom:
	free(tok);
	yd_policy_free(p);
	return -1;
}

static bool in_group(const struct yd_group *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->vms[i], name))
			return true;
	return false;
}

bool yd_policy_lists(const struct yd_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (in_group(&p->groups[i], name))
			return true;
	return false;
}

bool yd_policy_allows(const struct yd_policy *p, const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (in_group(&p->groups[i], a) && in_group(&p->groups[i], b))
			return true;
	return p->default_all && !yd_policy_lists(p, a) &&
	       !yd_policy_lists(p, b);
}

void yd_plan_free(struct yd_plan *plan)
{
	free(plan->rm_doms);
	free(plan->rm_pairs);
	free(plan->doms);
	free(plan->pairs);
	memset(plan, 0, sizeof(*plan));
}

static int cmp_u(const void *x, const void *y)
{
	unsigned a = *(const unsigned *)x, b = *(const unsigned *)y;

	return a < b ? -1 : a > b;
}

static int cmp_pair(const void *x, const void *y)
{
	const struct yd_pair *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

static const struct yd_dom *find_dom(const struct yd_dom *live, size_t n,
				     unsigned domid)
{
	for (size_t i = 0; i < n; i++)
		if (live[i].domid == domid)
			return &live[i];
	return NULL;
}

bool yd_plan_has_pair(const struct yd_plan *plan, unsigned a, unsigned b)
{
	struct yd_pair k = { a, b };

	return bsearch(&k, plan->pairs, plan->npairs, sizeof(k),
		       cmp_pair) != NULL;
}

int yd_plan_compute(const struct yd_policy *p, const struct yd_dom *live,
		    size_t nlive, const struct yd_tree *have,
		    struct yd_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->doms = calloc(nlive + 1, sizeof(*out->doms));
	out->pairs = calloc(nlive * nlive + 1, sizeof(*out->pairs));
	out->rm_doms = calloc(have->ndoms + 1, sizeof(*out->rm_doms));
	out->rm_pairs = calloc(have->npairs + 1, sizeof(*out->rm_pairs));
	if (!out->doms || !out->pairs || !out->rm_doms || !out->rm_pairs) {
		yd_plan_free(out);
		return -1;
	}
	for (size_t i = 0; i < nlive; i++) {
		out->doms[out->ndoms++] = live[i].domid;
		for (size_t j = 0; j < nlive; j++) {
			if (i == j || live[i].domid == live[j].domid)
				continue;
			if (yd_policy_allows(p, live[i].name, live[j].name))
				out->pairs[out->npairs++] = (struct yd_pair){
					live[i].domid, live[j].domid };
		}
	}
	qsort(out->doms, out->ndoms, sizeof(*out->doms), cmp_u);
	qsort(out->pairs, out->npairs, sizeof(*out->pairs), cmp_pair);

	for (size_t i = 0; i < have->ndoms; i++)
		if (!find_dom(live, nlive, have->doms[i]))
			out->rm_doms[out->n_rm_doms++] = have->doms[i];
	qsort(out->rm_doms, out->n_rm_doms, sizeof(unsigned), cmp_u);
	for (size_t i = 0; i < have->npairs; i++) {
		struct yd_pair q = have->pairs[i];

		/* a dead <a> goes whole with YD_BASE/<a> */
		if (!find_dom(live, nlive, q.a))
			continue;
		if (!yd_plan_has_pair(out, q.a, q.b))
			out->rm_pairs[out->n_rm_pairs++] = q;
	}
	qsort(out->rm_pairs, out->n_rm_pairs, sizeof(struct yd_pair), cmp_pair);
	return 0;
}

/* May name appear as the NAME field of a map line? */
static bool map_safe_name(const char *s)
{
	if (!s || !*s || strlen(s) > YD_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s) || *s == '#')
			return false;
	return true;
}

void yd_map_free(struct yd_map_entry *m, int n)
{
	for (int i = 0; i < n; i++)
		free(m[i].value);
	free(m);
}

int yd_map_for(const struct yd_plan *plan, const struct yd_dom *live,
	       size_t nlive, unsigned self, struct yd_map_entry **out)
{
	struct yd_map_entry *m = calloc(nlive + 1, sizeof(*m));
	int n = 0;

	if (!m)
		return -1;
	/* plan->doms is sorted, so the entries are too */
	for (size_t i = 0; i < plan->ndoms; i++) {
		unsigned d = plan->doms[i];
		const struct yd_dom *dom = find_dom(live, nlive, d);

		if (!dom || (d != self && !yd_plan_has_pair(plan, self, d)))
			continue;
		if (asprintf(&m[n].value, "%s%s%s",
			     map_safe_name(dom->name) ? dom->name : "-",
			     dom->ips && *dom->ips ? " " : "",
			     dom->ips ? dom->ips : "") < 0) {
			yd_map_free(m, n);
			return -1;
		}
		m[n++].domid = d;
	}
	*out = m;
	return n;
}

int yd_ips_normalise(const char *in, char *out, size_t outlen)
{
	char *copy = strdup(in ? in : ""), *save = NULL, *t;
	size_t used = 0;
	int bad = 0;

	if (outlen)
		out[0] = '\0';
	if (!copy)
		return 0;
	for (t = strtok_r(copy, " \t\r\n,", &save); t;
	     t = strtok_r(NULL, " \t\r\n,", &save)) {
		char *slash = strchr(t, '/'), buf[INET6_ADDRSTRLEN];
		unsigned char a[16];
		int len;

		if (slash)
			*slash = '\0';
		if (inet_pton(AF_INET, t, a) == 1)
			inet_ntop(AF_INET, a, buf, sizeof(buf));
		else if (inet_pton(AF_INET6, t, a) == 1)
			inet_ntop(AF_INET6, a, buf, sizeof(buf));
		else {
			bad++;
			continue;
		}
		len = snprintf(out + used, outlen - used, "%s%s",
			       used ? " " : "", buf);
		if (len < 0 || (size_t)len >= outlen - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)len;
	}
	free(copy);
	return bad;
}

struct line {
	unsigned domid;
	char *text;
};

static int cmp_line(const void *x, const void *y)
{
	const struct line *a = x, *b = y;

	return a->domid < b->domid ? -1 : a->domid > b->domid;
}

char *yd_map_render(unsigned self, const char *const *keys,
		    const char *const *values, size_t n, yd_warn_fn warn,
		    void *ctx)
{
	struct line *lines = calloc(n + 1, sizeof(*lines));
	size_t nl = 0, total;
	char *text = NULL, *p;
	int len;

	if (!lines)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char *copy, *save = NULL, *name, *t, *acc = NULL;
		size_t acclen = 0;
		unsigned d;

		if (yd_parse_domid(keys[i], &d)) {
			say(warn, ctx, "map/%s: not a domain id, skipped", keys[i]);
			continue;
		}
		copy = strdup(values[i] ? values[i] : "");
		if (!copy)
			goto oom;
		name = strtok_r(copy, " \t\r\n", &save);
		if (name && (!strcmp(name, "-") || !map_safe_name(name)))
			name = NULL;
		while ((t = strtok_r(NULL, " \t\r\n", &save))) {
			unsigned char a[16];
			char buf[INET6_ADDRSTRLEN], *grown;

			if (inet_pton(AF_INET, t, a) == 1)
				inet_ntop(AF_INET, a, buf, sizeof(buf));
			else if (inet_pton(AF_INET6, t, a) == 1)
				inet_ntop(AF_INET6, a, buf, sizeof(buf));
			else {
				say(warn, ctx, "map/%s: '%.64s' is not an IP address, skipped",
				    keys[i], t);
				continue;
			}
			len = snprintf(NULL, 0, "%-15s %u%s%s%s\n", buf, d,
				       name ? " " : "", name ? name : "",
				       d == self ? "  # this VM" : "");
			grown = realloc(acc, acclen + (size_t)len + 1);
			if (!grown) {
				free(acc);
				free(copy);
				goto oom;
			}
			acc = grown;
			snprintf(acc + acclen, (size_t)len + 1, "%-15s %u%s%s%s\n",
				 buf, d, name ? " " : "", name ? name : "",
				 d == self ? "  # this VM" : "");
			acclen += (size_t)len;
		}
		free(copy);
		if (acc) {
			lines[nl].domid = d;
			lines[nl++].text = acc;
		}
	}
	qsort(lines, nl, sizeof(*lines), cmp_line);
	len = snprintf(NULL, 0,
		       "# Written by yasmin-mapd from %s/%u/map: do not edit.\n"
		       "# A hand-written /etc/yasmin/hosts takes precedence over this file.\n",
		       YD_BASE, self);
	total = (size_t)len + 1;
	for (size_t i = 0; i < nl; i++)
		total += strlen(lines[i].text);
	text = malloc(total);
	if (!text)
		goto oom;
	p = text + snprintf(text, total,
			    "# Written by yasmin-mapd from %s/%u/map: do not edit.\n"
			    "# A hand-written /etc/yasmin/hosts takes precedence over this file.\n",
			    YD_BASE, self);
	for (size_t i = 0; i < nl; i++) {
		size_t l = strlen(lines[i].text);

		memcpy(p, lines[i].text, l);
		p += l;
	}
	*p = '\0';
oom:
	for (size_t i = 0; i < nl; i++)
		free(lines[i].text);
	free(lines);
	return text;
}
