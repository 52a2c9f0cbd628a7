/* SPDX-License-Identifier: Apache-2.0
 *
 * The Trace model: what one traced launch did, built from the kernel side's
 * records (bpf/events.h). Pure logic: no BPF, no syscalls (but for the full
 * syscall log, which may go to a spool file, trace/spool.h), so the unit tests
 * feed it synthetic records.
 *
 *   processes     one per thread group: roles, execs, exit, creds at start/exit
 *   stages        one per stage instance (a stage_enter): entry/exit creds
 *   phases        one per (process, program image): what `cntrace exec` shows
 *   transitions   every cred change, with its syscall, stage and phase
 *   cap_checks    capability checks, counted per (pid, stage, phase, cap, outcome, syscall)
 *   counts        syscalls per (pid, stage instance, phase, number), as the threads flushed them
 */
#ifndef CN_TRACE_MODEL_H
#define CN_TRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define CN_TR_MAX_ROLES 8

struct cn_tr_exec {
	uint64_t ts;
	uint32_t phase;
	uint32_t tid;
	int32_t syscall;
	uint64_t ino;
	uint32_t dev;
	char comm[CN_TR_COMM];
	char filename[CN_TR_PATH_MAX];
	struct cn_creds creds;
};

struct cn_tr_process {
	uint32_t pid;
	uint32_t ppid;
	uint32_t parent_tid;
	uint64_t start_ns;
	uint64_t exit_ns;
	bool exited;
	uint32_t wait_status; /* the kernel's exit code: (code << 8) | signal */
	uint8_t role;
	uint8_t nroles;
	uint8_t roles[CN_TR_MAX_ROLES]; /* each role it announced, in order */
	uint64_t clone_flags;
	int32_t clone_syscall;
	uint32_t start_instance; /* the stage it was born in (inherited) */
	uint32_t threads;        /* threads created besides the first */
	char comm[CN_TR_COMM];
	bool have_start_creds, have_exit_creds;
	struct cn_creds start_creds, exit_creds;
	struct cn_tr_exec *execs;
	size_t nexecs, cap_execs;
};

struct cn_tr_stage {
	uint32_t instance;
	uint32_t parent_instance;
	uint8_t stage; /* enum cn_stage */
	uint8_t role;
	uint32_t pid, tid;
	uint64_t enter_ns, exit_ns;
	bool exited, by_exec;
	int32_t rc;
	bool have_exit_creds;
	struct cn_creds entry, exit;
};

struct cn_tr_phase {
	uint32_t id;
	uint32_t pid;
	uint32_t parent_phase; /* the phase it forked from or exec'd out of; 0 for the first */
	uint64_t start_ns, end_ns;
	bool ended;
	bool forked;           /* began at a fork (the parent's image), not at an exec */
	char image[CN_TR_PATH_MAX];
	bool have_exit_creds;
	struct cn_creds entry, exit;
};

enum cn_tr_transition_kind {
	CN_TR_SYSCALL = 0, /* a syscall committed new creds */
	CN_TR_EXEC = 1,    /* execve: setuid/setgid bits, file caps, the capability rules of exec */
	CN_TR_CLONE = 2,   /* the child of a clone started with other creds (a new user namespace) */
};

struct cn_tr_transition {
	uint64_t ts;
	uint32_t pid, tid;
	uint32_t instance, phase;
	uint8_t stage;
	uint8_t kind; /* enum cn_tr_transition_kind */
	int32_t syscall;
	int64_t ret;
	bool before_known;
	unsigned changes; /* CN_CRED_* */
	bool raise, host_raise;
	struct cn_creds before, after;
};

struct cn_tr_cap_check {
	struct cn_cap_key key;
	struct cn_cap_val val;
};

struct cn_tr_count {
	struct cn_sc_key key;
	struct cn_sc_val val;
};

struct cn_tr_syscall {
	uint64_t ts, enter_ts;
	uint32_t pid, tid, instance, phase;
	uint8_t stage;
	bool no_return;
	int32_t nr;
	int64_t ret;
	uint64_t args[6];
};

/* The log's order, for qsort: by time, then thread. */
int cn_tr_syscall_cmp(const void *a, const void *b);

/* A boundary syscall that succeeded (unshare, setns, pivot_root, chroot): trace/phase_detect.h reads them. */
struct cn_tr_boundary {
	struct cn_ev_hdr h; /* when, who, in which stage and phase, which syscall */
	uint64_t ns_flags; /* CLONE_NEW* made (unshare) or joined (setns) */
	int32_t fd;        /* setns: the fd given; -1 otherwise */
	char path[CN_TR_PATH_MAX];  /* chroot: the path; pivot_root: new_root */
	char path2[CN_TR_PATH_MAX]; /* pivot_root: put_old */
	struct cn_creds creds;      /* after it */
};

