#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "safe_text.h"

static bool verbose;

void log_set_verbose(bool on) { verbose = on; }
bool log_verbose(void) { return verbose; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_ERROR] = "memscope: error: ",
		[LOG_WARN] = "memscope: warning: ",
		[LOG_NOTICE] = "memscope: ",
		[LOG_DEBUG] = "memscope: debug: ",
	};
	char *msg;
	va_list ap;
	int n;

	if (level == LOG_DEBUG && !verbose)
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	/* Messages carry process, cgroup and container names: one line each,
	 * whatever the names hold (no forged lines, no terminal escapes). */
	fputs(prefix[level], stderr);
	if (n >= 0)
		safe_text__fput(msg, stderr);
	else
		fputs("(message lost: out of memory)", stderr);
	fputc('\n', stderr);
	if (n >= 0)
		free(msg);
}
