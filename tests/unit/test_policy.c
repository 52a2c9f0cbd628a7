/* SPDX-License-Identifier: Apache-2.0
 *
 * CUnit: the policy checker. Every assertion of the vocabulary holds on a good
 * trace of its flow (tests/unit/policies/trace-*.json, small hand-made traces
 * with the shape `cntrace run` writes) and fails on the same trace broken by
 * hand, with a violation that names rule, stage, pid, role, syscall and the
 * cred diff. Malformed policies and traces are refused with the JSON path and
 * the reason; the text, JSON and JUnit outputs have their documented shapes.
 *
 * usage: test_policy POLICIES_DIR BUILTIN_JSON
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "json.h"
#include "policy.h"

static const char *policies_dir = ".";
static const char *builtin_path = "policy/builtin.json";

/* ------------------------------------------------------------------ helpers */

static struct json_object *load_trace(const char *flow)
{
	char path[4096];
	struct cn_error err;
	struct json_object *doc;

	cn_error_clear(&err);
	snprintf(path, sizeof(path), "%s/trace-%s.json", policies_dir, flow);
	doc = cn_json_read(path, &err);
	if (!doc)
		fprintf(stderr, "test_policy: %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	return doc;
}

/* "stages[2].creds.exit" from doc; NULL when the path does not exist. */
static struct json_object *at(struct json_object *doc, const char *path)
{
	char buf[256], *p = buf;
	struct json_object *o = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	while (o && *p) {
		char *end = p + strcspn(p, ".[");

		if (end > p) {
			char saved = *end;

			*end = '\0';
			if (!json_object_object_get_ex(o, p, &o))
				return NULL;
			*end = saved;
			p = end;
		}
		if (*p == '[') {
			o = json_object_array_get_idx(o, strtoul(p + 1, &p, 10));
			p++; /* ']' */
		}
		if (*p == '.')
			p++;
	}
	return o;
}

/* The first stage entry named name. */
static struct json_object *stage(struct json_object *doc, const char *name)
{
	struct json_object *stages = at(doc, "stages");

	for (size_t i = 0; i < json_object_array_length(stages); i++) {
		struct json_object *s = json_object_array_get_idx(stages, i);

		if (strcmp(json_object_get_string(at(s, "name")), name) == 0)
			return s;
	}
	CU_FAIL_FATAL("no such stage in the test trace");
	return NULL;
}

static struct json_object *process(struct json_object *doc, int pid)
{
	struct json_object *procs = at(doc, "processes");

	for (size_t i = 0; i < json_object_array_length(procs); i++)
		if (json_object_get_int(at(json_object_array_get_idx(procs, i), "pid")) == pid)
			return json_object_array_get_idx(procs, i);
	CU_FAIL_FATAL("no such process in the test trace");
	return NULL;
}

static struct json_object *phase(struct json_object *doc, int id)
{
	struct json_object *phases = at(doc, "phases");

