/* SPDX-License-Identifier: Apache-2.0
 *
 * Two traces compared (trace/diff.h). Each trace is cut into units, and a unit
 * of B is compared with the unit of A that has its key:
 *
 *   a stage           "StartProcess (stage2)": every instance of the stage run
 *                     by that role (Config runs in stage1 and in the master)
 *   the container     what the command did from its execve on, and every
 *                     process born in the container (the checker's scope)
 *   outside stages    the launcher's own exec, the root flow's re-exec
 *   a program image   for traces without stages (`cntrace exec` of a launcher
 *                     without probes): each image its phases ran
 *
 * In a unit, B gains what A did not have:
 *   a raise           per syscall and per thing raised: "setresuid: euid 0 (host)",
 *                     "capset: effective +CAP_SYS_ADMIN (userns)"
 *   a host capability a granted check in the initial user namespace that a
 *                     syscall asked for (cn_doc_incidental: not the kernel's own)
 *   a syscall         by name
 *   final creds       the unit's last exit creds, more privileged in B: a raise
 *                     (cn_creds_raise), a bounding set that grew, no_new_privs or
 *                     a seccomp filter that A had and B lost
 * What B no longer does is shown too, but is never a gain.
 */
#define _GNU_SOURCE
#include "diff.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "doc.h"
#include "grow.h"
#include "json.h"
#include "names.h"
#include "summary.h"

#define OUTSIDE "(outside any stage)"

struct unit {
	char *key;
	const char *stage; /* what the output calls it: a stage name, "container", OUTSIDE, an image */
	const char *role;  /* the role of a stage unit, NULL for the others */
	struct json_object *raises;   /* atom -> {"syscall", "gain", "pid", "host"} */
	struct json_object *caps;     /* cap -> {"cap", "count", "syscalls": {name: count}} */
	struct json_object *syscalls; /* name -> count */
	bool have_final;
	struct cn_creds final;
	struct json_object *final_json;
};

struct units {
	struct unit *v;
	size_t n, cap;
};

static void units_free(struct units *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].key);
		json_object_put(u->v[i].raises);
		json_object_put(u->v[i].caps);
		json_object_put(u->v[i].syscalls);
	}
	free(u->v);
}

static struct unit *unit_of(struct units *u, const char *stage, const char *role)
{
	struct unit *n;
	char *key;

	if (asprintf(&key, "%s (%s)", stage, role ? role : "") < 0) {
		fputs("cntrace: out of memory\n", stderr);
		exit(125);
	}
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].key, key) == 0) {
			free(key);
			return &u->v[i];
		}
	n = CN_PUSH(u->v, u->n, u->cap);
	n->key = key;
	n->stage = stage;
	n->role = role;
	n->raises = json_object_new_object();
	n->caps = json_object_new_object();
	n->syscalls = json_object_new_object();
	return n;
}

static void add_raise(struct unit *u, const struct cn_doc_transition *x, const char *what, bool host)
{
	const char *sys = x->syscall ? x->syscall : x->kind ? x->kind : "?";
	struct json_object *o;
	char atom[160];

	snprintf(atom, sizeof(atom), "%s: %s (%s)", sys, what, host ? "host" : "userns");
	if (cn_json_get(u->raises, atom))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "syscall", json_object_new_string(sys));
	json_object_object_add(o, "gain", json_object_new_string(what));
	json_object_object_add(o, "host", json_object_new_boolean(host));
	json_object_object_add(o, "pid", json_object_new_int64(x->pid));
	json_object_object_add(u->raises, atom, o);
}

