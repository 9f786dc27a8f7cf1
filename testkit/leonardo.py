"""Reading reelforge the way a Leonardo client does: its error shape and a key's generation list."""

from contextlib import contextmanager

import httpx

V1 = "/api/rest/v1"


def assert_leonardo_error(
    resp: httpx.Response, status: int = 400, path: list[str] | None = None, says: str | None = None
) -> dict:
    """Leonardo's ApiError: `message` + `error`, `path` (list of strings), `extensions.code`."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    body = resp.json()
    assert isinstance(body["message"], str) and body["message"], body
    assert body["error"] == body["message"], body
    assert isinstance(body["path"], list) and all(isinstance(p, str) for p in body["path"]), body
    assert isinstance(body["extensions"]["code"], str) and body["extensions"]["code"], body
    if path is not None:
        assert body["path"] == path, body
    if says is not None:
        assert says.lower() in body["message"].lower(), body
    return body


class Jobs:
    """Every generation id of one user, read the way a Leonardo client reads them."""

    def __init__(self, api: httpx.Client, user_id: str):
        self.api, self.user_id = api, user_id

    def ids(self) -> list[str]:
        out: list[str] = []
        while True:
            resp = self.api.get(
                f"{V1}/generations/user/{self.user_id}", params={"offset": len(out), "limit": 50}
            )
            assert resp.status_code == 200, resp.text
            page = [g["id"] for g in resp.json()["generations"]]
            out += page
            if len(page) < 50:
                return out

    @contextmanager
    def unchanged(self):
        before = self.ids()
        yield
        assert self.ids() == before, "a refused request created (or removed) a generation"


def user_id_of(api: httpx.Client) -> str:
    resp = api.get(f"{V1}/me")
    assert resp.status_code == 200, resp.text
    return resp.json()["user_details"][0]["user"]["id"]
