/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cntrace.skel.h"
#include "core_btf.h"
#include "events.h"
#include "ring.h"
#include "spool.h"
#include "stages_ext.h"
#include "tp_btf.h"
#include "usdt.h"

/*
 * Lifecycle and privilege records: never expected to fill. A launch of 1000
 * processes writes ~2 MB of them in all, read as they come; the kernel zeroes
 * and maps the ring page by page when it is made (3.5 ms for 16 MiB, on the
 * way to the launch), so it is no bigger than that storm four times over.
 */
#define EVENTS_RING (8u << 20)
#define SYSCALL_LOG_RING (64u << 20)  /* --syscalls full */
#define DRAIN_POLL_MS 5               /* how often the reader looks at rings that did not wake it */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* libbpf's last complaint, to explain a failure in one line. */
static __thread char libbpf_last[512]; /* per thread: the uprobes attach on their own */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level == LIBBPF_DEBUG && !getenv("CNTRACE_DEBUG"))
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (getenv("CNTRACE_DEBUG"))
		fputs(line, stderr);
	if (level == LIBBPF_WARN) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			memcpy(libbpf_last, line, sizeof(libbpf_last));
	}
	return 0;
}

const char *cn_find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (strchr(name, '/')) {
		snprintf(buf, size, "%s", name);
		return access(buf, X_OK) == 0 ? buf : NULL;
	}
	copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	if (!copy)
		return NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		snprintf(buf, size, "%s/%s", *dir ? dir : ".", name);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* ---- the gate: a child that waits for the tracer before it execs ---- */

struct gate_report { /* child -> parent when the child cannot exec */
	int what;    /* GATE_* */
	int errnum;
};

enum { GATE_USER = 1, GATE_EXEC = 2 };

struct gate {
	pid_t pid;
	int release; /* write end: one byte opens the gate; closing it kills the child */
	int report;  /* read end: EOF = the exec happened */
};

static void gate_close(struct gate *g)
{
	if (g->release >= 0)
		close(g->release);
	if (g->report >= 0)
		close(g->report);
	g->release = g->report = -1;
}

static void gate_kill(struct gate *g)
{
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
			;
		g->pid = -1;
	}
	gate_close(g);
}

static int become_user(const struct cn_tracer_opts *o)
{
	if (o->user_name ? initgroups(o->user_name, o->gid) : setgroups(0, NULL))
		return -1;
	if (setresgid(o->gid, o->gid, o->gid) || setresuid(o->uid, o->uid, o->uid))
		return -1;
	return 0;
}

static __attribute__((noreturn)) void gate_child(const struct cn_tracer_opts *o, int wait_fd, int report_fd)
{
	struct gate_report r = { 0, 0 };
	char c;
	ssize_t n;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (o->as_user && become_user(o) < 0) {
		r = (struct gate_report){ GATE_USER, errno };
		(void)!write(report_fd, &r, sizeof(r));
		_exit(125);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* the tracer died: never run on untraced */
	do
		n = read(wait_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(125);
	if (o->path)
		execv(o->path, o->argv);
	else
		execvp(o->argv[0], o->argv);
	r = (struct gate_report){ GATE_EXEC, errno };
	(void)!write(report_fd, &r, sizeof(r));
	_exit(127);
}

/*
 * Wait until the child blocks in its read() of the gate, so that the trace
 * starts at the same instruction every time: the launch's first process then
 * makes exactly one syscall (that read) before its execve. Best effort: without
 * /proc/PID/syscall the trace may also see the child's last set-up syscalls.
 */
static void gate_wait_blocked(const struct gate *g, int wait_fd_in_child)
{
	char path[64], buf[128], want[32];

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)g->pid);
	snprintf(want, sizeof(want), "0 0x%x ", (unsigned)wait_fd_in_child); /* read(fd, ... */
	for (int i = 0; i < 20000; i++) { /* 2 s at most */
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		struct pollfd report = { .fd = g->report, .events = POLLIN };

		if (fd < 0 || poll(&report, 1, 0) != 0) /* gone, or failed and reporting */
			return;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			return;
		buf[n] = '\0';
		if (strncmp(buf, want, strlen(want)) == 0)
			return;
		usleep(100);
	}
}

