/* SPDX-License-Identifier: Apache-2.0
 *
 * CUnit: what the commands on saved traces decide, on the unit suites' golden
 * traces (tests/unit/policies, tests/unit/golden) and copies of them with one
 * thing changed: `cntrace diff` (trace/diff.c), `cntrace seccomp-profile`
 * (trace/allowlist.c) and the HTML report's escaping (trace/html.c).
 *
 * usage: test_saved POLICY_TRACES_DIR GOLDEN_DIR
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "allowlist.h"
#include "diff.h"
#include "html.h"
#include "json.h"

static const char *traces_dir = ".";
static const char *golden_dir = ".";

static struct json_object *load(const char *dir, const char *name)
{
	char path[4096];
	struct cn_error err;
	struct json_object *doc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	doc = cn_json_read(path, &err);
	if (!doc)
		fprintf(stderr, "\n%s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	return doc;
}

static struct json_object *copy(struct json_object *doc)
{
	return json_tokener_parse(json_object_to_json_string(doc));
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *sget(struct json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

/* The stages[] entry named name run by role. */
static struct json_object *stage(struct json_object *doc, const char *name, const char *role)
{
	struct json_object *a = get(doc, "stages");

	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *s = json_object_array_get_idx(a, i);

		if (strcmp(sget(s, "name"), name) == 0 && strcmp(sget(s, "role"), role) == 0)
			return s;
	}
	CU_FAIL_FATAL("no such stage in the golden trace");
	return NULL;
}

static struct json_object *diff(struct json_object *a, struct json_object *b)
{
	struct cn_error err;
	struct json_object *d = cn_diff_traces(a, "A.json", b, "B.json", &err);

	if (!d)
		fprintf(stderr, "\n%s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(sget(d, "schema"), CN_DIFF_SCHEMA);
	return d;
}

/* The change listed for a stage (role NULL: a scope), or NULL. */
static struct json_object *change(struct json_object *d, const char *name, const char *role)
{
	struct json_object *a = get(d, "changes");

	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *c = json_object_array_get_idx(a, i);

		if (strcmp(sget(c, "stage"), name) == 0 && (!role || (get(c, "role") && !strcmp(sget(c, "role"), role))))
			return c;
	}
	return NULL;
}

static bool has_string(struct json_object *a, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
			return true;
	return false;
}

static char *text_of(struct json_object *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cn_diff_print_text(f, d);
	fclose(f);
	return buf;
}

/* A copy of creds with cap added to the named set. */
static struct json_object *creds_plus(struct json_object *creds, const char *set, const char *cap)
{
	struct json_object *c = copy(creds);

	json_object_array_add(get(get(c, "caps"), set), json_object_new_string(cap));
	return c;
}

/* ---- diff */

static void test_diff_of_a_trace_with_itself_gains_nothing(void)
{
	static const char *const names[] = { "trace-setuid.json", "trace-userns.json", "trace-root.json",
					     "trace-fakeroot.json" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct json_object *a = load(traces_dir, names[i]), *b = copy(a);
		struct json_object *d = diff(a, b);
		char *text = text_of(d);

		CU_ASSERT_FALSE(cn_diff_gained(d));
		CU_ASSERT_EQUAL(json_object_array_length(get(d, "changes")), 0);
		CU_ASSERT_STRING_EQUAL(sget(d, "by"), "stage");
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "B.json gained nothing that A.json did not have"));
		free(text);
		json_object_put(d);
		json_object_put(a);
		json_object_put(b);
	}
}

