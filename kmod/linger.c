// SPDX-License-Identifier: GPL-2.0
/*
 * Granted pages that outlive their socket or session because the peer
 * still maps them.
 *
 * Revoking a grant the peer maps is impossible; the kernel's fallback,
 * gnttab_end_foreign_access(), parks the page on a deferred list that is
 * retried about once a second for the whole guest, and its pages vanish
 * from our books. Instead every area we let go is first revoked page by
 * page where the peer has already unmapped, and what remains lingers
 * here, still granted and intact, until the peer lets go: at the next
 * control message about the same connection (yasmin_linger_reap()), or at
 * the periodic retry below. Lingering pages stay in the "grants" counter
 * and are also shown as "grants_lingering", so a peer that never lets go
 * is visible, and they count against max_grants, so it cannot make us
 * grant more than that.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "yasmin.h"

/* How often lingering pages are offered back to the peer's good will. */
#define YASMIN_LINGER_PERIOD	(HZ / 10)

struct yasmin_linger {
	struct list_head node;
	u32 tag;
	struct yasmin_grant_area area;
};

static LIST_HEAD(yasmin_lingering);
static DEFINE_SPINLOCK(yasmin_linger_lock);
static void yasmin_linger_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(yasmin_linger_dwork, yasmin_linger_work);
static bool yasmin_linger_stopped;

/*
 * Try to end an entry's grants. True when nothing is left; the caller then
 * frees it. Requires: yasmin_linger_lock held, or the entry off the list.
 */
static bool yasmin_linger_try(struct yasmin_linger *l)
{
	unsigned int before = l->area.nr;
	unsigned int left = yasmin_grant_area_try_end(&l->area);

	yasmin_stat_add(YASMIN_STAT_GRANTS_LINGERING, -(s64)(before - left));
	return !left;
}

static void yasmin_linger_free(struct yasmin_linger *l)
{
	/* A control page let go: a request held back for it may go on. */
	if (l->tag == YASMIN_LINGER_CTRL)
		yasmin_peer_xs_changed(l->area.peer);
	yasmin_grant_area_uninit(&l->area, l->tag);
	kfree(l);
}

/*
 * yasmin_linger_add() - keep the pages left in @a (all still mapped by
 * a->peer) until the peer unmaps them. Takes over @a's arrays.
 */
void yasmin_linger_add(struct yasmin_grant_area *a, u32 tag)
{
	struct yasmin_linger *l = kmalloc(sizeof(*l), GFP_KERNEL);

	if (!l) {
		/* No memory to remember them: let the grant table do it. */
		yasmin_grant_area_abandon(a);
		return;
	}
	l->tag = tag;
	l->area = *a;
	memset(a, 0, sizeof(*a));
	yasmin_stat_add(YASMIN_STAT_GRANTS_LINGERING, l->area.nr);
	spin_lock(&yasmin_linger_lock);
	list_add_tail(&l->node, &yasmin_lingering);
	/* Not mod_: a steady stream of adds must not keep pushing it back. */
	if (!yasmin_linger_stopped)
		queue_delayed_work(system_wq, &yasmin_linger_dwork,
				   YASMIN_LINGER_PERIOD);
	spin_unlock(&yasmin_linger_lock);
}

/*
 * Try the entries of @peer tagged @tag (all of them when @all) and free
 * those the peer let go entirely. The tries run under the lock, so an
 * entry is never missing from the list while it still holds pages.
 */
static void yasmin_linger_retry(domid_t peer, u32 tag, bool all_tags,
				bool all)
{
	struct yasmin_linger *l, *tmp;
	LIST_HEAD(done);

	spin_lock(&yasmin_linger_lock);
	list_for_each_entry_safe(l, tmp, &yasmin_lingering, node) {
		if (!all && (l->area.peer != peer ||
			     (!all_tags && l->tag != tag)))
			continue;
		if (yasmin_linger_try(l))
			list_move_tail(&l->node, &done);
	}
	spin_unlock(&yasmin_linger_lock);

	list_for_each_entry_safe(l, tmp, &done, node) {
		list_del(&l->node);
		yasmin_linger_free(l);
	}
}

/*
 * Short of grants: whatever the peers let go since the last retry comes
 * back now, before a connect is refused for want of it.
 */
void yasmin_linger_reap_all(void)
{
	yasmin_linger_retry(DOMID_INVALID, 0, true, true);
}

