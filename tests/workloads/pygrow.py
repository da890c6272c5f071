# Grows a list of objects in Debian's python3, for the unwinder's tests: the
# pages are first touched in the interpreter's allocator under
# _PyEval_EvalFrameDefault, in a binary built without frame pointers.
#
# usage: python3 pygrow.py PROCS_FILE START_FILE READY_FILE MIB HOLD_SECS
import os
import sys
import time

procs, start, ready, mib, hold = sys.argv[1:6]


class Row:
    def __init__(self, i):
        self.i = i
        self.name = "row-%d" % i
        self.payload = [i] * 16


def grow_rows(n_bytes):
    rows = []
    while len(rows) * 400 < n_bytes:
        rows.append(Row(len(rows)))
    return rows


with open(procs, "w") as f:
    f.write("%d\n" % os.getpid())
while not os.path.exists(start):
    time.sleep(0.01)
kept = grow_rows(int(mib) << 20)
with open(ready, "w") as f:
    f.write("grown\n")
time.sleep(float(hold))
