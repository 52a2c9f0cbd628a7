/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* A JSON path being walked: "process.capabilities.bounding[2]". */
struct jpath {
	char s[256];
};

/* A path too long for the buffer ends in "..." rather than being cut silently. */
static const char *jpath_done(struct jpath *out, int n)
{
	if (n < 0 || (size_t)n >= sizeof(out->s))
		strcpy(out->s + sizeof(out->s) - 4, "...");
	return out->s;
}

static const char *jp(struct jpath *out, const char *parent, const char *key)
{
	return jpath_done(out, snprintf(out->s, sizeof(out->s), "%s%s%s", parent, *parent ? "." : "", key));
}

static const char *jpi(struct jpath *out, const char *parent, size_t idx)
{
	return jpath_done(out, snprintf(out->s, sizeof(out->s), "%s[%zu]", parent, idx));
}

int cn_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int cn_strv_push(struct cn_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	if (!v)
		return -1;
	sv->v = v;
	if (!(v[sv->n] = strdup(s)))
		return -1;
	v[++sv->n] = NULL;
	return 0;
}

void cn_strv_free(struct cn_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static const struct {
	const char *name;
	int resource;
} rlimit_table[] = {
	{"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

int cn_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_table) / sizeof(rlimit_table[0]); i++)
		if (strcasecmp(name, rlimit_table[i].name) == 0 || strcasecmp(name, rlimit_table[i].name + 7) == 0)
			return rlimit_table[i].resource;
	return -1;
}

const char *cn_rlimit_name(int resource)
{
	for (size_t i = 0; i < sizeof(rlimit_table) / sizeof(rlimit_table[0]); i++)
		if (rlimit_table[i].resource == resource)
			return rlimit_table[i].name;
	return NULL;
}

static const struct {
	const char *name;
	int flag;
} ns_table[] = {
	{"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS},   {"mount", CLONE_NEWNS},    {"user", CLONE_NEWUSER},
	{"cgroup", CLONE_NEWCGROUP},
};

/* ---- typed getters: each names the JSON path of what is wrong ---- */

/* *out = obj[key] when present (NULL when absent or null); -1 when it has another type. */
static int get_typed(json_object *obj, const char *key, json_type type, const char *path, json_object **out,
		     struct cn_error *err)
{
	struct jpath p;

	if (!json_object_object_get_ex(obj, key, out) || json_object_is_type(*out, json_type_null)) {
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(*out, type))
		return cn_fail(err, 0, "%s: must be %s", jp(&p, path, key), json_type_to_name(type));
	return 0;
}

static int dup_string(json_object *v, char **out, const char *path, struct cn_error *err)
{
	const char *s = json_object_get_string(v);

	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return cn_fail(err, 0, "%s: contains a NUL byte", path);
	free(*out);
	if (!(*out = strdup(s)))
		return cn_fail(err, ENOMEM, "%s", path);
	return 0;
}

static int get_string(json_object *obj, const char *key, char **out, const char *path, struct cn_error *err)
{
	struct jpath p;
	json_object *v;

	if (get_typed(obj, key, json_type_string, path, &v, err) < 0)
		return -1;
	return v ? dup_string(v, out, jp(&p, path, key), err) : 0;
}

static int get_bool(json_object *obj, const char *key, bool *out, const char *path, struct cn_error *err)
{
	json_object *v;

	if (get_typed(obj, key, json_type_boolean, path, &v, err) < 0)
		return -1;
	if (v)
		*out = json_object_get_boolean(v);
	return 0;
}

/* An id: 0 .. 2^32-2 ((uid_t)-1 means "unchanged" to the kernel). */
static int parse_id(json_object *v, uint32_t *out, const char *path, struct cn_error *err)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return cn_fail(err, 0, "%s: must be an integer", path);
	errno = 0;
	n = json_object_get_int64(v);
	if (errno || n < 0 || n > (int64_t)UINT32_MAX - 1)
		return cn_fail(err, 0, "%s: %s is not a valid id (0 to 4294967294)", path, json_object_get_string(v));
	*out = (uint32_t)n;
	return 0;
}

static int get_id(json_object *obj, const char *key, uint32_t *out, const char *path, struct cn_error *err)
{
	json_object *v;
	struct jpath p;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	return parse_id(v, out, jp(&p, path, key), err);
}

static int get_u64(json_object *obj, const char *key, uint64_t *out, const char *path, struct cn_error *err)
{
	json_object *v;
	struct jpath p;

	if (!json_object_object_get_ex(obj, key, &v))
		return cn_fail(err, 0, "%s: missing", jp(&p, path, key));
	if (!json_object_is_type(v, json_type_int))
		return cn_fail(err, 0, "%s: must be an integer", jp(&p, path, key));
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0)
		return cn_fail(err, 0, "%s: must not be negative", jp(&p, path, key));
	*out = json_object_get_uint64(v);
	return 0;
}

/* An optional integer min..max; *present says whether it was there. */
static int get_int_in(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out, bool *present,
		      const char *path, struct cn_error *err)
{
	json_object *v;
	struct jpath p;

	*present = json_object_object_get_ex(obj, key, &v) && !json_object_is_type(v, json_type_null);
	if (!*present)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return cn_fail(err, 0, "%s: must be an integer", jp(&p, path, key));
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno || *out < min || *out > max)
		return cn_fail(err, 0, "%s: %s is out of range (%lld to %lld)", jp(&p, path, key), json_object_get_string(v),
			       (long long)min, (long long)max);
	return 0;
}

