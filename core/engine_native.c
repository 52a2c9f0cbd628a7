/* SPDX-License-Identifier: Apache-2.0
 *
 * The native engine: a real container launch, stage by stage.
 */
#define _GNU_SOURCE
#include "engine_native.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "creds.h"
#include "mounts.h"
#include "process.h"
#include "rpc.h"
#include "seccomp_profile.h"
#include "starter.h"
#include "state.h"
#include "subid.h"
#include "sync.h"
#include "terminal.h"
#include "sysconf.h"

#ifndef CN_DEFAULT_ROOTFS
#define CN_DEFAULT_ROOTFS "/usr/share/cnlaunch/rootfs"
#endif
#ifndef CN_SUBUID_PATH
#define CN_SUBUID_PATH "/etc/subuid"
#define CN_SUBGID_PATH "/etc/subgid"
#endif
#ifndef CN_SYSCONF_PATH
#define CN_SYSCONF_PATH "/etc/cnlaunch.conf"
#endif

static struct cn_sysconf trusted_conf;

/* ---- Config ---- */

int cn_native_set_env(struct cn_strv *env, const char *kv, struct cn_error *err)
{
	size_t keylen = strcspn(kv, "=") + 1;

	for (size_t i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], kv, keylen) == 0) {
			char *dup = strdup(kv);
			if (!dup)
				return cn_fail(err, ENOMEM, "--env");
			free(env->v[i]);
			env->v[i] = dup;
			return 0;
		}
	}
	return cn_strv_push(env, kv) < 0 ? cn_fail(err, ENOMEM, "--env") : 0;
}

static int parse_limit_value(const char *s, uint64_t *out)
{
	char *end;

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "infinity") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int add_rlimit_option(struct cn_config *cfg, const char *arg, struct cn_error *err)
{
	char name[64], soft[32], hard[32] = "";
	struct cn_rlimit rl;
	const char *eq = strchr(arg, '='), *colon;
	size_t i;

	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return cn_fail(err, 0, "--rlimit: \"%s\" is not NAME=SOFT[:HARD]", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	colon = strchr(eq + 1, ':');
	if (snprintf(soft, sizeof(soft), "%.*s", colon ? (int)(colon - eq - 1) : 31, eq + 1) >= (int)sizeof(soft) ||
	    (colon && snprintf(hard, sizeof(hard), "%s", colon + 1) >= (int)sizeof(hard)))
		return cn_fail(err, 0, "--rlimit: \"%s\" is not NAME=SOFT[:HARD]", arg);
	if ((rl.resource = cn_rlimit_from_name(name)) < 0)
		return cn_fail(err, 0, "--rlimit: unknown resource limit \"%s\"", name);
	if (parse_limit_value(soft, &rl.soft) < 0 || parse_limit_value(colon ? hard : soft, &rl.hard) < 0)
		return cn_fail(err, 0, "--rlimit: \"%s\": limits are numbers or \"unlimited\"", arg);
	if (rl.soft > rl.hard)
		return cn_fail(err, 0, "--rlimit: \"%s\": the soft limit is above the hard limit", arg);
	for (i = 0; i < cfg->n_rlimits; i++)
		if (cfg->rlimits[i].resource == rl.resource)
			break;
	if (i == cfg->n_rlimits) {
		struct cn_rlimit *grown = realloc(cfg->rlimits, (cfg->n_rlimits + 1) * sizeof(*grown));
		if (!grown)
			return cn_fail(err, ENOMEM, "--rlimit");
		cfg->rlimits = grown;
		cfg->n_rlimits++;
	}
	cfg->rlimits[i] = rl;
	return 0;
}

static int apply_cap_options(struct cn_config *cfg, const struct cn_options *o, struct cn_error *err)
{
	for (size_t i = 0; i < o->cap_drop.n; i++) {
		const char *name = o->cap_drop.v[i];
		int cap = strcasecmp(name, "ALL") == 0 ? -2 : cn_cap_from_name(name);
		if (cap == -1)
			return cn_fail(err, 0, "--cap-drop: unknown capability \"%s\"", name);
		for (int set = 0; set < CN_CAPSET__COUNT; set++)
			cfg->caps[set] &= cap == -2 ? 0 : ~CN_CAP_BIT(cap);
	}
	for (size_t i = 0; i < o->cap_add.n; i++) {
		const char *name = o->cap_add.v[i];
		int cap = strcasecmp(name, "ALL") == 0 ? -2 : cn_cap_from_name(name);
		if (cap == -1)
			return cn_fail(err, 0, "--cap-add: unknown capability \"%s\"", name);
		/* All five sets: a non-root process keeps it across execve through the ambient set. */
		for (int set = 0; set < CN_CAPSET__COUNT; set++)
			cfg->caps[set] |= cap == -2 ? cn_caps_all() : CN_CAP_BIT(cap);
	}
	return 0;
}

static int parse_int_option(const char *option, const char *arg, long min, long max, int base, long *out,
			    struct cn_error *err)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, base);
	if (errno || end == arg || *end || *out < min || *out > max)
		return cn_fail(err, 0, "%s: \"%s\" is not a%s number from %ld to %ld", option, arg,
			       base == 8 ? "n octal" : "", min, max);
	return 0;
}

