/* SPDX-License-Identifier: Apache-2.0
 *
 * CUnit: the cgroup layout read from real mountinfo samples of pure v2, hybrid
 * and legacy machines (tests/unit/data/, given as argv[1]), a process's cgroup
 * in each hierarchy, and the configuration of cgroups: linux.resources,
 * linux.cgroupsPath and the options --memory, --pids-limit, --cpus,
 * --cgroup-path and --cgroup-manager; exec --sub-cgroup's PATH.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "cgroup.h"
#include "config.h"
#include "options.h"

static const char *data_dir = "tests/unit/data";

static char *read_sample(const char *name)
{
	char path[512];
	struct cn_error err = {0};
	char *text;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	text = cn_read_text_file(path, 1 << 20, &err);
	if (!text)
		fprintf(stderr, "%s\n", err.msg);
	return text;
}

static struct cn_cgroup_layout layout;

static int parse_sample(const char *name)
{
	struct cn_error err = {0};
	char *text = read_sample(name);
	int rc;

	if (!text)
		return -1;
	rc = cn_cgroup_layout_parse(text, &layout, &err);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", name, err.msg);
	free(text);
	return rc;
}

static const struct cn_cgroup_mount *v1_with(uint32_t bit)
{
	for (size_t i = 0; i < layout.n_v1; i++)
		if (layout.v1[i].controllers & bit)
			return &layout.v1[i];
	return NULL;
}

/* ---- layouts ---- */

static void test_pure_v2_is_unified(void)
{
	CU_ASSERT_EQUAL_FATAL(parse_sample("mountinfo-unified-debian12.txt"), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_UNIFIED);
	CU_ASSERT_STRING_EQUAL(cn_cgroup_kind_name(layout.kind), "unified");
	CU_ASSERT_TRUE(layout.has_v2);
	CU_ASSERT_STRING_EQUAL(layout.v2.mountpoint, "/sys/fs/cgroup");
	CU_ASSERT_STRING_EQUAL(layout.v2.root, "/");
	CU_ASSERT_EQUAL(layout.n_v1, 0);
}

/* This project's CI machine: v1 controllers each on its own, an empty cgroup2 at unified/. */
static void test_ci_machine_is_hybrid(void)
{
	const struct cn_cgroup_mount *m;

	CU_ASSERT_EQUAL_FATAL(parse_sample("mountinfo-hybrid-ci.txt"), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_HYBRID);
	CU_ASSERT_STRING_EQUAL(layout.v2.mountpoint, "/sys/fs/cgroup/unified");
	CU_ASSERT_EQUAL(layout.n_v1, 9); /* 8 controllers and name=systemd */
	CU_ASSERT_PTR_NOT_NULL_FATAL(m = v1_with(CN_CTRL_MEMORY));
	CU_ASSERT_STRING_EQUAL(m->mountpoint, "/sys/fs/cgroup/memory");
	CU_ASSERT_STRING_EQUAL(m->label, "memory");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m = v1_with(CN_CTRL_CPU));
	CU_ASSERT_STRING_EQUAL(m->label, "cpu"); /* cpuacct is a hierarchy of its own here */
	CU_ASSERT_EQUAL(m->controllers, CN_CTRL_CPU);
	CU_ASSERT_PTR_NOT_NULL(v1_with(CN_CTRL_PIDS));
}

static void test_systemd_hybrid_with_comounted_cpu(void)
{
	const struct cn_cgroup_mount *m;
	size_t named = 0;

	CU_ASSERT_EQUAL_FATAL(parse_sample("mountinfo-hybrid-ubuntu2004.txt"), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_HYBRID);
	CU_ASSERT_STRING_EQUAL(layout.v2.mountpoint, "/sys/fs/cgroup/unified");
	CU_ASSERT_EQUAL(layout.n_v1, 12);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m = v1_with(CN_CTRL_CPU));
	CU_ASSERT_STRING_EQUAL(m->mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
	CU_ASSERT_STRING_EQUAL(m->label, "cpu,cpuacct");
	for (size_t i = 0; i < layout.n_v1; i++)
		if (strcmp(layout.v1[i].name, "systemd") == 0) {
			named++;
			CU_ASSERT_STRING_EQUAL(layout.v1[i].label, "name=systemd");
		}
	CU_ASSERT_EQUAL(named, 1);
}

