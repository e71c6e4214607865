// SPDX-License-Identifier: GPL-2.0
/*
 * yasmind's pure logic (yasmind/policy.c): the policy parser, which ordered
 * pairs must exist for a set of running VMs, what goes when a domain dies
 * or the policy changes, the maps published to each VM, and yasmin-mapd's
 * rendering of them into /run/yasmin/hosts.auto.
 */
// utest-sources: yasmind/policy.c
#include "utest.h"
#include "yasmind/policy.h"

struct msgs {
	int n;
	char all[8192];
};

static void collect(const char *msg, void *ctx)
{
	struct msgs *m = ctx;

	m->n++;
	strncat(m->all, msg, sizeof(m->all) - strlen(m->all) - 2);
	strcat(m->all, "\n");
}

static int parse(struct yd_policy *p, const char *text, struct msgs *m)
{
	memset(m, 0, sizeof(*m));
	return yd_policy_parse(p, text, strlen(text), "yasmind.conf", collect, m);
}

#define HAS(m, s)							\
	do {								\
		if (!strstr((m).all, (s)))				\
			UT_FAIL("expected \"%s\" in:\n%s", (s), (m).all); \
	} while (0)

UTEST(policy_empty_is_default_none)
{
	struct yd_policy p;
	struct msgs m;

	UT_ASSERT_EQ(parse(&p, "", &m), 0);
	UT_ASSERT(!p.default_all);
	UT_ASSERT_EQ(p.n, 0);
	UT_ASSERT(!yd_policy_allows(&p, "a", "b"));
	UT_ASSERT_EQ(parse(&p, "# only comments\n\n   \t\n", &m), 0);
	UT_ASSERT(!yd_policy_allows(&p, "a", "b"));
	yd_policy_free(&p);
}

UTEST(policy_groups_and_default)
{
	struct yd_policy p;
	struct msgs m;
	const char *text =
		"# web tier\n"
		"default none\n"
		"group web  front back   # trailing comment\n"
		"group\tdata back db\n";

	UT_ASSERT_EQ(parse(&p, text, &m), 0);
	UT_ASSERT_EQ(m.n, 0);
	UT_ASSERT_EQ(p.n, 2);
	UT_ASSERT_STREQ(p.groups[1].name, "data");
	UT_ASSERT(yd_policy_allows(&p, "front", "back"));
	UT_ASSERT(yd_policy_allows(&p, "back", "front"));
	UT_ASSERT(yd_policy_allows(&p, "back", "db"));
	/* not transitive: front and db share no group */
	UT_ASSERT(!yd_policy_allows(&p, "front", "db"));
	/* unlisted VMs get nothing under default none */
	UT_ASSERT(!yd_policy_allows(&p, "x", "y"));
	UT_ASSERT(!yd_policy_allows(&p, "x", "front"));
	/* unnamed domains never */
	UT_ASSERT(!yd_policy_allows(&p, NULL, "front"));
	UT_ASSERT(!yd_policy_allows(&p, "", "front"));
	yd_policy_free(&p);

	UT_ASSERT_EQ(parse(&p, "default all\ngroup web front back\n", &m), 0);
	UT_ASSERT(p.default_all);
	/* unlisted VMs talk to each other, never to listed ones */
	UT_ASSERT(yd_policy_allows(&p, "x", "y"));
	UT_ASSERT(!yd_policy_allows(&p, "x", "front"));
	UT_ASSERT(!yd_policy_allows(&p, "front", "x"));
	UT_ASSERT(yd_policy_allows(&p, "front", "back"));
	yd_policy_free(&p);

	/* no final newline, CRLF */
	UT_ASSERT_EQ(parse(&p, "group g a b\r\ngroup h c d", &m), 0);
	UT_ASSERT(yd_policy_allows(&p, "c", "d"));
	UT_ASSERT(yd_policy_allows(&p, "a", "b"));
	yd_policy_free(&p);
}

