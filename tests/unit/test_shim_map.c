// SPDX-License-Identifier: GPL-2.0
/*
 * The shim's map parser (shim/map.c): good files, every kind of bad line,
 * truncated and garbage input, and lookups.
 */
// utest-sources: shim/map.c
#include <arpa/inet.h>
#include "utest.h"
#include "shim/map.h"

struct warnings {
	int n;
	char last[512];
	char all[4096];
};

static void collect(const char *msg, void *ctx)
{
	struct warnings *w = ctx;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
	strncat(w->all, msg, sizeof(w->all) - strlen(w->all) - 2);
	strcat(w->all, "\n");
}

static int parse(struct yasmin_map *m, const char *text, struct warnings *w)
{
	memset(w, 0, sizeof(*w));
	return yasmin_map_parse(m, text, strlen(text), "hosts", collect, w);
}

static struct in6_addr ip(const char *s)
{
	struct in6_addr a;
	struct in_addr v4;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &v4) == 1) {
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		memcpy(&a.s6_addr[12], &v4, 4);
	} else {
		UT_ASSERT(inet_pton(AF_INET6, s, &a) == 1);
	}
	return a;
}

UTEST(good_file)
{
	struct yasmin_map m = { 0 };
	struct warnings w;
	struct in6_addr a;

	UT_ASSERT_EQ(parse(&m, "# YASMIN map\n\n10.0.0.1 1 g1\n"
			       "10.0.0.2\t2\tg2 # trailing comment\n"
			       "fd00::3 3\n  10.0.0.4   4  \r\n0.0.0.5 0 dom0", &w), 0);
	UT_ASSERT_EQ(w.n, 0);
	UT_ASSERT_EQ(m.n, 5);
	a = ip("10.0.0.2");
	UT_ASSERT(yasmin_map_by_addr(&m, &a) != NULL);
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 2);
	UT_ASSERT_STREQ(yasmin_map_by_addr(&m, &a)->name, "g2");
	a = ip("fd00::3");
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 3);
	a = ip("10.0.0.4");
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 4);
	a = ip("0.0.0.5");
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 0);
	a = ip("10.0.0.9");
	UT_ASSERT(yasmin_map_by_addr(&m, &a) == NULL);
	yasmin_map_free(&m);
}

UTEST(v4_matches_its_v4_mapped_form)
{
	struct yasmin_map m = { 0 };
	struct warnings w;
	struct in6_addr a;

	UT_ASSERT_EQ(parse(&m, "10.0.0.1 1\n::ffff:10.0.0.2 2\n", &w), 0);
	UT_ASSERT(inet_pton(AF_INET6, "::ffff:10.0.0.1", &a) == 1);
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 1);
	a = ip("10.0.0.2");
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 2);
	yasmin_map_free(&m);
}

UTEST(every_bad_line_is_named_and_skipped)
{
	struct yasmin_map m = { 0 };
	struct warnings w;

	UT_ASSERT_EQ(parse(&m, "10.0.0.1 1\n"
			       "not-an-ip 2\n"
			       "10.0.0.3\n"
			       "10.0.0.4 x\n"
			       "10.0.0.5 32752\n"
			       "10.0.0.6 -1\n"
			       "10.0.0.7 7 name extra\n"
			       "10.0.0.8 123456\n"
			       "300.0.0.9 9\n"
			       "10.0.0.10 10 g10\n", &w), 8);
	UT_ASSERT_EQ(w.n, 8);
	UT_ASSERT_EQ(m.n, 2);
	UT_ASSERT(strstr(w.all, "hosts:2: not an IPv4 or IPv6 address"));
	UT_ASSERT(strstr(w.all, "hosts:3: missing domid"));
	UT_ASSERT(strstr(w.all, "hosts:4: domid must be"));
	UT_ASSERT(strstr(w.all, "hosts:5: domid must be"));
	UT_ASSERT(strstr(w.all, "hosts:7: trailing garbage"));
	UT_ASSERT(strstr(w.all, "hosts:9: not an IPv4"));
	UT_ASSERT(!strstr(w.all, "hosts:10:"));
	yasmin_map_free(&m);
}

