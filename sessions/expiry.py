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
    idle, absolute = config.idle_timeout, config.absolute_timeout
    ends = [
        meta.deadline,
        None if idle is None else meta.touched + idle.total_seconds(),
        None if absolute is None else meta.created + absolute.total_seconds(),
    ]
    known = [end for end in ends if end is not None]
    return min(known) if known else None


def touched(config: Config, meta: Meta, now: float) -> None:
    """Record activity at ``now`` in ``meta``: the idle clock restarts, ``expires_at`` follows."""
    meta.touched = now
    meta.expires_at = expires_at(config, meta)


def is_expired(config: Config, meta: Meta) -> bool:
    end = expires_at(config, meta)
    return end is not None and config.clock() >= end


def touch_due(config: Config, meta: Meta) -> bool:
    """Tell whether an unchanged session should be written back so its idle clock restarts."""
    idle = config.idle_timeout
    if idle is None:
        return False
    return config.clock() - meta.touched >= idle.total_seconds() * TOUCH_FRACTION


def cookie_max_age(config: Config, meta: Meta, now: float) -> int | None:
    """Seconds the cookie may live: never past the server-side deadline or absolute end."""
    if meta.deadline is None:
        return None
    end = meta.deadline
    if config.absolute_timeout is not None:
        end = min(end, meta.created + config.absolute_timeout.total_seconds())
    return max(0, round(end - now))
