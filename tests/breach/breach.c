/* SPDX-License-Identifier: Apache-2.0
 *
 * cnlaunch-breach: the launcher with engines that each break one documented
 * guarantee on purpose, so that the suite can show `cntrace check` catching
 * every breach by the rule it breaks. Built for the tests, never installed.
 *
 * The engines run the native engine's methods and change one thing. Where the
 * breach lies in the starter's own privilege moves (a drop done wrongly), the
 * binary is linked with -Wl,--wrap: calls from starter.c to
 * cn_creds_drop_permanently(), cn_launch_set_role() and cn_engine_run() land here first, and
 * production code carries no test hook. The fault engines (below) make a launch
 * fail, or hold it, in one chosen stage, for the fault tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds.h"
#include "engine.h"
#include "engine_native.h"
#include "starter.h"
#include "sysconf.h"

/* Which breach this run is, from --engine, and which role this process holds. */
static const char *breach;
static enum cn_role current_role = CN_ROLE_STARTER;

static bool breaching(const char *name)
{
	return breach && strcmp(breach, name) == 0;
}

void __real_cn_launch_set_role(struct cn_launch *launch, enum cn_role role);
void __wrap_cn_launch_set_role(struct cn_launch *launch, enum cn_role role);
void __wrap_cn_launch_set_role(struct cn_launch *launch, enum cn_role role)
{
	current_role = role;
	__real_cn_launch_set_role(launch, role);
}

int __real_cn_creds_drop_permanently(uid_t uid, gid_t gid, struct cn_error *err);
int __wrap_cn_creds_drop_permanently(uid_t uid, gid_t gid, struct cn_error *err);
int __wrap_cn_creds_drop_permanently(uid_t uid, gid_t gid, struct cn_error *err)
{
	/* A "drop" that only moves the effective uid: the saved uid 0 stays, and
	 * with it the way back to root. */
	if (breaching("breach-prepareconfig-regain") && current_role == CN_ROLE_STAGE1)
		return setresuid((uid_t)-1, uid, (uid_t)-1) < 0 ? cn_fail(err, errno, "seteuid") : 0;
	if (breaching("breach-cleanuphost-saved-uid") && current_role == CN_ROLE_CLEANUP_HOST)
		return setresuid(uid, uid, 0) < 0 ? cn_fail(err, errno, "setresuid") : 0;
	return __real_cn_creds_drop_permanently(uid, gid, err);
}

/* cnlaunch exec takes no --engine: its breaches come from $CN_BREACH_EXEC, read before the
 * starter clears a setuid run's environment. "pause": the joined process stops itself
 * (SIGSTOP) as it enters StartProcess, still cnlaunch in the container's pid namespace, for
 * a test to attack it there; "dumpable": STAGE2 leaves itself, and so the joined process,
 * dumpable instead of making them non-dumpable. */
static const char *exec_breach;

static bool exec_breaching(const struct cn_launch *l, const char *what)
{
	return l->opts.exec && exec_breach && strstr(exec_breach, what);
}

int __real_cn_creds_set_undumpable(struct cn_error *err);
int __wrap_cn_creds_set_undumpable(struct cn_error *err);
int __wrap_cn_creds_set_undumpable(struct cn_error *err)
{
	if (exec_breach && strstr(exec_breach, "dumpable"))
		return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 ? cn_fail(err, errno, "breach: PR_SET_DUMPABLE") : 0;
	return __real_cn_creds_set_undumpable(err);
}

int __real_cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err);
int __wrap_cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err);
int __wrap_cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err)
{
	/* A cleanup helper that says it is done without cleaning anything. */
	if (breaching("breach-cleanuphost-skipped") && stage == CN_STAGE_CLEANUP_HOST)
		return 0;
	if (stage == CN_STAGE_START_PROCESS && exec_breaching(launch, "pause")) {
		fprintf(stderr, "cnlaunch: breach: paused in StartProcess (pid %d in the container)\n", (int)getpid());
		fflush(stderr);
		raise(SIGSTOP);
	}
	return __real_cn_engine_run(launch, stage, err);
}

