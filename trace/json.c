/* SPDX-License-Identifier: Apache-2.0
 *
 * The Trace model as the JSON document of DESIGN.md's contract
 * (schema "cntrace.trace/1"). Everything in it is derived from the model; the
 * writer holds no state of its own.
 */
#define _GNU_SOURCE
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "creds.h"
#include "names.h"
#include "spool.h"
#include "phase_detect.h"
#include "stage.h"
#include "stages_ext.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *stage_name(uint8_t stage)
{
	const char *name = cn_stage_name((enum cn_stage)stage);

	return name ? name : cn_ext_stage_name(stage); /* a --stage of cntrace exec */
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

/*
 * A cred object per distinct snapshot, shared (json-c counts references) by
 * every place of the document that shows the same creds: a launch of /bin/true
 * shows ~850 snapshots of a few dozen distinct creds, each object ~100 json-c
 * objects (the bounding set alone is 41 names): building and freeing them was
 * a third of cntrace's time. The text is the same. The memo lives while
 * cn_trace_to_json builds one document; it is direct-mapped, by a hash of the
 * snapshot: a list of 64 (~75 distinct creds in a launch of /bin/true) missed
 * in turn and made each object anew.
 */
#define CREDS_MEMO 256

static __thread struct creds_memo {
	struct cn_creds c;
	struct json_object *o;
} *memo;

/*
 * A shared cred object is written once as text and each time after as that
 * text, indented to where it stands: walking its ~100 json-c objects for each
 * of the ~850 places was most of writing the trace (json-c indents a nested
 * line by its level, and no string of a cred holds a newline, so the text at
 * level n is the text at level 0 with n levels after each newline). The text
 * is made with the object, and again, from a twin built from the snapshot
 * kept here, if a write asks for other flags (the object cannot write itself
 * through json-c while this serializer is its own). Nothing changes the
 * object after the memo made it.
 */
struct creds_text {
	struct cn_creds c;
	int flags;
	char *text;
};

static void creds_text_free(struct json_object *o, void *userdata)
{
	struct creds_text *t = userdata;

	(void)o;
	free(t->text);
	free(t);
}

static int creds_text_write(struct json_object *o, struct printbuf *pb, int level, int flags)
{
	struct creds_text *t = json_object_get_userdata(o);
	bool tabs = flags & JSON_C_TO_STRING_PRETTY_TAB;
	const char *p;

	if (!t->text || t->flags != flags) {
		struct json_object *twin = cn_creds_to_json(&t->c);
		char *text = twin ? strdup(json_object_to_json_string_ext(twin, flags)) : NULL;

		json_object_put(twin);
		if (!text)
			return -1;
		free(t->text);
		t->text = text;
		t->flags = flags;
	}
	for (p = t->text;;) {
		const char *nl = (flags & JSON_C_TO_STRING_PRETTY) ? strchr(p, '\n') : NULL;

		if (!nl)
			return printbuf_memappend(pb, p, (int)strlen(p));
		if (printbuf_memappend(pb, p, (int)(nl + 1 - p)) < 0 ||
		    printbuf_memset(pb, -1, tabs ? '\t' : ' ', tabs ? level : level * 2) < 0)
			return -1;
		p = nl + 1;
	}
}

static struct json_object *creds_json(const struct cn_creds *c)
{
	const unsigned char *b = (const unsigned char *)c;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	struct creds_memo *m;
	struct creds_text *t;

	if (!memo)
		return cn_creds_to_json(c);
	for (size_t i = 0; i < sizeof(*c); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	m = &memo[h % CREDS_MEMO];
	if (m->o && memcmp(&m->c, c, sizeof(*c)) == 0)
		return json_object_get(m->o);
	json_object_put(m->o); /* a cred that misses is made anew and takes the slot */
	m->c = *c;
	m->o = cn_creds_to_json(c);
	t = calloc(1, sizeof(*t));
	if (t) {
		t->c = *c;
		t->flags = JSON_FLAGS; /* what the trace is written with */
		t->text = strdup(json_object_to_json_string_ext(m->o, JSON_FLAGS));
		json_object_set_serializer(m->o, creds_text_write, t, creds_text_free);
	}
	return json_object_get(m->o);
}

/*
 * The {count, errors} entries of the "syscalls" tables, shared in the same way
 * by every table with the same pair: a thousand processes of one program made
 * ~90k of them, each a json-c object with its own hash table (~650 bytes), the
 * most of cntrace's peak memory (87 of 118 MiB). A direct-mapped cache: a pair
 * that misses is made anew and takes the slot.
 */
#define COUNTS_MEMO 1024

static __thread struct counts_memo {
	int64_t count, errors;
	struct json_object *o;
} *counts_memo;

static struct json_object *count_entry(int64_t count, int64_t errors)
{
	struct counts_memo *m = NULL;
	struct json_object *o;

	if (counts_memo) {
		m = &counts_memo[((uint64_t)count * 0x9e3779b97f4a7c15ull + (uint64_t)errors) % COUNTS_MEMO];
		if (m->o && m->count == count && m->errors == errors)
			return json_object_get(m->o);
	}
	o = json_object_new_object();
	add(o, "count", json_object_new_int64(count));
	add(o, "errors", json_object_new_int64(errors));
	if (m) {
		json_object_put(m->o);
		*m = (struct counts_memo){ count, errors, json_object_get(o) };
	}
	return o;
}

static void memo_begin(void)
{
	memo = calloc(CREDS_MEMO, sizeof(*memo)); /* NULL: every object its own */
	counts_memo = calloc(COUNTS_MEMO, sizeof(*counts_memo));
}

static void memo_end(void)
{
	for (size_t i = 0; memo && i < CREDS_MEMO; i++)
		json_object_put(memo[i].o);
	free(memo);
	memo = NULL;
	for (size_t i = 0; counts_memo && i < COUNTS_MEMO; i++)
		json_object_put(counts_memo[i].o);
	free(counts_memo);
	counts_memo = NULL;
}

/* Which records a list takes: all, or those of one stage instance, phase or process. */
enum scope_kind { SCOPE_ALL, SCOPE_INSTANCE, SCOPE_PHASE, SCOPE_PID };

struct scope {
	enum scope_kind kind;
	uint32_t id;
	uint32_t pid; /* SCOPE_PHASE, SCOPE_PID: the process (a phase is one process's) */
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

/* The rows of counts[] (sorted by pid first) a scope can take: those of its process, or all. */
static void count_rows(const struct cn_trace *tr, struct scope sc, size_t *first, size_t *end)
{
	size_t lo = 0, hi = tr->ncounts;

	*first = 0;
	*end = tr->ncounts;
	if (sc.kind != SCOPE_PHASE && sc.kind != SCOPE_PID)
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tr->counts[mid].key.pid < sc.pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (hi < tr->ncounts && tr->counts[hi].key.pid == sc.pid)
		hi++;
	*end = hi;
}

static struct json_object *syscalls_json(const struct cn_trace *tr, struct scope sc)
{
	struct json_object *o = json_object_new_object();
	_cleanup_free_ struct cn_tr_count *sum = NULL; /* per number, in the order first seen */
	size_t n = 0, cap = 0, first, end;

	count_rows(tr, sc, &first, &end);
	for (size_t i = first; i < end; i++) {
		const struct cn_tr_count *c = &tr->counts[i];
		size_t j = 0;

		if (!in_scope(sc, c->key.pid, c->key.instance, c->key.phase))
			continue;
		while (j < n && sum[j].key.nr != c->key.nr)
			j++;
		if (j == n) {
			if (n == cap) {
				struct cn_tr_count *more = realloc(sum, (cap = cap ? 2 * cap : 32) * sizeof(*sum));

				if (!more)
					break;
				sum = more;
			}
			sum[n++] = (struct cn_tr_count){ .key.nr = c->key.nr };
		}
		sum[j].val.count += c->val.count;
		sum[j].val.errors += c->val.errors;
	}
	for (size_t j = 0; j < n; j++)
		add(o, sum[j].key.nr < 0 ? "none" : cn_syscall_name(sum[j].key.nr),
		    count_entry((int64_t)sum[j].val.count, (int64_t)sum[j].val.errors));
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
	add(o, "before", x->before_known ? creds_json(&x->before) : NULL);
	add(o, "after", creds_json(&x->after));
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

	add(o, k1, c1 ? creds_json(c1) : NULL);
	add(o, k2, c2 ? creds_json(c2) : NULL);
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
		add(e, "creds", creds_json(&x->creds));
		add(e, "syscalls", syscalls_json(tr, (struct scope){ SCOPE_PHASE, x->phase, p->pid }));
		json_object_array_add(execs, e);
	}
	add(o, "execs", execs);
	add(o, "creds", creds_pair("start", p->have_start_creds ? &p->start_creds : NULL, "exit",
				   p->have_exit_creds ? &p->exit_creds : NULL));
	add(o, "syscalls", syscalls_json(tr, (struct scope){ SCOPE_PID, p->pid, p->pid }));
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
	struct scope sc = { SCOPE_INSTANCE, s->instance, 0 };
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
	cn_ext_stage_describe(o, s->stage); /* a --stage: its binary, symbol, offset */
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
	struct scope sc = { SCOPE_PHASE, ph->id, ph->pid };

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
	struct json_object *l = json_object_new_object(), *user;

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
	/* the syscall names above are this architecture's (seccomp-profile writes its architectures) */
	add(o, "arch", json_object_new_string(cn_arch_name()));
	add(o, "stage_probes", json_object_new_boolean(tr->usdt_attached));
	user = cn_ext_stages_json();
	/* how they and the --stage uprobes were attached: "uprobe_multi" (a link a probe or file) or "perf_event" */
	add(o, "stage_probe_links", tr->usdt_attached || json_object_array_length(user) > 0
					    ? json_object_new_string(tr->usdt_multi ? "uprobe_multi" : "perf_event")
					    : NULL);
	add(o, "user_stages", user);
	add(o, "unmatched_stage_exits", u64(tr->unmatched_exits));
	add(o, "complete", json_object_new_boolean(tr->complete));
	add(o, "startup_ns", u64(tr->startup_ns));
	/* what CO-RE relocated against: "built-in" (the build's cut, this kernel's) or "kernel" */
	add(o, "core_btf", json_object_new_string(tr->core_btf ? "built-in" : "kernel"));
	add(o, "invoked_by", ids_json(tr->tracer_uid, tr->tracer_gid));
	return o;
}

struct json_object *cn_trace_to_json(const struct cn_trace *tr)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a;

	memo_begin();
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
	cn_phase_detect_annotate(tr, o); /* "boundaries", and what phases[] entries gain */
	add(o, "transitions", transitions_json(tr, (struct scope){ SCOPE_ALL, 0, 0 }));
	add(o, "capability_checks", cap_checks_json(tr, (struct scope){ SCOPE_ALL, 0, 0 }));
	add(o, "syscalls", syscalls_json(tr, (struct scope){ SCOPE_ALL, 0, 0 }));
	if (tr->full_syscalls && !tr->log) /* a spooled log is streamed by cn_json_write_trace */
		add(o, "syscall_log", syscall_log_json(tr));
	memo_end();
	return o;
}

struct json_object *cn_json_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (o)
		json_object_object_get_ex(o, key, &v);
	return v;
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

/* ---- the spooled syscall log, streamed in the text json-c would write ---- */

struct out {
	FILE *f;
	bool first;
	char buf[1024];
	size_t n;
};

static void put(struct out *w, const char *s)
{
	size_t len = strlen(s);

	memcpy(w->buf + w->n, s, len); /* an entry is far shorter than buf */
	w->n += len;
}

static void put_i64(struct out *w, int64_t v)
{
	char tmp[24];
	int i = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		tmp[i++] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		w->buf[w->n++] = '-';
	while (i > 0)
		w->buf[w->n++] = tmp[--i];
}

/* A name as a JSON string, or null; json-c's escapes for anything but a plain identifier. */
static void put_name(struct out *w, const char *name)
{
	_cleanup_json_ struct json_object *o = NULL;

	if (!name) {
		put(w, "null");
		return;
	}
	for (const char *c = name; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_')) {
			o = json_object_new_string(name);
			snprintf(w->buf + w->n, sizeof(w->buf) - w->n, "%s", json_object_to_json_string_ext(o, JSON_FLAGS));
			w->n += strlen(w->buf + w->n);
			return;
		}
	}
	w->buf[w->n++] = '"';
	put(w, name);
	w->buf[w->n++] = '"';
}

