/* SPDX-License-Identifier: Apache-2.0
 *
 * Growing arrays for the readers of saved traces and policies (trace/doc.c,
 * trace/policy.c, trace/diff.c): a trace or a policy is small, so running out
 * of memory is reported and ends cntrace rather than being a code path.
 */
#ifndef CN_TRACE_GROW_H
#define CN_TRACE_GROW_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void *cn_xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		fputs("cntrace: out of memory\n", stderr);
		exit(125);
	}
	return p;
}

/* Append one zeroed element to a growing array; evaluates to its address. */
#define CN_PUSH(arr, n, cap)                                                     \
	(((n) == (cap) ? ((cap) = (cap) ? 2 * (cap) : 8,                         \
			  (arr) = cn_xrealloc((arr), (cap) * sizeof(*(arr))))    \
		       : (arr)),                                                 \
	 memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

#endif