static int gate_spawn(const struct cn_tracer_opts *o, struct gate *g, struct cn_error *err)
{
	int wait_p[2], report_p[2];

	if (pipe2(wait_p, O_CLOEXEC) < 0)
		return cn_fail(err, errno, "pipe");
	if (pipe2(report_p, O_CLOEXEC) < 0) {
		close(wait_p[0]);
		close(wait_p[1]);
		return cn_fail(err, errno, "pipe");
	}
	g->pid = fork();
	if (g->pid < 0) {
		close(wait_p[0]);
		close(wait_p[1]);
		close(report_p[0]);
		close(report_p[1]);
		return cn_fail(err, errno, "fork");
	}
	if (g->pid == 0) {
		close(wait_p[1]);
		close(report_p[0]);
		gate_child(o, wait_p[0], report_p[1]);
	}
	close(wait_p[0]);
	close(report_p[1]);
	g->release = wait_p[1];
	g->report = report_p[0];
	gate_wait_blocked(g, wait_p[0]);
	return 0;
}

/*
 * The launch must not outlive the tracer: a SIGKILLed cntrace cleans nothing up.
 * The gate child's parent-death signal covers that until its exec, and after it
 * for a launcher that is not setuid; but the kernel clears the parent-death
 * signal when a setuid-root cnlaunch starts (and at each credential change), so
 * a setuid master would run on, untraced. A watchdog, forked beside the gate
 * child, holds a pidfd of it and SIGKILLs it when the tracer's end of a pipe
 * closes without the word 'd' (done); the master's death then tears the launch
 * down as a killed cnlaunch does: STAGE2 and the RPC server die with it, and
 * CLEANUP_HOST runs CleanupHost. (Issue 7: tests/integration/test_faults.py.)
 */
struct watchdog {
	pid_t pid;
	int done; /* write end: 'd' = the launch's first process exited normally */
};

static int watchdog_spawn(pid_t launch, struct watchdog *w)
{
	int p[2], pidfd = (int)syscall(SYS_pidfd_open, launch, 0);

	w->pid = -1;
	w->done = -1;
	if (pidfd < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		close(pidfd);
		return -1;
	}
	w->pid = fork();
	if (w->pid == 0) {
		char c = 0;
		ssize_t n;
		int lo = p[0] < pidfd ? p[0] : pidfd, hi = p[0] < pidfd ? pidfd : p[0];

		/* nothing of the tracer's (BPF objects, the gate's pipes) stays open in here */
		syscall(SYS_close_range, 3, (unsigned)lo - 1, 0);
		syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0);
		syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0);
		/* a Ctrl-C for cntrace's process group is the launch's business, not ours */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1 || c != 'd') /* a pidfd never signals a reused pid */
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		_exit(0);
	}
	close(p[0]);
	close(pidfd);
	if (w->pid < 0) {
		close(p[1]);
		return -1;
	}
	w->done = p[1];
	return 0;
}

/* The tracer is done with the launch's first process (it exited, or was reaped): stand down. */
static void watchdog_stop(struct watchdog *w)
{
	if (w->done >= 0) {
		(void)!write(w->done, "d", 1);
		close(w->done);
		w->done = -1;
	}
	if (w->pid > 0)
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	w->pid = -1;
}