static int get_strv(json_object *obj, const char *key, struct cn_strv *out, const char *path, struct cn_error *err)
{
	struct jpath p, pi;
	json_object *arr;

	if (get_typed(obj, key, json_type_array, path, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	jp(&p, path, key);
	cn_strv_free(out);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		_cleanup_free_ char *s = NULL;

		if (!json_object_is_type(v, json_type_string))
			return cn_fail(err, 0, "%s: must be a string", jpi(&pi, p.s, i));
		if (dup_string(v, &s, jpi(&pi, p.s, i), err) < 0)
			return -1;
		if (cn_strv_push(out, s) < 0)
			return cn_fail(err, ENOMEM, "%s", p.s);
	}
	return 0;
}

/* ---- sections ---- */

static int parse_user(json_object *process, struct cn_config *cfg, struct cn_error *err)
{
	json_object *user;
	json_object *gids;

	if (get_typed(process, "user", json_type_object, "process", &user, err) < 0)
		return -1;
	if (!user)
		return 0;
	cfg->user_configured = true;
	if (get_id(user, "uid", &cfg->uid, "process.user", err) < 0 ||
	    get_id(user, "gid", &cfg->gid, "process.user", err) < 0)
		return -1;
	int64_t umask_value;
	if (get_int_in(user, "umask", 0, 0777, &umask_value, &cfg->umask_set, "process.user", err) < 0)
		return -1;
	cfg->umask = (uint32_t)umask_value;
	if (get_typed(user, "additionalGids", json_type_array, "process.user", &gids, err) < 0)
		return -1;
	free(cfg->additional_gids);
	cfg->additional_gids = NULL;
	cfg->n_additional_gids = 0;
	if (!gids)
		return 0;
	size_t n = json_object_array_length(gids);
	if (n > NGROUPS_MAX)
		return cn_fail(err, 0, "process.user.additionalGids: %zu groups, the kernel allows %d", n, NGROUPS_MAX);
	if (n && !(cfg->additional_gids = calloc(n, sizeof(gid_t))))
		return cn_fail(err, ENOMEM, "process.user.additionalGids");
	for (size_t i = 0; i < n; i++) {
		struct jpath p;
		uint32_t g;
		if (parse_id(json_object_array_get_idx(gids, i), &g, jpi(&p, "process.user.additionalGids", i), err) < 0)
			return -1;
		cfg->additional_gids[cfg->n_additional_gids++] = g;
	}
	return 0;
}

static int parse_capabilities(json_object *process, struct cn_config *cfg, struct cn_error *err)
{
	json_object *caps;

	if (get_typed(process, "capabilities", json_type_object, "process", &caps, err) < 0)
		return -1;
	if (!caps)
		return 0;
	cfg->caps_configured = true;
	for (int set = 0; set < CN_CAPSET__COUNT; set++) {
		struct jpath p;
		json_object *arr;

		jp(&p, "process.capabilities", cn_capset_name(set));
		if (get_typed(caps, cn_capset_name(set), json_type_array, "process.capabilities", &arr, err) < 0)
			return -1;
		cfg->caps[set] = 0;
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			json_object *v = json_object_array_get_idx(arr, i);
			struct jpath pi;
			int cap;

			if (!json_object_is_type(v, json_type_string))
				return cn_fail(err, 0, "%s: must be a string", jpi(&pi, p.s, i));
			if ((cap = cn_cap_from_name(json_object_get_string(v))) < 0)
				return cn_fail(err, 0, "%s: unknown capability \"%s\"", jpi(&pi, p.s, i),
					       json_object_get_string(v));
			cfg->caps[set] |= CN_CAP_BIT(cap);
		}
	}
	return 0;
}

static int parse_rlimits(json_object *process, struct cn_config *cfg, struct cn_error *err)
{
	json_object *arr;

	if (get_typed(process, "rlimits", json_type_array, "process", &arr, err) < 0)
		return -1;
	free(cfg->rlimits);
	cfg->rlimits = NULL;
	cfg->n_rlimits = 0;
	if (!arr)
		return 0;
	size_t n = json_object_array_length(arr);
	if (n && !(cfg->rlimits = calloc(n, sizeof(*cfg->rlimits))))
		return cn_fail(err, ENOMEM, "process.rlimits");
	for (size_t i = 0; i < n; i++) {
		json_object *rl = json_object_array_get_idx(arr, i);
		struct cn_rlimit *r = &cfg->rlimits[cfg->n_rlimits++];
		_cleanup_free_ char *type = NULL;
		struct jpath p;

		jpi(&p, "process.rlimits", i);
		if (!json_object_is_type(rl, json_type_object))
			return cn_fail(err, 0, "%s: must be an object", p.s);
		if (get_string(rl, "type", &type, p.s, err) < 0)
			return -1;
		if (!type)
			return cn_fail(err, 0, "%s.type: missing", p.s);
		if ((r->resource = cn_rlimit_from_name(type)) < 0)
			return cn_fail(err, 0, "%s.type: unknown resource limit \"%s\"", p.s, type);
		if (get_u64(rl, "soft", &r->soft, p.s, err) < 0 || get_u64(rl, "hard", &r->hard, p.s, err) < 0)
			return -1;
		if (r->soft > r->hard)
			return cn_fail(err, 0, "%s: soft limit %llu is above the hard limit %llu", p.s,
				       (unsigned long long)r->soft, (unsigned long long)r->hard);
	}
	return 0;
}

