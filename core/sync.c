/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <unistd.h>

struct msg_header {
	uint32_t type;
	uint32_t len;
};

#define CN_MSG_PAYLOAD_MAX sizeof(struct cn_msg_error)

int cn_socketpair(int sv[2], struct cn_error *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cn_fail(err, errno, "socketpair");
	return 0;
}

static int send_with_fd(int sock, struct iovec *iov, size_t iovlen, int fd, struct cn_error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = iovlen};
	ssize_t n;

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cn_fail(err, errno, "sendmsg");
	return 0;
}

int cn_msg_send(int sock, uint32_t type, const void *payload, size_t len, int fd, struct cn_error *err)
{
	struct msg_header h = {.type = type, .len = (uint32_t)len};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};

	return send_with_fd(sock, iov, len ? 2 : 1, fd, err);
}

int cn_send_fd_to_socket_path(const char *path, const char *what, const char *payload, int fd, struct cn_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct iovec iov = {(void *)payload, strlen(payload)};
	int sock, rc;

	if (strlen(path) >= sizeof(addr.sun_path))
		return cn_fail(err, ENAMETOOLONG, "%s %s", what, path);
	strcpy(addr.sun_path, path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return cn_fail(err, errno, "%s %s: socket", what, path);
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = cn_fail(err, errno, "%s %s: connect", what, path);
	} else {
		rc = send_with_fd(sock, &iov, 1, fd, err);
		if (rc < 0)
			cn_prefix(err, "%s %s: ", what, path);
	}
	close(sock);
	return rc;
}

int cn_msg_recv(int sock, void *payload, size_t cap, size_t *len, int *fd, struct cn_error *err)
{
	struct msg_header h;
	char data[CN_MSG_PAYLOAD_MAX];
	struct iovec iov[2] = {{&h, sizeof(h)}, {data, sizeof(data)}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	ssize_t n;

	if (fd)
		*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cn_fail(err, errno, "recvmsg");
	if (n == 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int passed;
			memcpy(&passed, CMSG_DATA(c), sizeof(int));
			if (fd && *fd < 0)
				*fd = passed;
			else
				close(passed); /* nobody asked for it: never leak an fd a peer sends */
		}
	}
	if ((size_t)n < sizeof(h) || h.len != (size_t)n - sizeof(h) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return cn_fail(err, EPROTO, "malformed message from a launch process");
	if (h.type == 0)
		return cn_fail(err, EPROTO, "message of type 0");
	if (h.type == CN_MSG_ERROR) {
		struct cn_msg_error *e = (struct cn_msg_error *)data;
		if (h.len != sizeof(*e))
			return cn_fail(err, EPROTO, "malformed error message");
		e->msg[sizeof(e->msg) - 1] = '\0';
		err->errnum = e->errnum;
		err->exit_code = e->exit_code;
		memcpy(err->msg, e->msg, sizeof(err->msg));
		return CN_MSG_ERROR;
	}
	if (h.len > cap)
		return cn_fail(err, EPROTO, "message of type %u carries %u bytes, %zu expected", h.type, h.len, cap);
	if (h.len)
		memcpy(payload, data, h.len);
	if (len)
		*len = h.len;
	return (int)h.type;
}

int cn_msg_expect(int sock, uint32_t want, void *payload, size_t cap, int *fd, const char *who, struct cn_error *err)
{
	size_t len = 0;
	int type = cn_msg_recv(sock, payload, cap, &len, fd, err);

	if (type < 0 || type == CN_MSG_ERROR)
		return -1;
	if (type == 0)
		return cn_fail(err, 0, "%s exited before it was ready", who);
	if ((uint32_t)type != want || len != cap) {
		if (fd && *fd >= 0)
			close(*fd);
		return cn_fail(err, EPROTO, "%s sent message %d, %u expected", who, type, want);
	}
	return 0;
}

void cn_msg_send_error(int sock, const struct cn_error *err)
{
	struct cn_msg_error e = {.errnum = err->errnum, .exit_code = err->exit_code};
	struct cn_error ignored;

	memcpy(e.msg, err->msg, sizeof(e.msg));
	cn_msg_send(sock, CN_MSG_ERROR, &e, sizeof(e), -1, &ignored);
}
