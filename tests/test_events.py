"""`GET /v1/videos/{id}/events` over real HTTP: refused before the stream starts (401 without a
key, 404 in the OpenAI shape for an unknown id or another account's video), the first event at
once, a canceled video's terminal `failed` event without URLs, and the route in the OpenAPI doc.
The full progress stream is followed in test_client.py and across nodes in
test_distributed_events.py."""

import json
import uuid

import httpx

from testkit.support import UNKNOWN_ID, client


def _events(http: httpx.Client, video_id: str, count: int) -> list[tuple[str, str, dict]]:
    """The first `count` events of the stream (event, id, data); the stream is then closed."""
    found, fields = [], {}
    with http.stream("GET", f"/v1/videos/{video_id}/events") as resp:
        assert resp.status_code == 200, resp.read()
        for line in resp.iter_lines():
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            found.append((fields["event"], fields["id"], json.loads(fields["data"])))
            fields = {}
            if len(found) == count:
                break
    return found


def test_refused_before_the_stream_starts(server, api, anonymous):
    for video_id in (
        str(UNKNOWN_ID),
        api.post("/v1/videos", json={"prompt": "mine", "seconds": "4"}).json()["id"],
    ):
        with client(server, f"events-stranger-{uuid.uuid4()}") as stranger:
            resp = stranger.get(f"/v1/videos/{video_id}/events")
        assert resp.status_code == 404 and resp.json()["error"]["type"] == "invalid_request_error", resp.text
        assert resp.headers["content-type"] == "application/json"
    resp = anonymous.get(f"/v1/videos/{UNKNOWN_ID}/events")
    assert resp.status_code == 401 and "error" in resp.json()


def test_a_canceled_video_ends_with_a_failed_event_without_urls(api):
    video = api.post("/v1/videos", json={"prompt": "to cancel", "model": "VEO3_1", "seconds": "8"}).json()
    first = _events(api, video["id"], 1)
    assert first[0][0] == "progress" and first[0][1] == "1" and first[0][2]["id"] == video["id"]
    assert first[0][2]["status"] in ("queued", "in_progress") and "eta_seconds" in first[0][2]
    api.post(f"/v1/videos/{video['id']}/cancel")
    last = _events(api, video["id"], 1)[-1]
    while last[0] == "progress":  # a running render stops within a step
        last = _events(api, video["id"], 1)[-1]
    assert last[0] == "failed" and last[2]["error"]["code"] == "canceled" and last[2]["urls"] is None


def test_the_route_is_in_the_openapi_document(anonymous):
    operation = anonymous.get("/openapi.json").json()["paths"]["/v1/videos/{video_id}/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"401", "404", "429"} <= operation["responses"].keys()