/* "NAME[:N]": the name is cut at the colon; *level stays as it was without one. */
static int split_level(const char *option, const char *arg, char *name, size_t cap, long min, long max, long *level,
		       struct cn_error *err)
{
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);

	if (len >= cap)
		return cn_fail(err, 0, "%s: \"%.32s...\" is too long", option, arg);
	memcpy(name, arg, len);
	name[len] = '\0';
	return colon ? parse_int_option(option, colon + 1, min, max, 10, level, err) : 0;
}

int cn_native_apply_process_options(struct cn_config *cfg, const struct cn_options *o, struct cn_error *err)
{
	char name[32];
	long v;

	cfg->terminal |= o->tty;
	if (o->console_size) {
		unsigned int rows, cols;
		char extra;
		if (sscanf(o->console_size, "%5ux%5u%c", &rows, &cols, &extra) != 2 || !rows || !cols ||
		    rows > UINT16_MAX || cols > UINT16_MAX)
			return cn_fail(err, 0, "--console-size: \"%s\" is not ROWSxCOLS (1 to 65535 each)", o->console_size);
		cfg->console_height = rows;
		cfg->console_width = cols;
	}
	if (o->umask) {
		if (parse_int_option("--umask", o->umask, 0, 0777, 8, &v, err) < 0)
			return -1;
		cfg->umask_set = true;
		cfg->umask = (uint32_t)v;
	}
	if (o->scheduler) {
		v = cfg->scheduler.priority;
		if (split_level("--scheduler", o->scheduler, name, sizeof(name), 0, 99, &v, err) < 0)
			return -1;
		if ((cfg->scheduler.policy = cn_sched_policy_from_name(name)) < 0)
			return cn_fail(err, 0, "--scheduler: unknown policy \"%s\" (other, batch, idle, fifo, rr, deadline)", name);
		cfg->scheduler.priority = (uint32_t)v;
		cfg->scheduler.set = true;
	}
	if (o->nice) {
		if (parse_int_option("--nice", o->nice, -20, 19, 10, &v, err) < 0)
			return -1;
		if (!cfg->scheduler.set)
			cfg->scheduler = (struct cn_scheduler){.set = true, .policy = SCHED_OTHER};
		cfg->scheduler.nice = (int)v;
	}
	if (o->ioprio) {
		v = 4;
		if (split_level("--ioprio", o->ioprio, name, sizeof(name), 0, 7, &v, err) < 0)
			return -1;
		if ((cfg->io_priority.ioclass = cn_ioprio_class_from_name(name)) < 0)
			return cn_fail(err, 0, "--ioprio: unknown class \"%s\" (rt, be, idle)", name);
		cfg->io_priority.level = (int)v;
		cfg->io_priority.set = true;
	}
	for (size_t i = 0; i < o->group_add.n; i++) {
		gid_t *grown;
		uint32_t gid;
		if (cn_parse_u32(o->group_add.v[i], UINT32_MAX - 1, &gid) < 0)
			return cn_fail(err, 0, "--group-add: \"%s\" is not a numeric gid (0 to 4294967294)", o->group_add.v[i]);
		if (!(grown = realloc(cfg->additional_gids, (cfg->n_additional_gids + 1) * sizeof(gid_t))))
			return cn_fail(err, ENOMEM, "--group-add");
		cfg->additional_gids = grown;
		cfg->additional_gids[cfg->n_additional_gids++] = gid;
	}
	if (o->console_socket && !cfg->terminal)
		return cn_fail(err, 0, "--console-socket: the process has no terminal (add --tty or process.terminal)");
	return 0;
}

static void default_user(struct cn_launch *l)
{
	struct cn_config *cfg = &l->cfg;
	const struct cn_options *o = &l->opts;

	if (o->user_set) {
		cfg->uid = o->uid;
		cfg->gid = o->gid_set ? o->gid : l->flow == CN_FLOW_SETUID ? l->caller_gid : 0;
		cfg->user_configured = true;
	} else if (!cfg->user_configured) {
		/* setuid and userns: the caller (mapped to itself); root and fakeroot: root. */
		bool as_caller = l->flow == CN_FLOW_SETUID || l->flow == CN_FLOW_USERNS;
		cfg->uid = as_caller ? l->caller_uid : 0;
		cfg->gid = as_caller ? l->caller_gid : 0;
	}
}

static void default_caps(struct cn_launch *l)
{
	struct cn_config *cfg = &l->cfg;

	if (cfg->caps_configured)
		return;
	memset(cfg->caps, 0, sizeof(cfg->caps));
	if (cfg->uid == 0 && l->flow != CN_FLOW_SETUID) {
		cfg->caps[CN_CAPSET_EFFECTIVE] = cfg->caps[CN_CAPSET_PERMITTED] = cn_caps_oci_default();
		cfg->caps[CN_CAPSET_BOUNDING] = cn_caps_oci_default();
	} else if (l->flow != CN_FLOW_SETUID) {
		cfg->caps[CN_CAPSET_BOUNDING] = cn_caps_oci_default();
	}
	/* setuid: nothing in any set unless the configuration names it. */
}

/* The caller's subordinate ranges, from the files root owns: read again by
 * every process that relies on them, never passed along. */
struct subid_ranges {
	struct cn_id_map uid[CN_SUBID_RANGES_MAX], gid[CN_SUBID_RANGES_MAX];
	int n_uid, n_gid;
};