static int parse_console_size(json_object *process, struct cn_config *cfg, struct cn_error *err)
{
	json_object *size;
	int64_t v;
	bool present;

	if (get_typed(process, "consoleSize", json_type_object, "process", &size, err) < 0)
		return -1;
	if (!size)
		return 0;
	if (get_int_in(size, "height", 0, UINT16_MAX, &v, &present, "process.consoleSize", err) < 0)
		return -1;
	cfg->console_height = present ? (uint32_t)v : 0;
	if (get_int_in(size, "width", 0, UINT16_MAX, &v, &present, "process.consoleSize", err) < 0)
		return -1;
	cfg->console_width = present ? (uint32_t)v : 0;
	return 0;
}

static int parse_scheduler(json_object *process, struct cn_scheduler *s, struct cn_error *err)
{
	static const char *const periods[] = {"runtime", "deadline", "period"};
	uint64_t *period_fields[] = {&s->runtime, &s->deadline, &s->period};
	_cleanup_free_ char *policy = NULL;
	json_object *sched, *flag_names;
	int64_t v;
	bool present;

	if (get_typed(process, "scheduler", json_type_object, "process", &sched, err) < 0)
		return -1;
	memset(s, 0, sizeof(*s));
	if (!sched)
		return 0;
	if (get_string(sched, "policy", &policy, "process.scheduler", err) < 0)
		return -1;
	if (!policy)
		return cn_fail(err, 0, "process.scheduler.policy: missing");
	if ((s->policy = cn_sched_policy_from_name(policy)) < 0)
		return cn_fail(err, 0, "process.scheduler.policy: unknown policy \"%s\"", policy);
	if (get_int_in(sched, "nice", -20, 19, &v, &present, "process.scheduler", err) < 0)
		return -1;
	s->nice = present ? (int)v : 0;
	if (get_int_in(sched, "priority", 0, 99, &v, &present, "process.scheduler", err) < 0)
		return -1;
	s->priority = present ? (uint32_t)v : 0;
	for (size_t i = 0; i < 3; i++) {
		if (get_int_in(sched, periods[i], 0, INT64_MAX, &v, &present, "process.scheduler", err) < 0)
			return -1;
		*period_fields[i] = present ? (uint64_t)v : 0;
	}
	if (get_typed(sched, "flags", json_type_array, "process.scheduler", &flag_names, err) < 0)
		return -1;
	for (size_t i = 0; flag_names && i < json_object_array_length(flag_names); i++) {
		json_object *f = json_object_array_get_idx(flag_names, i);
		uint64_t bit = json_object_is_type(f, json_type_string) ? cn_sched_flag_from_name(json_object_get_string(f)) : 0;
		struct jpath p;

		if (!bit)
			return cn_fail(err, 0, "%s: unknown flag %s", jpi(&p, "process.scheduler.flags", i),
				       json_object_to_json_string(f));
		s->flags |= bit;
	}
	s->set = true;
	return 0;
}

static int parse_io_priority(json_object *process, struct cn_io_priority *io, struct cn_error *err)
{
	_cleanup_free_ char *ioclass = NULL;
	json_object *obj;
	int64_t v;
	bool present;

	if (get_typed(process, "ioPriority", json_type_object, "process", &obj, err) < 0)
		return -1;
	memset(io, 0, sizeof(*io));
	if (!obj)
		return 0;
	if (get_string(obj, "class", &ioclass, "process.ioPriority", err) < 0)
		return -1;
	if (!ioclass)
		return cn_fail(err, 0, "process.ioPriority.class: missing");
	if ((io->ioclass = cn_ioprio_class_from_name(ioclass)) < 0)
		return cn_fail(err, 0, "process.ioPriority.class: unknown class \"%s\" (IOPRIO_CLASS_RT, _BE or _IDLE)",
			       ioclass);
	if (get_int_in(obj, "priority", 0, 7, &v, &present, "process.ioPriority", err) < 0)
		return -1;
	io->level = present ? (int)v : 4; /* the kernel's default best-effort level */
	io->set = true;
	return 0;
}

static int parse_process(json_object *root, struct cn_config *cfg, struct cn_error *err)
{
	json_object *process;

	if (get_typed(root, "process", json_type_object, "", &process, err) < 0)
		return -1;
	if (!process)
		return 0;
	if (get_strv(process, "args", &cfg->args, "process", err) < 0 ||
	    get_strv(process, "env", &cfg->env, "process", err) < 0 ||
	    get_string(process, "cwd", &cfg->cwd, "process", err) < 0 ||
	    get_bool(process, "noNewPrivileges", &cfg->no_new_privs, "process", err) < 0 ||
	    get_bool(process, "terminal", &cfg->terminal, "process", err) < 0 ||
	    parse_console_size(process, cfg, err) < 0 || parse_scheduler(process, &cfg->scheduler, err) < 0 ||
	    parse_io_priority(process, &cfg->io_priority, err) < 0 ||
	    parse_user(process, cfg, err) < 0 || parse_capabilities(process, cfg, err) < 0 ||
	    parse_rlimits(process, cfg, err) < 0)
		return -1;
	if (cfg->cwd && cfg->cwd[0] != '/')
		return cn_fail(err, 0, "process.cwd: \"%s\" is not an absolute path", cfg->cwd);
	for (size_t i = 0; i < cfg->env.n; i++)
		if (!strchr(cfg->env.v[i], '=') || cfg->env.v[i][0] == '=')
			return cn_fail(err, 0, "process.env[%zu]: \"%s\" is not KEY=VALUE", i, cfg->env.v[i]);
	return 0;
}

