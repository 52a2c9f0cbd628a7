/* SPDX-License-Identifier: Apache-2.0
 *
 * Reading a BPF ring buffer through a sliding window.
 *
 * libbpf's reader maps the whole data area twice, and the kernel fills in
 * every page at mmap time: a 16 MiB events ring made 32 MiB of cntrace's RSS,
 * the 64 MiB syscall log 128 MiB more. This reader maps the producer and
 * consumer pages and a window of the data area that follows the consumer, so
 * the rings can be as large as loss-free tracing needs while cntrace's memory
 * stays a few hundred KiB for them.
 */
#ifndef CN_TRACE_RING_H
#define CN_TRACE_RING_H

#include <stddef.h>

#include "error.h"

struct cn_ring;

/* One record: return 0 to go on, anything else stops cn_ring_consume there. */
typedef int (*cn_ring_fn)(void *ctx, void *data, size_t size);

/* A reader of the BPF_MAP_TYPE_RINGBUF map_fd (which stays the caller's). */
struct cn_ring *cn_ring_new(int map_fd, cn_ring_fn fn, void *ctx, struct cn_error *err);
void cn_ring_free(struct cn_ring *r);

/* The fd to poll for EPOLLIN: the map's own. */
int cn_ring_fd(const struct cn_ring *r);

/* Every record committed so far, in order; returns how many, or -errno. */
long cn_ring_consume(struct cn_ring *r);

#endif
