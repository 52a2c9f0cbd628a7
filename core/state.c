/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "starter.h"

#ifndef CN_STATE_DIR
#define CN_STATE_DIR "/run/cnlaunch"
#endif
#define STATE_MAX_BYTES (CN_CONFIG_MAX_BYTES + 65536)

static const struct {
	int flag;
	const char *name; /* as /proc/PID/ns names it */
} ns_table[] = {
	{CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mnt"}, {CLONE_NEWPID, "pid"},       {CLONE_NEWUTS, "uts"},
	{CLONE_NEWIPC, "ipc"},   {CLONE_NEWNET, "net"}, {CLONE_NEWCGROUP, "cgroup"},
};
#define N_NS (sizeof(ns_table) / sizeof(ns_table[0]))

/* MASTER: the state it writes (its identity is known before the host helpers are forked, so
 * CLEANUP_HOST knows it too), and whether it holds the id (CleanupContainer removes only then). */
static struct cn_state mine;
static bool reserved;

int cn_state_ns(size_t i, const char **name)
{
	if (i >= N_NS)
		return 0;
	*name = ns_table[i].name;
	return ns_table[i].flag;
}

int cn_state_check_id(const char *id, struct cn_error *err)
{
	size_t n = strlen(id);

	if (n == 0 || n > CN_STATE_ID_MAX || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		return cn_fail(err, 0, "--id: \"%.80s\" is not 1 to %d of A-Z a-z 0-9 _ . -", id, CN_STATE_ID_MAX);
	return 0;
}

int cn_proc_id_of(pid_t pid, struct cn_proc_id *out)
{
	char path[64], buf[1024], state;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return -1;
	buf[n] = '\0';
	/* The name may hold anything, ')' too: the fields start after the last one. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
		   &out->start_time) != 2)
		return -1;
	out->pid = pid;
	return state == 'Z' || state == 'X' ? -1 : 0; /* a zombie is gone: only its parent's wait is left */
}

bool cn_proc_id_alive(const struct cn_proc_id *id)
{
	struct cn_proc_id now;

	return id->pid > 0 && cn_proc_id_of(id->pid, &now) == 0 && now.start_time == id->start_time;
}

/* ---- the directory ---- */

static void user_state_dir(uid_t uid, char *out, size_t cap)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char run[64];
	struct stat st;

	/* Only a directory of the caller's: the environment of someone else's shell
	 * (sudo keeps XDG_RUNTIME_DIR) must not send the state there. */
	if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid &&
	    snprintf(out, cap, "%s/cnlaunch", xdg) < (int)cap)
		return;
	snprintf(run, sizeof(run), "/run/user/%u", uid);
	if (stat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid) {
		snprintf(out, cap, "%s/cnlaunch", run);
		return;
	}
	snprintf(out, cap, "/tmp/cnlaunch-%u", uid);
}

static uid_t state_owner(const struct cn_launch *l)
{
	return l->flow == CN_FLOW_USERNS ? l->caller_uid : 0;
}

/* The flow's state directory, opened and locked; -1 with err->errnum ENOENT when it does not exist. */
static int open_state_dir(const struct cn_launch *l, bool create, char *path, size_t cap, struct cn_error *err)
{
	uid_t owner = state_owner(l);
	struct stat st;
	int fd;

	if (l->flow == CN_FLOW_USERNS)
		user_state_dir(l->caller_uid, path, cap);
	else
		snprintf(path, cap, "%s", CN_STATE_DIR);
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
		return cn_fail(err, errno, "state directory %s: mkdir", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cn_fail(err, errno, "state directory %s", path);
	/* Nobody but its owner may plant or swap a state in it. */
	if (fstat(fd, &st) < 0 || st.st_uid != owner || (st.st_mode & (owner ? 077 : 022))) {
		close(fd);
		return cn_fail(err, 0, "state directory %s: refused: owned by uid %u with mode %03o (uid %u alone must write it)",
			       path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777), (unsigned)owner);
	}
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return cn_fail(err, errno, "state directory %s: flock", path);
	}
	return fd;
}

/* ---- one file ---- */

static bool get_i64(json_object *o, const char *k1, const char *k2, long long *v)
{
	json_object *x;

	if (!json_object_object_get_ex(o, k1, &x) || (k2 && !json_object_object_get_ex(x, k2, &x)) ||
	    !json_object_is_type(x, json_type_int))
		return false;
	*v = json_object_get_int64(x);
	return true;
}

