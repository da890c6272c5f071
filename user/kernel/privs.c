#include <errno.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "privs.h"

/* Why each stays:
 * bpf, perfmon      attach uprobes to runtimes that start later, read maps
 * sys_admin         pfns in other processes' pagemap; map_files on old kernels
 * checkpoint_restore /proc/PID/map_files on 5.9+
 * sys_ptrace        /proc/PID/maps, root and mem of other users' processes
 * dac_read_search   walk container roots and cgroup trees
 * dac_override      write the output where the invoking user asked (their cwd) */
static const cap_value_t keep[] = {
	CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE, CAP_SYS_PTRACE,
	CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE,
};

int privs__may_trace(void)
{
	cap_flag_value_t admin = CAP_CLEAR, bpf = CAP_CLEAR, perfmon = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (!caps)
		return -errno;
	cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &admin);
#ifdef CAP_BPF
	cap_get_flag(caps, CAP_BPF, CAP_EFFECTIVE, &bpf);
	cap_get_flag(caps, CAP_PERFMON, CAP_EFFECTIVE, &perfmon);
#endif
	cap_free(caps);
	return admin == CAP_SET || (bpf == CAP_SET && perfmon == CAP_SET);
}

const char *privs__kept(void)
{
	return "cap_bpf,cap_perfmon,cap_sys_admin,cap_checkpoint_restore,cap_sys_ptrace,"
	       "cap_dac_read_search,cap_dac_override";
}

static bool kept(cap_value_t c)
{
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (keep[i] == c)
			return true;
	return false;
}

int privs__drop(void)
{
	cap_value_t have[sizeof(keep) / sizeof(keep[0])];
	cap_t cur = cap_get_proc(), caps;
	int n = 0, err = 0;

	if (!cur)
		return -errno;
	/* Keep only what we hold: asking for more would fail the whole call. */
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(cur, keep[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			have[n++] = keep[i];
	}
	cap_free(cur);
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes away with the rest just after. */
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++)
		if (!kept(c) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL && errno != EPERM)
			err = -errno;
	caps = cap_init();	/* all clear */
	if (!caps)
		return -errno;
	if ((n && (cap_set_flag(caps, CAP_EFFECTIVE, n, have, CAP_SET) ||
		   cap_set_flag(caps, CAP_PERMITTED, n, have, CAP_SET))) ||
	    cap_set_proc(caps))
		err = err ? err : -errno;
	cap_free(caps);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = err ? err : -errno;
	return err;
}

int privs__drop_thread(void)
{
	cap_t none = cap_init();	/* all clear */
	int err = 0;

	if (!none)
		return -errno;
	/* capset(2) changes the calling thread only (libcap without libpsx):
	 * the threads this one creates next start with nothing either. */
	if (cap_set_proc(none))
		err = -errno;
	cap_free(none);
	return err;
}
