/* SPDX-License-Identifier: Apache-2.0
 *
 * The --stage stages' files and functions, from ELF (libelf), and their uprobes
 * (libbpf): the half of trace/stages_ext.h that needs the file system and BPF.
 */
#define _GNU_SOURCE
#include "stages_ext.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "elf_file.h"
#include "tracer.h"
#include "usdt.h"

/* ---- the file ---- */

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#else
#define MULTIARCH ""
#endif

/* A shared library by its file name, where the dynamic loader looks (and $LD_LIBRARY_PATH first). */
static bool find_library(const char *name, char *out, size_t size)
{
	static const char *const dirs[] = { "/lib/" MULTIARCH, "/usr/lib/" MULTIARCH, "/lib64", "/usr/lib64",
					     "/lib", "/usr/lib", "/usr/local/lib" };
	const char *env = getenv("LD_LIBRARY_PATH");
	_cleanup_free_ char *copy = env && *env ? strdup(env) : NULL;
	char *save = NULL;
	struct stat st;

	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/%s", d, name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return true;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, size, "%s/%s", dirs[i], name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return true;
	}
	return false;
}

/* BINARY: a path; a library name ("libc.so.6"); a program in $PATH. The real path into out. */
static int find_file(const struct cn_ext_stage *s, char *out, struct cn_error *err)
{
	char buf[PATH_MAX];
	const char *found = NULL;
	struct stat st;

	if (strchr(s->binary, '/'))
		found = s->binary;
	else if (strstr(s->binary, ".so") && find_library(s->binary, buf, sizeof(buf)))
		found = buf;
	else
		found = cn_find_program(s->binary, buf, sizeof(buf));
	if (!found)
		return cn_fail(err, 0, "--stage %s: %s: no such program in $PATH or library in the library directories",
			       s->spec, s->binary);
	if (!realpath(found, out))
		return cn_fail(err, errno, "--stage %s: %s", s->spec, found);
	if (stat(out, &st) < 0)
		return cn_fail(err, errno, "--stage %s: %s", s->spec, out);
	if (!S_ISREG(st.st_mode))
		return cn_fail(err, 0, "--stage %s: %s is not a file", s->spec, out);
	return 0;
}

/* ---- the function ---- */

#define MAX_FOUND 8

struct lookup {
	const char *name;
	uint64_t addr[MAX_FOUND]; /* defined functions by that name, distinct addresses */
	bool hidden[MAX_FOUND];   /* a non-default symbol version (func@VER, not func@@VER) */
	int nfound;
	bool undefined, data, ifunc, have_symtab;
};

/* The version index of dynsym entry i hides it: an old version kept for old binaries. */
static bool version_hidden(Elf_Data *versym, size_t i)
{
	GElf_Versym v;

	return versym && gelf_getversym(versym, (int)i, &v) && (v & 0x8000);
}

static void add_found(struct lookup *lk, uint64_t addr, bool hidden)
{
	for (int i = 0; i < lk->nfound; i++)
		if (lk->addr[i] == addr) {
			lk->hidden[i] = lk->hidden[i] && hidden;
			return;
		}
	if (lk->nfound < MAX_FOUND) {
		lk->addr[lk->nfound] = addr;
		lk->hidden[lk->nfound++] = hidden;
	}
}

static void scan_symbols(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, Elf_Data *versym, struct lookup *lk)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; data && i < n; i++) {
		GElf_Sym sym;
		const char *name;
		int type;

		if (!gelf_getsym(data, (int)i, &sym) || !(name = elf_strptr(elf, sh->sh_link, sym.st_name)) ||
		    strcmp(name, lk->name) != 0)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF)
			lk->undefined = true;
		else if (type == STT_GNU_IFUNC)
			lk->ifunc = true;
		else if (type != STT_FUNC || sym.st_value == 0)
			lk->data = true;
		else
			add_found(lk, sym.st_value, sh->sh_type == SHT_DYNSYM && version_hidden(versym, i));
	}
}

/* The DT_NEEDED libraries of elf, into names (pointers into elf's data). */
static int needed_libraries(Elf *elf, const char *names[], int max)
{
	Elf_Scn *scn = NULL;
	int n = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		GElf_Dyn dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(data = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize && n < max; i++)
			if (gelf_getdyn(data, (int)i, &dyn) && dyn.d_tag == DT_NEEDED)
				names[n++] = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
	}
	return n;
}

void cn_elf_close(struct cn_elf *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
}

int cn_elf_open(const char *path, struct cn_elf *f)
{
	f->elf = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		cn_elf_close(f);
		errno = ENOEXEC;
		return -1;
	}
	return 0;
}

static void lookup_in(Elf *elf, struct lookup *lk)
{
	Elf_Scn *scn = NULL;
	Elf_Data *versym = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			versym = elf_getdata(scn, NULL);
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		lk->have_symtab |= sh.sh_type == SHT_SYMTAB;
		scan_symbols(elf, scn, &sh, versym, lk);
	}
}

