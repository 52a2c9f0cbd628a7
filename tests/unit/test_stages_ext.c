/* SPDX-License-Identifier: Apache-2.0
 *
 * CUnit: stages for launchers without probes (trace/stages_ext.c: the --stage
 * spec, the file and the function's offset, read from real ELF files: this
 * program and libc), phase detection (trace/phase_detect.c, on synthetic
 * records), and USDT probe sites and argument specs as trace/usdt.c reads them
 * for uprobe-multi links (this program's own probes).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "json.h"
#include "model.h"
#include "names.h"
#include "phase_detect.h"
#include "stages_ext.h"
#include "usdt.h"
#include <sys/sdt.h>

/* A function of this program for the uprobe offset to find: global, so it is in .symtab. */
__attribute__((noinline, used)) int cn_test_stage_target(int x)
{
	return x * 3 + 1;
}

static void test_spec_forms(void)
{
	struct cn_ext_stages set = { 0 };
	struct cn_error err;

	CU_ASSERT_EQUAL(cn_ext_stage_parse(&set, "pivot=bwrap:pivot_root", &err), 0);
	CU_ASSERT_EQUAL(cn_ext_stage_parse(&set, "odd=/opt/a:b/c.so:f", &err), 0); /* the last ':' cuts */
	CU_ASSERT_EQUAL(set.n, 2);
	CU_ASSERT_STRING_EQUAL(set.v[0].name, "pivot");
	CU_ASSERT_STRING_EQUAL(set.v[0].binary, "bwrap");
	CU_ASSERT_STRING_EQUAL(set.v[0].symbol, "pivot_root");
	CU_ASSERT_EQUAL(set.v[0].id, CN_TR_EXT_STAGE_FIRST);
	CU_ASSERT_STRING_EQUAL(set.v[1].binary, "/opt/a:b/c.so");
	CU_ASSERT_EQUAL(set.v[1].id, CN_TR_EXT_STAGE_FIRST + 1);

	static const struct {
		const char *spec, *why;
	} bad[] = {
		{ "pivot", "not NAME=BINARY:SYMBOL" },
		{ "x=bwrap", "not NAME=BINARY:SYMBOL" },
		{ "x=:f", "not NAME=BINARY:SYMBOL" },
		{ "x=bwrap:", "not NAME=BINARY:SYMBOL" },
		{ "=bwrap:f", "a stage name is" },
		{ "a\nb=bwrap:f", "a stage name is" },
		{ "CreateContainer=bwrap:f", "a name cntrace gives" },
		{ "container=bwrap:f", "a name cntrace gives" },
		{ "pivot=bwrap:other", "defined twice" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cn_error_clear(&err);
		CU_ASSERT_EQUAL(cn_ext_stage_parse(&set, bad[i].spec, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].why));
		CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
	}
	CU_ASSERT_EQUAL(set.n, 2);
	for (size_t i = set.n; i < CN_TR_EXT_STAGE_MAX; i++) {
		char spec[64];

		snprintf(spec, sizeof(spec), "s%zu=libc.so.6:mount", i);
		CU_ASSERT_EQUAL(cn_ext_stage_parse(&set, spec, &err), 0);
	}
	CU_ASSERT_EQUAL(cn_ext_stage_parse(&set, "one-more=libc.so.6:mount", &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "at most 32 stages"));
	cn_ext_stages_clear(&set);
}

/* The bytes at the file offset found are the bytes the function runs: the offset is right. */
static void check_offset(const char *spec, const void *code)
{
	struct cn_ext_stages set = { 0 };
	struct cn_error err;
	unsigned char want[16], have[16];
	int fd;

	cn_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(cn_ext_stage_parse(&set, spec, &err), 0);
	CU_ASSERT_EQUAL(cn_ext_stages_resolve(&set, &err), 0);
	if (err.msg[0])
		fprintf(stderr, "%s: %s\n", spec, err.msg);
	fd = open(set.v[0].path, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, have, sizeof(have), (off_t)set.v[0].offset), (ssize_t)sizeof(have));
	close(fd);
	memcpy(want, code, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(have, want, sizeof(want)), 0);
	cn_ext_stages_clear(&set);
}

static void test_offsets_match_the_code(void)
{
	char spec[4200], self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	CU_ASSERT_FATAL(n > 0);
	self[n] = '\0';
	snprintf(spec, sizeof(spec), "mine=%s:cn_test_stage_target", self);
	check_offset(spec, (const void *)cn_test_stage_target);
	check_offset("unshare=libc.so.6:unshare", dlsym(RTLD_DEFAULT, "unshare"));
}

