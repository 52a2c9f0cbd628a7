/* SPDX-License-Identifier: Apache-2.0
 *
 * cgroups: one manager over two backends, as crun's libcrun cgroup managers.
 *
 *   cgroup_layout.c  which hierarchies are mounted where: pure v2, hybrid or
 *                    legacy, from /proc/self/mountinfo text (pure functions)
 *   cgroup.c         the manager: one cgroup of the container's in each hierarchy
 *                    it uses, each limit routed to the hierarchy that holds its
 *                    controller, the flows' rules, and the calls into a backend
 *   cgroup_v1.c      the backend for a v1 hierarchy (memory.limit_in_bytes ...)
 *   cgroup_v2.c      the backend for the unified hierarchy (memory.max ...)
 *
 * A hybrid machine (v1 controllers plus an empty cgroup2, as this project's CI)
 * gets a cgroup in the v1 hierarchies of memory, pids and cpu and one in the
 * unified hierarchy; a limit whose controller no hierarchy offers is an error
 * naming the controller, never skipped.
 */
#ifndef CN_CGROUP_H
#define CN_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

struct cn_options;

/* ---- the layout: cgroup_layout.c ---- */

enum cn_cgroup_kind {
	CN_CGROUP_NONE,    /* no cgroup filesystem mounted */
	CN_CGROUP_LEGACY,  /* v1 controllers only */
	CN_CGROUP_HYBRID,  /* v1 controllers and a cgroup2 beside them */
	CN_CGROUP_UNIFIED, /* cgroup2 only (a v1 name=... hierarchy without controllers may remain) */
};

/* The v1 controllers, as bits; the first three are the ones cnlaunch sets limits with. */
enum {
	CN_CTRL_MEMORY = 1u << 0,
	CN_CTRL_PIDS = 1u << 1,
	CN_CTRL_CPU = 1u << 2,
	CN_CTRL_LIMITED = CN_CTRL_MEMORY | CN_CTRL_PIDS | CN_CTRL_CPU,
};

#define CN_CGROUP_PATH_MAX 512
#define CN_CGROUP_MOUNTS_MAX 24

struct cn_cgroup_mount {
	char mountpoint[CN_CGROUP_PATH_MAX];
	char root[CN_CGROUP_PATH_MAX]; /* the cgroup the mount shows at its top ("/" but in a cgroup namespace) */
	uint32_t controllers;          /* v1: CN_CTRL_* bits of its controllers; v2: 0 (cgroup.controllers says) */
	char name[32];                 /* v1: the name= of a named hierarchy ("systemd"), else "" */
	char label[96];                /* as /proc/PID/cgroup names it: "cpu,cpuacct", "name=systemd", "0:" for v2 */
};

struct cn_cgroup_layout {
	enum cn_cgroup_kind kind;
	struct cn_cgroup_mount v1[CN_CGROUP_MOUNTS_MAX]; /* one per hierarchy: bind mounts of it are skipped */
	size_t n_v1;
	bool has_v2;
	struct cn_cgroup_mount v2;
};

/* Parse /proc/PID/mountinfo text. Fails only on a line it cannot read. */
int cn_cgroup_layout_parse(const char *mountinfo, struct cn_cgroup_layout *out, struct cn_error *err);
const char *cn_cgroup_kind_name(enum cn_cgroup_kind kind); /* "unified", "hybrid", "legacy", "none" */
/* CN_CTRL_* bit of a controller name, 0 when it is not one cnlaunch knows. */
uint32_t cn_cgroup_controller_bit(const char *name);
const char *cn_cgroup_controller_name(uint32_t bit);
/* The cgroup of a process in mount m's hierarchy, from its /proc/PID/cgroup text
 * ("/a/b"); -1 when the text has no line for that hierarchy. */
int cn_cgroup_own_path(const char *proc_cgroup, const struct cn_cgroup_mount *m, bool v2, char *out, size_t cap);
/* What is left of cgroup path below base: "" for base itself, "/b" for base/b; NULL
 * when path is not base or beneath it ("/a" holds "/a/b", not "/ab"). */
