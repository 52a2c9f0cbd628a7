/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "stages_ext.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stage.h"

/* The set the JSON writer names stages from: one trace per cntrace process. */
static const struct cn_ext_stages *in_use;

/* ---- the spec ---- */

static bool name_ok(const char *name, size_t len)
{
	if (len == 0 || len >= CN_EXT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

int cn_ext_stage_parse(struct cn_ext_stages *set, const char *spec, struct cn_error *err)
{
	const char *eq = strchr(spec, '=');
	const char *colon = eq ? strrchr(eq + 1, ':') : NULL; /* a path may hold ':', a symbol does not */
	struct cn_ext_stage *s;
	char *copy;
	size_t len;

	if (!eq || !colon || colon == eq + 1 || !colon[1])
		return cn_fail(err, 0, "--stage \"%s\": not NAME=BINARY:SYMBOL", spec);
	len = (size_t)(eq - spec);
	if (!name_ok(spec, len))
		return cn_fail(err, 0, "--stage \"%s\": a stage name is 1 to %d letters, digits, '_', '-' or '.'", spec,
			       CN_EXT_NAME_MAX - 1);
	if (set->n >= CN_TR_EXT_STAGE_MAX)
		return cn_fail(err, 0, "--stage \"%s\": at most %d stages", spec, CN_TR_EXT_STAGE_MAX);
	s = &set->v[set->n];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, spec, len);
	/* a name that means something else in a trace would be read as that */
	if (cn_stage_from_name(s->name) != CN_STAGE_NONE || strcmp(s->name, "container") == 0)
		return cn_fail(err, 0, "--stage \"%s\": \"%s\" is a name cntrace gives (one of the ten stages, or container)",
			       spec, s->name);
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, s->name) == 0)
			return cn_fail(err, 0, "--stage \"%s\": stage \"%s\" is defined twice", spec, s->name);
	copy = strdup(eq + 1);
	if (!copy)
		return cn_fail(err, ENOMEM, "--stage \"%s\"", spec);
	copy[colon - (eq + 1)] = '\0';
	s->spec = spec;
	s->binary = copy;
	s->symbol = copy + (colon - (eq + 1)) + 1;
	s->id = (uint8_t)(CN_TR_EXT_STAGE_FIRST + set->n);
	set->copies[set->n++] = copy;
	return 0;
}

void cn_ext_stages_clear(struct cn_ext_stages *set)
{
	if (in_use == set)
		in_use = NULL;
	for (size_t i = 0; i < set->n; i++)
		free(set->copies[i]);
	set->n = 0;
}

/* ---- the trace ---- */

void cn_ext_stages_use(const struct cn_ext_stages *set)
{
	in_use = set;
}

static const struct cn_ext_stage *find(int stage)
{
	if (!in_use || stage < CN_TR_EXT_STAGE_FIRST || (size_t)(stage - CN_TR_EXT_STAGE_FIRST) >= in_use->n)
		return NULL;
	return &in_use->v[stage - CN_TR_EXT_STAGE_FIRST];
}

const char *cn_ext_stage_name(int stage)
{
	const struct cn_ext_stage *s = find(stage);

	return s ? s->name : NULL;
}

static void describe(struct json_object *o, const struct cn_ext_stage *s)
{
	json_object_object_add(o, "binary", json_object_new_string(s->path));
	json_object_object_add(o, "symbol", json_object_new_string(s->symbol));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)s->offset));
}

void cn_ext_stage_describe(struct json_object *o, int stage)
{
	const struct cn_ext_stage *s = find(stage);

	if (s)
		describe(o, s);
}

struct json_object *cn_ext_stages_json(void)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; in_use && i < in_use->n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(in_use->v[i].name));
		describe(o, &in_use->v[i]);
		json_object_array_add(a, o);
	}
	return a;
}
