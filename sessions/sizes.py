"""Byte sizes written the way people write them: ``64MB``, ``512KB``, ``1GB``, ``1048576``.

For options such as ``--memory-limit``. KB, MB and GB count in powers of 1024, as
memory is counted (KiB, MiB and GiB are accepted as the same); case and a space
before the unit do not matter. No fractions: ``1536MB``, not ``1.5GB``.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"\s*([0-9]+)\s*([KMG]i?B|B)?\s*", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def parse_size(text: str) -> int:
    """Return the bytes ``text`` names; raise ``ValueError`` saying what is accepted."""
    match = _SIZE.fullmatch(text)
    if match is None or int(match[1]) == 0:
        raise ValueError(f"expected a size above zero like 64MB, 512KB, 1GB or a number of bytes, not {text!r}")
    unit = (match[2] or "B").upper().replace("I", "")
    return int(match[1]) * _UNITS[unit]
