"""The README's Python blocks are the step modules' code: a block that drifts from its module fails here.

A ```python block after ``<!-- code: handlers/overview.py Secret Login -->`` must
be exactly those classes' source (``inspect.getsource``, one blank line between
them), as the step page shows it; after ``<!-- code: app.py lines -->`` every
line of the block must be a line of that file, in the file's order.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from tests.support.live_app import ROOT

README = (ROOT / "README.md").read_text()
_BLOCK = re.compile(r"^<!-- code: (?P<path>\S+) (?P<names>[^>]+?) -->\n```python\n(?P<code>.*?)^```$", re.M | re.S)
BLOCKS = [(m["path"], m["names"].split(), m["code"]) for m in _BLOCK.finditer(README)]
#: The steps whose handlers the README shows (the securecookie step runs step 2's handlers).
STEPS_WITH_HANDLERS = {"overview", "standalone", "flash", "database"}


def module_source(path: str, names: list[str]) -> str:
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return "\n\n".join(inspect.getsource(getattr(module, name)) for name in names)


@pytest.mark.parametrize(("path", "names", "code"), BLOCKS, ids=[f"{p} {' '.join(n)}" for p, n, _ in BLOCKS])
def test_a_readme_code_block_is_the_modules_code(path: str, names: list[str], code: str):
    if names == ["lines"]:
        lines = (ROOT / path).read_text().splitlines()
        position = 0
        for line in code.splitlines():
            assert line in lines[position:], f"README's {line!r} is not (or not in this order) in {path}"
            position = lines.index(line, position) + 1
        return
    assert code == module_source(path, names), f"README's block of {path} {' '.join(names)} differs from the module"


def test_every_step_with_handlers_shows_them():
    sections = dict(zip(*[iter(re.split(r"^<!-- step: ([\w-]+) -->\s*$", README, flags=re.M)[1:])] * 2, strict=True))
    for step in STEPS_WITH_HANDLERS:
        assert "<!-- code: handlers/" in sections[step], f"the README's {step} step shows no handler code"


def test_a_changed_handler_fails_the_comparison():
    """The comparison sees a one-character change (so a passing test means equal, not merely similar)."""
    path, names, code = next(block for block in BLOCKS if block[1] != ["lines"])
    assert code.replace("self", "me", 1) != module_source(path, names)
