#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfn.h"

int pfn__max_from_zoneinfo(const char *path, uint64_t *max_pfn)
{
	unsigned long long start = 0, spanned, best = 0;
	bool have_start = false;
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	/* Each zone prints "spanned N" before "start_pfn: M". */
	spanned = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " spanned %llu", &spanned) == 1)
			continue;
		if (sscanf(line, " start_pfn: %llu", &start) == 1) {
			have_start = true;
			if (start + spanned > best && start + spanned >= start)
				best = start + spanned;
			spanned = 0;
		}
	}
	fclose(f);
	if (!have_start || !best)
		return -ENOENT;
	*max_pfn = best;
	return 0;
}

int pfn__of_vaddr(uint64_t vaddr, uint64_t *pfn)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t entry;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, &entry, sizeof(entry), (off_t)(vaddr / psz) * sizeof(entry));
	close(fd);
	if (n != sizeof(entry))
		return n < 0 ? -errno : -EIO;
	/* bit 63: present; bits 0-54: pfn, zeroed without CAP_SYS_ADMIN */
	if (!(entry >> 63) || !(entry & ((1ULL << 55) - 1)))
		return -EPERM;
	*pfn = entry & ((1ULL << 55) - 1);
	return 0;
}

int pfn__solve_base(const uint64_t *ptrs, size_t n, uint64_t pfn_a, uint64_t pfn_b,
		    uint64_t sz, uint64_t *base)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t cand = ptrs[i] - pfn_a * sz;

		if (ptrs[i] < pfn_a * sz || cand % sz)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (j != i && ptrs[j] == cand + pfn_b * sz) {
				*base = cand;
				return 0;
			}
		}
	}
	return -ENOENT;
}

bool pfn__all_seen(const uint64_t *want, size_t nw, const uint64_t *have, size_t nh)
{
	for (size_t i = 0; i < nw; i++) {
		size_t j = 0;

		while (j < nh && have[j] != want[i])
			j++;
		if (j == nh)
			return false;
	}
	return nw > 0;
}
