/* SPDX-License-Identifier: Apache-2.0
 *
 * A saved trace, read (trace/doc.h): the JSON document as typed C, every
 * field of the wrong type an error with its JSON path. What a capability use
 * is and which phases are the container's are decided here, once, for the
 * checker and for every command that reads a saved trace.
 */
#define _GNU_SOURCE
#include "doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "grow.h"
#include "json.h"
#include "names.h"
#include "stage.h"

/* A JSON path into buf; a path too long is cut, never overflows. */
static __attribute__((format(printf, 3, 4))) void pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static bool is_string(struct json_object *v)
{
	return v && json_object_is_type(v, json_type_string);
}

static const char *const capset_names[] = { "effective", "permitted", "inheritable", "bounding", "ambient" };
#define NCAPSETS 5

/* One of the JSON trace's role names (cn_trace_role_name's). */
static bool known_role(const char *role)
{
	for (int r = 0; r <= CN_TR_ROLE_OTHER; r++)
		if (strcmp(cn_trace_role_name(r), role) == 0)
			return true;
	return false;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static void unit_free(struct cn_doc_unit *u)
{
	free(u->tx);
	free(u->checks);
	free(u->sc);
}

void cn_doc_free(struct cn_doc *t)
{
	for (size_t i = 0; i < t->nprocs; i++) {
		free(t->procs[i].execs);
		free(t->procs[i].sc);
	}
	for (size_t i = 0; i < t->nstages; i++)
		unit_free(&t->stages[i]);
	for (size_t i = 0; i < t->nphases; i++)
		unit_free(&t->phases[i]);
	free(t->procs);
	free(t->stages);
	free(t->phases);
	free(t->tx);
	free(t->checks);
}

/* A reader of the trace document: every field of the wrong type is an error with its path. */
struct reader {
	const char *origin;
	struct cn_error *err;
};

static __attribute__((format(printf, 3, 4))) int bad(struct reader *rd, const char *what, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return cn_fail(rd->err, 0, "%s: %s: %s", rd->origin, path, what);
}

/* obj.key when present and not null. */
static struct json_object *field(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (obj && json_object_is_type(obj, json_type_object))
		json_object_object_get_ex(obj, key, &v);
	return v && !json_object_is_type(v, json_type_null) ? v : NULL;
}

/*
 * obj.key of JSON type want (a "number", "string" or "list" in the messages):
 * 0 with *out, NULL when absent and not required; -1 naming its path.
 */
static int rd_typed(struct reader *rd, struct json_object *obj, const char *key, bool required, json_type want,
		    const char *noun, struct json_object **out, const char *path)
{
	struct json_object *v = field(obj, key);
	char what[64];

	*out = NULL;
	if (!v) {
		snprintf(what, sizeof(what), "required %s missing", noun);
		return required ? bad(rd, what, "%s%s%s", path, *path ? "." : "", key) : 0;
	}
	if (want == json_type_string ? !is_string(v) : !json_object_is_type(v, want)) {
		snprintf(what, sizeof(what), "must be a %s", noun);
		return bad(rd, what, "%s%s%s", path, *path ? "." : "", key);
	}
	*out = v;
	return 0;
}

static int rd_int(struct reader *rd, struct json_object *obj, const char *key, bool required, int64_t *out,
		  const char *path)
{
	struct json_object *v;

	if (rd_typed(rd, obj, key, required, json_type_int, "number", &v, path) < 0)
		return -1;
	if (v)
		*out = json_object_get_int64(v);
	return 0;
}

static int rd_str(struct reader *rd, struct json_object *obj, const char *key, bool required, const char **out,
		  const char *path)
{
	struct json_object *v;

	*out = NULL;
	if (rd_typed(rd, obj, key, required, json_type_string, "string", &v, path) < 0)
		return -1;
	if (v)
		*out = json_object_get_string(v);
	return 0;
}

static int rd_bool(struct reader *rd, struct json_object *obj, const char *key, bool *out, const char *path)
{
	struct json_object *v = field(obj, key);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(rd, "must be true or false", "%s.%s", path, key);
	*out = json_object_get_boolean(v);
	return 0;
}

static int rd_array(struct reader *rd, struct json_object *obj, const char *key, bool required,
		    struct json_object **out, const char *path)
{
	return rd_typed(rd, obj, key, required, json_type_array, "list", out, path);
}

static int rd_creds(struct reader *rd, struct json_object *obj, const char *key, struct cn_doc_creds *c,
		    const char *path)
{
	struct json_object *v = field(obj, key);

	c->have = false;
	if (!v)
		return 0;
	if (cn_creds_from_json(v, &c->c) < 0)
		return bad(rd, "not a cred object (uid, gid, caps with the five sets)", "%s.%s", path, key);
	c->have = true;
	c->json = v;
	return 0;
}

static int rd_syscalls(struct reader *rd, struct json_object *obj, struct cn_doc_syscall **sc, size_t *n, size_t *cap,
		       const char *path)
{
	struct json_object *v = field(obj, "syscalls");

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return bad(rd, "must be an object of syscall names", "%s.syscalls", path);
	json_object_object_foreach(v, name, counts)
	{
		struct cn_doc_syscall *s = CN_PUSH(*sc, *n, *cap);
		char at[300];

		pathf(at, sizeof(at), "%s.syscalls.%s", path, name);
		s->name = name;
		if (rd_int(rd, counts, "count", true, &s->count, at) < 0 ||
		    rd_int(rd, counts, "errors", false, &s->errors, at) < 0)
			return -1;
	}
	return 0;
}

static int rd_transitions(struct reader *rd, struct json_object *obj, struct cn_doc_transition **tx, size_t *n,
			  size_t *cap, const char *path)
{
	struct json_object *a;

	if (rd_array(rd, obj, "transitions", false, &a, path) < 0)
		return -1;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct cn_doc_transition *x = CN_PUSH(*tx, *n, *cap);
		char at[300];
		int64_t ts = 0;

		pathf(at, sizeof(at), "%s%stransitions[%zu]", path, *path ? "." : "", i);
		if (rd_int(rd, o, "pid", true, &x->pid, at) < 0 || rd_int(rd, o, "ts_ns", false, &ts, at) < 0 ||
		    rd_str(rd, o, "syscall", false, &x->syscall, at) < 0 ||
		    rd_str(rd, o, "kind", false, &x->kind, at) < 0 ||
		    rd_str(rd, o, "stage", false, &x->stage, at) < 0 || rd_bool(rd, o, "raise", &x->raise, at) < 0 ||
		    rd_bool(rd, o, "host_raise", &x->host_raise, at) < 0 || rd_int(rd, o, "phase", false, &x->phase, at) < 0 ||
		    rd_creds(rd, o, "before", &x->before, at) < 0 || rd_creds(rd, o, "after", &x->after, at) < 0)
			return -1;
		if (!x->after.have)
			return bad(rd, "required cred object missing", "%s.after", at);
		x->ts = (uint64_t)ts;
	}
	return 0;
}

