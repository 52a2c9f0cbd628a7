/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "configured.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "creds.h"
#include "json.h"
#include "names.h"

#define OUTPUT_MAX (4 << 20) /* a config.json is a few kB */

static const char *const sets[] = { "effective", "permitted", "inheritable", "bounding", "ambient" };

/* What the child reports when it could not run the launcher. */
struct child_report {
	int what; /* 1: become the user, 2: exec */
	int errnum;
};

/* The child: become the audited user exactly as the launch's gate does, then run the launcher. */
static __attribute__((noreturn)) void print_config_child(char *const *argv, const struct cn_tracer_opts *o,
							 int out, int errfd, int report)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct child_report r = { 0, 0 };

	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(125);
	if (o->as_user && ((o->user_name ? initgroups(o->user_name, o->gid) : setgroups(0, NULL)) ||
			   setresgid(o->gid, o->gid, o->gid) || setresuid(o->uid, o->uid, o->uid))) {
		r = (struct child_report){ 1, errno };
		(void)!write(report, &r, sizeof(r));
		_exit(125);
	}
	execv(argv[0], argv);
	r = (struct child_report){ 2, errno };
	(void)!write(report, &r, sizeof(r));
	_exit(127);
}

struct capture {
	char *buf;
	size_t len, cap;
};

static int capture_read(int fd, struct capture *c)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
	if (c->len + (size_t)n + 1 > c->cap) {
		size_t want = c->cap ? 2 * c->cap : 8192;
		char *p;

		while (want < c->len + (size_t)n + 1)
			want *= 2;
		if (want > OUTPUT_MAX)
			return 0;
		p = realloc(c->buf, want);
		if (!p)
			return 0;
		c->buf = p;
		c->cap = want;
	}
	memcpy(c->buf + c->len, chunk, (size_t)n);
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 1;
}

/* Read stdout and stderr of the child until both are closed. */
static void capture_both(int out, int errfd, struct capture *o, struct capture *e)
{
	struct pollfd p[2] = { { .fd = out, .events = POLLIN }, { .fd = errfd, .events = POLLIN } };

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++)
			if (p[i].fd >= 0 && p[i].revents && !capture_read(p[i].fd, i == 0 ? o : e))
				p[i].fd = -1;
	}
}

/* The launcher's last line on stderr, without "cnlaunch: " or the newline. */
static const char *last_line(struct capture *e)
{
	char *line;

	if (!e->buf)
		return NULL;
	while (e->len && (e->buf[e->len - 1] == '\n' || e->buf[e->len - 1] == ' '))
		e->buf[--e->len] = '\0';
	line = strrchr(e->buf, '\n') ? strrchr(e->buf, '\n') + 1 : e->buf;
	return *line ? line : NULL;
}

static struct json_object *configured_from(struct json_object *config, struct cn_error *err)
{
	struct json_object *process, *user, *caps = NULL, *uid, *gid;
	_cleanup_json_ struct json_object *out = json_object_new_object();
	struct json_object *outcaps;

	if (!json_object_object_get_ex(config, "process", &process) ||
	    !json_object_object_get_ex(process, "user", &user) || !json_object_object_get_ex(user, "uid", &uid) ||
	    !json_object_is_type(uid, json_type_int))
		return cn_fail(err, 0, "cannot learn the launch's configuration: --print-config gave no "
				       "process.user.uid"),
		       NULL;
	json_object_object_add(out, "uid", json_object_new_int64(json_object_get_int64(uid)));
	json_object_object_add(out, "gid", json_object_new_int64(json_object_object_get_ex(user, "gid", &gid)
									 ? json_object_get_int64(gid)
									 : 0));
	outcaps = json_object_new_object();
	json_object_object_add(out, "caps", outcaps);
	json_object_object_get_ex(process, "capabilities", &caps);
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		struct json_object *list = NULL;
		uint64_t set = 0;

		if (caps)
			json_object_object_get_ex(caps, sets[s], &list);
		for (size_t i = 0; list && i < json_object_array_length(list); i++) {
			const char *name = json_object_get_string(json_object_array_get_idx(list, i));
			int cap = name ? cn_cap_from_name(name) : -1;

			if (cap < 0)
				return cn_fail(err, 0,
					       "cannot learn the launch's configuration: --print-config gave "
					       "process.capabilities.%s[%zu]: unknown capability",
					       sets[s], i),
				       NULL;
			set |= 1ull << cap;
		}
		json_object_object_add(outcaps, sets[s], cn_capset_to_json(set));
	}
	return steal_pointer(&out);
}

static void close_pair(int p[2])
{
	close(p[0]);
	close(p[1]);
}

