"""The soak for a minute on Redis: two app processes, traffic, and every fault of its schedule; nothing lost.

``tools/soak.py`` starts its own ``redis-server`` and ``python app.py --processes=2``,
restarts and pauses Redis and kills an app process while twelve users log in and
out, write, read, increment and flash, then reads back everything acknowledged.
docs/security.md shows the figures of ten-minute runs on each store.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.live_app import ROOT


def figure(report: str, label: str) -> int:
    return int(re.search(rf"^{re.escape(label)}:? (\d+)", report, re.M)[1])  # type: ignore[index]


def test_a_minute_of_traffic_through_redis_restarts_pauses_and_a_killed_process_loses_nothing():
    run = subprocess.run(
        [sys.executable, "tools/soak.py", "--minutes=1", "--store=redis"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = run.stdout
    assert run.returncode == 0, report + run.stderr
    assert "faults: kill-process x1, restart-redis x1, pause-redis x1" in report
    assert figure(report, "requests sent") > 1000
    assert figure(report, "failures outside a fault window") == 0
    assert figure(report, "writes acknowledged") > 100
    assert "then missing: 0" in report
    assert re.search(r"increments acknowledged: [1-9]\d*, lost: 0 ", report)
    assert figure(report, "pages still open after a logout") == 0
    assert figure(report, "flashes lost") == 0
    assert "app exit status: 0; tracebacks in its log: 0" in report
