/* SPDX-License-Identifier: Apache-2.0
 *
 * The cgroup manager: from the layout, one cgroup of the container's in each
 * hierarchy it uses; each limit goes to the hierarchy that holds its controller
 * (on a hybrid machine: v1), and a limit nobody can take is an error naming the
 * controller. The flows' rules (setuid: beneath the caller's cgroup, nobody
 * else's, no limit above the caller's; userns: delegated cgroups only) are here
 * too; the backends only know their files.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "options.h"

#define REMOVE_TIMEOUT_MS 10000 /* what is left after the container's pid 1 died goes within this */
#define SUB_DYING_WAIT_MS 2000  /* CLEANUP_HOST: an exec's command killed with its master may still be exiting */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

int cn_cgroup_manager_from_name(const char *name)
{
	static const char *const names[] = {"auto", "v1", "v2", "disabled"};

	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/* ---- files ---- */

int cn_cgroup_write(const char *dir, const char *file, const char *value, struct cn_error *err)
{
	char path[CN_CGROUP_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return cn_write_file(path, value, err);
}

int cn_cgroup_read(const char *dir, const char *file, char *buf, size_t cap)
{
	char path[CN_CGROUP_PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, cap - 1)) < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

long cn_cgroup_read_key(const char *dir, const char *file, const char *key)
{
	char path[CN_CGROUP_PATH_MAX + 64], line[256];
	size_t klen = strlen(key);
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			value = strtol(line + klen + 1, NULL, 10);
	fclose(f);
	return value;
}

/* dir without its last n components. */
static void cut(char *dir, size_t n)
{
	while (n--) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return;
		*slash = '\0';
	}
}

/* ---- what both backends do the same way ---- */

int cn_cgroup_mkdirs(struct cn_cgroup_dir *d, struct cn_error *err)
{
	for (size_t i = d->n_new; i > 0; i--) {
		char dir[CN_CGROUP_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", d->dir);
		cut(dir, i - 1);
		if (mkdir(dir, 0755) < 0) {
			/* only the leaf must be new: it is what the container gets and the launch removes */
			if (errno == EEXIST && i > 1)
				continue;
			return cn_fail(err, errno, "cgroup %s:%s: mkdir %s", d->mount->label, d->path, dir);
		}
		d->n_made = i > d->n_made ? i : d->n_made;
	}
	return 0;
}

int cn_cgroup_enter_procs(struct cn_cgroup_dir *d, pid_t pid, struct cn_error *err)
{
	char value[24];

	snprintf(value, sizeof(value), "%d", pid);
	return cn_cgroup_write(d->dir, "cgroup.procs", value, err);
}

static void kill_listed(const char *dir)
{
	char path[CN_CGROUP_PATH_MAX + 64];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (!(f = fopen(path, "re")))
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 0)
			kill(pid, SIGKILL);
	fclose(f);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int remove_tree(const struct cn_cgroup_dir *d, const char *dir, int (*killer)(const char *dir), long deadline,
		       struct cn_error *err);

/* The cgroups beneath dir (an exec's --sub-cgroup, and whatever was made in it), depth-first. */
static int remove_children(const struct cn_cgroup_dir *d, const char *dir, int (*killer)(const char *dir),
			   long deadline, struct cn_error *err)
{
	DIR *parent = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!parent)
		return errno == ENOENT ? 0 : cn_fail(err, errno, "cgroup %s:%s: opendir %s", d->mount->label, d->path, dir);
	while (rc == 0 && (e = readdir(parent))) {
		char child[CN_CGROUP_PATH_MAX];
		/* cgroupfs: the directories are the child cgroups, the files their interface */
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", dir, e->d_name) >= (int)sizeof(child))
			rc = cn_fail(err, ENAMETOOLONG, "cgroup %s:%s: %s/%s", d->mount->label, d->path, dir, e->d_name);
		else
			rc = remove_tree(d, child, killer, deadline, err);
	}
	closedir(parent);
	return rc;
}

/* Kill what runs in dir until it and the cgroups beneath it can go; usually it is empty
 * already: the container's pid namespace died with its first process. */
static int remove_tree(const struct cn_cgroup_dir *d, const char *dir, int (*killer)(const char *dir), long deadline,
		       struct cn_error *err)
{
	while (rmdir(dir) < 0 && errno != ENOENT) {
		if (errno != EBUSY && errno != ENOTEMPTY)
			return cn_fail(err, errno, "cgroup %s:%s: rmdir %s", d->mount->label, d->path, dir);
		if (now_ms() > deadline)
			return cn_fail(err, EBUSY, "cgroup %s:%s: processes still in it after %d s: rmdir %s",
				       d->mount->label, d->path, REMOVE_TIMEOUT_MS / 1000, dir);
		if (!killer || killer(dir) < 0)
			kill_listed(dir);
		if (remove_children(d, dir, killer, deadline, err) < 0)
			return -1;
		usleep(10000);
	}
	return 0;
}

int cn_cgroup_remove(struct cn_cgroup_dir *d, size_t n_remove, int (*killer)(const char *dir), struct cn_error *err)
{
	if (n_remove == 0)
		return 0; /* a cgroup the container joined: not ours to empty or remove */
	if (remove_tree(d, d->dir, killer, now_ms() + REMOVE_TIMEOUT_MS, err) < 0)
		return -1;
	/* The parents this launch made, when nobody else has put anything in them. */
	for (size_t i = 1; i < n_remove; i++) {
		char dir[CN_CGROUP_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", d->dir);
		cut(dir, i);
		if (rmdir(dir) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY)
			return cn_fail(err, errno, "cgroup %s:%s: rmdir %s", d->mount->label, d->path, dir);
	}
	return 0;
}

/* An exec's sub-cgroup goes once nothing runs in it; it is never emptied: what the command
 * left running there (a daemon), or another exec that joined it, keeps it until the
 * container's removal takes it with the container's cgroup. A process still exiting
 * (its master was killed) is given wait_ms. */
static int remove_if_empty(struct cn_cgroup_dir *d, size_t n_remove, long wait_ms, struct cn_error *err)
{
	long deadline = now_ms() + wait_ms;

	for (size_t i = 0; i < n_remove; i++) {
		char dir[CN_CGROUP_PATH_MAX];
		int rc;

		snprintf(dir, sizeof(dir), "%s", d->dir);
		cut(dir, i);
		while ((rc = rmdir(dir)) < 0 && errno == EBUSY && now_ms() < deadline)
			usleep(10000);
		if (rc < 0 && (errno == EBUSY || errno == ENOTEMPTY))
			return 0; /* in use: it and its parents stay */
		if (rc < 0 && errno != ENOENT)
			return cn_fail(err, errno, "cgroup %s:%s: rmdir %s", d->mount->label, d->path, dir);
	}
	return 0;
}

/* ---- the plan ---- */

static const uint32_t limited[] = {CN_CTRL_MEMORY, CN_CTRL_PIDS, CN_CTRL_CPU};

static uint32_t limits_asked(const struct cn_resources *r)
{
	return (r->memory_limit ? CN_CTRL_MEMORY : 0) | (r->pids_limit ? CN_CTRL_PIDS : 0) |
	       (r->cpu_quota || r->cpu_period || r->cpu_shares ? CN_CTRL_CPU : 0);
}

/* The controllers a cgroup2 tree offers, from its root's cgroup.controllers. */
static uint32_t v2_controllers(const struct cn_cgroup_mount *m, char *list, size_t cap)
{
	uint32_t bits = 0;
	char *save = NULL, copy[256];

	if (cn_cgroup_read(m->mountpoint, "cgroup.controllers", list, cap) < 0)
		list[0] = '\0';
	snprintf(copy, sizeof(copy), "%s", list);
	for (char *c = strtok_r(copy, " ", &save); c; c = strtok_r(NULL, " ", &save))
		bits |= cn_cgroup_controller_bit(c);
	return bits;
}

static struct cn_cgroup_dir *dir_for(struct cn_cgroup *cg, const struct cn_cgroup_mount *m,
				     const struct cn_cgroup_backend *backend)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].mount == m)
			return &cg->dirs[i];
	cg->dirs[cg->n_dirs] = (struct cn_cgroup_dir){.backend = backend, .mount = m, .fd = -1};
	return &cg->dirs[cg->n_dirs++];
}

