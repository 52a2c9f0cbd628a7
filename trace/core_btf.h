/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CN_TRACE_CORE_BTF_H
#define CN_TRACE_CORE_BTF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The CO-RE BTF the build cut from the kernel's BTF (bpftool gen min_core_btf,
 * bpf/meson.build): only the types and fields cntrace.bpf.o reads. libbpf
 * relocates against it instead of searching the kernel's 120k types once per
 * type the programs use (~17 ms of every start here). A layout belongs to one
 * kernel build: the cut is used only on the kernel it was cut from, the one
 * whose notes (/sys/kernel/notes, with its GNU build id) the build embedded
 * beside it; on any other kernel libbpf searches the kernel's BTF as before.
 */

/* Whether NOTES (the bytes of /sys/kernel/notes) name the kernel the cut was made from. */
bool cn_core_btf_matches(const void *notes, size_t len);

/*
 * A sealed memfd holding the cut, for libbpf's btf_custom_path as
 * /proc/self/fd/N, when this kernel is the one it was cut from; -1 when not
 * (or when no memfd can be made: the caller relocates against the kernel's).
 */
int cn_core_btf_open(void);

#endif
