/* /proc/PID/status: kernel text, but the Name line is the process's own
 * choice (prctl, comm). Not NUL-terminated: libFuzzer's buffer is exactly
 * the input, so a read past its end is an ASan report. */
#include "fuzz.h"
#include "procstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procstatus ps;
	pid_t inner;

	memset(&ps, 0x5a, sizeof(ps));
	if (procstatus__parse((const char *)data, size, &ps))
		return 0;
	FUZZ_CHECK(ps.have & (PROCSTATUS_NAME | PROCSTATUS_TGID));
	FUZZ_CHECK(fuzz_terminated(ps.name, sizeof(ps.name)));
	FUZZ_CHECK(ps.n_nspid >= 0 && ps.n_nspid <= PROCSTATUS_NS_MAX);
	inner = procstatus__inner_pid(&ps);
	FUZZ_CHECK(ps.n_nspid ? inner == ps.nspid[ps.n_nspid - 1] : inner == ps.tgid);
	return 0;
}
