/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "starter.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "creds.h"
#include "exec.h"
#include "process.h"
#include "rpc.h"
#include "sync.h"

/* The launch: one per process, copied by each fork. */
static struct cn_launch launch = {.sync_fd = -1, .container = CN_PROCESS_INIT};

/* MASTER's ends of the sockets to its helpers. */
static int post_start_sock = -1, cleanup_sock = -1;
static pid_t post_start_pid, cleanup_pid;

static void report(const struct cn_error *err)
{
	fprintf(stderr, "cnlaunch: %s\n", err->msg[0] ? err->msg : "failed");
}

static int failure_status(const struct cn_error *err)
{
	return err->exit_code ? err->exit_code : 125;
}

/* fork()-like clone3: the child returns 0; the parent gets a pidfd too. With
 * cgroup_fd >= 0 the child starts in that cgroup v2 directory (CLONE_INTO_CGROUP). */
static pid_t spawn_into(uint64_t flags, int cgroup_fd, int *pidfd, struct cn_error *err)
{
	struct clone_args args = {
		.flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
	};
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));

	if (pid < 0)
		return cn_fail(err, errno, "clone3");
	return pid;
}

static pid_t spawn(uint64_t flags, int *pidfd, struct cn_error *err)
{
	return spawn_into(flags, -1, pidfd, err);
}

pid_t cn_starter_fork(int *pidfd, struct cn_error *err)
{
	return spawn(0, pidfd, err);
}

static void reap(pid_t pid)
{
	int wstatus;

	if (pid > 0)
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
}

/* A helper process keeps stdio and the fds it names; nothing of the master's leaks into it.
 * STAGE2 also keeps the caller's --preserve-fds, which lie below every fd of the launcher's. */
static void keep_fds_from(unsigned int from, int a, int b)
{
	int keep[2] = {a < b ? a : b, a < b ? b : a};

	for (int i = 0; i < 2; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < from)
			continue;
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

static void keep_only_fds(int a, int b)
{
	keep_fds_from(3, a, b);
}

void cn_starter_keep_only_fds(int a, int b)
{
	keep_only_fds(a, b);
}

void cn_starter_keep_preserved_fds(int a, int b)
{
	keep_fds_from(3 + launch.opts.preserve_fds, a, b);
}

void cn_starter_release_preserved_fds(void)
{
	if (launch.opts.preserve_fds)
		syscall(SYS_close_range, 3, 3 + launch.opts.preserve_fds - 1, 0);
}

/* Ctrl-C reaches the whole process group; the host helpers must finish their job anyway. */
static void ignore_terminal_signals(void)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
}

static bool drops_permanently(void)
{
	return launch.flow != CN_FLOW_ROOT;
}

static int drop_helper_privileges(struct cn_error *err)
{
	if (!drops_permanently())
		return 0;
	return cn_creds_drop_permanently(launch.caller_uid, launch.caller_gid, err);
}

/* ---- flows ---- */

static int choose_flow(int asked, bool setuid_run, uid_t ruid, struct cn_error *err)
{
	switch (asked) {
	case CN_FLOW_AUTO:
		return setuid_run ? CN_FLOW_SETUID : ruid == 0 ? CN_FLOW_ROOT : CN_FLOW_USERNS;
	case CN_FLOW_SETUID:
		if (setuid_run)
			return CN_FLOW_SETUID;
		if (ruid == 0)
			return cn_fail(err, 0, "--flow setuid: root ran cnlaunch; the setuid flow is a user running a setuid-root cnlaunch");
		return cn_fail(err, 0, "--flow setuid: this cnlaunch is not installed setuid root");
	case CN_FLOW_USERNS:
		if (setuid_run)
			return cn_fail(err, 0, "--flow userns: a setuid cnlaunch does not create user namespaces "
					       "(run a copy that is not setuid, or use --flow fakeroot)");
		return CN_FLOW_USERNS;
	case CN_FLOW_ROOT:
		if (ruid != 0)
			return cn_fail(err, 0, "--flow root: needs root (cnlaunch runs as uid %u)", ruid);
		return CN_FLOW_ROOT;
	case CN_FLOW_FAKEROOT:
		if (!setuid_run && ruid != 0)
			return cn_fail(err, 0, "--flow fakeroot: needs a setuid-root cnlaunch (or root) to map subordinate ids");
		return CN_FLOW_FAKEROOT;
	}
	return cn_fail(err, 0, "unknown flow %d", asked);
}

