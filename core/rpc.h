/* SPDX-License-Identifier: Apache-2.0
 *
 * The RPC server: the one process of the launch that holds the privilege to
 * set the container up. It lives in the container's namespaces, keeps only
 * the capabilities its methods need in its permitted set, raises each method's
 * capabilities for that request alone, and serves a whitelist of methods for
 * the master (bubblewrap's privileged helper, SingularityCE's RPC server).
 * It dies with its parent and exits when the master closes the socket.
 */
#ifndef CN_RPC_H
#define CN_RPC_H

#include <limits.h>
#include <stdint.h>

#include "error.h"

enum cn_rpc_method_id {
	CN_RPC_ROOTFS = 1, /* path: the rootfs; make / private, bind the rootfs onto itself */
	CN_RPC_MOUNT,      /* fstype, source, path (in the container), options */
	CN_RPC_SYMLINK,    /* source: the link's target, path: the link */
	CN_RPC_MASK,       /* path */
	CN_RPC_READONLY,   /* path */
	CN_RPC_ROOT_READONLY,
	CN_RPC_HOSTNAME,   /* path: the name */
	CN_RPC_LOOPBACK_UP,
	CN_RPC_PIVOT_ROOT,
};

struct cn_rpc_request {
	uint32_t method;
	char path[PATH_MAX];
	char source[PATH_MAX];
	char fstype[64];
	char options[2048];
};

struct cn_rpc_server {
	int sock;
	int rootfd; /* after CN_RPC_ROOTFS */
};

struct cn_rpc_method {
	uint32_t id;
	const char *name;
	uint64_t caps; /* raised in the effective set for this request alone */
	int (*serve)(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err);
};

/* Methods register themselves from a constructor. */
void cn_rpc_register(const struct cn_rpc_method *method);
const struct cn_rpc_method *cn_rpc_find(uint32_t id);
/* Every capability some method needs: what the server keeps permitted. */
uint64_t cn_rpc_caps_needed(void);

/* Serve requests until the master closes the socket; 0 then, -1 on a broken protocol. */
int cn_rpc_serve(struct cn_rpc_server *srv, struct cn_error *err);

struct cn_rpc_client {
	int sock;
};

/* One call; the server's failure comes back as err. */
int cn_rpc_call(struct cn_rpc_client *c, const struct cn_rpc_request *req, struct cn_error *err);
int cn_rpc_call_simple(struct cn_rpc_client *c, uint32_t method, const char *path, struct cn_error *err);

#endif
