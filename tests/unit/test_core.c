/* SPDX-License-Identifier: Apache-2.0
 *
 * CUnit: the launcher core's pure logic: config.json parsing and writing,
 * capability names, the engine and RPC registries, the command line, mount options.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "unit.h"
#include "caps.h"
#include "config.h"
#include "engine.h"
#include "engine_native.h"
#include "mounts.h"
#include "options.h"
#include "rpc.h"
#include "scheduling.h"
#include "state.h"
#include "subid.h"

/* ---- config.json ---- */

static const char *valid_doc =
	"{\"ociVersion\": \"1.0.2\","
	" \"process\": {\"args\": [\"sh\", \"-c\", \"true\"], \"env\": [\"A=1\"], \"cwd\": \"/tmp\","
	"   \"user\": {\"uid\": 1000, \"gid\": 100, \"additionalGids\": [5, 6], \"umask\": 63},"
	"   \"terminal\": true, \"consoleSize\": {\"height\": 40, \"width\": 120},"
	"   \"scheduler\": {\"policy\": \"SCHED_RR\", \"priority\": 7, \"nice\": -3,"
	"                   \"flags\": [\"SCHED_FLAG_RESET_ON_FORK\", \"SCHED_FLAG_KEEP_PARAMS\"]},"
	"   \"ioPriority\": {\"class\": \"IOPRIO_CLASS_IDLE\", \"priority\": 6},"
	"   \"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"cap_kill\"], \"effective\": [\"CAP_KILL\"]},"
	"   \"noNewPrivileges\": true,"
	"   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 2048, \"soft\": 1024}]},"
	" \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	" \"hostname\": \"box\","
	" \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"}],"
	" \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"user\"}],"
	"   \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],"
	"   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"},"
	"   \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"]}}";

static void test_config_parses_every_field(void)
{
	struct cn_config cfg = {0};
	struct cn_error err = {0};

	CU_ASSERT_EQUAL_FATAL(cn_config_parse(&cfg, valid_doc, "/bundle", &err), 0);
	CU_ASSERT_EQUAL(cfg.args.n, 3);
	CU_ASSERT_STRING_EQUAL(cfg.args.v[0], "sh");
	CU_ASSERT_STRING_EQUAL(cfg.env.v[0], "A=1");
	CU_ASSERT_STRING_EQUAL(cfg.cwd, "/tmp");
	CU_ASSERT_EQUAL(cfg.uid, 1000);
	CU_ASSERT_EQUAL(cfg.gid, 100);
	CU_ASSERT_EQUAL(cfg.n_additional_gids, 2);
	CU_ASSERT_EQUAL(cfg.additional_gids[1], 6);
	CU_ASSERT_TRUE(cfg.user_configured);
	CU_ASSERT_TRUE(cfg.caps_configured);
	CU_ASSERT_EQUAL(cfg.caps[CN_CAPSET_BOUNDING], CN_CAP_BIT(0) | CN_CAP_BIT(5));
	CU_ASSERT_EQUAL(cfg.caps[CN_CAPSET_EFFECTIVE], CN_CAP_BIT(5));
	CU_ASSERT_EQUAL(cfg.caps[CN_CAPSET_AMBIENT], 0);
	CU_ASSERT_TRUE(cfg.no_new_privs);
	CU_ASSERT_TRUE(cfg.umask_set);
	CU_ASSERT_EQUAL(cfg.umask, 077);
	CU_ASSERT_TRUE(cfg.terminal);
	CU_ASSERT_EQUAL(cfg.console_height, 40);
	CU_ASSERT_EQUAL(cfg.console_width, 120);
	CU_ASSERT_TRUE(cfg.scheduler.set);
	CU_ASSERT_EQUAL(cfg.scheduler.policy, SCHED_RR);
	CU_ASSERT_EQUAL(cfg.scheduler.priority, 7);
	CU_ASSERT_EQUAL(cfg.scheduler.nice, -3);
	CU_ASSERT_EQUAL(cfg.scheduler.flags, 0x01 | 0x10);
	CU_ASSERT_TRUE(cfg.io_priority.set);
	CU_ASSERT_EQUAL(cfg.io_priority.ioclass, 3 /* IOPRIO_CLASS_IDLE */);
	CU_ASSERT_EQUAL(cfg.io_priority.level, 6);
	CU_ASSERT_EQUAL(cfg.n_rlimits, 1);
	CU_ASSERT_EQUAL(cfg.rlimits[0].resource, RLIMIT_NOFILE);
	CU_ASSERT_EQUAL(cfg.rlimits[0].soft, 1024);
	CU_ASSERT_STRING_EQUAL(cfg.root_path, "/bundle/rootfs");
	CU_ASSERT_TRUE(cfg.root_readonly);
	CU_ASSERT_STRING_EQUAL(cfg.hostname, "box");
	CU_ASSERT_EQUAL(cfg.n_mounts, 1);
	CU_ASSERT_STRING_EQUAL(cfg.mounts[0].type, "proc");
	CU_ASSERT_EQUAL(cfg.namespaces, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUSER);
	CU_ASSERT_EQUAL(cfg.n_uid_maps, 1);
	CU_ASSERT_EQUAL(cfg.uid_maps[0].host_id, 1000);
	CU_ASSERT_PTR_NOT_NULL(cfg.seccomp);
	CU_ASSERT_STRING_EQUAL(cfg.masked_paths.v[0], "/proc/kcore");
	CU_ASSERT_STRING_EQUAL(cfg.readonly_paths.v[0], "/proc/sys");
	cn_config_free(&cfg);
}

