/* SPDX-License-Identifier: Apache-2.0
 *
 * What a cred snapshot means: equality, the fields a change touched, whether a
 * process holds host privilege, whether a change is a raise. DESIGN.md's
 * definitions, in one place, for the model, the summary and the checker.
 */
#ifndef CN_TRACE_CREDS_H
#define CN_TRACE_CREDS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "events.h"

/* The fields of a cred snapshot, as bits of a diff. */
enum cn_cred_field {
	CN_CRED_UID = 1 << 0,
	CN_CRED_GID = 1 << 1,
	CN_CRED_GROUPS = 1 << 2,
	CN_CRED_EFFECTIVE = 1 << 3,
	CN_CRED_PERMITTED = 1 << 4,
	CN_CRED_INHERITABLE = 1 << 5,
	CN_CRED_BOUNDING = 1 << 6,
	CN_CRED_AMBIENT = 1 << 7,
	CN_CRED_SECUREBITS = 1 << 8,
	CN_CRED_NO_NEW_PRIVS = 1 << 9,
	CN_CRED_SECCOMP = 1 << 10,
	CN_CRED_USERNS = 1 << 11,
	CN_CRED__ALL = (1 << 12) - 1,
};

/* The fields that differ, as CN_CRED_* bits; 0 when the snapshots are equal. */
unsigned cn_creds_diff(const struct cn_creds *a, const struct cn_creds *b);
/* "uid", "effective", ... for one CN_CRED_* bit. */
const char *cn_cred_field_name(unsigned field);

/* Any host uid is 0, or a non-empty effective or permitted set in the host user namespace. */
bool cn_creds_host_privileged(const struct cn_creds *c);
/* after adds host privilege that before lacked: a host uid becomes 0, or host caps appear. */
bool cn_creds_host_raise(const struct cn_creds *before, const struct cn_creds *after);
/* A host raise, or capabilities added to the effective, permitted, inheritable or ambient set. */
bool cn_creds_raise(const struct cn_creds *before, const struct cn_creds *after);

/* The cred object of the JSON contract. */
struct json_object *cn_creds_to_json(const struct cn_creds *c);
/* A list of "CAP_*" names for a set. */
struct json_object *cn_capset_to_json(uint64_t set);
/* The inverse, for `cntrace report`; -1 when obj is not a cred object. */
int cn_creds_from_json(struct json_object *obj, struct cn_creds *c);

#endif
