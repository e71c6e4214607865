/* SPDX-License-Identifier: GPL-2.0 */
/*
 * YASMIN wire ABI: everything two domains share, in one place.
 *
 * Two guests on one Xen host talk through memory they grant each other.
 * Nothing in this file may hold a pointer, a lock or a kernel-private
 * value: every byte is readable and writable by an untrusted peer. All
 * integers are little-endian (both ends run on the same host), all
 * indices are free-running u32 counters masked by the ring size.
 *
 * RENDEZVOUS (XenStore, created by dom0's "yasmin-xs setup A B ..."):
 *
 *   /local/domain/0/data/yasmin/<A>/<B>/   perms: n0 bA bB
 *
 * exists for every ordered pair of domains allowed to talk. Domain A
 * watches /local/domain/0/data/yasmin/<A>; B writes there what A must see.
 * The domain with the lower domid owns the pair's control page
 * ("owner"), so two first connects racing each other still agree on a
 * single control channel. Keys:
 *
 *   written by the owner O into .../<P>/<O>/:
 *     ctrl-ref     grant ref of the control page
 *     ctrl-evtchn  unbound event channel port reserved for P
 *     version      YASMIN_PROTO_VERSION
 *     gen          non-zero u32, new for every control page; written last,
 *                  so its presence means the other keys are complete
 *   written by the other domain P into .../<O>/<P>/:
 *     request      P wants a control channel (written on P's first use)
 *     mapped       the gen P has mapped and bound; removed when P lets go
 *
 * CONTROL PAGE (one 4 KiB page per domain pair, granted by the owner):
 *
 *   struct yasmin_ctrl_page: two message rings, owner->peer and
 *   peer->owner, of YASMIN_CTRL_SLOTS fixed-size messages each. Each
 *   index lives on its own cache line and has exactly one writer. One
 *   event channel serves both directions; every produced batch is kicked,
 *   and a consumer kicks back only when the producer asked (want_space).
 *
 * DATA CHANNEL (one per connected socket, owned by the connecting side):
 *
 *   YASMIN_INTF_PAGES interface pages plus two rings of 2^order pages:
 *   "c2a" (connector to acceptor) and "a2c". Page 0 is struct
 *   yasmin_data_intf (indices and notify words), page 1 is the table of
 *   grant refs of the ring pages: refs[0 .. 2^order) for c2a, then
 *   refs[2^order .. 2^(order+1)) for a2c. The connector grants all of
 *   them, zeroed, and sends their first refs in YASMIN_MSG_CONNECT with an
 *   unbound event channel port. The acceptor picks the ring order it takes,
 *   at most the one offered (its listener's buffer size bounds it), maps
 *   the interface pages and the first 2^taken pages of each ring
 *   (refs[0 ..) and refs[2^offered ..)), binds the port and answers
 *   YASMIN_MSG_ACCEPT with the order taken. Both sides then use rings of
 *   that order; the connector's pages past it stay unused. An ACCEPT with
 *   an order above the offer breaks the connection.
 *
 *   Receive window: a consumer may let the producer have less than the
 *   whole ring in flight (SO_VM_SOCKETS_BUFFER_SIZE set below the ring's
 *   size), by writing the limit in its cons line's window word.
 *
 *   SOCK_SEQPACKET (YASMIN_CONNECT_SEQPACKET in the CONNECT; a listener
 *   of the other type answers RESET): the bytes of each message go into
 *   the ring as for a stream, and a record of where the message ends goes
 *   into the direction's record ring in the interface page. A producer
 *   starts a message only when all of it fits, so a consumer never waits
 *   for the rest of one; it reads whole messages, record by record.
 *
 *   MSG_ZEROCOPY: a sender may leave a range of the ring unwritten and
 *   describe it instead by segments in its direction's segment ring in
 *   the interface page: each names a page of the sender's (a grant ref,
 *   read-only), an offset in it and a length, and the stream position
 *   where its bytes belong. Segments are published (zc_prod) before the
 *   prod that covers them, in stream order, never overlapping. The
 *   receiver copies a segment's bytes with a grant copy straight into its
 *   reader's buffer, and ignores what the ring holds there. The sender
 *   revokes the grants once cons has passed a segment's end, so the
 *   receiver must have copied a segment before it moves cons past it.
 */