static const struct cn_cgroup_mount *v1_mount_of(const struct cn_cgroup_layout *layout, uint32_t bit)
{
	for (size_t i = 0; i < layout->n_v1; i++)
		if (layout->v1[i].controllers & bit)
			return &layout->v1[i];
	return NULL;
}

static int unavailable(const struct cn_cgroup *cg, int mode, uint32_t bit, const char *v2_list, struct cn_error *err)
{
	const char *name = cn_cgroup_controller_name(bit);
	const struct cn_cgroup_layout *l = &cg->layout;

	if (mode == CN_CGROUP_MANAGER_V2 || (mode == CN_CGROUP_MANAGER_AUTO && l->kind == CN_CGROUP_UNIFIED)) {
		if (!l->has_v2)
			return cn_fail(err, 0, "%s limit: no cgroup v2 hierarchy is mounted (the layout is %s)", name,
				       cn_cgroup_kind_name(l->kind));
		return cn_fail(err, 0, "%s limit: cgroup v2: the %s controller is not available in %s (cgroup.controllers: \"%s\")%s",
			       name, name, l->v2.mountpoint, v2_list,
			       v1_mount_of(l, bit) ? "; a cgroup v1 hierarchy holds it: --cgroup-manager auto uses it" : "");
	}
	if (mode == CN_CGROUP_MANAGER_V1)
		return cn_fail(err, 0, "%s limit: cgroup v1: no hierarchy has the %s controller mounted (the layout is %s)",
			       name, name, cn_cgroup_kind_name(l->kind));
	return cn_fail(err, 0, "%s limit: the %s controller is neither mounted as cgroup v1 nor available in %s (the layout is %s)",
		       name, name, l->has_v2 ? l->v2.mountpoint : "a cgroup v2 hierarchy", cn_cgroup_kind_name(l->kind));
}

