"""The Gemini API's webhooks over real HTTP, driven by the google-genai SDK (`client.webhooks`)
against a real server, with a real receiver on loopback (admitted by REELFORGE_WEBHOOK_ALLOWLIST):
a Veo job's `video.generated` verifies with the secret `create` returned (standardwebhooks) and
leads the receiver to the MP4; ping; rotation (two signatures, each verifying with its own secret);
list, get, patch, delete; per-request `webhookConfig`; refusals in Google's error shape.

Decisions asserted here are written down in api/dialects/google/webhooks.py and gemini.py."""

import json
import time
import uuid

import pytest
import standardwebhooks
from google import genai
from google.genai import types

from testkit.google import assert_google_error, google_client, wait_done
from testkit.receiver import Receiver
from testkit.support import ServerProcess, probe_mp4

MODEL = "veo-3.1-lite-generate-preview"
PREDICT = f"/v1beta/models/{MODEL}:predictLongRunning"
ENV = {
    "REELFORGE_WEBHOOK_ALLOWLIST": "127.0.0.1",
    "REELFORGE_WEBHOOK_RETRY_SCHEDULE": "0.3",
    "REELFORGE_WEBHOOK_INTERVAL": "0.2",
}


@pytest.fixture(scope="module")
def hooked(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("gemini-webhooks") / "data", env=ENV).start()
    yield server
    server.stop()


@pytest.fixture
def account() -> str:
    return f"gemini-webhooks-{uuid.uuid4()}"


def _sdk(server: ServerProcess, account: str, api_version: str | None = None) -> genai.Client:
    """Keep the client while using `client.webhooks`: the client closes its connections when freed."""
    options = types.HttpOptions(base_url=server.url, api_version=api_version)
    return genai.Client(api_key=server.key(account), http_options=options)


def _verified(got, secret: str, signature: str | None = None) -> dict:
    """The delivery's event, verified with `secret` (against one of its signatures, if given)."""
    headers = dict(got.headers)
    if signature is not None:
        headers["webhook-signature"] = signature
    return standardwebhooks.Webhook(secret).verify(got.body, headers)


def _refused(got, secret: str) -> bool:
    try:
        _verified(got, secret)
    except standardwebhooks.WebhookVerificationError:
        return True
    return False


def test_a_veo_job_sends_one_verified_video_generated_that_leads_to_the_mp4(hooked, account):
    with Receiver() as receiver, google_client(hooked, account) as api:
        sdk = _sdk(hooked, account)
        webhook = sdk.webhooks.create(uri=receiver.url, subscribed_events=["video.generated"])
        assert webhook.new_signing_secret.startswith("whsec_") and webhook.state == "enabled"
        created = api.post(
            PREDICT, json={"instances": [{"prompt": "a heron"}], "parameters": {"durationSeconds": 4}}
        )
        assert created.status_code == 200, created.text
        name = created.json()["name"]
        (got,) = receiver.wait_for(1, timeout=120)
        event = _verified(got, webhook.new_signing_secret)
        assert event["type"] == "video.generated" and event["version"] == "v1"
        assert event["timestamp"].endswith("Z") and event["data"]["id"] == name
        assert event["data"]["file_name"].startswith("files/")
        # what the receiver does next: the operation, and the video with its key
        operation = api.get(f"/v1beta/{event['data']['id']}").json()
        assert operation["done"] is True
        video = api.get(event["data"]["output_file_uri"])
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
        assert video.content[4:8] == b"ftyp" and probe_mp4(video.content).frames
        time.sleep(1)  # five delivery passes: the delivered event is not sent again
        assert len(receiver.received) == 1


