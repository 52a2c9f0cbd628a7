/* SPDX-License-Identifier: Apache-2.0 */
#include "stage.h"

#include <string.h>

static const char *const stage_names[CN_STAGE__COUNT] = {
	[CN_STAGE_CONFIG] = "Config",
	[CN_STAGE_INIT_CONFIG] = "InitConfig",
	[CN_STAGE_PREPARE_CONFIG] = "PrepareConfig",
	[CN_STAGE_CREATE_CONTAINER] = "CreateContainer",
	[CN_STAGE_START_PROCESS] = "StartProcess",
	[CN_STAGE_POST_START_PROCESS] = "PostStartProcess",
	[CN_STAGE_MONITOR_CONTAINER] = "MonitorContainer",
	[CN_STAGE_CLEANUP_CONTAINER] = "CleanupContainer",
	[CN_STAGE_POST_START_HOST] = "PostStartHost",
	[CN_STAGE_CLEANUP_HOST] = "CleanupHost",
};

static const char *const role_names[CN_ROLE__COUNT] = {
	[CN_ROLE_STARTER] = "starter",
	[CN_ROLE_STAGE1] = "stage1",
	[CN_ROLE_STAGE2] = "stage2",
	[CN_ROLE_MASTER] = "master",
	[CN_ROLE_RPC_SERVER] = "rpc_server",
	[CN_ROLE_POST_START_HOST] = "post_start_host",
	[CN_ROLE_CLEANUP_HOST] = "cleanup_host",
};

const char *cn_stage_name(enum cn_stage stage)
{
	if ((int)stage <= CN_STAGE_NONE || stage >= CN_STAGE__COUNT)
		return NULL;
	return stage_names[stage];
}

const char *cn_role_name(enum cn_role role)
{
	if ((int)role < 0 || role >= CN_ROLE__COUNT)
		return NULL;
	return role_names[role];
}

enum cn_stage cn_stage_from_name(const char *name)
{
	for (int s = CN_STAGE_CONFIG; s < CN_STAGE__COUNT; s++)
		if (strcmp(stage_names[s], name) == 0)
			return (enum cn_stage)s;
	return CN_STAGE_NONE;
}