static void test_config_survives_a_round_trip(void)
{
	struct cn_config a = {0}, b = {0};
	struct cn_error err = {0};
	char *text, *again;

	CU_ASSERT_EQUAL_FATAL(cn_config_parse(&a, valid_doc, "/bundle", &err), 0);
	text = cn_config_to_json(&a, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL_FATAL(cn_config_parse(&b, text, NULL, &err), 0);
	again = cn_config_to_json(&b, &err);
	CU_ASSERT_STRING_EQUAL(text, again);
	CU_ASSERT_EQUAL(memcmp(a.caps, b.caps, sizeof(a.caps)), 0);
	CU_ASSERT_EQUAL(b.namespaces, a.namespaces);
	free(text);
	free(again);
	cn_config_free(&a);
	cn_config_free(&b);
}

static void test_default_config_is_like_runc_spec(void)
{
	struct cn_config cfg;
	struct cn_error err = {0};
	bool has_pts_gid = false;

	CU_ASSERT_EQUAL_FATAL(cn_config_init_default(&cfg, false, &err), 0);
	CU_ASSERT_EQUAL(cfg.n_mounts, 6);
	CU_ASSERT_EQUAL(cfg.namespaces & CLONE_NEWUSER, 0);
	for (size_t i = 0; i < cfg.mounts[2].options.n; i++)
		has_pts_gid |= strcmp(cfg.mounts[2].options.v[i], "gid=5") == 0;
	CU_ASSERT_TRUE(has_pts_gid);
	cn_config_free(&cfg);
	/* rootless: no devpts gid the user namespace cannot map, /sys bound from the host */
	CU_ASSERT_EQUAL_FATAL(cn_config_init_default(&cfg, true, &err), 0);
	CU_ASSERT_NOT_EQUAL(cfg.namespaces & CLONE_NEWUSER, 0);
	CU_ASSERT_STRING_EQUAL(cfg.mounts[5].type, "bind");
	for (size_t i = 0; i < cfg.mounts[2].options.n; i++)
		CU_ASSERT_NOT_EQUAL(strcmp(cfg.mounts[2].options.v[i], "gid=5"), 0);
	cn_config_free(&cfg);
}

struct bad_doc {
	const char *doc;
	const char *expect; /* a substring of the one-line error */
};

static void test_config_refuses_bad_documents_naming_the_path(void)
{
	static const struct bad_doc bad[] = {
		{"{", "malformed JSON"},
		{"[]", "must be a JSON object"},
		{"{} trailing", "trailing data"},
		{"{\"process\": []}", "process: must be object"},
		{"{\"process\": {\"args\": \"sh\"}}", "process.args: must be array"},
		{"{\"process\": {\"args\": [1]}}", "process.args[0]: must be a string"},
		{"{\"process\": {\"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NOPE\"]}}}",
		 "process.capabilities.bounding[2]: unknown capability \"CAP_NOPE\""},
		{"{\"process\": {\"capabilities\": {\"ambient\": [\"SYS_ADMIN\"]}}}", "process.capabilities.ambient[0]: unknown"},
		{"{\"process\": {\"user\": {\"uid\": -1}}}", "process.user.uid: -1 is not a valid id"},
		{"{\"process\": {\"user\": {\"uid\": 4294967295}}}", "process.user.uid: 4294967295 is not a valid id"},
		{"{\"process\": {\"user\": {\"uid\": \"root\"}}}", "process.user.uid: must be an integer"},
		{"{\"process\": {\"user\": {\"additionalGids\": [1, \"x\"]}}}", "process.user.additionalGids[1]"},
		{"{\"process\": {\"cwd\": \"tmp\"}}", "process.cwd: \"tmp\" is not an absolute path"},
		{"{\"process\": {\"env\": [\"NOEQUALS\"]}}", "process.env[0]: \"NOEQUALS\" is not KEY=VALUE"},
		{"{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOPE\", \"hard\": 1, \"soft\": 1}]}}",
		 "process.rlimits[0].type: unknown resource limit"},
		{"{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1, \"soft\": 2}]}}",
		 "process.rlimits[0]: soft limit 2 is above the hard limit 1"},
		{"{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 2}]}}", "process.rlimits[0].hard: missing"},
		{"{\"root\": {\"path\": \"relative\"}}", "root.path: \"relative\" is not an absolute path"},
		{"{\"root\": {\"path\": \"\"}}", "root.path: empty"},
		{"{\"mounts\": [{\"destination\": \"proc\"}]}", "mounts[0].destination: must be an absolute path"},
		{"{\"linux\": {\"namespaces\": [{\"type\": \"time-travel\"}]}}", "linux.namespaces[0].type: unknown namespace"},
		{"{\"linux\": {\"namespaces\": [{\"type\": \"pid\", \"path\": \"/proc/1/ns/pid\"}]}}",
		 "linux.namespaces[0].path: joining an existing namespace is not supported"},
		{"{\"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": 0, \"size\": 0}]}}",
		 "linux.uidMappings[0].size: must be at least 1"},
		{"{\"linux\": {\"seccomp\": []}}", "linux.seccomp: must be object"},
		{"{\"process\": {\"terminal\": 1}}", "process.terminal: must be boolean"},
		{"{\"process\": {\"consoleSize\": {\"height\": 70000}}}", "process.consoleSize.height: 70000 is out of range"},
		{"{\"process\": {\"user\": {\"umask\": 512}}}", "process.user.umask: 512 is out of range (0 to 511)"},
		{"{\"process\": {\"scheduler\": {}}}", "process.scheduler.policy: missing"},
		{"{\"process\": {\"scheduler\": {\"policy\": \"SCHED_FAST\"}}}", "process.scheduler.policy: unknown policy"},
		{"{\"process\": {\"scheduler\": {\"policy\": \"SCHED_FIFO\", \"priority\": 100}}}",
		 "process.scheduler.priority: 100 is out of range"},
		{"{\"process\": {\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"nice\": 20}}}",
		 "process.scheduler.nice: 20 is out of range"},
		{"{\"process\": {\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"flags\": [\"SCHED_FLAG_TURBO\"]}}}",
		 "process.scheduler.flags[0]: unknown flag"},
		{"{\"process\": {\"ioPriority\": {\"priority\": 1}}}", "process.ioPriority.class: missing"},
		{"{\"process\": {\"ioPriority\": {\"class\": \"IOPRIO_CLASS_FAST\"}}}", "process.ioPriority.class: unknown class"},
		{"{\"process\": {\"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 8}}}",
		 "process.ioPriority.priority: 8 is out of range"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cn_config cfg = {0};
		struct cn_error err = {0};
		int rc = cn_config_parse(&cfg, bad[i].doc, NULL, &err);
		CU_ASSERT_EQUAL(rc, -1);
		if (!strstr(err.msg, bad[i].expect))
			fprintf(stderr, "\n  doc %zu gave: %s\n", i, err.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].expect));
		CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
		cn_config_free(&cfg);
	}
}

