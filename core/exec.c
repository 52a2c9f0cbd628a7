/* SPDX-License-Identifier: Apache-2.0
 *
 * `cnlaunch exec`: the exec's own stages (exec.h says which process runs which).
 */
#define _GNU_SOURCE
#include "exec.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "creds.h"
#include "engine_native.h"
#include "process.h"
#include "seccomp_profile.h"
#include "starter.h"
#include "state.h"
#include "sync.h"

/* The container joined: the master's Config reads it; STAGE1 and STAGE2 inherit it. */
static struct cn_state target;
static int target_pidfd = -1; /* its process, checked against the state (MASTER, then STAGE2) */
static pid_t master_pid;       /* STAGE2 and the joined process die with it */
static scmp_filter_ctx filter; /* compiled by STAGE2 before the join */

static int joiner_sync = -1, joiner_pidfd = -1;
static pid_t joiner_pid;

/* "exec --id NAME" or "exec --pid PID": what every message names. */
static const char *target_name(const struct cn_launch *l)
{
	static char name[96];

	if (l->opts.id)
		snprintf(name, sizeof(name), "exec --id %s", l->opts.id);
	else
		snprintf(name, sizeof(name), "exec --pid %d", l->opts.exec_pid);
	return name;
}

/* One answer for "no such container" and "not yours": a setuid caller learns nothing of others'. */
static int not_a_container_of_the_caller(const struct cn_launch *l, struct cn_error *err)
{
	if (l->opts.id)
		return cn_fail(err, 0, "%s: no running container of uid %u has this id", target_name(l), l->caller_uid);
	return cn_fail(err, 0, "%s: not a running container of uid %u (only a launch given --id can be joined)",
		       target_name(l), l->caller_uid);
}

/* ---- Config, MASTER: the container to join ---- */

static int check_may_join(const struct cn_launch *l, struct cn_error *err)
{
	/* root joins any; a user, its own (a setuid caller: never root's or another user's) */
	if (l->flow != CN_FLOW_ROOT && target.caller_uid != l->caller_uid) {
		if (l->opts.exec_pid)
			return not_a_container_of_the_caller(l, err);
		return cn_fail(err, 0, "%s: the container of another user (uid %u) is not yours to join", target_name(l),
			       target.caller_uid);
	}
	if (target.flow == CN_FLOW_FAKEROOT)
		return cn_fail(err, 0, "%s: a fakeroot container: exec into it is not supported yet", target_name(l));
	if (!target.running)
		return cn_fail(err, 0, "%s: the container is still being created", target_name(l));
	return 0;
}

/* The pidfd first, the identity after: a pid recycled in between shows another start time,
 * and from then on the pidfd names that one process whatever becomes of its pid. Root's
 * rights in a setuid run: the container's /proc/PID/ns links may be closed to the caller. */
static int open_target_op(struct cn_launch *l, pid_t unused, struct cn_error *err)
{
	pid_t pid = target.container.pid;
	struct pollfd exited;
	struct cn_proc_id now;

	(void)unused;
	target_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (target_pidfd < 0 || cn_proc_id_of(pid, &now) < 0 || now.start_time != target.container.start_time)
		return cn_fail(err, 0, "%s: the container's process %d is gone (%s is stale: its launch was killed)",
			       target_name(l), pid, target.path);
	for (size_t i = 0; i < sizeof(target.ns) / sizeof(target.ns[0]); i++) {
		char path[64], link[64];
		const char *name;
		int flag = cn_state_ns(i, &name);
		ssize_t n;

		if (!(flag & target.namespaces))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
		if ((n = readlink(path, link, sizeof(link) - 1)) < 0)
			return cn_fail(err, errno, "%s: readlink %s", target_name(l), path);
		link[n] = '\0';
		if (strcmp(link, target.ns[i]) != 0)
			return cn_fail(err, 0, "%s: process %d is in %s, its state records %s", target_name(l), pid, link,
				       target.ns[i]);
	}
	exited = (struct pollfd){.fd = target_pidfd, .events = POLLIN};
	if (poll(&exited, 1, 0) != 0)
		return cn_fail(err, 0, "%s: the container's process %d is gone", target_name(l), pid);
	return 0;
}

static int find_target(struct cn_launch *l, struct cn_error *err)
{
	if (cn_state_find(l, l->opts.id, l->opts.exec_pid, &target, err) < 0)
		return err->errnum == ENOENT ? not_a_container_of_the_caller(l, err) : -1;
	if (check_may_join(l, err) < 0)
		return -1;
	master_pid = getpid();
	return cn_starter_as_host_root(l, open_target_op, 0, err);
}

