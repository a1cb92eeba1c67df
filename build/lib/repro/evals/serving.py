"""Servers that a benchmark's answer step talks to: started in their own process groups, waited for until they
answer, and stopped (SIGTERM, then SIGKILL) when the step ends, however it ends.

Every server the harness starts listens on 127.0.0.1; the callers' command lines say so explicitly.
"""

from __future__ import annotations

import shlex
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from repro.procgroup import stop_process_group


@dataclass(frozen=True)
class Server:
    """One server process: what it is called in errors, its command line and its log file."""

    name: str
    argv: list[str]
    log: Path


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def answers(url: str, is_ready: Callable[[bytes], bool]) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return is_ready(reply.read())
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serving(servers: list[Server], ready_url: str, timeout_s: float, environ: Mapping[str, str],
            is_ready: Callable[[bytes], bool] = lambda body: True) -> Iterator[None]:
    """Start the servers in order, yield once GET ready_url answers and is_ready(body) holds, stop them all
    (last first) afterwards. A server that exits early, or a deadline passed, raises with the log's tail."""
    with ExitStack() as stack:
        started: list[tuple[Server, subprocess.Popen]] = []
        for server in servers:
            print("+", shlex.join(server.argv), flush=True)
            log = stack.enter_context(open(server.log, "w"))
            proc = subprocess.Popen(server.argv, env=dict(environ), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            stack.callback(stop_process_group, proc, 30)  # ExitStack runs callbacks last-in first-out
            started.append((server, proc))
        deadline = time.monotonic() + timeout_s
        while not answers(ready_url, is_ready):
            for server, proc in started:
                if proc.poll() is not None:
                    raise RuntimeError(f"{server.name} exited with {proc.returncode}; the end of its log "
                                       f"{server.log}:\n{log_tail(server.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} did not answer within {timeout_s:g} s; the end of "
                                   f"{started[-1][0].name}'s log {started[-1][0].log}:\n{log_tail(started[-1][0].log)}")
            time.sleep(1)
        yield
