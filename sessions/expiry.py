"""The expiry rules: when a session ends on the server, and how long its cookie may live.

Three clocks end a session, whichever comes first: Iris's ``expires`` (a deadline
that ``update_expiration()`` moves), the idle timeout (from the last save) and
the absolute timeout (from creation, never extended). Functions of a ``Config``,
so the manager and the cookie size limit apply the same rules.
"""

from __future__ import annotations

from .config import Config
from .record import Meta

#: An idle session is written back (touched) once this share of its idle timeout has passed.
TOUCH_FRACTION = 0.1


def expires_at(config: Config, meta: Meta) -> float | None:
    """When the server forgets the session: the earliest of its three clocks."""
    end = meta.deadline
    if config.idle_seconds is not None:
        end = _earliest(end, meta.touched + config.idle_seconds)
    if config.absolute_seconds is not None:
        end = _earliest(end, meta.created + config.absolute_seconds)
    return end


def _earliest(end: float | None, other: float) -> float:
    return other if end is None or other < end else end


def touched(config: Config, meta: Meta, now: float) -> None:
    """Record activity at ``now`` in ``meta``: the idle clock restarts, ``expires_at`` follows."""
    meta.touched = now
    meta.expires_at = expires_at(config, meta)


def is_expired(config: Config, meta: Meta) -> bool:
    end = expires_at(config, meta)
    return end is not None and config.clock() >= end


def touch_due(config: Config, meta: Meta) -> bool:
    """Tell whether an unchanged session should be written back so its idle clock restarts."""
    idle = config.idle_seconds
    if idle is None:
        return False
    return config.clock() - meta.touched >= idle * TOUCH_FRACTION


def cookie_max_age(config: Config, meta: Meta, now: float) -> int | None:
    """Seconds the cookie may live: never past the server-side deadline or absolute end."""
    if meta.deadline is None:
        return None
    end = meta.deadline
    if config.absolute_seconds is not None:
        end = min(end, meta.created + config.absolute_seconds)
    return max(0, round(end - now))
