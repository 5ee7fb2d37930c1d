"""A bounded load test: many clients, mixed routes, for a fixed time, on loopback.

Run it alone with ``python -m pytest -m load``; it is part of the full suite too.
It asserts correctness under load (no failed request, no 5xx, each client's
session behaves), and that the server's memory stops growing while sessions
are created and destroyed all the time. It asserts nothing about speed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from tests.support.live_app import LiveApp

CONNECTIONS = 64
DURATION = 20.0


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Visitor:
    """One browser: a cookie jar and a little script of what people do."""

    def __init__(self, client: AsyncHTTPClient, base_url: str, outcomes: Counter[str]) -> None:
        self.client, self.base_url, self.outcomes = client, base_url, outcomes
        self.jar: dict[str, str] = {}

    async def get(self, path: str) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}
        try:
            response = await self.client.fetch(
                self.base_url + path, headers=headers, raise_error=False, request_timeout=10
            )
        except (HTTPClientError, OSError) as error:
            self.outcomes[f"failed: {type(error).__name__}"] += 1
            return 0, ""
        self.outcomes["5xx" if response.code >= 500 else "ok"] += 1
        for header in response.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] not in ("0", 0):
                    self.jar[name] = morsel.value
                else:
                    self.jar.pop(name, None)
        return response.code, response.body.decode()

    def expect(self, condition: bool, what: str) -> None:
        self.outcomes["ok session" if condition else f"wrong: {what}"] += 1

    async def anonymous(self) -> None:
        self.jar.clear()  # a new visitor
        code, _ = await self.get("/secret")
        self.expect(code == 403 and not self.jar, "anonymous /secret created a session")

    async def login_cycle(self) -> None:
        await self.get(f"/login?user=load{random.randrange(8)}")
        code, body = await self.get("/secret")
        self.expect((code, body) == (200, "The cake is a lie!"), "logged-in /secret")
        await self.get("/logout")
        code, _ = await self.get("/secret")
        self.expect(code == 403, "/secret after logout")

    async def flash_cycle(self) -> None:
        await self.get("/flash/set")
        _, body = await self.get("/flash/get")
        self.expect(body == "Hello iris", "flash read once")
        _, body = await self.get("/flash/get")
        self.expect(body == "Empty name!!", "flash gone")

    async def standalone_cycle(self) -> None:
        await self.get("/standalone/set")
        _, body = await self.get("/standalone/get")
        self.expect(body == "The name on the /set was: iris", "standalone value")
        await self.get("/standalone/destroy")

    async def run_until(self, deadline: float) -> None:
        scripts = [self.anonymous, self.login_cycle, self.flash_cycle, self.standalone_cycle]
        while time.monotonic() < deadline:
            await random.choice(scripts)()


async def drive(base_url: str, pid: int) -> tuple[Counter[str], list[int]]:
    outcomes: Counter[str] = Counter()
    client = AsyncHTTPClient(force_instance=True, max_clients=CONNECTIONS)
    deadline = time.monotonic() + DURATION
    visitors = [Visitor(client, base_url, outcomes) for _ in range(CONNECTIONS)]
    tasks = [asyncio.ensure_future(v.run_until(deadline)) for v in visitors]
    samples = []
    while not all(task.done() for task in tasks):
        await asyncio.sleep(DURATION / 8)
        samples.append(rss_bytes(pid))
    await asyncio.gather(*tasks)
    client.close()
    return outcomes, samples


@pytest.mark.load
def test_mixed_load_loses_nothing_and_memory_levels_off():
    with LiveApp("--logging=warning") as app:
        outcomes, rss = asyncio.run(drive(app.url, app.process.pid))
        code, output = app.stop()
    print(f"\nload: {dict(outcomes)}; server RSS MiB over time: {[r // 2**20 for r in rss]}")
    failures = {k: v for k, v in outcomes.items() if k not in ("ok", "ok session")}
    assert outcomes["ok"] > 1000, outcomes
    assert failures == {}, failures
    assert code == 0
    assert "Traceback" not in output
    # Memory: after the first quarter (warm-up), the last sample is within 10% + 8 MiB of the middle one.
    middle, last = rss[len(rss) // 2], rss[-1]
    assert last <= middle * 1.10 + 8 * 2**20, [r // 2**20 for r in rss]
