/* SPDX-License-Identifier: Apache-2.0
 *
 * cntrace: argument parsing and dispatch only.
 *
 *   cntrace run    [trace options] [launch options] -- CMD [ARG...]
 *   cntrace exec   [trace options] -- PROGRAM [ARG...]
 *   cntrace report TRACE.json
 *   cntrace check  [--policy FILE] [--format text|json] [--junit FILE] TRACE.json
 *   cntrace seccomp-profile, diff, report --html: cli/saved.c
 *
 * Exit status of run and exec: the launch's (128+N for a signal); 125 with one
 * line when cntrace could not trace, in which case nothing ran; with --check,
 * 1 when a rule is violated and the launch itself succeeded. check: 0 when
 * every rule holds, 1 on a violation, 2 on bad input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "configured.h"
#include "error.h"
#include "json.h"
#include "policy.h"
#include "saved.h"
#include "spool.h"
#include "stages_ext.h"
#include "summary.h"
#include "tracer.h"

#define EXIT_CANNOT 125
#define EXIT_VIOLATION 1
#define EXIT_BAD_INPUT 2

#ifndef CN_DEFAULT_LAUNCHER
#define CN_DEFAULT_LAUNCHER ""
#endif
#ifndef CN_VERSION
#define CN_VERSION "0"
#endif

static const char usage_text[] =
	"usage: cntrace run [trace options] [launch options] -- CMD [ARG...]\n"
	"       cntrace exec [trace options] -- PROGRAM [ARG...]\n"
	"       cntrace report [--html FILE] TRACE.json\n"
	"       cntrace check [--policy FILE] [--format text|json] [--junit FILE] TRACE.json\n"
	"       cntrace seccomp-profile [--stage NAME] [--default-action errno|kill] [-o FILE] TRACE.json\n"
	"       cntrace diff [--format text|json] A.json B.json\n"
	"       (cntrace COMMAND --help: what each one does, with examples)\n"
	"\n"
	"trace options:\n"
	"  --as USER             run the launch as USER (name or uid), e.g. through a setuid cnlaunch\n"
	"  -o, --output FILE     write the JSON trace (schema cntrace.trace/1) to FILE ('-': stdout)\n"
	"  --syscalls counts|full  counts and errors per stage and process (default), or also every\n"
	"                        syscall with its arguments and return value (kept only with -o: it waits\n"
	"                        in an unlinked file beside the output, and is streamed into it)\n"
	"  --linger SEC          after the first process exits, wait up to SEC for the others (default 2)\n"
	"  --ring-buffer-size BYTES  the events ring buffer (a power of 2, 4096 to 1073741824; default\n"
	"                        8388608): a small one loses events under load, and the trace says so\n"
	"  -q, --quiet           no summary on stderr\n"
	"  --check[=POLICY]      check the trace against POLICY (default: the built-in policy) after\n"
	"                        the launch; exit 1 on a violation unless the launch itself failed\n"
	"  --format text|json    how --check reports, on stderr (default text)\n"
	"  --junit FILE          also write the check as JUnit XML to FILE\n"
	"  --stage NAME=BINARY:SYMBOL  (exec) a stage of a launcher without probes: a thread enters NAME\n"
	"                        when it calls SYMBOL in BINARY (a program, a path, or a library such as\n"
	"                        libc.so.6), and leaves it at the next stage, its exec or its exit;\n"
	"                        repeat for more (up to 32). Without it, exec still marks the boundaries\n"
	"                        a launcher crosses (namespaces, setns, pivot_root, chroot, the payload's exec)\n"
	"launch options (run):\n"
	"  --launcher PATH       the cnlaunch binary (default: $CNTRACE_LAUNCHER, next to cntrace, the build's)\n"
	"  --flow auto|setuid|userns|root|fakeroot, --rootfs DIR, --user UID[:GID], and every other\n"
	"  cnlaunch option: passed to cnlaunch as given; `exec --id NAME` among them traces a\n"
	"  cnlaunch exec into that running container, with the exec's own stages\n"
	"check: exit 0 when every rule holds, 1 on a violation, 2 on bad input (trace or policy);\n"
	"  the report goes to stdout (--format text: one line per violation and a summary)\n"
	"environment:\n"
	"  CNTRACE_LAUNCHER      the default cnlaunch of run\n"
	"  CNTRACE_CORE_BTF=kernel  relocate against the kernel's whole BTF, not the build's cut of it\n"
	"                        (tracer.core_btf says which a trace used)\n"
	"  CNTRACE_UPROBE_LINKS=perf_event  the stage probes on libbpf's perf-event uprobes, not on\n"
	"                        uprobe-multi links (tracer.stage_probe_links says which)\n";

/* A bad command line: one line that says what is wrong (the whole usage is --help's).
 * Through cn_fail, so that a newline or an escape in the argument quoted stays on
 * that line (issue 7: the bad-input table wants one line for every refusal). */
