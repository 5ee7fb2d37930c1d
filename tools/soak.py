"""Soak: mixed session traffic against ``python app.py --processes=2`` while faults happen, counting what was lost.

    python tools/soak.py --minutes=10 --store=sqlite
    python tools/soak.py --minutes=10 --store=redis

It starts the app (and, for Redis, its own ``redis-server`` on a free loopback
port, writing an append-only file so that a restart keeps the data, as a
production Redis would) and sends traffic only to 127.0.0.1. Simulated users,
each with its own cookies, log in and out, set, read and increment values in the
database step's session and set and read flashes, one request at a time each, and
check every answer against what they were told before. Meanwhile, once a minute:

* an app process is killed (SIGKILL; the parent starts another);
* SQLite: another program holds the file's write lock, once past the store's
  5 s busy timeout, once within it;
* Redis: restarted, then paused (``DEBUG SLEEP``, then ``CLIENT PAUSE``, in turn).

Then, with the faults over, every user reads back everything it was told had been
saved, and the tool prints requests sent, answers by status, failures (5xx and
broken connections) outside a fault's window, writes acknowledged then missing,
increments lost, pages still open after a logout, and the app's memory and open
files at start and end. Exit status 1 if anything was lost or failed unexplained.

A failure is explained when the request overlapped a fault's window widened by
``GRACE`` seconds (reconnecting, and a save that waited out the busy timeout). A
write whose request failed may or may not have been saved, so the users stop
expecting anything of that key (or count it as maybe-applied, for increments).
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookies
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse

ROOT = Path(__file__).resolve().parent.parent
#: Seconds after a fault ends during which failures are still put down to it.
GRACE = 8.0
#: Simulated users, each sending one request at a time.
USERS = 12
#: The keys each user sets and reads back, and its counter.
KEYS = [f"k{i}" for i in range(6)]
COUNTER = "visits"
#: One fault schedule per minute: (seconds into the minute, fault name per store).
SCHEDULE = {
    "sqlite": [(8.0, "kill-process"), (22.0, "lock-sqlite-7s"), (40.0, "lock-sqlite-2s")],
    "redis": [(8.0, "kill-process"), (22.0, "restart-redis"), (40.0, "pause-redis")],
}
#: Quiet time after the last fault before the final read-back.
SETTLE = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the processes under test -------------------------------------------------------------------------


class Redis:
    """A ``redis-server`` of the soak's own, with an append-only file so that a restart keeps every write."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.pauses = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
                   "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                   "--enable-debug-command", "local"]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not self._answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # a clean shutdown: the append-only file is complete
            self.process.wait(timeout=30)
            self.process = None

    def command(self, *words: str) -> bytes:
        """Send one command (RESP) and return the first line of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
            sock.sendall(request.encode())
            return sock.recv(1024)

    def _answers(self) -> bool:
        try:
            return self.command("PING").startswith(b"+PONG")
        except OSError:
            return False


class App:
    """``python app.py --processes=2`` on a free port, its log in a file."""

    def __init__(self, store: str, workdir: Path, redis: Redis | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sqlite_path = workdir / "soak.sqlite3"
        self.log_path = workdir / "app.log"
        store_options = [f"--sqlite-path={self.sqlite_path}"] if store == "sqlite" else [f"--redis-url={redis.url}"]  # type: ignore[union-attr]
        command = [sys.executable, "app.py", f"--port={self.port}", "--processes=2", f"--store={store}",
                   *store_options, "--logging=warning"]  # fmt: skip
        self.log = self.log_path.open("w")
        environment = {**os.environ, "SESSION_SECRETS": secrets.token_urlsafe(32)}  # one for both processes
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=environment)

    def children(self) -> list[int]:
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            found += [int(pid) for pid in task.read_text().split()]
        return found

    def usage(self) -> tuple[int, int]:
        """Resident memory (KiB) and open files of the app's processes, parent and children together."""
        rss = files = 0
        for pid in [self.process.pid, *self.children()]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                rss += int(re.search(r"VmRSS:\s+(\d+)", status)[1])  # type: ignore[index]
                files += len(os.listdir(f"/proc/{pid}/fd"))
            except (OSError, TypeError):
                pass  # it ended meanwhile
        return rss, files

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


# -- faults ------------------------------------------------------------------------------------------


@dataclass
class Window:
    name: str
    start: float
    end: float = float("inf")


