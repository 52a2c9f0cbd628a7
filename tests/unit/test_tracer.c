/* SPDX-License-Identifier: Apache-2.0
 *
 * CUnit: the tracer's pure logic: cred diffing and the raise rules, capability
 * and syscall naming, the model built from synthetic kernel records, and the
 * JSON writer against golden documents.
 *
 * usage: test_tracer GOLDEN_DIR   (CNTRACE_UPDATE_GOLDEN=1 rewrites the golden files)
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core_btf.h"
#include "creds.h"
#include "json.h"
#include "model.h"
#include "names.h"
#include "spool.h"
#include "stage.h"
#include "tp_btf.h"
#include <bpf/btf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *golden_dir = ".";

#define CAP(c) (1ull << (c))
#define ALL_CAPS ((1ull << (CN_CAP_LAST + 1)) - 1)

static struct cn_creds user_creds(uint32_t uid)
{
	struct cn_creds c;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 4; i++) {
		c.uid[i] = uid;
		c.gid[i] = uid;
	}
	c.cap_bounding = ALL_CAPS;
	c.userns_inum = 4026531837u;
	return c;
}

static struct cn_creds root_creds(void)
{
	struct cn_creds c = user_creds(0);

	c.cap_effective = c.cap_permitted = ALL_CAPS;
	return c;
}

/* ---- creds ---- */

static void test_diff_names_each_changed_field(void)
{
	struct cn_creds a = user_creds(1000), b = a;

	CU_ASSERT_EQUAL(cn_creds_diff(&a, &b), 0);
	b.uid[1] = 0;
	b.cap_ambient = CAP(21);
	b.no_new_privs = 1;
	b.seccomp = CN_SECCOMP_FILTER;
	CU_ASSERT_EQUAL(cn_creds_diff(&a, &b), CN_CRED_UID | CN_CRED_AMBIENT | CN_CRED_NO_NEW_PRIVS | CN_CRED_SECCOMP);
	b = a;
	b.userns_level = 1;
	b.userns_inum = 4026532000u;
	b.ngroups = 3;
	b.securebits = 0x10;
	CU_ASSERT_EQUAL(cn_creds_diff(&a, &b), CN_CRED_USERNS | CN_CRED_GROUPS | CN_CRED_SECUREBITS);
	CU_ASSERT_STRING_EQUAL(cn_cred_field_name(CN_CRED_EFFECTIVE), "effective");
	CU_ASSERT_STRING_EQUAL(cn_cred_field_name(CN_CRED_USERNS), "userns");
}

static void test_host_privilege_is_uid_zero_or_host_caps(void)
{
	struct cn_creds c = user_creds(1000);

	CU_ASSERT_FALSE(cn_creds_host_privileged(&c));
	c.uid[2] = 0; /* a saved uid of 0 is enough to get root back */
	CU_ASSERT_TRUE(cn_creds_host_privileged(&c));
	c = user_creds(1000);
	c.cap_permitted = CAP(21);
	CU_ASSERT_TRUE(cn_creds_host_privileged(&c));
	c.userns_level = 1; /* the same caps inside a user namespace are not host privilege */
	CU_ASSERT_FALSE(cn_creds_host_privileged(&c));
	c = user_creds(1000);
	c.cap_bounding = ALL_CAPS; /* a full bounding set alone grants nothing */
	CU_ASSERT_FALSE(cn_creds_host_privileged(&c));
}

static void test_setuid_exec_is_a_host_raise(void)
{
	struct cn_creds before = user_creds(1000), after = before;

	after.uid[1] = after.uid[2] = after.uid[3] = 0;
	after.cap_effective = after.cap_permitted = ALL_CAPS;
	CU_ASSERT_TRUE(cn_creds_host_raise(&before, &after));
	CU_ASSERT_TRUE(cn_creds_raise(&before, &after));
	/* and back down: a drop is no raise */
	CU_ASSERT_FALSE(cn_creds_raise(&after, &before));
	CU_ASSERT_FALSE(cn_creds_host_raise(&after, &before));
}

static void test_regaining_euid_from_saved_uid_is_a_host_raise(void)
{
	struct cn_creds before = user_creds(1000), after;

	before.uid[2] = 0; /* already privileged through the saved uid */
	before.cap_permitted = ALL_CAPS;
	after = before;
	after.uid[1] = after.uid[3] = 0;
	after.cap_effective = ALL_CAPS;
	CU_ASSERT_TRUE(cn_creds_host_raise(&before, &after));
}

static void test_caps_in_a_new_userns_raise_but_not_on_the_host(void)
{
	struct cn_creds before = user_creds(1000), after = before;

	after.userns_level = 1;
	after.userns_inum = 4026532001u;
	after.cap_effective = after.cap_permitted = ALL_CAPS;
	CU_ASSERT_TRUE(cn_creds_raise(&before, &after));
	CU_ASSERT_FALSE(cn_creds_host_raise(&before, &after));
}

static void test_dropping_bounding_or_effective_is_no_raise(void)
{
	struct cn_creds before = root_creds(), after = before;

	after.cap_bounding &= ~CAP(21);
	after.cap_effective = 0;
	CU_ASSERT_FALSE(cn_creds_raise(&before, &after));
	/* but adding one back to effective from permitted is */
	CU_ASSERT_TRUE(cn_creds_raise(&after, &before));
}