static int load_subid_ranges(const struct cn_launch *l, struct subid_ranges *r, struct cn_error *err)
{
	struct passwd *pw = getpwuid(l->caller_uid);
	const char *name = pw ? pw->pw_name : NULL;

	r->n_uid = cn_subid_ranges(CN_SUBUID_PATH, name, l->caller_uid, r->uid, CN_SUBID_RANGES_MAX, err);
	if (r->n_uid < 0)
		return -1;
	r->n_gid = cn_subid_ranges(CN_SUBGID_PATH, name, l->caller_uid, r->gid, CN_SUBID_RANGES_MAX, err);
	if (r->n_gid < 0)
		return -1;
	if (r->n_uid == 0 || r->n_gid == 0)
		return cn_fail(err, 0, "fakeroot: uid %u (%s) has no subordinate %s range in %s (add one, e.g. with usermod --add-subuids)",
			       l->caller_uid, name ? name : "no name", r->n_uid ? "gid" : "uid",
			       r->n_uid ? CN_SUBGID_PATH : CN_SUBUID_PATH);
	return 0;
}

static int set_maps(struct cn_id_map **maps, size_t *n_maps, uint32_t caller, const struct cn_id_map *ranges,
		    int n_ranges, struct cn_error *err)
{
	if (!(*maps = calloc((size_t)n_ranges + 1, sizeof(**maps))))
		return cn_fail(err, ENOMEM, "id maps");
	(*maps)[0] = (struct cn_id_map){0, caller, 1};
	memcpy(*maps + 1, ranges, (size_t)n_ranges * sizeof(**maps));
	*n_maps = (size_t)n_ranges + 1;
	return 0;
}

static int default_id_maps(struct cn_launch *l, struct cn_error *err)
{
	struct cn_config *cfg = &l->cfg;

	if (!(cfg->namespaces & CLONE_NEWUSER) || cfg->n_uid_maps || cfg->n_gid_maps)
		return 0;
	if (l->flow == CN_FLOW_FAKEROOT) {
		/* Root in the container is the caller; ids from 1 up are its subordinate ranges. */
		struct subid_ranges r;
		if (load_subid_ranges(l, &r, err) < 0 ||
		    set_maps(&cfg->uid_maps, &cfg->n_uid_maps, l->caller_uid, r.uid, r.n_uid, err) < 0 ||
		    set_maps(&cfg->gid_maps, &cfg->n_gid_maps, l->caller_gid, r.gid, r.n_gid, err) < 0)
			return -1;
		return 0;
	}
	/* One id each, all an unprivileged writer may map: the target is the caller. */
	cfg->uid_maps = calloc(1, sizeof(*cfg->uid_maps));
	cfg->gid_maps = calloc(1, sizeof(*cfg->gid_maps));
	if (!cfg->uid_maps || !cfg->gid_maps)
		return cn_fail(err, ENOMEM, "id maps");
	*cfg->uid_maps = (struct cn_id_map){cfg->uid, l->caller_uid, 1};
	*cfg->gid_maps = (struct cn_id_map){cfg->gid, l->caller_gid, 1};
	cfg->n_uid_maps = cfg->n_gid_maps = 1;
	return 0;
}

