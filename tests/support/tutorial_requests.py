"""Requests as the tutorial tells a browser from ``curl``, and the click report a browser's post carries back.

The tutorial answers a request that accepts ``text/html`` (``BROWSER``) with
pages and a report of the click in a signed cookie; ``curl`` sends
``Accept: */*`` (``CURL``) and keeps Iris's plain-text answers.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import HTTPResponse

from handlers.tutorial.last_action import COOKIE_NAME
from tests.support.cookie_client import CookieClient, form_xsrf_token, set_cookies

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CURL = {"Accept": "*/*"}


async def post_as_browser(
    client: CookieClient, page: str, action: str, fields: dict[str, str] | None = None
) -> HTTPResponse:
    """Open ``page`` as a browser and post its form's token (and ``fields``) to ``action``, as its button would."""
    token = form_xsrf_token(await client.get(page, headers=BROWSER))
    body = urlencode({"_xsrf": token, **(fields or {})})
    return await client.fetch(action, method="POST", body=body, headers=BROWSER)


def report_in(response: HTTPResponse) -> dict[str, Any]:
    """The JSON inside the signed report cookie a response sets.

    Tornado's signed value (version 2) is ``2|1:key|n:timestamp|n:name|n:base64 value|signature``:
    the fifth field, after its length prefix, is the report.
    """
    header = set_cookies(response)[COOKIE_NAME]
    signed = header.split(";")[0].split("=", 1)[1].strip('"')
    report: dict[str, Any] = json.loads(base64.b64decode(signed.split("|")[4].split(":", 1)[1]))
    return report
