/* SPDX-License-Identifier: Apache-2.0
 *
 * `cnlaunch exec`: a command run in a running container, through the engine's
 * stages, in the same processes as a launch:
 *
 *   MASTER           Config: the container's state (state.h), its process opened
 *                    as a pidfd and checked against the state (pid, start time,
 *                    namespaces); a setuid master raises its euid to read root's file
 *   STAGE1           Config: the command's configuration, the container's with
 *                    --user/--env/--cwd applied; InitConfig; PrepareConfig: the
 *                    flow's rules (a setuid caller gets its own uid only)
 *   MASTER           InitConfig: STAGE1's configuration, parsed and checked again;
 *                    --sub-cgroup planned beneath the container's cgroups
 *   MASTER           CreateContainer: makes the --sub-cgroup, forks STAGE2 (the
 *                    joiner), puts it in the container's cgroups (or the
 *                    --sub-cgroup's); STAGE2, in the host's pid namespace and
 *                    never visible to the container, joins the namespaces with one
 *                    setns() on the pidfd (the user namespace first), makes the
 *                    ordered, verified drop of creds.c (seccomp first when there
 *                    is no no_new_privs), and forks the joined process into the
 *                    container's pid namespace: it is born dropped and non-dumpable
 *   joined process   StartProcess: dumpable checked again, cwd, the command, --tty's
 *                    pty (the launch's code), the seccomp filter last; execve
 *   MASTER           PostStartProcess, MonitorContainer (signals forwarded, its
 *                    exit status: 128+N for signal N), CleanupContainer
 *   POST_START_HOST, CLEANUP_HOST   PostStartHost, CleanupHost: nothing to do on the host
 */
#ifndef CN_EXEC_H
#define CN_EXEC_H

#include "engine.h"

/* The engine an exec runs: the native engine's host-side stages, its own join. */
const struct cn_engine *cn_exec_engine(void);

#endif