static int config_from_options(struct cn_launch *l, struct cn_error *err)
{
	struct cn_config *cfg = &l->cfg;
	const struct cn_options *o = &l->opts;

	if (cn_config_init_default(cfg, l->flow == CN_FLOW_USERNS, err) < 0)
		return -1;
	if (o->bundle) {
		_cleanup_free_ char *bundle = realpath(o->bundle, NULL);
		if (!bundle)
			return cn_fail(err, errno, "--bundle %s", o->bundle);
		if (cn_config_load_bundle(cfg, bundle, err) < 0)
			return -1;
	}
	if (o->rootfs) {
		free(cfg->root_path);
		if (!(cfg->root_path = strdup(o->rootfs)))
			return cn_fail(err, ENOMEM, "--rootfs");
	} else if (!cfg->root_path && !(cfg->root_path = strdup(CN_DEFAULT_ROOTFS))) {
		return cn_fail(err, ENOMEM, "rootfs");
	}
	if (o->command) {
		cn_strv_free(&cfg->args);
		for (char **a = o->command; *a; a++)
			if (cn_strv_push(&cfg->args, *a) < 0)
				return cn_fail(err, ENOMEM, "command");
	}
	if (o->hostname) {
		free(cfg->hostname);
		if (!(cfg->hostname = strdup(o->hostname)))
			return cn_fail(err, ENOMEM, "--hostname");
	}
	if (o->cwd) {
		free(cfg->cwd);
		if (!(cfg->cwd = strdup(o->cwd)))
			return cn_fail(err, ENOMEM, "--cwd");
	}
	cfg->root_readonly |= o->read_only;
	cfg->no_new_privs |= o->no_new_privs;
	if (l->flow == CN_FLOW_USERNS || l->flow == CN_FLOW_FAKEROOT)
		cfg->namespaces |= CLONE_NEWUSER;
	if (o->seccomp_file) {
		json_object_put(cfg->seccomp);
		cfg->seccomp = NULL;
		if (cn_seccomp_read_file(o->seccomp_file, &cfg->seccomp, err) < 0)
			return -1;
	}
	if (cfg->env.n == 0 && (cn_strv_push(&cfg->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0))
		return cn_fail(err, ENOMEM, "environment");
	for (size_t i = 0; i < o->env.n; i++)
		if (cn_native_set_env(&cfg->env, o->env.v[i], err) < 0)
			return -1;
	for (size_t i = 0; i < o->rlimits.n; i++)
		if (add_rlimit_option(cfg, o->rlimits.v[i], err) < 0)
			return -1;
	if (cn_native_apply_process_options(cfg, o, err) < 0 || cn_cgroup_options_to_config(o, cfg, err) < 0)
		return -1;
	default_user(l);
	default_caps(l);
	if (apply_cap_options(cfg, o, err) < 0)
		return -1;
	{
		bool has_home = false;
		for (size_t i = 0; i < cfg->env.n; i++)
			has_home |= strncmp(cfg->env.v[i], "HOME=", 5) == 0;
		if (!has_home && cn_native_set_env(&cfg->env, cfg->uid == 0 ? "HOME=/root" : "HOME=/", err) < 0)
			return -1;
	}
	return default_id_maps(l, err);
}

static int native_config(struct cn_launch *l, struct cn_error *err)
{
	if (l->role == CN_ROLE_STAGE1)
		return config_from_options(l, err);
	/* The master: STAGE1's prepared configuration, through the same parser. */
	cn_config_free(&l->cfg);
	if (cn_config_parse(&l->cfg, l->prepared_config, NULL, err) < 0)
		return cn_prefix(err, "prepared configuration: ");
	return 0;
}

/* ---- cgroups ---- */

/* Which cgroups the container gets, checked against the flow's rules: the root flow
 * one in each hierarchy, as runc and crun give every container; the other flows
 * only when limits or a path were asked for. Named for the master, whose pid
 * STAGE1 knows as its parent's; CLEANUP_HOST inherits the master's plan. */
static int plan_cgroups(struct cn_launch *l, struct cn_error *err)
{
	const struct cn_config *cfg = &l->cfg;
	char name[32];
	struct cn_cgroup_request req = {
		.resources = &cfg->resources,
		.path = cfg->cgroups_path,
		.name = name,
		.mode = l->opts.cgroup_manager,
		.every_hierarchy = l->flow == CN_FLOW_ROOT || cfg->cgroups_path,
	};

	cn_cgroup_free(l->cgroup);
	l->cgroup = NULL;
	if (l->opts.exec)
		return 0; /* an exec joins the container's cgroups (state.h), it makes none */
	if (l->opts.cgroup_manager == CN_CGROUP_MANAGER_DISABLED && (cn_resources_set(&cfg->resources) || cfg->cgroups_path))
		return cn_fail(err, 0, "--cgroup-manager disabled: the configuration asks for %s",
			       cfg->cgroups_path ? "a cgroup (cgroupsPath)" : "limits (linux.resources)");
	if (l->opts.cgroup_manager == CN_CGROUP_MANAGER_DISABLED ||
	    (l->flow != CN_FLOW_ROOT && !cn_resources_set(&cfg->resources) && !cfg->cgroups_path))
		return 0;
	snprintf(name, sizeof(name), "cnlaunch-%d", l->role == CN_ROLE_STAGE1 ? getppid() : getpid());
	if (!(l->cgroup = cn_cgroup_plan(&req, err)))
		return -1;
	switch (l->flow) {
	case CN_FLOW_SETUID:
	case CN_FLOW_FAKEROOT: return cn_cgroup_check_setuid(l->cgroup, l->caller_uid, err);
	case CN_FLOW_USERNS: return cn_cgroup_check_delegated(l->cgroup, l->caller_uid, err);
	default: return 0;
	}
}

static int create_cgroups_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	(void)pid;
	return cn_cgroup_create(l->cgroup, err);
}

static int destroy_cgroups_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	(void)pid;
	return cn_cgroup_destroy(l->cgroup, false, err);
}

/* ---- InitConfig ---- */

static int native_init_config(struct cn_launch *l, bool privileged_stage1, struct cn_error *err)
{
	l->sysconf = &trusted_conf;
	if (l->role == CN_ROLE_MASTER && cn_state_prepare(l, err) < 0) /* --id: before the host helpers exist */
		return -1;
	if (l->flow != CN_FLOW_SETUID && l->flow != CN_FLOW_FAKEROOT)
		return l->role == CN_ROLE_MASTER ? plan_cgroups(l, err) : 0;
	/* Read from disk in both processes of a setuid run: nothing the caller
	 * passed can stand in for what the administrator wrote. */
	if (cn_sysconf_load(CN_SYSCONF_PATH, &trusted_conf, err) < 0)
		return -1;
	if (!trusted_conf.allow_setuid)
		return cn_fail(err, 0, "setuid runs are disabled by %s (allow setuid = no)", CN_SYSCONF_PATH);
	if (l->flow == CN_FLOW_FAKEROOT && !trusted_conf.allow_fakeroot)
		return cn_fail(err, 0, "fakeroot runs are disabled by %s (allow fakeroot = no)", CN_SYSCONF_PATH);
	if (privileged_stage1 || cn_native_check_flow(l, err) < 0)
		return privileged_stage1 ? 0 : -1;
	return l->role == CN_ROLE_MASTER ? plan_cgroups(l, err) : 0;
}

/* ---- PrepareConfig ---- */

static bool is_caller_group(const struct cn_launch *l, gid_t gid)
{
	if (gid == l->caller_gid)
		return true;
	for (int i = 0; i < l->n_caller_groups; i++)
		if (l->caller_groups[i] == gid)
			return true;
	return false;
}