static int parse_state(const char *text, struct cn_state *s, struct cn_error *err)
{
	json_object *root = cn_json_parse(text, err), *v, *ns, *cg;
	long long mp, ms, cp, cs, uid, gid;
	const char *status = NULL, *id = NULL, *flow = NULL;
	int rc = -1;

	if (!root)
		return -1;
	if (json_object_object_get_ex(root, "id", &v))
		id = json_object_get_string(v);
	if (json_object_object_get_ex(root, "status", &v))
		status = json_object_get_string(v);
	if (json_object_object_get_ex(root, "flow", &v))
		flow = json_object_get_string(v);
	if (!id || strlen(id) > CN_STATE_ID_MAX || !status || !flow || cn_flow_from_name(flow) < 0 ||
	    !get_i64(root, "master", "pid", &mp) || !get_i64(root, "master", "start_time", &ms) ||
	    !get_i64(root, "caller", "uid", &uid) || !get_i64(root, "caller", "gid", &gid)) {
		cn_fail(err, 0, "not a cnlaunch state");
		goto out;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->running = strcmp(status, "running") == 0;
	s->master = (struct cn_proc_id){(pid_t)mp, (unsigned long long)ms};
	s->caller_uid = (uid_t)uid;
	s->caller_gid = (gid_t)gid;
	s->flow = cn_flow_from_name(flow);
	if (s->running) {
		if (!get_i64(root, "container", "pid", &cp) || !get_i64(root, "container", "start_time", &cs) ||
		    !json_object_object_get_ex(root, "namespaces", &ns) || !json_object_is_type(ns, json_type_object) ||
		    !json_object_object_get_ex(root, "cgroups", &cg) || !json_object_is_type(cg, json_type_array) ||
		    !json_object_object_get_ex(root, "config", &v) || !json_object_is_type(v, json_type_object)) {
			cn_fail(err, 0, "not a cnlaunch state of a running container");
			goto out;
		}
		s->container = (struct cn_proc_id){(pid_t)cp, (unsigned long long)cs};
		for (size_t i = 0; i < N_NS; i++) {
			json_object *link;
			if (json_object_object_get_ex(ns, ns_table[i].name, &link)) {
				s->namespaces |= ns_table[i].flag;
				snprintf(s->ns[i], sizeof(s->ns[i]), "%s", json_object_get_string(link));
			}
		}
		for (size_t i = 0; i < json_object_array_length(cg); i++)
			if (cn_strv_push(&s->cgroups, json_object_get_string(json_object_array_get_idx(cg, i))) < 0) {
				cn_fail(err, ENOMEM, "state");
				goto out;
			}
		if (!(s->config = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)))) {
			cn_fail(err, ENOMEM, "state");
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

/* NAME's file in dir; -1 with err->errnum ENOENT when there is none. */
static int read_state_at(int dir, const char *dir_path, const char *file, uid_t owner, struct cn_state *s,
			 struct cn_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s/%s", dir_path, file);
	fd = openat(dir, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return cn_fail(err, errno, "state %s", s->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != owner || (st.st_mode & 077) ||
	    st.st_size > STATE_MAX_BYTES)
		return cn_fail(err, 0, "state %s: refused: not a regular file of uid %u alone", s->path, (unsigned)owner);
	if (!(text = calloc(1, (size_t)st.st_size + 1)))
		return cn_fail(err, ENOMEM, "state %s", s->path);
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, text + off, (size_t)st.st_size - off);
		if (n <= 0)
			return cn_fail(err, n < 0 ? errno : EIO, "read state %s", s->path);
		off += (size_t)n;
	}
	if (parse_state(text, s, err) < 0) {
		cn_state_free(s);
		return cn_prefix(err, "state %s: ", s->path);
	}
	return 0;
}

static json_object *proc_id_json(const struct cn_proc_id *id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int64(id->pid));
	json_object_object_add(o, "start_time", json_object_new_int64((int64_t)id->start_time));
	return o;
}

static json_object *state_json(const struct cn_state *s, struct cn_error *err)
{
	json_object *o = json_object_new_object(), *ns, *cg, *config;

	json_object_object_add(o, "schema", json_object_new_string("cnlaunch.state/1"));
	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "status", json_object_new_string(s->running ? "running" : "creating"));
	json_object_object_add(o, "master", proc_id_json(&s->master));
	json_object_object_add(o, "caller", json_object_new_object());
	json_object_object_add(json_object_object_get(o, "caller"), "uid", json_object_new_int64(s->caller_uid));
	json_object_object_add(json_object_object_get(o, "caller"), "gid", json_object_new_int64(s->caller_gid));
	json_object_object_add(o, "flow", json_object_new_string(cn_flow_name((enum cn_flow)s->flow)));
	if (!s->running)
		return o;
	json_object_object_add(o, "container", proc_id_json(&s->container));
	json_object_object_add(o, "namespaces", ns = json_object_new_object());
	for (size_t i = 0; i < N_NS; i++)
		if (s->namespaces & ns_table[i].flag)
			json_object_object_add(ns, ns_table[i].name, json_object_new_string(s->ns[i]));
	json_object_object_add(o, "cgroups", cg = json_object_new_array());
	for (size_t i = 0; i < s->cgroups.n; i++)
		json_object_array_add(cg, json_object_new_string(s->cgroups.v[i]));
	if (!(config = cn_json_parse(s->config, err))) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "config", config);
	return o;
}

