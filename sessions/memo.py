"""The one bounded map: what was worked out once, kept for next time, up to a bound.

A browser sends the same cookie value on every request until the cookie
changes, so what a value opened as (decryption, parsing) can be kept and
looked up instead of being worked out again; the Redis store remembers which
foreign keys it warned about. The keepers decide what may go in and re-check
whatever depends on time on every hit; this module only keeps the map bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def _one(key: object, value: object) -> int:
    return 1


class BoundedMemo(MutableMapping[K, V]):
    """Entries whose weights add up to ``bound`` at most; at the bound, the first in order goes.

    Each entry weighs 1 unless ``weigh(key, value)`` says otherwise (a cache of
    texts may weigh each by its length). The order is insertion order
    (replacing a value does not renew it), so a hit is one ``get`` and nothing
    else, and a busy value evicted early is simply worked out again and put back.
    A keeper that wants least recently used order calls ``move_to_end(key)`` on
    each hit. ``on_evict(count)`` hears of every eviction (a full store logs it).
    """

    def __init__(
        self,
        bound: int,
        *,
        weigh: Callable[[K, V], int] = _one,
        on_evict: Callable[[int], object] | None = None,
    ) -> None:
        if bound < 1:
            raise ValueError(f"the bound must be at least 1, not {bound}")
        self.bound = bound
        #: The weights of every entry held, added up: never above ``bound``.
        self.weight = 0
        self._weigh = weigh
        self._on_evict = on_evict
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __getitem__(self, key: K) -> V:
        return self._entries[key]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, /, default: V | T) -> V | T: ...
    def get(self, key: K, /, default: object = None) -> object:
        """The dict's own ``get``: ``Mapping.get`` would raise and catch a ``KeyError`` on every miss."""
        return self._entries.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __setitem__(self, key: K, value: V) -> None:
        """Hold ``value`` under ``key``, then evict from the front (never ``key`` itself) until the bound holds."""
        weight = self._weigh(key, value)
        if weight > self.bound:
            raise ValueError(f"an entry weighing {weight} cannot fit a bound of {self.bound}")
        entries = self._entries
        if key in entries:
            self.weight -= self._weigh(key, entries[key])
        entries[key] = value
        self.weight += weight
        evicted = 0
        while self.weight > self.bound:
            del self[next(other for other in entries if other != key)]
            evicted += 1
        if evicted and self._on_evict is not None:
            self._on_evict(evicted)

    def __delitem__(self, key: K) -> None:
        self.weight -= self._weigh(key, self._entries.pop(key))

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def move_to_end(self, key: K) -> None:
        """Make ``key`` the last to go."""
        self._entries.move_to_end(key)
