"""``python -m tests.containerd.supervise CMD...``: run CMD as a child subreaper's child.

The shims containerd starts double-fork; their orphans go to the nearest subreaper above
them. The test process may be one (the in-process engine makes itself one), and would then
collect the shims as zombies. This process stands in between: it becomes the subreaper,
runs CMD, passes SIGTERM/SIGINT on, reaps every orphan, and exits with CMD's status once
CMD and every orphan have ended.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"supervise: prctl: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    child = os.posix_spawnp(argv[0], argv, os.environ)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: os.kill(child, s))
    status = 1
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            return status
        if pid == child:
            status = os.waitstatus_to_exitcode(wait_status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
