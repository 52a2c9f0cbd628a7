/* SPDX-License-Identifier: Apache-2.0
 *
 * cntrace-floor (bench only, built with -Dbench=true, never installed): runs a
 * command with cntrace's attach points holding empty programs, the floor that
 * the tracing overhead is measured against.
 *
 *   cntrace-floor [--full] [--usdt BINARY] [-v] -- CMD [ARG...]
 *
 * --full also attaches sys_enter (what `cntrace run --syscalls full` adds);
 * --usdt attaches the three cnlaunch stage probes of BINARY; -v prints the
 * load+attach time on stderr. Exit status: CMD's (128+N for a signal), 125
 * when the programs cannot be attached.
 */
#define _GNU_SOURCE
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor.skel.h"

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "full", no_argument, NULL, 'f' },
		{ "usdt", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usdt = NULL;
	bool full = false, verbose = false;
	struct bpf_link *links[16];
	int nlinks = 0, opt, status = 0;
	long long t0 = now_ns();
	struct floor_bpf *skel;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "+fu:v", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': full = true; break;
		case 'u': usdt = optarg; break;
		case 'v': verbose = true; break;
		default: return 125;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: cntrace-floor [--full] [--usdt BINARY] [-v] -- CMD [ARG...]\n");
		return 125;
	}
	libbpf_set_print(quiet_libbpf);
	skel = floor_bpf__open();
	if (!skel)
		return perror("cntrace-floor: open"), 125;
	bpf_program__set_autoload(skel->progs.floor_sys_enter, full);
	if (!usdt) {
		bpf_program__set_autoload(skel->progs.floor_usdt_role, false);
		bpf_program__set_autoload(skel->progs.floor_usdt_stage_enter, false);
		bpf_program__set_autoload(skel->progs.floor_usdt_stage_exit, false);
	}
	if (floor_bpf__load(skel))
		return fprintf(stderr, "cntrace-floor: load failed\n"), 125;

	struct bpf_program *tps[] = {
		skel->progs.floor_task_newtask, skel->progs.floor_fork, skel->progs.floor_exec,
		skel->progs.floor_exit, skel->progs.floor_cap_capable, skel->progs.floor_sys_exit,
		full ? skel->progs.floor_sys_enter : NULL,
	};
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		if (!tps[i])
			continue;
		links[nlinks] = bpf_program__attach(tps[i]);
		if (!links[nlinks])
			return fprintf(stderr, "cntrace-floor: attach %s: %s\n", bpf_program__name(tps[i]),
				       strerror(errno)), 125;
		nlinks++;
	}
	if (usdt) {
		struct bpf_program *p[3] = { skel->progs.floor_usdt_role, skel->progs.floor_usdt_stage_enter,
					     skel->progs.floor_usdt_stage_exit };
		const char *names[3] = { "role", "stage_enter", "stage_exit" };

		for (int i = 0; i < 3; i++) {
			links[nlinks] = bpf_program__attach_usdt(p[i], -1, usdt, "cnlaunch", names[i], NULL);
			if (!links[nlinks])
				return fprintf(stderr, "cntrace-floor: attach usdt %s: %s\n", names[i],
					       strerror(errno)), 125;
			nlinks++;
		}
	}
	if (verbose)
		fprintf(stderr, "cntrace-floor: load+attach %lld us\n", (now_ns() - t0) / 1000);

	pid = fork();
	if (pid < 0)
		return perror("cntrace-floor: fork"), 125;
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	floor_bpf__destroy(skel);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