static int usage(const char *fmt, const char *arg)
{
	struct cn_error err;

	cn_fail(&err, 0, fmt, arg);
	fprintf(stderr, "cntrace: %s (see cntrace --help)\n", err.msg);
	return 2;
}

static int cannot(const struct cn_error *err)
{
	fprintf(stderr, "cntrace: %s\n", err->msg);
	return EXIT_CANNOT;
}

struct cli {
	const char *mode;
	const char *as;
	const char *output;
	const char *launcher;
	const char *flow;
	bool full_syscalls;
	bool quiet;
	bool check;
	const char *policy; /* --check=FILE; NULL: the built-in policy */
	const char *format; /* --format: "text" or "json" */
	const char *junit;
	double linger;
	unsigned long ring_bytes; /* --ring-buffer-size; 0: the tracer's default */
	struct cn_ext_stages *stages; /* exec --stage, as given (resolved by cmd_trace) */
	char **pass;   /* launch options for cnlaunch, in order */
	int npass;
	char **cmd;    /* after "--" */
};

static int resolve_user(const char *spec, struct cn_tracer_opts *o, struct cn_error *err)
{
	struct passwd *pw;
	char *end;
	unsigned long uid;

	errno = 0;
	uid = strtoul(spec, &end, 10);
	if (*spec && !*end && errno == 0 && uid < UINT_MAX) {
		pw = getpwuid((uid_t)uid);
		o->uid = (uid_t)uid;
		o->gid = pw ? pw->pw_gid : (gid_t)uid;
		o->user_name = pw ? strdup(pw->pw_name) : NULL;
	} else {
		pw = getpwnam(spec);
		if (!pw)
			return cn_fail(err, 0, "--as: no such user \"%s\"", spec);
		o->uid = pw->pw_uid;
		o->gid = pw->pw_gid;
		o->user_name = strdup(pw->pw_name);
	}
	o->as_user = true;
	return 0;
}

/* The cnlaunch to run: --launcher, $CNTRACE_LAUNCHER, beside cntrace, the build's, $PATH. */
static int find_launcher(const char *given, char *buf, size_t size, struct cn_error *err)
{
	char self[PATH_MAX], cand[PATH_MAX + 32];
	const char *env = getenv("CNTRACE_LAUNCHER");
	ssize_t n;

	if (given || (env && *env)) {
		const char *path = given ? given : env;

		if (access(path, X_OK) != 0)
			return cn_fail(err, errno, "cannot trace: launcher %s", path);
		if (!realpath(path, buf))
			return cn_fail(err, errno, "cannot trace: launcher %s", path);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		const char *rel[] = { "cnlaunch", "../core/cnlaunch" };

		for (size_t i = 0; i < 2; i++) {
			snprintf(cand, sizeof(cand), "%s/%s", self, rel[i]);
			if (access(cand, X_OK) == 0 && realpath(cand, buf))
				return 0;
		}
	}
	if (CN_DEFAULT_LAUNCHER[0] && access(CN_DEFAULT_LAUNCHER, X_OK) == 0 && realpath(CN_DEFAULT_LAUNCHER, buf))
		return 0;
	if (cn_find_program("cnlaunch", cand, sizeof(cand)) && realpath(cand, buf))
		return 0;
	(void)size;
	return cn_fail(err, 0, "cannot trace: launcher cnlaunch not found (give --launcher PATH)");
}

