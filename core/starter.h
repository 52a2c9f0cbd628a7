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

/* For CreateContainer: clone STAGE2 into its namespaces, write its id maps, put it
 * in launch->cgroup (made already), start the RPC server, and connect launch->rpc to it. */
int cn_starter_spawn_container(struct cn_launch *launch, struct cn_error *err);

/* The setuid and fakeroot masters' escalations besides clone3(): op runs with
 * effective uid 0 (the id maps, the cgroups), and the caller's comes right back.
 * Other flows run op as they are. */
int cn_starter_as_host_root(struct cn_launch *launch, int (*op)(struct cn_launch *l, pid_t pid, struct cn_error *err),
			    pid_t pid, struct cn_error *err);

/* fork() as the starter forks its helpers: a pidfd of the child too. */
pid_t cn_starter_fork(int *pidfd, struct cn_error *err);
/* Close every fd above stderr but a and b (-1: none). */
void cn_starter_keep_only_fds(int a, int b);
/* --preserve-fds N, in the process that passes them on to the command: close every fd
 * above the caller's 3 .. 3+N-1 but a and b. */
void cn_starter_keep_preserved_fds(int a, int b);
/* The master, once that process holds them: its own copies of 3 .. 3+N-1 go, so that a
 * pipe among them ends when the command closes it. */
void cn_starter_release_preserved_fds(void);

#endif
