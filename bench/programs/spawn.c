/* SPDX-License-Identifier: Apache-2.0
 *
 * The fork/exec storm the benchmarks run inside the container (static):
 * N short processes, one after the other, each a fork + execve of PROGRAM
 * (default /bin/true) that the parent waits for. Times itself.
 *
 *   spawn N [PROGRAM [ARG...]]
 *
 * Prints one line: "spawn processes=N ns=T"; exits 1 when a child failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char *const default_argv[] = { "/bin/true", NULL };
	char *const *child_argv = argc > 2 ? argv + 2 : default_argv;
	long n = argc > 1 ? atol(argv[1]) : 1000;
	long long t0 = now_ns();

	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("spawn: fork");
			return 1;
		}
		if (pid == 0) {
			execv(child_argv[0], child_argv);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "spawn: child %ld failed (status %#x)\n", i, status);
			return 1;
		}
	}
	printf("spawn processes=%ld ns=%lld\n", n, now_ns() - t0);
	return 0;
}