static void test_creds_json_round_trip(void)
{
	struct cn_creds c = user_creds(1000), back;
	struct json_object *o;

	c.uid[1] = 0;
	c.cap_effective = CAP(21) | CAP(12);
	c.cap_ambient = CAP(10);
	c.securebits = 0x2f;
	c.no_new_privs = 1;
	c.seccomp = CN_SECCOMP_FILTER;
	c.userns_level = 2;
	c.ngroups = 4;
	o = cn_creds_to_json(&c);
	CU_ASSERT_EQUAL(cn_creds_from_json(o, &back), 0);
	back.userns_inum = c.userns_inum; /* written as "userns" */
	CU_ASSERT_EQUAL(cn_creds_diff(&c, &back), 0);
	json_object_put(o);
	CU_ASSERT_EQUAL(cn_creds_from_json(NULL, &back), -1);
}

/* ---- names ---- */

static void test_capability_names(void)
{
	char buf[16];

	CU_ASSERT_STRING_EQUAL(cn_cap_name(0, buf), "CAP_CHOWN");
	CU_ASSERT_STRING_EQUAL(cn_cap_name(21, buf), "CAP_SYS_ADMIN");
	CU_ASSERT_STRING_EQUAL(cn_cap_name(40, buf), "CAP_CHECKPOINT_RESTORE");
	CU_ASSERT_STRING_EQUAL(cn_cap_name(41, buf), "CAP_41");
	CU_ASSERT_EQUAL(cn_cap_from_name("CAP_SYS_ADMIN"), 21);
	CU_ASSERT_EQUAL(cn_cap_from_name("net_admin"), 12);
	CU_ASSERT_EQUAL(cn_cap_from_name("CAP_NOPE"), -1);
	for (int c = 0; c <= CN_CAP_LAST; c++)
		CU_ASSERT_EQUAL(cn_cap_from_name(cn_cap_name(c, buf)), c);
}

static void test_syscall_names(void)
{
	int nr = cn_syscall_from_name("openat");

	CU_ASSERT(nr >= 0);
	CU_ASSERT_STRING_EQUAL(cn_syscall_name(nr), "openat");
	CU_ASSERT_PTR_NULL(cn_syscall_name(-1));
	CU_ASSERT_STRING_EQUAL(cn_syscall_name(999), "syscall_999");
	CU_ASSERT_EQUAL(cn_syscall_from_name("syscall_999"), 999);
}

static void test_role_and_seccomp_names(void)
{
	CU_ASSERT_STRING_EQUAL(cn_trace_role_name(CN_ROLE_RPC_SERVER), "rpc_server");
	CU_ASSERT_STRING_EQUAL(cn_trace_role_name(CN_TR_ROLE_CONTAINER), "container");
	CU_ASSERT_STRING_EQUAL(cn_trace_role_name(CN_TR_ROLE_OTHER), "other");
	CU_ASSERT_STRING_EQUAL(cn_seccomp_name(CN_SECCOMP_FILTER), "filter");
	CU_ASSERT_STRING_EQUAL(cn_seccomp_name(CN_SECCOMP_DISABLED), "disabled");
}

/* ---- the model, from synthetic records ---- */

static void hdr(struct cn_ev_hdr *h, uint32_t type, uint64_t ts, uint32_t pid, uint32_t tid, uint32_t instance,
		uint32_t phase, uint8_t stage, uint8_t role, int32_t nr)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->ts = ts;
	h->pid = pid;
	h->tid = tid;
	h->instance = instance;
	h->phase = phase;
	h->stage = stage;
	h->role = role;
	h->syscall = nr;
}

static void feed_init(struct cn_trace *tr, uint64_t ts, uint32_t pid, const struct cn_creds *c)
{
	struct cn_ev_creds e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_INIT, ts, pid, pid, 0, CN_TR_SEED_PHASE, 0, CN_ROLE_STARTER, 0);
	e.creds = *c;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void feed_exec(struct cn_trace *tr, uint64_t ts, uint32_t pid, uint32_t old_phase, uint32_t phase,
		      uint32_t instance, uint8_t stage, uint8_t role, const char *file, const struct cn_creds *c)
{
	struct cn_ev_exec e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_EXEC, ts, pid, pid, instance, phase, stage, role, 59);
	e.old_tid = pid;
	e.old_phase = old_phase;
	e.ino = 1234;
	e.dev = 42;
	snprintf(e.filename, sizeof(e.filename), "%s", file);
	snprintf(e.comm, sizeof(e.comm), "%s", strrchr(file, '/') + 1);
	e.creds = *c;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void feed_stage(struct cn_trace *tr, uint32_t type, uint64_t ts, uint32_t pid, uint32_t instance,
		       uint32_t parent, uint8_t stage, uint8_t role, uint32_t phase, const struct cn_creds *c)
{
	struct cn_ev_stage e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, type, ts, pid, pid, instance, phase, stage, role, -1);
	e.parent_instance = parent;
	e.stage = stage;
	e.role = role;
	e.creds = *c;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void feed_fork(struct cn_trace *tr, uint64_t ts, uint32_t ppid, uint32_t child, uint32_t instance,
		      uint8_t stage, uint8_t role, uint32_t phase, uint32_t child_phase, uint64_t flags,
		      const struct cn_creds *c)
{
	struct cn_ev_fork e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_FORK, ts, ppid, ppid, instance, phase, stage, role, 435);
	e.clone_flags = flags;
	e.child_pid = e.child_tid = child;
	e.child_phase = child_phase;
	snprintf(e.comm, sizeof(e.comm), "cnlaunch");
	e.creds = *c;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void feed_cred(struct cn_trace *tr, uint64_t ts, uint32_t pid, uint32_t instance, uint8_t stage,
		      uint8_t role, uint32_t phase, int32_t nr, const struct cn_creds *c)
{
	struct cn_ev_creds e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_CRED, ts, pid, pid, instance, phase, stage, role, nr);
	e.creds = *c;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void feed_role(struct cn_trace *tr, uint64_t ts, uint32_t pid, uint32_t phase, uint8_t role)
{
	struct cn_ev_role e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_ROLE, ts, pid, pid, 0, phase, 0, role, -1);
	e.role = role;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void feed_exit(struct cn_trace *tr, uint64_t ts, uint32_t pid, uint32_t instance, uint8_t stage,
		      uint32_t phase, uint32_t status, const struct cn_creds *c)
{
	struct cn_ev_exit e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_EXIT, ts, pid, pid, instance, phase, stage, 0, 231);
	e.exit_code = status;
	e.group_dead = 1;
	e.creds = *c;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void count(struct cn_trace *tr, uint32_t pid, uint32_t instance, uint32_t phase, int nr, uint64_t n,
		  uint64_t errors)
{
	struct cn_sc_key k = { pid, instance, phase, nr };
	struct cn_sc_val v = { n, errors };

	cn_trace_add_count(tr, &k, &v);
}