/* Written beside, then renamed over NAME.json (or into its place only when none is there). */
static int write_state_at(int dir, const char *dir_path, const struct cn_state *s, bool replace, struct cn_error *err)
{
	char tmp[CN_STATE_ID_MAX + 16], file[CN_STATE_ID_MAX + 8];
	json_object *o = state_json(s, err);
	_cleanup_close_ int fd = -1;
	const char *text;
	size_t len, off = 0;
	int rc = -1;

	if (!o)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.json.tmp", s->id);
	snprintf(file, sizeof(file), "%s.json", s->id);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	unlinkat(dir, tmp, 0); /* a master killed between its write and its rename */
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* root's, whatever the setuid caller's gid and umask: only root reads it */
	if (fd < 0 || fchmod(fd, 0600) < 0 || (geteuid() == 0 && fchown(fd, 0, 0) < 0)) {
		cn_fail(err, errno, "state %s/%s", dir_path, tmp);
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			cn_fail(err, errno, "write state %s/%s", dir_path, tmp);
			goto out;
		}
		off += (size_t)n;
	}
	if (renameat2(dir, tmp, dir, file, replace ? 0 : RENAME_NOREPLACE) < 0) {
		cn_fail(err, errno, "state %s/%s: rename to %s", dir_path, tmp, file);
		unlinkat(dir, tmp, 0);
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* ---- the launch's side (MASTER; CLEANUP_HOST) ---- */

static int reserve_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	char path[PATH_MAX], file[CN_STATE_ID_MAX + 8];
	_cleanup_close_ int dir = open_state_dir(l, true, path, sizeof(path), err);
	struct cn_state old;

	(void)pid;
	if (dir < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.json", l->opts.id);
	if (read_state_at(dir, path, file, state_owner(l), &old, err) == 0) {
		bool alive = cn_proc_id_alive(&old.master);
		cn_state_free(&old);
		if (alive)
			return cn_fail(err, 0, "--id %s: a launch with this id runs (cnlaunch pid %d)", l->opts.id, old.master.pid);
		if (unlinkat(dir, file, 0) < 0) /* its launch was killed: the state is stale */
			return cn_fail(err, errno, "remove the stale state %s/%s", path, file);
	} else if (err->errnum != ENOENT) {
		return -1;
	}
	cn_error_clear(err); /* none yet: the id is free */
	return write_state_at(dir, path, &mine, false, err);
}

/* op as host root (state.h: root's files), with an error of its own: the ops tell
 * "no such file" (errnum ENOENT) from other failures. */
static int with_clean_error(struct cn_launch *l, int (*op)(struct cn_launch *l, pid_t pid, struct cn_error *err),
			    struct cn_error *err)
{
	struct cn_error e = {0};

	if (cn_starter_as_host_root(l, op, 0, &e) == 0)
		return 0;
	*err = e;
	return -1;
}

/* A launch given --id records its state; an exec's --id names another's. */
static bool records_state(const struct cn_launch *l)
{
	return l->opts.id && !l->opts.exec;
}

int cn_state_prepare(struct cn_launch *l, struct cn_error *err)
{
	if (!records_state(l))
		return 0;
	memset(&mine, 0, sizeof(mine));
	snprintf(mine.id, sizeof(mine.id), "%s", l->opts.id);
	mine.caller_uid = l->caller_uid;
	mine.caller_gid = l->caller_gid;
	mine.flow = l->flow;
	if (cn_proc_id_of(getpid(), &mine.master) < 0)
		return cn_fail(err, errno, "/proc/%d/stat", getpid());
	return 0;
}

int cn_state_reserve(struct cn_launch *l, struct cn_error *err)
{
	if (!records_state(l))
		return 0;
	if (!mine.master.pid && cn_state_prepare(l, err) < 0)
		return -1;
	if (with_clean_error(l, reserve_op, err) < 0)
		return -1;
	reserved = true;
	return 0;
}

static int publish_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	char path[PATH_MAX];
	_cleanup_close_ int dir = open_state_dir(l, false, path, sizeof(path), err);

	(void)pid;
	return dir < 0 ? -1 : write_state_at(dir, path, &mine, true, err);
}

