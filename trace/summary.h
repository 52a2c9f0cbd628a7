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

struct cn_creds;
/* One cred snapshot as the summary shows it: "HOST uid=0,0,0 gid=0 caps eff=all prm=all". */
void cn_summary_creds_text(char *buf, size_t size, const struct cn_creds *c);
/* What changed from b to a, as the summary shows it: " uid 0,0,0,0->1000,... eff -all". */
void cn_summary_creds_diff(char *buf, size_t size, const struct cn_creds *b, const struct cn_creds *a);

#endif