	for (size_t i = 0; i < json_object_array_length(phases); i++)
		if (json_object_get_int(at(json_object_array_get_idx(phases, i), "id")) == id)
			return json_object_array_get_idx(phases, i);
	CU_FAIL_FATAL("no such phase in the test trace");
	return NULL;
}

static void set_id(struct json_object *cred, const char *key, int i, int value)
{
	json_object_array_put_idx(at(cred, key), (size_t)i, json_object_new_int(value));
}

static void add_cap(struct json_object *cred, const char *set, const char *cap)
{
	struct json_object *caps = at(cred, "caps");
	struct json_object *list;

	json_object_object_get_ex(caps, set, &list);
	json_object_array_add(list, json_object_new_string(cap));
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

static struct cn_policy *policy_from(const char *text)
{
	_cleanup_json_ struct json_object *doc = parse(text);
	struct cn_error err;
	struct cn_policy *p;

	cn_error_clear(&err);
	p = cn_policy_parse(doc, "test.json", &err);
	if (!p)
		fprintf(stderr, "test_policy: %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* A one-rule policy "t" with rule "r". */
static struct cn_policy *one_rule(const char *rule_body)
{
	char text[4096];

	snprintf(
		text, sizeof(text),
		"{\"schema\": \"cntrace.policy/1\", \"name\": \"t\", \"rules\": [{\"id\": \"r\", \"doc\": \"d\", %s}]}",
		rule_body);
	return policy_from(text);
}

static struct cn_check *check(const struct cn_policy *p, struct json_object *doc)
{
	struct cn_error err;
	struct cn_check *c;

	cn_error_clear(&err);
	c = cn_policy_check(p, doc, "trace.json", &err);
	if (!c)
		fprintf(stderr, "test_policy: %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

static struct cn_check *check_builtin(struct json_object *doc)
{
	struct cn_error err;
	struct cn_policy *p;
	struct cn_check *c;

	cn_error_clear(&err);
	p = cn_policy_builtin(&err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	c = check(p, doc);
	cn_policy_free(p);
	return c;
}

static const struct cn_rule_result *result(const struct cn_check *c, const char *id)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (strcmp(c->rules[i].id, id) == 0)
			return &c->rules[i];
	CU_FAIL_FATAL("no such rule in the check");
	return NULL;
}

/* The violation of rule id whose message holds text; NULL (and a printed list) when none does. */
static const struct cn_violation *violation(const struct cn_check *c, const char *id, const char *text)
{
	const struct cn_rule_result *r = result(c, id);

	for (size_t i = 0; i < r->nviolations; i++)
		if (strstr(r->violations[i].message, text))
			return &r->violations[i];
	fprintf(stderr, "\ntest_policy: no violation of %s holds \"%s\"; there are:\n", id, text);
	for (size_t i = 0; i < r->nviolations; i++)
		fprintf(stderr, "  %s\n", r->violations[i].message);
	return NULL;
}

static void print_failures(const struct cn_check *c)
{
	if (c->failed)
		cn_check_print_text(stderr, c);
}

#define ASSERT_STATUS(c, id, st) CU_ASSERT_EQUAL(result((c), (id))->status, (st))

/* The good trace of flow passes every rule of the built-in policy that applies to it. */
static void assert_builtin_passes(const char *flow, size_t applicable)
{
	_cleanup_json_ struct json_object *doc = load_trace(flow);
	struct cn_check *c = check_builtin(doc);

	print_failures(c);
	CU_ASSERT_TRUE(cn_check_passed(c));
	CU_ASSERT_EQUAL(c->passed, applicable);
	CU_ASSERT_EQUAL(c->not_applicable, c->nrules - applicable);
	cn_check_free(c);
}

/* ------------------------------------------------------------ the policy in */

static void test_builtin_policy_has_every_rule_of_the_table(void)
{
	static const char *const ids[] = {
		"setuid.prepareconfig.dropped",
		"setuid.poststarthost.dropped",
		"setuid.cleanuphost.dropped",
		"setuid.startprocess.no-raise",
		"setuid.startprocess.final-creds",
		"userns.no-host-privilege",
		"root.startprocess.final-creds",
		"fakeroot.prepareconfig.dropped",
		"fakeroot.poststarthost.dropped",
		"fakeroot.cleanuphost.dropped",
		"fakeroot.startprocess.no-host-privilege",
		"all.roles-accounted",
		"all.no-lost-events",
		"all.cleanup-host-ran",
	};
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct cn_check *c = check_builtin(doc);

	CU_ASSERT_STRING_EQUAL(c->policy, "builtin");
	CU_ASSERT_EQUAL_FATAL(c->nrules, sizeof(ids) / sizeof(ids[0]));
	for (size_t i = 0; i < c->nrules; i++) {
		CU_ASSERT_STRING_EQUAL(c->rules[i].id, ids[i]);
		CU_ASSERT_TRUE(strlen(c->rules[i].doc) > 20);
	}
	cn_check_free(c);
}

static void test_builtin_policy_is_policy_builtin_json(void)
{
	FILE *f = fopen(builtin_path, "re");
	char *text = NULL;
	size_t size = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_TRUE(getdelim(&text, &size, '\0', f) > 0);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(cn_policy_builtin_text(), text);
	free(text);
}

static void test_malformed_policies_are_refused_with_path_and_reason(void)
{
#define S "\"schema\": \"cntrace.policy/1\""
#define R(body) "{" S ", \"rules\": [{\"id\": \"a\", \"doc\": \"d\", " body "}]}"
	static const struct {
		const char *text, *error;
	} cases[] = {
		{"[]", "test.json: not a policy"},
		{"{\"schema\": \"cntrace.policy/2\", \"rules\": []}",
		 "test.json: schema: must be \"cntrace.policy/1\""},
		{"{" S ", \"rules\": [], \"x\": 1}", "test.json: x: unknown key"},
		{"{" S "}", "test.json: rules: required"},
		{"{" S ", \"rules\": [7]}", "test.json: rules[0]: must be an object"},
		{"{" S ", \"rules\": [{\"doc\": \"d\", \"assert\": {\"no_raise\": true}}]}",
		 "test.json: rules[0].id: required"},
		{"{" S ", \"rules\": [{\"id\": \"a b\", \"doc\": \"d\", \"assert\": {\"no_raise\": true}}]}",
		 "test.json: rules[0].id: \"a b\": only letters"},
		{"{" S ", \"rules\": [{\"id\": \"a\", \"doc\": \"d\", \"assert\": {\"no_raise\": true}},"
		 " {\"id\": \"a\", \"doc\": \"d\", \"assert\": {\"no_raise\": true}}]}",
		 "test.json: rules[1].id: \"a\" is also the id of rules[0]"},
		{"{" S ", \"rules\": [{\"id\": \"a\", \"assert\": {\"no_raise\": true}}]}",
		 "test.json: rules[0].doc: required"},
		{R("\"asert\": {}"), "test.json: rules[0].asert: unknown key"},
		{R("\"flows\": [\"nope\"], \"assert\": {\"no_raise\": true}"),
		 "test.json: rules[0].flows[0]: unknown flow \"nope\""},
		{R("\"flows\": [], \"assert\": {\"no_raise\": true}"), "test.json: rules[0].flows: must not be empty"},
		{R("\"stages\": [\"Prepare\"], \"assert\": {\"no_raise\": true}"),
		 "test.json: rules[0].stages[0]: unknown stage \"Prepare\""},
		{R("\"roles\": \"stage1\", \"assert\": {\"no_raise\": true}"),
		 "test.json: rules[0].roles: must be a list of role"},
		{R("\"scope\": \"everywhere\", \"assert\": {\"no_raise\": true}"),
		 "test.json: rules[0].scope: unknown scope \"everywhere\""},
		{R("\"scope\": \"launch\", \"stages\": [\"StartProcess\"], \"assert\": {\"no_raise\": true}"),
		 "test.json: rules[0].stages: selects stage entries: needs scope \"stages\""},
		{R("\"flows\": \"*\""), "test.json: rules[0].assert: required"},
		{R("\"assert\": {}"), "test.json: rules[0].assert: must hold at least one assertion"},
		{R("\"assert\": {\"nope\": true}"), "test.json: rules[0].assert.nope: unknown assertion"},
		{R("\"assert\": {\"no_raise\": false}"), "test.json: rules[0].assert.no_raise: must be true"},
		{R("\"assert\": {\"final_creds\": {\"uid\": \"root\"}}"),
		 "test.json: rules[0].assert.final_creds.uid: must be \"caller\" or a number"},
		{R("\"assert\": {\"final_creds\": {\"gid\": -1}}"),
		 "test.json: rules[0].assert.final_creds.gid: must be \"caller\" or a number"},
		{R("\"assert\": {\"final_creds\": {\"caps\": {\"effective\": [\"CAP_NOPE\"]}}}"),
		 "test.json: rules[0].assert.final_creds.caps.effective[0]: unknown capability \"CAP_NOPE\""},
		{R("\"assert\": {\"final_creds\": {\"caps\": {\"effectiv\": []}}}"),
		 "test.json: rules[0].assert.final_creds.caps.effectiv: unknown capability set"},
		{R("\"assert\": {\"final_creds\": {\"caps\": \"all\"}}"),
		 "test.json: rules[0].assert.final_creds.caps: must be \"configured\" or an object"},
		{R("\"assert\": {\"final_creds\": {\"euid\": 0}}"),
		 "test.json: rules[0].assert.final_creds.euid: unknown key"},
		{R("\"assert\": {\"final_creds\": {\"no_new_privs\": 1}}"),
		 "test.json: rules[0].assert.final_creds.no_new_privs: must be true or false"},
		{R("\"scope\": \"launch\", \"assert\": {\"final_creds\": {\"uid\": 0}}"),
		 "test.json: rules[0].assert.final_creds: looks at the exit creds of stage entries: needs scope"},
		{R("\"assert\": {\"allowed_host_capabilities\": [\"SYS_ADMIN\"]}"),
		 "test.json: rules[0].assert.allowed_host_capabilities[0]: unknown capability \"SYS_ADMIN\""},
		{R("\"assert\": {\"forbidden_syscalls\": [\"openat\", \"nosuchcall\"]}"),
		 "test.json: rules[0].assert.forbidden_syscalls[1]: unknown syscall \"nosuchcall\""},
		{R("\"assert\": {\"max_lost_events\": -1}"),
		 "test.json: rules[0].assert.max_lost_events: must be a number of events"},
		{R("\"assert\": {\"max_lost_events\": 0.5}"),
		 "test.json: rules[0].assert.max_lost_events: must be a number of events"},
		{R("\"assert\": {\"stages_ran\": [\"Cleanup\"]}"),
		 "test.json: rules[0].assert.stages_ran[0]: unknown stage \"Cleanup\""},
	};
#undef R
#undef S
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_json_ struct json_object *doc = parse(cases[i].text);
		struct cn_error err;
		struct cn_policy *p;

		cn_error_clear(&err);
		p = cn_policy_parse(doc, "test.json", &err);
		CU_ASSERT_PTR_NULL(p);
		cn_policy_free(p);
		if (strncmp(err.msg, cases[i].error, strlen(cases[i].error)) != 0) {
			fprintf(stderr, "\ntest_policy: case %zu: got \"%s\"\n  want \"%s...\"\n", i, err.msg,
				cases[i].error);
			CU_FAIL("wrong refusal");
		}
		CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
	}
}

static void test_policy_file_that_is_not_json_is_refused_naming_it(void)
{
	char path[] = "/tmp/test_policy.XXXXXX";
	int fd = mkstemp(path);
	struct cn_error err;
	struct cn_policy *p;

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "{\"schema\": ", 11), 11);
	close(fd);
	cn_error_clear(&err);
	p = cn_policy_load(path, &err);
	unlink(path);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(strncmp(err.msg, path, strlen(path)), 0);
	CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
	cn_error_clear(&err);
	CU_ASSERT_PTR_NULL(cn_policy_load("/nonexistent/policy.json", &err));
	CU_ASSERT_EQUAL(strncmp(err.msg, "/nonexistent/policy.json: ", 26), 0);
}

/* ------------------------------------------------------------ the trace in */

static void test_malformed_traces_are_refused_with_one_line(void)
{
/* a trace head that reads, up to the processes */
#define HEAD                                                                                    \
	"{\"schema\": \"cntrace.trace/1\", \"launch\": {\"flow\": \"root\", \"caller\": {\"uid\": 0, " \
	"\"gid\": 0}}, \"tracer\": {\"lost_events\": 0}, "
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "{\"schema\": \"cntrace.trace/0\"}",
		  "trace.json: not a cntrace trace (schema is not \"cntrace.trace/1\")" },
		{ "[1]", "trace.json: not a cntrace trace" },
		{ "{\"schema\": \"cntrace.trace/1\", \"tracer\": {}}", "trace.json: launch: required object missing" },
		{ "{\"schema\": \"cntrace.trace/1\", \"launch\": {\"flow\": \"root\"}, "
		  "\"tracer\": {\"lost_events\": 0}}",
		  "trace.json: launch.caller.uid: required number missing" },
		{ HEAD "\"processes\": [], \"stages\": 3}", "trace.json: stages: must be a list" },
		{ HEAD "\"processes\": [], \"stages\": [{\"name\": \"CleanupHost\", \"pid\": 1, "
		       "\"creds\": {\"exit\": {\"uid\": [0]}}}]}",
		  "trace.json: stages[0].creds.exit: not a cred object" },
		{ HEAD "\"processes\": [{\"pid\": 1, \"role\": \"boss\"}], \"stages\": []}",
		  "trace.json: processes[0].role: unknown role" },
		{ HEAD "\"processes\": [], \"stages\": [{\"name\": \"Cleanup\", \"pid\": 1}]}",
		  "trace.json: stages[0].name: not one of the ten stage names" },
	};
#undef HEAD
	_cleanup_policy_ struct cn_policy *p = NULL;
	struct cn_error err;

	cn_error_clear(&err);
	p = cn_policy_builtin(&err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_json_ struct json_object *doc = parse(cases[i].text);
		struct cn_check *c;

		cn_error_clear(&err);
		c = cn_policy_check(p, doc, "trace.json", &err);
		CU_ASSERT_PTR_NULL(c);
		cn_check_free(c);
		if (strncmp(err.msg, cases[i].error, strlen(cases[i].error)) != 0) {
			fprintf(stderr, "\ntest_policy: case %zu: got \"%s\"\n  want \"%s...\"\n", i, err.msg,
				cases[i].error);
			CU_FAIL("wrong refusal");
		}
	}
}

/* ------------------------------------------------------ the guarantees, held */

static void test_good_traces_pass_the_builtin_policy_in_every_flow(void)
{
	assert_builtin_passes("setuid", 8); /* 5 setuid rules and the 3 of every flow */
	assert_builtin_passes("userns", 4);
	assert_builtin_passes("root", 4);
	assert_builtin_passes("fakeroot", 7);
}

static void test_rules_of_other_flows_are_not_applicable_with_a_reason(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("root");
	struct cn_check *c = check_builtin(doc);
	const struct cn_rule_result *r = result(c, "setuid.prepareconfig.dropped");

	CU_ASSERT_EQUAL(r->status, CN_RULE_NOT_APPLICABLE);
	CU_ASSERT_STRING_EQUAL(r->reason, "the trace's flow is root; the rule is for setuid");
	ASSERT_STATUS(c, "all.no-lost-events", CN_RULE_PASSED);
	cn_check_free(c);
}

static void test_stage_rules_do_not_apply_to_a_trace_without_stage_probes(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct cn_check *c;

	json_object_object_add(at(doc, "tracer"), "stage_probes", json_object_new_boolean(0));
	json_object_array_del_idx(at(doc, "stages"), 0, json_object_array_length(at(doc, "stages")));
	c = check_builtin(doc);
	ASSERT_STATUS(c, "setuid.prepareconfig.dropped", CN_RULE_NOT_APPLICABLE);
	ASSERT_STATUS(c, "all.cleanup-host-ran", CN_RULE_NOT_APPLICABLE);
	ASSERT_STATUS(c, "all.roles-accounted", CN_RULE_NOT_APPLICABLE);
	ASSERT_STATUS(c, "all.no-lost-events", CN_RULE_PASSED);
	CU_ASSERT_STRING_EQUAL(
		result(c, "setuid.prepareconfig.dropped")->reason,
		"the trace has no stage probes (a program traced with cntrace exec that is not cnlaunch)");
	cn_check_free(c);
}

/* ------------------------------------------------------ the guarantees, broken */

/* no_host_privilege, scope stages: a saved uid 0 left in PrepareConfig. */
static void test_setuid_prepareconfig_keeping_saved_uid_0_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	const struct cn_violation *v;
	struct cn_check *c;

