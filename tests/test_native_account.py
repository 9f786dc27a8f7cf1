"""`GET /v1/account` over real HTTP: the calling key's account with its balance, limits, jobs
under way and key, for a key with credits, rpm and concurrency and for an unlimited one; the job
counts and the balance move as a video is queued, runs and is canceled; in open mode each key
answers for its own implicit account; the route counts as a read. (Without a usable key it is 401:
test_openai_videos.py's KEYED_ROUTES.)"""

import uuid
from decimal import Decimal

import httpx
import pytest

from reelforge.api.dialects.openai.wire import OpenAIAccount
from reelforge.core.accounts import display_prefix
from testkit.cluster import wait_until
from testkit.support import ServerProcess, client

CREDITS = Decimal("12.34")
LONG = {"prompt": "keep rendering", "model": "VEO3_1", "seconds": "8", "resolution": "1080p"}
LONG_PRICE = Decimal("3.20")  # 8 s of VEO3_1 at 1080p with audio
OPEN_LIMITS = {"REELFORGE_CREATE_RPM": "5", "REELFORGE_READ_RPM": "12"}


def account_of(http: httpx.Client) -> dict:
    resp = http.get("/v1/account")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert OpenAIAccount.model_validate(body).model_dump(mode="json") == body
    return body


def issued_client(server: ServerProcess, **limits):
    """A new account's key with `limits` (credits, rpm, concurrency): (the issued key, a client)."""
    with server.accounts() as accounts:
        issued = accounts.issue(f"account-{uuid.uuid4()}", **limits)
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {issued.key}"}, timeout=30)
    return issued, http


def test_a_key_with_credits_rpm_and_concurrency_sees_them(server):
    issued, http = issued_client(server, credits=CREDITS, rpm=7, concurrency=3)
    with http:
        assert account_of(http) == {
            "object": "account",
            "id": issued.account.id,
            "name": issued.account.name,
            "balance_usd": "12.3400",
            "concurrency": 3,
            "rpm": 7,
            "read_rpm": server.settings().read_rpm,
            "jobs": {"queued": 0, "running": 0},
            "key": {"prefix": issued.api_key.prefix, "name": issued.api_key.name, "admin": False},
        }
        assert issued.key.startswith(issued.api_key.prefix) and issued.key not in http.get("/v1/account").text


def test_an_unlimited_key_has_null_limits_and_the_servers_create_rpm(server, api):
    body = account_of(api)
    settings = server.settings()
    assert (body["balance_usd"], body["concurrency"]) == (None, None)
    assert (body["rpm"], body["read_rpm"]) == (settings.create_rpm, settings.read_rpm)
    assert body["key"]["admin"] is False
    server.key("native-account-admin", admin=True)  # issued as an admin's, the first time it is named
    with client(server, "native-account-admin") as admin:
        assert account_of(admin)["key"]["admin"] is True


def test_jobs_and_balance_move_as_a_video_is_queued_runs_and_is_canceled(server):
    _, http = issued_client(server, credits=CREDITS)
    with http:
        resp = http.post("/v1/videos", json=LONG)
        assert resp.status_code == 200, resp.text
        video_id = resp.json()["id"]
        try:
            after_create = account_of(http)
            assert after_create["balance_usd"] == f"{CREDITS - LONG_PRICE:.4f}"  # reserved at create
            assert sum(after_create["jobs"].values()) == 1, after_create
            wait_until(
                lambda: account_of(http)["jobs"] == {"queued": 0, "running": 1}, 60, "the video never ran"
            )
        finally:
            assert http.post(f"/v1/videos/{video_id}/cancel").status_code == 200
        wait_until(
            lambda: account_of(http)["jobs"] == {"queued": 0, "running": 0}, 30, "the cancel never ended it"
        )
        assert account_of(http)["balance_usd"] == "12.3400"  # the reservation is given back


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """Open mode without render workers (videos stay queued), with low limits to read back."""
    env = {"REELFORGE_AUTH": "open", **OPEN_LIMITS}
    srv = ServerProcess(tmp_path_factory.mktemp("account-open") / "data", workers=0, env=env).start()
    yield srv
    srv.stop()


def open_client(server: ServerProcess, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_in_open_mode_each_key_is_its_own_unlimited_account(open_server):
    key = f"rf_open-{uuid.uuid4()}"
    with open_client(open_server, key) as http, open_client(open_server, f"rf_other-{uuid.uuid4()}") as other:
        body = account_of(http)
        assert body == {
            "object": "account",
            "id": body["id"],
            "name": f"user-{body['id'][:8]}",
            "balance_usd": None,
            "concurrency": None,
            "rpm": 5,
            "read_rpm": 12,
            "jobs": {"queued": 0, "running": 0},
            "key": {"prefix": display_prefix(key), "name": f"user-{body['id'][:8]}", "admin": False},
        }
        resp = http.post("/v1/videos", json={"prompt": "wait in line", "seconds": "4"})
        assert resp.status_code == 200, resp.text
        assert account_of(http)["jobs"] == {"queued": 1, "running": 0}
        theirs = account_of(other)
        assert theirs["jobs"] == {"queued": 0, "running": 0} and theirs["id"] != body["id"]
        assert http.delete(f"/v1/videos/{resp.json()['id']}").status_code == 200
        assert account_of(http)["jobs"] == {"queued": 0, "running": 0}


def test_it_counts_as_a_read(open_server):
    with open_client(open_server, f"reader-{uuid.uuid4()}") as http:
        for _ in range(int(OPEN_LIMITS["REELFORGE_READ_RPM"])):
            account_of(http)
        resp = http.get("/v1/account")
        assert resp.status_code == 429, resp.text
        error = resp.json()["error"]
        assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
        assert int(resp.headers["retry-after"]) >= 1
