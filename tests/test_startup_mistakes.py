"""Mistakes in how ``python app.py`` is started: one line naming the fix, exit code 1.

Each test runs the real ``app.py`` as a process, as a reader would in a terminal,
and checks the whole of what it printed: one line, no traceback, the fix in it.
A store that goes down after a good start is tests/test_store_outages.py's
subject: the app keeps serving and answers 503 until the store is back.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sessions import KeyRing
from sessions.stores.sqlite import SCHEMA_VERSION
from tests.support.live_app import ROOT, free_port
from tests.test_sqlite_store import a_file_of_a_newer_release, query

_TIMEOUT = 30


def start(*options: str) -> tuple[int, str]:
    """Run ``python app.py OPTIONS`` until it exits; return its exit code and everything it printed."""
    result = subprocess.run(
        [sys.executable, "app.py", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=_TIMEOUT,
    )
    return result.returncode, result.stdout


def assert_one_line_error(code: int, output: str, *expected: str) -> str:
    assert code == 1, output
    assert "Traceback" not in output
    assert output.count("\n") == 1, output
    for text in expected:
        assert text in output
    return output


def test_a_port_in_use_names_a_free_port_to_try():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        output = assert_one_line_error(*start(f"--port={port}"), f"port {port} is in use; try --port=")
    found = re.search(r"--port=(\d+)", output)
    assert found is not None, output
    suggested = int(found[1])
    assert suggested != port


def test_a_mistyped_option_is_named_with_the_option_it_resembles():
    assert_one_line_error(
        *start("--stor=redis"), "unknown option --stor (did you mean --store?)", "python app.py --help"
    )


def test_a_port_that_is_not_a_number_is_refused_with_an_example():
    assert_one_line_error(*start("--port=abc"), "--port=abc", "whole number", "--port=8080")


def test_an_option_without_its_value_is_refused_with_an_example():
    assert_one_line_error(*start("--port"), "--port needs a value, as in --port=8080")


def test_an_argument_without_dashes_is_not_silently_ignored():
    assert_one_line_error(*start("store=redis"), "unexpected argument 'store=redis'", "--store=")


def test_an_unknown_store_lists_the_stores():
    assert_one_line_error(*start("--store=mongo"), "--store=mongo", "memory, sqlite and redis")


def test_redis_that_is_not_running_stops_the_start_with_the_fix():
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    output = assert_one_line_error(
        *start("--store=redis", f"--redis-url={url}"),
        "cannot reach Redis at redis://:***@127.0.0.1:",
        "start one with `redis-server` or use --store=memory",
    )
    assert "hunter2" not in output


def test_a_redis_url_without_a_scheme_is_refused_with_an_example():
    output = assert_one_line_error(
        *start("--store=redis", "--redis-url=hunter2@localhost:6379"),
        "a Redis URL starts with redis://",
        "--redis-url=redis://",
    )
    assert "hunter2" not in output


def test_a_python_without_the_packages_says_which_python_to_run():
    """``python3 app.py`` outside .venv: ``-S`` leaves site-packages out, as a system Python without Tornado."""
    result = subprocess.run(
        [sys.executable, "-S", "app.py"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert_one_line_error(result.returncode, result.stdout, "Tornado is not installed", "run .venv/bin/python app.py")


def test_a_redis_url_without_its_scheme_shows_the_url_to_write():
    assert_one_line_error(
        *start("--store=redis", "--redis-url=localhost:6379"),
        "--redis-url=localhost:6379: a Redis URL starts with redis://",
        "--redis-url=redis://localhost:6379",
    )


def test_a_sqlite_path_in_a_missing_directory_names_the_directory(tmp_path: Path):
    missing = tmp_path / "no-such-directory"
    assert_one_line_error(
        *start("--store=sqlite", f"--sqlite-path={missing / 'sessions.sqlite3'}"),
        f"the directory {missing} does not exist; create it (mkdir -p {missing})",
    )
    assert not missing.exists()


def test_a_sqlite_path_that_is_not_a_database_is_refused(tmp_path: Path):
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("shopping list\n" * 200)
    assert_one_line_error(
        *start("--store=sqlite", f"--sqlite-path={not_a_database}"),
        f"cannot use --sqlite-path={not_a_database}: choose another file or use --store=memory",
        "not a database",
    )
    assert not_a_database.read_text() == "shopping list\n" * 200


def test_help_lists_the_apps_options_before_tornados_logging_options():
    code, output = start("--help")
    assert code == 0
    assert "app.py options:" in output
    assert output.index("--xheaders") < output.index("--log-file-prefix") < output.index("--logging")
    assert re.search(r"--store\s+session store: memory, sqlite or redis", output)


def test_redis_cluster_on_a_redis_that_is_no_cluster_says_so(redis_server):
    assert_one_line_error(
        *start("--store=redis", "--redis-cluster", f"--redis-url={redis_server.url}"),
        f"cannot reach a Redis Cluster at {redis_server.url}",
        "drop --redis-cluster",
        "Cluster mode is not enabled",
    )


def test_processes_below_zero_are_refused():
    assert_one_line_error(*start("--processes=-1", "--store=sqlite"), "--processes=-1: use 1 or more, or 0")


# -- secrets: never shown, never empty, never weak ------------------------------------------------

SECRET = "a7Qm2-startup-test-secret-that-must-never-be-printed"


def test_an_option_without_its_value_never_repeats_an_earlier_secret():
    output = assert_one_line_error(*start(f"--secret={SECRET}", "--secret"), "--secret needs a value")
    assert SECRET not in output
    assert "a7Qm2" not in output


def test_a_redis_urls_password_is_never_shown():
    code, output = start("--redis-url=redis://user:hunter2pw@127.0.0.1:1/0", "--redis-url")
    assert_one_line_error(code, output, "redis://user:***@127.0.0.1:1/0")
    code, output = start("--store=redis", f"--redis-url=redis://:hunter2pw@127.0.0.1:{free_port()}/0")
    assert_one_line_error(code, output, "cannot reach Redis at redis://:***@127.0.0.1")
    assert "hunter2pw" not in output


def test_an_empty_secret_is_refused_not_replaced_by_a_random_one():
    for empty in ("--secret=", "--secret=,", "--secret= , "):
        output = assert_one_line_error(*start(f"--secret={SECRET}", empty, "--port=0"), "holds no secret")
        assert SECRET not in output


def test_an_environment_variable_that_holds_no_secret_is_refused():
    code, output = start_with_environment({"SESSION_SECRETS": ""}, "--port=0")
    assert_one_line_error(code, output, "SESSION_SECRETS is set but holds no secret")


@pytest.mark.parametrize(
    ("secret", "reason"),
    [("a" * 32, "too predictable"), ("password" * 4, "too predictable"), ("too-short-secret", "at least 32 bytes")],
)
def test_a_weak_secret_stops_the_start_saying_why_without_showing_it(secret, reason):
    output = assert_one_line_error(*start(f"--secret={SECRET},{secret}", "--port=0"), "secret #2", reason)
    assert secret not in output
    assert SECRET not in output
    code, output = start_with_environment({"SESSION_SECRETS": secret}, "--port=0")
    assert_one_line_error(code, output, "SESSION_SECRETS: secret #1", reason)


def test_write_secret_makes_a_file_only_its_owner_can_read_and_never_overwrites_one(tmp_path: Path):
    path = tmp_path / "session-secret.txt"
    code, output = start(f"--write-secret={path}")
    assert code == 0, output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 43
    assert secret not in output
    KeyRing([secret])  # strong enough to use
    assert_one_line_error(*start(f"--write-secret={path}"), "the file exists")
    assert path.read_text().strip() == secret
    assert_one_line_error(*start(f"--write-secret={tmp_path}/missing/secret.txt"), "cannot create the file")


def start_with_environment(environment: dict[str, str], *options: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "app.py", *options],
        cwd=ROOT,
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=_TIMEOUT,
    )
    return result.returncode, result.stdout


def test_a_sqlite_file_of_a_newer_release_is_refused_in_one_line(tmp_path):
    path = tmp_path / "sessions.sqlite3"
    a_file_of_a_newer_release(path)

    assert_one_line_error(
        *start("--store=sqlite", f"--sqlite-path={path}", f"--port={free_port()}"),
        f"cannot use --sqlite-path={path}: SQLite file {path} has layout version {SCHEMA_VERSION + 1}, newer than"
        f" this code reads (version {SCHEMA_VERSION})",
    )
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