/* Which hierarchies: for each limited controller, its v1 hierarchy, else the unified one
 * when it offers the controller. A container that gets every hierarchy gets memory's and
 * pids' (accounting, and every process of its own to end at exit) and the unified one;
 * cpu's only with a cpu limit: a new v1 cpu cgroup gives realtime tasks no runtime
 * (cpu.rt_runtime_us 0), and --scheduler fifo would fail in it. */
static int choose_hierarchies(struct cn_cgroup *cg, const struct cn_cgroup_request *req, struct cn_error *err)
{
	const struct cn_cgroup_layout *l = &cg->layout;
	uint32_t asked = limits_asked(req->resources);
	uint32_t wanted = asked | (req->every_hierarchy ? CN_CTRL_MEMORY | CN_CTRL_PIDS : 0);
	bool use_v1 = req->mode != CN_CGROUP_MANAGER_V2, use_v2 = l->has_v2 && req->mode != CN_CGROUP_MANAGER_V1;
	char v2_list[256] = "";
	uint32_t v2_bits = use_v2 ? v2_controllers(&l->v2, v2_list, sizeof(v2_list)) : 0;

	if (req->mode == CN_CGROUP_MANAGER_V1 && l->n_v1 == 0)
		return cn_fail(err, 0, "--cgroup-manager v1: no cgroup v1 hierarchy is mounted (the layout is %s)",
			       cn_cgroup_kind_name(l->kind));
	if (req->mode == CN_CGROUP_MANAGER_V2 && !l->has_v2)
		return cn_fail(err, 0, "--cgroup-manager v2: no cgroup v2 hierarchy is mounted (the layout is %s)",
			       cn_cgroup_kind_name(l->kind));
	for (size_t i = 0; i < sizeof(limited) / sizeof(limited[0]); i++) {
		uint32_t bit = limited[i];
		const struct cn_cgroup_mount *m = use_v1 ? v1_mount_of(l, bit) : NULL;
		struct cn_cgroup_dir *d;

		if (!(wanted & bit))
			continue;
		if (m)
			d = dir_for(cg, m, &cn_cgroup_v1_backend);
		else if (v2_bits & bit)
			d = dir_for(cg, &l->v2, &cn_cgroup_v2_backend);
		else if (asked & bit)
			return unavailable(cg, req->mode, bit, v2_list, err);
		else
			continue;
		d->controllers |= asked & bit;
	}
	if (use_v2 && req->every_hierarchy)
		dir_for(cg, &l->v2, &cn_cgroup_v2_backend);
	return 0;
}

