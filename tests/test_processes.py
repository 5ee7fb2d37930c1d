"""``python app.py --processes=N``: forked processes sharing one port and one store.

Real ``app.py`` processes over real HTTP: Tornado's simple HTTP client opens a
connection per request, so concurrent requests land on different processes (the
kernel picks which one accepts); each answer names its process in ``X-Served-By``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient

from forking import CRASHES_TOLERATED, SERVED_BY
from tests.support.cookie_client import CookieClient, text
from tests.support.live_app import LiveApp
from tests.test_startup_mistakes import assert_one_line_error, start

PROCESSES = 4
CLIENTS = 8
READS = 5
INCREMENTS = 10


def store_arguments(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    if kind == "sqlite":
        return ["--store=sqlite", f"--sqlite-path={tmp_path / 'shared.sqlite3'}"]
    return ["--store=redis", f"--redis-url={request.getfixturevalue('redis_url')}"]


def test_the_memory_store_is_refused_with_why_and_what_to_use():
    assert_one_line_error(
        *start("--processes=2"),
        "--processes=2 with --store=memory",
        "each process would keep its own sessions",
        "use --store=sqlite or --store=redis",
    )


class Browsers:
    """``CLIENTS`` cookie-keeping browsers on one app, noting every process that answered them."""

    def __init__(self, url: str) -> None:
        self.http = AsyncHTTPClient(force_instance=True, max_clients=CLIENTS * INCREMENTS)
        self.browsers = [CookieClient(self.http, url) for _ in range(CLIENTS)]
        self.pids: set[str] = set()

    async def all(self, path: str, times: int = 1) -> list[list[tuple[int, str]]]:
        """GET ``path`` ``times`` times from every browser at once; (status, body) per browser."""

        async def one(browser: CookieClient) -> tuple[int, str]:
            response = await browser.get(path.format(i=self.browsers.index(browser)))
            self.pids.add(response.headers[SERVED_BY])
            return response.code, text(response)

        answers = await asyncio.gather(*(one(browser) for browser in self.browsers for _ in range(times)))
        return [answers[i * times : (i + 1) * times] for i in range(CLIENTS)]


@pytest.mark.gen_test(timeout=90)
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_processes_share_logins_values_counters_and_logouts(kind, tmp_path, request):
    with LiveApp(f"--processes={PROCESSES}", *store_arguments(kind, tmp_path, request)) as app:
        clients = Browsers(app.url)
        try:
            assert all(answer == [(200, "")] for answer in await clients.all("/login")), app.output()
            await clients.all("/database/set/color/teal{i}")
            for i, answers in enumerate(await clients.all("/database/get/color", READS)):
                assert answers == [(200, f"The 'color' on the /set was: teal{i}")] * READS

            await clients.all("/database/increment/visits", INCREMENTS)
            for answers in await clients.all("/database/get/visits"):
                assert answers == [(200, f"The 'visits' on the /set was: {INCREMENTS}")]

            await clients.all("/logout")
            for answers in await clients.all("/secret", READS):
                assert {code for code, _ in answers} == {403}
        finally:
            clients.http.close()
        assert len(clients.pids) > 1, f"one process answered everything: {clients.pids}"
        assert "Traceback" not in app.output()


@pytest.mark.gen_test(timeout=60)
async def test_without_a_secret_every_process_reads_the_others_encrypted_cookies(tmp_path):
    """The random secret is made once, before the fork: each process making its own would reject the others'."""
    with LiveApp(f"--processes={PROCESSES}", "--store=sqlite", f"--sqlite-path={tmp_path / 's.sqlite3'}") as app:
        clients = Browsers(app.url)
        try:
            await clients.all("/securecookie/set")
            for answers in await clients.all("/securecookie/get", READS):
                assert answers == [(200, "The name on the /set was: iris")] * READS
        finally:
            clients.http.close()
        assert len(clients.pids) > 1
        assert app.output().count("no --secret or SESSION_SECRETS configured") == 1


