// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
/*
 * The kernel side of cntrace: follows the processes of one launch and tags
 * everything they do with the stage instance and the phase they are in.
 *
 * Hot path (every syscall on the machine): one task storage look-up, which for
 * an untracked task is a NULL pointer in its task_struct; for a tracked task a
 * plain increment of a counter only it writes, and a cred pointer compare. A
 * cred snapshot is taken only when the pointer moved (commit_creds always
 * installs a new cred), at stage entry and exit, at fork, exec and exit. The
 * counts leave the task as records when its (stage instance, phase) changes.
 *
 * Programs: tp_btf sys_exit (counts, cred changes), sys_enter (only with
 * --syscalls full), task_newtask + sched_process_fork (children), exec, exit,
 * cap_capable (capability checks), USDT cnlaunch:role/stage_enter/stage_exit.
 * cntrace loads the tp_btf programs with attach ids it finds itself
 * (trace/tp_btf.h), not libbpf.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#if defined(__TARGET_ARCH_x86)
#define NR_EXIT 60
#define NR_EXIT_GROUP 231
#define NR_PRCTL 157   /* PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP: no new cred */
#define NR_SECCOMP 317 /* SECCOMP_SET_MODE_*: no new cred */
#define ARG0(regs) ((regs)->di) /* the first argument, still in the saved registers at exit */
#define ARG1(regs) ((regs)->si)
#define NR_PIVOT_ROOT 155 /* the boundaries of phase detection */
#define NR_CHROOT 161
#define NR_UNSHARE 272
#define NR_SETNS 308
#elif defined(__TARGET_ARCH_arm64)
#define NR_EXIT 93
#define NR_EXIT_GROUP 94
#define NR_PRCTL 167
#define NR_SECCOMP 277
#define ARG0(regs) ((regs)->orig_x0)
#define ARG1(regs) ((regs)->regs[1])
#define NR_PIVOT_ROOT 41
#define NR_CHROOT 51
#define NR_UNSHARE 97
#define NR_SETNS 268
#else
#error "cntrace.bpf.c: syscall numbers for this architecture are missing"
#endif
#define MAX_ERRNO 4095
/*
 * The syscall log wakes its reader only when CN_TR_LOG_WAKEUP bytes wait: a
 * wake-up per record (an irq_work and a reschedule of the reader) cost the
 * traced process more than everything else at storm rates (--syscalls full ran
 * ~10x slower than untraced). The reader polls every few milliseconds besides,
 * and reads the rings once more after the launch (trace/tracer.c).
 */
#define CN_TR_LOG_WAKEUP (256 << 10)
#define PFA_NO_NEW_PRIVS 0
#define PR_SET_SECCOMP 22
#define PR_SET_NO_NEW_PRIVS 38

/* Set by user space before load. */
const volatile bool full_syscalls = false;
/*
 * The events ring wakes its reader only when this many bytes wait (user space
 * sets a quarter of the ring): the reader polls every few milliseconds anyway.
 * A wake-up is an irq_work, a self-IPI, which in a VM is an exit to the
 * hypervisor: one per record cost a fork/exec storm more than the rest of the
 * tracing together.
 */
const volatile __u64 events_wakeup = 1;

/* Stage instances and phases share one counter; user space seeds CN_TR_SEED_PHASE. */
__u32 next_id = CN_TR_FIRST_ID;

/*
 * The tracked threads: task storage, so "is this task ours" is a pointer in
 * its task_struct (no hash of the tid on every syscall of the machine), and the
 * state goes away with the task. User space seeds the first one with a pidfd.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cn_task);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* user space grows it for --syscalls full */
} syscall_log SEC(".maps");

/*
 * Wake the reader when a record of `size` bytes takes what waits in a ring
 * (avail, the record included) past `mark`: once, at the crossing, not at every
 * record above it (a reader that lags would get an irq_work per record, and
 * the producer would pay for each).
 */
static __always_inline __u64 wakeup_crossing(__u64 avail, __u64 mark, __u64 size)
{
	return avail >= mark && avail < mark + size + 8 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 wakeup_at(void *ring, __u64 mark, __u64 size)
{
	return wakeup_crossing(bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA), mark, size);
}

