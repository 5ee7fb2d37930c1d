"""What ``python app.py`` checks before it serves.

A mistake in how the app was started (an option mistyped, a port in use, a store
that is not there) gets one line that names the fix and exit code 1, not a
traceback, and not a server that starts and then answers 503 "try again shortly"
to every login when waiting will not help. A store that goes down after the
start is another matter: the app keeps serving and answers 503 until it is back.
"""

from __future__ import annotations

import difflib
import errno
import io
import os
import re
import resource
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import tornado
from tornado.netutil import bind_sockets
from tornado.options import Error as OptionError
from tornado.options import options, parse_command_line

from sessions import SessionStore
from sessions.crypto import new_secret, weakness
from sessions.errors import StoreUnavailableError
from sessions.ids import new_session_id
from sessions.stores.sqlite import UnknownLayoutError

#: The spellings of "show the options": Tornado's two, and the one most programs accept.
HELP_FLAGS = {"--help", "-help", "-h"}
#: How far past a busy port to look for a free one to suggest.
_PORTS_TO_TRY = 100
#: Where Tornado's own options (logging) are defined: the heading of their group in ``--help`` starts with it.
_TORNADO_DIR = os.path.normpath(os.path.dirname(tornado.__file__))
#: The namespace of the start-up check's look-up: no manager's, so it can find nothing.
_CHECK_NAMESPACE = "startup-check"
#: What a value of each type should look like, for the message about a value that does not parse.
_EXPECTED = {int: "a whole number", float: "a number"}
#: Options whose values are secrets: never repeated in a message, which ends up in terminals and logs.
SECRET_OPTIONS = {"secret": "--secret=NEW,OLD"}
#: Options whose values are URLs that may carry a password: repeated with the password hidden.
URL_OPTIONS = {"redis_url"}
#: Where the app reads secrets when ``--secret`` is not given.
SECRETS_VARIABLE = "SESSION_SECRETS"


#: Open files kept back from connections, at least: the store's (a Redis pool holds up to 50), logs, templates.
_FILES_RESERVED = 64


class StartupError(Exception):
    """A mistake in how the app was started; its message is the one line the user sees, fix included."""


def parse_options(args: list[str]) -> None:
    """Parse ``args`` (``sys.argv``) into Tornado's options, one argument at a time.

    One at a time so that a mistake is reported with the argument that made it:
    Tornado's own parser says ``invalid literal for int()`` for ``--port=abc``
    without naming the option. Tornado parses each argument on its own anyway;
    its parse callbacks (which set up logging) run once at the end, as
    ``parse_command_line`` would run them.
    """
    program, *arguments = args
    if HELP_FLAGS.intersection(arguments):
        print_help()
        raise SystemExit(0)
    for argument in arguments:
        if argument == "--":
            break
        _parse_one(program, argument)
    options.run_parse_callbacks()


def _parse_one(program: str, argument: str) -> None:
    if not argument.startswith("-"):
        raise StartupError(f"unexpected argument {argument!r}: options start with --, as in --store=sqlite")
    name, has_value, value = argument.lstrip("-").partition("=")
    if name not in options:
        raise StartupError(f"unknown option --{name}{_did_you_mean(name)}; python app.py --help lists the options")
    if name.replace("-", "_") in SECRET_OPTIONS and has_value and not value.replace(",", "").strip():
        raise StartupError(
            f"--{name}= holds no secret: give one or more, newest first, as in {SECRET_OPTIONS['secret']}, "
            "or leave the option out to run with a random secret for this run only"
        )
    try:
        parse_command_line([program, argument], final=False)
    except (OptionError, ValueError):
        raise StartupError(_bad_value(name, value if has_value else None)) from None


def _did_you_mean(name: str) -> str:
    known = [option.replace("_", "-") for option in options.as_dict()]
    close = difflib.get_close_matches(name.replace("_", "-"), known, n=1)
    return f" (did you mean --{close[0]}?)" if close else ""


