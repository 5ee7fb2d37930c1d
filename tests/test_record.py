"""Record metadata copies: every field is carried over, and the copy is independent."""

from __future__ import annotations

import dataclasses
from typing import Any

from sessions.record import Meta


def test_meta_copy_carries_every_field_and_is_a_new_object():
    # A distinct value per field, so a field the copy forgot (or swapped) shows up.
    values: dict[str, Any] = {field.name: f"value-{index}" for index, field in enumerate(dataclasses.fields(Meta))}
    meta = Meta(**values)

    copied = meta.copy()

    assert dataclasses.asdict(copied) == values
    assert copied is not meta
    copied.touched = -1.0
    assert meta.touched == values["touched"]