/* ---- capabilities ---- */

static void test_capability_names_round_trip(void)
{
	char name[CN_CAP_NAME_MAX];

	CU_ASSERT_EQUAL(cn_cap_from_name("CAP_SYS_ADMIN"), 21);
	CU_ASSERT_EQUAL(cn_cap_from_name("cap_sys_admin"), 21);
	CU_ASSERT_EQUAL(cn_cap_from_name("CAP_CHOWN"), 0);
	CU_ASSERT_EQUAL(cn_cap_from_name("SYS_ADMIN"), -1);
	CU_ASSERT_EQUAL(cn_cap_from_name("CAP_NOPE"), -1);
	CU_ASSERT_EQUAL(cn_cap_from_name("CAP_21"), -1);
	CU_ASSERT_EQUAL(cn_cap_from_name("21"), -1);
	CU_ASSERT_STRING_EQUAL(cn_cap_name(21, name), "CAP_SYS_ADMIN");
	CU_ASSERT_STRING_EQUAL(cn_cap_name(40, name), "CAP_CHECKPOINT_RESTORE");
	CU_ASSERT_STRING_EQUAL(cn_cap_name(63, name), "CAP_63");
	for (int cap = 0; cap <= cn_cap_last(); cap++)
		CU_ASSERT_EQUAL(cn_cap_from_name(cn_cap_name(cap, name)), cap);
	CU_ASSERT_TRUE(cn_cap_last() >= 40);
	CU_ASSERT_EQUAL(__builtin_popcountll(cn_caps_oci_default()), 14);
	CU_ASSERT_EQUAL(cn_caps_oci_default() & ~cn_caps_all(), 0);
	CU_ASSERT_STRING_EQUAL(cn_capset_name(CN_CAPSET_AMBIENT), "ambient");
}

