/* SPDX-License-Identifier: Apache-2.0
 *
 * The Trace model as the JSON document of DESIGN.md's contract
 * (schema "cntrace.trace/1"). Everything in it is derived from the model; the
 * writer holds no state of its own.
 */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "creds.h"
#include "names.h"
#include "stage.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *stage_name(uint8_t stage)
{
	return cn_stage_name((enum cn_stage)stage);
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

/* Which records a list takes: all, or those of one stage instance, phase or process. */
enum scope_kind { SCOPE_ALL, SCOPE_INSTANCE, SCOPE_PHASE, SCOPE_PID };

struct scope {
	enum scope_kind kind;
	uint32_t id;
};

static bool in_scope(struct scope sc, uint32_t pid, uint32_t instance, uint32_t phase)
{
	switch (sc.kind) {
	case SCOPE_ALL:
		return true;
	case SCOPE_INSTANCE:
		return instance == sc.id;
	case SCOPE_PHASE:
		return phase == sc.id;
	case SCOPE_PID:
		return pid == sc.id;
	}
	return false;
}

static struct json_object *syscalls_json(const struct cn_trace *tr, struct scope sc)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < tr->ncounts; i++) {
		const struct cn_tr_count *c = &tr->counts[i];
		const char *name = c->key.nr < 0 ? "none" : cn_syscall_name(c->key.nr);
		struct json_object *entry, *v;
		int64_t count = (int64_t)c->val.count, errors = (int64_t)c->val.errors;

		if (!in_scope(sc, c->key.pid, c->key.instance, c->key.phase))
			continue;
		if (json_object_object_get_ex(o, name, &entry)) {
			json_object_object_get_ex(entry, "count", &v);
			count += json_object_get_int64(v);
			json_object_object_get_ex(entry, "errors", &v);
			errors += json_object_get_int64(v);
		} else {
			entry = json_object_new_object();
			add(o, name, entry);
		}
		add(entry, "count", json_object_new_int64(count));
		add(entry, "errors", json_object_new_int64(errors));
	}
	return o;
}

static struct json_object *transition_json(const struct cn_tr_transition *x)
{
	static const char *const kinds[] = { "syscall", "exec", "clone" };
	struct json_object *o = json_object_new_object();
	struct json_object *changes = json_object_new_array();

	add(o, "pid", json_object_new_int64(x->pid));
	add(o, "tid", json_object_new_int64(x->tid));
	add(o, "ts_ns", u64(x->ts));
	add(o, "kind", json_object_new_string(kinds[x->kind < 3 ? x->kind : 0]));
	add(o, "syscall", str_or_null(cn_syscall_name(x->syscall)));
	add(o, "ret", json_object_new_int64(x->ret));
	add(o, "stage", str_or_null(stage_name(x->stage)));
	add(o, "stage_id", json_object_new_int64(x->instance));
	add(o, "phase", json_object_new_int64(x->phase));
	add(o, "before", x->before_known ? cn_creds_to_json(&x->before) : NULL);
	add(o, "after", cn_creds_to_json(&x->after));
	add(o, "raise", json_object_new_boolean(x->raise));
	add(o, "host_raise", json_object_new_boolean(x->host_raise));
	for (unsigned f = 1; f < CN_CRED__ALL; f <<= 1)
		if (x->changes & f)
			json_object_array_add(changes, json_object_new_string(cn_cred_field_name(f)));
	add(o, "changes", changes);
	return o;
}

static struct json_object *transitions_json(const struct cn_trace *tr, struct scope sc)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < tr->ntransitions; i++) {
		const struct cn_tr_transition *x = &tr->transitions[i];

		if (in_scope(sc, x->pid, x->instance, x->phase))
			json_object_array_add(a, transition_json(x));
	}
	return a;
}

static struct json_object *cap_check_json(const struct cn_tr_cap_check *c, bool where)
{
	struct json_object *o = json_object_new_object();
	char buf[16];