static int parse_root(json_object *root, const char *bundle_dir, struct cn_config *cfg, struct cn_error *err)
{
	json_object *r;
	_cleanup_free_ char *path = NULL;

	if (get_typed(root, "root", json_type_object, "", &r, err) < 0)
		return -1;
	if (!r)
		return 0;
	if (get_string(r, "path", &path, "root", err) < 0 || get_bool(r, "readonly", &cfg->root_readonly, "root", err) < 0)
		return -1;
	if (!path)
		return 0;
	if (!*path)
		return cn_fail(err, 0, "root.path: empty");
	free(cfg->root_path);
	if (path[0] == '/' || !bundle_dir) {
		if (path[0] != '/')
			return cn_fail(err, 0, "root.path: \"%s\" is not an absolute path", path);
		cfg->root_path = steal_pointer(&path);
	} else if (asprintf(&cfg->root_path, "%s/%s", bundle_dir, path) < 0) {
		cfg->root_path = NULL;
		return cn_fail(err, ENOMEM, "root.path");
	}
	return 0;
}

static int parse_mounts(json_object *root, struct cn_config *cfg, struct cn_error *err)
{
	json_object *arr;

	if (get_typed(root, "mounts", json_type_array, "", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].destination);
		free(cfg->mounts[i].type);
		free(cfg->mounts[i].source);
		cn_strv_free(&cfg->mounts[i].options);
	}
	free(cfg->mounts);
	cfg->n_mounts = 0;
	size_t n = json_object_array_length(arr);
	if (!(cfg->mounts = calloc(n ? n : 1, sizeof(*cfg->mounts))))
		return cn_fail(err, ENOMEM, "mounts");
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(arr, i);
		struct cn_mount *mnt = &cfg->mounts[cfg->n_mounts++];
		struct jpath p;

		jpi(&p, "mounts", i);
		if (!json_object_is_type(m, json_type_object))
			return cn_fail(err, 0, "%s: must be an object", p.s);
		if (get_string(m, "destination", &mnt->destination, p.s, err) < 0 ||
		    get_string(m, "type", &mnt->type, p.s, err) < 0 || get_string(m, "source", &mnt->source, p.s, err) < 0 ||
		    get_strv(m, "options", &mnt->options, p.s, err) < 0)
			return -1;
		if (!mnt->destination || mnt->destination[0] != '/')
			return cn_fail(err, 0, "%s.destination: must be an absolute path", p.s);
		if (!mnt->type && !(mnt->type = strdup("none")))
			return cn_fail(err, ENOMEM, "%s", p.s);
		if (!mnt->source && !(mnt->source = strdup(mnt->type)))
			return cn_fail(err, ENOMEM, "%s", p.s);
	}
	return 0;
}

static int parse_id_maps(json_object *linux_obj, const char *key, struct cn_id_map **maps, size_t *n_maps,
			 struct cn_error *err)
{
	struct jpath p;
	json_object *arr;

