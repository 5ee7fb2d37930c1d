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
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from tornado.web import RequestHandler

from .config import Config
from .cookies import delete_cookie_header, read_cookie, set_cookie_header
from .errors import (
    SessionDestroyedError,
    SessionGoneError,
    SessionNotFoundError,
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
            state.session = self._new_session()
        return state.session

    def current(self, handler: RequestHandler) -> Session | None:
        """The session this request started, without loading one."""
        state = _states(handler).get(self)
        return None if state is None else state.session

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
        name, attributes = self.config.cookie_name, self.config.cookie
        secure = attributes.is_secure(handler.request, name)
        if state.send_cookie and state.session is not None and state.payload is not None:
            now = self.config.clock()
            value = self.config.codec.encode(name, state.payload)
            max_age = self._cookie_max_age(state.session._meta, now)
            handler.add_header("Set-Cookie", set_cookie_header(name, value, attributes, secure, max_age, now))
        elif state.delete_cookie:
            handler.add_header("Set-Cookie", delete_cookie_header(name, attributes, secure))
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

    async def destroy_by_id(self, session_id: str) -> bool:
        """Delete a session by its ID; its holder gets a fresh session next time."""
        return is_valid_session_id(session_id) and await self._destroy_stored(session_id)

    async def destroy_all(self) -> None:
        """Delete every session in the store (destroy listeners are not called)."""
        await self._store(self.store.destroy_all())
        log.info("destroyed all sessions in the %s store", self.store.name)

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
        raw = read_cookie(handler.request, self.config.cookie_name)
        if raw is None:
            return _RequestState(self._new_session(), had_cookie=False)
        decoded = self.config.codec.decode(self.config.cookie_name, raw)
        opened = None if decoded is None else await self._store(self.store.open(decoded.payload))
        if opened is None:
            log.info("rejected a %s cookie: not issued here, or its session is gone", self.config.cookie_name)
            return _RequestState(self._new_session(), had_cookie=True, delete_cookie=True)
        session_id, record = opened
        if self._is_expired(record.meta):
            log.info("session %s expired", fingerprint(session_id))
            await self._destroy_stored(session_id)
            return _RequestState(self._new_session(), had_cookie=True, delete_cookie=True)
        session = Session(session_id, record, self.config.clock())
        return _RequestState(session, had_cookie=True, payload=decoded.payload, send_cookie=decoded.reissue)

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
        meta = session._meta
        meta.touched = self.config.clock()
        meta.expires_at = self._expires_at(meta)
        journal = session._take_journal(meta.copy(), state.previous_id)
        try:
            counted = await self._store(self.store.save(session.id, journal))
        except SessionGoneError:
            log.info("session %s was destroyed while a request ran: its changes are dropped", fingerprint(session.id))
            state.session, state.send_cookie, state.delete_cookie = None, False, state.had_cookie
            return
        self._log_saved(session, journal)
        session._saved(counted)
        payload = self.store.payload(session.id, Record(session._fields, journal.meta))
        state.send_cookie |= payload != state.payload or state.expiry_changed
        state.payload, state.previous_id, state.expiry_changed = payload, None, False

    def _log_saved(self, session: Session, journal: Journal) -> None:
        if journal.create:
            log.info("session %s created", fingerprint(session.id))
        elif journal.previous_id is not None:
            log.info("session %s regenerated as %s", fingerprint(journal.previous_id), fingerprint(session.id))

    async def _destroy_stored(self, session_id: str) -> bool:
        existed = await self._store(self.store.destroy(session_id))
        if existed:
            log.info("session %s destroyed", fingerprint(session_id))
            for listener in self._listeners:
                try:
                    listener(session_id)
                except Exception:
                    log.exception("a destroy listener failed")
        return existed

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

    def _new_session(self) -> Session:
        """A session not yet in the store; ``expires`` (Iris's ``Expires``) counts from now."""
        session = Session(self._new_id(), None, self.config.clock())
        if self.config.expires is not None:
            session._meta.deadline = session._meta.created + self.config.expires.total_seconds()
        return session

    def _new_id(self) -> str:
        session_id = self.config.id_generator()
        if not is_valid_session_id(session_id):
            raise ValueError("id_generator must return 43 to 128 URL-safe base64 characters")
        return session_id

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
