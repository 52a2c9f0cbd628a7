/* SPDX-License-Identifier: Apache-2.0
 *
 * The launcher's USDT probes (core/stage.h) on one uprobe-multi BPF link per
 * program, instead of libbpf's perf-event uprobe per probe site.
 *
 * Why: a perf-event uprobe is taken down under the kernel's event_mutex, each
 * one waiting for an RCU tasks-trace grace period: the 4 sites of cnlaunch kept
 * a run's reaper busy ~2 s, and the next run's attach waited for it (~0.3 s
 * measured, on every run of a loop or a test suite). A multi link registers all
 * its sites at once and is released with one grace period, without that mutex.
 * libbpf 1.1 cannot make one for USDT, so the notes (.note.stapsdt) and their
 * argument specs are read here and written to libbpf's own spec map
 * (__bpf_usdt_specs of usdt.bpf.h, which the programs read through the cookie).
 */
#ifndef CN_TRACE_USDT_H
#define CN_TRACE_USDT_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* An argument spec as usdt.bpf.h reads it from __bpf_usdt_specs (libbpf's struct __bpf_usdt_spec). */
enum { CN_USDT_ARG_CONST, CN_USDT_ARG_REG, CN_USDT_ARG_REG_DEREF };

struct cn_usdt_arg {
	uint64_t val_off;     /* the constant, or the offset from the register's value */
	int arg_type;         /* CN_USDT_ARG_* */
	int16_t reg_off;      /* the register's offset in struct pt_regs */
	bool arg_signed;
	int8_t arg_bitshift;  /* 64 - the argument's bits */
};

#define CN_USDT_ARGS_MAX 12

struct cn_usdt_spec {
	struct cn_usdt_arg args[CN_USDT_ARGS_MAX];
	uint64_t usdt_cookie;
	int16_t arg_cnt;
};

/* A probe site: where its nop is in the file, its semaphore (0: none), its arguments. */
struct cn_usdt_site {
	uint64_t offset, ref_ctr;
	struct cn_usdt_spec spec;
};

/* "-4@%edi 8@$3 -4@12(%rbp)" (this architecture's): 0, or -1 when cntrace cannot read it. */
int cn_usdt_parse_args(const char *args, struct cn_usdt_spec *spec);
/* The sites of provider:name in binary (at most max): how many, or -1 with err set (none, unreadable). */
int cn_usdt_sites(const char *binary, const char *provider, const char *name, struct cn_usdt_site *sites, int max,
		  struct cn_error *err);

/* Whether this kernel makes uprobe-multi links (Linux 6.6) and this architecture's specs are read here. */
bool cn_usdt_multi_supported(void);

/* Before load: a program that is to be attached with cn_usdt_attach or cn_uprobe_multi_link. */
void cn_usdt_prepare(struct bpf_program *prog);

/*
 * One uprobe-multi link of prog on n offsets of path (ref_ctrs: their
 * semaphores, or NULL; cookies: what bpf_get_attach_cookie gives at each).
 * The --stage uprobes go on them too. The link's fd, or -1 with err set.
 */
int cn_uprobe_multi_link(struct bpf_program *prog, const char *path, const uint64_t *offsets, const uint64_t *ref_ctrs,
			 const uint64_t *cookies, int n, struct cn_error *err);

/*
 * Attach prog to every site of provider:name in binary, its argument specs at
 * ids *next_spec... of the spec map (advanced past them). Returns the link's fd,
 * or -1 with err set (a binary without the probe, a spec it cannot read).
 */
int cn_usdt_attach(struct bpf_program *prog, struct bpf_map *specs, int *next_spec, const char *binary,
		   const char *provider, const char *name, struct cn_error *err);

#endif
