"""``SessionXSRFMixin``: Tornado's XSRF tokens bound to the session, opt-in.

::

    class AccountHandler(SessionXSRFMixin, SessionMixin, tornado.web.RequestHandler):
        ...   # xsrf_form_html() and the _xsrf check now use the session-bound token

Tornado's own token is a double-submit cookie that any session could present;
this one is an HMAC of the session ID (``xsrf.py``), so a token from another
session is refused and ``regenerate()`` (login) rotates it. A visitor without a
session gets Tornado's token. Like Tornado's, the masked token is computed once
per request (for the session ID it was made for), so a page with many forms
masks it once.
"""

from __future__ import annotations

from tornado.web import HTTPError

from . import xsrf
from .mixin import SessionMixin


class SessionXSRFMixin(SessionMixin):
    """Put it before ``SessionMixin``; it needs ``xsrf_cookies=True`` like Tornado's own check."""

    #: (session ID, masked token) of this request; made again only if the session's ID changes.
    _session_xsrf: tuple[str, bytes] | None = None

    @property
    def xsrf_token(self) -> bytes:
        """Tornado's masked XSRF token, derived from the session when there is one.

        Keyed with the newest of the application's ``xsrf_session_secrets``, else
        its ``cookie_secret``; ``xsrf_form_html()`` keeps working.
        """
        secrets, session_id = self._xsrf_binding_inputs()
        if session_id is None:
            return super().xsrf_token
        if self._session_xsrf is None or self._session_xsrf[0] != session_id:
            self._session_xsrf = session_id, xsrf.mask(xsrf.binding(secrets[0], session_id))
        return self._session_xsrf[1]

    def check_xsrf_cookie(self) -> None:
        """Accept a token made under any secret of the ring: a form rendered before a rotation still posts."""
        secrets, session_id = self._xsrf_binding_inputs()
        if session_id is None:
            super().check_xsrf_cookie()
            return
        token = (
            self.get_argument("_xsrf", None)
            or self.request.headers.get("X-Xsrftoken")
            or self.request.headers.get("X-Csrftoken")
        )
        if not token:
            raise HTTPError(403, "'_xsrf' argument missing from POST")
        if not any(xsrf.matches(token, xsrf.binding(secret, session_id)) for secret in secrets):
            raise HTTPError(403, "XSRF token does not match this session")

    def _xsrf_binding_inputs(self) -> tuple[list[xsrf.Secret], str | None]:
        """The token secrets (newest first) and the session ID tokens are bound to (``None``: no binding)."""
        secrets = xsrf.secrets_from_settings(self.settings)
        if not secrets:
            return secrets, None
        return secrets, self.get_session_manager().request_session_id(self)
