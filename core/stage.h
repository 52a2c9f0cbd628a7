/* SPDX-License-Identifier: Apache-2.0
 *
 * The launcher's contract with the tracer: the ten engine Operations stages,
 * the starter's process roles, and the USDT probes that mark them.
 *
 * bpf/ includes this header, so the part above the probe macros must stay
 * plain C that clang -target bpf accepts: enums and defines, no libc.
 *
 * Probes (provider "cnlaunch"), all zero-cost nops until a tracer attaches:
 *   cnlaunch:role(role, flow)                a process takes a role; flow is the launch's
 *                                            (CN_FLOW_AUTO while the starter has not chosen it)
 *   cnlaunch:stage_enter(stage, role)        an Operations method starts
 *   cnlaunch:stage_exit(stage, role, rc)     it returns (rc < 0: -errno of the failure)
 */
#ifndef CN_STAGE_H
#define CN_STAGE_H

enum cn_stage {
	CN_STAGE_NONE = 0, /* before the first stage; a task inherits its parent's */
	CN_STAGE_CONFIG = 1,
	CN_STAGE_INIT_CONFIG = 2,
	CN_STAGE_PREPARE_CONFIG = 3,
	CN_STAGE_CREATE_CONTAINER = 4,
	CN_STAGE_START_PROCESS = 5,
	CN_STAGE_POST_START_PROCESS = 6,
	CN_STAGE_MONITOR_CONTAINER = 7,
	CN_STAGE_CLEANUP_CONTAINER = 8,
	CN_STAGE_POST_START_HOST = 9,
	CN_STAGE_CLEANUP_HOST = 10,
	CN_STAGE__COUNT = 11,
};

enum cn_role {
	CN_ROLE_STARTER = 0, /* the process the user ran, until it becomes MASTER */
	CN_ROLE_STAGE1 = 1,
	CN_ROLE_STAGE2 = 2, /* becomes the container process at its final execve */
	CN_ROLE_MASTER = 3,
	CN_ROLE_RPC_SERVER = 4,
	CN_ROLE_POST_START_HOST = 5,
	CN_ROLE_CLEANUP_HOST = 6,
	CN_ROLE__COUNT = 7,
};

enum cn_flow {
	CN_FLOW_AUTO = 0,
	CN_FLOW_SETUID = 1,
	CN_FLOW_USERNS = 2,
	CN_FLOW_ROOT = 3,
	CN_FLOW_FAKEROOT = 4,
	CN_FLOW__COUNT = 5,
};

#define CN_USDT_PROVIDER "cnlaunch"

#if !defined(__bpf__) && !defined(__BPF__)
#include <stdbool.h>
#include <sys/sdt.h>

#define CN_PROBE_ROLE(role, flow) DTRACE_PROBE2(cnlaunch, role, (int)(role), (int)(flow))
#define CN_PROBE_STAGE_ENTER(stage, role) DTRACE_PROBE2(cnlaunch, stage_enter, (int)(stage), (int)(role))
#define CN_PROBE_STAGE_EXIT(stage, role, rc) \
	DTRACE_PROBE3(cnlaunch, stage_exit, (int)(stage), (int)(role), (int)(rc))

/* "PrepareConfig", ...; NULL for an id out of range. */
const char *cn_stage_name(enum cn_stage stage);
/* "stage1", "master", ... (the JSON trace's role names); NULL when out of range. */
const char *cn_role_name(enum cn_role role);
/* CN_STAGE_NONE when the name is not one of the ten. */
enum cn_stage cn_stage_from_name(const char *name);
#endif

#endif
