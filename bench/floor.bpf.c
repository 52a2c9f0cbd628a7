// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only
/*
 * The tracing floor (bench only): cntrace's attach points with empty programs.
 * What is left of the overhead with these attached is the price of the attach
 * points themselves (the syscall tracepoint slow path, the trampolines); what
 * cntrace costs above it is the price of its programs' bodies.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret) { return 0; }

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_sys_enter, struct pt_regs *regs, long id) { return 0; }

SEC("tp_btf/task_newtask")
int BPF_PROG(floor_task_newtask, struct task_struct *task, __u64 clone_flags) { return 0; }

SEC("tp_btf/sched_process_fork")
int BPF_PROG(floor_fork, struct task_struct *parent, struct task_struct *child) { return 0; }

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) { return 0; }

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_exit, struct task_struct *p, bool group_dead) { return 0; }

SEC("tp_btf/cap_capable")
int BPF_PROG(floor_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret) { return 0; }

SEC("usdt")
int BPF_USDT(floor_usdt_role, int role, int flow) { return 0; }

SEC("usdt")
int BPF_USDT(floor_usdt_stage_enter, int stage, int role) { return 0; }

SEC("usdt")
int BPF_USDT(floor_usdt_stage_exit, int stage, int role, int rc) { return 0; }