/* ---- STAGE1 ---- */

static int send_prepared_config(int sock, struct cn_error *err)
{
	_cleanup_free_ char *text = cn_config_to_json(&launch.cfg, err);
	_cleanup_close_ int fd = -1;
	size_t len, off = 0;

	if (!text)
		return -1;
	len = strlen(text);
	fd = memfd_create("cnlaunch-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return cn_fail(err, errno, "memfd_create");
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0)
			return cn_fail(err, errno, "write the prepared configuration");
		off += (size_t)n;
	}
	/* Sealed: what the master reads is what PrepareConfig wrote, and stays so. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return cn_fail(err, errno, "seal the prepared configuration");
	return cn_msg_send(sock, CN_MSG_CONFIG, NULL, 0, fd, err);
}

static void stage1_main(int sock, pid_t master)
{
	struct cn_error err = {0};
	int rc;

	cn_launch_set_role(&launch, CN_ROLE_STAGE1);
	keep_only_fds(sock, -1);
	rc = drop_helper_privileges(&err);
	if (rc == 0)
		rc = cn_die_with_parent(master, &err);
	if (rc == 0)
		rc = cn_engine_run(&launch, CN_STAGE_CONFIG, &err);
	if (rc == 0)
		rc = cn_engine_run_init_config(&launch, launch.flow == CN_FLOW_SETUID, &err);
	if (rc == 0)
		rc = cn_engine_run(&launch, CN_STAGE_PREPARE_CONFIG, &err);
	if (rc == 0)
		rc = send_prepared_config(sock, &err);
	if (rc < 0) {
		struct cn_error cleanup_err = {0};
		/* No CLEANUP_HOST exists yet: STAGE1 cleans the host up itself. */
		if (cn_engine_run(&launch, CN_STAGE_CLEANUP_HOST, &cleanup_err) < 0)
			report(&cleanup_err);
		cn_msg_send_error(sock, &err);
		_exit(1);
	}
	_exit(0);
}

static char *read_sealed_config(int fd, struct cn_error *err)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;
	char *text;

	if (seals < 0 || !(seals & F_SEAL_WRITE) || !(seals & F_SEAL_SEAL) || fstat(fd, &st) < 0)
		return cn_fail(err, EPERM, "STAGE1 sent an unsealed configuration"), NULL;
	if ((uint64_t)st.st_size > CN_CONFIG_MAX_BYTES)
		return cn_fail(err, EFBIG, "STAGE1's configuration"), NULL;
	if (!(text = calloc(1, (size_t)st.st_size + 1)))
		return cn_fail(err, ENOMEM, "STAGE1's configuration"), NULL;
	if (pread(fd, text, (size_t)st.st_size, 0) != st.st_size) {
		free(text);
		return cn_fail(err, errno, "read STAGE1's configuration"), NULL;
	}
	return text;
}

static int run_stage1(struct cn_error *err)
{
	int sv[2], status, fd = -1, type;
	_cleanup_close_ int pidfd = -1, sock = -1;
	pid_t pid, master = getpid();

	if (cn_socketpair(sv, err) < 0)
		return -1;
	pid = spawn(0, &pidfd, err);
	if (pid == 0) {
		close(sv[0]);
		stage1_main(sv[1], master);
	}
	close(sv[1]);
	sock = sv[0];
	if (pid < 0) {
		close(sv[0]);
		sock = -1;
		return -1;
	}
	type = cn_msg_recv(sock, NULL, 0, NULL, &fd, err);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		; /* STAGE1 exits right after it sends: reap it here */
	if (type == CN_MSG_ERROR || type < 0)
		return -1;
	if (type != CN_MSG_CONFIG || fd < 0) {
		if (fd >= 0)
			close(fd);
		return cn_fail(err, 0, "STAGE1 exited with status %d before it sent the configuration",
			       cn_exit_status(status));
	}
	launch.prepared_config = read_sealed_config(fd, err);
	close(fd);
	return launch.prepared_config ? 0 : -1;
}