static void refused(const char *spec, const char *why)
{
	struct cn_ext_stages set = { 0 };
	struct cn_error err;

	cn_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(cn_ext_stage_parse(&set, spec, &err), 0);
	CU_ASSERT_EQUAL(cn_ext_stages_resolve(&set, &err), -1);
	if (!strstr(err.msg, why))
		fprintf(stderr, "%s: want \"%s\" in: %s\n", spec, why, err.msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, spec));
	cn_ext_stages_clear(&set);
}

static void test_what_cannot_be_probed_is_refused(void)
{
	refused("x=libc.so.6:no_such_function_here", "has no function \"no_such_function_here\"");
	refused("x=libc.so.6:memcpy", "IFUNC");
	refused("x=libc.so.6:stdout", "is not a function");
	refused("x=/etc/passwd:main", "is not an ELF file");
	refused("x=/no/such/file:main", "No such file or directory");
	refused("x=no-such-program-xyz:main", "no such program in $PATH or library");
	refused("x=/tmp:main", "is not a file");
}

static void test_names_for_the_json(void)
{
	struct cn_ext_stages set = { 0 };
	struct cn_error err;
	struct json_object *a;

	CU_ASSERT_EQUAL(cn_ext_stage_parse(&set, "unshare=libc.so.6:unshare", &err), 0);
	CU_ASSERT_EQUAL(cn_ext_stages_resolve(&set, &err), 0);
	CU_ASSERT_PTR_NULL(cn_ext_stage_name(CN_TR_EXT_STAGE_FIRST)); /* none in use yet */
	cn_ext_stages_use(&set);
	CU_ASSERT_STRING_EQUAL(cn_ext_stage_name(CN_TR_EXT_STAGE_FIRST), "unshare");
	CU_ASSERT_PTR_NULL(cn_ext_stage_name(CN_TR_EXT_STAGE_FIRST + 1));
	CU_ASSERT_PTR_NULL(cn_ext_stage_name(5));
	a = cn_ext_stages_json();
	CU_ASSERT_EQUAL(json_object_array_length(a), 1);
	json_object_put(a);
	cn_ext_stages_clear(&set);
	CU_ASSERT_PTR_NULL(cn_ext_stage_name(CN_TR_EXT_STAGE_FIRST)); /* cleared: no dangling names */
}

/* ---- phase detection on synthetic records ---- */

static void feed(struct cn_trace *tr, void *e, size_t size)
{
	CU_ASSERT_EQUAL(cn_trace_add_event(tr, e, size), 0);
}

static void head(struct cn_ev_hdr *h, uint32_t type, uint64_t ts, uint32_t pid, uint32_t phase, int32_t nr)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->ts = ts;
	h->pid = h->tid = pid;
	h->phase = phase;
	h->syscall = nr;
}

static void exec_rec(struct cn_trace *tr, uint64_t ts, uint32_t pid, uint32_t old_phase, uint32_t phase,
		     const char *file)
{
	struct cn_ev_exec e;

	memset(&e, 0, sizeof(e));
	head(&e.h, CN_EV_EXEC, ts, pid, phase, 59);
	e.old_tid = pid;
	e.old_phase = old_phase;
	snprintf(e.filename, sizeof(e.filename), "%s", file);
	feed(tr, &e, sizeof(e));
}

static void fork_rec(struct cn_trace *tr, uint64_t ts, uint32_t parent, uint32_t phase, uint32_t child,
		     uint32_t child_phase, uint64_t flags)
{
	struct cn_ev_fork e;

	memset(&e, 0, sizeof(e));
	head(&e.h, CN_EV_FORK, ts, parent, phase, 56);
	e.clone_flags = flags;
	e.child_pid = e.child_tid = child;
	e.child_phase = child_phase;
	feed(tr, &e, sizeof(e));
}

static void boundary_rec(struct cn_trace *tr, uint64_t ts, uint32_t pid, uint32_t phase, const char *syscall,
			 uint64_t ns, const char *path)
{
	struct cn_ev_boundary e;

	memset(&e, 0, sizeof(e));
	head(&e.h, CN_EV_BOUNDARY, ts, pid, phase, cn_syscall_from_name(syscall));
	e.ns_flags = ns;
	e.fd = -1;
	snprintf(e.path, sizeof(e.path), "%s", path);
	feed(tr, &e, sizeof(e));
}

