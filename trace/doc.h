/* SPDX-License-Identifier: Apache-2.0
 *
 * A saved trace, read: the JSON document (schema cntrace.trace/1, as
 * cn_json_read gives it) as the few typed things the commands that work on
 * saved traces look at: the checker (trace/policy.c), `cntrace diff`,
 * `cntrace seccomp-profile` and the HTML report. A field of the wrong type is
 * an error that names the file, the JSON path and why; a field a trace may
 * lack is left zero. Strings point into the document: it must outlive the
 * cn_doc.
 */
#ifndef CN_TRACE_DOC_H
#define CN_TRACE_DOC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "events.h"

/* A cred object, when the trace has one there. */
struct cn_doc_creds {
	bool have;
	struct cn_creds c;
	struct json_object *json;
};

struct cn_doc_transition {
	int64_t pid;
	int64_t phase; /* the id of the phase it happened in, 0 when the trace does not say */
	uint64_t ts;
	const char *syscall, *kind, *stage;
	bool raise, host_raise;
	struct cn_doc_creds before, after;
};

struct cn_doc_check {
	int64_t pid;
	int64_t phase; /* launch-wide list only: the phase it happened in */
	const char *cap, *syscall, *stage;
	bool granted, host_ns, stage_known;
	int64_t count;
	uint64_t first_ns;
};

struct cn_doc_syscall {
	const char *name;
	int64_t count, errors;
};

/* A stage entry or a phase: creds at its start and end, and what happened in it. */
struct cn_doc_unit {
	const char *name; /* the stage; NULL for a phase */
	int64_t id;
	int64_t pid;
	const char *role;
	const char *begins_at; /* phases: "launch", "fork", "exec" */
	const char *image;     /* phases */
	uint64_t start_ns, end_ns; /* end_ns: UINT64_MAX when it never ended */
	bool have_rc;              /* stages: the rc its stage_exit gave */
	int64_t rc;
	struct cn_doc_creds entry, exit;
	struct cn_doc_transition *tx;
	size_t ntx, cap_tx;
	struct cn_doc_check *checks;
	size_t nchecks, cap_checks;
	struct cn_doc_syscall *sc;
	size_t nsc, cap_sc;
};

struct cn_doc_exec {
	const char *filename;
	uint64_t ts;
	struct cn_doc_creds creds;
};

struct cn_doc_process {
	int64_t pid, ppid;
	const char *role, *comm, *born_in_stage, *clone_syscall;
	bool container;        /* it is, or became, the container (roles end with "container") */
	bool born_container;   /* a child of the container: everything it did is the container's */
	bool new_namespaces;   /* created with namespaces other than a new user namespace */
	uint64_t start_ns, exit_ns; /* exit_ns: UINT64_MAX when it was not seen to exit */
	bool exited;
	int64_t exit_code;     /* the code, or 128+N for signal N, when exited */
	struct cn_doc_creds start, exit;
	struct cn_doc_exec *execs;
	size_t nexecs, cap_execs;
	struct cn_doc_syscall *sc;
	size_t nsc, cap_sc;
};

struct cn_doc {
	const char *origin;
	const char *mode; /* "run" or "exec" */
	const char *flow;
	bool stage_probes, complete;
	int64_t lost;
	int64_t exit_code; /* the launch's, -1 when unknown */
	uint64_t start_ns, end_ns;
	const char *arch;  /* tracer.arch (libseccomp's name, "x86_64"); NULL in older traces */
	uint32_t caller_uid, caller_gid;
	bool have_configured;
	const char *cfg_error; /* launch.configured_error: the launcher refused --print-config */
	uint32_t cfg_uid, cfg_gid;
	uint64_t cfg_caps[5]; /* effective, permitted, inheritable, bounding, ambient */
	struct cn_doc_process *procs;
	size_t nprocs, cap_procs;
	struct cn_doc_unit *stages;
	size_t nstages, cap_stages;
	struct cn_doc_unit *phases;
	size_t nphases, cap_phases;
	struct cn_doc_transition *tx; /* every transition of the launch */
	size_t ntx, cap_tx;
	struct cn_doc_check *checks; /* every capability check of the launch */
	size_t nchecks, cap_checks;
};

/*
 * Read doc (a trace document); origin names it in errors ("t.json: stages[3].name:
 * not one of the ten stage names"). On failure t holds what was read so far:
 * cn_doc_free it either way.
 */
int cn_doc_read(struct json_object *doc, const char *origin, struct cn_doc *t, struct cn_error *err);
void cn_doc_free(struct cn_doc *t);

const struct cn_doc_process *cn_doc_process(const struct cn_doc *t, int64_t pid);
/* The role of pid, "unknown" when the trace has no such process. */
const char *cn_doc_role(const struct cn_doc *t, int64_t pid);

/*
 * A capability check that no syscall of the process asked for (policy/README.md,
 * "Capability checks nobody asked for"): not a use. stage_known: the check says
 * which stage it was in (stage, NULL for none).
 */
bool cn_doc_incidental(const struct cn_doc *t, const struct cn_doc_check *k, bool stage_known, const char *stage);

/* Whether phase ph of process p is the container's: p is, or became, the container and ph
 * is from the command's exec on (or p was born in the container). */
bool cn_doc_container_phase(const struct cn_doc *t, const struct cn_doc_process *p, const struct cn_doc_unit *ph);

#endif
