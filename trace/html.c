/* SPDX-License-Identifier: Apache-2.0
 *
 * The HTML report (trace/html.h). The page is trace/report_template.html,
 * compiled in (cn_html_template); this file fills in three places:
 *   @@TITLE@@    the title, HTML-escaped
 *   @@SUMMARY@@  the text summary (trace/summary.c), HTML-escaped
 *   @@DATA@@     what the page's script draws, as JSON in a script element,
 *                with < > & and the JS line separators as \u escapes so that
 *                nothing in a string can end the element
 * Everything the script shows it puts in the DOM with textContent. What a
 * snapshot means (host privilege, a raise, a capability use) is decided here,
 * with trace/creds.c and trace/doc.c, not in JavaScript.
 */
#define _GNU_SOURCE
#include "html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "doc.h"
#include "json.h"
#include "summary.h"

extern const char cn_html_template[];

#define TOP_SYSCALLS 8

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* A time, or null for "never" (a stage or process that did not end in the trace). */
static struct json_object *ns(uint64_t t)
{
	return t && t != UINT64_MAX ? json_object_new_int64((int64_t)t) : NULL;
}

/* The colour of a snapshot: host privilege, capabilities in a user namespace only, none. */
static const char *level(const struct cn_creds *c)
{
	if (cn_creds_host_privileged(c))
		return "host";
	if (c->userns_level && (c->cap_effective | c->cap_permitted))
		return "userns";
	return "none";
}

static int rank(const char *l)
{
	return strcmp(l, "host") == 0 ? 2 : strcmp(l, "userns") == 0 ? 1 : 0;
}

static const char *higher(const char *a, const char *b)
{
	return rank(b) > rank(a) ? b : a;
}

static struct json_object *creds_text(const struct cn_creds *c)
{
	char buf[512];

	cn_summary_creds_text(buf, sizeof(buf), c);
	return json_object_new_string(buf);
}

static struct json_object *diff_text(const struct cn_doc_creds *before, const struct cn_creds *after)
{
	char buf[1024];

	if (!before->have)
		return creds_text(after);
	cn_summary_creds_diff(buf, sizeof(buf), &before->c, after);
	return json_object_new_string(buf[0] == ' ' ? buf + 1 : buf);
}

/* ---- a process's privilege over time */

struct snap {
	uint64_t t;
	const struct cn_creds *c;
	const char *why;
	size_t order;
};

