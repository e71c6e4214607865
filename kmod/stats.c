// SPDX-License-Identifier: GPL-2.0
/*
 * Counters, one read-only file each in /sys/module/yasmin/counters/, so
 * tests and operators can see that nothing leaks and how many events a
 * transfer cost.
 */
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/sysfs.h>

#include "yasmin.h"

atomic64_t yasmin_stats[YASMIN_STAT_NR];

static struct kobject *yasmin_stats_kobj;

static const char * const yasmin_stat_names[YASMIN_STAT_NR] = {
	[YASMIN_STAT_SOCKETS] = "sockets",
	[YASMIN_STAT_PEERS] = "peers",
	[YASMIN_STAT_GRANTS] = "grants",
	[YASMIN_STAT_MAPS] = "maps",
	[YASMIN_STAT_EVTCHNS] = "evtchns",
	[YASMIN_STAT_BYTES_SENT] = "bytes_sent",
	[YASMIN_STAT_BYTES_RECEIVED] = "bytes_received",
	[YASMIN_STAT_EVENTS_SENT] = "events_sent",
	[YASMIN_STAT_EVENTS_RECEIVED] = "events_received",
	[YASMIN_STAT_RESETS] = "resets",
	[YASMIN_STAT_GRANTS_LINGERING] = "grants_lingering",
	[YASMIN_STAT_GRANTS_ABANDONED] = "grants_abandoned",
	[YASMIN_STAT_MAPS_LEAKED] = "maps_leaked",
	[YASMIN_STAT_EVENTS_SPURIOUS] = "events_spurious",
	[YASMIN_STAT_REFUSED] = "refused",
	[YASMIN_STAT_ZC_BYTES_SENT] = "zc_bytes_sent",
	[YASMIN_STAT_ZC_BYTES_MOVED] = "zc_bytes_moved",
};

struct yasmin_stat_attr {
	struct kobj_attribute attr;
	enum yasmin_stat stat;
};

static ssize_t yasmin_stat_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	struct yasmin_stat_attr *sa =
		container_of(attr, struct yasmin_stat_attr, attr);

	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&yasmin_stats[sa->stat]));
}

static struct yasmin_stat_attr yasmin_stat_attrs[YASMIN_STAT_NR];
static struct attribute *yasmin_stat_attr_ptrs[YASMIN_STAT_NR + 1];

static const struct attribute_group yasmin_stat_group = {
	.attrs = yasmin_stat_attr_ptrs,
};

int yasmin_stats_init(void)
{
	int i, err;

	for (i = 0; i < YASMIN_STAT_NR; i++) {
		struct yasmin_stat_attr *sa = &yasmin_stat_attrs[i];

		atomic64_set(&yasmin_stats[i], 0);
		sysfs_attr_init(&sa->attr.attr);
		sa->attr.attr.name = yasmin_stat_names[i];
		sa->attr.attr.mode = 0444;
		sa->attr.show = yasmin_stat_show;
		sa->stat = i;
		yasmin_stat_attr_ptrs[i] = &sa->attr.attr;
	}

	yasmin_stats_kobj = kobject_create_and_add("counters",
						   &THIS_MODULE->mkobj.kobj);
	if (!yasmin_stats_kobj)
		return -ENOMEM;
	err = sysfs_create_group(yasmin_stats_kobj, &yasmin_stat_group);
	if (err)
		kobject_put(yasmin_stats_kobj);
	return err;
}

void yasmin_stats_uninit(void)
{
	sysfs_remove_group(yasmin_stats_kobj, &yasmin_stat_group);
	kobject_put(yasmin_stats_kobj);
}