#define wakeup(size) wakeup_at(&events, events_wakeup, size)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cn_cap_key);
	__type(value, struct cn_cap_val);
} caps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CN_LOSS__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} losses SEC(".maps");

static __always_inline void lose_n(__u32 what, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&losses, &what);

	if (v)
		*v += n;
}

static __always_inline void lose(__u32 what)
{
	lose_n(what, 1);
}

static __always_inline __u32 new_id(void)
{
	return __sync_fetch_and_add(&next_id, 1);
}

/* The state of a tracked task; NULL for every other task of the machine. */
static __always_inline struct cn_task *tracked(struct task_struct *task)
{
	return bpf_task_storage_get(&tasks, task, NULL, 0);
}

static __always_inline struct cn_task *tracked_current(void)
{
	return tracked(bpf_get_current_task_btf());
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* The syscall a task is in: orig_ax of the registers saved at kernel entry. */
static __always_inline __s32 task_syscall(struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	return (__s32)BPF_CORE_READ(regs, orig_ax);
}

static __always_inline void snap_creds(struct task_struct *task, struct cn_creds *c)
{
	const struct cred *cr = BPF_CORE_READ(task, cred);

	c->uid[0] = BPF_CORE_READ(cr, uid.val);
	c->uid[1] = BPF_CORE_READ(cr, euid.val);
	c->uid[2] = BPF_CORE_READ(cr, suid.val);
	c->uid[3] = BPF_CORE_READ(cr, fsuid.val);
	c->gid[0] = BPF_CORE_READ(cr, gid.val);
	c->gid[1] = BPF_CORE_READ(cr, egid.val);
	c->gid[2] = BPF_CORE_READ(cr, sgid.val);
	c->gid[3] = BPF_CORE_READ(cr, fsgid.val);
	c->cap_effective = BPF_CORE_READ(cr, cap_effective.val);
	c->cap_permitted = BPF_CORE_READ(cr, cap_permitted.val);
	c->cap_inheritable = BPF_CORE_READ(cr, cap_inheritable.val);
	c->cap_bounding = BPF_CORE_READ(cr, cap_bset.val);
	c->cap_ambient = BPF_CORE_READ(cr, cap_ambient.val);
	c->securebits = BPF_CORE_READ(cr, securebits);
	c->ngroups = BPF_CORE_READ(cr, group_info, ngroups);
	c->userns_level = BPF_CORE_READ(cr, user_ns, level);
	c->userns_inum = BPF_CORE_READ(cr, user_ns, ns.inum);
	c->no_new_privs = (BPF_CORE_READ(task, atomic_flags) >> PFA_NO_NEW_PRIVS) & 1;
	c->seccomp = (__u8)BPF_CORE_READ(task, seccomp.mode);
	__builtin_memset(c->pad, 0, sizeof(c->pad));
}

static __always_inline __u64 cred_ptr(struct task_struct *task)
{
	return (__u64)BPF_CORE_READ(task, cred);
}

static __always_inline void fill_hdr(struct cn_ev_hdr *h, __u32 type, const struct cn_task *t, __u32 tid,
				     __s32 nr)
{
	h->ts = bpf_ktime_get_ns();
	h->type = type;
	h->pid = t->pid;
	h->tid = tid;
	h->instance = t->instance;
	h->phase = t->phase;
	h->syscall = nr;
	h->stage = t->stage;
	h->role = t->role;
	__builtin_memset(h->pad, 0, sizeof(h->pad));
}

/*
 * Hand over the syscalls t logged (--syscalls full) under its current header.
 * The record is the batch in t's storage as it stands, cut after the last
 * entry; the reader is woken when it takes what waits past the mark.
 */
static __always_inline void flush_log(struct cn_task *t, __u32 tid)
{
	__u32 n = t->log.n;
	__u64 size, after;

	if (!full_syscalls || !n)
		return;
	if (n > CN_TR_LOG_BATCH)
		n = CN_TR_LOG_BATCH;
	fill_hdr(&t->log.h, CN_EV_SYSCALL, t, tid, -1);
	size = __builtin_offsetof(struct cn_ev_syscall, ent) + n * sizeof(struct cn_log_ent);
	/* what will wait once this record is in (wakeup_at is asked after a reservation, this before) */
	after = bpf_ringbuf_query(&syscall_log, BPF_RB_AVAIL_DATA) + size + 8;
	if (bpf_ringbuf_output(&syscall_log, &t->log, size, wakeup_crossing(after, CN_TR_LOG_WAKEUP, size)))
		lose_n(CN_LOSS_SYSCALL_LOG, n);
	t->log.n = 0;
}

/*
 * Send what t counted (and logged) since the last flush, under its current
 * (pid, stage instance, phase), and start from zero: called before any of the
 * three changes, at exit, when the table is full and before an error count wraps.
 */
static __always_inline void flush_counts(struct cn_task *t, __u32 tid)
{
	struct cn_ev_counts *e;

	flush_log(t, tid);
	if (!t->counted)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		fill_hdr(&e->h, CN_EV_COUNTS, t, tid, -1);
		__builtin_memcpy(e->ent, t->counts, sizeof(e->ent));
		bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
	} else {
		lose(CN_LOSS_EVENTS); /* the same ring, the same remedy: a bigger --ring-buffer-size */
	}
	__builtin_memset(t->counts, 0, sizeof(t->counts));
	t->counted = 0;
}

