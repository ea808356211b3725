"""Start a program that dies with the process that started it; run by path, before the program:

    python -I -S parent_death.py [--watchdog] PARENT_PID PROGRAM [ARGS...]

Guarantees, for `brightstaff up` and the demo's Envoy:
- Linux: the kernel sends PROGRAM SIGTERM the moment its parent dies, however it dies (`kill -9`, a
  crash, an unhandled signal): prctl(PR_SET_PDEATHSIG) is set here, then PROGRAM is exec'd in this same
  process (same PID). The signal follows the parent *thread* that forked this process, so start it from
  a thread that lives as long as the parent (the event loop's thread).
- Anywhere else (or with --watchdog): a forked watchdog checks the parent every half second and sends
  PROGRAM SIGTERM once the parent is gone.
- A parent that died before this took effect is noticed (`getppid()` no longer PARENT_PID): PROGRAM is
  never started.
- Files PROGRAM creates are private (umask 077): Envoy's log can hold request headers.

Why a separate program rather than `subprocess.Popen(preexec_fn=...)`: preexec_fn runs Python between
fork and exec, which can deadlock when the parent has other threads (grpcio's, asyncio's executor).
Standard library only, run with -I -S: it starts in a few milliseconds.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL_SECONDS = 0.5


def _set_parent_death_signal(sig: int) -> bool:
    """prctl(PR_SET_PDEATHSIG, sig); False where there is no such call."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _watch(parent: int, program: int) -> None:
    """The watchdog: SIGTERM `program` once `parent` is gone; leave once `program` is."""
    while True:
        time.sleep(_WATCH_INTERVAL_SECONDS)
        if os.getppid() != program:  # the program exited and this process was reparented
            return
        if not _alive(parent):
            os.kill(program, signal.SIGTERM)
            return


def main(argv: list[str]) -> int:
    watchdog = bool(argv) and argv[0] == "--watchdog"
    args = argv[1:] if watchdog else argv
    if len(args) < 2 or not args[0].isdigit():
        print("usage: parent_death.py [--watchdog] PARENT_PID PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    parent = int(args[0])
    os.umask(0o077)
    if watchdog or not _set_parent_death_signal(signal.SIGTERM):
        program = os.getpid()  # after exec below, this PID is the program's
        if os.fork() == 0:
            try:
                _watch(parent, program)
            finally:
                os._exit(0)
    if os.getppid() != parent:
        return 1  # the parent is already gone: start nothing
    os.execvp(args[1], args[1:])  # noqa: S606 - the program and its arguments, no shell
    return 127  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