static int rd_checks(struct reader *rd, struct json_object *obj, struct cn_doc_check **checks, size_t *n, size_t *cap,
		     const char *path, const char *stage)
{
	struct json_object *a;

	if (rd_array(rd, obj, "capability_checks", false, &a, path) < 0)
		return -1;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct cn_doc_check *k = CN_PUSH(*checks, *n, *cap);
		char at[300];
		int64_t first = 0;

		pathf(at, sizeof(at), "%s%scapability_checks[%zu]", path, *path ? "." : "", i);
		k->count = 1;
		if (rd_str(rd, o, "cap", true, &k->cap, at) < 0 || rd_int(rd, o, "pid", true, &k->pid, at) < 0 ||
		    rd_bool(rd, o, "granted", &k->granted, at) < 0 || rd_bool(rd, o, "host_ns", &k->host_ns, at) < 0 ||
		    rd_str(rd, o, "syscall", false, &k->syscall, at) < 0 ||
		    rd_int(rd, o, "count", false, &k->count, at) < 0 || rd_int(rd, o, "first_ns", false, &first, at) < 0 ||
		    rd_int(rd, o, "phase", false, &k->phase, at) < 0)
			return -1;
		k->first_ns = (uint64_t)first;
		/* the launch-wide list says which stage; a stage's own list is that stage's */
		k->stage_known = stage != NULL || json_object_object_get_ex(o, "stage", NULL);
		if (stage)
			k->stage = stage;
		else if (rd_str(rd, o, "stage", false, &k->stage, at) < 0)
			return -1;
	}
	return 0;
}

