/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int cn_terminal_create(uint32_t rows, uint32_t cols, int *master, struct cn_error *err)
{
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	int ptm, pts;

	/* /dev/ptmx is the container's link to its own devpts instance: the host's is not reachable. */
	ptm = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ptm < 0)
		return cn_fail(err, errno, "process.terminal: open /dev/ptmx (the container needs a devpts mount at /dev/pts)");
	if (unlockpt(ptm) < 0) {
		cn_fail(err, errno, "process.terminal: unlockpt");
		goto fail;
	}
	/* The peer by fd, not by a path the container controls. */
	pts = ioctl(ptm, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (pts < 0) {
		cn_fail(err, errno, "process.terminal: ioctl(TIOCGPTPEER)");
		goto fail;
	}
	if ((rows && cols && ioctl(pts, TIOCSWINSZ, &ws) < 0) || setsid() < 0 || ioctl(pts, TIOCSCTTY, 0) < 0 ||
	    dup2(pts, 0) < 0 || dup2(pts, 1) < 0 || dup2(pts, 2) < 0) {
		cn_fail(err, errno, "process.terminal: make the pty the controlling terminal and stdio");
		if (pts > 2)
			close(pts);
		goto fail;
	}
	if (pts > 2)
		close(pts);
	*master = ptm;
	return 0;
fail:
	close(ptm);
	return -1;
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

void cn_console_relay_resize(struct cn_console_relay *r)
{
	struct winsize ws;

	if (r->stdin_tty && r->follow_size && ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(r->console, TIOCSWINSZ, &ws);
}

void cn_console_relay_begin(struct cn_console_relay *r, int console, bool follow_size)
{
	*r = (struct cn_console_relay){.console = console, .input_open = true, .follow_size = follow_size};
	r->stdin_tty = isatty(0) && tcgetattr(0, &r->saved) == 0;
	if (r->stdin_tty) {
		/* Raw: keys reach the container's line discipline untouched, ^C included. */
		struct termios raw = r->saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
}

bool cn_console_relay_output(struct cn_console_relay *r)
{
	char buf[8192];
	ssize_t n = read(r->console, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	/* EIO: every peer of the pty is closed. */
	return n > 0 && write_all(1, buf, (size_t)n);
}

void cn_console_relay_input(struct cn_console_relay *r)
{
	char buf[8192];
	ssize_t n = read(0, buf, sizeof(buf));
	struct termios t;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && write_all(r->console, buf, (size_t)n))
		return;
	r->input_open = false;
	/* A piped stdin ended: a canonical-mode reader in the container sees end-of-file. */
	if (n == 0 && tcgetattr(r->console, &t) == 0 && (t.c_lflag & ICANON))
		write_all(r->console, (const char *)&t.c_cc[VEOF], 1);
}

void cn_console_relay_end(struct cn_console_relay *r)
{
	struct pollfd pfd = {.fd = r->console, .events = POLLIN};

	/* Without a pid namespace a leftover process may hold the pty open: never block on it. */
	while (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN) && cn_console_relay_output(r))
		;
	if (r->stdin_tty)
		tcsetattr(0, TCSADRAIN, &r->saved);
}
