"""The README's curl walkthroughs, replayed against a live ``python app.py``.

Every ```console block in README.md (and in docs/steps/*.md) is a transcript:
lines starting with ``$ `` are commands, the lines after one are its output.
Each step (a ``<!-- step: name -->`` marker starts one) runs its blocks in
document order with bash, in a fresh directory, so ``-b jar -c jar`` starts
with an empty cookie jar per step, against the app on a free port. Outputs are
compared after replacing what is random by nature (session IDs and encrypted
cookie values, dates); a ``curl -i`` transcript may leave out the headers that
say nothing about sessions (``OMITTABLE_HEADERS``). Anything else that changes
breaks this test until the README is updated.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live_app import ROOT, LiveApp

#: Where the README says the app is; replaced by where the test runs it.
README_ADDRESS = "localhost:8080"
_STEP_MARKER = re.compile(r"^<!-- step: (?P<name>[\w-]+) -->\s*$")
#: 40+ URL-safe base64 characters: a session ID (43) or an encrypted cookie value.
_RANDOM_TOKEN = re.compile(r"[A-Za-z0-9_-]{40,}")
#: An HTTP date, except the epoch that cookie deletions use (that one is fixed).
_HTTP_DATE = re.compile(r"(?!Thu, 01 Jan 1970)(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT")
_COMMAND_TIMEOUT = 30
_STATUS_LINE = re.compile(r"^HTTP/[\d.]+ \d{3}\b")
#: Response headers that say nothing about sessions: a ``curl -i`` transcript may
#: leave them out. Whatever a transcript shows is compared, and Set-Cookie,
#: Location, the status line and the body are always compared.
OMITTABLE_HEADERS = {"server", "date", "content-type", "content-length", "etag", "cache-control", "vary"}


@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Walkthrough:
    """One step's commands, in document order."""

    source: str
    step: str
    commands: list[Command] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.source}:{self.step}"


def parse(text: str, source: str, default_step: str | None = None) -> list[Walkthrough]:
    """Split a Markdown document into step walkthroughs of its ```console blocks."""
    walkthroughs: list[Walkthrough] = []
    current = Walkthrough(source, default_step) if default_step else None
    lines = iter(text.splitlines())
    for number, line in enumerate(lines, 1):
        marker = _STEP_MARKER.match(line)
        if marker:
            current = Walkthrough(source, marker["name"])
            walkthroughs.append(current)
        elif line.strip() == "```console":
            if current is None:
                raise ValueError(f"{source}:{number}: a console block before any <!-- step: name --> marker")
            if current not in walkthroughs:
                walkthroughs.append(current)
            current.commands.extend(_parse_block(lines, f"{source}:{number}"))
    return [walkthrough for walkthrough in walkthroughs if walkthrough.commands]


def _parse_block(lines: Iterator[str], where: str) -> list[Command]:
    commands: list[Command] = []
    for line in lines:
        if line.strip() == "```":
            return commands
        if line.startswith("$ "):
            commands.append(Command(line[2:]))
        elif not commands:
            raise ValueError(f"{where}: a console block must start with a `$ ` command line")
        else:
            commands[-1].expected.append(line)
    raise ValueError(f"{where}: a console block is not closed")


def normalize(lines: list[str]) -> list[str]:
    """Replace what is random by nature; keep everything else as it is."""
    return [_HTTP_DATE.sub("<date>", _RANDOM_TOKEN.sub("<random>", line)) for line in lines]


def collect() -> list[Walkthrough]:
    """README.md's walkthroughs, then each docs/steps/*.md file's (its name is its step by default)."""
    walkthroughs = parse((ROOT / "README.md").read_text(), "README.md")
    for path in sorted((ROOT / "docs" / "steps").glob("*.md")):
        walkthroughs += parse(path.read_text(), str(path.relative_to(ROOT)), default_step=path.stem)
    return walkthroughs


def replay(walkthrough: Walkthrough, address: str, directory: Path) -> list[str]:
    """Run the step's commands in order in one bash; return a report of every mismatch.

    One shell for the whole step, as a reader's terminal: a variable one command
    sets (``token=$(...)``) is there for the next. A marker line printed after
    each command splits the output back into each command's share.
    """
    marker = f"--- end of command {uuid.uuid4().hex} ---"
    script = "exec 2>&1\n" + "".join(
        f"{command.line.replace(README_ADDRESS, address)}\nprintf '\\n%s\\n' '{marker}'\n"
        for command in walkthrough.commands
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=directory, stdout=subprocess.PIPE, text=True, timeout=_COMMAND_TIMEOUT
    )
    outputs = result.stdout.split(f"\n{marker}\n")
    mismatches = []
    for command, output in zip(walkthrough.commands, outputs, strict=False):
        actual = without_omitted_headers(output.splitlines(), command.expected)
        if normalize(_trim(actual)) != normalize(_trim(command.expected)):
            expected_text, actual_text = "\n".join(command.expected), "\n".join(actual)
            mismatches.append(f"$ {command.line}\n--- README says:\n{expected_text}\n--- the app says:\n{actual_text}")
    if len(outputs) != len(walkthrough.commands) + 1:
        mismatches.append(f"the commands did not all run to the end; the shell printed:\n{result.stdout}")
    return mismatches


