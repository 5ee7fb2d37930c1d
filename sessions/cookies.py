"""Reading the session cookie from a request and writing ``Set-Cookie`` headers.

We parse the ``Cookie`` header ourselves and build ``Set-Cookie`` lines by hand
instead of going through ``RequestHandler.cookies``/``set_cookie``: those build a
``SimpleCookie`` or ``Morsel`` per request, which costs more than the rest of a
session read (see the benchmarks). One function builds the attributes for both
setting and deleting, so a deletion always matches what was set (Path, Domain,
SameSite, Secure), which is what a browser needs to honour it.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate

from tornado.httputil import HTTPServerRequest

#: What a browser keeps at most per cookie (name, value and attributes).
BROWSER_COOKIE_LIMIT = 4096


@dataclass(frozen=True)
class CookieAttributes:
    """The attributes a session cookie is sent with."""

    path: str = "/"
    domain: str | None = None
    secure: bool | None = None  # None: set it when the request came over HTTPS
    httponly: bool = True
    samesite: str = "Lax"

    def is_secure(self, request: HTTPServerRequest, name: str) -> bool:
        """Secure when asked, when the request is HTTPS (``xheaders`` count), or when it must be.

        Browsers drop a ``__Host-``/``__Secure-`` cookie, or a ``SameSite=None``
        one, that is not ``Secure``; sending it without would lose the session silently.
        """
        if name.startswith(("__Host-", "__Secure-")) or self.samesite == "None":
            return True
        return self.secure if self.secure is not None else request.protocol == "https"


def read_cookie_values(request: HTTPServerRequest, name: str) -> list[str]:
    """Every non-empty value the request sends for cookie ``name``, in the order sent.

    A browser sends several when cookies of one name were set with different
    ``Domain`` or ``Path`` attributes, e.g. one of ours and one a sibling
    subdomain planted for the parent domain. ``parse_cookie`` would keep only
    the last, which may be the planted one.
    """
    header = request.headers.get("Cookie")
    if not header or name not in header:
        return []
    found = []
    for chunk in header.split(";"):
        key, equals, value = chunk.partition("=")
        if equals and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if value:
                found.append(value)
    return found


def read_cookie(request: HTTPServerRequest, name: str) -> str | None:
    """Return the first value of cookie ``name`` in the request, or ``None``."""
    values = read_cookie_values(request, name)
    return values[0] if values else None


def set_cookie_header(
    name: str,
    value: str,
    attributes: CookieAttributes,
    secure: bool,
    max_age: int | None,
    now: float,
) -> str:
    """Return a ``Set-Cookie`` value; ``max_age=None`` makes a browser-session cookie."""
    parts = [f"{name}={value}"]
    if max_age is not None:
        parts.append(f"Expires={formatdate(now + max_age, usegmt=True)}")
        parts.append(f"Max-Age={max_age}")
    parts.append(f"Path={attributes.path}")
    if attributes.domain:
        parts.append(f"Domain={attributes.domain}")
    if attributes.httponly:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    parts.append(f"SameSite={attributes.samesite}")
    return "; ".join(parts)


def delete_cookie_header(name: str, attributes: CookieAttributes, secure: bool) -> str:
    """Return a ``Set-Cookie`` value that makes the browser drop the cookie."""
    return set_cookie_header(name, "", attributes, secure, max_age=0, now=0.0)
