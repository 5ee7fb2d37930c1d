"""The code behind a step page's buttons, read from its module when the page is served.

The page shows each step handler's class as Python source, taken with
``inspect.getsource`` from the module that runs it (never a copy that could
drift from it), and highlighted by Pygments. Highlighting a class costs a few
milliseconds, so each class is highlighted once per process: the module cannot
change under a running process.
"""

from __future__ import annotations

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


#: Each class's listing, made on the first page that shows it.
_highlighted: dict[type, SourceBlock] = {}


def handler_source(handler: type) -> SourceBlock:
    """The class ``handler`` as written in its module, highlighted."""
    if handler not in _highlighted:
        lines, first = inspect.getsourcelines(handler)
        path = Path(inspect.getfile(handler)).resolve()
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}, line {first}"
        html = highlight("".join(lines), PythonLexer(), FORMATTER)
        _highlighted[handler] = SourceBlock(handler.__name__, anchor(handler), where, html)
    return _highlighted[handler]
