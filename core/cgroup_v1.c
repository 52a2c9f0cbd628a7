/* SPDX-License-Identifier: Apache-2.0
 *
 * The cgroup v1 backend: one hierarchy per controller (or co-mounted group),
 * each with its own files.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* memory.limit_in_bytes reads back PAGE_COUNTER_MAX pages when unlimited: anything this big is. */
#define V1_UNLIMITED_BYTES (1LL << 62)

static int v1_create(struct cn_cgroup_dir *d, struct cn_error *err)
{
	return cn_cgroup_mkdirs(d, err);
}

static int write_i64(const struct cn_cgroup_dir *d, const char *file, int64_t v, struct cn_error *err)
{
	char value[24];

	snprintf(value, sizeof(value), "%lld", (long long)v);
	return cn_cgroup_write(d->dir, file, value, err);
}

static int v1_apply(struct cn_cgroup_dir *d, const struct cn_resources *r, struct cn_error *err)
{
	if (d->controllers & CN_CTRL_MEMORY) {
		char probe[8];
		if (write_i64(d, "memory.limit_in_bytes", r->memory_limit, err) < 0)
			return -1;
		/* memory+swap as well, when swap is accounted: swapping must not stretch the limit */
		if (cn_cgroup_read(d->dir, "memory.memsw.limit_in_bytes", probe, sizeof(probe)) == 0 &&
		    write_i64(d, "memory.memsw.limit_in_bytes", r->memory_limit, err) < 0)
			return -1;
	}
	if ((d->controllers & CN_CTRL_PIDS) &&
	    (r->pids_limit < 0 ? cn_cgroup_write(d->dir, "pids.max", "max", err) : write_i64(d, "pids.max", r->pids_limit, err)) < 0)
		return -1;
	if (d->controllers & CN_CTRL_CPU) {
		if ((r->cpu_period && write_i64(d, "cpu.cfs_period_us", (int64_t)r->cpu_period, err) < 0) ||
		    (r->cpu_quota && write_i64(d, "cpu.cfs_quota_us", r->cpu_quota, err) < 0) ||
		    (r->cpu_shares && write_i64(d, "cpu.shares", (int64_t)r->cpu_shares, err) < 0))
			return -1;
	}
	return 0;
}

/* A limit file: -1 for "max" or a missing file (the root has none), else its number. */
static int64_t read_limit(const char *dir, const char *file)
{
	char buf[32];
	long long v;

	if (cn_cgroup_read(dir, file, buf, sizeof(buf)) < 0 || strcmp(buf, "max") == 0)
		return -1;
	v = strtoll(buf, NULL, 10);
	return v >= V1_UNLIMITED_BYTES || v < 0 ? -1 : v;
}

static int v1_read_limits(const char *dir, uint32_t controllers, struct cn_resources *out, struct cn_error *err)
{
	(void)err;
	if (controllers & CN_CTRL_MEMORY)
		out->memory_limit = read_limit(dir, "memory.limit_in_bytes");
	if (controllers & CN_CTRL_PIDS)
		out->pids_limit = read_limit(dir, "pids.max");
	if (controllers & CN_CTRL_CPU) {
		int64_t period = read_limit(dir, "cpu.cfs_period_us"), shares = read_limit(dir, "cpu.shares");
		out->cpu_quota = read_limit(dir, "cpu.cfs_quota_us");
		out->cpu_period = period > 0 ? (uint64_t)period : 100000;
		out->cpu_shares = shares > 0 ? (uint64_t)shares : 0;
	}
	return 0;
}

static long v1_oom_kills(const struct cn_cgroup_dir *d)
{
	return cn_cgroup_read_key(d->dir, "memory.oom_control", "oom_kill");
}

/* v1 has no cgroup.kill: what is left is killed by pid from cgroup.procs. */
static int v1_destroy(struct cn_cgroup_dir *d, size_t n_remove, struct cn_error *err)
{
	return cn_cgroup_remove(d, n_remove, NULL, err);
}

const struct cn_cgroup_backend cn_cgroup_v1_backend = {
	.name = "cgroup v1",
	.create = v1_create,
	.enter = cn_cgroup_enter_procs,
	.apply = v1_apply,
	.read_limits = v1_read_limits,
	.oom_kills = v1_oom_kills,
	.destroy = v1_destroy,
};
