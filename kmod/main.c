// SPDX-License-Identifier: GPL-2.0
/*
 * YASMIN: an AF_VSOCK transport between Xen guests over rings they grant
 * each other directly. Module init and exit, and parameters.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/workqueue.h>
#include <net/af_vsock.h>
#include <xen/grant_table.h>
#include <xen/page.h>
#include <xen/xen.h>
#include <xen/xenbus.h>

#include "yasmin.h"

domid_t yasmin_self;
struct workqueue_struct *yasmin_wq;

unsigned int yasmin_ring_kb = 512;
module_param_named(ring_kb, yasmin_ring_kb, uint, 0444);
MODULE_PARM_DESC(ring_kb,
		 "default ring size per direction in KiB, a power of two from 4 to 2048 (default 512)");

unsigned int yasmin_busy_poll_us = 50;
module_param_named(busy_poll_us, yasmin_busy_poll_us, uint, 0644);
MODULE_PARM_DESC(busy_poll_us,
		 "microseconds a reader or writer watches the ring before sleeping (default 50, 0 = never, at most 10000)");

unsigned int yasmin_busy_poll_max_us = 200;
module_param_named(busy_poll_max_us, yasmin_busy_poll_max_us, uint, 0644);
MODULE_PARM_DESC(busy_poll_max_us,
		 "most microseconds a blocking stream reader's watch for a reply may grow to, from busy_poll_us, while replies come within it (default 200, at most 10000; at or below busy_poll_us: no growth)");

unsigned int yasmin_max_grants;
module_param_named(max_grants, yasmin_max_grants, uint, 0444);
MODULE_PARM_DESC(max_grants,
		 "most grant entries all yasmin sockets may use (default 0: the guest's grant table less an eighth of it, at least 4096 entries, kept for netfront and blkfront)");

unsigned int yasmin_max_peer_maps;
module_param_named(max_peer_maps, yasmin_max_peer_maps, uint, 0444);
MODULE_PARM_DESC(max_peer_maps,
		 "most pages one peer domain's connections may make us map (default 0: a quarter of this guest's memory)");

unsigned int yasmin_max_peer_grants;
module_param_named(max_peer_grants, yasmin_max_peer_grants, uint, 0444);
MODULE_PARM_DESC(max_peer_grants,
		 "most grant entries our connections to one peer domain may hold, live or lingering (default 0: max_grants less a sixteenth, kept for the other peers)");

unsigned int yasmin_max_peer_lingering;
module_param_named(max_peer_lingering, yasmin_max_peer_lingering, uint, 0444);
MODULE_PARM_DESC(max_peer_lingering,
		 "most pages of closed connections one peer domain may keep mapped before new connections to it are refused (default 0: an eighth of max_grants)");

unsigned int yasmin_max_maps;
module_param_named(max_maps, yasmin_max_maps, uint, 0444);
MODULE_PARM_DESC(max_maps,
		 "most pages all peer domains' connections together may make us map (default 0: a quarter of this guest's memory)");

unsigned int yasmin_max_peer_conns;
module_param_named(max_peer_conns, yasmin_max_peer_conns, uint, 0444);
MODULE_PARM_DESC(max_peer_conns,
		 "most connections one peer domain may open to us at once (default 0: half of the three quarters of max_evtchns that accepted connections may take, 288)");

unsigned int yasmin_max_evtchns = 768;
module_param_named(max_evtchns, yasmin_max_evtchns, uint, 0444);
MODULE_PARM_DESC(max_evtchns,
		 "most event channels all yasmin sockets may use; a guest has 1023 unless its config says more (default 768)");

/* Defaults that follow the guest: its grant table and its memory. */
static void yasmin_size_budgets(void)
{
	unsigned int entries = gnttab_max_grant_frames() *
			       (XEN_PAGE_SIZE / sizeof(struct grant_entry_v1));

	if (!yasmin_max_grants)
		yasmin_max_grants = entries - min(entries / 2,
						  max(entries / 8, 4096u));
	/*
	 * One peer may use nearly all of the module-wide caps: the kernel's
	 * own vsock_test opens 100 connections to one peer at once (25,800
	 * grants and maps at 512 KiB rings). A sixteenth of the grants stays
	 * for the other peers, even if one pins all it was given.
	 */
	if (!yasmin_max_peer_grants)
		yasmin_max_peer_grants = yasmin_max_grants - yasmin_max_grants / 16;
	/*
	 * What a peer keeps mapped after we let go is up to the peer, not to
	 * our users: one that never unmaps may pin this much, and no more,
	 * of what the other peers could use.
	 */
	if (!yasmin_max_peer_lingering)
		yasmin_max_peer_lingering = yasmin_max_grants / 8;
	if (!yasmin_max_maps)
		yasmin_max_maps = min_t(unsigned long, totalram_pages() / 4,
					UINT_MAX);
	if (!yasmin_max_peer_maps)
		yasmin_max_peer_maps = yasmin_max_maps;
	/* No one peer may hold more than half of what any may. */
	if (!yasmin_max_peer_conns)
		yasmin_max_peer_conns = (yasmin_max_evtchns -
					 yasmin_max_evtchns / 4) / 2;
}

