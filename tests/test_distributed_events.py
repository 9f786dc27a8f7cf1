"""Live progress across API nodes: a video created on node A is followed on node B's
`/v1/videos/{id}/events` (raw server-sent events, and reelforge.client's `wait`) while a Celery
worker renders it, on PostgreSQL, Redis and S3 (moto). Nothing ties the stream to the node that
took the job: node B reads the job from the database."""

import json

import httpx

from reelforge.client import Client
from testkit.cluster import cluster
from testkit.support import probe_mp4


def _raw_events(url: str, key: str, video_id: str) -> list[tuple[str, int, dict]]:
    """(event, id, data) of every event of the stream, read line by line as any SSE reader would."""
    events, fields = [], {}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream("GET", f"{url}/v1/videos/{video_id}/events", headers=headers, timeout=120) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["cache-control"] == "no-cache" and resp.headers["x-accel-buffering"] == "no"
        for line in resp.iter_lines():
            if not line:
                if fields:
                    events.append((fields["event"], int(fields["id"]), json.loads(fields["data"])))
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    return events


def test_a_job_created_on_one_node_streams_its_progress_on_another(tmp_path):
    with cluster(tmp_path) as c:
        a, b = c.api(), c.api()
        c.worker()
        key = a.key("events-across-nodes")
        with Client(a.url, key) as on_a, Client(b.url, key) as on_b:
            first = on_a.create("followed elsewhere", seconds=4, size="1280x720")
            events = _raw_events(b.url, key, first.id)
            words = [e for e, _, _ in events]
            assert words[-1] == "completed" and set(words[:-1]) == {"progress"}, words
            assert [i for _, i, _ in events] == list(range(1, len(events) + 1))
            progress = [d["progress"] for _, _, d in events]
            assert progress == sorted(progress) and len(set(progress)) >= 3, progress
            urls = events[-1][2]["urls"]
            assert urls["video"] == f"{b.url}/v1/videos/{first.id}/content?variant=video"
            with httpx.Client(headers={"Authorization": f"Bearer {key}"}, follow_redirects=True) as http:
                probe = probe_mp4(http.get(urls["video"], timeout=60).content)
                assert (probe.width, probe.height, probe.frames) == (1280, 720, 96)
                assert http.get(urls["thumbnail"], timeout=60).content[:3] == b"\xff\xd8\xff"

            second = on_a.create("waited for elsewhere", seconds=4)
            seen = []
            done = on_b.wait(second.id, on_progress=seen.append, timeout=120)
            assert done.status == "completed" and len({v.progress for v in seen}) >= 3
