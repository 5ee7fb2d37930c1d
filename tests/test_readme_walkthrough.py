"""The README's and docs/'s curl walkthroughs, replayed against a live ``python app.py``.

Every ```console block in README.md and in docs/*.md is a transcript:
lines starting with ``$ `` are commands, the lines after one are its output.
Each step (a ``<!-- step: name -->`` marker starts one) runs its blocks in
document order with bash, in a fresh directory, so ``-b jar -c jar`` starts
with an empty cookie jar per step, against the app on a free port. Outputs are
compared after replacing what is random by nature (session IDs and encrypted
cookie values, dates and times). In the README a transcript shows all a command prints
(a command that shows only some headers filters them itself, ``| grep -i set-cookie``);
a ``curl -i`` transcript in docs/ may leave out the headers that say nothing about
sessions (``OMITTABLE_HEADERS``). Anything else that changes
breaks this test until the document is updated. docs/contributing.md tells
contributors the same, so that the README's readers need not read it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.live_app import ROOT, LiveApp, free_port

#: Where the README says the app is; replaced by where the test runs it.
README_ADDRESS = "localhost:8080"
_STEP_MARKER = re.compile(r"^<!-- step: (?P<name>[\w-]+) -->\s*$")
#: 40+ URL-safe base64 characters: a session ID (43) or an encrypted cookie value.
_RANDOM_TOKEN = re.compile(r"[A-Za-z0-9_-]{40,}")
#: Seconds since the epoch with a fraction, as the stores keep times (years 2001 to 2286).
_EPOCH_SECONDS = re.compile(r"\b1\d{9}\.\d+\b")
#: An HTTP date, except the epoch that cookie deletions use (that one is fixed).
_HTTP_DATE = re.compile(r"(?!Thu, 01 Jan 1970)(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT")
_COMMAND_TIMEOUT = 30
_STATUS_LINE = re.compile(r"^HTTP/[\d.]+ \d{3}\b")
#: Response headers that say nothing about sessions: a ``curl -i`` transcript in docs/ may
#: leave them out. Whatever a transcript shows is compared, and Set-Cookie,
#: Location, the status line and the body are always compared.
OMITTABLE_HEADERS = {"server", "date", "content-type", "content-length", "etag", "cache-control", "vary"}


@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Rewrites:
    """How a document's commands become the test's."""

    #: Addresses and ports: rewritten in the commands and in the output the document expects.
    everywhere: dict[str, str]
    #: Programs (``redis-cli``, ``python app.py``): rewritten in the commands only.
    commands: dict[str, str] = field(default_factory=dict)


@dataclass
class Walkthrough:
    """One step's commands, in document order."""

    source: str
    step: str
    commands: list[Command] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.source}:{self.step or 'outside every step'}"


def parse(text: str, source: str) -> list[Walkthrough]:
    """Split a Markdown document into step walkthroughs of its ```console blocks.

    In the README a step runs from its marker to the next marker or the next
    ``## `` heading (the reference sections after the steps). A console block
    outside every step is returned as a walkthrough with no step name, which a
    test refuses: a transcript there cannot say which app state it starts from.
    """
    walkthroughs: list[Walkthrough] = []
    current: Walkthrough | None = None
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line, index = lines[index], index + 1
        marker = _STEP_MARKER.match(line)
        if marker:
            current = Walkthrough(source, marker["name"])
            walkthroughs.append(current)
        elif line.startswith("## "):
            current = None
        elif line.strip() == "```console":
            block, index = _parse_block(lines, index, f"{source}:{index}")
            owner = current or Walkthrough(source, "", [])
            if owner not in walkthroughs:
                walkthroughs.append(owner)
            owner.commands.extend(block)
    return [walkthrough for walkthrough in walkthroughs if walkthrough.commands]