static void test_diff_names_a_new_raise_per_thing_raised(void)
{
	struct json_object *a = load(traces_dir, "trace-setuid.json"), *b = copy(a), *d, *c, *r;
	struct json_object *s = stage(b, "PrepareConfig", "stage1");
	struct json_object *entry = get(get(s, "creds"), "entry");
	struct json_object *x = json_object_new_object(), *after = creds_plus(entry, "effective", "CAP_SYS_ADMIN");
	char *text;

	json_object_array_put_idx(get(after, "uid"), 1, json_object_new_int(0));
	json_object_object_add(x, "pid", json_object_new_int(101));
	json_object_object_add(x, "syscall", json_object_new_string("setresuid"));
	json_object_object_add(x, "kind", json_object_new_string("syscall"));
	json_object_object_add(x, "raise", json_object_new_boolean(1));
	json_object_object_add(x, "before", copy(entry));
	json_object_object_add(x, "after", after);
	json_object_array_add(get(s, "transitions"), x);
	d = diff(a, b);
	CU_ASSERT_TRUE(cn_diff_gained(d));
	c = change(d, "PrepareConfig", "stage1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(json_object_get_boolean(get(c, "gained")));
	CU_ASSERT_EQUAL(json_object_array_length(get(c, "new_raises")), 2);
	r = json_object_array_get_idx(get(c, "new_raises"), 0);
	CU_ASSERT_STRING_EQUAL(sget(r, "syscall"), "setresuid");
	CU_ASSERT_STRING_EQUAL(sget(r, "gain"), "euid 0");
	CU_ASSERT_TRUE(json_object_get_boolean(get(r, "host")));
	CU_ASSERT_EQUAL(json_object_get_int(get(r, "pid")), 101);
	CU_ASSERT_STRING_EQUAL(sget(json_object_array_get_idx(get(c, "new_raises"), 1), "gain"),
			       "effective +CAP_SYS_ADMIN");
	/* nothing else changed */
	CU_ASSERT_EQUAL(json_object_array_length(get(d, "changes")), 1);
	text = text_of(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "PrepareConfig (stage1): GAINED"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "new raise in setresuid (host, pid 101): euid 0, effective +CAP_SYS_ADMIN"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "B.json gained privilege that A.json did not have, in 1 of"));
	free(text);
	json_object_put(d);
	/* the same raise in A too: nothing new */
	json_object_put(a);
	a = copy(b);
	d = diff(a, b);
	CU_ASSERT_FALSE(cn_diff_gained(d));
	json_object_put(d);
	json_object_put(a);
	json_object_put(b);
}

static struct json_object *check(const char *cap, const char *syscall, bool granted, bool host, int pid)
{
	struct json_object *k = json_object_new_object();

	json_object_object_add(k, "cap", json_object_new_string(cap));
	json_object_object_add(k, "granted", json_object_new_boolean(granted));
	json_object_object_add(k, "host_ns", json_object_new_boolean(host));
	json_object_object_add(k, "syscall", json_object_new_string(syscall));
	json_object_object_add(k, "count", json_object_new_int(2));
	json_object_object_add(k, "pid", json_object_new_int(pid));
	return k;
}