/* ---- POST_START_HOST and CLEANUP_HOST ---- */

static void post_start_host_main(int sock)
{
	struct cn_error err = {0};
	int32_t pid;

	cn_launch_set_role(&launch, CN_ROLE_POST_START_HOST);
	ignore_terminal_signals();
	keep_only_fds(sock, -1);
	if (drop_helper_privileges(&err) < 0) {
		report(&err);
		_exit(1);
	}
	/* EOF: the launch ended before the container started; nothing to do. */
	if (cn_msg_recv(sock, &pid, sizeof(pid), NULL, NULL, &err) != CN_MSG_POST_START)
		_exit(0);
	launch.container.pid = pid;
	launch.container.started = true;
	if (cn_engine_run(&launch, CN_STAGE_POST_START_HOST, &err) < 0) {
		report(&err);
		_exit(1);
	}
	_exit(0);
}

/* A master that dies while PostStartHost runs never reaps POST_START_HOST, which
 * goes on: CleanupHost must not start before PostStartHost has ended, or it undoes
 * nothing and what PostStartHost made (the --pid-file) stays. (Found by
 * tests/integration/test_faults.py: the master SIGKILLed in PostStartHost.) */
static void wait_for_post_start_host(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	if (pidfd >= 0)
		while (poll(&p, 1, 30000) < 0 && errno == EINTR) /* PostStartHost is short: 30 s is plenty */
			;
}

static void cleanup_host_main(int sock)
{
	struct cn_error err = {0};
	struct cn_msg_cleanup msg = {.status = -1};
	int type, post_start_pidfd = -1;

	cn_launch_set_role(&launch, CN_ROLE_CLEANUP_HOST);
	ignore_terminal_signals();
	keep_only_fds(sock, -1);
	if (drop_helper_privileges(&err) < 0) {
		report(&err);
		_exit(1);
	}
	/* Forked after POST_START_HOST: a pidfd of it now can never name another process. */
	if (post_start_pid > 0)
		post_start_pidfd = (int)syscall(SYS_pidfd_open, post_start_pid, 0);
	/* The master's word, or its death (EOF): either way the host gets cleaned up.
	 * It says when the container started, so a master killed afterwards still
	 * leaves CleanupHost knowing what PostStartHost did. */
	for (;;) {
		int32_t pid;
		size_t len = 0;
		type = cn_msg_recv(sock, &msg, sizeof(msg), &len, NULL, &err);
		if (type != CN_MSG_POST_START || len != sizeof(pid))
			break;
		memcpy(&pid, &msg, sizeof(pid));
		launch.container.pid = pid;
		msg = (struct cn_msg_cleanup){.status = -1};
	}
	launch.failed = type != CN_MSG_CLEANUP || msg.status < 0;
	launch.container.wait_status = msg.status;
	if (type == CN_MSG_CLEANUP)
		launch.container.pid = msg.container_pid;
	else
		wait_for_post_start_host(post_start_pidfd); /* the master's word means it reaped it */
	if (cn_engine_run(&launch, CN_STAGE_CLEANUP_HOST, &err) < 0) {
		report(&err);
		_exit(1);
	}
	_exit(0);
}