static int by_time(const void *a, const void *b)
{
	const struct snap *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void snap_push(struct snap **v, size_t *n, uint64_t t, const struct cn_doc_creds *c, const char *why)
{
	struct snap *grown;

	if (!c->have || !t || t == UINT64_MAX)
		return;
	grown = realloc(*v, (*n + 1) * sizeof(**v));
	if (!grown)
		return; /* a shorter history, not a wrong one */
	*v = grown;
	(*v)[*n] = (struct snap){ t, &c->c, why, *n };
	(*n)++;
}

/* Every snapshot of p, in time order; a run that reads the same is one segment. */
static struct json_object *segments(const struct cn_doc *t, const struct cn_doc_process *p)
{
	struct json_object *a = json_object_new_array();
	struct snap *v = NULL;
	size_t n = 0;
	char last[512] = "", text[512];

	snap_push(&v, &n, p->start_ns, &p->start, "at its start");
	for (size_t i = 0; i < p->nexecs; i++)
		snap_push(&v, &n, p->execs[i].ts, &p->execs[i].creds, "after its execve");
	for (size_t i = 0; i < t->ntx; i++)
		if (t->tx[i].pid == p->pid)
			snap_push(&v, &n, t->tx[i].ts, &t->tx[i].after,
				  t->tx[i].raise ? "after a raise" : "after a cred change");
	for (size_t i = 0; i < t->nstages; i++)
		if (t->stages[i].pid == p->pid) {
			snap_push(&v, &n, t->stages[i].start_ns, &t->stages[i].entry, "at a stage entry");
			snap_push(&v, &n, t->stages[i].end_ns, &t->stages[i].exit, "at a stage exit");
		}
	if (n)
		qsort(v, n, sizeof(*v), by_time);
	for (size_t i = 0; i < n; i++) {
		struct json_object *s;

		cn_summary_creds_text(text, sizeof(text), v[i].c);
		if (strcmp(text, last) == 0)
			continue;
		snprintf(last, sizeof(last), "%s", text);
		s = json_object_new_object();
		add(s, "t", json_object_new_int64((int64_t)v[i].t));
		add(s, "level", json_object_new_string(level(v[i].c)));
		add(s, "text", json_object_new_string(text));
		add(s, "why", json_object_new_string(v[i].why));
		json_object_array_add(a, s);
	}
	free(v);
	return a;
}

static struct json_object *process_json(const struct cn_doc *t, const struct cn_doc_process *p,
					struct json_object *raw)
{
	struct json_object *o = json_object_new_object(), *execs = json_object_new_array();
	struct json_object *roles = NULL;
	const char *image = p->nexecs && p->execs[p->nexecs - 1].filename ? p->execs[p->nexecs - 1].filename
									   : p->comm ? p->comm : "";

	json_object_object_get_ex(raw, "roles", &roles);
	add(o, "pid", json_object_new_int64(p->pid));
	add(o, "ppid", json_object_new_int64(p->ppid));
	add(o, "role", json_object_new_string(p->role));
	add(o, "roles", roles && json_object_is_type(roles, json_type_array) ? json_object_get(roles)
									     : json_object_new_array());
	add(o, "comm", str(p->comm));
	add(o, "image", json_object_new_string(image));
	add(o, "born_in_stage", str(p->born_in_stage));
	add(o, "start", ns(p->start_ns));
	add(o, "end", ns(p->exit_ns));
	add(o, "exit_code", p->exited ? json_object_new_int64(p->exit_code) : NULL);
	for (size_t i = 0; i < p->nexecs; i++) {
		struct json_object *x = json_object_new_object();

		add(x, "file", str(p->execs[i].filename ? p->execs[i].filename : "?"));
		add(x, "t", ns(p->execs[i].ts));
		json_object_array_add(execs, x);
	}
	add(o, "execs", execs);
	add(o, "segments", segments(t, p));
	return o;
}

/* The end of the run of transitions that starts at i: plain changes by one process in one
 * syscall (a bounding set dropped one capability per prctl) are one; a raise is alone. */
static size_t run_end(const struct cn_doc_transition *tx, size_t n, size_t i)
{
	size_t j = i + 1;

	while (!tx[i].raise && j < n && !tx[j].raise && tx[j].pid == tx[i].pid &&
	       strcmp(tx[j].syscall ? tx[j].syscall : "", tx[i].syscall ? tx[i].syscall : "") == 0)
		j++;
	return j;
}

/* ---- stages */

static int by_count(const void *a, const void *b)
{
	const struct cn_doc_syscall *x = a, *y = b;

	return x->count != y->count ? (x->count > y->count ? -1 : 1) : strcmp(x->name, y->name);
}

static struct json_object *top_syscalls(const struct cn_doc_unit *s)
{
	struct cn_doc_syscall *v = malloc((s->nsc ? s->nsc : 1) * sizeof(*v));
	char buf[512];
	size_t n = 0;

	if (!v)
		return NULL;
	if (s->nsc) {
		memcpy(v, s->sc, s->nsc * sizeof(*v));
		qsort(v, s->nsc, sizeof(*v), by_count);
	}
	buf[0] = '\0';
	for (size_t i = 0; i < s->nsc && i < TOP_SYSCALLS && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s x%" PRId64, i ? ", " : "", v[i].name, v[i].count);
	free(v);
	return json_object_new_string(buf);
}

/* A stage, or a phase (a process x program image: all a trace without stages has) drawn as one. */
static struct json_object *stage_json(const struct cn_doc *t, const struct cn_doc_unit *s)
{
	const char *name = s->name ? s->name : s->image && *s->image ? s->image : "(before exec)";

	struct json_object *o = json_object_new_object();
	struct json_object *tx = json_object_new_array(), *caps = json_object_new_array();
	struct json_object *host = json_object_new_array();
	const char *lvl = s->entry.have ? level(&s->entry.c) : "none";
	int64_t calls = 0, failed = 0, raises = 0;
	char line[1200];

	if (s->exit.have)
		lvl = higher(lvl, level(&s->exit.c));
	for (size_t i = 0, j; i < s->ntx; i = j) {
		const struct cn_doc_transition *x = &s->tx[i];
		struct json_object *d;
		char count[24] = "";

		j = run_end(s->tx, s->ntx, i);
		d = diff_text(&x->before, &s->tx[j - 1].after.c);
		for (size_t k = i; k < j; k++)
			lvl = higher(lvl, level(&s->tx[k].after.c));
		raises += x->raise;
		if (j - i > 1)
			snprintf(count, sizeof(count), " x%zu", j - i);
		snprintf(line, sizeof(line), "%s %s pid %" PRId64 "%s: %s", x->raise ? "RAISE" : "change",
			 x->syscall ? x->syscall : x->kind ? x->kind : "?", x->pid, count, json_object_get_string(d));
		json_object_put(d);
		json_object_array_add(tx, json_object_new_string(line));
	}
	for (size_t i = 0; i < s->nchecks; i++) {
		const struct cn_doc_check *k = &s->checks[i];
		bool incidental = cn_doc_incidental(t, k, s->name != NULL, s->name);
		bool seen = false;

		snprintf(line, sizeof(line), "%s %s %s in %s x%" PRId64 " pid %" PRId64 "%s", k->cap,
			 k->granted ? "granted" : "denied", k->host_ns ? "host" : "userns", k->syscall ? k->syscall : "-",
			 k->count, k->pid, incidental ? " (not a use: no syscall asked for it)" : "");
		json_object_array_add(caps, json_object_new_string(line));
		if (!k->granted || !k->host_ns || incidental)
			continue;
		for (size_t j = 0; j < json_object_array_length(host) && !seen; j++)
			seen = strcmp(json_object_get_string(json_object_array_get_idx(host, j)), k->cap) == 0;
		if (!seen)
			json_object_array_add(host, json_object_new_string(k->cap));
	}
	for (size_t i = 0; i < s->nsc; i++) {
		calls += s->sc[i].count;
		failed += s->sc[i].errors;
	}
	add(o, "name", json_object_new_string(name));
	add(o, "pid", json_object_new_int64(s->pid));
	add(o, "role", str(s->role ? s->role : cn_doc_role(t, s->pid)));
	add(o, "start", ns(s->start_ns));
	add(o, "end", ns(s->end_ns));
	add(o, "rc", s->have_rc ? json_object_new_int64(s->rc) : NULL);
	add(o, "level", json_object_new_string(lvl));
	add(o, "entry", s->entry.have ? creds_text(&s->entry.c) : str("-"));
	add(o, "exit", s->exit.have ? creds_text(&s->exit.c) : str("(no exit seen)"));
	add(o, "transitions", tx);
	add(o, "raises", json_object_new_int64(raises));
	add(o, "caps", caps);
	add(o, "host_caps", host);
	add(o, "syscalls", json_object_new_int64(calls));
	add(o, "failed", json_object_new_int64(failed));
	add(o, "top", top_syscalls(s));
	return o;
}

/* ---- marks: cred transitions (a run of plain changes by one syscall is one) and capability checks */

static void transition_marks(const struct cn_doc *t, struct json_object *marks)
{
	size_t i = 0;

	while (i < t->ntx) {
		const struct cn_doc_transition *x = &t->tx[i];
		struct json_object *m = json_object_new_object();
		size_t j = run_end(t->tx, t->ntx, i);
		const struct cn_doc_transition *last = &t->tx[j - 1];
		add(m, "kind", json_object_new_string("transition"));
		add(m, "pid", json_object_new_int64(x->pid));
		add(m, "role", json_object_new_string(cn_doc_role(t, x->pid)));
		add(m, "t", ns(x->ts));
		add(m, "stage", str(x->stage));
		add(m, "syscall", str(x->syscall ? x->syscall : x->kind ? x->kind : "?"));
		add(m, "raise", json_object_new_boolean(x->raise));
		add(m, "host_raise", json_object_new_boolean(x->host_raise));
		add(m, "count", json_object_new_int64((int64_t)(j - i)));
		add(m, "text", diff_text(&x->before, &last->after.c));
		add(m, "after", creds_text(&last->after.c));
		if (x->ts)
			json_object_array_add(marks, m);
		else
			json_object_put(m);
		i = j;
	}
}

static void check_marks(const struct cn_doc *t, struct json_object *marks)
{
	for (size_t i = 0; i < t->nchecks; i++) {
		const struct cn_doc_check *k = &t->checks[i];
		struct json_object *m;

		if (!k->first_ns)
			continue;
		m = json_object_new_object();
		add(m, "kind", json_object_new_string("cap"));
		add(m, "pid", json_object_new_int64(k->pid));
		add(m, "role", json_object_new_string(cn_doc_role(t, k->pid)));
		add(m, "t", ns(k->first_ns));
		add(m, "stage", str(k->stage));
		add(m, "cap", json_object_new_string(k->cap));
		add(m, "granted", json_object_new_boolean(k->granted));
		add(m, "host", json_object_new_boolean(k->host_ns));
		add(m, "syscall", str(k->syscall ? k->syscall : "-"));
		add(m, "count", json_object_new_int64(k->count));
		add(m, "incidental", json_object_new_boolean(cn_doc_incidental(t, k, k->stage_known, k->stage)));
		json_object_array_add(marks, m);
	}
}

/* ---- the page */

/* The command the launch ran: argv after "--", else all of it. */
static char *command_of(struct json_object *doc)
{
	struct json_object *launch = NULL, *argv = NULL;
	char *out = NULL;
	size_t len = 0, from = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	json_object_object_get_ex(doc, "launch", &launch);
	if (launch)
		json_object_object_get_ex(launch, "argv", &argv);
	if (argv && json_object_is_type(argv, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(argv); i++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(argv, i)) ?: "", "--") == 0) {
				from = i + 1;
				break;
			}
		for (size_t i = from; i < json_object_array_length(argv); i++)
			fprintf(f, "%s%s", i > from ? " " : "", json_object_get_string(json_object_array_get_idx(argv, i)) ?: "");
	}
	fclose(f);
	return out;
}