/* Open the gate and learn whether the exec happened. */
static int gate_open(const struct cn_tracer_opts *o, struct gate *g, struct cn_error *err)
{
	struct gate_report r;
	ssize_t n;

	(void)!write(g->release, "g", 1); /* EPIPE when the child already failed: the report says why */
	close(g->release);
	g->release = -1;
	do
		n = read(g->report, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(g->report);
	g->report = -1;
	if (n == (ssize_t)sizeof(r)) {
		if (r.what == GATE_USER)
			return cn_fail(err, r.errnum, "cannot become uid %u gid %u", (unsigned)o->uid,
				       (unsigned)o->gid);
		return cn_fail(err, r.errnum, "cannot run %s", o->argv[0]);
	}
	return 0;
}

/* ---- draining the ring buffers on a thread of their own ---- */

struct drain {
	struct cn_ring *rings[2]; /* the events, and the syscall log (--syscalls full) */
	int nrings;
	struct cn_trace *tr;
	int stop_fd;
	int kick_fd; /* read the rings now (the launch's first process exited) */
	int error; /* negative errno of a failed consume */
	pthread_mutex_t lock;
	pthread_cond_t changed; /* tr->live moved */
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct drain *d = ctx;

	pthread_mutex_lock(&d->lock);
	cn_trace_add_event(d->tr, data, size);
	if (d->tr->live <= 0)
		pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int drain_rings(struct drain *d)
{
	int rc = 0;

	for (int i = 0; i < d->nrings; i++) {
		long n = cn_ring_consume(d->rings[i]);

		if (n < 0) {
			errno = (int)-n;
			rc = -1;
		}
	}
	return rc;
}

static void drain_close(struct drain *d)
{
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	if (d->kick_fd >= 0)
		close(d->kick_fd);
	d->stop_fd = d->kick_fd = -1;
}

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	_cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	bool stop = false;

	if (ep < 0) {
		d->error = -errno;
		return NULL;
	}
	for (int i = 0; i < d->nrings; i++) {
		ev.data.u32 = 0;
		epoll_ctl(ep, EPOLL_CTL_ADD, cn_ring_fd(d->rings[i]), &ev);
	}
	ev.data.u32 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, d->stop_fd, &ev);
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, d->kick_fd, &ev);
	while (!stop) {
		struct epoll_event evs[4];
		/* the kernel side wakes us only when a ring fills up (see events_wakeup): poll */
		int n = epoll_wait(ep, evs, 4, DRAIN_POLL_MS);
		eventfd_t v;

		if (n < 0 && errno != EINTR) {
			d->error = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == 1)
				stop = true;
			if (evs[i].data.u32 == 2)
				eventfd_read(d->kick_fd, &v);
		}
		if (drain_rings(d) < 0 && !d->error)
			d->error = -errno;
	}
	return NULL;
}

/* ---- what the maps hold at the end ---- */

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd of one thread */
#endif

/*
 * The counts and logged syscalls a thread has not flushed yet: it is still
 * running (the linger ran out, or it outlives the launch on purpose), or it
 * logged fewer than a batch since it last handed its log over. Its task storage
 * is read through a pidfd of the thread; a thread that is gone has flushed.
 */
static void read_live_threads(struct cntrace_bpf *skel, struct cn_trace *tr)
{
	_cleanup_free_ struct cn_task *t = malloc(sizeof(*t));
	int fd = bpf_map__fd(skel->maps.tasks);
	uint32_t tid;

	if (!t)
		return;
	for (size_t i = 0; cn_trace_live_thread(tr, i, &tid); i++) {
		_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)tid, PIDFD_THREAD);

		if (pidfd < 0 && errno == EINVAL) /* before 6.9: a pidfd of a process leader still works */
			pidfd = (int)syscall(SYS_pidfd_open, (pid_t)tid, 0);
		if (pidfd < 0 || bpf_map_lookup_elem(fd, &pidfd, t) < 0)
			continue;
		for (uint32_t k = 0; k < CN_TR_COUNTS; k++) {
			struct cn_sc_key key = { t->pid, t->instance, t->phase, t->counts[k].nr };
			struct cn_sc_val val = { t->counts[k].count, t->counts[k].errors };

			if (val.count)
				cn_trace_add_count(tr, &key, &val);
		}
		if (t->log.n) {
			struct cn_ev_hdr h = { .type = CN_EV_SYSCALL, .pid = t->pid, .tid = tid, .instance = t->instance,
					       .phase = t->phase, .syscall = -1, .stage = t->stage, .role = t->role };

			cn_trace_add_logged(tr, &h, t->log.ent, t->log.n < CN_TR_LOG_BATCH ? t->log.n : CN_TR_LOG_BATCH);
		}
	}
}

static void read_cap_checks(struct cntrace_bpf *skel, struct cn_trace *tr)
{
	int fd = bpf_map__fd(skel->maps.caps);
	struct cn_cap_key key, next;
	struct cn_cap_val val;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val) == 0)
			cn_trace_add_cap_check(tr, &key, &val);
	}
}

static void read_losses(struct cntrace_bpf *skel, struct cn_trace *tr)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(skel->maps.losses);
	_cleanup_free_ uint64_t *vals = calloc((size_t)ncpu, sizeof(*vals));

	if (!vals)
		return;
	for (uint32_t i = 0; i < CN_LOSS__COUNT; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals) < 0)
			continue;
		for (int c = 0; c < ncpu; c++)
			tr->losses[i] += vals[c];
	}
}