def _bad_value(name: str, value: str | None) -> str:
    """The message for a value that is missing or does not parse, never repeating a secret or a password."""
    key = name.replace("-", "_")
    if key in SECRET_OPTIONS:
        return f"--{name} needs a value, as in {SECRET_OPTIONS[key]} (python app.py --generate-secret makes one)"
    default = getattr(options, name)
    example = f"--{name}={_shown(key, default) if default not in (None, '', []) else 'VALUE'}"
    if value is None:
        return f"--{name} needs a value, as in {example}"
    expected = _EXPECTED.get(type(default), "a valid value")
    return f"--{name}={_shown(key, value)}: --{name} takes {expected}, as in {example}"


def _shown(name: str, value: object) -> str:
    """An option's value as a message may show it: a URL's password hidden."""
    return without_password(str(value)) if name in URL_OPTIONS else str(value)


def checked_secrets(given: list[str] | None, environment: str | None) -> list[str]:
    """The secrets of ``--secret`` (``given``), else of ``SESSION_SECRETS``; each strong enough to key cookies.

    A variable that is set but holds no secret (``SESSION_SECRETS=$(cat missing-file)``) is a
    mistake, not a request for a random secret; a weak secret stops the start with the rule it
    breaks. Neither message repeats a secret.
    """
    source, listed = ("--secret", given) if given else (SECRETS_VARIABLE, (environment or "").split(","))
    secrets = [secret.strip() for secret in listed if secret.strip()]
    if not secrets and environment is not None and not given:
        raise StartupError(
            f"{SECRETS_VARIABLE} is set but holds no secret: set it to one or more, newest first, "
            "or unset it to run with a random secret for this run only"
        )
    for position, secret in enumerate(secrets, start=1):
        why = weakness(secret.encode())
        if why is not None:
            raise StartupError(f"{source}: secret #{position} {why}")
    return secrets