static void cap_check(struct cn_trace *tr, uint32_t pid, uint32_t instance, uint8_t stage, uint32_t phase,
		      int cap, uint8_t flags, int nr, uint64_t n, uint64_t ts)
{
	struct cn_cap_key k;
	struct cn_cap_val v = { n, ts, ts + 10 };

	memset(&k, 0, sizeof(k));
	k.pid = pid;
	k.instance = instance;
	k.phase = phase;
	k.nr = nr;
	k.cap = (uint8_t)cap;
	k.flags = flags;
	k.stage = stage;
	cn_trace_add_cap_check(tr, &k, &v);
}

/*
 * A small setuid launch: user 1000 execs a setuid launcher (raise), drops its
 * euid, forks STAGE1 which runs PrepareConfig, a container child whose
 * StartProcess drops everything and execs /bin/sh.
 */
static struct cn_trace *setuid_launch(void)
{
	struct cn_trace *tr = cn_trace_new(100, CN_ROLE_STARTER, 1000);
	struct cn_creds user = user_creds(1000), suid = user, master = user, ns;

	suid.uid[1] = suid.uid[2] = suid.uid[3] = 0;
	suid.cap_effective = suid.cap_permitted = ALL_CAPS;
	master.uid[2] = 0;
	master.cap_permitted = ALL_CAPS;

	tr->mode = "run";
	tr->caller_uid = tr->caller_gid = 1000; /* the --as user ran the launcher */
	tr->as_user = true;
	tr->as_uid = tr->as_gid = 1000;
	tr->complete = true;
	feed_init(tr, 1001, 100, &user);
	feed_exec(tr, 1002, 100, CN_TR_SEED_PHASE, 2, 0, 0, CN_ROLE_STARTER, "/opt/cnlaunch", &suid);
	feed_cred(tr, 1003, 100, 0, 0, CN_ROLE_STARTER, 2, 117, &master); /* setresuid: drop the euid */
	feed_role(tr, 1004, 100, 2, CN_ROLE_MASTER);
	feed_fork(tr, 1005, 100, 101, 0, 0, CN_ROLE_MASTER, 2, 3, 0, &master);
	feed_role(tr, 1006, 101, 3, CN_ROLE_STAGE1);
	feed_cred(tr, 1007, 101, 0, 0, CN_ROLE_STAGE1, 3, 117, &user); /* the permanent drop */
	feed_stage(tr, CN_EV_STAGE_ENTER, 1008, 101, 4, 0, CN_STAGE_PREPARE_CONFIG, CN_ROLE_STAGE1, 3, &user);
	count(tr, 101, 4, 3, 257, 3, 1);
	feed_stage(tr, CN_EV_STAGE_EXIT, 1009, 101, 4, 0, CN_STAGE_PREPARE_CONFIG, CN_ROLE_STAGE1, 3, &user);
	feed_exit(tr, 1010, 101, 0, 0, 3, 0, &user);

	feed_stage(tr, CN_EV_STAGE_ENTER, 1011, 100, 5, 0, CN_STAGE_CREATE_CONTAINER, CN_ROLE_MASTER, 2, &master);
	ns = master;
	feed_fork(tr, 1012, 100, 102, 5, CN_STAGE_CREATE_CONTAINER, CN_ROLE_MASTER, 2, 6, 0x20000000 | 0x00020000,
		  &ns);
	cap_check(tr, 100, 5, CN_STAGE_CREATE_CONTAINER, 2, 21, CN_CAP_GRANTED | CN_CAP_HOST | CN_CAP_CRED_HOST,
		  435, 2, 1012);
	count(tr, 100, 5, 2, 435, 1, 0);
	feed_role(tr, 1013, 102, 6, CN_ROLE_STAGE2);
	feed_stage(tr, CN_EV_STAGE_EXIT, 1014, 100, 5, 0, CN_STAGE_CREATE_CONTAINER, CN_ROLE_MASTER, 2, &master);
	feed_stage(tr, CN_EV_STAGE_ENTER, 1015, 102, 7, 5, CN_STAGE_START_PROCESS, CN_ROLE_STAGE2, 6, &ns);
	feed_cred(tr, 1016, 102, 7, CN_STAGE_START_PROCESS, CN_ROLE_STAGE2, 6, 117, &user);
	cap_check(tr, 102, 7, CN_STAGE_START_PROCESS, 6, 8, CN_CAP_GRANTED | CN_CAP_HOST | CN_CAP_CRED_HOST, 157,
		  26, 1016);
	cap_check(tr, 102, 7, CN_STAGE_START_PROCESS, 6, 8, CN_CAP_GRANTED | CN_CAP_HOST | CN_CAP_CRED_HOST, 157,
		  4, 1016); /* same check, counted on another CPU's map entry: adds up */
	count(tr, 102, 7, 6, 117, 1, 0);
	feed_exec(tr, 1017, 102, 6, 8, 7, CN_STAGE_START_PROCESS, CN_ROLE_STAGE2, "/bin/sh", &user);
	{
		struct cn_ev_stage e;

		memset(&e, 0, sizeof(e));
		hdr(&e.h, CN_EV_STAGE_EXIT, 1017, 102, 102, 7, 8, CN_STAGE_START_PROCESS, CN_ROLE_STAGE2, -1);
		e.stage = CN_STAGE_START_PROCESS;
		e.by_exec = 1;
		e.creds = user;
		cn_trace_add_event(tr, &e, sizeof(e));
	}
	count(tr, 102, 0, 8, 59, 1, 0);
	count(tr, 102, 0, 8, 1, 5, 0);
	feed_exit(tr, 1018, 102, 0, 0, 8, 3 << 8, &user);
	feed_exit(tr, 1019, 100, 0, 0, 2, 3 << 8, &master);
	tr->exit_status = 3 << 8;
	tr->end_ns = 1019;
	cn_trace_finish(tr);
	return tr;
}

