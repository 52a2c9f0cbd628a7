/* SPDX-License-Identifier: Apache-2.0
 *
 * Phase detection for a launcher without probes (`cntrace exec` of bwrap, runc,
 * crun ...): the boundaries it crosses, from records the trace has anyway.
 *
 *   exec        every successful execve (CN_EV_EXEC)
 *   clone       a process born into new namespaces (CN_EV_FORK's clone flags)
 *   unshare     unshare() with CLONE_NEW* flags      \
 *   setns       setns(), with the namespaces joined   } CN_EV_BOUNDARY, at the
 *   pivot_root  pivot_root(new_root, put_old)         } exit of the syscall
 *   chroot      chroot(path)                         /  when it succeeded
 *
 * The payload's exec is the first exec, at or after the last boundary that is
 * not an exec, by the process that crossed it or one of its descendants (for a
 * clone: by the child or its descendants): the program the launcher set up the
 * sandbox for. No such boundary (a program that makes no namespace and changes
 * no root): no payload.
 *
 * Pure logic over the model, like trace/json.c, which calls it once.
 */
#ifndef CN_TRACE_PHASE_DETECT_H
#define CN_TRACE_PHASE_DETECT_H

#include <json-c/json.h>

#include "model.h"

/*
 * Add the top-level "boundaries" list to doc (the trace's JSON), in time order,
 * and to each entry of doc's "phases" the ids of the boundaries crossed in it
 * ("boundaries") and whether the payload's exec began it ("payload").
 */
void cn_phase_detect_annotate(const struct cn_trace *tr, struct json_object *doc);

#endif