	if (get_typed(linux_obj, key, json_type_array, "linux", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	jp(&p, "linux", key);
	free(*maps);
	*n_maps = 0;
	size_t n = json_object_array_length(arr);
	if (n > 340) /* the kernel's limit on lines in uid_map */
		return cn_fail(err, 0, "%s: %zu ranges, the kernel allows 340", p.s, n);
	if (!(*maps = calloc(n ? n : 1, sizeof(**maps))))
		return cn_fail(err, ENOMEM, "%s", p.s);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(arr, i);
		struct cn_id_map *map = &(*maps)[(*n_maps)++];
		struct jpath pi;

		jpi(&pi, p.s, i);
		if (!json_object_is_type(m, json_type_object))
			return cn_fail(err, 0, "%s: must be an object", pi.s);
		if (get_id(m, "containerID", &map->container_id, pi.s, err) < 0 ||
		    get_id(m, "hostID", &map->host_id, pi.s, err) < 0 || get_id(m, "size", &map->size, pi.s, err) < 0)
			return -1;
		if (map->size == 0)
			return cn_fail(err, 0, "%s.size: must be at least 1", pi.s);
	}
	return 0;
}

/* Every member of obj is one of keys: a limit cnlaunch cannot apply is refused, never ignored. */
static int only_keys(json_object *obj, const char *path, const char *const *keys, struct cn_error *err)
{
	json_object_object_foreach(obj, key, val) {
		struct jpath p;
		size_t i;

		(void)val;
		for (i = 0; keys[i] && strcmp(keys[i], key) != 0; i++)
			;
		if (!keys[i])
			return cn_fail(err, 0, "%s: not supported (cnlaunch applies memory.limit, pids.limit, "
					       "cpu.quota, cpu.period and cpu.shares)", jp(&p, path, key));
	}
	return 0;
}

/* A limit: 0 is "not set", -1 "unlimited" when the spec allows it, else min..max. */
static int get_limit(json_object *obj, const char *key, int64_t min, int64_t max, bool unlimited, int64_t *out,
		     const char *path, struct cn_error *err)
{
	struct jpath p;
	bool present;
	int64_t v;

	if (get_int_in(obj, key, unlimited ? -1 : 0, max, &v, &present, path, err) < 0)
		return -1;
	if (present && v > 0 && v < min)
		return cn_fail(err, 0, "%s: %lld is below the kernel's minimum of %lld", jp(&p, path, key), (long long)v,
			       (long long)min);
	if (present)
		*out = v;
	return 0;
}

static int parse_resources(json_object *linux_obj, struct cn_resources *r, struct cn_error *err)
{
	static const char *const top[] = {"memory", "pids", "cpu", NULL}, *const limit[] = {"limit", NULL},
			       *const cpu_keys[] = {"quota", "period", "shares", NULL};
	json_object *res, *mem, *pids, *cpu;
	int64_t period = (int64_t)r->cpu_period, shares = (int64_t)r->cpu_shares;

	if (get_typed(linux_obj, "resources", json_type_object, "linux", &res, err) < 0)
		return -1;
	if (!res)
		return 0;
	if (only_keys(res, "linux.resources", top, err) < 0 ||
	    get_typed(res, "memory", json_type_object, "linux.resources", &mem, err) < 0 ||
	    get_typed(res, "pids", json_type_object, "linux.resources", &pids, err) < 0 ||
	    get_typed(res, "cpu", json_type_object, "linux.resources", &cpu, err) < 0)
		return -1;
	if (mem && (only_keys(mem, "linux.resources.memory", limit, err) < 0 ||
		    get_limit(mem, "limit", 1, INT64_MAX, true, &r->memory_limit, "linux.resources.memory", err) < 0))
		return -1;
	/* 4194304: the kernel's PID_MAX_LIMIT, above which pids.max is refused */
	if (pids && (only_keys(pids, "linux.resources.pids", limit, err) < 0 ||
		     get_limit(pids, "limit", 1, 4194304, true, &r->pids_limit, "linux.resources.pids", err) < 0))
		return -1;
	if (cpu && (only_keys(cpu, "linux.resources.cpu", cpu_keys, err) < 0 ||
		    get_limit(cpu, "quota", 1000, INT64_MAX, true, &r->cpu_quota, "linux.resources.cpu", err) < 0 ||
		    get_limit(cpu, "period", 1000, 1000000, false, &period, "linux.resources.cpu", err) < 0 ||
		    get_limit(cpu, "shares", 2, 262144, false, &shares, "linux.resources.cpu", err) < 0))
		return -1;
	r->cpu_period = (uint64_t)period;
	r->cpu_shares = (uint64_t)shares;
	return 0;
}

bool cn_resources_set(const struct cn_resources *r)
{
	return r->memory_limit || r->pids_limit || r->cpu_quota || r->cpu_period || r->cpu_shares;
}

const char *cn_cgroups_path_problem(const char *path)
{
	const char *c = path;

	if (!*path)
		return "is empty";
	if (strlen(path) >= 256)
		return "is longer than 255 bytes";
	if (*c == '/')
		c++;
	while (*c) {
		size_t n = strcspn(c, "/");
		if (n == 0)
			return "has an empty component";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "has a \".\" or \"..\" component";
		c += n + (c[n] == '/');
	}
	return c[-1] == '/' && c - path > 1 ? "ends with /" : NULL;
}

static int parse_linux(json_object *root, struct cn_config *cfg, struct cn_error *err)
{
	json_object *linux_obj;
	json_object *nss, *seccomp;

	if (get_typed(root, "linux", json_type_object, "", &linux_obj, err) < 0)
		return -1;
	if (!linux_obj)
		return 0;
	if (get_typed(linux_obj, "namespaces", json_type_array, "linux", &nss, err) < 0)
		return -1;
	if (nss) {
		cfg->namespaces = 0;
		for (size_t i = 0; i < json_object_array_length(nss); i++) {
			json_object *ns = json_object_array_get_idx(nss, i);
			_cleanup_free_ char *type = NULL, *path = NULL;
			struct jpath p;
			size_t k;

			jpi(&p, "linux.namespaces", i);
			if (!json_object_is_type(ns, json_type_object))
				return cn_fail(err, 0, "%s: must be an object", p.s);
			if (get_string(ns, "type", &type, p.s, err) < 0 || get_string(ns, "path", &path, p.s, err) < 0)
				return -1;
			if (!type)
				return cn_fail(err, 0, "%s.type: missing", p.s);
			for (k = 0; k < sizeof(ns_table) / sizeof(ns_table[0]); k++)
				if (strcmp(type, ns_table[k].name) == 0)
					break;
			if (k == sizeof(ns_table) / sizeof(ns_table[0]))
				return cn_fail(err, 0, "%s.type: unknown namespace \"%s\"", p.s, type);
			if (path)
				return cn_fail(err, 0, "%s.path: joining an existing namespace is not supported", p.s);
			cfg->namespaces |= ns_table[k].flag;
		}
	}
	if (parse_id_maps(linux_obj, "uidMappings", &cfg->uid_maps, &cfg->n_uid_maps, err) < 0 ||
	    parse_id_maps(linux_obj, "gidMappings", &cfg->gid_maps, &cfg->n_gid_maps, err) < 0 ||
	    get_strv(linux_obj, "maskedPaths", &cfg->masked_paths, "linux", err) < 0 ||
	    get_strv(linux_obj, "readonlyPaths", &cfg->readonly_paths, "linux", err) < 0)
		return -1;
	if (parse_resources(linux_obj, &cfg->resources, err) < 0 ||
	    get_string(linux_obj, "cgroupsPath", &cfg->cgroups_path, "linux", err) < 0)
		return -1;
	if (cfg->cgroups_path && cn_cgroups_path_problem(cfg->cgroups_path))
		return cn_fail(err, 0, "linux.cgroupsPath: \"%s\" %s", cfg->cgroups_path,
			       cn_cgroups_path_problem(cfg->cgroups_path));
	if (get_typed(linux_obj, "seccomp", json_type_object, "linux", &seccomp, err) < 0)
		return -1;
	if (seccomp) {
		json_object_put(cfg->seccomp);
		cfg->seccomp = json_object_get(seccomp);
	}
	return 0;
}

json_object *cn_json_parse(const char *text, struct cn_error *err)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root;

