/* SPDX-License-Identifier: Apache-2.0
 *
 * The --syscalls full log on its way to the JSON file. Every logged syscall
 * goes, as it is drained, to a spool: an unlinked temp file (O_TMPFILE) next
 * to the output, so cntrace's memory stays the same however long the trace
 * runs, and a killed cntrace leaves nothing behind (the kernel drops the
 * file with the last fd). The JSON writer reads it back in time order.
 */
#ifndef CN_TRACE_SPOOL_H
#define CN_TRACE_SPOOL_H

#include <stdint.h>

#include "error.h"

struct cn_tr_syscall;
struct cn_spool;

/* A spool in directory dir. */
struct cn_spool *cn_spool_open(const char *dir, struct cn_error *err);
void cn_spool_close(struct cn_spool *sp);

/* Append one entry; one that cannot be written is counted, the first failure kept. */
void cn_spool_add(struct cn_spool *sp, const struct cn_tr_syscall *s);
/* Write what is buffered (the counts below are then final until the next add). */
void cn_spool_sync(struct cn_spool *sp);

uint64_t cn_spool_count(const struct cn_spool *sp); /* entries written */
uint64_t cn_spool_lost(const struct cn_spool *sp);  /* entries that could not be written */
/* The first write that failed, as "DIR: REASON"; NULL when none did. */
const char *cn_spool_error(const struct cn_spool *sp);

/*
 * Every entry, in (ts, tid) order however late it was added (the spool sorts
 * the file where it is, in runs, and merges them), to fn. Stops at fn's first
 * non-zero return and returns it; -1 with err set when the spool cannot be
 * read or sorted.
 */
int cn_spool_each(struct cn_spool *sp, int (*fn)(void *arg, const struct cn_tr_syscall *s), void *arg,
		  struct cn_error *err);

#endif
