/* SPDX-License-Identifier: Apache-2.0
 *
 * What every CUnit suite of tests/unit shares: a table of named tests run as
 * one suite, verbose, exit status 1 when any assertion failed (2 when CUnit
 * itself could not start).
 */
#ifndef CN_UNIT_H
#define CN_UNIT_H

#include <CUnit/Basic.h>
#include <stddef.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_N(tests) (sizeof(tests) / sizeof((tests)[0]))

static inline int unit_run(const char *suite, const struct unit_test *tests, size_t n)
{
	unsigned int failures;
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite(suite, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

#endif
