"""Webhooks over HTTP: a real server (`reelforge serve`) delivers a native job's event to a real
receiver on loopback, verifiable with the openai SDK; the admin API and the CLI show and redeliver
deliveries; a delivery in flight when its server is killed (-9) arrives after the restart."""

import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest
from openai import OpenAI

from reelforge.runtime import build_runtime
from testkit.receiver import Receiver
from testkit.support import ServerProcess, client

ENV = {
    "REELFORGE_WEBHOOK_ALLOWLIST": "127.0.0.1",
    "REELFORGE_WEBHOOK_RETRY_SCHEDULE": "0.3",
    "REELFORGE_WEBHOOK_INTERVAL": "0.2",
}
VIDEO = {"prompt": "a koala", "model": "veo-3.1-lite", "seconds": "4", "size": "1280x720"}


@contextmanager
def _operator(server: ServerProcess):
    runtime = build_runtime(server.settings())
    try:
        yield runtime
    finally:
        runtime.stop()


def _register(server: ServerProcess, key: str, uri: str, events=("video.completed", "video.failed")) -> str:
    """A native webhook of the account named `key`; returns its signing secret."""
    with server.accounts() as accounts:
        account_id = accounts.authenticate(server.key(key)).id
    with _operator(server) as runtime:
        return runtime.webhooks.register(account_id, "native", uri, list(events))[1]


@pytest.fixture(scope="module")
def webhook_server(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("webhooks") / "data", env=ENV).start()
    yield server
    server.stop()


def test_a_native_job_ends_in_a_verified_video_completed(webhook_server):
    with Receiver() as receiver:
        secret = _register(webhook_server, "hooked", receiver.url)
        with client(webhook_server, "hooked") as api:
            created = api.post("/v1/videos", json=VIDEO)
            assert created.status_code == 200, created.text
            video = created.json()
            (got,) = receiver.wait_for(1, timeout=120)
            event = OpenAI(api_key="unused").webhooks.unwrap(got.body, got.headers, secret=secret)
            assert event.type == "video.completed" and event.data.id == video["id"]
            content = api.get(f"/v1/videos/{event.data.id}/content")  # what the receiver does next
            assert content.status_code == 200 and content.content[4:8] == b"ftyp"

        admin = {"Authorization": f"Bearer {webhook_server.key('webhook-admin', admin=True)}"}
        with httpx.Client(base_url=webhook_server.url, headers=admin, timeout=30) as ops:
            listed = ops.get("/admin/v1/webhook-deliveries", params={"status": "delivered"}).json()["data"]
            (delivery,) = [d for d in listed if d["id"] == got.headers["webhook-id"]]
            assert (delivery["attempts"], delivery["last_status_code"]) == (1, 200)
            again = ops.post(f"/admin/v1/webhook-deliveries/{delivery['id']}/redeliver")
            assert again.status_code == 200 and again.json()["status"] == "pending"
            resent = receiver.wait_for(2)[1]
            assert resent.headers["webhook-id"] == got.headers["webhook-id"] and resent.body == got.body
            assert ops.get("/admin/v1/webhook-deliveries/msg_unknown").status_code == 404
            with client(webhook_server, "hooked") as not_admin:
                assert not_admin.get("/admin/v1/webhook-deliveries").status_code == 403


def test_the_cli_lists_and_redelivers(webhook_server):
    with Receiver([500]) as receiver:
        _register(webhook_server, "cli-hooked", receiver.url)
        with client(webhook_server, "cli-hooked") as api:
            api.post("/v1/videos", json=VIDEO)
        first, second = receiver.wait_for(2, timeout=120)
        cli = [sys.executable, "-m", "reelforge", "webhooks"]
        data = ["--data-dir", str(webhook_server.data_dir)]
        shown = subprocess.run([*cli, "deliveries", *data], capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        delivery_id = first.headers["webhook-id"]
        assert delivery_id in shown.stdout and "delivered" in shown.stdout
        again = subprocess.run(
            [*cli, "redeliver", delivery_id, *data], capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 0 and "pending again" in again.stdout, again.stderr
        assert receiver.wait_for(3)[2].headers["webhook-id"] == delivery_id
        missing = subprocess.run(
            [*cli, "redeliver", "msg_nope", *data], capture_output=True, text=True, timeout=60
        )
        assert missing.returncode == 2 and "not found" in missing.stderr


def test_a_delivery_in_flight_when_its_server_is_killed_arrives_after_the_restart(tmp_path):
    env = {**ENV, "REELFORGE_WEBHOOK_TIMEOUT": "1"}
    server = ServerProcess(tmp_path / "data", env=env).start()
    try:
        with Receiver([None]) as receiver:  # the first attempt gets no answer
            _register(server, "killed", receiver.url)
            with client(server, "killed") as api:
                api.post("/v1/videos", json=VIDEO)
            (first,) = receiver.wait_for(1, timeout=120)
            server.kill()  # mid-attempt: the delivery is claimed (leased) by the dead process
            server.start()
            second = receiver.wait_for(2, timeout=60)[1]
            time.sleep(1)
            assert second.headers["webhook-id"] == first.headers["webhook-id"]
            assert [r.status for r in receiver.received] == [None, 200]
    finally:
        server.stop()