class Faults:
    """Runs the schedule and remembers when each fault lasted."""

    def __init__(self, store: str, app: App, redis: Redis | None) -> None:
        self.store, self.app, self.redis = store, app, redis
        self.windows: list[Window] = []

    def explains(self, sent: float, answered: float) -> bool:
        return any(w.start - 0.5 <= answered and sent <= w.end + GRACE for w in self.windows)

    async def run(self, minutes: float, began: float) -> None:
        for minute in range(max(1, round(minutes))):
            for offset, name in SCHEDULE[self.store]:
                at = began + minute * 60 + offset
                if at > began + minutes * 60 - SETTLE:
                    return
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                window = Window(name, time.monotonic())
                self.windows.append(window)
                await asyncio.get_running_loop().run_in_executor(None, self._cause, name)
                window.end = time.monotonic()

    def _cause(self, name: str) -> None:
        if name == "kill-process":
            os.kill(random.choice(self.app.children()), signal.SIGKILL)
            time.sleep(1.0)  # the parent starts another at once
        elif name.startswith("lock-sqlite"):
            seconds = float(name.removeprefix("lock-sqlite-").removesuffix("s"))
            with sqlite3.connect(self.app.sqlite_path, isolation_level=None) as writer:
                writer.execute("BEGIN IMMEDIATE")  # another program's write lock, held
                time.sleep(seconds)
                writer.execute("ROLLBACK")
        elif name == "restart-redis":
            assert self.redis is not None
            self.redis.stop()
            time.sleep(1.0)
            self.redis.start()
        elif name == "pause-redis":
            assert self.redis is not None
            if self.redis.pauses % 2 == 0:
                self.redis.command("DEBUG", "SLEEP", "3")  # the server itself stalls (a fork, a slow disk)
            else:
                self.redis.command("CLIENT", "PAUSE", "3000", "ALL")
                time.sleep(3.0)
            self.redis.pauses += 1


# -- the users ---------------------------------------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    unexplained: list[str] = field(default_factory=list)
    writes_acknowledged: int = 0
    writes_missing: list[str] = field(default_factory=list)
    increments_acknowledged: int = 0
    increments_lost: int = 0
    increments_maybe_applied: int = 0
    stale_after_logout: int = 0
    stale_reads: list[str] = field(default_factory=list)
    flashes_lost: int = 0


