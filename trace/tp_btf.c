/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "tp_btf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define TRACE_PREFIX "btf_trace_"

/* The bytes a type's header is followed by, by its kind; -1: a kind this reader does not know. */
static long type_extra(const struct btf_type *t)
{
	long vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return (long)sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return vlen * (long)sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return vlen * (long)sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return vlen * (long)sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return vlen * (long)sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return vlen * (long)sizeof(struct btf_var_secinfo);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return -1;
	}
}

/* The ids of names' typedefs in the BTF at data (size bytes). */
static int walk(const unsigned char *data, size_t size, const char *path, const char *const *names, uint32_t *ids,
		size_t n, struct cn_error *err)
{
	struct btf_header h;
	const unsigned char *p, *end;
	const char *strs;
	uint32_t id = 1;

	if (size < sizeof(h))
		return cn_fail(err, 0, "%s: not BTF (%zu bytes)", path, size);
	memcpy(&h, data, sizeof(h));
	if (h.magic != BTF_MAGIC || h.hdr_len < sizeof(h) || h.hdr_len > size ||
	    (uint64_t)h.type_off + h.type_len > size - h.hdr_len || (uint64_t)h.str_off + h.str_len > size - h.hdr_len ||
	    h.str_len == 0 || data[h.hdr_len + h.str_off + h.str_len - 1] != '\0')
		return cn_fail(err, 0, "%s: not BTF of this machine's byte order, or cut short", path);
	p = data + h.hdr_len + h.type_off;
	end = p + h.type_len;
	strs = (const char *)data + h.hdr_len + h.str_off;
	memset(ids, 0, n * sizeof(*ids));
	for (; p < end; id++) {
		struct btf_type t;
		long extra;

		if ((size_t)(end - p) < sizeof(t))
			return cn_fail(err, 0, "%s: type %u is cut short", path, id);
		memcpy(&t, p, sizeof(t));
		extra = type_extra(&t);
		if (extra < 0)
			return cn_fail(err, 0, "%s: type %u is of a kind (%u) this cntrace does not know", path, id,
				       BTF_INFO_KIND(t.info));
		if ((size_t)(end - p) - sizeof(t) < (size_t)extra)
			return cn_fail(err, 0, "%s: type %u is cut short", path, id);
		p += sizeof(t) + (size_t)extra;
		if (BTF_INFO_KIND(t.info) != BTF_KIND_TYPEDEF || t.name_off >= h.str_len ||
		    strncmp(strs + t.name_off, TRACE_PREFIX, strlen(TRACE_PREFIX)) != 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (strcmp(strs + t.name_off + strlen(TRACE_PREFIX), names[i]) == 0)
				ids[i] = id;
	}
	return 0;
}

int cn_tp_btf_ids(const char *path, const char *const *names, uint32_t *ids, size_t n, struct cn_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ unsigned char *copy = NULL;
	struct stat st;
	void *map;
	size_t got = 0;
	int rc;

	if (fd < 0 || fstat(fd, &st) < 0)
		return cn_fail(err, errno, "%s", path);
	if (st.st_size <= 0)
		return cn_fail(err, 0, "%s: empty", path);
	/* the kernel maps its BTF since 6.16; before, it is read */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map != MAP_FAILED) {
		rc = walk(map, (size_t)st.st_size, path, names, ids, n, err);
		munmap(map, (size_t)st.st_size);
		return rc;
	}
	copy = malloc((size_t)st.st_size);
	if (!copy)
		return cn_fail(err, ENOMEM, "%s", path);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, copy + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cn_fail(err, errno, "%s: read", path);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return walk(copy, got, path, names, ids, n, err);
}

/* ---- libbpf: the tp_btf programs, loaded with those ids ---- */

#define KNOWN_MAX 16

static struct {
	char name[64]; /* the tracepoint */
	uint32_t id;
} known[KNOWN_MAX];
static size_t nknown;
static bool looked_up;

/* At open: the program is a raw tracepoint to libbpf until it loads, so libbpf does not parse the kernel's BTF. */
static int note_tracepoint(struct bpf_program *prog, long cookie)
{
	const char *name = strchr(bpf_program__section_name(prog), '/');

	(void)cookie;
	if (!name || !name[1] || strlen(name + 1) >= sizeof(known[0].name))
		return -EINVAL;
	for (size_t i = 0; i < nknown; i++)
		if (strcmp(known[i].name, name + 1) == 0)
			return 0;
	if (nknown == KNOWN_MAX)
		return -E2BIG;
	strcpy(known[nknown++].name, name + 1);
	looked_up = false;
	return 0;
}

/* At load: a tracing program again, attached by the id found for its tracepoint. */
static int load_as_tp_btf(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	const char *slash = strchr(bpf_program__section_name(prog), '/');

	(void)cookie;
	if (!slash || bpf_program__set_type(prog, BPF_PROG_TYPE_TRACING) < 0) /* note_tracepoint refused it at open */
		return -EINVAL;
	for (size_t i = 0; i < nknown; i++) {
		if (strcmp(known[i].name, slash + 1) != 0)
			continue;
		if (!known[i].id)
			return -ESRCH;
		opts->expected_attach_type = BPF_TRACE_RAW_TP;
		opts->attach_btf_id = known[i].id;
		opts->attach_btf_obj_fd = 0;
		opts->attach_prog_fd = 0;
		return 0;
	}
	return -ESRCH;
}

int cn_tp_btf_resolve(struct cn_error *err)
{
	const char *names[KNOWN_MAX];
	uint32_t ids[KNOWN_MAX];

	if (looked_up)
		return 0;
	for (size_t i = 0; i < nknown; i++)
		names[i] = known[i].name;
	if (cn_tp_btf_ids(CN_TP_BTF_KERNEL, names, ids, nknown, err) < 0)
		return cn_prefix(err, "cannot trace: ");
	for (size_t i = 0; i < nknown; i++) {
		if (!ids[i])
			return cn_fail(err, 0, "cannot trace: this kernel has no tracepoint %s (no %s%s in %s)", names[i],
				       TRACE_PREFIX, names[i], CN_TP_BTF_KERNEL);
		known[i].id = ids[i];
	}
	looked_up = true;
	return 0;
}

int cn_tp_btf_take_over(struct cn_error *err)
{
	static bool done;
	LIBBPF_OPTS(libbpf_prog_handler_opts, opts, .prog_setup_fn = note_tracepoint,
		    .prog_prepare_load_fn = load_as_tp_btf);
	int rc;

	if (done)
		return 0;
	rc = libbpf_register_prog_handler("tp_btf+", BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_TRACE_RAW_TP, &opts);
	if (rc < 0)
		return cn_fail(err, -rc, "cannot trace: take over libbpf's tp_btf programs");
	done = true;
	return 0;
}
