// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
/*
 * The kernel side of cntrace: follows the processes of one launch and tags
 * everything they do with the stage instance and the phase they are in.
 *
 * Hot path (every syscall on the machine): one task map look-up; for a tracked
 * task a per-CPU count and a cred pointer compare. A cred snapshot is taken
 * only when the pointer moved (commit_creds always installs a new cred), at
 * stage entry and exit, at fork, exec and exit.
 *
 * Programs: tp_btf sys_exit (counts, cred changes), sys_enter (only with
 * --syscalls full), task_newtask + sched_process_fork (children), exec, exit,
 * cap_capable (capability checks), USDT cnlaunch:role/stage_enter/stage_exit.
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
#elif defined(__TARGET_ARCH_arm64)
#define NR_EXIT 93
#define NR_EXIT_GROUP 94
#define NR_PRCTL 167
#define NR_SECCOMP 277
#else
#error "cntrace.bpf.c: syscall numbers for this architecture are missing"
#endif
#define MAX_ERRNO 4095
/*
 * The syscall log wakes its reader only once CN_TR_LOG_WAKEUP bytes wait: a
 * wake-up per record (an irq_work and a reschedule of the reader) cost the
 * traced process more than everything else at storm rates (--syscalls full ran
 * ~10x slower than untraced). What is left below the mark at the end is read
 * after the launch (trace/tracer.c consumes the rings once more).
 */
#define CN_TR_LOG_WAKEUP (256 << 10)
#define PFA_NO_NEW_PRIVS 0

/* Set by user space before load. */
const volatile bool full_syscalls = false;

/* Stage instances and phases share one counter; user space seeds CN_TR_SEED_PHASE. */
__u32 next_id = CN_TR_FIRST_ID;
/* The next free row of slot_counts; user space gives row CN_TR_SEED_SLOT to the seed. */
__u32 next_slot = CN_TR_SEED_SLOT + 1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 32768);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cn_sc_key);
	__type(value, struct cn_sc_val);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CN_TR_SLOTS * CN_TR_NR_MAX);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct cn_sc_val);
} slot_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CN_TR_SLOTS);
	__type(key, __u32);
	__type(value, struct cn_sc_key); /* nr unused */
} slot_keys SEC(".maps");

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

static __always_inline void lose(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&losses, &what);

	if (v)
		(*v)++;
}

static __always_inline __u32 new_id(void)
{
	return __sync_fetch_and_add(&next_id, 1);
}

/* (pid, instance, phase) of t changed: give it a fresh row of syscall counters. */
static __always_inline void new_slot(struct cn_task *t)
{
	__u32 slot = __sync_fetch_and_add(&next_slot, 1);
	struct cn_sc_key *key;

	if (slot >= CN_TR_SLOTS) {
		t->slot = CN_TR_NO_SLOT;
		return;
	}
	key = bpf_map_lookup_elem(&slot_keys, &slot);
	if (!key) {
		t->slot = CN_TR_NO_SLOT;
		return;
	}
	key->pid = t->pid;
	key->instance = t->instance;
	key->phase = t->phase;
	key->nr = 0;
	t->slot = slot;
}

