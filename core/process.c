/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

int cn_die_with_parent(pid_t expected_ppid, struct cn_error *err)
{
	/* The kernel clears the parent-death signal on every credential change:
	 * callers arm it again after each one. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return cn_fail(err, errno, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != expected_ppid)
		return cn_fail(err, ESRCH, "the parent process is gone");
	return 0;
}

int cn_apply_rlimits(const struct cn_config *cfg, struct cn_error *err)
{
	for (size_t i = 0; i < cfg->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = cfg->rlimits[i].soft, .rlim_max = cfg->rlimits[i].hard};
		if (setrlimit(cfg->rlimits[i].resource, &rl) < 0)
			return cn_fail(err, errno, "setrlimit %s %llu:%llu", cn_rlimit_name(cfg->rlimits[i].resource),
				       (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	}
	return 0;
}

static const char *env_path(const struct cn_config *cfg)
{
	for (size_t i = 0; i < cfg->env.n; i++)
		if (strncmp(cfg->env.v[i], "PATH=", 5) == 0)
			return cfg->env.v[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static int executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	return access(path, X_OK) < 0 ? -errno : 0;
}

int cn_resolve_command(const struct cn_config *cfg, char **path, struct cn_error *err)
{
	const char *cmd = cfg->args.v[0];
	_cleanup_free_ char *dirs = NULL;
	int first_error = -ENOENT;
	char *save = NULL;

	if (strchr(cmd, '/')) {
		int rc = executable(cmd);
		if (rc < 0)
			return cn_fail(err, -rc, "exec %s", cmd);
		return (*path = strdup(cmd)) ? 0 : cn_fail(err, ENOMEM, "exec %s", cmd);
	}
	if (!(dirs = strdup(env_path(cfg))))
		return cn_fail(err, ENOMEM, "exec %s", cmd);
	for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char candidate[PATH_MAX];
		int rc;

		if (snprintf(candidate, sizeof(candidate), "%s/%s", dir, cmd) >= (int)sizeof(candidate))
			continue;
		rc = executable(candidate);
		if (rc == 0)
			return (*path = strdup(candidate)) ? 0 : cn_fail(err, ENOMEM, "exec %s", cmd);
		if (rc != -ENOENT && rc != -ENOTDIR)
			first_error = rc; /* found, but not executable: 126 as a shell says */
	}
	cn_fail(err, 0, "exec %s: %s", cmd,
		first_error == -ENOENT ? "command not found in PATH" : "found in PATH but not executable");
	err->errnum = -first_error;
	return -1;
}

int cn_close_fds_on_exec(unsigned int first, struct cn_error *err)
{
	/* The preserved ones pass even when whoever gave them had marked them close-on-exec. */
	for (unsigned int fd = 3; fd < first; fd++)
		if (fcntl((int)fd, F_SETFD, 0) < 0)
			return cn_fail(err, errno, "--preserve-fds: fd %u", fd);
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return cn_fail(err, errno, "close_range(%u, ~0, CLOSE_RANGE_CLOEXEC)", first);
	return 0;
}

void cn_forwarded_signals(sigset_t *set)
{
	static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};

	sigemptyset(set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
}

void cn_reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int cn_exit_status(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return 125;
}

int cn_exec_failure_status(int errnum)
{
	return errnum == ENOENT || errnum == ENOTDIR ? 127 : 126;
}
