"""The tutorial's stylesheet and other local files (no CDN: the app works offline)."""

from __future__ import annotations

from tornado.web import HTTPError, StaticFileHandler

from .errors import ErrorPages


class StaticFiles(ErrorPages, StaticFileHandler):
    """Tornado's static handler, answering 404 for a path with a NUL byte, and in the site's layout to a browser.

    Tornado hands ``/static/%00`` to ``os.path.realpath``, which raises
    ``ValueError: embedded null byte``: a 500 for a URL anyone can type. No file
    name holds a NUL, so such a path names nothing.
    """

    def parse_url_path(self, url_path: str) -> str:
        if "\x00" in url_path:
            raise HTTPError(404)
        return super().parse_url_path(url_path)