def children(pid: int) -> list[int]:
    """The PIDs of the direct children of ``pid``, from Linux's ``/proc``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_stopping_the_parent_stops_every_child_and_a_crashed_child_is_replaced(tmp_path, stop_signal):
    app = LiveApp("--processes=3", "--store=sqlite", f"--sqlite-path={tmp_path / 's.sqlite3'}")
    try:
        wait_for(lambda: app.output().count("serving the sessions tutorial") == 3)
        crashed = children(app.process.pid)[0]
        os.kill(crashed, signal.SIGKILL)
        wait_for(lambda: crashed not in children(app.process.pid) and len(children(app.process.pid)) == 3)
        running = children(app.process.pid)
        wait_for(lambda: app.output().count("serving the sessions tutorial") == 4)  # the new child too
    finally:
        code, output = app.stop(stop_signal)  # to the parent alone, as `kill` or a process manager sends it
    assert code == 0, output
    assert not [pid for pid in running if alive(pid)], output
    assert output.count("shutting down") == 3
    assert "Traceback" not in output


def test_ctrl_c_in_a_terminal_stops_every_process_without_a_restart(tmp_path):
    """A terminal's Ctrl-C signals the whole process group: each child gets SIGINT from it and from the parent."""
    app = LiveApp("--processes=3", "--store=sqlite", f"--sqlite-path={tmp_path / 's.sqlite3'}", new_session=True)
    try:
        wait_for(lambda: app.output().count("serving the sessions tutorial") == 3)
        running = children(app.process.pid)
        os.killpg(app.process.pid, signal.SIGINT)  # the group of a session leader has its PID
        app.process.wait(timeout=15)
    finally:
        code, output = app.stop()
    assert code == 0, output
    assert not [pid for pid in running if alive(pid)], output
    assert "restarting" not in output
    assert "Traceback" not in output


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the app binds: TIME_WAIT is no owner
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_children_stop_when_their_parent_is_killed(tmp_path):
    """SIGKILL cannot be passed on; the children notice their parent died, stop, and free the port."""
    app = LiveApp("--processes=3", "--store=sqlite", f"--sqlite-path={tmp_path / 's.sqlite3'}")
    try:
        wait_for(lambda: app.output().count("serving the sessions tutorial") == 3)
        running = children(app.process.pid)
        assert len(running) == 3
        app.process.kill()
        app.process.wait()
        wait_for(lambda: not [pid for pid in running if alive(pid)])
    finally:
        for pid in running:  # only if the test failed: no orphan may outlive it
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    output = app.output()
    assert output.count("shutting down") == 3, output  # each stopped cleanly, on SIGTERM
    assert "Traceback" not in output
    wait_for(lambda: port_is_free(app.port))


def test_a_crash_loop_stops_every_process_with_one_line_saying_why(tmp_path):
    """Process 0 dies again each time it is started; process 1 is fine, and must be stopped all the same."""
    app = LiveApp("--processes=2", "--store=sqlite", f"--sqlite-path={tmp_path / 's.sqlite3'}")
    try:
        wait_for(lambda: len(children(app.process.pid)) == 2)
        healthy = max(children(app.process.pid))  # the later fork: process 1
        killed: list[int] = []
        while app.process.poll() is None and len(killed) <= CRASHES_TOLERATED:
            crashing = [pid for pid in children(app.process.pid) if pid != healthy and pid not in killed]
            for pid in crashing:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.02)
        code = app.process.wait(timeout=30)
    finally:
        app.stop()
    output = app.output()
    assert code == 1, output
    assert len(killed) == CRASHES_TOLERATED + 1
    assert output.count("was killed by signal 9 (SIGKILL): starting another") == CRASHES_TOLERATED
    assert output.splitlines()[-1] == (
        f"stopping: app processes crashed {CRASHES_TOLERATED + 1} times within 60 s (the last, process 0,"
        " was killed by signal 9 (SIGKILL)); every process is stopped, see the log above for why"
    )
    assert not alive(healthy)
    assert output.count("shutting down") == 1  # the healthy one, stopped cleanly
    assert "Traceback" not in output
    assert port_is_free(app.port)