/* Where nr's counter lives first (Fibonacci hashing: read and write, 0 and 1, get slots apart). */
static __always_inline __u32 count_slot(__s32 nr)
{
	return ((__u32)nr * 0x9e3779b1u) >> (32 - CN_TR_COUNTS_BITS);
}

/*
 * A number not at its first slot: look at the next few, take a free one, or
 * flush and start over. A short probe keeps the programs quick to verify (the
 * verifier walks every iteration); a flush more often is cheap.
 */
static __always_inline void count_probe(struct cn_task *t, __s32 nr, __u32 err, __u32 first)
{
	struct cn_count_ent *c;

	for (__u32 k = 0; k < CN_TR_PROBES; k++) {
		c = &t->counts[(first + k) & (CN_TR_COUNTS - 1)];
		if (c->count && c->nr == nr) {
			c->count++;
			c->errors += err;
			if (c->errors == 0xffffffffu)
				flush_counts(t, current_tid());
			return;
		}
		if (!c->count)
			goto take;
	}
	flush_counts(t, current_tid()); /* the neighbourhood is full */
	c = &t->counts[first & (CN_TR_COUNTS - 1)];
take:
	c->nr = nr;
	c->count = 1;
	c->errors = err;
	t->counted++;
}

/* The hot path: no atomics (only this thread writes its table), no map but its own storage. */
static __always_inline void count_syscall(struct cn_task *t, __s32 nr, long ret)
{
	__u32 err = ret < 0 && ret >= -MAX_ERRNO;
	__u32 first = count_slot(nr);
	struct cn_count_ent *c = &t->counts[first & (CN_TR_COUNTS - 1)];

	if (c->nr == nr && c->count && !(err && c->errors == 0xfffffffeu)) {
		c->count++;
		c->errors += err;
		return;
	}
	count_probe(t, nr, err, first);
}

/* The cred pointer moved since we last looked: send the new creds. */
static __always_inline void send_creds(struct cn_task *t, struct task_struct *task, __u32 tid, __s32 nr, long ret,
				  __u64 cred)
{
	__u32 type = t->cred ? CN_EV_CRED : CN_EV_INIT;
	struct cn_ev_creds *e;

	t->cred = cred;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		lose(CN_LOSS_EVENTS);
		return;
	}
	fill_hdr(&e->h, type, t, tid, nr);
	e->ret = ret;
	snap_creds(task, &e->creds);
	bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
}

