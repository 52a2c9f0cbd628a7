/* SPDX-License-Identifier: Apache-2.0
 *
 * The trusted system configuration: what the administrator lets users do
 * through a setuid cnlaunch. InitConfig reads it in the privileged STAGE1 of a
 * setuid run, and trusts it only when root owns it and only root can write it.
 *
 *   # /etc/cnlaunch.conf
 *   allow setuid = yes                 # no: a setuid cnlaunch refuses to run
 *   allow fakeroot = yes               # no: --flow fakeroot is refused
 *   setuid capabilities = CAP_NET_RAW  # what --cap-add may ask for in the setuid flow
 */
#ifndef CN_SYSCONF_H
#define CN_SYSCONF_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct cn_sysconf {
	bool allow_setuid;
	bool allow_fakeroot;
	uint64_t setuid_caps;
};

/* A missing file gives the defaults: setuid and fakeroot allowed, no capabilities. */
int cn_sysconf_load(const char *path, struct cn_sysconf *sc, struct cn_error *err);

#endif
