/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "model.h"

#define BUF_ENTRIES 4096 /* ~360 KiB written at a time */

struct cn_spool {
	int fd;
	struct cn_tr_syscall *buf;
	size_t nbuf;
	uint64_t count, lost;
	int errnum;     /* the first failed write */
	char *dir;
	char msg[512];
};

struct cn_spool *cn_spool_open(const char *dir, struct cn_error *err)
{
	_cleanup_free_ struct cn_spool *sp = calloc(1, sizeof(*sp));
	_cleanup_free_ char *tmpl = NULL;

	if (!sp || !(sp->buf = calloc(BUF_ENTRIES, sizeof(*sp->buf))) || !(sp->dir = strdup(dir))) {
		if (sp) {
			free(sp->buf);
			free(sp->dir);
		}
		return cn_fail(err, ENOMEM, "the syscall log"), NULL;
	}
	sp->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* a file system without O_TMPFILE: a named file, unlinked at once */
		if (asprintf(&tmpl, "%s/.cntrace-log.XXXXXX", dir) < 0) {
			tmpl = NULL;
			errno = ENOMEM;
		} else if ((sp->fd = mkostemp(tmpl, O_CLOEXEC)) >= 0) {
			unlink(tmpl);
		}
	}
	if (sp->fd < 0) {
		cn_fail(err, errno, "the syscall log: a temp file in %s", dir);
		free(sp->buf);
		free(sp->dir);
		return NULL;
	}
	return steal_pointer(&sp);
}

void cn_spool_close(struct cn_spool *sp)
{
	if (!sp)
		return;
	close(sp->fd);
	free(sp->buf);
	free(sp->dir);
	free(sp);
}

static int write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

static void flush(struct cn_spool *sp)
{
	if (!sp->nbuf)
		return;
	if (sp->errnum || write_all(sp->fd, sp->buf, sp->nbuf * sizeof(*sp->buf)) < 0) {
		if (!sp->errnum) {
			sp->errnum = errno ? errno : EIO;
			snprintf(sp->msg, sizeof(sp->msg), "%s: %s", sp->dir, strerror(sp->errnum));
		}
		sp->lost += sp->nbuf;
	} else {
		sp->count += sp->nbuf;
	}
	sp->nbuf = 0;
}

void cn_spool_sync(struct cn_spool *sp)
{
	flush(sp);
}

void cn_spool_add(struct cn_spool *sp, const struct cn_tr_syscall *s)
{
	sp->buf[sp->nbuf++] = *s;
	if (sp->nbuf == BUF_ENTRIES)
		flush(sp);
}

uint64_t cn_spool_count(const struct cn_spool *sp)
{
	return sp->count + (sp->errnum ? 0 : sp->nbuf);
}

uint64_t cn_spool_lost(const struct cn_spool *sp)
{
	return sp->lost + (sp->errnum ? sp->nbuf : 0);
}

const char *cn_spool_error(const struct cn_spool *sp)
{
	return sp->errnum ? sp->msg : NULL;
}

/* ---- reading back in time order: a min-heap on (ts, tid) of `window` entries ---- */

static bool before(const struct cn_tr_syscall *a, const struct cn_tr_syscall *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->tid < b->tid);
}

static void heap_push(struct cn_tr_syscall *h, size_t *n, const struct cn_tr_syscall *s)
{
	size_t i = (*n)++;

	while (i > 0 && before(s, &h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = *s;
}

static struct cn_tr_syscall heap_pop(struct cn_tr_syscall *h, size_t *n)
{
	struct cn_tr_syscall top = h[0], last = h[--*n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && before(&h[c + 1], &h[c]))
			c++;
		if (!before(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
	return top;
}

int cn_spool_each(struct cn_spool *sp, size_t window, int (*fn)(void *arg, const struct cn_tr_syscall *s),
		  void *arg, struct cn_error *err)
{
	_cleanup_free_ struct cn_tr_syscall *heap = NULL;
	size_t nheap = 0;
	off_t off = 0;
	int rc = 0;

	flush(sp);
	if (window == 0)
		window = 1;
	heap = calloc(window, sizeof(*heap));
	if (!heap)
		return cn_fail(err, ENOMEM, "the syscall log");
	for (uint64_t left = sp->count; left > 0 && rc == 0;) {
		size_t want = left < BUF_ENTRIES ? (size_t)left : BUF_ENTRIES;
		ssize_t n = pread(sp->fd, sp->buf, want * sizeof(*sp->buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || n % (ssize_t)sizeof(*sp->buf))
			return cn_fail(err, n < 0 ? errno : EIO, "the syscall log: read back from %s", sp->dir);
		off += n;
		left -= (uint64_t)n / sizeof(*sp->buf);
		for (size_t i = 0; i < (size_t)n / sizeof(*sp->buf) && rc == 0; i++) {
			if (nheap == window) {
				struct cn_tr_syscall s = heap_pop(heap, &nheap);

				if ((rc = fn(arg, &s)) != 0)
					break;
			}
			heap_push(heap, &nheap, &sp->buf[i]);
		}
	}
	while (nheap > 0 && rc == 0) {
		struct cn_tr_syscall s = heap_pop(heap, &nheap);

		rc = fn(arg, &s);
	}
	return rc;
}
