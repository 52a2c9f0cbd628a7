/* SPDX-License-Identifier: Apache-2.0
 *
 * cnlaunch: run a container through the engine Operations stages. */
#include "starter.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sys/auxv.h>

/* LeakSanitizer stops the world with ptrace, which a setuid (non-dumpable)
 * process forbids: a sanitizer build run setuid checks everything but leaks. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return getauxval(AT_SECURE) ? "detect_leaks=0" : "";
}
#endif

int main(int argc, char **argv)
{
	return cn_starter_main(argc, argv);
}
