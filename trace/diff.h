/* SPDX-License-Identifier: Apache-2.0
 *
 * `cntrace diff A B`: what changed in privilege from trace A to trace B, per
 * stage: new raises, new host capability uses, new syscalls, changed final
 * creds. For the CI gate "did this change make our launcher need more
 * privilege?": B gained something when any of those is new in B.
 */
#ifndef CN_TRACE_DIFF_H
#define CN_TRACE_DIFF_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"

#define CN_DIFF_SCHEMA "cntrace.diff/1"

/*
 * The diff of two trace documents (as cn_json_read gives them; a_origin and
 * b_origin name them in errors and in the result), as a JSON document of
 * schema cntrace.diff/1 that the caller owns. NULL with err set when either is
 * not a trace.
 */
struct json_object *cn_diff_traces(struct json_object *a, const char *a_origin, struct json_object *b,
				   const char *b_origin, struct cn_error *err);
/* Whether B gained anything A did not (the result's "gained"). */
bool cn_diff_gained(struct json_object *diff);
/* The diff as text: one block per stage that changed, then a one-line verdict. */
void cn_diff_print_text(FILE *f, struct json_object *diff);

#endif
