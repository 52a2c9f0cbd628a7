/* SPDX-License-Identifier: Apache-2.0 */
#include "model.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "creds.h"
#include "spool.h"

struct cn_tr_thread {
	uint32_t tid, pid;
	bool known;
	struct cn_creds creds;
};

static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(arr, ncap * elem);
	if (!p)
		abort(); /* the model is all we have: out of memory ends the run */
	*cap = ncap;
	return p;
}

/* Append a zeroed element to tr->NAME and return it. */
#define PUSH(tr, name)                                                                              \
	({                                                                                          \
		(tr)->name = grow((tr)->name, &(tr)->cap_##name, (tr)->n##name, sizeof(*(tr)->name)); \
		memset(&(tr)->name[(tr)->n##name], 0, sizeof(*(tr)->name));                         \
		&(tr)->name[(tr)->n##name++];                                                       \
	})

static void copy_str(char *dst, size_t size, const char *src, size_t src_size)
{
	size_t n = strnlen(src, src_size);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct cn_tr_process *find_process(struct cn_trace *tr, uint32_t pid)
{
	for (size_t i = tr->nprocs; i-- > 0;)
		if (tr->procs[i].pid == pid)
			return &tr->procs[i];
	return NULL;
}

const struct cn_tr_process *cn_trace_process(const struct cn_trace *tr, uint32_t pid)
{
	return find_process((struct cn_trace *)tr, pid);
}

static struct cn_tr_stage *find_stage(struct cn_trace *tr, uint32_t instance)
{
	for (size_t i = tr->nstages; i-- > 0;)
		if (tr->stages[i].instance == instance)
			return &tr->stages[i];
	return NULL;
}

const struct cn_tr_stage *cn_trace_stage(const struct cn_trace *tr, uint32_t instance)
{
	return find_stage((struct cn_trace *)tr, instance);
}

static struct cn_tr_phase *find_phase(struct cn_trace *tr, uint32_t id)
{
	for (size_t i = tr->nphases; i-- > 0;)
		if (tr->phases[i].id == id)
			return &tr->phases[i];
	return NULL;
}

static struct cn_tr_thread *find_thread(struct cn_trace *tr, uint32_t tid)
{
	for (size_t i = tr->nthreads; i-- > 0;)
		if (tr->threads[i].tid == tid)
			return &tr->threads[i];
	return NULL;
}

bool cn_trace_live_thread(const struct cn_trace *tr, size_t i, uint32_t *tid)
{
	if (i >= tr->nthreads)
		return false;
	*tid = tr->threads[i].tid;
	return true;
}

static struct cn_tr_thread *thread(struct cn_trace *tr, uint32_t tid, uint32_t pid)
{
	struct cn_tr_thread *t = find_thread(tr, tid);

	if (!t) {
		t = PUSH(tr, threads);
		t->tid = tid;
	}
	t->pid = pid;
	return t;
}

static void drop_thread(struct cn_trace *tr, uint32_t tid)
{
	struct cn_tr_thread *t = find_thread(tr, tid);

	if (t)
		*t = tr->threads[--tr->nthreads];
}

static struct cn_tr_process *process(struct cn_trace *tr, uint32_t pid)
{
	struct cn_tr_process *p = find_process(tr, pid);

	if (!p) { /* its fork record was lost: keep what we learn anyway */
		p = PUSH(tr, procs);
		p->pid = pid;
		p->role = CN_TR_ROLE_OTHER;
	}
	return p;
}

static void set_role(struct cn_tr_process *p, uint8_t role)
{
	if (p->role == role && p->nroles > 0)
		return;
	p->role = role;
	if (p->nroles < CN_TR_MAX_ROLES)
		p->roles[p->nroles++] = role;
}

struct cn_trace *cn_trace_new(uint32_t root_pid, uint8_t root_role, uint64_t start_ns)
{
	struct cn_trace *tr = calloc(1, sizeof(*tr));
	struct cn_tr_process *p;
	struct cn_tr_phase *ph;

	if (!tr)
		return NULL;
	tr->root_pid = root_pid;
	tr->exit_status = -1;
	tr->start_ns = start_ns;
	tr->live = 1;
	p = PUSH(tr, procs);
	p->pid = root_pid;
	p->start_ns = start_ns;
	set_role(p, root_role);
	ph = PUSH(tr, phases);
	ph->id = CN_TR_SEED_PHASE;
	ph->pid = root_pid;
	ph->start_ns = start_ns;
	return tr;
}

void cn_trace_free(struct cn_trace *tr)
{
	if (!tr)
		return;
	for (size_t i = 0; i < tr->nprocs; i++)
		free(tr->procs[i].execs);
	free(tr->procs);
	free(tr->stages);
	free(tr->phases);
	free(tr->transitions);
	free(tr->cap_checks);
	free(tr->counts);
	free(tr->boundaries);
	free(tr->syscalls);
	cn_spool_close(tr->log);
	free(tr->threads);
	free(tr);
}

uint64_t cn_trace_lost(const struct cn_trace *tr)
{
	uint64_t n = tr->bad_records;

	for (int i = 0; i < CN_LOSS__COUNT; i++)
		n += tr->losses[i];
	return n;
}

/* A cred change seen in thread tid: record it when the content moved. */
static void transition(struct cn_trace *tr, const struct cn_ev_hdr *h, uint32_t pid, uint32_t tid, uint32_t phase,
		       uint8_t kind, int64_t ret, const struct cn_creds *after)
{
	struct cn_tr_thread *t = find_thread(tr, tid);
	struct cn_tr_transition *x;
	unsigned changes = CN_CRED__ALL;

	if (t && t->known) {
		changes = cn_creds_diff(&t->creds, after);
		if (!changes)
			return; /* a new cred with the same content (commit_creds of a no-op) */
	}
	x = PUSH(tr, transitions);
	x->ts = h->ts;
	x->pid = pid;
	x->tid = tid;
	x->instance = h->instance;
	x->phase = phase;
	x->stage = h->stage;
	x->kind = kind;
	x->syscall = h->syscall;
	x->ret = ret;
	x->changes = changes;
	x->after = *after;
	if (t && t->known) {
		x->before_known = true;
		x->before = t->creds;
		x->raise = cn_creds_raise(&x->before, after);
		x->host_raise = cn_creds_host_raise(&x->before, after);
	} else { /* nothing to compare with: judge the creds alone */
		x->raise = x->host_raise = cn_creds_host_privileged(after);
	}
}

static void on_init(struct cn_trace *tr, const struct cn_ev_creds *e)
{
	struct cn_tr_thread *t = thread(tr, e->h.tid, e->h.pid);
	struct cn_tr_process *p = process(tr, e->h.pid);
	struct cn_tr_phase *ph = find_phase(tr, e->h.phase);

	t->known = true;
	t->creds = e->creds;
	if (!p->have_start_creds) {
		p->have_start_creds = true;
		p->start_creds = e->creds;
	}
	if (ph && ph->start_ns == tr->start_ns)
		ph->entry = e->creds;
}

static void on_fork(struct cn_trace *tr, const struct cn_ev_fork *e)
{
	struct cn_tr_thread *parent = find_thread(tr, e->h.tid);
	struct cn_tr_thread *child;
	struct cn_tr_process *p;
	struct cn_tr_phase *ph, *pph;

	if (e->child_pid != e->child_tid) { /* a thread */
		process(tr, e->child_pid)->threads++;
	} else {
		p = find_process(tr, e->child_pid);
		if (!p || p->exited) { /* a pid can come back after its process exited */
			p = PUSH(tr, procs);
			p->pid = e->child_pid;
			tr->live++;
		}
		p->ppid = e->h.pid;
		p->parent_tid = e->h.tid;
		p->start_ns = e->h.ts;
		p->clone_flags = e->clone_flags;
		p->clone_syscall = e->h.syscall;
		p->start_instance = e->h.instance;
		copy_str(p->comm, sizeof(p->comm), e->comm, sizeof(e->comm));
		p->have_start_creds = true;
		p->start_creds = e->creds;
		set_role(p, e->h.role);

		ph = PUSH(tr, phases);
		ph->id = e->child_phase;
		ph->pid = e->child_pid;
		ph->parent_phase = e->h.phase;
		ph->start_ns = e->h.ts;
		ph->forked = true;
		ph->entry = e->creds;
		pph = find_phase(tr, e->h.phase);
		if (pph)
			memcpy(ph->image, pph->image, sizeof(ph->image));
	}
	/* a child born with other creds (CLONE_NEWUSER): a transition of the child */
	if (parent && parent->known && cn_creds_diff(&parent->creds, &e->creds)) {
		struct cn_creds before = parent->creds; /* thread() may move the array parent points into */

		child = thread(tr, e->child_tid, e->child_pid);
		child->known = true;
		child->creds = before;
		transition(tr, &e->h, e->child_pid, e->child_tid, e->child_phase, CN_TR_CLONE, e->child_pid,
			   &e->creds);
	}
	child = thread(tr, e->child_tid, e->child_pid);
	child->known = true;
	child->creds = e->creds;
}

static void on_exec(struct cn_trace *tr, const struct cn_ev_exec *e)
{
	struct cn_tr_process *p = process(tr, e->h.pid);
	struct cn_tr_thread *t;
	struct cn_tr_exec *x;
	struct cn_tr_phase *old, *ph;

	if (e->old_tid != e->h.tid) { /* the old leader is gone; the exec'ing thread takes its tid */
		drop_thread(tr, e->h.tid);
		t = find_thread(tr, e->old_tid);
		if (t)
			t->tid = e->h.tid;
	}
	old = find_phase(tr, e->old_phase);
	t = find_thread(tr, e->h.tid);
	if (old && !old->ended) {
		old->ended = true;
		old->end_ns = e->h.ts;
		if (t && t->known) {
			old->have_exit_creds = true;
			old->exit = t->creds;
		}
	}
	transition(tr, &e->h, e->h.pid, e->h.tid, e->h.phase, CN_TR_EXEC, 0, &e->creds);
	t = thread(tr, e->h.tid, e->h.pid);
	t->known = true;
	t->creds = e->creds;

	p->execs = grow(p->execs, &p->cap_execs, p->nexecs, sizeof(*p->execs));
	x = &p->execs[p->nexecs++];
	memset(x, 0, sizeof(*x));
	x->ts = e->h.ts;
	x->phase = e->h.phase;
	x->tid = e->old_tid;
	x->syscall = e->h.syscall;
	x->ino = e->ino;
	x->dev = e->dev;
	copy_str(x->comm, sizeof(x->comm), e->comm, sizeof(e->comm));
	copy_str(x->filename, sizeof(x->filename), e->filename, sizeof(e->filename));
	x->creds = e->creds;
	copy_str(p->comm, sizeof(p->comm), e->comm, sizeof(e->comm));
	/* STAGE2 execs the container command: the process keeps its launcher role (its
	 * stage is StartProcess), the history notes the change, and what it forks from
	 * now on is the container's (the kernel side tags those CN_TR_ROLE_CONTAINER) */
	if (p->role == CN_ROLE_STAGE2 && p->nroles < CN_TR_MAX_ROLES &&
	    p->roles[p->nroles - 1] != CN_TR_ROLE_CONTAINER)
		p->roles[p->nroles++] = CN_TR_ROLE_CONTAINER;

	ph = PUSH(tr, phases);
	ph->id = e->h.phase;
	ph->pid = e->h.pid;
	ph->parent_phase = e->old_phase;
	ph->start_ns = e->h.ts;
	ph->entry = e->creds;
	copy_str(ph->image, sizeof(ph->image), e->filename, sizeof(e->filename));
}

static void on_exit_record(struct cn_trace *tr, const struct cn_ev_exit *e)
{
	struct cn_tr_process *p;
	struct cn_tr_phase *ph;

	drop_thread(tr, e->h.tid);
	if (!e->group_dead)
		return;
	p = process(tr, e->h.pid);
	if (!p->exited)
		tr->live--;
	p->exited = true;
	p->exit_ns = e->h.ts;
	p->wait_status = e->exit_code;
	p->have_exit_creds = true;
	p->exit_creds = e->creds;
	ph = find_phase(tr, e->h.phase);
	if (ph && !ph->ended) {
		ph->ended = true;
		ph->end_ns = e->h.ts;
		ph->have_exit_creds = true;
		ph->exit = e->creds;
	}
}

static void on_cred(struct cn_trace *tr, const struct cn_ev_creds *e)
{
	struct cn_tr_thread *t;

	transition(tr, &e->h, e->h.pid, e->h.tid, e->h.phase, CN_TR_SYSCALL, e->ret, &e->creds);
	t = thread(tr, e->h.tid, e->h.pid);
	t->known = true;
	t->creds = e->creds;
}

static void on_stage(struct cn_trace *tr, const struct cn_ev_stage *e)
{
	struct cn_tr_stage *s;
	struct cn_tr_thread *t;

	t = thread(tr, e->h.tid, e->h.pid);
	if (!t->known) {
		t->known = true;
		t->creds = e->creds;
	}
	if (e->h.type == CN_EV_STAGE_ENTER) {
		s = PUSH(tr, stages);
		s->instance = e->h.instance;
		s->parent_instance = e->parent_instance;
		s->stage = e->stage;
		s->role = e->role;
		s->pid = e->h.pid;
		s->tid = e->h.tid;
		s->enter_ns = e->h.ts;
		s->entry = e->creds;
		if (e->role < CN_ROLE__COUNT)
			set_role(process(tr, e->h.pid), e->role);
		return;
	}
	s = e->unmatched ? NULL : find_stage(tr, e->h.instance);
	if (!s || s->exited) {
		tr->unmatched_exits++;
		return;
	}
	s->exited = true;
	s->by_exec = e->by_exec;
	s->exit_ns = e->h.ts;
	s->rc = e->rc;
	s->have_exit_creds = true;
	s->exit = e->creds;
}

static void on_role(struct cn_trace *tr, const struct cn_ev_role *e)
{
	if (e->role < CN_TR_ROLE__COUNT)
		set_role(process(tr, e->h.pid), (uint8_t)e->role);
	if (e->flow > CN_FLOW_AUTO && e->flow < CN_FLOW__COUNT)
		tr->announced_flow = (int)e->flow;
}

void cn_trace_add_logged(struct cn_trace *tr, const struct cn_ev_hdr *h, const struct cn_log_ent *ent, uint32_t n)
{
	struct cn_tr_syscall entry, *s = &entry;

	if (tr->drop_log)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const struct cn_log_ent *e = &ent[i];

		if (!tr->log)
			s = PUSH(tr, syscalls);
		else
			memset(s, 0, sizeof(*s));
		s->ts = e->ts;
		s->enter_ts = e->enter_ts;
		s->pid = h->pid;
		s->tid = h->tid;
		s->instance = h->instance;
		s->phase = h->phase;
		s->stage = h->stage;
		s->nr = e->nr;
		s->ret = e->ret;
		s->no_return = e->no_return;
		memcpy(s->args, e->args, sizeof(s->args));
		if (tr->log)
			cn_spool_add(tr->log, s);
	}
}

static void on_syscall(struct cn_trace *tr, const struct cn_ev_syscall *e, size_t size)
{
	if (e->n > CN_TR_LOG_BATCH || size < offsetof(struct cn_ev_syscall, ent) + e->n * sizeof(e->ent[0])) {
		tr->bad_records++;
		return;
	}
	cn_trace_add_logged(tr, &e->h, e->ent, e->n);
}

static void on_boundary(struct cn_trace *tr, const struct cn_ev_boundary *e)
{
	struct cn_tr_boundary *b = PUSH(tr, boundaries);

	b->h = e->h;
	b->ns_flags = e->ns_flags;
	b->fd = e->fd;
	copy_str(b->path, sizeof(b->path), e->path, sizeof(e->path));
	copy_str(b->path2, sizeof(b->path2), e->path2, sizeof(e->path2));
	b->creds = e->creds;
}

/* Counts a thread flushed: one row per (pid, stage instance, phase, number). */
static void on_counts(struct cn_trace *tr, const struct cn_ev_counts *e)
{
	for (uint32_t i = 0; i < CN_TR_COUNTS; i++) {
		struct cn_sc_key key = { e->h.pid, e->h.instance, e->h.phase, e->ent[i].nr };
		struct cn_sc_val val = { e->ent[i].count, e->ent[i].errors };

		if (val.count) /* 0: a free slot of the thread's table */
			cn_trace_add_count(tr, &key, &val);
	}
}

int cn_trace_add_event(struct cn_trace *tr, const void *data, size_t size)
{
	const struct cn_ev_hdr *h = data;
	static const size_t sizes[] = {
		[CN_EV_INIT] = sizeof(struct cn_ev_creds),   [CN_EV_FORK] = sizeof(struct cn_ev_fork),
		[CN_EV_EXEC] = sizeof(struct cn_ev_exec),    [CN_EV_EXIT] = sizeof(struct cn_ev_exit),
		[CN_EV_CRED] = sizeof(struct cn_ev_creds),   [CN_EV_STAGE_ENTER] = sizeof(struct cn_ev_stage),
		[CN_EV_STAGE_EXIT] = sizeof(struct cn_ev_stage), [CN_EV_ROLE] = sizeof(struct cn_ev_role),
		[CN_EV_SYSCALL] = offsetof(struct cn_ev_syscall, ent), /* and its n entries */
		[CN_EV_COUNTS] = sizeof(struct cn_ev_counts),
		[CN_EV_BOUNDARY] = sizeof(struct cn_ev_boundary),
	};

	if (size < sizeof(*h) || h->type == 0 || h->type >= sizeof(sizes) / sizeof(sizes[0]) ||
	    size < sizes[h->type]) {
		tr->bad_records++;
		return -1;
	}
	tr->events++;
	if (h->ts > tr->end_ns)
		tr->end_ns = h->ts;
	switch (h->type) {
	case CN_EV_INIT:
		on_init(tr, data);
		break;
	case CN_EV_FORK:
		on_fork(tr, data);
		break;
	case CN_EV_EXEC:
		on_exec(tr, data);
		break;
	case CN_EV_EXIT:
		on_exit_record(tr, data);
		break;
	case CN_EV_CRED:
		on_cred(tr, data);
		break;
	case CN_EV_STAGE_ENTER:
	case CN_EV_STAGE_EXIT:
		on_stage(tr, data);
		break;
	case CN_EV_ROLE:
		on_role(tr, data);
		break;
	case CN_EV_SYSCALL:
		on_syscall(tr, data, size);
		break;
	case CN_EV_COUNTS:
		on_counts(tr, data);
		break;
	case CN_EV_BOUNDARY:
		on_boundary(tr, data);
		break;
	}
	return 0;
}

void cn_trace_add_count(struct cn_trace *tr, const struct cn_sc_key *key, const struct cn_sc_val *val)
{
	struct cn_tr_count *c = PUSH(tr, counts);

	c->key = *key;
	c->val = *val;
}

void cn_trace_add_cap_check(struct cn_trace *tr, const struct cn_cap_key *key, const struct cn_cap_val *val)
{
	struct cn_tr_cap_check *c = PUSH(tr, cap_checks);

	c->key = *key;
	c->val = *val;
}

#define CMP(a, b)                          \
	do {                               \
		if ((a) != (b))            \
			return (a) < (b) ? -1 : 1; \
	} while (0)

static int cmp_count(const void *a, const void *b)
{
	const struct cn_sc_key *x = &((const struct cn_tr_count *)a)->key;
	const struct cn_sc_key *y = &((const struct cn_tr_count *)b)->key;

	CMP(x->pid, y->pid);
	CMP(x->instance, y->instance);
	CMP(x->phase, y->phase);
	CMP(x->nr, y->nr);
	return 0;
}

static int cmp_cap(const void *a, const void *b)
{
	const struct cn_tr_cap_check *x = a, *y = b;

	CMP(x->val.first_ts, y->val.first_ts);
	CMP(x->key.pid, y->key.pid);
	CMP(x->key.instance, y->key.instance);
	CMP(x->key.phase, y->key.phase);
	CMP(x->key.cap, y->key.cap);
	CMP(x->key.flags, y->key.flags);
	CMP(x->key.nr, y->key.nr);
	return 0;
}

int cn_tr_syscall_cmp(const void *a, const void *b)
{
	const struct cn_tr_syscall *x = a, *y = b;

	CMP(x->ts, y->ts);
	CMP(x->tid, y->tid);
	return 0;
}

/* Rows with the same key (threads of a process, flushes of one thread) become one. */
static void merge_counts(struct cn_trace *tr)
{
	size_t out = 0;

	for (size_t i = 0; i < tr->ncounts; i++) {
		if (out > 0 && cmp_count(&tr->counts[out - 1], &tr->counts[i]) == 0) {
			tr->counts[out - 1].val.count += tr->counts[i].val.count;
			tr->counts[out - 1].val.errors += tr->counts[i].val.errors;
		} else {
			tr->counts[out++] = tr->counts[i];
		}
	}
	tr->ncounts = out;
}

void cn_trace_finish(struct cn_trace *tr)
{
	if (tr->ncounts) {
		qsort(tr->counts, tr->ncounts, sizeof(*tr->counts), cmp_count);
		merge_counts(tr);
	}
	if (tr->ncap_checks)
		qsort(tr->cap_checks, tr->ncap_checks, sizeof(*tr->cap_checks), cmp_cap);
	if (tr->nsyscalls)
		qsort(tr->syscalls, tr->nsyscalls, sizeof(*tr->syscalls), cn_tr_syscall_cmp);
	if (tr->log) { /* what could not be written is lost: the losses say so */
		cn_spool_sync(tr->log);
		tr->losses[CN_LOSS_SYSCALL_LOG] += cn_spool_lost(tr->log);
	}
}

int cn_wait_status_code(int status)
{
	if (status < 0)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

const char *cn_trace_flow(const struct cn_trace *tr)
{
	static const char *const announced[CN_FLOW__COUNT] = {
		[CN_FLOW_SETUID] = "setuid", [CN_FLOW_USERNS] = "userns", [CN_FLOW_ROOT] = "root",
		[CN_FLOW_FAKEROOT] = "fakeroot",
	};
	uint32_t uid = tr->caller_uid;
	bool setuid_exec = false, new_userns = false;

	/* The launcher's own word first; inference only for launchers without the probe. */
	if (tr->announced_flow > CN_FLOW_AUTO && tr->announced_flow < CN_FLOW__COUNT)
		return announced[tr->announced_flow];
	if (tr->flow && strcmp(tr->flow, "auto") != 0)
		return tr->flow;
	for (size_t i = 0; i < tr->ntransitions; i++) {
		const struct cn_tr_transition *x = &tr->transitions[i];

		if (x->kind == CN_TR_EXEC && x->pid == tr->root_pid && x->before_known && x->host_raise)
			setuid_exec = true;
	}
	for (size_t i = 0; i < tr->nprocs; i++)
		if (tr->procs[i].clone_flags & 0x10000000 /* CLONE_NEWUSER */)
			new_userns = true;
	if (uid == 0)
		return "root";
	if (setuid_exec)
		return new_userns ? "fakeroot" : "setuid";
	return "userns";
}