/* How many trailing components of d->dir are still to be made. */
static int count_missing(struct cn_cgroup_dir *d, struct cn_error *err)
{
	char probe[CN_CGROUP_PATH_MAX];

	snprintf(probe, sizeof(probe), "%s", d->dir);
	for (d->n_new = 0; access(probe, F_OK) < 0; d->n_new++) {
		if (errno != ENOENT)
			return cn_fail(err, errno, "cgroup %s:%s: %s", d->mount->label, d->path, probe);
		if (strlen(probe) <= strlen(d->mount->mountpoint))
			return cn_fail(err, ENOENT, "cgroup hierarchy %s", d->mount->mountpoint);
		cut(probe, 1);
	}
	return 0;
}

/* The launcher's own cgroup in d's hierarchy. */
static int find_own(struct cn_cgroup_dir *d, const char *proc_cgroup, struct cn_error *err)
{
	if (cn_cgroup_own_path(proc_cgroup, d->mount, d->backend == &cn_cgroup_v2_backend, d->own, sizeof(d->own)) < 0)
		return cn_fail(err, 0, "/proc/self/cgroup: no line for the %s hierarchy mounted at %s", d->mount->label,
			       d->mount->mountpoint);
	return 0;
}

/* Where the container's cgroup is in d's hierarchy, and how much of it is still to be made. */
static int place(struct cn_cgroup_dir *d, const struct cn_cgroup_request *req, const char *proc_cgroup,
		 struct cn_error *err)
{
	const char *own_sep;
	int w;

	if (find_own(d, proc_cgroup, err) < 0)
		return -1;
	own_sep = strcmp(d->own, "/") == 0 ? "" : d->own;
	if (req->path && req->path[0] == '/')
		w = snprintf(d->path, sizeof(d->path), "%s", req->path);
	else
		w = snprintf(d->path, sizeof(d->path), "%s/%s", own_sep, req->path ? req->path : req->name);
	if (w < 0 || (size_t)w >= sizeof(d->path))
		return cn_fail(err, ENAMETOOLONG, "cgroup %s:%s/%s", d->mount->label, own_sep, req->path ? req->path : req->name);
	if (cn_cgroup_dir_of(d->mount, d->path, d->dir, sizeof(d->dir)) < 0)
		return cn_fail(err, 0, "cgroup %s:%s: outside the hierarchy's mount at %s, which shows %s", d->mount->label,
			       d->path, d->mount->mountpoint, d->mount->root);
	return count_missing(d, err);
}

struct cn_cgroup *cn_cgroup_plan(const struct cn_cgroup_request *req, struct cn_error *err)
{
	_cleanup_free_ char *mountinfo = NULL, *proc_cgroup = NULL;
	struct cn_cgroup *cg;

	if (!(mountinfo = cn_read_text_file("/proc/self/mountinfo", 1u << 22, err)) ||
	    !(proc_cgroup = cn_read_text_file("/proc/self/cgroup", 1u << 20, err)))
		return NULL;
	if (!(cg = calloc(1, sizeof(*cg))))
		return cn_fail(err, ENOMEM, "cgroups"), NULL;
	cg->resources = *req->resources;
	if (cn_cgroup_layout_parse(mountinfo, &cg->layout, err) < 0 || choose_hierarchies(cg, req, err) < 0)
		goto fail;
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (place(&cg->dirs[i], req, proc_cgroup, err) < 0)
			goto fail;
	return cg;
fail:
	free(cg);
	return NULL;
}

void cn_cgroup_free(struct cn_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].fd >= 0)
			close(cg->dirs[i].fd);
	free(cg);
}

/* ---- the flows' rules ---- */

