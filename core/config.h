/* SPDX-License-Identifier: Apache-2.0
 *
 * The container's configuration: the subset of the OCI runtime spec's
 * config.json that cnlaunch implements, parsed with json-c. Every error names
 * the JSON path ("process.capabilities.bounding[2]: unknown capability ...").
 *
 * The same document travels from STAGE1 to the master: PrepareConfig writes the
 * final configuration with cn_config_to_json() and the master parses it again,
 * so there is one parser and one validator for both.
 */
#ifndef CN_CONFIG_H
#define CN_CONFIG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps.h"
#include "error.h"
#include "scheduling.h"

#define CN_CONFIG_MAX_BYTES (16u << 20) /* a config.json larger than this is refused */

struct cn_strv {
	char **v;
	size_t n;
};

struct cn_mount {
	char *destination; /* absolute path inside the container */
	char *type;        /* "bind" (or "none" with a bind option) for bind mounts, else a filesystem */
	char *source;      /* a host path for bind mounts */
	struct cn_strv options;
};

struct cn_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct cn_id_map {
	uint32_t container_id, host_id, size;
};

/* linux.resources: the limits cnlaunch puts on the container's cgroups. As runc
 * reads them, 0 is "not set"; -1 is "unlimited" where the spec allows it. */
struct cn_resources {
	int64_t memory_limit; /* memory.limit, bytes */
	int64_t pids_limit;   /* pids.limit */
	int64_t cpu_quota;    /* cpu.quota, microseconds a period */
	uint64_t cpu_period;  /* cpu.period, microseconds */
	uint64_t cpu_shares;  /* cpu.shares, 2 to 262144 (a v2 cgroup gets the matching cpu.weight) */
};

struct cn_config {
	/* process */
	struct cn_strv args, env;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	bool user_configured; /* false: the flow's default target user */
	uint64_t caps[CN_CAPSET__COUNT];
	bool caps_configured; /* false: the default sets for the target user */
	bool no_new_privs;
	struct cn_rlimit *rlimits;
	size_t n_rlimits;
	bool terminal;                          /* a pty is the process's stdio and controlling terminal */
	uint32_t console_height, console_width; /* 0: the caller's terminal size, else the kernel's */
	bool umask_set;                         /* false: 0022, as runc */
	uint32_t umask;
	struct cn_scheduler scheduler;
	struct cn_io_priority io_priority;
	/* root */
	char *root_path; /* absolute once parsed */
	bool root_readonly;
	char *hostname;  /* NULL: keep the copy of the host's */
	struct cn_mount *mounts;
	size_t n_mounts;
	/* linux */
	int namespaces; /* CLONE_NEW* flags */
	struct cn_id_map *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	json_object *seccomp; /* linux.seccomp as given, compiled by seccomp.c; NULL for none */
	struct cn_strv masked_paths, readonly_paths;
	struct cn_resources resources;
	char *cgroups_path; /* linux.cgroupsPath; NULL: cnlaunch-<launch pid> beneath the launcher's own cgroup */
};

/* The defaults of a launch without config.json, like `runc spec` (rootless: no
 * devpts gid and /sys bound from the host, as an unprivileged mount needs). */
int cn_config_init_default(struct cn_config *cfg, bool rootless, struct cn_error *err);
/* Parse a config.json text; root.path is resolved against bundle_dir when relative. */
int cn_config_parse(struct cn_config *cfg, const char *text, const char *bundle_dir, struct cn_error *err);
/* A JSON object from text, or NULL with "malformed JSON at byte N: why". */
json_object *cn_json_parse(const char *text, struct cn_error *err);
/* A whole regular text file of at most max bytes (malloc'd), read with this process's credentials. */
char *cn_read_text_file(const char *path, size_t max, struct cn_error *err);
/* Write text to an existing file in one write(), as kernel interface files (/proc, cgroupfs) want it. */
int cn_write_file(const char *path, const char *text, struct cn_error *err);
/* Read DIR/config.json (as the calling process's credentials allow) and parse it. */
int cn_config_load_bundle(struct cn_config *cfg, const char *bundle_dir, struct cn_error *err);
/* The configuration as a config.json text (malloc'd). */
char *cn_config_to_json(const struct cn_config *cfg, struct cn_error *err);
void cn_config_free(struct cn_config *cfg);

/* Whether any limit is set. */
bool cn_resources_set(const struct cn_resources *r);
/* Why a cgroups path (linux.cgroupsPath, --cgroup-path) is unusable, or NULL when it is fine:
 * absolute or relative, with no empty, "." or ".." component. */
const char *cn_cgroups_path_problem(const char *path);

/* "RLIMIT_NOFILE" or "nofile" (any case) -> RLIMIT_NOFILE; -1 when unknown. */
int cn_rlimit_from_name(const char *name);
const char *cn_rlimit_name(int resource);

/* A decimal number 0..max, digits only (no sign, no space, no suffix). */
int cn_parse_u32(const char *s, uint32_t max, uint32_t *out);

int cn_strv_push(struct cn_strv *sv, const char *s);
void cn_strv_free(struct cn_strv *sv);

#endif
