/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cn_fail(struct cn_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
	err->errnum = errnum;
	err->exit_code = 0;
	return -1;
}

int cn_prefix(struct cn_error *err, const char *fmt, ...)
{
	char prefix[CN_ERROR_MAX], joined[CN_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (snprintf(joined, sizeof(joined), "%s%s", prefix, err->msg) >= (int)sizeof(joined))
		strcpy(joined + sizeof(joined) - 4, "...");
	memcpy(err->msg, joined, sizeof(err->msg));
	return -1;
}

void cn_error_clear(struct cn_error *err)
{
	err->errnum = 0;
	err->exit_code = 0;
	err->msg[0] = '\0';
}
