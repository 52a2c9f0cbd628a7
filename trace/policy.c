/* SPDX-License-Identifier: Apache-2.0
 *
 * The policy checker: a policy document (policy/README.md) becomes rules; a
 * JSON trace becomes the few things the rules look at; every assertion of
 * every rule is evaluated, each failure one violation that names the rule,
 * the stage, the pid, the role, the syscall and the cred diff.
 *
 * It reads the JSON trace, not the in-memory model, so that `cntrace check`
 * on a saved trace and `cntrace run --check` evaluate exactly the same thing.
 */
#define _GNU_SOURCE
#include "policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "doc.h"
#include "grow.h"
#include "json.h"
#include "names.h"
#include "stage.h"

/* What the checker cannot do without memory it reports and gives up on: a
 * policy evaluation is small, so running out is not a case worth a code path
 * (trace/grow.h). */
static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		fputs("cntrace: out of memory\n", stderr);
		exit(125);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	return s ? strcpy(xcalloc(strlen(s) + 1, 1), s) : NULL;
}

/* A growing string. */
struct sb {
	char *s;
	size_t len, cap;
};

static __attribute__((format(printf, 2, 3))) void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap + (size_t)n + 64;
		b->s = cn_xrealloc(b->s, b->cap);
	}
}

/* "a, b" lists that began at offset start: a separator before every item but the first. */
static void sb_item(struct sb *b, size_t start, const char *sep)
{
	if (b->len > start)
		sb_printf(b, "%s", sep);
}

static char *sb_take(struct sb *b)
{
	char *s = b->s ? b->s : xstrdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

/* A JSON path into buf ("rules[3].assert.final_creds"); a path too long is cut, never overflows. */
static __attribute__((format(printf, 3, 4))) void pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ vocabulary */

static const char *const flow_names[] = { "setuid", "userns", "root", "fakeroot" };
#define NFLOWS 4
/* The JSON trace's role names, in the order of cn_trace_role_name(). */
static const char *const role_names[] = { "starter", "stage1", "stage2", "master", "rpc_server",
					  "post_start_host", "cleanup_host", "container", "other" };
#define NROLES 9

enum scope {
	SCOPE_STAGES = 1 << 0,
	SCOPE_LAUNCH = 1 << 1,
	SCOPE_CONTAINER = 1 << 2,
};
static const char *const scope_names[] = { "stages", "launch", "container" };

enum assertion {
	A_NO_HOST_PRIVILEGE = 1 << 0,
	A_NO_RAISE = 1 << 1,
	A_NO_HOST_CAP_USE = 1 << 2,
	A_ALLOWED_HOST_CAPS = 1 << 3,
	A_FINAL_CREDS = 1 << 4,
	A_FORBIDDEN_SYSCALLS = 1 << 5,
	A_MAX_LOST_EVENTS = 1 << 6,
	A_EVERY_PROCESS_HAS_ROLE = 1 << 7,
	A_STAGES_RAN = 1 << 8,
};

static const char *const assertion_names[] = {
	"no_host_privilege", "no_raise", "no_host_capability_use", "allowed_host_capabilities", "final_creds",
	"forbidden_syscalls", "max_lost_events", "every_process_has_role", "stages_ran",
};
#define NASSERTIONS 9

/* The assertions that need the launcher's stage probes to mean anything. */
#define A_NEEDS_STAGES (A_FINAL_CREDS | A_EVERY_PROCESS_HAS_ROLE | A_STAGES_RAN)

static const char *const capset_names[] = { "effective", "permitted", "inheritable", "bounding", "ambient" };
#define NCAPSETS 5

static int index_of(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (name && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static uint64_t capset_of(const struct cn_creds *c, int set)
{
	switch (set) {
	case 0:
		return c->cap_effective;
	case 1:
		return c->cap_permitted;
	case 2:
		return c->cap_inheritable;
	case 3:
		return c->cap_bounding;
	default:
		return c->cap_ambient;
	}
}

/* ---------------------------------------------------------------------- rules */

struct id_spec {
	bool set, caller;
	uint32_t id;
};

struct final_creds {
	struct id_spec uid, gid;
	bool caps_configured;
	unsigned caps_given; /* bit per capset_names[] entry given explicitly */
	uint64_t caps[NCAPSETS];
	bool nnp_set, nnp;
};

struct rule {
	char *id;
	char *doc;
	unsigned flows;   /* bit per flow_names[] entry */
	unsigned stages;  /* bit per enum cn_stage */
	unsigned roles;   /* bit per role_names[] entry; 0: every role */
	unsigned scope;   /* enum scope bits */
	unsigned asserts; /* enum assertion bits */
	uint64_t allowed_caps;
	struct final_creds final;
	char **forbidden; /* NULL-terminated */
	int64_t max_lost;
	unsigned stages_ran;
};

struct cn_policy {
	char *name;
	struct rule *rules;
	size_t nrules, cap_rules;
};

#define ALL_FLOWS ((1u << NFLOWS) - 1)
#define ALL_STAGES (((1u << CN_STAGE__COUNT) - 1) & ~1u)

/* A parse in progress: where errors go. */
struct parse {
	const char *origin;
	struct cn_error *err;
};

static __attribute__((format(printf, 3, 4))) int refuse(struct parse *ps, const char *path, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return cn_fail(ps->err, 0, "%s: %s: %s", ps->origin, path, why);
}

static const char *type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number";
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "a list";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

static bool is_string(struct json_object *v)
{
	return v && json_object_is_type(v, json_type_string);
}

static bool is_count(struct json_object *v)
{
	return v && json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0;
}

/*
 * A list of names from a table, or "*" when star is allowed, into a bit mask.
 * names_for_error says what the entries must be ("a flow: setuid, ...").
 */
static int parse_names(struct parse *ps, struct json_object *v, const char *path, const char *const *names,
		       size_t n, int offset, bool star, unsigned *mask, const char *what)
{
	*mask = 0;
	if (star && is_string(v) && strcmp(json_object_get_string(v), "*") == 0) {
		for (size_t i = 0; i < n; i++)
			*mask |= 1u << (i + (size_t)offset);
		return 0;
	}
	if (!v || !json_object_is_type(v, json_type_array))
		return refuse(ps, path, "must be a list of %s%s, not %s", what, star ? " or \"*\"" : "",
			      v ? type_name(v) : "null");
	if (json_object_array_length(v) == 0)
		return refuse(ps, path, "must not be empty");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		char at[256];
		int k;

		pathf(at, sizeof(at), "%s[%zu]", path, i);
		if (!is_string(e))
			return refuse(ps, at, "must be a string, not %s", type_name(e));
		k = index_of(names, n, json_object_get_string(e));
		if (k < 0)
			return refuse(ps, at, "unknown %s \"%s\"", what, json_object_get_string(e));
		*mask |= 1u << (k + offset);
	}
	return 0;
}

static const char *const *stage_name_table(void)
{
	static const char *names[CN_STAGE__COUNT - 1];

	for (int s = 1; s < CN_STAGE__COUNT; s++)
		names[s - 1] = cn_stage_name((enum cn_stage)s);
	return names;
}

static int parse_true(struct parse *ps, struct json_object *v, const char *path)
{
	if (!v || !json_object_is_type(v, json_type_boolean) || !json_object_get_boolean(v))
		return refuse(ps, path, "must be true (leave the key out to not assert it)");
	return 0;
}

static int parse_caps(struct parse *ps, struct json_object *v, const char *path, uint64_t *set)
{
	*set = 0;
	if (!v || !json_object_is_type(v, json_type_array))
		return refuse(ps, path, "must be a list of capability names, not %s", v ? type_name(v) : "null");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		char at[256];
		int cap;

		pathf(at, sizeof(at), "%s[%zu]", path, i);
		if (!is_string(e))
			return refuse(ps, at, "must be a capability name, not %s", type_name(e));
		cap = strncmp(json_object_get_string(e), "CAP_", 4) == 0 ? cn_cap_from_name(json_object_get_string(e))
									  : -1;
		if (cap < 0)
			return refuse(ps, at, "unknown capability \"%s\"", json_object_get_string(e));
		*set |= 1ull << cap;
	}
	return 0;
}

static int parse_id_spec(struct parse *ps, struct json_object *v, const char *path, struct id_spec *id)
{
	id->set = true;
	if (is_string(v) && strcmp(json_object_get_string(v), "caller") == 0) {
		id->caller = true;
		return 0;
	}
	if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
	    json_object_get_int64(v) > UINT32_MAX - 1)
		return refuse(ps, path, "must be \"caller\" or a number");
	id->id = (uint32_t)json_object_get_int64(v);
	return 0;
}

