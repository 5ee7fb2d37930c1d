"""A bounded map: what was worked out once, kept for next time, up to a number of entries.

A browser sends the same cookie value on every request until the cookie
changes, so what a value opened as (decryption, parsing) can be kept and
looked up instead of being worked out again; the Redis store remembers which
foreign keys it warned about. The keepers (``crypto``, the cookie-only store,
the Redis store) decide what may go in and re-check whatever depends on time
on every hit; this module only keeps the map bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(OrderedDict[K, V]):
    """At most ``max_entries`` entries; the first in order goes when a new one comes.

    The order is insertion order (replacing a value does not renew it), so a
    hit is the mapping's own ``get`` and nothing else, and a busy value evicted
    early is simply worked out again and put back. A keeper that wants least
    recently used order instead calls ``move_to_end(key)`` on each hit.
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        super().__init__()
        self.max_entries = max_entries

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        if len(self) > self.max_entries:
            self.popitem(last=False)