/* ---- registries ---- */

static void count_engine(const struct cn_engine *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
}

static const struct cn_engine test_engine = {.name = "unit-test"};

static void test_engine_registry_finds_engines_by_name(void)
{
	int before = 0, after = 0;

	CU_ASSERT_PTR_EQUAL(cn_engine_find("native"), &cn_engine_native);
	CU_ASSERT_PTR_NULL(cn_engine_find("nope"));
	cn_engine_foreach(count_engine, &before);
	cn_engine_register(&test_engine);
	cn_engine_register(&test_engine); /* a second registration of a name is ignored */
	cn_engine_foreach(count_engine, &after);
	CU_ASSERT_EQUAL(after, before + 1);
	CU_ASSERT_PTR_EQUAL(cn_engine_find("unit-test"), &test_engine);
	/* every Operations method of the native engine exists */
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.config);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.init_config);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.prepare_config);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.create_container);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.start_process);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.post_start_process);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.monitor_container);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.cleanup_container);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.post_start_host);
	CU_ASSERT_PTR_NOT_NULL(cn_engine_native.cleanup_host);
}

static void test_stage_and_role_names(void)
{
	CU_ASSERT_STRING_EQUAL(cn_stage_name(CN_STAGE_CONFIG), "Config");
	CU_ASSERT_STRING_EQUAL(cn_stage_name(CN_STAGE_CLEANUP_HOST), "CleanupHost");
	CU_ASSERT_PTR_NULL(cn_stage_name(CN_STAGE_NONE));
	CU_ASSERT_PTR_NULL(cn_stage_name(CN_STAGE__COUNT));
	for (int s = CN_STAGE_CONFIG; s < CN_STAGE__COUNT; s++)
		CU_ASSERT_EQUAL(cn_stage_from_name(cn_stage_name(s)), s);
	CU_ASSERT_EQUAL(cn_stage_from_name("Nope"), CN_STAGE_NONE);
	CU_ASSERT_STRING_EQUAL(cn_role_name(CN_ROLE_RPC_SERVER), "rpc_server");
	CU_ASSERT_PTR_NULL(cn_role_name(CN_ROLE__COUNT));
}

