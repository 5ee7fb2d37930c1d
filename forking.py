"""``python app.py --processes=N``: several processes sharing one listening socket, the Tornado way.

The parent binds the port, then ``tornado.process.fork_processes`` forks the
children, which all accept on that one socket (the kernel hands each new
connection to one of them) and each run their own event loop and store. The
parent only waits: it restarts a child that crashed, and passes Ctrl-C or
SIGTERM on to every child and waits for them, so that stopping the parent stops
them all (Tornado leaves that to us: a SIGTERM to the parent alone would orphan
the children). The parent finds its children in Linux's ``/proc``; elsewhere
Ctrl-C in a terminal still stops them all (the terminal signals every process
of the group), but a SIGTERM must then be sent to each.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

from tornado.process import fork_processes
from tornado.web import OutputTransform

#: The signals that stop the app.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The header naming the process that answered, sent only when there are several.
SERVED_BY = "X-Served-By"


def fork(count: int) -> int:
    """Fork ``count`` children (0: one per core); return the child's number, in the child only.

    The parent stays in here until every child has stopped, then exits.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop_children)
    number = fork_processes(count, max_restarts=100)
    for signum in STOP_SIGNALS:  # until app.serve installs its own: stop at once, and with status 0,
        signal.signal(signum, _exit)  # which Tornado's parent takes for "stopped", not "crashed, restart"
    return number


def children(pid: int | None = None) -> list[int]:
    """The PIDs of the direct children of ``pid`` (this process by default), from Linux's ``/proc``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid or os.getpid()}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def _stop_children(signum: int, frame: FrameType | None) -> None:
    """Pass a stop signal on to every child, wait until all have stopped, and exit.

    The parent waits here rather than back in Tornado's loop, which would restart
    a child that a second signal killed while it was shutting down.
    """
    for child in children():
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass  # it stopped on its own meanwhile
    while True:
        try:
            os.wait()
        except ChildProcessError:  # none left
            sys.exit(0)


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


class ServedBy(OutputTransform):
    """Adds ``X-Served-By: <pid>`` to every response, so a test (or a curious reader) sees which process answered."""

    def transform_first_chunk(self, status_code, headers, chunk, finishing):  # type: ignore[no-untyped-def]
        headers[SERVED_BY] = str(os.getpid())
        return status_code, headers, chunk