static int parse_final_creds(struct parse *ps, struct json_object *v, const char *path, struct final_creds *f)
{
	char at[256];

	if (!v || !json_object_is_type(v, json_type_object))
		return refuse(ps, path, "must be an object with uid, gid, caps or no_new_privs");
	if (json_object_object_length(v) == 0)
		return refuse(ps, path, "must name at least one of uid, gid, caps, no_new_privs");
	json_object_object_foreach(v, key, val)
	{
		pathf(at, sizeof(at), "%s.%s", path, key);
		if (strcmp(key, "uid") == 0) {
			if (parse_id_spec(ps, val, at, &f->uid) < 0)
				return -1;
		} else if (strcmp(key, "gid") == 0) {
			if (parse_id_spec(ps, val, at, &f->gid) < 0)
				return -1;
		} else if (strcmp(key, "caps") == 0) {
			if (is_string(val) && strcmp(json_object_get_string(val), "configured") == 0) {
				f->caps_configured = true;
				continue;
			}
			if (!val || !json_object_is_type(val, json_type_object))
				return refuse(ps, at, "must be \"configured\" or an object of capability sets");
			if (json_object_object_length(val) == 0)
				return refuse(ps, at, "must name at least one of the five capability sets");
			json_object_object_foreach(val, set, list)
			{
				char set_at[300];
				int k = index_of(capset_names, NCAPSETS, set);

				pathf(set_at, sizeof(set_at), "%s.%s", at, set);
				if (k < 0)
					return refuse(ps, set_at,
						      "unknown capability set (effective, permitted, inheritable, "
						      "bounding, ambient)");
				if (parse_caps(ps, list, set_at, &f->caps[k]) < 0)
					return -1;
				f->caps_given |= 1u << k;
			}
		} else if (strcmp(key, "no_new_privs") == 0) {
			if (!val || !json_object_is_type(val, json_type_boolean))
				return refuse(ps, at, "must be true or false");
			f->nnp_set = true;
			f->nnp = json_object_get_boolean(val);
		} else {
			return refuse(ps, at, "unknown key (uid, gid, caps, no_new_privs)");
		}
	}
	return 0;
}

static int parse_assert(struct parse *ps, struct json_object *v, const char *path, struct rule *r)
{
	char at[256];

	if (!v || !json_object_is_type(v, json_type_object))
		return refuse(ps, path, "must be an object of assertions, not %s", v ? type_name(v) : "null");
	if (json_object_object_length(v) == 0)
		return refuse(ps, path, "must hold at least one assertion");
	json_object_object_foreach(v, key, val)
	{
		int k = index_of(assertion_names, NASSERTIONS, key);

		pathf(at, sizeof(at), "%s.%s", path, key);
		if (k < 0)
			return refuse(ps, at, "unknown assertion");
		r->asserts |= 1u << k;
		switch (1u << k) {
		case A_NO_HOST_PRIVILEGE:
		case A_NO_RAISE:
		case A_NO_HOST_CAP_USE:
		case A_EVERY_PROCESS_HAS_ROLE:
			if (parse_true(ps, val, at) < 0)
				return -1;
			break;
		case A_ALLOWED_HOST_CAPS:
			if (parse_caps(ps, val, at, &r->allowed_caps) < 0)
				return -1;
			break;
		case A_FINAL_CREDS:
			if (parse_final_creds(ps, val, at, &r->final) < 0)
				return -1;
			if (!(r->scope & SCOPE_STAGES))
				return refuse(ps, at,
					      "looks at the exit creds of stage entries: needs scope \"stages\"");
			break;
		case A_FORBIDDEN_SYSCALLS:
			if (!val || !json_object_is_type(val, json_type_array) || json_object_array_length(val) == 0)
				return refuse(ps, at, "must be a non-empty list of syscall names");
			r->forbidden = xcalloc(json_object_array_length(val) + 1, sizeof(char *));
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				struct json_object *e = json_object_array_get_idx(val, i);
				char e_at[300];

				pathf(e_at, sizeof(e_at), "%s[%zu]", at, i);
				if (!is_string(e))
					return refuse(ps, e_at, "must be a syscall name, not %s", type_name(e));
				if (cn_syscall_from_name(json_object_get_string(e)) < 0)
					return refuse(ps, e_at, "unknown syscall \"%s\"", json_object_get_string(e));
				r->forbidden[i] = xstrdup(json_object_get_string(e));
			}
			break;
		case A_MAX_LOST_EVENTS:
			if (!is_count(val))
				return refuse(ps, at, "must be a number of events, 0 or more");
			r->max_lost = json_object_get_int64(val);
			break;
		case A_STAGES_RAN:
			if (parse_names(ps, val, at, stage_name_table(), CN_STAGE__COUNT - 1, 1, false, &r->stages_ran,
					"stage") < 0)
				return -1;
			break;
		}
	}
	return 0;
}