def write_secret_file(path: str) -> None:
    """Write a fresh secret to a new file that only its owner can read (mode 600), for ``--write-secret``.

    An existing file is never overwritten: replacing a secret in use logs every visitor out.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StartupError(
            f"--write-secret={path}: the file exists; a new secret in it would log every visitor out "
            "(to rotate, put the new secret first: SESSION_SECRETS=NEW,OLD)"
        ) from None
    except OSError as error:
        raise StartupError(f"--write-secret={path}: cannot create the file: {error.strerror or error}") from None
    with os.fdopen(descriptor, "w") as file:
        file.write(new_secret() + "\n")


def print_help() -> None:
    """Tornado's ``--help``, with the app's options before Tornado's logging options.

    Tornado lists option groups sorted by the path of the file that defined them,
    so ``.../site-packages/tornado/log.py`` came before ``app.py``, and a reader
    met eight log-rotation options before ``--port``.
    """
    text = io.StringIO()
    options.print_help(text)
    usage, *groups = re.split(r"(?m)^(?=\S.* options:$)", text.getvalue())
    groups.sort(key=lambda group: group.startswith(_TORNADO_DIR))  # False, the app's, sorts first
    sys.stdout.write(usage + "".join(groups))


def listening_sockets(port: int, address: str) -> list[socket.socket]:
    """Bind the port now, so that a busy port is one line with a free one to try, not a traceback."""
    if not 0 < port < 65536:
        raise StartupError(f"--port={port}: a port is a number from 1 to 65535; the usual one is --port=8080")
    try:
        # The kernel's own cap (net.core.somaxconn) rather than Tornado's 128: connections that wait while
        # the app is at its connection cap wait in this queue, and one beyond it has its SYN dropped and
        # retried only a second later.
        return bind_sockets(port, address, backlog=socket.SOMAXCONN)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} is in use; try --port={_free_port_after(port, address)}") from None
        if error.errno == errno.EACCES:
            message = f"port {port} needs administrator rights (ports below 1024 do); try --port=8080"
            raise StartupError(message) from None
        reason = error.strerror or str(error)
        raise StartupError(f"cannot listen on {address} port {port}: {reason}; check --address") from None


def _free_port_after(port: int, address: str) -> int | str:
    """The first port after ``port`` that binds now, or a placeholder when none of the next ones does."""
    for candidate in range(port + 1, min(port + _PORTS_TO_TRY, 65535) + 1):
        try:
            sockets = bind_sockets(candidate, address)
        except OSError:
            continue
        for sock in sockets:
            sock.close()
        return candidate
    return "ANOTHER_PORT"


def check_sqlite_path(path: str) -> None:
    """A SQLite file can be created only in a directory that exists: say which one is missing."""
    directory = Path(path).parent
    if not directory.is_dir():
        raise StartupError(
            f"--sqlite-path={path}: the directory {directory} does not exist; "
            f"create it (mkdir -p {directory}) or choose another path"
        )


#: The URL schemes redis-py connects to.
REDIS_SCHEMES = ("redis", "rediss", "unix")


def check_redis_url(url: str) -> None:
    """A Redis URL needs its scheme (``localhost:6379`` is not one): say what to write instead."""
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme not in REDIS_SCHEMES:
        raise StartupError(
            f"--redis-url={without_password(url)}: a Redis URL starts with redis://, rediss:// or unix://, "
            f"as in --redis-url={without_password('redis://' + url.split('://')[-1])}"
        )


async def check_store(store: SessionStore, redis_url: str, sqlite_path: str) -> None:
    """Reach the store once, through its public interface, before serving.

    Loading a session ID that cannot exist touches the store as a login would,
    and changes nothing in it.
    """
    try:
        await store.load(_CHECK_NAMESPACE, new_session_id())
    except UnknownLayoutError as error:
        raise StartupError(f"cannot use --sqlite-path={sqlite_path}: {error}") from None
    except StoreUnavailableError as error:
        if store.name == "redis" and getattr(store, "cluster", False):
            raise StartupError(
                f"cannot reach a Redis Cluster at {without_password(redis_url)}: name a node of a running cluster, "
                f"or drop --redis-cluster for a single Redis ({error})"
            ) from None
        if store.name == "redis":
            raise StartupError(
                f"cannot reach Redis at {without_password(redis_url)}: start one with `redis-server` "
                f"or use --store=memory ({error})"
            ) from None
        if store.name == "sqlite":
            raise StartupError(
                f"cannot use --sqlite-path={sqlite_path}: choose another file or use --store=memory ({error})"
            ) from None
        raise StartupError(f"the {store.name} store is unavailable: {error}") from None


def without_password(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: error messages end up in terminals and logs.

    A URL that does not parse is not shown at all: it might hold a password in a place urlsplit cannot see.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(a URL that does not parse)"
    if password is None:
        return url
    user_info, _, host = parts.netloc.rpartition("@")
    user = user_info.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit (what it may do unprivileged); return it.

    Many systems start programs with a soft limit of 1,024 files and a hard one far
    higher: each connection holds a file, so the soft limit would cap the app at
    about a thousand clients for no reason.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # an unlimited hard limit that the kernel caps lower (macOS)
            pass
    return open_file_limit()


def open_file_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connections_within(file_limit: int) -> int:
    """The connection cap that leaves an eighth of ``file_limit`` (at least ``_FILES_RESERVED``) for other files."""
    return file_limit - max(_FILES_RESERVED, file_limit // 8)


def check_connection_cap(max_connections: int, file_limit: int) -> None:
    """A cap the open-file limit cannot honour is a mistake: one line, with the limit and a cap that fits."""
    if max_connections < 0:
        raise StartupError(f"--max-connections={max_connections}: use a positive number, or 0 for automatic")
    fits = connections_within(file_limit)
    if fits < 1:
        raise StartupError(
            f"the open-file limit is {file_limit}, too low to serve: raise it (ulimit -n 1024) and start again"
        )
    if max_connections > fits:
        raise StartupError(
            f"--max-connections={max_connections}: this process may open {file_limit} files, and the store and"
            f" logs need some of them; use --max-connections={fits} or less, or raise the limit (ulimit -n)"
        )


def check_server_limits(header_timeout: float, idle_timeout: float, body_timeout: float) -> None:
    """Time limits must be positive: 0 would close every connection at once, and no limit is what they prevent."""
    for name, seconds in (("header", header_timeout), ("idle", idle_timeout), ("body", body_timeout)):
        if not seconds > 0:
            raise StartupError(
                f"--{name}-timeout={seconds:g}: use a number of seconds above 0, as in --{name}-timeout=20"
            )
