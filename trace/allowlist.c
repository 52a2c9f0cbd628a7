/* SPDX-License-Identifier: Apache-2.0
 *
 * A seccomp allowlist from a trace (trace/allowlist.h).
 *
 * What "the container's stage" is: a runtime loads the container's filter in
 * StartProcess (cnlaunch: before the final drop without no_new_privs, last
 * thing before execve with it; runc and crun alike), and the filter stays on
 * the command that execve starts and on everything it forks. So the default
 * profile is the union of
 *   - every syscall of the StartProcess stage (the launcher's own work after
 *     the filter is loaded is in there, wherever the runtime loads it), and
 *   - every syscall of the container's phases: the process that became the
 *     container from its execve on, and every process born in the container
 *     (trace/doc.c's cn_doc_container_phase, the checker's "container" scope).
 * The trace attributes what the command does after the execve to no stage
 * (README, "What the trace holds"): that is why "container" is a scope of its
 * own here, and why StartProcess takes it along.
 */
#define _GNU_SOURCE
#include "allowlist.h"

#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "names.h"
#include "stage.h"

bool cn_allowlist_stage_known(const char *name)
{
	return strcmp(name, CN_ALLOWLIST_CONTAINER) == 0 || cn_stage_from_name(name) != CN_STAGE_NONE;
}

/* The architectures a profile for arch names, as runc's and Docker's default profiles
 * give them: the native one first, then the ABIs the same kernel runs beside it. */
static void add_architectures(struct json_object *arches, const char *arch)
{
	static const struct {
		const char *arch;
		const char *scmp[3];
	} table[] = {
		{ "x86_64", { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" } },
		{ "aarch64", { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM" } },
		{ "mips64", { "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS" } },
		{ "mips64n32", { "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS" } },
		{ "mipsel64", { "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL" } },
		{ "mipsel64n32", { "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL" } },
		{ "s390x", { "SCMP_ARCH_S390X", "SCMP_ARCH_S390" } },
	};
	char upper[64];
	size_t n;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i].arch, arch) != 0)
			continue;
		for (int k = 0; k < 3 && table[i].scmp[k]; k++)
			json_object_array_add(arches, json_object_new_string(table[i].scmp[k]));
		return;
	}
	n = (size_t)snprintf(upper, sizeof(upper), "SCMP_ARCH_%s", arch);
	for (size_t i = 10; i < n && i < sizeof(upper); i++)
		if (upper[i] >= 'a' && upper[i] <= 'z')
			upper[i] = (char)(upper[i] - 32);
	json_object_array_add(arches, json_object_new_string(upper));
}

/*
 * Into a set of syscall names (a JSON object used for its keys). "none" counts
 * syscalls whose exit carried no number: rt_sigreturn, which restores the
 * registers of the interrupted code and with them an orig_ax of -1 (the tracer
 * counts at sys_exit). It is the return from every signal handler: a profile
 * without it kills the container at its first SIGCHLD.
 */
static void take(struct json_object *set, const struct cn_doc_syscall *sc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sc[i].count > 0)
			json_object_object_add(set, strcmp(sc[i].name, "none") == 0 ? "rt_sigreturn" : sc[i].name,
					       NULL);
}

/* Every phase of the container, and the execve that began the first of them. */
static size_t take_container(const struct cn_doc *t, struct json_object *set)
{
	size_t found = 0;

	for (size_t i = 0; i < t->nprocs; i++) {
		const struct cn_doc_process *p = &t->procs[i];

		if (!p->container)
			continue;
		for (size_t j = 0; j < t->nphases; j++) {
			if (!cn_doc_container_phase(t, p, &t->phases[j]))
				continue;
			take(set, t->phases[j].sc, t->phases[j].nsc);
			found++;
		}
		/* the exec that started the command: its syscall is counted where it was entered */
		if (!p->born_container && p->nexecs)
			json_object_object_add(set, "execve", NULL);
	}
	return found;
}

static size_t take_stage(const struct cn_doc *t, const char *name, struct json_object *set)
{
	size_t found = 0;

	for (size_t i = 0; i < t->nstages; i++) {
		if (strcmp(t->stages[i].name, name) != 0)
			continue;
		take(set, t->stages[i].sc, t->stages[i].nsc);
		found++;
	}
	return found;
}

