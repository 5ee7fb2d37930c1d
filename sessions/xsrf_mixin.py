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
from .errors import XSRFRefusedError
from .mixin import SessionMixin


class SessionXSRFMixin(SessionMixin):
    """Put it before ``SessionMixin``; it needs ``xsrf_cookies=True`` like Tornado's own check."""

    #: (session ID, masked token) of this request; made again only if the session's ID changes.
    _session_xsrf: tuple[str, bytes] | None = None

    @property
    def xsrf_token(self) -> bytes:
        """Tornado's masked XSRF token, derived from the session when there is one.

        Keyed with the newest of the manager's ``xsrf_secrets``, else the
        application's ``cookie_secret``; ``xsrf_form_html()`` keeps working.
        """
        secrets, session_id = self._xsrf_binding_inputs()
        if session_id is None:
            return super().xsrf_token
        if self._session_xsrf is None or self._session_xsrf[0] != session_id:
            self._session_xsrf = session_id, xsrf.mask(xsrf.binding(secrets[0], session_id))
        return self._session_xsrf[1]

    def check_xsrf_cookie(self) -> None:
        """Accept the token of the session this request acts on, made under any secret of the ring.

        Tornado runs this check before ``prepare()``, so before the session is
        loaded: it cannot yet know which of the cookie's values (if any) opens
        a live session. It accepts a token made for one of the cookie's session
        IDs, or Tornado's own token, and has the load refuse the request if the
        session it opens is not that one. So a page rendered after its session
        died (a restart, a flushed store, a logout elsewhere) posts fine, and
        ``sid=A; sid=V`` sent with the token of a planted, dead ``A`` does not
        act on ``V``. Every refusal, here or at the load, is an
        ``XSRFRefusedError`` (a 403).
        """
        manager = self.get_session_manager()
        secrets = xsrf.token_secrets(manager.config.xsrf_secrets, self.settings)
        if not secrets:
            self._check_tornados_token()
        elif manager.current(self) is not None:  # checked late, after the load: the session is known
            session_id = manager.request_session_id(self)
            if session_id is None:
                self._check_tornados_token()
            elif not self._xsrf_made_for(secrets, session_id):
                raise XSRFRefusedError()
        elif not (candidates := manager.cookie_session_ids(self)):
            self._check_tornados_token()
        else:
            vouched = next((session_id for session_id in candidates if self._xsrf_made_for(secrets, session_id)), None)
            if vouched is None:  # a page rendered while none of them was live carries Tornado's token
                try:
                    super().check_xsrf_cookie()
                except HTTPError:
                    raise XSRFRefusedError() from None
            manager.expect_session(self, vouched, XSRFRefusedError())

    def _check_tornados_token(self) -> None:
        """Tornado's own double-submit check; its refusal raised as ``XSRFRefusedError``, with its message."""
        try:
            super().check_xsrf_cookie()
        except HTTPError as refused:
            raise XSRFRefusedError(refused.log_message or "XSRF token refused") from None

    def _xsrf_made_for(self, secrets: list[xsrf.Secret], session_id: str) -> bool:
        """Tell whether the submitted token is ``session_id``'s under a secret of the ring."""
        token = self._submitted_xsrf_token()
        return any(xsrf.matches(token, xsrf.binding(secret, session_id)) for secret in secrets)

    def _submitted_xsrf_token(self) -> str:
        """The token the request carries, where Tornado looks for it; refused when there is none."""
        token = (
            self.get_argument("_xsrf", None)
            or self.request.headers.get("X-Xsrftoken")
            or self.request.headers.get("X-Csrftoken")
        )
        if not token:
            raise XSRFRefusedError("'_xsrf' argument missing from POST")
        return token

    def _xsrf_binding_inputs(self) -> tuple[list[xsrf.Secret], str | None]:
        """The token secrets (newest first) and the session ID tokens are bound to (``None``: no binding)."""
        manager = self.get_session_manager()
        secrets = xsrf.token_secrets(manager.config.xsrf_secrets, self.settings)
        if not secrets:
            return secrets, None
        return secrets, manager.request_session_id(self)