def _parse_block(lines: list[str], index: int, where: str) -> tuple[list[Command], int]:
    """The commands of the block starting at ``lines[index]``, and the index after its closing fence."""
    commands: list[Command] = []
    for at in range(index, len(lines)):
        line = lines[at]
        if line.strip() == "```":
            return commands, at + 1
        if line.startswith("$ "):
            commands.append(Command(line[2:]))
        elif not commands:
            raise ValueError(f"{where}: a console block must start with a `$ ` command line")
        else:
            commands[-1].expected.append(line)
    raise ValueError(f"{where}: a console block is not closed")


def normalize(lines: list[str]) -> list[str]:
    """Replace what is random by nature; keep everything else as it is."""
    return [
        _EPOCH_SECONDS.sub("<time>", _HTTP_DATE.sub("<date>", _RANDOM_TOKEN.sub("<random>", line))) for line in lines
    ]


#: The documents whose ```console blocks are replayed: the tutorial, then the reference pages.
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def collect() -> list[Walkthrough]:
    """The walkthroughs of every document, each document's in its own order."""
    return [
        walkthrough
        for document in DOCUMENTS
        for walkthrough in parse(document.read_text(), str(document.relative_to(ROOT)))
    ]


def replay(walkthrough: Walkthrough, rewrites: Rewrites, directory: Path) -> list[str]:
    """Run the step's commands in order in one bash; return a report of every mismatch.

    ``rewrites`` turns the document's addresses into the test's (``localhost:8080``
    into the app's port, in the commands and in the output the document expects)
    and its programs into the test's (``redis-cli`` into ``redis-cli -p`` the
    test's Redis, in the commands).
    One shell for the whole step, as a reader's terminal: a variable one command
    sets (``token=$(...)``) is there for the next. A marker line printed after
    each command splits the output back into each command's share.
    """
    marker = f"--- end of command {uuid.uuid4().hex} ---"
    in_commands = {**rewrites.everywhere, **rewrites.commands}
    script = "exec 2>&1\n" + "".join(
        f"{_rewrite(command.line, in_commands)}\nprintf '\\n%s\\n' '{marker}'\n" for command in walkthrough.commands
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=directory, stdout=subprocess.PIPE, text=True, timeout=_COMMAND_TIMEOUT
    )
    outputs = result.stdout.split(f"\n{marker}\n")
    mismatches = []
    for command, output in zip(walkthrough.commands, outputs, strict=False):
        expected = [_rewrite(line, rewrites.everywhere) for line in command.expected]
        actual = output.splitlines()
        if walkthrough.source != "README.md":  # the README shows everything a command prints
            actual = without_omitted_headers(actual, expected)
        if normalize(_trim(actual)) != normalize(_trim(expected)):
            expected_text, actual_text = "\n".join(expected), "\n".join(actual)
            mismatches.append(f"$ {command.line}\n--- README says:\n{expected_text}\n--- the app says:\n{actual_text}")
    if len(outputs) != len(walkthrough.commands) + 1:
        mismatches.append(f"the commands did not all run to the end; the shell printed:\n{result.stdout}")
    return mismatches


def _rewrite(line: str, rewrites: dict[str, str]) -> str:
    """Every rewrite in one pass, so that one rewrite's result (a port) is never rewritten by another."""
    if not rewrites:
        return line
    pattern = "|".join(re.escape(old) for old in sorted(rewrites, key=len, reverse=True))
    return re.sub(pattern, lambda match: rewrites[match[0]], line)


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
STEP_WALKTHROUGHS = [walkthrough for walkthrough in WALKTHROUGHS if walkthrough.step]
#: The fixture each step runs against when it is not ``memory_app`` (``python app.py`` as the README starts it).
STEP_FIXTURES = {
    "database": "redis_app",  # shows what Redis holds
    "startup-mistakes": "busy_port",  # docs/troubleshooting.md: ``python app.py`` started wrongly
    "two-processes": "two_apps_on_one_sqlite_file",  # docs/stores.md
    "forked-processes": "forked_app_on_sqlite",  # docs/stores.md: python app.py --processes=2
}


