/* SPDX-License-Identifier: Apache-2.0
 *
 * Mounts inside the container's root, done by the RPC server. Every path in
 * the rootfs is resolved beneath a rootfs fd with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), and every mount goes through the new mount API
 * (fsopen/fsmount/open_tree/move_mount) onto that verified fd: a symlink in a
 * hostile rootfs can never send a mount, a mkdir or a file out of it.
 */
#ifndef CN_MOUNTS_H
#define CN_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

enum cn_create {
	CN_CREATE_NONE,
	CN_CREATE_DIR,
	CN_CREATE_FILE,
};

/* An O_PATH fd for `path` (absolute, inside the container) beneath rootfd,
 * creating it (and missing parents, as directories) when asked. */
int cn_resolve_in_root(int rootfd, const char *path, enum cn_create create, struct cn_error *err);

/* Make the mount namespace private and bind the rootfs onto itself; returns its fd. */
int cn_mount_rootfs(const char *rootfs, struct cn_error *err);
/* One OCI mount: "bind" (or a bind/rbind option) from a host path, else a filesystem. */
int cn_mount_one(int rootfd, const char *fstype, const char *source, const char *destination,
		 const char *options_csv, struct cn_error *err);
/* Hide `path`: /dev/null over a file, an empty read-only tmpfs over a directory. Absent paths are fine. */
int cn_mount_mask(int rootfd, const char *path, struct cn_error *err);
/* Bind `path` onto itself read-only (recursively). Absent paths are fine. */
int cn_mount_readonly(int rootfd, const char *path, struct cn_error *err);
/* Make the root mount itself read-only (not its submounts). */
int cn_mount_root_readonly(int rootfd, struct cn_error *err);
/* pivot_root into rootfd and detach the old root. */
int cn_pivot_root(int rootfd, struct cn_error *err);

/* OCI mount options split into mount attributes and the filesystem's own options. */
struct cn_mount_flags {
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* */
	uint64_t propagation;        /* MS_PRIVATE, MS_SLAVE, ... or 0 */
	bool bind, recursive;
};
/* Returns true when `opt` is a mount flag (and records it), false when it is a filesystem option. */
bool cn_mount_option(const char *opt, struct cn_mount_flags *f);

#endif
