/* SPDX-License-Identifier: Apache-2.0
 *
 * An ELF file open for reading (libelf), and where an address of it is in the
 * file: what --stage symbols and USDT notes are resolved with.
 */
#ifndef CN_TRACE_ELF_FILE_H
#define CN_TRACE_ELF_FILE_H

#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>

struct cn_elf {
	int fd;
	Elf *elf;
};

/* 0, or -1 with errno (ENOEXEC: not ELF). */
int cn_elf_open(const char *path, struct cn_elf *f);
void cn_elf_close(struct cn_elf *f);
/* The file offset of virtual address addr, through the loadable segment that holds it (an executable one when code). */
bool cn_elf_file_offset(Elf *elf, uint64_t addr, bool code, uint64_t *off);

#endif
