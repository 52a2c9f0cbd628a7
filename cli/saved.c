/* SPDX-License-Identifier: Apache-2.0
 *
 * cntrace seccomp-profile, diff and report --html: argument parsing and
 * output; the work is in trace/allowlist.c, trace/diff.c and trace/html.c.
 */
#define _GNU_SOURCE
#include "saved.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allowlist.h"
#include "cleanup.h"
#include "diff.h"
#include "error.h"
#include "html.h"
#include "json.h"

#define EXIT_CANNOT 125

static const char seccomp_help[] =
	"usage: cntrace seccomp-profile [--stage NAME]... [--default-action errno|kill] [-o FILE] TRACE.json\n"
	"\n"
	"Write an OCI seccomp profile (the linux.seccomp object of a config.json, what\n"
	"`cnlaunch --seccomp FILE`, runc and crun take) that allows the syscalls a traced\n"
	"launch made in a stage, and nothing else.\n"
	"\n"
	"  --stage NAME          whose syscalls the profile allows; repeat it for the union.\n"
	"                        StartProcess (the default): the stage in which a runtime loads\n"
	"                        the container's filter, plus everything the container's command\n"
	"                        did from its execve on, and its children: the filter stays on them.\n"
	"                        container: only the command from its execve on (enough for a\n"
	"                        runtime that loads the filter right before execve).\n"
	"                        Config, InitConfig, ..., CleanupHost: that stage, in every process.\n"
	"  --default-action errno|kill\n"
	"                        what a syscall outside the profile gets: errno (default): it fails\n"
	"                        with EPERM; kill: the process dies of SIGSYS (SCMP_ACT_KILL_PROCESS)\n"
	"  -o, --output FILE     write the profile to FILE (default: stdout)\n"
	"\n"
	"The names are sorted, one rule with action SCMP_ACT_ALLOW; the architectures are the\n"
	"traced machine's and the ABIs its kernel runs beside it, as runc's default profile has\n"
	"them (x86_64: SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32).\n"
	"\n"
	"  sudo cntrace run -q -o app.json -- /bin/app\n"
	"  cntrace seccomp-profile -o app-seccomp.json app.json\n"
	"  sudo cnlaunch --seccomp app-seccomp.json -- /bin/app     # the same run, confined\n"
	"\n"
	"A trace shows what one run did: a path that run did not take (an error handler, another\n"
	"option) may need more. Trace the runs you mean to allow and give each trace's profile a look.\n"
	"Exit: 0; 2 with one line on bad input (no such file, not a trace, a stage the trace does\n"
	"not have, a trace that lost events: a profile from it could miss what the container needs);\n"
	"125 when FILE cannot be written. FILE appears whole or not at all.\n";

static const char diff_help[] =
	"usage: cntrace diff [--format text|json] A.json B.json\n"
	"\n"
	"What changed in privilege from trace A to trace B, per stage (a stage run by two roles,\n"
	"like Config in stage1 and in the master, is two), for the container (its command from its\n"
	"execve on, and its children) and outside any stage (the launcher's own exec):\n"
	"  new raises                a uid that became 0 or a capability added to a set, per\n"
	"                            syscall, that A's same stage did not have\n"
	"  new host capability uses  granted checks in the initial user namespace that a syscall\n"
	"                            asked for (not the kernel's own, see policy/README.md)\n"
	"  new syscalls              by name\n"
	"  final creds               the stage's last exit creds; a gain when B's hold more: a raise,\n"
	"                            a bounding set that grew, no_new_privs or a seccomp filter lost\n"
	"What B no longer does is shown, never counted. Traces without stages (`cntrace exec` of\n"
	"a launcher without cnlaunch's probes) are compared per program image instead.\n"
	"\n"
	"  --format text|json    text (default), or one JSON document (schema cntrace.diff/1)\n"
	"\n"
	"Exit: 0 when B gained nothing A did not have; 1 when it did; 2 on bad input. The CI gate\n"
	"\"did this change make our launcher need more privilege?\":\n"
	"  sudo cntrace run -q -o main.json --launcher ./main/cnlaunch -- true\n"
	"  sudo cntrace run -q -o branch.json --launcher ./branch/cnlaunch -- true\n"
	"  cntrace diff main.json branch.json\n";

/* A bad command line: one line, as cntrace.c's usage() writes it. */
static int bad_usage(const char *cmd, const char *what, const char *arg)
{
	struct cn_error err;

	cn_fail(&err, 0, what, arg);
	fprintf(stderr, "cntrace: %s: %s (see cntrace %s --help)\n", cmd, err.msg, cmd);
	return CN_EXIT_BAD_INPUT;
}

/* "--opt VALUE", "--opt=VALUE" (and "-o FILE", "-oFILE" when short is 'o'); NULL when a is not opt,
 * or when it is and its value is missing: then *missing is set (the caller clears it per argument). */