/* ---- Config, STAGE1: the command's configuration ---- */

/* The container's process, with the command and what the options change. */
static int config_from_container(struct cn_launch *l, struct cn_error *err)
{
	struct cn_config *cfg = &l->cfg;
	const struct cn_options *o = &l->opts;

	if (cn_config_parse(cfg, target.config, NULL, err) < 0)
		return cn_prefix(err, "%s: the container's configuration: ", target_name(l));
	cn_strv_free(&cfg->args);
	for (char **a = o->command; *a; a++)
		if (cn_strv_push(&cfg->args, *a) < 0)
			return cn_fail(err, ENOMEM, "command");
	for (size_t i = 0; i < o->env.n; i++)
		if (cn_native_set_env(&cfg->env, o->env.v[i], err) < 0)
			return -1;
	if (o->cwd) {
		free(cfg->cwd);
		if (!(cfg->cwd = strdup(o->cwd)))
			return cn_fail(err, ENOMEM, "--cwd");
	}
	if (o->user_set) {
		/* PrepareConfig applies the flow's rules: a setuid caller gets its own uid only */
		cfg->uid = o->uid;
		cfg->gid = o->gid_set ? o->gid : cfg->gid;
		free(cfg->additional_gids);
		cfg->additional_gids = NULL;
		cfg->n_additional_gids = 0;
	}
	/* Its stdio is the caller's, or a pty of its own (--tty): the container's console is not its */
	cfg->terminal = false;
	cfg->console_height = cfg->console_width = 0;
	return cn_native_apply_process_options(cfg, o, err);
}

static int exec_config(struct cn_launch *l, struct cn_error *err)
{
	return l->role == CN_ROLE_MASTER ? find_target(l, err) : config_from_container(l, err);
}

/* ---- InitConfig, PrepareConfig ---- */

/* Why a container has no cgroup of its own, in the flow that launched it. */
static const char *why_no_cgroup(int flow)
{
	switch (flow) {
	case CN_FLOW_ROOT: return "it was launched with --cgroup-manager disabled";
	case CN_FLOW_USERNS: return "the userns flow has no host privilege: a container gets a cgroup only in one "
				    "delegated to its caller, with a limit or --cgroup-path";
	default: return "a setuid launch gets cgroups only with a limit or --cgroup-path";
	}
}

/* --sub-cgroup (libcontainer's SubCgroupPaths): PATH beneath each of the container's cgroups,
 * planned before the host helpers exist (CLEANUP_HOST removes it when the master is killed).
 * The master makes it with the flow's rights, as a launch's: a setuid master with euid 0 (the
 * container's cgroups are root's), userns only where the caller may write (delegated). */
static int plan_sub_cgroups(struct cn_launch *l, struct cn_error *err)
{
	const char *sub = l->opts.sub_cgroup;

	if (!sub)
		return 0;
	if (target.cgroups.n == 0)
		return cn_fail(err, 0, "%s: --sub-cgroup %s: the container has no cgroup of its own to put it beneath (%s)",
			       target_name(l), sub, why_no_cgroup(target.flow));
	if (!(l->cgroup = cn_cgroup_plan_sub(&target.cgroups, sub, err)))
		return cn_prefix(err, "%s: --sub-cgroup %s: ", target_name(l), sub);
	if (l->flow == CN_FLOW_USERNS && cn_cgroup_check_delegated(l->cgroup, l->caller_uid, err) < 0)
		return cn_prefix(err, "%s: --sub-cgroup %s: ", target_name(l), sub);
	return 0;
}

static int exec_init_config(struct cn_launch *l, bool privileged_stage1, struct cn_error *err)
{
	/* The master: STAGE1's configuration, through the same parser, checked again below */
	if (l->role == CN_ROLE_MASTER) {
		cn_config_free(&l->cfg);
		if (cn_config_parse(&l->cfg, l->prepared_config, NULL, err) < 0)
			return cn_prefix(err, "prepared configuration: ");
	}
	if (cn_engine_native.init_config(l, privileged_stage1, err) < 0)
		return -1;
	return l->role == CN_ROLE_MASTER ? plan_sub_cgroups(l, err) : 0;
}

static int exec_prepare_config(struct cn_launch *l, struct cn_error *err)
{
	if (cn_native_check_flow(l, err) < 0)
		return -1;
	return l->cfg.seccomp ? cn_seccomp_compile(l->cfg.seccomp, "linux.seccomp", NULL, err) : 0;
}

/* ---- CreateContainer: STAGE2 joins and drops ---- */

