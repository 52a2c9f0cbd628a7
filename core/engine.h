/* SPDX-License-Identifier: Apache-2.0
 *
 * The engine Operations: ten methods the starter calls, each in the process
 * the design gives it (DESIGN.md, "Stages, processes and flows"), and a
 * registry of engines by name. Every call goes through cn_engine_run(), which
 * fires the USDT stage probes around it: the tracer sees every stage of every
 * engine, including the test-only ones.
 */
#ifndef CN_ENGINE_H
#define CN_ENGINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "cnlaunch.h"
#include "config.h"
#include "error.h"
#include "options.h"
#include "stage.h"

const char *cn_flow_name(enum cn_flow flow);
int cn_flow_from_name(const char *name); /* -1 when unknown */

struct cn_rpc_client;
struct cn_cgroup;

/* One launch, as each of its processes sees it (a fork copies it). */
struct cn_launch {
	const struct cn_engine *engine;
	enum cn_flow flow;
	enum cn_role role;
	uid_t caller_uid; /* the real ids of whoever ran cnlaunch */
	gid_t caller_gid;
	gid_t *caller_groups;
	int n_caller_groups;
	struct cn_options opts; /* the command line (STAGE1 turns it into cfg) */
	struct cn_config cfg;
	char *prepared_config; /* MASTER: the config.json STAGE1 prepared */
	char *exec_path;       /* STAGE2: what StartProcess resolved args[0] to */
	struct cn_sysconf *sysconf; /* the trusted system configuration (setuid flow) */

	struct cn_cgroup *cgroup;  /* the container's cgroups (cgroup.h), planned in InitConfig; NULL: none */
	struct cn_rpc_client *rpc; /* MASTER, during CreateContainer */
	int sync_fd;               /* STAGE2: its socket to the master */
	struct cn_process container; /* MASTER: STAGE2, then the container's process; the host helpers learn its pid */
	bool failed; /* a stage failed: CleanupHost learns it */
};

struct cn_engine {
	const char *name;
	/* every process that builds the configuration: STAGE1 from the command line, MASTER from STAGE1's */
	int (*config)(struct cn_launch *launch, struct cn_error *err);
	/* privileged_stage1: STAGE1 of a setuid run; read the trusted configuration, trust no caller input */
	int (*init_config)(struct cn_launch *launch, bool privileged_stage1, struct cn_error *err);
	int (*prepare_config)(struct cn_launch *launch, struct cn_error *err);    /* STAGE1 */
	int (*create_container)(struct cn_launch *launch, struct cn_error *err);  /* MASTER, through the RPC server */
	int (*start_process)(struct cn_launch *launch, struct cn_error *err);     /* STAGE2; execs on success */
	int (*post_start_process)(struct cn_launch *launch, struct cn_error *err); /* MASTER */
	int (*monitor_container)(struct cn_launch *launch, struct cn_error *err); /* MASTER */
	int (*cleanup_container)(struct cn_launch *launch, struct cn_error *err); /* MASTER */
	int (*post_start_host)(struct cn_launch *launch, struct cn_error *err);   /* POST_START_HOST */
	int (*cleanup_host)(struct cn_launch *launch, struct cn_error *err);      /* CLEANUP_HOST (or STAGE1) */
};

/* Engines register themselves from a constructor, so that adding one is adding a file. */
void cn_engine_register(const struct cn_engine *engine);
const struct cn_engine *cn_engine_find(const char *name);
/* Calls fn(engine, arg) for each registered engine, in registration order. */
void cn_engine_foreach(void (*fn)(const struct cn_engine *engine, void *arg), void *arg);

/* Run one stage of launch->engine in this process, between its USDT probes.
 * A failure's message gains the stage's name in front. */
int cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err);
/* InitConfig takes its flag. */
int cn_engine_run_init_config(struct cn_launch *launch, bool privileged_stage1, struct cn_error *err);

/* This process takes a role (fires the role probe). */
void cn_launch_set_role(struct cn_launch *launch, enum cn_role role);

#endif
