"""The one bounded map: behind the memory store, the Redis near-cache and the encrypted cookie codec."""

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


def test_weighed_entries_keep_their_total_within_the_bound_and_each_eviction_is_told():
    evicted: list[tuple[str, str]] = []
    memo: BoundedMemo[str, str] = BoundedMemo(10, on_evict=lambda key, text: evicted.append((key, text)))
    memo.put("a", "A", 4)
    memo.put("b", "B", 4)
    memo.put("c", "C", 2)
    assert (memo.weight, evicted) == (10, [])
    memo.put("d", "D", 7)  # 7 more: "a" and "b" go, oldest first
    assert (list(memo), memo.weight, evicted) == (["c", "d"], 9, [("a", "A"), ("b", "B")])
    assert (memo.weight_of("c"), memo.weight_of("d")) == (2, 7)
    memo.move_to_end("c")  # used: now the last to go
    memo["e"] = "E"  # weighs 1
    memo.put("f", "F", 2)
    assert (list(memo), memo.weight, evicted[2:]) == (["c", "e", "f"], 5, [("d", "D")])
    assert memo.pop("e") == "E"
    assert memo.pop("missing", None) is None
    with pytest.raises(KeyError):
        memo.pop("missing")
    del memo["f"]
    assert (dict(memo), memo.weight, len(evicted)) == ({"c": "C"}, 2, 3)  # deleting is not evicting
    memo.clear()
    assert (dict(memo), memo.weight) == ({}, 0)


def test_a_replaced_entry_that_grows_pushes_out_others_never_itself():
    memo: BoundedMemo[str, str] = BoundedMemo(6)
    memo.put("a", "A", 2)
    memo.put("b", "B", 2)
    memo.put("a", "AA", 5)  # "a" is first in order, yet "b" goes
    assert (dict(memo), memo.weight, memo.weight_of("a")) == ({"a": "AA"}, 5, 5)
    with pytest.raises(ValueError, match="cannot fit"):
        memo.put("big", "X", 7)
    assert (dict(memo), memo.weight) == ({"a": "AA"}, 5)
