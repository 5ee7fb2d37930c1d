"""The code behind a step page's buttons, read from its module when the page is served.

The page shows each step handler's class as Python source, taken with
``inspect.getsource`` from the module that runs it (never a copy that could
drift from it), and highlighted by Pygments. Highlighting a class costs a few
milliseconds, so each class is highlighted once per process: the module cannot
change under a running process.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

#: The checkout's root: the listing names ``handlers/overview.py``, as the reader finds it.
ROOT = Path(__file__).resolve().parents[2]
#: Inline colours (no stylesheet to keep in step with Pygments), on the page's own code background.
FORMATTER = HtmlFormatter(noclasses=True, style="friendly", nobackground=True)


@dataclass(frozen=True)
class SourceBlock:
    """One handler class as the page shows it: its anchor, where it lives, and its highlighted source."""

    name: str
    anchor: str
    where: str
    html: str


def anchor(handler: type) -> str:
    """The page's ``id`` of a handler's listing; the click report links to it."""
    return f"code-{handler.__name__}"


@functools.cache
def handler_source(handler: type) -> SourceBlock:
    """The class ``handler`` as written in its module, highlighted."""
    lines, first = inspect.getsourcelines(handler)
    path = Path(inspect.getfile(handler)).resolve()
    where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}, line {first}"
    return SourceBlock(handler.__name__, anchor(handler), where, highlight("".join(lines), PythonLexer(), FORMATTER))