	add(o, "cap", json_object_new_string(cn_cap_name(c->key.cap, buf)));
	add(o, "granted", json_object_new_boolean(c->key.flags & CN_CAP_GRANTED));
	add(o, "host_ns", json_object_new_boolean(c->key.flags & CN_CAP_HOST));
	add(o, "cred_host_ns", json_object_new_boolean(c->key.flags & CN_CAP_CRED_HOST));
	add(o, "other_cred", json_object_new_boolean(c->key.flags & CN_CAP_OTHER_CRED));
	add(o, "syscall", str_or_null(cn_syscall_name(c->key.nr)));
	add(o, "count", u64(c->val.count));
	add(o, "pid", json_object_new_int64(c->key.pid));
	if (where) {
		add(o, "stage", str_or_null(stage_name(c->key.stage)));
		add(o, "stage_id", json_object_new_int64(c->key.instance));
		add(o, "phase", json_object_new_int64(c->key.phase));
	}
	add(o, "first_ns", u64(c->val.first_ts));
	add(o, "last_ns", u64(c->val.last_ts));
	return o;
}

static bool same_check(const struct cn_tr_cap_check *a, const struct cn_tr_cap_check *b)
{
	return a->key.pid == b->key.pid && a->key.cap == b->key.cap && a->key.flags == b->key.flags &&
	       a->key.nr == b->key.nr;
}

/* Checks within one scope; those that differ only by phase or instance are added up. */
static struct json_object *cap_checks_json(const struct cn_trace *tr, struct scope sc)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < tr->ncap_checks; i++) {
		struct cn_tr_cap_check sum = tr->cap_checks[i];
		bool seen = false;

		if (!in_scope(sc, sum.key.pid, sum.key.instance, sum.key.phase))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = in_scope(sc, tr->cap_checks[j].key.pid, tr->cap_checks[j].key.instance,
					tr->cap_checks[j].key.phase) &&
			       same_check(&tr->cap_checks[j], &sum);
		if (seen)
			continue;
		for (size_t j = i + 1; j < tr->ncap_checks; j++) {
			const struct cn_tr_cap_check *o = &tr->cap_checks[j];

			if (!in_scope(sc, o->key.pid, o->key.instance, o->key.phase) || !same_check(o, &sum))
				continue;
			sum.val.count += o->val.count;
			if (o->val.last_ts > sum.val.last_ts)
				sum.val.last_ts = o->val.last_ts;
		}
		json_object_array_add(a, cap_check_json(&sum, sc.kind == SCOPE_ALL));
	}
	return a;
}

static struct json_object *creds_pair(const char *k1, const struct cn_creds *c1, const char *k2,
				      const struct cn_creds *c2)
{
	struct json_object *o = json_object_new_object();

	add(o, k1, c1 ? cn_creds_to_json(c1) : NULL);
	add(o, k2, c2 ? cn_creds_to_json(c2) : NULL);
	return o;
}

static struct json_object *exit_code_json(const struct cn_tr_process *p)
{
	return p->exited ? json_object_new_int(cn_wait_status_code((int)p->wait_status)) : NULL;
}

static struct json_object *process_json(const struct cn_trace *tr, const struct cn_tr_process *p)
{
	struct json_object *o = json_object_new_object();
	struct json_object *roles = json_object_new_array();
	struct json_object *execs = json_object_new_array();
	struct json_object *flags = json_object_new_array();
	const char *names[8];
	int n = cn_clone_ns_names(p->clone_flags, names);

