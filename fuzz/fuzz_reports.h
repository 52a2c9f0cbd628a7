/* SPDX-License-Identifier: Apache-2.0
 *
 * The policy targets' shared tail: a check's three reports (text, JSON, JUnit)
 * written for real, so their writers run on every input, then thrown away.
 */
#ifndef CN_FUZZ_REPORTS_H
#define CN_FUZZ_REPORTS_H

#include "fuzz.h"
#include "json.h"
#include "policy.h"

static inline void fuzz_write_reports_and_free(struct cn_check *chk)
{
	struct json_object *report;
	char *junit;

	cn_check_print_text(fuzz_devnull(), chk);
	report = cn_check_to_json(chk);
	fputs(cn_json_string(report), fuzz_devnull());
	json_object_put(report);
	junit = cn_check_junit(chk);
	if (junit)
		fputs(junit, fuzz_devnull());
	free(junit);
	cn_check_free(chk);
}

#endif
