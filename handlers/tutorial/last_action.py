"""What the learner's last click did, shown at the top of the step page it leads back to.

A step page's buttons post to an action route, which redirects back to the page
(post/redirect/get). The page loaded after the redirect cannot see the POST's
answer, so the action writes a short report of it (the request, the status, the
session cookie's ``Set-Cookie`` and what changed in the session) into a cookie
of the tutorial, and the page shows it once, then clears it, as a flash is read
once. The report is deliberately not kept in the session:

* the inspector shows the session, and a hidden record in it would teach
  something false (and would create a session for a click that created none);
* it must survive an action that destroyed the session (log out, destroy).

The cookie is signed with the app's ``cookie_secret`` (a page shows only what
this app wrote), lives 60 seconds, is sent only to the step page's path, and is
written only for a browser (a request that accepts ``text/html``): ``curl``
gets exactly Iris's answers. It never holds a session ID: cookie values in it
are masked, and sessions are compared on the server before it is written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any

from tornado.web import RequestHandler

from sessions import SessionManager
from sessions.cookies import read_cookie

from .readable import describe_time, flash_label

#: The tutorial's own cookie that carries the report from the POST to the page.
COOKIE_NAME = "tutorial_last_action"
#: The redirect is followed at once; a report older than this is about something else.
LIFETIME_SECONDS = 60
#: Bounds that keep the signed cookie well under a browser's 4096 bytes, whatever was posted:
#: a report's JSON grows by a third in base64, and Tornado's signature and the attributes add ~200 bytes.
MAX_CHANGES, MAX_TEXT, MAX_KEY, MAX_REPORT_BYTES = 8, 48, 64, 2400  # a key: the form allows 64
#: How much of a refused form's field the report keeps to refill it: the longest message the flash form takes.
MAX_TYPED = 500
#: How many characters of a cookie value the report shows: enough to tell two apart, too few to use.
SHOWN_CHARACTERS = 6


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class SessionView:
    """One session as the report compares it, before or after an action; only ever held in memory."""

    session_id: str | None = None  # None: no stored session
    values: dict[str, str] = field(default_factory=dict)  # key -> JSON text
    flashes: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    expires_at: float | None = None


def view_session(handler: RequestHandler, manager: SessionManager) -> SessionView:
    """The session this request holds now (after ``get_session()``), through the manager's public API."""
    session = manager.current(handler)
    session_id = manager.request_session_id(handler)
    if session is None or session_id is None:
        return SessionView()
    values, flashes = _json_texts(session.get_all()), _json_texts(session.peek_flashes())
    return SessionView(session_id, values, flashes, session.user, session.expires_at)


def _json_texts(items: dict[str, Any]) -> dict[str, str]:
    return {key: json.dumps(value, ensure_ascii=False) for key, value in items.items()}


@dataclass
class Change:
    """One line of the session diff: a value, a flash, the user or the expiry, added, changed or removed."""

    what: str
    change: str
    key: str = ""
    before: str | None = None
    after: str | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return flash_label(self.key) if self.what == "flash" else self.key


def _diff_items(what: str, before: dict[str, str], after: dict[str, str]) -> list[Change]:
    changes = []
    for key in [*before, *(key for key in after if key not in before)]:
        old, new = before.get(key), after.get(key)
        if old != new:
            change = "added" if old is None else "removed" if new is None else "changed"
            changes.append(Change(what, change, shorten(key, MAX_KEY), old and shorten(old), new and shorten(new)))
    return changes


def session_diff(before: SessionView, after: SessionView, now: float) -> list[Change]:
    """What an action changed in the session, values first."""
    changes = _diff_items("value", before.values, after.values) + _diff_items("flash", before.flashes, after.flashes)
    if before.user != after.user:
        changes.append(Change("user", "changed", before=before.user, after=after.user))
    if after.session_id is not None and before.session_id is not None and before.expires_at != after.expires_at:
        changes.append(expiry_change(before.expires_at, after.expires_at, now))
    return changes