static void test_model_follows_roles_stages_and_transitions(void)
{
	struct cn_trace *tr = setuid_launch();
	const struct cn_tr_process *p;
	const struct cn_tr_stage *s;

	CU_ASSERT_EQUAL(tr->nprocs, 3);
	CU_ASSERT_EQUAL(tr->live, 0);
	p = cn_trace_process(tr, 100);
	CU_ASSERT_EQUAL_FATAL(p != NULL, 1);
	CU_ASSERT_EQUAL(p->role, CN_ROLE_MASTER);
	CU_ASSERT_EQUAL(p->nroles, 2);
	p = cn_trace_process(tr, 102);
	CU_ASSERT_EQUAL(p->role, CN_ROLE_STAGE2); /* keeps its role; the history ends with container */
	CU_ASSERT_EQUAL(p->roles[p->nroles - 1], CN_TR_ROLE_CONTAINER);
	CU_ASSERT_EQUAL(p->ppid, 100);
	CU_ASSERT_EQUAL(cn_wait_status_code((int)p->wait_status), 3);
	s = cn_trace_stage(tr, 7);
	CU_ASSERT_EQUAL_FATAL(s != NULL, 1);
	CU_ASSERT_TRUE(s->exited);
	CU_ASSERT_TRUE(s->by_exec);
	/* init + setuid exec + euid drop + stage1 drop + StartProcess drop; the fork with equal creds is none */
	CU_ASSERT_EQUAL(tr->ntransitions, 4);
	CU_ASSERT_TRUE(tr->transitions[0].host_raise);
	CU_ASSERT_EQUAL(tr->transitions[0].kind, CN_TR_EXEC);
	CU_ASSERT_FALSE(tr->transitions[1].raise);
	CU_ASSERT_STRING_EQUAL(cn_trace_flow(tr), "setuid");
	CU_ASSERT_EQUAL(cn_trace_lost(tr), 0);
	cn_trace_free(tr);
}

static void test_model_counts_malformed_records(void)
{
	struct cn_trace *tr = cn_trace_new(1, CN_ROLE_STARTER, 0);
	char junk[4] = { 1, 2, 3, 4 };
	struct cn_ev_hdr h;

	CU_ASSERT_EQUAL(cn_trace_add_event(tr, junk, sizeof(junk)), -1);
	memset(&h, 0, sizeof(h));
	h.type = 99;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &h, sizeof(h)), -1);
	h.type = CN_EV_EXEC; /* too short for an exec record */
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &h, sizeof(h)), -1);
	CU_ASSERT_EQUAL(tr->bad_records, 3);
	CU_ASSERT_EQUAL(cn_trace_lost(tr), 3);
	cn_trace_free(tr);
}

static void test_model_flow_userns_and_root(void)
{
	struct cn_trace *tr = cn_trace_new(1, CN_ROLE_STARTER, 0);

	tr->as_user = true;
	tr->as_uid = tr->caller_uid = 65534;
	CU_ASSERT_STRING_EQUAL(cn_trace_flow(tr), "userns");
	tr->as_user = false;
	tr->caller_uid = 0;
	CU_ASSERT_STRING_EQUAL(cn_trace_flow(tr), "root");
	tr->flow = "fakeroot";
	CU_ASSERT_STRING_EQUAL(cn_trace_flow(tr), "fakeroot");
	cn_trace_free(tr);
}

/* ---- JSON writer against golden documents ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t size = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &size, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void check_golden(const char *name, struct cn_trace *tr)
{
	char path[4096];
	struct json_object *doc = cn_trace_to_json(tr);
	const char *text = cn_json_string(doc);
	char *want;

	snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
	if (getenv("CNTRACE_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "we");

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fprintf(f, "%s\n", text);
		fclose(f);
	}
	want = slurp(path);
	CU_ASSERT_PTR_NOT_NULL(want);
	if (want) {
		want[strcspn(want, "\0")] = '\0';
		if (strlen(want) && want[strlen(want) - 1] == '\n')
			want[strlen(want) - 1] = '\0';
		CU_ASSERT_STRING_EQUAL(text, want);
		if (strcmp(text, want) != 0)
			fprintf(stderr, "\n%s differs; rerun with CNTRACE_UPDATE_GOLDEN=1 to see the new text\n", path);
	}
	free(want);
	json_object_put(doc);
}

static void test_json_setuid_launch_matches_golden(void)
{
	struct cn_trace *tr = setuid_launch();
	static char *argv[] = { "/opt/cnlaunch", "--", "/bin/sh", NULL };

	tr->argv = argv;
	tr->launcher = "/opt/cnlaunch";
	check_golden("setuid_launch.json", tr);
	cn_trace_free(tr);
}

static void test_json_empty_exec_matches_golden(void)
{
	struct cn_trace *tr = cn_trace_new(7, CN_TR_ROLE_OTHER, 50);
	static char *argv[] = { "/bin/true", NULL };
	struct cn_creds root = root_creds();

	tr->mode = "exec";
	tr->argv = argv;
	tr->full_syscalls = true;
	tr->losses[CN_LOSS_SYSCALL_LOG] = 2;
	feed_init(tr, 51, 7, &root);
	feed_exit(tr, 52, 7, 0, 0, CN_TR_SEED_PHASE, 9 /* SIGKILL */, &root);
	tr->exit_status = 9;
	cn_trace_finish(tr);
	check_golden("empty_exec.json", tr);
	cn_trace_free(tr);
}