#ifndef YASMIN_PROTO_H
#define YASMIN_PROTO_H

#ifdef YASMIN_USERSPACE
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#else
#include <linux/types.h>
#endif

/*
 * 2: ACCEPT carries the ring order the acceptor took.
 * 3: receive window; SOCK_SEQPACKET (message records, CONNECT flag).
 * 4: MSG_ZEROCOPY segments.
 */
#define YASMIN_PROTO_VERSION	4

#define YASMIN_XS_BASE		"/local/domain/0/data/yasmin"

#define YASMIN_PAGE_SIZE	4096u
#define YASMIN_CACHELINE	64u

/* Data rings: 4 KiB (order 0) to 2 MiB (order 9) per direction. */
#define YASMIN_RING_ORDER_MIN	0u
#define YASMIN_RING_ORDER_MAX	9u
#define YASMIN_INTF_PAGES	2u
#define YASMIN_REFS_PER_PAGE	(YASMIN_PAGE_SIZE / sizeof(u32))

/*
 * Notify words. A consumer about to sleep sets want_data on the ring it
 * reads; a producer that found its ring full sets want_space on the ring
 * it writes. The other side clears the word with an atomic exchange when
 * it sends the event, so each sleep costs exactly one event and a stream
 * that never sleeps costs none.
 */
#define YASMIN_NOTIFY_OFF	0u
#define YASMIN_NOTIFY_ON	1u

/*
 * One producer's cache line. Written only by the producer of the ring.
 * prod:        bytes ever written; prod - cons <= ring size, always.
 *              Never moves back (nor does cons): a reader that sees
 *              either index behind a value it saw before resets.
 * want_space:  the producer sleeps until cons moves (see above).
 * msg_prod:    SOCK_SEQPACKET only: message records ever published;
 *              msg_prod - msg_cons <= YASMIN_MSG_RECS, always. Neither
 *              moves back either.
 * zc_prod:     zero-copy segments ever published; no more than
 *              YASMIN_ZC_SEGS of them lie at or past cons.
 * shutdown:    YASMIN_SHUT_* the producer has shut down: it sends no
 *              more (SEND) or reads no more (RCV). Set when its
 *              shutdown() or close() runs, before the SHUTDOWN message
 *              that says the same, after the last prod and msg_prod it
 *              covers; never cleared. The peer sees a shutdown() as soon
 *              as it returned, not only once the message is handled
 *              (vsock_test's SHUT_RD test tells it at once over another
 *              channel). A peer from before this field leaves it 0.
 */
struct yasmin_prod_line {
	u32 prod;
	u32 want_space;
	u32 msg_prod;	/* SEQPACKET: records ever published */
	u32 zc_prod;	/* MSG_ZEROCOPY: segments ever published */
	u32 shutdown;	/* YASMIN_SHUT_* of the producer */
	u8 pad[YASMIN_CACHELINE - 5 * sizeof(u32)];
};

/*
 * One consumer's cache line. Written only by the consumer of the ring.
 * cons:        bytes ever consumed.
 * want_data:   the consumer sleeps until prod moves.
 * window:      the most bytes the producer may have in flight (prod -
 *              cons); 0, or anything above the ring's size, means the
 *              whole ring. The consumer may change it at any time.
 * msg_cons:    SOCK_SEQPACKET only: message records ever consumed.
 */

/*
 * SOCK_SEQPACKET: one message record. end is the producer's prod just
 * after the message's last byte (so its length is end less the last
 * record's end, or the cons where the consumer starts reading it); flags
 * is YASMIN_REC_EOR when the sender set MSG_EOR. Written by the producer
 * before it publishes msg_prod. Slot i of a direction's record ring holds
 * record number i modulo YASMIN_MSG_RECS.
 */
