"""Configuration and handler classes that catch an adopter's mistakes where they are made."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tornado.web import RequestHandler

from sessions import (
    Config,
    SessionManager,
    SessionMixin,
    SessionUserMixin,
    SessionXSRFMixin,
)
from tests.support.live_app import ROOT


def test_the_managers_keywords_are_the_configs_fields():
    keywords = [name for name, p in inspect.signature(SessionManager).parameters.items() if p.kind is p.KEYWORD_ONLY]
    assert keywords == [field.name for field in dataclasses.fields(Config) if field.init]


def test_mypy_flags_a_misspelt_option_and_a_duration_of_the_wrong_type(tmp_path: Path):
    program = tmp_path / "adopter.py"
    program.write_text(
        "from datetime import timedelta\n"
        "from sessions import SessionManager\n"
        "SessionManager(cookie_name='ok', idle_timeout=30, expires=timedelta(hours=2))\n"
        "SessionManager(cookie_nme='typo')\n"
        "SessionManager(idle_timeout='30 minutes')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(program)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = result.stdout.splitlines()
    assert any(':4: error: Unexpected keyword argument "cookie_nme"' in line for line in lines), result.stdout
    assert any(':5: error: Argument "idle_timeout"' in line for line in lines), result.stdout
    assert not any(":3:" in line for line in lines), result.stdout  # a number of seconds is a duration


@pytest.mark.parametrize("option", ["expires", "idle_timeout", "absolute_timeout"])
def test_a_number_where_a_duration_is_expected_is_seconds(option: str):
    whole: dict[str, Any] = {option: 90}
    fraction: dict[str, Any] = {option: 1.5}
    assert getattr(SessionManager(**whole).config, option) == timedelta(seconds=90)
    assert getattr(SessionManager(**fraction).config, option) == timedelta(seconds=1.5)


def test_an_idle_timeout_in_seconds_is_enforced_as_seconds(clock):
    manager = SessionManager(idle_timeout=30, clock=clock)
    assert manager.config.idle_seconds == 30.0


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"idle_timeout": "30"},
            TypeError,
            "idle_timeout must be a datetime.timedelta, a number of seconds or None, not str '30'",
        ),
        (
            {"expires": True},
            TypeError,
            "expires must be a datetime.timedelta, a number of seconds or None, not bool True",
        ),
        ({"absolute_timeout": -5}, ValueError, "absolute_timeout must be positive or None, not -5"),
        ({"cookie_name": 7}, TypeError, "cookie_name must be str, not int 7"),
        ({"allow_reclaim": "no"}, TypeError, "allow_reclaim must be bool, not str 'no'"),
        ({"max_session_bytes": 1.5}, TypeError, "max_session_bytes must be int, not float 1.5"),
        ({"store": "redis://localhost"}, TypeError, "store must be SessionStore, not str 'redis://localhost'"),
        ({"clock": 0}, TypeError, "clock must be a function, not int"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_option(options, error, message):
    with pytest.raises(error) as caught:
        SessionManager(**options)
    assert str(caught.value) == message


def test_a_misspelt_option_is_refused_at_run_time_too():
    with pytest.raises(TypeError, match="cookie_nme"):
        SessionManager(cookie_nme="x")  # type: ignore[call-arg]


# -- handler classes ------------------------------------------------------------------------


class AppBase(RequestHandler):
    """An app's own base handler, as most apps have one."""

    def finish(self, chunk=None):  # noqa: ANN001, ANN201
        return super().finish(chunk)

    def prepare(self) -> None:
        self.set_header("X-App", "1")


def test_a_mixin_after_an_app_base_that_hides_its_finish_is_a_clear_error():
    with pytest.raises(TypeError) as caught:

        class Cart(AppBase, SessionMixin):
            pass

    assert str(caught.value) == (
        "Cart: AppBase.finish comes before SessionMixin's in the method order and hides it; "
        "list SessionMixin first in the bases, before AppBase"
    )


def test_the_user_mixin_after_a_base_with_its_own_prepare_is_a_clear_error():
    class PlainBase(RequestHandler):
        def prepare(self) -> None:
            pass

    with pytest.raises(TypeError, match="PlainBase.prepare comes before SessionUserMixin's"):

        class Account(PlainBase, SessionUserMixin):  # type: ignore[misc]  # the mistake under test
            pass


def test_the_mixins_listed_first_are_accepted():
    # mypy finds a sync prepare() after the mixin's async one incompatible; the mixin awaits either (the test)
    class Cart(SessionUserMixin, SessionXSRFMixin, AppBase):  # type: ignore[misc]
        pass

    assert Cart.finish is SessionMixin.finish
    assert Cart.prepare is SessionUserMixin.prepare


def test_the_mixins_override_only_what_they_must():
    def overrides(cls: type) -> set[str]:
        return {name for name in vars(cls) if hasattr(RequestHandler, name) and not name.startswith("__")}

    assert overrides(SessionMixin) == {"initialize", "finish"}
    assert overrides(SessionXSRFMixin) == {"xsrf_token", "check_xsrf_cookie"}
    assert overrides(SessionUserMixin) == {"prepare"}