	add(o, "pid", json_object_new_int64(p->pid));
	add(o, "ppid", p->pid == tr->root_pid ? json_object_new_int(0) : json_object_new_int64(p->ppid));
	add(o, "role", json_object_new_string(cn_trace_role_name(p->role)));
	for (int i = 0; i < p->nroles; i++)
		json_object_array_add(roles, json_object_new_string(cn_trace_role_name(p->roles[i])));
	add(o, "roles", roles);
	add(o, "comm", json_object_new_string(p->comm));
	add(o, "start_ns", u64(p->start_ns));
	add(o, "exit_ns", p->exited ? u64(p->exit_ns) : NULL);
	add(o, "exit_code", exit_code_json(p));
	add(o, "exit_signal", p->exited && WIFSIGNALED(p->wait_status) ? json_object_new_int(WTERMSIG(p->wait_status))
								     : NULL);
	add(o, "born_in_stage", str_or_null(stage_name(cn_trace_stage(tr, p->start_instance)
							       ? cn_trace_stage(tr, p->start_instance)->stage
							       : 0)));
	add(o, "clone_syscall", p->pid == tr->root_pid ? NULL : str_or_null(cn_syscall_name(p->clone_syscall)));
	for (int i = 0; i < n; i++)
		json_object_array_add(flags, json_object_new_string(names[i]));
	add(o, "namespaces", flags);
	add(o, "threads", json_object_new_int64(p->threads));
	for (size_t i = 0; i < p->nexecs; i++) {
		const struct cn_tr_exec *x = &p->execs[i];
		struct json_object *e = json_object_new_object();

		add(e, "filename", json_object_new_string(x->filename));
		add(e, "comm", json_object_new_string(x->comm));
		add(e, "ts_ns", u64(x->ts));
		add(e, "phase", json_object_new_int64(x->phase));
		add(e, "tid", json_object_new_int64(x->tid));
		add(e, "syscall", str_or_null(cn_syscall_name(x->syscall)));
		add(e, "ino", u64(x->ino));
		add(e, "dev", json_object_new_int64(x->dev));
		add(e, "creds", cn_creds_to_json(&x->creds));
		add(e, "syscalls", syscalls_json(tr, (struct scope){ SCOPE_PHASE, x->phase }));
		json_object_array_add(execs, e);
	}
	add(o, "execs", execs);
	add(o, "creds", creds_pair("start", p->have_start_creds ? &p->start_creds : NULL, "exit",
				   p->have_exit_creds ? &p->exit_creds : NULL));
	add(o, "syscalls", syscalls_json(tr, (struct scope){ SCOPE_PID, p->pid }));
	return o;
}

static struct json_object *stage_pids(const struct cn_trace *tr, const struct cn_tr_stage *s)
{
	struct json_object *a = json_object_new_array();
	uint32_t pids[64];
	size_t n = 0;

	pids[n++] = s->pid;
	for (size_t i = 0; i < tr->ncounts && n < 64; i++) {
		const struct cn_tr_count *c = &tr->counts[i];
		bool seen = false;

		if (c->key.instance != s->instance)
			continue;
		for (size_t j = 0; j < n && !seen; j++)
			seen = pids[j] == c->key.pid;
		if (!seen)
			pids[n++] = c->key.pid;
	}
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64(pids[i]));
	return a;
}

static struct json_object *stage_json(const struct cn_trace *tr, const struct cn_tr_stage *s)
{
	struct json_object *o = json_object_new_object();
	struct scope sc = { SCOPE_INSTANCE, s->instance };
	const struct cn_tr_stage *parent = cn_trace_stage(tr, s->parent_instance);

	add(o, "name", str_or_null(stage_name(s->stage)));
	add(o, "id", json_object_new_int64(s->instance));
	add(o, "parent", parent ? json_object_new_int64(parent->instance) : NULL);
	add(o, "pid", json_object_new_int64(s->pid));
	add(o, "tid", json_object_new_int64(s->tid));
	add(o, "role", json_object_new_string(cn_trace_role_name(s->role)));
	add(o, "enter_ns", u64(s->enter_ns));
	add(o, "exit_ns", s->exited ? u64(s->exit_ns) : NULL);
	add(o, "rc", s->exited ? json_object_new_int(s->rc) : NULL);
	add(o, "closed_by_exec", json_object_new_boolean(s->by_exec));
	add(o, "creds", creds_pair("entry", &s->entry, "exit", s->have_exit_creds ? &s->exit : NULL));
	add(o, "processes", stage_pids(tr, s));
	add(o, "transitions", transitions_json(tr, sc));
	add(o, "capability_checks", cap_checks_json(tr, sc));
	add(o, "syscalls", syscalls_json(tr, sc));
	return o;
}

static struct json_object *phase_json(const struct cn_trace *tr, const struct cn_tr_phase *ph)
{
	struct json_object *o = json_object_new_object();
	struct scope sc = { SCOPE_PHASE, ph->id };

	add(o, "id", json_object_new_int64(ph->id));
	add(o, "pid", json_object_new_int64(ph->pid));
	add(o, "parent", ph->parent_phase ? json_object_new_int64(ph->parent_phase) : NULL);
	add(o, "image", json_object_new_string(ph->image));
	add(o, "begins_at", json_object_new_string(ph->forked ? "fork" : ph->parent_phase ? "exec" : "launch"));
	add(o, "start_ns", u64(ph->start_ns));
	add(o, "end_ns", ph->ended ? u64(ph->end_ns) : NULL);
	add(o, "creds", creds_pair("entry", &ph->entry, "exit", ph->have_exit_creds ? &ph->exit : NULL));
	add(o, "transitions", transitions_json(tr, sc));
	add(o, "capability_checks", cap_checks_json(tr, sc));
	add(o, "syscalls", syscalls_json(tr, sc));
	return o;
}