/* json-c's pretty text with tabs: each line's two spaces a level made one tab. */
static char *spaces_to_tabs(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;
	bool line_start = true;
	size_t n = 0;

	for (const char *p = text; out && *p; p++) {
		if (line_start && *p == ' ') {
			n++;
			continue;
		}
		for (; line_start && n; n -= 2)
			*o++ = '\t';
		line_start = *p == '\n';
		*o++ = *p;
	}
	if (out)
		*o = '\0';
	return out;
}

/*
 * A cred shared by many places is written from its text, indented to where it
 * stands. The golden files check the trace's own flags; with others (tabs, or
 * no layout at all) the text is made again for them: the tabbed text must be
 * the pretty one with tabs for its spaces, and every text the same value.
 */
static void test_shared_creds_are_written_as_json_c_would(void)
{
	struct cn_trace *tr = setuid_launch();
	static char *argv[] = { "/opt/cnlaunch", "--", "/bin/sh", NULL };
	struct json_object *doc, *pretty, *plain, *again;
	char *want, *tabbed;

	tr->argv = argv;
	tr->launcher = "/opt/cnlaunch";
	doc = cn_trace_to_json(tr);
	want = spaces_to_tabs(cn_json_string(doc));
	pretty = json_tokener_parse(cn_json_string(doc));
	tabbed = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								  JSON_C_TO_STRING_NOSLASHESCAPE |
								  JSON_C_TO_STRING_PRETTY_TAB));
	plain = json_tokener_parse(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tabbed);
	CU_ASSERT_STRING_EQUAL(tabbed, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(tabbed, "\t\"uid\": [\n"));
	CU_ASSERT_PTR_NULL(strchr(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN), '\n'));
	CU_ASSERT_TRUE(json_object_equal(pretty, plain));
	/* the trace's own flags again, after the others */
	again = json_tokener_parse(cn_json_string(doc));
	CU_ASSERT_TRUE(json_object_equal(pretty, again));
	free(want);
	free(tabbed);
	json_object_put(pretty);
	json_object_put(plain);
	json_object_put(again);
	json_object_put(doc);
	cn_trace_free(tr);
}

static void test_json_has_the_contract_keys(void)
{
	struct cn_trace *tr = setuid_launch();
	struct json_object *doc = cn_trace_to_json(tr), *v, *stage, *creds, *caps;
	static const char *const top[] = { "schema", "launch", "tracer", "processes", "stages" };
	static const char *const launch[] = { "flow", "caller", "argv", "exit_code" };
	static const char *const stage_keys[] = { "name", "pid", "enter_ns", "exit_ns", "creds", "transitions",
						  "capability_checks", "syscalls" };

	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(doc, top[i], NULL));
	json_object_object_get_ex(doc, "launch", &v);
	for (size_t i = 0; i < 4; i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(v, launch[i], NULL));
	json_object_object_get_ex(doc, "tracer", &v);
	CU_ASSERT_TRUE(json_object_object_get_ex(v, "lost_events", NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(v, "events", NULL));
	json_object_object_get_ex(doc, "stages", &v);
	stage = json_object_array_get_idx(v, 0);
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_TRUE(json_object_object_get_ex(stage, stage_keys[i], NULL));
	json_object_object_get_ex(stage, "creds", &creds);
	json_object_object_get_ex(creds, "entry", &creds);
	json_object_object_get_ex(creds, "caps", &caps);
	CU_ASSERT_TRUE(json_object_object_get_ex(caps, "bounding", NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(creds, "userns_level", NULL));
	json_object_put(doc);
	cn_trace_free(tr);
}

/* ---- syscall counts as the kernel side flushes them ---- */

static void feed_counts(struct cn_trace *tr, uint64_t ts, uint32_t pid, uint32_t tid, uint32_t instance,
			uint32_t phase, uint32_t n, const int32_t *nrs, const uint64_t *counts, const uint32_t *errors)
{
	struct cn_ev_counts e;

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_COUNTS, ts, pid, tid, instance, phase, 0, 0, -1);
	/* spread over the table as the kernel side's hashing would, free slots between them */
	for (uint32_t i = 0; i < n; i++)
		e.ent[(i * 7 + 3) % CN_TR_COUNTS] = (struct cn_count_ent){ .nr = nrs[i], .errors = errors[i],
									   .count = counts[i] };
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
}