struct yasmin_msg_rec {
	u32 end;
	u32 flags;
};

#define YASMIN_REC_EOR		1u
#define YASMIN_MSG_RECS		128u	/* per direction, power of two */

/*
 * MSG_ZEROCOPY: bytes [pos, pos + len) of the stream are bytes
 * [offset, offset + len) of the page the sender granted as gref (read-only).
 * 0 < len, offset + len <= YASMIN_PAGE_SIZE. Slot i of a direction's
 * segment ring holds segment number i modulo YASMIN_ZC_SEGS; the sender
 * writes it before it publishes zc_prod, and reuses it only once cons has
 * passed the segment's end.
 */
struct yasmin_zc_seg {
	u32 pos;
	u32 gref;
	u16 offset;
	u16 len;
};

#define YASMIN_ZC_SEGS		64u	/* per direction, power of two */

/*
 * gref of a segment whose bytes the sender has since written into the
 * ring at the segment's place (it closed with the segment in flight):
 * the receiver reads them there. The sender writes the bytes, then this,
 * then revokes the page, so a receiver whose grant copy fails reads the
 * segment again and finds it.
 */
#define YASMIN_ZC_IN_RING	0xffffffffu
struct yasmin_cons_line {
	u32 cons;
	u32 want_data;
	u32 window;
	u32 msg_cons;
	u8 pad[YASMIN_CACHELINE - 4 * sizeof(u32)];
};

/*
 * Data interface page (page 0 of a data channel).
 *
 * magic, version and ring_order are written by the connector before the
 * page is granted and never change; the acceptor reads each once and
 * validates it. Ring "c2a" is produced by the connector and consumed by
 * the acceptor, "a2c" the other way round, so each side writes exactly two
 * lines: its tx prod line and its rx cons line.
 */
struct yasmin_data_intf {
	u32 magic;
	u32 version;
	u32 ring_order;
	u8 pad0[YASMIN_CACHELINE - 3 * sizeof(u32)];
	struct yasmin_prod_line c2a_prod;	/* connector writes */
	struct yasmin_cons_line c2a_cons;	/* acceptor writes */
	struct yasmin_prod_line a2c_prod;	/* acceptor writes */
	struct yasmin_cons_line a2c_cons;	/* connector writes */
	struct yasmin_msg_rec c2a_rec[YASMIN_MSG_RECS];	/* connector writes */
	struct yasmin_msg_rec a2c_rec[YASMIN_MSG_RECS];	/* acceptor writes */
	struct yasmin_zc_seg c2a_zc[YASMIN_ZC_SEGS];	/* connector writes */
	struct yasmin_zc_seg a2c_zc[YASMIN_ZC_SEGS];	/* acceptor writes */
};

#define YASMIN_DATA_MAGIC	0x6e6d7379u	/* "ysmn" */

/* Control messages. */
enum yasmin_msg_type {
	YASMIN_MSG_NONE = 0,
	/* src opens a connection from src_port to dst_port; carries the data
	 * channel (intf_ref, refs_ref, evtchn, ring_order).
	 */
	YASMIN_MSG_CONNECT = 1,
	/* dst_port's listener took conn_id; the channel is mapped and bound,
	 * with rings of ring_order (<= the CONNECT's).
	 */
	YASMIN_MSG_ACCEPT = 2,
	/* conn_id is gone: refused, closed with unread data, or broken. */
	YASMIN_MSG_RESET = 3,
	/* The sender will send no more (flags & SEND) / read no more (RCV). */
	YASMIN_MSG_SHUTDOWN = 4,
	YASMIN_MSG_MAX = YASMIN_MSG_SHUTDOWN,
};

#define YASMIN_SHUT_RCV		1u	/* same values as RCV_SHUTDOWN */
#define YASMIN_SHUT_SEND	2u	/* and SEND_SHUTDOWN */
#define YASMIN_SHUT_MASK	(YASMIN_SHUT_RCV | YASMIN_SHUT_SEND)

