/* SPDX-License-Identifier: Apache-2.0
 *
 * libFuzzer: cnlaunch's command line (core/options.c), the first thing a
 * setuid cnlaunch reads from its caller, then the Config stage that turns it
 * into a configuration (the native engine's config method, as STAGE1 runs it)
 * and the configuration's way to the master. The input is the argument vector,
 * arguments separated by NUL bytes. Options that name files (--bundle,
 * --seccomp) are dropped before Config: their readers have fuzz targets of
 * their own, and a path from the fuzzer could name a FIFO and hang the run.
 */
#include "fuzz.h"

#include "config.h"
#include "engine.h"
#include "engine_native.h"
#include "options.h"

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* --help and --version print to stdout: keep the fuzzer's output readable */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	struct cn_launch l;
	struct cn_error err = { 0 };
	int rc;

	argv[argc++] = (char *)"cnlaunch";
	for (size_t off = 0; off <= size && argc < MAX_ARGS + 1;) {
		argv[argc++] = text + off;
		off += strlen(text + off) + 1;
	}
	argv[argc] = NULL;

	memset(&l, 0, sizeof(l));
	l.sync_fd = -1;
	l.container = (struct cn_process)CN_PROCESS_INIT;
	rc = cn_options_parse(&l.opts, argc, argv, &err);
	if (rc < 0)
		fuzz_one_line("fuzz_options", "options", &err);
	if (rc == CN_OPTIONS_RUN) {
		l.engine = &cn_engine_native;
		l.flow = l.opts.flow == CN_FLOW_AUTO ? CN_FLOW_SETUID : l.opts.flow;
		if (l.flow == CN_FLOW_FAKEROOT)
			l.flow = CN_FLOW_USERNS; /* fakeroot reads /etc/subuid: not the fuzzer's business */
		l.role = CN_ROLE_STAGE1;
		l.caller_uid = l.caller_gid = 65534;
		l.opts.bundle = NULL;
		l.opts.seccomp_file = NULL;
		if (cn_engine_native.config(&l, &err) == 0) {
			char *first = cn_config_to_json(&l.cfg, &err);
			struct cn_config again;

			if (!first)
				abort();
			memset(&again, 0, sizeof(again));
			if (cn_config_parse(&again, first, NULL, &err) < 0) {
				fprintf(stderr, "fuzz_options: the master would refuse what STAGE1 made: %s\n%s\n", err.msg,
					first);
				abort();
			}
			cn_config_free(&again);
			free(first);
		} else {
			fuzz_one_line("fuzz_options", "Config", &err);
		}
	}
	cn_config_free(&l.cfg);
	cn_options_free(&l.opts);
	free(text);
	return 0;
}