static void test_model_adds_up_flushed_counts(void)
{
	struct cn_trace *tr = cn_trace_new(10, CN_ROLE_STARTER, 100);
	struct cn_ev_counts bad;
	const int32_t nrs[] = { 0, 1, -1 };
	const uint64_t c1[] = { 5, 7, 1 }, c2[] = { 3, 0, 2 };
	const uint32_t e1[] = { 1, 0, 0 }, e2[] = { 2, 0, 1 };

	/* two threads of process 10, same stage instance and phase: one row per number */
	feed_counts(tr, 101, 10, 10, 0, CN_TR_SEED_PHASE, 3, nrs, c1, e1);
	feed_counts(tr, 102, 10, 11, 0, CN_TR_SEED_PHASE, 3, nrs, c2, e2);
	/* another phase stays apart */
	feed_counts(tr, 103, 10, 10, 0, 5, 1, nrs, c1, e1);
	cn_trace_finish(tr);
	CU_ASSERT_EQUAL(tr->ncounts, 4);
	CU_ASSERT_EQUAL(tr->counts[0].key.nr, -1);
	CU_ASSERT_EQUAL(tr->counts[0].val.count, 3);
	CU_ASSERT_EQUAL(tr->counts[0].val.errors, 1);
	CU_ASSERT_EQUAL(tr->counts[1].key.nr, 0);
	CU_ASSERT_EQUAL(tr->counts[1].val.count, 8);
	CU_ASSERT_EQUAL(tr->counts[1].val.errors, 3);
	CU_ASSERT_EQUAL(tr->counts[2].key.nr, 1);
	CU_ASSERT_EQUAL(tr->counts[2].val.count, 7);
	CU_ASSERT_EQUAL(tr->counts[3].key.phase, 5);
	CU_ASSERT_EQUAL(tr->counts[3].val.count, 5);

	/* a record cut short is malformed, and adds nothing */
	memset(&bad, 0, sizeof(bad));
	hdr(&bad.h, CN_EV_COUNTS, 104, 10, 10, 0, CN_TR_SEED_PHASE, 0, 0, -1);
	bad.ent[0] = (struct cn_count_ent){ .nr = 0, .count = 1 };
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &bad, sizeof(bad) - 1), -1);
	CU_ASSERT_EQUAL(tr->bad_records, 1);
	CU_ASSERT_EQUAL(tr->ncounts, 4);
	cn_trace_free(tr);
}

/* ---- the --syscalls full log, spooled and streamed ---- */

/* One logged syscall, handed over as a batch of one (a thread that blocked, or one leaving its stage). */
static void feed_syscall(struct cn_trace *tr, uint64_t ts, uint32_t tid, uint8_t stage, int32_t nr, int64_t ret,
			 bool no_return)
{
	struct cn_ev_syscall e;
	struct cn_log_ent *l = &e.ent[0];

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_SYSCALL, ts, 7, tid, stage ? 3 : 0, CN_TR_SEED_PHASE, stage, 0, -1);
	e.n = 1;
	l->ts = ts;
	l->nr = nr;
	l->enter_ts = ts % 3 ? ts - 5 : 0; /* 0: entered before the trace began */
	for (int i = 0; i < 6; i++)
		l->args[i] = (uint64_t)ts * 0x9e3779b97f4a7c15ull + (uint64_t)i; /* all 64 bits, high bit too */
	l->ret = ret;
	l->no_return = no_return;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, offsetof(struct cn_ev_syscall, ent) + sizeof(e.ent[0])), 0);
}

static void test_log_batches_are_read_entry_by_entry(void)
{
	struct cn_trace *tr = cn_trace_new(7, CN_TR_ROLE_OTHER, 50);
	struct cn_ev_syscall e;
	size_t head = offsetof(struct cn_ev_syscall, ent);

	memset(&e, 0, sizeof(e));
	hdr(&e.h, CN_EV_SYSCALL, 900, 7, 9, 3, CN_TR_SEED_PHASE, CN_STAGE_START_PROCESS, 0, -1);
	e.n = 3;
	for (int i = 0; i < 3; i++) {
		e.ent[i].ts = 100 + (uint64_t)i;
		e.ent[i].nr = 39 + i;
		e.ent[i].ret = i;
	}
	/* a record cut after its last entry */
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, head + 3 * sizeof(e.ent[0])), 0);
	CU_ASSERT_EQUAL_FATAL(tr->nsyscalls, 3);
	CU_ASSERT_EQUAL(tr->syscalls[2].ts, 102);
	CU_ASSERT_EQUAL(tr->syscalls[2].nr, 41);
	CU_ASSERT_EQUAL(tr->syscalls[2].tid, 9);
	CU_ASSERT_EQUAL(tr->syscalls[2].stage, CN_STAGE_START_PROCESS);
	/* shorter than its entries, or more entries than a batch: malformed, nothing taken */
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, head + 2 * sizeof(e.ent[0])), 0);
	e.n = CN_TR_LOG_BATCH + 1;
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, &e, sizeof(e)), 0);
	CU_ASSERT_EQUAL(tr->nsyscalls, 3);
	CU_ASSERT_EQUAL(tr->bad_records, 2);
	cn_trace_free(tr);
}

/* The same launch twice: the log kept in memory, and spooled to a file in dir. */
static struct cn_trace *logged_launch(const char *spool_dir, int entries)
{
	struct cn_trace *tr = cn_trace_new(7, CN_TR_ROLE_OTHER, 50);
	static char *argv[] = { "/bin/storm", NULL };
	struct cn_creds root = root_creds();
	struct cn_error err;

