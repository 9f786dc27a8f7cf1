"""HighwayAPI, a Novita-style async task API (`POST /v3/async/{model}-t2v|-i2v|-firstlastframe`,
`GET /v3/async/task-result?task_id=`), as another reelforge serves it (api/dialects/highway.py).
HighwayAPI names the model in the route, so the entry's `model` is the route's prefix
(`veo-3.1-lite`) and the frames given pick the route. Frames go inline as data URIs (`image`,
`last_frame_image`); `generate_audio` is always sent, since it defaults to false here. One sample
per task (`sample_count` 1). No cost is reported, and there is no cancel: `cancel` does nothing.
There is no account route either: the probe reads a task no key owns, which a good key gets a
404 for (naming the id) and a bad key a 401."""

from reelforge.engines.upstream.adapter import (
    BearerAdapter,
    Status,
    Submitted,
    UpstreamInput,
    data_uri,
    probe_unknown,
)
from reelforge.engines.upstream.http import UpstreamHttp

RESULT = "/v3/async/task-result"
STATES = {
    "TASK_STATUS_QUEUED": "running",
    "TASK_STATUS_PROCESSING": "running",
    "TASK_STATUS_SUCCEED": "succeeded",
    "TASK_STATUS_FAILED": "failed",
}
PROBE_ID = "reelforge-probe-no-such-task"


class HighwayAdapter(BearerAdapter):
    def submit(self, http: UpstreamHttp, job: UpstreamInput) -> Submitted:
        body = {
            "prompt": job.prompt,
            "seed": job.seed,
            "duration": job.duration,
            "resolution": job.resolution,
            "aspect_ratio": job.aspect_ratio,
            "sample_count": 1,
            "generate_audio": job.audio,
            "person_generation": job.person_generation,
        }
        if job.negative_prompt:
            body["negative_prompt"] = job.negative_prompt
        route = "t2v"
        if job.start_image:
            body["image"], route = data_uri(job.start_image), "i2v"
        if job.end_image:
            body["last_frame_image"], route = data_uri(job.end_image), "firstlastframe"
        reply = http.call("POST", f"/v3/async/{self.model}-{route}", json=body)
        return Submitted(reply.json()["task_id"])

    def poll(self, http: UpstreamHttp, upstream_id: str) -> Status:
        reply = http.call("GET", RESULT, params={"task_id": upstream_id})
        result = reply.json()
        task = result.get("task") or {}
        videos = result.get("videos") or []
        return Status(
            STATES.get(task.get("status"), "running"),
            progress=(task.get("progress_percent") or 0) / 100,
            video_url=videos[0].get("video_url") if videos else None,
            message=task.get("reason") or None,
            poll_after=reply.poll_after(),
        )

    def cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        """HighwayAPI has no cancel route: nothing to ask."""

    def probe(self, http: UpstreamHttp) -> None:
        probe_unknown(http, RESULT, PROBE_ID, params={"task_id": PROBE_ID})