static void span(uint64_t *t0, uint64_t *t1, uint64_t t)
{
	if (!t || t == UINT64_MAX)
		return;
	if (!*t0 || t < *t0)
		*t0 = t;
	if (t > *t1)
		*t1 = t;
}

static struct json_object *page_data(const struct cn_doc *t, struct json_object *doc, const char *origin,
				     const char *command)
{
	struct json_object *o = json_object_new_object(), *procs = json_object_new_array();
	struct json_object *stages = json_object_new_array(), *marks = json_object_new_array();
	struct json_object *raw_procs = NULL;
	uint64_t t0 = 0, t1 = 0;

	json_object_object_get_ex(doc, "processes", &raw_procs);
	span(&t0, &t1, t->start_ns);
	span(&t0, &t1, t->end_ns);
	for (size_t i = 0; i < t->nprocs; i++) {
		span(&t0, &t1, t->procs[i].start_ns);
		span(&t0, &t1, t->procs[i].exit_ns);
		json_object_array_add(procs, process_json(t, &t->procs[i], json_object_array_get_idx(raw_procs, i)));
	}
	for (size_t i = 0; i < (t->nstages ? t->nstages : t->nphases); i++) {
		const struct cn_doc_unit *s = t->nstages ? &t->stages[i] : &t->phases[i];

		span(&t0, &t1, s->start_ns);
		span(&t0, &t1, s->end_ns);
		json_object_array_add(stages, stage_json(t, s));
	}
	transition_marks(t, marks);
	check_marks(t, marks);
	for (size_t i = 0; i < json_object_array_length(marks); i++) {
		struct json_object *tv = NULL;

		json_object_object_get_ex(json_object_array_get_idx(marks, i), "t", &tv);
		span(&t0, &t1, (uint64_t)json_object_get_int64(tv));
	}
	add(o, "origin", json_object_new_string(origin));
	add(o, "mode", str(t->mode ? t->mode : "run"));
	add(o, "flow", str(t->flow));
	add(o, "command", str(command));
	add(o, "exit_code", t->exit_code >= 0 ? json_object_new_int64(t->exit_code) : NULL);
	add(o, "lost_events", json_object_new_int64(t->lost));
	add(o, "complete", json_object_new_boolean(t->complete));
	add(o, "t0", json_object_new_int64((int64_t)t0));
	add(o, "t1", json_object_new_int64((int64_t)(t1 > t0 ? t1 : t0 + 1)));
	add(o, "processes", procs);
	add(o, "units", json_object_new_string(t->nstages ? "stages" : "phases"));
	add(o, "stages", stages);
	add(o, "marks", marks);
	return o;
}

