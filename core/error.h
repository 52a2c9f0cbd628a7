/* SPDX-License-Identifier: Apache-2.0
 *
 * The error out-parameter every fallible function takes: it holds one line for
 * the user, built from the inside out ("mount proc on /proc: EPERM" gains the
 * prefix "CreateContainer: " on its way up), and the errno that caused it.
 */
#ifndef CN_ERROR_H
#define CN_ERROR_H

#include <stddef.h>

#define CN_ERROR_MAX 1024

struct cn_error {
	int errnum;              /* 0 when the failure is not a syscall's */
	int exit_code;           /* what cnlaunch exits with; 0 means 125 (a launcher failure) */
	char msg[CN_ERROR_MAX]; /* empty when no error was recorded */
};

/* Record a failure and return -1; errnum's strerror is appended when non-zero. */
int cn_fail(struct cn_error *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add context in front of a recorded message; returns -1 for `return cn_prefix(...)`. */
int cn_prefix(struct cn_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cn_error_clear(struct cn_error *err);

#endif