	set_id(at(stage(doc, "PrepareConfig"), "creds.exit"), "uid", 2, 0);
	c = check_builtin(doc);
	CU_ASSERT_EQUAL(c->failed, 1);
	v = violation(c, "setuid.prepareconfig.dropped", "host privilege at exit: suid 0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v->stage, "PrepareConfig");
	CU_ASSERT_EQUAL(v->pid, 101);
	CU_ASSERT_STRING_EQUAL(v->role, "stage1");
	CU_ASSERT_PTR_NOT_NULL(v->after);
	cn_check_free(c);
}

/* no_raise and no_host_privilege through a transition: euid 0 regained in PrepareConfig. */
static void test_setuid_prepareconfig_regaining_euid_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct json_object *s = stage(doc, "PrepareConfig");
	struct json_object *x = json_object_new_object();
	struct json_object *after = NULL;
	const struct cn_violation *v;
	struct cn_check *c;

	json_object_deep_copy(at(s, "creds.entry"), &after, NULL);
	set_id(after, "uid", 1, 0);
	json_object_object_add(x, "pid", json_object_new_int(101));
	json_object_object_add(x, "ts_ns", json_object_new_int(1250));
	json_object_object_add(x, "syscall", json_object_new_string("setresuid"));
	json_object_object_add(x, "stage", json_object_new_string("PrepareConfig"));
	json_object_object_add(x, "before", json_object_get(at(s, "creds.entry")));
	json_object_object_add(x, "after", after);
	json_object_object_add(x, "raise", json_object_new_boolean(1));
	json_object_array_add(at(s, "transitions"), x);
	c = check_builtin(doc);
	v = violation(c, "setuid.prepareconfig.dropped",
		      "PrepareConfig pid 101 (stage1): raise in setresuid: euid 65534->0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v->syscall, "setresuid");
	CU_ASSERT_PTR_NOT_NULL(v->before);
	CU_ASSERT_PTR_NOT_NULL(v->after);
	CU_ASSERT_PTR_NOT_NULL(
		violation(c, "setuid.prepareconfig.dropped", "host privilege after setresuid: euid 65534->0"));
	CU_ASSERT_EQUAL(result(c, "setuid.prepareconfig.dropped")->nviolations, 2);
	cn_check_free(c);
}

/* no_raise: a capability raised during StartProcess. */
static void test_setuid_startprocess_raise_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct json_object *txs = at(stage(doc, "StartProcess"), "transitions");
	struct json_object *last = json_object_array_get_idx(txs, json_object_array_length(txs) - 1);
	const struct cn_violation *v;
	struct cn_check *c;

