"""requirements.txt pins exactly what pyproject.toml asks for, so the set-up installs what was tested.

requirements.txt is compiled from requirements.in (this checkout with its extras) by uv's
``uv pip compile`` (docs/contributing.md has the command). These tests check the promise
itself without the network: every requirement pyproject.toml states is met by a pin, and
every pin is a package those requirements reach (read from the metadata of the installed
packages, which must be the pinned ones). Compiling again and comparing would need a
package index, and would fail as soon as anything upstream released a version, though
nothing here changed.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tests.support.live_app import ROOT

#: The packages this project is built on, pinned by name where a reader looks for them.
FOUNDATIONS = ["tornado", "cryptography", "pytest-tornado"]


def pins() -> dict[NormalizedName, Requirement]:
    """requirements.txt's pins by package name, each with its marker (``None`` if it applies everywhere)."""
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "-e .":
            continue
        requirement = Requirement(line)
        pinned[canonicalize_name(requirement.name)] = requirement
    return pinned


def applies(requirement: Requirement, extra: str = "") -> bool:
    # evaluate() reads this interpreter's environment, with the extra added
    return requirement.marker is None or requirement.marker.evaluate({"extra": extra})


def pinned_version(requirement: Requirement) -> Version:
    (clause,) = requirement.specifier
    return Version(clause.version)


def project_requirements() -> list[Requirement]:
    """What pyproject.toml requires, with the extras requirements.in installs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (editable,) = [line for line in (ROOT / "requirements.in").read_text().splitlines() if line.startswith("-e ")]
    found = re.fullmatch(r"-e \.\[([\w,]+)\]", editable)
    assert found is not None, editable
    extras = found[1].split(",")
    listed = project["dependencies"] + [text for extra in extras for text in project["optional-dependencies"][extra]]
    return [Requirement(text) for text in listed]


def reachable(roots: list[Requirement]) -> set[NormalizedName]:
    """Every package ``roots`` need here, following the installed packages' own requirements (and extras)."""
    found: set[NormalizedName] = set()
    done: set[tuple[NormalizedName, str]] = set()
    todo = [root for root in roots if applies(root)]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        found.add(name)
        for extra in ["", *requirement.extras]:
            if (name, extra) in done:
                continue
            done.add((name, extra))
            try:
                requires = metadata.requires(name) or []
            except metadata.PackageNotFoundError:
                requires = []  # not installed: reported as needed but not pinned
            for text in requires:
                needed = Requirement(text)
                if applies(needed, extra):
                    todo.append(needed)
    return found


def test_every_line_is_an_exact_pin_or_this_checkout():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line and line[0] not in "# "]
    assert "-e ." in lines  # the package itself, editable: `import sessions` works from the tests
    for line in lines:
        assert line == "-e ." or re.fullmatch(r"[A-Za-z0-9._-]+==[^\s;]+( ; .+)?", line), line


def test_the_packages_the_project_is_built_on_are_named():
    assert set(FOUNDATIONS) <= set(pins())


def unmet(requirements: list[Requirement], pinned: dict[NormalizedName, Requirement]) -> list[str]:
    """The requirements no pin satisfies."""
    missing = []
    for requirement in requirements:
        pin = pinned.get(canonicalize_name(requirement.name))
        if pin is None or not requirement.specifier.contains(pinned_version(pin), prereleases=True):
            missing.append(f"{requirement} (pinned: {pin})")
    return missing


def test_every_requirement_of_pyproject_is_met_by_a_pin():
    missing = unmet(project_requirements(), pins())
    assert not missing, "pyproject.toml asks for what requirements.txt does not pin; compile it again:\n" + "\n".join(
        missing
    )


def test_every_pin_is_needed_by_pyproject_and_installed_as_pinned():
    here = {name: pin for name, pin in pins().items() if applies(pin)}  # the others are for another platform
    stale = [
        f"{name}: installed {metadata.version(name)}, pinned {pinned_version(pin)}"
        for name, pin in here.items()
        if Version(metadata.version(name)) != pinned_version(pin)
    ]
    assert not stale, "run `pip install -r requirements.txt` first:\n" + "\n".join(stale)

    needed = reachable(project_requirements())
    assert sorted(set(here) - needed) == [], "pinned, but nothing in pyproject.toml needs it: compile again"
    assert sorted(needed - set(here)) == [], "needed, but not pinned: compile again"


def test_a_changed_pyproject_is_caught():
    """What the two tests above report when pyproject.toml moves on and requirements.txt does not."""
    requirements = project_requirements()
    raised = [Requirement("tornado>=7") if r.name == "tornado" else r for r in requirements]
    assert unmet(raised, pins()) == [f"tornado>=7 (pinned: {pins()[canonicalize_name('tornado')]})"]
    assert unmet([*requirements, Requirement("pygments-extra-theme")], pins())  # a new dependency
    without_hypothesis = [r for r in requirements if r.name != "hypothesis"]
    assert "hypothesis" not in reachable(without_hypothesis)  # its pin would be reported as not needed
