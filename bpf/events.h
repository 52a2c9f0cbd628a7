/* SPDX-License-Identifier: Apache-2.0
 *
 * The records the kernel side sends to user space, and the maps' layouts.
 * Shared by bpf/cntrace.bpf.c (clang -target bpf) and trace/ (gcc): fixed-size
 * types only, explicit padding, no pointers.
 *
 * Identity of where an event happened:
 *   pid/tid   the task (pid = thread group id)
 *   instance  the stage instance: a number given to every stage_enter; a task
 *             inherits its parent's at fork; 0 = outside any stage
 *   phase     a number given to every new process and every successful exec:
 *             (process, program image); what `cntrace exec` reports as phases
 */
#ifndef CNTRACE_EVENTS_H
#define CNTRACE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "stage.h"

/* Roles beyond core/stage.h's: decided by the tracer, never announced. */
#define CN_TR_ROLE_CONTAINER 7 /* a STAGE2 process after its execve, and its descendants */
#define CN_TR_ROLE_OTHER 8     /* never announced a role (any process under `cntrace exec`) */
#define CN_TR_ROLE__COUNT 9

#define CN_TR_STACK 8          /* nesting depth of stages within one task */
#define CN_TR_PATH_MAX 256
#define CN_TR_COMM 16

/* An id the seed task starts with; the kernel side counts up from CN_TR_FIRST_ID. */
#define CN_TR_SEED_PHASE 1
#define CN_TR_FIRST_ID 2

enum cn_ev_type {
	CN_EV_INIT = 1,        /* first sight of the seed task: its creds */
	CN_EV_FORK = 2,        /* a tracked task created a process or a thread */
	CN_EV_EXEC = 3,        /* successful execve: the creds after it */
	CN_EV_EXIT = 4,        /* a task exited */
	CN_EV_CRED = 5,        /* the cred pointer changed over a syscall */
	CN_EV_STAGE_ENTER = 6, /* USDT cnlaunch:stage_enter */
	CN_EV_STAGE_EXIT = 7,  /* USDT cnlaunch:stage_exit, or the STAGE2 execve */
	CN_EV_ROLE = 8,        /* USDT cnlaunch:role */
	CN_EV_SYSCALL = 9,     /* syscalls of one thread, with arguments (--syscalls full) */
	CN_EV_COUNTS = 10,     /* syscall counts a thread flushed */
	CN_EV_BOUNDARY = 11,   /* unshare, setns, pivot_root or chroot succeeded (phase detection) */
};

/* Indexes of the per-CPU loss counters. */
enum cn_loss {
	CN_LOSS_EVENTS = 0,      /* a record (lifecycle, privilege, flushed counts) did not fit the ring */
	CN_LOSS_SYSCALL_LOG = 1, /* a --syscalls full record did not fit its ring buffer */
	CN_LOSS_COUNTS = 2,      /* syscall counts that could not be kept (none today: kept for the JSON) */
	CN_LOSS_CAPS = 3,        /* the capability check map was full */
	CN_LOSS_TASKS = 4,       /* no task storage for a new task: it went untracked */
	CN_LOSS__COUNT = 5,
};

/*
 * Stages a user defines for a launcher without probes (`cntrace exec --stage
 * NAME=BINARY:SYMBOL`): a uprobe on the function's entry, whose BPF cookie is
 * the stage id. They follow the ten of core/stage.h at a distance, so that no
 * future Operations stage collides with them. trace/stages_ext.h names them.
 */
#define CN_TR_EXT_STAGE_FIRST 64
#define CN_TR_EXT_STAGE_MAX 32

/* The seccomp modes, as the kernel numbers them. */
#define CN_SECCOMP_DISABLED 0
#define CN_SECCOMP_STRICT 1
#define CN_SECCOMP_FILTER 2

/* One cred snapshot: DESIGN.md's cred object. Ids are host (init user ns) ids. */
struct cn_creds {
	__u32 uid[4]; /* r, e, s, fs */
	__u32 gid[4];
	__u64 cap_effective;
	__u64 cap_permitted;
	__u64 cap_inheritable;
	__u64 cap_bounding;
	__u64 cap_ambient;
	__u32 securebits;
	__u32 ngroups;
	__u32 userns_level; /* 0 = the host user namespace */
	__u32 userns_inum;
	__u8 no_new_privs;
	__u8 seccomp;       /* CN_SECCOMP_* */
	__u8 pad[6];
};

