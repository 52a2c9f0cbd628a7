/* SPDX-License-Identifier: Apache-2.0
 *
 * Names for what the kernel gives as numbers: capabilities, syscalls, roles,
 * seccomp modes, clone flags. Every name the JSON trace prints comes from here.
 */
#ifndef CN_TRACE_NAMES_H
#define CN_TRACE_NAMES_H

#include <stdint.h>

#define CN_CAP_COUNT 64 /* bits in a capability set; the named ones stop at CN_CAP_LAST */
#define CN_CAP_LAST 40  /* CAP_CHECKPOINT_RESTORE */

/* "CAP_SYS_ADMIN"; a capability without a name is written "CAP_<n>" into buf. */
const char *cn_cap_name(int cap, char buf[16]);
/* The number of "CAP_SYS_ADMIN" or "sys_admin" (case-insensitive), -1 when unknown. */
int cn_cap_from_name(const char *name);

/* "openat" (libseccomp, native architecture); "syscall_<n>" when unknown; NULL for nr < 0. */
const char *cn_syscall_name(int nr);
/* The number of a native syscall name, -1 when unknown. */
int cn_syscall_from_name(const char *name);

/* libseccomp's name of the architecture cntrace was built for: "x86_64", "aarch64", ... */
const char *cn_arch_name(void);

/* The JSON role names: core's for 0..6, then "container", "other". */
const char *cn_trace_role_name(int role);

/* "disabled", "strict", "filter". */
const char *cn_seccomp_name(int mode);

/* The namespace flags of a clone: "CLONE_NEWUSER", ...; the names fill names[], returns how many. */
int cn_clone_ns_names(uint64_t flags, const char *names[8]);

#endif