static int serve_nothing(struct cn_rpc_server *srv, const struct cn_rpc_request *req, struct cn_error *err)
{
	(void)srv;
	(void)req;
	(void)err;
	return 0;
}

static void test_rpc_registry_whitelists_methods_and_their_caps(void)
{
	static const struct cn_rpc_method extra = {1000, "unit-test", CN_CAP_BIT(CAP_SYS_TIME), serve_nothing};
	uint64_t before = cn_rpc_caps_needed();

	CU_ASSERT_STRING_EQUAL(cn_rpc_find(CN_RPC_MOUNT)->name, "mount");
	CU_ASSERT_EQUAL(cn_rpc_find(CN_RPC_MOUNT)->caps, CN_CAP_BIT(CAP_SYS_ADMIN));
	CU_ASSERT_EQUAL(cn_rpc_find(CN_RPC_LOOPBACK_UP)->caps, CN_CAP_BIT(CAP_NET_ADMIN));
	CU_ASSERT_EQUAL(cn_rpc_find(CN_RPC_SYMLINK)->caps, 0);
	CU_ASSERT_PTR_NULL(cn_rpc_find(999));
	/* The server keeps exactly what its methods need, nothing more. */
	CU_ASSERT_EQUAL(before, CN_CAP_BIT(CAP_SYS_ADMIN) | CN_CAP_BIT(CAP_NET_ADMIN));
	cn_rpc_register(&extra);
	CU_ASSERT_PTR_EQUAL(cn_rpc_find(1000), &extra);
	CU_ASSERT_EQUAL(cn_rpc_caps_needed(), before | CN_CAP_BIT(CAP_SYS_TIME));
}

/* ---- command line ---- */

static int parse(struct cn_options *o, struct cn_error *err, int argc, ...)
{
	static char *argv[32];
	va_list ap;

	va_start(ap, argc);
	argv[0] = "cnlaunch";
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc] = NULL;
	va_end(ap);
	return cn_options_parse(o, argc, argv, err);
}

