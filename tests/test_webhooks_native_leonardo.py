"""The native API's webhook endpoints and Leonardo's per-key callbacks over HTTP: a real server
(`reelforge serve`) and a real receiver on loopback.

- `/v1/webhook_endpoints` (OpenAI's shape): an endpoint registered through the route gets a
  `video.completed` that the openai SDK's `webhooks.unwrap` verifies with the secret the route
  showed once, and a failed video's `video.failed`; CRUD, rotation and errors in OpenAI's body.
- Leonardo: a key given a callback URL and callback API key through the admin API gets its v2
  generation's envelope with `Authorization: Bearer <callback key>`, and the MP4 it names
  downloads; another key of the same account gets nothing; the CLI sets and clears callbacks.
"""

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from openai import OpenAI

from testkit.catalogs import BROKEN, catalog_with
from testkit.receiver import Receiver
from testkit.support import ServerProcess, client, download_mp4, probe_mp4

ENV = {
    "REELFORGE_WEBHOOK_ALLOWLIST": "127.0.0.1",
    "REELFORGE_WEBHOOK_RETRY_SCHEDULE": "0.3",
    "REELFORGE_WEBHOOK_INTERVAL": "0.2",
}
VIDEO = {"prompt": "a koala", "model": "veo-3.1-lite", "seconds": "4", "size": "1280x720"}
LEONARDO_V2 = {
    "model": "veo-3.1-lite",
    "parameters": {"prompt": "a heron", "duration": 4, "width": 1280, "height": 720},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("webhooks-native")
    env = {**ENV, "REELFORGE_CATALOG_PATH": str(catalog_with(root / "catalog.json", BROKEN))}
    server = ServerProcess(root / "data", env=env).start()
    yield server
    server.stop()


def _admin(server: ServerProcess) -> httpx.Client:
    key = server.key("webhooks-admin", admin=True)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


# the native API ----------------------------------------------------------------------------------


def test_an_endpoint_registered_through_the_route_gets_verified_completed_and_failed_events(server):
    with Receiver() as receiver, client(server, "native-hooked") as api:
        created = api.post(
            "/v1/webhook_endpoints",
            json={"url": receiver.url, "event_types": ["video.completed", "video.failed"], "name": "mine"},
        )
        assert created.status_code == 200, created.text
        endpoint = created.json()
        secret = endpoint["signing_secret"]
        assert secret.startswith("whsec_") and endpoint["object"] == "webhook_endpoint"
        assert (
            endpoint["signing_secret_hint"] == f"whsec_...{secret[-4:]}" and endpoint["status"] == "enabled"
        )
        fetched = api.get(f"/v1/webhook_endpoints/{endpoint['id']}").json()
        assert "signing_secret" not in fetched and fetched["url"] == receiver.url

        done = api.post("/v1/videos", json=VIDEO).json()
        (got,) = receiver.wait_for(1, timeout=120)
        sdk = OpenAI(api_key="unused")
        event = sdk.webhooks.unwrap(got.body, got.headers, secret=secret)
        assert (event.type, event.data.id) == ("video.completed", done["id"])

        failing = api.post("/v1/videos", json={**VIDEO, "model": "broken-ltx"})
        assert failing.status_code == 200, failing.text
        second = receiver.wait_for(2, timeout=120)[1]
        event = sdk.webhooks.unwrap(second.body, second.headers, secret=secret)
        assert (event.type, event.data.id) == ("video.failed", failing.json()["id"])
        assert api.get(f"/v1/videos/{event.data.id}").json()["status"] == "failed"


def test_an_endpoint_gets_only_its_event_types_and_stops_when_deleted(server):
    with Receiver() as receiver, client(server, "native-failures-only") as api:
        endpoint = api.post(
            "/v1/webhook_endpoints", json={"url": receiver.url, "event_types": ["video.failed"]}
        ).json()
        api.post("/v1/videos", json=VIDEO)  # completes: not subscribed
        failed = api.post("/v1/videos", json={**VIDEO, "model": "broken-ltx"}).json()
        (got,) = receiver.wait_for(1, timeout=120)
        assert (
            json.loads(got.body)["type"] == "video.failed"
            and json.loads(got.body)["data"]["id"] == failed["id"]
        )

        deleted = api.delete(f"/v1/webhook_endpoints/{endpoint['id']}")
        assert deleted.json() == {"id": endpoint["id"], "object": "webhook_endpoint.deleted", "deleted": True}
        assert api.get(f"/v1/webhook_endpoints/{endpoint['id']}").status_code == 404
        again = api.post("/v1/videos", json={**VIDEO, "model": "broken-ltx"}).json()
        wait_terminal(api, again["id"])
        assert len(receiver.received) == 1


def wait_terminal(api: httpx.Client, video_id: str) -> None:
    deadline = time.monotonic() + 120
    while api.get(f"/v1/videos/{video_id}").json()["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, "the video never ended"
        time.sleep(0.2)
    time.sleep(1)  # a few delivery passes


def test_list_update_rotate_and_errors_in_openai_shape(server):
    with (
        Receiver() as receiver,
        client(server, "native-crud") as api,
        client(server, "native-other") as other,
    ):
        ids = [
            api.post(
                "/v1/webhook_endpoints",
                json={"url": f"{receiver.url}/{i}", "event_types": ["video.completed"]},
            ).json()["id"]
            for i in range(3)
        ]
        page = api.get("/v1/webhook_endpoints", params={"limit": 2}).json()
        assert [e["id"] for e in page["data"]] == ids[:2] and page["has_more"] is True
        assert (page["first_id"], page["last_id"]) == (ids[0], ids[1])
        rest = api.get("/v1/webhook_endpoints", params={"after": ids[1]}).json()
        assert [e["id"] for e in rest["data"]] == ids[2:] and rest["has_more"] is False
        assert other.get("/v1/webhook_endpoints").json()["data"] == []
        assert other.get(f"/v1/webhook_endpoints/{ids[0]}").status_code == 404

        updated = api.post(
            f"/v1/webhook_endpoints/{ids[0]}", json={"name": "renamed", "event_types": ["video.failed"]}
        ).json()
        assert (updated["name"], updated["event_types"], updated["url"]) == (
            "renamed",
            ["video.failed"],
            f"{receiver.url}/0",
        )
        disabled = api.post(f"/v1/webhook_endpoints/{ids[0]}", json={"status": "disabled"}).json()
        assert disabled["status"] == "disabled"
        rotated = api.post(f"/v1/webhook_endpoints/{ids[0]}/rotate_secret", json={}).json()
        assert rotated["signing_secret"].startswith("whsec_")
        assert rotated["signing_secret_hint"] == f"whsec_...{rotated['signing_secret'][-4:]}"
        types = api.get("/v1/webhook_event_types").json()
        assert types == {"object": "list", "data": ["video.completed", "video.failed"]}

        for path, body, param in (
            (
                "/v1/webhook_endpoints",
                {"url": "http://10.0.0.1/x", "event_types": ["video.completed"]},
                "url",
            ),
            (
                "/v1/webhook_endpoints",
                {"url": receiver.url, "event_types": ["video.canceled"]},
                "event_types.0",
            ),
            ("/v1/webhook_endpoints", {"url": receiver.url, "event_types": []}, "event_types"),
            ("/v1/webhook_endpoints", {"url": receiver.url, "event_types": ["video.failed"], "x": 1}, "x"),
            (f"/v1/webhook_endpoints/{ids[1]}", {"url": "ftp://example.com/h"}, "url"),
            (f"/v1/webhook_endpoints/{ids[1]}", {"status": "disabled_due_to_failed_deliveries"}, "status"),
        ):
            refused = api.post(path, json=body)
            assert refused.status_code == 400, (path, body, refused.text)
            error = refused.json()["error"]
            assert error["type"] == "invalid_request_error" and error["param"] == param, error
        missing = api.delete("/v1/webhook_endpoints/nope")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"
        assert httpx.get(f"{server.url}/v1/webhook_endpoints").json()["error"]["code"] == "unauthorized"


# Leonardo ----------------------------------------------------------------------------------------


def test_a_leonardo_keys_callback_gets_the_envelope_with_its_bearer_key(server):
    with Receiver() as receiver, Receiver() as bystander, _admin(server) as ops:
        made = ops.post(
            "/admin/v1/keys",
            json={"name": "leo-hooked", "webhook_url": receiver.url, "webhook_api_key": "cb-secret-1"},
        )
        assert made.status_code == 201, made.text
        key = made.json()
        assert (key["webhook_url"], key["webhook_state"], key["webhook_api_key_set"]) == (
            receiver.url,
            "enabled",
            True,
        )
        assert "cb-secret-1" not in made.text
        sibling = ops.post(  # another key of the same account, with its own callback
            "/admin/v1/keys",
            json={"name": "leo-sibling", "account_id": key["account"]["id"], "webhook_url": bystander.url},
        ).json()
        listed = ops.get("/admin/v1/keys", params={"limit": 1000}).text
        assert "cb-secret-1" not in listed and receiver.url in listed

        leo = {"Authorization": f"Bearer {key['key']}"}
        with httpx.Client(base_url=server.url, headers=leo, timeout=30) as api:
            created = api.post("/api/rest/v2/generations", json=LEONARDO_V2)
            assert created.status_code == 200, created.text
            generation_id = created.json()["generate"]["generationId"]
            (got,) = receiver.wait_for(1, timeout=120)

        assert got.headers["authorization"] == "Bearer cb-secret-1"
        assert got.headers["content-type"] == "application/json"
        body = json.loads(got.body)
        assert (body["type"], body["object"], body["api_version"]) == (
            "image_generation.complete",
            "generation",
            "v1",
        )
        assert isinstance(body["timestamp"], int) and body["timestamp"] > 1_600_000_000_000  # ms
        generation = body["data"]["object"]
        assert (generation["id"], generation["status"], generation["apiKeyId"]) == (
            generation_id,
            "COMPLETE",
            key["id"],
        )
        assert generation["images"] == generation["generated_images"] and len(generation["images"]) == 1
        for stamp in (generation["createdAt"], generation["updatedAt"]):  # Leonardo's: milliseconds
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
        video = download_mp4(generation["images"][0]["motionMP4URL"])
        assert probe_mp4(video).width == 1280
        assert bystander.received == []  # the sibling key made nothing

        sibling_key = {"Authorization": f"Bearer {sibling['key']}"}
        with httpx.Client(base_url=server.url, headers=sibling_key, timeout=30) as api:
            api.post("/api/rest/v2/generations", json=LEONARDO_V2)
            (theirs,) = bystander.wait_for(1, timeout=120)
        assert "authorization" not in theirs.headers  # no callback API key set
        assert len(receiver.received) == 1


def test_callback_settings_through_the_admin_api(server):
    with _admin(server) as ops:
        key = ops.post("/admin/v1/keys", json={"name": "leo-settings"}).json()
        assert (key["webhook_url"], key["webhook_state"], key["webhook_api_key_set"]) == (None, None, False)
        refused = ops.post(
            "/admin/v1/keys", json={"name": "leo-internal", "webhook_url": "http://10.1.2.3/h"}
        )
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "webhook_url"
        assert "leo-internal" not in ops.get("/admin/v1/keys", params={"limit": 1000}).text  # no key issued
        lonely = ops.patch(f"/admin/v1/keys/{key['id']}", json={"webhook_api_key": "k"})
        assert lonely.status_code == 400 and lonely.json()["error"]["param"] == "webhook_api_key"

        set_ = ops.patch(
            f"/admin/v1/keys/{key['id']}",
            json={"webhook_url": "http://127.0.0.1:9/h", "webhook_api_key": "k2"},
        ).json()
        assert (set_["webhook_url"], set_["webhook_api_key_set"]) == ("http://127.0.0.1:9/h", True)
        no_bearer = ops.patch(f"/admin/v1/keys/{key['id']}", json={"webhook_api_key": None}).json()
        assert (no_bearer["webhook_url"], no_bearer["webhook_api_key_set"]) == ("http://127.0.0.1:9/h", False)
        internal = ops.patch(f"/admin/v1/keys/{key['id']}", json={"webhook_url": "http://169.254.169.254/"})
        assert internal.status_code == 400
        assert ops.get(f"/admin/v1/keys/{key['id']}").json()["webhook_url"] == "http://127.0.0.1:9/h"
        cleared = ops.patch(f"/admin/v1/keys/{key['id']}", json={"webhook_url": None}).json()
        assert (cleared["webhook_url"], cleared["webhook_state"]) == (None, None)


def test_callback_settings_through_the_cli(server):
    cli = [sys.executable, "-m", "reelforge", "keys"]
    data = ["--data-dir", str(server.data_dir)]
    env = {"REELFORGE_WEBHOOK_ALLOWLIST": "127.0.0.1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*cli, *args, *data], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
        )

    made = run(
        "create", "--name", "leo-cli", "--webhook-url", "http://127.0.0.1:9/cb", "--webhook-api-key", "z"
    )
    assert made.returncode == 0, made.stderr
    assert "webhook callback: http://127.0.0.1:9/cb (enabled, with a bearer key)" in made.stdout
    prefix = made.stdout.strip().splitlines()[-1][:11]
    with _admin(server) as ops:
        shown = ops.get(f"/admin/v1/keys/{prefix}").json()
        assert (shown["webhook_url"], shown["webhook_api_key_set"]) == ("http://127.0.0.1:9/cb", True)
    listed = run("list")
    assert listed.returncode == 0 and "http://127.0.0.1:9/cb" in listed.stdout, listed.stderr
    cleared = run("update", prefix, "--webhook-url", "none")
    assert cleared.returncode == 0 and "webhook callback: none" in cleared.stdout, cleared.stderr
    refused = run("create", "--name", "leo-cli-bad", "--webhook-url", "http://10.0.0.8/cb")
    assert refused.returncode == 2 and "webhook_url" in refused.stderr
