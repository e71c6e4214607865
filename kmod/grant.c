// SPDX-License-Identifier: GPL-2.0
/*
 * Grants: local pages offered to a peer, and a peer's pages mapped here.
 *
 * Mapped pages are reached one page at a time through their direct-map
 * address, never through vmap(). A PV guest may not create a second,
 * ordinary PTE to a frame it holds only through a grant (Xen refuses the
 * page-table update), and xenbus_map_ring_valloc() stops at 16 grants and
 * needs a xenbus_device. gnttab_alloc_pages() + gnttab_map_refs() on the
 * direct map is what blkback and netback do, and it works for PV and PVH
 * guests alike, for any number of pages. ring.c copies page by page.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <xen/grant_table.h>
#include <xen/page.h>

#include "yasmin.h"

static void yasmin_grant_area_free_arrays(struct yasmin_grant_area *a)
{
	kvfree(a->pages);
	kvfree(a->va);
	kvfree(a->refs);
	a->pages = NULL;
	a->va = NULL;
	a->refs = NULL;
	a->nr = 0;
}

/*
 * yasmin_grant_area_init() - allocate @nr zeroed pages and grant each to
 * @peer read-write. Zeroing matters: the peer must never see stale kernel
 * memory. Returns -ENOSPC when the grant table is exhausted.
 */
int yasmin_grant_area_init(struct yasmin_grant_area *a, unsigned int nr,
			   domid_t peer)
{
	unsigned int i;
	int ref;

	a->nr = 0;
	a->pages = kvcalloc(nr, sizeof(*a->pages), GFP_KERNEL);
	a->va = kvcalloc(nr, sizeof(*a->va), GFP_KERNEL);
	a->refs = kvcalloc(nr, sizeof(*a->refs), GFP_KERNEL);
	if (!a->pages || !a->va || !a->refs) {
		yasmin_grant_area_free_arrays(a);
		return -ENOMEM;
	}

	for (i = 0; i < nr; i++) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

		if (!page)
			goto fail_nomem;
		ref = gnttab_grant_foreign_access(peer, xen_page_to_gfn(page),
						  0);
		if (ref < 0) {
			__free_page(page);
			a->nr = i;
			yasmin_grant_area_uninit(a);
			pr_warn_ratelimited("grant table exhausted (%u pages for domain %u)\n",
					    nr, peer);
			return -ENOSPC;
		}
		a->pages[i] = page;
		a->va[i] = page_address(page);
		a->refs[i] = ref;
		a->nr = i + 1;
		yasmin_stat_add(YASMIN_STAT_GRANTS, 1);
	}
	return 0;

fail_nomem:
	yasmin_grant_area_uninit(a);
	return -ENOMEM;
}

/*
 * yasmin_grant_area_uninit() - revoke every grant. A page the peer still
 * maps is not freed here: gnttab_end_foreign_access() keeps it and frees
 * it once the peer lets go, so a live or dying peer never writes into
 * memory we reused.
 */
void yasmin_grant_area_uninit(struct yasmin_grant_area *a)
{
	unsigned int i;

	for (i = 0; i < a->nr; i++) {
		gnttab_end_foreign_access(a->refs[i], a->pages[i]);
		yasmin_stat_add(YASMIN_STAT_GRANTS, -1);
	}
	yasmin_grant_area_free_arrays(a);
}

static void yasmin_map_area_free_arrays(struct yasmin_map_area *m)
{
	kvfree(m->pages);
	kvfree(m->va);
	kvfree(m->handles);
	m->pages = NULL;
	m->va = NULL;
	m->handles = NULL;
	m->nr = 0;
}

static void yasmin_map_area_unmap(struct yasmin_map_area *m,
				  const bool *mapped)
{
	struct gnttab_unmap_grant_ref *ops;
	struct page **pages;
	unsigned int i, n = 0;

	ops = kvcalloc(m->nr, sizeof(*ops), GFP_KERNEL | __GFP_NOFAIL);
	pages = kvcalloc(m->nr, sizeof(*pages), GFP_KERNEL | __GFP_NOFAIL);
	for (i = 0; i < m->nr; i++) {
		if (mapped && !mapped[i])
			continue;
		gnttab_set_unmap_op(&ops[n], (unsigned long)m->va[i],
				    GNTMAP_host_map, m->handles[i]);
		pages[n++] = m->pages[i];
	}
	if (n && gnttab_unmap_refs(ops, NULL, pages, n))
		pr_err("unmapping %u foreign pages failed\n", n);
	for (i = 0; i < n; i++) {
		if (ops[i].status != GNTST_okay)
			pr_err("unmap of a foreign page failed: %d\n",
			       ops[i].status);
	}
	yasmin_stat_add(YASMIN_STAT_MAPS, -(s64)n);
	kvfree(ops);
	kvfree(pages);
}

/*
 * yasmin_map_area_init() - map @nr pages that @peer granted us. @refs must
 * be a private copy, already read out of shared memory. Fails cleanly,
 * with nothing left mapped, when the peer gave a bad ref or is gone.
 */
int yasmin_map_area_init(struct yasmin_map_area *m, domid_t peer,
			 const grant_ref_t *refs, unsigned int nr)
{
	struct gnttab_map_grant_ref *ops;
	bool *mapped;
	unsigned int i, ok = 0;
	int err;

	m->nr = 0;
	m->pages = kvcalloc(nr, sizeof(*m->pages), GFP_KERNEL);
	m->va = kvcalloc(nr, sizeof(*m->va), GFP_KERNEL);
	m->handles = kvcalloc(nr, sizeof(*m->handles), GFP_KERNEL);
	ops = kvcalloc(nr, sizeof(*ops), GFP_KERNEL);
	mapped = kvcalloc(nr, sizeof(*mapped), GFP_KERNEL);
	if (!m->pages || !m->va || !m->handles || !ops || !mapped) {
		err = -ENOMEM;
		goto out_arrays;
	}

	err = gnttab_alloc_pages(nr, m->pages);
	if (err)
		goto out_arrays;
	m->nr = nr;

	for (i = 0; i < nr; i++) {
		m->va[i] = pfn_to_kaddr(page_to_pfn(m->pages[i]));
		gnttab_set_map_op(&ops[i], (unsigned long)m->va[i],
				  GNTMAP_host_map, refs[i], peer);
	}

	err = gnttab_map_refs(ops, NULL, m->pages, nr);
	for (i = 0; i < nr; i++) {
		if (ops[i].status == GNTST_okay) {
			m->handles[i] = ops[i].handle;
			mapped[i] = true;
			ok++;
		}
	}
	yasmin_stat_add(YASMIN_STAT_MAPS, ok);
	if (err || ok != nr) {
		pr_warn_ratelimited("domain %u: %u of %u grants failed to map\n",
				    peer, nr - ok, nr);
		yasmin_map_area_unmap(m, mapped);
		gnttab_free_pages(nr, m->pages);
		err = -EPROTO;
		goto out_arrays;
	}
	kvfree(ops);
	kvfree(mapped);
	return 0;

out_arrays:
	kvfree(ops);
	kvfree(mapped);
	yasmin_map_area_free_arrays(m);
	return err;
}

void yasmin_map_area_uninit(struct yasmin_map_area *m)
{
	if (!m->nr)
		return;
	yasmin_map_area_unmap(m, NULL);
	gnttab_free_pages(m->nr, m->pages);
	yasmin_map_area_free_arrays(m);
}
