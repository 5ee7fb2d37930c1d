"""The session manager (Iris's ``Sessions``): the request-level life of a session.

One request's path through it::

    cookie -> codec.decode -> ID format check -> store.load -> expiry check -> Session
    ... handler reads and writes the Session ...
    Session journal -> store.save -> Set-Cookie (only when it changed) -> response

The manager works with any Tornado ``RequestHandler``; ``SessionMixin`` calls
``save()`` for you before the response leaves. Everything one request knows
about its session is one ``RequestState`` on the handler, so nothing here is
shared between requests except the store. The manager talks to a ``Session``
only through its "manager's side" methods (``take_journal``, ``saved``...).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from tornado.web import RequestHandler

from . import expiry
from .codecs import CookieCodec, Decoded
from .config import KEEP, Config, Duration, Keep
from .cookies import CookieAttributes, delete_cookie_header, read_cookie_values
from .errors import (
    SessionDestroyedError,
    SessionGoneError,
    SessionNotFoundError,
    StoreUnavailableError,
)
from .ids import fingerprint, is_valid_session_id
from .limits import session_cookie, size_limit
from .record import Journal, Meta, Record
from .session import Session
from .stores.base import SessionStore
from .stores.memory import MemoryStore

log = logging.getLogger("sessions")
T = TypeVar("T")
DestroyListener = Callable[[str], object]

#: The handler attribute holding the request's ``RequestState``. Read and set with getattr/setattr,
#: never through ``handler.__dict__``: on CPython 3.11 touching an object's ``__dict__`` turns its
#: inline attribute values into a dict, and every later ``self.x`` in Tornado's handler code got
#: 2.6 times slower (timeit): read-memory 1,100k -> 1,087k, write-memory 1,178k -> 1,165k instructions per request.
_STATE_ATTRIBUTE = "_session_state"
#: The handler attribute holding the request's cookie values, decoded: the XSRF check of a
#: POST and the load that follows it share one decoding (an AES decryption for encrypted cookies).
_DECODED_ATTRIBUTE = "_session_cookie_decoded"
#: The handler attribute holding what ``expect_session()`` asked of the load: (manager, session ID, refusal).
_EXPECTED_ATTRIBUTE = "_session_expected"


class CookieAction(enum.Enum):
    """What the response does to the browser's session cookie."""

    KEEP = "keep"  # send nothing: the browser's cookie is right
    SET = "set"  # send the session's cookie (new, changed, re-encrypted or with a new expiry)
    DELETE = "delete"  # expire it: it opens nothing, or the session was destroyed


@dataclass(eq=False)
class RequestState:
    """What one request knows about its session: one per request, on the handler.

    It refers to nothing that refers back to the handler, so a finished request
    leaves no reference cycle for the garbage collector.
    """

    manager: SessionManager
    session: Session | None
    #: What the session's cookie should carry (before encoding): the loaded cookie's, then each save's.
    payload: str | None = None
    #: What the browser's cookie carries and needs sending again for; ``None``: the browser
    #: needs a cookie (it has none, or its cookie is under an old key or has an old expiry).
    browser_payload: str | None = None
    #: The browser holds a cookie that must go: proven dead at load, or its session destroyed.
    stale_cookie: bool = False
    previous_id: str | None = None  # the ID regenerate() replaced, until a save moves the record
    expiry_changed: bool = False  # update_expiration() ran since the last save
    headers_sent: bool = False  # Cache-Control and Vary are on the response

    def cookie_action(self) -> CookieAction:
        """What the response does to the cookie: the one place this is decided."""
        if self.session is not None and self.payload is not None and self.payload != self.browser_payload:
            return CookieAction.SET
        return CookieAction.DELETE if self.stale_cookie else CookieAction.KEEP

    def cookie_sent(self, action: CookieAction) -> None:
        """The response carries ``action``: the browser's cookie is now what it says."""
        if action is not CookieAction.KEEP:
            self.browser_payload = self.payload if action is CookieAction.SET else None
            self.stale_cookie = False