static pid_t fork_host_helper(void (*helper_main)(int sock), int *master_end, struct cn_error *err)
{
	int sv[2], pidfd = -1;
	pid_t pid;

	if (cn_socketpair(sv, err) < 0)
		return -1;
	pid = spawn(0, &pidfd, err);
	if (pid == 0) {
		close(sv[0]);
		helper_main(sv[1]);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	close(pidfd);
	*master_end = sv[0];
	return pid;
}

/* ---- STAGE2 and the RPC server ---- */

static void rpc_server_main(int sock, pid_t parent)
{
	struct cn_rpc_server srv = {.sock = sock, .rootfd = -1};
	uint64_t keep = cn_rpc_caps_needed();
	struct cn_creds_target t = {
		.uid = getuid(),
		.gid = getgid(),
		.caps[CN_CAPSET_PERMITTED] = keep,
		.caps[CN_CAPSET_BOUNDING] = keep,
		.no_new_privs = true, /* it never execs; nothing it runs could gain anything */
	};
	struct cn_error err = {0};

	cn_launch_set_role(&launch, CN_ROLE_RPC_SERVER);
	keep_only_fds(sock, -1);
	if (cn_creds_apply(&t, &err) < 0 || cn_die_with_parent(parent, &err) < 0) {
		cn_prefix(&err, "RPC server: ");
		report(&err);
		_exit(1);
	}
	if (cn_rpc_serve(&srv, &err) < 0) {
		report(&err);
		_exit(1);
	}
	_exit(0);
}

static int stage2_prepare(int sync, int rpc_end, pid_t *rpc_pid, struct cn_error *err)
{
	pid_t self = getpid();
	int pidfd = -1;

	/* Its parent, the master, is outside its pid namespace: getppid() is 0 then. */
	if (cn_die_with_parent((launch.cfg.namespaces & CLONE_NEWPID) ? 0 : getppid(), err) < 0)
		return -1;
	/* Nothing is forked before the master has written the id maps and put this process
	 * in its cgroups: no child of the container's can start outside them. */
	if (cn_msg_send(sync, CN_MSG_NEEDS_HOST_SETUP, NULL, 0, -1, err) < 0 ||
	    cn_msg_expect(sync, CN_MSG_HOST_SETUP_DONE, NULL, 0, NULL, "the master", err) < 0)
		return -1;
	/* Fakeroot: the saved uid 0 inherited from the setuid master is host root;
	 * it goes now, before the RPC server exists. */
	if ((launch.cfg.namespaces & CLONE_NEWUSER) && launch.flow == CN_FLOW_FAKEROOT &&
	    (cn_creds_settle_ids(err) < 0 || cn_die_with_parent(0, err) < 0))
		return -1;
	/* A cgroup namespace is made now, rooted at the container's cgroups, which it is in
	 * only since the master's write (runc's nsexec waits the same way). */
	if ((launch.cfg.namespaces & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return cn_fail(err, errno, "unshare(CLONE_NEWCGROUP)");
	*rpc_pid = spawn(0, &pidfd, err);
	if (*rpc_pid < 0)
		return -1;
	if (*rpc_pid == 0)
		rpc_server_main(rpc_end, self);
	close(pidfd);
	return 0;
}

static void stage2_main(int sync, int rpc_end)
{
	struct cn_error err = {0};
	pid_t rpc_pid = -1;

	cn_launch_set_role(&launch, CN_ROLE_STAGE2);
	cn_starter_keep_preserved_fds(sync, rpc_end);
	launch.sync_fd = sync;
	/* A launcher started with file capabilities is not dumpable, and its
	 * /proc/PID files are root's: the master could not write this process's id
	 * maps. In the userns flow nothing here is privileged in the host, so the
	 * kernel's ptrace rules (the caller lacks these capabilities) still guard it. */
	if (launch.flow == CN_FLOW_USERNS && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
		cn_fail(&err, errno, "prctl(PR_SET_DUMPABLE)");
		goto fail;
	}
	if (stage2_prepare(sync, rpc_end, &rpc_pid, &err) < 0)
		goto fail;
	close(rpc_end);
	if (cn_msg_send(sync, CN_MSG_READY, NULL, 0, -1, &err) < 0)
		goto fail;
	if (cn_msg_expect(sync, CN_MSG_START, NULL, 0, NULL, "the master", &err) < 0)
		_exit(1); /* the master failed or died: it reports, and kills what is left */
	/* The master closed the RPC socket before START: the server has exited. */
	reap(rpc_pid);
	if (cn_engine_run(&launch, CN_STAGE_START_PROCESS, &err) < 0)
		goto fail;
	execve(launch.exec_path, launch.cfg.args.v, launch.cfg.env.v);
	cn_fail(&err, errno, "StartProcess: execve %s", launch.exec_path);
	err.exit_code = cn_exec_failure_status(err.errnum);
fail:
	cn_msg_send_error(sync, &err);
	_exit(failure_status(&err));
}

static int write_proc_file(pid_t pid, const char *name, const char *text, struct cn_error *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	return cn_write_file(path, text, err);
}

static int format_map(const struct cn_id_map *maps, size_t n, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, cap - used, "%u %u %u\n", maps[i].container_id, maps[i].host_id, maps[i].size);
		if (w < 0 || (size_t)w >= cap - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

static int write_id_maps(pid_t pid, struct cn_error *err)
{
	static char buf[340 * 36];

	if (format_map(launch.cfg.uid_maps, launch.cfg.n_uid_maps, buf, sizeof(buf)) < 0 ||
	    write_proc_file(pid, "uid_map", buf, err) < 0)
		return cn_prefix(err, "uid map: ");
	/* An unprivileged writer may map its gid only once setgroups is denied. */
	if (launch.flow == CN_FLOW_USERNS && write_proc_file(pid, "setgroups", "deny", err) < 0)
		return -1;
	if (format_map(launch.cfg.gid_maps, launch.cfg.n_gid_maps, buf, sizeof(buf)) < 0 ||
	    write_proc_file(pid, "gid_map", buf, err) < 0)
		return cn_prefix(err, "gid map: ");
	return 0;
}

int cn_starter_as_host_root(struct cn_launch *l, int (*op)(struct cn_launch *l, pid_t pid, struct cn_error *err),
			    pid_t pid, struct cn_error *err)
{
	struct cn_error lower_err = {0};
	int rc;

	if (l->flow != CN_FLOW_SETUID && l->flow != CN_FLOW_FAKEROOT)
		return op(l, pid, err);
	if (cn_creds_set_euid(0, err) < 0)
		return -1;
	rc = op(l, pid, err);
	if (cn_creds_set_euid(l->caller_uid, &lower_err) < 0) {
		*err = lower_err;
		return -1;
	}
	return rc;
}

static int write_maps_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	(void)l;
	return write_id_maps(pid, err);
}

static int enter_cgroups_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	return cn_cgroup_enter(l->cgroup, pid, err);
}

/* The master's part of STAGE2's setup, while STAGE2 waits. The fakeroot flow's maps
 * (ranges beyond its own id need CAP_SETUID and CAP_SETGID in the host user
 * namespace; the namespace itself was created with the caller's euid, so the
 * caller owns it) and a setuid run's cgroups are written with euid 0. */
static int host_setup(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	if ((l->cfg.namespaces & CLONE_NEWUSER) && cn_starter_as_host_root(l, write_maps_op, pid, err) < 0)
		return -1;
	return l->cgroup ? cn_starter_as_host_root(l, enter_cgroups_op, pid, err) : 0;
}

int cn_starter_spawn_container(struct cn_launch *l, struct cn_error *err)
{
	static struct cn_rpc_client client;
	int sync[2], rpc[2];
	pid_t pid;

	if (cn_socketpair(sync, err) < 0)
		return -1;
	if (cn_socketpair(rpc, err) < 0) {
		close(sync[0]);
		close(sync[1]);
		return -1;
	}
	/* The setuid flow's one escalation of the master: creating namespaces needs CAP_SYS_ADMIN. */
	if (l->flow == CN_FLOW_SETUID && cn_creds_set_euid(0, err) < 0)
		goto fail_close;
	/* Into its cgroup v2 directory at once; a cgroup namespace comes after the v1 ones too. */
	pid = spawn_into((uint64_t)(l->cfg.namespaces & ~CLONE_NEWCGROUP), l->cgroup ? cn_cgroup_clone_fd(l->cgroup) : -1,
			 &l->container.pidfd, err);
	if (pid == 0) {
		close(sync[0]);
		close(rpc[0]);
		stage2_main(sync[1], rpc[1]);
	}
	if (l->flow == CN_FLOW_SETUID) {
		struct cn_error lower_err = {0};
		if (cn_creds_set_euid(l->caller_uid, &lower_err) < 0) {
			/* Never go on with euid 0: kill what was made and fail. */
			if (pid > 0)
				syscall(SYS_pidfd_send_signal, l->container.pidfd, SIGKILL, NULL, 0);
			*err = lower_err;
			pid = -1;
		}
	}
	close(sync[1]);
	close(rpc[1]);
	if (pid > 0)
		cn_starter_release_preserved_fds();
	if (pid < 0) {
		close(sync[0]);
		close(rpc[0]);
		return cn_prefix(err, "create the container's namespaces: ");
	}
	l->container.pid = pid;
	l->container.sync_fd = sync[0];
	client.sock = rpc[0];
	l->rpc = &client;
	if (cn_msg_expect(sync[0], CN_MSG_NEEDS_HOST_SETUP, NULL, 0, NULL, "STAGE2", err) < 0 ||
	    host_setup(l, pid, err) < 0 || cn_msg_send(sync[0], CN_MSG_HOST_SETUP_DONE, NULL, 0, -1, err) < 0)
		return -1;
	return cn_msg_expect(sync[0], CN_MSG_READY, NULL, 0, NULL, "STAGE2", err);

fail_close:
	close(sync[0]);
	close(sync[1]);
	close(rpc[0]);
	close(rpc[1]);
	return -1;
}

/* MASTER: the RPC server goes first (its socket closes: it exits), then STAGE2 runs StartProcess. */
static int start_container_process(struct cn_error *err)
{
	if (launch.rpc) {
		close(launch.rpc->sock);
		launch.rpc = NULL;
	}
	return cn_process_start(&launch.container, err);
}

/* PostStartHost must be over before CleanupHost starts: CleanupHost undoes it. */
static void finish_host_helpers(int32_t status)
{
	struct cn_msg_cleanup msg = {.status = status, .container_pid = launch.container.started ? launch.container.pid : 0};
	struct cn_error ignored;

	if (post_start_sock >= 0)
		close(post_start_sock); /* EOF: nothing more for POST_START_HOST, which exits */
	reap(post_start_pid);
	if (cleanup_sock >= 0) {
		cn_msg_send(cleanup_sock, CN_MSG_CLEANUP, &msg, sizeof(msg), -1, &ignored);
		close(cleanup_sock);
	}
	reap(cleanup_pid);
	post_start_sock = cleanup_sock = -1;
	post_start_pid = cleanup_pid = 0;
}

/* Every fd from 0 to 2 is open: otherwise a file the launcher opens could become
 * someone's stdout (a setuid program's classic pitfall). */
static void ensure_stdio(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int null = open("/dev/null", O_RDWR);
			if (null < 0)
				_exit(125);
			if (null != fd) {
				dup2(null, fd);
				close(null);
			}
		}
}

/* CVE-2019-5736: a container that reaches a cnlaunch process through
 * /proc/PID/exe must not be able to rewrite the binary. runc re-executes from a
 * memfd copy; that would take the process off the inode the tracer's uprobes
 * are attached to. Instead the master runs the same inode through a read-only
 * bind mount in a mount namespace of its own: probes still fire, and a write
 * through any /proc/PID/exe of the launch fails with EROFS. Only the root flow
 * needs it: in the other flows the container runs as the caller, whom the
 * root-owned binary's mode already refuses. */
static int reexec_from_readonly_mount(char **argv, struct cn_error *err)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	char exe[PATH_MAX];
	struct statvfs sv;
	_cleanup_close_ int tree = -1;
	ssize_t n;

	if (statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return 0; /* read-only already: installed on a read-only /usr, or re-executed */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return cn_fail(err, errno, "protect the launcher binary: readlink /proc/self/exe");
	exe[n] = '\0';
	if (unshare(CLONE_NEWNS) < 0)
		return cn_fail(err, errno, "protect the launcher binary: unshare(CLONE_NEWNS)");
	/* slave: the host's mounts still reach the master; nothing goes back */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return cn_fail(err, errno, "protect the launcher binary: make / slave");
	/* By path: /proc/self/exe names a mount of the namespace the process left. */
	tree = open_tree(AT_FDCWD, exe, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 ||
	    move_mount(tree, "", AT_FDCWD, exe, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cn_fail(err, errno, "protect the launcher binary: bind %s read-only", exe);
	execv(exe, argv);
	return cn_fail(err, errno, "protect the launcher binary: execv %s", exe);
}

/* --preserve-fds N: all of 3 .. 3+N-1 must be open before the launcher opens
 * anything, so that each fd of its own lands above them and none is passed on. */
static int check_preserved_fds(unsigned int n, struct cn_error *err)
{
	for (unsigned int fd = 3; fd < 3 + n; fd++)
		if (fcntl((int)fd, F_GETFD) < 0)
			return cn_fail(err, errno, "--preserve-fds %u: fd %u is not open", n, fd);
	return 0;
}

static int load_caller(bool setuid_run, struct cn_error *err)
{
	int n;

	launch.caller_uid = getuid();
	launch.caller_gid = getgid();
	if (setuid_run) {
		/* AT_SECURE already made glibc drop the dangerous variables; nothing of
		 * the caller's environment is needed, so none of it is kept. */
		clearenv();
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	}
	n = getgroups(0, NULL);
	if (n < 0 || !(launch.caller_groups = calloc((size_t)n + 1, sizeof(gid_t))))
		return cn_fail(err, errno, "getgroups");
	launch.n_caller_groups = getgroups(n, launch.caller_groups);
	if (launch.n_caller_groups < 0)
		return cn_fail(err, errno, "getgroups");
	return 0;
}

/* The master failed before CLEANUP_HOST was forked: fork it now, so that a launch that
 * fails after STAGE1 always has its CleanupHost, run dropped, as the design says.
 * (Found by tests/integration/test_faults.py: InitConfig failing in the master.) */
static void run_cleanup_host_now(void)
{
	struct cn_error ignored = {0};

	if (!launch.opts.print_config && (cleanup_pid = fork_host_helper(cleanup_host_main, &cleanup_sock, &ignored)) > 0)
		finish_host_helpers(-1);
}

/* An exec's MASTER runs Config before STAGE1 exists: it reads the state of the container
 * to join (root's file in the setuid and root flows), which STAGE1, dropped to the
 * caller, could not open; STAGE1 inherits it and builds the command's configuration. */
static int run_exec_config(struct cn_error *err)
{
	cn_launch_set_role(&launch, CN_ROLE_MASTER);
	if (cn_engine_run(&launch, CN_STAGE_CONFIG, err) == 0)
		return 0;
	run_cleanup_host_now();
	return -1;
}

static int run_master(struct cn_error *err)
{
	struct cn_error stage_err = {0};
	sigset_t forwarded;
	int32_t status;
	int rc;

	cn_launch_set_role(&launch, CN_ROLE_MASTER);
	/* An exec's master ran its Config before STAGE1 (run_exec_config). */
	if ((!launch.opts.exec && cn_engine_run(&launch, CN_STAGE_CONFIG, err) < 0) ||
	    cn_engine_run_init_config(&launch, false, err) < 0) {
		run_cleanup_host_now();
		return -1;
	}
	if (launch.opts.print_config) {
		fputs(launch.prepared_config, stdout);
		fputc('\n', stdout);
		return 0;
	}
	post_start_pid = fork_host_helper(post_start_host_main, &post_start_sock, err);
	if (post_start_pid < 0)
		return -1;
	cleanup_pid = fork_host_helper(cleanup_host_main, &cleanup_sock, err);
	if (cleanup_pid < 0) {
		finish_host_helpers(-1);
		return -1;
	}

	/* From here a signal to cnlaunch is meant for the container: hold it until
	 * MonitorContainer forwards it (STAGE2 unblocks them before its execve). */
	cn_forwarded_signals(&forwarded);
	sigprocmask(SIG_BLOCK, &forwarded, NULL);
	rc = cn_engine_run(&launch, CN_STAGE_CREATE_CONTAINER, err);
	if (rc == 0 && (rc = start_container_process(err)) == 0) {
		int32_t pid = launch.container.pid;
		rc = cn_engine_run(&launch, CN_STAGE_POST_START_PROCESS, err);
		/* CLEANUP_HOST learns the container first: a master killed between the two sends then
		 * leaves a CleanupHost that knows the pid PostStartHost may write, never the reverse.
		 * (Found by tests/integration/test_faults.py: the master SIGKILLed in PostStartHost.) */
		if (rc == 0 && cn_msg_send(cleanup_sock, CN_MSG_POST_START, &pid, sizeof(pid), -1, err) < 0)
			rc = cn_prefix(err, "CLEANUP_HOST is gone: ");
		if (rc == 0 && cn_msg_send(post_start_sock, CN_MSG_POST_START, &pid, sizeof(pid), -1, err) < 0)
			rc = cn_prefix(err, "POST_START_HOST is gone: ");
		if (rc == 0)
			rc = cn_engine_run(&launch, CN_STAGE_MONITOR_CONTAINER, err);
	}
	/* CleanupContainer runs whatever failed before it, and keeps the first error. */
	if (cn_engine_run(&launch, CN_STAGE_CLEANUP_CONTAINER, rc < 0 ? &stage_err : err) < 0 && rc == 0)
		rc = -1;
	else if (rc < 0 && stage_err.msg[0])
		fprintf(stderr, "cnlaunch: %s\n", stage_err.msg);
	status = rc < 0 ? -1 : launch.container.wait_status;
	finish_host_helpers(status);
	return rc;
}

int cn_starter_main(int argc, char **argv)
{
	struct cn_error err = {0};
	bool setuid_run;
	int flow, rc;

	ensure_stdio();
	/* A setuid run drops its effective uid before it does anything else. */
	setuid_run = geteuid() == 0 && getuid() != 0;
	if (setuid_run && cn_creds_set_euid(getuid(), &err) < 0) {
		report(&err);
		return 125;
	}
	cn_launch_set_role(&launch, CN_ROLE_STARTER);
	if (load_caller(setuid_run, &err) < 0) {
		report(&err);
		return 125;
	}
	rc = cn_options_parse(&launch.opts, argc, argv, &err);
	if (rc != CN_OPTIONS_RUN) {
		if (rc < 0)
			report(&err);
		return rc < 0 ? 125 : 0;
	}
	if ((flow = choose_flow(launch.opts.flow, setuid_run, launch.caller_uid, &err)) < 0) {
		report(&err);
		return 125;
	}
	launch.flow = flow;
	if (check_preserved_fds(launch.opts.preserve_fds, &err) < 0) {
		report(&err);
		return 125;
	}
	if (flow == CN_FLOW_ROOT && reexec_from_readonly_mount(argv, &err) < 0) {
		report(&err);
		return 125;
	}
	if (!(launch.engine = launch.opts.exec ? cn_exec_engine() : cn_engine_find(launch.opts.engine))) {
		cn_fail(&err, 0, "--engine: no engine named \"%s\"", launch.opts.engine);
		report(&err);
		return 125;
	}
	if ((launch.opts.exec && run_exec_config(&err) < 0) || run_stage1(&err) < 0 || run_master(&err) < 0) {
		report(&err);
		return failure_status(&err);
	}
	return launch.opts.print_config ? 0 : cn_exit_status(launch.container.wait_status);
}