int __real_cn_sysconf_load(const char *path, struct cn_sysconf *sc, struct cn_error *err);
int __wrap_cn_sysconf_load(const char *path, struct cn_sysconf *sc, struct cn_error *err);
int __wrap_cn_sysconf_load(const char *path, struct cn_sysconf *sc, struct cn_error *err)
{
	(void)path;
	return __real_cn_sysconf_load(CN_TEST_SYSCONF, sc, err);
}

/* PrepareConfig regains euid 0 through the saved uid the wrong drop left. */
static int regain_prepare_config(struct cn_launch *l, struct cn_error *err)
{
	if (cn_engine_native.prepare_config(l, err) < 0)
		return -1;
	if (setresuid((uid_t)-1, 0, (uid_t)-1) < 0)
		return cn_fail(err, errno, "breach: regain euid 0");
	return setresuid((uid_t)-1, l->caller_uid, (uid_t)-1) < 0 ? cn_fail(err, errno, "breach: seteuid") : 0;
}

/* StartProcess keeps CAP_SYS_ADMIN that nobody configured. */
static int keep_cap_start_process(struct cn_launch *l, struct cn_error *err)
{
	for (int set = 0; set < CN_CAPSET__COUNT; set++)
		l->cfg.caps[set] |= CN_CAP_BIT(CAP_SYS_ADMIN);
	return cn_engine_native.start_process(l, err);
}

/* CreateContainer uses a host capability (the binary carries file capabilities
 * the userns flow never needs): a child of the master unshares a mount namespace. */
static int host_cap_create_container(struct cn_launch *l, struct cn_error *err)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return cn_fail(err, errno, "breach: fork");
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) < 0 ? 1 : 0);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return cn_engine_native.create_container(l, err);
}


/* ---- fault engines: a fault injected in one chosen stage (issue 7, test_faults.py) ----
 *
 * --engine fault-ACTION-STAGE[-ROLE], e.g. fault-pause-CreateContainer or
 * fault-fail-Config-master. The fault fires in the process that runs STAGE (in
 * ROLE, when given: Config and InitConfig run in STAGE1 and in the master), right
 * after the stage's entry probe:
 *   fail   the stage fails (EIO) without doing its work: a launch that fails there;
 *   pause  the process announces "cnlaunch: fault: paused in STAGE (ROLE pid N,
 *          master M)" on stderr and waits, so that a test can SIGKILL the master
 *          (the cnlaunch the user ran) in that stage. A process other than the
 *          master waits until the master is gone (it is reparented) and then goes
 *          on with the stage, as it would have; STAGE1 and STAGE2 die with the
 *          master anyway. Nothing waits more than 60 s.
 */
enum fault_action { FAULT_FAIL, FAULT_PAUSE };

static struct {
	enum fault_action action;
	enum cn_stage stage;
	int role; /* -1: any */
	pid_t master;
} fault;

static int fault_here(struct cn_launch *l, enum cn_stage stage, struct cn_error *err)
{
	pid_t parent = getppid();

	/* not in the --print-config run cntrace makes before the launch: only in the launch */
	if (stage != fault.stage || (fault.role >= 0 && (int)l->role != fault.role) || l->opts.print_config)
		return 0;
	if (fault.action == FAULT_FAIL)
		return cn_fail(err, EIO, "fault: injected failure");
	fprintf(stderr, "cnlaunch: fault: paused in %s (%s pid %d, master %d)\n", cn_stage_name(stage),
		cn_role_name(l->role), (int)getpid(), (int)fault.master);
	fflush(stderr);
	for (int i = 0; i < 6000; i++) {
		if (l->role != CN_ROLE_MASTER && getppid() != parent)
			break;
		usleep(10000);
	}
	return 0;
}

#define FAULT_METHOD(method, stage)                                                       \
	static int fault_##method(struct cn_launch *l, struct cn_error *err)              \
	{                                                                                 \
		if (fault_here(l, stage, err) < 0)                                        \
			return -1;                                                        \
		return cn_engine_native.method(l, err);                                   \
	}
