"""Every relative link in README.md and docs/*.md leads somewhere.

The README was split into a tutorial and reference pages that link to each
other: a renamed page or heading would otherwise leave a reader at a dead end.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.live_app import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A Markdown link or image outside code: [text](target) with no scheme.
_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def anchors(document: Path) -> set[str]:
    """The anchors GitHub makes for a document's headings: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#+ (.+)$", _FENCE.sub("", document.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def links(document: Path) -> list[str]:
    text = _CODE_SPAN.sub("", _FENCE.sub("", document.read_text()))
    return [m["target"] for m in _LINK.finditer(text) if not re.match(r"[a-z]+:", m["target"])]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(document: Path):
    dead = []
    for target in links(document):
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            dead.append(f"{target}: no file {linked.relative_to(ROOT)}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            dead.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert not dead, f"dead links in {document.relative_to(ROOT)}:\n" + "\n".join(dead)


def test_a_dead_link_is_found(tmp_path: Path):
    (tmp_path / "a.md").write_text("# Title\n[ok](#title) [gone](missing.md) [no heading](#nope)\n")
    assert links(tmp_path / "a.md") == ["#title", "missing.md", "#nope"]
    assert anchors(tmp_path / "a.md") == {"title"}


def test_ci_runs_the_readmes_test_command():
    """The README promises that its test command is what CI runs: a fresh clone passes with it."""
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    (test_command,) = [line for line in quick_start.splitlines() if line.endswith("-m pytest")]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_ci_runs_the_checks_before_the_tests():
    """ruff, ruff format and mypy run, each failing the run on a finding, before the README's test command."""
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    checks = [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"]
    tests_at = next(index for index, line in enumerate(ci_lines) if line.endswith("-m pytest"))
    assert all(check in ci_lines[:tests_at] for check in checks)
    assert "set -euo pipefail" in ci_lines
