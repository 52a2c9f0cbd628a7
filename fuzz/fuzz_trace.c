/* SPDX-License-Identifier: Apache-2.0
 *
 * libFuzzer: the saved-trace reader, i.e. everything `cntrace report` and
 * `cntrace check` do with a TRACE.json they are given: cn_json_read (file and
 * schema), the summary (trace/summary.c), and the policy checker's reading and
 * evaluation of the trace (trace/policy.c) under the built-in policy and under
 * a policy that uses every assertion and scope of the vocabulary, with the
 * three reports written; and the other commands on saved traces: the seccomp
 * profile (trace/allowlist.c), the diff of the trace with itself (trace/diff.c,
 * which must find nothing gained) and the HTML report (trace/html.c). What must
 * hold: no crash, leak or undefined behaviour; a refusal is one line.
 */
#include "fuzz_reports.h"

#include "allowlist.h"
#include "diff.h"
#include "html.h"
#include "json.h"
#include "policy.h"
#include "summary.h"

/* Every assertion, scope, role and selector of policy/README.md at least once. */
static const char every_assertion[] =
	"{\"schema\": \"cntrace.policy/1\", \"name\": \"fuzz\", \"rules\": ["
	"{\"id\": \"a\", \"doc\": \"d\", \"stages\": [\"PrepareConfig\", \"CleanupHost\"],"
	" \"assert\": {\"no_host_privilege\": true, \"no_raise\": true, \"no_host_capability_use\": true}},"
	"{\"id\": \"b\", \"doc\": \"d\", \"flows\": [\"setuid\", \"fakeroot\"], \"stages\": [\"StartProcess\"],"
	" \"roles\": [\"stage2\"], \"assert\": {\"final_creds\": {\"uid\": \"caller\", \"gid\": 0,"
	" \"caps\": \"configured\", \"no_new_privs\": false}}},"
	"{\"id\": \"c\", \"doc\": \"d\", \"stages\": [\"StartProcess\"], \"assert\": {\"final_creds\":"
	" {\"caps\": {\"effective\": [\"CAP_CHOWN\"], \"ambient\": []}}}},"
	"{\"id\": \"e\", \"doc\": \"d\", \"scope\": \"launch\", \"assert\": {\"no_host_privilege\": true,"
	" \"allowed_host_capabilities\": [\"CAP_SYS_ADMIN\", \"CAP_NET_ADMIN\"], \"every_process_has_role\": true}},"
	"{\"id\": \"f\", \"doc\": \"d\", \"scope\": [\"container\", \"stages\"], \"assert\":"
	" {\"forbidden_syscalls\": [\"mount\", \"ptrace\"], \"no_host_privilege\": true, \"no_raise\": true}},"
	"{\"id\": \"g\", \"doc\": \"d\", \"flows\": \"*\", \"assert\": {\"max_lost_events\": 0,"
	" \"stages_ran\": [\"CleanupHost\", \"Config\"]}},"
	"{\"id\": \"h\", \"doc\": \"d\", \"flows\": [\"userns\", \"root\"], \"scope\": \"container\","
	" \"roles\": [\"container\", \"stage2\"], \"assert\": {\"no_host_capability_use\": true}}]}";

static struct cn_policy *policies[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cn_error err = { 0 };
	struct json_object *doc = json_tokener_parse(every_assertion);

	(void)argc;
	(void)argv;
	policies[0] = cn_policy_builtin(&err);
	policies[1] = doc ? cn_policy_parse(doc, "fuzz policy", &err) : NULL;
	json_object_put(doc);
	if (!policies[0] || !policies[1]) {
		fprintf(stderr, "fuzz_trace: %s\n", err.msg[0] ? err.msg : "fuzz policy: not JSON");
		abort();
	}
	return 0;
}

/* seccomp-profile, diff and report --html on a document cn_json_read accepted. */
static void saved_commands(struct json_object *doc)
{
	static const char *const stages[] = { "StartProcess", "container", "Config" };
	struct cn_allowlist_opts o = { .stages = stages, .nstages = 3 };
	struct cn_error err = { 0 };
	struct json_object *out, *skipped = NULL;
	char *html;

	out = cn_allowlist_build(doc, "fuzz trace", &o, &skipped, &err);
	if (!out)
		fuzz_one_line("fuzz_trace", "seccomp-profile", &err);
	json_object_put(out);
	json_object_put(skipped);
	out = cn_diff_traces(doc, "A", doc, "B", &err);
	if (!out) {
		fuzz_one_line("fuzz_trace", "diff", &err);
	} else {
		if (cn_diff_gained(out)) {
			fprintf(stderr, "fuzz_trace: a trace gained privilege over itself: %s\n", cn_json_string(out));
			abort();
		}
		cn_diff_print_text(fuzz_devnull(), out);
		json_object_put(out);
	}
	html = cn_html_report(doc, "fuzz trace", &err);
	if (!html)
		fuzz_one_line("fuzz_trace", "report --html", &err);
	else
		fputs(html, fuzz_devnull());
	free(html);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_error err = { 0 };
	struct json_object *doc = cn_json_read(fuzz_file(data, size), &err);

	if (!doc) {
		fuzz_one_line("fuzz_trace", "trace", &err);
		return 0;
	}
	cn_summary_print(fuzz_devnull(), doc);
	for (size_t i = 0; i < 2; i++) {
		struct cn_check *chk = cn_policy_check(policies[i], doc, "fuzz trace", &err);

		if (!chk) {
			fuzz_one_line("fuzz_trace", "trace", &err);
			break;
		}
		fuzz_write_reports_and_free(chk);
	}
	saved_commands(doc);
	json_object_put(doc);
	return 0;
}
