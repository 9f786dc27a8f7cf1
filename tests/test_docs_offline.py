"""`/docs` (Swagger UI) and `/redoc` (ReDoc) render in a real headless Chromium on a closed network:
every request that would leave the server's origin is aborted and recorded, and the pages must
still show the API's operations with no request recorded and no script error. The assets are the
server's own, public (like the schema), and cacheable for a year.

ReDoc's bundle always asks Redocly's CDN for its sidebar logo (no option turns it off, Redocly/redoc
issue 2108); the page's Content-Security-Policy stops it before it is sent, which Chromium reports
as the one console error these pages are allowed.
"""

import re

import pytest

from testkit.browser import chromium, origin_page

TIMEOUT_MS = 60_000
OPERATIONS = [("post", "/v1/videos"), ("post", "/api/rest/v2/generations")]
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def operation_ids(anonymous) -> dict[tuple[str, str], str]:
    schema = anonymous.get("/openapi.json").json()
    return {(method, path): schema["paths"][path][method]["operationId"] for method, path in OPERATIONS}


def test_swagger_ui_shows_the_operations_offline(browser, server):
    with origin_page(browser, server.url) as confined:
        confined.page.goto(f"{server.url}/docs")
        for method, path in OPERATIONS:
            block = confined.page.locator(f".opblock-{method} .opblock-summary-path[data-path='{path}']")
            block.first.wait_for(timeout=TIMEOUT_MS)
        assert confined.page.locator(".opblock").count() > 20
        assert confined.left_origin == [], confined.left_origin
        assert confined.refused == [], confined.refused
        assert confined.errors == [], confined.errors


def test_redoc_shows_the_operations_offline(browser, server, operation_ids):
    with origin_page(browser, server.url) as confined:
        confined.page.goto(f"{server.url}/redoc")
        for operation_id in operation_ids.values():
            item = confined.page.locator(f"li[data-item-id$='/operation/{operation_id}']")
            item.wait_for(state="attached", timeout=TIMEOUT_MS)
            section = confined.page.locator(f"[data-section-id$='/operation/{operation_id}']")
            section.wait_for(state="attached", timeout=TIMEOUT_MS)
        assert "/api/rest/v2/generations" in confined.page.inner_text("body")
        confined.page.get_by_text("API docs by Redocly").wait_for(timeout=TIMEOUT_MS)
        for _ in range(100):  # the logo is asked for once the sidebar is on screen
            if confined.refused:
                break
            confined.page.wait_for_timeout(100)
        assert confined.page.locator(f"img[src='{REDOC_LOGO}']").count() == 0  # hidden on the refusal
        assert confined.left_origin == [], confined.left_origin
        assert confined.refused == [REDOC_LOGO]
        assert [e for e in confined.errors if not _logo_refused(e)] == [], confined.errors


def _logo_refused(error: str) -> bool:
    return f"image '{REDOC_LOGO}' violates the following Content Security Policy" in error


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_and_assets_are_public_and_local(anonymous, page):
    html = anonymous.get(page)
    assert html.status_code == 200, html.text
    assert "http" not in html.text.replace("http-equiv", ""), html.text  # no absolute URL at all
    for asset in _assets(html.text):
        resp = anonymous.get(asset)
        assert resp.status_code == 200, asset
        assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(resp.content) > 1000


def _assets(html: str) -> list[str]:
    found = re.findall(r'(?:href|src)="(/[^"]+)"', html)
    assert found, html
    return found


def test_unknown_asset_is_not_found_and_not_cached(anonymous):
    resp = anonymous.get("/docs-assets/0.0.0/swagger-ui-bundle.js")
    assert resp.status_code == 404
    assert "immutable" not in resp.headers.get("cache-control", "")