	add_cap(at(last, "after"), "ambient", "CAP_SYS_ADMIN");
	json_object_object_add(last, "raise", json_object_new_boolean(1));
	c = check_builtin(doc);
	v = violation(c, "setuid.startprocess.no-raise", "StartProcess pid 104 (stage2): raise in capset:");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_PTR_NOT_NULL(strstr(v->message, "+CAP_SYS_ADMIN ambient"));
	CU_ASSERT_STRING_EQUAL(v->syscall, "capset");
	cn_check_free(c);
}

/* no_host_capability_use: CleanupHost mounting on the host; the kernel's own checks are not uses. */
static void test_setuid_cleanuphost_host_capability_use_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct json_object *checks = at(stage(doc, "CleanupHost"), "capability_checks");
	const struct cn_violation *v;
	struct cn_check *c;

	json_object_array_add(checks, parse("{\"cap\": \"CAP_SYS_ADMIN\", \"granted\": true, \"host_ns\": true,"
					    " \"syscall\": \"mmap\", \"count\": 3, \"pid\": 103}"));
	json_object_array_add(checks, parse("{\"cap\": \"CAP_SYS_ADMIN\", \"granted\": true, \"host_ns\": true,"
					    " \"syscall\": null, \"count\": 1, \"pid\": 103}"));
	json_object_array_add(checks, parse("{\"cap\": \"CAP_DAC_OVERRIDE\", \"granted\": false, \"host_ns\": true,"
					    " \"syscall\": \"openat\", \"count\": 1, \"pid\": 103}"));
	c = check_builtin(doc);
	print_failures(c);
	CU_ASSERT_TRUE(cn_check_passed(c)); /* overcommit heuristic, no syscall, denied: no use */
	cn_check_free(c);

	json_object_array_add(checks, parse("{\"cap\": \"CAP_SYS_ADMIN\", \"granted\": true, \"host_ns\": true,"
					    " \"syscall\": \"umount2\", \"count\": 2, \"pid\": 103}"));
	c = check_builtin(doc);
	v = violation(
		c, "setuid.cleanuphost.dropped",
		"CleanupHost pid 103 (cleanup_host): host capability CAP_SYS_ADMIN used in umount2 (2 granted checks)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v->syscall, "umount2");
	CU_ASSERT_EQUAL(result(c, "setuid.cleanuphost.dropped")->nviolations, 1);
	cn_check_free(c);
}

