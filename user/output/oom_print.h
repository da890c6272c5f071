/* An OOM report (oom_report.h) as the SRE reads it: the text block `oom`
 * prints, or one JSON object per kill for tools; written in one write(2). */
#ifndef MEMSCOPE_OOM_PRINT_H
#define MEMSCOPE_OOM_PRINT_H

#include <stdbool.h>
#include <stdio.h>

struct oom_report;

void oom_print__text(const struct oom_report *r, FILE *f);
/* The report as one object (key NULL in arrays and at the top level). */
struct json;
void oom_print__json(struct json *j, const char *key, const struct oom_report *r);
/* One JSON object and a newline. */
void oom_print__json_line(const struct oom_report *r, FILE *f);
/* The text or JSON report in a single write(2), so that reports appended by
 * several writers (-o with O_APPEND) never interleave. 0 or -errno. */
int oom_print__write(const struct oom_report *r, bool json, int fd);

#endif
