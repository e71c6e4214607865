// SPDX-License-Identifier: GPL-2.0
/*
 * YASMIN: AF_VSOCK transport between Xen guests over granted shared-memory
 * rings. Module init and exit.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <xen/xen.h>

static int __init yasmin_init(void)
{
	if (!xen_domain()) {
		pr_err("not running in a Xen domain, refusing to load\n");
		return -ENODEV;
	}
	pr_info("loaded\n");
	return 0;
}

static void __exit yasmin_exit(void)
{
	pr_info("unloaded\n");
}

module_init(yasmin_init);
module_exit(yasmin_exit);

MODULE_DESCRIPTION("YASMIN: Xen shared-memory AF_VSOCK transport");
MODULE_LICENSE("GPL");
