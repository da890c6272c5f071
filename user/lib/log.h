/* One place that decides what reaches stderr, so library modules never
 * print directly and `-v` turns on the debug detail everywhere at once. */
#ifndef MEMSCOPE_LOG_H
#define MEMSCOPE_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_NOTICE, LOG_DEBUG };

void log_set_verbose(bool verbose);
bool log_verbose(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)  log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