struct cn_ev_hdr {
	__u64 ts;       /* CLOCK_MONOTONIC ns */
	__u32 type;     /* enum cn_ev_type */
	__u32 pid;
	__u32 tid;
	__u32 instance; /* the stage instance the task was in when it caused this */
	__u32 phase;
	__s32 syscall;  /* the syscall in progress, -1 when none */
	__u8 stage;     /* enum cn_stage of `instance` */
	__u8 role;      /* enum cn_role or CN_TR_ROLE_* */
	__u8 pad[6];
};

struct cn_ev_creds { /* CN_EV_INIT, CN_EV_CRED */
	struct cn_ev_hdr h;
	__s64 ret; /* the syscall's return value (CN_EV_CRED) */
	struct cn_creds creds;
};

struct cn_ev_fork { /* header: the parent */
	struct cn_ev_hdr h;
	__u64 clone_flags;
	__u32 child_pid;
	__u32 child_tid;
	__u32 child_phase;
	__u32 pad;
	char comm[CN_TR_COMM];
	struct cn_creds creds; /* the child's */
};

struct cn_ev_exec { /* header: the new phase; syscall: execve or execveat */
	struct cn_ev_hdr h;
	__u32 old_tid;    /* the thread that called execve, when not the leader */
	__u32 old_phase;
	__u64 ino;        /* the executed file: a copy of the launcher has another inode */
	__u32 dev;
	__u32 pad;
	char comm[CN_TR_COMM];
	char filename[CN_TR_PATH_MAX];
	struct cn_creds creds;
};

struct cn_ev_exit {
	struct cn_ev_hdr h;
	__u32 exit_code;  /* the kernel's wait status: (code << 8) | signal */
	__u8 group_dead;  /* the last thread: the process is gone */
	__u8 pad[3];
	struct cn_creds creds;
};

struct cn_ev_stage { /* CN_EV_STAGE_ENTER, CN_EV_STAGE_EXIT */
	struct cn_ev_hdr h; /* instance: the stage entered / left */
	__u32 parent_instance; /* enter: the instance it nests in; exit: the one resumed */
	__s32 rc;              /* exit: the method's return (< 0: -errno) */
	__u8 stage;
	__u8 role;             /* the role argument of the probe */
	__u8 by_exec;          /* exit: closed by the STAGE2 execve, not by a probe */
	__u8 unmatched;        /* exit: no such stage was open */
	__u8 pad[4];
	struct cn_creds creds;
};

struct cn_ev_role {
	struct cn_ev_hdr h;
	__u32 role;
	__u32 flow; /* enum cn_flow the launcher announced; CN_FLOW_AUTO: not chosen yet */
};

/*
 * --syscalls full: a thread logs its syscalls in its own storage and hands
 * them over CN_TR_LOG_BATCH at a time, sooner when the oldest has waited
 * CN_TR_LOG_AGE_NS, and with its counts before its stage, phase or tid change
 * (so one header says whose they are). A ring record per syscall cost each
 * syscall ~230 ns here: the reservation, and the record's cache lines taken
 * back from the CPU that reads them.
 */
#define CN_TR_LOG_BATCH 32
#define CN_TR_LOG_AGE_NS 2000000ull

struct cn_log_ent {
	__u64 ts;       /* at the syscall's return; at its entry for no_return */
	__u64 enter_ts; /* 0: the task was seeded in the middle of this syscall */
	__u64 args[6];
	__s64 ret;
	__s32 nr;
	__u8 no_return; /* exit, exit_group: recorded at entry */
	__u8 pad[3];
};

struct cn_ev_syscall { /* header: pid, tid, stage instance and phase of every entry; syscall -1 */
	struct cn_ev_hdr h;
	__u32 n;   /* entries; the record ends after the n-th */
	__u32 pad;
	struct cn_log_ent ent[CN_TR_LOG_BATCH];
};

/*
 * A boundary a launcher crosses, seen at the exit of a syscall that succeeded
 * (the other boundaries come with records that exist anyway: namespaces made by
 * clone in CN_EV_FORK's clone_flags, execve in CN_EV_EXEC). header syscall: the
 * number.
 */
