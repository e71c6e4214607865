// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD stand-in for the three libxenctrl calls yasmind makes, so it
 * runs on a host without Xen; xs_open() is forced to the socket in
 * $XENSTORED_PATH (fake-xenstored.py), as xs_open(0) means the device. The running domains come from the file in
 * $FAKE_XC_DOMAINS, one "DOMID INCARNATION [dying]" per line (a new
 * INCARNATION number is a new domain handle at the same domid).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xenstore.h>

static int dummy;

struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *(*real)(unsigned long) =
		(struct xs_handle *(*)(unsigned long))dlsym(RTLD_NEXT, "xs_open");

	return real(flags | XS_OPEN_SOCKETONLY);
}

xc_interface *xc_interface_open(xentoollog_logger *l, xentoollog_logger *d,
				unsigned f)
{
	(void)l; (void)d; (void)f;
	return (xc_interface *)&dummy;
}

int xc_interface_close(xc_interface *xch)
{
	(void)xch;
	return 0;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first,
			  unsigned int max, xc_domaininfo_t *info)
{
	const char *path = getenv("FAKE_XC_DOMAINS");
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[128], word[16];
	unsigned d, inc;
	unsigned n = 0;

	(void)xch;
	if (!f) {
		errno = ENOENT;
		return -1;
	}
	while (n < max && fgets(line, sizeof(line), f)) {
		int k = sscanf(line, "%u %u %15s", &d, &inc, word);

		if (k < 2 || d < first)
			continue;
		memset(&info[n], 0, sizeof(info[n]));
		info[n].domain = (domid_t)d;
		if (k == 3 && !strcmp(word, "dying"))
			info[n].flags |= XEN_DOMINF_dying;
		memcpy(info[n].handle, &inc, sizeof(inc));
		n++;
	}
	fclose(f);
	return (int)n;
}
