/* SPDX-License-Identifier: Apache-2.0
 *
 * A static program for the tracer's counting tests: threads that make a known
 * number of getppid calls, and a process that is still running when the trace
 * ends (its counts have not left the kernel side yet: the tracer reads them).
 *
 * usage: syscall_threads THREADS N [hold]
 *   THREADS threads (besides the main one) make N x getppid each and exit; the
 *   main thread then makes N x getpid; with "hold" it then writes "ready\n" to
 *   stdout and waits for a signal (pause), so the trace ends while it runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long n;

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	pthread_t tid[64];

	n = argc > 2 ? atol(argv[2]) : 1000;
	if (threads < 0 || threads > 64)
		return 2;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
	if (argc > 3 && strcmp(argv[3], "hold") == 0) {
		static const char ready[] = "ready\n";

		if (write(1, ready, sizeof(ready) - 1) < 0)
			return 1;
		pause();
	}
	return 0;
}