const char *cn_cgroup_below(const char *path, const char *base);
/* The directory of cgroup `path` under mount m; -1 when the mount does not show it. */
int cn_cgroup_dir_of(const struct cn_cgroup_mount *m, const char *path, char *out, size_t cap);

/* ---- a backend: cgroup_v1.c, cgroup_v2.c ---- */

/* The container's cgroup in one hierarchy. */
struct cn_cgroup_dir {
	const struct cn_cgroup_backend *backend;
	const struct cn_cgroup_mount *mount; /* in the manager's layout */
	uint32_t controllers;                /* CN_CTRL_* whose limits are written here */
	char own[CN_CGROUP_PATH_MAX];        /* the launcher's own cgroup in this hierarchy */
	char path[CN_CGROUP_PATH_MAX];       /* the container's cgroup ("/a/cnlaunch-42") */
	char dir[CN_CGROUP_PATH_MAX];        /* its directory */
	size_t n_new;  /* trailing components of path missing when planned: made, and removed at exit */
	size_t n_made; /* of those, how many this process made */
	int fd;        /* v2: the directory, for clone3(CLONE_INTO_CGROUP); -1 */
};

struct cn_cgroup_backend {
	const char *name; /* "cgroup v1", "cgroup v2" */
	/* Make d->dir and the missing parents, ready for d->controllers. */
	int (*create)(struct cn_cgroup_dir *d, struct cn_error *err);
	/* Move pid into it. */
	int (*enter)(struct cn_cgroup_dir *d, pid_t pid, struct cn_error *err);
	/* Write the limits of d->controllers. */
	int (*apply)(struct cn_cgroup_dir *d, const struct cn_resources *r, struct cn_error *err);
	/* The limits set on the cgroup directory `dir` itself (0: not set there,
	 * -1: unlimited), for the controllers asked; cpu_shares is its own share. */
	int (*read_limits)(const char *dir, uint32_t controllers, struct cn_resources *out, struct cn_error *err);
	/* How often the OOM killer struck in it (-1: unknown). */
	long (*oom_kills)(const struct cn_cgroup_dir *d);
	/* Kill what still runs in it, wait for it to empty, and remove the n_remove trailing
	 * components of d->dir; nothing at all when n_remove is 0 (a cgroup it joined). */
	int (*destroy)(struct cn_cgroup_dir *d, size_t n_remove, struct cn_error *err);
};

extern const struct cn_cgroup_backend cn_cgroup_v1_backend, cn_cgroup_v2_backend;

/* Shared by both backends (cgroup.c). */
int cn_cgroup_write(const char *dir, const char *file, const char *value, struct cn_error *err);
/* The first line of dir/file, trimmed; -1 with errno when it cannot be read. */
int cn_cgroup_read(const char *dir, const char *file, char *buf, size_t cap);
/* The value of `key` in a flat keyed file ("oom_kill 3"); -1 when absent. */
long cn_cgroup_read_key(const char *dir, const char *file, const char *key);
int cn_cgroup_mkdirs(struct cn_cgroup_dir *d, struct cn_error *err);
int cn_cgroup_enter_procs(struct cn_cgroup_dir *d, pid_t pid, struct cn_error *err);
/* The backends' destroy: SIGKILL what cgroup.procs lists (or what killer ends at once,
 * v2's cgroup.kill) in the leaf and, depth-first, in every cgroup beneath it until the
 * leaf can go, then rmdir the n_remove components. */
int cn_cgroup_remove(struct cn_cgroup_dir *d, size_t n_remove, int (*killer)(const char *dir), struct cn_error *err);

/* ---- the manager: cgroup.c ---- */

enum cn_cgroup_manager_mode {
	CN_CGROUP_MANAGER_AUTO,
	CN_CGROUP_MANAGER_V1,
	CN_CGROUP_MANAGER_V2,
	CN_CGROUP_MANAGER_DISABLED, /* no cgroups: a limit or a path asked for is refused */
};
int cn_cgroup_manager_from_name(const char *name); /* -1 when unknown */

