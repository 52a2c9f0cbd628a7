# SPDX-License-Identifier: Apache-2.0
"""Load (issue 7): the tracer under concurrent and repeated launches.

- 16 `cntrace run` at once, the three flows mixed: each trace holds its own
  launch's processes, all of them (the six launcher roles and exactly the
  container children its command forked) and none of another launch's;
- 200 launches one after the other in one process of the tracer library (a
  small C program built here against the build's libcntrace.a, with the
  build's sanitizers): the process holds no more fds, heap or children after
  them than after the first three, every BPF program, link and map it loaded
  (seen from inside each run) is gone from the kernel, and every trace was
  complete with nothing lost.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO
from test_faults import assert_same_cgroups, cgroup_dirs, launch_argv
from trace_fixtures import LAUNCHER_ROLES

BUILD = Path(os.environ.get("CN_BUILD_ROOT") or REPO / "build")
FLOWS = ("setuid", "userns", "root")
CONCURRENT = 16
SEQUENTIAL = 200


# --------------------------------------------------------------------------
# 16 at once


def _storm_cmd(i):
    """Launch i forks 1 + i % 5 children that exec /bin/echo with its own marker, and exits 20 + i."""
    k = 1 + i % 5
    js = " ".join(str(j) for j in range(1, k + 1))  # no $(seq): a command substitution is a child too
    return k, ["/bin/sh", "-c", "for j in %s; do /bin/echo launch-%d-$j; done; exit %d" % (js, i, 20 + i)]


def test_sixteen_concurrent_launches_each_trace_holds_exactly_its_own_processes(world, leftovers, tmp_path):
    before, cgroups = leftovers.snapshot(False), cgroup_dirs()
    runs = []
    for i in range(CONCURRENT):
        flow = FLOWS[i % 3]
        launcher = {"setuid": world.setuid_binary, "userns": world.userns_binary, "root": world.root_binary}[flow]
        k, cmd = _storm_cmd(i)
        out = tmp_path / ("trace-%02d.json" % i)
        argv = launch_argv(world, flow, launcher, out, cmd=cmd)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=str(world.dir), env=dict(os.environ, LC_ALL="C"))
        runs.append((i, flow, k, argv, out, p))
    results = []
    deadline = time.monotonic() + 180
    for i, flow, k, argv, out, p in runs:
        try:
            stdout, stderr = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for *_, q in runs:
                q.kill()
            raise AssertionError("launch %d (%s) did not finish under load" % (i, flow)) from None
        results.append((i, flow, k, argv, out, p.returncode, stdout.decode(errors="replace"),
                        stderr.decode(errors="replace")))
    leftovers.assert_same(before, "16 concurrent launches", False)
    assert_same_cgroups(cgroups, "16 concurrent launches")

    owner = {}
    for i, flow, k, argv, out, rc, stdout, stderr in results:
        what = "launch %d (%s flow)\n$ %s\nexit %s\n%s" % (i, flow, " ".join(argv), rc, stderr[-3000:])
        assert rc == 20 + i, "%s: wrong exit status" % what
        assert stdout.split() == ["launch-%d-%d" % (i, j) for j in range(1, k + 1)], "%s: stdout %r" % (what,
                                                                                                         stdout)
        trace = json.loads(out.read_text())
        assert trace["launch"]["exit_code"] == 20 + i and trace["launch"]["flow"] == flow, what
        assert trace["tracer"]["lost_events"] == 0 and trace["tracer"]["complete"], "%s: %s" % (what,
                                                                                              trace["tracer"])
        procs = trace["processes"]
        roles = sorted(p["role"] for p in procs)
        want = sorted(list(LAUNCHER_ROLES) + ["container"] * k)
        assert roles == want, "%s: the trace should hold the six launcher processes and the %d children " \
                              "its command forked, no more, no less: %s" % (what, k, roles)
        echoes = [p for p in procs if p["role"] == "container"]
        assert all([e["filename"] for e in p["execs"]] == ["/bin/echo"] for p in echoes), \
            "%s: the container children should each exec /bin/echo: %s" % (what, [p["execs"] for p in echoes])
        pids = {p["pid"] for p in procs}
        root = trace["launch"]["pid"]
        assert root in pids, what
        orphans = [p["pid"] for p in procs if p["pid"] != root and p["ppid"] not in pids]
        assert not orphans, "%s: processes whose parent is not in the trace: %s" % (what, orphans)
        for pid in pids:
            assert pid not in owner, "pid %d is in the traces of launch %d and launch %d" % (pid, owner[pid], i)
            owner[pid] = i


# --------------------------------------------------------------------------
# 200 in one process of the tracer library

LOOP_PROGRAM = r"""
/* tracer-loop N SETUID USERNS ROOT ROOTFS_USER ROOTFS_ROOT: N launches of /bin/true through
 * cn_tracer_run(), the flows in turn; prints one JSON line of what it held before and after. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "tracer.h"

#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void); /* ASan's allocator: glibc's mallinfo sees nothing */
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
static size_t heap_in_use(void) { return mallinfo2().uordblks; }
#endif