/* One syscall into t's log; the batch goes when it is full or its first entry has waited long enough. */
static __always_inline void log_syscall(struct cn_task *t, __u32 tid, __s32 nr, long ret, bool no_return)
{
	__u32 i = t->log.n;
	struct cn_log_ent *e;

	if (i >= CN_TR_LOG_BATCH) { /* cannot be (a full batch goes at once): the verifier's bound */
		flush_log(t, tid);
		i = 0;
	}
	e = &t->log.ent[i & (CN_TR_LOG_BATCH - 1)];
	e->ts = bpf_ktime_get_ns();
	e->nr = nr;
	e->ret = ret;
	e->no_return = no_return;
	if (t->nr == nr) {
		e->enter_ts = t->enter_ts;
		for (int k = 0; k < 6; k++)
			e->args[k] = t->args[k];
	} else { /* the task was seeded in the middle of this syscall */
		e->enter_ts = 0;
		for (int k = 0; k < 6; k++)
			e->args[k] = 0;
	}
	t->log.n = i + 1;
	if (i + 1 == CN_TR_LOG_BATCH || e->ts - t->log.ent[0].ts >= CN_TR_LOG_AGE_NS)
		flush_log(t, tid);
}

/*
 * no_new_privs and the seccomp mode live in the task, not in its cred: only
 * these calls change them (any prctl made every busybox start send its creds).
 */
static __always_inline bool task_flags_changed(struct pt_regs *regs, __s32 nr, long ret)
{
	if (ret < 0)
		return false;
	if (nr == NR_SECCOMP)
		return true;
	return nr == NR_PRCTL && (ARG0(regs) == PR_SET_NO_NEW_PRIVS || ARG0(regs) == PR_SET_SECCOMP);
}

/*
 * Phase detection (cntrace exec of any launcher): the boundaries a launcher
 * crosses that no other record shows. Checked only for a tracked task, after
 * its count, and the numbers first: every other syscall pays four compares.
 */
static __always_inline bool is_boundary(__s32 nr)
{
	return nr == NR_UNSHARE || nr == NR_SETNS || nr == NR_PIVOT_ROOT || nr == NR_CHROOT;
}

#define NSFS_MAGIC 0x6e736673

/* Before Linux 6.18 the type lived in the operations, not in ns_common. */
struct proc_ns_operations___typed {
	int type;
} __attribute__((preserve_access_index));

struct ns_common___ops {
	const struct proc_ns_operations___typed *ops;
} __attribute__((preserve_access_index));

/* The CLONE_NEW* of the namespace file open at fd (setns with nstype 0 joins whatever it is); 0 if none. */
static __always_inline __u64 ns_type_of_fd(struct task_struct *task, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *f = NULL;
	struct inode *inode;
	void *ns;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	inode = BPF_CORE_READ(f, f_inode);
	if (BPF_CORE_READ(inode, i_sb, s_magic) != NSFS_MAGIC)
		return 0;
	ns = BPF_CORE_READ(inode, i_private);
	if (bpf_core_field_exists(struct ns_common, ns_type))
		return BPF_CORE_READ((struct ns_common *)ns, ns_type);
	return BPF_CORE_READ((struct ns_common___ops *)ns, ops, type);
}

