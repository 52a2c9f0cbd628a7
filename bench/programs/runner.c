/* SPDX-License-Identifier: Apache-2.0
 *
 * cnbench-run: run one command and report its wall time, exit status and peak
 * RSS on fd 3 ("wall_ns status maxrss_kb"). The bench scripts run every
 * command through it: a child spawned straight from the (large) Python harness
 * would inherit the harness's RSS high-water mark at its exec, so wait4 there
 * could not tell cntrace's own peak.
 *
 *   cnbench-run CMD [ARG...]     (fd 3 must be open for writing)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	long long t0;
	int status = 0, rc;
	pid_t pid;

	if (argc < 2 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "usage: cnbench-run CMD [ARG...] 3>RESULT\n");
		return 125;
	}
	t0 = now_ns();
	rc = posix_spawn(&pid, argv[1], NULL, NULL, argv + 1, environ);
	if (rc) {
		dprintf(3, "0 127 0\n");
		return 127;
	}
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	dprintf(3, "%lld %d %ld\n", now_ns() - t0, rc, ru.ru_maxrss);
	return rc;
}