	if (!tok)
		return cn_fail(err, ENOMEM, "JSON parser"), NULL;
	root = json_tokener_parse_ex(tok, text, -1);
	if (!root || json_tokener_get_parse_end(tok) < strlen(text)) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		size_t at = json_tokener_get_parse_end(tok);
		json_object_put(root);
		json_tokener_free(tok);
		return cn_fail(err, 0, "malformed JSON at byte %zu: %s", at,
			       jerr == json_tokener_success ? "trailing data after the document"
			       : jerr == json_tokener_continue ? "unexpected end of document"
							       : json_tokener_error_desc(jerr)),
		       NULL;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return cn_fail(err, 0, "the document must be a JSON object"), NULL;
	}
	return root;
}

int cn_config_parse(struct cn_config *cfg, const char *text, const char *bundle_dir, struct cn_error *err)
{
	json_object *root = cn_json_parse(text, err);
	int rc;

	if (!root)
		return -1;
	rc = parse_process(root, cfg, err);
	if (rc == 0)
		rc = parse_root(root, bundle_dir, cfg, err);
	if (rc == 0 && get_string(root, "hostname", &cfg->hostname, "", err) < 0)
		rc = -1;
	if (rc == 0)
		rc = parse_mounts(root, cfg, err);
	if (rc == 0)
		rc = parse_linux(root, cfg, err);
	json_object_put(root);
	return rc;
}

char *cn_read_text_file(const char *path, size_t max, struct cn_error *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len = 0, cap;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cn_fail(err, errno, "open %s", path), NULL;
	if (fstat(fd, &st) < 0)
		return cn_fail(err, errno, "stat %s", path), NULL;
	if (!S_ISREG(st.st_mode))
		return cn_fail(err, 0, "%s: not a regular file", path), NULL;
	if ((uint64_t)st.st_size > max)
		return cn_fail(err, 0, "%s: %lld bytes, more than the %zu allowed", path, (long long)st.st_size, max), NULL;
	/* A /proc file says size 0 and has more: the buffer grows until EOF. */
	cap = (size_t)st.st_size + 1 < 4096 ? 4096 : (size_t)st.st_size + 1;
	if (!(text = malloc(cap)))
		return cn_fail(err, ENOMEM, "%s", path), NULL;
	for (;;) {
		ssize_t n;
		if (len + 1 == cap) {
			char *grown;
			if (len >= max)
				return cn_fail(err, 0, "%s: more than the %zu bytes allowed", path, max), NULL;
			if (!(grown = realloc(text, cap * 2)))
				return cn_fail(err, ENOMEM, "%s", path), NULL;
			text = grown;
			cap *= 2;
		}
		n = read(fd, text + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cn_fail(err, errno, "read %s", path), NULL;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	if (len > max)
		return cn_fail(err, 0, "%s: more than the %zu bytes allowed", path, max), NULL;
	if (strlen(text) != len)
		return cn_fail(err, 0, "%s: contains a NUL byte", path), NULL;
	return steal_pointer(&text);
}

int cn_write_file(const char *path, const char *text, struct cn_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return cn_fail(err, errno, "open %s", path);
	if (write(fd, text, len) != (ssize_t)len)
		return cn_fail(err, errno, "write \"%.*s\" to %s", (int)strcspn(text, "\n"), text, path);
	return 0;
}

int cn_config_load_bundle(struct cn_config *cfg, const char *bundle_dir, struct cn_error *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;

	if (asprintf(&path, "%s/config.json", bundle_dir) < 0) {
		path = NULL;
		return cn_fail(err, ENOMEM, "%s", bundle_dir);
	}
	if (!(text = cn_read_text_file(path, CN_CONFIG_MAX_BYTES, err)))
		return -1;
	if (cn_config_parse(cfg, text, bundle_dir, err) < 0)
		return cn_prefix(err, "%s: ", path);
	return 0;
}

/* ---- defaults ---- */

struct default_mount {
	const char *destination, *type, *source;
	const char *options[8];
};

static int add_mount(struct cn_config *cfg, const struct default_mount *dm)
{
	struct cn_mount *m = realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof(*m));

	if (!m)
		return -1;
	cfg->mounts = m;
	m = &cfg->mounts[cfg->n_mounts++];
	memset(m, 0, sizeof(*m));
	if (!(m->destination = strdup(dm->destination)) || !(m->type = strdup(dm->type)) ||
	    !(m->source = strdup(dm->source)))
		return -1;
	for (size_t i = 0; i < 8 && dm->options[i]; i++)
		if (cn_strv_push(&m->options, dm->options[i]) < 0)
			return -1;
	return 0;
}

int cn_config_init_default(struct cn_config *cfg, bool rootless, struct cn_error *err)
{
	/* What `runc spec` (and `runc spec --rootless`) write. */
	static const struct default_mount mounts[] = {
		{"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
		{"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
		{"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
	};
	static const struct default_mount rootless_devpts = {
		"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}};
	static const struct default_mount rootless_sys = {
		"/sys", "bind", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}};
	static const char *const masked[] = {
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	};
	static const char *const readonly[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	};

	memset(cfg, 0, sizeof(*cfg));
	if (!(cfg->cwd = strdup("/")))
		return cn_fail(err, ENOMEM, "default configuration");
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		const struct default_mount *dm = &mounts[i];
		if (rootless && strcmp(dm->destination, "/dev/pts") == 0)
			dm = &rootless_devpts;
		if (rootless && strcmp(dm->destination, "/sys") == 0)
			dm = &rootless_sys;
		if (add_mount(cfg, dm) < 0)
			return cn_fail(err, ENOMEM, "default configuration");
	}
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++)
		if (cn_strv_push(&cfg->masked_paths, masked[i]) < 0)
			return cn_fail(err, ENOMEM, "default configuration");
	for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++)
		if (cn_strv_push(&cfg->readonly_paths, readonly[i]) < 0)
			return cn_fail(err, ENOMEM, "default configuration");
	cfg->namespaces = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
	if (rootless)
		cfg->namespaces |= CLONE_NEWUSER;
	return 0;
}

/* ---- writer ---- */

static json_object *strv_json(const struct cn_strv *sv)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; arr && i < sv->n; i++)
		json_object_array_add(arr, json_object_new_string(sv->v[i]));
	return arr;
}