static int load_filter(struct cn_error *err)
{
	int rc;

	if (!filter)
		return 0;
	rc = seccomp_load(filter);
	seccomp_release(filter);
	filter = NULL;
	return rc < 0 ? cn_fail(err, -rc, "seccomp_load") : 0;
}

/* One setns() on the pidfd: every namespace or none, the user namespace first, of
 * the very process the master checked. */
static int join(const struct cn_launch *l, struct cn_error *err)
{
	/* Compiled before: nothing of the container's is read to do it. */
	if (l->cfg.seccomp && cn_seccomp_compile(l->cfg.seccomp, "linux.seccomp", &filter, err) < 0)
		return -1;
	if (setns(target_pidfd, target.namespaces) < 0)
		return cn_fail(err, errno, "setns into the namespaces of the container's process %d", target.container.pid);
	close(target_pidfd);
	target_pidfd = -1;
	return 0;
}

/* The container process's own drop, made before the joined process exists: nothing in
 * the container's pid namespace ever holds more than the container's process. */
static int drop(struct cn_launch *l, struct cn_error *err)
{
	if (cn_native_drop(l, &filter, err) < 0)
		return -1;
	/* A cred change sets dumpable to fs.suid_dumpable, and clears the parent-death signal. */
	if (cn_creds_set_undumpable(err) < 0)
		return -1;
	return cn_die_with_parent(master_pid, err);
}

/* clone(2), not clone3(2): a seccomp profile loaded already may answer clone3 with ENOSYS,
 * as Docker's does. CLONE_PARENT: the master is its parent, and waits for it. */
static pid_t clone_joined(int *pidfd)
{
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | CLONE_PIDFD | SIGCHLD, NULL, pidfd, NULL, 0);
}

/* The joined process: born in the container's pid namespace, dropped, non-dumpable. */
static __attribute__((noreturn)) void joined_main(struct cn_launch *l, int sync)
{
	struct cn_error err = {0};

	/* Its parent, the master, is outside the container's pid namespace: getppid() is 0 then. */
	if (cn_die_with_parent((target.namespaces & CLONE_NEWPID) ? 0 : master_pid, &err) < 0)
		goto fail;
	if (cn_msg_expect(sync, CN_MSG_START, NULL, 0, NULL, "the master", &err) < 0)
		_exit(1); /* the master failed or died: it reports */
	if (cn_engine_run(l, CN_STAGE_START_PROCESS, &err) < 0)
		goto fail;
	execve(l->exec_path, l->cfg.args.v, l->cfg.env.v);
	cn_fail(&err, errno, "StartProcess: execve %s", l->exec_path);
	err.exit_code = cn_exec_failure_status(err.errnum);
fail:
	cn_msg_send_error(sync, &err);
	_exit(err.exit_code ? err.exit_code : 125);
}

static __attribute__((noreturn)) void joiner_main(struct cn_launch *l, int sync)
{
	struct cn_error err = {0};
	int pidfd = -1;
	int32_t pid;

	cn_launch_set_role(l, CN_ROLE_STAGE2);
	cn_starter_keep_preserved_fds(sync, target_pidfd); /* --preserve-fds pass on to the joined process */
	l->sync_fd = sync;
	(void)cn_cap_last(); /* read now, from the host's /proc: the container's could lie */
	if (cn_creds_set_undumpable(&err) < 0 || cn_die_with_parent(master_pid, &err) < 0 ||
	    cn_msg_send(sync, CN_MSG_NEEDS_HOST_SETUP, NULL, 0, -1, &err) < 0 ||
	    cn_msg_expect(sync, CN_MSG_HOST_SETUP_DONE, NULL, 0, NULL, "the master", &err) < 0 || join(l, &err) < 0 ||
	    drop(l, &err) < 0)
		goto fail;
	if ((pid = clone_joined(&pidfd)) < 0) {
		cn_fail(&err, errno, "clone the joined process");
		goto fail;
	}
	if (pid == 0)
		joined_main(l, sync);
	if (cn_msg_send(sync, CN_MSG_READY, &pid, sizeof(pid), pidfd, &err) == 0)
		_exit(0);
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
fail:
	cn_msg_send_error(sync, &err);
	_exit(125);
}

/* A setuid master forks STAGE2 with euid 0 (setns needs CAP_SYS_ADMIN), as it clones a launch's. */
static int spawn_joiner_op(struct cn_launch *l, pid_t unused, struct cn_error *err)
{
	(void)unused;
	joiner_pid = cn_starter_fork(&joiner_pidfd, err);
	if (joiner_pid == 0)
		joiner_main(l, joiner_sync);
	return joiner_pid < 0 ? -1 : 0;
}