/* A clone's CAP_SYS_ADMIN is a use only when it made namespaces owned by the host user namespace. */
static void test_clone_capability_check_is_a_use_only_when_it_made_host_namespaces(void)
{
	_cleanup_policy_ struct cn_policy *p =
		one_rule("\"stages\": [\"CreateContainer\"], \"roles\": [\"master\"], "
			 "\"assert\": {\"no_host_capability_use\": true}");
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct json_object *ns = at(process(doc, 104), "namespaces");
	struct cn_check *c = check(p, doc);

	CU_ASSERT_PTR_NOT_NULL(
		violation(c, "r", "CreateContainer pid 100 (master): host capability CAP_SYS_ADMIN used in clone3"));
	cn_check_free(c);

	json_object_array_put_idx(ns, 0, json_object_new_string("CLONE_NEWUSER"));
	c = check(p, doc);
	CU_ASSERT_TRUE(cn_check_passed(c));
	cn_check_free(c);

	json_object_array_del_idx(ns, 0, json_object_array_length(ns));
	c = check(p, doc);
	CU_ASSERT_TRUE(cn_check_passed(c));
	cn_check_free(c);
}

static void test_allowed_host_capabilities_name_the_capability_outside_the_list(void)
{
	_cleanup_policy_ struct cn_policy *ok = one_rule(
		"\"stages\": [\"CreateContainer\"], \"assert\": {\"allowed_host_capabilities\": [\"CAP_SYS_ADMIN\"]}");
	_cleanup_policy_ struct cn_policy *narrow = one_rule(
		"\"stages\": [\"CreateContainer\"], \"assert\": {\"allowed_host_capabilities\": [\"CAP_NET_ADMIN\"]}");
	_cleanup_json_ struct json_object *doc = load_trace("root");
	struct cn_check *c = check(ok, doc);
	const struct cn_violation *v;

	CU_ASSERT_TRUE(cn_check_passed(c));
	cn_check_free(c);
	c = check(narrow, doc);
	v = violation(
		c, "r",
		"pid 105 (rpc_server): host capability CAP_SYS_ADMIN used in mount (2 granted checks) is not allowed");
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "r", "pid 100 (master): host capability CAP_SYS_ADMIN used in clone3"));
	cn_check_free(c);
}

/* final_creds: uid and caps at the exit of StartProcess. */
static void test_setuid_startprocess_final_creds_name_what_differs(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct json_object *exit_creds = at(stage(doc, "StartProcess"), "creds.exit");
	const struct cn_violation *v;
	struct cn_check *c;

	set_id(exit_creds, "uid", 1, 0);
	add_cap(exit_creds, "effective", "CAP_NET_RAW");
	c = check_builtin(doc);
	v = violation(c, "setuid.startprocess.final-creds",
		      "StartProcess pid 104 (stage2): final creds are not the expected ones: euid 0 (want 65534), "
		      "effective +CAP_NET_RAW");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_PTR_NOT_NULL(v->after);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v->expected);
	CU_ASSERT_EQUAL(json_object_get_int(at(v->expected, "uid")), 65534);
	CU_ASSERT_EQUAL(json_object_array_length(at(v->expected, "caps.effective")), 0);
	cn_check_free(c);
}

/* Without launch.configured a non-root target is expected to have no capabilities. */
static void test_final_creds_without_configured_expects_nothing_for_a_user(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct cn_check *c;

	json_object_object_del(at(doc, "launch"), "configured");
	c = check_builtin(doc);
	ASSERT_STATUS(c, "setuid.startprocess.final-creds", CN_RULE_PASSED);
	cn_check_free(c);
	add_cap(at(stage(doc, "StartProcess"), "creds.exit"), "permitted", "CAP_CHOWN");
	c = check_builtin(doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "setuid.startprocess.final-creds", "permitted +CAP_CHOWN"));
	cn_check_free(c);
}

static void test_root_final_creds_follow_launch_configured(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("root");
	struct cn_check *c;

	add_cap(at(stage(doc, "StartProcess"), "creds.exit"), "effective", "CAP_SYS_ADMIN");
	json_object_array_del_idx(at(stage(doc, "StartProcess"), "creds.exit.caps.bounding"), 0, 1);
	c = check_builtin(doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "root.startprocess.final-creds",
					 "effective +CAP_SYS_ADMIN, bounding -CAP_CHOWN"));
	cn_check_free(c);

	json_object_object_del(at(doc, "launch"), "configured");
	c = check_builtin(doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "root.startprocess.final-creds",
					 "the trace has no launch.configured and the target is root"));
	cn_check_free(c);
}

/* The launcher refused --print-config, yet StartProcess returned: the configuration is unknown, not "none". */
static void test_final_creds_after_a_refused_configuration_is_a_violation(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct json_object *launch = at(doc, "launch");
	struct cn_check *c;

	json_object_object_add(launch, "configured", NULL);
	json_object_object_add(launch, "configured_error", json_object_new_string("cnlaunch: PrepareConfig: no"));
	c = check_builtin(doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "setuid.startprocess.final-creds",
					 "the configured capabilities are unknown: the launcher refused --print-config "
					 "(cnlaunch: PrepareConfig: no) but the launch got this far"));
	CU_ASSERT_EQUAL(c->failed, 1);
	cn_check_free(c);
}

static void test_final_creds_explicit_sets_and_no_new_privs(void)
{
	_cleanup_policy_ struct cn_policy *p = one_rule(
		"\"stages\": [\"StartProcess\"], \"assert\": {\"final_creds\": {\"uid\": 65534, \"gid\": \"caller\","
		" \"caps\": {\"bounding\": [], \"effective\": []}, \"no_new_privs\": true}}");
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct json_object *s = stage(doc, "StartProcess");
	struct cn_check *c = check(p, doc);

	CU_ASSERT_PTR_NOT_NULL(violation(c, "r", "final creds are not the expected ones: no_new_privs 0 (want 1)"));
	cn_check_free(c);
	json_object_object_add(at(s, "creds.exit"), "no_new_privs", json_object_new_boolean(1));
	add_cap(at(s, "creds.exit"), "permitted", "CAP_CHOWN"); /* not a set the rule names */
	c = check(p, doc);
	print_failures(c);
	CU_ASSERT_TRUE(cn_check_passed(c));
	cn_check_free(c);
	json_object_object_del(at(s, "creds"), "exit");
	c = check(p, doc);
	CU_ASSERT_PTR_NOT_NULL(
		violation(c, "r", "StartProcess pid 104 (stage2): no final creds: the stage never returned"));
	cn_check_free(c);
}

