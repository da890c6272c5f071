/* Units memscope's figures are shown in. Included by .c files only: tests
 * and workloads define MIB of their own types, and a header that brought
 * this one in would clash with theirs. */
#ifndef MEMSCOPE_UNITS_H
#define MEMSCOPE_UNITS_H

#define MIB		(1024.0 * 1024.0)	/* bytes; double, so figures divide */

#endif