def expiry_change(before: float | None, after: float | None, now: float) -> Change:
    """The server-side expiry's move; ``note`` says by how much (an idle timeout slides it by seconds)."""
    note = ""
    if before is not None and after is not None:
        moved = after - before
        seconds = round(abs(moved))
        span = f"{round(seconds / 60)} min" if seconds >= 60 else f"{seconds} s" if seconds else "under a second"
        note = f"{span} later" if moved >= 0 else f"{span} earlier"
    return Change("expiry", "changed", before=describe_time(before, now), after=describe_time(after, now), note=note)


def session_fate(before: SessionView, after: SessionView) -> str:
    """What happened to the session as a whole: created, destroyed, regenerated, kept or none."""
    if before.session_id is None:
        return "none" if after.session_id is None else "created"
    if after.session_id is None:
        return "destroyed"
    return "kept" if after.session_id == before.session_id else "regenerated"


#: What happened to the session as a whole, in words.
FATES = {
    "created": "created: stored on the server for the first time",
    "destroyed": "destroyed on the server: a copy of the old cookie opens nothing now",
    "regenerated": "the same data under a new ID; the old ID is deleted",
    "kept": "the same session",
    "none": "none, before or after: nothing was stored",
}


def mask_cookie(header: str) -> str:
    """A ``Set-Cookie`` header with most of its value hidden: the report must not carry a session ID."""
    pair, _, attributes = header.partition(";")
    name, _, value = pair.partition("=")
    shown = value if len(value) <= SHOWN_CHARACTERS else value[:SHOWN_CHARACTERS] + "…"
    return f"{name}={shown};{attributes}" if attributes else f"{name}={shown}"


@dataclass
class CookieChange:
    """The session cookie's ``Set-Cookie`` in the action's answer, classified."""

    kind: str  # new, changed, deleted or none
    header: str  # masked; "" when there was none
    why: str


def classify_cookie(
    name: str, set_cookies: list[str], sent: str | None, before: SessionView, after: SessionView
) -> CookieChange:
    """Classify the answer's ``Set-Cookie`` for ``name`` against the cookie the browser ``sent``."""
    headers = [header for header in set_cookies if header.startswith(f"{name}=")]
    if not headers:
        if sent is None:
            return CookieChange("none", "", "no Set-Cookie, and your browser holds no cookie: nothing was stored")
        return CookieChange("none", "", "no Set-Cookie: your browser keeps the cookie it has, unchanged")
    header = headers[-1]
    value = header.split(";", 1)[0][len(name) + 1 :]
    masked = mask_cookie(header)
    if value == "":
        return CookieChange("deleted", masked, "your browser drops the cookie: it expired in 1970 (Max-Age=0)")
    if before.session_id is None:
        return CookieChange("new", masked, "a new session was stored, and your browser got its ID")
    if after.session_id != before.session_id:
        return CookieChange("changed", masked, "a new session ID for the same data: the old ID is worthless now")
    expiry = ", with a new expiry (Max-Age counts from now)" if "Max-Age=" in header else ""
    if value != sent:
        return CookieChange("changed", masked, f"the same session, sealed afresh: a new nonce each time{expiry}")
    return CookieChange("changed", masked, f"the same value{expiry}")