static const char *kind_at(struct json_object *list, size_t i, bool *payload)
{
	struct json_object *b = json_object_array_get_idx(list, i), *v;

	json_object_object_get_ex(b, "payload", &v);
	*payload = json_object_get_boolean(v);
	json_object_object_get_ex(b, "kind", &v);
	return json_object_get_string(v);
}

static void test_boundaries_and_the_payload(void)
{
	struct cn_trace *tr = cn_trace_new(100, CN_TR_ROLE_OTHER, 1000);
	struct json_object *doc, *list, *phases, *ph, *v;
	static const char *const want[] = { "exec", "clone", "unshare", "pivot_root", "exec", "exec" };
	static const bool want_payload[] = { false, false, false, false, true, false };
	bool payload;

	exec_rec(tr, 1001, 100, 1, 2, "/usr/bin/launcher");
	boundary_rec(tr, 1002, 100, 2, "unshare", 0x200 /* CLONE_FS */, ""); /* no namespace: not one */
	fork_rec(tr, 1003, 100, 2, 101, 3, CLONE_NEWPID | CLONE_NEWNS | 17);
	boundary_rec(tr, 1004, 101, 3, "unshare", CLONE_NEWNET, "");
	boundary_rec(tr, 1005, 101, 3, "pivot_root", 0, "/new");
	fork_rec(tr, 1006, 101, 3, 102, 4, 17);
	exec_rec(tr, 1007, 102, 4, 5, "/bin/sh");     /* the payload */
	fork_rec(tr, 1008, 102, 5, 103, 6, 17);
	exec_rec(tr, 1009, 103, 6, 7, "/bin/true");   /* what the payload runs: not a boundary */
	exec_rec(tr, 1010, 100, 2, 8, "/usr/bin/hook"); /* the launcher's own, later: still one */
	cn_trace_finish(tr);
	doc = cn_trace_to_json(tr);
	CU_ASSERT_FATAL(json_object_object_get_ex(doc, "boundaries", &list));
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(list), 6);
	for (size_t i = 0; i < 6; i++) {
		CU_ASSERT_STRING_EQUAL(kind_at(list, i, &payload), want[i]);
		CU_ASSERT_EQUAL(payload, want_payload[i]);
	}
	json_object_object_get_ex(json_object_array_get_idx(list, 1), "child", &v);
	CU_ASSERT_EQUAL(json_object_get_int(v), 101);
	json_object_object_get_ex(json_object_array_get_idx(list, 3), "path", &v);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "/new");
	/* phases: the clone in the launcher's exec phase, unshare and pivot_root in the child's */
	CU_ASSERT_FATAL(json_object_object_get_ex(doc, "phases", &phases));
	for (size_t i = 0; i < json_object_array_length(phases); i++) {
		int64_t id, n;

		ph = json_object_array_get_idx(phases, i);
		json_object_object_get_ex(ph, "id", &v);
		id = json_object_get_int64(v);
		json_object_object_get_ex(ph, "boundaries", &v);
		n = (int64_t)json_object_array_length(v);
		CU_ASSERT_EQUAL(n, id == 2 ? 1 : id == 3 ? 2 : 0);
		json_object_object_get_ex(ph, "payload", &v);
		CU_ASSERT_EQUAL(json_object_get_boolean(v), id == 5);
	}
	json_object_put(doc);
	cn_trace_free(tr);
}

/* ---- USDT sites (trace/usdt.h) ---- */

/* Two sites of one probe, arguments where the compiler puts them (a constant, the stack or a register). */
__attribute__((noinline)) static void fire_probes(int x)
{
	volatile int v[2] = { x * 7, x * 9 };

	DTRACE_PROBE3(cntest, site, x, v[1], 5);
	DTRACE_PROBE3(cntest, site, x + 1, v[0], 6);
	DTRACE_PROBE1(cntest, other, x);
}

