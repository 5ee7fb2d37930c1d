"""The memory store's bound, against a real ``python app.py --memory-limit=...`` over real HTTP.

A flood of cookieless requests, each making a 60 KB session, must not log out a
user who keeps clicking, must not answer 5xx, and must not grow the process's
memory beyond its bound; the evictions show up as a WARNING with a count.
"""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.live_app import ROOT, LiveApp, free_port

#: The value of every flooding request: the session it makes is about 61 KB, under the 64 KiB cap per session.
BIG_VALUE = "x" * 60_000
CONCURRENCY = 20
SECRET = "The cake is a lie!"


def get(url: str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str]:
    """Status and body, a 4xx or 5xx included (urllib raises for those)."""
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def flood(app: LiveApp, count: int) -> list[int]:
    """``count`` cookieless ``GET /database/set/k/<60 KB>``, ``CONCURRENCY`` at a time; their statuses."""
    url = f"{app.url}/database/set/k/{BIG_VALUE}"
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return [status for status, _ in pool.map(lambda _: get(url), range(count))]


def logged_in_user(app: LiveApp) -> urllib.request.OpenerDirector:
    user = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    assert get(app.url + "/login", user)[0] == 200
    assert get(app.url + "/secret", user) == (200, SECRET)
    return user


def rss_bytes(app: LiveApp) -> int:
    status = Path(f"/proc/{app.process.pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
    assert found is not None, status
    return int(found[1]) * 1024


def test_a_user_who_keeps_clicking_stays_logged_in_through_a_flood_far_beyond_the_bound():
    with LiveApp("--memory-limit=2MB") as app:  # room for about 33 of the flood's sessions
        user = logged_in_user(app)
        first_flooder = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        assert get(f"{app.url}/database/set/k/{BIG_VALUE}", first_flooder)[0] == 200
        statuses = []
        for _ in range(20):  # 400 sessions of 61 KB: 12 times the bound
            statuses += flood(app, CONCURRENCY)
            assert get(app.url + "/secret", user) == (200, SECRET), "the active user was logged out"
        assert set(statuses) == {200}
        assert get(app.url + "/database/get/k", first_flooder) == (200, "The 'k' on the /set was: None")
        evictions = r"memory store full .*: least recently used sessions evicted since the last warning: \d+"
        assert re.search(evictions, app.output())
    assert "Traceback" not in app.output()


def test_the_memory_of_the_app_stays_near_its_bound_under_a_flood():
    limit = 16 * 1024 * 1024
    with LiveApp(f"--memory-limit={limit}") as app:
        assert flood(app, CONCURRENCY) == [200] * CONCURRENCY  # the first of everything allocated before measuring
        before = rss_bytes(app)
        statuses = flood(app, 1_500)  # 1,500 sessions of 61 KB: about 90 MB, 5.5 times the bound
        growth = rss_bytes(app) - before
        print(f"RSS {before / 2**20:.1f} MiB before the flood, grew by {growth / 2**20:.1f} MiB (bound 16 MiB)")
        assert set(statuses) == {200}
        assert growth < 2 * limit, f"RSS grew by {growth / 2**20:.1f} MiB with a bound of 16 MiB"


def test_a_session_bigger_than_the_whole_bound_is_refused_with_413_and_the_others_stay():
    with LiveApp("--memory-limit=32KB") as app:
        user = logged_in_user(app)
        status, body = get(f"{app.url}/database/set/k/{BIG_VALUE}")
        assert status == 413, body
        assert body.startswith("Payload Too Large: session in the memory store is "), body
        assert body.endswith("bytes, over the limit of 32768 bytes"), body
        assert get(app.url + "/secret", user) == (200, SECRET)


@pytest.mark.parametrize("value", ["lots", "0", "1.5GB", "-64MB"])
def test_a_bad_memory_limit_stops_the_app_with_one_clear_line(value):
    run = subprocess.run(
        [sys.executable, "app.py", f"--memory-limit={value}", f"--port={free_port()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 1
    assert run.stderr.strip() == (
        f"--memory-limit: expected a size above zero like 64MB, 512KB, 1GB or a number of bytes, not {value!r}"
    )
