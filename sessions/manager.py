"""The session manager (Iris's ``Sessions``): the request-level life of a session.

One request's path through it::

    cookie -> codec.decode -> ID format check -> store.load -> expiry check -> Session
    ... handler reads and writes the Session ...
    Session journal -> store.save -> Set-Cookie (only when it changed) -> response

The manager works with any Tornado ``RequestHandler``; ``SessionMixin`` calls
``save()`` for you before the response leaves. Everything one request knows
about its session is kept on the handler, so nothing here is shared between
requests except the store.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple, TypeVar

from tornado.web import RequestHandler

from .config import Config
from .codecs import Decoded
from .cookies import BROWSER_COOKIE_LIMIT, delete_cookie_header, read_cookie_values, set_cookie_header
from .errors import (
    SessionDestroyedError,
    SessionGoneError,
    SessionNotFoundError,
    SessionTooLargeError,
    StoreUnavailableError,
)
from .ids import fingerprint, is_valid_session_id
from .record import Journal, Meta, Record
from .session import Session
from .stores.base import SessionStore

log = logging.getLogger("sessions")
T = TypeVar("T")
DestroyListener = Callable[[str], object]

#: The handler attribute holding each manager's per-request state.
_STATE_ATTRIBUTE = "_sessions_state"
#: Stores in an outage, shared by every manager using them, so an outage is logged once
#: per store rather than once per manager (an app has a manager per cookie name).
_stores_down: weakref.WeakSet[SessionStore] = weakref.WeakSet()
#: An idle session is written back (touched) once this share of its idle timeout has passed.
_TOUCH_FRACTION = 0.1


@dataclass
class _RequestState:
    """What one request knows about one manager's session."""

    session: Session | None
    had_cookie: bool
    payload: str | None = None  # what the browser's cookie carries now (before encoding)
    send_cookie: bool = False
    delete_cookie: bool = False
    previous_id: str | None = None
    expiry_changed: bool = False
    headers_sent: bool = False


class _Found(NamedTuple):
    """A cookie value that opened a live stored session."""

    decoded: Decoded
    session_id: str
    record: Record


def _states(handler: RequestHandler) -> dict[SessionManager, _RequestState]:
    return handler.__dict__.setdefault(_STATE_ATTRIBUTE, {})


def started_managers(handler: RequestHandler) -> list[SessionManager]:
    """The managers that started (or destroyed) a session in this request."""
    return list(_states(handler))