/* A boundary syscall succeeded: what it crossed into, with the creds after it. */
static __always_inline void send_boundary(struct cn_task *t, struct task_struct *task, struct pt_regs *regs,
					  __s32 nr)
{
	struct cn_ev_boundary *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		lose(CN_LOSS_EVENTS);
		return;
	}
	fill_hdr(&e->h, CN_EV_BOUNDARY, t, current_tid(), nr);
	e->ns_flags = 0;
	e->fd = -1;
	e->pad = 0;
	e->path[0] = '\0';
	e->path2[0] = '\0';
	if (nr == NR_UNSHARE) {
		e->ns_flags = ARG0(regs);
	} else if (nr == NR_SETNS) {
		e->fd = (__s32)ARG0(regs);
		e->ns_flags = ARG1(regs) ? ARG1(regs) : ns_type_of_fd(task, e->fd);
	} else {
		bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)ARG0(regs));
		if (nr == NR_PIVOT_ROOT)
			bpf_probe_read_user_str(e->path2, sizeof(e->path2), (const void *)ARG1(regs));
	}
	snap_creds(task, &e->creds);
	bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(cn_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	/* a direct BTF load, no helper call; first, before any branch: the verifier
	 * checks a pointer load once per path that reaches it, each time with linear
	 * searches of the kernel's BTF (milliseconds of cntrace's start-up) */
	__u64 cred = (__u64)task->cred;
	struct cn_task *t = tracked(task);
	__s32 nr;

	if (!t)
		return 0;
	nr = (__s32)regs->orig_ax;
	count_syscall(t, nr, ret);
	if (cred != t->cred || task_flags_changed(regs, nr, ret))
		send_creds(t, task, current_tid(), nr, ret, cred);
	if (ret == 0 && is_boundary(nr))
		send_boundary(t, task, regs, nr);
	if (full_syscalls)
		log_syscall(t, current_tid(), nr, ret, false);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(cn_sys_enter, struct pt_regs *regs, long id)
{
	struct cn_task *t = tracked_current();

	if (!t)
		return 0;
	t->enter_ts = bpf_ktime_get_ns();
	t->nr = id;
	t->args[0] = regs->di;
	t->args[1] = regs->si;
	t->args[2] = regs->dx;
	t->args[3] = regs->r10;
	t->args[4] = regs->r8;
	t->args[5] = regs->r9;
	if (id == NR_EXIT || id == NR_EXIT_GROUP)
		log_syscall(t, current_tid(), (__s32)id, 0, true);
	return 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(cn_task_newtask, struct task_struct *task, __u64 clone_flags)
{
	struct cn_task *t = tracked_current();

	if (t)
		t->clone_flags = clone_flags;
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(cn_fork, struct task_struct *parent, struct task_struct *child)
{
	struct cn_task *pt = tracked(parent);
	struct cn_ev_fork *e;
	struct cn_task *c;
	__u32 ptid, ctid;

	if (!pt)
		return 0;
	ptid = parent->pid;
	ctid = child->pid;
	/* zeroed: no counts yet, nothing seen */
	c = bpf_task_storage_get(&tasks, child, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c) {
		lose(CN_LOSS_TASKS);
		return 0;
	}
	c->pid = child->tgid;
	c->phase = ctid == c->pid ? new_id() : pt->phase; /* a new process: a new phase */
	c->instance = pt->instance;
	c->stage = pt->stage;
	c->role = pt->role;
	c->depth = pt->depth;
	__builtin_memcpy(c->stack_instance, pt->stack_instance, sizeof(c->stack_instance));
	__builtin_memcpy(c->stack_stage, pt->stack_stage, sizeof(c->stack_stage));
	c->cred = cred_ptr(child);
	/* the child returns from the same clone: its log entry has the parent's entry */
	c->enter_ts = pt->enter_ts;
	c->nr = pt->nr;
	__builtin_memcpy(c->args, pt->args, sizeof(c->args));
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		lose(CN_LOSS_EVENTS);
		pt->clone_flags = 0;
		return 0;
	}
	fill_hdr(&e->h, CN_EV_FORK, pt, ptid, task_syscall(parent));
	e->clone_flags = pt->clone_flags;
	e->child_pid = c->pid;
	e->child_tid = ctid;
	e->child_phase = c->phase;
	e->pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), child->comm);
	snap_creds(child, &e->creds);
	bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
	pt->clone_flags = 0;
	return 0;
}

/* A STAGE2 process execs the container command: its stage ends there. */
static __always_inline void close_stage2(struct cn_task *t, struct task_struct *task, __u32 tid)
{
	struct cn_ev_stage *e;

	if (t->own_instance && t->instance == t->own_instance && !(t->flags & CN_TASK_OWN_EXITED)) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			fill_hdr(&e->h, CN_EV_STAGE_EXIT, t, tid, -1);
			e->parent_instance = 0;
			e->rc = 0;
			e->stage = t->stage;
			e->role = t->role;
			e->by_exec = 1;
			e->unmatched = 0;
			__builtin_memset(e->pad, 0, sizeof(e->pad));
			snap_creds(task, &e->creds);
			bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
		} else {
			lose(CN_LOSS_EVENTS);
		}
	}
	t->instance = 0;
	t->stage = CN_STAGE_NONE;
	t->depth = 0;
	t->own_instance = 0;
	t->own_stage = 0;
	t->role = CN_TR_ROLE_CONTAINER;
}