void cn_html_escape(FILE *f, const char *text)
{
	for (const char *c = text; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*c, f);
		}
	}
}

/* JSON text inside a script element: nothing in it may read as markup or end the element. */
static void script_escape(FILE *f, const char *json)
{
	for (const unsigned char *c = (const unsigned char *)json; *c; c++) {
		if (*c == '<' || *c == '>' || *c == '&')
			fprintf(f, "\\u%04x", *c); /* they occur only inside strings, where \u is the same */
		else if (c[0] == 0xe2 && c[1] == 0x80 && (c[2] == 0xa8 || c[2] == 0xa9)) {
			fprintf(f, "\\u%04x", 0x2000 + c[2] - 0x80); /* U+2028, U+2029 */
			c += 2;
		} else
			fputc(*c, f);
	}
}

char *cn_html_report(struct json_object *doc, const char *origin, struct cn_error *err)
{
	struct cn_doc t;
	struct json_object *data;
	char *summary = NULL, *page = NULL, *command;
	size_t slen = 0, plen = 0;
	FILE *sf, *pf;

	if (cn_doc_read(doc, origin, &t, err) < 0) {
		cn_doc_free(&t);
		return NULL;
	}
	command = command_of(doc);
	data = page_data(&t, doc, origin, command);
	sf = open_memstream(&summary, &slen);
	pf = open_memstream(&page, &plen);
	if (!sf || !pf) {
		if (sf)
			fclose(sf);
		free(summary);
		json_object_put(data);
		free(command);
		cn_doc_free(&t);
		cn_fail(err, ENOMEM, "%s: the HTML report", origin);
		return NULL;
	}
	cn_summary_print(sf, doc);
	fclose(sf);
	for (const char *p = cn_html_template; *p;) {
		const char *at = strstr(p, "@@");

		if (!at) {
			fputs(p, pf);
			break;
		}
		fwrite(p, 1, (size_t)(at - p), pf);
		if (strncmp(at, "@@TITLE@@", 9) == 0) {
			fputs("cntrace: ", pf);
			cn_html_escape(pf, t.flow ? t.flow : "?");
			fputc(' ', pf);
			cn_html_escape(pf, command && *command ? command : "launch");
			p = at + 9;
		} else if (strncmp(at, "@@SUMMARY@@", 11) == 0) {
			cn_html_escape(pf, summary ? summary : "");
			p = at + 11;
		} else if (strncmp(at, "@@DATA@@", 8) == 0) {
			script_escape(pf, json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN |
										JSON_C_TO_STRING_NOSLASHESCAPE));
			p = at + 8;
		} else {
			fputs("@@", pf);
			p = at + 2;
		}
	}
	fclose(pf);
	free(summary);
	free(command);
	json_object_put(data);
	cn_doc_free(&t);
	return page;
}