/* A setuid master runs with root's power over limits: a caller gets no more than it had. */
static int check_rlimits_within_callers(const struct cn_config *cfg, struct cn_error *err)
{
	for (size_t i = 0; i < cfg->n_rlimits; i++) {
		struct rlimit cur;
		if (getrlimit(cfg->rlimits[i].resource, &cur) < 0)
			return cn_fail(err, errno, "getrlimit %s", cn_rlimit_name(cfg->rlimits[i].resource));
		if (cfg->rlimits[i].hard > cur.rlim_max)
			return cn_fail(err, 0, "process.rlimits: %s hard limit %llu is above the caller's %llu",
				       cn_rlimit_name(cfg->rlimits[i].resource), (unsigned long long)cfg->rlimits[i].hard,
				       (unsigned long long)cur.rlim_max);
	}
	return 0;
}

static int check_setuid_flow(struct cn_launch *l, struct cn_error *err)
{
	const struct cn_config *cfg = &l->cfg;
	char name[CN_CAP_NAME_MAX];

	if (cfg->namespaces & CLONE_NEWUSER)
		return cn_fail(err, 0, "linux.namespaces: a setuid run does not create user namespaces "
					  "(run a cnlaunch that is not setuid, or use --flow fakeroot)");
	if (cfg->uid != l->caller_uid)
		return cn_fail(err, 0, "process.user.uid: a setuid run runs as its caller (uid %u), not uid %u",
			       l->caller_uid, cfg->uid);
	if (cfg->gid != l->caller_gid)
		return cn_fail(err, 0, "process.user.gid: a setuid run runs with its caller's gid %u, not %u",
			       l->caller_gid, cfg->gid);
	for (size_t i = 0; i < cfg->n_additional_gids; i++)
		if (!is_caller_group(l, cfg->additional_gids[i]))
			return cn_fail(err, 0, "process.user.additionalGids[%zu]: the caller is not in group %u", i,
				       cfg->additional_gids[i]);
	for (int set = 0; set < CN_CAPSET__COUNT; set++) {
		uint64_t extra = cfg->caps[set] & ~l->sysconf->setuid_caps;
		if (extra)
			return cn_fail(err, 0, "process.capabilities.%s: %s is not allowed in a setuid run (%s: setuid capabilities)",
				       cn_capset_name(set), cn_cap_name(__builtin_ctzll(extra), name), CN_SYSCONF_PATH);
	}
	if (check_rlimits_within_callers(cfg, err) < 0)
		return -1;
	if (cfg->seccomp && !cfg->no_new_privs)
		return cn_fail(err, 0, "linux.seccomp: a setuid run loads seccomp filters only with no_new_privs");
	return 0;
}

static int check_single_map(const struct cn_id_map *maps, size_t n, uint32_t target, uint32_t caller,
			    const char *what, struct cn_error *err)
{
	if (n != 1 || maps[0].size != 1 || maps[0].host_id != caller)
		return cn_fail(err, 0, "linux.%sMappings: an unprivileged user maps one id, its own (%u)", what, caller);
	if (maps[0].container_id != target)
		return cn_fail(err, 0, "process.user.%s: %u is not mapped (linux.%sMappings maps %u)", what, target,
			       what, maps[0].container_id);
	return 0;
}

static int check_userns_flow(struct cn_launch *l, struct cn_error *err)
{
	const struct cn_config *cfg = &l->cfg;

	if (!(cfg->namespaces & CLONE_NEWUSER))
		return cn_fail(err, 0, "linux.namespaces: the userns flow needs a user namespace");
	if (check_single_map(cfg->uid_maps, cfg->n_uid_maps, cfg->uid, l->caller_uid, "uid", err) < 0 ||
	    check_single_map(cfg->gid_maps, cfg->n_gid_maps, cfg->gid, l->caller_gid, "gid", err) < 0)
		return -1;
	if (cfg->n_additional_gids)
		return cn_fail(err, 0, "process.user.additionalGids: setgroups is denied in an unprivileged user namespace");
	return 0;
}

static int check_fakeroot_flow(struct cn_launch *l, struct cn_error *err)
{
	const struct cn_config *cfg = &l->cfg;
	struct subid_ranges r;

	if (!(cfg->namespaces & CLONE_NEWUSER))
		return cn_fail(err, 0, "linux.namespaces: the fakeroot flow needs a user namespace");
	if (load_subid_ranges(l, &r, err) < 0 ||
	    cn_subid_check_maps(cfg->uid_maps, cfg->n_uid_maps, l->caller_uid, r.uid, (size_t)r.n_uid, "uid", err) < 0 ||
	    cn_subid_check_maps(cfg->gid_maps, cfg->n_gid_maps, l->caller_gid, r.gid, (size_t)r.n_gid, "gid", err) < 0)
		return -1;
	return check_rlimits_within_callers(cfg, err);
}

int cn_native_check_flow(struct cn_launch *l, struct cn_error *err)
{
	const struct cn_config *cfg = &l->cfg;

	if (!(cfg->namespaces & CLONE_NEWNS))
		return cn_fail(err, 0, "linux.namespaces: a mount namespace is required");
	if ((cfg->namespaces & CLONE_NEWUSER) && (!cfg->n_uid_maps || !cfg->n_gid_maps))
		return cn_fail(err, 0, "linux.uidMappings: a user namespace needs uid and gid mappings");
	switch (l->flow) {
	case CN_FLOW_SETUID: return check_setuid_flow(l, err);
	case CN_FLOW_USERNS: return check_userns_flow(l, err);
	case CN_FLOW_FAKEROOT: return check_fakeroot_flow(l, err);
	default: return 0;
	}
}