static int64_t min_limit(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* The caller's limits: the smallest of its cgroup's and its ancestors'; its own share. */
static int callers_limits(const struct cn_cgroup_dir *d, struct cn_resources *eff, struct cn_error *err)
{
	char dir[CN_CGROUP_PATH_MAX];
	double ratio = -1;

	if (cn_cgroup_dir_of(d->mount, d->own, dir, sizeof(dir)) < 0)
		return cn_fail(err, 0, "cgroup %s:%s: outside the mount at %s", d->mount->label, d->own, d->mount->mountpoint);
	*eff = (struct cn_resources){0};
	for (bool first = true;; first = false) {
		struct cn_resources at = {0};
		if (d->backend->read_limits(dir, d->controllers, &at, err) < 0)
			return -1;
		eff->memory_limit = min_limit(eff->memory_limit, at.memory_limit);
		eff->pids_limit = min_limit(eff->pids_limit, at.pids_limit);
		if (at.cpu_quota > 0 && at.cpu_period && (ratio < 0 || (double)at.cpu_quota / (double)at.cpu_period < ratio)) {
			ratio = (double)at.cpu_quota / (double)at.cpu_period;
			eff->cpu_quota = at.cpu_quota;
			eff->cpu_period = at.cpu_period;
		}
		if (first)
			eff->cpu_shares = at.cpu_shares;
		if (strlen(dir) <= strlen(d->mount->mountpoint))
			break;
		cut(dir, 1);
	}
	return 0;
}

static int check_within_callers(const struct cn_cgroup *cg, const struct cn_cgroup_dir *d, struct cn_error *err)
{
	const struct cn_resources *r = &cg->resources;
	struct cn_resources c = {0};

	if (!d->controllers)
		return 0;
	if (callers_limits(d, &c, err) < 0)
		return -1;
	if ((d->controllers & CN_CTRL_MEMORY) && c.memory_limit > 0 && (r->memory_limit < 0 || r->memory_limit > c.memory_limit))
		return cn_fail(err, 0, "memory limit %lld is above the caller's %lld (%s:%s): a setuid run cannot raise it",
			       (long long)r->memory_limit, (long long)c.memory_limit, d->mount->label, d->own);
	if ((d->controllers & CN_CTRL_PIDS) && c.pids_limit > 0 && (r->pids_limit < 0 || r->pids_limit > c.pids_limit))
		return cn_fail(err, 0, "pids limit %lld is above the caller's %lld (%s:%s): a setuid run cannot raise it",
			       (long long)r->pids_limit, (long long)c.pids_limit, d->mount->label, d->own);
	if ((d->controllers & CN_CTRL_CPU) && c.cpu_quota > 0 && r->cpu_quota) {
		double want = r->cpu_quota > 0 ? (double)r->cpu_quota / (double)(r->cpu_period ? r->cpu_period : 100000) : INFINITY;
		double have = (double)c.cpu_quota / (double)c.cpu_period;
		if (want > have)
			return cn_fail(err, 0, "cpu quota of %.2f CPUs is above the caller's %.2f (%s:%s): a setuid run cannot raise it",
				       want, have, d->mount->label, d->own);
	}
	if ((d->controllers & CN_CTRL_CPU) && r->cpu_shares && c.cpu_shares && r->cpu_shares > c.cpu_shares)
		return cn_fail(err, 0, "cpu shares %llu are above the caller's cgroup's %llu (%s:%s): a setuid run cannot raise them",
			       (unsigned long long)r->cpu_shares, (unsigned long long)c.cpu_shares, d->mount->label, d->own);
	return 0;
}

int cn_cgroup_check_setuid(const struct cn_cgroup *cg, uid_t caller, struct cn_error *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		const struct cn_cgroup_dir *d = &cg->dirs[i];
		const char *rest = cn_cgroup_below(d->path, d->own);

		if (!rest || !*rest)
			return cn_fail(err, 0, "cgroup %s:%s is not beneath the caller's cgroup %s:%s: a setuid run places "
					       "containers only there", d->mount->label, d->path, d->mount->label, d->own);
		/* What exists between the caller's cgroup and the container's must be the caller's own. */
		for (const char *c = rest; *c == '/';) {
			char path[CN_CGROUP_PATH_MAX], dir[CN_CGROUP_PATH_MAX];
			struct stat st;
			c = strchrnul(c + 1, '/');
			snprintf(path, sizeof(path), "%.*s", (int)(c - d->path), d->path);
			if (cn_cgroup_dir_of(d->mount, path, dir, sizeof(dir)) < 0 || stat(dir, &st) < 0)
				break;
			if (st.st_uid != caller)
				return cn_fail(err, 0, "cgroup %s:%s belongs to uid %u, not to the caller (uid %u): a setuid run "
						       "does not use another user's cgroup", d->mount->label, path, st.st_uid, caller);
		}
		if (check_within_callers(cg, d, err) < 0)
			return -1;
	}
	return 0;
}

