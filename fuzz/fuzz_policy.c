/* SPDX-License-Identifier: Apache-2.0
 *
 * libFuzzer: policy files (trace/policy.c, cn_policy_load: the file reader and
 * the parser), then every policy that loads evaluated against the four small
 * traces of the unit suite, with the text, JSON and JUnit reports written.
 * What must hold: no crash, leak or undefined behaviour; a refusal is one line.
 */
#include "fuzz_reports.h"

#include "json.h"
#include "policy.h"

#ifndef FUZZ_TRACES_DIR
#error "FUZZ_TRACES_DIR: the directory of tests/unit/policies/trace-*.json"
#endif

static const char *const flows[] = { "setuid", "userns", "root", "fakeroot" };
static struct json_object *traces[4];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < 4; i++) {
		char path[4096];
		struct cn_error err = { 0 };

		snprintf(path, sizeof(path), "%s/trace-%s.json", FUZZ_TRACES_DIR, flows[i]);
		if (!(traces[i] = cn_json_read(path, &err))) {
			fprintf(stderr, "fuzz_policy: %s\n", err.msg);
			abort();
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_error err = { 0 };
	struct cn_policy *p = cn_policy_load(fuzz_file(data, size), &err);

	if (!p) {
		fuzz_one_line("fuzz_policy", "policy", &err);
		return 0;
	}
	for (size_t i = 0; i < 4; i++) {
		struct cn_check *chk = cn_policy_check(p, traces[i], flows[i], &err);

		if (!chk) { /* the traces are good ones: a policy cannot make them bad */
			fprintf(stderr, "fuzz_policy: check refused the %s trace: %s\n", flows[i], err.msg);
			abort();
		}
		fuzz_write_reports_and_free(chk);
	}
	cn_policy_free(p);
	return 0;
}