static void test_diff_counts_host_capability_uses_not_the_kernel_s_own(void)
{
	struct json_object *a = load(traces_dir, "trace-setuid.json"), *b = copy(a), *d, *c, *k;
	struct json_object *checks = get(stage(b, "StartProcess", "stage2"), "capability_checks");

	/* the kernel's overcommit hint, a denial, a user-namespace check: none is a use */
	json_object_array_add(checks, check("CAP_SYS_ADMIN", "mmap", true, true, 104));
	json_object_array_add(checks, check("CAP_NET_ADMIN", "ioctl", false, true, 104));
	json_object_array_add(checks, check("CAP_NET_RAW", "socket", true, false, 104));
	d = diff(a, b);
	CU_ASSERT_FALSE(cn_diff_gained(d));
	json_object_put(d);
	json_object_array_add(checks, check("CAP_NET_ADMIN", "ioctl", true, true, 104));
	d = diff(a, b);
	CU_ASSERT_TRUE(cn_diff_gained(d));
	c = change(d, "StartProcess", "stage2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(get(c, "new_host_capabilities")), 1);
	k = json_object_array_get_idx(get(c, "new_host_capabilities"), 0);
	CU_ASSERT_STRING_EQUAL(sget(k, "cap"), "CAP_NET_ADMIN");
	CU_ASSERT_EQUAL(json_object_get_int(get(get(k, "syscalls"), "ioctl")), 2);
	json_object_put(d);
	json_object_put(a);
	json_object_put(b);
}

static void test_diff_new_syscalls_gain_and_lost_ones_do_not(void)
{
	struct json_object *a = load(traces_dir, "trace-setuid.json"), *b = copy(a), *d, *c;
	struct json_object *count = json_object_new_object();

	json_object_object_add(count, "count", json_object_new_int(1));
	json_object_object_add(count, "errors", json_object_new_int(0));
	json_object_object_add(get(stage(b, "PostStartHost", "post_start_host"), "syscalls"), "mount", count);
	json_object_object_del(get(stage(b, "PrepareConfig", "stage1"), "syscalls"), "openat");
	d = diff(a, b);
	CU_ASSERT_TRUE(cn_diff_gained(d));
	c = change(d, "PostStartHost", "post_start_host");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(has_string(get(c, "new_syscalls"), "mount"));
	CU_ASSERT_TRUE(json_object_get_boolean(get(c, "gained")));
	c = change(d, "PrepareConfig", "stage1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(has_string(get(c, "syscalls_no_longer_made"), "openat"));
	CU_ASSERT_FALSE(json_object_get_boolean(get(c, "gained")));
	CU_ASSERT_EQUAL(json_object_get_int(get(d, "units_gained")), 1);
	json_object_put(d);
	json_object_put(a);
	json_object_put(b);
}

static void test_diff_final_creds_gain_only_with_more_privilege(void)
{
	struct json_object *a = load(traces_dir, "trace-setuid.json"), *b = copy(a), *d, *c, *creds;

	/* fewer: a change, not a gain */
	creds = get(stage(a, "StartProcess", "stage2"), "creds");
	json_object_object_add(creds, "exit", creds_plus(get(creds, "exit"), "bounding", "CAP_NET_RAW"));
	d = diff(a, b);
	CU_ASSERT_FALSE(cn_diff_gained(d));
	c = change(d, "StartProcess", "stage2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_FALSE(json_object_get_boolean(get(get(c, "final_creds"), "gained")));
	CU_ASSERT_TRUE(has_string(get(get(c, "final_creds"), "changes"), "bounding"));
	json_object_put(d);
	/* more: a larger bounding set is a gain, and so is no_new_privs lost */
	d = diff(b, a);
	CU_ASSERT_TRUE(cn_diff_gained(d));
	CU_ASSERT_TRUE(json_object_get_boolean(get(get(change(d, "StartProcess", "stage2"), "final_creds"), "gained")));
	json_object_put(d);
	json_object_put(a);
	a = copy(b);
	creds = get(stage(a, "PostStartHost", "post_start_host"), "creds");
	json_object_object_add(get(creds, "exit"), "no_new_privs", json_object_new_boolean(1));
	d = diff(a, b);
	CU_ASSERT_TRUE(cn_diff_gained(d));
	CU_ASSERT_PTR_NOT_NULL(change(d, "PostStartHost", "post_start_host"));
	json_object_put(d);
	json_object_put(a);
	json_object_put(b);
}

static void test_diff_a_stage_in_one_trace_only(void)
{
	struct json_object *a = load(traces_dir, "trace-setuid.json"), *b = copy(a), *d, *c, *stages;

	stages = get(b, "stages");
	for (size_t i = 0; i < json_object_array_length(stages); i++)
		if (strcmp(sget(json_object_array_get_idx(stages, i), "name"), "PrepareConfig") == 0)
			json_object_array_del_idx(stages, i, 1);
	d = diff(a, b);
	CU_ASSERT_FALSE(cn_diff_gained(d)); /* gone is never a gain */
	c = change(d, "PrepareConfig", "stage1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(sget(c, "status"), "only_in_a");
	json_object_put(d);
	d = diff(b, a); /* and new, with syscalls of its own, is */
	c = change(d, "PrepareConfig", "stage1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(sget(c, "status"), "only_in_b");
	CU_ASSERT_TRUE(has_string(get(c, "new_syscalls"), "openat"));
	CU_ASSERT_TRUE(cn_diff_gained(d));
	json_object_put(d);
	json_object_put(a);
	json_object_put(b);
}

static void test_diff_container_scope_and_exec_traces(void)
{
	struct json_object *a = load(traces_dir, "trace-setuid.json"), *b = copy(a), *d, *c, *count;
	struct json_object *phases = get(b, "phases");

	/* the command's phase (/bin/id, from its exec on) is the container's */
	count = json_object_new_object();
	json_object_object_add(count, "count", json_object_new_int(3));
	json_object_object_add(count, "errors", json_object_new_int(0));
	json_object_object_add(get(json_object_array_get_idx(phases, 7), "syscalls"), "socket", count);
	d = diff(a, b);
	c = change(d, "container", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(has_string(get(c, "new_syscalls"), "socket"));
	json_object_put(d);
	json_object_put(a);
	json_object_put(b);
	/* a trace without stages is compared per program image */
	a = load(golden_dir, "empty_exec.json");
	b = copy(a);
	d = diff(a, b);
	CU_ASSERT_STRING_EQUAL(sget(d, "by"), "image");
	CU_ASSERT_FALSE(cn_diff_gained(d));
	json_object_put(d);
	json_object_put(a);
	json_object_put(b);
}

static void test_diff_refuses_what_is_not_a_trace(void)
{
	struct json_object *a = load(traces_dir, "trace-root.json");
	struct json_object *bad = json_tokener_parse("{\"schema\": \"cntrace.trace/1\", \"launch\": 3}");
	struct cn_error err;

	CU_ASSERT_PTR_NULL(cn_diff_traces(a, "A.json", bad, "B.json", &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "B.json: launch"));
	CU_ASSERT_PTR_NULL(cn_diff_traces(bad, "A.json", a, "B.json", &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "A.json"));
	json_object_put(bad);
	json_object_put(a);
}

/* ---- seccomp-profile */

static struct json_object *profile(struct json_object *doc, const char *const *stages, size_t n, bool kill,
				   struct cn_error *err)
{
	struct cn_allowlist_opts o = { .stages = stages, .nstages = n, .kill = kill };
	struct json_object *skipped = NULL, *p = cn_allowlist_build(doc, "t.json", &o, &skipped, err);

	json_object_put(skipped);
	return p;
}

static struct json_object *names_of(struct json_object *p)
{
	return get(json_object_array_get_idx(get(p, "syscalls"), 0), "names");
}

static void test_profile_is_startprocess_and_the_container(void)
{
	struct json_object *doc = load(traces_dir, "trace-setuid.json"), *p, *names, *count;
	struct cn_error err;

	/* the container's SIGCHLD handler returned: the trace counts rt_sigreturn as "none" */
	count = json_object_new_object();
	json_object_object_add(count, "count", json_object_new_int(1));
	json_object_object_add(count, "errors", json_object_new_int(0));
	json_object_object_add(get(json_object_array_get_idx(get(doc, "phases"), 7), "syscalls"), "none", count);
	p = profile(doc, NULL, 0, false, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(sget(p, "defaultAction"), "SCMP_ACT_ERRNO");
	CU_ASSERT_EQUAL(json_object_get_int(get(p, "defaultErrnoRet")), 1);
	CU_ASSERT_STRING_EQUAL(sget(json_object_array_get_idx(get(p, "syscalls"), 0), "action"), "SCMP_ACT_ALLOW");
	names = names_of(p);
	/* StartProcess: capset, prctl; the command: execve, write, rt_sigreturn; sorted */
	CU_ASSERT_EQUAL(json_object_array_length(names), 5);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(names, 0)), "capset");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(names, 1)), "execve");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(names, 2)), "prctl");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(names, 3)), "rt_sigreturn");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(names, 4)), "write");
	json_object_put(p);
	json_object_put(doc);
}