/* ---- load and attach ---- */

static int fail_bpf(struct cn_error *err, int rc, const char *what)
{
	int e = rc < 0 ? -rc : errno;

	if (e == EPERM || e == EACCES)
		return cn_fail(err, 0, "cannot trace: BPF programs cannot be loaded here (not root?)");
	if (libbpf_last[0])
		return cn_fail(err, 0, "cannot trace: %s: %s", what, libbpf_last);
	return cn_fail(err, e, "cannot trace: %s", what);
}

static int attach_tp(struct bpf_program *prog, struct bpf_link **link, struct cn_error *err)
{
	*link = bpf_program__attach_trace(prog); /* a tp_btf program: trace/tp_btf.h */
	if (!*link)
		return fail_bpf(err, -errno, bpf_program__section_name(prog));
	return 0;
}

static struct bpf_program **usdt_progs(struct cntrace_bpf *skel, struct bpf_program *progs[3])
{
	progs[0] = skel->progs.cn_usdt_role;
	progs[1] = skel->progs.cn_usdt_stage_enter;
	progs[2] = skel->progs.cn_usdt_stage_exit;
	return progs;
}

static const char *const usdt_names[3] = { "role", "stage_enter", "stage_exit" };

/*
 * The object is loaded twice, the two sharing one set of maps: `probes`, the
 * uprobe programs (USDT, --stage), is loaded first and makes the maps; `skel`,
 * the tracepoint programs, is loaded while a thread attaches the uprobes.
 * Registering the first uprobe sleeps for an RCU grace period (uprobe_register
 * takes dup_mmap_sem for writing: 5-25 ms here), and `skel` is what costs the
 * load its time (the verifier checks the big programs): the two overlap,
 * where one after the other they added up.
 */
struct session {
	struct cntrace_bpf *skel;   /* the tracepoint programs; the maps, without probes */
	struct cntrace_bpf *probes; /* the uprobe programs and the maps; NULL with no uprobe to attach */
	struct bpf_link *tp[8];
	int ntp;
	struct bpf_link *uprobes[3 + CN_TR_EXT_STAGE_MAX]; /* libbpf's links for the USDT and --stage probes */
	int nuprobes;
	bool uprobe_multi;          /* USDT and --stage uprobes on uprobe-multi links (trace/usdt.h) */
	int multi_fds[3 + CN_TR_EXT_STAGE_MAX], nmulti_fds; /* those links */
	struct cn_ring *rings[2];
	bool detach_late;           /* opts->detach_after_exit */
	bool core_btf;              /* relocated against the build's cut of this kernel's BTF */
};

/*
 * Detaching a uprobe waits for an RCU tasks-trace grace period in the kernel,
 * ~0.1 s here, one probe site after the other: the launcher's 4 USDT sites
 * made every cntrace exit 0.4 s late. A caller that exits soon after
 * (opts->detach_after_exit) gives the last references to them to a reaper, a
 * child that holds nothing else (not our stdio: whoever reads our output sees
 * EOF when we exit) and exits once we have dropped ours, paying the wait in
 * the background. Returns the pipe whose closing lets it go, or -1 (then we
 * pay the wait ourselves).
 */