static bool valid_id(const char *id)
{
	if (!*id)
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      strchr("._-", *c)))
			return false;
	return true;
}

static int parse_rule(struct parse *ps, struct cn_policy *p, struct json_object *v, size_t index)
{
	static const char *const keys[] = { "id", "doc", "flows", "stages", "roles", "scope", "assert" };
	struct json_object *val;
	char path[64], at[128];
	struct rule *r;

	pathf(path, sizeof(path), "rules[%zu]", index);
	if (!v || !json_object_is_type(v, json_type_object))
		return refuse(ps, path, "must be an object, not %s", v ? type_name(v) : "null");
	json_object_object_foreach(v, key, unused)
	{
		(void)unused;
		pathf(at, sizeof(at), "%s.%s", path, key);
		if (index_of(keys, sizeof(keys) / sizeof(keys[0]), key) < 0)
			return refuse(ps, at, "unknown key (id, doc, flows, stages, roles, scope, assert)");
	}
	r = CN_PUSH(p->rules, p->nrules, p->cap_rules);
	r->flows = ALL_FLOWS;
	r->stages = ALL_STAGES;
	r->scope = SCOPE_STAGES;

	pathf(at, sizeof(at), "%s.id", path);
	if (!json_object_object_get_ex(v, "id", &val) || !is_string(val))
		return refuse(ps, at, "required: a string such as \"setuid.prepareconfig.dropped\"");
	if (!valid_id(json_object_get_string(val)))
		return refuse(ps, at, "\"%s\": only letters, digits, '.', '_' and '-'", json_object_get_string(val));
	r->id = xstrdup(json_object_get_string(val));
	for (size_t i = 0; i + 1 < p->nrules; i++)
		if (strcmp(p->rules[i].id, r->id) == 0)
			return refuse(ps, at, "\"%s\" is also the id of rules[%zu]", r->id, i);

	pathf(at, sizeof(at), "%s.doc", path);
	if (!json_object_object_get_ex(v, "doc", &val) || !is_string(val) || !*json_object_get_string(val))
		return refuse(ps, at, "required: the documentation sentence the rule comes from");
	r->doc = xstrdup(json_object_get_string(val));

	pathf(at, sizeof(at), "%s.flows", path);
	if (json_object_object_get_ex(v, "flows", &val) &&
	    parse_names(ps, val, at, flow_names, NFLOWS, 0, true, &r->flows, "flow") < 0)
		return -1;
	pathf(at, sizeof(at), "%s.roles", path);
	if (json_object_object_get_ex(v, "roles", &val) &&
	    parse_names(ps, val, at, role_names, NROLES, 0, false, &r->roles, "role") < 0)
		return -1;
	pathf(at, sizeof(at), "%s.scope", path);
	if (json_object_object_get_ex(v, "scope", &val)) {
		if (is_string(val)) {
			int k = index_of(scope_names, 3, json_object_get_string(val));

			if (k < 0)
				return refuse(ps, at, "unknown scope \"%s\" (stages, launch, container)",
					      json_object_get_string(val));
			r->scope = 1u << k;
		} else if (parse_names(ps, val, at, scope_names, 3, 0, false, &r->scope, "scope") < 0) {
			return -1;
		}
	}
	pathf(at, sizeof(at), "%s.stages", path);
	if (json_object_object_get_ex(v, "stages", &val)) {
		if (parse_names(ps, val, at, stage_name_table(), CN_STAGE__COUNT - 1, 1, true, &r->stages, "stage") <
		    0)
			return -1;
		if (!(r->scope & SCOPE_STAGES) && r->stages != ALL_STAGES)
			return refuse(ps, at, "selects stage entries: needs scope \"stages\"");
	}
	pathf(at, sizeof(at), "%s.assert", path);
	if (!json_object_object_get_ex(v, "assert", &val))
		return refuse(ps, at, "required: what must hold");
	return parse_assert(ps, val, at, r);
}

static void rule_free(struct rule *r)
{
	free(r->id);
	free(r->doc);
	for (char **f = r->forbidden; f && *f; f++)
		free(*f);
	free(r->forbidden);
}

void cn_policy_free(struct cn_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p->name);
	free(p);
}

/* A policy's default name: its file name without directories and ".json". */
static char *name_from_origin(const char *origin)
{
	const char *base = strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin;
	char *name = xstrdup(base);
	size_t n = strlen(name);

	if (n > 5 && strcmp(name + n - 5, ".json") == 0)
		name[n - 5] = '\0';
	return name;
}

struct cn_policy *cn_policy_parse(struct json_object *doc, const char *origin, struct cn_error *err)
{
	struct parse ps = { origin, err };
	struct cn_policy *p = xcalloc(1, sizeof(*p));
	struct json_object *v;