/* One entry of "syscall_log" at its depth: what syscall_log_json() makes, as text. */
static int write_entry(void *arg, const struct cn_tr_syscall *s)
{
	struct out *w = arg;

	w->n = 0;
	put(w, w->first ? "    {\n      \"ts_ns\": " : ",\n    {\n      \"ts_ns\": ");
	w->first = false;
	put_i64(w, (int64_t)s->ts);
	put(w, ",\n      \"enter_ns\": ");
	if (s->enter_ts)
		put_i64(w, (int64_t)s->enter_ts);
	else
		put(w, "null");
	put(w, ",\n      \"pid\": ");
	put_i64(w, s->pid);
	put(w, ",\n      \"tid\": ");
	put_i64(w, s->tid);
	put(w, ",\n      \"stage\": ");
	put_name(w, stage_name(s->stage));
	put(w, ",\n      \"phase\": ");
	put_i64(w, s->phase);
	put(w, ",\n      \"name\": ");
	put_name(w, cn_syscall_name(s->nr));
	put(w, ",\n      \"nr\": ");
	put_i64(w, s->nr);
	put(w, ",\n      \"args\": [");
	for (int j = 0; j < 6; j++) {
		put(w, j ? ",\n        " : "\n        ");
		put_i64(w, (int64_t)s->args[j]);
	}
	put(w, "\n      ],\n      \"ret\": ");
	if (s->no_return)
		put(w, "null");
	else
		put_i64(w, s->ret);
	put(w, "\n    }");
	return fwrite(w->buf, 1, w->n, w->f) == w->n ? 0 : 1; /* > 0: cn_spool_each stops, err is ours to set */
}