static void test_legacy_has_no_cgroup2(void)
{
	const struct cn_cgroup_mount *m;

	CU_ASSERT_EQUAL_FATAL(parse_sample("mountinfo-legacy-centos7.txt"), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_LEGACY);
	CU_ASSERT_STRING_EQUAL(cn_cgroup_kind_name(layout.kind), "legacy");
	CU_ASSERT_FALSE(layout.has_v2);
	CU_ASSERT_EQUAL(layout.n_v1, 11);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m = v1_with(CN_CTRL_CPU));
	/* the mount options' order, with release_agent= and xattr left out */
	CU_ASSERT_STRING_EQUAL(m->label, "cpuacct,cpu");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m = v1_with(CN_CTRL_MEMORY));
	CU_ASSERT_STRING_EQUAL(m->mountpoint, "/sys/fs/cgroup/memory");
}

static void test_no_cgroup_mounts_is_none(void)
{
	struct cn_error err = {0};

	CU_ASSERT_EQUAL(cn_cgroup_layout_parse("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
					       "2 1 0:3 / /proc rw - proc proc rw\n", &layout, &err), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_NONE);
	/* a named v1 hierarchy alone holds no controller */
	CU_ASSERT_EQUAL(cn_cgroup_layout_parse("3 1 0:21 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n",
					       &layout, &err), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_NONE);
	CU_ASSERT_EQUAL(layout.n_v1, 1);
}