static int parse(int argc, char **argv, struct cli *c)
{
	enum { O_AS = 256, O_SYSCALLS, O_LINGER, O_LAUNCHER, O_CHECK };
	int i;

	c->linger = 2.0;
	c->pass = calloc((size_t)argc + 1, sizeof(char *));
	if (!c->pass)
		return usage("%s", strerror(ENOMEM));
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		size_t klen;

		if (strcmp(a, "--") == 0) {
			c->cmd = &argv[i + 1];
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			c->quiet = true;
			continue;
		}
		if (strncmp(a, "--check", 7) == 0 && (a[7] == '\0' || a[7] == '=')) {
			c->check = true;
			c->policy = a[7] == '=' ? a + 8 : NULL;
			if (c->policy && !*c->policy)
				return usage("%s",
					     "--check=: give a policy file, or --check alone for the built-in one");
			continue;
		}
		/* options with a value: "--opt VALUE", "--opt=VALUE", "-o FILE", "-oFILE" */
		static const char *const with_value[] = { "--as", "--output", "--syscalls", "--linger",
							  "--launcher", "--flow", "--format", "--junit",
							  "--ring-buffer-size", "--stage" };
		const char *key = NULL;

		if (strncmp(a, "-o", 2) == 0 && a[1] == 'o') {
			key = "--output";
			val = a[2] ? a + 2 : NULL;
		}
		for (size_t k = 0; !key && k < sizeof(with_value) / sizeof(with_value[0]); k++) {
			klen = strlen(with_value[k]);
			if (strncmp(a, with_value[k], klen) == 0 && (a[klen] == '\0' || a[klen] == '=')) {
				key = with_value[k];
				val = a[klen] == '=' ? a + klen + 1 : NULL;
			}
		}
		if (!key) { /* a launch option: cnlaunch gets it (and whatever follows) verbatim */
			if (strcmp(c->mode, "run") != 0)
				return usage("exec: unknown option %s (put the program after --)", a);
			c->pass[c->npass++] = argv[i];
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return usage("%s needs a value", key);
			val = argv[++i];
		}
		if (strcmp(key, "--as") == 0) {
			c->as = val;
		} else if (strcmp(key, "--output") == 0) {
			c->output = val;
		} else if (strcmp(key, "--syscalls") == 0) {
			if (strcmp(val, "full") != 0 && strcmp(val, "counts") != 0)
				return usage("--syscalls: \"%s\" is not counts or full", val);
			c->full_syscalls = strcmp(val, "full") == 0;
		} else if (strcmp(key, "--linger") == 0) {
			char *end;

			c->linger = strtod(val, &end);
			if (*end || c->linger < 0)
				return usage("--linger: \"%s\" is not a number of seconds", val);
		} else if (strcmp(key, "--ring-buffer-size") == 0) {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(val, &end, 10);
			if (val[0] < '0' || val[0] > '9' || *end || errno || v < 4096 || v > (1ull << 30) ||
			    (v & (v - 1)))
				return usage("--ring-buffer-size: \"%s\" is not a power of 2 from 4096 to 1073741824", val);
			c->ring_bytes = (unsigned long)v;
		} else if (strcmp(key, "--launcher") == 0) {
			if (strcmp(c->mode, "run") != 0)
				return usage("%s", "exec: --launcher is for run (exec runs the program given)");
			c->launcher = val;
		} else if (strcmp(key, "--format") == 0) {
			if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0)
				return usage("--format: \"%s\" is not text or json", val);
			c->format = val;
		} else if (strcmp(key, "--junit") == 0) {
			c->junit = val;
		} else if (strcmp(key, "--stage") == 0) {
			struct cn_error err;

			if (strcmp(c->mode, "run") == 0)
				return usage("%s", "run: --stage is for exec (cnlaunch marks its stages with its probes)");
			if (cn_ext_stage_parse(c->stages, val, &err) < 0)
				return usage("%s", err.msg);
		} else if (strcmp(key, "--flow") == 0) {
			if (strcmp(c->mode, "run") != 0)
				return usage("%s", "exec: --flow is for run");
			c->flow = val;
			c->pass[c->npass++] = (char *)"--flow";
			c->pass[c->npass++] = (char *)val;
		}
	}
	if (!c->cmd || !c->cmd[0])
		return usage("%s: missing -- COMMAND", c->mode);
	if ((c->format || c->junit) && !c->check)
		return usage("%s", "--format and --junit report a check: add --check");
	return 0;
}

/*
 * Where --syscalls full spools its log until the JSON is written: next to the
 * output file, so that it is on the file system that will hold it anyway;
 * $TMPDIR when the output is not a file (stdout, /dev/null, a pipe); nowhere
 * without -o (the log would not be written).
 */
static const char *log_dir(const char *output, char *buf, size_t size)
{
	struct stat st;
	const char *tmp = getenv("TMPDIR");
	char *slash;

	if (!output)
		return NULL;
	if (strcmp(output, "-") == 0 || (stat(output, &st) == 0 && !S_ISREG(st.st_mode)))
		return tmp && *tmp ? tmp : "/tmp";
	snprintf(buf, size, "%s", output);
	slash = strrchr(buf, '/');
	if (!slash)
		return ".";
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	return buf;
}