@pytest.fixture(scope="module")
def memory_app() -> Iterator[Rewrites]:
    """``python app.py`` as the README starts it (the memory store)."""
    with LiveApp() as app:
        yield Rewrites({README_ADDRESS: f"localhost:{app.port}"})


@pytest.fixture(scope="module")
def busy_port() -> Iterator[Rewrites]:
    """A port something already listens on, the next one free, and a Redis port nothing listens on.

    The troubleshooting page's ``python app.py`` runs the real app.py on the busy
    port, with the tests' Python; the page's 8080, 8081 and 6379 become these ports.
    """
    with _listening_socket_before_a_free_port() as busy:
        port, no_redis = busy.getsockname()[1], free_port()
        app = f"{sys.executable} {ROOT / 'app.py'} --port={port} --redis-url=redis://127.0.0.1:{no_redis}/0"
        yield Rewrites({"8080": str(port), "8081": str(port + 1), "6379": str(no_redis)}, {"python app.py": app})


def _listening_socket_before_a_free_port() -> socket.socket:
    """A socket listening on a port whose next port is free, as 8081 is beside a busy 8080."""
    for _ in range(100):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", busy.getsockname()[1] + 1))
                return busy
            except OSError:
                busy.close()
    raise RuntimeError("found no busy port with a free port after it")


@pytest.fixture(scope="module")
def two_apps_on_one_sqlite_file(tmp_path_factory) -> Iterator[Rewrites]:
    """The two ``python app.py --store=sqlite`` processes that docs/stores.md starts on ports 8081 and 8082."""
    database = tmp_path_factory.mktemp("shared") / "sessions.sqlite3"
    with (
        LiveApp("--store=sqlite", f"--sqlite-path={database}") as first,
        LiveApp("--store=sqlite", f"--sqlite-path={database}") as second,
    ):
        addresses = {"localhost:8081": f"localhost:{first.port}", "localhost:8082": f"localhost:{second.port}"}
        yield Rewrites(addresses, {"sessions.sqlite3": str(database)})


@pytest.fixture(scope="module")
def forked_app_on_sqlite(tmp_path_factory) -> Iterator[Rewrites]:
    """``python app.py --processes=2 --store=sqlite``, as docs/stores.md starts it."""
    database = tmp_path_factory.mktemp("forked") / "sessions.sqlite3"
    with LiveApp("--processes=2", "--store=sqlite", f"--sqlite-path={database}") as app:
        yield Rewrites({README_ADDRESS: f"localhost:{app.port}"}, {"sessions.sqlite3": str(database)})


@pytest.fixture(scope="module")
def redis_app(redis_server) -> Iterator[Rewrites]:
    """``python app.py --store=redis`` on the tests' real redis-server."""
    with LiveApp("--store=redis", f"--redis-url={redis_server.url}") as app:
        yield Rewrites({README_ADDRESS: f"localhost:{app.port}"}, {"redis-cli ": f"redis-cli -p {redis_server.port} "})


@pytest.mark.parametrize("walkthrough", STEP_WALKTHROUGHS, ids=[w.id for w in STEP_WALKTHROUGHS])
def test_readme_walkthrough_matches_the_app(walkthrough: Walkthrough, request, tmp_path: Path):
    rewrites = request.getfixturevalue(STEP_FIXTURES.get(walkthrough.step, "memory_app"))
    mismatches = replay(walkthrough, rewrites, tmp_path)
    assert not mismatches, "the README walkthrough no longer matches the app:\n\n" + "\n\n".join(mismatches)


def test_every_console_block_is_inside_a_step():
    """A transcript outside the steps would go unchecked: make it a step's, or a ```shell-session block."""
    outside = [w.commands[0].line for w in WALKTHROUGHS if not w.step]
    assert not outside, f"console blocks outside every step (first commands): {outside}"