/* A CONNECT from a SOCK_SEQPACKET socket (else SOCK_STREAM). */
#define YASMIN_CONNECT_SEQPACKET	1u
#define YASMIN_CONNECT_MASK		YASMIN_CONNECT_SEQPACKET

/*
 * A control message, 32 bytes. Ports are the vsock ports as seen by the
 * sender: src_port is the sender's port, dst_port the receiver's. conn_id
 * is chosen by the connector and echoed in every later message about the
 * connection, so a message about an old connection can never hit a new one
 * that reuses the ports. Fields a type does not use must be zero.
 */
struct yasmin_ctrl_msg {
	u8 type;		/* enum yasmin_msg_type */
	u8 flags;		/* SHUTDOWN, CONNECT: their flags; else 0 */
	u8 ring_order;		/* CONNECT: order of each data ring offered;
				 * ACCEPT: order taken, <= offered
				 */
	u8 reserved;
	u32 src_port;
	u32 dst_port;
	u32 conn_id;		/* non-zero */
	u32 intf_ref;		/* CONNECT: grant ref of interface page 0 */
	u32 refs_ref;		/* CONNECT: grant ref of interface page 1 */
	u32 evtchn;		/* CONNECT: unbound port for the acceptor */
	u32 reserved2;
};

#define YASMIN_CTRL_SLOTS	32u	/* per direction, power of two */

/*
 * Indices of one control ring; prod and cons have separate writers.
 * want_space: the producer found the ring full and waits for an event
 * once cons moves; the consumer clears it with an atomic exchange when it
 * sends that event (the data rings' scheme, see the notify words above).
 */
struct yasmin_ctrl_idx {
	u32 prod;
	u32 want_space;
	u8 pad0[YASMIN_CACHELINE - 2 * sizeof(u32)];
	u32 cons;
	u8 pad1[YASMIN_CACHELINE - sizeof(u32)];
};

/*
 * The control page. o2p: owner produces, peer consumes. p2o: the reverse.
 * Invariant for each ring: prod - cons <= YASMIN_CTRL_SLOTS.
 */
struct yasmin_ctrl_page {
	struct yasmin_ctrl_idx o2p;
	struct yasmin_ctrl_idx p2o;
	struct yasmin_ctrl_msg o2p_msg[YASMIN_CTRL_SLOTS];
	struct yasmin_ctrl_msg p2o_msg[YASMIN_CTRL_SLOTS];
};

/*
 * Compile-time checks of the layout: both domains may run different
 * builds, so the ABI must not drift silently.
 */
#define YASMIN_ABI_ASSERT(c) _Static_assert(c, #c)
YASMIN_ABI_ASSERT(sizeof(struct yasmin_ctrl_msg) == 32);
YASMIN_ABI_ASSERT(sizeof(struct yasmin_prod_line) == YASMIN_CACHELINE);
YASMIN_ABI_ASSERT(sizeof(struct yasmin_cons_line) == YASMIN_CACHELINE);
YASMIN_ABI_ASSERT(sizeof(struct yasmin_msg_rec) == 8);
YASMIN_ABI_ASSERT(sizeof(struct yasmin_zc_seg) == 12);
YASMIN_ABI_ASSERT(sizeof(struct yasmin_data_intf) ==
		  5 * YASMIN_CACHELINE + 2 * 8 * YASMIN_MSG_RECS +
		  2 * 12 * YASMIN_ZC_SEGS);
YASMIN_ABI_ASSERT(sizeof(struct yasmin_data_intf) <= YASMIN_PAGE_SIZE);
YASMIN_ABI_ASSERT(sizeof(struct yasmin_ctrl_page) <= YASMIN_PAGE_SIZE);
YASMIN_ABI_ASSERT((2u << YASMIN_RING_ORDER_MAX) <= YASMIN_REFS_PER_PAGE);

/* Validation of what the peer wrote (proto.c; pure, unit-tested). */
int yasmin_msg_check(const struct yasmin_ctrl_msg *m);

#endif /* YASMIN_PROTO_H */