def test_ping_and_rotation_through_the_sdk(hooked, account):
    with Receiver() as receiver:
        sdk = _sdk(hooked, account)
        hooks = sdk.webhooks
        webhook = hooks.create(uri=receiver.url, subscribed_events=["video.generated"], name="rotating")
        first = webhook.new_signing_secret
        assert hooks.ping(webhook.id) is not None
        (pinged,) = receiver.wait_for(1)
        event = _verified(pinged, first)
        assert event["type"] == "webhook.ping" and event["data"] == {"id": webhook.id}

        second = hooks.rotate_signing_secret(webhook.id).secret  # default: the old one lives 24 h
        assert second.startswith("whsec_") and second != first
        secrets_ = hooks.get(webhook.id).signing_secrets
        assert [s.expire_time is not None for s in secrets_] == [True, False]
        assert secrets_[1].truncated_secret == f"whsec_{second[6:9]}...{second[-4:]}"
        hooks.ping(webhook.id)
        rotating = receiver.wait_for(2)[1]
        signatures = rotating.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2
        for secret, signed in zip((first, second), signatures, strict=True):  # the old one, then the new
            assert _verified(rotating, secret, signed)["type"] == "webhook.ping"
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            _verified(rotating, first, signatures[1])

        third = hooks.rotate_signing_secret(
            webhook.id, revocation_behavior="revoke_previous_secrets_immediately"
        ).secret
        hooks.ping(webhook.id)
        revoked = receiver.wait_for(3)[2]
        assert len(revoked.headers["webhook-signature"].split(" ")) == 1
        assert _verified(revoked, third)["type"] == "webhook.ping"
        assert _refused(revoked, first) and _refused(revoked, second)
        assert len(hooks.get(webhook.id).signing_secrets) == 1


@pytest.mark.parametrize("api_version", ["v1beta", "v1"])  # google-genai 2.x and 3.x paths
def test_list_get_patch_delete_through_the_sdk(hooked, account, api_version):
    sdk = _sdk(hooked, account, api_version)
    hooks = sdk.webhooks
    made = [
        hooks.create(uri=f"http://127.0.0.1:9/h{i}", subscribed_events=["video.generated"], name=f"n{i}")
        for i in range(3)
    ]
    page = hooks.list(page_size=2)
    assert [w.id for w in page.webhooks] == [w.id for w in made[:2]] and page.next_page_token
    rest = hooks.list(page_size=2, page_token=page.next_page_token)
    assert [w.id for w in rest.webhooks] == [made[2].id] and not rest.next_page_token
    assert all(w.new_signing_secret is None for w in page.webhooks + rest.webhooks)

    got = hooks.get(made[0].id)
    assert (got.name, got.uri, got.subscribed_events) == ("n0", "http://127.0.0.1:9/h0", ["video.generated"])
    assert got.new_signing_secret is None and got.create_time is not None

    updated = hooks.update(made[0].id, update_mask="state,uri", state="disabled", uri="http://127.0.0.1:9/x")
    assert (updated.state, updated.uri, updated.name) == ("disabled", "http://127.0.0.1:9/x", "n0")
    renamed = hooks.update(made[0].id, name="renamed", subscribed_events=["video.generated", "batch.failed"])
    assert (renamed.name, renamed.subscribed_events) == ("renamed", ["video.generated", "batch.failed"])
    assert renamed.state == "disabled"

    assert hooks.delete(made[0].id) is not None
    with pytest.raises(Exception, match="404") as refused:
        hooks.get(made[0].id)
    assert "NOT_FOUND" in str(refused.value)
    # another account sees none of them
    other = _sdk(hooked, f"{account}-other", api_version)
    assert not other.webhooks.list().webhooks
    with pytest.raises(Exception, match="404"):
        other.webhooks.get(made[1].id)


def test_a_per_request_webhook_config_gets_the_event_with_the_user_metadata(hooked, account):
    """Sent instead of the account's webhooks, signed with the secret of its oldest Gemini webhook."""
    with Receiver() as receiver, Receiver() as registered, google_client(hooked, account) as api:
        sdk = _sdk(hooked, account)
        webhook = sdk.webhooks.create(uri=registered.url, subscribed_events=["video.generated"])
        body = {
            "instances": [{"prompt": "a wren"}],
            "parameters": {"durationSeconds": 4},
            "webhookConfig": {"uris": [receiver.url], "user_metadata": {"job_ref": "abc", "n": 1}},
        }
        created = api.post(PREDICT, json=body)
        assert created.status_code == 200, created.text
        (got,) = receiver.wait_for(1, timeout=120)
        event = json.loads(got.body)
        assert event["type"] == "video.generated" and event["data"]["id"] == created.json()["name"]
        assert event["data"]["user_metadata"] == {"job_ref": "abc", "n": 1}
        assert got.headers["webhook-id"].startswith("msg_")
        assert _verified(got, webhook.new_signing_secret)["data"]["id"] == created.json()["name"]
        time.sleep(2)  # a delivery to the registered webhook would have come by now (1 s passes)
        assert registered.received == []