static void test_layout_edge_cases(void)
{
	struct cn_error err = {0};

	/* escaped mount point; a second mount of the same hierarchy is the same hierarchy */
	CU_ASSERT_EQUAL(cn_cgroup_layout_parse("5 1 0:30 / /cg\\040x/memory rw - cgroup cgroup rw,memory\n"
					       "6 1 0:30 / /elsewhere rw - cgroup cgroup rw,memory\n"
					       "7 1 0:31 / /cg2 rw shared:4 master:2 - cgroup2 cgroup2 rw\n"
					       "8 1 0:31 /sub /cg2b rw - cgroup2 cgroup2 rw\n",
					       &layout, &err), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_HYBRID);
	CU_ASSERT_EQUAL(layout.n_v1, 1);
	CU_ASSERT_STRING_EQUAL(layout.v1[0].mountpoint, "/cg x/memory");
	CU_ASSERT_STRING_EQUAL(layout.v2.mountpoint, "/cg2");
	/* a line it cannot read is an error naming the line */
	CU_ASSERT_EQUAL(cn_cgroup_layout_parse("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
					       "2 1 0:30 / /x rw cgroup cgroup rw,memory\n", &layout, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mountinfo line 2"));
	CU_ASSERT_EQUAL(cn_cgroup_layout_parse("2 1 0:30 / rw - cgroup cgroup rw,memory\n", &layout, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mountinfo line 1"));
	CU_ASSERT_EQUAL(cn_cgroup_layout_parse("2 1 0:30 / /x rw - cgroup cgroup rw\n", &layout, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "names no controller"));
}

/* ---- a process's cgroups ---- */

static void test_own_cgroup_per_hierarchy(void)
{
	static const char proc_cgroup[] = "12:cpuacct,cpu:/user.slice\n"
					  "5:memory:/user.slice/user-1000.slice/session-2.scope\n"
					  "3:pids:/user.slice/user-1000.slice\n"
					  "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
					  "0::/user.slice/user-1000.slice/session-2.scope\n";
	char own[CN_CGROUP_PATH_MAX], dir[CN_CGROUP_PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(parse_sample("mountinfo-hybrid-ubuntu2004.txt"), 0);
	/* "cpu,cpuacct" in mountinfo, "cpuacct,cpu" here: the same set */
	CU_ASSERT_EQUAL(cn_cgroup_own_path(proc_cgroup, v1_with(CN_CTRL_CPU), false, own, sizeof(own)), 0);
	CU_ASSERT_STRING_EQUAL(own, "/user.slice");
	CU_ASSERT_EQUAL(cn_cgroup_own_path(proc_cgroup, v1_with(CN_CTRL_MEMORY), false, own, sizeof(own)), 0);
	CU_ASSERT_STRING_EQUAL(own, "/user.slice/user-1000.slice/session-2.scope");
	CU_ASSERT_EQUAL(cn_cgroup_dir_of(v1_with(CN_CTRL_MEMORY), own, dir, sizeof(dir)), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/sys/fs/cgroup/memory/user.slice/user-1000.slice/session-2.scope");
	CU_ASSERT_EQUAL(cn_cgroup_own_path(proc_cgroup, &layout.v2, true, own, sizeof(own)), 0);
	CU_ASSERT_STRING_EQUAL(own, "/user.slice/user-1000.slice/session-2.scope");
	CU_ASSERT_EQUAL(cn_cgroup_dir_of(&layout.v2, "/", dir, sizeof(dir)), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/sys/fs/cgroup/unified");
	/* no line for a hierarchy: not found, never another hierarchy's */
	CU_ASSERT_EQUAL(cn_cgroup_own_path("5:memory:/a\n", v1_with(CN_CTRL_PIDS), false, own, sizeof(own)), -1);
	CU_ASSERT_EQUAL(cn_cgroup_own_path("5:memory:/a\n", &layout.v2, true, own, sizeof(own)), -1);
	CU_ASSERT_EQUAL(cn_cgroup_own_path("3:cpu:/a\n", v1_with(CN_CTRL_CPU), false, own, sizeof(own)), -1);
}

/* Inside a container the mount shows a subtree: its root is the container's cgroup. */
static void test_dir_of_a_mount_with_a_root(void)
{
	const struct cn_cgroup_mount *m;
	char own[CN_CGROUP_PATH_MAX], dir[CN_CGROUP_PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(parse_sample("mountinfo-legacy-docker.txt"), 0);
	CU_ASSERT_EQUAL(layout.kind, CN_CGROUP_LEGACY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m = v1_with(CN_CTRL_PIDS));
	CU_ASSERT_STRING_EQUAL(m->root, "/docker/3f1a9e7c2b6d");
	CU_ASSERT_EQUAL(cn_cgroup_own_path("4:pids:/docker/3f1a9e7c2b6d\n", m, false, own, sizeof(own)), 0);
	CU_ASSERT_EQUAL(cn_cgroup_dir_of(m, own, dir, sizeof(dir)), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/sys/fs/cgroup/pids");
	CU_ASSERT_EQUAL(cn_cgroup_dir_of(m, "/docker/3f1a9e7c2b6d/cnlaunch-7", dir, sizeof(dir)), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/sys/fs/cgroup/pids/cnlaunch-7");
	CU_ASSERT_EQUAL(cn_cgroup_dir_of(m, "/docker/3f1a9e7c2b6dX", dir, sizeof(dir)), -1);
	CU_ASSERT_EQUAL(cn_cgroup_dir_of(m, "/other", dir, sizeof(dir)), -1);
}

static void test_below(void)
{
	CU_ASSERT_STRING_EQUAL(cn_cgroup_below("/a/b", "/a"), "/b");
	CU_ASSERT_STRING_EQUAL(cn_cgroup_below("/a", "/a"), "");
	CU_ASSERT_STRING_EQUAL(cn_cgroup_below("/a", "/"), "/a");
	CU_ASSERT_STRING_EQUAL(cn_cgroup_below("/", "/"), "");
	CU_ASSERT_PTR_NULL(cn_cgroup_below("/ab", "/a"));
	CU_ASSERT_PTR_NULL(cn_cgroup_below("/", "/a"));
}

/* ---- configuration ---- */

static const char *resources_doc =
	"{\"process\": {\"args\": [\"sh\"]}, \"root\": {\"path\": \"/r\"},"
	" \"linux\": {\"cgroupsPath\": \"/machine/box\","
	"   \"resources\": {\"memory\": {\"limit\": 67108864}, \"pids\": {\"limit\": 32},"
	"                   \"cpu\": {\"quota\": 50000, \"period\": 200000, \"shares\": 512}}}}";

static void test_config_parses_the_cgroup_fields(void)
{
	struct cn_config cfg = {0}, again = {0};
	struct cn_error err = {0};
	char *text;

	CU_ASSERT_EQUAL_FATAL(cn_config_parse(&cfg, resources_doc, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(cfg.cgroups_path, "/machine/box");
	CU_ASSERT_EQUAL(cfg.resources.memory_limit, 67108864);
	CU_ASSERT_EQUAL(cfg.resources.pids_limit, 32);
	CU_ASSERT_EQUAL(cfg.resources.cpu_quota, 50000);
	CU_ASSERT_EQUAL(cfg.resources.cpu_period, 200000);
	CU_ASSERT_EQUAL(cfg.resources.cpu_shares, 512);
	CU_ASSERT_TRUE(cn_resources_set(&cfg.resources));
	/* what STAGE1 hands the master parses to the same */
	CU_ASSERT_PTR_NOT_NULL_FATAL(text = cn_config_to_json(&cfg, &err));
	CU_ASSERT_EQUAL_FATAL(cn_config_parse(&again, text, NULL, &err), 0);
	CU_ASSERT_EQUAL(memcmp(&again.resources, &cfg.resources, sizeof(cfg.resources)), 0);
	CU_ASSERT_STRING_EQUAL(again.cgroups_path, "/machine/box");
	free(text);
	cn_config_free(&again);
	cn_config_free(&cfg);
	/* -1 is unlimited; without linux.resources nothing is set, and nothing is written back */
	CU_ASSERT_EQUAL_FATAL(cn_config_parse(&cfg, "{\"linux\": {\"resources\": {\"memory\": {\"limit\": -1},"
						   " \"pids\": {\"limit\": -1}, \"cpu\": {\"quota\": -1}}}}", NULL, &err), 0);
	CU_ASSERT_EQUAL(cfg.resources.memory_limit, -1);
	CU_ASSERT_EQUAL(cfg.resources.pids_limit, -1);
	CU_ASSERT_EQUAL(cfg.resources.cpu_quota, -1);
	cn_config_free(&cfg);
	CU_ASSERT_EQUAL_FATAL(cn_config_parse(&cfg, "{\"linux\": {}}", NULL, &err), 0);
	CU_ASSERT_FALSE(cn_resources_set(&cfg.resources));
	CU_ASSERT_PTR_NULL(cfg.cgroups_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text = cn_config_to_json(&cfg, &err));
	CU_ASSERT_PTR_NULL(strstr(text, "resources"));
	CU_ASSERT_PTR_NULL(strstr(text, "cgroupsPath"));
	free(text);
	cn_config_free(&cfg);
}

static void expect_config_error(const char *linux_obj, const char *needle)
{
	char doc[1024];
	struct cn_config cfg = {0};
	struct cn_error err = {0};

	snprintf(doc, sizeof(doc), "{\"linux\": %s}", linux_obj);
	CU_ASSERT_EQUAL(cn_config_parse(&cfg, doc, NULL, &err), -1);
	if (!strstr(err.msg, needle)) {
		fprintf(stderr, "\n  %s: expected \"%s\" in \"%s\"\n", linux_obj, needle, err.msg);
		CU_FAIL("error message");
	}
	cn_config_free(&cfg);
}

static void test_config_refuses_limits_it_cannot_apply(void)
{
	/* a limit cnlaunch does not apply is refused, never ignored */
	expect_config_error("{\"resources\": {\"devices\": []}}", "linux.resources.devices: not supported");
	expect_config_error("{\"resources\": {\"memory\": {\"limit\": 1, \"swap\": 2}}}", "linux.resources.memory.swap: not supported");
	expect_config_error("{\"resources\": {\"cpu\": {\"cpus\": \"0-1\"}}}", "linux.resources.cpu.cpus: not supported");
	expect_config_error("{\"resources\": []}", "linux.resources: must be object");
	expect_config_error("{\"resources\": {\"memory\": {\"limit\": \"1G\"}}}", "linux.resources.memory.limit: must be an integer");
	expect_config_error("{\"resources\": {\"memory\": {\"limit\": -2}}}", "linux.resources.memory.limit: -2 is out of range");
	expect_config_error("{\"resources\": {\"pids\": {\"limit\": 4194305}}}", "linux.resources.pids.limit: 4194305 is out of range");
	expect_config_error("{\"resources\": {\"cpu\": {\"quota\": 999}}}", "linux.resources.cpu.quota: 999 is below the kernel's minimum of 1000");
	expect_config_error("{\"resources\": {\"cpu\": {\"period\": 999}}}", "linux.resources.cpu.period: 999 is below");
	expect_config_error("{\"resources\": {\"cpu\": {\"period\": 1000001}}}", "linux.resources.cpu.period: 1000001 is out of range");
	expect_config_error("{\"resources\": {\"cpu\": {\"period\": -1}}}", "linux.resources.cpu.period: -1 is out of range");
	expect_config_error("{\"resources\": {\"cpu\": {\"shares\": 1}}}", "linux.resources.cpu.shares: 1 is below the kernel's minimum of 2");
	expect_config_error("{\"resources\": {\"cpu\": {\"shares\": 262145}}}", "linux.resources.cpu.shares: 262145 is out of range");
	expect_config_error("{\"cgroupsPath\": 5}", "linux.cgroupsPath: must be string");
	expect_config_error("{\"cgroupsPath\": \"a/../b\"}", "linux.cgroupsPath: \"a/../b\" has a \".\" or \"..\" component");
	expect_config_error("{\"cgroupsPath\": \"a//b\"}", "has an empty component");
	expect_config_error("{\"cgroupsPath\": \"\"}", "is empty");
}

static void test_cgroups_path_problems(void)
{
	CU_ASSERT_PTR_NULL(cn_cgroups_path_problem("/"));
	CU_ASSERT_PTR_NULL(cn_cgroups_path_problem("/a/b"));
	CU_ASSERT_PTR_NULL(cn_cgroups_path_problem("a.b/c..d"));
	CU_ASSERT_PTR_NOT_NULL(cn_cgroups_path_problem("a/"));
	CU_ASSERT_PTR_NOT_NULL(cn_cgroups_path_problem("./a"));
	CU_ASSERT_PTR_NOT_NULL(cn_cgroups_path_problem("/.."));
	CU_ASSERT_PTR_NOT_NULL(cn_cgroups_path_problem("//a"));
}

static void test_sub_cgroup_path_problems(void)
{
	static const char *const good[] = {"a", "jobs/web", "a.b/c..d/_-/x9", "a/b/c/d"};
	static const char *const bad[][2] = {
		{"", "is empty"}, {"/a", "is absolute"}, {"..", "\"..\""}, {"a/../b", "\"..\""}, {"./a", "\".\""},
		{"a//b", "empty component"}, {"a/", "ends with /"}, {"a b", "a character other than"},
		{"a/*", "a character other than"}, {"a/b/c/d/e", "more than 4 levels"},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "longer than 64 bytes"},
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_PTR_NULL(cn_cgroup_sub_path_problem(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = cn_cgroup_sub_path_problem(bad[i][0]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(why);
		if (!strstr(why, bad[i][1])) {
			fprintf(stderr, "\n  \"%s\": expected \"%s\" in \"%s\"\n", bad[i][0], bad[i][1], why);
			CU_FAIL("sub-cgroup path problem");
		}
	}
}

/* argv -> options -> the configuration's cgroup fields; -1 when either refused (err says why). */
static int options_to_config(struct cn_config *cfg, struct cn_error *err, ...)
{
	char *argv[16] = {"cnlaunch"};
	struct cn_options o;
	va_list ap;
	int argc = 1, rc;

	va_start(ap, err);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	memset(cfg, 0, sizeof(*cfg));
	rc = cn_options_parse(&o, argc, argv, err);
	if (rc == CN_OPTIONS_RUN)
		rc = cn_cgroup_options_to_config(&o, cfg, err);
	cn_options_free(&o);
	return rc;
}

static void test_options_set_the_cgroup_fields(void)
{
	struct cn_config cfg;
	struct cn_error err = {0};

	CU_ASSERT_EQUAL(options_to_config(&cfg, &err, "--memory", "64m", "--pids-limit", "20", "--cpus", "1.5",
					  "--cgroup-path", "jobs/a", "--cgroup-manager", "v2", NULL), 0);
	CU_ASSERT_EQUAL(cfg.resources.memory_limit, 64 << 20);
	CU_ASSERT_EQUAL(cfg.resources.pids_limit, 20);
	CU_ASSERT_EQUAL(cfg.resources.cpu_quota, 150000);
	CU_ASSERT_EQUAL(cfg.resources.cpu_period, 100000);
	CU_ASSERT_STRING_EQUAL(cfg.cgroups_path, "jobs/a");
	cn_config_free(&cfg);
	CU_ASSERT_EQUAL(options_to_config(&cfg, &err, "--memory", "1G", NULL), 0);
	CU_ASSERT_EQUAL(cfg.resources.memory_limit, 1LL << 30);
	CU_ASSERT_EQUAL(options_to_config(&cfg, &err, "--memory", "4096", NULL), 0);
	CU_ASSERT_EQUAL(cfg.resources.memory_limit, 4096);
	CU_ASSERT_EQUAL(options_to_config(&cfg, &err, "--memory", "2k", NULL), 0);
	CU_ASSERT_EQUAL(cfg.resources.memory_limit, 2048);
	{
		char *argv[] = {"cnlaunch", "--cgroup-manager", "v1", NULL};
		struct cn_options o;
		CU_ASSERT_EQUAL(cn_options_parse(&o, 3, argv, &err), CN_OPTIONS_RUN);
		CU_ASSERT_EQUAL(o.cgroup_manager, CN_CGROUP_MANAGER_V1);
		cn_options_free(&o);
	}
	/* --cpus against a configured period */
	memset(&cfg, 0, sizeof(cfg));
	{
		struct cn_options o = {.cpus = "0.25"};
		cfg.resources.cpu_period = 200000;
		CU_ASSERT_EQUAL(cn_cgroup_options_to_config(&o, &cfg, &err), 0);
		CU_ASSERT_EQUAL(cfg.resources.cpu_quota, 50000);
		CU_ASSERT_EQUAL(cfg.resources.cpu_period, 200000);
	}
}

static void expect_option_error(const char *option, const char *value, const char *needle)
{
	struct cn_config cfg;
	struct cn_error err = {0};

	CU_ASSERT_EQUAL(options_to_config(&cfg, &err, option, value, NULL), -1);
	if (!strstr(err.msg, needle)) {
		fprintf(stderr, "\n  %s %s: expected \"%s\" in \"%s\"\n", option, value, needle, err.msg);
		CU_FAIL("error message");
	}
	cn_config_free(&cfg);
}

static void test_options_refuse_bad_values(void)
{
	expect_option_error("--memory", "64x", "--memory: \"64x\" is not BYTES[kKmMgG]");
	expect_option_error("--memory", "0", "--memory: \"0\"");
	expect_option_error("--memory", "-1", "--memory: \"-1\"");
	expect_option_error("--memory", "64mb", "--memory: \"64mb\"");
	expect_option_error("--memory", "99999999999G", "--memory: \"99999999999G\"");
	expect_option_error("--pids-limit", "0", "--pids-limit: \"0\" is not a number from 1 to 4194304");
	expect_option_error("--pids-limit", "4194305", "--pids-limit: \"4194305\"");
	expect_option_error("--pids-limit", "max", "--pids-limit: \"max\"");
	expect_option_error("--cpus", "0.001", "--cpus: \"0.001\" is not a number of CPUs from 0.01 to 10000");
	expect_option_error("--cpus", "1e3", "--cpus: \"1e3\"");
	expect_option_error("--cpus", "inf", "--cpus: \"inf\"");
	expect_option_error("--cpus", ".", "--cpus: \".\"");
	expect_option_error("--cgroup-path", "a/../b", "--cgroup-path: \"a/../b\" has a \".\" or \"..\" component");
	expect_option_error("--cgroup-manager", "systemd", "--cgroup-manager: \"systemd\" is not one of auto, v1, v2, disabled");
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		{"pure v2 is unified", test_pure_v2_is_unified},
		{"CI machine is hybrid", test_ci_machine_is_hybrid},
		{"systemd hybrid with co-mounted cpu", test_systemd_hybrid_with_comounted_cpu},
		{"legacy has no cgroup2", test_legacy_has_no_cgroup2},
		{"no cgroup mounts is none", test_no_cgroup_mounts_is_none},
		{"layout edge cases", test_layout_edge_cases},
		{"own cgroup per hierarchy", test_own_cgroup_per_hierarchy},
		{"dir of a mount with a root", test_dir_of_a_mount_with_a_root},
		{"below", test_below},
		{"config parses the cgroup fields", test_config_parses_the_cgroup_fields},
		{"config refuses limits it cannot apply", test_config_refuses_limits_it_cannot_apply},
		{"cgroups path problems", test_cgroups_path_problems},
		{"sub-cgroup path problems", test_sub_cgroup_path_problems},
		{"options set the cgroup fields", test_options_set_the_cgroup_fields},
		{"options refuse bad values", test_options_refuse_bad_values},
	};

	if (argc > 1)
		data_dir = argv[1];
	return unit_run("cgroup", tests, UNIT_N(tests));
}