static int not_delegated(const struct cn_cgroup_dir *d, const char *what, const char *file, uid_t caller,
			 struct cn_error *err)
{
	const char *name = d->controllers ? cn_cgroup_controller_name(d->controllers & -d->controllers) : NULL;

	return cn_fail(err, 0, "%s%s%s:%s: the userns flow has no host privilege, and %s is not delegated to uid %u "
			       "(%s is not writable)", name ? name : "cgroup", name ? " limit in " : " ", d->mount->label,
		       d->path, what, caller, file);
}

int cn_cgroup_check_delegated(const struct cn_cgroup *cg, uid_t caller, struct cn_error *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		const struct cn_cgroup_dir *d = &cg->dirs[i];
		char dir[CN_CGROUP_PATH_MAX], file[CN_CGROUP_PATH_MAX + 16], what[CN_CGROUP_PATH_MAX + 100];

		/* Where the launch makes the container's cgroup, or the cgroup it joins. */
		snprintf(dir, sizeof(dir), "%s", d->dir);
		snprintf(what, sizeof(what), "%s:%s", d->mount->label, d->path);
		cut(dir, d->n_new);
		cut(what, d->n_new);
		snprintf(file, sizeof(file), "%s%s", dir, d->n_new ? "" : "/cgroup.procs");
		if (access(file, W_OK) < 0)
			return not_delegated(d, what, file, caller, err);
		/* cgroup v2 moves a process only for a writer of both cgroups' common ancestor. */
		if (d->backend == &cn_cgroup_v2_backend && cn_cgroup_dir_of(d->mount, d->own, dir, sizeof(dir)) == 0) {
			snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
			snprintf(what, sizeof(what), "%s:%s", d->mount->label, d->own);
			if (access(file, W_OK) < 0)
				return not_delegated(d, what, file, caller, err);
		}
	}
	return 0;
}

/* ---- the container's cgroups ---- */

int cn_cgroup_create(struct cn_cgroup *cg, struct cn_error *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		struct cn_cgroup_dir *d = &cg->dirs[i];

		if (d->backend->create(d, err) < 0 || d->backend->apply(d, &cg->resources, err) < 0)
			return -1;
		/* an exec's STAGE2 is forked, then moved in by pid: nothing is cloned into a sub-cgroup */
		if (d->backend == &cn_cgroup_v2_backend && !cg->sub &&
		    (d->fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return cn_fail(err, errno, "cgroup %s:%s: open %s", d->mount->label, d->path, d->dir);
	}
	return 0;
}

int cn_cgroup_clone_fd(const struct cn_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].fd >= 0)
			return cg->dirs[i].fd;
	return -1;
}

int cn_cgroup_enter(struct cn_cgroup *cg, pid_t pid, struct cn_error *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		struct cn_cgroup_dir *d = &cg->dirs[i];
		if (d->fd < 0 && d->backend->enter(d, pid, err) < 0)
			return cn_prefix(err, "cgroup %s:%s: ", d->mount->label, d->path);
	}
	return 0;
}

void cn_cgroup_report_oom(const struct cn_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		const struct cn_cgroup_dir *d = &cg->dirs[i];
		long kills = (d->controllers & CN_CTRL_MEMORY) ? d->backend->oom_kills(d) : -1;

		if (kills > 0)
			fprintf(stderr, "cnlaunch: the container reached its memory limit of %lld bytes: the kernel's OOM "
					"killer killed %ld process%s in cgroup %s:%s\n", (long long)cg->resources.memory_limit,
				kills, kills == 1 ? "" : "es", d->mount->label, d->path);
	}
}

