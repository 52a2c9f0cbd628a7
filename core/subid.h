/* SPDX-License-Identifier: Apache-2.0
 *
 * Subordinate ids (/etc/subuid, /etc/subgid, as shadow-utils writes them):
 * the host ranges a user may map into a user namespace in the fakeroot flow.
 */
#ifndef CN_SUBID_H
#define CN_SUBID_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

#define CN_SUBID_RANGES_MAX 32

/* The ranges of `file` whose owner is `name` or the number `id`, as maps
 * starting at container id 1 (container id 0 is the caller itself). Returns how
 * many; 0 when the user has none. */
int cn_subid_ranges(const char *file, const char *name, uint32_t id, struct cn_id_map *out, size_t max,
		    struct cn_error *err);
/* Whether every host id that `maps` maps is `own` or inside one of the user's ranges. */
int cn_subid_check_maps(const struct cn_id_map *maps, size_t n, uint32_t own, const struct cn_id_map *ranges,
			size_t n_ranges, const char *what, struct cn_error *err);

#endif
