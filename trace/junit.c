/* SPDX-License-Identifier: Apache-2.0
 *
 * A policy check as JUnit XML, so that CI systems show each rule as a test
 * case: one <testsuite name="cntrace policy NAME">, one <testcase
 * classname="cntrace.policy" name="RULE_ID"> per rule, a <failure> holding
 * the violations of a failed rule, <skipped> with the reason for a rule that
 * does not apply to the trace's flow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/*
 * Text as XML 1.0 character data or attribute value: the five specials
 * escaped, and the control characters XML cannot carry at all (a comm or a
 * file name may hold them) replaced with '?'.
 */
static void xml_text(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		switch (*c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '\n':
			fputs("&#10;", f);
			break;
		case '\t':
			fputs("&#9;", f);
			break;
		default:
			fputc(*c < 0x20 || *c == 0x7f ? '?' : *c, f);
		}
	}
}

/* Element content: newlines kept as they are, for a readable failure body. */
static void xml_body(FILE *f, const char *s)
{
	for (const char *line = s; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char *part = strndup(line, n);

		if (part)
			xml_text(f, part);
		free(part);
		if (!nl)
			break;
		fputc('\n', f);
		line = nl + 1;
	}
}

static void write_testcase(FILE *f, const struct cn_rule_result *r)
{
	fputs("  <testcase classname=\"cntrace.policy\" name=\"", f);
	xml_text(f, r->id);
	fputs("\" time=\"0\">\n", f);
	if (r->status == CN_RULE_NOT_APPLICABLE) {
		fputs("    <skipped message=\"not applicable: ", f);
		xml_text(f, r->reason);
		fputs("\"/>\n", f);
	} else if (r->status == CN_RULE_FAILED) {
		fprintf(f, "    <failure type=\"violation\" message=\"%zu violation%s of ", r->nviolations,
			r->nviolations == 1 ? "" : "s");
		xml_text(f, r->id);
		fputs(": ", f);
		xml_text(f, r->nviolations ? r->violations[0].message : "");
		fputs("\">", f);
		xml_body(f, r->doc);
		fputc('\n', f);
		for (size_t i = 0; i < r->nviolations; i++) {
			fputs("VIOLATION ", f);
			xml_body(f, r->id);
			fputs(": ", f);
			xml_body(f, r->violations[i].message);
			fputc('\n', f);
		}
		fputs("</failure>\n", f);
	}
	fputs("    <system-out>", f);
	xml_body(f, r->doc);
	fputs("</system-out>\n", f);
	fputs("  </testcase>\n", f);
}

static void write_junit(FILE *f, const struct cn_check *c)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fputs("<testsuite name=\"cntrace policy ", f);
	xml_text(f, c->policy);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"0\">\n", c->nrules, c->failed,
		c->not_applicable);
	fputs("  <properties>\n", f);
	fputs("    <property name=\"trace\" value=\"", f);
	xml_text(f, c->trace);
	fputs("\"/>\n    <property name=\"flow\" value=\"", f);
	xml_text(f, c->flow);
	fputs("\"/>\n  </properties>\n", f);
	for (size_t i = 0; i < c->nrules; i++)
		write_testcase(f, &c->rules[i]);
	fputs("</testsuite>\n", f);
}

char *cn_check_junit(const struct cn_check *c)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	write_junit(f, c);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int cn_check_write_junit(const struct cn_check *c, const char *path, struct cn_error *err)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return cn_fail(err, errno, "--junit %s", path);
	write_junit(f, c);
	if (ferror(f) | (fclose(f) != 0))
		return cn_fail(err, errno, "--junit %s: write", path);
	return 0;
}