static int check_rootfs(const struct cn_config *cfg, struct cn_error *err)
{
	struct stat st;

	if (cfg->root_path[0] != '/')
		return cn_fail(err, 0, "root.path: \"%s\" is not an absolute path", cfg->root_path);
	/* STAGE1 runs as the caller: this is what the caller can see. */
	if (stat(cfg->root_path, &st) < 0)
		return cn_fail(err, errno, "rootfs %s", cfg->root_path);
	if (!S_ISDIR(st.st_mode))
		return cn_fail(err, ENOTDIR, "rootfs %s", cfg->root_path);
	/* A rootfs the caller cannot enter fails at the first mount, with a message that
	 * names /proc and not the rootfs: name it here. (Issue 7, the bad-input table.) */
	if (access(cfg->root_path, X_OK) < 0)
		return cn_fail(err, errno, "rootfs %s", cfg->root_path);
	if (st.st_ino == 2 && strcmp(cfg->root_path, "/") == 0)
		return cn_fail(err, 0, "rootfs %s: the host's root cannot be a container's", cfg->root_path);
	return 0;
}

static int native_prepare_config(struct cn_launch *l, struct cn_error *err)
{
	struct cn_config *cfg = &l->cfg;

	if (cfg->args.n == 0)
		return cn_fail(err, 0, "no command: give one after -- or in process.args");
	if (l->flow == CN_FLOW_SETUID && cfg->seccomp && !l->opts.bundle)
		cfg->no_new_privs = true; /* --seccomp in a setuid run implies --no-new-privs */
	if (check_rootfs(cfg, err) < 0 || cn_native_check_flow(l, err) < 0)
		return -1;
	if (cfg->seccomp && cn_seccomp_compile(cfg->seccomp, l->opts.seccomp_file ? "--seccomp" : "linux.seccomp",
					       NULL, err) < 0)
		return -1;
	return plan_cgroups(l, err); /* as the caller: a refusal comes before anything exists */
}

/* ---- CreateContainer ---- */

static int rpc_mount(struct cn_launch *l, const struct cn_mount *m, struct cn_error *err)
{
	static struct cn_rpc_request req;
	size_t used = 0;

	memset(&req, 0, sizeof(req));
	req.method = CN_RPC_MOUNT;
	if (snprintf(req.path, sizeof(req.path), "%s", m->destination) >= (int)sizeof(req.path) ||
	    snprintf(req.source, sizeof(req.source), "%s", m->source) >= (int)sizeof(req.source) ||
	    snprintf(req.fstype, sizeof(req.fstype), "%s", m->type) >= (int)sizeof(req.fstype))
		return cn_fail(err, ENAMETOOLONG, "mount %s", m->destination);
	for (size_t i = 0; i < m->options.n; i++) {
		int w = snprintf(req.options + used, sizeof(req.options) - used, "%s%s", used ? "," : "", m->options.v[i]);
		if (w < 0 || (size_t)w >= sizeof(req.options) - used)
			return cn_fail(err, E2BIG, "mount %s: options", m->destination);
		used += (size_t)w;
	}
	return cn_rpc_call(l->rpc, &req, err);
}

static int rpc_symlink(struct cn_launch *l, const char *target, const char *link, struct cn_error *err)
{
	static struct cn_rpc_request req;

	memset(&req, 0, sizeof(req));
	req.method = CN_RPC_SYMLINK;
	snprintf(req.path, sizeof(req.path), "%s", link);
	snprintf(req.source, sizeof(req.source), "%s", target);
	return cn_rpc_call(l->rpc, &req, err);
}