UTEST(policy_bad_lines_name_file_and_line)
{
	struct yd_policy p;
	struct msgs m;
	const char *text =
		"group ok a b\n"			/* 1 */
		"default maybe\n"			/* 2 */
		"allow a b\n"				/* 3 */
		"group lonely a\n"			/* 4 */
		"group ids web 5\n"			/* 5 */
		"group ok c d\n"			/* 6 */
		"group dup a a\n"			/* 7 */
		"group\n"				/* 8 */
		"default all\n"				/* 9 */
		"default none\n"			/* 10 */
		"group slash a b/c\n";			/* 11 */

	UT_ASSERT_EQ(parse(&p, text, &m), 9);
	HAS(m, "yasmind.conf:2: expected 'default none' or 'default all'");
	HAS(m, "yasmind.conf:3: unknown keyword 'allow'");
	HAS(m, "yasmind.conf:4: group 'lonely' needs at least two VM names");
	HAS(m, "yasmind.conf:5: '5' looks like a domid");
	HAS(m, "yasmind.conf:6: group 'ok' defined twice (first at line 1)");
	HAS(m, "yasmind.conf:7: 'a' listed twice in group 'dup'");
	HAS(m, "yasmind.conf:8: 'group' needs a name");
	HAS(m, "yasmind.conf:10: 'default' given twice (first at line 9)");
	HAS(m, "yasmind.conf:11: 'b/c' is not a VM name");
	/* a policy with errors is not used at all: nothing is allowed */
	UT_ASSERT_EQ(p.n, 0);
	UT_ASSERT(!p.default_all);
	UT_ASSERT(!yd_policy_allows(&p, "a", "b"));
	yd_policy_free(&p);
}

UTEST(policy_names_not_domids)
{
	struct yd_policy p;
	struct msgs m;
	char longname[YD_NAME_MAX + 2];

	UT_ASSERT_EQ(parse(&p, "group g 1 2\n", &m), 1);
	HAS(m, "'1' looks like a domid");
	yd_policy_free(&p);
	/* digits inside a name are fine, as is dom0's own name */
	UT_ASSERT_EQ(parse(&p, "group g web1 2db Domain-0\n", &m), 0);
	UT_ASSERT(yd_policy_allows(&p, "web1", "Domain-0"));
	yd_policy_free(&p);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	{
		char text[256];

		snprintf(text, sizeof(text), "group g a %s\n", longname);
		UT_ASSERT_EQ(parse(&p, text, &m), 1);
		HAS(m, "yasmind.conf:1: VM name 'xxxxxxxxxxxxxxxxxxxx...' longer than 64");
	}
	yd_policy_free(&p);
	/* an embedded NUL is an error, not a silent truncation */
	memset(&m, 0, sizeof(m));
	UT_ASSERT_EQ(yd_policy_parse(&p, "group g a b\0c\n", 14, "f", collect, &m), 1);
	HAS(m, "f:1: NUL byte");
	yd_policy_free(&p);
}

static struct yd_tree tree_of(struct yd_pair *pairs, size_t n, unsigned *doms,
			      size_t nd)
{
	return (struct yd_tree){ doms, nd, pairs, n };
}

