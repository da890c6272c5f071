/* `make bench-soak`: memscope at default settings left running for a long
 * window (10 min unless SOAK_SECONDS says otherwise) under a steady mixed
 * load: a page-fault storm kept running, and a stream of short-lived leaking
 * processes (new pids, so per-process state must be pruned, not kept), every
 * other one in a memory cgroup made for it and removed after it (so must
 * per-cgroup state). Its RSS, and the entries in use in its BPF process
 * table, are sampled every 10 s and the least-squares slope reported, over
 * the whole window and its second half (start-up growth is expected, steady
 * growth is a leak). Exit status 1 when either grows over the second half
 * or memscope died. */
#ifndef MEMSCOPE_BENCH_RSS_SOAK_H
#define MEMSCOPE_BENCH_RSS_SOAK_H

struct rss_soak_opts {
	double seconds;
	double interval;
	double flat_mib;	/* second-half growth allowed: this or 2% of the RSS */
	const char *memscope;
	const char *results_dir;
};

int rss_soak__run(const struct rss_soak_opts *o);

#endif