static void test_forbidden_syscalls_in_each_scope(void)
{
	_cleanup_policy_ struct cn_policy *in_stage = one_rule(
		"\"stages\": [\"PrepareConfig\"], \"assert\": {\"forbidden_syscalls\": [\"openat\", \"ptrace\"]}");
	_cleanup_policy_ struct cn_policy *in_container =
		one_rule("\"scope\": \"container\", \"assert\": {\"forbidden_syscalls\": [\"write\"]}");
	_cleanup_policy_ struct cn_policy *in_launch = one_rule("\"scope\": \"launch\", \"roles\": [\"rpc_server\"], "
								"\"assert\": {\"forbidden_syscalls\": [\"ptrace\"]}");
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	const struct cn_violation *v;
	struct cn_check *c = check(in_stage, doc);

	v = violation(c, "r", "PrepareConfig pid 101 (stage1): forbidden syscall openat made 4 times (0 failed)");
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT_EQUAL(result(c, "r")->nviolations, 1);
	cn_check_free(c);
	c = check(in_container, doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "r", "pid 104 (stage2): forbidden syscall write made 1 time (0 failed)"));
	cn_check_free(c);
	c = check(in_launch, doc);
	CU_ASSERT_TRUE(cn_check_passed(c));
	cn_check_free(c);
	json_object_object_add(at(process(doc, 105), "syscalls"), "ptrace", parse("{\"count\": 2, \"errors\": 1}"));
	c = check(in_launch, doc);
	CU_ASSERT_PTR_NOT_NULL(
		violation(c, "r", "pid 105 (rpc_server): forbidden syscall ptrace made 2 times (1 failed)"));
	cn_check_free(c);
}

static void test_lost_events_and_an_incomplete_trace_are_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("userns");
	struct cn_check *c;

	json_object_object_add(at(doc, "tracer"), "lost_events", json_object_new_int(3));
	json_object_object_add(at(doc, "tracer"), "complete", json_object_new_boolean(0));
	c = check_builtin(doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "all.no-lost-events", "the tracer lost 3 events (at most 0 allowed)"));
	CU_ASSERT_PTR_NOT_NULL(violation(c, "all.no-lost-events", "not every process of the launch was seen to exit"));
	CU_ASSERT_EQUAL(c->failed, 1);
	cn_check_free(c);
}

static void test_a_process_without_a_role_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("userns");
	const struct cn_violation *v;
	struct cn_check *c;

	json_object_object_add(process(doc, 105), "role", json_object_new_string("other"));
	c = check_builtin(doc);
	v = violation(c, "all.roles-accounted", "pid 105 (other): cnlaunch is accounted to no role of the launch");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->pid, 105);
	cn_check_free(c);
}

static void test_a_launch_without_cleanuphost_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("root");
	struct json_object *stages = at(doc, "stages");
	const struct cn_violation *v;
	struct cn_check *c;

	for (size_t i = json_object_array_length(stages); i-- > 0;)
		if (strcmp(json_object_get_string(at(json_object_array_get_idx(stages, i), "name")), "CleanupHost") ==
		    0)
			json_object_array_del_idx(stages, i, 1);
	c = check_builtin(doc);
	v = violation(c, "all.cleanup-host-ran", "CleanupHost never ran");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v->stage, "CleanupHost");
	CU_ASSERT_EQUAL(v->pid, -1);
	cn_check_free(c);
}

/* scope launch: any process, any time, in the userns flow. */
static void test_userns_host_privilege_anywhere_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("userns");
	const struct cn_violation *v;
	struct cn_check *c;

	add_cap(at(process(doc, 102), "creds.start"), "effective", "CAP_SYS_ADMIN");
	c = check_builtin(doc);
	v = violation(c, "userns.no-host-privilege",
		      "pid 102 (post_start_host): host privilege at its start: effective CAP_SYS_ADMIN");
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT_EQUAL(result(c, "userns.no-host-privilege")->nviolations, 1);
	cn_check_free(c);
}

static void test_userns_host_capability_use_is_caught_with_its_stage(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("userns");
	const struct cn_violation *v;
	struct cn_check *c;

	json_object_array_add(
		at(doc, "capability_checks"),
		parse("{\"cap\": \"CAP_SYS_ADMIN\", \"granted\": true, \"host_ns\": true, \"syscall\": \"unshare\","
		      " \"count\": 1, \"pid\": 100, \"stage\": \"CreateContainer\"}"));
	c = check_builtin(doc);
	v = violation(
		c, "userns.no-host-privilege",
		"CreateContainer pid 100 (master): host capability CAP_SYS_ADMIN used in unshare (1 granted check)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v->stage, "CreateContainer");
	cn_check_free(c);
}

/* scope container: the container's processes, from the exec of the command on. */
static void test_fakeroot_container_with_host_privilege_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("fakeroot");
	const struct cn_violation *v;
	struct cn_check *c;

	set_id(at(phase(doc, 10), "creds.exit"), "uid", 1, 0);
	c = check_builtin(doc);
	v = violation(c, "fakeroot.startprocess.no-host-privilege",
		      "pid 106 (container): host privilege at the end of /bin/id: euid 0");
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT_EQUAL(c->failed, 1);
	cn_check_free(c);
}

static void test_fakeroot_startprocess_leaving_host_caps_is_caught(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("fakeroot");
	struct cn_check *c;

	json_object_object_add(at(stage(doc, "StartProcess"), "creds.exit"), "userns_level", json_object_new_int(0));
	c = check_builtin(doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "fakeroot.startprocess.no-host-privilege",
					 "StartProcess pid 104 (stage2): host privilege at exit: effective"));
	cn_check_free(c);
}

