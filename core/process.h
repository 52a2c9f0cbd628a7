/* SPDX-License-Identifier: Apache-2.0
 *
 * The container process's last steps before execve, and process lifecycle
 * helpers shared by the starter's roles.
 */
#ifndef CN_PROCESS_H
#define CN_PROCESS_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

/* Die with SIGKILL when the parent does; fails when it is gone already
 * (expected_ppid: 0 for a pid namespace's first process, whose parent is outside). */
int cn_die_with_parent(pid_t expected_ppid, struct cn_error *err);
int cn_apply_rlimits(const struct cn_config *cfg, struct cn_error *err);
/* The executable for args[0], searched in the container environment's PATH.
 * Fails with ENOENT (exit 127) or EACCES (exit 126) in err->errnum. */
int cn_resolve_command(const struct cn_config *cfg, char **path, struct cn_error *err);
/* Every fd from `first` up closes at execve: nothing of the launcher's reaches the
 * container; 3 .. first-1 are the caller's --preserve-fds and stay open. */
int cn_close_fds_on_exec(unsigned int first, struct cn_error *err);
/* The signals cnlaunch forwards to the container. The master blocks them
 * before the container exists, so that none is lost before MonitorContainer reads them. */
void cn_forwarded_signals(sigset_t *set);
/* Default dispositions and an empty mask, as a fresh process has. */
void cn_reset_signals(void);
/* Exit status of a launch from a wait status: the code, or 128+N for signal N. */
int cn_exit_status(int wait_status);
/* The status cnlaunch exits with for a failure to exec: 127 not found, 126 not executable. */
int cn_exec_failure_status(int errnum);

#endif