	tr->mode = "exec";
	tr->argv = argv;
	tr->full_syscalls = true;
	if (spool_dir) {
		tr->log = cn_spool_open(spool_dir, &err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(tr->log);
	}
	feed_init(tr, 51, 7, &root);
	for (int i = 0; i < entries; i++) {
		/* two CPUs' worth of entries, handed over a little out of time order, and now and then
		 * one from long before (a thread that blocked with a batch begun) */
		uint64_t ts = 1000 + (uint64_t)i * 10 + (i % 4 == 1 ? 15 : 0) - (i % 997 == 500 ? 4003 : 0);

		feed_syscall(tr, ts, i % 2 ? 8 : 7, i % 5 ? CN_STAGE_START_PROCESS : 0,
			     i % 7 == 3 ? -1 : i % 11 == 4 ? 1000 : (int32_t)(i % 300), i % 3 ? -(int64_t)(i % 40) : i,
			     i % 13 == 12);
	}
	feed_exit(tr, 52 + 10 * (uint64_t)entries + 1000, 7, 0, 0, CN_TR_SEED_PHASE, 0, &root);
	tr->exit_status = 0;
	cn_trace_finish(tr);
	return tr;
}

static char *slurp(const char *path);

static void check_streamed_log(int entries)
{
	char dir[] = "/tmp/cntrace-unit.XXXXXX", path[64];
	struct cn_trace *mem, *spooled;
	struct json_object *doc;
	struct cn_error err;
	char *want, *got;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	mem = logged_launch(NULL, entries);
	spooled = logged_launch(dir, entries);
	CU_ASSERT_EQUAL(mem->nsyscalls, (size_t)entries);
	CU_ASSERT_EQUAL(spooled->nsyscalls, 0); /* nothing of the log in memory */
	doc = cn_trace_to_json(mem);
	if (asprintf(&want, "%s\n", cn_json_string(doc)) < 0)
		want = NULL;
	json_object_put(doc);

	snprintf(path, sizeof(path), "%s/trace.json", dir);
	doc = cn_trace_to_json(spooled);
	CU_ASSERT_EQUAL(cn_json_write_trace(doc, spooled, path, &err), 0);
	json_object_put(doc);
	got = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_EQUAL(strlen(got), strlen(want));
	CU_ASSERT_STRING_EQUAL(got, want); /* byte for byte what json-c writes for the whole */
	/* and nothing of the spool is left in its directory: only the output */
	unlink(path);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
	free(want);
	free(got);
	cn_trace_free(mem);
	cn_trace_free(spooled);
}

static void test_streamed_log_is_the_text_json_c_writes(void)
{
	check_streamed_log(0);
	check_streamed_log(1);
	check_streamed_log(20000); /* more than a spool buffer */
	check_streamed_log(70000); /* three sorted runs to merge */
}

static void test_streamed_log_to_an_unwritable_path_leaves_nothing(void)
{
	char dir[] = "/tmp/cntrace-unit.XXXXXX", path[80];
	struct cn_trace *tr;
	struct json_object *doc;
	struct cn_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	tr = logged_launch(dir, 100);
	snprintf(path, sizeof(path), "%s/no-such-dir/trace.json", dir);
	doc = cn_trace_to_json(tr);
	CU_ASSERT_EQUAL(cn_json_write_trace(doc, tr, path, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no-such-dir"));
	json_object_put(doc);
	cn_trace_free(tr);
	CU_ASSERT_EQUAL(rmdir(dir), 0); /* empty: the spool was never a name */
}

/* ---- the build's cut of the kernel's BTF (trace/core_btf.h) ---- */

static size_t read_kernel_notes(unsigned char *buf, size_t size)
{
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t len = 0;

	CU_ASSERT_FATAL(fd >= 0);
	while (len < size && (n = read(fd, buf + len, size - len)) > 0)
		len += (size_t)n;
	close(fd);
	return len;
}

static void test_core_btf_is_for_this_kernel_only(void)
{
	unsigned char notes[4096];
	size_t len = read_kernel_notes(notes, sizeof(notes));

	/* the build ran on this kernel (CI builds where it tests) */
	CU_ASSERT_TRUE(cn_core_btf_matches(notes, len));
	/* another build id, a cut short or longer note list, nothing: another kernel */
	notes[len / 2] ^= 0x40;
	CU_ASSERT_FALSE(cn_core_btf_matches(notes, len));
	notes[len / 2] ^= 0x40;
	CU_ASSERT_FALSE(cn_core_btf_matches(notes, len - 4));
	CU_ASSERT_FALSE(cn_core_btf_matches(notes, len + 4));
	CU_ASSERT_FALSE(cn_core_btf_matches(notes, 0));
}

static void test_core_btf_holds_what_the_programs_read(void)
{
	int fd = cn_core_btf_open();
	char path[64];
	struct btf *btf;
	const struct btf_type *t;
	const struct btf_member *m;
	bool cred = false;
	int id;

	CU_ASSERT_FATAL(fd >= 0);
	/* sealed: nothing may change what libbpf relocates against */
	CU_ASSERT_EQUAL(write(fd, "x", 1), -1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	btf = btf__parse(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(btf);
	id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	CU_ASSERT_FATAL(id > 0);
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		cred |= strcmp(btf__name_by_offset(btf, m->name_off), "cred") == 0;
	CU_ASSERT_TRUE(cred);
	CU_ASSERT_TRUE(btf__type_cnt(btf) < 1000); /* a cut, not the kernel's 100k types */
	btf__free(btf);
	close(fd);
}

/* The tracepoint programs' attach ids, found by one walk of the kernel's BTF: libbpf's, found its way. */
static void test_tp_btf_ids_are_libbpfs(void)
{
	static const char *const names[] = { "sys_exit",	    "sys_enter",	  "task_newtask",
					     "sched_process_fork", "sched_process_exec", "sched_process_exit",
					     "cap_capable",	    "cntrace_no_such_tracepoint" };
	uint32_t ids[UNIT_N(names)];
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct cn_error err;
	char typedef_name[128];

	cn_error_clear(&err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vmlinux);
	CU_ASSERT_EQUAL_FATAL(cn_tp_btf_ids(CN_TP_BTF_KERNEL, names, ids, UNIT_N(names), &err), 0);
	for (size_t i = 0; i < UNIT_N(names); i++) {
		int want;

		snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", names[i]);
		want = btf__find_by_name_kind(vmlinux, typedef_name, BTF_KIND_TYPEDEF);
		CU_ASSERT_EQUAL(ids[i], want > 0 ? (uint32_t)want : 0);
		CU_ASSERT_TRUE(i == UNIT_N(names) - 1 ? ids[i] == 0 : ids[i] > 0);
	}
	btf__free(vmlinux);
}

/* A file with what is given, as /proc/self/fd/N in path (a memfd: nothing left behind). */
static int memfd_with(const void *data, size_t len, char *path, size_t size)
{
	int fd = memfd_create("cntrace-unit", MFD_CLOEXEC);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(write(fd, data, len), (ssize_t)len);
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return fd;
}

static void test_tp_btf_refuses_what_is_not_btf(void)
{
	static const char *const names[] = { "sys_exit" };
	static const char text[] = "not BTF at all, but long enough for a header\n";
	unsigned char head[64 << 10];
	uint32_t id;
	char path[64];
	struct cn_error err;
	int fd, kernel = open(CN_TP_BTF_KERNEL, O_RDONLY | O_CLOEXEC);

	CU_ASSERT_FATAL(kernel >= 0);
	for (size_t got = 0; got < sizeof(head);) { /* sysfs hands it out a page at a time */
		ssize_t n = read(kernel, head + got, sizeof(head) - got);

		CU_ASSERT_FATAL(n > 0);
		got += (size_t)n;
	}
	close(kernel);
	fd = memfd_with(text, sizeof(text), path, sizeof(path));
	cn_error_clear(&err);
	CU_ASSERT_EQUAL(cn_tp_btf_ids(path, names, &id, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not BTF"));
	close(fd);
	/* the kernel's own, cut short: its header says more than there is */
	fd = memfd_with(head, sizeof(head), path, sizeof(path));
	cn_error_clear(&err);
	CU_ASSERT_EQUAL(cn_tp_btf_ids(path, names, &id, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cut short"));
	close(fd);
	fd = memfd_with("", 0, path, sizeof(path));
	cn_error_clear(&err);
	CU_ASSERT_EQUAL(cn_tp_btf_ids(path, names, &id, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty"));
	close(fd);
	cn_error_clear(&err);
	CU_ASSERT_EQUAL(cn_tp_btf_ids("/nonexistent/vmlinux", names, &id, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/vmlinux"));
}

static void test_capability_sets_are_written_on_one_line(void)
{
	struct json_object *a = cn_capset_to_json(CAP(0) | CAP(21)), *e = cn_capset_to_json(0);

	CU_ASSERT_STRING_EQUAL(cn_json_string(a), "[\"CAP_CHOWN\", \"CAP_SYS_ADMIN\"]");
	CU_ASSERT_STRING_EQUAL(cn_json_string(e), "[]");
	/* and readers still see an array of names */
	CU_ASSERT_EQUAL(json_object_array_length(a), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(a, 1)), "CAP_SYS_ADMIN");
	json_object_put(a);
	json_object_put(e);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{"diff names each changed field", test_diff_names_each_changed_field},
		{"host privilege is uid 0 or host caps", test_host_privilege_is_uid_zero_or_host_caps},
		{"setuid exec is a host raise", test_setuid_exec_is_a_host_raise},
		{"regaining euid from saved uid is a host raise", test_regaining_euid_from_saved_uid_is_a_host_raise},
		{"caps in a new userns raise but not on the host", test_caps_in_a_new_userns_raise_but_not_on_the_host},
		{"dropping bounding or effective is no raise", test_dropping_bounding_or_effective_is_no_raise},
		{"creds json round trip", test_creds_json_round_trip},
		{"capability names", test_capability_names},
		{"syscall names", test_syscall_names},
		{"role and seccomp names", test_role_and_seccomp_names},
		{"model follows roles, stages and transitions", test_model_follows_roles_stages_and_transitions},
		{"model counts malformed records", test_model_counts_malformed_records},
		{"model flow userns and root", test_model_flow_userns_and_root},
		{"json setuid launch matches golden", test_json_setuid_launch_matches_golden},
		{"json empty exec matches golden", test_json_empty_exec_matches_golden},
		{"json has the contract keys", test_json_has_the_contract_keys},
		{"shared creds are written as json-c would", test_shared_creds_are_written_as_json_c_would},
		{"model adds up flushed counts", test_model_adds_up_flushed_counts},
		{"streamed log is the text json-c writes", test_streamed_log_is_the_text_json_c_writes},
		{"streamed log to an unwritable path leaves nothing", test_streamed_log_to_an_unwritable_path_leaves_nothing},
		{"core btf is for this kernel only", test_core_btf_is_for_this_kernel_only},
		{"core btf holds what the programs read", test_core_btf_holds_what_the_programs_read},
		{"capability sets are written on one line", test_capability_sets_are_written_on_one_line},
		{"tp_btf ids are libbpf's", test_tp_btf_ids_are_libbpfs},
		{"tp_btf refuses what is not BTF", test_tp_btf_refuses_what_is_not_btf},
		{"log batches are read entry by entry", test_log_batches_are_read_entry_by_entry},
	};

	if (argc > 1)
		golden_dir = argv[1];
	return unit_run("tracer", tests, UNIT_N(tests));
}
