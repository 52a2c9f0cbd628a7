/* SPDX-License-Identifier: Apache-2.0 */
#include "phase_detect.h"

#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "grow.h"
#include "names.h"
#include "stage.h"
#include "stages_ext.h"

enum kind { K_EXEC, K_CLONE, K_UNSHARE, K_SETNS, K_PIVOT_ROOT, K_CHROOT };

static const char *const kind_names[] = { "exec", "clone", "unshare", "setns", "pivot_root", "chroot" };

struct boundary {
	enum kind kind;
	uint64_t ts;
	uint32_t pid, tid;
	uint32_t phase;    /* where it happened; an exec: the phase it begins */
	int stage;         /* the stage it happened in; -1: not known (an exec) */
	int32_t syscall;
	uint64_t ns_flags; /* clone, unshare, setns */
	uint32_t child;    /* clone */
	int32_t fd;        /* setns */
	const char *path;  /* exec: the file; chroot: the path; pivot_root: new_root */
	const char *put_old;
	const struct cn_creds *creds;
	bool payload;
};

struct list {
	struct boundary *v;
	size_t n, cap;
};

/* A new boundary: what, when, who, and where (the phase; the stage, -1 when not known). */
static struct boundary *push(struct list *l, enum kind kind, uint64_t ts, uint32_t pid, uint32_t tid, uint32_t phase,
			     int stage, int32_t syscall)
{
	struct boundary *b = CN_PUSH(l->v, l->n, l->cap);

	*b = (struct boundary){ .kind = kind, .ts = ts, .pid = pid, .tid = tid, .phase = phase, .stage = stage,
				.syscall = syscall };
	return b;
}

static bool makes_namespaces(uint64_t flags)
{
	const char *names[8];

	return cn_clone_ns_names(flags, names) > 0;
}

/* The phase pid was forked into (its parent's phase is where the clone happened). */
static const struct cn_tr_phase *fork_phase(const struct cn_trace *tr, uint32_t pid, uint64_t ts)
{
	for (size_t i = 0; i < tr->nphases; i++)
		if (tr->phases[i].pid == pid && tr->phases[i].forked && tr->phases[i].start_ns == ts)
			return &tr->phases[i];
	return NULL;
}

static void add_processes(const struct cn_trace *tr, struct list *l)
{
	for (size_t i = 0; i < tr->nprocs; i++) {
		const struct cn_tr_process *p = &tr->procs[i];
		const struct cn_tr_stage *born = cn_trace_stage(tr, p->start_instance);
		const struct cn_tr_phase *ph;
		struct boundary *b;

		for (size_t k = 0; k < p->nexecs; k++) {
			b = push(l, K_EXEC, p->execs[k].ts, p->pid, p->execs[k].tid, p->execs[k].phase, -1,
				 p->execs[k].syscall);
			b->path = p->execs[k].filename;
			b->creds = &p->execs[k].creds;
		}
		if (p->pid == tr->root_pid || !makes_namespaces(p->clone_flags))
			continue;
		ph = fork_phase(tr, p->pid, p->start_ns);
		b = push(l, K_CLONE, p->start_ns, p->ppid, p->parent_tid, ph ? ph->parent_phase : 0,
			 born ? born->stage : CN_STAGE_NONE, p->clone_syscall);
		b->ns_flags = p->clone_flags;
		b->child = p->pid;
		b->creds = p->have_start_creds ? &p->start_creds : NULL;
	}
}

static void add_syscalls(const struct cn_trace *tr, struct list *l)
{
	for (size_t i = 0; i < tr->nboundaries; i++) {
		const struct cn_tr_boundary *e = &tr->boundaries[i];
		const char *name = cn_syscall_name(e->h.syscall);
		struct boundary *b;
		enum kind kind;

		if (!name)
			continue;
		if (strcmp(name, "unshare") == 0 && makes_namespaces(e->ns_flags))
			kind = K_UNSHARE; /* unshare(CLONE_FS) and the like cross nothing */
		else if (strcmp(name, "setns") == 0)
			kind = K_SETNS;
		else if (strcmp(name, "pivot_root") == 0)
			kind = K_PIVOT_ROOT;
		else if (strcmp(name, "chroot") == 0)
			kind = K_CHROOT;
		else
			continue;
		b = push(l, kind, e->h.ts, e->h.pid, e->h.tid, e->h.phase, e->h.stage, e->h.syscall);
		b->ns_flags = kind == K_UNSHARE || kind == K_SETNS ? e->ns_flags : 0;
		b->fd = e->fd;
		b->path = kind == K_PIVOT_ROOT || kind == K_CHROOT ? e->path : NULL;
		b->put_old = kind == K_PIVOT_ROOT ? e->path2 : NULL;
		b->creds = &e->creds;
	}
}

static int by_time(const void *a, const void *b)
{
	const struct boundary *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->kind == K_EXEC ? (y->kind == K_EXEC ? 0 : 1) : (y->kind == K_EXEC ? -1 : 0);
}

/* The parent of each process, by pid (the last process of a pid that came back), to walk up quickly. */
struct parents {
	struct parent {
		uint32_t pid, ppid;
		size_t order;
	} *v;
	size_t n;
	uint32_t root;
};

static int by_pid(const void *a, const void *b)
{
	const struct parent *x = a, *y = b;

	return x->pid != y->pid ? (x->pid < y->pid ? -1 : 1) : 0;
}

static int by_pid_latest_first(const void *a, const void *b)
{
	const struct parent *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->order != y->order ? (x->order > y->order ? -1 : 1) : 0;
}