/* The policy of --check: a file, or the built-in one. */
static struct cn_policy *load_policy(const char *path, struct cn_error *err)
{
	return path ? cn_policy_load(path, err) : cn_policy_builtin(err);
}

/*
 * Report a check as text or JSON on f, and as JUnit XML when asked.
 * Returns 0, or -1 with err set when the JUnit file cannot be written.
 */
static int report_check(FILE *f, const struct cn_check *chk, const char *format, const char *junit,
			struct cn_error *err)
{
	if (format && strcmp(format, "json") == 0) {
		_cleanup_json_ struct json_object *o = cn_check_to_json(chk);

		fprintf(f, "%s\n", cn_json_string(o));
		fflush(f);
	} else {
		cn_check_print_text(f, chk);
	}
	return junit ? cn_check_write_junit(chk, junit, err) : 0;
}

/*
 * The trace out (summary, -o), then the check. Exit status: the launch's;
 * with a violation, 1 when the launch itself succeeded; 125 when cntrace failed.
 */
static int finish(struct cli *c, struct cn_trace *tr, const struct cn_configured *configured,
		  const struct cn_policy *policy)
{
	_cleanup_json_ struct json_object *doc = cn_trace_to_json(tr);
	struct cn_check *chk;
	struct cn_error err;
	int code = cn_wait_status_code(tr->exit_status);

	cn_error_clear(&err);
	if (configured)
		cn_configured_attach(doc, configured);
	if (!c->quiet)
		cn_summary_print(stderr, doc);
	if (c->output && cn_json_write_trace(doc, tr, c->output, &err) < 0) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return EXIT_CANNOT;
	}
	if (tr->log && cn_spool_error(tr->log))
		fprintf(stderr, "cntrace: warning: the syscall log is incomplete: %s\n", cn_spool_error(tr->log));
	if (cn_trace_lost(tr))
		fprintf(stderr, "cntrace: warning: %llu events were lost: the trace is incomplete\n",
			(unsigned long long)cn_trace_lost(tr));
	if (code < 0)
		return EXIT_CANNOT;
	if (!policy)
		return code;
	chk = cn_policy_check(policy, doc, c->output ? c->output : "the launch's trace", &err);
	if (!chk) {
		fprintf(stderr, "cntrace: check: %s\n", err.msg);
		return EXIT_CANNOT;
	}
	/* stdout is the container's: the report goes to stderr */
	if (report_check(stderr, chk, c->format, c->junit, &err) < 0) {
		cn_check_free(chk);
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return EXIT_CANNOT;
	}
	if (!cn_check_passed(chk) && code == 0)
		code = EXIT_VIOLATION;
	cn_check_free(chk);
	return code;
}

struct learn {
	struct cn_configured_child child;
	struct cn_configured *out;
};

/* The tracer's before_launch hook: launch.configured from the launcher's --print-config. */
static int learn_configured(void *arg, struct cn_error *err)
{
	struct learn *l = arg;

	return cn_configured_finish(&l->child, l->out, err);
}

static void ext_stages_freep(struct cn_ext_stages **set)
{
	if (*set)
		cn_ext_stages_clear(*set);
	free(*set);
}

/*
 * A file cntrace writes after the launch (-o, --junit) must be writable before
 * anything runs: a launch whose trace cannot be written out is lost.
 */
static int check_writable(const char *path, struct cn_error *err)
{
	char dir[PATH_MAX];
	struct stat st;

	if (!path || strcmp(path, "-") == 0)
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return cn_fail(err, EISDIR, "%s", path);
		return access(path, W_OK) == 0 ? 0 : cn_fail(err, errno, "%s", path);
	}
	if (errno != ENOENT)
		return cn_fail(err, errno, "%s", path);
	/* a new file: its directory must take it (log_dir gives the directory of a path not there yet) */
	return access(log_dir(path, dir, sizeof(dir)), W_OK | X_OK) == 0 ? 0 : cn_fail(err, errno, "%s", path);
}