static json_object *maps_json(const struct cn_id_map *maps, size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "containerID", json_object_new_int64(maps[i].container_id));
		json_object_object_add(m, "hostID", json_object_new_int64(maps[i].host_id));
		json_object_object_add(m, "size", json_object_new_int64(maps[i].size));
		json_object_array_add(arr, m);
	}
	return arr;
}

static void add_limit(json_object *parent, const char *section, const char *key, int64_t v)
{
	json_object *sec;

	if (!v)
		return;
	if (!json_object_object_get_ex(parent, section, &sec)) {
		sec = json_object_new_object();
		json_object_object_add(parent, section, sec);
	}
	json_object_object_add(sec, key, json_object_new_int64(v));
}

static json_object *resources_json(const struct cn_resources *r)
{
	json_object *res = json_object_new_object();

	add_limit(res, "memory", "limit", r->memory_limit);
	add_limit(res, "pids", "limit", r->pids_limit);
	add_limit(res, "cpu", "quota", r->cpu_quota);
	add_limit(res, "cpu", "period", (int64_t)r->cpu_period);
	add_limit(res, "cpu", "shares", (int64_t)r->cpu_shares);
	return res;
}

static json_object *scheduler_json(const struct cn_scheduler *s)
{
	json_object *obj = json_object_new_object(), *flag_names = json_object_new_array();

	json_object_object_add(obj, "policy", json_object_new_string(cn_sched_policy_name(s->policy)));
	json_object_object_add(obj, "nice", json_object_new_int64(s->nice));
	json_object_object_add(obj, "priority", json_object_new_int64(s->priority));
	for (uint64_t bit = 1; bit && bit <= s->flags; bit <<= 1)
		if (s->flags & bit)
			json_object_array_add(flag_names, json_object_new_string(cn_sched_flag_name(bit)));
	json_object_object_add(obj, "flags", flag_names);
	json_object_object_add(obj, "runtime", json_object_new_uint64(s->runtime));
	json_object_object_add(obj, "deadline", json_object_new_uint64(s->deadline));
	json_object_object_add(obj, "period", json_object_new_uint64(s->period));
	return obj;
}

