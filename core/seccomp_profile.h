/* SPDX-License-Identifier: Apache-2.0
 *
 * OCI linux.seccomp -> a libseccomp filter. Compiled once in PrepareConfig to
 * refuse a bad profile before anything is set up, and again in StartProcess
 * to load it.
 */
#ifndef CN_SECCOMP_PROFILE_H
#define CN_SECCOMP_PROFILE_H

#include <json-c/json.h>
#include <seccomp.h>

#include "error.h"

/* `where` prefixes errors: "linux.seccomp" or "--seccomp FILE". */
int cn_seccomp_compile(json_object *profile, const char *where, scmp_filter_ctx *out, struct cn_error *err);
/* Read a file holding a linux.seccomp object. */
int cn_seccomp_read_file(const char *path, json_object **out, struct cn_error *err);

#endif