static int setup_dev(struct cn_launch *l, struct cn_error *err)
{
	/* Bound from the host, as runc does: no CAP_MKNOD needed, and a user
	 * namespace may do the same. */
	static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {
		{"/proc/self/fd", "/dev/fd"},     {"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
	};
	bool has_pts = false;

	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		char path[32];
		char *options[] = {"bind", "nosuid", "noexec", NULL};
		struct cn_mount m = {.destination = path, .type = "bind", .source = path,
				     .options = {.v = options, .n = 3}};
		snprintf(path, sizeof(path), "/dev/%s", devices[i]);
		if (rpc_mount(l, &m, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (rpc_symlink(l, links[i][0], links[i][1], err) < 0)
			return -1;
	for (size_t i = 0; i < l->cfg.n_mounts; i++)
		has_pts |= strcmp(l->cfg.mounts[i].destination, "/dev/pts") == 0;
	return has_pts ? rpc_symlink(l, "pts/ptmx", "/dev/ptmx", err) : 0;
}

/* Without a configured size the pty starts with the caller's terminal's, before
 * the command can read it, and follows it (a size fixed by the configuration stays). */
void cn_native_console_size_from_caller(struct cn_launch *l)
{
	struct winsize ws;

	if (!l->cfg.terminal || l->cfg.console_height || l->cfg.console_width || l->opts.console_socket ||
	    !isatty(0) || ioctl(0, TIOCGWINSZ, &ws) < 0)
		return;
	l->cfg.console_height = ws.ws_row;
	l->cfg.console_width = ws.ws_col;
	l->container.console_follows_caller = true;
}

static int native_create_container(struct cn_launch *l, struct cn_error *err)
{
	const struct cn_config *cfg = &l->cfg;

	cn_native_console_size_from_caller(l);
	/* --id: claimed first, so that a running launch of the same id is refused before anything exists */
	if (cn_state_reserve(l, err) < 0)
		return -1;
	/* The cgroups and their limits exist before the container does: it is cloned into them. */
	if (l->cgroup && cn_starter_as_host_root(l, create_cgroups_op, 0, err) < 0)
		return -1;
	if (cn_starter_spawn_container(l, err) < 0)
		return -1;
	if (cn_rpc_call_simple(l->rpc, CN_RPC_ROOTFS, cfg->root_path, err) < 0)
		return -1;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (rpc_mount(l, &cfg->mounts[i], err) < 0)
			return -1;
	if (setup_dev(l, err) < 0)
		return -1;
	for (size_t i = 0; i < cfg->masked_paths.n; i++)
		if (cn_rpc_call_simple(l->rpc, CN_RPC_MASK, cfg->masked_paths.v[i], err) < 0)
			return -1;
	for (size_t i = 0; i < cfg->readonly_paths.n; i++)
		if (cn_rpc_call_simple(l->rpc, CN_RPC_READONLY, cfg->readonly_paths.v[i], err) < 0)
			return -1;
	if ((cfg->namespaces & CLONE_NEWUTS) && cfg->hostname &&
	    cn_rpc_call_simple(l->rpc, CN_RPC_HOSTNAME, cfg->hostname, err) < 0)
		return -1;
	if ((cfg->namespaces & CLONE_NEWNET) && cn_rpc_call_simple(l->rpc, CN_RPC_LOOPBACK_UP, NULL, err) < 0)
		return -1;
	if (cfg->root_readonly && cn_rpc_call_simple(l->rpc, CN_RPC_ROOT_READONLY, NULL, err) < 0)
		return -1;
	return cn_rpc_call_simple(l->rpc, CN_RPC_PIVOT_ROOT, NULL, err);
}

/* ---- StartProcess ---- */

static int load_seccomp(const struct cn_config *cfg, scmp_filter_ctx ctx, struct cn_error *err)
{
	int rc;

	(void)cfg;
	if (!ctx)
		return 0;
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc < 0 ? cn_fail(err, -rc, "seccomp_load") : 0;
}

/* The pty is made here, as the target user in the container's devpts; the master gets its end. */
int cn_native_send_new_terminal(struct cn_launch *l, struct cn_error *err)
{
	_cleanup_close_ int ptm = -1;

	if (cn_terminal_create(l->cfg.console_height, l->cfg.console_width, &ptm, err) < 0)
		return -1;
	return cn_msg_send(l->sync_fd, CN_MSG_CONSOLE, NULL, 0, ptm, err);
}

void cn_native_creds_target(const struct cn_launch *l, struct cn_creds_target *t)
{
	const struct cn_config *cfg = &l->cfg;

	*t = (struct cn_creds_target){
		.uid = cfg->uid,
		.gid = cfg->gid,
		/* Denied in a user namespace an unprivileged user made: the list stays as inherited. */
		.set_groups = l->flow != CN_FLOW_USERNS,
		.groups = cfg->additional_gids,
		.n_groups = cfg->n_additional_gids,
		.no_new_privs = cfg->no_new_privs,
	};
	memcpy(t->caps, cfg->caps, sizeof(t->caps));
}

int cn_native_drop(struct cn_launch *l, scmp_filter_ctx *filter, struct cn_error *err)
{
	struct cn_config *cfg = &l->cfg;
	struct cn_creds_target target;
	/* Root's launcher applies priorities with root's rights, as runc does; every other
	 * flow only after the drop, with the caller's: never the launcher's privilege. */
	bool priorities_early = l->flow == CN_FLOW_ROOT;

	cn_native_creds_target(l, &target);
	if (cn_apply_rlimits(cfg, err) < 0)
		return -1;
	if (priorities_early && (cn_apply_scheduler(&cfg->scheduler, err) < 0 ||
				 cn_apply_io_priority(&cfg->io_priority, err) < 0))
		return -1;
	if (cfg->seccomp && !*filter && cn_seccomp_compile(cfg->seccomp, "linux.seccomp", filter, err) < 0)
		return -1;
	/* Without no_new_privs a filter needs CAP_SYS_ADMIN: load it before the drop, as runc does. */
	if (!cfg->no_new_privs && load_seccomp(cfg, steal_pointer(filter), err) < 0)
		return -1;
	if (cn_creds_apply(&target, err) < 0)
		return -1;
	if (!priorities_early && (cn_apply_scheduler(&cfg->scheduler, err) < 0 ||
				  cn_apply_io_priority(&cfg->io_priority, err) < 0))
		return -1;
	return 0;
}

static int native_start_process(struct cn_launch *l, struct cn_error *err)
{
	struct cn_config *cfg = &l->cfg;
	scmp_filter_ctx filter = NULL;

	if (cn_native_drop(l, &filter, err) < 0 ||
	    cn_die_with_parent((cfg->namespaces & CLONE_NEWPID) ? 0 : getppid(), err) < 0 || chdir(cfg->cwd) < 0) {
		if (filter)
			seccomp_release(filter);
		return err->msg[0] ? -1 : cn_fail(err, errno, "chdir %s", cfg->cwd);
	}
	if (cn_resolve_command(cfg, &l->exec_path, err) < 0) {
		err->exit_code = cn_exec_failure_status(err->errnum);
		if (filter)
			seccomp_release(filter);
		return -1;
	}
	umask(cfg->umask_set ? cfg->umask : 022);
	if (cfg->terminal && cn_native_send_new_terminal(l, err) < 0) {
		if (filter)
			seccomp_release(filter);
		return -1;
	}
	if (cn_close_fds_on_exec(3 + l->opts.preserve_fds, err) < 0)
		return -1;
	cn_reset_signals();
	/* Last: the filter then only has to allow what the command itself does. */
	return load_seccomp(cfg, filter, err);
}

/* ---- the master's stages after the start ---- */

/* The container's pty and pidfd go to whoever asked for them, over unix sockets,
 * with the caller's credentials (a setuid master runs as the caller here). */
static int native_post_start_process(struct cn_launch *l, struct cn_error *err)
{
	struct cn_process *p = &l->container;
	unsigned int pty_number = 0;
	char payload[32];

	if (l->opts.console_socket && p->console_fd >= 0) {
		/* The payload names the pty as the container sees it, as runc's does. */
		ioctl(p->console_fd, TIOCGPTN, &pty_number);
		snprintf(payload, sizeof(payload), "/dev/pts/%u", pty_number);
		if (cn_send_fd_to_socket_path(l->opts.console_socket, "--console-socket", payload, p->console_fd, err) < 0)
			return -1;
		close(p->console_fd); /* the receiver holds it now: nothing to relay */
		p->console_fd = -1;
	}
	snprintf(payload, sizeof(payload), "%d", cn_process_pid(p));
	if (l->opts.pidfd_socket &&
	    cn_send_fd_to_socket_path(l->opts.pidfd_socket, "--pidfd-socket", payload, p->pidfd, err) < 0)
		return -1;
	if (l->opts.verbose)
		fprintf(stderr, "cnlaunch: container process %d started\n", cn_process_pid(p));
	return cn_state_publish(l, err); /* --id: exec may join it from now on */
}

static int native_monitor_container(struct cn_launch *l, struct cn_error *err)
{
	sigset_t forwarded;

	cn_forwarded_signals(&forwarded);
	return cn_process_wait(&l->container, &forwarded, true, err) < 0 ? -1 : 0;
}

static int native_cleanup_container(struct cn_launch *l, struct cn_error *err)
{
	if (l->rpc) {
		close(l->rpc->sock);
		l->rpc = NULL;
	}
	/* A launch that failed midway: its pid namespace dies with its first process. */
	cn_process_kill(&l->container);
	cn_process_release(&l->container);
	if (cn_state_remove(l, err) < 0) /* --id: the container is gone */
		return -1;
	if (!l->cgroup)
		return 0;
	cn_cgroup_report_oom(l->cgroup);
	/* The master made them (with euid 0 in a setuid run), so the master removes them. */
	return cn_starter_as_host_root(l, destroy_cgroups_op, 0, err);
}

/* ---- the host's stages ---- */

static int native_post_start_host(struct cn_launch *l, struct cn_error *err)
{
	_cleanup_close_ int fd = -1;
	char buf[32];
	int len;

	if (!l->opts.pid_file)
		return 0;
	fd = open(l->opts.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return cn_fail(err, errno, "--pid-file %s", l->opts.pid_file);
	len = snprintf(buf, sizeof(buf), "%d\n", l->container.pid);
	if (write(fd, buf, (size_t)len) != len)
		return cn_fail(err, errno, "write --pid-file %s", l->opts.pid_file);
	return 0;
}

static int native_cleanup_host(struct cn_launch *l, struct cn_error *err)
{
	char buf[32] = "";
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (l->role == CN_ROLE_STAGE1)
		return 0; /* STAGE1 failed before anything existed on the host */
	/* --id: the master removes its state; when it was killed, CLEANUP_HOST removes it where it
	 * may without privilege (root; userns: the caller's own directory). A setuid run's is in a
	 * directory only root writes: it stays, stale (exec refuses it), until a launch takes the id. */
	if ((l->flow == CN_FLOW_ROOT || l->flow == CN_FLOW_USERNS) && cn_state_remove(l, err) < 0)
		return -1;
	/* The master removes the cgroups; when it failed or was killed first, CLEANUP_HOST does, in
	 * the flows where it may (root; userns: the caller's delegated cgroups). A setuid run's are
	 * root's, and CleanupHost holds no privilege: the master alone removes them. */
	if (l->cgroup && l->failed && (l->flow == CN_FLOW_ROOT || l->flow == CN_FLOW_USERNS) &&
	    cn_cgroup_destroy(l->cgroup, true, err) < 0)
		return -1;
	if (!l->opts.pid_file)
		return 0;
	/* Remove the pid file only when it is still the one PostStartHost wrote. */
	fd = open(l->opts.pid_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : cn_fail(err, errno, "--pid-file %s", l->opts.pid_file);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0 && l->container.pid > 0 && atoi(buf) == l->container.pid && unlink(l->opts.pid_file) < 0)
		return cn_fail(err, errno, "remove --pid-file %s", l->opts.pid_file);
	return 0;
}

const struct cn_engine cn_engine_native = {
	.name = "native",
	.config = native_config,
	.init_config = native_init_config,
	.prepare_config = native_prepare_config,
	.create_container = native_create_container,
	.start_process = native_start_process,
	.post_start_process = native_post_start_process,
	.monitor_container = native_monitor_container,
	.cleanup_container = native_cleanup_container,
	.post_start_host = native_post_start_host,
	.cleanup_host = native_cleanup_host,
};

__attribute__((constructor)) static void register_native_engine(void)
{
	cn_engine_register(&cn_engine_native);
}
