/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "rpc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "creds.h"
#include "sync.h"

#define CN_RPC_METHODS_MAX 32

static const struct cn_rpc_method *methods[CN_RPC_METHODS_MAX];
static size_t n_methods;

void cn_rpc_register(const struct cn_rpc_method *method)
{
	if (n_methods < CN_RPC_METHODS_MAX && !cn_rpc_find(method->id))
		methods[n_methods++] = method;
}

const struct cn_rpc_method *cn_rpc_find(uint32_t id)
{
	for (size_t i = 0; i < n_methods; i++)
		if (methods[i]->id == id)
			return methods[i];
	return NULL;
}

uint64_t cn_rpc_caps_needed(void)
{
	uint64_t caps = 0;

	for (size_t i = 0; i < n_methods; i++)
		caps |= methods[i]->caps;
	return caps;
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static int serve_one(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	const struct cn_rpc_method *m = cn_rpc_find(req->method);
	struct cn_error lower_err;
	int rc;

	if (!m)
		return cn_fail(err, ENOSYS, "RPC method %u is not served", req->method);
	if (!terminated(req->path, sizeof(req->path)) || !terminated(req->source, sizeof(req->source)) ||
	    !terminated(req->fstype, sizeof(req->fstype)) || !terminated(req->options, sizeof(req->options)))
		return cn_fail(err, EPROTO, "RPC %s: unterminated argument", m->name);
	if (m->caps && cn_creds_set_effective(m->caps, err) < 0)
		return cn_prefix(err, "RPC %s: ", m->name);
	rc = m->serve(srv, req, err);
	/* Lower again whatever happened: the next request starts from nothing. */
	if (m->caps && cn_creds_set_effective(0, &lower_err) < 0) {
		*err = lower_err;
		return -1;
	}
	return rc;
}

int cn_rpc_serve(struct cn_rpc_server *srv, struct cn_error *err)
{
	static struct cn_rpc_request req; /* 10 KiB: not on the stack of a forked helper */

	for (;;) {
		struct cn_msg_error reply = {0};
		struct cn_error call_err = {0};
		ssize_t n;

		do
			n = recv(srv->sock, &req, sizeof(req), 0);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			return 0;
		if (n < 0)
			return cn_fail(err, errno, "RPC server: recv");
		if ((size_t)n != sizeof(req))
			return cn_fail(err, EPROTO, "RPC server: request of %zd bytes", n);
		if (serve_one(srv, &req, &call_err) < 0) {
			reply.errnum = call_err.errnum ? call_err.errnum : EINVAL;
			memcpy(reply.msg, call_err.msg, sizeof(reply.msg));
		}
		if (send(srv->sock, &reply, sizeof(reply), MSG_NOSIGNAL) < 0)
			return cn_fail(err, errno, "RPC server: send");
	}
}

int cn_rpc_call(struct cn_rpc_client *c, const struct cn_rpc_request *req, struct cn_error *err)
{
	struct cn_msg_error reply;
	ssize_t n;

	if (send(c->sock, req, sizeof(*req), MSG_NOSIGNAL) < 0)
		return cn_fail(err, errno, "RPC call: send");
	do
		n = recv(c->sock, &reply, sizeof(reply), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return cn_fail(err, 0, "the RPC server died");
	if (n < 0)
		return cn_fail(err, errno, "RPC call: recv");
	if ((size_t)n != sizeof(reply))
		return cn_fail(err, EPROTO, "RPC call: reply of %zd bytes", n);
	if (reply.errnum) {
		reply.msg[sizeof(reply.msg) - 1] = '\0';
		err->errnum = reply.errnum;
		err->exit_code = 0;
		memcpy(err->msg, reply.msg, sizeof(err->msg));
		return -1;
	}
	return 0;
}

int cn_rpc_call_simple(struct cn_rpc_client *c, uint32_t method, const char *path, struct cn_error *err)
{
	static struct cn_rpc_request req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	if (path && strlen(path) >= sizeof(req.path))
		return cn_fail(err, ENAMETOOLONG, "%s", path);
	if (path)
		strcpy(req.path, path);
	return cn_rpc_call(c, &req, err);
}
