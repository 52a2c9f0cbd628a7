/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

static int openat2_path(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

int cn_resolve_in_root(int rootfd, const char *path, enum cn_create create, struct cn_error *err)
{
	char parent[PATH_MAX];
	const char *base;
	_cleanup_close_ int parentfd = -1;
	int fd;

	fd = openat2_path(rootfd, path, O_PATH, IN_ROOT);
	if (fd >= 0 || errno != ENOENT || create == CN_CREATE_NONE) {
		if (fd < 0)
			cn_fail(err, errno, "open %s in the rootfs", path);
		return fd;
	}
	/* Create the last component under its (recursively created) parent. */
	base = strrchr(path, '/');
	if (!base || !base[1] || (size_t)(base - path) >= sizeof(parent))
		return cn_fail(err, EINVAL, "create %s in the rootfs", path);
	memcpy(parent, path, (size_t)(base - path));
	parent[base - path] = '\0';
	base++;
	if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
		return cn_fail(err, EINVAL, "create %s in the rootfs", path);
	parentfd = cn_resolve_in_root(rootfd, parent[0] ? parent : "/", CN_CREATE_DIR, err);
	if (parentfd < 0)
		return -1;
	if (create == CN_CREATE_DIR) {
		/* mkdirat() does not follow a final symlink: a planted one fails with EEXIST. */
		if (mkdirat(parentfd, base, 0755) < 0 && errno != EEXIST)
			return cn_fail(err, errno, "mkdir %s in the rootfs", path);
	} else {
		/* O_EXCL refuses a symlink at the last component instead of following it. */
		int created = openat(parentfd, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (created < 0 && errno != EEXIST)
			return cn_fail(err, errno, "create %s in the rootfs", path);
		if (created >= 0)
			close(created);
	}
	fd = openat2_path(parentfd, base, O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	if (fd < 0)
		return cn_fail(err, errno, "open %s in the rootfs", path);
	return fd;
}

static const struct {
	const char *name;
	uint64_t set, clr; /* mount attributes */
	uint64_t propagation;
	bool bind, recursive;
} mount_options[] = {
	{"defaults", 0, 0, 0, false, false},
	{"ro", MOUNT_ATTR_RDONLY, 0, 0, false, false},
	{"rw", 0, MOUNT_ATTR_RDONLY, 0, false, false},
	{"nosuid", MOUNT_ATTR_NOSUID, 0, 0, false, false},
	{"suid", 0, MOUNT_ATTR_NOSUID, 0, false, false},
	{"nodev", MOUNT_ATTR_NODEV, 0, 0, false, false},
	{"dev", 0, MOUNT_ATTR_NODEV, 0, false, false},
	{"noexec", MOUNT_ATTR_NOEXEC, 0, 0, false, false},
	{"exec", 0, MOUNT_ATTR_NOEXEC, 0, false, false},
	{"relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, 0, false, false},
	{"strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, 0, false, false},
	{"noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, 0, false, false},
	{"nodiratime", MOUNT_ATTR_NODIRATIME, 0, 0, false, false},
	{"bind", 0, 0, 0, true, false},
	{"rbind", 0, 0, 0, true, true},
	{"private", 0, 0, MS_PRIVATE, false, false},
	{"rprivate", 0, 0, MS_PRIVATE, false, false},
	{"slave", 0, 0, MS_SLAVE, false, false},
	{"rslave", 0, 0, MS_SLAVE, false, false},
	{"shared", 0, 0, MS_SHARED, false, false},
	{"rshared", 0, 0, MS_SHARED, false, false},
	{"unbindable", 0, 0, MS_UNBINDABLE, false, false},
	{"runbindable", 0, 0, MS_UNBINDABLE, false, false},
};

bool cn_mount_option(const char *opt, struct cn_mount_flags *f)
{
	for (size_t i = 0; i < sizeof(mount_options) / sizeof(mount_options[0]); i++) {
		if (strcmp(opt, mount_options[i].name) != 0)
			continue;
		f->attr_set = (f->attr_set & ~mount_options[i].clr) | mount_options[i].set;
		f->attr_clr = (f->attr_clr & ~mount_options[i].set) | mount_options[i].clr;
		f->propagation = mount_options[i].propagation ? mount_options[i].propagation : f->propagation;
		f->bind |= mount_options[i].bind;
		f->recursive |= mount_options[i].recursive;
		return true;
	}
	return false;
}

/* What the kernel wrote into an fs context on failure ("e tmpfs: Bad value for 'mode'"). */
static void append_fs_log(int fsfd, struct cn_error *err)
{
	char buf[256];
	ssize_t n = read(fsfd, buf, sizeof(buf) - 1);

	if (n > 2) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		size_t used = strlen(err->msg);
		snprintf(err->msg + used, sizeof(err->msg) - used, " (%s)", buf + 2);
	}
}

static int attach(int treefd, int targetfd, const char *what, const char *destination, struct cn_error *err)
{
	if (move_mount(treefd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return cn_fail(err, errno, "mount %s on %s: move_mount", what, destination);
	return 0;
}

static int set_propagation(int rootfd, const char *destination, uint64_t propagation, struct cn_error *err)
{
	struct mount_attr attr = {.propagation = propagation};
	_cleanup_close_ int fd = -1;

	if (!propagation)
		return 0;
	fd = cn_resolve_in_root(rootfd, destination, CN_CREATE_NONE, err);
	if (fd < 0)
		return -1;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return cn_fail(err, errno, "set propagation of %s: mount_setattr", destination);
	return 0;
}

static int mount_bind(int rootfd, const char *source, const char *destination, const struct cn_mount_flags *f,
		      struct cn_error *err)
{
	struct mount_attr attr = {.attr_set = f->attr_set, .attr_clr = f->attr_clr};
	_cleanup_close_ int treefd = -1, targetfd = -1;
	struct stat st;

	/* The source is a host path, opened with the RPC server's credentials: in
	 * the setuid flow those are the caller's, so a bind reaches only what the
	 * caller could read anyway. */
	treefd = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (f->recursive ? AT_RECURSIVE : 0));
	if (treefd < 0)
		return cn_fail(err, errno, "bind %s on %s: open_tree %s", source, destination, source);
	if (fstat(treefd, &st) < 0)
		return cn_fail(err, errno, "bind %s on %s: fstat", source, destination);
	if ((attr.attr_set || attr.attr_clr) &&
	    mount_setattr(treefd, "", AT_EMPTY_PATH | (f->recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
		return cn_fail(err, errno, "bind %s on %s: mount_setattr", source, destination);
	targetfd = cn_resolve_in_root(rootfd, destination, S_ISDIR(st.st_mode) ? CN_CREATE_DIR : CN_CREATE_FILE, err);
	if (targetfd < 0)
		return cn_prefix(err, "bind %s on %s: ", source, destination);
	if (attach(treefd, targetfd, source, destination, err) < 0)
		return -1;
	return set_propagation(rootfd, destination, f->propagation, err);
}

static int mount_fs(int rootfd, const char *fstype, const char *source, const char *destination,
		    const struct cn_mount_flags *f, char *fs_options, struct cn_error *err)
{
	_cleanup_close_ int fsfd = -1, mntfd = -1, targetfd = -1;
	char *save = NULL;

	fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return cn_fail(err, errno, "mount %s on %s: fsopen", fstype, destination);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0) {
		cn_fail(err, errno, "mount %s on %s: fsconfig source=%s", fstype, destination, source);
		append_fs_log(fsfd, err);
		return -1;
	}
	for (char *opt = strtok_r(fs_options, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		int rc;
		if (eq) {
			*eq = '\0';
			rc = fsconfig(fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
		} else {
			rc = fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
		}
		if (rc < 0) {
			cn_fail(err, errno, "mount %s on %s: option %s%s%s", fstype, destination, opt, eq ? "=" : "",
				eq ? eq + 1 : "");
			append_fs_log(fsfd, err);
			return -1;
		}
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		cn_fail(err, errno, "mount %s on %s", fstype, destination);
		append_fs_log(fsfd, err);
		return -1;
	}
	mntfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int)f->attr_set);
	if (mntfd < 0)
		return cn_fail(err, errno, "mount %s on %s: fsmount", fstype, destination);
	targetfd = cn_resolve_in_root(rootfd, destination, CN_CREATE_DIR, err);
	if (targetfd < 0)
		return cn_prefix(err, "mount %s on %s: ", fstype, destination);
	if (attach(mntfd, targetfd, fstype, destination, err) < 0)
		return -1;
	return set_propagation(rootfd, destination, f->propagation, err);
}

int cn_mount_one(int rootfd, const char *fstype, const char *source, const char *destination,
		 const char *options_csv, struct cn_error *err)
{
	struct cn_mount_flags f = {0};
	_cleanup_free_ char *opts = strdup(options_csv), *fs_options = calloc(1, strlen(options_csv) + 1);
	char *save = NULL;

	if (!opts || !fs_options)
		return cn_fail(err, ENOMEM, "mount %s", destination);
	for (char *opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (cn_mount_option(opt, &f))
			continue;
		if (*fs_options)
			strcat(fs_options, ",");
		strcat(fs_options, opt);
	}
	if (strcmp(fstype, "bind") == 0 || f.bind)
		return mount_bind(rootfd, source, destination, &f, err);
	return mount_fs(rootfd, fstype, source, destination, &f, fs_options, err);
}

int cn_mount_rootfs(const char *rootfs, struct cn_error *err)
{
	_cleanup_close_ int treefd = -1, targetfd = -1;
	int rootfd;

	/* Nothing mounted from here on may reach the host's mount namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cn_fail(err, errno, "make / private: mount");
	treefd = open_tree(AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (treefd < 0)
		return cn_fail(err, errno, "bind rootfs %s: open_tree", rootfs);
	targetfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (targetfd < 0)
		return cn_fail(err, errno, "open rootfs %s", rootfs);
	if (attach(treefd, targetfd, rootfs, rootfs, err) < 0)
		return -1;
	/* Reopen: the fd must name the new mount, not the directory under it. */
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cn_fail(err, errno, "open rootfs %s", rootfs);
	return rootfd;
}

int cn_mount_mask(int rootfd, const char *path, struct cn_error *err)
{
	_cleanup_close_ int targetfd = -1, treefd = -1;
	struct stat st;

	targetfd = cn_resolve_in_root(rootfd, path, CN_CREATE_NONE, err);
	if (targetfd < 0)
		return err->errnum == ENOENT ? 0 : cn_prefix(err, "mask: ");
	if (fstat(targetfd, &st) < 0)
		return cn_fail(err, errno, "mask %s: fstat", path);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
		if (fsfd < 0 || fsconfig(fsfd, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
		    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			return cn_fail(err, errno, "mask %s: create an empty tmpfs", path);
		treefd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	} else {
		treefd = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	}
	if (treefd < 0)
		return cn_fail(err, errno, "mask %s", path);
	return attach(treefd, targetfd, "a mask", path, err);
}

int cn_mount_readonly(int rootfd, const char *path, struct cn_error *err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	_cleanup_close_ int targetfd = -1, treefd = -1;

	targetfd = cn_resolve_in_root(rootfd, path, CN_CREATE_NONE, err);
	if (targetfd < 0)
		return err->errnum == ENOENT ? 0 : cn_prefix(err, "read-only: ");
	treefd = open_tree(targetfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (treefd < 0)
		return cn_fail(err, errno, "read-only %s: open_tree", path);
	if (mount_setattr(treefd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return cn_fail(err, errno, "read-only %s: mount_setattr", path);
	return attach(treefd, targetfd, "a read-only bind", path, err);
}

int cn_mount_root_readonly(int rootfd, struct cn_error *err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return cn_fail(err, errno, "read-only rootfs: mount_setattr");
	return 0;
}

int cn_pivot_root(int rootfd, struct cn_error *err)
{
	/* pivot_root(".", "."): the old root ends up stacked on the new one and is
	 * detached next, with no directory for it needed in the rootfs. */
	if (fchdir(rootfd) < 0)
		return cn_fail(err, errno, "pivot_root: fchdir to the rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return cn_fail(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return cn_fail(err, errno, "pivot_root: detach the old root");
	if (chdir("/") < 0)
		return cn_fail(err, errno, "pivot_root: chdir /");
	return 0;
}
