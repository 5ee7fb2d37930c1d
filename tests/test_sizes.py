"""``parse_size``: the sizes ``--memory-limit`` accepts."""

from __future__ import annotations

import pytest

from sessions.sizes import parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64MB", 64 * 2**20),
        ("512KB", 512 * 2**10),
        ("1GB", 2**30),
        ("1048576", 2**20),
        ("100B", 100),
        ("16mb", 16 * 2**20),
        ("2 MiB", 2 * 2**20),
        ("1gib", 2**30),
    ],
)
def test_sizes_count_in_powers_of_1024(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "0", "0MB", "-1", "1.5GB", "64 M", "64TB", "٦٤MB", "64MB64"])
def test_anything_else_is_refused_with_what_is_accepted(text):
    with pytest.raises(ValueError, match="like 64MB, 512KB, 1GB or a number of bytes"):
        parse_size(text)