/* "Config, PrepareConfig, ..." : the stages a trace has, for an error that says what there is. */
static void stages_present(const struct cn_doc *t, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->nstages && n < size; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(t->stages[j].name, t->stages[i].name) == 0;
		if (!seen)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", t->stages[i].name);
	}
	if (!n)
		snprintf(buf, size, "none: a launch without cnlaunch's stage probes");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(struct json_object *const *)a),
		      json_object_get_string(*(struct json_object *const *)b));
}

static int select_names(const struct cn_doc *t, const struct cn_allowlist_opts *o, struct json_object *set,
			struct cn_error *err)
{
	static const char *const dflt[] = { "StartProcess" };
	const char *const *stages = o->nstages ? o->stages : dflt;
	size_t nstages = o->nstages ? o->nstages : 1;
	char have[256];

	for (size_t i = 0; i < nstages; i++) {
		const char *s = stages[i];

		if (!cn_allowlist_stage_known(s))
			return cn_fail(err, 0, "--stage: \"%s\" is not a stage (one of the ten, or container)", s);
		if (strcmp(s, CN_ALLOWLIST_CONTAINER) == 0) {
			if (!take_container(t, set))
				return cn_fail(err, 0, "%s: no container process in the trace (a launch by cnlaunch "
						       "whose command ran)", t->origin);
			continue;
		}
		if (!take_stage(t, s, set)) {
			stages_present(t, have, sizeof(have));
			return cn_fail(err, 0, "%s: no %s stage in the trace (it has: %s)", t->origin, s, have);
		}
		if (strcmp(s, "StartProcess") == 0)
			take_container(t, set);
	}
	return 0;
}

struct json_object *cn_allowlist_build(struct json_object *trace, const char *origin,
				       const struct cn_allowlist_opts *o, struct json_object **skipped,
				       struct cn_error *err)
{
	struct cn_doc t;
	struct json_object *set, *profile, *names, *arches, *rule, *rules;
	const char *arch;

	if (skipped)
		*skipped = NULL;
	if (cn_doc_read(trace, origin, &t, err) < 0) {
		cn_doc_free(&t);
		return NULL;
	}
	arch = t.arch ? t.arch : cn_arch_name();
	if (!seccomp_arch_resolve_name(arch)) {
		cn_fail(err, 0, "%s: tracer.arch: \"%s\" is not an architecture libseccomp knows", origin, arch);
		cn_doc_free(&t);
		return NULL;
	}
	/* a profile from a trace with holes would kill the container on the syscall it missed */
	if (t.lost > 0) {
		cn_fail(err, 0, "%s: the tracer lost %" PRId64 " events: a profile from this trace could miss "
				"syscalls the container needs (trace it again)", origin, t.lost);
		cn_doc_free(&t);
		return NULL;
	}
	set = json_object_new_object();
	if (select_names(&t, o, set, err) < 0) {
		json_object_put(set);
		cn_doc_free(&t);
		return NULL;
	}
	names = json_object_new_array();
	json_object_object_foreach(set, name, unused)
	{
		(void)unused;
		/* the trace names them for its architecture: ask libseccomp about that one */
		if (seccomp_syscall_resolve_name_arch(seccomp_arch_resolve_name(arch), name) == __NR_SCMP_ERROR) {
			if (skipped && !*skipped)
				*skipped = json_object_new_array();
			if (skipped)
				json_object_array_add(*skipped, json_object_new_string(name));
			continue;
		}
		json_object_array_add(names, json_object_new_string(name));
	}
	json_object_array_sort(names, by_name);
	json_object_put(set);

	profile = json_object_new_object();
	json_object_object_add(profile, "defaultAction",
			       json_object_new_string(o->kill ? "SCMP_ACT_KILL_PROCESS" : "SCMP_ACT_ERRNO"));
	if (!o->kill)
		json_object_object_add(profile, "defaultErrnoRet", json_object_new_int(1)); /* EPERM */
	arches = json_object_new_array();
	add_architectures(arches, arch);
	json_object_object_add(profile, "architectures", arches);
	rule = json_object_new_object();
	json_object_object_add(rule, "names", names);
	json_object_object_add(rule, "action", json_object_new_string("SCMP_ACT_ALLOW"));
	rules = json_object_new_array();
	json_object_array_add(rules, rule);
	json_object_object_add(profile, "syscalls", rules);
	cn_doc_free(&t);
	return profile;
}