int cn_configured_start(char *const *argv, const struct cn_tracer_opts *opts, struct cn_configured_child *child,
			struct cn_error *err)
{
	_cleanup_free_ char **full = NULL;
	int outp[2], errp[2], repp[2];
	size_t n = 0, k = 0;
	pid_t pid;

	child->pid = -1;
	child->launcher = argv[0];
	child->opts = opts;
	while (argv[n])
		n++;
	full = calloc(n + 2, sizeof(char *));
	if (!full)
		return cn_fail(err, ENOMEM, "--print-config");
	/* the option goes before the first "--": after it, it would be the command's */
	for (size_t i = 0; i < n; i++) {
		if (k == i && strcmp(argv[i], "--") == 0)
			full[k++] = (char *)"--print-config";
		full[k++] = argv[i];
	}
	if (k == n)
		full[k++] = (char *)"--print-config";
	if (pipe2(outp, O_CLOEXEC) < 0)
		return cn_fail(err, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close_pair(outp);
		return cn_fail(err, errno, "pipe");
	}
	if (pipe2(repp, O_CLOEXEC) < 0) {
		close_pair(outp);
		close_pair(errp);
		return cn_fail(err, errno, "pipe");
	}
	pid = fork();
	if (pid == 0)
		print_config_child(full, opts, outp[1], errp[1], repp[1]);
	close(outp[1]);
	close(errp[1]);
	close(repp[1]);
	if (pid < 0) {
		close(outp[0]);
		close(errp[0]);
		close(repp[0]);
		return cn_fail(err, errno, "fork");
	}
	child->pid = pid;
	child->out = outp[0];
	child->err = errp[0];
	child->report = repp[0];
	return 0;
}

int cn_configured_finish(struct cn_configured_child *child, struct cn_configured *out, struct cn_error *err)
{
	struct capture cout = { 0 }, cerr = { 0 };
	_cleanup_json_ struct json_object *config = NULL;
	const struct cn_tracer_opts *opts = child->opts;
	struct child_report report;
	int status = 0, rc = -1;
	ssize_t got;

	out->json = NULL;
	out->refused[0] = '\0';
	capture_both(child->out, child->err, &cout, &cerr);
	close(child->out);
	close(child->err);
	while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR)
		;
	child->pid = -1;
	do
		got = read(child->report, &report, sizeof(report));
	while (got < 0 && errno == EINTR);
	close(child->report);
	if (got == (ssize_t)sizeof(report)) {
		if (report.what == 1)
			cn_fail(err, report.errnum,
				"cannot learn the launch's configuration: cannot become uid %u gid %u",
				(unsigned)opts->uid, (unsigned)opts->gid);
		else
			cn_fail(err, report.errnum, "cannot learn the launch's configuration: cannot run %s",
				child->launcher);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *why = last_line(&cerr);

		if (WIFEXITED(status) && why) {
			/* the launcher refused the configuration: the launch will too */
			snprintf(out->refused, sizeof(out->refused), "%s", why);
			rc = 0;
		} else {
			cn_fail(err, 0, "cannot learn the launch's configuration: %s --print-config %s %d",
				child->launcher, WIFEXITED(status) ? "exited with" : "was killed by signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		}
		goto out;
	}
	config = cout.buf ? json_tokener_parse(cout.buf) : NULL;
	if (!config || !json_object_is_type(config, json_type_object)) {
		cn_fail(err, 0, "cannot learn the launch's configuration: %s --print-config printed no JSON object",
			child->launcher);
		goto out;
	}
	out->json = configured_from(config, err);
	rc = out->json ? 0 : -1;
out:
	free(cout.buf);
	free(cerr.buf);
	return rc;
}

void cn_configured_abandon(struct cn_configured_child *child)
{
	if (child->pid < 0)
		return;
	kill(child->pid, SIGKILL);
	while (waitpid(child->pid, NULL, 0) < 0 && errno == EINTR)
		;
	child->pid = -1;
	close(child->out);
	close(child->err);
	close(child->report);
}

void cn_configured_clear(struct cn_configured *c)
{
	if (c->json)
		json_object_put(c->json);
	c->json = NULL;
	c->refused[0] = '\0';
}

void cn_configured_attach(struct json_object *trace, const struct cn_configured *c)
{
	struct json_object *launch;

	if (!json_object_object_get_ex(trace, "launch", &launch))
		return;
	if (c->json) {
		json_object_object_add(launch, "configured", json_object_get(c->json));
	} else if (c->refused[0]) {
		json_object_object_add(launch, "configured", NULL);
		json_object_object_add(launch, "configured_error", json_object_new_string(c->refused));
	}
}
