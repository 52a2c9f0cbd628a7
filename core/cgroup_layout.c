/* SPDX-License-Identifier: Apache-2.0
 *
 * Which cgroup hierarchies a process sees, from its mountinfo text alone (as
 * runc's cgroups/utils.go reads it): pure functions over buffers, so that the
 * unit tests can feed them the mountinfo of machines other than this one.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t bit;
} tracked[] = {
	{"memory", CN_CTRL_MEMORY},
	{"pids", CN_CTRL_PIDS},
	{"cpu", CN_CTRL_CPU},
};

uint32_t cn_cgroup_controller_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++)
		if (strcmp(name, tracked[i].name) == 0)
			return tracked[i].bit;
	return 0;
}

const char *cn_cgroup_controller_name(uint32_t bit)
{
	for (size_t i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++)
		if (bit == tracked[i].bit)
			return tracked[i].name;
	return "?";
}

const char *cn_cgroup_kind_name(enum cn_cgroup_kind kind)
{
	switch (kind) {
	case CN_CGROUP_LEGACY: return "legacy";
	case CN_CGROUP_HYBRID: return "hybrid";
	case CN_CGROUP_UNIFIED: return "unified";
	default: return "none";
	}
}

/* mountinfo writes space, tab, newline and backslash in paths as \ooo. */
static int unescape(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* The v1 controllers of a mount's super options ("rw,cpu,cpuacct"): everything but
 * the flags and key=value options other than name=. */
static int v1_controllers(const char *opts, struct cn_cgroup_mount *m)
{
	static const char *const flags[] = {"rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode",
					    "favordynmods", "none", "all"};
	char buf[CN_CGROUP_PATH_MAX], *save = NULL;
	size_t used = 0;

	if (snprintf(buf, sizeof(buf), "%s", opts) >= (int)sizeof(buf))
		return -1;
	for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		bool flag = false;
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			flag |= strcmp(o, flags[i]) == 0;
		if (flag || (strchr(o, '=') && strncmp(o, "name=", 5) != 0))
			continue;
		if (strncmp(o, "name=", 5) == 0)
			snprintf(m->name, sizeof(m->name), "%s", o + 5);
		m->controllers |= cn_cgroup_controller_bit(o);
		int w = snprintf(m->label + used, sizeof(m->label) - used, "%s%s", used ? "," : "", o);
		if (w < 0 || (size_t)w >= sizeof(m->label) - used)
			return -1;
		used += (size_t)w;
	}
	return used ? 0 : -1;
}

