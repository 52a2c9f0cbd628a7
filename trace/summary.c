/* SPDX-License-Identifier: Apache-2.0
 *
 * The readable summary of a trace, from its JSON document: the same text for
 * `cntrace run` (stderr, at the end) and `cntrace report TRACE.json`.
 * Who held what privilege at each stage's entry and exit, what changed (and
 * whether it was a raise), which capabilities were checked, how many syscalls.
 */
#define _GNU_SOURCE
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "json.h"
#include "names.h"

#define MAX_PHASES_SHOWN 40

static const char *str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v = cn_json_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

static int64_t num(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v = cn_json_get(o, key);

	return v && !json_object_is_type(v, json_type_null) ? json_object_get_int64(v) : dflt;
}

static bool flag(struct json_object *o, const char *key)
{
	struct json_object *v = cn_json_get(o, key);

	return v && json_object_get_boolean(v);
}

static size_t len(struct json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* "all", "-", or "sys_admin,net_admin" (lower case, without CAP_), cut at width. */
static void capset_text(char *buf, size_t size, uint64_t set, uint64_t all)
{
	size_t n = 0;
	char name[16];

	if (!set) {
		snprintf(buf, size, "-");
		return;
	}
	if (all && set == all) {
		snprintf(buf, size, "all");
		return;
	}
	if (all && __builtin_popcountll(set) > 4) {
		snprintf(buf, size, "%d", __builtin_popcountll(set));
		return;
	}
	buf[0] = '\0';
	for (int c = 0; c < CN_CAP_COUNT && n + 1 < size; c++) {
		const char *cn;

		if (!(set & (1ull << c)))
			continue;
		cn = cn_cap_name(c, name) + 4;
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", cn);
		for (char *p = buf + n - strlen(cn); *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	}
	if (n >= size - 1 && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

void cn_summary_creds_text(char *buf, size_t size, const struct cn_creds *c)
{
	char eff[96], prm[96];
	uint64_t all = (1ull << (CN_CAP_LAST + 1)) - 1;

	capset_text(eff, sizeof(eff), c->cap_effective, all);
	capset_text(prm, sizeof(prm), c->cap_permitted, all);
	snprintf(buf, size, "%s uid=%u,%u,%u gid=%u caps eff=%s prm=%s%s%s%s",
		 cn_creds_host_privileged(c) ? "HOST" : c->userns_level ? "ns" : "none", c->uid[0], c->uid[1],
		 c->uid[2], c->gid[0], eff, prm, c->no_new_privs ? " nnp" : "",
		 c->seccomp == CN_SECCOMP_FILTER ? " seccomp" : "", c->userns_level ? " userns" : "");
	if (c->userns_level) {
		size_t n = strlen(buf);

		snprintf(buf + n, size - n, "%u", c->userns_level);
	}
}

static bool creds_of(struct json_object *o, struct cn_creds *c)
{
	return o && !json_object_is_type(o, json_type_null) && cn_creds_from_json(o, c) == 0;
}

/* "+sys_admin,net_admin -chown" or "+41 -3" when the lists are long. */
static size_t capdiff_text(char *buf, size_t size, const char *set, uint64_t before, uint64_t after)
{
	uint64_t add = after & ~before, del = before & ~after;
	size_t n = 0;
	char names[256];

	if (!add && !del)
		return 0;
	n += (size_t)snprintf(buf + n, size - n, " %s", set);
	if (add && __builtin_popcountll(add) > 4) {
		n += (size_t)snprintf(buf + n, size - n, " +%d", __builtin_popcountll(add));
	} else if (add) {
		capset_text(names, sizeof(names), add, 0);
		n += (size_t)snprintf(buf + n, size - n, " +%s", names);
	}
	if (n < size && del && __builtin_popcountll(del) > 4) {
		n += (size_t)snprintf(buf + n, size - n, " -%d", __builtin_popcountll(del));
	} else if (n < size && del) {
		capset_text(names, sizeof(names), del, 0);
		n += (size_t)snprintf(buf + n, size - n, " -%s", names);
	}
	return n < size ? n : size - 1;
}

/* What changed from before to after, field by field, on one line. */
void cn_summary_creds_diff(char *buf, size_t size, const struct cn_creds *b, const struct cn_creds *a)
{
	size_t n = 0;

	buf[0] = '\0';
#define ADD(...)                                                                      \
	do {                                                                          \
		if (n < size)                                                         \
			n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__);        \
	} while (0)
	if (memcmp(b->uid, a->uid, sizeof(a->uid)))
		ADD(" uid %u,%u,%u,%u->%u,%u,%u,%u", b->uid[0], b->uid[1], b->uid[2], b->uid[3], a->uid[0], a->uid[1],
		    a->uid[2], a->uid[3]);
	if (memcmp(b->gid, a->gid, sizeof(a->gid)))
		ADD(" gid %u,%u,%u,%u->%u,%u,%u,%u", b->gid[0], b->gid[1], b->gid[2], b->gid[3], a->gid[0], a->gid[1],
		    a->gid[2], a->gid[3]);
	if (b->ngroups != a->ngroups)
		ADD(" groups %u->%u", b->ngroups, a->ngroups);
	if (n < size)
		n += capdiff_text(buf + n, size - n, "eff", b->cap_effective, a->cap_effective);
	if (n < size)
		n += capdiff_text(buf + n, size - n, "prm", b->cap_permitted, a->cap_permitted);
	if (n < size)
		n += capdiff_text(buf + n, size - n, "inh", b->cap_inheritable, a->cap_inheritable);
	if (n < size)
		n += capdiff_text(buf + n, size - n, "bnd", b->cap_bounding, a->cap_bounding);
	if (n < size)
		n += capdiff_text(buf + n, size - n, "amb", b->cap_ambient, a->cap_ambient);
	if (b->securebits != a->securebits)
		ADD(" securebits %#x->%#x", b->securebits, a->securebits);
	if (b->no_new_privs != a->no_new_privs)
		ADD(" no_new_privs %d->%d", b->no_new_privs, a->no_new_privs);
	if (b->seccomp != a->seccomp)
		ADD(" seccomp %s->%s", cn_seccomp_name(b->seccomp), cn_seccomp_name(a->seccomp));
	if (b->userns_level != a->userns_level || b->userns_inum != a->userns_inum)
		ADD(" userns level %u->%u", b->userns_level, a->userns_level);
#undef ADD
}

/*
 * One line per transition; a run of plain changes by the same process and
 * syscall (a bounding set dropped one capability per prctl) is one line.
 */
#define MAX_LINES 4096

static void print_lines(FILE *f, char **lines, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t best_p = 1, best_k = 1;

		for (size_t p = 1; p <= 2; p++) {
			size_t k = 1;

			while (i + (k + 1) * p <= n) {
				bool same = true;

				for (size_t q = 0; q < p && same; q++)
					same = strcmp(lines[i + q], lines[i + k * p + q]) == 0;
				if (!same)
					break;
				k++;
			}
			if (k > 1 && k * p > best_k * best_p)
				best_p = p, best_k = k;
		}
		for (size_t q = 0; q < best_p; q++)
			fputs(lines[i + q], f);
		if (best_k > 1)
			fprintf(f, "        ... the %s above %zu times\n", best_p == 1 ? "line" : "2 lines", best_k);
		i += best_p * best_k;
	}
}

static void print_transitions(FILE *f, struct json_object *list)
{
	size_t i = 0, nlines = 0;
	char *lines[MAX_LINES];

	while (i < len(list)) {
		struct json_object *x = json_object_array_get_idx(list, i);
		struct cn_creds before, after;
		bool raise = flag(x, "raise"), host = flag(x, "host_raise");
		bool have_before = creds_of(cn_json_get(x, "before"), &before);
		const char *sys = str(x, "syscall", str(x, "kind", "?"));
		int64_t pid = num(x, "pid", 0);
		size_t j = i + 1;
		char text[512];

		creds_of(cn_json_get(x, "after"), &after);
		while (!raise && have_before && j < len(list)) {
			struct json_object *y = json_object_array_get_idx(list, j);

			if (flag(y, "raise") || num(y, "pid", 0) != pid || strcmp(str(y, "syscall", ""), sys) != 0 ||
			    !cn_json_get(y, "before") || json_object_is_type(cn_json_get(y, "before"), json_type_null))
				break;
			creds_of(cn_json_get(y, "after"), &after);
			j++;
		}
		if (have_before)
			cn_summary_creds_diff(text, sizeof(text), &before, &after);
		else
			cn_summary_creds_text(text, sizeof(text), &after);
		if (nlines < MAX_LINES) {
			char count[24] = "";

			if (j - i > 1)
				snprintf(count, sizeof(count), " x%zu", j - i);
			if (asprintf(&lines[nlines], "      %-6s %-12s pid %-7" PRId64 "%s%s%s\n",
				     host ? "RAISE" : raise ? "raise" : "change", sys, pid, count,
				     have_before ? "" : " (first seen) ", text) >= 0)
				nlines++;
		}
		i = j;
	}
	print_lines(f, lines, nlines);
	for (size_t k = 0; k < nlines; k++)
		free(lines[k]);
}

static void print_cap_checks(FILE *f, struct json_object *list)
{
	for (size_t i = 0; i < len(list); i++) {
		struct json_object *c = json_object_array_get_idx(list, i);

		fprintf(f, "      cap %-22s %-7s %-6s x%-5" PRId64 " pid %-7" PRId64 " in %s\n", str(c, "cap", "?"),
			flag(c, "granted") ? "granted" : "denied", flag(c, "host_ns") ? "host" : "userns",
			num(c, "count", 0), num(c, "pid", 0), str(c, "syscall", "-"));
	}
}

static void syscall_totals(struct json_object *sys, int64_t *calls, int64_t *errors)
{
	*calls = *errors = 0;
	if (!sys || !json_object_is_type(sys, json_type_object))
		return;
	json_object_object_foreach(sys, name, v)
	{
		(void)name;
		*calls += num(v, "count", 0);
		*errors += num(v, "errors", 0);
	}
}

/* A stage or a phase: its creds at entry and exit, then what happened inside. */
static void print_span(FILE *f, const char *title, struct json_object *span)
{
	struct json_object *creds = cn_json_get(span, "creds");
	struct cn_creds entry, exit;
	char e[256], x[256];
	int64_t calls, errors;
	bool have_exit = creds_of(cn_json_get(creds, "exit"), &exit);

	creds_of(cn_json_get(creds, "entry"), &entry);
	cn_summary_creds_text(e, sizeof(e), &entry);
	if (have_exit && cn_creds_diff(&entry, &exit) == 0)
		snprintf(x, sizeof(x), "same");
	else if (have_exit)
		cn_summary_creds_text(x, sizeof(x), &exit);
	else
		snprintf(x, sizeof(x), "(no exit seen)");
	syscall_totals(cn_json_get(span, "syscalls"), &calls, &errors);
	fprintf(f, "  %s\n", title);
	fprintf(f, "      entry %s\n      exit  %s\n", e, x);
	print_transitions(f, cn_json_get(span, "transitions"));
	print_cap_checks(f, cn_json_get(span, "capability_checks"));
	fprintf(f, "      syscalls %" PRId64 " (%" PRId64 " failed)\n", calls, errors);
}

static bool is_null(struct json_object *v)
{
	return !v || json_object_is_type(v, json_type_null);
}

/* What happened outside every stage: the launcher's exec (a setuid raise), its first moves. */
static void print_unstaged(FILE *f, struct json_object *doc)
{
	struct json_object *all = cn_json_get(doc, "transitions"), *caps = cn_json_get(doc, "capability_checks");
	_cleanup_json_ struct json_object *xs = json_object_new_array();
	_cleanup_json_ struct json_object *cs = json_object_new_array();

	for (size_t i = 0; i < len(all); i++)
		if (is_null(cn_json_get(json_object_array_get_idx(all, i), "stage")))
			json_object_array_add(xs, json_object_get(json_object_array_get_idx(all, i)));
	for (size_t i = 0; i < len(caps); i++) {
		struct json_object *c = json_object_array_get_idx(caps, i);

		if (is_null(cn_json_get(c, "stage")) && flag(c, "granted"))
			json_object_array_add(cs, json_object_get(c));
	}
	if (!len(xs) && !len(cs))
		return;
	fprintf(f, "  (outside any stage)\n");
	print_transitions(f, xs);
	print_cap_checks(f, cs);
}

/* cntrace exec: the boundaries the launcher crossed (its other execs are the phases below). */
static void print_boundaries(FILE *f, struct json_object *list)
{
	size_t shown = 0;

	for (size_t i = 0; i < len(list) && shown < MAX_PHASES_SHOWN; i++) {
		struct json_object *b = json_object_array_get_idx(list, i), *ns = cn_json_get(b, "namespaces");
		const char *kind = str(b, "kind", "?");
		char what[512] = "";
		size_t n = 0;

		if (strcmp(kind, "exec") == 0 && !flag(b, "payload"))
			continue;
		if (!shown++)
			fprintf(f, "  boundaries (phase detection; the payload's exec marked *)\n");
		if (strcmp(kind, "clone") == 0)
			n += (size_t)snprintf(what, sizeof(what), " child %" PRId64 ":", num(b, "child", 0));
		for (size_t k = 0; k < len(ns) && n < sizeof(what); k++) {
			struct json_object *name = json_object_array_get_idx(ns, k);

			n += (size_t)snprintf(what + n, sizeof(what) - n, " %s",
					      json_object_is_type(name, json_type_string) ? json_object_get_string(name)
											  : "?");
		}
		if (n < sizeof(what) && !is_null(cn_json_get(b, "path")))
			n += (size_t)snprintf(what + n, sizeof(what) - n, " %s", str(b, "path", ""));
		if (n < sizeof(what) && cn_json_get(b, "put_old"))
			snprintf(what + n, sizeof(what) - n, " %s", str(b, "put_old", ""));
		fprintf(f, "      %-11s %s pid %-7" PRId64 "%s\n", kind, flag(b, "payload") ? "*" : " ", num(b, "pid", 0),
			what);
	}
}

void cn_summary_print(FILE *f, struct json_object *doc)
{
	struct json_object *launch = cn_json_get(doc, "launch"), *tracer = cn_json_get(doc, "tracer");
	struct json_object *procs = cn_json_get(doc, "processes"), *stages = cn_json_get(doc, "stages");
	struct json_object *phases = cn_json_get(doc, "phases");
	bool run = strcmp(str(launch, "mode", "run"), "run") == 0;
	char title[512];

	fprintf(f, "cntrace: %s, flow %s, pid %" PRId64 " exited %" PRId64 "; %zu processes, %zu stages; %" PRId64
		   " events, %" PRId64 " lost%s\n",
		str(launch, "mode", "?"), str(launch, "flow", "?"), num(launch, "pid", 0), num(launch, "exit_code", -1),
		len(procs), len(stages), num(tracer, "events", 0), num(tracer, "lost_events", 0),
		flag(tracer, "complete") ? "" : " (some processes outlived the trace)");
	fprintf(f, "  %-8s %-8s %-16s %-5s %s\n", "pid", "ppid", "role", "exit", "program");
	for (size_t i = 0; i < len(procs); i++) {
		struct json_object *p = json_object_array_get_idx(procs, i);
		struct json_object *execs = cn_json_get(p, "execs");
		const char *image = len(execs) ? str(json_object_array_get_idx(execs, len(execs) - 1), "filename", "?")
					       : str(p, "comm", "");
		char exitbuf[16];

		if (cn_json_get(p, "exit_code") && !json_object_is_type(cn_json_get(p, "exit_code"), json_type_null))
			snprintf(exitbuf, sizeof(exitbuf), "%" PRId64, num(p, "exit_code", 0));
		else
			snprintf(exitbuf, sizeof(exitbuf), "-");
		fprintf(f, "  %-8" PRId64 " %-8" PRId64 " %-16s %-5s %s\n", num(p, "pid", 0), num(p, "ppid", 0),
			str(p, "role", "?"), exitbuf, image);
	}
	if (!run)
		print_boundaries(f, cn_json_get(doc, "boundaries"));
	if (run || len(stages)) {
		print_unstaged(f, doc);
		for (size_t i = 0; i < len(stages); i++) {
			struct json_object *s = json_object_array_get_idx(stages, i);

			snprintf(title, sizeof(title), "%-18s pid %-7" PRId64 " %-15s rc %s", str(s, "name", "?"),
				 num(s, "pid", 0), str(s, "role", "?"),
				 cn_json_get(s, "rc") && !json_object_is_type(cn_json_get(s, "rc"), json_type_null)
					 ? json_object_get_string(cn_json_get(s, "rc"))
					 : "(open)");
			print_span(f, title, s);
		}
		return;
	}
	for (size_t i = 0; i < len(phases) && i < MAX_PHASES_SHOWN; i++) {
		struct json_object *ph = json_object_array_get_idx(phases, i);

		snprintf(title, sizeof(title), "phase %-4" PRId64 " pid %-7" PRId64 " %s%s", num(ph, "id", 0),
			 num(ph, "pid", 0), str(ph, "image", "?")[0] ? str(ph, "image", "?") : "(before exec)",
			 strcmp(str(ph, "begins_at", ""), "fork") == 0 ? " (forked)" : "");
		print_span(f, title, ph);
	}
	if (len(phases) > MAX_PHASES_SHOWN)
		fprintf(f, "  ... %zu more phases in the JSON trace\n", len(phases) - MAX_PHASES_SHOWN);
}