int cn_state_publish(struct cn_launch *l, struct cn_error *err)
{
	pid_t pid = cn_process_pid(&l->container);

	if (!records_state(l))
		return 0;
	if (cn_proc_id_of(pid, &mine.container) < 0)
		return cn_fail(err, ESRCH, "--id %s: the container process %d is gone", mine.id, pid);
	for (size_t i = 0; i < N_NS; i++) {
		char link[64];
		ssize_t n;
		if (!(l->cfg.namespaces & ns_table[i].flag))
			continue;
		snprintf(link, sizeof(link), "/proc/%d/ns/%s", pid, ns_table[i].name);
		if ((n = readlink(link, mine.ns[i], sizeof(mine.ns[i]) - 1)) < 0)
			return cn_fail(err, errno, "readlink %s", link);
		mine.ns[i][n] = '\0';
		mine.namespaces |= ns_table[i].flag;
	}
	for (size_t i = 0; l->cgroup && i < l->cgroup->n_dirs; i++)
		if (cn_strv_push(&mine.cgroups, l->cgroup->dirs[i].dir) < 0)
			return cn_fail(err, ENOMEM, "state");
	mine.config = l->prepared_config;
	mine.running = true;
	return with_clean_error(l, publish_op, err);
}

/* CLEANUP_HOST learns that the master died when its socket closes, which the kernel does
 * before the master is a zombie: a master still exiting is given a moment to be gone. */
static bool master_lives(const struct cn_proc_id *master)
{
	struct pollfd exited;
	_cleanup_close_ int pidfd = -1;

	if (!cn_proc_id_alive(master))
		return false;
	if ((pidfd = (int)syscall(SYS_pidfd_open, master->pid, 0)) < 0)
		return true;
	exited = (struct pollfd){.fd = pidfd, .events = POLLIN};
	return poll(&exited, 1, 2000) <= 0 && cn_proc_id_alive(master);
}

static int remove_op(struct cn_launch *l, pid_t pid, struct cn_error *err)
{
	char path[PATH_MAX], file[CN_STATE_ID_MAX + 8];
	_cleanup_close_ int dir = -1;
	struct cn_state old;
	bool ours;

	(void)pid;
	if ((dir = open_state_dir(l, false, path, sizeof(path), err)) < 0)
		return err->errnum == ENOENT ? (cn_error_clear(err), 0) : -1;
	snprintf(file, sizeof(file), "%s.json", l->opts.id);
	if (read_state_at(dir, path, file, state_owner(l), &old, err) < 0)
		return err->errnum == ENOENT ? (cn_error_clear(err), 0) : -1;
	/* never another launch's: a stale one is replaced by the next launch of the id */
	ours = old.master.pid == mine.master.pid && old.master.start_time == mine.master.start_time;
	if (ours && (l->role == CN_ROLE_MASTER || !master_lives(&old.master)) && unlinkat(dir, file, 0) < 0 &&
	    errno != ENOENT)
		cn_fail(err, errno, "remove state %s/%s", path, file);
	cn_state_free(&old);
	return err->msg[0] ? -1 : 0;
}

int cn_state_remove(struct cn_launch *l, struct cn_error *err)
{
	if (!records_state(l))
		return 0;
	/* MASTER: an id it reserved; CLEANUP_HOST (root and userns flows only): its master's, once
	 * that master is gone */
	if ((l->role == CN_ROLE_MASTER && !reserved) || !mine.master.pid)
		return 0;
	return with_clean_error(l, remove_op, err);
}

/* ---- the exec's side ---- */

static struct {
	const char *id;
	pid_t pid;
	struct cn_state *out;
} wanted;

static bool is_state_file(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static int find_op(struct cn_launch *l, pid_t unused, struct cn_error *err)
{
	char path[PATH_MAX], file[CN_STATE_ID_MAX + 8];
	_cleanup_close_ int dir = open_state_dir(l, false, path, sizeof(path), err);
	DIR *d;
	struct dirent *e;

	(void)unused;
	if (dir < 0)
		return -1;
	if (wanted.id) {
		snprintf(file, sizeof(file), "%s.json", wanted.id);
		return read_state_at(dir, path, file, state_owner(l), wanted.out, err);
	}
	if (!(d = fdopendir(dup(dir))))
		return cn_fail(err, errno, "state directory %s", path);
	while ((e = readdir(d))) {
		struct cn_error ignored = {0};
		if (!is_state_file(e->d_name) || read_state_at(dir, path, e->d_name, state_owner(l), wanted.out, &ignored) < 0)
			continue;
		if (wanted.out->running && wanted.out->container.pid == wanted.pid) {
			closedir(d);
			return 0;
		}
		cn_state_free(wanted.out);
	}
	closedir(d);
	return cn_fail(err, ENOENT, "no state in %s names pid %d", path, wanted.pid);
}

int cn_state_find(struct cn_launch *l, const char *id, pid_t pid, struct cn_state *out, struct cn_error *err)
{
	wanted.id = id;
	wanted.pid = pid;
	wanted.out = out;
	memset(out, 0, sizeof(*out));
	return with_clean_error(l, find_op, err);
}

void cn_state_free(struct cn_state *s)
{
	cn_strv_free(&s->cgroups);
	free(s->config);
	s->config = NULL;
}