def test_every_written_step_of_the_readme_has_a_walkthrough():
    """A step section with text must have commands (an empty marker is a placeholder for a step to come)."""
    text = (ROOT / "README.md").read_text()
    sections = re.split(r"^<!-- step: ([\w-]+) -->\s*$", text, flags=re.M)[1:]
    names, bodies = sections[0::2], sections[1::2]
    assert len(names) == len(set(names)), "a step marker appears twice"
    walked = {w.step: len(w.commands) for w in parse(text, "README.md")}
    for name, body in zip(names, bodies, strict=False):
        written = body.split("\n## ")[0].strip()
        assert not written or walked.get(name, 0) > 0, f"README step {name!r} has text but no console walkthrough"
    assert walked.get("overview", 0) >= 6


def test_a_changed_answer_breaks_the_walkthrough(memory_app: Rewrites, tmp_path: Path):
    (overview,) = [w for w in WALKTHROUGHS if w.id == "README.md:overview"]
    secret = next(c for c in overview.commands if c.expected == ["Forbidden"])
    altered = Walkthrough("altered", "overview", [Command(secret.line, ["Forbidden!"])])
    assert replay(altered, memory_app, tmp_path)


def test_normalizing_hides_only_random_values():
    line = (
        "Set-Cookie: sid=iCBpO6VGtCtBYiRw9EZGTaRrZmGUCJn0xMIMUxq1x5Y; Expires=Fri, 27 Nov 2026 01:50:59 GMT;"
        " Max-Age=7200"
    )
    assert normalize([line]) == ["Set-Cookie: sid=<random>; Expires=<date>; Max-Age=7200"]
    deletion = "Set-Cookie: sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    assert normalize([deletion]) == [deletion]
    meta = '{"created": 1795738392.0753543, "deadline": 1795741092.0753543, "user": null}'
    assert normalize([meta]) == ['{"created": <time>, "deadline": <time>, "user": null}']
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
    (outside,) = parse("<!-- step: one -->\n## Reference\n```console\n$ true\n```", "doc")
    assert outside.step == ""
    assert outside.id == "doc:outside every step"


def test_only_boring_headers_may_be_left_out_of_a_transcript():
    actual = ["HTTP/1.1 200 OK", "Server: TornadoServer/6.6.1", "Set-Cookie: a=b", "Vary: Cookie", "", "Server: body"]
    assert without_omitted_headers(actual, ["HTTP/1.1 200 OK", "Set-Cookie: a=b", "", "Server: body"]) == [
        "HTTP/1.1 200 OK",
        "Set-Cookie: a=b",
        "",
        "Server: body",
    ]
    assert "Vary: Cookie" in without_omitted_headers(actual, ["HTTP/1.1 200 OK", "Vary: Cookie"])


def test_rewrites_never_rewrite_each_others_results():
    assert _rewrite("--port=8080 redis:6379", {"8080": "16379", "6379": "40000"}) == "--port=16379 redis:40000"


def test_the_securecookie_log_excerpt_is_what_the_app_logs():
    """docs/secure-cookies.md quotes what the log says about a tampered cookie: the messages, not the
    line numbers in front of them, which move whenever the code above them does."""
    page = (ROOT / "docs" / "secure-cookies.md").read_text()
    excerpt = page.split("--logging=debug", 1)[1].split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(excerpt) == 2
    with LiveApp("--logging=debug") as app:
        with urllib.request.urlopen(f"{app.url}/securecookie/set", timeout=10) as response:
            value = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
        tampered = value[:40] + ("B" if value[40] == "A" else "A") + value[41:]
        cookie = {"Cookie": f"mycustomsessionid={tampered}"}
        with urllib.request.urlopen(urllib.request.Request(f"{app.url}/securecookie/get", headers=cookie), timeout=10):
            pass
        log = app.output().splitlines()
    for message in excerpt:
        logged = any(line.endswith(f"] {message}") for line in log)
        assert logged, f"the app no longer logs: {message}\n" + "\n".join(log)
