/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "engine.h"
#include "state.h"

#ifndef CN_VERSION
#define CN_VERSION "0"
#endif

static const char usage_text[] =
	"Usage: cnlaunch [OPTIONS] [--] [COMMAND [ARG...]]\n"
	"       cnlaunch exec (--id NAME | --pid PID) [--user UID[:GID]] [--env KEY=VALUE] [--cwd DIR]\n"
	"                     [--sub-cgroup PATH] [-t] [--console-size ROWSxCOLS] [--console-socket PATH]\n"
	"                     [--pidfd-socket PATH] [--preserve-fds N] -- COMMAND [ARG...]\n"
	"\n"
	"Run COMMAND in a new container through the ten engine Operations stages\n"
	"(Config ... CleanupHost), each marked with a USDT probe for cntrace.\n"
	"\n"
	"Container:\n"
	"  --rootfs DIR          root filesystem (absolute path; default: the built-in busybox rootfs)\n"
	"  --bundle DIR          OCI bundle: DIR/config.json, its root.path relative to DIR\n"
	"  --read-only           mount the root filesystem read-only\n"
	"  --hostname NAME       hostname in the container's UTS namespace\n"
	"\n"
	"Process:\n"
	"  --user UID[:GID]      run as UID (setuid flow: only the caller; userns flow: UID is mapped\n"
	"                        to the caller, so --user 0 runs as root of a new user namespace)\n"
	"  --cap-add CAP         add CAP (e.g. CAP_NET_RAW) to all five capability sets; repeatable\n"
	"  --cap-drop CAP        remove CAP from all sets; ALL removes every one; repeatable\n"
	"  --no-new-privs        set no_new_privs before exec\n"
	"  --seccomp FILE        apply FILE, a JSON OCI linux.seccomp object\n"
	"  --env KEY=VALUE       add to the environment; repeatable\n"
	"  --cwd DIR             working directory inside the container (default /)\n"
	"  --rlimit NAME=SOFT[:HARD]  set a resource limit, e.g. nofile=1024:4096 (unlimited allowed)\n"
	"  --group-add GID       add a supplementary group (setuid flow: only the caller's); repeatable\n"
	"  --umask MODE          the process's umask, octal (default 0022)\n"
	"  --scheduler POLICY[:PRIORITY]  CPU scheduling policy: other, batch, idle, fifo, rr\n"
	"                        (fifo and rr take a priority 1-99)\n"
	"  --nice N              nice value, -20 to 19\n"
	"  --ioprio CLASS[:LEVEL]  I/O priority: rt, be or idle, level 0 (highest) to 7\n"
	"                        Raising a priority needs CAP_SYS_NICE (CAP_SYS_ADMIN for rt I/O): a setuid\n"
	"                        or userns run applies these with the caller's own rights, root with root's.\n"
	"\n"
	"Cgroups (the root flow gives every container its own; setuid and userns runs only when asked):\n"
	"  --memory BYTES[kKmMgG]  memory limit; the OOM killer ends the container past it (exit 137)\n"
	"  --pids-limit N        at most N processes and threads\n"
	"  --cpus FLOAT          CPU bandwidth in CPUs (0.5: 50 ms of every 100 ms)\n"
	"  --cgroup-path PATH    the container's cgroup: absolute, or relative to cnlaunch's own cgroup\n"
	"                        (default: cnlaunch-PID beneath it); setuid runs: only beneath the\n"
	"                        caller's cgroup and never another user's; userns runs: only delegated ones\n"
	"  --cgroup-manager auto|v1|v2|disabled  which hierarchies to use (auto: the ones the layout\n"
	"                        has; disabled: none, and a limit or a path is refused)\n"
	"\n"
	"Terminal and file descriptors:\n"
	"  -t, --tty             give the process a new pty as its stdio and controlling terminal;\n"
	"                        cnlaunch relays its own stdin/stdout to it (stdin goes raw when a terminal)\n"
	"  --console-size ROWSxCOLS  the pty's size (default: the caller's terminal's)\n"
	"  --console-socket PATH send the pty master to the unix socket PATH (SCM_RIGHTS, as runc and\n"
	"                        crun do) instead of relaying; the payload is the pty's name in the container\n"
	"  --pidfd-socket PATH   once the command runs, send a pidfd of it to the unix socket PATH\n"
	"  --preserve-fds N      pass fds 3 .. 3+N-1 to the process (all must be open); every other fd\n"
	"                        above stderr is closed\n"
	"\n"
	"Launch:\n"
	"  --flow FLOW           auto (default), setuid, userns, root; auto picks setuid when cnlaunch\n"
	"                        runs setuid root for a user, root for root, userns otherwise\n"
	"  --engine NAME         the engine that runs the stages (default: native)\n"
	"  --pid-file FILE       PostStartHost writes the container's host pid there; CleanupHost removes it\n"
	"  --id NAME             record the running container as NAME (A-Z a-z 0-9 _ . -, at most 64) for\n"
	"                        cnlaunch exec; a running launch with the same NAME is a refusal\n"
	"  --print-config        print the final config.json PrepareConfig produced, and exit\n"
	"  -v, --verbose         report each stage on stderr\n"
	"  -h, --help            this text\n"
	"      --version         print the version\n"
	"\n"
	"Exec: run COMMAND in the container launched with --id NAME (or whose process is host pid\n"
	"PID): its namespaces, cgroups, user, capabilities, no_new_privs, seccomp, environment and\n"
	"working directory; --user (a setuid run: only the caller), --env and --cwd change them.\n"
	"Signals are forwarded to COMMAND. Options: --id, --pid, --user, --env, --cwd, --flow,\n"
	"--print-config, -v; -t, --console-size, --console-socket, --pidfd-socket and\n"
	"--preserve-fds as for a launch; and\n"
	"  --sub-cgroup PATH     run COMMAND in PATH beneath the container's cgroup in each of its\n"
	"                        hierarchies (relative, at most 4 names of A-Z a-z 0-9 _ . -); made\n"
	"                        when missing, removed when the exec ends and nothing runs in it\n"
	"\n"
	"Exit status: the command's; 128+N when a signal N killed it; 125 when cnlaunch\n"
	"failed (one line on stderr says which stage, path and syscall); 126 when COMMAND\n"
	"cannot be executed; 127 when it is not found.\n";

