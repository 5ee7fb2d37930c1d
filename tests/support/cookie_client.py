"""A small HTTP client that keeps cookies like a browser, for tests over real HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from tornado.httpclient import AsyncHTTPClient, HTTPResponse


@dataclass
class CookieClient:
    """Sends requests to a live app and keeps the cookies it sets (one host, path /)."""

    http_client: AsyncHTTPClient
    base_url: str
    jar: dict[str, str] = field(default_factory=dict)

    async def get(self, path: str, *, headers: dict[str, str] | None = None, **kwargs: object) -> HTTPResponse:
        return await self.fetch(path, method="GET", headers=headers, **kwargs)

    async def fetch(self, path: str, *, headers: dict[str, str] | None = None, **kwargs: object) -> HTTPResponse:
        headers = dict(headers or {})
        if self.jar and "Cookie" not in headers:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.jar.items())
        response = await self.http_client.fetch(
            self.base_url + path, headers=headers, follow_redirects=False, raise_error=False, **kwargs
        )
        self.remember(response)
        return response

    def remember(self, response: HTTPResponse) -> None:
        """Apply the response's Set-Cookie headers to the jar, deletions included."""
        for header in response.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel.value == "" or morsel["max-age"] in ("0", 0):
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = morsel.value


def set_cookies(response: HTTPResponse) -> dict[str, str]:
    """The raw Set-Cookie headers of a response, by cookie name."""
    cookies = {}
    for header in response.headers.get_list("Set-Cookie"):
        cookies[header.split("=", 1)[0]] = header
    return cookies


def text(response: HTTPResponse) -> str:
    return response.body.decode()


def form_xsrf_token(response: HTTPResponse) -> str:
    """The ``_xsrf`` field of the first form on the page; the test fails here if the page has none."""
    found = re.search(r'name="_xsrf" value="([^"]+)"', text(response))
    assert found is not None, text(response)
    return found[1]