class User:
    """One browser: cookies, and what the app told it it had saved."""

    def __init__(self, number: int, http: AsyncHTTPClient, url: str, tally: Tally, faults: Faults) -> None:
        self.number, self.http, self.url, self.tally, self.faults = number, http, url, tally, faults
        self.cookies: dict[str, str] = {}
        self.saved: dict[str, str] = {}  # key -> the value an acknowledged set stored
        self.counter = 0  # acknowledged increments
        self.counter_maybe = 0  # increments whose answer never came
        self.writes = 0

    async def get(self, path: str) -> tuple[int, str]:
        """GET with this user's cookies; (status, body), status 0 for a broken connection."""
        self.tally.sent += 1
        sent = time.monotonic()
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        try:
            response = await self.http.fetch(self.url + path, headers=headers, raise_error=False, request_timeout=30)
        except (OSError, HTTPClientError) as error:
            return self._failed(path, sent, 0, type(error).__name__)
        self._keep_cookies(response)
        body = response.body.decode(errors="replace") if response.body else ""
        if response.code >= 500 or response.code == 599:
            return self._failed(path, sent, response.code, body[:80])
        self.tally.statuses[str(response.code)] += 1
        return response.code, body

    def _failed(self, path: str, sent: float, code: int, what: str) -> tuple[int, str]:
        self.tally.statuses[str(code) if code and code != 599 else "broken connection"] += 1
        answered = time.monotonic()
        if not self.faults.explains(sent, answered):
            self.tally.unexplained.append(f"{path} -> {code or what} at +{sent - STARTED:.1f} s ({what})")
        return code or 599, ""

    def _keep_cookies(self, response: HTTPResponse) -> None:
        for header in response.headers.get_list("Set-Cookie"):
            cookie = http.cookies.SimpleCookie(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def run(self, until: float) -> None:
        actions = [self.set, self.set, self.read, self.read, self.increment, self.increment, self.login_cycle,
                   self.flash]  # fmt: skip
        while time.monotonic() < until:
            await random.choice(actions)()

    async def set(self) -> None:
        key = random.choice(KEYS)
        self.writes += 1
        value = f"u{self.number}w{self.writes}"
        code, body = await self.get(f"/database/set/{key}/{value}")
        if code == 200 and body == f"All ok session value of the '{key}' is: {value}":
            self.saved[key] = value
            self.tally.writes_acknowledged += 1
        else:
            self.saved.pop(key, None)  # maybe saved, maybe not: expect nothing of it

    async def read(self, final: bool = False) -> None:
        keys = [k for k in KEYS if k in self.saved] if final else [random.choice(KEYS)]
        for key in keys:
            code, body = await self.get(f"/database/get/{key}")
            if code != 200 or key not in self.saved:
                continue
            found = body.removeprefix(f"The '{key}' on the /set was: ")
            if found != self.saved[key]:
                record = f"user {self.number} {key}: saved {self.saved[key]!r}, read {found!r}"
                (self.tally.writes_missing if final else self.tally.stale_reads).append(record)

    async def increment(self) -> None:
        code, body = await self.get(f"/database/increment/{COUNTER}")
        match = re.fullmatch(rf"The '{COUNTER}' is now: (\d+)", body)
        if code == 200 and match:
            self.counter += 1
            self.tally.increments_acknowledged += 1
        else:
            self.counter_maybe += 1

    async def read_counter(self) -> None:
        code, body = await self.get(f"/database/get/{COUNTER}")
        if code != 200 or not self.counter:
            return
        found = body.removeprefix(f"The '{COUNTER}' on the /set was: ")
        count = int(found) if found.isdigit() else 0
        self.tally.increments_lost += max(0, self.counter - count)
        self.tally.increments_maybe_applied += max(0, count - self.counter)

    async def login_cycle(self) -> None:
        code, _ = await self.get(f"/login?user=u{self.number}")
        if code != 200:
            return
        await self.get("/secret")
        code, _ = await self.get("/logout")
        if code != 200:
            return
        code, _ = await self.get("/secret")
        if code == 200:
            self.tally.stale_after_logout += 1

    async def flash(self) -> None:
        code, _ = await self.get("/flash/set")
        if code != 200:
            return
        code, body = await self.get("/flash/get")
        if code == 200 and body != "Hello iris":
            self.tally.flashes_lost += 1


STARTED = time.monotonic()


async def wait_until_serving(app: App) -> None:
    http = AsyncHTTPClient()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"app.py exited:\n{app.log_path.read_text()}")
        try:
            await http.fetch(app.url + "/", request_timeout=2)
            if len(app.children()) == 2:
                return
        except (OSError, HTTPClientError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("app.py did not start serving")


async def soak(minutes: float, store: str, workdir: Path) -> int:
    global STARTED
    redis = Redis(workdir) if store == "redis" else None
    if redis:
        redis.start()
    app = App(store, workdir, redis)
    try:
        await wait_until_serving(app)
        tally, faults = Tally(), Faults(store, app, redis)
        http = AsyncHTTPClient(force_instance=True, max_clients=USERS * 2)
        users = [User(n, http, app.url, tally, faults) for n in range(USERS)]
        STARTED = began = time.monotonic()
        await asyncio.gather(*(u.get("/database/set/start/1") for u in users))  # each user's session exists
        rss_start, files_start = app.usage()
        until = began + minutes * 60
        await asyncio.gather(faults.run(minutes, began), *(u.run(until) for u in users))
        await asyncio.sleep(max(0.0, SETTLE - (time.monotonic() - max((w.end for w in faults.windows), default=0))))
        for user in users:
            await user.read(final=True)
            await user.read_counter()
        rss_end, files_end = app.usage()
        http.close()
    finally:
        code = app.stop()
        if redis:
            redis.stop()
    log = app.log_path.read_text()
    report(store, minutes, tally, faults, (rss_start, files_start, rss_end, files_end), code, log)
    lost = tally.writes_missing or tally.increments_lost or tally.stale_after_logout or tally.flashes_lost
    return 1 if lost or tally.unexplained or code != 0 or "Traceback" in log else 0


def report(store: str, minutes: float, tally: Tally, faults: Faults, usage: tuple[int, int, int, int],
           code: int, log: str) -> None:  # fmt: skip
    rss_start, files_start, rss_end, files_end = usage
    faults_seen = Counter(w.name for w in faults.windows)
    print(f"soak: {minutes:g} min on {store}, 2 app processes, {USERS} users")
    print(f"faults: {', '.join(f'{name} x{n}' for name, n in faults_seen.items())}")
    print(f"requests sent: {tally.sent}")
    print(f"answers by status: {', '.join(f'{s}: {n}' for s, n in sorted(tally.statuses.items()))}")
    print(f"failures outside a fault window: {len(tally.unexplained)}")
    for line in tally.unexplained[:10]:
        print(f"  {line}")
    print(f"writes acknowledged: {tally.writes_acknowledged}, then missing: {len(tally.writes_missing)}")
    for line in tally.writes_missing[:10]:
        print(f"  {line}")
    print(f"reads that saw an older value: {len(tally.stale_reads)}")
    for line in tally.stale_reads[:10]:
        print(f"  {line}")
    print(f"increments acknowledged: {tally.increments_acknowledged}, lost: {tally.increments_lost}"
          f" (applied without an answer: {tally.increments_maybe_applied})")  # fmt: skip
    print(f"pages still open after a logout: {tally.stale_after_logout}")
    print(f"flashes lost: {tally.flashes_lost}")
    print(f"app memory (RSS, all processes): {rss_start / 1024:.0f} MiB at start, {rss_end / 1024:.0f} MiB at end")
    print(f"app open files (all processes): {files_start} at start, {files_end} at end")
    print(f"app exit status: {code}; tracebacks in its log: {log.count('Traceback')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        sys.exit(asyncio.run(soak(arguments.minutes, arguments.store, Path(workdir))))


if __name__ == "__main__":
    main()