/* One line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER". */
static int parse_line(const char *line, size_t len, struct cn_cgroup_layout *out, int lineno, struct cn_error *err)
{
	char copy[4 * CN_CGROUP_PATH_MAX], *f[6], *save = NULL, *sep, *fstype, *super;
	struct cn_cgroup_mount m = {0};
	bool v2;
	int n = 0;

	if (len >= sizeof(copy))
		return cn_fail(err, 0, "mountinfo line %d: longer than %zu bytes", lineno, sizeof(copy) - 1);
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (!(sep = strstr(copy, " - ")))
		return cn_fail(err, 0, "mountinfo line %d: no \" - \" separator", lineno);
	*sep = '\0';
	fstype = strtok_r(sep + 3, " ", &save);
	strtok_r(NULL, " ", &save); /* the source */
	super = strtok_r(NULL, " ", &save);
	if (!fstype)
		return cn_fail(err, 0, "mountinfo line %d: no filesystem type", lineno);
	v2 = strcmp(fstype, "cgroup2") == 0;
	if (!v2 && strcmp(fstype, "cgroup") != 0)
		return 0;
	save = NULL;
	for (char *t = strtok_r(copy, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n < 6)
		return cn_fail(err, 0, "mountinfo line %d: %d fields before \" - \", at least 6 expected", lineno, n);
	if (unescape(f[3], strlen(f[3]), m.root, sizeof(m.root)) < 0 ||
	    unescape(f[4], strlen(f[4]), m.mountpoint, sizeof(m.mountpoint)) < 0)
		return cn_fail(err, 0, "mountinfo line %d: a cgroup mount's path is longer than %d bytes", lineno,
			       CN_CGROUP_PATH_MAX - 1);
	if (v2) {
		if (!out->has_v2) { /* the first one; later ones are bind mounts of the same tree */
			snprintf(m.label, sizeof(m.label), "0:");
			out->v2 = m;
			out->has_v2 = true;
		}
		return 0;
	}
	if (!super || v1_controllers(super, &m) < 0)
		return cn_fail(err, 0, "mountinfo line %d: cgroup mount %s names no controller", lineno, m.mountpoint);
	for (size_t i = 0; i < out->n_v1; i++)
		if (strcmp(out->v1[i].label, m.label) == 0)
			return 0; /* the same hierarchy mounted again */
	if (out->n_v1 == CN_CGROUP_MOUNTS_MAX)
		return cn_fail(err, 0, "mountinfo line %d: more than %d cgroup v1 hierarchies", lineno, CN_CGROUP_MOUNTS_MAX);
	out->v1[out->n_v1++] = m;
	return 0;
}

int cn_cgroup_layout_parse(const char *mountinfo, struct cn_cgroup_layout *out, struct cn_error *err)
{
	bool v1_controllers_seen = false;
	int lineno = 0;

	memset(out, 0, sizeof(*out));
	for (const char *line = mountinfo; *line;) {
		size_t len = strcspn(line, "\n");
		lineno++;
		if (len && parse_line(line, len, out, lineno, err) < 0)
			return -1;
		line += len + (line[len] == '\n');
	}
	for (size_t i = 0; i < out->n_v1; i++)
		v1_controllers_seen |= out->v1[i].name[0] == '\0' || out->v1[i].controllers;
	if (out->has_v2)
		out->kind = v1_controllers_seen ? CN_CGROUP_HYBRID : CN_CGROUP_UNIFIED;
	else
		out->kind = v1_controllers_seen ? CN_CGROUP_LEGACY : CN_CGROUP_NONE;
	return 0;
}

/* Whether the comma-separated sets a and b hold the same names. */
static bool same_set(const char *a, size_t alen, const char *b)
{
	size_t na = 0, nb = 0;

	for (const char *p = a; p < a + alen;) {
		size_t l = strcspn(p, ",");
		if (l > (size_t)(a + alen - p))
			l = (size_t)(a + alen - p);
		bool found = false;
		for (const char *q = b; *q;) {
			size_t k = strcspn(q, ",");
			found |= k == l && strncmp(p, q, l) == 0;
			q += k + (q[k] == ',');
		}
		if (!found)
			return false;
		na++;
		p += l + 1;
	}
	for (const char *q = b; *q; nb++)
		q += strcspn(q, ",") + (q[strcspn(q, ",")] == ',');
	return na == nb;
}

int cn_cgroup_own_path(const char *proc_cgroup, const struct cn_cgroup_mount *m, bool v2, char *out, size_t cap)
{
	for (const char *line = proc_cgroup; *line;) {
		size_t len = strcspn(line, "\n");
		const char *c1 = memchr(line, ':', len), *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;

		if (c2) {
			size_t clen = (size_t)(c2 - c1 - 1), plen = len - (size_t)(c2 + 1 - line);
			bool match = v2 ? (clen == 0 && c1 - line == 1 && line[0] == '0') : clen && same_set(c1 + 1, clen, m->label);
			if (match) {
				if (plen + 1 > cap)
					return -1;
				memcpy(out, c2 + 1, plen);
				out[plen] = '\0';
				return 0;
			}
		}
		line += len + (line[len] == '\n');
	}
	return -1;
}

const char *cn_cgroup_below(const char *path, const char *base)
{
	size_t n = strcmp(base, "/") == 0 ? 0 : strlen(base);

	if (strncmp(path, base, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return NULL;
	return path + n + (strcmp(path, "/") == 0);
}

int cn_cgroup_dir_of(const struct cn_cgroup_mount *m, const char *path, char *out, size_t cap)
{
	const char *rest = cn_cgroup_below(path, m->root);
	int w;

	if (!rest)
		return -1;
	w = snprintf(out, cap, "%s%s", m->mountpoint, rest);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}
