/* SPDX-License-Identifier: Apache-2.0
 *
 * The starter: the launch's processes, who forks whom, who drops what, when.
 *
 *   cnlaunch (STARTER, then MASTER; host namespaces)
 *    |- STAGE1            Config, InitConfig(privileged_stage1), PrepareConfig; exits
 *    |- POST_START_HOST   waits; PostStartHost once the container runs
 *    |- CLEANUP_HOST      waits; CleanupHost when the master says so or dies
 *    `- STAGE2            clone3(): new mount/pid/uts/ipc/net (+user) namespaces
 *        |- RPC_SERVER    the privileged setup the master asks for; exits with the socket
 *        `- (STAGE2)      StartProcess, then execve: the container process
 *
 * In the setuid flow the effective uid is dropped first thing; STAGE1,
 * POST_START_HOST and CLEANUP_HOST drop permanently as soon as they exist; the
 * master keeps its saved uid 0 and raises its effective uid only for clone3().
 */
#ifndef CN_STARTER_H
#define CN_STARTER_H

#include "engine.h"

/* cnlaunch's main: returns the exit status. */
int cn_starter_main(int argc, char **argv);

/* For CreateContainer: clone STAGE2 into its namespaces, write its id maps,
 * start the RPC server, and connect launch->rpc to it. */
int cn_starter_spawn_container(struct cn_launch *launch, struct cn_error *err);

#endif
