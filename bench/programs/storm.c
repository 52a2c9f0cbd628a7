/* SPDX-License-Identifier: Apache-2.0
 *
 * The syscall storm the benchmarks run inside the container (static, so it
 * runs from any rootfs). It times itself, so a launcher's or tracer's fixed
 * cost never dilutes the per-syscall figure.
 *
 *   storm rw N            N x (read 1 byte of /dev/zero, write it to /dev/null): 2N
 *                         syscalls, what `dd if=/dev/zero of=/dev/null bs=1 count=N` makes
 *   storm getppid N       N x getppid
 *   storm paced RATE N    N x getppid at RATE syscalls per second (busy-waits between
 *                         batches of 64; RATE 0 = as fast as it can)
 *
 * Prints one line: "storm mode=M syscalls=S ns=T" (T = the loop's monotonic time).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall */
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "rw";
	long long n, rate = 0, syscalls, t0, t1;
	char c;

	if (argc < 3 || (strcmp(mode, "paced") == 0 && argc < 4)) {
		fprintf(stderr, "usage: storm rw|getppid N | storm paced RATE N\n");
		return 2;
	}
	if (strcmp(mode, "paced") == 0) {
		rate = atoll(argv[2]);
		n = atoll(argv[3]);
	} else {
		n = atoll(argv[2]);
	}
	if (strcmp(mode, "rw") == 0) {
		int in = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		int out = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (in < 0 || out < 0) {
			perror("storm: open /dev/zero, /dev/null");
			return 1;
		}
		t0 = now_ns();
		for (long long i = 0; i < n; i++) {
			if (syscall(SYS_read, in, &c, 1) != 1 || syscall(SYS_write, out, &c, 1) != 1) {
				perror("storm: read/write");
				return 1;
			}
		}
		t1 = now_ns();
		syscalls = 2 * n;
	} else if (strcmp(mode, "getppid") == 0 || strcmp(mode, "paced") == 0) {
		t0 = now_ns();
		for (long long i = 0; i < n; i++) {
			if (rate > 0 && (i & 63) == 0) {
				long long due = t0 + i * 1000000000LL / rate;

				while (now_ns() < due)
					;
			}
			syscall(SYS_getppid);
		}
		t1 = now_ns();
		syscalls = n;
	} else {
		fprintf(stderr, "storm: unknown mode %s\n", mode);
		return 2;
	}
	printf("storm mode=%s syscalls=%lld ns=%lld\n", mode, syscalls, t1 - t0);
	return 0;
}
