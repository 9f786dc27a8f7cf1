"""The smaller edges of issue 10 (finding 6): keys in query strings stay out of the access log,
`/healthz` tells counts to admins only, the Host header is checked (no DNS rebinding of an open
server on loopback), and Vertex's inline videos are bounded."""

import base64
import dataclasses

import httpx
import psycopg
import pytest

from reelforge.api.dialects.google import vertex
from reelforge.config import Settings
from reelforge.core.job import JobStatus
from testkit.databases import PG_ADMIN, postgres_database
from testkit.jobs import make_job
from testkit.support import ServerProcess


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("edges") / "data", workers=0, env={"REELFORGE_AUTH": "open"})
    yield srv.start()
    srv.stop()


def _log(srv: ServerProcess) -> str:
    return (srv.data_dir.parent / f"server-{srv.port}.log").read_text()


def test_keys_in_query_strings_are_redacted_from_the_access_log(tmp_path):
    srv = ServerProcess(tmp_path / "data", workers=0, env={"REELFORGE_AUTH": "open"}).start()
    secrets = {name: f"{name}-SECRET-0123456789" for name in ("key", "api_key", "token", "signature")}
    try:
        resp = httpx.get(f"{srv.url}/v1beta/models?key={secrets['key']}&pageSize=5")
        assert resp.status_code == 200  # the key in the query string works
        query = "&".join(f"{name}={value}" for name, value in secrets.items())
        httpx.get(f"{srv.url}/v1/videos?{query}")
    finally:
        srv.stop()
    log = _log(srv)
    assert "GET /v1beta/models?key=***&pageSize=5" in log, log
    for secret in secrets.values():
        assert secret not in log


def test_healthz_without_an_admin_key_says_only_ok(open_server, server, http):
    assert httpx.get(f"{open_server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert http.get("/healthz").json() == {"status": "ok"}  # a customer's key
    bad = httpx.get(f"{server.url}/healthz", headers={"Authorization": "Bearer rf_nonsense"})
    assert bad.status_code == 200 and bad.json() == {"status": "ok"}


def test_healthz_is_not_ok_while_the_database_does_not_answer(tmp_path):
    """PostgreSQL refuses this server's database (connections ended, new ones not allowed): 503,
    nothing more; once it answers again, so does /healthz."""
    with postgres_database() as url:
        name = url.rsplit("/", 1)[1]
        env = {"REELFORGE_AUTH": "open", "REELFORGE_DATABASE_URL": url}
        srv = ServerProcess(tmp_path / "data", workers=0, env=env).start()
        try:
            assert httpx.get(f"{srv.url}/healthz").json() == {"status": "ok"}
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
                )
                down = httpx.get(f"{srv.url}/healthz", timeout=30)
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert (down.status_code, down.json()) == (503, {"status": "unavailable"})
            assert httpx.get(f"{srv.url}/healthz").json() == {"status": "ok"}
        finally:
            srv.stop()


def test_healthz_with_an_admin_key_adds_version_and_job_counts(server):
    admin = {"Authorization": f"Bearer {server.key('edges-admin', admin=True)}"}
    body = httpx.get(f"{server.url}/healthz", headers=admin).json()
    assert body["status"] == "ok" and body["version"]
    assert set(body["jobs"]) == {s.value for s in JobStatus}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io"])
def test_an_open_server_on_loopback_refuses_other_host_names(open_server, host):
    """A page on evil.example that rebinds its name to 127.0.0.1 reaches the socket, not the API."""
    resp = httpx.get(f"{open_server.url}/v1/videos", headers={"Host": host, "Authorization": "Bearer k"})
    assert resp.status_code == 400
    assert resp.text == "Invalid host header"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_an_open_server_on_loopback_answers_loopback_names(open_server, host):
    headers = {"Host": f"{host}:{open_server.port}", "Authorization": "Bearer k"}
    assert httpx.get(f"{open_server.url}/v1/videos", headers=headers).status_code == 200


def test_allowed_hosts_is_a_setting(tmp_path):
    env = {"REELFORGE_AUTH": "open", "REELFORGE_ALLOWED_HOSTS": "127.0.0.1, *.example.com"}
    srv = ServerProcess(tmp_path / "data", workers=0, env=env).start()
    try:
        for host, status in [("api.example.com", 200), ("localhost", 400), ("example.org", 400)]:
            assert httpx.get(f"{srv.url}/healthz", headers={"Host": host}).status_code == status, host
    finally:
        srv.stop()


def test_the_default_allowed_hosts():
    assert Settings(auth="open", host="127.0.0.1").trusted_hosts == ["localhost", "127.0.0.1", "[::1]"]
    assert Settings(auth="keys", host="127.0.0.1").trusted_hosts == ["*"]
    assert Settings(auth="keys", host="0.0.0.0").trusted_hosts == ["*"]
    assert Settings(allowed_hosts="a.example, b.example").trusted_hosts == ["a.example", "b.example"]


def test_vertex_inlines_videos_up_to_the_bound_and_links_larger_ones(media, blobs):
    job = make_job(JobStatus.SUCCEEDED, outputs=2)
    small, large = job.outputs
    job.outputs[1] = dataclasses.replace(large, video_bytes=vertex.MAX_INLINE_VIDEO_BYTES + 1)
    blobs.put_bytes(small.video_key, b"small mp4")

    videos = vertex.operation(media, job, "operations/x").response.videos
    assert base64.b64decode(videos[0].bytesBase64Encoded) == b"small mp4" and videos[0].gcsUri is None
    assert videos[1].bytesBase64Encoded is None
    assert videos[1].gcsUri.startswith(f"{blobs.base_url}/media/{large.video_key}?expires=")
