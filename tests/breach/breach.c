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
 * production code carries no test hook.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds.h"
#include "engine.h"
#include "engine_native.h"
#include "starter.h"

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

int __real_cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err);
int __wrap_cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err);
int __wrap_cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err)
{
	/* A cleanup helper that says it is done without cleaning anything. */
	if (breaching("breach-cleanuphost-skipped") && stage == CN_STAGE_CLEANUP_HOST)
		return 0;
	return __real_cn_engine_run(launch, stage, err);
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
	for (size_t i = 0; i < sizeof(breach_engines) / sizeof(breach_engines[0]); i++) {
		inherit_native(&breach_engines[i]);
		cn_engine_register(&breach_engines[i]);
	}
	for (int i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--engine") == 0)
			breach = argv[i + 1];
	return cn_starter_main(argc, argv);
}
