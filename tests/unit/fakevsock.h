/* SPDX-License-Identifier: GPL-2.0 */
/* The fake AF_VSOCK of the shim's unit tests (fakevsock.c). */
#ifndef YASMIN_FAKEVSOCK_H
#define YASMIN_FAKEVSOCK_H
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

struct yasmin_real;
extern unsigned int fake_client_cid, fake_dead_cid, fake_self_cid;
void fake_vsock_install(struct yasmin_real *r);
int fake_is_vsock(int fd);
int fake_orig_getsockopt(int fd, int level, int name, void *v, socklen_t *l);
#endif