def test_a_canceled_job_sends_video_generated_with_its_error(hooked, account):
    with Receiver() as receiver, google_client(hooked, account) as api:
        sdk = _sdk(hooked, account)
        sdk.webhooks.create(uri=receiver.url, subscribed_events=["video.generated"])
        long = {
            "instances": [{"prompt": "busy"}],
            "parameters": {"durationSeconds": 8, "resolution": "1080p"},
        }
        busy = api.post(PREDICT, json=long).json()["name"]  # the one worker renders this
        queued = api.post(PREDICT, json=long).json()["name"]
        assert api.post(f"/v1beta/{queued}:cancel").status_code == 200
        wait_done(lambda: api.get(f"/v1beta/{busy}").json())
        events = {e["data"]["id"]: e for e in (json.loads(r.body) for r in receiver.wait_for(2, timeout=120))}
        assert events[queued]["type"] == "video.generated"
        assert events[queued]["data"]["error_code"] == 1 and events[queued]["data"]["error_message"]
        assert "output_file_uri" not in events[queued]["data"]
        assert "output_file_uri" in events[busy]["data"]


BAD = [
    ("POST", "", {"uri": "http://127.0.0.1:9/h", "subscribed_events": ["video.made"]}, "subscribed_events"),
    ("POST", "", {"uri": "http://127.0.0.1:9/h", "subscribed_events": []}, "subscribed_events"),
    ("POST", "", {"subscribed_events": ["video.generated"]}, "uri"),
    ("POST", "", {"uri": "ftp://example.com/h", "subscribed_events": ["video.generated"]}, "uri"),
    ("PATCH", "/{id}", {"state": "disabled_due_to_failed_deliveries"}, "state"),
    ("PATCH", "/{id}?update_mask=colour", {"name": "x"}, "update_mask"),
    ("PATCH", "/{id}?update_mask=uri", {"name": "x"}, "uri"),
    ("POST", "/{id}:rotateSigningSecret", {"revocation_behavior": "never"}, "revocation_behavior"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD)
def test_bad_requests_are_400_in_googles_shape(hooked, account, method, path, body, field):
    sdk = _sdk(hooked, account)
    webhook = sdk.webhooks.create(uri="http://127.0.0.1:9/h", subscribed_events=["video.generated"])
    with google_client(hooked, account) as api:
        resp = api.request(method, "/v1/webhooks" + path.format(id=webhook.id), json=body)
        assert_google_error(resp, 400, "INVALID_ARGUMENT", field)
        assert api.get(f"/v1/webhooks/{webhook.id}").json()["state"] == "enabled"


def test_unknown_webhooks_are_404_and_no_key_is_403(hooked, account):
    with google_client(hooked, account) as api, google_client(hooked) as anonymous:
        for prefix in ("/v1beta/webhooks", "/v1/webhooks"):
            assert_google_error(api.get(f"{prefix}/{uuid.uuid4()}"), 404, "NOT_FOUND")
            assert_google_error(api.post(f"{prefix}/nope:ping"), 404, "NOT_FOUND")
            assert_google_error(anonymous.get(prefix), 403, "PERMISSION_DENIED")


def test_loopback_targets_are_refused_without_the_allowlist(server, account):
    with google_client(server, account) as api:
        for prefix in ("/v1beta/webhooks", "/v1/webhooks"):
            body = {"uri": "http://127.0.0.1:8080/h", "subscribed_events": ["video.generated"]}
            assert_google_error(api.post(prefix, json=body), 400, "INVALID_ARGUMENT", "uri")
            assert api.get(prefix).json().get("webhooks", []) == []
        predict = {
            "instances": [{"prompt": "p"}],
            "webhookConfig": {"uris": ["https://8.8.8.8/ok", "http://169.254.169.254/h"]},
        }
        resp = api.post(PREDICT, json=predict)
        assert_google_error(resp, 400, "INVALID_ARGUMENT", "webhookConfig.uris[1]")
