"""A WARNING that a flood would repeat on every request, logged at most once per interval.

A store at its bound evicts on every new session while a flood lasts, and a
server at its connection cap turns connections away on every accept: one line a
minute with how many went says as much as thousands of lines, and keeps the log
readable (and its disk from filling) while it lasts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable


class ThrottledWarning:
    """Counts events and logs ``message`` at WARNING at most once per ``interval`` seconds, with the count."""

    def __init__(self, logger: logging.Logger, message: str, interval: float, clock: Callable[[], float]) -> None:
        """``message`` is a logging format whose last ``%d`` is the number of events since the last line."""
        self._logger = logger
        self._message = message
        self._interval = interval
        self._clock = clock
        self._unreported = 0
        self._next_line = -math.inf

    def count(self, events: int, *args: object) -> None:
        """Add ``events``; log them (``args`` fill the message before the count) unless a line went out lately."""
        self._unreported += events
        now = self._clock()
        if now < self._next_line:
            return
        self._logger.warning(self._message, *args, self._unreported)
        self._unreported = 0
        self._next_line = now + self._interval
