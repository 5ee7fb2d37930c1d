"""A time and a flash's key as a learner reads them, the same in the inspector and the last-action report."""

from __future__ import annotations

from datetime import UTC, datetime

from sessions.flashes import MESSAGE_MARK


def describe_time(moment: float | None, now: float) -> str:
    """A UTC timestamp with how far it is from now, e.g. ``2026-01-01 10:00:00 UTC (in 30 min)``."""
    if moment is None:
        return "none"
    stamp = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    seconds = round(moment - now)
    # Whole minutes to the nearest: a 2-hour session read a second after its save is "in 120 min", not 119.
    span = f"{round(abs(seconds) / 60)} min" if abs(seconds) >= 60 else f"{abs(seconds)} s"
    return f"{stamp} (in {span})" if seconds > 0 else f"{stamp} ({span} ago)" if seconds < 0 else f"{stamp} (now)"


def flash_label(key: str) -> str:
    """A flash's key as a learner knows it: a ``flash()`` message's internal ordering key is not shown."""
    return "a flash() message" if key.startswith(MESSAGE_MARK) else key
