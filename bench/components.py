"""Instructions per call of each step of a session read, in-process, under callgrind.

    python bench/components.py [--only=cookie,session,...]

``bench/instructions.py`` counts whole requests; this splits the session
layer's share of a memory-store read (``/secret`` with a login cookie) into its
steps, so a change can be judged on the step it touches. Each step runs in a
loop under ``valgrind --tool=callgrind`` twice, for ``SHORT`` and ``LONG``
calls; the difference over ``LONG - SHORT`` calls is its cost per call, with
Python's start-up and the set-up cancelled out (the loop's own cost, about
1.2k, is in every figure: see the ``nothing`` step). Needs valgrind; a few
minutes. Run with ``--step=NAME --calls=N`` it is the loop callgrind runs.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project

from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine  # noqa: E402
from tornado.web import Application  # noqa: E402

from handlers.overview import Secret as OverviewSecret  # noqa: E402
from sessions import MemoryStore, SessionManager, expiry  # noqa: E402
from sessions.cookies import read_cookie_values  # noqa: E402
from sessions.manager import RequestState  # noqa: E402
from sessions.session import Session  # noqa: E402

SHORT, LONG = 500, 2500
COOKIE = "sid"


class _Connection:
    """What a handler needs of its HTTP connection to be built; nothing here is ever sent."""

    def set_close_callback(self, callback: object) -> None:
        pass


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (an in-process store's) to its end, with no event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the step waited")


def _steps() -> dict[str, Callable[[], object]]:
    """Each step of a read, as a call that can be repeated; built on a logged-in session."""
    store = MemoryStore()
    manager = SessionManager(cookie_name=COOKIE, store=store)
    app = Application([], session_manager=manager)

    def handler(cookie: str | None) -> OverviewSecret:
        headers = HTTPHeaders({"Host": "bench"} | ({"Cookie": f"{COOKIE}={cookie}"} if cookie else {}))
        request = HTTPServerRequest(start_line=RequestStartLine("GET", "/secret", "HTTP/1.1"), headers=headers)
        request.connection = _Connection()  # type: ignore[assignment]
        return OverviewSecret(app, request, session_manager=manager)

    login = handler(None)
    _run(manager.start(login)).set("authenticated", True)
    asyncio.run(manager.save(login))
    session_id = manager.current(login).id  # type: ignore[union-attr]
    record = _run(store.load(manager.namespace, session_id))
    started = handler(session_id)
    session = _run(started.get_session())
    if session.is_new or manager.has_pending_write(started):
        raise RuntimeError("the read did not find the logged-in session, or it would save")
    return {
        "nothing": lambda: None,
        "cookie": lambda: read_cookie_values(started.request, COOKIE),
        "codec": lambda: manager.config.codec.decode(COOKIE, session_id),
        "store-open": lambda: _run(store.open(manager.namespace, session_id)),
        "expiry": lambda: expiry.is_expired(manager.config, record.meta),
        "session": lambda: Session(session_id, record, stored=True),
        "request-state": lambda: RequestState(manager, None),
        "typed-read": lambda: session.get_boolean("authenticated", default=False),
        "pending-write": lambda: manager.has_pending_write(started),
        "headers": lambda: manager.write_headers(started),
        "handler": lambda: handler(session_id),
        "whole-read": lambda: _whole_read(manager, handler(session_id)),
    }


def _whole_read(manager: SessionManager, handler: OverviewSecret) -> None:
    """What a read runs of the session layer: start, one typed read, nothing saved, the headers."""
    _run(handler.get_session()).get_boolean("authenticated", default=False)
    manager.has_pending_write(handler)
    manager.write_headers(handler)


def _count(step: str, calls: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
    output = subprocess.run([*command, f"--step={step}", f"--calls={calls}"], capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", output.stderr)
    if output.returncode != 0 or found is None:
        sys.exit(f"callgrind failed for {step}: {output.stderr[-500:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=lambda text: text.split(","))
    parser.add_argument("--step", help="run one step's loop (what callgrind runs)")
    parser.add_argument("--calls", type=int, default=LONG)
    args = parser.parse_args()
    steps = _steps()
    if args.step:
        step = steps[args.step]
        for _ in range(args.calls):
            step()
        return 0
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian package valgrind)")
    for name in args.only or steps:
        per_call = (_count(name, LONG) - _count(name, SHORT)) / (LONG - SHORT)
        print(f"{name:<14} {per_call:10,.0f} instructions per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