static int uprobe_reaper(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		_cleanup_close_ int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char link[64], target[64];
		char c;

		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		/* keep the BPF objects and perf events (the uprobes), drop everything else */
		for (int fd = 0; fd < 1024; fd++) {
			ssize_t n;

			if (fd == p[0] || fd == dir)
				continue;
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			n = readlink(link, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			if (fd > 2 && (strncmp(target, "anon_inode:bpf", 14) == 0 ||
				       strcmp(target, "anon_inode:[perf_event]") == 0))
				continue;
			close(fd);
		}
		syscall(SYS_close_range, 1024, ~0U, 0);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	return p[1];
}

/* Detach the uprobes (USDT and --stage, either kind of link). */
static void drop_uprobes(struct session *s)
{
	for (int i = 0; i < s->nuprobes; i++)
		bpf_link__destroy(s->uprobes[i]);
	s->nuprobes = 0;
	for (int i = 0; i < s->nmulti_fds; i++)
		close(s->multi_fds[i]);
	s->nmulti_fds = 0;
}

static void session_destroy(struct session *s)
{
	int reaper = -1;

	for (int i = 0; i < 2; i++)
		cn_ring_free(s->rings[i]);
	/* the tracepoints first, and here: no reaper may keep them (every syscall of the machine runs them) */
	for (int i = 0; i < s->ntp; i++)
		bpf_link__destroy(s->tp[i]);
	s->ntp = 0;
	if ((s->nuprobes > 0 || s->nmulti_fds > 0) && s->detach_late)
		reaper = uprobe_reaper();
	drop_uprobes(s);
	cntrace_bpf__destroy(s->skel);
	cntrace_bpf__destroy(s->probes);
	if (reaper >= 0)
		close(reaper); /* the reaper holds the last references now: it may go */
}

/*
 * With opts->detach_after_exit, a session that traced a launch ends on a
 * thread while the caller builds and writes the trace, which needs nothing of
 * it: detaching the tracepoints patches kernel text (static calls and keys,
 * an IPI to every CPU each), 2-15 ms here. exit() waits for the thread, so
 * nothing of the session outlives the caller but the uprobe reaper.
 */
static pthread_t ending;
static bool ending_runs;

static void *end_session(void *arg)
{
	session_destroy(arg);
	free(arg);
	return NULL;
}

static void wait_session_end(void)
{
	if (ending_runs)
		pthread_join(ending, NULL);
	ending_runs = false;
}

static void session_end(struct session *s)
{
	static bool waits_at_exit;
	struct session *copy = s->detach_late && !ending_runs ? malloc(sizeof(*copy)) : NULL;

	if (copy && !waits_at_exit)
		waits_at_exit = atexit(wait_session_end) == 0;
	if (copy && waits_at_exit) {
		*copy = *s;
		if (pthread_create(&ending, NULL, end_session, copy) == 0) {
			ending_runs = true;
			return;
		}
	}
	free(copy);
	session_destroy(s);
}

/* The launcher's three USDT probes: uprobe-multi links where the kernel makes them, else libbpf's. */
static int attach_usdt(struct session *s, const char *binary, struct cn_error *err)
{
	struct bpf_program *progs[3];
	int next_spec = 0;

	usdt_progs(s->probes, progs);
	for (int i = 0; i < 3; i++) {
		if (s->uprobe_multi) {
			int fd = cn_usdt_attach(progs[i], s->probes->maps.__bpf_usdt_specs, &next_spec, binary,
						CN_USDT_PROVIDER, usdt_names[i], err);

			if (fd < 0)
				return -1;
			s->multi_fds[s->nmulti_fds++] = fd;
			continue;
		}
		s->uprobes[s->nuprobes] = bpf_program__attach_usdt(progs[i], -1, binary, CN_USDT_PROVIDER, usdt_names[i],
								   NULL);
		if (!s->uprobes[s->nuprobes])
			return cn_fail(err, 0, "cannot trace: %s has no USDT probe %s:%s (built without <sys/sdt.h>?)",
				       binary, CN_USDT_PROVIDER, usdt_names[i]);
		s->nuprobes++;
	}
	return 0;
}

struct uprobes_job {
	struct session *s;
	const struct cn_tracer_opts *o;
	bool usdt; /* the launcher's USDT probes are attached */
	int rc;
	struct cn_error err;
};

/* The USDT and --stage uprobes, on a thread while the tracepoint programs load. */
static void *attach_uprobes(void *arg)
{
	struct uprobes_job *j = arg;
	struct session *s = j->s;
	const struct cn_tracer_opts *o = j->o;

	if (o->usdt_binary) {
		struct cn_error uerr;

		cn_error_clear(&uerr);
		if (attach_usdt(s, o->usdt_binary, &uerr) == 0) {
			j->usdt = true;
		} else {
			drop_uprobes(s); /* what attached before the probe that failed */
			if (o->usdt_required) {
				j->err = uerr;
				j->rc = -1;
				return NULL;
			}
		}
	}
	if (!o->ext_stages || !o->ext_stages->n)
		return NULL;
	if (s->uprobe_multi)
		j->rc = cn_ext_stages_attach_multi(s->probes->progs.cn_uprobe_stage, o->ext_stages, s->multi_fds,
						   &s->nmulti_fds, &j->err);
	else
		j->rc = cn_ext_stages_attach(s->probes->progs.cn_uprobe_stage, o->ext_stages, s->uprobes, &s->nuprobes,
					     (int)(sizeof(s->uprobes) / sizeof(s->uprobes[0])), &j->err);
	return NULL;
}

/* Which programs a load of the object verifies: the tracepoints' or the uprobes'. */
static void choose_programs(struct cntrace_bpf *skel, bool tracepoints, const struct cn_tracer_opts *o)
{
	struct bpf_program *prog, *usdt[3];

	bpf_object__for_each_program(prog, skel->obj) /* uprobes are BPF_PROG_TYPE_KPROBE, tracepoints not */
		bpf_program__set_autoload(prog, (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE) == tracepoints);
	if (tracepoints) {
		bpf_program__set_autoload(skel->progs.cn_sys_enter, o->full_syscalls);
		return;
	}
	usdt_progs(skel, usdt);
	for (int i = 0; i < 3; i++)
		bpf_program__set_autoload(usdt[i], o->usdt_binary != NULL);
	bpf_program__set_autoload(skel->progs.cn_uprobe_stage, o->ext_stages && o->ext_stages->n);
}

/* The maps `from` made become `to`'s: the same rings, task storage, counters and globals. */
static int share_maps(struct cntrace_bpf *from, struct cntrace_bpf *to, struct cn_error *err)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, from->obj) {
		struct bpf_map *same = bpf_object__find_map_by_name(to->obj, bpf_map__name(m));
		int rc = same ? bpf_map__reuse_fd(same, bpf_map__fd(m)) : -ENOENT;

		if (rc)
			return fail_bpf(err, rc, bpf_map__name(m));
	}
	return 0;
}