/* A raise, cut into what it raised: each uid that became 0, each capability added to a set. */
static void take_raise(struct unit *u, const struct cn_doc_transition *x)
{
	static const char *const ids[] = { "uid", "euid", "suid", "fsuid" };
	const struct cn_creds *a = &x->after.c, *b = x->before.have ? &x->before.c : NULL;
	bool host = a->userns_level == 0;
	const struct {
		const char *name;
		uint64_t before, after;
	} sets[] = {
		{ "effective", b ? b->cap_effective : 0, a->cap_effective },
		{ "permitted", b ? b->cap_permitted : 0, a->cap_permitted },
		{ "inheritable", b ? b->cap_inheritable : 0, a->cap_inheritable },
		{ "ambient", b ? b->cap_ambient : 0, a->cap_ambient },
	};
	char what[96], name[16];

	if (!x->raise)
		return;
	for (int i = 0; i < 4; i++)
		if (a->uid[i] == 0 && (!b || b->uid[i] != 0)) {
			snprintf(what, sizeof(what), "%s 0", ids[i]);
			add_raise(u, x, what, true); /* the uids of a snapshot are the host's */
		}
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++)
		for (int c = 0; c < CN_CAP_COUNT; c++)
			if ((sets[s].after & ~sets[s].before) & (1ull << c)) {
				snprintf(what, sizeof(what), "%s +%s", sets[s].name, cn_cap_name(c, name));
				add_raise(u, x, what, host);
			}
}

static void take_check(const struct cn_doc *t, struct unit *u, const struct cn_doc_check *k, bool stage_known,
		       const char *stage)
{
	struct json_object *o, *sys, *n;
	const char *name = k->syscall ? k->syscall : "?";

	if (!k->granted || !k->host_ns || cn_doc_incidental(t, k, stage_known, stage))
		return;
	o = cn_json_get(u->caps, k->cap);
	if (!o) {
		o = json_object_new_object();
		json_object_object_add(o, "cap", json_object_new_string(k->cap));
		json_object_object_add(o, "count", json_object_new_int64(0));
		json_object_object_add(o, "syscalls", json_object_new_object());
		json_object_object_add(u->caps, k->cap, o);
	}
	json_object_object_add(o, "count", json_object_new_int64(json_object_get_int64(cn_json_get(o, "count")) + k->count));
	sys = cn_json_get(o, "syscalls");
	n = cn_json_get(sys, name);
	json_object_object_add(sys, name, json_object_new_int64((n ? json_object_get_int64(n) : 0) + k->count));
}

static void take_syscalls(struct unit *u, const struct cn_doc_syscall *sc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = cn_json_get(u->syscalls, sc[i].name);

		if (sc[i].count > 0 && strcmp(sc[i].name, "none") != 0)
			json_object_object_add(u->syscalls, sc[i].name,
					       json_object_new_int64((v ? json_object_get_int64(v) : 0) + sc[i].count));
	}
}

static void take_final(struct unit *u, const struct cn_doc_creds *c)
{
	if (!c->have)
		return;
	u->have_final = true;
	u->final = c->c;
	u->final_json = c->json;
}

/* A stage or a phase; with_final: its exit creds are the unit's final creds (the last one read wins). */
static void take_unit(const struct cn_doc *t, struct unit *u, const struct cn_doc_unit *s, bool stage_known,
		      bool with_final)
{
	for (size_t i = 0; i < s->ntx; i++)
		take_raise(u, &s->tx[i]);
	for (size_t i = 0; i < s->nchecks; i++)
		take_check(t, u, &s->checks[i], stage_known, s->name);
	take_syscalls(u, s->sc, s->nsc);
	if (with_final)
		take_final(u, &s->exit);
}

