/* SPDX-License-Identifier: Apache-2.0 */
#include "engine.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CN_ENGINES_MAX 16

static const struct cn_engine *engines[CN_ENGINES_MAX];
static size_t n_engines;

static const char *const flow_names[] = {
	[CN_FLOW_AUTO] = "auto",     [CN_FLOW_SETUID] = "setuid",     [CN_FLOW_USERNS] = "userns",
	[CN_FLOW_ROOT] = "root",     [CN_FLOW_FAKEROOT] = "fakeroot",
};

const char *cn_flow_name(enum cn_flow flow)
{
	return (unsigned)flow < sizeof(flow_names) / sizeof(flow_names[0]) ? flow_names[flow] : "?";
}

int cn_flow_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(flow_names) / sizeof(flow_names[0]); i++)
		if (strcmp(name, flow_names[i]) == 0)
			return (int)i;
	return -1;
}

void cn_engine_register(const struct cn_engine *engine)
{
	/* Registration runs from constructors, before main: a full table is a build error in waiting. */
	if (n_engines < CN_ENGINES_MAX && !cn_engine_find(engine->name))
		engines[n_engines++] = engine;
}

const struct cn_engine *cn_engine_find(const char *name)
{
	for (size_t i = 0; i < n_engines; i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

void cn_engine_foreach(void (*fn)(const struct cn_engine *engine, void *arg), void *arg)
{
	for (size_t i = 0; i < n_engines; i++)
		fn(engines[i], arg);
}

void cn_launch_set_role(struct cn_launch *launch, enum cn_role role)
{
	launch->role = role;
	CN_PROBE_ROLE(role, launch->flow);
}

typedef int (*cn_stage_fn)(struct cn_launch *launch, struct cn_error *err);

static cn_stage_fn stage_method(const struct cn_engine *e, enum cn_stage stage)
{
	switch (stage) {
	case CN_STAGE_CONFIG: return e->config;
	case CN_STAGE_PREPARE_CONFIG: return e->prepare_config;
	case CN_STAGE_CREATE_CONTAINER: return e->create_container;
	case CN_STAGE_START_PROCESS: return e->start_process;
	case CN_STAGE_POST_START_PROCESS: return e->post_start_process;
	case CN_STAGE_MONITOR_CONTAINER: return e->monitor_container;
	case CN_STAGE_CLEANUP_CONTAINER: return e->cleanup_container;
	case CN_STAGE_POST_START_HOST: return e->post_start_host;
	case CN_STAGE_CLEANUP_HOST: return e->cleanup_host;
	default: return NULL; /* InitConfig has its own runner: it takes a flag */
	}
}

static int finish_stage(struct cn_launch *launch, enum cn_stage stage, int rc, struct cn_error *err)
{
	/* The probe carries -errno so that the trace shows why a stage failed. */
	CN_PROBE_STAGE_EXIT(stage, launch->role, rc < 0 ? -(err->errnum ? err->errnum : EINVAL) : 0);
	if (launch->opts.verbose)
		fprintf(stderr, "cnlaunch: [%s %d] %s %s\n", cn_role_name(launch->role), getpid(), cn_stage_name(stage),
			rc < 0 ? "failed" : "done");
	if (rc < 0) {
		launch->failed = true;
		return cn_prefix(err, "%s: ", cn_stage_name(stage));
	}
	return 0;
}

int cn_engine_run(struct cn_launch *launch, enum cn_stage stage, struct cn_error *err)
{
	cn_stage_fn fn = stage_method(launch->engine, stage);

	CN_PROBE_STAGE_ENTER(stage, launch->role);
	return finish_stage(launch, stage, fn ? fn(launch, err) : 0, err);
}

int cn_engine_run_init_config(struct cn_launch *launch, bool privileged_stage1, struct cn_error *err)
{
	int rc = 0;

	CN_PROBE_STAGE_ENTER(CN_STAGE_INIT_CONFIG, launch->role);
	if (launch->engine->init_config)
		rc = launch->engine->init_config(launch, privileged_stage1, err);
	return finish_stage(launch, CN_STAGE_INIT_CONFIG, rc, err);
}
