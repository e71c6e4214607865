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
	/* A MSG_ZEROCOPY send is complete once none of its pages is shared. */
	if (a->zc_uarg)
		yasmin_zc_complete(a->zc_uarg);
	a->zc_uarg = NULL;
	kvfree(a->pages);
	kvfree(a->va);
	kvfree(a->refs);
	a->pages = NULL;
	a->va = NULL;
	a->refs = NULL;
	a->nr = 0;
}

static bool yasmin_grants_reserve(unsigned int nr)
{
	if (atomic64_add_return(nr, &yasmin_stats[YASMIN_STAT_GRANTS]) <=
	    yasmin_max_grants)
		return true;
	yasmin_stat_add(YASMIN_STAT_GRANTS, -(s64)nr);
	return false;
}

static bool yasmin_grants_reserve_peer(atomic_t *charge, unsigned int nr)
{
	if (!charge)
		return true;
	if (atomic_add_return(nr, charge) <= yasmin_max_peer_grants)
		return true;
	atomic_sub(nr, charge);
	return false;
}

/* @nr reserved grants were never made, or were ended: give them back. */
static void yasmin_grants_unreserve(struct yasmin_grant_area *a,
				    unsigned int nr)
{
	yasmin_stat_add(YASMIN_STAT_GRANTS, -(s64)nr);
	if (a->charge)
		atomic_sub(nr, a->charge);
}

/*
 * yasmin_grant_area_init() - allocate @nr zeroed pages and grant each to
 * @peer read-write; @tag names them should they linger (linger.c).
 * Zeroing matters: the peer must never see stale kernel memory. The
 * module's grants are capped at max_grants so that sockets
 * can never starve netfront and blkfront of the guest's grant table:
 * -ENOBUFS past the cap, -ENOSPC when the table itself is exhausted.
 */
int yasmin_grant_area_init(struct yasmin_grant_area *a, unsigned int nr,
			   domid_t peer, u32 tag, atomic_t *charge)
{
	unsigned int i;
	int ref;

	a->peer = peer;
	a->nr = 0;
	a->charge = charge;
	a->zc_uarg = NULL;
	/*
	 * Reserve first, so racing sockets cannot overshoot the caps: the
	 * module's, then the peer's own, so that one peer that never unmaps
	 * what we let go cannot use up the module's for every peer.
	 */
	if (!yasmin_grants_reserve(nr)) {
		/* Pages the peers have let go may not be back yet. */
		yasmin_linger_reap_all();
		if (!yasmin_grants_reserve(nr)) {
			yasmin_stat_add(YASMIN_STAT_REFUSED, 1);
			pr_warn_ratelimited("%u more grants for domain %u would pass max_grants=%u; refused (raise max_grants or use smaller rings)\n",
					    nr, peer, yasmin_max_grants);
			return -ENOBUFS;
		}
	}
	if (!yasmin_grants_reserve_peer(charge, nr)) {
		yasmin_linger_reap_peer(peer);
		if (!yasmin_grants_reserve_peer(charge, nr)) {
			yasmin_stat_add(YASMIN_STAT_GRANTS, -(s64)nr);
			yasmin_stat_add(YASMIN_STAT_REFUSED, 1);
			pr_warn_ratelimited("%u more grants for domain %u would pass max_peer_grants=%u (%u lingering module-wide); refused\n",
					    nr, peer, yasmin_max_peer_grants,
					    (unsigned int)atomic64_read(&yasmin_stats[YASMIN_STAT_GRANTS_LINGERING]));
			return -ENOBUFS;
		}
	}
	a->pages = kvcalloc(nr, sizeof(*a->pages), GFP_KERNEL);
	a->va = kvcalloc(nr, sizeof(*a->va), GFP_KERNEL);
	a->refs = kvcalloc(nr, sizeof(*a->refs), GFP_KERNEL);
	if (!a->pages || !a->va || !a->refs)
		goto fail_nomem;

	for (i = 0; i < nr; i++) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

		if (!page)
			goto fail_nomem;
		ref = gnttab_grant_foreign_access(peer, xen_page_to_gfn(page),
						  0);
		if (ref < 0) {
			__free_page(page);
			yasmin_grants_unreserve(a, nr - a->nr);
			yasmin_grant_area_uninit(a, tag);
			pr_warn_ratelimited("grant table exhausted (%u pages for domain %u)\n",
					    nr, peer);
			return -ENOSPC;
		}
		a->pages[i] = page;
		a->va[i] = page_address(page);
		a->refs[i] = ref;
		a->nr = i + 1;
	}
	return 0;

