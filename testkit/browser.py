"""Headless Chromium driven by Playwright, for tests of the pages the server renders (the API docs,
the web studio): Debian's /usr/bin/chromium (Playwright's own browser builds cannot be downloaded
here), launched for a root user on a closed network, and pages that may talk to one origin only.

Without /usr/bin/chromium the tests skip, except in CI (`CI` set), where they fail: CI installs it
(.ci/run).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",  # root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the test when Chromium is missing on a developer's machine; fail in CI."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the time of the block."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OriginPage:
    """A page whose requests outside `origin` are aborted and recorded in `left_origin`; the ones
    the page's Content-Security-Policy stopped before they were sent are in `refused`, the console
    errors and uncaught exceptions of its scripts in `errors`."""

    page: Page
    origin: str
    left_origin: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


_IN_PAGE = ("data", "blob")  # made by the page itself, not fetched


def _leaves(url: str, origin: str) -> bool:
    split = urlsplit(url)
    return split.scheme not in _IN_PAGE and f"{split.scheme}://{split.netloc}" != origin


@contextmanager
def origin_page(browser: Browser, origin: str) -> Iterator[OriginPage]:
    """A fresh browser context (no cache, no cookies) holding one page confined to `origin`."""
    context = browser.new_context()
    page = context.new_page()
    confined = OriginPage(page, origin)

    def left(url: str) -> None:
        if url not in confined.left_origin:
            confined.left_origin.append(url)

    def route(route: Route) -> None:
        if _leaves(route.request.url, origin):
            left(route.request.url)
            route.abort()
        else:
            route.continue_()

    def finished(request: Request) -> None:  # answered although routing did not see it
        if _leaves(request.url, origin):
            left(request.url)

    def failed(request: Request) -> None:
        if request.failure == "csp":
            confined.refused.append(request.url)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            confined.errors.append(message.text)

    context.route("**/*", route)
    context.on("requestfinished", finished)
    context.on("requestfailed", failed)
    page.on("console", console)
    page.on("pageerror", lambda exc: confined.errors.append(f"uncaught: {exc}"))
    try:
        yield confined
    finally:
        context.close()