static void test_container_scope_starts_at_the_exec_of_the_command(void)
{
	_cleanup_policy_ struct cn_policy *p = one_rule("\"scope\": \"container\", \"assert\": {\"no_host_privilege\": "
							"true, \"no_host_capability_use\": true}");
	_cleanup_json_ struct json_object *doc = load_trace("fakeroot");
	struct cn_check *c;

	/* STAGE2 before its exec is not the container yet */
	set_id(at(phase(doc, 6), "creds.entry"), "uid", 2, 0);
	c = check(p, doc);
	print_failures(c);
	CU_ASSERT_TRUE(cn_check_passed(c));
	cn_check_free(c);
	json_object_array_add(
		at(phase(doc, 8), "capability_checks"),
		parse("{\"cap\": \"CAP_NET_ADMIN\", \"granted\": true, \"host_ns\": true, \"syscall\": \"ioctl\","
		      " \"count\": 1, \"pid\": 104}"));
	c = check(p, doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "r", "pid 104 (stage2): host capability CAP_NET_ADMIN used in ioctl"));
	cn_check_free(c);
}

static void test_roles_select_the_stage_entries_a_rule_looks_at(void)
{
	_cleanup_policy_ struct cn_policy *stage1 = one_rule(
		"\"stages\": [\"CleanupHost\"], \"roles\": [\"stage1\"], \"assert\": {\"no_host_privilege\": true}");
	_cleanup_policy_ struct cn_policy *cleanup =
		one_rule("\"stages\": [\"CleanupHost\"], \"roles\": [\"cleanup_host\"], \"assert\": "
			 "{\"no_host_privilege\": true}");
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct cn_check *c;

	set_id(at(stage(doc, "CleanupHost"), "creds.entry"), "uid", 0, 0);
	c = check(stage1, doc);
	CU_ASSERT_TRUE(cn_check_passed(c));
	cn_check_free(c);
	c = check(cleanup, doc);
	CU_ASSERT_PTR_NOT_NULL(violation(c, "r", "CleanupHost pid 103 (cleanup_host): host privilege at entry: uid 0"));
	cn_check_free(c);
}

/* ------------------------------------------------------------------ outputs */

static char *text_of(const struct cn_check *c)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	cn_check_print_text(f, c);
	fclose(f);
	return buf;
}

static void test_text_output_is_one_line_per_violation_and_a_summary(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct cn_check *c;
	char *text;

	c = check_builtin(doc);
	text = text_of(c);
	CU_ASSERT_STRING_EQUAL(text, "cntrace: check: 14 rules, 8 passed, 0 failed, 6 not applicable\n");
	free(text);
	cn_check_free(c);

	set_id(at(stage(doc, "PrepareConfig"), "creds.exit"), "uid", 2, 0);
	c = check_builtin(doc);
	text = text_of(c);
	CU_ASSERT_STRING_EQUAL(text, "cntrace: VIOLATION setuid.prepareconfig.dropped: PrepareConfig pid 101 (stage1): "
				     "host privilege at exit: suid 0\n"
				     "cntrace: check: 14 rules, 7 passed, 1 failed, 6 not applicable\n");
	free(text);
	cn_check_free(c);
}

static void test_json_output_has_the_documented_shape(void)
{
	static const char *const violation_keys[] = {"rule",	"stage",   "pid",    "role",
						     "syscall", "message", "before", "after"};
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_json_ struct json_object *reparsed = NULL;
	struct json_object *rules, *v;
	struct cn_check *c;

	set_id(at(stage(doc, "CleanupHost"), "creds.entry"), "uid", 1, 0);
	c = check_builtin(doc);
	o = cn_check_to_json(c);
	cn_check_free(c);
	/* what a consumer parses: the text itself */
	reparsed = json_tokener_parse(cn_json_string(o));
	CU_ASSERT_PTR_NOT_NULL_FATAL(reparsed);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(reparsed, "schema")), "cntrace.check/1");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(reparsed, "policy")), "builtin");
	CU_ASSERT_FALSE(json_object_get_boolean(at(reparsed, "passed")));
	CU_ASSERT_EQUAL(json_object_get_int(at(reparsed, "summary.failed")), 1);
	rules = at(reparsed, "rules");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rules), 14);
	for (size_t i = 0; i < 14; i++) {
		struct json_object *r = json_object_array_get_idx(rules, i);
		const char *status = json_object_get_string(at(r, "status"));

		CU_ASSERT_PTR_NOT_NULL(at(r, "id"));
		CU_ASSERT_PTR_NOT_NULL(at(r, "doc"));
		CU_ASSERT_TRUE(strcmp(status, "passed") == 0 || strcmp(status, "failed") == 0 ||
			       strcmp(status, "not_applicable") == 0);
		CU_ASSERT_TRUE(json_object_is_type(at(r, "violations"), json_type_array));
	}
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(reparsed, "rules[2].id")), "setuid.cleanuphost.dropped");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(reparsed, "rules[2].status")), "failed");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(reparsed, "rules[0].status")), "passed");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(reparsed, "rules[6].status")), "not_applicable");
	CU_ASSERT_PTR_NOT_NULL(at(reparsed, "rules[6].reason"));
	v = at(reparsed, "rules[2].violations[0]");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	for (size_t i = 0; i < sizeof(violation_keys) / sizeof(violation_keys[0]); i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(v, violation_keys[i], NULL));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(v, "rule")), "setuid.cleanuphost.dropped");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(v, "stage")), "CleanupHost");
	CU_ASSERT_EQUAL(json_object_get_int(at(v, "pid")), 103);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(at(v, "role")), "cleanup_host");
	CU_ASSERT_EQUAL(json_object_get_int(at(v, "after.uid[1]")), 0);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The XML must parse for real: python3's parser, and xmllint when it is installed. */
static void assert_xml_parses(const char *xml)
{
	char path[] = "/tmp/test_policy.junit.XXXXXX";
	char cmd[512];
	int fd = mkstemp(path);

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; "
		 "r = E.parse(sys.argv[1]).getroot(); sys.exit(r.tag != \"testsuite\")' %s",
		 path);
	CU_ASSERT_EQUAL(system(cmd), 0);
	if (access("/usr/bin/xmllint", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "/usr/bin/xmllint --noout %s", path);
		CU_ASSERT_EQUAL(system(cmd), 0);
	}
	unlink(path);
}