static int cmd_trace(int argc, char **argv, const char *mode)
{
	__attribute__((cleanup(ext_stages_freep))) struct cn_ext_stages *stages = calloc(1, sizeof(*stages));
	struct cli c = { .mode = mode, .stages = stages };
	struct cn_tracer_opts o;
	struct cn_error err;
	struct cn_trace *tr = NULL;
	_cleanup_policy_ struct cn_policy *policy = NULL;
	struct cn_configured configured = { NULL, "" };
	struct learn learn;
	char launcher[PATH_MAX], prog[PATH_MAX], logdir[PATH_MAX];
	_cleanup_free_ char **full = NULL;
	int rc, n = 0;

	memset(&o, 0, sizeof(o));
	cn_error_clear(&err);
	if (!stages)
		return EXIT_CANNOT;
	rc = parse(argc, argv, &c);
	if (rc) {
		free(c.pass);
		return rc;
	}
	/* an output that cannot be written is refused before anything runs, as the --syscalls full spool is */
	if (check_writable(c.output, &err) < 0 || check_writable(c.junit, &err) < 0) {
		free(c.pass);
		cn_prefix(&err, "cannot trace: ");
		return cannot(&err);
	}
	/* a policy that cannot be used is refused before anything runs */
	if (c.check && !(policy = load_policy(c.policy, &err))) {
		free(c.pass);
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return EXIT_BAD_INPUT;
	}
	o.mode = mode;
	o.flow = c.flow;
	o.full_syscalls = c.full_syscalls;
	o.log_dir = c.full_syscalls ? log_dir(c.output, logdir, sizeof(logdir)) : NULL;
	o.linger_s = c.linger;
	o.ring_bytes = c.ring_bytes;
	o.detach_after_exit = true; /* cntrace exits once the trace is out */
	if (c.as && resolve_user(c.as, &o, &err) < 0) {
		free(c.pass);
		return cannot(&err);
	}
	if (strcmp(mode, "run") == 0) {
		if (find_launcher(c.launcher, launcher, sizeof(launcher), &err) < 0) {
			free(c.pass);
			free((char *)o.user_name);
			return cannot(&err);
		}
		full = calloc((size_t)c.npass + (size_t)argc + 3, sizeof(char *));
		if (!full)
			return EXIT_CANNOT;
		full[n++] = launcher;
		for (int i = 0; i < c.npass; i++)
			full[n++] = c.pass[i];
		full[n++] = (char *)"--";
		for (char **a = c.cmd; *a; a++)
			full[n++] = *a;
		o.argv = full;
		o.usdt_binary = launcher;
		o.usdt_required = true;
		/* what final_creds "configured" compares with: asked as the same user while the
		 * tracer loads (a few ms of the start-up), read before anything of the launch runs */
		learn.child.pid = -1;
		learn.out = &configured;
		o.before_launch = learn_configured;
		o.before_launch_arg = &learn;
	} else {
		o.argv = c.cmd;
		/* a program with cnlaunch probes (cnlaunch itself) still gets its stages */
		o.usdt_binary = cn_find_program(c.cmd[0], prog, sizeof(prog));
		o.path = o.usdt_binary;
		o.usdt_required = false;
		if (!o.usdt_binary) {
			fprintf(stderr, "cntrace: cannot trace: %s: command not found\n", c.cmd[0]);
			free(c.pass);
			free((char *)o.user_name);
			return EXIT_CANNOT;
		}
		/* every --stage found before anything is attached or run */
		if (stages->n && cn_ext_stages_resolve(stages, &err) < 0) {
			free(c.pass);
			free((char *)o.user_name);
			cn_prefix(&err, "cannot trace: ");
			return cannot(&err);
		}
		o.ext_stages = stages;
		cn_ext_stages_use(stages); /* the JSON names the stages */
	}
	if (o.before_launch && cn_configured_start(o.argv, &o, &learn.child, &err) < 0) {
		free(c.pass);
		free((char *)o.user_name);
		return cannot(&err);
	}
	rc = cn_tracer_run(&o, &tr, &err);
	if (o.before_launch)
		cn_configured_abandon(&learn.child); /* the tracer failed before it asked */
	if (rc < 0) {
		cn_configured_clear(&configured);
		free(c.pass);
		free((char *)o.user_name);
		return cannot(&err);
	}
	tr->argv = o.argv;
	tr->launcher = strcmp(mode, "run") == 0 ? launcher : NULL;
	/* the caller is who ran the launcher: the --as user, else whoever ran cntrace */
	tr->caller_uid = o.as_user ? o.uid : getuid();
	tr->caller_gid = o.as_user ? o.gid : getgid();
	tr->tracer_uid = getuid();
	tr->tracer_gid = getgid();
	tr->as_user = o.as_user;
	tr->as_uid = o.uid;
	tr->as_gid = o.gid;
	rc = finish(&c, tr, strcmp(mode, "run") == 0 ? &configured : NULL, policy);
	cn_configured_clear(&configured);
	cn_trace_free(tr);
	free(c.pass);
	free((char *)o.user_name);
	return rc;
}