class SessionManager:
    """Starts, saves, expires, regenerates and destroys sessions for one cookie name."""

    def __init__(self, config: Config | None = None, **options: object) -> None:
        """Take a ``Config``, or its fields as keywords (``SessionManager(cookie_name="x")``)."""
        config = config or Config()
        self.config = dataclasses.replace(config, **options) if options else config
        #: Where this manager's sessions live in the store (see ``Config.namespace``).
        self.namespace = self.config.store_namespace
        self._listeners: list[DestroyListener] = []

    @property
    def store(self) -> SessionStore:
        return self.config.store

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
        states = _states(handler)
        state = states.get(self)
        if state is None:
            state = states[self] = await self._load(handler)
        elif state.session is None:
            if not self.config.allow_reclaim:
                raise SessionDestroyedError("this request destroyed its session and allow_reclaim is off")
            state.session = self._new_session(handler)
        return state.session

    def current(self, handler: RequestHandler) -> Session | None:
        """The session this request started, without loading one."""
        state = _states(handler).get(self)
        return None if state is None else state.session

    def request_session_id(self, handler: RequestHandler) -> str | None:
        """The ID of the session this request holds or will hold, without store I/O.

        That is the started session's ID once it is (or is about to be) stored,
        otherwise the first well-formed ID among the values of the request's
        cookie. ``None`` for a visitor with no session. Used to bind XSRF tokens
        to the session.
        """
        state = _states(handler).get(self)
        if state is not None:
            session = state.session
            stored = session is not None and (session._stored or session._has_changes())
            return session.id if stored else None
        for raw in read_cookie_values(handler.request, self.config.cookie_name):  # the first well-formed one
            decoded = self.config.codec.decode(self.config.cookie_name, raw)
            session_id = None if decoded is None else self.store.session_id(decoded.payload)
            if session_id is not None:
                return session_id
        return None

    def has_pending_write(self, handler: RequestHandler) -> bool:
        """Tell whether ``save()`` has anything to send to the store."""
        state = _states(handler).get(self)
        return state is not None and state.session is not None and self._needs_write(state)

    async def save(self, handler: RequestHandler) -> None:
        """Send this request's changes to the store, then set the response headers.

        Must run before the response's headers leave; ``SessionMixin`` sees to it.
        """
        state = _states(handler).get(self)
        if state is None:
            return
        if state.session is not None and self._needs_write(state):
            await self._write(state)
        self.write_headers(handler)

    def write_headers(self, handler: RequestHandler) -> None:
        """Add ``Set-Cookie`` (only if the cookie changed) and the cache headers."""
        state = _states(handler)[self]
        if state.send_cookie and state.session is not None and state.payload is not None:
            now = self.config.clock()
            header = self._cookie_header(self._secure(handler), state.payload, state.session._meta, now)
            handler.add_header("Set-Cookie", header)
        elif state.delete_cookie:
            name, attributes = self.config.cookie_name, self.config.cookie
            handler.add_header("Set-Cookie", delete_cookie_header(name, attributes, self._secure(handler)))
        state.send_cookie = state.delete_cookie = False
        if not state.headers_sent:
            handler.set_header("Cache-Control", "no-store")
            handler.add_header("Vary", "Cookie")
            state.headers_sent = True

    async def destroy(self, handler: RequestHandler) -> None:
        """Delete the request's session from the store now and expire its cookie."""
        states = _states(handler)
        state = states.get(self)
        if state is None:
            state = states[self] = await self._load(handler)
        session = state.session
        if session is not None and session._stored:
            for session_id in {session.id, state.previous_id} - {None}:
                await self._destroy_stored(session_id)
        state.session, state.previous_id, state.send_cookie = None, None, False
        state.delete_cookie = state.had_cookie
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
        if not session._stored and not session._has_changes():
            raise SessionNotFoundError()
        now = self.config.clock()
        session._meta.deadline = None if duration is None else now + duration.total_seconds()
        _states(handler)[self].expiry_changed = True

    async def shift_expiration(self, handler: RequestHandler) -> None:
        """Extend the session by the configured ``expires`` from now."""
        await self.update_expiration(handler, self.config.expires)

    async def regenerate(self, handler: RequestHandler) -> Session:
        """Give the session a new ID, keeping its data; the old ID dies when the response is saved.

        Call it on every privilege change (login), so an ID planted before
        login (session fixation) is worthless after it.
        """
        session = await self.start(handler)
        state = _states(handler)[self]
        if session._stored and state.previous_id is None:
            state.previous_id = session.id
        session._rename(self._new_id())
        return session

    # -- internals ------------------------------------------------------------

    async def _load(self, handler: RequestHandler) -> _RequestState:
        """Open the first value of the cookie that leads to a live session, else start a fresh one.

        A browser may send several values under the cookie's name (a sibling
        subdomain can plant one): each is tried in order. The cookie is deleted
        only when every value is proven dead: refused by the codec, malformed, or
        its session found expired. A well-formed ID the store does not know is not
        proof: a concurrent login may have just renamed it, and its answer carries
        the browser's new cookie, which a deletion here could overtake.
        """
        raws = read_cookie_values(handler.request, self.config.cookie_name)
        if not raws:
            return _RequestState(self._new_session(handler), had_cookie=False)
        all_dead = True
        for raw in raws:
            found, dead = await self._open(raw)
            if found is not None:
                session = self._session(handler, found.session_id, found.record, stored=True)
                reissue = found.decoded.reissue
                return _RequestState(session, had_cookie=True, payload=found.decoded.payload, send_cookie=reissue)
            all_dead = all_dead and dead
        return _RequestState(self._new_session(handler), had_cookie=True, delete_cookie=all_dead)

    async def _open(self, raw: str) -> tuple[_Found | None, bool]:
        """The live session one cookie value opens, if any, and whether the value is proven dead."""
        decoded = self.config.codec.decode(self.config.cookie_name, raw)
        opened = None if decoded is None else await self._store(self.store.open(self.namespace, decoded.payload))
        if opened is None:
            log.info("rejected a %s cookie: not issued here, or its session is gone", self.config.cookie_name)
            return None, decoded is None or self.store.session_id(decoded.payload) is None
        session_id, record = opened
        if self._is_expired(record.meta):
            log.info("session %s expired", fingerprint(session_id))
            await self._destroy_stored(session_id)
            return None, True
        return _Found(decoded, session_id, record), False

    def _needs_write(self, state: _RequestState) -> bool:
        session = state.session
        assert session is not None
        if session._has_changes():
            return True
        if not session._stored:
            return False
        return state.expiry_changed or state.previous_id is not None or self._touch_due(session._meta)

    async def _write(self, state: _RequestState) -> None:
        session = state.session
        assert session is not None
        if session._size_guard is not None and not self.store.cookie_only:
            session._size_guard(session, session._fields)  # values grown in place show only now
        meta = session._meta
        meta.touched = self.config.clock()
        meta.expires_at = self._expires_at(meta)
        user_written = session._user_changed
        journal = session._take_journal(meta.copy(), state.previous_id)
        try:
            counted = await self._store(self.store.save(self.namespace, session.id, journal))
        except SessionGoneError:
            if journal.previous_id is None or not (journal.sets or journal.increments or user_written):
                # Destroyed (logout) or renamed (a login) by another request: that request's
                # answer decides the cookie, so this one neither resurrects nor deletes it.
                log.info("session %s ended while a request ran: its changes are dropped", fingerprint(session.id))
                state.session, state.send_cookie = None, False
                return
            journal, counted = await self._save_fresh(session, journal, user_written)
        self._log_saved(session, journal)
        session._saved(counted)
        payload = self.store.payload(session.id, Record(session._fields, journal.meta))
        state.send_cookie |= payload != state.payload or state.expiry_changed
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
        meta.expires_at = self._expires_at(meta)
        journal = Journal(meta, create=True, sets=gone.sets, increments=gone.increments)
        log.info("session %s vanished during regenerate(): starting a fresh one", fingerprint(str(gone.previous_id)))
        counted = await self._store(self.store.save(self.namespace, session.id, journal))
        session._restart(Record(dict(gone.sets), meta.copy()))
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
            if self.store not in _stores_down:
                _stores_down.add(self.store)
                log.error("session store %s is unavailable: %s", self.store.name, exc)
            raise
        if self.store in _stores_down:
            _stores_down.discard(self.store)
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
        session = Session(session_id, record, stored=stored)
        if self.store.cookie_only:
            session._size_guard = functools.partial(self._check_cookie_size, self._secure(handler))
        elif self.config.max_session_bytes is not None:
            session._size_guard = self._check_session_size
        return session

    def _new_id(self) -> str:
        session_id = self.config.id_generator()
        if not is_valid_session_id(session_id):
            raise ValueError("id_generator must return 43 to 128 URL-safe base64 characters")
        return session_id

    # -- the cookie -----------------------------------------------------------

    def _secure(self, handler: RequestHandler) -> bool:
        return self.config.cookie.is_secure(handler.request, self.config.cookie_name)

    def _cookie_header(self, secure: bool, payload: str, meta: Meta, now: float) -> str:
        """Build the ``Set-Cookie`` value; raise ``SessionTooLargeError`` if a browser would drop it."""
        name, attributes = self.config.cookie_name, self.config.cookie
        value = self.config.codec.encode(name, payload)
        header = set_cookie_header(name, value, attributes, secure, self._cookie_max_age(meta, now), now)
        if len(header) > BROWSER_COOKIE_LIMIT:
            raise SessionTooLargeError(len(header), BROWSER_COOKIE_LIMIT, what=f"session cookie {name!r}")
        return header

    def _check_session_size(self, session: Session, fields: dict[str, str]) -> None:
        """Refuse a write that would take a server-side session over ``max_session_bytes``."""
        limit = self.config.max_session_bytes
        assert limit is not None
        size = sum(len(name.encode()) + len(text.encode()) for name, text in fields.items())
        if size > limit:
            raise SessionTooLargeError(size, limit)

    def _check_cookie_size(self, secure: bool, session: Session, fields: dict[str, str]) -> None:
        """Build the cookie ``fields`` would be saved as, exactly as ``save()`` will, to measure it."""
        now = self.config.clock()
        meta = session._meta.copy()
        meta.touched = now
        meta.expires_at = self._expires_at(meta)
        self._cookie_header(secure, self.store.payload(session.id, Record(fields, meta)), meta, now)

    # -- expiry rules --------------------------------------------------------

    def _expires_at(self, meta: Meta) -> float | None:
        """When the server forgets the session: the earliest of its three clocks."""
        idle, absolute = self.config.idle_timeout, self.config.absolute_timeout
        ends = [
            meta.deadline,
            None if idle is None else meta.touched + idle.total_seconds(),
            None if absolute is None else meta.created + absolute.total_seconds(),
        ]
        known = [end for end in ends if end is not None]
        return min(known) if known else None

    def _is_expired(self, meta: Meta) -> bool:
        end = self._expires_at(meta)
        return end is not None and self.config.clock() >= end

    def _touch_due(self, meta: Meta) -> bool:
        idle = self.config.idle_timeout
        if idle is None:
            return False
        return self.config.clock() - meta.touched >= idle.total_seconds() * _TOUCH_FRACTION

    def _cookie_max_age(self, meta: Meta, now: float) -> int | None:
        """Seconds the cookie may live: never past the server-side deadline or absolute end."""
        if meta.deadline is None:
            return None
        end = meta.deadline
        if self.config.absolute_timeout is not None:
            end = min(end, meta.created + self.config.absolute_timeout.total_seconds())
        return max(0, round(end - now))
