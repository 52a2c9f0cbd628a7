/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "sysconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_bool(const char *value, bool *out)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
		*out = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

int cn_sysconf_load(const char *path, struct cn_sysconf *sc, struct cn_error *err)
{
	char line[1024];
	struct stat st;
	FILE *f;
	int fd, lineno = 0;

	*sc = (struct cn_sysconf){.allow_setuid = true, .allow_fakeroot = true};
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : cn_fail(err, errno, "open %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return cn_fail(err, EPERM, "%s: not trusted (it must be a regular file that root owns and only root can write)",
			       path);
	}
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return cn_fail(err, errno, "read %s", path);
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *value, *eq, *hash = strchr(line, '#');
		lineno++;
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		if (!(eq = strchr(key, '='))) {
			fclose(f);
			return cn_fail(err, 0, "%s:%d: not KEY = VALUE", path, lineno);
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		if (strcmp(key, "allow setuid") == 0) {
			if (parse_bool(value, &sc->allow_setuid) < 0) {
				fclose(f);
				return cn_fail(err, 0, "%s:%d: allow setuid: \"%s\" is not yes or no", path, lineno, value);
			}
		} else if (strcmp(key, "allow fakeroot") == 0) {
			if (parse_bool(value, &sc->allow_fakeroot) < 0) {
				fclose(f);
				return cn_fail(err, 0, "%s:%d: allow fakeroot: \"%s\" is not yes or no", path, lineno, value);
			}
		} else if (strcmp(key, "setuid capabilities") == 0) {
			char *save = NULL;
			for (char *name = strtok_r(value, " ,\t", &save); name; name = strtok_r(NULL, " ,\t", &save)) {
				int cap = cn_cap_from_name(name);
				if (cap < 0) {
					fclose(f);
					return cn_fail(err, 0, "%s:%d: unknown capability \"%s\"", path, lineno, name);
				}
				sc->setuid_caps |= CN_CAP_BIT(cap);
			}
		} else {
			fclose(f);
			return cn_fail(err, 0, "%s:%d: unknown setting \"%s\"", path, lineno, key);
		}
	}
	fclose(f);
	return 0;
}
