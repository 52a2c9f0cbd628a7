/* SPDX-License-Identifier: Apache-2.0
 *
 * Capability names and sets. A set is a bit mask indexed by capability number
 * (the kernel has 41 today; 64 bits leave room for what comes).
 */
#ifndef CN_CAPS_H
#define CN_CAPS_H

#include <stdint.h>

enum cn_capset {
	CN_CAPSET_EFFECTIVE,
	CN_CAPSET_PERMITTED,
	CN_CAPSET_INHERITABLE,
	CN_CAPSET_BOUNDING,
	CN_CAPSET_AMBIENT,
	CN_CAPSET__COUNT,
};

#define CN_CAP_BIT(cap) (UINT64_C(1) << (cap))
#define CN_CAP_NAME_MAX 32

/* The set's name as OCI's process.capabilities spells it: "effective", ... */
const char *cn_capset_name(enum cn_capset set);
/* "CAP_SYS_ADMIN" (any case) -> 21; -1 for a name this kernel's libcap does not know. */
int cn_cap_from_name(const char *name);
/* 21 -> "CAP_SYS_ADMIN" in buf; an unnamed number becomes "CAP_41". */
const char *cn_cap_name(int cap, char buf[CN_CAP_NAME_MAX]);
/* The highest capability number the running kernel supports. */
int cn_cap_last(void);
/* Every capability the running kernel supports. */
uint64_t cn_caps_all(void);
/* The default set OCI runtimes give a root container process. */
uint64_t cn_caps_oci_default(void);

#endif