static struct json_object *syscall_log_json(const struct cn_trace *tr)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < tr->nsyscalls; i++) {
		const struct cn_tr_syscall *s = &tr->syscalls[i];
		struct json_object *o = json_object_new_object();
		struct json_object *args = json_object_new_array();

		add(o, "ts_ns", u64(s->ts));
		add(o, "enter_ns", s->enter_ts ? u64(s->enter_ts) : NULL);
		add(o, "pid", json_object_new_int64(s->pid));
		add(o, "tid", json_object_new_int64(s->tid));
		add(o, "stage", str_or_null(stage_name(s->stage)));
		add(o, "phase", json_object_new_int64(s->phase));
		add(o, "name", str_or_null(cn_syscall_name(s->nr)));
		add(o, "nr", json_object_new_int(s->nr));
		for (int j = 0; j < 6; j++)
			json_object_array_add(args, u64(s->args[j]));
		add(o, "args", args);
		add(o, "ret", s->no_return ? NULL : json_object_new_int64(s->ret));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *ids_json(uint32_t uid, uint32_t gid)
{
	struct json_object *o = json_object_new_object();

	add(o, "uid", json_object_new_int64(uid));
	add(o, "gid", json_object_new_int64(gid));
	return o;
}

static struct json_object *launch_json(const struct cn_trace *tr)
{
	struct json_object *o = json_object_new_object();
	struct json_object *argv = json_object_new_array();

	add(o, "mode", json_object_new_string(tr->mode ? tr->mode : "exec"));
	add(o, "flow", json_object_new_string(cn_trace_flow(tr)));
	add(o, "flow_requested", str_or_null(tr->flow));
	add(o, "caller", ids_json(tr->caller_uid, tr->caller_gid));
	add(o, "as", tr->as_user ? ids_json(tr->as_uid, tr->as_gid) : NULL);
	for (char *const *a = tr->argv; a && *a; a++)
		json_object_array_add(argv, json_object_new_string(*a));
	add(o, "argv", argv);
	add(o, "launcher", str_or_null(tr->launcher));
	add(o, "pid", json_object_new_int64(tr->root_pid));
	add(o, "exit_code", tr->exit_status >= 0 ? json_object_new_int(cn_wait_status_code(tr->exit_status)) : NULL);
	add(o, "start_ns", u64(tr->start_ns));
	add(o, "end_ns", u64(tr->end_ns));
	return o;
}

static struct json_object *tracer_json(const struct cn_trace *tr)
{
	struct json_object *o = json_object_new_object();
	struct json_object *l = json_object_new_object();

	add(o, "lost_events", u64(cn_trace_lost(tr)));
	add(o, "events", u64(tr->events));
	add(l, "events", u64(tr->losses[CN_LOSS_EVENTS]));
	add(l, "syscall_log", u64(tr->losses[CN_LOSS_SYSCALL_LOG]));
	add(l, "syscall_counts", u64(tr->losses[CN_LOSS_COUNTS]));
	add(l, "capability_checks", u64(tr->losses[CN_LOSS_CAPS]));
	add(l, "tasks", u64(tr->losses[CN_LOSS_TASKS]));
	add(l, "malformed", u64(tr->bad_records));
	add(o, "losses", l);
	add(o, "syscalls", json_object_new_string(tr->full_syscalls ? "full" : "counts"));
	add(o, "stage_probes", json_object_new_boolean(tr->usdt_attached));
	add(o, "unmatched_stage_exits", u64(tr->unmatched_exits));
	add(o, "complete", json_object_new_boolean(tr->complete));
	add(o, "startup_ns", u64(tr->startup_ns));
	add(o, "invoked_by", ids_json(tr->tracer_uid, tr->tracer_gid));
	return o;
}

struct json_object *cn_trace_to_json(const struct cn_trace *tr)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a;

