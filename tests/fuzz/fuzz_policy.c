// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: any bytes as a yasmind policy, and the same bytes' lines as
 * the keys and values of a published map. Neither may crash or read past
 * the input; a policy accepted has no group under two VMs and no domid for
 * a name, and what it allows is symmetric; every rendered map line is
 * "ADDRESS DOMID ...".
 */
// fuzz-sources: yasmind/policy.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yasmind/policy.h"

static void ignore(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

static void check_policy(const char *text, size_t size)
{
	struct yd_policy p;

	if (yd_policy_parse(&p, text, size, "fuzz", ignore, NULL) != 0) {
		if (p.n || p.default_all)	/* errors leave it empty */
			abort();
		return;
	}
	for (size_t i = 0; i < p.n; i++) {
		const struct yd_group *g = &p.groups[i];

		if (g->n < 2)
			abort();
		for (size_t j = 0; j < g->n; j++) {
			if (strspn(g->vms[j], "0123456789") == strlen(g->vms[j]))
				abort();
			for (size_t k = 0; k < g->n; k++)
				if (j != k &&
				    (!yd_policy_allows(&p, g->vms[j], g->vms[k]) ||
				     !yd_policy_allows(&p, g->vms[k], g->vms[j])))
					abort();
		}
	}
	yd_policy_free(&p);
}

static void check_render(const char *text, size_t size)
{
	char *copy = strndup(text, size), *save = NULL, *line, *out;
	const char *kv[64];
	size_t n = 0;

	if (!copy)
		return;
	for (line = strtok_r(copy, "\n", &save); line && n < 64;
	     line = strtok_r(NULL, "\n", &save))
		kv[n++] = line;
	out = yd_map_render(7, kv, kv + n / 2, n / 2, ignore, NULL);
	if (out) {
		char *s = NULL;

		for (line = strtok_r(out, "\n", &s); line;
		     line = strtok_r(NULL, "\n", &s)) {
			char addr[64];
			unsigned d;

			if (line[0] == '#')
				continue;
			if (sscanf(line, "%63s %u", addr, &d) != 2 ||
			    d > YD_MAX_DOMID)
				abort();
		}
	}
	free(out);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy with no terminator: overreads trip ASan. */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	check_policy(text, size);
	check_render(text, size);
	free(text);
	return 0;
}
