/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "seccomp_profile.h"

#include <stdlib.h>

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t action; /* errno/trace value added later */
	bool takes_errno;
} actions[] = {
	{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
	{"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
	{"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
	{"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
	{"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
	{"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
	{"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
	{"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
	{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
	{"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
	{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static int parse_action(json_object *obj, const char *key, const char *errno_key, uint32_t dflt_errno,
			uint32_t *out, const char *where, struct cn_error *err)
{
	json_object *v, *e;
	const char *name;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return cn_fail(err, 0, "%s.%s: missing or not a string", where, key);
	name = json_object_get_string(v);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(name, actions[i].name) != 0)
			continue;
		*out = actions[i].action;
		if (actions[i].takes_errno) {
			uint32_t value = dflt_errno;
			if (json_object_object_get_ex(obj, errno_key, &e)) {
				int64_t n = json_object_get_int64(e);
				if (!json_object_is_type(e, json_type_int) || n < 0 || n > 4095)
					return cn_fail(err, 0, "%s.%s: must be an errno number (0 to 4095)", where, errno_key);
				value = (uint32_t)n;
			}
			*out |= value & 0xffff;
		}
		return 0;
	}
	return cn_fail(err, 0, "%s.%s: unknown action \"%s\"", where, key, name);
}

static int parse_args(json_object *rule, struct scmp_arg_cmp *cmps, unsigned *n_cmps, const char *where,
		      struct cn_error *err)
{
	json_object *args;

	*n_cmps = 0;
	if (!json_object_object_get_ex(rule, "args", &args) || json_object_is_type(args, json_type_null))
		return 0;
	if (!json_object_is_type(args, json_type_array) || json_object_array_length(args) > 6)
		return cn_fail(err, 0, "%s.args: must be an array of at most 6 conditions", where);
	for (size_t i = 0; i < json_object_array_length(args); i++) {
		json_object *a = json_object_array_get_idx(args, i), *idx, *val, *val2, *op;
		const char *opname;
		size_t k;

		if (!json_object_object_get_ex(a, "index", &idx) || !json_object_object_get_ex(a, "value", &val) ||
		    !json_object_object_get_ex(a, "op", &op) || !json_object_is_type(op, json_type_string) ||
		    json_object_get_int(idx) < 0 || json_object_get_int(idx) > 5)
			return cn_fail(err, 0, "%s.args[%zu]: needs index (0-5), value and op", where, i);
		opname = json_object_get_string(op);
		for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (strcmp(opname, ops[k].name) == 0)
				break;
		if (k == sizeof(ops) / sizeof(ops[0]))
			return cn_fail(err, 0, "%s.args[%zu].op: unknown operator \"%s\"", where, i, opname);
		cmps[i] = (struct scmp_arg_cmp){
			.arg = (unsigned)json_object_get_int(idx),
			.op = ops[k].op,
			.datum_a = json_object_get_uint64(val),
			.datum_b = json_object_object_get_ex(a, "valueTwo", &val2) ? json_object_get_uint64(val2) : 0,
		};
		(*n_cmps)++;
	}
	return 0;
}

int cn_seccomp_compile(json_object *profile, const char *where, scmp_filter_ctx *out, struct cn_error *err)
{
	uint32_t dflt_errno = 1; /* EPERM, as runc does when defaultErrnoRet is absent */
	uint32_t dflt;
	json_object *v, *arches, *syscalls;
	scmp_filter_ctx ctx;
	char path[256];

	if (json_object_object_get_ex(profile, "defaultErrnoRet", &v))
		dflt_errno = (uint32_t)json_object_get_int(v);
	if (parse_action(profile, "defaultAction", "defaultErrnoRet", dflt_errno, &dflt, where, err) < 0)
		return -1;
	if (!(ctx = seccomp_init(dflt)))
		return cn_fail(err, EINVAL, "%s: seccomp_init", where);
	/* libseccomp would set no_new_privs on load; the launcher sets it, or not, as configured. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) {
		seccomp_release(ctx);
		return cn_fail(err, EINVAL, "%s: seccomp_attr_set", where);
	}
	if (json_object_object_get_ex(profile, "architectures", &arches) && json_object_is_type(arches, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arches); i++) {
			const char *name = json_object_get_string(json_object_array_get_idx(arches, i));
			uint32_t arch;
			int rc;
			/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64" */
			char lower[64];
			size_t j;
			if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0)
				goto bad_arch;
			for (j = 0; name[10 + j] && j < sizeof(lower) - 1; j++)
				lower[j] = (char)(name[10 + j] >= 'A' && name[10 + j] <= 'Z' ? name[10 + j] + 32 : name[10 + j]);
			lower[j] = '\0';
			if (!(arch = seccomp_arch_resolve_name(lower)))
				goto bad_arch;
			rc = seccomp_arch_add(ctx, arch);
			if (rc < 0 && rc != -EEXIST) {
				seccomp_release(ctx);
				return cn_fail(err, -rc, "%s.architectures[%zu]: seccomp_arch_add %s", where, i, name);
			}
			continue;
bad_arch:
			seccomp_release(ctx);
			return cn_fail(err, 0, "%s.architectures[%zu]: unknown architecture \"%s\"", where, i,
				       name ? name : "");
		}
	}
	if (json_object_object_get_ex(profile, "syscalls", &syscalls)) {
		if (!json_object_is_type(syscalls, json_type_array)) {
			seccomp_release(ctx);
			return cn_fail(err, 0, "%s.syscalls: must be an array", where);
		}
		for (size_t i = 0; i < json_object_array_length(syscalls); i++) {
			json_object *rule = json_object_array_get_idx(syscalls, i), *names;
			struct scmp_arg_cmp cmps[6];
			unsigned n_cmps;
			uint32_t action;

			snprintf(path, sizeof(path), "%s.syscalls[%zu]", where, i);
			if (parse_action(rule, "action", "errnoRet", dflt_errno, &action, path, err) < 0 ||
			    parse_args(rule, cmps, &n_cmps, path, err) < 0) {
				seccomp_release(ctx);
				return -1;
			}
			if (!json_object_object_get_ex(rule, "names", &names) || !json_object_is_type(names, json_type_array)) {
				seccomp_release(ctx);
				return cn_fail(err, 0, "%s.names: missing or not an array", path);
			}
			for (size_t k = 0; k < json_object_array_length(names); k++) {
				const char *name = json_object_get_string(json_object_array_get_idx(names, k));
				int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
				int rc;
				/* A name this architecture lacks is skipped, as runc does: profiles are shared across arches. */
				if (nr == __NR_SCMP_ERROR || action == dflt)
					continue;
				rc = seccomp_rule_add_array(ctx, action, nr, n_cmps, cmps);
				if (rc < 0) {
					seccomp_release(ctx);
					return cn_fail(err, -rc, "%s.names[%zu]: add a rule for %s", path, k, name);
				}
			}
		}
	}
	if (out)
		*out = ctx;
	else
		seccomp_release(ctx);
	return 0;
}

int cn_seccomp_read_file(const char *path, json_object **out, struct cn_error *err)
{
	char *text = cn_read_text_file(path, CN_CONFIG_MAX_BYTES, err);

	if (!text)
		return cn_prefix(err, "--seccomp: ");
	*out = cn_json_parse(text, err);
	free(text);
	return *out ? 0 : cn_prefix(err, "--seccomp %s: ", path);
}
