/* SPDX-License-Identifier: Apache-2.0
 *
 * Every uid, gid, capability, securebits and no_new_privs move of the launch.
 * The final drop follows one order (SingularityCE's starter, DESIGN.md):
 *   bounding set -> keep-caps -> setresgid/setgroups -> setresuid ->
 *   no_new_privs (verified) -> capset -> ambient
 * and every result is read back from the kernel: a drop that a seccomp filter
 * or a kernel quirk turned into a no-op is an error, never a silent success.
 */
#ifndef CN_CREDS_H
#define CN_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps.h"
#include "error.h"

struct cn_creds_target {
	uid_t uid;
	gid_t gid;
	bool set_groups; /* false in a user namespace with setgroups denied: keep the inherited list */
	const gid_t *groups;
	size_t n_groups;
	uint64_t caps[CN_CAPSET__COUNT]; /* bounding is only ever lowered */
	bool no_new_privs;
};

/* The final drop, in the order above, then verified. */
int cn_creds_apply(const struct cn_creds_target *target, struct cn_error *err);
/* A permanent drop to uid/gid with no capabilities (groups kept as inherited). */
int cn_creds_drop_permanently(uid_t uid, gid_t gid, struct cn_error *err);
/* setuid flow: effective uid -> uid, saved uid stays 0 so the master can escalate. */
int cn_creds_set_euid(uid_t euid, struct cn_error *err);
/* Make the effective and saved ids the real ones, keeping the capabilities
 * (a process in a new user namespace that still carries the host's saved uid 0). */
int cn_creds_settle_ids(struct cn_error *err);
/* Make exactly `caps` effective (a subset of the permitted set). */
int cn_creds_set_effective(uint64_t caps, struct cn_error *err);
/* Make this process non-dumpable, and read it back: only CAP_SYS_PTRACE in its user
 * namespace then reaches its /proc/PID files, memory and fds (runc's CVE-2016-9962). */
int cn_creds_set_undumpable(struct cn_error *err);
/* Fail unless this process is non-dumpable (a cred change may have reset the flag). */
int cn_creds_check_undumpable(struct cn_error *err);
/* Read this process's five capability sets. */
int cn_creds_read_caps(uint64_t caps[CN_CAPSET__COUNT], struct cn_error *err);

#endif