static int __init yasmin_init(void)
{
	u64 ring = (u64)yasmin_ring_kb * 1024;
	int err;

	if (!xen_domain()) {
		pr_err("not running in a Xen domain, refusing to load\n");
		return -ENODEV;
	}
	if (!is_power_of_2(yasmin_ring_kb) || yasmin_ring_order_for(ring) < 0) {
		pr_err("ring_kb=%u: must be a power of two from 4 to %u\n",
		       yasmin_ring_kb,
		       yasmin_ring_order_bytes(YASMIN_RING_ORDER_MAX) / 1024);
		return -EINVAL;
	}
	if (xen_initial_domain()) {
		yasmin_self = 0;
	} else {
		err = yasmin_xs_find_self(&yasmin_self);
		if (err)
			return err;
	}
	yasmin_size_budgets();
	yasmin_linger_init();

	err = yasmin_stats_init();
	if (err)
		return err;
	yasmin_wq = alloc_workqueue("yasmin", WQ_MEM_RECLAIM, 0);
	if (!yasmin_wq) {
		err = -ENOMEM;
		goto err_stats;
	}
	err = yasmin_ctrl_init();
	if (err)
		goto err_wq;
	err = yasmin_xs_init();
	if (err)
		goto err_ctrl;

	err = yasmin_pm_init();
	if (err)
		goto err_xs;
	err = vsock_core_register(&yasmin_transport, VSOCK_TRANSPORT_F_G2H);
	if (err) {
		if (err == -EBUSY)
			pr_err("another guest-to-host vsock transport is loaded (e.g. vmw_vsock_virtio_transport); unload it first\n");
		else
			pr_err("vsock_core_register failed: %d\n", err);
		goto err_pm;
	}
	pr_info("loaded: domain %u, vsock CID %u, default ring %u KiB, max_grants %u, max_peer_grants %u, max_peer_lingering %u, max_maps %u, max_peer_maps %u, max_peer_conns %u, max_evtchns %u\n",
		yasmin_self, yasmin_domid_to_cid(yasmin_self), yasmin_ring_kb,
		yasmin_max_grants, yasmin_max_peer_grants,
		yasmin_max_peer_lingering, yasmin_max_maps,
		yasmin_max_peer_maps, yasmin_max_peer_conns,
		yasmin_max_evtchns);
	return 0;

err_pm:
	yasmin_pm_uninit();
err_xs:
	yasmin_xs_uninit();
err_ctrl:
	yasmin_ctrl_uninit();
err_wq:
	destroy_workqueue(yasmin_wq);
err_stats:
	yasmin_stats_uninit();
	return err;
}

static void __exit yasmin_exit(void)
{
	vsock_core_unregister(&yasmin_transport);
	yasmin_pm_uninit();
	yasmin_xs_uninit();
	yasmin_ctrl_uninit();
	destroy_workqueue(yasmin_wq);
	yasmin_stats_uninit();
	pr_info("unloaded\n");
}

module_init(yasmin_init);
module_exit(yasmin_exit);

MODULE_DESCRIPTION("YASMIN: Xen shared-memory AF_VSOCK transport");
MODULE_LICENSE("GPL");