/* The tracepoint programs choose_programs picked: loaded (after probes, with its maps), then attached. */
static int start_tracepoints(struct session *s, struct cn_error *err)
{
	int rc = cntrace_bpf__load(s->skel);
	struct bpf_program *prog;

	if (rc)
		return fail_bpf(err, rc, "load the BPF programs");
	bpf_object__for_each_program(prog, s->skel->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (attach_tp(prog, &s->tp[s->ntp], err) < 0)
			return -1;
		s->ntp++;
	}
	return 0;
}

/* Whether the environment variable name is set to value (the tests' switches). */
static bool env_is(const char *name, const char *value)
{
	const char *v = getenv(name);

	return v && strcmp(v, value) == 0;
}

static int session_start(const struct cn_tracer_opts *o, struct session *s, bool *usdt, struct cn_error *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	_cleanup_close_ int core_btf = -1; /* libbpf reads it in load */
	char core_btf_path[64];
	struct uprobes_job job = { .s = s, .o = o };
	bool uprobes = o->usdt_binary || (o->ext_stages && o->ext_stages->n);
	struct cntrace_bpf *maps;
	pthread_t thread;
	uint32_t ring;
	int rc;

	libbpf_set_print(libbpf_print);
	s->detach_late = o->detach_after_exit;
	if (access(CN_TP_BTF_KERNEL, R_OK) != 0)
		return cn_fail(err, 0, "cannot trace: this kernel exposes no BTF (%s)", CN_TP_BTF_KERNEL);
	/* CNTRACE_CORE_BTF=kernel: relocate against the kernel's whole BTF (the tests compare the two) */
	if (!env_is("CNTRACE_CORE_BTF", "kernel"))
		core_btf = cn_core_btf_open();
	if (core_btf >= 0)
		snprintf(core_btf_path, sizeof(core_btf_path), "/proc/self/fd/%d", core_btf);
	open_opts.btf_custom_path = core_btf >= 0 ? core_btf_path : NULL;
	s->core_btf = core_btf >= 0;
	if (cn_tp_btf_take_over(err) < 0)
		return -1;
	s->skel = cntrace_bpf__open_opts(&open_opts);
	if (s->skel && uprobes)
		s->probes = cntrace_bpf__open_opts(&open_opts);
	if (!s->skel || (uprobes && !s->probes))
		return fail_bpf(err, -errno, "open the BPF object");
	if (cn_tp_btf_resolve(err) < 0)
		return -1;
	maps = s->probes ? s->probes : s->skel;
	maps->rodata->full_syscalls = o->full_syscalls;
	ring = o->ring_bytes ? (uint32_t)o->ring_bytes : EVENTS_RING;
	maps->rodata->events_wakeup = ring / 4; /* and the reader polls: see drain_main */
	bpf_map__set_max_entries(maps->maps.events, ring);
	if (o->full_syscalls)
		bpf_map__set_max_entries(maps->maps.syscall_log, SYSCALL_LOG_RING);
	choose_programs(s->skel, true, o);
	if (!s->probes)
		return start_tracepoints(s, err);

	choose_programs(s->probes, false, o);
	/* CNTRACE_UPROBE_LINKS=perf_event: libbpf's perf-event uprobes (the tests compare the two) */
	s->uprobe_multi = cn_usdt_multi_supported() && !env_is("CNTRACE_UPROBE_LINKS", "perf_event");
	if (s->uprobe_multi) {
		struct bpf_program *progs[3];

		usdt_progs(s->probes, progs);
		for (int i = 0; i < 3; i++)
			cn_usdt_prepare(progs[i]);
		cn_usdt_prepare(s->probes->progs.cn_uprobe_stage);
	}
	rc = cntrace_bpf__load(s->probes);
	if (rc)
		return fail_bpf(err, rc, "load the BPF programs");
	if (share_maps(s->probes, s->skel, err) < 0)
		return -1;
	cn_error_clear(&job.err);
	rc = pthread_create(&thread, NULL, attach_uprobes, &job);
	if (rc)
		return cn_fail(err, rc, "cannot trace: start the thread that attaches the uprobes");
	rc = start_tracepoints(s, err);
	pthread_join(thread, NULL);
	if (rc == 0 && job.rc < 0) {
		*err = job.err;
		rc = -1;
	}
	*usdt = job.usdt;
	return rc;
}