struct cn_tr_thread; /* last known creds per tid: private to model.c */

struct cn_trace {
	/* what was launched: filled by the tracer, echoed in "launch" */
	const char *mode;   /* "run" or "exec" */
	const char *flow;   /* the --flow asked for; NULL or "auto": inferred */
	int announced_flow; /* enum cn_flow the launcher's probes announced; CN_FLOW_AUTO: none */
	const char *launcher;
	char *const *argv;
	uint32_t caller_uid, caller_gid; /* who ran the launch (the --as user when given) */
	uint32_t tracer_uid, tracer_gid; /* who ran cntrace */
	bool as_user;
	uint32_t as_uid, as_gid;
	uint32_t root_pid;
	int exit_status;    /* the root's wait status, -1 while unknown */
	uint64_t start_ns, end_ns;
	uint64_t startup_ns; /* open -> load -> attach -> release */
	bool full_syscalls;
	bool usdt_attached;
	bool core_btf; /* CO-RE against the build's cut of this kernel's BTF (trace/core_btf.h) */
	bool usdt_multi; /* the stage probes on uprobe-multi links (trace/usdt.h) */
	bool complete;       /* every tracked process was seen to exit */

	uint64_t events;     /* ring-buffer records received */
	uint64_t losses[CN_LOSS__COUNT];
	uint64_t bad_records; /* records too short or of an unknown type */
	uint64_t unmatched_exits;
	int live;            /* tracked processes not yet seen to exit */

	struct cn_tr_process *procs;
	size_t nprocs, cap_procs;
	struct cn_tr_stage *stages;
	size_t nstages, cap_stages;
	struct cn_tr_phase *phases;
	size_t nphases, cap_phases;
	struct cn_tr_transition *transitions;
	size_t ntransitions, cap_transitions;
	struct cn_tr_cap_check *cap_checks;
	size_t ncap_checks, cap_cap_checks;
	struct cn_tr_count *counts;
	size_t ncounts, cap_counts;
	struct cn_tr_boundary *boundaries; /* in the order they came */
	size_t nboundaries, cap_boundaries;
	struct cn_tr_syscall *syscalls; /* the --syscalls full log, when it is kept in memory */
	size_t nsyscalls, cap_syscalls;
	struct cn_spool *log; /* set: the log goes there instead, as it comes (owned; trace/spool.h) */
	bool drop_log;        /* set: nothing will write the log out (no -o): it is not kept */

	struct cn_tr_thread *threads;
	size_t nthreads, cap_threads;
};

/* An empty model for a launch whose first process is root_pid (seeded with phase CN_TR_SEED_PHASE). */
struct cn_trace *cn_trace_new(uint32_t root_pid, uint8_t root_role, uint64_t start_ns);
void cn_trace_free(struct cn_trace *tr);

/* One ring-buffer record; returns -1 (and counts it in bad_records) when it is malformed. */
int cn_trace_add_event(struct cn_trace *tr, const void *data, size_t size);
/* One row of syscall counts (an entry of a CN_EV_COUNTS record, or what a thread still held when
 * the trace ended); rows with the same key add up (cn_trace_finish merges them). */
void cn_trace_add_count(struct cn_trace *tr, const struct cn_sc_key *key, const struct cn_sc_val *val);
/* Logged syscalls of one thread under header h (a CN_EV_SYSCALL record's, or one made for what a
 * thread still held when the trace ended). */
void cn_trace_add_logged(struct cn_trace *tr, const struct cn_ev_hdr *h, const struct cn_log_ent *ent, uint32_t n);
/* One entry of the capability check map. */
void cn_trace_add_cap_check(struct cn_trace *tr, const struct cn_cap_key *key, const struct cn_cap_val *val);
/* Sort what the maps gave (their order is the hash's) so the output is stable. */
void cn_trace_finish(struct cn_trace *tr);

/* The i-th thread not seen to exit (the tracer reads what it has not flushed); false past the last. */
bool cn_trace_live_thread(const struct cn_trace *tr, size_t i, uint32_t *tid);
const struct cn_tr_process *cn_trace_process(const struct cn_trace *tr, uint32_t pid);
const struct cn_tr_stage *cn_trace_stage(const struct cn_trace *tr, uint32_t instance);
uint64_t cn_trace_lost(const struct cn_trace *tr);

/* "setuid", "userns", "root", "fakeroot" as asked, or inferred from what the trace shows. */
const char *cn_trace_flow(const struct cn_trace *tr);

/* Exit status the way a shell shows it: the code, or 128+N for signal N; -1 while unknown. */
int cn_wait_status_code(int status);

#endif
