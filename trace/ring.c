/* SPDX-License-Identifier: Apache-2.0 */
#include "ring.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"

/* The kernel's record header (include/uapi/linux/bpf.h; kernel/bpf/ringbuf.c). */
#ifndef BPF_RINGBUF_HDR_SZ
#define BPF_RINGBUF_BUSY_BIT (1U << 31)
#define BPF_RINGBUF_DISCARD_BIT (1U << 30)
#define BPF_RINGBUF_HDR_SZ 8
#endif

/* How much of the data area is mapped at a time: a few hundred records of any kind. */
#define WINDOW (256u << 10)

struct cn_ring {
	int map_fd;
	size_t page;
	uint64_t size;              /* the data area: a power of 2 */
	uint64_t *consumer_pos;     /* ours to write: its own page */
	const uint64_t *producer_pos;
	const uint8_t *win;         /* data[win_off, win_off + win_len) (the kernel maps the area twice) */
	uint64_t win_off;
	size_t win_len;
	cn_ring_fn fn;
	void *ctx;
};

struct cn_ring *cn_ring_new(int map_fd, cn_ring_fn fn, void *ctx, struct cn_error *err)
{
	_cleanup_free_ struct cn_ring *r = calloc(1, sizeof(*r));
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	void *p;

	if (!r)
		return cn_fail(err, ENOMEM, "ring buffer reader"), NULL;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0)
		return cn_fail(err, errno, "ring buffer: map info"), NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries || (info.max_entries & (info.max_entries - 1)))
		return cn_fail(err, EINVAL, "ring buffer: not a ring buffer map"), NULL;
	r->map_fd = map_fd;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = info.max_entries;
	r->fn = fn;
	r->ctx = ctx;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return cn_fail(err, errno, "ring buffer: map the consumer page"), NULL;
	r->consumer_pos = p;
	p = mmap(NULL, r->page, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
	if (p == MAP_FAILED) {
		cn_fail(err, errno, "ring buffer: map the producer page");
		munmap(r->consumer_pos, r->page);
		return NULL;
	}
	r->producer_pos = p;
	return steal_pointer(&r);
}

void cn_ring_free(struct cn_ring *r)
{
	if (!r)
		return;
	if (r->win)
		munmap((void *)r->win, r->win_len);
	munmap(r->consumer_pos, r->page);
	munmap((void *)r->producer_pos, r->page);
	free(r);
}

int cn_ring_fd(const struct cn_ring *r)
{
	return r->map_fd;
}

/* Bytes [pos, pos + need) of the ring, mapped; NULL with errno when the window cannot move. */
static const uint8_t *at(struct cn_ring *r, uint64_t pos, size_t need)
{
	uint64_t off = pos & (r->size - 1), start;
	size_t len;
	void *p;

	if (r->win && off >= r->win_off && off + need <= r->win_off + r->win_len)
		return r->win + (off - r->win_off);
	/* the data follows the producer page twice over: a window may run past the end once */
	start = off & ~((uint64_t)r->page - 1);
	len = WINDOW;
	if (len > 2 * r->size - start)
		len = (size_t)(2 * r->size - start);
	if (off - start + need > len) {
		errno = EMSGSIZE; /* a record larger than the ring: the kernel never writes one */
		return NULL;
	}
	if (r->win)
		munmap((void *)r->win, r->win_len);
	r->win = NULL;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, r->map_fd, (off_t)(2 * r->page + start));
	if (p == MAP_FAILED)
		return NULL;
	r->win = p;
	r->win_off = start;
	r->win_len = len;
	return r->win + (off - start);
}

/*
 * The consumer position tells the producers how much room is left: it is
 * published every RELEASE_EVERY bytes and when we stop, not after every record
 * (each store pulled its cache line away from the CPU that produces, which
 * reads it at every reservation: ~100 ns a record at storm rates).
 */
#define RELEASE_EVERY (64u << 10)

static void release(struct cn_ring *r, uint64_t cons)
{
	__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
}

long cn_ring_consume(struct cn_ring *r)
{
	uint64_t cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE), released = cons;
	long n = 0;
	bool more;

	do { /* what was committed while we read is read too */
		uint64_t prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);

		more = false;
		while (cons < prod) {
			const uint8_t *hdr = at(r, cons, BPF_RINGBUF_HDR_SZ);
			uint32_t len, size;

			if (!hdr) {
				release(r, cons);
				return -errno;
			}
			len = __atomic_load_n((const uint32_t *)hdr, __ATOMIC_ACQUIRE);
			if (len & BPF_RINGBUF_BUSY_BIT) { /* reserved, not committed yet: the rest waits */
				release(r, cons);
				return n;
			}
			size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				const uint8_t *rec = at(r, cons, BPF_RINGBUF_HDR_SZ + size);

				if (!rec) {
					release(r, cons);
					return -errno;
				}
				n++;
				if (r->fn(r->ctx, (void *)(rec + BPF_RINGBUF_HDR_SZ), size) != 0) {
					release(r, cons + ((BPF_RINGBUF_HDR_SZ + size + 7) & ~7u));
					return n;
				}
			}
			cons += (BPF_RINGBUF_HDR_SZ + size + 7) & ~7u;
			if (cons - released >= RELEASE_EVERY) {
				release(r, cons);
				released = cons;
			}
			more = true;
		}
	} while (more);
	release(r, cons);
	return n;
}
