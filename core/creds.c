/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "creds.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Raw capget/capset: the sets are bit masks here, as the kernel keeps them. */
static int capget_masks(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int capset_masks(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {
		{(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
		{(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)},
	};

	return (int)syscall(SYS_capset, &h, d);
}

int cn_creds_read_caps(uint64_t caps[CN_CAPSET__COUNT], struct cn_error *err)
{
	int last = cn_cap_last();

	if (capget_masks(&caps[CN_CAPSET_EFFECTIVE], &caps[CN_CAPSET_PERMITTED], &caps[CN_CAPSET_INHERITABLE]) < 0)
		return cn_fail(err, errno, "capget");
	caps[CN_CAPSET_BOUNDING] = caps[CN_CAPSET_AMBIENT] = 0;
	for (int cap = 0; cap <= last; cap++) {
		int b = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		int a = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
		if (b < 0 || a < 0)
			return cn_fail(err, errno, "prctl(%s, %d)", b < 0 ? "PR_CAPBSET_READ" : "PR_CAP_AMBIENT_IS_SET", cap);
		if (b)
			caps[CN_CAPSET_BOUNDING] |= CN_CAP_BIT(cap);
		if (a)
			caps[CN_CAPSET_AMBIENT] |= CN_CAP_BIT(cap);
	}
	return 0;
}

static int drop_bounding(uint64_t keep, struct cn_error *err)
{
	int last = cn_cap_last();
	char name[CN_CAP_NAME_MAX];

	for (int cap = 0; cap <= last; cap++) {
		if (keep & CN_CAP_BIT(cap))
			continue;
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in > 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return cn_fail(err, errno, "prctl(PR_CAPBSET_DROP, %s)", cn_cap_name(cap, name));
	}
	return 0;
}

static int set_ambient(uint64_t ambient, struct cn_error *err)
{
	int last = cn_cap_last();
	char name[CN_CAP_NAME_MAX];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return cn_fail(err, errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
	for (int cap = 0; cap <= last; cap++)
		if ((ambient & CN_CAP_BIT(cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return cn_fail(err, errno, "prctl(PR_CAP_AMBIENT_RAISE, %s)", cn_cap_name(cap, name));
	return 0;
}

static int describe_caps_mismatch(const char *set, uint64_t got, uint64_t want, struct cn_error *err)
{
	char name[CN_CAP_NAME_MAX];
	uint64_t extra = got & ~want, missing = want & ~got;
	int cap = __builtin_ctzll(extra ? extra : missing);

	return cn_fail(err, 0, "verify %s capabilities: %s is %s", set, cn_cap_name(cap, name),
		       extra ? "still set" : "missing");
}

static int verify(const struct cn_creds_target *t, uint64_t want_bounding, struct cn_error *err)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	uint64_t caps[CN_CAPSET__COUNT];

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return cn_fail(err, errno, "getresuid");
	if (r != t->uid || e != t->uid || s != t->uid)
		return cn_fail(err, 0, "verify uids: r/e/s are %u/%u/%u, %u expected", r, e, s, t->uid);
	if (rg != t->gid || eg != t->gid || sg != t->gid)
		return cn_fail(err, 0, "verify gids: r/e/s are %u/%u/%u, %u expected", rg, eg, sg, t->gid);
	if (setfsuid((uid_t)-1) != (int)t->uid || setfsgid((gid_t)-1) != (int)t->gid)
		return cn_fail(err, 0, "verify fsuid/fsgid: not %u/%u", t->uid, t->gid);
	if (t->set_groups) {
		gid_t groups[NGROUPS_MAX];
		int n = getgroups(NGROUPS_MAX, groups);
		if (n < 0)
			return cn_fail(err, errno, "getgroups");
		if ((size_t)n != t->n_groups || (n && memcmp(groups, t->groups, t->n_groups * sizeof(gid_t)) != 0))
			return cn_fail(err, 0, "verify groups: %d supplementary groups, %zu expected", n, t->n_groups);
	}
	if (cn_creds_read_caps(caps, err) < 0)
		return -1;
	for (int set = 0; set < CN_CAPSET__COUNT; set++) {
		uint64_t want = set == CN_CAPSET_BOUNDING ? want_bounding : t->caps[set];
		if (caps[set] != want)
			return describe_caps_mismatch(cn_capset_name(set), caps[set], want, err);
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != (int)t->no_new_privs)
		return cn_fail(err, 0, "verify no_new_privs: not %d", t->no_new_privs);
	return 0;
}

int cn_creds_apply(const struct cn_creds_target *t, struct cn_error *err)
{
	uint64_t before[CN_CAPSET__COUNT];

	/* The bounding set is only ever lowered: what was never in it stays out. */
	if (cn_creds_read_caps(before, err) < 0)
		return -1;
	if (drop_bounding(t->caps[CN_CAPSET_BOUNDING], err) < 0)
		return -1;
	/* Keep the permitted set across setresuid() to a non-zero uid; capset() trims it next. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return cn_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setresgid(t->gid, t->gid, t->gid) < 0)
		return cn_fail(err, errno, "setresgid(%u)", t->gid);
	if (t->set_groups && setgroups(t->n_groups, t->groups) < 0)
		return cn_fail(err, errno, "setgroups(%zu groups)", t->n_groups);
	if (setresuid(t->uid, t->uid, t->uid) < 0)
		return cn_fail(err, errno, "setresuid(%u)", t->uid);
	if (t->no_new_privs) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return cn_fail(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			return cn_fail(err, 0, "no_new_privs did not stick");
	}
	if (capset_masks(t->caps[CN_CAPSET_EFFECTIVE], t->caps[CN_CAPSET_PERMITTED], t->caps[CN_CAPSET_INHERITABLE]) < 0)
		return cn_fail(err, errno, "capset");
	if (set_ambient(t->caps[CN_CAPSET_AMBIENT], err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return cn_fail(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
	return verify(t, before[CN_CAPSET_BOUNDING] & t->caps[CN_CAPSET_BOUNDING], err);
}

int cn_creds_drop_permanently(uid_t uid, gid_t gid, struct cn_error *err)
{
	/* The bounding set stays as it is: lowering it needs CAP_SETPCAP, which an
	 * unprivileged caller lacks, and an empty permitted set makes it moot. */
	struct cn_creds_target t = {.uid = uid, .gid = gid, .caps[CN_CAPSET_BOUNDING] = UINT64_MAX};

	return cn_creds_apply(&t, err);
}

int cn_creds_set_euid(uid_t euid, struct cn_error *err)
{
	if (setresuid((uid_t)-1, euid, (uid_t)-1) < 0)
		return cn_fail(err, errno, "setresuid(-1, %u, -1)", euid);
	if (geteuid() != euid)
		return cn_fail(err, 0, "verify euid: %u, %u expected", geteuid(), euid);
	return 0;
}

int cn_creds_settle_ids(struct cn_error *err)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	uid_t r, e, s;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return cn_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setresgid(gid, gid, gid) < 0)
		return cn_fail(err, errno, "setresgid(%u)", gid);
	if (setresuid(uid, uid, uid) < 0)
		return cn_fail(err, errno, "setresuid(%u)", uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return cn_fail(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
	if (getresuid(&r, &e, &s) < 0 || e != uid || s != uid)
		return cn_fail(err, 0, "verify uids: r/e/s are %u/%u/%u, %u expected", r, e, s, uid);
	return 0;
}

int cn_creds_set_effective(uint64_t caps, struct cn_error *err)
{
	uint64_t eff, prm, inh;

	if (capget_masks(&eff, &prm, &inh) < 0)
		return cn_fail(err, errno, "capget");
	if (caps & ~prm)
		return cn_fail(err, 0, "raise capabilities %#llx: not permitted", (unsigned long long)(caps & ~prm));
	if (capset_masks(caps, prm, inh) < 0)
		return cn_fail(err, errno, "capset");
	return 0;
}

int cn_creds_set_undumpable(struct cn_error *err)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return cn_fail(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
	return cn_creds_check_undumpable(err);
}

int cn_creds_check_undumpable(struct cn_error *err)
{
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

	if (dumpable != 0)
		return cn_fail(err, dumpable < 0 ? errno : 0, "verify dumpable: %d, 0 expected", dumpable);
	return 0;
}
