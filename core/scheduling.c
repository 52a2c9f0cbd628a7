/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "scheduling.h"

#include <errno.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	int policy;
} policies[] = {
	{"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO},   {"SCHED_RR", SCHED_RR},
	{"SCHED_BATCH", SCHED_BATCH}, {"SCHED_IDLE", SCHED_IDLE},   {"SCHED_DEADLINE", 6 /* SCHED_DEADLINE */},
};

/* The uapi's values (linux/sched.h, which cannot be included beside glibc's sched.h). */
static const struct {
	const char *name;
	uint64_t flag;
} flags[] = {
	{"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},       {"SCHED_FLAG_DL_OVERRUN", 0x04},
	{"SCHED_FLAG_KEEP_POLICY", 0x08},   {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
	{"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

static const struct {
	const char *name;
	int ioclass;
} ioclasses[] = {
	{"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT}, {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE}, {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE},
};

/* The uapi's struct sched_attr (version 0): linux/sched/types.h cannot be included
 * beside glibc's sched.h either, and glibc 2.36 has no sched_setattr. */
struct sched_attr_v0 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

int cn_sched_policy_from_name(const char *name)
{
	for (size_t i = 0; i < N(policies); i++)
		if (strcasecmp(name, policies[i].name) == 0 || strcasecmp(name, policies[i].name + 6) == 0)
			return policies[i].policy;
	return -1;
}

const char *cn_sched_policy_name(int policy)
{
	for (size_t i = 0; i < N(policies); i++)
		if (policies[i].policy == policy)
			return policies[i].name;
	return "SCHED_?";
}

uint64_t cn_sched_flag_from_name(const char *name)
{
	for (size_t i = 0; i < N(flags); i++)
		if (strcmp(name, flags[i].name) == 0)
			return flags[i].flag;
	return 0;
}

const char *cn_sched_flag_name(uint64_t flag)
{
	for (size_t i = 0; i < N(flags); i++)
		if (flags[i].flag == flag)
			return flags[i].name;
	return "SCHED_FLAG_?";
}

int cn_ioprio_class_from_name(const char *name)
{
	for (size_t i = 0; i < N(ioclasses); i++)
		if (strcasecmp(name, ioclasses[i].name) == 0 || strcasecmp(name, ioclasses[i].name + 13) == 0)
			return ioclasses[i].ioclass;
	return -1;
}

const char *cn_ioprio_class_name(int ioclass)
{
	for (size_t i = 0; i < N(ioclasses); i++)
		if (ioclasses[i].ioclass == ioclass)
			return ioclasses[i].name;
	return "IOPRIO_CLASS_?";
}

int cn_apply_scheduler(const struct cn_scheduler *s, struct cn_error *err)
{
	struct sched_attr_v0 attr = {
		.size = sizeof(attr),
		.sched_policy = (uint32_t)s->policy,
		.sched_flags = s->flags,
		.sched_nice = s->nice,
		.sched_priority = s->priority,
		.sched_runtime = s->runtime,
		.sched_deadline = s->deadline,
		.sched_period = s->period,
	};

	if (!s->set)
		return 0;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return cn_fail(err, errno, "process.scheduler: sched_setattr %s priority %u nice %d",
			       cn_sched_policy_name(s->policy), s->priority, s->nice);
	return 0;
}

int cn_apply_io_priority(const struct cn_io_priority *p, struct cn_error *err)
{
	if (!p->set)
		return 0;
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(p->ioclass, p->level)) < 0)
		return cn_fail(err, errno, "process.ioPriority: ioprio_set %s level %d", cn_ioprio_class_name(p->ioclass),
			       p->level);
	return 0;
}