static int rd_unit(struct reader *rd, struct json_object *o, struct cn_doc_unit *u, bool is_stage, const char *at)
{
	struct json_object *creds = field(o, "creds");
	int64_t start = 0, end = 0;
	char cat[300];

	if (!o || !json_object_is_type(o, json_type_object))
		return bad(rd, "must be an object", "%s", at);
	if (is_stage) {
		if (rd_str(rd, o, "name", true, &u->name, at) < 0)
			return -1;
		/* a stage of cntrace exec --stage has its own name, and the symbol that begins it */
		if (cn_stage_from_name(u->name) == CN_STAGE_NONE && !field(o, "symbol"))
			return bad(rd, "not one of the ten stage names", "%s.name", at);
		if (rd_str(rd, o, "role", false, &u->role, at) < 0 ||
		    rd_int(rd, o, "enter_ns", false, &start, at) < 0 || rd_int(rd, o, "exit_ns", false, &end, at) < 0)
			return -1;
		u->have_rc = field(o, "rc") != NULL;
		if (rd_int(rd, o, "rc", false, &u->rc, at) < 0)
			return -1;
	} else {
		if (rd_str(rd, o, "begins_at", false, &u->begins_at, at) < 0 ||
		    rd_str(rd, o, "image", false, &u->image, at) < 0 ||
		    rd_int(rd, o, "start_ns", false, &start, at) < 0 || rd_int(rd, o, "end_ns", false, &end, at) < 0)
			return -1;
	}
	u->start_ns = (uint64_t)start;
	u->end_ns = end ? (uint64_t)end : UINT64_MAX;
	if (rd_int(rd, o, "id", false, &u->id, at) < 0 || rd_int(rd, o, "pid", true, &u->pid, at) < 0)
		return -1;
	pathf(cat, sizeof(cat), "%s.creds", at);
	if (creds && !json_object_is_type(creds, json_type_object))
		return bad(rd, "must be an object with entry and exit", "%s", cat);
	if (rd_creds(rd, creds, "entry", &u->entry, cat) < 0 || rd_creds(rd, creds, "exit", &u->exit, cat) < 0)
		return -1;
	return rd_transitions(rd, o, &u->tx, &u->ntx, &u->cap_tx, at) < 0 ||
			       rd_checks(rd, o, &u->checks, &u->nchecks, &u->cap_checks, at,
					 is_stage ? u->name : NULL) < 0 ||
			       rd_syscalls(rd, o, &u->sc, &u->nsc, &u->cap_sc, at) < 0
		       ? -1
		       : 0;
}

static int rd_process(struct reader *rd, struct json_object *o, struct cn_doc_process *p, const char *at)
{
	struct json_object *roles, *execs, *ns, *creds;
	int64_t start = 0, end = 0;
	char cat[300];

	if (!o || !json_object_is_type(o, json_type_object))
		return bad(rd, "must be an object", "%s", at);
	if (rd_int(rd, o, "pid", true, &p->pid, at) < 0 || rd_int(rd, o, "ppid", false, &p->ppid, at) < 0 ||
	    rd_str(rd, o, "role", true, &p->role, at) < 0 || rd_str(rd, o, "comm", false, &p->comm, at) < 0 ||
	    rd_str(rd, o, "born_in_stage", false, &p->born_in_stage, at) < 0 ||
	    rd_str(rd, o, "clone_syscall", false, &p->clone_syscall, at) < 0 ||
	    rd_int(rd, o, "start_ns", false, &start, at) < 0 || rd_int(rd, o, "exit_ns", false, &end, at) < 0 ||
	    rd_array(rd, o, "roles", false, &roles, at) < 0 || rd_array(rd, o, "execs", false, &execs, at) < 0 ||
	    rd_array(rd, o, "namespaces", false, &ns, at) < 0)
		return -1;
	p->exited = field(o, "exit_code") != NULL;
	if (rd_int(rd, o, "exit_code", false, &p->exit_code, at) < 0)
		return -1;
	if (!known_role(p->role))
		return bad(rd, "unknown role", "%s.role", at);
	p->start_ns = (uint64_t)start;
	p->exit_ns = end ? (uint64_t)end : UINT64_MAX;
	p->container = strcmp(p->role, "container") == 0;
	p->born_container = p->container;
	for (size_t i = 0; roles && i < json_object_array_length(roles); i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(roles, i));

		if (r && strcmp(r, "container") == 0)
			p->container = true;
	}
	for (size_t i = 0; ns && i < json_object_array_length(ns); i++) {
		const char *n = json_object_get_string(json_object_array_get_idx(ns, i));

		if (n && strcmp(n, "CLONE_NEWUSER") == 0) {
			p->new_namespaces = false; /* the others then belong to the new user namespace */
			break;
		}
		p->new_namespaces = true;
	}
	for (size_t i = 0; execs && i < json_object_array_length(execs); i++) {
		struct json_object *e = json_object_array_get_idx(execs, i);
		struct cn_doc_exec *x = CN_PUSH(p->execs, p->nexecs, p->cap_execs);
		char eat[300];
		int64_t ts = 0;

		pathf(eat, sizeof(eat), "%s.execs[%zu]", at, i);
		if (rd_str(rd, e, "filename", false, &x->filename, eat) < 0 ||
		    rd_int(rd, e, "ts_ns", false, &ts, eat) < 0 || rd_creds(rd, e, "creds", &x->creds, eat) < 0)
			return -1;
		x->ts = (uint64_t)ts;
	}
	creds = field(o, "creds");
	pathf(cat, sizeof(cat), "%s.creds", at);
	if (creds && !json_object_is_type(creds, json_type_object))
		return bad(rd, "must be an object with start and exit", "%s", cat);
	if (rd_creds(rd, creds, "start", &p->start, cat) < 0 || rd_creds(rd, creds, "exit", &p->exit, cat) < 0)
		return -1;
	return rd_syscalls(rd, o, &p->sc, &p->nsc, &p->cap_sc, at);
}