static const char *value_of(int argc, char **argv, int *i, const char *opt, char short_opt, bool *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(opt);

	if (short_opt && a[0] == '-' && a[1] == short_opt) {
		if (a[2])
			return a + 2;
	} else if (strncmp(a, opt, n) == 0 && a[n] == '=') {
		return a + n + 1;
	} else if (strcmp(a, opt) != 0) {
		return NULL;
	}
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/*
 * text to path ("-": stdout), whole or not at all: a temp file beside it,
 * renamed over it once written, so that a failed run leaves nothing behind.
 * What is there and not a plain file (/dev/stdout, a pipe, a symlink) is
 * written in place: renaming over it would replace it.
 */
static int write_whole(const char *path, const char *text, struct cn_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	size_t len = strlen(text);
	struct stat st;
	mode_t mask;
	int fd;

	if (strcmp(path, "-") == 0) {
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
			return cn_fail(err, errno, "write to stdout");
		return 0;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fd < 0)
			return cn_fail(err, errno, "%s", path);
		if (write(fd, text, len) != (ssize_t)len) {
			cn_fail(err, errno ? errno : EIO, "%s: write", path);
			close(fd);
			return -1;
		}
		return close(fd) < 0 ? cn_fail(err, errno, "%s: write", path) : 0;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return cn_fail(err, ENOMEM, "%s", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return cn_fail(err, errno, "%s", path);
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		cn_fail(err, errno ? errno : EIO, "%s: write", path);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		cn_fail(err, errno, "%s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cn_cmd_seccomp_profile(int argc, char **argv)
{
	const char *out = "-", *trace_path = NULL, *v;
	_cleanup_free_ const char **stages = calloc((size_t)argc, sizeof(char *));
	_cleanup_json_ struct json_object *doc = NULL, *profile = NULL, *skipped = NULL;
	struct cn_allowlist_opts o = { 0 };
	_cleanup_free_ char *text = NULL;
	struct cn_error err;
	bool missing;

	cn_error_clear(&err);
	if (!stages)
		return bad_usage("seccomp-profile", "%s", strerror(ENOMEM));
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		missing = false;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(seccomp_help, stdout);
			return 0;
		}
		if ((v = value_of(argc, argv, &i, "--stage", 0, &missing))) {
			if (!cn_allowlist_stage_known(v))
				return bad_usage("seccomp-profile",
						 "--stage: \"%s\" is not a stage (Config ... CleanupHost, or container)", v);
			stages[o.nstages++] = v;
		} else if ((v = value_of(argc, argv, &i, "--output", 'o', &missing))) {
			out = v;
		} else if ((v = value_of(argc, argv, &i, "--default-action", 0, &missing))) {
			if (strcmp(v, "errno") != 0 && strcmp(v, "kill") != 0)
				return bad_usage("seccomp-profile", "--default-action: \"%s\" is not errno or kill", v);
			o.kill = strcmp(v, "kill") == 0;
		} else if (missing) {
			return bad_usage("seccomp-profile", "%s needs a value", a);
		} else if (a[0] == '-' && a[1]) {
			return bad_usage("seccomp-profile", "unknown option %s", a);
		} else if (trace_path) {
			return bad_usage("seccomp-profile", "%s", "give one TRACE.json");
		} else {
			trace_path = a;
		}
	}
	if (!trace_path)
		return bad_usage("seccomp-profile", "%s", "give one TRACE.json");
	o.stages = stages;
	doc = cn_json_read(trace_path, &err);
	profile = doc ? cn_allowlist_build(doc, trace_path, &o, &skipped, &err) : NULL;
	if (!profile) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return CN_EXIT_BAD_INPUT;
	}
	for (size_t i = 0; skipped && i < json_object_array_length(skipped); i++)
		fprintf(stderr, "cntrace: warning: %s: syscall \"%s\" has no name libseccomp knows: left out\n",
			trace_path, json_object_get_string(json_object_array_get_idx(skipped, i)));
	if (asprintf(&text, "%s\n", cn_json_string(profile)) < 0)
		return EXIT_CANNOT;
	if (write_whole(out, text, &err) < 0) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return EXIT_CANNOT;
	}
	return 0;
}

int cn_cmd_diff(int argc, char **argv)
{
	const char *paths[2] = { NULL, NULL }, *format = "text", *v;
	_cleanup_json_ struct json_object *a = NULL, *b = NULL, *diff = NULL;
	struct cn_error err;
	int n = 0;
	bool missing;

	cn_error_clear(&err);
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];

		missing = false;
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(diff_help, stdout);
			return 0;
		}
		if ((v = value_of(argc, argv, &i, "--format", 0, &missing))) {
			if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0)
				return bad_usage("diff", "--format: \"%s\" is not text or json", v);
			format = v;
		} else if (missing) {
			return bad_usage("diff", "%s needs a value", arg);
		} else if (arg[0] == '-' && arg[1]) {
			return bad_usage("diff", "unknown option %s", arg);
		} else if (n == 2) {
			return bad_usage("diff", "%s", "give two traces, A.json B.json");
		} else {
			paths[n++] = arg;
		}
	}
	if (n != 2)
		return bad_usage("diff", "%s", "give two traces, A.json B.json");
	if (!(a = cn_json_read(paths[0], &err)) || !(b = cn_json_read(paths[1], &err)) ||
	    !(diff = cn_diff_traces(a, paths[0], b, paths[1], &err))) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return CN_EXIT_BAD_INPUT;
	}
	if (strcmp(format, "json") == 0)
		printf("%s\n", cn_json_string(diff));
	else
		cn_diff_print_text(stdout, diff);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "cntrace: write to stdout: %s\n", strerror(errno));
		return CN_EXIT_BAD_INPUT;
	}
	return cn_diff_gained(diff) ? 1 : 0;
}

int cn_cmd_report_html(const char *out, const char *trace_path)
{
	_cleanup_json_ struct json_object *doc = NULL;
	_cleanup_free_ char *html = NULL;
	struct cn_error err;

	cn_error_clear(&err);
	doc = cn_json_read(trace_path, &err);
	html = doc ? cn_html_report(doc, trace_path, &err) : NULL;
	if (!html || write_whole(out, html, &err) < 0) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return EXIT_CANNOT;
	}
	return 0;
}
