/* SPDX-License-Identifier: Apache-2.0
 *
 * The cntrace commands that work on saved traces (argument parsing only; the
 * work is in trace/): seccomp-profile, diff, and report --html.
 */
#ifndef CN_CLI_SAVED_H
#define CN_CLI_SAVED_H

/* Exit status of seccomp-profile and diff on bad input (a trace, an option), as check's. */
#define CN_EXIT_BAD_INPUT 2

/* cntrace seccomp-profile TRACE.json [--stage NAME]... [-o FILE] [--default-action errno|kill] */
int cn_cmd_seccomp_profile(int argc, char **argv);
/* cntrace diff A.json B.json [--format text|json]: 0 nothing gained, 1 B gained, 2 bad input */
int cn_cmd_diff(int argc, char **argv);
/* The HTML report of report --html FILE: 0, or 125 with one line (report's convention). */
int cn_cmd_report_html(const char *out, const char *trace_path);

#endif
