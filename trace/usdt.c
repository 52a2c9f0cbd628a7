/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "usdt.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <gelf.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "elf_file.h"

#define NT_STAPSDT 3
#define SITES_MAX 64
#define UPROBE_MULTI_ATTACH 48 /* BPF_TRACE_UPROBE_MULTI (Linux 6.6; the headers here are older) */

/* BPF_LINK_CREATE for a uprobe-multi link (union bpf_attr's link_create, Linux 6.6). */
struct link_create_uprobe_multi {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid, pad;
};

#if defined(__x86_64__)
/* Where each register is in the kernel's struct pt_regs (x86-64), by all the names an argument spec uses. */
static const struct {
	const char *names[4];
	int16_t off;
} regs[] = {
	{ { "r15", "r15d", "r15w", "r15b" }, 0 },  { { "r14", "r14d", "r14w", "r14b" }, 8 },
	{ { "r13", "r13d", "r13w", "r13b" }, 16 }, { { "r12", "r12d", "r12w", "r12b" }, 24 },
	{ { "rbp", "ebp", "bp", "bpl" }, 32 },     { { "rbx", "ebx", "bx", "bl" }, 40 },
	{ { "r11", "r11d", "r11w", "r11b" }, 48 }, { { "r10", "r10d", "r10w", "r10b" }, 56 },
	{ { "r9", "r9d", "r9w", "r9b" }, 64 },     { { "r8", "r8d", "r8w", "r8b" }, 72 },
	{ { "rax", "eax", "ax", "al" }, 80 },      { { "rcx", "ecx", "cx", "cl" }, 88 },
	{ { "rdx", "edx", "dx", "dl" }, 96 },      { { "rsi", "esi", "si", "sil" }, 104 },
	{ { "rdi", "edi", "di", "dil" }, 112 },    { { "rip", "eip", "", "" }, 128 },
	{ { "rsp", "esp", "sp", "spl" }, 152 },
};

static int reg_offset(const char *name)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		for (int k = 0; k < 4; k++)
			if (regs[i].names[k][0] && strcmp(regs[i].names[k], name) == 0)
				return regs[i].off;
	return -1;
}

/* One argument: SIZE@%REG, SIZE@$CONST, SIZE@OFF(%REG) or SIZE@(%REG). */
static int parse_arg(const char *s, struct cn_usdt_arg *a)
{
	char reg[16];
	long off;
	int size, n = 0, r;

	if (sscanf(s, "%d@%ld(%%%15[^)])%n", &size, &off, reg, &n) == 3 && !s[n]) {
		a->arg_type = CN_USDT_ARG_REG_DEREF;
		a->val_off = (uint64_t)off;
	} else if (sscanf(s, "%d@(%%%15[^)])%n", &size, reg, &n) == 2 && !s[n]) {
		a->arg_type = CN_USDT_ARG_REG_DEREF;
		a->val_off = 0;
	} else if (sscanf(s, "%d@%%%15s%n", &size, reg, &n) == 2 && !s[n]) {
		a->arg_type = CN_USDT_ARG_REG;
		a->val_off = 0;
	} else if (sscanf(s, "%d@$%ld%n", &size, &off, &n) == 2 && !s[n]) {
		a->arg_type = CN_USDT_ARG_CONST;
		a->val_off = (uint64_t)off;
		reg[0] = '\0';
	} else {
		return -1;
	}
	if (a->arg_type != CN_USDT_ARG_CONST) {
		if ((r = reg_offset(reg)) < 0)
			return -1;
		a->reg_off = (int16_t)r;
	}
	a->arg_signed = size < 0;
	size = abs(size);
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -1;
	a->arg_bitshift = (int8_t)(64 - size * 8);
	return 0;
}

bool cn_usdt_multi_supported(void)
{
	static const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = UPROBE_MULTI_ATTACH);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "cn_probe_umulti", "GPL", ret0, 2, &opts);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
#else
static int parse_arg(const char *s, struct cn_usdt_arg *a)
{
	(void)s;
	(void)a;
	return -1;
}

bool cn_usdt_multi_supported(void)
{
	return false; /* libbpf's perf-event USDT: its argument specs are read by libbpf */
}
#endif

int cn_usdt_parse_args(const char *args, struct cn_usdt_spec *spec)
{
	_cleanup_free_ char *copy = strdup(args);
	char *save = NULL;

	memset(spec, 0, sizeof(*spec));
	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (spec->arg_cnt >= CN_USDT_ARGS_MAX || parse_arg(tok, &spec->args[spec->arg_cnt]) < 0)
			return -1;
		spec->arg_cnt++;
	}
	return 0;
}

/* The address of section name, 0 when there is none. */
static uint64_t section_addr(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t strndx;

	if (elf_getshdrstrndx(elf, &strndx) != 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (gelf_getshdr(scn, &sh) && (n = elf_strptr(elf, strndx, sh.sh_name)) && strcmp(n, name) == 0)
			return sh.sh_addr;
	}
	return 0;
}