/* The document, then the spool as its last member "syscall_log". */
static int write_streamed(struct json_object *doc, const struct cn_trace *tr, FILE *f, struct cn_error *err)
{
	const char *text = cn_json_string(doc);
	size_t len = strlen(text);
	struct out w = { .f = f, .first = true };
	int rc;

	if (len < 2 || strcmp(text + len - 2, "\n}") != 0) /* not a pretty object: cannot happen */
		return cn_fail(err, EINVAL, "the trace is not a JSON object");
	fwrite(text, 1, len - 2, f);
	fputs(",\n  \"syscall_log\": [\n", f);
	rc = cn_spool_each(tr->log, write_entry, &w, err);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return cn_fail(err, errno, "write");
	fputs(w.first ? "  ]\n}\n" : "\n  ]\n}\n", f);
	return 0;
}

/* A file that does not exist yet appears whole or not at all: an unnamed file, linked in at the end. */
static FILE *open_unnamed(const char *path, int *fd)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;
	FILE *f;

	*fd = -1;
	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	*fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (*fd < 0)
		return NULL;
	f = fdopen(*fd, "w");
	if (!f) {
		close(*fd);
		*fd = -1;
	}
	return f;
}

int cn_json_write_trace(struct json_object *doc, const struct cn_trace *tr, const char *path, struct cn_error *err)
{
	_cleanup_free_ char *buf = NULL;
	char proc[64];
	struct stat st;
	FILE *f;
	int fd = -1, rc;

	if (!tr->log)
		return cn_json_write(doc, path, err);
	if (strcmp(path, "-") == 0) {
		if (write_streamed(doc, tr, stdout, err) < 0)
			return cn_prefix(err, "write trace to stdout: ");
		return fflush(stdout) == 0 ? 0 : cn_fail(err, errno, "write trace to stdout");
	}
	f = lstat(path, &st) < 0 && errno == ENOENT ? open_unnamed(path, &fd) : NULL;
	if (!f) /* it exists (a file to overwrite, /dev/null, a pipe), or no O_TMPFILE here */
		f = fopen(path, "we");
	if (!f)
		return cn_fail(err, errno, "%s", path);
	buf = malloc(1 << 20);
	if (buf)
		setvbuf(f, buf, _IOFBF, 1 << 20);
	rc = write_streamed(doc, tr, f, err);
	if (rc == 0 && fflush(f) != 0)
		rc = cn_fail(err, errno, "%s: write", path);
	if (rc == 0 && fd >= 0) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
			rc = cn_fail(err, errno, "%s", path);
	}
	if ((fclose(f) != 0) && rc == 0)
		rc = cn_fail(err, errno, "%s: write", path);
	if (rc < 0 && !strstr(err->msg, path))
		return cn_prefix(err, "%s: ", path);
	return rc;
}

