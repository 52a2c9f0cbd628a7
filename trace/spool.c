/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <stdbool.h>
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

/*
 * ---- reading back in time order ----
 *
 * Entries come in the order the threads hand them over, and a thread hands its
 * log over in batches (bpf/events.h, CN_TR_LOG_BATCH): one that blocks keeps a
 * few entries for as long as it blocks, so no window of recent entries can
 * restore the order. The file is sorted instead, in memory-sized runs written
 * back in place, and the runs are merged: memory stays RUN_ENTRIES plus
 * CURSOR_ENTRIES a run, however long the log.
 */
#define RUN_ENTRIES 32768  /* sorted in memory at a time (~3 MiB) */
#define CURSOR_ENTRIES 128 /* read at a time from each sorted run */

static bool before(const struct cn_tr_syscall *a, const struct cn_tr_syscall *b)
{
	return cn_tr_syscall_cmp(a, b) < 0;
}

static int pio_all(int fd, void *data, size_t size, off_t off, bool out)
{
	char *p = data;

	while (size > 0) {
		ssize_t n = out ? pwrite(fd, p, size, off) : pread(fd, p, size, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		off += n;
		size -= (size_t)n;
	}
	return 0;
}

static bool in_order(const struct cn_tr_syscall *e, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (before(&e[i], &e[i - 1]))
			return false;
	return true;
}

/* Sort each run of RUN_ENTRIES entries of the file where it is. */
static int sort_runs(struct cn_spool *sp, struct cn_tr_syscall *run)
{
	for (uint64_t first = 0; first < sp->count; first += RUN_ENTRIES) {
		size_t n = sp->count - first < RUN_ENTRIES ? (size_t)(sp->count - first) : RUN_ENTRIES;
		off_t off = (off_t)(first * sizeof(*run));

		if (pio_all(sp->fd, run, n * sizeof(*run), off, false) < 0)
			return -1;
		if (in_order(run, n))
			continue;
		qsort(run, n, sizeof(*run), cn_tr_syscall_cmp);
		if (pio_all(sp->fd, run, n * sizeof(*run), off, true) < 0)
			return -1;
	}
	return 0;
}

/* Where the merge is in one sorted run. */
struct cursor {
	off_t off;     /* the run's next entry in the file */
	uint64_t left; /* entries of the run not read yet */
	size_t pos, n; /* buf[pos] is the run's smallest entry not given yet */
	struct cn_tr_syscall buf[CURSOR_ENTRIES];
};

/* Make buf[pos] the next entry, reading when it is used up. -1: a read failed; 0: ok (n == 0: the run is done). */
static int cursor_fill(int fd, struct cursor *c)
{
	size_t want;

	if (c->pos < c->n)
		return 0;
	want = c->left < CURSOR_ENTRIES ? (size_t)c->left : CURSOR_ENTRIES;
	c->pos = 0;
	c->n = want;
	if (!want)
		return 0;
	if (pio_all(fd, c->buf, want * sizeof(c->buf[0]), c->off, false) < 0)
		return -1;
	c->off += (off_t)(want * sizeof(c->buf[0]));
	c->left -= want;
	return 0;
}

static bool cursor_before(const struct cursor *a, const struct cursor *b)
{
	return before(&a->buf[a->pos], &b->buf[b->pos]);
}

/* The heap property below h[i], for runs ordered by their next entry. */
static void sift_down(struct cursor **h, size_t n, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct cursor *t;

		if (c >= n)
			return;
		if (c + 1 < n && cursor_before(h[c + 1], h[c]))
			c++;
		if (!cursor_before(h[c], h[i]))
			return;
		t = h[i];
		h[i] = h[c];
		h[c] = t;
		i = c;
	}
}

int cn_spool_each(struct cn_spool *sp, int (*fn)(void *arg, const struct cn_tr_syscall *s), void *arg,
		  struct cn_error *err)
{
	_cleanup_free_ struct cn_tr_syscall *run = NULL;
	_cleanup_free_ struct cursor *cursors = NULL;
	_cleanup_free_ struct cursor **heap = NULL;
	size_t nruns, nheap = 0;
	int rc = 0;

	flush(sp);
	nruns = (size_t)((sp->count + RUN_ENTRIES - 1) / RUN_ENTRIES);
	run = malloc(RUN_ENTRIES * sizeof(*run));
	cursors = calloc(nruns ? nruns : 1, sizeof(*cursors));
	heap = calloc(nruns ? nruns : 1, sizeof(*heap));
	if (!run || !cursors || !heap)
		return cn_fail(err, ENOMEM, "the syscall log");
	if (sort_runs(sp, run) < 0)
		return cn_fail(err, errno, "the syscall log: sort it in %s", sp->dir);
	free(steal_pointer(&run)); /* the merge needs only its cursors */
	for (size_t r = 0; r < nruns; r++) {
		struct cursor *c = &cursors[r];
		uint64_t first = (uint64_t)r * RUN_ENTRIES;

		c->off = (off_t)(first * sizeof(c->buf[0]));
		c->left = sp->count - first < RUN_ENTRIES ? sp->count - first : RUN_ENTRIES;
		if (cursor_fill(sp->fd, c) < 0)
			return cn_fail(err, errno, "the syscall log: read back from %s", sp->dir);
		heap[nheap++] = c;
	}
	for (size_t i = nheap / 2; i-- > 0;)
		sift_down(heap, nheap, i);
	while (nheap > 0 && rc == 0) {
		struct cursor *c = heap[0];

		rc = fn(arg, &c->buf[c->pos++]);
		if (cursor_fill(sp->fd, c) < 0)
			return cn_fail(err, errno, "the syscall log: read back from %s", sp->dir);
		if (c->n == 0)
			heap[0] = heap[--nheap];
		sift_down(heap, nheap, 0);
	}
	return rc;
}