/* The --stage stages (cntrace exec of a launcher without probes): at the end of the file. */
static __always_inline bool in_own_ext_stage(const struct cn_task *t);
static __always_inline void leave_ext_stages(struct cn_task *t, __u32 tid);
static __always_inline void pop_stage(struct cn_task *t, __u32 tid, int stage, int role, int rc, bool by_exec);

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cn_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct cn_task *t = tracked(p); /* a thread that exec'd keeps its storage, takes the leader's pid */
	__u32 old = (__u32)old_pid;
	struct cn_ev_exec *e;
	__u32 tid, old_phase;

	if (!t)
		return 0;
	tid = p->pid;
	flush_counts(t, old); /* what the old image did; the execve itself counts in the new phase */
	old_phase = t->phase;
	t->phase = new_id();
	t->cred = cred_ptr(p);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		fill_hdr(&e->h, CN_EV_EXEC, t, tid, task_syscall(p));
		if (t->role == CN_ROLE_STAGE2 && t->own_instance) { /* the exec belongs to its own stage */
			e->h.instance = t->own_instance;
			e->h.stage = t->own_stage;
		}
		e->old_tid = old;
		e->old_phase = old_phase;
		e->ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
		e->dev = BPF_CORE_READ(bprm, file, f_inode, i_sb, s_dev);
		e->pad = 0;
		bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
		snap_creds(p, &e->creds);
		bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
	} else {
		lose(CN_LOSS_EVENTS);
	}
	if (t->role == CN_ROLE_STAGE2)
		close_stage2(t, p, tid);
	leave_ext_stages(t, tid); /* a new program is in none of the --stage stages */
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(cn_exit, struct task_struct *p, bool group_dead)
{
	struct cn_task *t = tracked(p);
	struct cn_ev_exit *e;
	__u32 tid;
	__s32 nr;

	if (!t)
		return 0;
	tid = p->pid;
	nr = task_syscall(p);
	if (nr == NR_EXIT || nr == NR_EXIT_GROUP) /* these never reach sys_exit */
		count_syscall(t, nr, 0);
	flush_counts(t, tid);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		fill_hdr(&e->h, CN_EV_EXIT, t, tid, nr);
		e->exit_code = (__u32)p->exit_code;
		e->group_dead = group_dead;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		snap_creds(p, &e->creds);
		bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
	} else {
		lose(CN_LOSS_EVENTS);
	}
	if (in_own_ext_stage(t))
		pop_stage(t, tid, CN_STAGE_NONE, t->role, 0, false); /* its --stage stage ends with it */
	/* the storage goes with the task: a delete here would cost each exit an irq_work */
	return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(cn_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cn_task *t = tracked(task);
	struct cn_cap_key key;
	struct cn_cap_val *v;
	struct cn_cap_val first;
	__u64 now;

	if (!t)
		return 0;
	__builtin_memset(&key, 0, sizeof(key));
	key.pid = t->pid;
	key.instance = t->instance;
	key.phase = t->phase;
	key.nr = task_syscall(task);
	key.cap = (__u8)cap;
	key.stage = t->stage;
	if (ret == 0)
		key.flags |= CN_CAP_GRANTED;
	/* host: the capability is exercised over the initial user namespace. The owner
	 * of a child namespace passes checks there without any host capability. */
	if (BPF_CORE_READ(target_ns, level) == 0)
		key.flags |= CN_CAP_HOST;
	if (BPF_CORE_READ(cred, user_ns, level) == 0)
		key.flags |= CN_CAP_CRED_HOST;
	if ((__u64)cred != cred_ptr(task))
		key.flags |= CN_CAP_OTHER_CRED;

	now = bpf_ktime_get_ns();
	v = bpf_map_lookup_elem(&caps, &key);
	if (!v) {
		first.count = 1;
		first.first_ts = now;
		first.last_ts = now;
		if (bpf_map_update_elem(&caps, &key, &first, BPF_NOEXIST) == 0)
			return 0;
		v = bpf_map_lookup_elem(&caps, &key);
		if (!v) {
			lose(CN_LOSS_CAPS);
			return 0;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	v->last_ts = now;
	return 0;
}

static __always_inline bool valid_role(int role)
{
	return role >= 0 && role < CN_ROLE__COUNT;
}

SEC("usdt")
int BPF_USDT(cn_usdt_role, int role, int flow)
{
	__u32 tid = current_tid();
	struct cn_task *t = tracked_current();
	struct cn_ev_role *e;

	if (!t || !valid_role(role))
		return 0;
	t->role = (__u8)role;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		lose(CN_LOSS_EVENTS);
		return 0;
	}
	fill_hdr(&e->h, CN_EV_ROLE, t, tid, -1);
	e->role = (__u32)role;
	e->flow = flow > 0 && flow < CN_FLOW__COUNT ? (__u32)flow : CN_FLOW_AUTO;
	bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
	return 0;
}

static __always_inline void send_stage_rec(struct cn_task *t, __u32 tid, __u32 type, __u32 parent, int stage,
					   int role, int rc, bool unmatched, bool by_exec)
{
	struct cn_ev_stage *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		lose(CN_LOSS_EVENTS);
		return;
	}
	fill_hdr(&e->h, type, t, tid, -1);
	e->parent_instance = parent;
	e->rc = rc;
	e->stage = (__u8)stage;
	e->role = (__u8)role;
	e->by_exec = by_exec;
	e->unmatched = unmatched;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	snap_creds(bpf_get_current_task_btf(), &e->creds);
	bpf_ringbuf_submit(e, wakeup(sizeof(*e)));
}

