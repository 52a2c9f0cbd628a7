/* SPDX-License-Identifier: Apache-2.0
 *
 * The launched-process API of cnlaunch.h, over the pidfd and the sync socket
 * the starter left in the handle.
 */
#define _GNU_SOURCE
#include "cnlaunch.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "process.h"
#include "sync.h"
#include "terminal.h"

int cn_process_start(struct cn_process *p, struct cn_error *err)
{
	for (;;) {
		int fd = -1, type;

		if (p->sync_fd < 0)
			return cn_fail(err, EINVAL, "process %d: not held, or started already", p->pid);
		if (!p->started && cn_msg_send(p->sync_fd, CN_MSG_START, NULL, 0, -1, err) < 0)
			return -1;
		p->started = true; /* from here only its execve is awaited */
		type = cn_msg_recv(p->sync_fd, NULL, 0, NULL, &fd, err);
		if (type == CN_MSG_CONSOLE && fd >= 0 && p->console_fd < 0) {
			p->console_fd = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		/* The socket is close-on-exec in the process: EOF means the command runs. */
		close(p->sync_fd);
		p->sync_fd = -1;
		if (type == 0)
			return 0;
		p->started = false;
		return type == CN_MSG_ERROR || type < 0 ? -1 : cn_fail(err, EPROTO, "process %d sent message %d", p->pid, type);
	}
}

pid_t cn_process_pid(const struct cn_process *p)
{
	return p->pid;
}

int cn_process_signal(const struct cn_process *p, int sig, struct cn_error *err)
{
	if (p->pidfd < 0)
		return cn_fail(err, ESRCH, "signal %d to process %d: it was reaped", sig, p->pid);
	if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0)
		return cn_fail(err, errno, "pidfd_send_signal %d to process %d", sig, p->pid);
	return 0;
}

static int reap(struct cn_process *p, struct cn_error *err)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &info, WEXITED) < 0)
		return errno == EINTR ? 0 : cn_fail(err, errno, "waitid process %d", p->pid);
	/* Killed or dumped: the signal number is the wait status. */
	p->wait_status = info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0) : info.si_status;
	close(p->pidfd);
	p->pidfd = -1;
	return 0;
}

int cn_process_wait(struct cn_process *p, const sigset_t *forward, bool relay_console, struct cn_error *err)
{
	struct cn_console_relay relay;
	bool relaying = relay_console && p->console_fd >= 0;
	_cleanup_close_ int sfd = -1;
	sigset_t old;
	int rc = 0;

	if (sigprocmask(SIG_BLOCK, forward, &old) < 0 || (sfd = signalfd(-1, forward, SFD_CLOEXEC)) < 0)
		return cn_fail(err, errno, "signalfd");
	if (relaying)
		cn_console_relay_begin(&relay, p->console_fd, p->console_follows_caller);
	while (rc == 0 && p->pidfd >= 0) {
		struct pollfd fds[4] = {
			{.fd = p->pidfd, .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
			{.fd = relaying ? p->console_fd : -1, .events = POLLIN},
			{.fd = relaying && relay.input_open ? 0 : -1, .events = POLLIN},
		};
		if (poll(fds, 4, -1) < 0) {
			if (errno != EINTR)
				rc = cn_fail(err, errno, "poll");
			continue;
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				/* Relayed, the size travels by ioctl: the kernel signals the container itself. */
				if (relaying && si.ssi_signo == SIGWINCH)
					cn_console_relay_resize(&relay);
				else
					syscall(SYS_pidfd_send_signal, p->pidfd, (int)si.ssi_signo, NULL, 0);
			}
		}
		/* The pty lost its last peer, or stdout is gone: only the exit is left to wait for. */
		if ((fds[2].revents & (POLLIN | POLLHUP)) && !cn_console_relay_output(&relay))
			relaying = false;
		if (fds[3].revents & (POLLIN | POLLHUP | POLLERR))
			cn_console_relay_input(&relay);
		if (fds[0].revents & (POLLIN | POLLHUP))
			rc = reap(p, err);
	}
	if (relay_console && p->console_fd >= 0)
		cn_console_relay_end(&relay);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc < 0 ? -1 : cn_exit_status(p->wait_status);
}

void cn_process_kill(struct cn_process *p)
{
	struct cn_error ignored;

	if (p->pidfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	while (p->pidfd >= 0 && reap(p, &ignored) == 0)
		;
	if (p->pidfd >= 0) {
		close(p->pidfd);
		p->pidfd = -1;
	}
}

void cn_process_release(struct cn_process *p)
{
	int *fds[] = {&p->pidfd, &p->sync_fd, &p->console_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}
