/* SPDX-License-Identifier: Apache-2.0 */
#include "creds.h"

#include <json-c/printbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static const char *const field_names[] = {
	"uid", "gid", "groups", "effective", "permitted", "inheritable",
	"bounding", "ambient", "securebits", "no_new_privs", "seccomp", "userns",
};

const char *cn_cred_field_name(unsigned field)
{
	for (unsigned i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (field == 1u << i)
			return field_names[i];
	return "?";
}

unsigned cn_creds_diff(const struct cn_creds *a, const struct cn_creds *b)
{
	unsigned d = 0;

	if (memcmp(a->uid, b->uid, sizeof(a->uid)))
		d |= CN_CRED_UID;
	if (memcmp(a->gid, b->gid, sizeof(a->gid)))
		d |= CN_CRED_GID;
	if (a->ngroups != b->ngroups)
		d |= CN_CRED_GROUPS;
	if (a->cap_effective != b->cap_effective)
		d |= CN_CRED_EFFECTIVE;
	if (a->cap_permitted != b->cap_permitted)
		d |= CN_CRED_PERMITTED;
	if (a->cap_inheritable != b->cap_inheritable)
		d |= CN_CRED_INHERITABLE;
	if (a->cap_bounding != b->cap_bounding)
		d |= CN_CRED_BOUNDING;
	if (a->cap_ambient != b->cap_ambient)
		d |= CN_CRED_AMBIENT;
	if (a->securebits != b->securebits)
		d |= CN_CRED_SECUREBITS;
	if (a->no_new_privs != b->no_new_privs)
		d |= CN_CRED_NO_NEW_PRIVS;
	if (a->seccomp != b->seccomp)
		d |= CN_CRED_SECCOMP;
	if (a->userns_level != b->userns_level || a->userns_inum != b->userns_inum)
		d |= CN_CRED_USERNS;
	return d;
}

static bool host_caps(const struct cn_creds *c)
{
	return c->userns_level == 0 && (c->cap_effective | c->cap_permitted) != 0;
}

bool cn_creds_host_privileged(const struct cn_creds *c)
{
	for (int i = 0; i < 4; i++)
		if (c->uid[i] == 0)
			return true;
	return host_caps(c);
}

bool cn_creds_host_raise(const struct cn_creds *before, const struct cn_creds *after)
{
	for (int i = 0; i < 4; i++)
		if (after->uid[i] == 0 && before->uid[i] != 0)
			return true;
	if (!host_caps(after))
		return false;
	if (!host_caps(before))
		return true;
	return (after->cap_effective & ~before->cap_effective) || (after->cap_permitted & ~before->cap_permitted);
}

bool cn_creds_raise(const struct cn_creds *before, const struct cn_creds *after)
{
	if (cn_creds_host_raise(before, after))
		return true;
	return (after->cap_effective & ~before->cap_effective) || (after->cap_permitted & ~before->cap_permitted) ||
	       (after->cap_inheritable & ~before->cap_inheritable) || (after->cap_ambient & ~before->cap_ambient);
}

static int capset_line(struct json_object *a, struct printbuf *pb, int level, int flags)
{
	const char *line = json_object_get_userdata(a);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, line, (int)strlen(line));
}

/*
 * A capability set is written on one line, made once with the array: forty
 * names a line each made the trace of `cntrace run -- /bin/true` 2.4 MB, and
 * writing them out again for every cred was most of what cntrace did after
 * the launch. (Without the line, json-c writes the array its own way.)
 */
struct json_object *cn_capset_to_json(uint64_t set)
{
	struct json_object *a = json_object_new_array();
	char line[CN_CAP_COUNT * 32 + 3], buf[16], *text;
	size_t n = 0;

	line[n++] = '[';
	for (int c = 0; c < CN_CAP_COUNT; c++) {
		if (!(set & (1ull << c)))
			continue;
		json_object_array_add(a, json_object_new_string(cn_cap_name(c, buf)));
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"%s\"", n > 1 ? ", " : "", cn_cap_name(c, buf));
	}
	line[n++] = ']';
	line[n] = '\0';
	text = strdup(line);
	if (text)
		json_object_set_serializer(a, capset_line, text, json_object_free_userdata);
	return a;
}

static struct json_object *ids_to_json(const uint32_t ids[4])
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < 4; i++)
		json_object_array_add(a, json_object_new_int64(ids[i]));
	return a;
}

struct json_object *cn_creds_to_json(const struct cn_creds *c)
{
	struct json_object *o = json_object_new_object();
	struct json_object *caps = json_object_new_object();

