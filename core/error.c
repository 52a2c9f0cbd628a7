/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The message is one line for the user, and it often quotes what the user gave
 * (an option's value, a JSON key, a capability name): a newline or a terminal
 * escape in that must not become a second line or reach the terminal raw. A
 * trailing newline (json-c ends its messages with one) is dropped; any other
 * control character is written as \n, \t or \xHH. (Found by fuzz/fuzz_config.)
 */
static void one_line(char *msg, size_t size)
{
	char out[CN_ERROR_MAX];
	size_t len = strlen(msg), o = 0;

	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];
		char esc[5];

		if (c >= 0x20 && c != 0x7f)
			esc[0] = (char)c, esc[1] = '\0';
		else if (c == '\n' || c == '\t' || c == '\r')
			snprintf(esc, sizeof(esc), "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
		else
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		if (o + strlen(esc) + 4 > sizeof(out)) { /* room for "..." and the NUL */
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, esc, strlen(esc));
		o += strlen(esc);
	}
	out[o] = '\0';
	snprintf(msg, size, "%s", out);
}

int cn_fail(struct cn_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
	one_line(err->msg, sizeof(err->msg));
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
	one_line(err->msg, sizeof(err->msg));
	return -1;
}

void cn_error_clear(struct cn_error *err)
{
	err->errnum = 0;
	err->exit_code = 0;
	err->msg[0] = '\0';
}
