/* SPDX-License-Identifier: GPL-2.0 */
/*
 * yasmind's pure logic, without Xen: the policy file (yasmind.conf(5)),
 * which ordered pairs of running domains must have a rendezvous, what to
 * remove from XenStore, the per-VM maps and how yasmin-mapd renders them.
 * yasmind.c and yasmin-mapd.c only move this between XenStore and files.
 */
#ifndef YASMIND_POLICY_H
#define YASMIND_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define YD_MAX_DOMID 32751u	/* DOMID_FIRST_RESERVED - 1 */
#define YD_NAME_MAX 64		/* longest VM name the policy accepts */
#define YD_BASE "/local/domain/0/data/yasmin"

/* Called once per problem with "FILE:LINE: reason". */
typedef void (*yd_warn_fn)(const char *msg, void *ctx);

struct yd_group {
	char *name;
	char **vms;
	size_t n;
	unsigned line;
};

struct yd_policy {
	bool default_all;	/* unlisted VMs may talk to each other */
	struct yd_group *groups;
	size_t n;
};

/*
 * Parse a policy. Returns the number of errors (each reported through
 * warn), 0 when the policy is good, -1 when out of memory. On any error
 * *p is left empty (default none, no groups): a policy is used whole or
 * not at all.
 */
int yd_policy_parse(struct yd_policy *p, const char *text, size_t len,
		    const char *file, yd_warn_fn warn, void *ctx);
void yd_policy_free(struct yd_policy *p);
/* May VMs named a and b talk? Unnamed (NULL or "") domains never may. */
bool yd_policy_allows(const struct yd_policy *p, const char *a, const char *b);
/* Is name in at least one group? */
bool yd_policy_lists(const struct yd_policy *p, const char *name);

/* A running domain as yasmind sees it. */
struct yd_dom {
	unsigned domid;
	const char *name;	/* NULL until the toolstack has written it */
	const char *ips;	/* normalised, space separated; may be "" */
};

struct yd_pair {
	unsigned a, b;		/* YD_BASE/<a>/<b> */
};

/* What XenStore holds under YD_BASE today (numeric entries only). */
struct yd_tree {
	unsigned *doms;		/* YD_BASE/<d> */
	size_t ndoms;
	struct yd_pair *pairs;	/* YD_BASE/<a>/<b> */
	size_t npairs;
};

struct yd_plan {
	unsigned *rm_doms;	/* remove YD_BASE/<d> whole: d is not running */
	size_t n_rm_doms;
	struct yd_pair *rm_pairs; /* remove YD_BASE/<a>/<b>: no longer allowed */
	size_t n_rm_pairs;
	unsigned *doms;		/* YD_BASE/<d> must exist, "n0 r<d>" */
	size_t ndoms;
	struct yd_pair *pairs;	/* must exist, "n0 b<a> b<b>", sorted */
	size_t npairs;
};

/*
 * The plan for running domains live[] under policy p, given the tree
 * that exists. Everything valid that exists is kept (only ACLs are
 * repaired), so a restart of yasmind drops no connection. Sorted output.
 * Returns 0, or -1 when out of memory.
 */
int yd_plan_compute(const struct yd_policy *p, const struct yd_dom *live,
		    size_t nlive, const struct yd_tree *have,
		    struct yd_plan *out);
void yd_plan_free(struct yd_plan *plan);
bool yd_plan_has_pair(const struct yd_plan *plan, unsigned a, unsigned b);

/*
 * The map yasmind publishes to domain self: one entry per domain, self
 * included, that self may reach: key "<domid>", value "NAME IP [IP...]"
 * (NAME "-" when the VM's name cannot appear in a map file). Entries are
 * sorted by domid. Returns the number of entries, -1 when out of memory.
 */
struct yd_map_entry {
	unsigned domid;
	char *value;
};
int yd_map_for(const struct yd_plan *plan, const struct yd_dom *live,
	       size_t nlive, unsigned self, struct yd_map_entry **out);
void yd_map_free(struct yd_map_entry *m, int n);

/*
 * Normalise the vif backend's "ip" key: addresses separated by spaces or
 * commas, each IPv4 or IPv6, an optional "/prefix" dropped. Writes the
 * valid ones, canonical, space separated, into out (always terminated).
 * Returns the number of tokens that were not addresses.
 */
int yd_ips_normalise(const char *in, char *out, size_t outlen);

/*
 * yasmin-mapd: render /run/yasmin/hosts.auto from the entries of
 * YD_BASE/<self>/map (keys and values as read; bad ones are skipped and
 * reported through warn). Returns a malloc'd file text, NULL when out of
 * memory.
 */
char *yd_map_render(unsigned self, const char *const *keys,
		    const char *const *values, size_t n, yd_warn_fn warn,
		    void *ctx);

/* Canonical domid ("0".."32751", no leading zero) -> 0 and *d, else -1. */
int yd_parse_domid(const char *s, unsigned *d);

#endif