static const char report_help[] =
	"usage: cntrace report [--html FILE] TRACE.json\n"
	"\n"
	"Print the per-stage summary of a saved trace: what `cntrace run` prints at the end.\n"
	"  --html FILE   instead, write FILE ('-': stdout): one self-contained HTML page, nothing\n"
	"                to load (it works offline, and a trace cannot make it fetch anything):\n"
	"                a lane per process with its privilege as colour over time (red: host\n"
	"                privilege, amber: capabilities in a user namespace only, green: none),\n"
	"                the stages as bands, cred changes (raises large and red) and capability\n"
	"                checks as marks; click any of them, or a table row, for the details.\n"
	"                The stage and process tables and the text summary follow.\n"
	"\n"
	"  sudo cntrace run -q -o t.json -- id && cntrace report --html t.html t.json\n"
	"Exit: 0; 125 with one line when the trace cannot be read or the file written.\n";

static int cmd_report(int argc, char **argv)
{
	_cleanup_json_ struct json_object *doc = NULL;
	const char *html = NULL, *trace = NULL;
	struct cn_error err;

	cn_error_clear(&err);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(report_help, stdout);
			return 0;
		}
		if (strncmp(argv[i], "--html=", 7) == 0) {
			html = argv[i] + 7;
		} else if (strcmp(argv[i], "--html") == 0) {
			if (i + 1 >= argc)
				return usage("%s", "report: --html needs a value");
			html = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage("report: unknown option %s", argv[i]);
		} else if (trace) {
			return usage("%s", "report: give one TRACE.json");
		} else {
			trace = argv[i];
		}
	}
	if (!trace || (html && !*html))
		return usage("%s", trace ? "report: --html needs a file" : "report: give one TRACE.json");
	if (html)
		return cn_cmd_report_html(html, trace);
	doc = cn_json_read(trace, &err);
	if (!doc)
		return cannot(&err);
	cn_summary_print(stdout, doc);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	const char *policy_path = NULL, *format = NULL, *junit = NULL, *trace_path = NULL;
	_cleanup_json_ struct json_object *doc = NULL;
	struct cn_policy *policy;
	struct cn_check *chk;
	struct cn_error err;
	int rc;

	cn_error_clear(&err);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		static const char *const keys[] = { "--policy", "--format", "--junit" };
		const char *key = NULL, *val = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t n = strlen(keys[k]);

			if (strncmp(a, keys[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
				key = keys[k];
				val = a[n] == '=' ? a + n + 1 : NULL;
			}
		}
		if (!key) {
			if (a[0] == '-' && a[1])
				return usage("check: unknown option %s", a);
			if (trace_path)
				return usage("%s", "check: give one TRACE.json");
			trace_path = a;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return usage("%s needs a value", key);
			val = argv[++i];
		}
		if (strcmp(key, "--policy") == 0) {
			policy_path = val;
		} else if (strcmp(key, "--format") == 0) {
			if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0)
				return usage("--format: \"%s\" is not text or json", val);
			format = val;
		} else {
			junit = val;
		}
	}
	if (!trace_path)
		return usage("%s", "check: give one TRACE.json");
	policy = load_policy(policy_path, &err);
	if (!policy) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return EXIT_BAD_INPUT;
	}
	doc = cn_json_read(trace_path, &err);
	chk = doc ? cn_policy_check(policy, doc, trace_path, &err) : NULL;
	cn_policy_free(policy);
	if (!chk) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		return EXIT_BAD_INPUT;
	}
	rc = cn_check_passed(chk) ? 0 : EXIT_VIOLATION;
	if (report_check(stdout, chk, format, junit, &err) < 0) {
		fprintf(stderr, "cntrace: %s\n", err.msg);
		rc = EXIT_BAD_INPUT;
	}
	cn_check_free(chk);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("%s", "missing command");
	signal(SIGPIPE, SIG_IGN); /* a launch that fails at its gate closes the pipe we write */
	if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "exec") == 0)
		return cmd_trace(argc, argv, argv[1]);
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(argv[1], "seccomp-profile") == 0)
		return cn_cmd_seccomp_profile(argc, argv);
	if (strcmp(argv[1], "diff") == 0)
		return cn_cmd_diff(argc, argv);
	if (strcmp(argv[1], "--version") == 0) {
		printf("cntrace %s\n", CN_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	return usage("unknown command \"%s\"", argv[1]);
}
