"""`/metrics` on a live `reelforge serve`, parsed with prometheus_client's own parser: the counters
and histogram counts move by exactly what the jobs did (one succeeds, one is canceled while queued,
one fails with engine_unavailable), the queue depth comes from the database, HTTP latency is
labelled by route template, and only an admin key may scrape (unless the operator opens it)."""

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from testkit.catalogs import BROKEN, catalog_with
from testkit.support import ServerProcess, client, free_port

VIDEO = {"prompt": "a lighthouse", "model": "veo-3.1-lite", "seconds": "4", "size": "1280x720"}
VIDEO_ROUTE = "/v1/videos/{video_id}"

Samples = dict[tuple[str, frozenset], float]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics")
    env = {"REELFORGE_CATALOG_PATH": str(catalog_with(root / "catalog.json", BROKEN))}
    server = ServerProcess(root / "data", workers=1, env=env).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(server):
    server.key("metrics-admin", admin=True)  # issued as an admin's before `client` asks for it
    with client(server, "metrics-admin", timeout=30) as c:
        yield c


def scrape(http: httpx.Client) -> Samples:
    resp = http.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return parsed(resp.text)


def parsed(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_status(
    api: httpx.Client, video_id: str, statuses: set[str], timeout: float = 120
) -> tuple[dict, int]:
    """Poll the native video until its status is one of `statuses`; returns it and the polls made."""
    deadline, polls = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        video = api.get(f"/v1/videos/{video_id}").json()
        polls += 1
        if video["status"] in statuses:
            return video, polls
        time.sleep(0.1)
    raise TimeoutError(f"video {video_id} is still {video['status']}")


def test_scraping_needs_an_admin_key(server):
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        refused = anonymous.get("/metrics")
        assert refused.status_code == 401 and refused.json()["error"]["code"]
    with client(server, "metrics-not-admin") as user:
        refused = user.get("/metrics")
        assert refused.status_code == 403 and refused.json()["error"]["code"]
        assert "reelforge_" not in refused.text


def test_counters_and_histograms_move_by_what_the_jobs_did(server, admin):
    before = scrape(admin)
    with client(server, "metrics-user", timeout=60) as api:
        first = api.post("/v1/videos", json=VIDEO).json()
        _, polls = wait_status(api, first["id"], {"in_progress", "completed"})
        queued = api.post("/v1/videos", json=VIDEO).json()  # the one worker is busy: it waits
        during = scrape(admin)
        assert value(during, "reelforge_queue_depth", status="queued") == 1
        assert value(during, "reelforge_queue_depth", status="running") == 1
        assert api.post(f"/v1/videos/{queued['id']}/cancel").status_code == 200
        done, more = wait_status(api, first["id"], {"completed", "failed"})
        assert done["status"] == "completed"
        broken = api.post("/v1/videos", json={**VIDEO, "model": BROKEN["id"]}).json()
        failed, last = wait_status(api, broken["id"], {"completed", "failed"})
        assert failed["status"] == "failed"
        polls += more + last
    after = scrape(admin)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    lite, broken_id = VIDEO["model"], BROKEN["id"]
    assert moved("reelforge_jobs_submitted_total", model=lite) == 2
    assert moved("reelforge_jobs_submitted_total", model=broken_id) == 1
    finished = {
        (lite, "succeeded", "none"): 1,
        (lite, "canceled", "none"): 1,
        (broken_id, "failed", "engine_unavailable"): 1,
    }
    for (model, status, code), count in finished.items():
        labels = {"model": model, "status": status, "failure_code": code}
        assert moved("reelforge_jobs_finished_total", **labels) == count, labels
    # the canceled job never started: one wait per started job
    assert moved("reelforge_queue_wait_seconds_count", model=lite) == 1
    assert moved("reelforge_queue_wait_seconds_count", model=broken_id) == 1
    assert moved("reelforge_render_seconds_count", model=lite, engine="preview") == 1
    assert moved("reelforge_render_seconds_sum", model=lite, engine="preview") > 0
    assert moved("reelforge_render_seconds_count", model=broken_id, engine="ltx") == 0
    assert moved("reelforge_step_seconds_count", model=lite, engine="preview") > 0
    assert value(after, "reelforge_queue_depth", status="queued") == 0
    assert value(after, "reelforge_queue_depth", status="running") == 0

    http = "reelforge_http_request_duration_seconds_count"
    assert moved(http, route=VIDEO_ROUTE, method="GET", status="2xx") == polls
    assert moved(http, route="/v1/videos", method="POST", status="2xx") == 3
    assert moved(http, route="/metrics", method="GET", status="2xx") == 2  # `before` and `during`
    routes = {dict(labels).get("route") for name, labels in after if name == http}
    assert not any(first["id"] in route for route in routes if route)  # templates, never raw paths


def test_an_unknown_path_is_one_series_not_one_per_path(admin):
    before = scrape(admin)
    for path in ("/nowhere/1", "/nowhere/2"):
        assert admin.get(path).status_code == 404
    after = scrape(admin)
    labels = {"route": "unmatched", "method": "GET", "status": "4xx"}
    name = "reelforge_http_request_duration_seconds_count"
    assert value(after, name, **labels) - value(before, name, **labels) == 2


def test_an_operator_may_open_metrics_to_any_scraper(tmp_path):
    server = ServerProcess(tmp_path / "data", workers=0, env={"REELFORGE_METRICS_PUBLIC": "true"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            samples = scrape(anonymous)
        assert value(samples, "reelforge_queue_depth", status="queued") == 0
    finally:
        server.stop()


def test_celery_worker_serves_metrics_and_a_host_sums_its_processes(tmp_path):
    """Scale-out: the worker's own metrics port, and with PROMETHEUS_MULTIPROC_DIR shared by the
    API node and the worker, the API's /metrics shows the job the worker rendered."""
    from testkit.cluster import cluster, wait_until

    shared = tmp_path / "prometheus"
    shared.mkdir()
    port = free_port()
    with cluster(tmp_path, metrics_port=port) as c:
        c.env["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
        api_node = c.api()
        c.worker()
        api_node.key("metrics-admin", admin=True)
        with client(api_node, "metrics-admin", timeout=60) as admin, client(api_node, "cluster-user") as api:
            video = api.post("/v1/videos", json=VIDEO).json()
            done, _ = wait_status(api, video["id"], {"completed", "failed"})
            assert done["status"] == "completed"
            worker = wait_until(
                lambda: _scrape_open(f"http://127.0.0.1:{port}/metrics"), 30, "the worker's metrics port"
            )
            host = scrape(admin)
    labels = {"model": VIDEO["model"], "status": "succeeded", "failure_code": "none"}
    assert value(worker, "reelforge_jobs_finished_total", **labels) == 1  # recorded in the worker
    assert value(host, "reelforge_jobs_finished_total", **labels) == 1  # shown by the API node too
    assert value(host, "reelforge_jobs_submitted_total", model=VIDEO["model"]) == 1
    assert value(worker, "reelforge_render_seconds_count", model=VIDEO["model"], engine="preview") == 1


def _scrape_open(url: str) -> Samples | None:
    try:
        resp = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    return parsed(resp.text)
