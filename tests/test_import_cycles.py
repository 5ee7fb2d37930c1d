"""No module of ``sessions/``, ``handlers/`` or ``app.py`` imports, even indirectly, a module that imports it back.

Every import statement counts, wherever it sits: at the top, inside a function,
or behind ``if TYPE_CHECKING:`` (a cycle a type checker needs is still a cycle
a reader has to untangle). The ``sessions`` package's ``__init__`` is left out:
it gathers the public names of every module, and a module's ``from .x import y``
runs it first by Python's rules, not by the module's choice.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The package whose ``__init__`` only gathers names: importing from it is not counted as importing it.
GATHERING_PACKAGE = "sessions"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    paths = [*sorted((ROOT / "sessions").rglob("*.py")), *sorted((ROOT / "handlers").rglob("*.py")), ROOT / "app.py"]
    return {_module_name(path): path for path in paths}


def _imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The ``known`` modules that ``path`` (module ``name``) imports, anywhere in its text."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source = ".".join(part for part in (base, node.module or "") if part)
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)  # ``from . import values``
    return {module for module in found if module in known and module != GATHERING_PACKAGE}


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imported(name, path, known) for name, path in known.items() if name != GATHERING_PACKAGE}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as the list of modules around it, or ``None``."""
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> list[str] | None:
        if module in trail:
            return [*trail[trail.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported, [*trail, module])
            if cycle is not None:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle is not None:
            return cycle
    return None


def test_the_walk_sees_the_imports_it_must():
    graph = _graph()
    assert "sessions.manager" in graph["sessions.mixin"]  # from .manager import SessionManager
    assert "sessions.values" in graph["sessions.session"]  # from . import conversions, values
    assert "sessions.stores.base" in graph["sessions.stores.memory"]  # from .base import SessionStore
    assert "sessions.record" in graph["sessions.stores.memory"]  # from ..record import ...
    assert "handlers.flash" in graph["handlers.tutorial.pages"]  # from .. import flash
    assert "handlers.tutorial.last_action" in graph["handlers.tutorial.inspector"]  # from .last_action import ...
    assert "handlers.tutorial.inspector" in graph["app"]  # from handlers.tutorial.inspector import ...
    assert "sessions.stores.redis" in graph["app"]  # from sessions.stores.redis import RedisStore


def test_the_walk_counts_an_import_behind_type_checking_or_inside_a_function(tmp_path):
    module = tmp_path / "a.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .b import B\n"
        "def later():\n    from .c import C\n"
    )
    known = {name: tmp_path / f"{name.rpartition('.')[2]}.py" for name in ("pkg.a", "pkg.b", "pkg.c")}
    assert _imported("pkg.a", module, known) == {"pkg.b", "pkg.c"}


def test_the_walk_finds_a_cycle_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_sessions_handlers_or_the_app():
    assert _cycle(_graph()) is None


def test_the_configuration_imports_no_store():
    """Only the stores' interface: the default store is the manager's choice, so a type from config loads no store."""
    stores = {module for module in _graph()["sessions.config"] if module.startswith("sessions.stores.")}
    assert stores <= {"sessions.stores.base"}
