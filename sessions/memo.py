"""The one bounded map: entries kept up to a bound, the first in order going first.

A browser sends the same cookie value on every request until the cookie
changes, so what an encrypted value opened as can be kept and looked up
instead of being decrypted again; the Redis store remembers which
foreign keys it warned about; the memory store holds its records here, bounded
by their bytes, and the Redis near-cache the records it read. The keepers
decide what may go in, how much each entry weighs and what else must forget an
evicted entry; this module only keeps the map bounded and in order.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_NO_DEFAULT = object()


class BoundedMemo(MutableMapping[K, V]):
    """Entries whose weights add up to ``bound`` at most; at the bound, the first in order goes.

    An entry weighs what ``put`` was told (1 when set with ``memo[key] = value``),
    kept with it, so it is never measured again. The order is insertion order
    (replacing a value does not renew it), so a hit is one ``get`` and nothing
    else, and a busy value evicted early is simply worked out again and put back.
    A keeper that wants least recently used order calls ``move_to_end(key)`` on
    each hit. ``on_evict(key, value)`` hears of each entry evicted to make room
    (not of those deleted): a store drops it from its indexes and logs it.
    """

    def __init__(self, bound: int, *, on_evict: Callable[[K, V], object] | None = None) -> None:
        if bound < 1:
            raise ValueError(f"the bound must be at least 1, not {bound}")
        self.bound = bound
        #: The weights of every entry held, added up: never above ``bound``.
        self.weight = 0
        self._on_evict = on_evict
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._weights: dict[K, int] = {}

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
        self.put(key, value, 1)

    def put(self, key: K, value: V, weight: int) -> None:
        """Hold ``value`` under ``key``, weighing ``weight``; evict from the front (never ``key``) to fit the bound."""
        if weight > self.bound:
            raise ValueError(f"an entry weighing {weight} cannot fit a bound of {self.bound}")
        entries = self._entries
        self.weight += weight - self._weights.get(key, 0)
        entries[key] = value
        self._weights[key] = weight
        while self.weight > self.bound:
            evicted = next(other for other in entries if other != key)
            gone = self.pop(evicted)
            if self._on_evict is not None:
                self._on_evict(evicted, gone)

    def weight_of(self, key: K) -> int:
        """What ``key``'s entry weighs (``KeyError`` when none is held)."""
        return self._weights[key]

    def __delitem__(self, key: K) -> None:
        del self._entries[key]
        self.weight -= self._weights.pop(key)

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, /, default: V | T) -> V | T: ...
    def pop(self, key: K, /, default: object = _NO_DEFAULT) -> object:
        """The dict's own ``pop``: ``MutableMapping.pop`` would raise and catch a ``KeyError`` on every miss."""
        weight = self._weights.pop(key, None)
        if weight is None:
            if default is _NO_DEFAULT:
                raise KeyError(key)
            return default
        self.weight -= weight
        return self._entries.pop(key)

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry at once (``MutableMapping.clear`` would pop them one by one)."""
        self._entries.clear()
        self._weights.clear()
        self.weight = 0

    def move_to_end(self, key: K) -> None:
        """Make ``key`` the last to go."""
        self._entries.move_to_end(key)
