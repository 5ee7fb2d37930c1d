"""Ending cookie-only sessions over real HTTP: namespaces kept apart, a user's copies revoked, a timeout required."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from tornado.routing import URLSpec
from tornado.web import Application, url

from sessions import CookieStore, EncryptedCodec, KeyRing, SessionManager, SQLiteRevocations
from tests.support.cookie_client import CookieClient, text
from tests.support.session_handler import SessionHandler

SECRET = "the cookie revocation tests' secret, 32+ bytes"
COOKIE = "sid"
HERE = Path(__file__).parent.parent


class LoginHandler(SessionHandler):
    """Logs in as ``name`` with ``role`` (as the shop's sign-up might let anyone choose a role name)."""

    async def get(self, name: str) -> None:
        session = await self.get_session_manager().regenerate(self)
        session.user = name
        session.set("role", self.get_argument("role", "customer"))
        self.write_text("ok")


class WhoHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        self.write_text(f"user={session.user} role={session.get('role')} note={session.get('note')}")


class PutHandler(SessionHandler):
    async def get(self) -> None:
        (await self.get_session()).set("note", self.get_argument("value"))
        self.write_text("ok")


class EverywhereHandler(SessionHandler):
    """Log out everywhere: this user's every session, then this one."""

    async def get(self) -> None:
        session = await self.get_session()
        manager = self.get_session_manager()
        await manager.destroy_user(str(session.user))
        await manager.destroy(self)
        self.write_text("ok")


class EveryoneHandler(SessionHandler):
    async def get(self) -> None:
        await self.get_session_manager().destroy_all()
        self.write_text("ok")


def routes(prefix: str, manager: SessionManager) -> list[URLSpec]:
    handlers = [
        (r"/login/(\w+)", LoginHandler),
        (r"/who", WhoHandler),
        (r"/put", PutHandler),
        (r"/everywhere", EverywhereHandler),
        (r"/everyone", EveryoneHandler),
    ]
    return [url(prefix + path, handler, {"session_manager": manager}) for path, handler in handlers]


def manager(clock, namespace: str, store: CookieStore) -> SessionManager:
    codec = EncryptedCodec(KeyRing([SECRET]), max_age=timedelta(hours=8), clock=clock)
    return SessionManager(cookie_name=COOKIE, namespace=namespace, store=store, codec=codec, clock=clock)


@pytest.fixture
def revocations_file(tmp_path: Path) -> str:
    return str(tmp_path / "revocations.sqlite3")


@pytest.fixture
def app(clock, revocations_file):
    """``/shop`` and ``/admin`` share a cookie name and a secret; ``/one`` and ``/two`` are two "processes"
    of one manager, each with its own connection to the same revocations file."""
    one = CookieStore(SQLiteRevocations(revocations_file, clock=clock))
    two = CookieStore(SQLiteRevocations(revocations_file, clock=clock))
    return Application(
        [
            *routes("/shop", manager(clock, "shop", CookieStore())),
            *routes("/admin", manager(clock, "admin", CookieStore())),
            *routes("/one", manager(clock, "app", one)),
            *routes("/two", manager(clock, "app", two)),
        ]
    )


@pytest.mark.gen_test
async def test_a_cookie_of_one_namespace_does_not_open_under_another_with_the_same_name(client: CookieClient):
    await client.get("/shop/login/mallory?role=admin")
    assert text(await client.get("/shop/who")) == "user=mallory role=admin note=None"
    assert text(await client.get("/admin/who")) == "user=None role=None note=None"
    await client.get("/admin/login/ann?role=admin")  # admin's cookie now; shop refuses it in turn
    assert text(await client.get("/shop/who")) == "user=None role=None note=None"


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("revocation", "copy_of"),
    [("/one/everywhere", "ann"), ("/one/everyone", "ann"), ("/one/everyone", "anonymous")],
    ids=["log-out-everywhere", "destroy-all", "destroy-all-anonymous"],
)
async def test_a_revocation_ends_a_copy_taken_before_in_every_process(
    client: CookieClient, other_client: CookieClient, clock, revocation: str, copy_of: str
):
    """Log out everywhere ends the user's every copy; ``destroy_all`` every cookie of the namespace, anonymous too."""
    await client.get("/one/login/ann")
    owner = client if copy_of == "ann" else other_client
    clock.advance(1)
    await owner.get("/one/put?value=hello")
    stolen = owner.jar[COOKIE]
    clock.advance(1)
    thief = CookieClient(client.http_client, client.base_url, {COOKIE: stolen})
    user = "user=ann role=customer" if copy_of == "ann" else "user=None role=None"
    assert text(await thief.get("/two/who")) == f"{user} note=hello"  # the copy opens anywhere

    clock.advance(1)
    await client.get(revocation)
    for process in ("/one", "/two"):
        thief.jar[COOKIE] = stolen
        assert text(await thief.get(f"{process}/who")) == "user=None role=None note=None", process

    clock.advance(1)  # a cookie written in the revocation's own millisecond may be refused: the rule is "after"
    await client.get("/two/login/ann")  # a login after the revocation opens, in both processes
    assert text(await client.get("/one/who")) == "user=ann role=customer note=None"
    assert text(await client.get("/two/who")) == "user=ann role=customer note=None"


