// SPDX-License-Identifier: GPL-2.0
/*
 * Event channels between two guests, without a xenbus_device: the port is
 * allocated or bound with the raw hypercall and then handed to the event
 * core, which closes it again on unbind.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <xen/events.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>

#include "yasmin.h"

static void yasmin_evtchn_close_port(evtchn_port_t port)
{
	struct evtchn_close close = { .port = port };

	if (HYPERVISOR_event_channel_op(EVTCHNOP_close, &close))
		pr_warn("closing event channel %u failed\n", port);
}

/*
 * After a failed bind the event core may or may not have closed the port
 * already (it does when request_irq() fails, not when it runs out of
 * IRQs). Close it only if it is still open, so we never close a port
 * number that was closed and handed to someone else.
 */
static void yasmin_evtchn_close_if_open(evtchn_port_t port)
{
	struct evtchn_status st = {
		.dom = DOMID_SELF,
		.port = port,
	};

	if (HYPERVISOR_event_channel_op(EVTCHNOP_status, &st) ||
	    st.status == EVTCHNSTAT_closed)
		return;
	yasmin_evtchn_close_port(port);
}

static int yasmin_evtchn_bind(struct yasmin_evtchn *ev, irq_handler_t handler,
			      const char *name, void *dev)
{
	int irq;

	/* lateeoi: a peer flooding events cannot keep this vCPU busy. */
	irq = bind_evtchn_to_irqhandler_lateeoi(ev->port, handler, 0, name,
						dev);
	if (irq < 0) {
		yasmin_evtchn_close_if_open(ev->port);
		return irq;
	}
	ev->irq = irq;
	yasmin_stat_add(YASMIN_STAT_EVTCHNS, 1);
	return 0;
}

/* A fresh port that only @peer may bind to. */
int yasmin_evtchn_init_unbound(struct yasmin_evtchn *ev, domid_t peer,
			       irq_handler_t handler, const char *name,
			       void *dev)
{
	struct evtchn_alloc_unbound op = {
		.dom = DOMID_SELF,
		.remote_dom = peer,
	};
	int err;

	ev->irq = 0;
	err = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
	if (err)
		return err;
	ev->port = op.port;
	return yasmin_evtchn_bind(ev, handler, name, dev);
}

/* Bind the unbound port @remote that @peer reserved for us. */
int yasmin_evtchn_init_bound(struct yasmin_evtchn *ev, domid_t peer,
			     evtchn_port_t remote, irq_handler_t handler,
			     const char *name, void *dev)
{
	struct evtchn_bind_interdomain op = {
		.remote_dom = peer,
		.remote_port = remote,
	};
	int err;

	ev->irq = 0;
	err = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
	if (err)
		return err;
	ev->port = op.local_port;
	return yasmin_evtchn_bind(ev, handler, name, dev);
}

void yasmin_evtchn_uninit(struct yasmin_evtchn *ev, void *dev)
{
	if (!ev->irq)
		return;
	/* Waits for a running handler, then closes the port. */
	unbind_from_irqhandler(ev->irq, dev);
	ev->irq = 0;
	yasmin_stat_add(YASMIN_STAT_EVTCHNS, -1);
}

void yasmin_evtchn_notify(struct yasmin_evtchn *ev)
{
	if (!ev->irq)
		return;
	notify_remote_via_irq(ev->irq);
	yasmin_stat_add(YASMIN_STAT_EVENTS_SENT, 1);
}

/*
 * True while the other end is bound. When a domain dies Xen closes its
 * ports and turns ours back into ECS_UNBOUND, without sending anything:
 * this is how a destroyed peer is noticed.
 */
bool yasmin_evtchn_connected(struct yasmin_evtchn *ev)
{
	struct evtchn_status st = {
		.dom = DOMID_SELF,
		.port = ev->port,
	};

	if (!ev->irq)
		return false;
	if (HYPERVISOR_event_channel_op(EVTCHNOP_status, &st))
		return false;
	return st.status == EVTCHNSTAT_interdomain;
}