static void test_usdt_sites_are_nops_with_their_arguments(void)
{
	struct cn_usdt_site sites[8];
	struct cn_error err;
	int n = cn_usdt_sites("/proc/self/exe", "cntest", "site", sites, 8, &err);
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	fire_probes(1);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_FATAL(fd >= 0);
	for (int i = 0; i < n; i++) {
		unsigned char op = 0;

		/* the offset is the probe's nop in the file: where the uprobe goes */
		CU_ASSERT_EQUAL(pread(fd, &op, 1, (off_t)sites[i].offset), 1);
		CU_ASSERT_EQUAL(op, 0x90);
		CU_ASSERT_EQUAL(sites[i].ref_ctr, 0);
		CU_ASSERT_EQUAL(sites[i].spec.arg_cnt, 3);
		CU_ASSERT_EQUAL(sites[i].spec.args[2].arg_type, CN_USDT_ARG_CONST);
		CU_ASSERT_EQUAL(sites[i].spec.args[2].val_off, (uint64_t)(5 + i));
		CU_ASSERT_TRUE(sites[i].spec.args[0].arg_signed);
		CU_ASSERT_EQUAL(sites[i].spec.args[0].arg_bitshift, 32);
		CU_ASSERT_NOT_EQUAL(sites[i].spec.args[1].arg_type, CN_USDT_ARG_CONST); /* volatile: read where it is */
	}
	close(fd);
	CU_ASSERT_EQUAL(cn_usdt_sites("/proc/self/exe", "cntest", "other", sites, 8, &err), 1);
	CU_ASSERT_EQUAL(cn_usdt_sites("/proc/self/exe", "cntest", "absent", sites, 8, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no USDT probe cntest:absent"));
	CU_ASSERT_EQUAL(cn_usdt_sites("/nonexistent/cnlaunch", "cntest", "site", sites, 8, &err), -1);
}

static void test_usdt_argument_specs(void)
{
	struct cn_usdt_spec sp;

	CU_ASSERT_EQUAL_FATAL(cn_usdt_parse_args("-4@%edi 8@$3 -4@12(%rbp) 2@(%rax) -1@-8(%r12) 4@%r12d", &sp), 0);
	CU_ASSERT_EQUAL(sp.arg_cnt, 6);
	CU_ASSERT_EQUAL(sp.args[0].arg_type, CN_USDT_ARG_REG);
	CU_ASSERT_EQUAL(sp.args[0].reg_off, 112); /* di in struct pt_regs */
	CU_ASSERT_TRUE(sp.args[0].arg_signed);
	CU_ASSERT_EQUAL(sp.args[0].arg_bitshift, 32);
	CU_ASSERT_EQUAL(sp.args[1].arg_type, CN_USDT_ARG_CONST);
	CU_ASSERT_EQUAL(sp.args[1].val_off, 3);
	CU_ASSERT_FALSE(sp.args[1].arg_signed);
	CU_ASSERT_EQUAL(sp.args[1].arg_bitshift, 0);
	CU_ASSERT_EQUAL(sp.args[2].arg_type, CN_USDT_ARG_REG_DEREF);
	CU_ASSERT_EQUAL(sp.args[2].val_off, 12);
	CU_ASSERT_EQUAL(sp.args[2].reg_off, 32); /* bp */
	CU_ASSERT_EQUAL(sp.args[3].arg_type, CN_USDT_ARG_REG_DEREF);
	CU_ASSERT_EQUAL(sp.args[3].val_off, 0);
	CU_ASSERT_EQUAL(sp.args[3].reg_off, 80); /* ax */
	CU_ASSERT_EQUAL(sp.args[3].arg_bitshift, 48);
	CU_ASSERT_EQUAL(sp.args[4].val_off, (uint64_t)-8);
	CU_ASSERT_EQUAL(sp.args[4].reg_off, 24); /* r12 */
	CU_ASSERT_EQUAL(sp.args[4].arg_bitshift, 56);
	CU_ASSERT_EQUAL(sp.args[5].reg_off, 24);
	CU_ASSERT_EQUAL(cn_usdt_parse_args("", &sp), 0);
	CU_ASSERT_EQUAL(sp.arg_cnt, 0);
	/* what cntrace cannot read is refused, not guessed */
	CU_ASSERT_EQUAL(cn_usdt_parse_args("-4@%xmm0", &sp), -1);
	CU_ASSERT_EQUAL(cn_usdt_parse_args("3@%eax", &sp), -1);
	CU_ASSERT_EQUAL(cn_usdt_parse_args("-4@", &sp), -1);
	CU_ASSERT_EQUAL(cn_usdt_parse_args("-4@%eax junk", &sp), -1);
	CU_ASSERT_EQUAL(cn_usdt_parse_args("1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al 1@%al",
					   &sp), -1);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"spec forms and refusals", test_spec_forms},
		{"offsets match the code", test_offsets_match_the_code},
		{"what cannot be probed is refused", test_what_cannot_be_probed_is_refused},
		{"names for the json", test_names_for_the_json},
		{"boundaries and the payload", test_boundaries_and_the_payload},
		{"usdt sites are nops with their arguments", test_usdt_sites_are_nops_with_their_arguments},
		{"usdt argument specs", test_usdt_argument_specs},
	};

	return unit_run("stages for launchers without probes", tests, UNIT_N(tests));
}