/* The same for one peer, short of its own budget (max_peer_grants). */
void yasmin_linger_reap_peer(domid_t peer)
{
	yasmin_linger_retry(peer, 0, true, false);
}

/* The peer spoke about @tag after we let go: it has probably unmapped. */
void yasmin_linger_reap(domid_t peer, u32 tag)
{
	yasmin_linger_retry(peer, tag, false, false);
}

/* Does @peer still map pages we let go under @tag? */
bool yasmin_linger_holds(domid_t peer, u32 tag)
{
	struct yasmin_linger *l;
	bool found = false;

	spin_lock(&yasmin_linger_lock);
	list_for_each_entry(l, &yasmin_lingering, node) {
		if (l->area.peer == peer && l->tag == tag) {
			found = true;
			break;
		}
	}
	spin_unlock(&yasmin_linger_lock);
	return found;
}

/* How many of our pages @peer still maps after we let go of them. */
unsigned int yasmin_linger_count(domid_t peer)
{
	struct yasmin_linger *l;
	unsigned int n = 0;

	spin_lock(&yasmin_linger_lock);
	list_for_each_entry(l, &yasmin_lingering, node)
		if (l->area.peer == peer)
			n += l->area.nr;
	spin_unlock(&yasmin_linger_lock);
	return n;
}

/*
 * yasmin_linger_room() - may we give @peer a new connection? Not while it
 * keeps max_peer_lingering or more of the pages we let go mapped: it gets
 * nothing more until it lets go. An honest peer unmaps once it has read
 * the last bytes of a closed connection, which a busy one (many streams
 * at once, its vCPUs shared) may take a while to do, so a connect waits
 * for it up to @wait jiffies, its connect timeout: a peer that never lets
 * go costs a connect what an unresponsive one does, then ENOBUFS. What it
 * let go is reaped at every try. Process context (connect), no lock held
 * but the connecting socket's; a signal ends the wait.
 */
bool yasmin_linger_room(domid_t peer, long wait)
{
	unsigned long deadline = jiffies + max(wait, 0L);
	unsigned int lingering;

	for (;;) {
		yasmin_linger_reap_peer(peer);
		lingering = yasmin_linger_count(peer);
		if (lingering < yasmin_max_peer_lingering)
			return true;
		if (time_after_eq(jiffies, deadline) ||
		    msleep_interruptible(20))
			break;
	}
	yasmin_stat_add(YASMIN_STAT_REFUSED, 1);
	pr_warn_ratelimited("domain %u still maps %u of our pages after we let go of them, max_peer_lingering=%u; refused until it lets go\n",
			    peer, lingering, yasmin_max_peer_lingering);
	return false;
}

static void yasmin_linger_work(struct work_struct *work)
{
	bool more;

	yasmin_linger_retry(DOMID_INVALID, 0, true, true);
	spin_lock(&yasmin_linger_lock);
	more = !list_empty(&yasmin_lingering) && !yasmin_linger_stopped;
	if (more)
		queue_delayed_work(system_wq, &yasmin_linger_dwork,
				   YASMIN_LINGER_PERIOD);
	spin_unlock(&yasmin_linger_lock);
}

void yasmin_linger_init(void)
{
	yasmin_linger_stopped = false;
}

/*
 * Module unload: what a peer still maps goes to the grant table's
 * deferred list, the only owner that outlives us.
 * Requires: every peer's session is down (no new entries can come).
 */
void yasmin_linger_uninit(void)
{
	struct yasmin_linger *l, *tmp;
	LIST_HEAD(all);

	spin_lock(&yasmin_linger_lock);
	yasmin_linger_stopped = true;
	spin_unlock(&yasmin_linger_lock);
	cancel_delayed_work_sync(&yasmin_linger_dwork);

	spin_lock(&yasmin_linger_lock);
	list_splice_init(&yasmin_lingering, &all);
	spin_unlock(&yasmin_linger_lock);
	list_for_each_entry_safe(l, tmp, &all, node) {
		list_del(&l->node);
		if (!yasmin_linger_try(l)) {
			pr_warn("domain %u still maps %u of our pages; the grant table frees them when it lets go\n",
				l->area.peer, l->area.nr);
			yasmin_stat_add(YASMIN_STAT_GRANTS_LINGERING,
					-(s64)l->area.nr);
			yasmin_grant_area_abandon(&l->area);
		} else {
			yasmin_grant_area_uninit(&l->area, l->tag);
		}
		kfree(l);
	}
}