static bool in_ids(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* The container: its phases, and the creds its command was executed with. */
static void take_container(const struct cn_doc *t, struct units *us, int64_t **ids, size_t *nids)
{
	struct unit *u = NULL;

	for (size_t i = 0; i < t->nprocs; i++) {
		const struct cn_doc_process *p = &t->procs[i];

		if (!p->container)
			continue;
		for (size_t j = 0; j < t->nphases; j++) {
			const struct cn_doc_unit *ph = &t->phases[j];

			if (!cn_doc_container_phase(t, p, ph))
				continue;
			if (!u)
				u = unit_of(us, "container", NULL);
			*ids = cn_xrealloc(*ids, (*nids + 1) * sizeof(**ids));
			(*ids)[(*nids)++] = ph->id;
			take_unit(t, u, ph, false, false);
		}
		/* its final creds: those the command was executed with (a raise after is a raise) */
		if (u && !p->born_container && p->nexecs)
			take_final(u, &p->execs[p->nexecs - 1].creds);
	}
}

static void gather(const struct cn_doc *t, bool by_stage, struct units *us)
{
	int64_t *ids = NULL;
	size_t nids = 0;
	struct unit *out = NULL;

	if (!by_stage) {
		for (size_t i = 0; i < t->nphases; i++) {
			const struct cn_doc_unit *ph = &t->phases[i];

			take_unit(t, unit_of(us, ph->image && *ph->image ? ph->image : "(before exec)", NULL), ph,
				  false, true);
		}
		return;
	}
	for (size_t i = 0; i < t->nstages; i++) {
		const struct cn_doc_unit *s = &t->stages[i];

		take_unit(t, unit_of(us, s->name, s->role ? s->role : "?"), s, true, true);
	}
	take_container(t, us, &ids, &nids);
	for (size_t i = 0; i < t->ntx; i++)
		if (!t->tx[i].stage && !in_ids(ids, nids, t->tx[i].phase) && t->tx[i].raise) {
			if (!out)
				out = unit_of(us, OUTSIDE, NULL);
			take_raise(out, &t->tx[i]);
		}
	for (size_t i = 0; i < t->nchecks; i++) {
		const struct cn_doc_check *k = &t->checks[i];

		if (k->stage || in_ids(ids, nids, k->phase))
			continue;
		if (!out)
			out = unit_of(us, OUTSIDE, NULL);
		take_check(t, out, k, k->stage_known, NULL);
	}
	free(ids);
}

static const struct unit *find(const struct units *us, const char *key)
{
	for (size_t i = 0; i < us->n; i++)
		if (strcmp(us->v[i].key, key) == 0)
			return &us->v[i];
	return NULL;
}

/* The keys of b that a lacks: as names, or as b's values (the details of each). */
static struct json_object *new_in(struct json_object *b, struct json_object *a, bool values)
{
	struct json_object *out = json_object_new_array();

	if (!b)
		return out;
	json_object_object_foreach(b, key, v)
	{
		if (a && json_object_object_get_ex(a, key, NULL))
			continue;
		json_object_array_add(out, values ? json_object_get(v) : json_object_new_string(key));
	}
	return out;
}

/* More privilege in b than in a: a raise, a bounding set that grew, a restriction lost. */
static bool creds_gained(const struct cn_creds *a, const struct cn_creds *b)
{
	return cn_creds_raise(a, b) || (b->cap_bounding & ~a->cap_bounding) || (a->no_new_privs && !b->no_new_privs) ||
	       (a->seccomp == CN_SECCOMP_FILTER && b->seccomp != CN_SECCOMP_FILTER);
}

static struct json_object *final_json(const struct unit *ua, const struct unit *ub, bool *gained)
{
	struct json_object *o, *changes;
	unsigned diff;
	char text[1024];

	*gained = false;
	if (!ua || !ub || !ua->have_final || !ub->have_final || !(diff = cn_creds_diff(&ua->final, &ub->final)))
		return NULL;
	*gained = creds_gained(&ua->final, &ub->final);
	o = json_object_new_object();
	changes = json_object_new_array();
	for (unsigned f = 1; f < CN_CRED__ALL; f <<= 1)
		if (diff & f)
			json_object_array_add(changes, json_object_new_string(cn_cred_field_name(f)));
	cn_summary_creds_diff(text, sizeof(text), &ua->final, &ub->final);
	json_object_object_add(o, "gained", json_object_new_boolean(*gained));
	json_object_object_add(o, "changes", changes);
	json_object_object_add(o, "text", json_object_new_string(text[0] == ' ' ? text + 1 : text));
	json_object_object_add(o, "a", ua->final_json ? json_object_get(ua->final_json) : cn_creds_to_json(&ua->final));
	json_object_object_add(o, "b", ub->final_json ? json_object_get(ub->final_json) : cn_creds_to_json(&ub->final));
	return o;
}

/* One unit's entry (ua or ub NULL: the unit is in one trace only), or NULL when nothing changed in it. */
static struct json_object *compare(const struct unit *ua, const struct unit *ub, bool *gained)
{
	const struct unit *u = ub ? ub : ua;
	struct json_object *raises = new_in(ub ? ub->raises : NULL, ua ? ua->raises : NULL, true);
	struct json_object *caps = new_in(ub ? ub->caps : NULL, ua ? ua->caps : NULL, true);
	struct json_object *sys = new_in(ub ? ub->syscalls : NULL, ua ? ua->syscalls : NULL, false);
	struct json_object *gone = new_in(ua ? ua->syscalls : NULL, ub ? ub->syscalls : NULL, false);
	struct json_object *o;
	bool final_gained;
	struct json_object *fin = final_json(ua, ub, &final_gained);

	*gained = json_object_array_length(raises) || json_object_array_length(caps) || json_object_array_length(sys) ||
		  final_gained;
	if (ua && ub && !*gained && !json_object_array_length(gone) && !fin) {
		json_object_put(raises);
		json_object_put(caps);
		json_object_put(sys);
		json_object_put(gone);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "stage", json_object_new_string(u->stage));
	json_object_object_add(o, "role", u->role ? json_object_new_string(u->role) : NULL);
	json_object_object_add(o, "status", json_object_new_string(!ua ? "only_in_b" : !ub ? "only_in_a" : "changed"));
	json_object_object_add(o, "gained", json_object_new_boolean(*gained));
	json_object_object_add(o, "new_raises", raises);
	json_object_object_add(o, "new_host_capabilities", caps);
	json_object_object_add(o, "new_syscalls", sys);
	json_object_object_add(o, "syscalls_no_longer_made", gone);
	json_object_object_add(o, "final_creds", fin);
	return o;
}

static struct json_object *side(const struct cn_doc *t, const char *origin)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "trace", json_object_new_string(origin));
	json_object_object_add(o, "flow", t->flow ? json_object_new_string(t->flow) : NULL);
	json_object_object_add(o, "lost_events", json_object_new_int64(t->lost));
	return o;
}