static __always_inline void send_stage(struct cn_task *t, __u32 tid, __u32 type, __u32 parent, int stage,
				       int role, int rc, bool unmatched)
{
	send_stage_rec(t, tid, type, parent, stage, role, rc, unmatched, false);
}

/* Enter a stage: what t was in goes on the stack (when there is room). Returns the stage left open below. */
static __always_inline __u32 push_stage(struct cn_task *t, int stage)
{
	__u32 parent = t->instance, depth = t->depth;

	if (depth < CN_TR_STACK) {
		t->stack_instance[depth & (CN_TR_STACK - 1)] = t->instance;
		t->stack_stage[depth & (CN_TR_STACK - 1)] = t->stage;
		t->depth = depth + 1;
	}
	t->instance = new_id();
	t->stage = (__u8)stage;
	t->own_instance = t->instance;
	t->own_stage = (__u8)stage;
	t->flags &= ~CN_TASK_OWN_EXITED;
	return parent;
}

/* Leave the innermost stage (1 <= t->depth <= CN_TR_STACK): resume the one below it. stage: as the probe
 * named it; CN_STAGE_NONE: the one open. */
static __always_inline void pop_stage(struct cn_task *t, __u32 tid, int stage, int role, int rc, bool by_exec)
{
	__u32 depth = t->depth - 1, top = depth;

	barrier_var(top); /* the mask stays: the compiler knows depth < CN_TR_STACK, the verifier does not */
	top &= CN_TR_STACK - 1;
	flush_counts(t, tid);
	send_stage_rec(t, tid, CN_EV_STAGE_EXIT, t->stack_instance[top], stage != CN_STAGE_NONE ? stage : t->stage,
		       role, rc, false, by_exec);
	t->instance = t->stack_instance[top];
	t->stage = t->stack_stage[top];
	t->depth = depth; /* own_instance stays: a STAGE2 execve after StartProcess still belongs to it */
}

SEC("usdt")
int BPF_USDT(cn_usdt_stage_enter, int stage, int role)
{
	__u32 tid = current_tid();
	struct cn_task *t = tracked_current();
	__u32 parent;

	if (!t || stage <= CN_STAGE_NONE || stage >= CN_STAGE__COUNT)
		return 0;
	flush_counts(t, tid);
	parent = push_stage(t, stage);
	if (valid_role(role))
		t->role = (__u8)role;
	send_stage(t, tid, CN_EV_STAGE_ENTER, parent, stage, role, 0, false);
	return 0;
}