UTEST(pairs_for_running_vms)
{
	struct yd_policy p;
	struct msgs m;
	struct yd_plan plan;
	struct yd_tree empty = { 0 };
	struct yd_dom live[] = {
		{ 0, "Domain-0", "" },
		{ 3, "front", "10.0.0.3" },
		{ 4, "back", "10.0.0.4" },
		{ 7, "db", "10.0.0.7" },
		{ 9, "stray", "10.0.0.9" },
		{ 11, NULL, "" },		/* not named yet */
	};

	UT_ASSERT_EQ(parse(&p, "group web front back\ngroup data back db\n", &m), 0);
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 6, &empty, &plan), 0);
	/* every running domain gets its own directory (and map) */
	UT_ASSERT_EQ(plan.ndoms, 6);
	UT_ASSERT_EQ(plan.doms[0], 0);
	UT_ASSERT_EQ(plan.doms[5], 11);
	/* exactly both directions of front-back and back-db */
	UT_ASSERT_EQ(plan.npairs, 4);
	UT_ASSERT(yd_plan_has_pair(&plan, 3, 4));
	UT_ASSERT(yd_plan_has_pair(&plan, 4, 3));
	UT_ASSERT(yd_plan_has_pair(&plan, 4, 7));
	UT_ASSERT(yd_plan_has_pair(&plan, 7, 4));
	UT_ASSERT(!yd_plan_has_pair(&plan, 3, 7));
	UT_ASSERT(!yd_plan_has_pair(&plan, 9, 3));
	/* sorted */
	UT_ASSERT_EQ(plan.pairs[0].a, 3);
	UT_ASSERT_EQ(plan.pairs[3].a, 7);
	UT_ASSERT_EQ(plan.n_rm_doms + plan.n_rm_pairs, 0);
	yd_plan_free(&plan);

	/* a VM missing from the running set gets nothing, its group-mates lose it */
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 3, &empty, &plan), 0);
	UT_ASSERT_EQ(plan.npairs, 2);
	UT_ASSERT(yd_plan_has_pair(&plan, 3, 4));
	yd_policy_free(&p);
	yd_plan_free(&plan);

	/* default all: stray and Domain-0 (unlisted) pair up, nobody else */
	UT_ASSERT_EQ(parse(&p, "default all\ngroup web front back\n", &m), 0);
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 6, &empty, &plan), 0);
	UT_ASSERT(yd_plan_has_pair(&plan, 0, 9));
	UT_ASSERT(yd_plan_has_pair(&plan, 9, 0));
	UT_ASSERT(yd_plan_has_pair(&plan, 9, 7));	/* db is unlisted here */
	UT_ASSERT(!yd_plan_has_pair(&plan, 9, 11));	/* unnamed */
	UT_ASSERT(!yd_plan_has_pair(&plan, 9, 3));
	UT_ASSERT_EQ(plan.npairs, 2 + 6);
	yd_plan_free(&plan);
	yd_policy_free(&p);
}

UTEST(dead_domain_goes_at_once_and_live_pairs_stay)
{
	struct yd_policy p;
	struct msgs m;
	struct yd_plan plan;
	struct yd_dom live[] = {
		{ 3, "a", "" }, { 4, "b", "" }, { 5, "c", "" },
	};
	/* what XenStore holds: a b c all paired, as before 5 died */
	unsigned doms[] = { 3, 4, 5 };
	struct yd_pair pairs[] = {
		{ 3, 4 }, { 3, 5 }, { 4, 3 }, { 4, 5 }, { 5, 3 }, { 5, 4 },
	};
	struct yd_tree have = tree_of(pairs, 6, doms, 3);

	UT_ASSERT_EQ(parse(&p, "group all a b c\n", &m), 0);
	/* nothing changed: nothing removed, every pair kept (restart case) */
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 3, &have, &plan), 0);
	UT_ASSERT_EQ(plan.n_rm_doms, 0);
	UT_ASSERT_EQ(plan.n_rm_pairs, 0);
	UT_ASSERT_EQ(plan.npairs, 6);
	yd_plan_free(&plan);

	/* 5 died: its own directory whole, and <3>/5 and <4>/5 */
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 2, &have, &plan), 0);
	UT_ASSERT_EQ(plan.n_rm_doms, 1);
	UT_ASSERT_EQ(plan.rm_doms[0], 5);
	UT_ASSERT_EQ(plan.n_rm_pairs, 2);
	UT_ASSERT_EQ(plan.rm_pairs[0].a, 3);
	UT_ASSERT_EQ(plan.rm_pairs[0].b, 5);
	UT_ASSERT_EQ(plan.rm_pairs[1].a, 4);
	UT_ASSERT_EQ(plan.rm_pairs[1].b, 5);
	UT_ASSERT_EQ(plan.npairs, 2);
	yd_plan_free(&plan);

	/* a new VM "d" recycles domid 5: it is not in the group, gets nothing */
	live[2].name = "d";
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 3, &have, &plan), 0);
	UT_ASSERT_EQ(plan.n_rm_doms, 0);	/* 5 runs: its dir stays, emptied */
	UT_ASSERT_EQ(plan.n_rm_pairs, 4);
	UT_ASSERT_EQ(plan.rm_pairs[0].a, 3);
	UT_ASSERT_EQ(plan.rm_pairs[0].b, 5);
	UT_ASSERT_EQ(plan.rm_pairs[2].a, 5);
	UT_ASSERT_EQ(plan.rm_pairs[2].b, 3);
	UT_ASSERT_EQ(plan.npairs, 2);
	yd_plan_free(&plan);
	yd_policy_free(&p);
}