static void test_profile_stages_arch_and_action(void)
{
	struct json_object *doc = load(traces_dir, "trace-setuid.json"), *p, *arches;
	static const char *const container[] = { "container" }, *const prep[] = { "PrepareConfig", "container" };
	struct cn_error err;

	p = profile(doc, container, 1, true, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(sget(p, "defaultAction"), "SCMP_ACT_KILL_PROCESS");
	CU_ASSERT_PTR_NULL(get(p, "defaultErrnoRet"));
	CU_ASSERT_EQUAL(json_object_array_length(names_of(p)), 2); /* execve, write */
	json_object_put(p);
	p = profile(doc, prep, 2, false, &err);
	CU_ASSERT_TRUE(has_string(names_of(p), "openat"));
	CU_ASSERT_FALSE(has_string(names_of(p), "capset"));
	json_object_put(p);
	/* the traced machine's architecture, and the ABIs beside it, as runc lists them */
	json_object_object_add(get(doc, "tracer"), "arch", json_object_new_string("aarch64"));
	p = profile(doc, NULL, 0, false, &err);
	arches = get(p, "architectures");
	CU_ASSERT_EQUAL(json_object_array_length(arches), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(arches, 0)), "SCMP_ARCH_AARCH64");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(arches, 1)), "SCMP_ARCH_ARM");
	json_object_put(p);
	json_object_object_add(get(doc, "tracer"), "arch", json_object_new_string("x86_64"));
	p = profile(doc, NULL, 0, false, &err);
	CU_ASSERT_EQUAL(json_object_array_length(get(p, "architectures")), 3);
	json_object_put(p);
	json_object_put(doc);
}

