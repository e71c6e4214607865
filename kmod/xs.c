// SPDX-License-Identifier: GPL-2.0
/*
 * XenStore rendezvous; the layout is documented in proto.h. We watch our
 * own directory, YASMIN_XS_BASE/<self>, and write into the peer's one,
 * YASMIN_XS_BASE/<peer>/<self>. dom0's yasmin-xs creates both with an ACL
 * naming exactly the two domains.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <xen/xenbus.h>

#include "yasmin.h"

static struct xenbus_watch yasmin_xs_watch;
static char *yasmin_xs_self_dir;

/* "<base>/<self>/<peer>" holds what @peer tells us. */
static char *yasmin_xs_in_dir(domid_t peer)
{
	return kasprintf(GFP_KERNEL, "%s/%u/%u", YASMIN_XS_BASE, yasmin_self,
			 peer);
}

/* "<base>/<peer>/<self>" holds what we tell @peer. */
static char *yasmin_xs_out_dir(domid_t peer)
{
	return kasprintf(GFP_KERNEL, "%s/%u/%u", YASMIN_XS_BASE, peer,
			 yasmin_self);
}

bool yasmin_xs_pair_exists(domid_t peer)
{
	char *dir = yasmin_xs_in_dir(peer);
	bool ok;

	if (!dir)
		return false;
	ok = xenbus_exists(XBT_NIL, dir, "");
	kfree(dir);
	return ok;
}

/*
 * Keys the peer wrote for us. -ENOENT when absent, -EPROTO when garbled:
 * the whole value must be a decimal u32 ("17abc" is not 17).
 */
int yasmin_xs_read_u32(domid_t peer, const char *key, u32 *val)
{
	char *dir = yasmin_xs_in_dir(peer);
	char *str;
	int err;

	if (!dir)
		return -ENOMEM;
	str = xenbus_read(XBT_NIL, dir, key, NULL);
	kfree(dir);
	if (IS_ERR(str))
		return PTR_ERR(str);
	err = kstrtou32(str, 10, val) ? -EPROTO : 0;
	kfree(str);
	return err;
}

int yasmin_xs_write_u32(domid_t peer, const char *key, u32 val)
{
	char *dir = yasmin_xs_out_dir(peer);
	int err;

	if (!dir)
		return -ENOMEM;
	err = xenbus_printf(XBT_NIL, dir, key, "%u", val);
	kfree(dir);
	return err;
}

int yasmin_xs_remove(domid_t peer, const char *key)
{
	char *dir = yasmin_xs_out_dir(peer);
	int err;

	if (!dir)
		return -ENOMEM;
	err = xenbus_rm(XBT_NIL, dir, key);
	kfree(dir);
	return err == -ENOENT ? 0 : err;
}

/* Remove a key the peer wrote for us, once we have consumed it. */
int yasmin_xs_consume(domid_t peer, const char *key)
{
	char *dir = yasmin_xs_in_dir(peer);
	int err;

	if (!dir)
		return -ENOMEM;
	err = xenbus_rm(XBT_NIL, dir, key);
	kfree(dir);
	return err == -ENOENT ? 0 : err;
}

/*
 * The owner's advertisement of a control page. gen goes last, in the same
 * transaction, so a peer that sees gen sees everything else too.
 */
int yasmin_xs_publish_ctrl(domid_t peer, grant_ref_t ref,
			   evtchn_port_t port, u32 gen)
{
	struct xenbus_transaction xbt;
	char *dir = yasmin_xs_out_dir(peer);
	int err;

	if (!dir)
		return -ENOMEM;
again:
	err = xenbus_transaction_start(&xbt);
	if (err)
		goto out;
	err = xenbus_printf(xbt, dir, "ctrl-ref", "%u", ref);
	if (!err)
		err = xenbus_printf(xbt, dir, "ctrl-evtchn", "%u", port);
	if (!err)
		err = xenbus_printf(xbt, dir, "version", "%u",
				    YASMIN_PROTO_VERSION);
	if (!err)
		err = xenbus_printf(xbt, dir, "gen", "%u", gen);
	if (err) {
		xenbus_transaction_end(xbt, 1);
		goto out;
	}
	err = xenbus_transaction_end(xbt, 0);
	if (err == -EAGAIN)
		goto again;
out:
	kfree(dir);
	return err;
}