static __always_inline struct cn_task *tracked(__u32 tid)
{
	return bpf_map_lookup_elem(&tasks, &tid);
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

static __always_inline void count_syscall(const struct cn_task *t, __s32 nr, long ret)
{
	struct cn_sc_key key = { .pid = t->pid, .instance = t->instance, .phase = t->phase, .nr = nr };
	__u64 err = ret < 0 && ret >= -MAX_ERRNO;
	struct cn_sc_val first = { .count = 1, .errors = err };
	struct cn_sc_val *v;

	if (t->slot < CN_TR_SLOTS && nr >= 0 && nr < CN_TR_NR_MAX) { /* the fast path: an array row */
		__u32 idx = t->slot * CN_TR_NR_MAX + (__u32)nr;

		v = bpf_map_lookup_elem(&slot_counts, &idx);
		if (v) {
			__sync_fetch_and_add(&v->count, 1);
			if (err)
				__sync_fetch_and_add(&v->errors, 1);
			return;
		}
	}
	v = bpf_map_lookup_elem(&counts, &key);
	if (v) {
		v->count++;
		v->errors += err;
		return;
	}
	if (bpf_map_update_elem(&counts, &key, &first, BPF_NOEXIST) == 0)
		return;
	v = bpf_map_lookup_elem(&counts, &key); /* lost a race with another CPU */
	if (v) {
		v->count++;
		v->errors += err;
		return;
	}
	lose(CN_LOSS_COUNTS);
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
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void log_syscall(const struct cn_task *t, __u32 tid, __s32 nr, long ret, bool no_return)
{
	struct cn_ev_syscall *e = bpf_ringbuf_reserve(&syscall_log, sizeof(*e), 0);

	if (!e) {
		lose(CN_LOSS_SYSCALL_LOG);
		return;
	}
	fill_hdr(&e->h, CN_EV_SYSCALL, t, tid, nr);
	if (t->nr == nr) {
		e->enter_ts = t->enter_ts;
		for (int i = 0; i < 6; i++)
			e->args[i] = t->args[i];
	} else { /* the task was seeded in the middle of this syscall */
		e->enter_ts = 0;
		for (int i = 0; i < 6; i++)
			e->args[i] = 0;
	}
	e->ret = ret;
	e->no_return = no_return;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&syscall_log, BPF_RB_AVAIL_DATA) >= CN_TR_LOG_WAKEUP ?
				      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(cn_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = current_tid();
	struct cn_task *t = tracked(tid);
	struct task_struct *task;
	__s32 nr;
	__u64 cred;

	if (!t)
		return 0;
	nr = (__s32)regs->orig_ax;
	count_syscall(t, nr, ret);
	task = bpf_get_current_task_btf();
	cred = (__u64)task->cred; /* a direct BTF load: no helper call on the hot path */
	/* no_new_privs and the seccomp mode live in the task, not in its cred */
	if (cred != t->cred || ((nr == NR_PRCTL || nr == NR_SECCOMP) && ret >= 0))
		send_creds(t, task, tid, nr, ret, cred);
	if (full_syscalls)
		log_syscall(t, tid, nr, ret, false);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(cn_sys_enter, struct pt_regs *regs, long id)
{
	__u32 tid = current_tid();
	struct cn_task *t = tracked(tid);

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
		log_syscall(t, tid, (__s32)id, 0, true);
	return 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(cn_task_newtask, struct task_struct *task, __u64 clone_flags)
{
	struct cn_task *t = tracked(current_tid());

	if (t)
		t->clone_flags = clone_flags;
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(cn_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptid = parent->pid;
	__u32 ctid = child->pid;
	struct cn_task *pt = tracked(ptid);
	struct cn_ev_fork *e;
	struct cn_task c;

	if (!pt)
		return 0;
	__builtin_memcpy(&c, pt, sizeof(c));
	c.pid = child->tgid;
	if (child->pid == child->tgid) { /* a new process: a new phase */
		c.phase = new_id();
		new_slot(&c);
	}
	c.cred = cred_ptr(child);
	c.clone_flags = 0;
	c.own_instance = 0;
	c.own_stage = 0;
	c.flags = 0;
	if (bpf_map_update_elem(&tasks, &ctid, &c, BPF_ANY)) {
		lose(CN_LOSS_TASKS);
		return 0;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		lose(CN_LOSS_EVENTS);
		pt->clone_flags = 0;
		return 0;
	}
	fill_hdr(&e->h, CN_EV_FORK, pt, ptid, task_syscall(parent));
	e->clone_flags = pt->clone_flags;
	e->child_pid = c.pid;
	e->child_tid = ctid;
	e->child_phase = c.phase;
	e->pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), child->comm);
	snap_creds(child, &e->creds);
	bpf_ringbuf_submit(e, 0);
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
			bpf_ringbuf_submit(e, 0);
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
	new_slot(t);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cn_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tid = p->pid;
	__u32 old = (__u32)old_pid;
	struct cn_ev_exec *e;
	struct cn_task *t;
	__u32 old_phase;

	t = tracked(old);
	if (!t)
		return 0;
	if (old != tid) { /* a thread exec'd: it takes over the leader's pid */
		if (bpf_map_update_elem(&tasks, &tid, t, BPF_ANY)) {
			lose(CN_LOSS_TASKS);
			return 0;
		}
		bpf_map_delete_elem(&tasks, &old);
		t = tracked(tid);
		if (!t)
			return 0;
	}
	old_phase = t->phase;
	t->phase = new_id();
	new_slot(t);
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
		bpf_ringbuf_submit(e, 0);
	} else {
		lose(CN_LOSS_EVENTS);
	}
	if (t->role == CN_ROLE_STAGE2)
		close_stage2(t, p, tid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(cn_exit, struct task_struct *p, bool group_dead)
{
	__u32 tid = p->pid;
	struct cn_task *t = tracked(tid);
	struct cn_ev_exit *e;
	__s32 nr;

	if (!t)
		return 0;
	nr = task_syscall(p);
	if (nr == NR_EXIT || nr == NR_EXIT_GROUP) /* these never reach sys_exit */
		count_syscall(t, nr, 0);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		fill_hdr(&e->h, CN_EV_EXIT, t, tid, nr);
		e->exit_code = (__u32)p->exit_code;
		e->group_dead = group_dead;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		snap_creds(p, &e->creds);
		bpf_ringbuf_submit(e, 0);
	} else {
		lose(CN_LOSS_EVENTS);
	}
	bpf_map_delete_elem(&tasks, &tid);
	return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(cn_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	struct cn_task *t = tracked(current_tid());
	struct task_struct *task;
	struct cn_cap_key key;
	struct cn_cap_val *v;
	struct cn_cap_val first;
	__u64 now;

	if (!t)
		return 0;
	task = bpf_get_current_task_btf();
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
	struct cn_task *t = tracked(tid);
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
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline void send_stage(struct cn_task *t, __u32 tid, __u32 type, __u32 parent, int stage,
				       int role, int rc, bool unmatched)
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
	e->by_exec = 0;
	e->unmatched = unmatched;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	snap_creds(bpf_get_current_task_btf(), &e->creds);
	bpf_ringbuf_submit(e, 0);
}

SEC("usdt")
int BPF_USDT(cn_usdt_stage_enter, int stage, int role)
{
	__u32 tid = current_tid();
	struct cn_task *t = tracked(tid);
	__u32 parent, depth;

	if (!t || stage <= CN_STAGE_NONE || stage >= CN_STAGE__COUNT)
		return 0;
	parent = t->instance;
	depth = t->depth;
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
	new_slot(t);
	if (valid_role(role))
		t->role = (__u8)role;
	send_stage(t, tid, CN_EV_STAGE_ENTER, parent, stage, role, 0, false);
	return 0;
}

SEC("usdt")
int BPF_USDT(cn_usdt_stage_exit, int stage, int role, int rc)
{
	__u32 tid = current_tid();
	struct cn_task *t = tracked(tid);
	__u32 depth;

	if (!t)
		return 0;
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
	depth--;
	send_stage(t, tid, CN_EV_STAGE_EXIT, t->stack_instance[depth & (CN_TR_STACK - 1)], stage, role, rc,
		   false);
	t->instance = t->stack_instance[depth & (CN_TR_STACK - 1)];
	t->stage = t->stack_stage[depth & (CN_TR_STACK - 1)];
	t->depth = depth; /* own_instance stays: a STAGE2 execve after StartProcess still belongs to it */
	new_slot(t);
	return 0;
}
