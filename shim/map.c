// SPDX-License-Identifier: GPL-2.0
/*
 * Map file parser. One "ADDRESS DOMID [NAME]" per line, '#' starts a
 * comment, blank lines are fine. Anything else is reported with its line
 * number and skipped: a typo in one line must not take the others down.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

#define LINE_MAX_LEN	1024

void yasmin_map_free(struct yasmin_map *map)
{
	free(map->entries);
	map->entries = NULL;
	map->n = 0;
	map->cap = 0;
}

static int map_add(struct yasmin_map *map, const struct yasmin_map_entry *e)
{
	if (map->n == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 16;
		struct yasmin_map_entry *p;

		p = realloc(map->entries, cap * sizeof(*p));
		if (!p)
			return -1;
		map->entries = p;
		map->cap = cap;
	}
	map->entries[map->n++] = *e;
	return 0;
}

/* Split off the next whitespace-separated word of [*p, end). */
static const char *next_word(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *w;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*len = s - w;
	*p = s;
	return *len ? w : NULL;
}

static int parse_addr(const char *w, size_t len, struct in6_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in_addr v4;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, w, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

static int parse_domid(const char *w, size_t len, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (!len || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)w[i]))
			return -1;
		v = v * 10 + (w[i] - '0');
	}
	if (v > YASMIN_DOMID_MAX)
		return -1;
	*out = v;
	return 0;
}

static int parse_line(const char *s, const char *end,
		      struct yasmin_map_entry *e, const char **why)
{
	const char *w;
	size_t len;

	memset(e, 0, sizeof(*e));
	w = next_word(&s, end, &len);
	if (!w)
		return 1;	/* blank */
	if (parse_addr(w, len, &e->addr)) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	w = next_word(&s, end, &len);
	if (!w) {
		*why = "missing domid";
		return -1;
	}
	if (parse_domid(w, len, &e->domid)) {
		*why = "domid must be a number from 0 to 32751";
		return -1;
	}
	w = next_word(&s, end, &len);
	if (w) {
		if (len >= sizeof(e->name)) {
			*why = "name too long";
			return -1;
		}
		memcpy(e->name, w, len);
	}
	if (next_word(&s, end, &len)) {
		*why = "trailing garbage after the name";
		return -1;
	}
	return 0;
}

int yasmin_map_parse(struct yasmin_map *map, const char *text, size_t len,
		     const char *file, yasmin_map_warn_fn warn, void *ctx)
{
	const char *p = text, *end = text + len;
	unsigned long lineno = 0;
	int bad = 0;

	yasmin_map_free(map);
	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		const char *stop, *hash, *why = NULL;
		struct yasmin_map_entry e;
		char msg[512];
		int r;

		if (!eol)
			eol = end;
		lineno++;
		stop = eol;
		if (stop > p && stop[-1] == '\r')
			stop--;
		hash = memchr(p, '#', stop - p);
		if (hash)
			stop = hash;
		if (memchr(p, '\0', stop - p)) {
			why = "NUL byte in line";
			r = -1;
		} else if (stop - p > LINE_MAX_LEN) {
			why = "line too long";
			r = -1;
		} else {
			r = parse_line(p, stop, &e, &why);
		}
		if (r < 0) {
			bad++;
			if (warn) {
				snprintf(msg, sizeof(msg), "%s:%lu: %s; line ignored",
					 file ? file : "(map)", lineno, why);
				warn(msg, ctx);
			}
		} else if (r == 0 && map_add(map, &e)) {
			yasmin_map_free(map);
			return -1;
		}
		p = eol + 1;
	}
	return bad;
}

const struct yasmin_map_entry *
yasmin_map_by_addr(const struct yasmin_map *map, const struct in6_addr *addr)
{
	size_t i;

	for (i = 0; i < map->n; i++)
		if (!memcmp(&map->entries[i].addr, addr, sizeof(*addr)))
			return &map->entries[i];
	return NULL;
}

const struct yasmin_map_entry *
yasmin_map_by_domid(const struct yasmin_map *map, uint32_t domid)
{
	const struct yasmin_map_entry *any = NULL;
	size_t i;

	for (i = 0; i < map->n; i++) {
		const struct yasmin_map_entry *e = &map->entries[i];

		if (e->domid != domid)
			continue;
		if (IN6_IS_ADDR_V4MAPPED(&e->addr))
			return e;
		if (!any)
			any = e;
	}
	return any;
}
