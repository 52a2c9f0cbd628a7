/* SPDX-License-Identifier: Apache-2.0
 *
 * Typed messages between the launch's processes, over SOCK_SEQPACKET
 * socketpairs: one datagram a message, so a reader never sees half of one. A
 * child that fails sends CN_MSG_ERROR with its line, and the parent prints
 * that line instead of "child exited with 1".
 */
#ifndef CN_SYNC_H
#define CN_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum cn_msg_type {
	CN_MSG_ERROR = 1,     /* payload: struct cn_msg_error */
	CN_MSG_CONFIG,        /* STAGE1 -> starter: a sealed memfd holding config.json, passed with SCM_RIGHTS */
	CN_MSG_NEEDS_HOST_SETUP, /* STAGE2 -> MASTER: it exists (its /proc entry is open to the master) and waits */
	CN_MSG_HOST_SETUP_DONE,  /* MASTER -> STAGE2: its id maps and cgroups are in place: it may fork */
	CN_MSG_READY,         /* STAGE2 -> MASTER: the RPC server runs and STAGE2 waits for START */
	CN_MSG_START,         /* MASTER -> STAGE2: the container is set up, run StartProcess */
	CN_MSG_POST_START,    /* MASTER -> POST_START_HOST and CLEANUP_HOST: payload: int32 container pid */
	CN_MSG_CLEANUP,       /* MASTER -> CLEANUP_HOST: payload: struct cn_msg_cleanup */
	CN_MSG_CONSOLE,       /* STAGE2 -> MASTER, in StartProcess: the pty master of its terminal, passed with SCM_RIGHTS */
};

struct cn_msg_cleanup {
	int32_t status;        /* the container's wait status, or -1 when the launch failed */
	int32_t container_pid; /* 0 when no container process ever ran */
};

struct cn_msg_error {
	int32_t errnum;
	int32_t exit_code;
	char msg[CN_ERROR_MAX];
};

/* One message of `type` with `len` bytes of payload; fd >= 0 travels with it. */
int cn_msg_send(int sock, uint32_t type, const void *payload, size_t len, int fd, struct cn_error *err);
/* Receive one message. Returns its type, 0 on EOF (the peer closed or died), -1 on error.
 * *len gets the payload size (it may be NULL when no payload is expected); *fd a passed fd or -1. */
int cn_msg_recv(int sock, void *payload, size_t cap, size_t *len, int *fd, struct cn_error *err);
/* Receive, and fail unless it is `want`; a CN_MSG_ERROR becomes err itself, EOF becomes
 * "`who` exited before it was ready". */
int cn_msg_expect(int sock, uint32_t want, void *payload, size_t cap, int *fd, const char *who, struct cn_error *err);
/* Send err to the parent as CN_MSG_ERROR (best effort: the child exits next). */
void cn_msg_send_error(int sock, const struct cn_error *err);

int cn_socketpair(int sv[2], struct cn_error *err);

/* Connect to the unix stream socket at path and send fd over it with SCM_RIGHTS,
 * payload as the data (the protocol of runc's and crun's --console-socket).
 * `what` names the option in errors. */
int cn_send_fd_to_socket_path(const char *path, const char *what, const char *payload, int fd, struct cn_error *err);

#endif
