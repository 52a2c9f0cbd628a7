/* SPDX-License-Identifier: Apache-2.0
 *
 * libFuzzer: config.json -> struct cn_config (core/config.c), as a bundle's
 * config.json reaches a setuid cnlaunch: over the defaults, root.path relative
 * to the bundle. What must hold for any input:
 *  - no crash, no leak, no undefined behaviour (ASan, UBSan, LeakSanitizer);
 *  - a refusal is one line (it is what cnlaunch prints);
 *  - linux.seccomp compiles or is refused, never crashes libseccomp;
 *  - what the parser accepted, the writer writes and the parser accepts again,
 *    to the same text: STAGE1 hands its configuration to the master that way,
 *    and a master refusing what STAGE1 accepted would be a launch that fails late.
 */
#include "fuzz.h"

#include "config.h"
#include "seccomp_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_config cfg, again;
	struct cn_error err = { 0 };
	char *text = fuzz_cstring(data, size);
	char *first = NULL, *second = NULL;

	if (cn_config_init_default(&cfg, size & 1, &err) < 0)
		abort();
	if (cn_config_parse(&cfg, text, "/bundle", &err) < 0) {
		fuzz_one_line("fuzz_config", "cn_config_parse", &err);
		goto out;
	}
	if (cfg.seccomp) {
		struct cn_error serr = { 0 };
		if (cn_seccomp_compile(cfg.seccomp, "linux.seccomp", NULL, &serr) < 0)
			fuzz_one_line("fuzz_config", "cn_seccomp_compile", &serr);
	}
	/* PrepareConfig always has a rootfs by then (the option's or the default). */
	if (!cfg.root_path && !(cfg.root_path = strdup("/rootfs")))
		abort();
	if (!(first = cn_config_to_json(&cfg, &err)))
		abort();
	memset(&again, 0, sizeof(again)); /* the master parses into a fresh configuration */
	if (cn_config_parse(&again, first, NULL, &err) < 0) {
		fprintf(stderr, "fuzz_config: the master would refuse what STAGE1 accepted: %s\n%s\n", err.msg, first);
		abort();
	}
	second = cn_config_to_json(&again, &err);
	cn_config_free(&again);
	if (!second || strcmp(first, second) != 0) {
		fprintf(stderr, "fuzz_config: the configuration changed on its way to the master:\n%s\n---\n%s\n", first,
			second ? second : "(none)");
		abort();
	}
out:
	free(first);
	free(second);
	cn_config_free(&cfg);
	free(text);
	return 0;
}
