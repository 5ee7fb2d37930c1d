"""Stop and start the app while visitors keep using it: no session is lost (SQLite, Redis).

Requests sent while the process is down fail to connect, as they would in
production without a second process; what matters is what the visitors see
once it is back: every login and every value that was acknowledged is still
there.
"""

from __future__ import annotations

import asyncio
import signal

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from tests.support.cookie_client import CookieClient, text
from tests.support.live_app import LiveApp

VISITORS = 16


async def keep_busy(browser: CookieClient, number: int, acknowledged: list[str], stop: asyncio.Event) -> None:
    """Log in once, then write and read values until told to stop; note each acknowledged write."""
    while (await browser.get("/login")).code != 200:
        await asyncio.sleep(0.05)
    step = 0
    while not stop.is_set():
        step += 1
        try:
            response = await browser.get(f"/database/set/v{step}/{number}-{step}")
            if response.code == 200:
                acknowledged.append(f"v{step}")
            await browser.get("/secret")
        except (OSError, HTTPClientError):  # the app is restarting: refused, or closed mid-request
            pass
        await asyncio.sleep(0.01)


@pytest.mark.gen_test(timeout=90)
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_no_session_is_lost_across_a_restart_under_traffic(kind, tmp_path, request):
    if kind == "sqlite":
        options = ["--store=sqlite", f"--sqlite-path={tmp_path / 'sessions.sqlite3'}"]
    else:
        options = ["--store=redis", f"--redis-url={request.getfixturevalue('redis_url')}"]
    http = AsyncHTTPClient(force_instance=True, max_clients=VISITORS)
    app = LiveApp(*options)
    browsers = [CookieClient(http, app.url) for _ in range(VISITORS)]
    acknowledged: list[list[str]] = [[] for _ in browsers]
    stop = asyncio.Event()
    try:
        traffic = [asyncio.ensure_future(keep_busy(b, n, acknowledged[n], stop)) for n, b in enumerate(browsers)]
        await asyncio.sleep(1.5)
        code, _ = app.stop(signal.SIGTERM)  # mid-traffic
        assert code == 0
        app = LiveApp(*options, port=app.port)  # the same address, a new process
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.gather(*traffic)

        for number, browser in enumerate(browsers):
            assert text(await browser.get("/secret")) == "The cake is a lie!", number
            for key in acknowledged[number]:
                step = key[1:]
                expected = f"The '{key}' on the /set was: {number}-{step}"
                assert text(await browser.get(f"/database/get/{key}")) == expected
        assert sum(map(len, acknowledged)) > VISITORS * 10  # traffic really flowed on both sides
    finally:
        stop.set()
        http.close()
        app.stop()
