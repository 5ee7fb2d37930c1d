"""``python app.py --processes=N``: several processes sharing one listening socket.

The parent binds the port, then forks the children, which all accept on that one
socket (the kernel hands each new connection to one of them) and each run their
own event loop and store. The parent only supervises:

* it restarts a child that crashed, unless children crash ``CRASHES_TOLERATED``
  times within ``CRASH_WINDOW`` seconds: that is a crash loop, which a restart
  will not mend, so it stops every child and exits with one line saying why;
* it passes Ctrl-C or SIGTERM on to every child and waits for them, so that
  stopping the parent stops them all;
* a child exits when its parent dies, even by SIGKILL, which the parent cannot
  pass on: Linux sends the child SIGTERM then (its parent-death signal), and
  elsewhere the child checks once a second whether its parent is still there.
  Orphans would keep the port, so the next start would find it in use.

Tornado's ``fork_processes`` does the forking part of this but restarts a crashed
child up to 100 times over the app's whole life, then raises ``RuntimeError``
in the parent alone, leaving the other children serving; hence this module.
"""

from __future__ import annotations

import ctypes
import logging
import os
import random
import signal
import sys
import threading
import time
from collections import deque
from types import FrameType

from tornado.process import cpu_count
from tornado.web import OutputTransform

log = logging.getLogger("app.processes")

#: The signals that stop the app.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The header naming the process that answered, sent only when there are several.
SERVED_BY = "X-Served-By"
#: Crashes within ``CRASH_WINDOW`` seconds that the parent still mends by restarting.
CRASHES_TOLERATED = 5
CRASH_WINDOW = 60.0
#: Linux's ``prctl`` option that sets the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
#: How often a child without ``prctl`` checks that its parent is alive, in seconds.
_PARENT_CHECK_INTERVAL = 1.0

#: The running children: PID -> number (0 .. count - 1), in the parent only.
_children: dict[int, int] = {}


class CrashLoopError(Exception):
    """Children kept crashing: every one has been stopped; the message says which and how."""


def fork(count: int) -> int:
    """Fork ``count`` children (0: one per core); return the child's number, in the child only.

    The parent stays in here until every child has stopped, then exits, or
    raises ``CrashLoopError`` once it has stopped them after a crash loop.
    """
    count = count or cpu_count()
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop_children)
    log.info("starting %d processes", count)
    parent = os.getpid()
    for number in range(count):
        if _start_child(number):
            return _become_child(number, parent)
    number = _supervise()
    return _become_child(number, parent)


def _start_child(number: int) -> bool:
    """Fork child ``number``; True in the child."""
    pid = os.fork()
    if pid == 0:
        return True
    _children[pid] = number
    return False


def _become_child(number: int, parent: int) -> int:
    _children.clear()  # the parent's list: a child has no children of its own
    for signum in STOP_SIGNALS:  # until app.serve installs its own: stop at once, and with status 0,
        signal.signal(signum, _exit)  # which the parent takes for "stopped", not "crashed, restart"
    random.seed()  # not the parent's sequence (session IDs come from `secrets`, which forking does not repeat)
    _exit_with_parent(parent)
    return number


def _supervise() -> int:
    """Wait for children; restart a crashed one (returning its number, in the new child) until a crash loop."""
    crashes: deque[float] = deque(maxlen=CRASHES_TOLERATED + 1)
    while _children:
        pid, status = os.wait()
        number = _children.pop(pid, None)
        if number is None:
            continue
        how = _how_it_ended(status)
        if how is None:
            continue  # stopped on purpose
        crashes.append(time.monotonic())
        if len(crashes) > CRASHES_TOLERATED and crashes[-1] - crashes[0] <= CRASH_WINDOW:
            _stop_all(signal.SIGTERM)
            raise CrashLoopError(
                f"stopping: app processes crashed {len(crashes)} times within {CRASH_WINDOW:g} s"
                f" (the last, process {number}, {how}); every process is stopped, see the log above for why"
            )
        log.warning("process %d (pid %d) %s: starting another", number, pid, how)
        if _start_child(number):
            return number
    sys.exit(0)  # every child stopped normally


def _how_it_ended(status: int) -> str | None:
    """How a child ended, or None when it exited with status 0 (it was stopped)."""
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)} ({signal.Signals(os.WTERMSIG(status)).name})"
    code = os.WEXITSTATUS(status)
    return f"exited with status {code}" if code else None


def _exit_with_parent(parent: int) -> None:
    """Have this child get SIGTERM (a graceful stop) when its parent dies, which may have happened already."""
    libc = ctypes.CDLL(None) if sys.platform == "linux" else None  # the C library Python runs on
    if libc is None or libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    if os.getppid() != parent:  # the parent died before prctl: no signal will come
        os.kill(os.getpid(), signal.SIGTERM)


def _watch_parent(parent: int) -> None:
    """Where there is no parent-death signal: stop once the parent is gone (the child is then adopted)."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_INTERVAL)
    os.kill(os.getpid(), signal.SIGTERM)


def _stop_children(signum: int, frame: FrameType | None) -> None:
    """Pass a stop signal on to every child, wait until all have stopped, and exit.

    The parent waits here rather than back in its supervising loop, which would
    restart a child that a second signal killed while it was shutting down.
    """
    _stop_all(signum)
    sys.exit(0)


def _stop_all(signum: int) -> None:
    for child in list(_children):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass  # it stopped on its own meanwhile
    while True:
        try:
            os.wait()
        except ChildProcessError:  # none left
            _children.clear()
            return


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


class ServedBy(OutputTransform):
    """Adds ``X-Served-By: <pid>`` to every response, so a test (or a curious reader) sees which process answered."""

    def transform_first_chunk(self, status_code, headers, chunk, finishing):  # type: ignore[no-untyped-def]
        headers[SERVED_BY] = str(os.getpid())
        return status_code, headers, chunk