UTEST(policy_change_removes_only_what_it_forbids)
{
	struct yd_policy p;
	struct msgs m;
	struct yd_plan plan;
	struct yd_dom live[] = { { 3, "a", "" }, { 4, "b", "" }, { 5, "c", "" } };
	unsigned doms[] = { 3, 4, 5, 8 };
	struct yd_pair pairs[] = { { 3, 4 }, { 4, 3 }, { 8, 3 } };
	struct yd_tree have = tree_of(pairs, 3, doms, 4);

	/* reload: b and c now, a and b no longer */
	UT_ASSERT_EQ(parse(&p, "group g b c\n", &m), 0);
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 3, &have, &plan), 0);
	UT_ASSERT_EQ(plan.n_rm_doms, 1);
	UT_ASSERT_EQ(plan.rm_doms[0], 8);	/* left over from a dead domain */
	UT_ASSERT_EQ(plan.n_rm_pairs, 2);	/* 3/4 and 4/3; 8/3 goes with 8 */
	UT_ASSERT(yd_plan_has_pair(&plan, 4, 5));
	UT_ASSERT(yd_plan_has_pair(&plan, 5, 4));
	UT_ASSERT_EQ(plan.npairs, 2);
	yd_plan_free(&plan);
	yd_policy_free(&p);
}

UTEST(maps_hold_exactly_the_reachable_peers)
{
	struct yd_policy p;
	struct msgs m;
	struct yd_plan plan;
	struct yd_tree empty = { 0 };
	struct yd_map_entry *e;
	struct yd_dom live[] = {
		{ 3, "front", "10.0.0.3" },
		{ 4, "back", "10.0.0.4 fd00::4" },
		{ 7, "db", "" },
		{ 9, "we ird", "10.0.0.9" },
	};
	int n;

	UT_ASSERT_EQ(parse(&p, "group web front back\ngroup data back db\n", &m), 0);
	UT_ASSERT_EQ(yd_plan_compute(&p, live, 4, &empty, &plan), 0);
	n = yd_map_for(&plan, live, 4, 4, &e);
	UT_ASSERT_EQ(n, 3);
	UT_ASSERT_EQ(e[0].domid, 3);
	UT_ASSERT_STREQ(e[0].value, "front 10.0.0.3");
	UT_ASSERT_EQ(e[1].domid, 4);		/* itself, so the shim knows its IPs */
	UT_ASSERT_STREQ(e[1].value, "back 10.0.0.4 fd00::4");
	UT_ASSERT_STREQ(e[2].value, "db");	/* no address known (yet) */
	yd_map_free(e, n);
	n = yd_map_for(&plan, live, 4, 3, &e);
	UT_ASSERT_EQ(n, 2);			/* front never sees db */
	UT_ASSERT_EQ(e[1].domid, 4);
	yd_map_free(e, n);
	/* a VM without peers still gets its own entry, and nobody else */
	n = yd_map_for(&plan, live, 4, 9, &e);
	UT_ASSERT_EQ(n, 1);
	UT_ASSERT_STREQ(e[0].value, "- 10.0.0.9");	/* name unusable in a map */
	yd_map_free(e, n);
	yd_plan_free(&plan);
	yd_policy_free(&p);
}