char *cn_config_to_json(const struct cn_config *cfg, struct cn_error *err)
{
	json_object *root = json_object_new_object();
	json_object *process = json_object_new_object(), *user = json_object_new_object();
	json_object *caps = json_object_new_object(), *gids = json_object_new_array();
	json_object *rlimits = json_object_new_array(), *r = json_object_new_object();
	json_object *mounts = json_object_new_array(), *linux_obj = json_object_new_object();
	json_object *nss = json_object_new_array();
	char *text;

	json_object_object_add(root, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(process, "terminal", json_object_new_boolean(cfg->terminal));
	if (cfg->console_height || cfg->console_width) {
		json_object *size = json_object_new_object();
		json_object_object_add(size, "height", json_object_new_int64(cfg->console_height));
		json_object_object_add(size, "width", json_object_new_int64(cfg->console_width));
		json_object_object_add(process, "consoleSize", size);
	}
	json_object_object_add(user, "uid", json_object_new_int64(cfg->uid));
	json_object_object_add(user, "gid", json_object_new_int64(cfg->gid));
	if (cfg->umask_set)
		json_object_object_add(user, "umask", json_object_new_int64(cfg->umask));
	for (size_t i = 0; i < cfg->n_additional_gids; i++)
		json_object_array_add(gids, json_object_new_int64(cfg->additional_gids[i]));
	json_object_object_add(user, "additionalGids", gids);
	json_object_object_add(process, "user", user);
	json_object_object_add(process, "args", strv_json(&cfg->args));
	json_object_object_add(process, "env", strv_json(&cfg->env));
	json_object_object_add(process, "cwd", json_object_new_string(cfg->cwd ? cfg->cwd : "/"));
	for (int set = 0; set < CN_CAPSET__COUNT; set++) {
		json_object *arr = json_object_new_array();
		char name[CN_CAP_NAME_MAX];
		for (int cap = 0; cap < 64; cap++)
			if (cfg->caps[set] & CN_CAP_BIT(cap))
				json_object_array_add(arr, json_object_new_string(cn_cap_name(cap, name)));
		json_object_object_add(caps, cn_capset_name(set), arr);
	}
	json_object_object_add(process, "capabilities", caps);
	for (size_t i = 0; i < cfg->n_rlimits; i++) {
		json_object *rl = json_object_new_object();
		json_object_object_add(rl, "type", json_object_new_string(cn_rlimit_name(cfg->rlimits[i].resource)));
		json_object_object_add(rl, "hard", json_object_new_uint64(cfg->rlimits[i].hard));
		json_object_object_add(rl, "soft", json_object_new_uint64(cfg->rlimits[i].soft));
		json_object_array_add(rlimits, rl);
	}
	json_object_object_add(process, "rlimits", rlimits);
	json_object_object_add(process, "noNewPrivileges", json_object_new_boolean(cfg->no_new_privs));
	if (cfg->scheduler.set)
		json_object_object_add(process, "scheduler", scheduler_json(&cfg->scheduler));
	if (cfg->io_priority.set) {
		json_object *io = json_object_new_object();
		json_object_object_add(io, "class", json_object_new_string(cn_ioprio_class_name(cfg->io_priority.ioclass)));
		json_object_object_add(io, "priority", json_object_new_int64(cfg->io_priority.level));
		json_object_object_add(process, "ioPriority", io);
	}
	json_object_object_add(root, "process", process);

	json_object_object_add(r, "path", json_object_new_string(cfg->root_path ? cfg->root_path : ""));
	json_object_object_add(r, "readonly", json_object_new_boolean(cfg->root_readonly));
	json_object_object_add(root, "root", r);
	if (cfg->hostname)
		json_object_object_add(root, "hostname", json_object_new_string(cfg->hostname));
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "destination", json_object_new_string(cfg->mounts[i].destination));
		json_object_object_add(m, "type", json_object_new_string(cfg->mounts[i].type));
		json_object_object_add(m, "source", json_object_new_string(cfg->mounts[i].source));
		json_object_object_add(m, "options", strv_json(&cfg->mounts[i].options));
		json_object_array_add(mounts, m);
	}
	json_object_object_add(root, "mounts", mounts);

	for (size_t k = 0; k < sizeof(ns_table) / sizeof(ns_table[0]); k++) {
		if (!(cfg->namespaces & ns_table[k].flag))
			continue;
		json_object *ns = json_object_new_object();
		json_object_object_add(ns, "type", json_object_new_string(ns_table[k].name));
		json_object_array_add(nss, ns);
	}
	json_object_object_add(linux_obj, "namespaces", nss);
	if (cfg->n_uid_maps)
		json_object_object_add(linux_obj, "uidMappings", maps_json(cfg->uid_maps, cfg->n_uid_maps));
	if (cfg->n_gid_maps)
		json_object_object_add(linux_obj, "gidMappings", maps_json(cfg->gid_maps, cfg->n_gid_maps));
	if (cfg->seccomp)
		json_object_object_add(linux_obj, "seccomp", json_object_get(cfg->seccomp));
	if (cn_resources_set(&cfg->resources))
		json_object_object_add(linux_obj, "resources", resources_json(&cfg->resources));
	if (cfg->cgroups_path)
		json_object_object_add(linux_obj, "cgroupsPath", json_object_new_string(cfg->cgroups_path));
	json_object_object_add(linux_obj, "maskedPaths", strv_json(&cfg->masked_paths));
	json_object_object_add(linux_obj, "readonlyPaths", strv_json(&cfg->readonly_paths));
	json_object_object_add(root, "linux", linux_obj);

	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	if (!text)
		cn_fail(err, ENOMEM, "writing the configuration");
	return text;
}

void cn_config_free(struct cn_config *cfg)
{
	cn_strv_free(&cfg->args);
	cn_strv_free(&cfg->env);
	free(cfg->cwd);
	free(cfg->additional_gids);
	free(cfg->rlimits);
	free(cfg->root_path);
	free(cfg->hostname);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].destination);
		free(cfg->mounts[i].type);
		free(cfg->mounts[i].source);
		cn_strv_free(&cfg->mounts[i].options);
	}
	free(cfg->mounts);
	free(cfg->uid_maps);
	free(cfg->gid_maps);
	json_object_put(cfg->seccomp);
	cn_strv_free(&cfg->masked_paths);
	cn_strv_free(&cfg->readonly_paths);
	free(cfg->cgroups_path);
	memset(cfg, 0, sizeof(*cfg));
}