SEC("usdt")
int BPF_USDT(cn_usdt_stage_exit, int stage, int role, int rc)
{
	__u32 tid = current_tid();
	struct cn_task *t = tracked_current();
	__u32 depth;

	if (!t)
		return 0;
	if (in_own_ext_stage(t)) { /* a --stage entered inside this stage ends with it */
		pop_stage(t, tid, CN_STAGE_NONE, t->role, 0, false);
		t->flags |= CN_TASK_OWN_EXITED;
	}
	depth = t->depth;
	if (t->stage != stage || t->instance == 0 || depth == 0 || depth > CN_TR_STACK) {
		/* not the innermost open stage: record it, keep the state */
		send_stage(t, tid, CN_EV_STAGE_EXIT, t->instance, stage, role, rc, true);
		return 0;
	}
	if (t->role == CN_ROLE_STAGE2 && stage == CN_STAGE_START_PROCESS) {
		/* StartProcess lasts until the command starts: what STAGE2 does between
		 * this probe and its execve stays in StartProcess, not in the stage it
		 * inherited from MASTER */
		send_stage(t, tid, CN_EV_STAGE_EXIT, t->instance, stage, role, rc, false);
		t->flags |= CN_TASK_OWN_EXITED;
		return 0;
	}
	pop_stage(t, tid, stage, role, rc, false);
	return 0;
}

/*
 * Stages of a launcher without probes: `cntrace exec --stage NAME=BINARY:SYMBOL`
 * puts a uprobe on the function's entry, with the stage id as its cookie. The
 * calling thread enters the stage (what it was in stays on the stack, as with
 * cnlaunch's stage_enter) and stays in it until it enters the next one, execs
 * or exits; its children inherit it, as they inherit a cnlaunch stage. Calling
 * the function again (a loop, each mount of a list) is no new stage.
 */
static __always_inline bool ext_stage(int stage)
{
	return stage >= CN_TR_EXT_STAGE_FIRST && stage < CN_TR_EXT_STAGE_FIRST + CN_TR_EXT_STAGE_MAX;
}

/* t is in a --stage stage it entered itself (it was pushed: depth >= 1). */
static __always_inline bool in_own_ext_stage(const struct cn_task *t)
{
	return ext_stage(t->stage) && t->instance && t->instance == t->own_instance &&
	       !(t->flags & CN_TASK_OWN_EXITED) && t->depth >= 1 && t->depth <= CN_TR_STACK;
}

/* At exec: leave its own (sending the exit), then what it inherited (nothing to send: another task's). */
static __always_inline void leave_ext_stages(struct cn_task *t, __u32 tid)
{
	if (in_own_ext_stage(t)) {
		pop_stage(t, tid, CN_STAGE_NONE, t->role, 0, true);
		t->flags |= CN_TASK_OWN_EXITED;
	}
	for (int i = 0; i < CN_TR_STACK; i++) {
		__u32 depth = t->depth, top;

		if (!ext_stage(t->stage) || depth == 0 || depth > CN_TR_STACK)
			break;
		top = --depth;
		barrier_var(top);
		top &= CN_TR_STACK - 1;
		t->instance = t->stack_instance[top];
		t->stage = t->stack_stage[top];
		t->depth = depth;
	}
}

SEC("uprobe")
int cn_uprobe_stage(struct pt_regs *ctx)
{
	int stage = (int)bpf_get_attach_cookie(ctx);
	struct cn_task *t = tracked_current();
	__u32 tid = current_tid(), parent;

	if (!t || !ext_stage(stage))
		return 0;
	if (t->stage == stage && in_own_ext_stage(t))
		return 0;
	if (in_own_ext_stage(t)) { /* the next stage ends the one before */
		pop_stage(t, tid, CN_STAGE_NONE, t->role, 0, false);
		t->flags |= CN_TASK_OWN_EXITED;
	}
	if (t->depth >= CN_TR_STACK)
		return 0; /* no room to come back: stay where it is (the trace shows no such stage) */
	flush_counts(t, tid);
	parent = push_stage(t, stage);
	send_stage(t, tid, CN_EV_STAGE_ENTER, parent, stage, t->role, 0, false);
	return 0;
}