void yasmin_xs_unpublish_ctrl(domid_t peer)
{
	/* gen first: without it the rest means nothing. */
	yasmin_xs_remove(peer, "gen");
	yasmin_xs_remove(peer, "ctrl-ref");
	yasmin_xs_remove(peer, "ctrl-evtchn");
	yasmin_xs_remove(peer, "version");
}

static void yasmin_xs_scan(void)
{
	unsigned int i, n, peer;
	char **dir;

	dir = xenbus_directory(XBT_NIL, yasmin_xs_self_dir, "", &n);
	if (IS_ERR(dir))
		return;
	for (i = 0; i < n; i++) {
		if (kstrtouint(dir[i], 10, &peer) ||
		    peer >= DOMID_FIRST_RESERVED || peer == yasmin_self)
			continue;
		yasmin_peer_xs_changed(peer);
	}
	kfree(dir);
}

/* Paths look like "<base>/<self>/<peer>[/<key>]"; anything else is noise. */
static void yasmin_xs_changed(struct xenbus_watch *watch, const char *path,
			      const char *token)
{
	size_t len = strlen(yasmin_xs_self_dir);
	unsigned int peer;
	char tail;

	/*
	 * Registering the watch fires it once on our directory itself: look
	 * at every peer, so a request written while we were not loaded is
	 * still answered. It fires again if dom0 removes the directory
	 * whole: then every peer we know must look again and close.
	 */
	if (!strcmp(path, yasmin_xs_self_dir)) {
		yasmin_peers_xs_changed_all();
		yasmin_xs_scan();
		return;
	}
	if (strncmp(path, yasmin_xs_self_dir, len) || path[len] != '/')
		return;
	if (sscanf(path + len + 1, "%u%c", &peer, &tail) < 1)
		return;
	if (peer >= DOMID_FIRST_RESERVED || peer == yasmin_self)
		return;
	yasmin_peer_xs_changed(peer);
}

/* Our domid, as XenStore says: relative paths are under our own home. */
int yasmin_xs_find_self(domid_t *self)
{
	unsigned int domid;
	int n;

	n = xenbus_scanf(XBT_NIL, "domid", "", "%u", &domid);
	if (n != 1 || domid >= DOMID_FIRST_RESERVED) {
		pr_err("cannot read our domid from XenStore (%d)\n", n);
		return n < 0 ? n : -ENODEV;
	}
	*self = domid;
	return 0;
}

int yasmin_xs_init(void)
{
	int err;

	yasmin_xs_self_dir = kasprintf(GFP_KERNEL, "%s/%u", YASMIN_XS_BASE,
				       yasmin_self);
	if (!yasmin_xs_self_dir)
		return -ENOMEM;
	yasmin_xs_watch.node = yasmin_xs_self_dir;
	yasmin_xs_watch.callback = yasmin_xs_changed;
	err = register_xenbus_watch(&yasmin_xs_watch);
	if (err) {
		pr_err("cannot watch %s: %d\n", yasmin_xs_self_dir, err);
		kfree(yasmin_xs_self_dir);
		yasmin_xs_self_dir = NULL;
	}
	return err;
}

/* Also after a failed yasmin_xs_init() (a restore's can fail). */
void yasmin_xs_uninit(void)
{
	if (!yasmin_xs_self_dir)
		return;
	unregister_xenbus_watch(&yasmin_xs_watch);
	kfree(yasmin_xs_self_dir);
	yasmin_xs_self_dir = NULL;
}