	add(o, "schema", json_object_new_string(CN_TRACE_SCHEMA));
	add(o, "launch", launch_json(tr));
	add(o, "tracer", tracer_json(tr));
	a = json_object_new_array();
	for (size_t i = 0; i < tr->nprocs; i++)
		json_object_array_add(a, process_json(tr, &tr->procs[i]));
	add(o, "processes", a);
	a = json_object_new_array();
	for (size_t i = 0; i < tr->nstages; i++)
		json_object_array_add(a, stage_json(tr, &tr->stages[i]));
	add(o, "stages", a);
	a = json_object_new_array();
	for (size_t i = 0; i < tr->nphases; i++)
		json_object_array_add(a, phase_json(tr, &tr->phases[i]));
	add(o, "phases", a);
	add(o, "transitions", transitions_json(tr, (struct scope){ SCOPE_ALL, 0 }));
	add(o, "capability_checks", cap_checks_json(tr, (struct scope){ SCOPE_ALL, 0 }));
	add(o, "syscalls", syscalls_json(tr, (struct scope){ SCOPE_ALL, 0 }));
	if (tr->full_syscalls)
		add(o, "syscall_log", syscall_log_json(tr));
	return o;
}

const char *cn_json_string(struct json_object *doc)
{
	return json_object_to_json_string_ext(doc, JSON_FLAGS);
}

int cn_json_write(struct json_object *doc, const char *path, struct cn_error *err)
{
	const char *text = cn_json_string(doc);
	FILE *f;

	if (strcmp(path, "-") == 0) {
		fputs(text, stdout);
		fputc('\n', stdout);
		return fflush(stdout) == 0 ? 0 : cn_fail(err, errno, "write trace to stdout");
	}
	f = fopen(path, "we");
	if (!f)
		return cn_fail(err, errno, "%s", path);
	fputs(text, f);
	fputc('\n', f);
	if (ferror(f) | (fclose(f) != 0))
		return cn_fail(err, errno, "%s: write", path);
	return 0;
}

/*
 * The whole file, parsed; the refusal says what is wrong in the user's terms
 * ("not JSON: unexpected end of the file (at byte 5000)") rather than json-c's
 * ("json_tokener_parse_ex failed: continue"), and trailing data is refused.
 * (Issue 7, the bad-input table.)
 */
struct json_object *cn_json_read(const char *path, struct cn_error *err)
{
	struct json_object *doc, *schema;
	struct json_tokener *tok;
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t size = 0, end;
	ssize_t n;

	if (!f)
		return cn_fail(err, errno, "%s", path), NULL;
	n = getdelim(&text, &size, '\0', f);
	if (n < 0 && ferror(f)) {
		cn_fail(err, errno, "%s", path);
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	if (n > 0 && (size_t)n != strlen(text)) {
		cn_fail(err, 0, "%s: not JSON: a NUL byte at byte %zu", path, strlen(text));
		free(text);
		return NULL;
	}
	if (!(tok = json_tokener_new())) {
		free(text);
		return cn_fail(err, ENOMEM, "%s", path), NULL;
	}
	doc = n > 0 ? json_tokener_parse_ex(tok, text, (int)n) : NULL;
	end = n > 0 ? json_tokener_get_parse_end(tok) : 0;
	while (doc && end < (size_t)n && strchr(" \t\r\n", text[end]))
		end++;
	if (!doc || end < (size_t)n) {
		enum json_tokener_error je = n > 0 ? json_tokener_get_error(tok) : json_tokener_continue;

		cn_fail(err, 0, "%s: not JSON: %s (at byte %zu)", path,
			doc ? "trailing data after the document"
			: je == json_tokener_continue ? "unexpected end of the file" : json_tokener_error_desc(je), end);
		json_object_put(doc);
		json_tokener_free(tok);
		free(text);
		return NULL;
	}
	json_tokener_free(tok);
	free(text);
	if (!json_object_object_get_ex(doc, "schema", &schema) ||
	    strcmp(json_object_get_string(schema) ? json_object_get_string(schema) : "", CN_TRACE_SCHEMA) != 0) {
		json_object_put(doc);
		cn_fail(err, 0, "%s: not a cntrace trace (schema is not \"%s\")", path, CN_TRACE_SCHEMA);
		return NULL;
	}
	return doc;
}