int cn_cgroup_destroy(struct cn_cgroup *cg, bool planned, struct cn_error *err)
{
	int rc = 0;

	/* Every one is tried; the first failure is the one reported. */
	for (size_t i = cg->n_dirs; i-- > 0;) {
		struct cn_cgroup_dir *d = &cg->dirs[i];
		struct cn_error one = {0};

		if (d->fd >= 0) {
			close(d->fd);
			d->fd = -1;
		}
		if ((cg->sub ? remove_if_empty(d, planned ? d->n_new : d->n_made, planned ? SUB_DYING_WAIT_MS : 0, &one)
			     : d->backend->destroy(d, planned ? d->n_new : d->n_made, &one)) < 0 && rc == 0) {
			*err = one;
			rc = -1;
		}
		d->n_made = 0;
	}
	return rc;
}

/* ---- an exec's sub-cgroups ---- */

const char *cn_cgroup_sub_path_problem(const char *path)
{
	static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
	size_t depth = 0;

	if (!*path)
		return "is empty";
	if (*path == '/')
		return "is absolute: it names a cgroup beneath the container's, relative to it";
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0)
			return "has an empty component";
		if (strspn(c, name_chars) < n)
			return "has a character other than A-Z a-z 0-9 _ . -";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "has a \".\" or \"..\" component";
		if (n > 64)
			return "has a component longer than 64 bytes";
		if (++depth > CN_CGROUP_SUB_DEPTH_MAX)
			return "has more than " STRINGIFY(CN_CGROUP_SUB_DEPTH_MAX) " levels";
		c += n;
		if (*c == '/' && !*++c)
			return "ends with /";
	}
	return NULL;
}

/* The mount of layout l that holds directory dir (the deepest, were one beneath another). */
static const struct cn_cgroup_mount *mount_holding(const struct cn_cgroup_layout *l, const char *dir)
{
	const struct cn_cgroup_mount *best = NULL;

	for (size_t i = 0; i <= l->n_v1; i++) {
		const struct cn_cgroup_mount *m = i < l->n_v1 ? &l->v1[i] : l->has_v2 ? &l->v2 : NULL;
		if (m && cn_cgroup_below(dir, m->mountpoint) && (!best || strlen(m->mountpoint) > strlen(best->mountpoint)))
			best = m;
	}
	return best;
}

/* PATH beneath one of the container's cgroup directories. */
static int place_sub(struct cn_cgroup *cg, const char *container_dir, const char *sub, const char *proc_cgroup,
		     struct cn_error *err)
{
	const struct cn_cgroup_mount *m = mount_holding(&cg->layout, container_dir);
	struct cn_cgroup_dir *d;
	char real[PATH_MAX];
	struct statfs fs;
	struct stat st;
	const char *rest;
	size_t depth = 1;
	int w;

	if (!m)
		return cn_fail(err, 0, "cgroup %s: not in a cgroup hierarchy mounted here", container_dir);
	/* cgroupfs has no links, nor can anyone mount on it: a real path there stays there */
	if (!realpath(container_dir, real) || statfs(container_dir, &fs) < 0)
		return cn_fail(err, errno, "the container's cgroup %s", container_dir);
	if (strcmp(real, container_dir) != 0 || (fs.f_type != CGROUP_SUPER_MAGIC && fs.f_type != CGROUP2_SUPER_MAGIC))
		return cn_fail(err, 0, "the container's cgroup %s: refused: not a cgroup directory (it resolves to %s)",
			       container_dir, real);
	d = dir_for(cg, m, m == &cg->layout.v2 ? &cn_cgroup_v2_backend : &cn_cgroup_v1_backend);
	rest = cn_cgroup_below(container_dir, m->mountpoint);
	if (strcmp(m->root, "/") == 0)
		w = snprintf(d->path, sizeof(d->path), "%s/%s", rest, sub);
	else
		w = snprintf(d->path, sizeof(d->path), "%s%s/%s", m->root, rest, sub);
	if (w < 0 || (size_t)w >= sizeof(d->path) ||
	    snprintf(d->dir, sizeof(d->dir), "%s/%s", container_dir, sub) >= (int)sizeof(d->dir))
		return cn_fail(err, ENAMETOOLONG, "cgroup %s:%s/%s", m->label, rest, sub);
	if (find_own(d, proc_cgroup, err) < 0 || count_missing(d, err) < 0)
		return -1;
	for (const char *c = sub; (c = strchr(c, '/')); c++)
		depth++;
	/* more than PATH is missing: the container's cgroup is gone (its launch is ending) */
	if (d->n_new > depth)
		return cn_fail(err, ENOENT, "the container's cgroup %s", container_dir);
	/* what exists of PATH must be cgroups ("cgroup.procs" is a file of the container's) */
	snprintf(real, sizeof(real), "%s", d->dir);
	cut(real, d->n_new);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return cn_fail(err, ENOTDIR, "cgroup %s:%s: %s is not a cgroup directory", m->label, d->path, real);
	return 0;
}