class SessionManager:
    """Starts, saves, expires, regenerates and destroys sessions for one cookie name."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        cookie_name: str | Keep = KEEP,
        namespace: str | None | Keep = KEEP,
        expires: Duration | None | Keep = KEEP,
        idle_timeout: Duration | None | Keep = KEEP,
        absolute_timeout: Duration | None | Keep = KEEP,
        allow_reclaim: bool | Keep = KEEP,
        clear_site_data: bool | Keep = KEEP,
        max_session_bytes: int | None | Keep = KEEP,
        cookie: CookieAttributes | Keep = KEEP,
        id_generator: Callable[[], str] | Keep = KEEP,
        store: SessionStore | Keep = KEEP,
        codec: CookieCodec | Keep = KEEP,
        clock: Callable[[], float] | Keep = KEEP,
        xsrf_secrets: Sequence[str | bytes] | Keep = KEEP,
    ) -> None:
        """Take a ``Config``, or its fields as keywords (``SessionManager(cookie_name="x")``), or both.

        A keyword replaces the config's field; each is typed, so a type checker
        and an editor know them (a misspelt one is an error). ``Config`` checks
        the values: a duration is a ``timedelta`` or a number of seconds.
        """
        options: dict[str, Any] = {  # typed above; Config.__post_init__ checks the values again
            "cookie_name": cookie_name,
            "namespace": namespace,
            "expires": expires,
            "idle_timeout": idle_timeout,
            "absolute_timeout": absolute_timeout,
            "allow_reclaim": allow_reclaim,
            "clear_site_data": clear_site_data,
            "max_session_bytes": max_session_bytes,
            "cookie": cookie,
            "id_generator": id_generator,
            "store": store,
            "codec": codec,
            "clock": clock,
            "xsrf_secrets": xsrf_secrets,
        }
        given = {name: value for name, value in options.items() if value is not KEEP}
        config = config or Config()
        config = dataclasses.replace(config, **given) if given else config
        #: Where this manager's sessions live: the config's store, else a memory store of its own.
        self.store: SessionStore = MemoryStore() if config.store is None else config.store
        self.config = dataclasses.replace(config, store=self.store) if config.store is None else config
        #: Where this manager's sessions live in the store (see ``Config.namespace``).
        self.namespace = self.config.store_namespace
        self._listeners: list[DestroyListener] = []
        #: The size limit of this manager's sessions, by whether their cookie is ``Secure``
        #: (which a cookie-only session's size counts); chosen once, from the config.
        self._size_limits = {secure: size_limit(self.config, self.store, secure) for secure in (False, True)}

    def on_destroy(self, listener: DestroyListener) -> None:
        """Call ``listener(session_id)`` whenever a session is destroyed or found expired."""
        self._listeners.append(listener)

    # -- per request -------------------------------------------------------

    async def start(self, handler: RequestHandler) -> Session:
        """Return this request's session, loading it on first use.

        Calling it again in the same request returns the same object. A cookie
        that does not lead to a live stored session (unknown, expired, tampered)
        is never adopted: a fresh session starts instead, created in the store
        only when something is written to it.
        """
        state = self._state(handler)
        if state is None:
            state = await self._load(handler)
        if state.session is None:  # only after destroy(): a load always starts a session
            if not self.config.allow_reclaim:
                raise SessionDestroyedError("this request destroyed its session and allow_reclaim is off")
            state.session = self._new_session(handler)
        return state.session

    def current(self, handler: RequestHandler) -> Session | None:
        """The session this request started, without loading one."""
        state = self._state(handler)
        return None if state is None else state.session

    def request_session_id(self, handler: RequestHandler) -> str | None:
        """The ID of the session this request holds or will hold, without store I/O.

        That is the started session's ID once it is (or is about to be) stored,
        otherwise the first well-formed ID among the values of the request's
        cookie. ``None`` for a visitor with no session. Used to bind XSRF tokens
        to the session.
        """
        state = self._state(handler)
        if state is not None:
            session = state.session
            if session is not None and (session.stored or session.has_changes()):
                return session.id
            return None
        return next(iter(self.cookie_session_ids(handler)), None)

    def cookie_session_ids(self, handler: RequestHandler) -> list[str]:
        """The well-formed session IDs among the values of the request's cookie, in order, without store I/O.

        Any of them may be dead: only the load tells which one, if any, opens a live session.
        """
        ids = (
            None if decoded is None else self.store.session_id(decoded.payload)
            for decoded in self._decoded_cookie(handler)
        )
        return [session_id for session_id in ids if session_id is not None]

    def expect_session(self, handler: RequestHandler, session_id: str | None, refusal: Exception) -> None:
        """Make this request's load raise ``refusal`` if it opens a stored session other than ``session_id``.

        ``None`` allows no stored session, only a fresh one. A check that runs
        before the load (Tornado's XSRF check runs before ``prepare()``) cannot
        know which of the cookie's values leads to a live session; it states
        what it vouched for, and the load, which does know, holds the request to it.
        """
        if self._state(handler) is not None:
            raise RuntimeError("expect_session() must come before the session is loaded")
        setattr(handler, _EXPECTED_ATTRIBUTE, (self, session_id, refusal))

    def has_pending_write(self, handler: RequestHandler) -> bool:
        """Tell whether ``save()`` has anything to send to the store."""
        state = self._state(handler)
        return state is not None and state.session is not None and self._needs_write(state)

    async def save(self, handler: RequestHandler) -> None:
        """Send this request's changes to the store, then set the response headers.

        Must run before the response's headers leave; ``SessionMixin`` sees to it.
        """
        state = self._state(handler)
        if state is None:
            return
        if state.session is not None and self._needs_write(state):
            await self._write(state)
        self.write_headers(handler)

    def write_headers(self, handler: RequestHandler) -> None:
        """Add ``Set-Cookie`` (only if the cookie changed) and the cache headers."""
        state = self._state(handler)
        if state is None:
            return
        action = state.cookie_action()
        if action is CookieAction.SET:
            assert state.session is not None
            assert state.payload is not None
            now = self.config.clock()
            header = session_cookie(self.config, self._secure(handler), state.payload, state.session.meta, now)
            handler.add_header("Set-Cookie", header)
        elif action is CookieAction.DELETE:
            name, attributes = self.config.cookie_name, self.config.cookie
            handler.add_header("Set-Cookie", delete_cookie_header(name, attributes, self._secure(handler)))
        state.cookie_sent(action)
        if not state.headers_sent:
            handler.set_header("Cache-Control", "no-store")
            handler.add_header("Vary", "Cookie")
            state.headers_sent = True

    async def destroy(self, handler: RequestHandler) -> None:
        """Delete the request's session from the store now and expire its cookie."""
        state = self._state(handler) or await self._load(handler)
        session = state.session
        if session is not None and session.stored:
            for session_id in {stored_id for stored_id in (session.id, state.previous_id) if stored_id is not None}:
                await self._destroy_stored(session_id)
        state.session = state.payload = state.previous_id = None
        state.stale_cookie = bool(self._decoded_cookie(handler))
        if self.config.clear_site_data:
            handler.set_header("Clear-Site-Data", '"cache", "cookies", "storage"')

    async def destroy_by_id(self, session_id: str) -> bool:
        """Delete a session by its ID; its holder gets a fresh session next time."""
        return is_valid_session_id(session_id) and await self._destroy_stored(session_id)

    async def destroy_all(self) -> None:
        """Delete every session of this manager (destroy listeners are not called).

        Other managers' sessions in the same store stay: each lives in its own namespace.
        """
        await self._store(self.store.destroy_all(self.namespace))
        log.info("destroyed all %s sessions in the %s store", self.namespace, self.store.name)

    async def destroy_user(self, user: str) -> int:
        """Destroy every session of ``user`` ("log out everywhere"); return how many there were.

        A session belongs to a user once a handler sets ``session.user`` (at login).
        Only this manager's sessions are reached: a login is a manager's affair, and
        another manager that records the same user name keeps its sessions.
        """
        destroyed = await self._store(self.store.destroy_user(self.namespace, user))
        for session_id in destroyed:
            log.info("session %s destroyed (all sessions of its user)", fingerprint(session_id))
            self._notify_destroyed(session_id)
        return len(destroyed)

    async def update_expiration(self, handler: RequestHandler, duration: timedelta | None) -> None:
        """Make the session end ``duration`` from now, on the server and in the cookie.

        ``None`` makes it a browser-session cookie with no fixed end. The
        absolute timeout still applies. Raises ``SessionNotFoundError`` when the
        request has no session to extend.
        """
        session = await self.start(handler)
        if not session.stored and not session.has_changes():
            raise SessionNotFoundError()
        now = self.config.clock()
        session.meta.deadline = None if duration is None else now + duration.total_seconds()
        self._started(handler).expiry_changed = True

    async def shift_expiration(self, handler: RequestHandler) -> None:
        """Extend the session by the configured ``expires`` from now."""
        await self.update_expiration(handler, self.config.expires)

    async def regenerate(self, handler: RequestHandler) -> Session:
        """Give the session a new ID, keeping its data; the old ID dies when the response is saved.

        Call it on every privilege change (login), so an ID planted before
        login (session fixation) is worthless after it.
        """
        session = await self.start(handler)
        state = self._started(handler)
        if session.stored and state.previous_id is None:
            state.previous_id = session.id
        session.rename(self.store.successor_id(session.id, self._new_id()))
        return session

    # -- internals ------------------------------------------------------------

    def _state(self, handler: RequestHandler) -> RequestState | None:
        """The request's state, once this manager started its session."""
        state: RequestState | None = getattr(handler, _STATE_ATTRIBUTE, None)
        if state is not None and state.manager is not self:
            raise RuntimeError("a request's session comes from one manager; another one started it already")
        return state

    def _started(self, handler: RequestHandler) -> RequestState:
        state = self._state(handler)
        assert state is not None, "start() first"
        return state

    async def _load(self, handler: RequestHandler) -> RequestState:
        """Open the first value of the cookie that leads to a live session, else start a fresh one.

        A browser may send several values under the cookie's name (a sibling
        subdomain can plant one): each is tried in order. The cookie is deleted
        only when every value is proven dead: refused by the codec, malformed, or
        its session found expired. A well-formed ID the store does not know is not
        proof: a concurrent login may have just renamed it, and its answer carries
        the browser's new cookie, which a deletion here could overtake.
        """
        state = RequestState(self, None)
        values = self._decoded_cookie(handler)
        all_dead = True
        for decoded in values:
            opened, dead = await self._open(decoded)
            if opened is not None and decoded is not None:
                state.session = self._session(handler, *opened, stored=True)
                state.payload = decoded.payload
                # A cookie under an old key (or near its max_age) is sent again, re-encrypted.
                state.browser_payload = None if decoded.reissue else state.payload
                break
            all_dead = all_dead and dead
        else:
            state.session = self._new_session(handler)
            state.stale_cookie = bool(values) and all_dead
        self._hold_to_expectation(handler, state.session)
        setattr(handler, _STATE_ATTRIBUTE, state)
        return state

    def _hold_to_expectation(self, handler: RequestHandler, session: Session) -> None:
        """Raise the refusal ``expect_session()`` left if the load opened another stored session."""
        expected: tuple[SessionManager, str | None, Exception] | None = getattr(handler, _EXPECTED_ATTRIBUTE, None)
        if expected is not None and expected[0] is self and session.stored and session.id != expected[1]:
            raise expected[2]

    def _decoded_cookie(self, handler: RequestHandler) -> list[Decoded | None]:
        """The request's values of the cookie, decoded (``None``: refused by the codec), once per request."""
        cached: tuple[SessionManager, list[Decoded | None]] | None = getattr(handler, _DECODED_ATTRIBUTE, None)
        if cached is not None and cached[0] is self:
            return cached[1]
        name, codec = self.config.cookie_name, self.config.codec
        decoded = [codec.decode(name, raw) for raw in read_cookie_values(handler.request, name)]
        setattr(handler, _DECODED_ATTRIBUTE, (self, decoded))
        return decoded

    async def _open(self, decoded: Decoded | None) -> tuple[tuple[str, Record] | None, bool]:
        """The live session ``(ID, record)`` one decoded cookie value opens, if any, and whether it is proven dead."""
        opened = None if decoded is None else await self._store(self.store.open(self.namespace, decoded.payload))
        if decoded is None or opened is None:
            log.info("rejected a %s cookie: not issued here, or its session is gone", self.config.cookie_name)
            return None, decoded is None or self.store.session_id(decoded.payload) is None
        session_id, record = opened
        if expiry.is_expired(self.config, record.meta):
            log.info("session %s expired", fingerprint(session_id))
            await self._destroy_stored(session_id)
            return None, True
        return opened, False

    def _needs_write(self, state: RequestState) -> bool:
        session = state.session
        assert session is not None
        if session.has_changes():
            return True
        if not session.stored:
            return False
        return state.expiry_changed or state.previous_id is not None or expiry.touch_due(self.config, session.meta)

    async def _write(self, state: RequestState) -> None:
        session = state.session
        assert session is not None
        session.check_size()
        meta = session.meta
        expiry.touched(self.config, meta, self.config.clock())
        user_written = session.user_changed
        journal = session.take_journal(meta.copy(), state.previous_id)
        try:
            counted = await self._store(self.store.save(self.namespace, session.id, journal))
        except SessionGoneError:
            if journal.previous_id is None or not (journal.sets or journal.increments or user_written):
                # Destroyed (logout) or renamed (a login) by another request: that request's
                # answer decides the cookie, so this one neither resurrects nor deletes it.
                log.info("session %s ended while a request ran: its changes are dropped", fingerprint(session.id))
                state.session = None
                return
            journal, counted = await self._save_fresh(session, journal, user_written)
        self._log_saved(session, journal)
        session.saved(counted)
        payload = self.store.payload(self.namespace, session.id, session.record(journal.meta))
        if state.expiry_changed:
            state.browser_payload = None  # the browser's cookie has the old Max-Age
        state.payload, state.previous_id, state.expiry_changed = payload, None, False

    async def _save_fresh(self, session: Session, gone: Journal, user_written: bool) -> tuple[Journal, dict[str, str]]:
        """Save a login (a regenerate that wrote something) whose old session vanished mid-request, as a new session.

        Two logins at once from one browser (a double click) race: the first
        renames the old session, the second then finds it gone. The second still
        logs the browser in, with only what it wrote itself (never the vanished
        session's other values, which may have been destroyed on purpose), so
        whichever answer the browser applies last leaves it logged in.
        """
        meta = self._fresh_meta()
        meta.user = gone.meta.user if user_written else None
        meta.expires_at = expiry.expires_at(self.config, meta)
        journal = Journal(meta, create=True, sets=gone.sets, increments=gone.increments)
        log.info("session %s vanished during regenerate(): starting a fresh one", fingerprint(str(gone.previous_id)))
        counted = await self._store(self.store.save(self.namespace, session.id, journal))
        session.restart(Record(dict(gone.sets), meta.copy()))
        return journal, counted

    def _log_saved(self, session: Session, journal: Journal) -> None:
        if journal.create:
            log.info("session %s created", fingerprint(session.id))
        elif journal.previous_id is not None:
            log.info("session %s regenerated as %s", fingerprint(journal.previous_id), fingerprint(session.id))

    async def _destroy_stored(self, session_id: str) -> bool:
        existed = await self._store(self.store.destroy(self.namespace, session_id))
        if existed:
            log.info("session %s destroyed", fingerprint(session_id))
            self._notify_destroyed(session_id)
        return existed

    def _notify_destroyed(self, session_id: str) -> None:
        for listener in self._listeners:
            try:
                listener(session_id)
            except Exception:
                log.exception("a destroy listener failed")

    async def _store(self, operation: Awaitable[T]) -> T:
        """Await a store operation, logging an outage once and its recovery once."""
        try:
            result = await operation
        except StoreUnavailableError as exc:
            if not self.store.unavailable:
                self.store.unavailable = True
                log.error("session store %s is unavailable: %s", self.store.name, exc)
            raise
        if self.store.unavailable:
            self.store.unavailable = False
            log.warning("session store %s is available again", self.store.name)
        return result

    def _new_session(self, handler: RequestHandler) -> Session:
        """A session that exists only in this request until something is written to it."""
        return self._session(handler, self._new_id(), Record({}, self._fresh_meta()), stored=False)

    def _fresh_meta(self) -> Meta:
        """The timestamps of a session that starts now."""
        now, expires = self.config.clock(), self.config.expires
        return Meta(created=now, touched=now, deadline=None if expires is None else now + expires.total_seconds())

    def _session(self, handler: RequestHandler, session_id: str, record: Record, *, stored: bool) -> Session:
        return Session(session_id, record, stored=stored, limit=self._size_limits[self._secure(handler)])

    def _new_id(self) -> str:
        session_id = self.config.id_generator()
        if not is_valid_session_id(session_id):
            raise ValueError("id_generator must return 43 to 128 URL-safe base64 characters")
        return session_id

    # -- the cookie -----------------------------------------------------------

    def _secure(self, handler: RequestHandler) -> bool:
        return self.config.cookie.is_secure(handler.request, self.config.cookie_name)
