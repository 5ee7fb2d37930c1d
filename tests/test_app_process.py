"""`python app.py` as a user runs it: it serves, says where, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import urllib.request

import pytest

from tests.support.live_app import LiveApp


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_app_serves_logs_its_url_and_shuts_down_cleanly(sig):
    app = LiveApp()
    with urllib.request.urlopen(app.url + "/") as response:
        page = response.read().decode()
    assert response.status == 200
    assert "Overview" in page
    code, output = app.stop(sig)
    assert code == 0, output
    assert f"http://localhost:{app.port}/" in output
    assert "shutting down" in output
    assert "Traceback" not in output