struct cn_ev_boundary {
	struct cn_ev_hdr h;
	__u64 ns_flags;  /* unshare: its flags; setns: the CLONE_NEW* joined (from the fd when nstype is 0) */
	__s32 fd;        /* setns: the fd; -1 otherwise */
	__u32 pad;
	char path[CN_TR_PATH_MAX];  /* chroot: the path; pivot_root: new_root */
	char path2[CN_TR_PATH_MAX]; /* pivot_root: put_old */
	struct cn_creds creds;      /* after the syscall */
};

/*
 * Syscall counts. Each tracked thread counts its own syscalls in its task
 * storage, in a small open-addressing table keyed by the syscall number (no
 * atomics, no shared rows: only the thread itself writes it), and flushes the
 * table to the events ring as a CN_EV_COUNTS record, keyed by (pid, stage
 * instance, phase), whenever one of the three is about to change (stage enter
 * and exit, exec, exit), when the table is full, and before an error counter
 * could wrap. User space adds the records up; what a thread still holds when
 * the trace ends is read from its task storage.
 */
#define CN_TR_COUNTS_BITS 5
#define CN_TR_COUNTS (1u << CN_TR_COUNTS_BITS) /* distinct numbers a thread holds between flushes */
#define CN_TR_PROBES 4 /* slots looked at for a number before the table is flushed */

struct cn_count_ent {
	__s32 nr;
	__u32 errors;
	__u64 count; /* 0: a free slot */
};

struct cn_ev_counts { /* header: pid, instance, phase (and stage) of the counts */
	struct cn_ev_hdr h;
	struct cn_count_ent ent[CN_TR_COUNTS]; /* the table as it was: entries with count 0 are free slots */
};

/*
 * What the kernel side keeps per tracked thread, in task storage (map "tasks"):
 * created by the fork of a tracked task (user space seeds the first one through
 * a pidfd), freed with the task. The hot fields come first.
 */
struct cn_task {
	__u64 cred;       /* the cred pointer last seen; 0 = never looked */
	__u64 clone_flags;/* from task_newtask, for the following sched_process_fork */
	__u32 pid;
	__u32 phase;
	__u32 instance;
	__u32 own_instance; /* the last stage this task entered itself */
	__u8 stage;
	__u8 role;
	__u8 depth;         /* open stages on the stack */
	__u8 own_stage;
	__u32 flags;        /* CN_TASK_* */
	__u32 counted;      /* slots of counts[] in use */
	__u32 stack_instance[CN_TR_STACK]; /* what to resume at each exit */
	__u8 stack_stage[CN_TR_STACK];
	/* --syscalls full: the syscall in flight */
	__u64 enter_ts;
	__s64 nr;
	__u64 args[6];
	/* syscall counts since the last flush: at count_slot(nr), or the next free slot after it */
	struct cn_count_ent counts[CN_TR_COUNTS];
	/* --syscalls full: what it logged since the last hand-over, sent from here as it is */
	struct cn_ev_syscall log;
};

#define CN_TASK_OWN_EXITED 0x1 /* the stage in own_instance has sent its exit */

/* Syscall counts as user space keeps them: per process, stage instance, phase and number. */
struct cn_sc_key {
	__u32 pid;
	__u32 instance;
	__u32 phase;
	__s32 nr;
};

struct cn_sc_val {
	__u64 count;
	__u64 errors;
};

#define CN_CAP_GRANTED 0x1    /* the check passed */
#define CN_CAP_HOST 0x2       /* over the initial user namespace: a host capability */
#define CN_CAP_CRED_HOST 0x4  /* the creds checked live in the initial user namespace */
#define CN_CAP_OTHER_CRED 0x8 /* checked against creds that are not the task's own */

/* Capability checks: counted per process, stage instance, phase, cap, outcome and syscall. */
struct cn_cap_key {
	__u32 pid;
	__u32 instance;
	__u32 phase;
	__s32 nr;
	__u8 cap;
	__u8 flags; /* CN_CAP_* */
	__u8 stage;
	__u8 pad;
};

struct cn_cap_val {
	__u64 count;
	__u64 first_ts;
	__u64 last_ts;
};

#endif