struct json_object *cn_diff_traces(struct json_object *a, const char *a_origin, struct json_object *b,
				   const char *b_origin, struct cn_error *err)
{
	struct cn_doc ta, tb;
	struct units ua = { 0 }, ub = { 0 };
	struct json_object *out = NULL, *changes;
	size_t gained_units = 0;
	bool by_stage;

	if (cn_doc_read(a, a_origin, &ta, err) < 0) {
		cn_doc_free(&ta);
		return NULL;
	}
	if (cn_doc_read(b, b_origin, &tb, err) < 0) {
		cn_doc_free(&ta);
		cn_doc_free(&tb);
		return NULL;
	}
	/* stages when either has them: a launcher that lost its probes shows as every stage gone */
	by_stage = ta.nstages || tb.nstages;
	gather(&ta, by_stage, &ua);
	gather(&tb, by_stage, &ub);
	changes = json_object_new_array();
	for (size_t i = 0; i < ub.n; i++) {
		bool gained;
		struct json_object *c = compare(find(&ua, ub.v[i].key), &ub.v[i], &gained);

		if (c)
			json_object_array_add(changes, c);
		gained_units += gained;
	}
	for (size_t i = 0; i < ua.n; i++) {
		bool gained;

		if (!find(&ub, ua.v[i].key))
			json_object_array_add(changes, compare(&ua.v[i], NULL, &gained));
	}
	out = json_object_new_object();
	json_object_object_add(out, "schema", json_object_new_string(CN_DIFF_SCHEMA));
	json_object_object_add(out, "a", side(&ta, a_origin));
	json_object_object_add(out, "b", side(&tb, b_origin));
	json_object_object_add(out, "by", json_object_new_string(by_stage ? "stage" : "image"));
	json_object_object_add(out, "gained", json_object_new_boolean(gained_units > 0));
	json_object_object_add(out, "units_compared", json_object_new_int64((int64_t)ub.n));
	json_object_object_add(out, "units_gained", json_object_new_int64((int64_t)gained_units));
	json_object_object_add(out, "changes", changes);
	units_free(&ua);
	units_free(&ub);
	cn_doc_free(&ta);
	cn_doc_free(&tb);
	return out;
}