@dataclass
class LastAction:
    """The report: what a browser's POST sent, what it got back and what it changed."""

    page: str
    request: str
    fields: str  # the form's fields as posted, without the XSRF token
    status: int
    fate: str
    cookie: CookieChange
    changes: list[Change]
    more: int = 0  # changes left out to keep the cookie small
    refusal: str = ""  # the plain-text refusal curl gets, e.g. "Bad Request: ..."
    refusal_status: int = 0
    ran: str = ""  # the step handler's method that answered, e.g. "Login.get"
    answer: str = ""  # the plain text it wrote, which curl reads
    typed: dict[str, str] = field(default_factory=dict)  # a refused form's fields, so the page can refill them

    @property
    def ran_class(self) -> str:
        return self.ran.partition(".")[0]

    @property
    def fate_text(self) -> str:
        return FATES[self.fate]

    @property
    def reason(self) -> str:
        return HTTPStatus(self.status).phrase

    @property
    def refusal_reason(self) -> str:
        return HTTPStatus(self.refusal_status).phrase if self.refusal_status else ""

    def change_of(self, what: str, key: str) -> str:
        """How the action changed one inspector row (``"added"``, ``"changed"``) or ``""``."""
        return next((c.change for c in self.changes if c.what == what and c.key == key), "")

    def removed(self, what: str) -> list[Change]:
        return [c for c in self.changes if c.what == what and c.change == "removed"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    def fit(self) -> None:
        """Leave changes out (counted in ``more``), then the typed fields, until the report fits its cookie.

        Non-ASCII text weighs more, so the bound is on the encoded JSON, not on characters.
        """
        while self.changes and len(self.to_json().encode()) > MAX_REPORT_BYTES:
            self.changes.pop()
            self.more += 1
        if len(self.to_json().encode()) > MAX_REPORT_BYTES:
            self.typed = {}

    @classmethod
    def from_json(cls, text: str) -> LastAction | None:
        """The report, or ``None`` for one that does not parse (a cookie from an older version of the app)."""
        try:
            data: dict[str, Any] = json.loads(text)
            data["cookie"] = CookieChange(**data["cookie"])
            data["changes"] = [Change(**change) for change in data["changes"]]
            report = cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        known = {status.value for status in HTTPStatus}
        valid = report.fate in FATES and report.status in known and report.refusal_status in known | {0}
        return report if valid else None


def posted_fields(handler: RequestHandler) -> str:
    """The form's fields as ``key=value`` pairs, shortened; the XSRF token says nothing to a learner."""
    pairs = (
        f"{name}={value.decode(errors='replace')}"
        for name, values in handler.request.body_arguments.items()
        if name != "_xsrf"
        for value in values
    )
    return shorten(" ".join(pairs), 2 * MAX_TEXT)


def typed_fields(handler: RequestHandler) -> dict[str, str]:
    """A refused form's fields as typed (the first value of each, at most ``MAX_TYPED`` characters)."""
    return {
        name: values[0].decode(errors="replace")[:MAX_TYPED]
        for name, values in handler.request.body_arguments.items()
        if name != "_xsrf" and values
    }


def build_report(
    handler: RequestHandler,
    manager: SessionManager,
    page: str,
    status: int,
    before: SessionView,
    set_cookies: list[str],
    ran: str = "",
    answer: str = "",
    refusal: tuple[int, str] | None = None,
) -> LastAction:
    """The report of the action ``handler`` answers with ``status``, after its session was saved.

    ``refusal`` is the status and plain text ``curl`` would have got instead.
    """
    after = view_session(handler, manager)
    name = manager.config.cookie_name
    sent = read_cookie(handler.request, name)
    changes = session_diff(before, after, manager.config.clock())
    report = LastAction(
        page=page,
        request=shorten(f"{handler.request.method} {handler.request.path}", 2 * MAX_TEXT),
        fields=posted_fields(handler),
        status=status,
        fate=session_fate(before, after),
        cookie=classify_cookie(name, set_cookies, sent, before, after),
        changes=changes[:MAX_CHANGES],
        more=max(0, len(changes) - MAX_CHANGES),
        ran=ran,
        answer=shorten(answer, 2 * MAX_TEXT),
    )
    if refusal is not None:
        report.refusal_status, report.refusal = refusal[0], shorten(refusal[1], 4 * MAX_TEXT)
        report.typed = typed_fields(handler)
    report.fit()
    return report


def remember(handler: RequestHandler, report: LastAction) -> None:
    """Send the report to the step page in the tutorial's signed, short-lived cookie."""
    handler.set_signed_cookie(
        COOKIE_NAME,
        report.to_json(),
        expires_days=None,
        max_age=LIFETIME_SECONDS,
        path=report.page,
        httponly=True,
        secure=handler.request.protocol == "https",
        samesite="Lax",
    )


def take(handler: RequestHandler) -> LastAction | None:
    """The report for this page, read once: the cookie is cleared, so a reload shows no stale news."""
    if handler.get_cookie(COOKIE_NAME) is None:
        return None
    handler.clear_cookie(COOKIE_NAME, path=handler.request.path)
    signed = handler.get_signed_cookie(COOKIE_NAME, max_age_days=LIFETIME_SECONDS / 86400)
    report = None if signed is None else LastAction.from_json(signed.decode())
    return report if report is not None and report.page == handler.request.path else None
