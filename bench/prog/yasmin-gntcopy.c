// SPDX-License-Identifier: GPL-2.0
/*
 * yasmin-gntcopy: the floor under MSG_ZEROCOPY's receive path, measured
 * alone. A yasmin receiver of zero-copy bytes copies each 4 KiB page the
 * sender granted with GNTTABOP_copy, 16 per hypercall, into its reader's
 * pinned pages. This program does just that and nothing else: no ring,
 * no event, no pinning on the sender, no completion. What one grant copy
 * costs here bounds from below what zero-copy can cost per byte.
 *
 *   yasmin-gntcopy -s DOMID [-n PAGES]     share PAGES pages (default 64,
 *       the zero-copy window) read-only with DOMID, filled with a pattern;
 *       print "refs R1 R2 ..." and hold them until killed.
 *   yasmin-gntcopy -c DOMID -t SECS [-b BATCH] R1 R2 ...
 *       copy the pages of those refs of DOMID's into a local buffer,
 *       BATCH per call (default 16, as yasmin.ko), round after round for
 *       SECS seconds; verify the pattern of every page of the first round
 *       and the last; print "bytes=N secs=S MBps=X".
 *   yasmin-gntcopy -m DOMID -t SECS [-b BATCH] R1 R2 ...
 *       the other way to one copy: map BATCH of those pages at a time
 *       (GNTTABOP_map_grant_ref, through gntdev), memcpy them into the
 *       local buffer and unmap them again, as a receiver that maps each
 *       send's pages would. Verified and printed as -c.
 *
 * Exit status: 0 measured, 1 a copy failed or the data was wrong, 2 usage,
 * 3 Xen's interfaces refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <xengnttab.h>

#define PAGE		4096u
#define MAX_PAGES	1024u
#define MAX_BATCH	128u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Byte i of page p: a pattern no page repeats from another. */
static uint8_t pattern(unsigned int p, unsigned int i)
{
	return (uint8_t)(p * 131u + i * 7u + (i >> 8));
}

static int usage(void)
{
	fprintf(stderr,
		"usage: yasmin-gntcopy -s DOMID [-n PAGES]\n"
		"       yasmin-gntcopy -c|-m DOMID -t SECS [-b BATCH] REF...\n");
	return 2;
}

static int share(unsigned int domid, unsigned int n)
{
	xengntshr_handle *xgs = xengntshr_open(NULL, 0);
	uint32_t refs[MAX_PAGES];
	uint8_t *pages;
	unsigned int p, i;

	if (!xgs) {
		perror("xengntshr_open");
		return 3;
	}
	pages = xengntshr_share_pages(xgs, domid, n, refs, 0);
	if (!pages) {
		perror("xengntshr_share_pages");
		return 3;
	}
	for (p = 0; p < n; p++)
		for (i = 0; i < PAGE; i++)
			pages[p * PAGE + i] = pattern(p, i);
	printf("refs");
	for (p = 0; p < n; p++)
		printf(" %u", refs[p]);
	printf("\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* Page p of the round just copied holds page p's pattern. */
static int verify(const uint8_t *buf, unsigned int n)
{
	unsigned int p, i;

	for (p = 0; p < n; p++)
		for (i = 0; i < PAGE; i++)
			if (buf[p * PAGE + i] != pattern(p, i)) {
				printf("FAIL page %u byte %u: %#x, not %#x\n",
				       p, i, buf[p * PAGE + i], pattern(p, i));
				return 1;
			}
	return 0;
}

/* Map, copy out, unmap: @k pages from ref @refs[0] on. */
static int map_round(xengnttab_handle *xgt, unsigned int domid,
		     const uint32_t *refs, unsigned int k, uint8_t *dst)
{
	void *src = xengnttab_map_domain_grant_refs(xgt, k, domid,
						    (uint32_t *)refs,
						    PROT_READ);

	if (!src) {
		perror("xengnttab_map_domain_grant_refs");
		return 3;
	}
	memcpy(dst, src, (size_t)k * PAGE);
	if (xengnttab_unmap(xgt, src, k)) {
		perror("xengnttab_unmap");
		return 3;
	}
	return 0;
}

static int copy(unsigned int domid, double secs, unsigned int batch,
		const uint32_t *refs, unsigned int n, int by_map)
{
	xengnttab_handle *xgt = xengnttab_open(NULL, 0);
	xengnttab_grant_copy_segment_t segs[MAX_BATCH];
	uint64_t bytes = 0;
	double t0, t;
	uint8_t *buf;
	unsigned int p, k;

	if (!xgt) {
		perror("xengnttab_open");
		return 3;
	}
	buf = aligned_alloc(PAGE, (size_t)n * PAGE);
	if (!buf) {
		perror("aligned_alloc");
		return 3;
	}
	memset(buf, 0, (size_t)n * PAGE);
	t0 = now();
	do {
		for (p = 0; p < n && by_map; p += k) {
			k = n - p < batch ? n - p : batch;
			if (map_round(xgt, domid, refs + p, k,
				      buf + (size_t)p * PAGE))
				return 3;
		}
		for (p = 0; p < n && !by_map; p += k) {
			for (k = 0; k < batch && p + k < n; k++) {
				xengnttab_grant_copy_segment_t *s = &segs[k];

				memset(s, 0, sizeof(*s));
				s->flags = GNTCOPY_source_gref;
				s->source.foreign.ref = refs[p + k];
				s->source.foreign.domid = domid;
				s->dest.virt = buf + (size_t)(p + k) * PAGE;
				s->len = PAGE;
			}
			if (xengnttab_grant_copy(xgt, k, segs)) {
				perror("xengnttab_grant_copy");
				return 3;
			}
			while (k--)
				if (segs[k].status != GNTST_okay) {
					printf("FAIL ref %u: status %d\n",
					       refs[p + k], segs[k].status);
					return 1;
				}
			k = batch;
		}
		/* the first round, and below the last */
		if (!bytes && verify(buf, n))
			return 1;
		bytes += (uint64_t)n * PAGE;
		t = now();
	} while (t - t0 < secs);
	if (verify(buf, n))
		return 1;
	printf("bytes=%" PRIu64 " secs=%.2f MBps=%.1f\n", bytes, t - t0,
	       bytes / (t - t0) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int domid = 0, n = 64, batch = 16, i;
	uint32_t refs[MAX_PAGES];
	int opt, mode = 0;
	double secs = 2;

	while ((opt = getopt(argc, argv, "s:c:m:n:t:b:")) != -1) {
		switch (opt) {
		case 's':
		case 'c':
		case 'm':
			mode = opt;
			domid = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			n = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'b':
			batch = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		default:
			return usage();
		}
	}
	if (!mode || !domid || domid >= 0x7ff0 || secs <= 0 ||
	    !batch || batch > MAX_BATCH)
		return usage();
	if (mode == 's')
		return n && n <= MAX_PAGES ? share(domid, n) : usage();
	n = (unsigned int)(argc - optind);
	if (!n || n > MAX_PAGES)
		return usage();
	for (i = 0; i < n; i++)
		refs[i] = (uint32_t)strtoul(argv[optind + i], NULL, 0);
	return copy(domid, secs, batch, refs, n, mode == 'm');
}