struct cn_cgroup *cn_cgroup_plan_sub(const struct cn_strv *container_dirs, const char *path, struct cn_error *err)
{
	_cleanup_free_ char *mountinfo = NULL, *proc_cgroup = NULL;
	const char *problem = cn_cgroup_sub_path_problem(path);
	struct cn_cgroup *cg;

	if (problem)
		return cn_fail(err, 0, "--sub-cgroup: \"%s\" %s", path, problem), NULL;
	if (!(mountinfo = cn_read_text_file("/proc/self/mountinfo", 1u << 22, err)) ||
	    !(proc_cgroup = cn_read_text_file("/proc/self/cgroup", 1u << 20, err)))
		return NULL;
	if (!(cg = calloc(1, sizeof(*cg))))
		return cn_fail(err, ENOMEM, "cgroups"), NULL;
	cg->sub = true;
	if (cn_cgroup_layout_parse(mountinfo, &cg->layout, err) < 0)
		goto fail;
	for (size_t i = 0; i < container_dirs->n; i++)
		if (place_sub(cg, container_dirs->v[i], path, proc_cgroup, err) < 0)
			goto fail;
	return cg;
fail:
	free(cg);
	return NULL;
}

/* ---- options ---- */

static int parse_bytes(const char *s, int64_t *out)
{
	static const char suffixes[] = "kKmMgG";
	char *end;
	unsigned long long v;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || (*end && (end[1] || !strchr(suffixes, *end))))
		return -1;
	if (*end)
		shift = 10 * (int)(1 + (strchr(suffixes, *end) - suffixes) / 2);
	if (v == 0 || v > (unsigned long long)INT64_MAX >> shift)
		return -1;
	*out = (int64_t)(v << shift);
	return 0;
}

int cn_cgroup_options_to_config(const struct cn_options *o, struct cn_config *cfg, struct cn_error *err)
{
	struct cn_resources *r = &cfg->resources;

	if (o->memory && parse_bytes(o->memory, &r->memory_limit) < 0)
		return cn_fail(err, 0, "--memory: \"%s\" is not BYTES[kKmMgG] (at least 1 byte, at most 8 EiB)", o->memory);
	if (o->pids_limit) {
		uint32_t n;
		if (cn_parse_u32(o->pids_limit, 4194304, &n) < 0 || n == 0)
			return cn_fail(err, 0, "--pids-limit: \"%s\" is not a number from 1 to 4194304", o->pids_limit);
		r->pids_limit = n;
	}
	if (o->cpus) {
		char *end;
		double cpus;
		uint64_t period = r->cpu_period ? r->cpu_period : 100000; /* the kernel's default period */
		if (strspn(o->cpus, "0123456789.") != strlen(o->cpus) || (cpus = strtod(o->cpus, &end), *end) ||
		    !(cpus >= 0.01 && cpus <= 10000))
			return cn_fail(err, 0, "--cpus: \"%s\" is not a number of CPUs from 0.01 to 10000", o->cpus);
		r->cpu_quota = (int64_t)(cpus * (double)period + 0.5);
		r->cpu_period = period;
		if (r->cpu_quota < 1000)
			return cn_fail(err, 0, "--cpus: %s CPUs of a %llu us period is %lld us, below the kernel's 1000 us",
				       o->cpus, (unsigned long long)period, (long long)r->cpu_quota);
	}
	if (o->cgroup_path) {
		const char *problem = cn_cgroups_path_problem(o->cgroup_path);
		if (problem)
			return cn_fail(err, 0, "--cgroup-path: \"%s\" %s", o->cgroup_path, problem);
		free(cfg->cgroups_path);
		if (!(cfg->cgroups_path = strdup(o->cgroup_path)))
			return cn_fail(err, ENOMEM, "--cgroup-path");
	}
	return 0;
}