static int create_sub_cgroups_op(struct cn_launch *l, pid_t unused, struct cn_error *err)
{
	(void)unused;
	return cn_cgroup_create(l->cgroup, err);
}

/* STAGE2 enters the container's cgroups (or --sub-cgroup's beneath them) before it forks:
 * the joined process is born in them. */
static int enter_cgroups_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	char value[16];

	if (l->cgroup)
		return cn_cgroup_enter(l->cgroup, pid, err);
	snprintf(value, sizeof(value), "%d", pid);
	for (size_t i = 0; i < target.cgroups.n; i++)
		if (cn_cgroup_write(target.cgroups.v[i], "cgroup.procs", value, err) < 0)
			return -1;
	return 0;
}

static int exec_create_container(struct cn_launch *l, struct cn_error *err)
{
	struct cn_process *p = &l->container;
	int sync[2], fd = -1, rc, status;
	int32_t pid = 0;

	cn_native_console_size_from_caller(l);
	/* --sub-cgroup: made first, as a launch makes its cgroups before the container exists */
	if (l->cgroup && cn_starter_as_host_root(l, create_sub_cgroups_op, 0, err) < 0)
		return -1;
	if (cn_socketpair(sync, err) < 0)
		return -1;
	joiner_sync = sync[1];
	rc = cn_starter_as_host_root(l, spawn_joiner_op, 0, err);
	if (rc == 0)
		cn_starter_release_preserved_fds();
	close(sync[1]);
	p->sync_fd = sync[0]; /* CleanupContainer closes it */
	if (rc < 0)
		return cn_prefix(err, "fork STAGE2: ");
	rc = cn_msg_expect(sync[0], CN_MSG_NEEDS_HOST_SETUP, NULL, 0, NULL, "STAGE2", err);
	if (rc == 0)
		rc = cn_starter_as_host_root(l, enter_cgroups_op, joiner_pid, err);
	if (rc == 0)
		rc = cn_msg_send(sync[0], CN_MSG_HOST_SETUP_DONE, NULL, 0, -1, err);
	if (rc == 0)
		rc = cn_msg_expect(sync[0], CN_MSG_READY, &pid, sizeof(pid), &fd, "STAGE2", err);
	if (rc == 0 && (fd < 0 || pid <= 0))
		rc = cn_fail(err, EPROTO, "STAGE2 sent no joined process");
	/* STAGE2 exits once it has sent the joined process; a failed one is not left behind. */
	if (rc < 0)
		syscall(SYS_pidfd_send_signal, joiner_pidfd, SIGKILL, NULL, 0);
	while (waitpid(joiner_pid, &status, 0) < 0 && errno == EINTR)
		;
	close(joiner_pidfd);
	joiner_pidfd = -1;
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p->pid = pid;
	p->pidfd = fd;
	close(target_pidfd);
	target_pidfd = -1;
	return 0;
}

/* ---- StartProcess: the joined process ---- */

static int exec_start_process(struct cn_launch *l, struct cn_error *err)
{
	struct cn_config *cfg = &l->cfg;

	/* Born non-dumpable of a non-dumpable STAGE2: checked again before anything of the container's runs. */
	if (cn_creds_check_undumpable(err) < 0)
		return -1;
	if (chdir(cfg->cwd) < 0)
		return cn_fail(err, errno, "chdir %s", cfg->cwd);
	if (cn_resolve_command(cfg, &l->exec_path, err) < 0) {
		err->exit_code = cn_exec_failure_status(err->errnum);
		return -1;
	}
	umask(cfg->umask_set ? cfg->umask : 022);
	/* --tty: the launch's own, made here as the container's user, in the container's devpts */
	if (cfg->terminal && cn_native_send_new_terminal(l, err) < 0)
		return -1;
	if (cn_close_fds_on_exec(3 + l->opts.preserve_fds, err) < 0)
		return -1;
	cn_reset_signals();
	/* Last (no_new_privs): the filter then only has to allow what the command itself does. */
	return load_filter(err);
}

const struct cn_engine *cn_exec_engine(void)
{
	static struct cn_engine exec_engine;

	exec_engine = cn_engine_native; /* the master's and the host helpers' other stages */
	exec_engine.name = "native exec";
	exec_engine.config = exec_config;
	exec_engine.init_config = exec_init_config;
	exec_engine.prepare_config = exec_prepare_config;
	exec_engine.create_container = exec_create_container;
	exec_engine.start_process = exec_start_process;
	return &exec_engine;
}
