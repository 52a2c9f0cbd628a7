/* SPDX-License-Identifier: Apache-2.0
 *
 * `cntrace seccomp-profile`: an OCI seccomp allowlist (a linux.seccomp object)
 * of the syscalls a traced stage made, so that the container can be run again
 * with nothing more than what it was seen to use.
 */
#ifndef CN_TRACE_ALLOWLIST_H
#define CN_TRACE_ALLOWLIST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The pseudo-stage of what the container's command did from its execve on. */
#define CN_ALLOWLIST_CONTAINER "container"

struct cn_allowlist_opts {
	/* Stage names, or "container"; none: "StartProcess", which takes the container along
	 * (the filter a runtime loads in StartProcess stays on the command it executes). */
	const char *const *stages;
	size_t nstages;
	bool kill; /* defaultAction SCMP_ACT_KILL_PROCESS instead of SCMP_ACT_ERRNO (EPERM) */
};

/* Whether name is something --stage takes: one of the ten stages, or "container". */
bool cn_allowlist_stage_known(const char *name);

/*
 * The profile for trace (a document as cn_json_read gives it; origin names it in
 * errors). NULL with err set when the trace cannot give one: not a trace, a stage
 * it does not have, events it lost (a profile from it could miss syscalls).
 * *skipped (when not NULL) gets a new array of the syscall names of the trace
 * that libseccomp cannot name here, left out of the profile; NULL when none.
 */
struct json_object *cn_allowlist_build(struct json_object *trace, const char *origin,
				       const struct cn_allowlist_opts *o, struct json_object **skipped,
				       struct cn_error *err);

#endif