bool cn_diff_gained(struct json_object *diff)
{
	return json_object_get_boolean(cn_json_get(diff, "gained"));
}

static size_t len(struct json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* "mount, umount2, ..." on one line. */
static void print_names(FILE *f, const char *title, struct json_object *names)
{
	if (!len(names))
		return;
	fprintf(f, "    %s:", title);
	for (size_t i = 0; i < len(names); i++)
		fprintf(f, "%s %s", i ? "," : "", json_object_get_string(json_object_array_get_idx(names, i)));
	fputc('\n', f);
}

static bool same_raise(struct json_object *r, struct json_object *q)
{
	return strcmp(json_object_get_string(cn_json_get(r, "syscall")), json_object_get_string(cn_json_get(q, "syscall"))) == 0 &&
	       json_object_get_boolean(cn_json_get(r, "host")) == json_object_get_boolean(cn_json_get(q, "host")) &&
	       json_object_get_int64(cn_json_get(r, "pid")) == json_object_get_int64(cn_json_get(q, "pid"));
}

/* The set a gain is in ("effective" of "effective +CAP_X"), or "" for a uid. */
static size_t set_len(const char *gain)
{
	const char *plus = strstr(gain, " +");

	return plus ? (size_t)(plus - gain) : 0;
}

/*
 * One line per raise (a syscall of one process): its uids, then per set the
 * capabilities, counted past four: "new raise in setresuid (host, pid 9248):
 * euid 0, fsuid 0, effective +40 capabilities". The JSON has each one.
 */
static void print_raises(FILE *f, struct json_object *raises)
{
	size_t i = 0;

	while (i < len(raises)) {
		struct json_object *r = json_object_array_get_idx(raises, i);
		size_t j = i, items = 0;

		while (j < len(raises) && same_raise(r, json_object_array_get_idx(raises, j)))
			j++;
		fprintf(f, "    new raise in %s (%s, pid %" PRId64 "):", json_object_get_string(cn_json_get(r, "syscall")),
			json_object_get_boolean(cn_json_get(r, "host")) ? "host" : "user namespace", json_object_get_int64(cn_json_get(r, "pid")));
		for (size_t k = i; k < j;) {
			const char *gain = json_object_get_string(cn_json_get(json_object_array_get_idx(raises, k), "gain"));
			size_t n = set_len(gain), m = k + 1;

			while (n && m < j) {
				const char *next = json_object_get_string(cn_json_get(json_object_array_get_idx(raises, m), "gain"));

				if (set_len(next) != n || strncmp(next, gain, n) != 0)
					break;
				m++;
			}
			if (!n || m - k == 1)
				fprintf(f, "%s %s", items++ ? "," : "", gain);
			else if (m - k > 4)
				fprintf(f, "%s %.*s +%zu capabilities", items++ ? "," : "", (int)n, gain, m - k);
			else
				for (size_t q = k; q < m; q++)
					fprintf(f, "%s %s", items++ ? "," : "",
						json_object_get_string(cn_json_get(json_object_array_get_idx(raises, q), "gain")));
			k = m;
		}
		fputc('\n', f);
		i = j;
	}
}

void cn_diff_print_text(FILE *f, struct json_object *diff)
{
	struct json_object *changes = cn_json_get(diff, "changes");
	struct json_object *a = cn_json_get(diff, "a"), *b = cn_json_get(diff, "b");
	const char *an = json_object_get_string(cn_json_get(a, "trace")), *bn = json_object_get_string(cn_json_get(b, "trace"));

	for (int side = 0; side < 2; side++) {
		struct json_object *s = side ? b : a;

		if (json_object_get_int64(cn_json_get(s, "lost_events")))
			fprintf(f, "cntrace: warning: %s lost %" PRId64 " events: what it lacks may be missing, "
				   "not gone\n",
				json_object_get_string(cn_json_get(s, "trace")), json_object_get_int64(cn_json_get(s, "lost_events")));
	}
	if (cn_json_get(a, "flow") && cn_json_get(b, "flow") &&
	    strcmp(json_object_get_string(cn_json_get(a, "flow")), json_object_get_string(cn_json_get(b, "flow"))) != 0)
		fprintf(f, "note: the flows differ: %s is %s, %s is %s\n", an, json_object_get_string(cn_json_get(a, "flow")), bn,
			json_object_get_string(cn_json_get(b, "flow")));
	for (size_t i = 0; i < len(changes); i++) {
		struct json_object *c = json_object_array_get_idx(changes, i);
		struct json_object *raises = cn_json_get(c, "new_raises"), *caps = cn_json_get(c, "new_host_capabilities");
		struct json_object *fin = cn_json_get(c, "final_creds");
		const char *status = json_object_get_string(cn_json_get(c, "status"));
		const char *role = json_object_get_string(cn_json_get(c, "role"));

		fprintf(f, "%s%s%s%s: %s%s\n", json_object_get_string(cn_json_get(c, "stage")), role ? " (" : "", role ? role : "",
			role ? ")" : "", json_object_get_boolean(cn_json_get(c, "gained")) ? "GAINED" : "changed",
			strcmp(status, "only_in_b") == 0 ? " (only in B)" : strcmp(status, "only_in_a") == 0 ? " (only in A)"
													     : "");
		print_raises(f, raises);
		for (size_t k = 0; k < len(caps); k++) {
			struct json_object *cap = json_object_array_get_idx(caps, k);
			size_t n = 0;

			fprintf(f, "    new host capability use: %s in", json_object_get_string(cn_json_get(cap, "cap")));
			json_object_object_foreach(cn_json_get(cap, "syscalls"), name, count)
			{
				fprintf(f, "%s %s x%" PRId64, n++ ? "," : "", name, json_object_get_int64(count));
			}
			fputc('\n', f);
		}
		print_names(f, "new syscalls", cn_json_get(c, "new_syscalls"));
		if (fin)
			fprintf(f, "    final creds%s: %s\n",
				json_object_get_boolean(cn_json_get(fin, "gained")) ? " gained privilege" : " changed",
				json_object_get_string(cn_json_get(fin, "text")));
		print_names(f, "syscalls no longer made", cn_json_get(c, "syscalls_no_longer_made"));
	}
	if (cn_diff_gained(diff))
		fprintf(f, "cntrace: diff: %s gained privilege that %s did not have, in %" PRId64 " of the %" PRId64
			   " %s compared\n",
			bn, an, json_object_get_int64(cn_json_get(diff, "units_gained")),
			json_object_get_int64(cn_json_get(diff, "units_compared")),
			strcmp(json_object_get_string(cn_json_get(diff, "by")), "stage") == 0 ? "stages and scopes" : "program images");
	else
		fprintf(f, "cntrace: diff: %s gained nothing that %s did not have\n", bn, an);
}
