// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: any bytes as a map file. The parser must never crash, never
 * read past the input, and every entry it keeps must have a valid domid and
 * be found again by address.
 */
// fuzz-sources: shim/map.c
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "shim/map.h"

static void ignore(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yasmin_map m = { 0 };
	/* A private copy with no terminator: overreads trip ASan. */
	char *text = malloc(size ? size : 1);
	size_t i;

	if (!text)
		return 0;
	for (i = 0; i < size; i++)
		text[i] = (char)data[i];
	if (yasmin_map_parse(&m, text, size, "fuzz", ignore, NULL) >= 0) {
		for (i = 0; i < m.n; i++) {
			const struct yasmin_map_entry *e =
				yasmin_map_by_addr(&m, &m.entries[i].addr);

			if (m.entries[i].domid > YASMIN_DOMID_MAX || !e ||
			    e->domid > YASMIN_DOMID_MAX ||
			    !yasmin_map_by_domid(&m, m.entries[i].domid))
				abort();
		}
	}
	yasmin_map_free(&m);
	free(text);
	return 0;
}