	if (!doc || !json_object_is_type(doc, json_type_object)) {
		cn_fail(err, 0, "%s: not a policy (a JSON object with schema \"%s\")", origin, CN_POLICY_SCHEMA);
		goto fail;
	}
	json_object_object_foreach(doc, key, unused)
	{
		(void)unused;
		if (strcmp(key, "schema") && strcmp(key, "name") && strcmp(key, "rules")) {
			refuse(&ps, key, "unknown key (schema, name, rules)");
			goto fail;
		}
	}
	if (!json_object_object_get_ex(doc, "schema", &v) || !is_string(v) ||
	    strcmp(json_object_get_string(v), CN_POLICY_SCHEMA) != 0) {
		refuse(&ps, "schema", "must be \"%s\"", CN_POLICY_SCHEMA);
		goto fail;
	}
	if (json_object_object_get_ex(doc, "name", &v)) {
		if (!is_string(v) || !*json_object_get_string(v)) {
			refuse(&ps, "name", "must be a non-empty string");
			goto fail;
		}
		p->name = xstrdup(json_object_get_string(v));
	} else {
		p->name = name_from_origin(origin);
	}
	if (!json_object_object_get_ex(doc, "rules", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0) {
		refuse(&ps, "rules", "required: a non-empty list of rules");
		goto fail;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (parse_rule(&ps, p, json_object_array_get_idx(v, i), i) < 0)
			goto fail;
	return p;
fail:
	cn_policy_free(p);
	return NULL;
}

struct cn_policy *cn_policy_load(const char *path, struct cn_error *err)
{
	_cleanup_json_ struct json_object *doc = cn_json_read_file(path, err);

	return doc ? cn_policy_parse(doc, path, err) : NULL;
}

/* Generated from policy/builtin.json at build time (trace/meson.build). */
extern const char cn_policy_builtin_json[];

const char *cn_policy_builtin_text(void)
{
	return cn_policy_builtin_json;
}

struct cn_policy *cn_policy_builtin(struct cn_error *err)
{
	_cleanup_json_ struct json_object *doc = json_tokener_parse(cn_policy_builtin_json);

	if (!doc) {
		cn_fail(err, 0, "builtin policy: not JSON (the build embedded a broken policy/builtin.json)");
		return NULL;
	}
	return cn_policy_parse(doc, "builtin policy", err);
}

const char *cn_policy_name(const struct cn_policy *p)
{
	return p->name;
}

size_t cn_policy_rule_count(const struct cn_policy *p)
{
	return p->nrules;
}

/* ------------------------------------------------------------- describing creds */

static const char *const uid_names[] = { "uid", "euid", "suid", "fsuid" };
static const char *const gid_names[] = { "gid", "egid", "sgid", "fsgid" };

/* "CAP_A,CAP_B" or "40 capabilities" for a long set. */
static void caps_text(struct sb *b, uint64_t set)
{
	int n = __builtin_popcountll(set);
	char buf[16];
	bool first = true;

	if (n > 4) {
		sb_printf(b, "%d capabilities", n);
		return;
	}
	for (int c = 0; c < 64; c++)
		if (set & (1ull << c)) {
			sb_printf(b, "%s%s", first ? "" : ",", cn_cap_name(c, buf));
			first = false;
		}
}

/* What makes c hold host privilege: "suid 0, permitted 40 capabilities". */
static void privilege_text(struct sb *b, const struct cn_creds *c)
{
	size_t start = b->len;

	for (int i = 0; i < 4; i++)
		if (c->uid[i] == 0) {
			sb_item(b, start, ", ");
			sb_printf(b, "%s 0", uid_names[i]);
		}
	if (c->userns_level == 0 && c->cap_effective) {
		sb_item(b, start, ", ");
		sb_printf(b, "effective ");
		caps_text(b, c->cap_effective);
	}
	if (c->userns_level == 0 && c->cap_permitted) {
		sb_item(b, start, ", ");
		sb_printf(b, "permitted ");
		caps_text(b, c->cap_permitted);
	}
}

/* The change from a to b: "euid 65534->0, +CAP_SYS_ADMIN effective". */
static void diff_text(struct sb *b, const struct cn_creds *a, const struct cn_creds *bb)
{
	size_t start = b->len;

	for (int i = 0; i < 4; i++)
		if (a->uid[i] != bb->uid[i]) {
			if (b->len > start)
				sb_printf(b, ", ");
			sb_printf(b, "%s %u->%u", uid_names[i], a->uid[i], bb->uid[i]);
		}
	for (int i = 0; i < 4; i++)
		if (a->gid[i] != bb->gid[i]) {
			if (b->len > start)
				sb_printf(b, ", ");
			sb_printf(b, "%s %u->%u", gid_names[i], a->gid[i], bb->gid[i]);
		}
	for (int s = 0; s < NCAPSETS; s++) {
		uint64_t from = capset_of(a, s), to = capset_of(bb, s);

		if (to & ~from) {
			if (b->len > start)
				sb_printf(b, ", ");
			sb_printf(b, "+");
			caps_text(b, to & ~from);
			sb_printf(b, " %s", capset_names[s]);
		}
		if (from & ~to) {
			if (b->len > start)
				sb_printf(b, ", ");
			sb_printf(b, "-");
			caps_text(b, from & ~to);
			sb_printf(b, " %s", capset_names[s]);
		}
	}
	if (a->ngroups != bb->ngroups) {
		if (b->len > start)
			sb_printf(b, ", ");
		sb_printf(b, "groups %u->%u", a->ngroups, bb->ngroups);
	}
	if (a->no_new_privs != bb->no_new_privs) {
		if (b->len > start)
			sb_printf(b, ", ");
		sb_printf(b, "no_new_privs %d->%d", a->no_new_privs, bb->no_new_privs);
	}
	if (a->userns_level != bb->userns_level) {
		if (b->len > start)
			sb_printf(b, ", ");
		sb_printf(b, "userns level %u->%u", a->userns_level, bb->userns_level);
	}
	if (b->len == start)
		sb_printf(b, "no change");
}

/* ------------------------------------------------------------------ evaluation */

struct eval {
	const struct rule *rule;
	const struct cn_doc *t;
	struct cn_rule_result *res;
};

/* The start of every message: "PrepareConfig pid 4711 (stage1)". */
static void where_text(struct sb *b, const char *stage, int64_t pid, const char *role)
{
	if (stage)
		sb_printf(b, "%s ", stage);
	if (pid >= 0)
		sb_printf(b, "pid %lld (%s)", (long long)pid, role ? role : "unknown");
	else if (!stage)
		sb_printf(b, "launch");
}

static struct cn_violation *violation(struct eval *ev, const char *stage, int64_t pid, const char *syscall)
{
	struct cn_rule_result *r = ev->res;
	struct cn_violation *v = CN_PUSH(r->violations, r->nviolations, r->cap_violations);

	v->rule = r->id;
	v->stage = xstrdup(stage);
	v->pid = pid;
	v->role = pid >= 0 ? xstrdup(cn_doc_role(ev->t, pid)) : NULL;
	v->syscall = xstrdup(syscall);
	r->status = CN_RULE_FAILED;
	return v;
}

static struct json_object *ref(const struct cn_doc_creds *c)
{
	return c && c->have ? json_object_get(c->json) : NULL;
}

/* One piece of cred evidence: a snapshot, or the result of a transition. */
struct snap {
	uint64_t ts;
	int64_t pid;
	const char *stage;
	const char *syscall;
	char what[160]; /* "at entry", "after setresuid", ... */
	const struct cn_doc_creds *creds;
	const struct cn_doc_creds *before; /* transitions: to show the diff */
};

struct snaps {
	struct snap *s;
	size_t n, cap;
};

static void snap_add(struct snaps *ss, uint64_t ts, int64_t pid, const char *stage, const char *syscall,
		     const struct cn_doc_creds *creds, const struct cn_doc_creds *before, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static void snap_add(struct snaps *ss, uint64_t ts, int64_t pid, const char *stage, const char *syscall,
		     const struct cn_doc_creds *creds, const struct cn_doc_creds *before, const char *fmt, ...)
{
	struct snap *s;
	va_list ap;

	if (!creds || !creds->have)
		return;
	s = CN_PUSH(ss->s, ss->n, ss->cap);
	s->ts = ts;
	s->pid = pid;
	s->stage = stage;
	s->syscall = syscall;
	s->creds = creds;
	s->before = before && before->have ? before : NULL;
	va_start(ap, fmt);
	vsnprintf(s->what, sizeof(s->what), fmt, ap);
	va_end(ap);
}

static const char *tx_cause(const struct cn_doc_transition *x)
{
	if (x->syscall)
		return x->syscall;
	return x->kind ? x->kind : "a cred change";
}

static void snap_transition(struct snaps *ss, const struct cn_doc_transition *x)
{
	/* the state before counts too: evidence the trace missed the change into it */
	snap_add(ss, x->ts ? x->ts - 1 : 0, x->pid, x->stage, x->syscall, &x->before, NULL, "before %s", tx_cause(x));
	snap_add(ss, x->ts, x->pid, x->stage, x->syscall, &x->after, &x->before, "after %s", tx_cause(x));
}

/* The earliest snapshot that holds host privilege becomes the violation. */
static void host_privilege_in(struct eval *ev, struct snaps *ss, const char *stage)
{
	const struct snap *first = NULL;
	struct sb b = { 0 };
	struct cn_violation *v;

	for (size_t i = 0; i < ss->n; i++)
		if (cn_creds_host_privileged(&ss->s[i].creds->c) && (!first || ss->s[i].ts < first->ts))
			first = &ss->s[i];
	if (!first)
		return;
	v = violation(ev, stage ? stage : first->stage, first->pid, first->syscall);
	where_text(&b, v->stage, v->pid, v->role);
	sb_printf(&b, ": host privilege %s: ", first->what);
	if (first->before && !cn_creds_host_privileged(&first->before->c))
		diff_text(&b, &first->before->c, &first->creds->c);
	else
		privilege_text(&b, &first->creds->c);
	v->message = sb_take(&b);
	v->before = ref(first->before);
	v->after = ref(first->creds);
}

static void raise_in(struct eval *ev, const struct cn_doc_transition *x, const char *stage)
{
	struct sb b = { 0 };
	struct cn_violation *v;

	if (!x->raise)
		return;
	v = violation(ev, stage ? stage : x->stage, x->pid, x->syscall);
	where_text(&b, v->stage, v->pid, v->role);
	sb_printf(&b, ": raise in %s: ", tx_cause(x));
	if (x->before.have)
		diff_text(&b, &x->before.c, &x->after.c);
	else
		privilege_text(&b, &x->after.c);
	v->message = sb_take(&b);
	v->before = ref(&x->before);
	v->after = ref(&x->after);
}

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static void host_capability_in(struct eval *ev, const struct cn_doc_check *k, bool stage_known, const char *stage)
{
	const struct rule *r = ev->rule;
	struct sb b = { 0 };
	struct cn_violation *v;
	int cap;

	if (!k->granted || !k->host_ns || cn_doc_incidental(ev->t, k, stage_known, stage))
		return;
	cap = cn_cap_from_name(k->cap);
	if (r->asserts & A_NO_HOST_CAP_USE) {
		v = violation(ev, stage, k->pid, k->syscall);
		where_text(&b, v->stage, v->pid, v->role);
		sb_printf(&b, ": host capability %s used in %s (%lld granted check%s)", k->cap, k->syscall,
			  (long long)k->count, k->count == 1 ? "" : "s");
		v->message = sb_take(&b);
	}
	if ((r->asserts & A_ALLOWED_HOST_CAPS) && (cap < 0 || !(r->allowed_caps & (1ull << cap)))) {
		v = violation(ev, stage, k->pid, k->syscall);
		where_text(&b, v->stage, v->pid, v->role);
		sb_printf(&b, ": host capability %s used in %s (%lld granted check%s) is not allowed", k->cap,
			  k->syscall, (long long)k->count, k->count == 1 ? "" : "s");
		v->message = sb_take(&b);
	}
}

static void forbidden_in(struct eval *ev, const struct cn_doc_syscall *sc, size_t n, const char *stage, int64_t pid)
{
	for (size_t i = 0; i < n; i++) {
		struct sb b = { 0 };
		struct cn_violation *v;

		if (sc[i].count <= 0 || !in_list(sc[i].name, (const char *const *)ev->rule->forbidden))
			continue;
		v = violation(ev, stage, pid, sc[i].name);
		where_text(&b, v->stage, v->pid, v->role);
		sb_printf(&b, ": forbidden syscall %s made %lld time%s (%lld failed)", sc[i].name,
			  (long long)sc[i].count, sc[i].count == 1 ? "" : "s", (long long)sc[i].errors);
		v->message = sb_take(&b);
	}
}

static bool role_selected(const struct rule *r, const char *role)
{
	int k = index_of(role_names, NROLES, role);

	return !r->roles || (k >= 0 && (r->roles & (1u << k)));
}

static bool stage_selected(const struct rule *r, const struct cn_doc_unit *s)
{
	enum cn_stage st = cn_stage_from_name(s->name);

	return (r->stages & (1u << st)) && role_selected(r, s->role);
}

static void expect_id(struct sb *b, const char *const names[4], const uint32_t have[4], uint32_t want)
{
	size_t start = 0;

	for (int i = 0; i < 3; i++) /* r, e, s: fs follows e */
		if (have[i] != want) {
			sb_item(b, start, ", ");
			sb_printf(b, "%s %u (want %u)", names[i], have[i], want);
		}
}

static void final_creds_of(struct eval *ev, const struct cn_doc_unit *s)
{
	const struct final_creds *f = &ev->rule->final;
	const struct cn_doc *t = ev->t;
	struct json_object *expected = json_object_new_object();
	struct sb diff = { 0 }, b = { 0 };
	struct cn_violation *v;
	const struct cn_creds *c = &s->exit.c;

	if (!s->exit.have) {
		json_object_put(expected);
		v = violation(ev, s->name, s->pid, NULL);
		where_text(&b, v->stage, v->pid, v->role);
		sb_printf(&b, ": no final creds: the stage never returned");
		v->message = sb_take(&b);
		return;
	}
	if (f->uid.set) {
		uint32_t want = f->uid.caller ? t->caller_uid : f->uid.id;

		json_object_object_add(expected, "uid", json_object_new_int64(want));
		expect_id(&diff, uid_names, c->uid, want);
	}
	if (f->gid.set) {
		uint32_t want = f->gid.caller ? t->caller_gid : f->gid.id;

		json_object_object_add(expected, "gid", json_object_new_int64(want));
		expect_id(&diff, gid_names, c->gid, want);
	}
	if (f->caps_configured || f->caps_given) {
		uint64_t want[NCAPSETS] = { 0 };
		unsigned sets = f->caps_given;
		bool known = true;
		struct json_object *caps = json_object_new_object();
		uint32_t target = f->uid.set ? (f->uid.caller ? t->caller_uid : f->uid.id) : c->uid[0];

		if (f->caps_configured) {
			sets = (1u << NCAPSETS) - 1;
			if (t->have_configured)
				memcpy(want, t->cfg_caps, sizeof(want));
			else if (target == 0 || t->cfg_error)
				known = false; /* root's default set is the launcher's to say */
		} else {
			memcpy(want, f->caps, sizeof(want));
		}
		if (!known && t->cfg_error) {
			sb_item(&diff, 0, ", ");
			sb_printf(&diff,
				  "the configured capabilities are unknown: the launcher refused --print-config (%s) "
				  "but the launch got this far",
				  t->cfg_error);
		} else if (!known) {
			sb_item(&diff, 0, ", ");
			sb_printf(&diff, "the trace has no launch.configured and the target is root: the configured "
					 "capabilities are unknown");
		}
		for (int i = 0; known && i < NCAPSETS; i++) {
			uint64_t have = capset_of(c, i);

			if (!(sets & (1u << i)))
				continue;
			json_object_object_add(caps, capset_names[i], cn_capset_to_json(want[i]));
			if (have & ~want[i]) {
				sb_item(&diff, 0, ", ");
				sb_printf(&diff, "%s +", capset_names[i]);
				caps_text(&diff, have & ~want[i]);
			}
			if (want[i] & ~have) {
				sb_item(&diff, 0, ", ");
				sb_printf(&diff, "%s -", capset_names[i]);
				caps_text(&diff, want[i] & ~have);
			}
		}
		json_object_object_add(expected, "caps", caps);
	}
	if (f->nnp_set) {
		json_object_object_add(expected, "no_new_privs", json_object_new_boolean(f->nnp));
		if ((bool)c->no_new_privs != f->nnp) {
			sb_item(&diff, 0, ", ");
			sb_printf(&diff, "no_new_privs %d (want %d)", c->no_new_privs, f->nnp);
		}
	}
	if (!diff.len) {
		json_object_put(expected);
		return;
	}
	v = violation(ev, s->name, s->pid, NULL);
	where_text(&b, v->stage, v->pid, v->role);
	sb_printf(&b, ": final creds are not the expected ones: %s", diff.s);
	free(diff.s);
	v->message = sb_take(&b);
	v->after = ref(&s->exit);
	v->expected = expected;
}

/* scope "stages": each selected stage entry on its own. */
static void eval_stages(struct eval *ev)
{
	const struct rule *r = ev->rule;

	for (size_t i = 0; i < ev->t->nstages; i++) {
		const struct cn_doc_unit *s = &ev->t->stages[i];

		if (!stage_selected(r, s))
			continue;
		if (r->asserts & A_NO_HOST_PRIVILEGE) {
			struct snaps ss = { 0 };

			snap_add(&ss, s->start_ns, s->pid, s->name, NULL, &s->entry, NULL, "at entry");
			for (size_t j = 0; j < s->ntx; j++)
				snap_transition(&ss, &s->tx[j]);
			snap_add(&ss, s->end_ns, s->pid, s->name, NULL, &s->exit, NULL, "at exit");
			host_privilege_in(ev, &ss, s->name);
			free(ss.s);
		}
		if (r->asserts & A_NO_RAISE)
			for (size_t j = 0; j < s->ntx; j++)
				raise_in(ev, &s->tx[j], s->name);
		if (r->asserts & (A_NO_HOST_CAP_USE | A_ALLOWED_HOST_CAPS))
			for (size_t j = 0; j < s->nchecks; j++)
				host_capability_in(ev, &s->checks[j], true, s->name);
		if (r->asserts & A_FORBIDDEN_SYSCALLS)
			forbidden_in(ev, s->sc, s->nsc, s->name, s->pid);
		if (r->asserts & A_FINAL_CREDS)
			final_creds_of(ev, s);
	}
}

/* Every cred snapshot of one process, anywhere in the trace. */
static void snaps_of_process(const struct cn_doc *t, const struct cn_doc_process *p, struct snaps *ss)
{
	snap_add(ss, p->start_ns, p->pid, NULL, NULL, &p->start, NULL, "at its start");
	for (size_t i = 0; i < t->ntx; i++)
		if (t->tx[i].pid == p->pid)
			snap_transition(ss, &t->tx[i]);
	for (size_t i = 0; i < p->nexecs; i++)
		snap_add(ss, p->execs[i].ts, p->pid, NULL, "execve", &p->execs[i].creds, NULL, "after exec of %s",
			 p->execs[i].filename ? p->execs[i].filename : "?");
	for (size_t i = 0; i < t->nstages; i++) {
		const struct cn_doc_unit *s = &t->stages[i];

		if (s->pid != p->pid)
			continue;
		snap_add(ss, s->start_ns, p->pid, s->name, NULL, &s->entry, NULL, "at entry of %s", s->name);
		snap_add(ss, s->end_ns, p->pid, s->name, NULL, &s->exit, NULL, "at exit of %s", s->name);
	}
	for (size_t i = 0; i < t->nphases; i++) {
		const struct cn_doc_unit *ph = &t->phases[i];

		if (ph->pid != p->pid)
			continue;
		snap_add(ss, ph->start_ns, p->pid, NULL, NULL, &ph->entry, NULL, "at the start of phase %lld",
			 (long long)ph->id);
		snap_add(ss, ph->end_ns, p->pid, NULL, NULL, &ph->exit, NULL, "at the end of phase %lld",
			 (long long)ph->id);
	}
	snap_add(ss, p->exit_ns, p->pid, NULL, NULL, &p->exit, NULL, "at its exit");
}

/* scope "launch": every process of the launch (of the selected roles), anywhere. */
static void eval_launch(struct eval *ev)
{
	const struct rule *r = ev->rule;
	const struct cn_doc *t = ev->t;

	for (size_t i = 0; i < t->nprocs; i++) {
		const struct cn_doc_process *p = &t->procs[i];

		if (!role_selected(r, p->role))
			continue;
		if (r->asserts & A_NO_HOST_PRIVILEGE) {
			struct snaps ss = { 0 };

			snaps_of_process(t, p, &ss);
			host_privilege_in(ev, &ss, NULL);
			free(ss.s);
		}
		if (r->asserts & A_FORBIDDEN_SYSCALLS)
			forbidden_in(ev, p->sc, p->nsc, NULL, p->pid);
	}
	for (size_t i = 0; i < t->ntx; i++)
		if ((r->asserts & A_NO_RAISE) && role_selected(r, cn_doc_role(t, t->tx[i].pid)))
			raise_in(ev, &t->tx[i], NULL);
	for (size_t i = 0; i < t->nchecks; i++)
		if ((r->asserts & (A_NO_HOST_CAP_USE | A_ALLOWED_HOST_CAPS)) &&
		    role_selected(r, cn_doc_role(t, t->checks[i].pid)))
			host_capability_in(ev, &t->checks[i], t->checks[i].stage_known, t->checks[i].stage);
}

/* scope "container": the container's processes from the command's exec on. */
static void eval_container(struct eval *ev)
{
	const struct rule *r = ev->rule;
	const struct cn_doc *t = ev->t;

	for (size_t i = 0; i < t->nprocs; i++) {
		const struct cn_doc_process *p = &t->procs[i];
		struct snaps ss = { 0 };

		if (!p->container || !role_selected(r, p->role))
			continue;
		for (size_t j = 0; j < t->nphases; j++) {
			const struct cn_doc_unit *ph = &t->phases[j];

			if (!cn_doc_container_phase(t, p, ph))
				continue;
			snap_add(&ss, ph->start_ns, p->pid, NULL, NULL, &ph->entry, NULL, "at the start of %s",
				 ph->image && *ph->image ? ph->image : "the container");
			for (size_t k = 0; k < ph->ntx; k++)
				snap_transition(&ss, &ph->tx[k]);
			snap_add(&ss, ph->end_ns, p->pid, NULL, NULL, &ph->exit, NULL, "at the end of %s",
				 ph->image && *ph->image ? ph->image : "the container");
			if (r->asserts & A_NO_RAISE)
				for (size_t k = 0; k < ph->ntx; k++)
					raise_in(ev, &ph->tx[k], NULL);
			if (r->asserts & (A_NO_HOST_CAP_USE | A_ALLOWED_HOST_CAPS))
				for (size_t k = 0; k < ph->nchecks; k++)
					host_capability_in(ev, &ph->checks[k], false, NULL);
			if (r->asserts & A_FORBIDDEN_SYSCALLS)
				forbidden_in(ev, ph->sc, ph->nsc, NULL, p->pid);
		}
		snap_add(&ss, p->exit_ns, p->pid, NULL, NULL, &p->exit, NULL, "at its exit");
		if (r->asserts & A_NO_HOST_PRIVILEGE)
			host_privilege_in(ev, &ss, NULL);
		free(ss.s);
	}
}

/* What holds for the trace as a whole, whatever the scope. */
static void eval_global(struct eval *ev)
{
	const struct rule *r = ev->rule;
	const struct cn_doc *t = ev->t;
	struct sb b = { 0 };
	struct cn_violation *v;

	if (r->asserts & A_MAX_LOST_EVENTS) {
		if (t->lost > r->max_lost) {
			v = violation(ev, NULL, -1, NULL);
			sb_printf(&b, "the tracer lost %lld events (at most %lld allowed): the trace is incomplete",
				  (long long)t->lost, (long long)r->max_lost);
			v->message = sb_take(&b);
		}
		if (!t->complete) {
			v = violation(ev, NULL, -1, NULL);
			sb_printf(&b, "the trace is incomplete: not every process of the launch was seen to exit");
			v->message = sb_take(&b);
		}
	}
	if (r->asserts & A_EVERY_PROCESS_HAS_ROLE)
		for (size_t i = 0; i < t->nprocs; i++) {
			if (strcmp(t->procs[i].role, "other") != 0)
				continue;
			v = violation(ev, NULL, t->procs[i].pid, NULL);
			where_text(&b, NULL, v->pid, v->role);
			sb_printf(&b, ": %s is accounted to no role of the launch",
				  t->procs[i].comm ? t->procs[i].comm : "the process");
			v->message = sb_take(&b);
		}
	if (r->asserts & A_STAGES_RAN)
		for (int st = 1; st < CN_STAGE__COUNT; st++) {
			bool ran = false;

			if (!(r->stages_ran & (1u << st)))
				continue;
			for (size_t i = 0; i < t->nstages && !ran; i++)
				ran = cn_stage_from_name(t->stages[i].name) == (enum cn_stage)st;
			if (ran)
				continue;
			v = violation(ev, cn_stage_name((enum cn_stage)st), -1, NULL);
			sb_printf(&b, "%s never ran", cn_stage_name((enum cn_stage)st));
			v->message = sb_take(&b);
		}
}

/* Why a rule says nothing about this trace; NULL when it applies. */
static char *not_applicable(const struct rule *r, const struct cn_doc *t)
{
	int flow = index_of(flow_names, NFLOWS, t->flow);
	struct sb b = { 0 };

	if (flow < 0 || !(r->flows & (1u << flow))) {
		size_t start;

		sb_printf(&b, "the trace's flow is %s; the rule is for ", t->flow);
		start = b.len;
		for (int i = 0; i < NFLOWS; i++)
			if (r->flows & (1u << i)) {
				sb_item(&b, start, ", ");
				sb_printf(&b, "%s", flow_names[i]);
			}
		return sb_take(&b);
	}
	if (!t->stage_probes && ((r->scope & SCOPE_STAGES) || (r->asserts & A_NEEDS_STAGES))) {
		sb_printf(&b,
			  "the trace has no stage probes (a program traced with cntrace exec that is not cnlaunch)");
		return sb_take(&b);
	}
	return NULL;
}

static void eval_rule(const struct rule *r, const struct cn_doc *t, struct cn_rule_result *res)
{
	struct eval ev = { r, t, res };

	res->id = xstrdup(r->id);
	res->doc = xstrdup(r->doc);
	res->status = CN_RULE_PASSED;
	res->reason = not_applicable(r, t);
	if (res->reason) {
		res->status = CN_RULE_NOT_APPLICABLE;
		return;
	}
	if (r->scope & SCOPE_STAGES)
		eval_stages(&ev);
	if (r->scope & SCOPE_LAUNCH)
		eval_launch(&ev);
	if (r->scope & SCOPE_CONTAINER)
		eval_container(&ev);
	eval_global(&ev);
}

struct cn_check *cn_policy_check(const struct cn_policy *p, struct json_object *trace, const char *origin,
				 struct cn_error *err)
{
	struct cn_doc t;
	struct cn_check *c;

	if (cn_doc_read(trace, origin, &t, err) < 0) {
		cn_doc_free(&t);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->policy = xstrdup(p->name);
	c->trace = xstrdup(origin);
	c->flow = xstrdup(t.flow);
	c->rules = xcalloc(p->nrules, sizeof(*c->rules));
	c->nrules = p->nrules;
	for (size_t i = 0; i < p->nrules; i++) {
		eval_rule(&p->rules[i], &t, &c->rules[i]);
		switch (c->rules[i].status) {
		case CN_RULE_PASSED:
			c->passed++;
			break;
		case CN_RULE_FAILED:
			c->failed++;
			break;
		case CN_RULE_NOT_APPLICABLE:
			c->not_applicable++;
			break;
		}
	}
	cn_doc_free(&t);
	return c;
}

void cn_check_free(struct cn_check *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrules; i++) {
		struct cn_rule_result *r = &c->rules[i];

		for (size_t j = 0; j < r->nviolations; j++) {
			struct cn_violation *v = &r->violations[j];

			free(v->stage);
			free(v->role);
			free(v->syscall);
			free(v->message);
			if (v->before)
				json_object_put(v->before);
			if (v->after)
				json_object_put(v->after);
			if (v->expected)
				json_object_put(v->expected);
		}
		free(r->violations);
		free(r->reason);
		free(r->id);
		free(r->doc);
	}
	free(c->rules);
	free(c->policy);
	free(c->trace);
	free(c->flow);
	free(c);
}

/* ---------------------------------------------------------------------- output */

const char *cn_check_summary(const struct cn_check *c, char *buf, size_t size)
{
	snprintf(buf, size, "cntrace: check: %zu rules, %zu passed, %zu failed, %zu not applicable", c->nrules,
		 c->passed, c->failed, c->not_applicable);
	return buf;
}

void cn_check_print_text(FILE *f, const struct cn_check *c)
{
	char line[160];

	for (size_t i = 0; i < c->nrules; i++)
		for (size_t j = 0; j < c->rules[i].nviolations; j++)
			fprintf(f, "cntrace: VIOLATION %s: %s\n", c->rules[i].id, c->rules[i].violations[j].message);
	fprintf(f, "%s\n", cn_check_summary(c, line, sizeof(line)));
	fflush(f);
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static const char *status_name(enum cn_rule_status s)
{
	return s == CN_RULE_PASSED ? "passed" : s == CN_RULE_FAILED ? "failed" : "not_applicable";
}

struct json_object *cn_check_to_json(const struct cn_check *c)
{
	struct json_object *o = json_object_new_object();
	struct json_object *rules = json_object_new_array();
	struct json_object *sum = json_object_new_object();

	json_object_object_add(o, "schema", json_object_new_string(CN_CHECK_SCHEMA));
	json_object_object_add(o, "policy", json_object_new_string(c->policy));
	json_object_object_add(o, "trace", str_or_null(c->trace));
	json_object_object_add(o, "flow", str_or_null(c->flow));
	json_object_object_add(o, "passed", json_object_new_boolean(cn_check_passed(c)));
	json_object_object_add(sum, "rules", json_object_new_int64((int64_t)c->nrules));
	json_object_object_add(sum, "passed", json_object_new_int64((int64_t)c->passed));
	json_object_object_add(sum, "failed", json_object_new_int64((int64_t)c->failed));
	json_object_object_add(sum, "not_applicable", json_object_new_int64((int64_t)c->not_applicable));
	json_object_object_add(o, "summary", sum);
	for (size_t i = 0; i < c->nrules; i++) {
		const struct cn_rule_result *r = &c->rules[i];
		struct json_object *ro = json_object_new_object();
		struct json_object *vs = json_object_new_array();

		json_object_object_add(ro, "id", json_object_new_string(r->id));
		json_object_object_add(ro, "doc", json_object_new_string(r->doc));
		json_object_object_add(ro, "status", json_object_new_string(status_name(r->status)));
		if (r->reason)
			json_object_object_add(ro, "reason", json_object_new_string(r->reason));
		for (size_t j = 0; j < r->nviolations; j++) {
			const struct cn_violation *v = &r->violations[j];
			struct json_object *vo = json_object_new_object();

			json_object_object_add(vo, "rule", json_object_new_string(v->rule));
			json_object_object_add(vo, "stage", str_or_null(v->stage));
			json_object_object_add(vo, "pid", v->pid >= 0 ? json_object_new_int64(v->pid) : NULL);
			json_object_object_add(vo, "role", str_or_null(v->role));
			json_object_object_add(vo, "syscall", str_or_null(v->syscall));
			json_object_object_add(vo, "message", json_object_new_string(v->message));
			json_object_object_add(vo, "before", v->before ? json_object_get(v->before) : NULL);
			json_object_object_add(vo, "after", v->after ? json_object_get(v->after) : NULL);
			if (v->expected)
				json_object_object_add(vo, "expected", json_object_get(v->expected));
			json_object_array_add(vs, vo);
		}
		json_object_object_add(ro, "violations", vs);
		json_object_array_add(rules, ro);
	}
	json_object_object_add(o, "rules", rules);
	return o;
}
