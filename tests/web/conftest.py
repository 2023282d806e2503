"""Shared by the page tests: the Flask app served by waitress on a free port, and a page in
Debian's headless Chromium (driven by Playwright; no browser download, no internet)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve `app` with waitress (as `pyros web` does) until the block ends; yields its URL."""
    from waitress import wasyncore
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            server.asyncore.loop(timeout=0.1, map=server._map, count=1)
        wasyncore.close_all(map=server._map)
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(5)


@pytest.fixture
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1200, "height": 1100})
        browser.close()
