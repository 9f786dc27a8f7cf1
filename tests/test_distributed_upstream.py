"""An upstream engine in scale-out mode: a Celery worker SIGKILLed while it waits on the provider
(the session's reelforge server, spoken to in the OpenAI shape); the worker started after it
resumes polling the same upstream job, so the provider renders it once."""

import uuid

import httpx
from sqlalchemy import create_engine, text

from testkit.catalogs import catalog_with
from testkit.cluster import cluster, wait_until
from testkit.support import client, probe_mp4
from testkit.upstream import catalog_entry


def _row(c, job_id: str):
    engine = create_engine(c.database_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().first()
    engine.dispose()
    return row


def test_a_killed_worker_is_resumed_on_the_same_upstream_job(server, tmp_path):
    account = f"cluster-gateway-{uuid.uuid4()}"
    entry = catalog_entry("via-openai", "openai", server.url, "CLUSTER_UPSTREAM_KEY")
    catalog = catalog_with(tmp_path / "catalog.json", entry)
    with cluster(tmp_path, catalog_path=catalog, upstream_allowlist="127.0.0.1") as c:
        c.env["CLUSTER_UPSTREAM_KEY"] = server.key(account)
        api, victim = c.api(), c.worker()
        with client(api) as http:
            body = {
                "model": "via-openai",
                "prompt": "a long upstream render",
                "seconds": "8",
                "size": "1920x1080",
            }
            video_id = http.post("/v1/videos", json=body).json()["id"]
            job_id = video_id.removeprefix("video_")
            row = wait_until(
                lambda: (r := _row(c, job_id))["upstream"].get("samples") and r, 60, "not submitted"
            )
            upstream_id = row["upstream"]["samples"]["0"]["id"]
            victim.kill()
            c.worker()
            wait_until(lambda: _row(c, job_id)["status"] == "succeeded", 180, "not resumed")
            row = _row(c, job_id)
            assert row["attempts"] == 2
            assert row["upstream"]["samples"]["0"]["id"] == upstream_id
            video = http.get(f"/v1/videos/{video_id}/content", follow_redirects=True)  # to S3
            assert probe_mp4(video.content).frames == 192
    with client(server, key=account) as upstream:
        [only] = upstream.get("/v1/videos").json()["data"]  # rendered once, not twice
    assert only["id"] == upstream_id and only["status"] == "completed"
    assert httpx.get(f"{server.url}/healthz").status_code == 200