enum {
	OPT_ROOTFS = 256, OPT_BUNDLE, OPT_READ_ONLY, OPT_HOSTNAME, OPT_USER, OPT_CAP_ADD, OPT_CAP_DROP,
	OPT_NO_NEW_PRIVS, OPT_SECCOMP, OPT_ENV, OPT_CWD, OPT_RLIMIT, OPT_FLOW, OPT_ENGINE, OPT_PID_FILE,
	OPT_PRINT_CONFIG, OPT_VERSION, OPT_CONSOLE_SIZE, OPT_CONSOLE_SOCKET, OPT_PIDFD_SOCKET, OPT_PRESERVE_FDS,
	OPT_UMASK, OPT_SCHEDULER, OPT_NICE, OPT_IOPRIO, OPT_GROUP_ADD,
	OPT_MEMORY, OPT_PIDS_LIMIT, OPT_CPUS, OPT_CGROUP_PATH, OPT_CGROUP_MANAGER,
	OPT_ID, OPT_PID, OPT_SUB_CGROUP,
};

static const struct option long_options[] = {
	{"rootfs", required_argument, NULL, OPT_ROOTFS},
	{"bundle", required_argument, NULL, OPT_BUNDLE},
	{"read-only", no_argument, NULL, OPT_READ_ONLY},
	{"hostname", required_argument, NULL, OPT_HOSTNAME},
	{"user", required_argument, NULL, OPT_USER},
	{"cap-add", required_argument, NULL, OPT_CAP_ADD},
	{"cap-drop", required_argument, NULL, OPT_CAP_DROP},
	{"no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS},
	{"seccomp", required_argument, NULL, OPT_SECCOMP},
	{"env", required_argument, NULL, OPT_ENV},
	{"cwd", required_argument, NULL, OPT_CWD},
	{"rlimit", required_argument, NULL, OPT_RLIMIT},
	{"flow", required_argument, NULL, OPT_FLOW},
	{"engine", required_argument, NULL, OPT_ENGINE},
	{"pid-file", required_argument, NULL, OPT_PID_FILE},
	{"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
	{"tty", no_argument, NULL, 't'},
	{"console-size", required_argument, NULL, OPT_CONSOLE_SIZE},
	{"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
	{"pidfd-socket", required_argument, NULL, OPT_PIDFD_SOCKET},
	{"preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS},
	{"umask", required_argument, NULL, OPT_UMASK},
	{"scheduler", required_argument, NULL, OPT_SCHEDULER},
	{"nice", required_argument, NULL, OPT_NICE},
	{"ioprio", required_argument, NULL, OPT_IOPRIO},
	{"group-add", required_argument, NULL, OPT_GROUP_ADD},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"cgroup-path", required_argument, NULL, OPT_CGROUP_PATH},
	{"cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER},
	{"id", required_argument, NULL, OPT_ID},
	{"pid", required_argument, NULL, OPT_PID},
	{"sub-cgroup", required_argument, NULL, OPT_SUB_CGROUP},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static int parse_user(struct cn_options *o, const char *arg, struct cn_error *err)
{
	char buf[64];
	char *colon;
	uint32_t uid, gid;

	if (strlen(arg) >= sizeof(buf))
		return cn_fail(err, 0, "--user: \"%.32s...\" is not UID[:GID]", arg);
	strcpy(buf, arg);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (cn_parse_u32(buf, UINT32_MAX - 1, &uid) < 0) /* (uid_t)-1 means "unchanged" */
		return cn_fail(err, 0, "--user: \"%s\" is not a numeric uid (0 to 4294967294)", buf);
	if (colon && cn_parse_u32(colon + 1, UINT32_MAX - 1, &gid) < 0)
		return cn_fail(err, 0, "--user: \"%s\" is not a numeric gid (0 to 4294967294)", colon + 1);
	o->user_set = true;
	o->uid = uid;
	o->gid_set = colon != NULL;
	o->gid = colon ? gid : 0;
	return 0;
}

static int push(struct cn_strv *sv, const char *arg, struct cn_error *err)
{
	return cn_strv_push(sv, arg) < 0 ? cn_fail(err, ENOMEM, "options") : 0;
}

/* What `cnlaunch exec` takes: the rest shapes a new container, which an exec does not make. */
static bool exec_option(int c)
{
	static const int allowed[] = {OPT_ID, OPT_PID, OPT_USER, OPT_ENV, OPT_CWD, OPT_FLOW, OPT_PRINT_CONFIG,
				      OPT_SUB_CGROUP, 't', OPT_CONSOLE_SIZE, OPT_CONSOLE_SOCKET, OPT_PIDFD_SOCKET,
				      OPT_PRESERVE_FDS, 'v', 'h', OPT_VERSION, ':', '?'};

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (c == allowed[i])
			return true;
	return false;
}

/* exec: the options it was given make sense for an exec, and name one container. */
static int check_exec_options(const struct cn_options *o, const char *launch_only, struct cn_error *err)
{
	if (launch_only)
		return cn_fail(err, 0, "exec: --%s is an option of a launch, not of exec (see cnlaunch --help)", launch_only);
	if (!o->id == !o->exec_pid)
		return cn_fail(err, 0, "exec: give one of --id NAME and --pid PID");
	if (!o->command)
		return cn_fail(err, 0, "exec: no command: give one after --");
	return 0;
}

int cn_options_parse(struct cn_options *o, int argc, char **argv, struct cn_error *err)
{
	const char *launch_only = NULL, *problem;
	int c, flow, idx = -1;
	uint32_t pid;

	memset(o, 0, sizeof(*o));
	o->engine = "native";
	opterr = 0;
	optind = 1;
	/* "+": stop at the first non-option, which is the container's command, or "exec". */
	for (;; idx = -1) {
		if ((c = getopt_long(argc, argv, "+:vht", long_options, &idx)) == -1) {
			/* "exec" ahead of any "--": `cntrace run --flow F exec ...` puts options before it */
			if (o->exec || optind >= argc || strcmp(argv[optind], "exec") != 0 || strcmp(argv[optind - 1], "--") == 0)
				break;
			o->exec = true;
			optind++;
			continue;
		}
		if (!exec_option(c) && !launch_only)
			launch_only = c == 't' ? "tty" : idx >= 0 ? long_options[idx].name : "?";
		switch (c) {
		case OPT_ID:
			if (cn_state_check_id(optarg, err) < 0)
				return -1;
			o->id = optarg;
			break;
		case OPT_PID:
			if (cn_parse_u32(optarg, INT32_MAX, &pid) < 0 || pid == 0)
				return cn_fail(err, 0, "--pid: \"%s\" is not a process id", optarg);
			o->exec_pid = (pid_t)pid;
			break;
		case OPT_SUB_CGROUP:
			if ((problem = cn_cgroup_sub_path_problem(optarg)))
				return cn_fail(err, 0, "--sub-cgroup: \"%.80s\" %s", optarg, problem);
			o->sub_cgroup = optarg;
			break;
		case OPT_ROOTFS:
			if (optarg[0] != '/')
				return cn_fail(err, 0, "--rootfs: \"%s\" is not an absolute path", optarg);
			o->rootfs = optarg;
			break;
		case OPT_BUNDLE: o->bundle = optarg; break;
		case OPT_READ_ONLY: o->read_only = true; break;
		case OPT_HOSTNAME: o->hostname = optarg; break;
		case OPT_USER:
			if (parse_user(o, optarg, err) < 0)
				return -1;
			break;
		case OPT_CAP_ADD:
			if (push(&o->cap_add, optarg, err) < 0)
				return -1;
			break;
		case OPT_CAP_DROP:
			if (push(&o->cap_drop, optarg, err) < 0)
				return -1;
			break;
		case OPT_NO_NEW_PRIVS: o->no_new_privs = true; break;
		case OPT_SECCOMP: o->seccomp_file = optarg; break;
		case OPT_ENV:
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return cn_fail(err, 0, "--env: \"%s\" is not KEY=VALUE", optarg);
			if (push(&o->env, optarg, err) < 0)
				return -1;
			break;
		case OPT_CWD:
			if (optarg[0] != '/')
				return cn_fail(err, 0, "--cwd: \"%s\" is not an absolute path", optarg);
			o->cwd = optarg;
			break;
		case OPT_RLIMIT:
			if (push(&o->rlimits, optarg, err) < 0)
				return -1;
			break;
		case OPT_FLOW:
			if ((flow = cn_flow_from_name(optarg)) < 0)
				return cn_fail(err, 0, "--flow: \"%s\" is not one of auto, setuid, userns, root, fakeroot",
					       optarg);
			o->flow = flow;
			break;
		case OPT_ENGINE: o->engine = optarg; break;
		case OPT_PID_FILE: o->pid_file = optarg; break;
		case OPT_PRINT_CONFIG: o->print_config = true; break;
		case 't': o->tty = true; break;
		case OPT_CONSOLE_SIZE: o->console_size = optarg; break;
		case OPT_CONSOLE_SOCKET: o->console_socket = optarg; break;
		case OPT_PIDFD_SOCKET: o->pidfd_socket = optarg; break;
		case OPT_PRESERVE_FDS:
			/* Bounded well below any fd table: each one is checked to be open. */
			if (cn_parse_u32(optarg, 65536, &o->preserve_fds) < 0)
				return cn_fail(err, 0, "--preserve-fds: \"%s\" is not a number of fds (0 to 65536)", optarg);
			break;
		case OPT_UMASK: o->umask = optarg; break;
		case OPT_SCHEDULER: o->scheduler = optarg; break;
		case OPT_NICE: o->nice = optarg; break;
		case OPT_IOPRIO: o->ioprio = optarg; break;
		case OPT_GROUP_ADD:
			if (push(&o->group_add, optarg, err) < 0)
				return -1;
			break;
		case OPT_MEMORY: o->memory = optarg; break;
		case OPT_PIDS_LIMIT: o->pids_limit = optarg; break;
		case OPT_CPUS: o->cpus = optarg; break;
		case OPT_CGROUP_PATH: o->cgroup_path = optarg; break;
		case OPT_CGROUP_MANAGER:
			if ((o->cgroup_manager = cn_cgroup_manager_from_name(optarg)) < 0)
				return cn_fail(err, 0, "--cgroup-manager: \"%s\" is not one of auto, v1, v2, disabled", optarg);
			break;
		case 'v': o->verbose = true; break;
		case 'h': fputs(usage_text, stdout); return CN_OPTIONS_EXIT;
		case OPT_VERSION: printf("cnlaunch %s\n", CN_VERSION); return CN_OPTIONS_EXIT;
		case ':':
			return cn_fail(err, 0, "%s: needs an argument (see cnlaunch --help)", argv[optind - 1]);
		default:
			if (optopt)
				return cn_fail(err, 0, "unknown option -%c (see cnlaunch --help)", optopt);
			return cn_fail(err, 0, "unknown option %s (see cnlaunch --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->command = &argv[optind];
	if (o->exec)
		return check_exec_options(o, launch_only, err) < 0 ? -1 : CN_OPTIONS_RUN;
	if (o->exec_pid)
		return cn_fail(err, 0, "--pid: an option of exec (cnlaunch exec --pid PID -- COMMAND)");
	if (o->sub_cgroup)
		return cn_fail(err, 0, "--sub-cgroup: an option of exec (cnlaunch exec --id NAME --sub-cgroup PATH -- "
				       "COMMAND); a launch's cgroup is --cgroup-path");
	return CN_OPTIONS_RUN;
}

void cn_options_free(struct cn_options *o)
{
	cn_strv_free(&o->cap_add);
	cn_strv_free(&o->cap_drop);
	cn_strv_free(&o->env);
	cn_strv_free(&o->rlimits);
	cn_strv_free(&o->group_add);
}