#define MAX_IDS 65536
static struct { char kind; unsigned id; } ids[MAX_IDS];
static size_t n_ids;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

static int count_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && atoi(p + 4) == getpid())
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* before_launch: the tracer is attached; note the ids of every BPF object this process holds. */
static int note_bpf(void *arg, struct cn_error *err)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	(void)arg;
	(void)err;
	while ((e = readdir(d))) {
		char path[300], target[300], line[256];
		ssize_t n;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strstr(target, "bpf"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", e->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		while (fgets(line, sizeof(line), f) && n_ids < MAX_IDS) {
			unsigned id;
			if (sscanf(line, "prog_id: %u", &id) == 1 && !strstr(target, "link"))
				ids[n_ids].kind = 'p', ids[n_ids++].id = id;
			else if (sscanf(line, "link_id: %u", &id) == 1)
				ids[n_ids].kind = 'l', ids[n_ids++].id = id;
			else if (sscanf(line, "map_id: %u", &id) == 1)
				ids[n_ids].kind = 'm', ids[n_ids++].id = id;
		}
		fclose(f);
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const flows[3] = { "setuid", "userns", "root" };
	int runs = atoi(argv[1]), failures = 0, fds0 = 0, children0 = 0;
	size_t heap0 = 0, seen[3] = { 0, 0, 0 }, alive = 0;
	char first_error[1200] = "";
	const char *child_asan = getenv("CN_LOOP_CHILD_ASAN_OPTIONS");

	(void)argc;
	/* the sanitizers read their options at start: the launches get the suite's, not ours */
	if (child_asan && *child_asan)
		setenv("ASAN_OPTIONS", child_asan, 1);
	else if (child_asan)
		unsetenv("ASAN_OPTIONS");

	for (int i = 0; i < runs; i++) {
		int f = i % 3;
		char *launcher = argv[2 + f], *rootfs = argv[f == 2 ? 6 : 5];
		char *cmd[] = { launcher, "--flow", (char *)flows[f], "--rootfs", rootfs, "--", "/bin/true", NULL };
		struct cn_tracer_opts o = { 0 };
		struct cn_error err = { 0 };
		struct cn_trace *tr = NULL;

		o.argv = cmd;
		o.mode = "run";
		o.usdt_binary = launcher;
		o.usdt_required = true;
		o.flow = flows[f];
		o.linger_s = 2.0;
		o.before_launch = note_bpf;
		if (f != 2) {
			o.as_user = true;
			o.uid = o.gid = 65534;
			o.user_name = "nobody";
		}
		if (cn_tracer_run(&o, &tr, &err) < 0) {
			failures++;
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error), "run %d: %s", i, err.msg);
		} else {
			struct json_object *doc = cn_trace_to_json(tr);

			if (cn_wait_status_code(tr->exit_status) != 0 || !tr->complete || cn_trace_lost(tr) || tr->nstages < 10) {
				failures++;
				if (!first_error[0])
					snprintf(first_error, sizeof(first_error), "run %d (%s): exit %d complete %d lost %llu stages %zu",
						 i, flows[f], cn_wait_status_code(tr->exit_status), tr->complete,
						 (unsigned long long)cn_trace_lost(tr), tr->nstages);
			}
			(void)cn_json_string(doc);
			json_object_put(doc);
			cn_trace_free(tr);
		}
		if (i == 2) { /* one run of each flow first: what is allocated once (NSS, libbpf) is in the baseline */
			fds0 = count_fds();
			heap0 = heap_in_use();
			children0 = count_children();
		}
	}
	for (size_t k = 0; k < n_ids; k++) {
		int fd = -1;

		/* The kernel frees a map whose last reference went after an RCU grace period, from a
		 * workqueue: the last run's maps may take a moment. A leak stays past two seconds. */
		for (int tries = 0; tries < 200; tries++) {
			fd = ids[k].kind == 'p' ? bpf_prog_get_fd_by_id(ids[k].id)
			     : ids[k].kind == 'l' ? bpf_link_get_fd_by_id(ids[k].id)
						  : bpf_map_get_fd_by_id(ids[k].id);
			if (fd < 0)
				break;
			close(fd);
			usleep(10000);
		}
		seen[ids[k].kind == 'p' ? 0 : ids[k].kind == 'l' ? 1 : 2]++;
		if (fd >= 0) {
			alive++;
			fprintf(stderr, "tracer-loop: %c id %u is still loaded\n", ids[k].kind, ids[k].id);
		}
	}
	printf("{\"runs\": %d, \"failures\": %d, \"first_error\": \"%s\", \"fds\": [%d, %d], \"heap\": [%zu, %zu], "
	       "\"children\": [%d, %d], \"bpf_seen\": {\"prog\": %zu, \"link\": %zu, \"map\": %zu}, \"bpf_alive\": %zu}\n",
	       runs, failures, first_error, fds0, count_fds(), heap0, heap_in_use(), children0, count_children(),
	       seen[0], seen[1], seen[2], alive);
	return 0;
}
"""


def _build_sanitizers():
    """The -fsanitize flags the build was configured with (its libcntrace.a needs them at link time)."""
    info = json.loads((BUILD / "meson-info" / "intro-buildoptions.json").read_text())
    sanitize = next((o["value"] for o in info if o["name"] == "b_sanitize"), "none")
    return [] if sanitize in ("none", "") else ["-fsanitize=" + sanitize]


@pytest.fixture(scope="module")
def tracer_loop(tmp_path_factory):
    lib = BUILD / "trace" / "libcntrace.a"
    if not lib.is_file():
        pytest.fail("no %s: build it (ninja -C build)" % lib, pytrace=False)
    d = tmp_path_factory.mktemp("tracer-loop")
    src, exe = d / "tracer-loop.c", d / "tracer-loop"
    src.write_text(LOOP_PROGRAM)
    libs = subprocess.run(["pkg-config", "--libs", "libbpf", "json-c", "libseccomp", "libcap"],
                          stdout=subprocess.PIPE, check=True).stdout.decode().split()
    sanitize = _build_sanitizers()
    p = subprocess.run(["gcc", "-O1", "-g", *sanitize, "-I", str(REPO / "trace"), "-I", str(REPO / "core"),
                        "-I", str(REPO / "bpf"), "-o", str(exe), str(src), str(lib), *libs, "-lelf", "-lz",
                        "-lpthread", *sanitize],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if p.returncode != 0:
        pytest.fail("cannot build the tracer loop against %s:\n%s" % (lib, p.stdout.decode(errors="replace")),
                    pytrace=False)
    return exe, bool(sanitize)


def test_two_hundred_sequential_launches_in_one_process_leak_nothing(world, leftovers, tracer_loop):
    exe, sanitized = tracer_loop
    before, cgroups = leftovers.snapshot(False), cgroup_dirs()
    env = dict(os.environ, LC_ALL="C")
    if sanitized:  # the loop is not traced: LeakSanitizer may stop its world at exit (not the launches')
        env["CN_LOOP_CHILD_ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    else:  # exact accounting: per-thread caches and arenas would count freed memory as in use
        env["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1"
    p = subprocess.run([str(exe), str(SEQUENTIAL), str(world.setuid_binary), str(world.userns_binary),
                        str(world.root_binary), str(world.rootfs_user), str(world.rootfs_root)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       cwd=str(world.dir), timeout=900, check=False)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, "the tracer loop failed (exit %d)\n%s" % (p.returncode, err[-6000:])
    r = json.loads(p.stdout)
    leftovers.assert_same(before, "200 sequential launches", False)
    assert_same_cgroups(cgroups, "200 sequential launches")

    assert r["runs"] == SEQUENTIAL and r["failures"] == 0, "%s\n%s" % (r, err[-3000:])
    assert r["fds"][1] == r["fds"][0], "fds held grew from %d to %d over %d launches" % (
        r["fds"][0], r["fds"][1], SEQUENTIAL - 3)
    assert r["children"][1] == r["children"][0] == 0, "children left: %s" % r["children"]
    # exact counts (ASan's allocator, or glibc's with no thread cache and one arena): 8 bytes kept per
    # launch would already be 1.5 KiB
    grown = r["heap"][1] - r["heap"][0]
    assert grown < 1024, "heap in use grew by %d bytes over %d launches: %s" % (grown, SEQUENTIAL - 3, r)
    seen = r["bpf_seen"]
    assert seen["prog"] >= SEQUENTIAL and seen["link"] >= SEQUENTIAL and seen["map"] >= SEQUENTIAL, \
        "the loop should have seen the BPF objects of every run: %s" % seen
    assert r["bpf_alive"] == 0, "BPF objects of finished runs are still loaded:\n%s" % err[-3000:]