def without_omitted_headers(actual: list[str], expected: list[str]) -> list[str]:
    """Drop the omittable response headers that the transcript does not show."""
    hidden = OMITTABLE_HEADERS - {name for name, _ in _header_lines(expected) if name}
    return [line for name, line in _header_lines(actual) if name not in hidden]


def _header_lines(lines: list[str]) -> Iterator[tuple[str, str]]:
    """Each line with its header name in lower case, or "" when it is not a response header."""
    in_headers = False
    for line in lines:
        if _STATUS_LINE.match(line):
            in_headers = True
        elif not line.strip():
            in_headers = False
        elif in_headers and ":" in line:
            yield line.split(":", 1)[0].strip().lower(), line
            continue
        yield "", line


def _trim(lines: list[str]) -> list[str]:
    """Drop trailing blank lines: in the README they only separate one command from the next."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


WALKTHROUGHS = collect()


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with LiveApp() as app:
        yield f"localhost:{app.port}"


@pytest.mark.parametrize("walkthrough", WALKTHROUGHS, ids=[w.id for w in WALKTHROUGHS])
def test_readme_walkthrough_matches_the_app(walkthrough: Walkthrough, address: str, tmp_path: Path):
    mismatches = replay(walkthrough, address, tmp_path)
    assert not mismatches, "the README walkthrough no longer matches the app:\n\n" + "\n\n".join(mismatches)


def test_every_written_step_of_the_readme_has_a_walkthrough():
    """A step section with text must have commands (an empty marker is a placeholder for a step to come)."""
    text = (ROOT / "README.md").read_text()
    sections = re.split(r"^<!-- step: ([\w-]+) -->\s*$", text, flags=re.M)[1:]
    names, bodies = sections[0::2], sections[1::2]
    assert len(names) == len(set(names)), "a step marker appears twice"
    walked = {w.step: len(w.commands) for w in parse(text, "README.md")}
    for name, body in zip(names, bodies):
        written = body.split("\n## ")[0].strip()
        assert not written or walked.get(name, 0) > 0, f"README step {name!r} has text but no console walkthrough"
    assert walked.get("overview", 0) >= 6


def test_a_changed_answer_breaks_the_walkthrough(address: str, tmp_path: Path):
    (overview,) = [w for w in WALKTHROUGHS if w.id == "README.md:overview"]
    secret = next(c for c in overview.commands if c.expected == ["Forbidden"])
    altered = Walkthrough("altered", "overview", [Command(secret.line, ["Forbidden!"])])
    assert replay(altered, address, tmp_path)


def test_normalizing_hides_only_random_values():
    line = "Set-Cookie: sid=iCBpO6VGtCtBYiRw9EZGTaRrZmGUCJn0xMIMUxq1x5Y; Expires=Fri, 27 Nov 2026 01:50:59 GMT; Max-Age=7200"
    assert normalize([line]) == ["Set-Cookie: sid=<random>; Expires=<date>; Max-Age=7200"]
    deletion = "Set-Cookie: sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    assert normalize([deletion]) == [deletion]
    assert normalize(["The name on the /set was: iris", "HTTP/1.1 403 Forbidden"]) == [
        "The name on the /set was: iris",
        "HTTP/1.1 403 Forbidden",
    ]


def test_parse_splits_steps_and_keeps_commands_in_order():
    text = "\n".join(
        [
            "<!-- step: one -->",
            "```console",
            "$ echo a",
            "a",
            "$ true",
            "```",
            "<!-- step: two -->",
            "```console",
            "$ echo b",
            "b",
            "```",
        ]
    )
    one, two = parse(text, "doc")
    assert (one.step, [c.line for c in one.commands], one.commands[0].expected) == ("one", ["echo a", "true"], ["a"])
    assert (two.step, two.commands[0].expected) == ("two", ["b"])
    with pytest.raises(ValueError, match="before any"):
        parse("```console\n$ true\n```", "doc")


def test_only_boring_headers_may_be_left_out_of_a_transcript():
    actual = ["HTTP/1.1 200 OK", "Server: TornadoServer/6.6.1", "Set-Cookie: a=b", "Vary: Cookie", "", "Server: body"]
    assert without_omitted_headers(actual, ["HTTP/1.1 200 OK", "Set-Cookie: a=b", "", "Server: body"]) == [
        "HTTP/1.1 200 OK",
        "Set-Cookie: a=b",
        "",
        "Server: body",
    ]
    assert "Vary: Cookie" in without_omitted_headers(actual, ["HTTP/1.1 200 OK", "Vary: Cookie"])