/*
 * The whole file, parsed; the refusal says what is wrong in the user's terms
 * ("not JSON: unexpected end of the file (at byte 5000)") rather than json-c's
 * ("json_tokener_parse_ex failed: continue"), and anything after the document
 * (a second one, a NUL byte, a merge leftover) is refused like a typo.
 * (Issue 7, the bad-input table.)
 */
struct json_object *cn_json_read_file(const char *path, struct cn_error *err)
{
	struct json_object *doc;
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
	if (!(tok = json_tokener_new())) {
		free(text);
		return cn_fail(err, ENOMEM, "%s", path), NULL;
	}
	doc = n > 0 ? json_tokener_parse_ex(tok, text, (int)n) : NULL;
	end = n > 0 ? json_tokener_get_parse_end(tok) : 0;
	while (doc && end < (size_t)n && text[end] && strchr(" \t\r\n", text[end]))
		end++;
	if (!doc || end < (size_t)n) {
		enum json_tokener_error je = n > 0 ? json_tokener_get_error(tok) : json_tokener_continue;

		/* json_tokener_continue: the text ended inside a value (or was empty) */
		if (doc)
			cn_fail(err, 0, "%s: not JSON: trailing data after the document (at byte %zu)", path, end);
		else if (n > 0 && strlen(text) < end) /* getdelim ends what it read with a NUL: not an empty file */
			cn_fail(err, 0, "%s: not JSON: a NUL byte at byte %zu", path, strlen(text));
		else
			cn_fail(err, 0, "%s: not JSON: %s (at byte %zu)", path,
				je == json_tokener_continue ? "unexpected end of the file" : json_tokener_error_desc(je), end);
		json_object_put(doc);
		doc = NULL;
	}
	json_tokener_free(tok);
	free(text);
	return doc;
}

struct json_object *cn_json_read(const char *path, struct cn_error *err)
{
	struct json_object *doc = cn_json_read_file(path, err), *schema;

	if (!doc)
		return NULL;
	if (!json_object_object_get_ex(doc, "schema", &schema) ||
	    strcmp(json_object_get_string(schema) ? json_object_get_string(schema) : "", CN_TRACE_SCHEMA) != 0) {
		json_object_put(doc);
		cn_fail(err, 0, "%s: not a cntrace trace (schema is not \"%s\")", path, CN_TRACE_SCHEMA);
		return NULL;
	}
	return doc;
}