static void parents_init(struct parents *pp, const struct cn_trace *tr)
{
	size_t out = 0;

	pp->v = cn_xrealloc(NULL, tr->nprocs * sizeof(*pp->v));
	pp->root = tr->root_pid;
	for (size_t i = 0; i < tr->nprocs; i++)
		pp->v[i] = (struct parent){ tr->procs[i].pid, tr->procs[i].ppid, i };
	qsort(pp->v, tr->nprocs, sizeof(*pp->v), by_pid_latest_first);
	for (size_t i = 0; i < tr->nprocs; i++)
		if (out == 0 || pp->v[out - 1].pid != pp->v[i].pid)
			pp->v[out++] = pp->v[i];
	pp->n = out;
}

/* pid is ancestor or one of its descendants (by the ppid chain the trace saw). */
static bool descends(const struct parents *pp, uint32_t pid, uint32_t ancestor)
{
	for (size_t hops = 0; hops <= pp->n; hops++) {
		struct parent key = { pid, 0, 0 }, *p;

		if (pid == ancestor)
			return true;
		p = pid == pp->root ? NULL : bsearch(&key, pp->v, pp->n, sizeof(*pp->v), by_pid);
		if (!p)
			return false;
		pid = p->ppid;
	}
	return false;
}

/* Mark the payload's exec; the payload's own later execs (what the program runs) are not the launcher's. */
static void mark_payload(const struct parents *pp, struct list *l)
{
	size_t last = l->n, payload = l->n, out = 0;
	uint32_t subject;

	for (size_t i = l->n; i-- > 0;)
		if (l->v[i].kind != K_EXEC) {
			last = i;
			break;
		}
	if (last == l->n)
		return;
	subject = l->v[last].kind == K_CLONE ? l->v[last].child : l->v[last].pid;
	for (size_t i = last + 1; i < l->n && payload == l->n; i++)
		if (l->v[i].kind == K_EXEC && descends(pp, l->v[i].pid, subject))
			payload = i;
	if (payload == l->n)
		return;
	l->v[payload].payload = true;
	for (size_t i = 0; i < l->n; i++)
		if (i <= payload || l->v[i].kind != K_EXEC || !descends(pp, l->v[i].pid, l->v[payload].pid))
			l->v[out++] = l->v[i];
	l->n = out;
}

static struct json_object *namespaces_json(uint64_t flags)
{
	struct json_object *a = json_object_new_array();
	const char *names[8];
	int n = cn_clone_ns_names(flags, names);

	for (int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

static struct json_object *boundary_json(const struct boundary *b, size_t id)
{
	struct json_object *o = json_object_new_object();
	const char *stage = b->stage < 0 ? NULL : cn_stage_name((enum cn_stage)b->stage);
	const char *sc = cn_syscall_name(b->syscall);

	if (!stage && b->stage > 0)
		stage = cn_ext_stage_name(b->stage);
	json_object_object_add(o, "id", json_object_new_int64((int64_t)id));
	json_object_object_add(o, "kind", json_object_new_string(kind_names[b->kind]));
	json_object_object_add(o, "ts_ns", json_object_new_int64((int64_t)b->ts));
	json_object_object_add(o, "pid", json_object_new_int64(b->pid));
	json_object_object_add(o, "tid", json_object_new_int64(b->tid));
	json_object_object_add(o, "syscall", sc ? json_object_new_string(sc) : NULL);
	json_object_object_add(o, "phase", json_object_new_int64(b->phase));
	json_object_object_add(o, "stage", stage ? json_object_new_string(stage) : NULL);
	json_object_object_add(o, "namespaces", namespaces_json(b->ns_flags));
	json_object_object_add(o, "path", b->path ? json_object_new_string(b->path) : NULL);
	if (b->kind == K_PIVOT_ROOT)
		json_object_object_add(o, "put_old", json_object_new_string(b->put_old));
	if (b->kind == K_CLONE)
		json_object_object_add(o, "child", json_object_new_int64(b->child));
	if (b->kind == K_SETNS)
		json_object_object_add(o, "fd", json_object_new_int(b->fd));
	json_object_object_add(o, "payload", json_object_new_boolean(b->payload));
	json_object_object_add(o, "creds", b->creds ? cn_creds_to_json(b->creds) : NULL);
	return o;
}

/* The phase entries of doc gain the boundaries crossed in them, and the payload mark. */
static void annotate_phases(struct json_object *phases, const struct list *l)
{
	for (size_t i = 0; phases && i < json_object_array_length(phases); i++) {
		struct json_object *ph = json_object_array_get_idx(phases, i), *v;
		struct json_object *ids = json_object_new_array();
		int64_t id = json_object_object_get_ex(ph, "id", &v) ? json_object_get_int64(v) : -1;
		bool payload = false;

		for (size_t k = 0; k < l->n; k++) {
			if (l->v[k].phase != id)
				continue;
			if (l->v[k].kind == K_EXEC) /* it begins the phase: begins_at says so */
				payload |= l->v[k].payload;
			else
				json_object_array_add(ids, json_object_new_int64((int64_t)k));
		}
		json_object_object_add(ph, "boundaries", ids);
		json_object_object_add(ph, "payload", json_object_new_boolean(payload));
	}
}

void cn_phase_detect_annotate(const struct cn_trace *tr, struct json_object *doc)
{
	struct list l = { NULL, 0, 0 };
	struct json_object *a = json_object_new_array(), *phases = NULL;
	struct parents pp;

	add_processes(tr, &l);
	add_syscalls(tr, &l);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_time);
	parents_init(&pp, tr);
	mark_payload(&pp, &l);
	free(pp.v);
	for (size_t i = 0; i < l.n; i++)
		json_object_array_add(a, boundary_json(&l.v[i], i));
	json_object_object_add(doc, "boundaries", a);
	json_object_object_get_ex(doc, "phases", &phases);
	annotate_phases(phases, &l);
	free(l.v);
}