FAULT_METHOD(config, CN_STAGE_CONFIG)
FAULT_METHOD(prepare_config, CN_STAGE_PREPARE_CONFIG)
FAULT_METHOD(create_container, CN_STAGE_CREATE_CONTAINER)
FAULT_METHOD(start_process, CN_STAGE_START_PROCESS)
FAULT_METHOD(post_start_process, CN_STAGE_POST_START_PROCESS)
FAULT_METHOD(monitor_container, CN_STAGE_MONITOR_CONTAINER)
FAULT_METHOD(cleanup_container, CN_STAGE_CLEANUP_CONTAINER)
FAULT_METHOD(post_start_host, CN_STAGE_POST_START_HOST)
FAULT_METHOD(cleanup_host, CN_STAGE_CLEANUP_HOST)
#undef FAULT_METHOD

static int fault_init_config(struct cn_launch *l, bool privileged_stage1, struct cn_error *err)
{
	if (fault_here(l, CN_STAGE_INIT_CONFIG, err) < 0)
		return -1;
	return cn_engine_native.init_config(l, privileged_stage1, err);
}

static struct cn_engine fault_engine = {
	.config = fault_config,
	.init_config = fault_init_config,
	.prepare_config = fault_prepare_config,
	.create_container = fault_create_container,
	.start_process = fault_start_process,
	.post_start_process = fault_post_start_process,
	.monitor_container = fault_monitor_container,
	.cleanup_container = fault_cleanup_container,
	.post_start_host = fault_post_start_host,
	.cleanup_host = fault_cleanup_host,
};

/* "fault-pause-CreateContainer-master" -> the fault engine of that name; false when it is not one. */
static bool fault_engine_from_name(const char *name)
{
	char buf[128], *action, *stage, *role;

	if (strncmp(name, "fault-", 6) != 0 || strlen(name) >= sizeof(buf))
		return false;
	strcpy(buf, name + 6);
	action = buf;
	if (!(stage = strchr(action, '-')))
		return false;
	*stage++ = '\0';
	if ((role = strchr(stage, '-')))
		*role++ = '\0';
	if (strcmp(action, "fail") == 0)
		fault.action = FAULT_FAIL;
	else if (strcmp(action, "pause") == 0)
		fault.action = FAULT_PAUSE;
	else
		return false;
	if ((fault.stage = cn_stage_from_name(stage)) == CN_STAGE_NONE)
		return false;
	fault.role = -1;
	for (int r = 0; role && r < CN_ROLE__COUNT; r++)
		if (strcmp(role, cn_role_name((enum cn_role)r)) == 0)
			fault.role = r;
	if (role && fault.role < 0)
		return false;
	fault.master = getpid();
	fault_engine.name = name;
	return true;
}

static struct cn_engine breach_engines[] = {
	{.name = "breach-prepareconfig-regain", .prepare_config = regain_prepare_config},
	{.name = "breach-startprocess-keep-cap", .start_process = keep_cap_start_process},
	{.name = "breach-cleanuphost-saved-uid"},
	{.name = "breach-cleanuphost-skipped"},
	{.name = "breach-userns-host-cap", .create_container = host_cap_create_container},
};

/* Every method a breach engine does not replace is the native one. */
static void inherit_native(struct cn_engine *e)
{
	const struct cn_engine *n = &cn_engine_native;
#define INHERIT(m) if (!e->m) e->m = n->m
	INHERIT(config);
	INHERIT(init_config);
	INHERIT(prepare_config);
	INHERIT(create_container);
	INHERIT(start_process);
	INHERIT(post_start_process);
	INHERIT(monitor_container);
	INHERIT(cleanup_container);
	INHERIT(post_start_host);
	INHERIT(cleanup_host);
#undef INHERIT
}

int main(int argc, char **argv)
{
	exec_breach = getenv("CN_BREACH_EXEC");
	for (size_t i = 0; i < sizeof(breach_engines) / sizeof(breach_engines[0]); i++) {
		inherit_native(&breach_engines[i]);
		cn_engine_register(&breach_engines[i]);
	}
	for (int i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--engine") == 0)
			breach = argv[i + 1];
	if (breach && fault_engine_from_name(breach))
		cn_engine_register(&fault_engine);
	return cn_starter_main(argc, argv);
}