@pytest.mark.gen_test
async def test_an_anonymous_session_from_before_the_revocation_that_logs_in_after_it_opens(
    client: CookieClient, other_client: CookieClient, clock
):
    await other_client.get("/one/put?value=cart")  # anonymous, before
    await client.get("/one/login/ann")
    clock.advance(1)
    await client.get("/one/everywhere")
    clock.advance(1)
    await other_client.get("/one/login/ann")
    assert text(await other_client.get("/two/who")) == "user=ann role=customer note=cart"


@pytest.mark.gen_test
async def test_revoking_one_user_leaves_other_users_and_other_namespaces(
    client: CookieClient, other_client: CookieClient, clock
):
    await client.get("/one/login/ann")
    await other_client.get("/one/login/bob")
    clock.advance(1)
    await client.get("/one/everywhere")
    assert text(await other_client.get("/two/who")) == "user=bob role=customer note=None"
    assert text(await other_client.get("/one/who")) == "user=bob role=customer note=None"


@pytest.mark.gen_test
async def test_a_revocation_written_by_another_process_is_seen_at_once(
    client: CookieClient, revocations_file: str, clock
):
    await client.get("/one/login/ann")
    clock.advance(1)
    program = (
        "import sys; from sessions import SQLiteRevocations\n"
        "import asyncio\n"
        "table = SQLiteRevocations(sys.argv[1], clock=lambda: float(sys.argv[2]))\n"
        "asyncio.run(table.revoke('app', 'ann'))\n"
    )
    subprocess.run([sys.executable, "-c", program, revocations_file, str(clock())], cwd=HERE, check=True, timeout=60)
    assert text(await client.get("/one/who")) == "user=None role=None note=None"


@pytest.mark.gen_test
async def test_a_revocation_only_moves_forward(tmp_path: Path):
    times = iter([100.0, 50.0, 50.0, 60.0])
    table = SQLiteRevocations(str(tmp_path / "r.sqlite3"), clock=lambda: next(times))
    await table.revoke("app", "ann")
    await table.revoke("app", "ann")  # a second process whose clock is behind
    assert await table.valid_after("app", "ann") == 100.0
    assert await table.valid_after("app", "bob") is None
    assert await table.valid_after("other", "ann") is None
    await table.revoke("app", None)
    assert await table.valid_after("app", "bob") == 50.0
    await table.revoke("app", "*")  # a user named like the namespace-wide key is still one user
    assert await table.valid_after("app", "carol") == 50.0
    table.close()


def test_a_cookie_only_store_without_an_absolute_timeout_is_refused():
    codec = EncryptedCodec(KeyRing([SECRET]), max_age=timedelta(hours=8))
    with pytest.raises(ValueError, match="needs an absolute_timeout"):
        SessionManager(store=CookieStore(), codec=codec, absolute_timeout=None)
