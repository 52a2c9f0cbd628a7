/* SPDX-License-Identifier: Apache-2.0
 *
 * The container process's CPU scheduling and I/O priority (OCI
 * process.scheduler and process.ioPriority): names, and applying them.
 */
#ifndef CN_SCHEDULING_H
#define CN_SCHEDULING_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct cn_scheduler {
	bool set;
	int policy; /* SCHED_* */
	int nice;
	uint32_t priority;
	uint64_t flags; /* SCHED_FLAG_* */
	uint64_t runtime, deadline, period; /* nanoseconds, SCHED_DEADLINE */
};

struct cn_io_priority {
	bool set;
	int ioclass; /* IOPRIO_CLASS_* */
	int level;   /* 0 (highest) .. 7 */
};

/* "SCHED_FIFO" or "fifo" (any case) -> SCHED_FIFO; -1 when unknown. */
int cn_sched_policy_from_name(const char *name);
const char *cn_sched_policy_name(int policy);
/* "SCHED_FLAG_RESET_ON_FORK" -> its bit; 0 when unknown. */
uint64_t cn_sched_flag_from_name(const char *name);
const char *cn_sched_flag_name(uint64_t flag);
/* "IOPRIO_CLASS_RT" or "rt" (any case) -> IOPRIO_CLASS_RT; -1 when unknown. */
int cn_ioprio_class_from_name(const char *name);
const char *cn_ioprio_class_name(int ioclass);

/* Apply to the calling process; errors name the OCI field and the syscall. */
int cn_apply_scheduler(const struct cn_scheduler *s, struct cn_error *err);
int cn_apply_io_priority(const struct cn_io_priority *p, struct cn_error *err);

#endif