/* launch.configured: what the launcher was configured to give the container. */
static int rd_configured(struct reader *rd, struct json_object *launch, struct cn_doc *t)
{
	struct json_object *cfg = field(launch, "configured"), *caps;
	int64_t uid = 0, gid = 0; /* required below: set when the reads succeed */

	if (rd_str(rd, launch, "configured_error", false, &t->cfg_error, "launch") < 0)
		return -1;
	if (!cfg)
		return 0;
	if (!json_object_is_type(cfg, json_type_object))
		return bad(rd, "must be an object (uid, gid, caps)", "launch.configured");
	if (rd_int(rd, cfg, "uid", true, &uid, "launch.configured") < 0 ||
	    rd_int(rd, cfg, "gid", true, &gid, "launch.configured") < 0)
		return -1;
	caps = field(cfg, "caps");
	if (!caps || !json_object_is_type(caps, json_type_object))
		return bad(rd, "required object of the five capability sets missing", "launch.configured.caps");
	for (int s = 0; s < NCAPSETS; s++) {
		struct json_object *set = field(caps, capset_names[s]);

		if (!set || !json_object_is_type(set, json_type_array))
			return bad(rd, "must be a list of capability names", "launch.configured.caps.%s",
				   capset_names[s]);
		for (size_t i = 0; i < json_object_array_length(set); i++) {
			const char *name = json_object_get_string(json_object_array_get_idx(set, i));
			int cap = name ? cn_cap_from_name(name) : -1;

			if (cap < 0)
				return bad(rd, "unknown capability", "launch.configured.caps.%s[%zu]", capset_names[s],
					   i);
			t->cfg_caps[s] |= 1ull << cap;
		}
	}
	t->have_configured = true;
	t->cfg_uid = (uint32_t)uid;
	t->cfg_gid = (uint32_t)gid;
	return 0;
}

int cn_doc_read(struct json_object *doc, const char *origin, struct cn_doc *t, struct cn_error *err)
{
	struct reader rd = { origin, err };
	struct json_object *launch, *tracer, *a, *schema;
	int64_t uid = 0, gid = 0, start = 0, end = 0;
	char at[64];

	memset(t, 0, sizeof(*t));
	t->origin = origin;
	t->complete = true;
	t->exit_code = -1;
	if (!doc || !json_object_is_type(doc, json_type_object) || !(schema = field(doc, "schema")) ||
	    !is_string(schema) || strcmp(json_object_get_string(schema), CN_TRACE_SCHEMA) != 0)
		return cn_fail(err, 0, "%s: not a cntrace trace (schema is not \"%s\")", origin, CN_TRACE_SCHEMA);
	launch = field(doc, "launch");
	tracer = field(doc, "tracer");
	if (!launch || !json_object_is_type(launch, json_type_object))
		return bad(&rd, "required object missing", "launch");
	if (!tracer || !json_object_is_type(tracer, json_type_object))
		return bad(&rd, "required object missing", "tracer");
	if (rd_str(&rd, launch, "flow", true, &t->flow, "launch") < 0 ||
	    rd_int(&rd, field(launch, "caller"), "uid", true, &uid, "launch.caller") < 0 ||
	    rd_int(&rd, field(launch, "caller"), "gid", true, &gid, "launch.caller") < 0 ||
	    rd_configured(&rd, launch, t) < 0 || rd_int(&rd, tracer, "lost_events", true, &t->lost, "tracer") < 0 ||
	    rd_bool(&rd, tracer, "complete", &t->complete, "tracer") < 0 ||
	    rd_str(&rd, launch, "mode", false, &t->mode, "launch") < 0 ||
	    rd_int(&rd, launch, "exit_code", false, &t->exit_code, "launch") < 0 ||
	    rd_int(&rd, launch, "start_ns", false, &start, "launch") < 0 ||
	    rd_int(&rd, launch, "end_ns", false, &end, "launch") < 0 ||
	    rd_str(&rd, tracer, "arch", false, &t->arch, "tracer") < 0)
		return -1;
	t->start_ns = (uint64_t)start;
	t->end_ns = (uint64_t)end;
	t->caller_uid = (uint32_t)uid;
	t->caller_gid = (uint32_t)gid;
	/* a trace written before the field existed had its probes whenever it has stages */
	t->stage_probes = true;
	if (rd_bool(&rd, tracer, "stage_probes", &t->stage_probes, "tracer") < 0)
		return -1;

	if (rd_array(&rd, doc, "processes", true, &a, "") < 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		pathf(at, sizeof(at), "processes[%zu]", i);
		if (rd_process(&rd, json_object_array_get_idx(a, i), CN_PUSH(t->procs, t->nprocs, t->cap_procs), at) < 0)
			return -1;
	}
	if (rd_array(&rd, doc, "stages", true, &a, "") < 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		pathf(at, sizeof(at), "stages[%zu]", i);
		if (rd_unit(&rd, json_object_array_get_idx(a, i), CN_PUSH(t->stages, t->nstages, t->cap_stages), true,
			    at) < 0)
			return -1;
	}
	if (rd_array(&rd, doc, "phases", false, &a, "") < 0)
		return -1;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		pathf(at, sizeof(at), "phases[%zu]", i);
		if (rd_unit(&rd, json_object_array_get_idx(a, i), CN_PUSH(t->phases, t->nphases, t->cap_phases), false,
			    at) < 0)
			return -1;
	}
	if (rd_transitions(&rd, doc, &t->tx, &t->ntx, &t->cap_tx, "") < 0 ||
	    rd_checks(&rd, doc, &t->checks, &t->nchecks, &t->cap_checks, "", NULL) < 0)
		return -1;
	return 0;
}

