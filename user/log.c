#include <stdarg.h>
#include <stdio.h>

#include "log.h"

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
	va_list ap;

	if (level == LOG_DEBUG && !verbose)
		return;
	fputs(prefix[level], stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