fail_nomem:
	/* Only the pages granted so far are counted by uninit. */
	yasmin_grants_unreserve(a, nr - a->nr);
	yasmin_grant_area_uninit(a, tag);
	return -ENOMEM;
}

/*
 * yasmin_grant_area_init_pages() - grant @nr pages (a MSG_ZEROCOPY
 * sender's pinned pages) to @peer, read-only, under the same caps as
 * yasmin_grant_area_init(). The area takes a reference of its own to each
 * page, dropped once that grant is ended (see linger.c for those the peer
 * keeps mapped); the caller's references stay the caller's. -ENOBUFS past
 * a cap, -ENOSPC when the table is full, -ENOMEM.
 */
int yasmin_grant_area_init_pages(struct yasmin_grant_area *a,
				 struct page **pages, unsigned int nr,
				 domid_t peer, u32 tag, atomic_t *charge)
{
	unsigned int i;
	int ref;

	a->peer = peer;
	a->nr = 0;
	a->charge = charge;
	a->zc_uarg = NULL;
	if (!yasmin_grants_reserve(nr))
		return -ENOBUFS;
	if (!yasmin_grants_reserve_peer(charge, nr)) {
		yasmin_stat_add(YASMIN_STAT_GRANTS, -(s64)nr);
		return -ENOBUFS;
	}
	a->pages = kvcalloc(nr, sizeof(*a->pages), GFP_KERNEL);
	a->va = kvcalloc(nr, sizeof(*a->va), GFP_KERNEL);
	a->refs = kvcalloc(nr, sizeof(*a->refs), GFP_KERNEL);
	if (!a->pages || !a->va || !a->refs) {
		yasmin_grants_unreserve(a, nr);
		yasmin_grant_area_free_arrays(a);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		ref = gnttab_grant_foreign_access(peer, xen_page_to_gfn(pages[i]),
						  1);
		if (ref < 0) {
			/*
			 * A peer may map a ref it guessed before we publish
			 * it: what is granted goes the usual way.
			 */
			yasmin_grants_unreserve(a, nr - a->nr);
			yasmin_grant_area_uninit(a, tag);
			return -ENOSPC;
		}
		get_page(pages[i]);
		a->pages[i] = pages[i];
		a->refs[i] = ref;
		a->nr = i + 1;
	}
	return 0;
}

/*
 * yasmin_grant_area_try_end() - revoke every grant the peer no longer
 * maps and free its page; keep the others, packed at the front of @a.
 * Returns how many are still mapped by the peer.
 */
unsigned int yasmin_grant_area_try_end(struct yasmin_grant_area *a)
{
	unsigned int i, kept = 0;

	for (i = 0; i < a->nr; i++) {
		if (gnttab_try_end_foreign_access(a->refs[i])) {
			/* ours, or a user page a MSG_ZEROCOPY send pinned */
			put_page(a->pages[i]);
			yasmin_grants_unreserve(a, 1);
			continue;
		}
		a->pages[kept] = a->pages[i];
		a->va[kept] = a->va[i];
		a->refs[kept] = a->refs[i];
		kept++;
	}
	a->nr = kept;
	return kept;
}

/*
 * yasmin_grant_area_uninit() - let go of the area. Pages the peer still
 * maps are not revoked: they linger, granted and intact, under @tag until
 * the peer unmaps them (linger.c), so a live or dying peer never writes
 * into memory we reused, and whatever we wrote last can still be read.
 */
void yasmin_grant_area_uninit(struct yasmin_grant_area *a, u32 tag)
{
	if (a->nr && yasmin_grant_area_try_end(a)) {
		yasmin_linger_add(a, tag);	/* takes the arrays */
		return;
	}
	yasmin_grant_area_free_arrays(a);
}

/*
 * yasmin_grant_area_trim() - let go of the @count pages of @a from @first
 * on, and pack the rest; pages the peer maps linger under @tag like any
 * area we let go. -ENOMEM leaves @a as it was.
 */
