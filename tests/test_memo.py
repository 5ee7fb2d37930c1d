"""The bounded memo behind the codec's and the cookie store's memos."""

from __future__ import annotations

import pytest

from sessions.memo import BoundedMemo


def test_the_oldest_entry_goes_first_and_the_bound_holds_however_it_is_filled():
    memo: BoundedMemo[str, int] = BoundedMemo(3)
    for n in range(10):
        memo[f"k{n}"] = n
    assert list(memo.items()) == [("k7", 7), ("k8", 8), ("k9", 9)]
    memo.update({"a": 1, "b": 2})
    memo.setdefault("c", 3)
    assert list(memo.items()) == [("a", 1), ("b", 2), ("c", 3)]


def test_a_replaced_key_keeps_one_entry():
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo["a"], memo["b"], memo["a"] = 1, 2, 3
    assert dict(memo) == {"a": 3, "b": 2}
    memo["c"] = 4
    assert dict(memo) == {"b": 2, "c": 4}  # "a" was the oldest: replacing a value does not renew it


@pytest.mark.parametrize("bound", [0, -1])
def test_a_memo_holds_at_least_one_entry(bound):
    with pytest.raises(ValueError, match="at least 1"):
        BoundedMemo(bound)
