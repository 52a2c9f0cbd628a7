/* SPDX-License-Identifier: Apache-2.0
 *
 * cnlaunch's command line, parsed for syntax only: nothing here opens a file,
 * so the starter can read it before it forks STAGE1. Config turns it into a
 * struct cn_config.
 */
#ifndef CN_OPTIONS_H
#define CN_OPTIONS_H

#include <stdbool.h>

#include "config.h"
#include "error.h"

struct cn_options {
	int flow; /* enum cn_flow */
	const char *engine;
	const char *bundle, *rootfs;
	bool user_set;
	uid_t uid;
	gid_t gid;
	bool gid_set;
	struct cn_strv cap_add, cap_drop, env, rlimits;
	const char *seccomp_file, *hostname, *cwd, *pid_file;
	bool no_new_privs, read_only, print_config, verbose;
	bool tty;
	const char *console_size, *console_socket, *pidfd_socket; /* console_size: ROWSxCOLS */
	unsigned int preserve_fds; /* fds 3 .. 3+N-1 pass to the container */
	const char *umask, *scheduler, *nice, *ioprio; /* checked by Config, which names the option */
	struct cn_strv group_add;
	const char *memory, *pids_limit, *cpus, *cgroup_path; /* checked by Config, which names the option */
	int cgroup_manager; /* enum cn_cgroup_manager_mode */
	const char *id; /* --id: a launch records its state under it; an exec joins the container of that id */
	bool exec;      /* `cnlaunch exec`: run the command in a running container (state.h, exec.c) */
	pid_t exec_pid; /* exec --pid: that container by its host pid */
	const char *sub_cgroup; /* exec --sub-cgroup: the command's cgroup, beneath the container's */
	char **command; /* NULL-terminated; NULL when none was given */
};

enum cn_options_result {
	CN_OPTIONS_RUN = 0,
	CN_OPTIONS_EXIT = 1, /* --help or --version was printed */
};

/* Returns CN_OPTIONS_RUN, CN_OPTIONS_EXIT, or -1 with err naming the option. */
int cn_options_parse(struct cn_options *o, int argc, char **argv, struct cn_error *err);
void cn_options_free(struct cn_options *o);

#endif
