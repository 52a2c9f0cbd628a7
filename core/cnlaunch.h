/* SPDX-License-Identifier: Apache-2.0
 *
 * cnlaunch's public C API for a launched process: a container's first process,
 * or a command an exec put into a running container. The starter creates it
 * (namespaces, cgroups, id maps) and holds it before StartProcess; these calls
 * start it, name it, signal it and wait for it. cnlaunch's master is written on
 * them, as libcontainer's Process offers Start/Pid/Signal/Wait.
 */
#ifndef CNLAUNCH_H
#define CNLAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* A process killed by signal N exits with 128+N, as a shell reports it. */
#define CN_EXIT_SIGNAL_OFFSET 128

struct cn_process {
	pid_t pid;       /* host pid; 0 before the process exists */
	int pidfd;       /* -1 once reaped */
	int sync_fd;     /* the held process's socket: START releases it; -1 once started */
	int console_fd;  /* the pty master the process made for its terminal; -1 without one */
	bool console_follows_caller; /* relayed, the pty's size follows the caller's terminal (none was configured) */
	bool started;    /* its execve succeeded */
	int wait_status; /* valid once reaped */
};

#define CN_PROCESS_INIT {.pidfd = -1, .sync_fd = -1, .console_fd = -1}

/* Release the held process into StartProcess. Returns 0 once its execve succeeded,
 * -1 with the error it sent otherwise (err->exit_code 126/127 for an exec failure). */
int cn_process_start(struct cn_process *p, struct cn_error *err);
pid_t cn_process_pid(const struct cn_process *p);
/* Signal the process through its pidfd: never a recycled pid. */
int cn_process_signal(const struct cn_process *p, int sig, struct cn_error *err);
/* Wait until the process exits and return its exit status (the code, or
 * CN_EXIT_SIGNAL_OFFSET + N). The signals in `forward` go to the process: the
 * caller blocks them before the process exists, so none is lost. With
 * relay_console, stdin and stdout are copied to and from its terminal meanwhile. */
int cn_process_wait(struct cn_process *p, const sigset_t *forward, bool relay_console, struct cn_error *err);
/* SIGKILL and reap a process that was not waited for; no-op once reaped. */
void cn_process_kill(struct cn_process *p);
/* Close what the handle holds. */
void cn_process_release(struct cn_process *p);

#endif