UTEST(domid_limits)
{
	struct yasmin_map m = { 0 };
	struct warnings w;

	UT_ASSERT_EQ(parse(&m, "10.0.0.1 32751\n10.0.0.2 0\n10.0.0.3 00007\n", &w), 0);
	UT_ASSERT_EQ(m.n, 3);
	UT_ASSERT_EQ(m.entries[2].domid, 7);
	UT_ASSERT_EQ(parse(&m, "10.0.0.1 32752\n10.0.0.2 99999999999\n", &w), 2);
	UT_ASSERT_EQ(m.n, 0);
	yasmin_map_free(&m);
}

UTEST(truncated_and_garbage_input)
{
	struct yasmin_map m = { 0 };
	struct warnings w = { 0 };
	const char trunc[] = "10.0.0.1 1 g1\n10.0.0.2 2 g";
	char junk[4096];

	/* a file cut in the middle of its last line keeps what is complete */
	UT_ASSERT_EQ(yasmin_map_parse(&m, trunc, sizeof(trunc) - 1, "h", collect, &w), 0);
	UT_ASSERT_EQ(m.n, 2);
	UT_ASSERT_EQ(yasmin_map_parse(&m, trunc, 13, "h", collect, &w), 0);
	UT_ASSERT_EQ(m.n, 1);
	UT_ASSERT_EQ(yasmin_map_parse(&m, trunc, 5, "h", collect, &w), 1);
	UT_ASSERT_EQ(m.n, 0);
	/* NUL bytes and binary noise: reported, never a crash */
	UT_ASSERT_EQ(yasmin_map_parse(&m, "10.0.0.1\0 1\n10.0.0.2 2\n", 23, "h",
				      collect, &w), 1);
	UT_ASSERT_EQ(m.n, 1);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 + (i >> 3));
	UT_ASSERT(yasmin_map_parse(&m, junk, sizeof(junk), "h", NULL, NULL) >= 0);
	UT_ASSERT_EQ(yasmin_map_parse(&m, "", 0, "h", collect, &w), 0);
	UT_ASSERT_EQ(m.n, 0);
	yasmin_map_free(&m);
}

UTEST(huge_line)
{
	struct yasmin_map m = { 0 };
	struct warnings w;
	static char text[100000];

	memset(text, 'a', sizeof(text) - 20);
	strcpy(text + sizeof(text) - 20, "\n10.0.0.1 1\n");
	UT_ASSERT_EQ(parse(&m, text, &w), 1);
	UT_ASSERT(strstr(w.last, "hosts:1: line too long"));
	UT_ASSERT_EQ(m.n, 1);
	yasmin_map_free(&m);
}

UTEST(many_entries_and_by_domid)
{
	struct yasmin_map m = { 0 };
	struct warnings w;
	static char text[200000];
	size_t off = 0;
	struct in6_addr a;

	for (int i = 0; i < 5000; i++)
		off += snprintf(text + off, sizeof(text) - off, "10.%d.%d.1 %d\n",
				i / 256, i % 256, i % 30000);
	off += snprintf(text + off, sizeof(text) - off, "fd00::7 7 v6\n");
	UT_ASSERT_EQ(parse(&m, text, &w), 0);
	UT_ASSERT_EQ(m.n, 5001);
	a = ip("10.19.135.1");
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 19 * 256 + 135);
	/* an IPv4 entry is preferred over an IPv6 one for the same domid */
	UT_ASSERT(IN6_IS_ADDR_V4MAPPED(&yasmin_map_by_domid(&m, 7)->addr));
	UT_ASSERT(yasmin_map_by_domid(&m, 31000) == NULL);
	yasmin_map_free(&m);
}

UTEST(first_entry_wins)
{
	struct yasmin_map m = { 0 };
	struct warnings w;
	struct in6_addr a = ip("10.0.0.1");

	UT_ASSERT_EQ(parse(&m, "10.0.0.1 1\n10.0.0.1 2\n", &w), 0);
	UT_ASSERT_EQ(yasmin_map_by_addr(&m, &a)->domid, 1);
	yasmin_map_free(&m);
}
