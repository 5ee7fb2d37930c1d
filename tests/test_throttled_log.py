"""The rate-limited WARNING both bounded stores log their evictions with."""

from __future__ import annotations

import logging

from sessions.throttled_log import ThrottledWarning


def test_a_line_at_most_once_per_interval_carrying_every_event_since_the_last(caplog):
    now = [1000.0]
    logger = logging.getLogger("tests.throttled")
    warning = ThrottledWarning(logger, "%s is full: %d evicted", 60.0, lambda: now[0])
    caplog.set_level(logging.WARNING, logger="tests.throttled")
    lines = lambda: [r.getMessage() for r in caplog.records if r.name == "tests.throttled"]  # noqa: E731

    warning.count(2, "store")
    assert lines() == ["store is full: 2 evicted"]  # the first event is told at once
    for _ in range(5):
        now[0] += 10
        warning.count(3, "store")
    assert len(lines()) == 1  # 50 s later: still quiet
    now[0] += 10
    warning.count(1, "store")
    assert lines()[1:] == ["store is full: 16 evicted"]  # 60 s on: every event since the first line
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "tests.throttled")