/* ---- signals: what the user sends cntrace goes to the launch ---- */

static volatile pid_t forward_to = -1;

static void forward_signal(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

static void forward_signals(bool on)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on ? forward_signal : SIG_DFL;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void wait_quiet(struct drain *d, double linger_s)
{
	struct timespec until;
	uint64_t ns = (uint64_t)(linger_s * 1e9);

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ns / 1000000000ull);
	until.tv_nsec += (long)(ns % 1000000000ull);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	while (d->tr->live > 0)
		if (pthread_cond_timedwait(&d->changed, &d->lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&d->lock);
}

int cn_tracer_run(const struct cn_tracer_opts *o, struct cn_trace **out, struct cn_error *err)
{
	struct session s = { 0 };
	struct gate g = { -1, -1, -1 };
	struct watchdog wd = { -1, -1 };
	struct drain d = { .stop_fd = -1, .kick_fd = -1 };
	_cleanup_free_ struct cn_task *seed = calloc(1, sizeof(*seed));
	int seed_fd = -1;
	pthread_condattr_t ca;
	pthread_t thread;
	uint64_t t0 = now_ns(), released;
	bool usdt = false;
	int status = -1;
	uint32_t pid;

	*out = NULL;
	if (session_start(o, &s, &usdt, err) < 0) {
		session_destroy(&s);
		return -1;
	}
	if (o->before_launch && o->before_launch(o->before_launch_arg, err) < 0) {
		session_destroy(&s);
		return -1;
	}
	if (gate_spawn(o, &g, err) < 0) {
		session_destroy(&s);
		return cn_prefix(err, "cannot trace: ");
	}
	pid = (uint32_t)g.pid;
	if (watchdog_spawn(g.pid, &wd) < 0) {
		cn_fail(err, errno, "cannot trace: start the watchdog that ends the launch if cntrace dies");
		gate_kill(&g);
		session_destroy(&s);
		return -1;
	}

	/* the launch filter: task storage for the gate child, keyed by a pidfd of it */
	if (seed) {
		seed->pid = pid;
		seed->phase = CN_TR_SEED_PHASE;
		seed->role = strcmp(o->mode, "run") == 0 ? CN_ROLE_STARTER : CN_TR_ROLE_OTHER;
		seed_fd = (int)syscall(SYS_pidfd_open, g.pid, 0);
	}
	if (!seed || seed_fd < 0 ||
	    bpf_map__update_elem(s.skel->maps.tasks, &seed_fd, sizeof(seed_fd), seed, sizeof(*seed), BPF_NOEXIST) < 0) {
		cn_fail(err, errno, "cannot trace: seed the launch filter");
		if (seed_fd >= 0)
			close(seed_fd);
		gate_kill(&g);
		watchdog_stop(&wd);
		session_destroy(&s);
		return -1;
	}
	close(seed_fd);

	d.tr = cn_trace_new(pid, seed->role, now_ns());
	if (d.tr && o->full_syscalls && o->log_dir) {
		d.tr->log = cn_spool_open(o->log_dir, err);
		if (!d.tr->log) {
			gate_kill(&g);
			watchdog_stop(&wd);
			session_destroy(&s);
			cn_trace_free(d.tr);
			return cn_prefix(err, "cannot trace: ");
		}
	}
	if (d.tr)
		d.tr->drop_log = o->full_syscalls && !o->log_dir;
	d.stop_fd = eventfd(0, EFD_CLOEXEC);
	d.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&d.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d.changed, &ca);
	s.rings[0] = cn_ring_new(bpf_map__fd(s.skel->maps.events), on_record, &d, err);
	if (s.rings[0] && o->full_syscalls)
		s.rings[1] = cn_ring_new(bpf_map__fd(s.skel->maps.syscall_log), on_record, &d, err);
	d.rings[0] = s.rings[0];
	d.rings[1] = s.rings[1];
	d.nrings = s.rings[1] ? 2 : 1;
	if (!s.rings[0] || (o->full_syscalls && !s.rings[1])) {
		gate_kill(&g);
		watchdog_stop(&wd);
		session_destroy(&s);
		cn_trace_free(d.tr);
		drain_close(&d);
		return cn_prefix(err, "cannot trace: ");
	}
	if (!d.tr || d.stop_fd < 0 || d.kick_fd < 0 || pthread_create(&thread, NULL, drain_main, &d) != 0) {
		cn_fail(err, errno, "cannot trace: start the ring buffer reader");
		gate_kill(&g);
		watchdog_stop(&wd);
		session_destroy(&s);
		cn_trace_free(d.tr);
		drain_close(&d);
		return -1;
	}

	forward_to = g.pid;
	forward_signals(true);
	released = now_ns();
	if (gate_open(o, &g, err) < 0) {
		/* the child failed before or at its exec: it is exiting; reap it, keep nothing */
		while (waitpid(g.pid, NULL, 0) < 0 && errno == EINTR)
			;
		watchdog_stop(&wd);
		forward_signals(false);
		eventfd_write(d.stop_fd, 1);
		pthread_join(thread, NULL);
		session_destroy(&s);
		cn_trace_free(d.tr);
		drain_close(&d);
		return -1;
	}
	while (waitpid(g.pid, &status, 0) < 0 && errno == EINTR)
		;
	eventfd_write(d.kick_fd, 1); /* its exit record, and most likely the others', are in the ring */
	watchdog_stop(&wd);
	forward_signals(false);
	forward_to = -1;

	wait_quiet(&d, o->linger_s);
	eventfd_write(d.stop_fd, 1);
	pthread_join(thread, NULL);
	if (drain_rings(&d) < 0 && !d.error)
		d.error = -errno;
	drain_close(&d);

	d.tr->exit_status = status;
	d.tr->startup_ns = released - t0;
	d.tr->complete = d.tr->live <= 0;
	d.tr->full_syscalls = o->full_syscalls;
	d.tr->usdt_attached = usdt;
	d.tr->core_btf = s.core_btf;
	d.tr->usdt_multi = s.uprobe_multi;
	d.tr->mode = o->mode;
	d.tr->flow = o->flow;
	read_live_threads(s.skel, d.tr);
	read_cap_checks(s.skel, d.tr);
	read_losses(s.skel, d.tr);
	session_end(&s);
	pthread_mutex_destroy(&d.lock);
	pthread_cond_destroy(&d.changed);
	pthread_condattr_destroy(&ca);
	if (d.error)
		d.tr->bad_records++; /* a consume failed: something may be missing; say so */
	cn_trace_finish(d.tr);
	*out = d.tr;
	return 0;
}
