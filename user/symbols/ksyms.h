/* Kernel symbol table from /proc/kallsyms, to name the kernel frames of the
 * stacks BPF captures. Only text symbols are kept, sorted by address, one
 * per address; a lookup returns the nearest symbol at or below an address.
 *
 * Input lines (address, type, name, optional module after a tab):
 *	ffffffff81000000 T _stext
 *	ffffffff8135d5f0 t __pfx_do_exit	(padding before functions: skipped)
 *	ffffffffc0a01000 t foo_init	[ext4]
 *
 * When kptr_restrict hides the addresses every one reads as zero; the load
 * then fails with EPERM so the caller can tell the user to run as root.
 */
#ifndef MEMSCOPE_KSYMS_H
#define MEMSCOPE_KSYMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KSYMS_NAME_MAX	511		/* longer names: line skipped */
#define KSYMS_LINE_MAX	1024		/* longer lines: skipped */
#define KSYMS_COUNT_MAX	(4u << 20)	/* more text symbols: E2BIG */

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module;	/* NULL for vmlinux */
};

struct ksyms;

/* NULL + errno: EPERM (addresses hidden), ENODATA (no text symbol), E2BIG,
 * ENOMEM, or the errno of opening/reading the file. */
struct ksyms *ksyms__load(const char *path);
struct ksyms *ksyms__parse(FILE *f);

/* Nearest symbol at or below addr (NULL below the first one); *offset, when
 * not NULL, gets addr - sym->addr. The result lives as long as ks. */
const struct ksym *ksyms__lookup(const struct ksyms *ks, uint64_t addr, uint64_t *offset);
size_t ksyms__count(const struct ksyms *ks);
void ksyms__free(struct ksyms *ks);

#endif
