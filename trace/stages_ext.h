/* SPDX-License-Identifier: Apache-2.0
 *
 * Stages for launchers without probes: `cntrace exec --stage NAME=BINARY:SYMBOL`.
 *
 * A stage is entered when a thread of the launch calls SYMBOL (a uprobe on its
 * first instruction, in BINARY: a program, or a shared library such as
 * libc.so.6) and lasts until that thread enters another, execs or exits
 * (bpf/cntrace.bpf.c, cn_uprobe_stage). Everything is resolved here before
 * anything is attached: the file (a path, a program in $PATH, a library in the
 * library directories), the function (an ELF symbol, .symtab or .dynsym) and
 * its file offset, so that a bad --stage is refused in one line and nothing
 * runs. The stage ids are CN_TR_EXT_STAGE_FIRST + the order of the --stage.
 */
#ifndef CN_TRACE_STAGES_EXT_H
#define CN_TRACE_STAGES_EXT_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "events.h"

#define CN_EXT_NAME_MAX 64

struct cn_ext_stage {
	char name[CN_EXT_NAME_MAX];
	const char *spec;      /* as given: NAME=BINARY:SYMBOL */
	const char *binary;    /* BINARY as given (points into a copy of spec) */
	const char *symbol;
	char path[PATH_MAX];   /* the file the uprobe goes on */
	uint64_t offset;       /* of the function's entry in that file */
	uint8_t id;            /* CN_TR_EXT_STAGE_FIRST + its index */
};

struct cn_ext_stages {
	struct cn_ext_stage v[CN_TR_EXT_STAGE_MAX];
	size_t n;
	char *copies[CN_TR_EXT_STAGE_MAX]; /* the specs, cut into binary and symbol */
};

/*
 * Check the form of one spec and add it (unresolved). Returns -1 with err set
 * when it is not NAME=BINARY:SYMBOL, the name is taken (one of the ten, "container",
 * another --stage) or there are too many: a usage error.
 */
int cn_ext_stage_parse(struct cn_ext_stages *set, const char *spec, struct cn_error *err);

/*
 * Find every stage's file and function. Returns -1 with err set (one line that
 * names the --stage, the file and why) when a file is missing or not ELF, or the
 * function is not defined in it: then nothing may be attached.
 */
int cn_ext_stages_resolve(struct cn_ext_stages *set, struct cn_error *err);

void cn_ext_stages_clear(struct cn_ext_stages *set);

/* The set whose names the JSON writer uses (one per cntrace process); NULL: none. */
void cn_ext_stages_use(const struct cn_ext_stages *set);
/* The name of a --stage stage id; NULL when it is none. */
const char *cn_ext_stage_name(int stage);
/* The stage's binary, symbol and offset, added to its stages[] entry. */
void cn_ext_stage_describe(struct json_object *o, int stage);
/* tracer.user_stages: [{name, binary, symbol, path, offset}] of the set in use. */
struct json_object *cn_ext_stages_json(void);

struct bpf_program;
struct bpf_link;

/*
 * One uprobe per stage, the stage id as its cookie; each link goes to
 * links[*n] (the caller destroys them, also after a failure). max: the room
 * left in links.
 */
int cn_ext_stages_attach(struct bpf_program *prog, const struct cn_ext_stages *set, struct bpf_link **links,
			 int *n, int max, struct cn_error *err);
/*
 * The same on uprobe-multi links (trace/usdt.h), one a file: their fds go to
 * fds[*nfds] (room for one a stage; the caller closes them, also after a failure).
 */
int cn_ext_stages_attach_multi(struct bpf_program *prog, const struct cn_ext_stages *set, int *fds, int *nfds,
			       struct cn_error *err);

#endif
