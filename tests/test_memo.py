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


def test_weighed_entries_keep_their_total_within_the_bound_and_evictions_are_counted():
    evictions: list[int] = []
    memo: BoundedMemo[str, str] = BoundedMemo(10, weigh=lambda key, text: len(text), on_evict=evictions.append)
    memo["a"], memo["b"], memo["c"] = "xxxx", "xxxx", "xx"
    assert (memo.weight, evictions) == (10, [])
    memo["d"] = "xxxxxxx"  # 7 more: "a" and "b" go, oldest first
    assert (list(memo), memo.weight, evictions) == (["c", "d"], 9, [2])
    memo.move_to_end("c")  # used: now the last to go
    memo["e"] = "x"
    memo["f"] = "xx"
    assert (list(memo), memo.weight, evictions) == (["c", "e", "f"], 5, [2, 1])
    assert memo.pop("e") == "x"
    assert memo.pop("missing", None) is None
    del memo["f"]
    assert (dict(memo), memo.weight) == ({"c": "xx"}, 2)


def test_a_replaced_entry_that_grows_pushes_out_others_never_itself():
    memo: BoundedMemo[str, str] = BoundedMemo(6, weigh=lambda key, text: len(text))
    memo["a"], memo["b"] = "xx", "xx"
    memo["a"] = "xxxxx"  # "a" is first in order, yet "b" goes
    assert (dict(memo), memo.weight) == ({"a": "xxxxx"}, 5)
    with pytest.raises(ValueError, match="cannot fit"):
        memo["big"] = "x" * 7
    assert dict(memo) == {"a": "xxxxx"}
