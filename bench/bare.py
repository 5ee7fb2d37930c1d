"""The limit every scenario is measured against: bare Tornado writing ``ok``.

Same Tornado, same single process and same logging as the project's bench
server (``bench/server.py``), and nothing else: no session, no template, no
cookie. Prints ``listening <port>`` once it accepts connections.
"""

from __future__ import annotations

import asyncio

from serving import serve_until_stopped
from tornado.web import Application, RequestHandler


class OkHandler(RequestHandler):
    def get(self) -> None:
        self.write("ok")


if __name__ == "__main__":
    asyncio.run(serve_until_stopped(Application([(r"/", OkHandler)])))
