/* SPDX-License-Identifier: Apache-2.0
 *
 * The per-stage summary `cntrace run` prints on stderr and `cntrace report` prints
 * from a saved trace. It reads only the JSON document, so both show the same.
 */
#ifndef CN_TRACE_SUMMARY_H
#define CN_TRACE_SUMMARY_H

#include <json-c/json.h>
#include <stdio.h>

void cn_summary_print(FILE *f, struct json_object *doc);

#endif
