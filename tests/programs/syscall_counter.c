/* SPDX-License-Identifier: Apache-2.0
 *
 * A static program that makes a known number of a few syscalls, for the
 * tracer's exactness tests (built by the pytest suite with gcc -static and
 * placed in a rootfs copy). None of these syscalls is made by libc's start-up.
 *
 * usage: syscall_counter [GETPPID_COUNT]
 *   GETPPID_COUNT x getppid, then 77 x umask, 33 x close(-1) (all EBADF),
 *   21 x sched_yield; then 2 children (forked one after the other) make 5 x getpid each
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;

	/* raw syscalls: libc must neither cache nor skip any of them */
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	for (int i = 0; i < 77; i++)
		syscall(SYS_umask, 022);
	for (int i = 0; i < 33; i++)
		syscall(SYS_close, -1);
	for (int i = 0; i < 21; i++)
		syscall(SYS_sched_yield);
	for (int child = 0; child < 2; child++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			for (int i = 0; i < 5; i++)
				syscall(SYS_getpid);
			_exit(0);
		}
		if (waitpid(pid, NULL, 0) != pid)
			return 1;
	}
	return 0;
}
