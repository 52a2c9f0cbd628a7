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

#include "error.h"
#include "tracer.h"

/* What --print-config gave: the configuration, or the launcher's refusal of it. */
struct cn_configured {
	struct json_object *json; /* {"uid", "gid", "caps": {the five sets}}; NULL when refused */
	char refused[CN_ERROR_MAX]; /* the launcher's own last line when it refused the configuration */
};

/*
 * Run argv (the launcher, its launch options, "--", the command) with
 * --print-config inserted before "--", as the user of opts (when as_user).
 * 0 with out->json from the printed process.user and process.capabilities;
 * 0 with out->json NULL and out->refused set when the launcher ran and refused
 * the configuration (the launch itself will refuse it the same way, and that
 * early failure is worth a trace); -1 with err set (one line) when it could not
 * be asked at all: the user cannot be become, the launcher cannot be run, or it
 * printed no configuration.
 */
int cn_configured_read(char *const *argv, const struct cn_tracer_opts *opts, struct cn_configured *out,
		       struct cn_error *err);
void cn_configured_clear(struct cn_configured *c);

/* Put it into a trace document: launch.configured, or launch.configured_error when refused. */
void cn_configured_attach(struct json_object *trace, const struct cn_configured *c);

#endif
