/* SPDX-License-Identifier: Apache-2.0
 *
 * The state of a launch given --id NAME, recorded while it runs so that
 * `cnlaunch exec` can join it, and removed when it ends.
 *
 *   setuid, root and fakeroot launches: /run/cnlaunch/NAME.json, root's, 0600,
 *     in a directory only root can write (the master writes with euid 0);
 *   userns launches: the caller's own 0700 directory, the first of
 *     $XDG_RUNTIME_DIR/cnlaunch, /run/user/UID/cnlaunch, /tmp/cnlaunch-UID whose
 *     parent belongs to the caller.
 *
 * A file holds {"schema": "cnlaunch.state/1", "id", "status" ("creating" |
 * "running"), "master": {"pid", "start_time"}, "container": {"pid",
 * "start_time"}, "caller": {"uid", "gid"}, "flow", "namespaces": {"mnt":
 * "mnt:[4026532...]", ...}, "cgroups": [directories], "config": the final
 * config.json}. A process is named by its pid and its start time (field 22 of
 * /proc/PID/stat), so a recycled pid is never taken for it. Every change is
 * written to a temporary file and renamed into place under flock() of the
 * directory: a reader sees the old state or the new one, never half of one.
 */
#ifndef CN_STATE_H
#define CN_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "engine.h"

#define CN_STATE_ID_MAX 64

/* A process as the state names it. */
struct cn_proc_id {
	pid_t pid;
	unsigned long long start_time;
};

struct cn_state {
	char id[CN_STATE_ID_MAX + 1];
	char path[512];   /* the file, for messages */
	bool running;     /* false while the launch is still creating its container */
	struct cn_proc_id master, container;
	uid_t caller_uid;
	gid_t caller_gid;
	int flow;         /* enum cn_flow */
	int namespaces;   /* CLONE_NEW* of the ones recorded */
	char ns[8][64];   /* their /proc/PID/ns links, in cn_state_ns order */
	struct cn_strv cgroups;
	char *config;     /* config.json text */
};

/* [A-Za-z0-9_.-]{1,64}: a file name and nothing else. */
int cn_state_check_id(const char *id, struct cn_error *err);

/* This process's identity, or pid's; -1 when it is gone. A zombie is gone. */
int cn_proc_id_of(pid_t pid, struct cn_proc_id *out);
/* The process is still the one named (a recycled pid is not). */
bool cn_proc_id_alive(const struct cn_proc_id *id);

/* The four below do nothing but for a launch given --id.
 * MASTER, InitConfig: note its own identity (before CLEANUP_HOST is forked, which inherits it). */
int cn_state_prepare(struct cn_launch *l, struct cn_error *err);
/* MASTER, CreateContainer: claim NAME before anything exists (a running launch
 * with the same id is a refusal; a dead one's state is replaced). */
int cn_state_reserve(struct cn_launch *l, struct cn_error *err);
/* MASTER, PostStartProcess: the container runs: record it. */
int cn_state_publish(struct cn_launch *l, struct cn_error *err);
/* Remove NAME's state: the master, when it reserved it; CLEANUP_HOST, when its master
 * wrote it and is gone (killed). */
int cn_state_remove(struct cn_launch *l, struct cn_error *err);

/* exec: the state of the container named by id (or, with id NULL, the one whose
 * process is pid), as readable in the exec's flow. */
int cn_state_find(struct cn_launch *l, const char *id, pid_t pid, struct cn_state *out, struct cn_error *err);
void cn_state_free(struct cn_state *s);

/* The CLONE_NEW* flag of the i-th namespace name ("user", "mnt", ...); 0 past the end. */
int cn_state_ns(size_t i, const char **name);

#endif