bool cn_elf_file_offset(Elf *elf, uint64_t addr, bool code, uint64_t *off)
{
	size_t n;

	if (elf_getphdrnum(elf, &n) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (!code || (ph.p_flags & PF_X)) &&
		    addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz) {
			*off = addr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/* A symbol the binary only imports: which of its libraries defines it, for the message. */
static const char *defining_library(Elf *elf, const char *symbol, char *buf, size_t size)
{
	const char *names[32];
	int n = needed_libraries(elf, names, 32);

	for (int i = 0; i < n; i++) {
		struct cn_elf lib;
		struct lookup lk = { .name = symbol };

		if (!names[i] || !find_library(names[i], buf, size) || cn_elf_open(buf, &lib) < 0)
			continue;
		lookup_in(lib.elf, &lk);
		cn_elf_close(&lib);
		if (lk.nfound > 0) {
			snprintf(buf, size, "%s", names[i]);
			return buf;
		}
	}
	return NULL;
}

static int visible(const struct lookup *lk)
{
	int n = 0;

	for (int i = 0; i < lk->nfound; i++)
		n += !lk->hidden[i];
	return n;
}

/* The one address to probe: the default version's when old versions are kept beside it. */
static int pick(const struct lookup *lk, uint64_t *addr)
{
	int visible = 0, at = 0;

	for (int i = 0; i < lk->nfound; i++)
		if (!lk->hidden[i]) {
			visible++;
			at = i;
		}
	if (visible == 1 || (visible == 0 && lk->nfound == 1)) {
		*addr = lk->addr[at];
		return 0;
	}
	return -1;
}

static int resolve_symbol(struct cn_ext_stage *s, struct cn_error *err)
{
	struct cn_elf f;
	struct lookup lk = { .name = s->symbol };
	char lib[PATH_MAX];
	const char *from;
	uint64_t addr;
	int rc = 0;

	if (cn_elf_open(s->path, &f) < 0)
		return errno == ENOEXEC ? cn_fail(err, 0, "--stage %s: %s is not an ELF file", s->spec, s->path)
					: cn_fail(err, errno, "--stage %s: %s", s->spec, s->path);
	lookup_in(f.elf, &lk);
	if (lk.ifunc && !visible(&lk))
		lk.nfound = 0; /* the default version is the IFUNC: an old plain one is not what callers get */
	if (lk.nfound > 0 && pick(&lk, &addr) < 0)
		rc = cn_fail(err, 0, "--stage %s: %s has %d functions named \"%s\" (at 0x%llx and 0x%llx)", s->spec,
			     s->path, lk.nfound, s->symbol, (unsigned long long)lk.addr[0],
			     (unsigned long long)lk.addr[1]);
	else if (lk.nfound > 0 && !cn_elf_file_offset(f.elf, addr, true, &s->offset))
		rc = cn_fail(err, 0, "--stage %s: %s: \"%s\" at 0x%llx is in no loadable code segment", s->spec,
			     s->path, s->symbol, (unsigned long long)addr);
	else if (lk.nfound > 0)
		rc = 0;
	else if (lk.ifunc)
		rc = cn_fail(err, 0,
			     "--stage %s: \"%s\" in %s is an IFUNC: its address is its resolver's, which runs once at "
			     "load time; probe the implementation it picks",
			     s->spec, s->symbol, s->path);
	else if (lk.data)
		rc = cn_fail(err, 0, "--stage %s: \"%s\" in %s is not a function", s->spec, s->symbol, s->path);
	else if (lk.undefined && (from = defining_library(f.elf, s->symbol, lib, sizeof(lib))))
		rc = cn_fail(err, 0, "--stage %s: %s does not define \"%s\", it calls it in %s (--stage %s=%s:%s)",
			     s->spec, s->path, s->symbol, from, s->name, from, s->symbol);
	else
		rc = cn_fail(err, 0, "--stage %s: %s has no function \"%s\"%s", s->spec, s->path, s->symbol,
			     lk.have_symtab ? "" : " (it is stripped: `nm -D --defined-only` lists what it has)");
	cn_elf_close(&f);
	return rc;
}

int cn_ext_stages_resolve(struct cn_ext_stages *set, struct cn_error *err)
{
	for (size_t i = 0; i < set->n; i++) {
		struct cn_ext_stage *s = &set->v[i];

		if (find_file(s, s->path, err) < 0 || resolve_symbol(s, err) < 0)
			return -1;
		for (size_t j = 0; j < i; j++) /* one uprobe would fire for both, in no set order */
			if (strcmp(set->v[j].path, s->path) == 0 && set->v[j].offset == s->offset)
				return cn_fail(err, 0, "--stage %s: the same function as stage %s", s->spec,
					       set->v[j].name);
	}
	return 0;
}

/* ---- the probes ---- */

int cn_ext_stages_attach_multi(struct bpf_program *prog, const struct cn_ext_stages *set, int *fds, int *nfds,
			       struct cn_error *err)
{
	bool done[CN_TR_EXT_STAGE_MAX] = { false };

	for (size_t i = 0; i < set->n; i++) {
		uint64_t offsets[CN_TR_EXT_STAGE_MAX], cookies[CN_TR_EXT_STAGE_MAX];
		int n = 0, fd;

		if (done[i])
			continue;
		for (size_t j = i; j < set->n; j++) {
			if (done[j] || strcmp(set->v[j].path, set->v[i].path) != 0)
				continue;
			done[j] = true;
			offsets[n] = set->v[j].offset;
			cookies[n++] = set->v[j].id;
		}
		fd = cn_uprobe_multi_link(prog, set->v[i].path, offsets, NULL, cookies, n, err);
		if (fd < 0)
			return cn_prefix(err, "--stage %s: ", set->v[i].spec);
		fds[(*nfds)++] = fd;
	}
	return 0;
}

int cn_ext_stages_attach(struct bpf_program *prog, const struct cn_ext_stages *set, struct bpf_link **links,
			 int *n, int max, struct cn_error *err)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct cn_ext_stage *s = &set->v[i];
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = s->id);
		struct bpf_link *link;

		if (*n >= max)
			return cn_fail(err, 0, "cannot trace: --stage %s: too many probes", s->spec);
		link = bpf_program__attach_uprobe_opts(prog, -1, s->path, (size_t)s->offset, &opts);
		if (!link)
			return cn_fail(err, errno, "cannot trace: --stage %s: a uprobe on %s at offset 0x%llx", s->spec,
				       s->path, (unsigned long long)s->offset);
		links[(*n)++] = link;
	}
	return 0;
}