int yasmin_grant_area_trim(struct yasmin_grant_area *a, unsigned int first,
			   unsigned int count, u32 tag)
{
	struct yasmin_grant_area cut = {
		.peer = a->peer, .nr = count, .charge = a->charge,
	};
	unsigned int tail;

	if (WARN_ON_ONCE(first > a->nr || count > a->nr - first))
		return -EINVAL;
	cut.pages = kvcalloc(count, sizeof(*cut.pages), GFP_KERNEL);
	cut.va = kvcalloc(count, sizeof(*cut.va), GFP_KERNEL);
	cut.refs = kvcalloc(count, sizeof(*cut.refs), GFP_KERNEL);
	if (!cut.pages || !cut.va || !cut.refs) {
		yasmin_grant_area_free_arrays(&cut);
		return -ENOMEM;
	}
	memcpy(cut.pages, a->pages + first, count * sizeof(*cut.pages));
	memcpy(cut.va, a->va + first, count * sizeof(*cut.va));
	memcpy(cut.refs, a->refs + first, count * sizeof(*cut.refs));
	tail = a->nr - first - count;
	memmove(a->pages + first, a->pages + first + count,
		tail * sizeof(*a->pages));
	memmove(a->va + first, a->va + first + count, tail * sizeof(*a->va));
	memmove(a->refs + first, a->refs + first + count,
		tail * sizeof(*a->refs));
	a->nr -= count;
	yasmin_grant_area_uninit(&cut, tag);
	return 0;
}

/*
 * yasmin_grant_area_abandon() - hand what is left to the grant table's
 * deferred list, which frees each page once the peer lets go. Only for
 * module unload, when nothing of ours may remain; counted, since those
 * pages then leave our books.
 */
void yasmin_grant_area_abandon(struct yasmin_grant_area *a)
{
	unsigned int i;

	for (i = 0; i < a->nr; i++) {
		gnttab_end_foreign_access(a->refs[i], a->pages[i]);
		yasmin_grants_unreserve(a, 1);
		yasmin_stat_add(YASMIN_STAT_GRANTS_ABANDONED, 1);
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

/*
 * Unmap the pages marked in @mapped (all when NULL). Returns how many
 * pages can go back to the allocator; a page whose unmap failed still
 * holds the peer's frame and is never freed (counted as leaked). The
 * reusable pages are packed at the front of m->pages.
 */
static unsigned int yasmin_map_area_unmap(struct yasmin_map_area *m,
					  const bool *mapped)
{
	struct gnttab_unmap_grant_ref *ops;
	struct page **pages;
	unsigned int i, n = 0, reusable = 0, bad = 0;

	ops = kvcalloc(m->nr, sizeof(*ops), GFP_KERNEL | __GFP_NOFAIL);
	pages = kvcalloc(m->nr, sizeof(*pages), GFP_KERNEL | __GFP_NOFAIL);
	for (i = 0; i < m->nr; i++) {
		if (mapped && !mapped[i]) {
			m->pages[reusable++] = m->pages[i];
			continue;
		}
		gnttab_set_unmap_op(&ops[n], (unsigned long)m->va[i],
				    GNTMAP_host_map, m->handles[i]);
		pages[n++] = m->pages[i];
	}
	if (n && gnttab_unmap_refs(ops, NULL, pages, n)) {
		pr_err("unmapping %u foreign pages failed\n", n);
		for (i = 0; i < n; i++)
			ops[i].status = GNTST_general_error;
	}
	for (i = 0; i < n; i++) {
		if (ops[i].status == GNTST_okay) {
			m->pages[reusable++] = pages[i];
			continue;
		}
		bad++;
	}
	if (bad)
		pr_err_ratelimited("%u foreign pages could not be unmapped; leaking them\n",
				   bad);
	yasmin_stat_add(YASMIN_STAT_MAPS, -(s64)n);
	yasmin_stat_add(YASMIN_STAT_MAPS_LEAKED, bad);
	kvfree(ops);
	kvfree(pages);
	return reusable;
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
		gnttab_free_pages(yasmin_map_area_unmap(m, mapped), m->pages);
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
	gnttab_free_pages(yasmin_map_area_unmap(m, NULL), m->pages);
	yasmin_map_area_free_arrays(m);
}
