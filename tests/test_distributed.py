"""Scale-out over real parts: API nodes and Celery worker processes sharing PostgreSQL, a Redis
broker and an S3 bucket (moto's server), with faults injected: workers killed mid-render, an API
node killed during a burst of submits, the broker stopped for a while."""

import contextlib
import json
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import create_engine, text

from testkit.cluster import cluster, private_redis, wait_until
from testkit.support import client, make_image, probe_mp4, wait_for_generation

LONG = {"model": "VEO3_1", "parameters": {"prompt": "a long render", "mode": "RESOLUTION_1080"}}
SHORT = {"model": "veo-3.1-lite", "parameters": {"prompt": "short", "duration": 4}}


def _submit(http, body=SHORT) -> str:
    resp = http.post("/api/rest/v2/generations", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["generate"]["generationId"]


def _job_row(c, job_id):
    engine = create_engine(c.database_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().first()
    engine.dispose()
    return row


def _objects(c, prefix: str) -> list[str]:
    listed = c.s3.list_objects_v2(Bucket=c.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_any_api_node_serves_any_job_with_presigned_s3_media(tmp_path):
    with cluster(tmp_path, media_url_ttl=600) as c:
        a, b = c.api(), c.api()
        c.worker()
        with client(a) as http_a, client(b) as http_b:
            # Leonardo's init-image flow hands out a real presigned POST to the bucket.
            upload = http_a.post("/api/rest/v1/init-image", json={"extension": "png"}).json()[
                "uploadInitImage"
            ]
            assert upload["url"].startswith(c.s3.meta.endpoint_url)
            resp = httpx.post(
                upload["url"],
                data=json.loads(upload["fields"]),
                files={"file": ("a.png", make_image(1280, 720))},
            )
            assert resp.status_code == 204, resp.text
            body = {
                **SHORT,
                "parameters": {
                    **SHORT["parameters"],
                    "guidances": {"start_frame": [{"image": {"id": upload["id"], "type": "UPLOADED"}}]},
                },
            }
            gen_id = _submit(http_a, body)
            gen = wait_for_generation(http_b, gen_id, timeout=120)  # polled on the other node
            assert gen["status"] == "COMPLETE"

        url = gen["generated_images"][0]["motionMP4URL"]
        query = parse_qs(urlparse(url).query)
        assert url.startswith(f"{c.s3.meta.endpoint_url}/{c.bucket}/media/outputs/{gen_id}/")
        assert query["X-Amz-Expires"] == ["600"] and "X-Amz-Signature" in query
        probe = probe_mp4(httpx.get(url).content)
        assert (probe.width, probe.height, probe.frames, probe.audio_codec) == (1280, 720, 96, "aac")
        assert probe.first[360, 200][0] > 180  # the uploaded start frame's red half
        # reelforge's own media route hands nothing to an unsigned request, not even a redirect to
        # the bucket: the presigned URLs a status read hands out are the only way to the bytes
        key = urlparse(url).path.split("/media/", 1)[1]
        refused = httpx.get(f"{b.url}/media/{key}")
        assert refused.status_code == 403 and "location" not in refused.headers
        assert refused.json()["error"]["code"] == "forbidden"
        assert not list(tmp_path.glob("api*/data/media"))  # API nodes keep no media on disk


def test_bad_file_posted_to_the_bucket_is_refused_when_used(tmp_path):
    with cluster(tmp_path) as c:
        api = c.api()
        with client(api) as http:
            upload = http.post("/api/rest/v1/init-image", json={"extension": "png"}).json()["uploadInitImage"]
            resp = httpx.post(
                upload["url"], data=json.loads(upload["fields"]), files={"file": ("a.png", b"GIF89a")}
            )
            assert resp.status_code == 204  # the bucket takes any bytes within the size policy
            body = {"prompt": "p", "imageId": upload["id"], "imageType": "UPLOADED", "model": "VEO3_1"}
            resp = http.post("/api/rest/v1/generations-image-to-video", json=body)
            assert resp.status_code == 400
            assert "JPEG, PNG or WebP" in resp.json()["message"]
            assert _objects(c, "media/uploads/") == []  # dropped, not kept around
            jobs = _job_count(c)
        assert jobs == 0


def _job_count(c) -> int:
    engine = create_engine(c.database_url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM jobs")).scalar()
    engine.dispose()
    return count


def test_worker_killed_mid_render_job_completes_exactly_once(tmp_path):
    with cluster(tmp_path) as c:
        api = c.api()
        first, second = c.worker(), c.worker()
        with client(api) as http:
            gen_id = _submit(http, LONG)
            row = wait_until(lambda: (r := _job_row(c, gen_id))["status"] == "running" and r, 60, "never ran")
            pid = int(row["lease_token"].split("-")[-2])
            victim = next(w for w in (first, second) if w.proc.pid == pid)
            wait_until(lambda: _job_row(c, gen_id)["progress"] >= 5, 60, "no progress")
            victim.kill()
            gen = wait_for_generation(http, gen_id, timeout=180)
        assert gen["status"] == "COMPLETE"
        row = _job_row(c, gen_id)
        assert row["attempts"] == 2
        assert _objects(c, f"media/outputs/{gen_id}/") == [
            f"media/outputs/{gen_id}/2/0.jpg",
            f"media/outputs/{gen_id}/2/0.mp4",
        ]
        probe = probe_mp4(httpx.get(gen["generated_images"][0]["motionMP4URL"]).content)
        assert (probe.width, probe.height, probe.frames) == (1920, 1080, 192)


def test_cancel_reaches_a_job_on_another_machine(tmp_path):
    from reelforge.config import Settings
    from reelforge.runtime import build_runtime

    with cluster(tmp_path) as c:
        api = c.api()
        c.worker()
        with client(api) as http:
            gen_id = _submit(http, LONG)
        wait_until(lambda: _job_row(c, gen_id)["progress"] >= 2, 60, "never ran")
        # an operator's process elsewhere: same database and broker, no HTTP
        env = {k.removeprefix("REELFORGE_").lower(): v for k, v in c.env.items()}
        runtime = build_runtime(Settings(**env, data_dir=tmp_path / "operator"))
        runtime.service.cancel(gen_id)
        wait_until(lambda: _job_row(c, gen_id)["status"] == "canceled", 10, "worker kept rendering")
        runtime.stop()
        row = _job_row(c, gen_id)
        assert row["status"] == "canceled", dict(row)  # and it stays canceled: no worker finished it
        assert _objects(c, f"media/outputs/{gen_id}/") == []


def test_api_node_killed_during_a_burst_every_accepted_job_completes(tmp_path):
    with cluster(tmp_path) as c:
        api = c.api()
        c.worker()
        c.worker()
        accepted = []
        with client(api) as http:
            for n in range(12):
                if n == 6:
                    api.kill()
                    api = c.api(port=api.port)
                with contextlib.suppress(httpx.HTTPError):  # refused while down: not accepted, nothing lost
                    accepted.append(
                        _submit(http, {**SHORT, "parameters": {"prompt": f"burst {n}", "duration": 4}})
                    )
            assert len(accepted) >= 10
            for gen_id in accepted:
                assert wait_for_generation(http, gen_id, timeout=240)["status"] == "COMPLETE"


def test_broker_outage_loses_no_accepted_job(tmp_path):
    with private_redis() as broker, cluster(tmp_path, broker_url=broker.url) as c:
        api = c.api()
        c.worker()
        with client(api) as http:
            before = _submit(http)
            broker.stop()
            during = []
            for n in range(3):
                resp = http.post(
                    "/api/rest/v2/generations",
                    json={**SHORT, "parameters": {"prompt": f"outage {n}", "duration": 4}},
                )
                # accepted (committed; published later) or refused clearly: never a 5xx
                assert resp.status_code == 200, resp.text
                during.append(resp.json()["generate"]["generationId"])
            time.sleep(1)
            broker.start()
            for gen_id in [before, *during]:
                assert wait_for_generation(http, gen_id, timeout=240)["status"] == "COMPLETE"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.delenv("HTTP_PROXY", raising=False)
