/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "names.h"

#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events.h"
#include "stage.h"

static const char *const cap_names[CN_CAP_LAST + 1] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

const char *cn_cap_name(int cap, char buf[16])
{
	if (cap >= 0 && cap <= CN_CAP_LAST)
		return cap_names[cap];
	snprintf(buf, 16, "CAP_%d", cap);
	return buf;
}

int cn_cap_from_name(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int c = 0; c <= CN_CAP_LAST; c++)
		if (strcasecmp(cap_names[c] + 4, name) == 0)
			return c;
	return -1;
}

#define SYSCALL_CACHE 1024

static char *syscall_cache[SYSCALL_CACHE];
static char syscall_unknown[SYSCALL_CACHE][24];

const char *cn_syscall_name(int nr)
{
	if (nr < 0)
		return NULL;
	if (nr >= SYSCALL_CACHE) {
		static __thread char buf[24];
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		snprintf(buf, sizeof(buf), "%s", name ? name : "");
		free(name);
		if (!buf[0])
			snprintf(buf, sizeof(buf), "syscall_%d", nr);
		return buf;
	}
	if (syscall_cache[nr])
		return syscall_cache[nr];
	if (syscall_unknown[nr][0])
		return syscall_unknown[nr];
	syscall_cache[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (syscall_cache[nr])
		return syscall_cache[nr];
	snprintf(syscall_unknown[nr], sizeof(syscall_unknown[nr]), "syscall_%d", nr);
	return syscall_unknown[nr];
}

int cn_syscall_from_name(const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);

	if (nr >= 0)
		return nr;
	if (strncmp(name, "syscall_", 8) == 0)
		return atoi(name + 8);
	return -1;
}

const char *cn_arch_name(void)
{
	/* libseccomp resolves names to tokens but has no way back: ask it about each one. */
	static const char *const names[] = { "x86_64", "x86",     "x32",      "aarch64",   "arm",
					     "riscv64", "ppc64le", "ppc64",    "ppc",       "s390x",
					     "s390",    "mips64",  "mips64n32", "mips",     "mipsel64",
					     "mipsel64n32", "mipsel", "loongarch64", "parisc64", "parisc" };
	uint32_t native = seccomp_arch_native();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (seccomp_arch_resolve_name(names[i]) == native)
			return names[i];
	return "unknown";
}

const char *cn_trace_role_name(int role)
{
	if (role == CN_TR_ROLE_CONTAINER)
		return "container";
	if (role >= 0 && role < CN_ROLE__COUNT)
		return cn_role_name((enum cn_role)role);
	return "other";
}

const char *cn_seccomp_name(int mode)
{
	switch (mode) {
	case CN_SECCOMP_DISABLED:
		return "disabled";
	case CN_SECCOMP_STRICT:
		return "strict";
	case CN_SECCOMP_FILTER:
		return "filter";
	}
	return "unknown";
}

int cn_clone_ns_names(uint64_t flags, const char *names[8])
{
	static const struct {
		uint64_t flag;
		const char *name;
	} ns[] = {
		{ CLONE_NEWUSER, "CLONE_NEWUSER" }, { CLONE_NEWPID, "CLONE_NEWPID" },
		{ CLONE_NEWNS, "CLONE_NEWNS" },     { CLONE_NEWUTS, "CLONE_NEWUTS" },
		{ CLONE_NEWIPC, "CLONE_NEWIPC" },   { CLONE_NEWNET, "CLONE_NEWNET" },
		{ CLONE_NEWCGROUP, "CLONE_NEWCGROUP" }, { 0x80, "CLONE_NEWTIME" },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (flags & ns[i].flag)
			names[n++] = ns[i].name;
	return n;
}
