/* SPDX-License-Identifier: Apache-2.0 */
#include "caps.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

static const char *const capset_names[CN_CAPSET__COUNT] = {
	[CN_CAPSET_EFFECTIVE] = "effective",
	[CN_CAPSET_PERMITTED] = "permitted",
	[CN_CAPSET_INHERITABLE] = "inheritable",
	[CN_CAPSET_BOUNDING] = "bounding",
	[CN_CAPSET_AMBIENT] = "ambient",
};

const char *cn_capset_name(enum cn_capset set)
{
	return (unsigned)set < CN_CAPSET__COUNT ? capset_names[set] : NULL;
}

int cn_cap_from_name(const char *name)
{
	cap_value_t cap;

	/* libcap also takes bare numbers and "all"; a config names capabilities. */
	if (strncasecmp(name, "CAP_", 4) != 0 || !isalpha((unsigned char)name[4]))
		return -1;
	if (cap_from_name(name, &cap) != 0 || cap < 0 || cap > cn_cap_last())
		return -1;
	return cap;
}

const char *cn_cap_name(int cap, char buf[CN_CAP_NAME_MAX])
{
	char *libcap_name = cap_to_name((cap_value_t)cap);

	/* libcap spells known capabilities "cap_chown" and unknown ones as a number. */
	if (libcap_name && strncmp(libcap_name, "cap_", 4) == 0) {
		size_t i;
		for (i = 0; libcap_name[i] && i < CN_CAP_NAME_MAX - 1; i++)
			buf[i] = (char)toupper((unsigned char)libcap_name[i]);
		buf[i] = '\0';
	} else {
		snprintf(buf, CN_CAP_NAME_MAX, "CAP_%d", cap);
	}
	cap_free(libcap_name);
	return buf;
}

int cn_cap_last(void)
{
	static int last = -1;

	if (last < 0) {
		/* cap_max_bits() reads /proc/sys/kernel/cap_last_cap (or probes) once. */
		last = (int)cap_max_bits() - 1;
		if (last > 63)
			last = 63;
	}
	return last;
}

uint64_t cn_caps_all(void)
{
	int last = cn_cap_last();
	return last >= 63 ? UINT64_MAX : (CN_CAP_BIT(last + 1) - 1);
}

uint64_t cn_caps_oci_default(void)
{
	return CN_CAP_BIT(CAP_CHOWN) | CN_CAP_BIT(CAP_DAC_OVERRIDE) | CN_CAP_BIT(CAP_FSETID) |
	       CN_CAP_BIT(CAP_FOWNER) | CN_CAP_BIT(CAP_MKNOD) | CN_CAP_BIT(CAP_NET_RAW) |
	       CN_CAP_BIT(CAP_SETGID) | CN_CAP_BIT(CAP_SETUID) | CN_CAP_BIT(CAP_SETFCAP) |
	       CN_CAP_BIT(CAP_SETPCAP) | CN_CAP_BIT(CAP_NET_BIND_SERVICE) | CN_CAP_BIT(CAP_SYS_CHROOT) |
	       CN_CAP_BIT(CAP_KILL) | CN_CAP_BIT(CAP_AUDIT_WRITE);
}