const struct cn_doc_process *cn_doc_process(const struct cn_doc *t, int64_t pid)
{
	for (size_t i = 0; i < t->nprocs; i++)
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	return NULL;
}

const char *cn_doc_role(const struct cn_doc *t, int64_t pid)
{
	const struct cn_doc_process *p = cn_doc_process(t, pid);

	return p ? p->role : "unknown";
}


/*
 * A check that no syscall of the process asked for (policy/README.md,
 * "Capability checks nobody asked for"): made outside any syscall, or the
 * kernel's memory overcommit heuristic, which asks whether the task has
 * CAP_SYS_ADMIN only to leave it the admin reserve, grants nothing and is not
 * audited. A clone-family syscall checks CAP_SYS_ADMIN for real only when it
 * makes namespaces in the host user namespace.
 */
bool cn_doc_incidental(const struct cn_doc *t, const struct cn_doc_check *k, bool stage_known, const char *stage)
{
	static const char *const overcommit[] = { "mmap", "mmap2", "mprotect", "pkey_mprotect", "mremap", "brk",
						  "execve", "execveat", "shmget", NULL };
	static const char *const clones[] = { "clone", "clone3", "fork", "vfork", NULL };

	if (!k->syscall)
		return true;
	if (strcmp(k->cap, "CAP_SYS_ADMIN") != 0)
		return false;
	if (in_list(k->syscall, overcommit))
		return true;
	if (!in_list(k->syscall, clones))
		return false;
	for (size_t i = 0; i < t->nprocs; i++) {
		const struct cn_doc_process *c = &t->procs[i];

		if (c->ppid != k->pid || !c->new_namespaces || !c->clone_syscall ||
		    strcmp(c->clone_syscall, k->syscall) != 0)
			continue;
		if (stage_known && (c->born_in_stage == NULL) != (stage == NULL))
			continue;
		if (stage_known && stage && strcmp(c->born_in_stage, stage) != 0)
			continue;
		return false;
	}
	return true;
}

/*
 * The container's phases: everything a process born in the container did, and
 * what the process that became the container did from the exec of the command
 * on (its phases that start after its StartProcess ended).
 */
bool cn_doc_container_phase(const struct cn_doc *t, const struct cn_doc_process *p, const struct cn_doc_unit *ph)
{
	uint64_t after = 0;
	bool started = false;

	if (ph->pid != p->pid)
		return false;
	if (p->born_container)
		return true;
	for (size_t i = 0; i < t->nstages; i++)
		if (t->stages[i].pid == p->pid && strcmp(t->stages[i].name, "StartProcess") == 0) {
			started = true;
			if (t->stages[i].end_ns > after)
				after = t->stages[i].end_ns;
		}
	if (!started)
		return ph->begins_at && strcmp(ph->begins_at, "exec") == 0;
	return ph->start_ns >= after;
}
