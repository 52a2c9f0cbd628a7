/* SPDX-License-Identifier: Apache-2.0
 *
 * The tracer: open -> set filters -> load -> attach -> spawn the launch held at
 * a gate -> seed the filter with its pid -> release -> drain -> read what the
 * maps hold -> destroy. Nothing runs untraced: the gate opens only once every
 * program is attached, and a failure before that kills the held child.
 */
#ifndef CN_TRACE_TRACER_H
#define CN_TRACE_TRACER_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "model.h"

struct cn_ext_stages;

struct cn_tracer_opts {
	char *const *argv;       /* what to run: cnlaunch and its arguments, or any program */
	const char *path;        /* the file to execve; NULL: argv[0], searched in $PATH */
	const char *mode;        /* "run" or "exec": echoed in the trace */
	const char *usdt_binary; /* attach the cnlaunch stage probes to this file; NULL: none */
	bool usdt_required;      /* fail when it has no cnlaunch probes (run); else best effort (exec) */
	const struct cn_ext_stages *ext_stages; /* exec --stage: resolved (trace/stages_ext.h); NULL: none */
	const char *flow;        /* the --flow asked for, echoed in the trace */
	bool full_syscalls;      /* --syscalls full: every syscall with arguments */
	const char *log_dir;     /* full: spool the log in this directory (trace/spool.h); NULL: do not keep it */
	bool as_user;            /* drop to uid/gid (and user's groups) before the gate */
	uid_t uid;
	gid_t gid;
	const char *user_name;   /* for initgroups(); NULL: no supplementary groups */
	double linger_s;         /* after the first process exits, wait this long for the others */
	unsigned long ring_bytes; /* the events ring buffer's size (a power of 2, pages); 0: 8 MiB */
	/* The caller exits soon after: the uprobes are left to a child to detach (their detach waits
	 * ~0.1 s per probe site in the kernel), which may outlive the run by that long. Otherwise
	 * cn_tracer_run returns with everything detached and unloaded, and no child left. */
	bool detach_after_exit;
	/* Called once the tracer is attached (so the launch can be traced) and before
	 * anything of the launch runs; a failure (-1, err set) fails the run. NULL: none. */
	int (*before_launch)(void *arg, struct cn_error *err);
	void *before_launch_arg;
};

/*
 * Run opts->argv under the tracer. Returns 0 with *out set when the launch ran
 * traced (whatever its exit status: see (*out)->exit_status); -1 with err set
 * when it could not be traced, in which case nothing was run.
 */
int cn_tracer_run(const struct cn_tracer_opts *opts, struct cn_trace **out, struct cn_error *err);

/* The path execvp() would run for name, into buf; NULL when not found. */
const char *cn_find_program(const char *name, char *buf, size_t size);

#endif
