// SPDX-License-Identifier: GPL-2.0
/*
 * Save, restore and migration of the domain we run in. Xen's suspend
 * (drivers/xen/manage.c) runs the devices' PM callbacks around the save:
 * freeze before the domain's memory is written out, restore when it runs
 * again (under a new domid), thaw when the save was cancelled or was only
 * a checkpoint. A platform device of our own gets us those callbacks.
 *
 * Across a save every session ends and its sockets are reset: a peer's
 * pages cannot stay mapped (a PV domain holding foreign mappings cannot be
 * saved), and to every peer the restored domain is a new one, paired anew
 * by dom0. Listening sockets stay; the local CID follows the new domid.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/platform_device.h>
#include <linux/pm.h>

#include "yasmin.h"

static struct platform_device *yasmin_pm_dev;

static int yasmin_pm_freeze(struct device *dev)
{
	yasmin_ctrl_suspend();
	return 0;
}

/* Runs after XenStore is back (xs_resume) and before user space thaws. */
static int yasmin_pm_resume(struct device *dev)
{
	domid_t self = yasmin_self;
	int err;

	if (yasmin_self && !yasmin_xs_find_self(&self) && self != yasmin_self) {
		pr_info("restored as domain %u (was %u): vsock CID %u\n",
			self, yasmin_self, yasmin_domid_to_cid(self));
		/* Our directory is the new domid's; the old one is gone. */
		yasmin_xs_uninit();
		WRITE_ONCE(yasmin_self, self);
		err = yasmin_xs_init();
		if (err)
			pr_err("no rendezvous after the restore: %d\n", err);
	}
	yasmin_ctrl_resume();
	return 0;
}

static const struct dev_pm_ops yasmin_pm_ops = {
	.freeze = yasmin_pm_freeze,
	.thaw = yasmin_pm_resume,
	.restore = yasmin_pm_resume,
};

static struct platform_driver yasmin_pm_driver = {
	.driver = {
		.name = KBUILD_MODNAME,
		.pm = &yasmin_pm_ops,
	},
};

int yasmin_pm_init(void)
{
	int err = platform_driver_register(&yasmin_pm_driver);

	if (err)
		return err;
	yasmin_pm_dev = platform_device_register_simple(KBUILD_MODNAME,
							PLATFORM_DEVID_NONE,
							NULL, 0);
	if (IS_ERR(yasmin_pm_dev)) {
		platform_driver_unregister(&yasmin_pm_driver);
		return PTR_ERR(yasmin_pm_dev);
	}
	return 0;
}

void yasmin_pm_uninit(void)
{
	platform_device_unregister(yasmin_pm_dev);
	platform_driver_unregister(&yasmin_pm_driver);
}
