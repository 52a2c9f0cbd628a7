/* SPDX-License-Identifier: Apache-2.0
 *
 * What the launcher was configured to give the container, learnt before the
 * launch from `cnlaunch ... --print-config`, run as the audited user: the
 * trace's launch.configured, which the policy's final_creds "configured"
 * compares the container's creds with.
 */
#ifndef CN_TRACE_CONFIGURED_H
#define CN_TRACE_CONFIGURED_H

#include <json-c/json.h>
#include <sys/types.h>

#include "error.h"
#include "tracer.h"

/* What --print-config gave: the configuration, or the launcher's refusal of it. */
struct cn_configured {
	struct json_object *json; /* {"uid", "gid", "caps": {the five sets}}; NULL when refused */
	char refused[CN_ERROR_MAX]; /* the launcher's own last line when it refused the configuration */
};

/* A --print-config child on its way: started before the tracer loads, read before the launch. */
struct cn_configured_child {
	pid_t pid; /* -1 once reaped */
	int out, err, report;
	const char *launcher;
	const struct cn_tracer_opts *opts;
};

/*
 * Start argv (the launcher, its launch options, "--", the command) with
 * --print-config inserted before "--", as the user of opts (when as_user), and
 * return at once: it runs while the tracer loads its programs. -1 with err set
 * when it cannot be started.
 */
int cn_configured_start(char *const *argv, const struct cn_tracer_opts *opts, struct cn_configured_child *child,
			struct cn_error *err);
/*
 * Wait for it and read what it printed. 0 with out->json from the printed
 * process.user and process.capabilities; 0 with out->json NULL and out->refused
 * set when the launcher ran and refused the configuration (the launch itself
 * will refuse it the same way, and that early failure is worth a trace); -1
 * with err set (one line) when it could not be asked at all: the user cannot
 * be become, the launcher cannot be run, or it printed no configuration.
 */
int cn_configured_finish(struct cn_configured_child *child, struct cn_configured *out, struct cn_error *err);
/* Kill and reap it when the launch will not happen (a no-op once finished). */
void cn_configured_abandon(struct cn_configured_child *child);
void cn_configured_clear(struct cn_configured *c);

/* Put it into a trace document: launch.configured, or launch.configured_error when refused. */
void cn_configured_attach(struct json_object *trace, const struct cn_configured *c);

#endif
