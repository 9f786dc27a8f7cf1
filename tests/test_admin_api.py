"""The admin API over real HTTP: the operator starts from the initial admin key `serve` wrote to
the data dir, issues keys that work on every dialect at once, revokes them (401 from the next
request on, in the dialect's shape, while the account's other keys keep its jobs), changes credits
and limits, and reads usage. Only admin keys get in."""

from decimal import Decimal

import httpx
import pytest

from testkit.support import UNKNOWN_KEY, ServerProcess, wait_for_generation

V2_CREATE = {
    "model": "veo-3.1-lite",
    "public": False,
    "parameters": {
        "prompt": "a koala and a cat in a sunlit meadow",
        "quantity": 1,
        "width": 1280,
        "height": 720,
        "mode": "RESOLUTION_720",
        "duration": 4,
        "motion_has_audio": True,
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("admin") / "data", workers=1).start()
    yield srv
    srv.stop()


def _client(server: ServerProcess, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def admin(server):
    with _client(server, (server.data_dir / "initial-admin.key").read_text().strip()) as c:
        yield c


def _issue(admin: httpx.Client, **body) -> dict:
    resp = admin.post("/admin/v1/keys", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _native_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code, resp.text
    return resp.json()["error"]


def test_an_issued_key_works_on_the_dialects_at_once_and_is_shown_only_once(server, admin):
    issued = _issue(admin, name="customer", credits_usd="12.5", rpm=100, concurrency=2)
    key = issued["key"]
    assert key.startswith("rf_") and len(key) == 46 and issued["prefix"] == key[:11]
    assert (issued["name"], issued["admin"], issued["rpm"]) == ("customer", False, 100)
    assert issued["last_used_at"] is None and issued["revoked_at"] is None
    account = issued["account"]
    assert (Decimal(account["balance_usd"]), account["concurrency"]) == (Decimal("12.5"), 2)

    with _client(server, key) as customer:
        me = customer.get("/api/rest/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["user_details"][0]["apiConcurrencySlots"] == 2
        assert customer.get("/v1/videos").status_code == 200

    listed = admin.get("/admin/v1/keys")
    assert listed.status_code == 200
    assert issued["id"] in {k["id"] for k in listed.json()["data"]}
    assert key not in listed.text and "hash" not in listed.text
    unchanged = {k: v for k, v in issued.items() if k not in ("key", "last_used_at")}
    for ref in (issued["id"], issued["prefix"]):
        one = admin.get(f"/admin/v1/keys/{ref}").json()
        assert one.pop("last_used_at") is not None and one == unchanged
    accounts = admin.get("/admin/v1/accounts")
    assert accounts.status_code == 200 and account in accounts.json()["data"]


def test_lists_come_a_page_at_a_time(admin):
    for n in range(3):
        _issue(admin, name=f"paged-{n}")
    everything = admin.get("/admin/v1/keys", params={"limit": 1000}).json()["data"]
    pages = [admin.get("/admin/v1/keys", params={"limit": 2, "offset": o}).json()["data"] for o in (0, 2)]
    assert len(pages[0]) == 2 and [k["id"] for k in pages[0] + pages[1]] == [k["id"] for k in everything[:4]]
    accounts = admin.get("/admin/v1/accounts", params={"limit": 1, "offset": 1}).json()["data"]
    assert len(accounts) == 1
    _native_error(admin.get("/admin/v1/keys", params={"limit": 1001}), 400, "invalid_request")
    _native_error(admin.get("/admin/v1/accounts", params={"offset": -1}), 400, "invalid_request")


def test_only_admin_keys_get_in(server, admin):
    customer = _issue(admin, name="not an admin")
    routes = [
        ("GET", "/admin/v1/keys", None),
        ("POST", "/admin/v1/keys", {"name": "sneaky", "admin": True}),
        ("GET", f"/admin/v1/keys/{customer['id']}", None),
        ("PATCH", f"/admin/v1/keys/{customer['id']}", {"credits_usd": None}),
        ("POST", f"/admin/v1/keys/{customer['id']}/revoke", None),
        ("GET", "/admin/v1/accounts", None),
        ("GET", f"/admin/v1/accounts/{customer['account']['id']}/usage", None),
    ]
    before = len(admin.get("/admin/v1/keys").json()["data"])
    for method, path, body in routes:
        with _client(server, customer["key"]) as c:
            _native_error(c.request(method, path, json=body), 403, "forbidden")
        for key in (None, UNKNOWN_KEY):
            with _client(server, key) as c:
                resp = c.request(method, path, json=body)
                _native_error(resp, 401, "unauthorized")
                assert resp.headers["www-authenticate"] == "Bearer"
    assert len(admin.get("/admin/v1/keys").json()["data"]) == before
    assert admin.get(f"/admin/v1/keys/{customer['id']}").json()["revoked_at"] is None


def test_revocation_is_immediate_and_rotation_keeps_the_accounts_jobs(server, admin):
    first = _issue(admin, name="rotating")
    second = _issue(admin, name="rotating, new key", account_id=first["account"]["id"])
    assert second["account"] == first["account"]
    with _client(server, first["key"]) as old:
        created = old.post("/api/rest/v2/generations", json=V2_CREATE)
        assert created.status_code == 200, created.text
        generation = created.json()["generate"]["generationId"]

        revoked = admin.post(f"/admin/v1/keys/{first['prefix']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None

        leonardo = old.get(f"/api/rest/v1/generations/{generation}")
        assert leonardo.status_code == 401 and leonardo.json()["extensions"]["code"] == "unauthorized"
        openai = old.get("/v1/videos")
        assert openai.status_code == 401 and openai.json()["error"]["message"]
        gemini = httpx.get(f"{server.url}/v1beta/models", headers={"x-goog-api-key": first["key"]})
        assert gemini.status_code == 403 and gemini.json()["error"]["status"] == "PERMISSION_DENIED"

    with _client(server, second["key"]) as new:
        assert new.get(f"/api/rest/v1/generations/{generation}").status_code == 200
    again = admin.post(f"/admin/v1/keys/{first['id']}/revoke")  # revoking twice keeps the first time
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_credits_limits_and_usage(server, admin):
    issued = _issue(admin, name="metered", credits_usd="0")
    account = issued["account"]["id"]
    with _client(server, issued["key"]) as customer:
        refused = customer.post("/api/rest/v2/generations", json=V2_CREATE)
        assert refused.status_code == 402, refused.text  # Leonardo's answer to an empty balance
        usage = admin.get(f"/admin/v1/accounts/{account}/usage").json()
        assert sum(usage["jobs"].values()) == 0 and Decimal(usage["spent_usd"]) == 0

        topped = admin.patch(f"/admin/v1/keys/{issued['id']}", json={"credits_usd": "1.5"})
        assert topped.status_code == 200, topped.text
        assert Decimal(topped.json()["account"]["balance_usd"]) == Decimal("1.5")
        created = customer.post("/api/rest/v2/generations", json=V2_CREATE)
        assert created.status_code == 200, created.text
        price = Decimal(created.json()["generate"]["cost"]["amount"])
        done = wait_for_generation(customer, created.json()["generate"]["generationId"])
        assert done["status"] == "COMPLETE"

    usage = admin.get(f"/admin/v1/accounts/{account}/usage")
    assert usage.status_code == 200
    body = usage.json()
    assert body["account_id"] == account
    assert body["jobs"]["succeeded"] == 1 and sum(body["jobs"].values()) == 1
    assert Decimal(body["spent_usd"]) == price and Decimal(body["balance_usd"]) == Decimal("1.5") - price

    # a field left out stays as it is; null clears a limit
    limited = admin.patch(f"/admin/v1/keys/{issued['id']}", json={"rpm": 5, "concurrency": 3}).json()
    assert (limited["rpm"], limited["account"]["concurrency"]) == (5, 3)
    assert Decimal(limited["account"]["balance_usd"]) == Decimal("1.5") - price
    cleared = admin.patch(f"/admin/v1/keys/{issued['prefix']}", json={"credits_usd": None, "rpm": None})
    after = cleared.json()
    assert (after["account"]["balance_usd"], after["rpm"], after["account"]["concurrency"]) == (None, None, 3)


def test_bad_requests_and_unknown_objects(server, admin):
    issued = _issue(admin, name="target")
    path = f"/admin/v1/keys/{issued['id']}"
    for body, param in (
        ({"credits_usd": -1}, "credits_usd"),
        ({"credits_usd": "0.00001"}, "credits_usd"),
        ({"rpm": 0}, "rpm"),
        ({"concurrency": "many"}, "concurrency"),
        ({"credit": 5}, "credit"),
    ):
        assert _native_error(admin.patch(path, json=body), 400, "invalid_request")["param"] == param, body
    for body in ({"name": " "}, {}, {"name": "x", "account_id": issued["account"]["id"], "credits_usd": 1}):
        _native_error(admin.post("/admin/v1/keys", json=body), 400, "invalid_request")
    _native_error(admin.post("/admin/v1/keys", json={"name": "x", "account_id": "nope"}), 404, "not_found")
    _native_error(admin.get("/admin/v1/keys/nope"), 404, "not_found")
    _native_error(admin.post("/admin/v1/keys/nope/revoke"), 404, "not_found")
    _native_error(admin.get("/admin/v1/accounts/nope/usage"), 404, "not_found")
    # the key itself never goes into a URL (access logs keep URLs)
    _native_error(admin.get(f"/admin/v1/keys/{issued['key']}"), 400, "invalid_request")
    assert admin.get(path).json()["account"]["balance_usd"] is None
