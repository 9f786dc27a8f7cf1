"""The Google dialects (Gemini API and Vertex AI) as their clients see them: keyed clients, the
google.rpc error shape, inline images, long-running operations."""

import base64
import time

import httpx

from testkit.support import make_image


def google_client(server, key: str | None = None, header: str = "x-goog-api-key") -> httpx.Client:
    """A client sending the key of the account named `key` (server.key) in `header` (a Bearer token in
    `authorization`, as Vertex AI's OAuth token); with no name, no key at all."""
    headers = {}
    if key:
        secret = server.key(key)
        headers[header] = secret if header == "x-goog-api-key" else f"Bearer {secret}"
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def assert_google_error(resp: httpx.Response, status: int, google_status: str, field: str | None = None):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    error = resp.json()["error"]
    assert error["code"] == status and error["status"] == google_status, error
    assert isinstance(error["message"], str) and error["message"], error
    if field is not None:
        [detail] = error["details"]
        assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        assert detail["fieldViolations"][0]["field"] == field, error
    return error


def b64_image(width: int = 1280, height: int = 720, **colours) -> str:
    return base64.b64encode(make_image(width, height, "PNG", **colours)).decode()


def wait_done(poll, timeout: float = 120) -> dict:
    """Call `poll` until the operation it returns is `done`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = poll()
        if op.get("done"):
            return op
        time.sleep(0.2)
    raise TimeoutError("operation still running")
