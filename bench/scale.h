/* `make bench-scale`: many processes in many memory cgroups under one
 * memscope. Each cgroup is created for the run (uniquely named, removed at
 * exit); its processes leak a known amount and churn some more, then hold.
 * memscope's exact per-cgroup resident totals (--report) are checked against
 * the kernel's own charge to each cgroup (usage delta over the window), and
 * memscope's RSS against a bound. Exit status 1 when either check fails:
 * these are accounting and memory checks, not timings. */
#ifndef MEMSCOPE_BENCH_SCALE_H
#define MEMSCOPE_BENCH_SCALE_H

struct scale_opts {
	int cgroups;
	int procs;		/* in all, spread evenly over the cgroups */
	double tolerance_pct;	/* of the kernel's figure... */
	double tolerance_mib;	/* ...or this, whichever is larger */
	double rss_limit_mib;
	const char *memscope;
	const char *results_dir;
};

int scale__run(const struct scale_opts *o);

#endif