struct cn_cgroup_request {
	const struct cn_resources *resources;
	const char *path;     /* linux.cgroupsPath / --cgroup-path: absolute, or relative to the launcher's own cgroup */
	const char *name;     /* without a path: the leaf made under the launcher's own cgroup */
	int mode;             /* enum cn_cgroup_manager_mode */
	bool every_hierarchy; /* a cgroup in the memory, pids and unified hierarchies too, not only where a limit goes */
};

struct cn_cgroup {
	struct cn_cgroup_layout layout;
	struct cn_cgroup_dir dirs[CN_CGROUP_MOUNTS_MAX + 1];
	size_t n_dirs;
	struct cn_resources resources;
	bool sub; /* an exec's sub-cgroups (cn_cgroup_plan_sub): no limits, entered by pid, removed only once empty */
};

/* Which cgroups the container gets, from this process's mountinfo and cgroup
 * files: nothing is made yet. A limit no hierarchy can take fails here. */
struct cn_cgroup *cn_cgroup_plan(const struct cn_cgroup_request *req, struct cn_error *err);
void cn_cgroup_free(struct cn_cgroup *cg);
/* The setuid (and fakeroot) flow: every cgroup lies beneath the caller's own, nothing
 * on the way belongs to anyone else, and no limit is above the caller's. */
int cn_cgroup_check_setuid(const struct cn_cgroup *cg, uid_t caller, struct cn_error *err);
/* The userns flow: no host privilege, so every cgroup must be delegated to the caller. */
int cn_cgroup_check_delegated(const struct cn_cgroup *cg, uid_t caller, struct cn_error *err);
/* Make the cgroups and write the limits. */
int cn_cgroup_create(struct cn_cgroup *cg, struct cn_error *err);
/* The v2 directory to clone3() into (CLONE_INTO_CGROUP), or -1. */
int cn_cgroup_clone_fd(const struct cn_cgroup *cg);
/* Put pid in every cgroup it was not cloned into. */
int cn_cgroup_enter(struct cn_cgroup *cg, pid_t pid, struct cn_error *err);
/* One line on stderr when the OOM killer struck in the container's cgroup. */
void cn_cgroup_report_oom(const struct cn_cgroup *cg);
/* Kill what is left and remove what was made, child cgroups first (an exec's
 * sub-cgroups, and what runs in them); a no-op for what never was. The master
 * removes what it made; planned (CLEANUP_HOST, after the master died) what the plan
 * said was to be made, as far as it exists. */
int cn_cgroup_destroy(struct cn_cgroup *cg, bool planned, struct cn_error *err);

/* ---- an exec's sub-cgroups (libcontainer's SubCgroupPaths) ---- */

#define CN_CGROUP_SUB_DEPTH_MAX 4
/* Why `exec --sub-cgroup PATH` is unusable, or NULL: a relative path of 1 to
 * CN_CGROUP_SUB_DEPTH_MAX names of A-Z a-z 0-9 _ . - (at most 64 each; not "." or ".."). */
const char *cn_cgroup_sub_path_problem(const char *path);
/* PATH beneath each of the container's cgroup directories (its state's list), as the
 * container's cgroups are planned: nothing is made yet. Each directory must be a real
 * path (no link on the way) on a cgroup filesystem of this process's layout, so that
 * what is made lies beneath the container's cgroup and nowhere else. cn_cgroup_create
 * makes what is missing, cn_cgroup_enter moves a pid into all of them, and
 * cn_cgroup_destroy removes what was made once nothing runs in it (planned: waiting
 * up to a moment for a process still dying): a process the command left running
 * there keeps it until the container's own removal takes it (depth-first). */
struct cn_cgroup *cn_cgroup_plan_sub(const struct cn_strv *container_dirs, const char *path, struct cn_error *err);

/* --memory, --pids-limit, --cpus, --cgroup-path into the configuration. */
int cn_cgroup_options_to_config(const struct cn_options *o, struct cn_config *cfg, struct cn_error *err);

#endif