	json_object_object_add(o, "uid", ids_to_json(c->uid));
	json_object_object_add(o, "gid", ids_to_json(c->gid));
	json_object_object_add(o, "groups", json_object_new_int64(c->ngroups));
	json_object_object_add(caps, "effective", cn_capset_to_json(c->cap_effective));
	json_object_object_add(caps, "permitted", cn_capset_to_json(c->cap_permitted));
	json_object_object_add(caps, "inheritable", cn_capset_to_json(c->cap_inheritable));
	json_object_object_add(caps, "bounding", cn_capset_to_json(c->cap_bounding));
	json_object_object_add(caps, "ambient", cn_capset_to_json(c->cap_ambient));
	json_object_object_add(o, "caps", caps);
	json_object_object_add(o, "securebits", json_object_new_int64(c->securebits));
	json_object_object_add(o, "no_new_privs", json_object_new_boolean(c->no_new_privs));
	json_object_object_add(o, "seccomp", json_object_new_string(cn_seccomp_name(c->seccomp)));
	json_object_object_add(o, "userns_level", json_object_new_int64(c->userns_level));
	json_object_object_add(o, "userns", json_object_new_int64(c->userns_inum));
	json_object_object_add(o, "host_privileged", json_object_new_boolean(cn_creds_host_privileged(c)));
	return o;
}

static int ids_from_json(struct json_object *a, uint32_t ids[4])
{
	if (!a || !json_object_is_type(a, json_type_array) || json_object_array_length(a) != 4)
		return -1;
	for (int i = 0; i < 4; i++)
		ids[i] = (uint32_t)json_object_get_int64(json_object_array_get_idx(a, i));
	return 0;
}

static int capset_from_json(struct json_object *a, __u64 *set)
{
	*set = 0;
	if (!a || !json_object_is_type(a, json_type_array))
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(a, i));
		int c = name ? cn_cap_from_name(name) : -1;

		if (c < 0 && name && strncmp(name, "CAP_", 4) == 0)
			c = atoi(name + 4);
		if (c < 0 || c >= CN_CAP_COUNT)
			return -1;
		*set |= 1ull << c;
	}
	return 0;
}

int cn_creds_from_json(struct json_object *obj, struct cn_creds *c)
{
	struct json_object *v, *caps;
	const char *sc;

	memset(c, 0, sizeof(*c));
	if (!obj || !json_object_is_type(obj, json_type_object))
		return -1;
	if (!json_object_object_get_ex(obj, "uid", &v) || ids_from_json(v, c->uid) < 0)
		return -1;
	if (!json_object_object_get_ex(obj, "gid", &v) || ids_from_json(v, c->gid) < 0)
		return -1;
	if (!json_object_object_get_ex(obj, "caps", &caps))
		return -1;
	if (!json_object_object_get_ex(caps, "effective", &v) || capset_from_json(v, &c->cap_effective) < 0 ||
	    !json_object_object_get_ex(caps, "permitted", &v) || capset_from_json(v, &c->cap_permitted) < 0 ||
	    !json_object_object_get_ex(caps, "inheritable", &v) || capset_from_json(v, &c->cap_inheritable) < 0 ||
	    !json_object_object_get_ex(caps, "bounding", &v) || capset_from_json(v, &c->cap_bounding) < 0 ||
	    !json_object_object_get_ex(caps, "ambient", &v) || capset_from_json(v, &c->cap_ambient) < 0)
		return -1;
	if (json_object_object_get_ex(obj, "groups", &v))
		c->ngroups = (uint32_t)json_object_get_int64(v);
	if (json_object_object_get_ex(obj, "securebits", &v))
		c->securebits = (uint32_t)json_object_get_int64(v);
	if (json_object_object_get_ex(obj, "no_new_privs", &v))
		c->no_new_privs = json_object_get_boolean(v);
	if (json_object_object_get_ex(obj, "seccomp", &v) && (sc = json_object_get_string(v)))
		c->seccomp = strcmp(sc, "filter") == 0 ? CN_SECCOMP_FILTER
			     : strcmp(sc, "strict") == 0 ? CN_SECCOMP_STRICT
							: CN_SECCOMP_DISABLED;
	if (json_object_object_get_ex(obj, "userns_level", &v))
		c->userns_level = (uint32_t)json_object_get_int64(v);
	if (json_object_object_get_ex(obj, "userns", &v))
		c->userns_inum = (uint32_t)json_object_get_int64(v);
	return 0;
}
