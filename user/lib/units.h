/* Units memscope's figures are shown in, and byte counts as text. Included
 * by .c files only: tests and workloads define MIB of their own types, and a
 * header that brought this one in would clash with theirs. */
#ifndef MEMSCOPE_UNITS_H
#define MEMSCOPE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define MIB		(1024.0 * 1024.0)	/* bytes; double, so figures divide */

/* "512 B", "4.00 KiB", "1.50 MiB", "12.3 GiB", "100 TiB": three significant
 * digits, binary units (flame graph titles, diff totals). */
void units__bytes(uint64_t bytes, char *buf, size_t len);
/* "0", "512", "12.3K", "456M", "1.2G": at most five characters, for table
 * columns (top). Returns buf. */
const char *units__bytes_short(uint64_t bytes, char *buf, size_t len);

#endif
