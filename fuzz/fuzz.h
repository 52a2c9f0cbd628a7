/* SPDX-License-Identifier: Apache-2.0
 *
 * What the libFuzzer targets share: the input as a C string (the parsers take
 * text), and the input as a file (the readers take a path: the bytes go to a
 * memfd, read back through /proc/self/fd/N, so the real file-reading code runs).
 */
#ifndef CN_FUZZ_H
#define CN_FUZZ_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

/* The input with a NUL added (malloc'd): a parser of C strings sees what a file reader gives it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The input as a file: one memfd reused for every input; returns its path. */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fuzz-input", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

/* Where the outputs go: written for real (so the writers run), thrown away. */
static inline FILE *fuzz_devnull(void)
{
	static FILE *f;

	if (!f && !(f = fopen("/dev/null", "we")))
		abort();
	return f;
}

/* Every refusal is one line (it is what the tools print): abort otherwise. */
static inline void fuzz_one_line(const char *target, const char *what, const struct cn_error *err)
{
	if (!err->msg[0] || strchr(err->msg, '\n')) {
		fprintf(stderr, "%s: %s: the refusal is not one line: \"%s\"\n", target, what, err->msg);
		abort();
	}
}

#endif