static void test_profile_refusals(void)
{
	struct json_object *root = load(traces_dir, "trace-root.json"), *lossy = load(golden_dir, "empty_exec.json");
	static const char *const config[] = { "Config" }, *const bogus[] = { "Bogus" };
	struct cn_error err;

	CU_ASSERT_PTR_NULL(profile(root, config, 1, false, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.json: no Config stage in the trace (it has: PrepareConfig,"));
	CU_ASSERT_PTR_NULL(profile(root, bogus, 1, false, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"Bogus\" is not a stage"));
	CU_ASSERT_PTR_NULL(profile(lossy, NULL, 0, false, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lost 2 events"));
	CU_ASSERT_TRUE(cn_allowlist_stage_known("container"));
	CU_ASSERT_TRUE(cn_allowlist_stage_known("CleanupHost"));
	CU_ASSERT_FALSE(cn_allowlist_stage_known("cleanuphost"));
	json_object_put(root);
	json_object_put(lossy);
}

/* ---- the HTML report */

static void test_html_carries_hostile_names_as_data(void)
{
	struct json_object *doc = load(traces_dir, "trace-setuid.json"), *p0, *data;
	struct cn_error err;
	char *html, *start, *end;
	size_t scripts = 0;

	p0 = json_object_array_get_idx(get(doc, "processes"), 0);
	json_object_object_add(p0, "comm", json_object_new_string("</script><script>alert(1)</script>"));
	json_object_object_add(json_object_array_get_idx(get(p0, "execs"), 0), "filename",
			       json_object_new_string("/x/<img src=x onerror=alert(2)>&amp;\xe2\x80\xa8"));
	html = cn_html_report(doc, "<t>.json", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(html);
	CU_ASSERT_PTR_NULL(strstr(html, "<script>alert"));
	CU_ASSERT_PTR_NULL(strstr(html, "<img"));
	CU_ASSERT_PTR_NULL(strstr(html, "<t>.json"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(html, "\\u2028"));
	for (const char *s = html; (s = strstr(s, "<script")); s++)
		scripts++;
	CU_ASSERT_EQUAL(scripts, 2);
	/* the data is JSON the page can read, with every stage and process of the trace */
	start = strstr(html, "id=\"cntrace-data\">");
	CU_ASSERT_PTR_NOT_NULL_FATAL(start);
	start += strlen("id=\"cntrace-data\">");
	end = strstr(start, "</script>");
	CU_ASSERT_PTR_NOT_NULL_FATAL(end);
	*end = '\0';
	/* a line separator is an end of line to older JS parsers: escaped in the script's data */
	CU_ASSERT_PTR_NULL(strstr(start, "\xe2\x80\xa8"));
	data = json_tokener_parse(start);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_EQUAL(json_object_array_length(get(data, "stages")), json_object_array_length(get(doc, "stages")));
	CU_ASSERT_EQUAL(json_object_array_length(get(data, "processes")),
			json_object_array_length(get(doc, "processes")));
	CU_ASSERT_STRING_EQUAL(sget(json_object_array_get_idx(get(data, "processes"), 0), "comm"),
			       "</script><script>alert(1)</script>");
	json_object_put(data);
	free(html);
	json_object_put(doc);
}

static void test_html_escape(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cn_html_escape(f, "<a href='x'>\"&\"</a>");
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;");
	free(buf);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{"diff of a trace with itself gains nothing", test_diff_of_a_trace_with_itself_gains_nothing},
		{"diff names a new raise per thing raised", test_diff_names_a_new_raise_per_thing_raised},
		{"diff counts host capability uses, not the kernel's own", test_diff_counts_host_capability_uses_not_the_kernel_s_own},
		{"diff: new syscalls gain, lost ones do not", test_diff_new_syscalls_gain_and_lost_ones_do_not},
		{"diff: final creds gain only with more privilege", test_diff_final_creds_gain_only_with_more_privilege},
		{"diff: a stage in one trace only", test_diff_a_stage_in_one_trace_only},
		{"diff: the container scope, and exec traces", test_diff_container_scope_and_exec_traces},
		{"diff refuses what is not a trace", test_diff_refuses_what_is_not_a_trace},
		{"profile is StartProcess and the container", test_profile_is_startprocess_and_the_container},
		{"profile: stages, arch and action", test_profile_stages_arch_and_action},
		{"profile refusals", test_profile_refusals},
		{"html carries hostile names as data", test_html_carries_hostile_names_as_data},
		{"html escape", test_html_escape},
	};

	if (argc > 2) {
		traces_dir = argv[1];
		golden_dir = argv[2];
	}
	return unit_run("saved traces", tests, UNIT_N(tests));
}