static void test_exec_options_parse_and_refuse(void)
{
	static char long_id[CN_STATE_ID_MAX + 2];
	struct cn_options o;
	struct cn_error err = {0};

	/* "exec" may come after options, as `cntrace run --flow F exec ...` puts them */
	CU_ASSERT_EQUAL(parse(&o, &err, 8, "--flow", "setuid", "exec", "--id", "web.1", "--", "id"), 0);
	CU_ASSERT_TRUE(o.exec);
	CU_ASSERT_STRING_EQUAL(o.id, "web.1");
	CU_ASSERT_EQUAL(o.flow, CN_FLOW_SETUID);
	CU_ASSERT_STRING_EQUAL(o.command[0], "id");
	cn_options_free(&o);
	CU_ASSERT_EQUAL(parse(&o, &err, 9, "exec", "--pid", "42", "--env", "A=1", "--cwd", "/tmp", "sh"), 0);
	CU_ASSERT_TRUE(o.exec && o.exec_pid == 42 && o.env.n == 1 && !o.id);
	cn_options_free(&o);
	/* after "--" it is a command named exec */
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--", "exec"), 0);
	CU_ASSERT_FALSE(o.exec);
	CU_ASSERT_STRING_EQUAL(o.command[0], "exec");
	cn_options_free(&o);
	/* a launch records its state under --id */
	CU_ASSERT_EQUAL(parse(&o, &err, 4, "--id", "a_b-C", "sleep"), 0);
	CU_ASSERT_TRUE(!o.exec && strcmp(o.id, "a_b-C") == 0);
	cn_options_free(&o);

	CU_ASSERT_EQUAL(parse(&o, &err, 8, "exec", "--rootfs", "/r", "--id", "x", "--", "id"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exec: --rootfs is an option of a launch"));
	CU_ASSERT_EQUAL(parse(&o, &err, 6, "--hostname", "h", "exec", "--id", "x"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exec: --hostname is an option of a launch"));
	/* the launch's process features and --sub-cgroup are exec's too */
	CU_ASSERT_EQUAL(parse(&o, &err, 17, "exec", "-t", "--console-size", "3x4", "--console-socket", "/c",
			      "--pidfd-socket", "/p", "--preserve-fds", "2", "--sub-cgroup", "jobs/a", "--id", "x", "--",
			      "id"), 0);
	CU_ASSERT_TRUE(o.exec && o.tty && o.preserve_fds == 2 && strcmp(o.sub_cgroup, "jobs/a") == 0 &&
		       strcmp(o.console_size, "3x4") == 0 && strcmp(o.console_socket, "/c") == 0 &&
		       strcmp(o.pidfd_socket, "/p") == 0);
	cn_options_free(&o);
	CU_ASSERT_EQUAL(parse(&o, &err, 8, "exec", "--sub-cgroup", "../x", "--id", "x", "--", "id"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--sub-cgroup: \"../x\" has a \".\" or \"..\" component"));
	CU_ASSERT_EQUAL(parse(&o, &err, 5, "--sub-cgroup", "jobs", "--", "id"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--sub-cgroup: an option of exec"));
	CU_ASSERT_EQUAL(parse(&o, &err, 4, "exec", "--id", "x"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exec: no command"));
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "exec", "true"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "give one of --id NAME and --pid PID"));
	CU_ASSERT_EQUAL(parse(&o, &err, 8, "exec", "--id", "x", "--pid", "1", "--", "id"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "give one of"));
	CU_ASSERT_EQUAL(parse(&o, &err, 6, "exec", "--id", "a/b", "--", "id"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--id: \"a/b\" is not"));
	CU_ASSERT_EQUAL(parse(&o, &err, 6, "exec", "--pid", "0", "--", "id"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--pid: \"0\" is not a process id"));
	CU_ASSERT_EQUAL(parse(&o, &err, 5, "--pid", "3", "--", "id"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--pid: an option of exec"));
	memset(long_id, 'a', CN_STATE_ID_MAX + 1);
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--id", long_id), -1);
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--id", ""), -1);
}

static void test_options_parse_and_refuse(void)
{
	struct cn_options o;
	struct cn_error err = {0};

	CU_ASSERT_EQUAL(parse(&o, &err, 7, "--user", "1000:100", "--flow", "userns", "--cap-add", "CAP_KILL"), 0);
	CU_ASSERT_TRUE(o.user_set && o.gid_set);
	CU_ASSERT_EQUAL(o.uid, 1000);
	CU_ASSERT_EQUAL(o.gid, 100);
	CU_ASSERT_EQUAL(o.flow, CN_FLOW_USERNS);
	CU_ASSERT_EQUAL(o.cap_add.n, 1);
	CU_ASSERT_PTR_NULL(o.command);
	cn_options_free(&o);

	CU_ASSERT_EQUAL(parse(&o, &err, 6, "--rootfs", "/r", "--", "sh", "-c"), 0);
	CU_ASSERT_STRING_EQUAL(o.command[0], "sh");
	CU_ASSERT_STRING_EQUAL(o.command[1], "-c");
	cn_options_free(&o);

	/* options after the command belong to the command */
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "true", "--user"), 0);
	CU_ASSERT_STRING_EQUAL(o.command[1], "--user");
	cn_options_free(&o);

	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--user", "abc"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--user: \"abc\" is not a numeric uid"));
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--user", "1:-5"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a numeric gid"));
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--user", "4294967295"), -1);
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--rootfs", "relative"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is not an absolute path"));
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--flow", "sideways"), -1);
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--env", "NOEQUALS"), -1);
	CU_ASSERT_EQUAL(parse(&o, &err, 2, "--bogus"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown option --bogus"));
	CU_ASSERT_EQUAL(parse(&o, &err, 2, "--rootfs"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs an argument"));

	CU_ASSERT_EQUAL(parse(&o, &err, 14, "-t", "--console-socket", "/s", "--pidfd-socket", "/p", "--preserve-fds", "2",
			      "--umask", "077", "--scheduler", "fifo:5", "--group-add", "10"), 0);
	CU_ASSERT_TRUE(o.tty);
	CU_ASSERT_STRING_EQUAL(o.console_socket, "/s");
	CU_ASSERT_STRING_EQUAL(o.pidfd_socket, "/p");
	CU_ASSERT_EQUAL(o.preserve_fds, 2);
	CU_ASSERT_STRING_EQUAL(o.umask, "077");
	CU_ASSERT_STRING_EQUAL(o.scheduler, "fifo:5");
	CU_ASSERT_EQUAL(o.group_add.n, 1);
	cn_options_free(&o);
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--preserve-fds", "-1"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--preserve-fds: \"-1\" is not a number of fds"));
	CU_ASSERT_EQUAL(parse(&o, &err, 3, "--preserve-fds", "65537"), -1);
}

static void test_scheduling_names(void)
{
	CU_ASSERT_EQUAL(cn_sched_policy_from_name("SCHED_BATCH"), SCHED_BATCH);
	CU_ASSERT_EQUAL(cn_sched_policy_from_name("fifo"), SCHED_FIFO);
	CU_ASSERT_EQUAL(cn_sched_policy_from_name("Idle"), SCHED_IDLE);
	CU_ASSERT_EQUAL(cn_sched_policy_from_name("sched_"), -1);
	CU_ASSERT_STRING_EQUAL(cn_sched_policy_name(SCHED_RR), "SCHED_RR");
	CU_ASSERT_EQUAL(cn_sched_flag_from_name("SCHED_FLAG_RECLAIM"), 0x02);
	CU_ASSERT_EQUAL(cn_sched_flag_from_name("reclaim"), 0);
	CU_ASSERT_EQUAL(cn_ioprio_class_from_name("be"), 2);
	CU_ASSERT_EQUAL(cn_ioprio_class_from_name("IOPRIO_CLASS_RT"), 1);
	CU_ASSERT_EQUAL(cn_ioprio_class_from_name("none"), -1);
	CU_ASSERT_STRING_EQUAL(cn_ioprio_class_name(3), "IOPRIO_CLASS_IDLE");
}

/* ---- mount options and limits ---- */

static void test_mount_options_split_flags_from_fs_data(void)
{
	struct cn_mount_flags f = {0};

	CU_ASSERT_TRUE(cn_mount_option("ro", &f));
	CU_ASSERT_TRUE(cn_mount_option("nosuid", &f));
	CU_ASSERT_TRUE(cn_mount_option("rbind", &f));
	CU_ASSERT_TRUE(cn_mount_option("rslave", &f));
	CU_ASSERT_FALSE(cn_mount_option("mode=755", &f));
	CU_ASSERT_FALSE(cn_mount_option("newinstance", &f));
	CU_ASSERT_EQUAL(f.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
	CU_ASSERT_TRUE(f.bind && f.recursive);
	CU_ASSERT_EQUAL(f.propagation, MS_SLAVE);
	CU_ASSERT_TRUE(cn_mount_option("rw", &f)); /* a later option wins */
	CU_ASSERT_EQUAL(f.attr_set, MOUNT_ATTR_NOSUID);
	CU_ASSERT_EQUAL(f.attr_clr & MOUNT_ATTR_RDONLY, MOUNT_ATTR_RDONLY);
}

static void test_rlimit_names(void)
{
	CU_ASSERT_EQUAL(cn_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	CU_ASSERT_EQUAL(cn_rlimit_from_name("nofile"), RLIMIT_NOFILE);
	CU_ASSERT_EQUAL(cn_rlimit_from_name("NPROC"), RLIMIT_NPROC);
	CU_ASSERT_EQUAL(cn_rlimit_from_name("RLIMIT_"), -1);
	CU_ASSERT_EQUAL(cn_rlimit_from_name("files"), -1);
	CU_ASSERT_STRING_EQUAL(cn_rlimit_name(RLIMIT_STACK), "RLIMIT_STACK");
}

/* ---- subordinate ids ---- */

static void test_subid_ranges_are_read_and_checked(void)
{
	char path[] = "/tmp/cn-subuid-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct cn_id_map r[4];
	struct cn_error err = {0};
	int n;

	fputs("# comment\nalice:100000:65536\n1000:300000:10\nbob:200000:65536\nbroken line\n", f);
	fclose(f);
	n = cn_subid_ranges(path, "alice", 1000, r, 4, &err);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(r[0].container_id, 1);
	CU_ASSERT_EQUAL(r[0].host_id, 100000);
	CU_ASSERT_EQUAL(r[1].container_id, 65537); /* ranges follow each other inside */
	CU_ASSERT_EQUAL(r[1].host_id, 300000);
	CU_ASSERT_EQUAL(cn_subid_ranges(path, "carol", 1001, r, 4, &err), 0);
	CU_ASSERT_EQUAL(cn_subid_ranges("/nonexistent", "alice", 1000, r, 4, &err), 0);
	n = cn_subid_ranges(path, "alice", 1000, r, 4, &err);
	{
		struct cn_id_map ok[] = {{0, 1000, 1}, {1, 100000, 65536}};
		struct cn_id_map host_root[] = {{0, 0, 1}};
		struct cn_id_map overflow[] = {{1, 100000, 65537}};
		CU_ASSERT_EQUAL(cn_subid_check_maps(ok, 2, 1000, r, (size_t)n, "uid", &err), 0);
		CU_ASSERT_EQUAL(cn_subid_check_maps(host_root, 1, 1000, r, (size_t)n, "uid", &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "linux.uidMappings[0]: host ids 0-0"));
		CU_ASSERT_EQUAL(cn_subid_check_maps(overflow, 1, 1000, r, (size_t)n, "uid", &err), -1);
	}
	unlink(path);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"config parses every field", test_config_parses_every_field},
		{"config survives a round trip", test_config_survives_a_round_trip},
		{"default config is like runc spec", test_default_config_is_like_runc_spec},
		{"config refuses bad documents naming the path", test_config_refuses_bad_documents_naming_the_path},
		{"capability names round trip", test_capability_names_round_trip},
		{"engine registry finds engines by name", test_engine_registry_finds_engines_by_name},
		{"stage and role names", test_stage_and_role_names},
		{"rpc registry whitelists methods and their caps", test_rpc_registry_whitelists_methods_and_their_caps},
		{"options parse and refuse", test_options_parse_and_refuse},
		{"exec options parse and refuse", test_exec_options_parse_and_refuse},
		{"mount options split flags from fs data", test_mount_options_split_flags_from_fs_data},
		{"rlimit names", test_rlimit_names},
		{"scheduling names", test_scheduling_names},
		{"subid ranges are read and checked", test_subid_ranges_are_read_and_checked},
	};

	return unit_run("core", tests, UNIT_N(tests));
}
