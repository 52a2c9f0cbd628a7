/* SPDX-License-Identifier: Apache-2.0
 *
 * Policies: the documented privilege guarantees as data (policy/README.md),
 * evaluated against a JSON trace (schema cntrace.trace/1). Rules in,
 * violations out; the outputs (text, JSON, JUnit XML) are built from the
 * result alone.
 */
#ifndef CN_TRACE_POLICY_H
#define CN_TRACE_POLICY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define CN_POLICY_SCHEMA "cntrace.policy/1"
#define CN_CHECK_SCHEMA "cntrace.check/1"

struct cn_policy;

/* A policy document; origin names it in errors ("policy.json: rules[3].id: ..."). */
struct cn_policy *cn_policy_parse(struct json_object *doc, const char *origin, struct cn_error *err);
/* A policy file. */
struct cn_policy *cn_policy_load(const char *path, struct cn_error *err);
/* policy/builtin.json, compiled in. */
struct cn_policy *cn_policy_builtin(struct cn_error *err);
/* The built-in policy's text. */
const char *cn_policy_builtin_text(void);
void cn_policy_free(struct cn_policy *p);
static inline void cn_policy_freep(struct cn_policy **p)
{
	cn_policy_free(*p);
}
#define _cleanup_policy_ __attribute__((cleanup(cn_policy_freep)))
const char *cn_policy_name(const struct cn_policy *p);
size_t cn_policy_rule_count(const struct cn_policy *p);

enum cn_rule_status {
	CN_RULE_PASSED = 0,
	CN_RULE_FAILED = 1,
	CN_RULE_NOT_APPLICABLE = 2,
};

struct cn_violation {
	const char *rule;
	char *stage;    /* NULL: not in a stage */
	int64_t pid;    /* -1: not about one process */
	char *role;     /* NULL when pid is -1 */
	char *syscall;  /* the syscall of the evidence, NULL when none */
	char *message;  /* what a user reads: "PrepareConfig pid 4711 (stage1): raise in setresuid: euid 65534->0" */
	struct json_object *before, *after, *expected; /* cred objects, or NULL */
};

struct cn_rule_result {
	char *id;
	char *doc;
	enum cn_rule_status status;
	char *reason; /* why it does not apply (CN_RULE_NOT_APPLICABLE) */
	struct cn_violation *violations;
	size_t nviolations, cap_violations;
};

struct cn_check {
	char *policy;  /* the policy's name */
	char *trace;   /* where the trace came from, for the outputs */
	char *flow;
	struct cn_rule_result *rules;
	size_t nrules;
	size_t passed, failed, not_applicable;
};

/*
 * Evaluate every rule of p against a trace document (as cn_json_read gives it).
 * origin names the trace in errors. NULL with err set when the trace is not one
 * (wrong schema, a field of the wrong type): nothing is evaluated then.
 */
struct cn_check *cn_policy_check(const struct cn_policy *p, struct json_object *trace, const char *origin,
				 struct cn_error *err);
void cn_check_free(struct cn_check *c);
static inline bool cn_check_passed(const struct cn_check *c)
{
	return c->failed == 0;
}

/* One "cntrace: VIOLATION RULE: ..." line per violation, then the summary line. */
void cn_check_print_text(FILE *f, const struct cn_check *c);
/* "cntrace: check: 14 rules, 13 passed, 1 failed, 0 not applicable" into buf. */
const char *cn_check_summary(const struct cn_check *c, char *buf, size_t size);
/* The JSON report (schema cntrace.check/1); the caller owns it. */
struct json_object *cn_check_to_json(const struct cn_check *c);

/* JUnit XML (trace/junit.c): one testsuite, one testcase per rule. malloc'ed. */
char *cn_check_junit(const struct cn_check *c);
int cn_check_write_junit(const struct cn_check *c, const char *path, struct cn_error *err);

#endif
