/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "subid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

int cn_subid_ranges(const char *file, const char *name, uint32_t id, struct cn_id_map *out, size_t max,
		    struct cn_error *err)
{
	_cleanup_free_ char *text = cn_read_text_file(file, 1u << 20, err);
	char idbuf[16], *save = NULL;
	uint32_t next_container = 1;
	size_t n = 0;

	if (!text)
		return err->errnum == ENOENT ? 0 : -1;
	snprintf(idbuf, sizeof(idbuf), "%" PRIu32, id);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *owner = line, *start, *count;
		struct cn_id_map r;

		if (*line == '#' || !(start = strchr(owner, ':')) || !(count = strchr(start + 1, ':')))
			continue;
		*start++ = '\0';
		*count++ = '\0';
		if (strcmp(owner, idbuf) != 0 && (!name || strcmp(owner, name) != 0))
			continue;
		if (cn_parse_u32(start, UINT32_MAX, &r.host_id) < 0 || cn_parse_u32(count, UINT32_MAX, &r.size) < 0 || r.size == 0 ||
		    (uint64_t)r.host_id + r.size > UINT32_MAX)
			return cn_fail(err, 0, "%s: malformed range for %s", file, owner);
		if (n == max)
			break;
		r.container_id = next_container;
		if ((uint64_t)next_container + r.size > UINT32_MAX)
			break;
		next_container += r.size;
		out[n++] = r;
	}
	return (int)n;
}

static bool inside(uint32_t host, uint32_t size, uint32_t own, const struct cn_id_map *ranges, size_t n_ranges)
{
	if (size == 1 && host == own)
		return true;
	for (size_t i = 0; i < n_ranges; i++)
		if (host >= ranges[i].host_id && (uint64_t)host + size <= (uint64_t)ranges[i].host_id + ranges[i].size)
			return true;
	return false;
}

int cn_subid_check_maps(const struct cn_id_map *maps, size_t n, uint32_t own, const struct cn_id_map *ranges,
			size_t n_ranges, const char *what, struct cn_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!inside(maps[i].host_id, maps[i].size, own, ranges, n_ranges))
			return cn_fail(err, 0, "linux.%sMappings[%zu]: host ids %u-%u are neither the caller's own "
					       "nor in its subordinate ranges",
				       what, i, maps[i].host_id, maps[i].host_id + maps[i].size - 1);
	return 0;
}
