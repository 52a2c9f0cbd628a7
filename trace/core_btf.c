/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "core_btf.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"

#define NT_GNU_BUILD_ID 3
#define NOTES_MAX 4096 /* a few notes of a few words each */

/* bpf/meson.build: the cut, and the notes of the kernel it was cut from (empty without them) */
extern const char cn_core_btf[];
extern const unsigned long cn_core_btf_len;
extern const char cn_core_btf_kernel_notes[];
extern const unsigned long cn_core_btf_kernel_notes_len;

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Whether the ELF notes in p hold a GNU build id: without one, equal notes may be two kernels. */
static bool has_build_id(const unsigned char *p, size_t len)
{
	size_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz, descsz, type;

		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		off += 12;
		if (align4(namesz) > len - off || align4(descsz) > len - off - align4(namesz))
			return false;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + off, "GNU", 4) == 0 && descsz > 0)
			return true;
		off += align4(namesz) + align4(descsz);
	}
	return false;
}

bool cn_core_btf_matches(const void *notes, size_t len)
{
	return cn_core_btf_len > 0 && len == cn_core_btf_kernel_notes_len &&
	       memcmp(notes, cn_core_btf_kernel_notes, len) == 0 && has_build_id(notes, len);
}

int cn_core_btf_open(void)
{
	_cleanup_close_ int notes = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	unsigned char buf[NOTES_MAX];
	size_t len = 0, done = 0;
	ssize_t n;

	if (notes < 0)
		return -1;
	while (len < sizeof(buf) && (n = read(notes, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (!cn_core_btf_matches(buf, len))
		return -1;
	fd = memfd_create("cntrace-core-btf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	while (done < cn_core_btf_len) {
		n = write(fd, cn_core_btf + done, cn_core_btf_len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	/* nothing running as root may change what the relocations read */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		return -1;
	return steal_fd(&fd);
}