UTEST(vif_ip_key_is_normalised)
{
	char out[256];

	UT_ASSERT_EQ(yd_ips_normalise("10.0.0.2", out, sizeof(out)), 0);
	UT_ASSERT_STREQ(out, "10.0.0.2");
	UT_ASSERT_EQ(yd_ips_normalise(" 10.0.0.2/24,  FD00:0::2 ", out, sizeof(out)), 0);
	UT_ASSERT_STREQ(out, "10.0.0.2 fd00::2");
	UT_ASSERT_EQ(yd_ips_normalise("10.0.0.300 host.example 10.0.0.3", out, sizeof(out)), 2);
	UT_ASSERT_STREQ(out, "10.0.0.3");
	UT_ASSERT_EQ(yd_ips_normalise("", out, sizeof(out)), 0);
	UT_ASSERT_STREQ(out, "");
	UT_ASSERT_EQ(yd_ips_normalise(NULL, out, sizeof(out)), 0);
	UT_ASSERT_STREQ(out, "");
	/* too small a buffer keeps whole addresses only */
	UT_ASSERT_EQ(yd_ips_normalise("10.0.0.2 10.0.0.3", out, 12), 0);
	UT_ASSERT_STREQ(out, "10.0.0.2");
}

UTEST(domids_are_canonical)
{
	unsigned d;

	UT_ASSERT_EQ(yd_parse_domid("0", &d), 0);
	UT_ASSERT_EQ(d, 0);
	UT_ASSERT_EQ(yd_parse_domid("32751", &d), 0);
	UT_ASSERT_EQ(d, 32751);
	UT_ASSERT_EQ(yd_parse_domid("32752", &d), -1);
	UT_ASSERT_EQ(yd_parse_domid("007", &d), -1);
	UT_ASSERT_EQ(yd_parse_domid("", &d), -1);
	UT_ASSERT_EQ(yd_parse_domid("map", &d), -1);
	UT_ASSERT_EQ(yd_parse_domid("4x", &d), -1);
	UT_ASSERT_EQ(yd_parse_domid("999999", &d), -1);
}

UTEST(mapd_renders_hosts_auto)
{
	const char *keys[] = { "7", "3", "4", "junk", "5", "6" };
	const char *vals[] = {
		"db 10.0.0.7",
		"front 10.0.0.3",
		"back 10.0.0.4 FD00::4 not-an-ip",
		"x 10.0.0.99",
		"- 10.0.0.5",
		"noaddress",
	};
	struct msgs m = { 0 };
	char *text = yd_map_render(4, keys, vals, 6, collect, &m);

	UT_ASSERT(text);
	UT_ASSERT_STREQ(text,
		"# Written by yasmin-mapd from /local/domain/0/data/yasmin/4/map: do not edit.\n"
		"# A hand-written /etc/yasmin/hosts takes precedence over this file.\n"
		"10.0.0.3        3 front\n"
		"10.0.0.4        4 back  # this VM\n"
		"fd00::4         4 back  # this VM\n"
		"10.0.0.5        5\n"
		"10.0.0.7        7 db\n");
	UT_ASSERT_EQ(m.n, 2);
	HAS(m, "map/junk: not a domain id");
	HAS(m, "map/4: 'not-an-ip' is not an IP address");
	free(text);

	/* no entries (no policy for this VM): a valid file with no peers */
	text = yd_map_render(4, keys, vals, 0, NULL, NULL);
	UT_ASSERT(text);
	UT_ASSERT(!strchr(text + strlen(text) - 1, '#'));
	UT_ASSERT(!strstr(text, "\n1"));
	free(text);
}
