/* SPDX-License-Identifier: Apache-2.0
 *
 * The methods the RPC server serves: all it may ever do for the master.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "mounts.h"
#include "rpc.h"

static int need_rootfs(const struct cn_rpc_server *srv, struct cn_error *err)
{
	return srv->rootfd < 0 ? cn_fail(err, EINVAL, "no rootfs set up yet") : 0;
}

static int serve_rootfs(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	if (srv->rootfd >= 0)
		return cn_fail(err, EBUSY, "the rootfs is set up already");
	srv->rootfd = cn_mount_rootfs(req->path, err);
	return srv->rootfd < 0 ? -1 : 0;
}

static int serve_mount(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	if (need_rootfs(srv, err) < 0)
		return -1;
	return cn_mount_one(srv->rootfd, req->fstype, req->source, req->path, req->options, err);
}

static int serve_symlink(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	char parent[PATH_MAX];
	const char *base = strrchr(req->path, '/');
	_cleanup_close_ int parentfd = -1;

	if (need_rootfs(srv, err) < 0)
		return -1;
	if (!base || !base[1])
		return cn_fail(err, EINVAL, "symlink %s", req->path);
	memcpy(parent, req->path, (size_t)(base - req->path));
	parent[base - req->path] = '\0';
	parentfd = cn_resolve_in_root(srv->rootfd, parent[0] ? parent : "/", CN_CREATE_DIR, err);
	if (parentfd < 0)
		return cn_prefix(err, "symlink %s: ", req->path);
	if (symlinkat(req->source, parentfd, base + 1) < 0 && errno != EEXIST)
		return cn_fail(err, errno, "symlink %s -> %s", req->path, req->source);
	return 0;
}

static int serve_mask(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	return need_rootfs(srv, err) < 0 ? -1 : cn_mount_mask(srv->rootfd, req->path, err);
}

static int serve_readonly(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	return need_rootfs(srv, err) < 0 ? -1 : cn_mount_readonly(srv->rootfd, req->path, err);
}

static int serve_root_readonly(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	(void)req;
	return need_rootfs(srv, err) < 0 ? -1 : cn_mount_root_readonly(srv->rootfd, err);
}

static int serve_hostname(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	(void)srv;
	if (sethostname(req->path, strlen(req->path)) < 0)
		return cn_fail(err, errno, "sethostname %s", req->path);
	return 0;
}

static int serve_loopback_up(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	struct ifreq ifr = {0};
	_cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	(void)srv;
	(void)req;
	if (sock < 0)
		return cn_fail(err, errno, "loopback up: socket");
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return cn_fail(err, errno, "loopback up: SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return cn_fail(err, errno, "loopback up: SIOCSIFFLAGS lo");
	return 0;
}

static int serve_pivot_root(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	(void)req;
	return need_rootfs(srv, err) < 0 ? -1 : cn_pivot_root(srv->rootfd, err);
}

#define ADMIN CN_CAP_BIT(CAP_SYS_ADMIN)

static const struct cn_rpc_method rpc_methods[] = {
	{CN_RPC_ROOTFS, "rootfs", ADMIN, serve_rootfs},
	{CN_RPC_MOUNT, "mount", ADMIN, serve_mount},
	{CN_RPC_SYMLINK, "symlink", 0, serve_symlink},
	{CN_RPC_MASK, "mask", ADMIN, serve_mask},
	{CN_RPC_READONLY, "readonly", ADMIN, serve_readonly},
	{CN_RPC_ROOT_READONLY, "root_readonly", ADMIN, serve_root_readonly},
	{CN_RPC_HOSTNAME, "hostname", ADMIN, serve_hostname},
	{CN_RPC_LOOPBACK_UP, "loopback_up", CN_CAP_BIT(CAP_NET_ADMIN), serve_loopback_up},
	{CN_RPC_PIVOT_ROOT, "pivot_root", ADMIN, serve_pivot_root},
};

__attribute__((constructor)) static void register_rpc_methods(void)
{
	for (size_t i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]); i++)
		cn_rpc_register(&rpc_methods[i]);
}
