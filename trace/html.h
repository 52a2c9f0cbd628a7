/* SPDX-License-Identifier: Apache-2.0
 *
 * `cntrace report --html`: a trace as one self-contained HTML page (inline CSS
 * and JS, nothing to load): a lane per process with its privilege as colour
 * over time, the stages as bands, cred transitions and capability checks as
 * marks, details on click, the summary tables under it.
 */
#ifndef CN_TRACE_HTML_H
#define CN_TRACE_HTML_H

#include <json-c/json.h>
#include <stdio.h>

#include "error.h"

/* The page for doc (as cn_json_read gives it; origin names it); malloc'ed. NULL with err set
 * when doc is not a trace. */
char *cn_html_report(struct json_object *doc, const char *origin, struct cn_error *err);

/* Text as HTML character data or attribute value: & < > " ' escaped; appended to a memstream. */
void cn_html_escape(FILE *f, const char *text);

#endif
