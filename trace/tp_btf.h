/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CN_TRACE_TP_BTF_H
#define CN_TRACE_TP_BTF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CN_TP_BTF_KERNEL "/sys/kernel/btf/vmlinux"

/*
 * The attach targets of tp_btf programs: the BTF ids of the kernel's
 * btf_trace_<tracepoint> typedefs. libbpf 1.1 finds them by parsing the
 * kernel's whole BTF (126k types, 5-10 ms of every start here, more than the
 * verifier takes for the programs); one walk of the type headers, over the
 * file mapped where the kernel allows it, is ~1 ms.
 *
 * Fills ids[i] for each names[i] (a tracepoint, e.g. "sys_exit") from the raw
 * BTF file at path (/sys/kernel/btf/vmlinux); 0 when the kernel has no such
 * tracepoint. -1 with err set when the file cannot be read or is not BTF.
 */
int cn_tp_btf_ids(const char *path, const char *const *names, uint32_t *ids, size_t n, struct cn_error *err);

/*
 * Makes libbpf load tp_btf programs with the ids cn_tp_btf_resolve finds (a
 * SEC("tp_btf") handler of our own: libbpf sees raw tracepoints until each is
 * loaded, as a tracing program with its id), so that it does not parse the
 * kernel's BTF for them. Before the first object is opened (once per process
 * is enough); -1 with err set when libbpf refuses the handler.
 */
int cn_tp_btf_take_over(struct cn_error *err);

/*
 * After an object is opened: the ids of the tracepoints its tp_btf programs
 * attach to (once per process). -1 with err set when the kernel lacks one.
 */
int cn_tp_btf_resolve(struct cn_error *err);

#endif
