/* SPDX-License-Identifier: Apache-2.0
 *
 * The cgroup v2 backend: the unified hierarchy. A controller works in a cgroup
 * only when every ancestor enables it for its children (cgroup.subtree_control);
 * on a hybrid machine the unified tree offers none, and the manager sends no
 * limit here, but the container still gets its cgroup, and enters it.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V2_DEFAULT_WEIGHT 100

/* crun's conversion of cpu.shares (2..262144) to cpu.weight (1..10000), and back. */
static uint64_t shares_to_weight(uint64_t shares)
{
	return 1 + ((shares - 2) * 9999) / 262142;
}

static uint64_t weight_to_shares(uint64_t weight)
{
	return 2 + ((weight - 1) * 262142) / 9999;
}

/* Every ancestor from the hierarchy's top down to the cgroup's parent enables its controllers. */
static int enable_controllers(struct cn_cgroup_dir *d, struct cn_error *err)
{
	const char *rest = d->dir + strlen(d->mount->mountpoint);

	for (const char *c = rest; *c == '/';) {
		char dir[CN_CGROUP_PATH_MAX], enabled[256], want[64] = "";
		size_t used = 0;

		snprintf(dir, sizeof(dir), "%.*s", (int)(c - d->dir), d->dir);
		c = strchrnul(c + 1, '/');
		if (cn_cgroup_read(dir, "cgroup.subtree_control", enabled, sizeof(enabled)) < 0)
			return cn_fail(err, errno, "cgroup v2: read %s/cgroup.subtree_control", dir);
		for (uint32_t bit = 1; bit & CN_CTRL_LIMITED; bit <<= 1) {
			const char *name = cn_cgroup_controller_name(bit);
			char padded[300], needle[16];
			snprintf(padded, sizeof(padded), " %s ", enabled);
			snprintf(needle, sizeof(needle), " %s ", name);
			if ((d->controllers & bit) && !strstr(padded, needle))
				used += (size_t)snprintf(want + used, sizeof(want) - used, "%s+%s", used ? " " : "", name);
		}
		if (used && cn_cgroup_write(dir, "cgroup.subtree_control", want, err) < 0)
			return err->errnum == EBUSY ? cn_prefix(err, "cgroup v2: %s holds processes, so it cannot hand "
								     "controllers to children (give a --cgroup-path outside it): ", dir)
						    : cn_prefix(err, "cgroup v2: ");
	}
	return 0;
}

static int v2_create(struct cn_cgroup_dir *d, struct cn_error *err)
{
	if (cn_cgroup_mkdirs(d, err) < 0)
		return -1;
	return d->controllers ? enable_controllers(d, err) : 0;
}

static int write_max(const struct cn_cgroup_dir *d, const char *file, int64_t v, struct cn_error *err)
{
	char value[24] = "max";

	if (v >= 0)
		snprintf(value, sizeof(value), "%lld", (long long)v);
	return cn_cgroup_write(d->dir, file, value, err);
}

static int v2_apply(struct cn_cgroup_dir *d, const struct cn_resources *r, struct cn_error *err)
{
	char value[48];

	if (d->controllers & CN_CTRL_MEMORY) {
		if (write_max(d, "memory.max", r->memory_limit, err) < 0)
			return -1;
		/* no swap beyond the limit, as the v1 backend's memsw limit */
		if (cn_cgroup_read(d->dir, "memory.swap.max", value, sizeof(value)) == 0 &&
		    cn_cgroup_write(d->dir, "memory.swap.max", "0", err) < 0)
			return -1;
	}
	if ((d->controllers & CN_CTRL_PIDS) && write_max(d, "pids.max", r->pids_limit, err) < 0)
		return -1;
	if (d->controllers & CN_CTRL_CPU) {
		if (r->cpu_quota || r->cpu_period) {
			int n = r->cpu_quota > 0 ? snprintf(value, sizeof(value), "%lld", (long long)r->cpu_quota)
						 : snprintf(value, sizeof(value), "max");
			if (r->cpu_period)
				snprintf(value + n, sizeof(value) - (size_t)n, " %llu", (unsigned long long)r->cpu_period);
			if (cn_cgroup_write(d->dir, "cpu.max", value, err) < 0)
				return -1;
		}
		if (r->cpu_shares && write_max(d, "cpu.weight", (int64_t)shares_to_weight(r->cpu_shares), err) < 0)
			return -1;
	}
	return 0;
}

static int64_t read_max(const char *dir, const char *file)
{
	char buf[64];

	if (cn_cgroup_read(dir, file, buf, sizeof(buf)) < 0 || strncmp(buf, "max", 3) == 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

static int v2_read_limits(const char *dir, uint32_t controllers, struct cn_resources *out, struct cn_error *err)
{
	char buf[64];

	(void)err;
	if (controllers & CN_CTRL_MEMORY)
		out->memory_limit = read_max(dir, "memory.max");
	if (controllers & CN_CTRL_PIDS)
		out->pids_limit = read_max(dir, "pids.max");
	if (controllers & CN_CTRL_CPU) {
		int64_t weight = read_max(dir, "cpu.weight");
		char *space;
		out->cpu_quota = read_max(dir, "cpu.max");
		out->cpu_period = 100000;
		if (cn_cgroup_read(dir, "cpu.max", buf, sizeof(buf)) == 0 && (space = strchr(buf, ' ')))
			out->cpu_period = strtoull(space + 1, NULL, 10);
		out->cpu_shares = weight_to_shares(weight > 0 ? (uint64_t)weight : V2_DEFAULT_WEIGHT);
	}
	return 0;
}

static long v2_oom_kills(const struct cn_cgroup_dir *d)
{
	return cn_cgroup_read_key(d->dir, "memory.events", "oom_kill");
}

/* cgroup.kill (Linux 5.14) ends every process in it at once. */
static int kill_all(const char *dir)
{
	struct cn_error ignored;

	return cn_cgroup_write(dir, "cgroup.kill", "1", &ignored);
}

static int v2_destroy(struct cn_cgroup_dir *d, size_t n_remove, struct cn_error *err)
{
	return cn_cgroup_remove(d, n_remove, kill_all, err);
}

const struct cn_cgroup_backend cn_cgroup_v2_backend = {
	.name = "cgroup v2",
	.create = v2_create,
	.enter = cn_cgroup_enter_procs,
	.apply = v2_apply,
	.read_limits = v2_read_limits,
	.oom_kills = v2_oom_kills,
	.destroy = v2_destroy,
};
