/* SPDX-License-Identifier: Apache-2.0
 *
 * Resources that clean themselves up: a variable declared with one of these
 * attributes is released when it leaves scope, so error paths need no goto
 * ladder. Ownership leaves a function through steal_pointer() / steal_fd().
 */
#ifndef CN_CLEANUP_H
#define CN_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cn_freep(void *p)
{
	free(*(void **)p);
}

static inline void cn_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno; /* close() must not hide the errno being reported */
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(cn_freep)))
#define _cleanup_close_ __attribute__((cleanup(cn_closep)))

#define steal_pointer(pp)                          \
	({                                         \
		__typeof__(*(pp)) _stolen = *(pp); \
		*(pp) = NULL;                      \
		_stolen;                           \
	})

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif
