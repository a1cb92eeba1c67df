"""A stage's watchdog: stops the stage's process group when the process that launched it dies.

Ctrl-C, SIGTERM and SIGHUP reach the launcher, which stops its stages itself. SIGKILL (the OOM killer,
`kill -9`) gives it no chance, and a stage runs in its own session, so nothing else would stop it: it would
keep writing into its folder beside the next run's copy. The launcher holds the write end of a pipe whose
read end is this process's stdin; a launcher that finishes the stage writes "done" first. End of file
without it means the launcher died: SIGTERM the group, then SIGKILL what is left.
Run as: python -m repro.launch.watchdog PGID  (in its own session, so signals to the launcher miss it)
"""

from __future__ import annotations

import os
import signal
import sys
import time

DONE = b"done"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's group now: not ours to stop
        return False


def stop_group(pgid: int, grace_s: float = 10.0) -> None:
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        if not group_alive(pgid):
            return
        os.killpg(pgid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and group_alive(pgid):
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    pgid = int((argv or sys.argv[1:])[0])
    received = b""
    while chunk := os.read(sys.stdin.fileno(), 64):
        received += chunk
    if DONE not in received:
        stop_group(pgid)


if __name__ == "__main__":
    main()