static void test_junit_has_a_testcase_per_rule_and_parses_as_xml(void)
{
	_cleanup_json_ struct json_object *doc = load_trace("setuid");
	struct cn_check *c;
	char *xml;

	set_id(at(stage(doc, "CleanupHost"), "creds.entry"), "uid", 1, 0);
	c = check_builtin(doc);
	xml = cn_check_junit(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_EQUAL(
		strncmp(xml,
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"cntrace policy builtin\" "
			"tests=\"14\" failures=\"1\" errors=\"0\" skipped=\"6\"",
			strlen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"cntrace policy builtin\" "
			       "tests=\"14\" failures=\"1\" errors=\"0\" skipped=\"6\"")),
		0);
	CU_ASSERT_EQUAL(count(xml, "<testsuite "), 1);
	CU_ASSERT_EQUAL(count(xml, "<testcase classname=\"cntrace.policy\" name=\""), 14);
	CU_ASSERT_EQUAL(count(xml, "<failure "), 1);
	CU_ASSERT_EQUAL(count(xml, "<skipped "), 6);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(xml, "<testcase classname=\"cntrace.policy\" name=\"setuid.cleanuphost.dropped\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "VIOLATION setuid.cleanuphost.dropped: CleanupHost pid 103 (cleanup_host): "
					   "host privilege at entry: euid 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml,
				      "<skipped message=\"not applicable: the trace&apos;s flow is setuid; the rule is "
				      "for root\"/>"));
	assert_xml_parses(xml);
	free(xml);
	cn_check_free(c);
}

static void test_junit_escapes_what_xml_cannot_carry(void)
{
	_cleanup_policy_ struct cn_policy *p = policy_from(
		"{\"schema\": \"cntrace.policy/1\", \"name\": \"a<b & \\\"c\\\"\", \"rules\": [{\"id\": \"r\", "
		"\"doc\": \"x < y & z > \\\"w\\\" \\u0001 ]]>\", \"assert\": {\"every_process_has_role\": true}}]}");
	_cleanup_json_ struct json_object *doc = load_trace("userns");
	struct cn_check *c;
	char *xml;

	json_object_object_add(process(doc, 105), "role", json_object_new_string("other"));
	json_object_object_add(process(doc, 105), "comm", json_object_new_string("<evil>&\x02"));
	c = check(p, doc);
	xml = cn_check_junit(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "name=\"cntrace policy a&lt;b &amp; &quot;c&quot;\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "&lt;evil&gt;&amp;?"));
	CU_ASSERT_PTR_NULL(strstr(xml, "<evil>"));
	assert_xml_parses(xml);
	free(xml);
	cn_check_free(c);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{"builtin policy has every rule of the table", test_builtin_policy_has_every_rule_of_the_table},
		{"builtin policy is policy/builtin.json", test_builtin_policy_is_policy_builtin_json},
		{"malformed policies are refused with path and reason", test_malformed_policies_are_refused_with_path_and_reason},
		{"policy file that is not JSON is refused naming it", test_policy_file_that_is_not_json_is_refused_naming_it},
		{"malformed traces are refused with one line", test_malformed_traces_are_refused_with_one_line},
		{"good traces pass the builtin policy in every flow", test_good_traces_pass_the_builtin_policy_in_every_flow},
		{"rules of other flows are not applicable with a reason", test_rules_of_other_flows_are_not_applicable_with_a_reason},
		{"stage rules do not apply to a trace without stage probes", test_stage_rules_do_not_apply_to_a_trace_without_stage_probes},
		{"setuid PrepareConfig keeping saved uid 0 is caught", test_setuid_prepareconfig_keeping_saved_uid_0_is_caught},
		{"setuid PrepareConfig regaining euid is caught", test_setuid_prepareconfig_regaining_euid_is_caught},
		{"setuid StartProcess raise is caught", test_setuid_startprocess_raise_is_caught},
		{"setuid CleanupHost host capability use is caught", test_setuid_cleanuphost_host_capability_use_is_caught},
		{"clone capability check is a use only when it made host namespaces", test_clone_capability_check_is_a_use_only_when_it_made_host_namespaces},
		{"allowed host capabilities name the capability outside the list", test_allowed_host_capabilities_name_the_capability_outside_the_list},
		{"setuid StartProcess final creds name what differs", test_setuid_startprocess_final_creds_name_what_differs},
		{"final creds without configured expect nothing for a user", test_final_creds_without_configured_expects_nothing_for_a_user},
		{"root final creds follow launch.configured", test_root_final_creds_follow_launch_configured},
		{"final creds after a refused configuration is a violation", test_final_creds_after_a_refused_configuration_is_a_violation},
		{"final creds explicit sets and no_new_privs", test_final_creds_explicit_sets_and_no_new_privs},
		{"forbidden syscalls in each scope", test_forbidden_syscalls_in_each_scope},
		{"lost events and an incomplete trace are caught", test_lost_events_and_an_incomplete_trace_are_caught},
		{"a process without a role is caught", test_a_process_without_a_role_is_caught},
		{"a launch without CleanupHost is caught", test_a_launch_without_cleanuphost_is_caught},
		{"userns host privilege anywhere is caught", test_userns_host_privilege_anywhere_is_caught},
		{"userns host capability use is caught with its stage", test_userns_host_capability_use_is_caught_with_its_stage},
		{"fakeroot container with host privilege is caught", test_fakeroot_container_with_host_privilege_is_caught},
		{"fakeroot StartProcess leaving host caps is caught", test_fakeroot_startprocess_leaving_host_caps_is_caught},
		{"container scope starts at the exec of the command", test_container_scope_starts_at_the_exec_of_the_command},
		{"roles select the stage entries a rule looks at", test_roles_select_the_stage_entries_a_rule_looks_at},
		{"text output is one line per violation and a summary", test_text_output_is_one_line_per_violation_and_a_summary},
		{"json output has the documented shape", test_json_output_has_the_documented_shape},
		{"junit has a testcase per rule and parses as xml", test_junit_has_a_testcase_per_rule_and_parses_as_xml},
		{"junit escapes what xml cannot carry", test_junit_escapes_what_xml_cannot_carry},
	};

	if (argc > 1)
		policies_dir = argv[1];
	if (argc > 2)
		builtin_path = argv[2];
	return unit_run("policy", tests, UNIT_N(tests));
}
