/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IP -> domid map (yasmin.conf.example): parsing and lookup. Pure C,
 * no I/O beyond what the caller hands in, so the host unit tests and the
 * fuzzer drive it directly.
 */
#ifndef YASMIN_SHIM_MAP_H
#define YASMIN_SHIM_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define YASMIN_MAP_NAME_MAX	64
#define YASMIN_DOMID_MAX	32751u	/* DOMID_FIRST_RESERVED - 1 */

struct yasmin_map_entry {
	struct in6_addr addr;	/* IPv4 stored v4-mapped (::ffff:a.b.c.d) */
	uint32_t domid;
	char name[YASMIN_MAP_NAME_MAX];
};

struct yasmin_map {
	struct yasmin_map_entry *entries;
	size_t n, cap;
};

/*
 * Called once per malformed line with a message "FILE:LINE: reason"; the
 * line is skipped and parsing goes on.
 */
typedef void (*yasmin_map_warn_fn)(const char *msg, void *ctx);

/*
 * yasmin_map_parse() - parse @len bytes of map text into @map (emptied
 * first). Returns the number of malformed lines, or -1 when out of memory
 * (the map is then empty). Never reads past @len; NUL bytes are malformed.
 */
int yasmin_map_parse(struct yasmin_map *map, const char *text, size_t len,
		     const char *file, yasmin_map_warn_fn warn, void *ctx);
void yasmin_map_free(struct yasmin_map *map);

/* The entry for @addr (IPv4 as v4-mapped), or NULL. First match wins. */
const struct yasmin_map_entry *
yasmin_map_by_addr(const struct yasmin_map *map, const struct in6_addr *addr);

/* The first entry for @domid, preferring IPv4 ones, or NULL. */
const struct yasmin_map_entry *
yasmin_map_by_domid(const struct yasmin_map *map, uint32_t domid);

#endif /* YASMIN_SHIM_MAP_H */
