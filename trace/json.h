/* SPDX-License-Identifier: Apache-2.0
 *
 * The JSON trace: the model out (schema "cntrace.trace/1"), a saved trace in.
 */
#ifndef CN_TRACE_JSON_H
#define CN_TRACE_JSON_H

#include <json-c/json.h>

#include "error.h"
#include "model.h"

#define CN_TRACE_SCHEMA "cntrace.trace/1"

#ifndef _cleanup_json_
static inline void cn_json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(cn_json_putp)))
#endif

/* The whole document; the caller owns it (json_object_put). */
struct json_object *cn_trace_to_json(const struct cn_trace *tr);
/* The text the writer produces: pretty, two-space indented, stable key order. */
const char *cn_json_string(struct json_object *doc);
/* o.key, or NULL (also when o is NULL): for readers that take a missing member as absent. */
struct json_object *cn_json_get(struct json_object *o, const char *key);
/* Write doc to path ("-": stdout). */
int cn_json_write(struct json_object *doc, const char *path, struct cn_error *err);
/*
 * Write doc, the trace of tr, to path ("-": stdout): with a spooled syscall log
 * (tr->log), the log follows as the document's last member, streamed from the
 * spool, in the same text cn_json_string() would give for the whole. A path
 * that does not exist yet is created whole or not at all.
 */
int cn_json_write_trace(struct json_object *doc, const struct cn_trace *tr, const char *path, struct cn_error *err);
/* A whole JSON file; NULL with one line in err when it is unreadable, not JSON, or has
 * anything after its document. */
struct json_object *cn_json_read_file(const char *path, struct cn_error *err);
/* A saved trace; NULL with err set when it is unreadable or not a cntrace trace. */
struct json_object *cn_json_read(const char *path, struct cn_error *err);

#endif