/* The sites of provider:name in elf: from each stapsdt note, its place, semaphore and argument spec. */
static int find_sites(Elf *elf, const char *provider, const char *name, struct cn_usdt_site *sites, int max)
{
	uint64_t base = section_addr(elf, ".stapsdt.base");
	Elf_Scn *scn = NULL;
	int n = 0;

	if (gelf_getclass(elf) != ELFCLASS64)
		return -1;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(data = elf_getdata(scn, NULL)))
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *owner = (const char *)data->d_buf + name_off, *d = (const char *)data->d_buf + desc_off;
			const char *prov, *probe, *args;
			uint64_t pc, note_base, sema;

			if (nh.n_type != NT_STAPSDT || nh.n_namesz != 8 || strcmp(owner, "stapsdt") != 0 || nh.n_descsz < 27)
				continue;
			memcpy(&pc, d, 8);
			memcpy(&note_base, d + 8, 8);
			memcpy(&sema, d + 16, 8);
			prov = d + 24;
			probe = prov + strnlen(prov, nh.n_descsz - 24) + 1;
			if (probe >= d + nh.n_descsz)
				continue;
			args = probe + strnlen(probe, (size_t)(d + nh.n_descsz - probe)) + 1;
			if (args > d + nh.n_descsz || strcmp(prov, provider) != 0 || strcmp(probe, name) != 0)
				continue;
			if (n == max)
				return -1;
			if (base) { /* prelinked: the note's addresses moved with .stapsdt.base */
				pc += base - note_base;
				if (sema)
					sema += base - note_base;
			}
			sites[n].ref_ctr = 0;
			if (!cn_elf_file_offset(elf, pc, true, &sites[n].offset) ||
			    (sema && !cn_elf_file_offset(elf, sema, false, &sites[n].ref_ctr)) ||
			    cn_usdt_parse_args(args < d + nh.n_descsz ? args : "", &sites[n].spec) < 0)
				return -1;
			n++;
		}
	}
	return n;
}

int cn_usdt_sites(const char *binary, const char *provider, const char *name, struct cn_usdt_site *sites, int max,
		  struct cn_error *err)
{
	struct cn_elf f;
	int n;

	if (cn_elf_open(binary, &f) < 0)
		return cn_fail(err, errno, "cannot trace: %s", binary);
	n = find_sites(f.elf, provider, name, sites, max);
	cn_elf_close(&f);
	if (n <= 0)
		return cn_fail(err, 0, "cannot trace: %s has no USDT probe %s:%s%s", binary, provider, name,
			       n < 0 ? " that cntrace can read" : " (built without <sys/sdt.h>?)");
	return n;
}

void cn_usdt_prepare(struct bpf_program *prog)
{
	bpf_program__set_expected_attach_type(prog, UPROBE_MULTI_ATTACH);
}

int cn_usdt_attach(struct bpf_program *prog, struct bpf_map *specs, int *next_spec, const char *binary,
		   const char *provider, const char *name, struct cn_error *err)
{
	struct cn_usdt_site sites[SITES_MAX];
	uint64_t offsets[SITES_MAX], ref_ctrs[SITES_MAX], cookies[SITES_MAX];
	bool any_ref_ctr = false;
	int n;

	if (bpf_map__value_size(specs) != sizeof(struct cn_usdt_spec))
		return cn_fail(err, 0, "cannot trace: libbpf's USDT spec is not the one this cntrace knows");
	n = cn_usdt_sites(binary, provider, name, sites, SITES_MAX, err);
	if (n < 0)
		return -1;
	if (*next_spec + n > (int)bpf_map__max_entries(specs))
		return cn_fail(err, 0, "cannot trace: %s: too many USDT sites", binary);
	for (int i = 0; i < n; i++) {
		int id = (*next_spec)++;

		if (bpf_map_update_elem(bpf_map__fd(specs), &id, &sites[i].spec, BPF_ANY) < 0)
			return cn_fail(err, errno, "cannot trace: the USDT spec of %s:%s", provider, name);
		offsets[i] = sites[i].offset;
		ref_ctrs[i] = sites[i].ref_ctr;
		any_ref_ctr |= sites[i].ref_ctr != 0;
		cookies[i] = (uint64_t)id;
	}
	return cn_uprobe_multi_link(prog, binary, offsets, any_ref_ctr ? ref_ctrs : NULL, cookies, n, err);
}

int cn_uprobe_multi_link(struct bpf_program *prog, const char *path, const uint64_t *offsets, const uint64_t *ref_ctrs,
			 const uint64_t *cookies, int n, struct cn_error *err)
{
	struct link_create_uprobe_multi attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)bpf_program__fd(prog);
	attr.attach_type = UPROBE_MULTI_ATTACH;
	attr.path = (uint64_t)(uintptr_t)path;
	attr.offsets = (uint64_t)(uintptr_t)offsets;
	attr.ref_ctr_offsets = (uint64_t)(uintptr_t)ref_ctrs;
	attr.cookies = (uint64_t)(uintptr_t)cookies;
	attr.cnt = (uint32_t)n;
	fd = (int)syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return cn_fail(err, errno, "cannot trace: a uprobe-multi link on %s", path);
	return fd;
}
