"""AI/ML API (`POST /v2/video/generations`, `GET /v2/video/generations?generation_id=`), as another
reelforge serves it (api/dialects/aimlapi.py). Frames go inline as data URIs (`image_url`,
`last_image_url`); `resolution` is upper case (`720P`), as AI/ML documents it for Veo 3.1 Lite.
The cost is `meta.usage.usd_spent`, which AI/ML reports once the generation is `completed`.
AI/ML API has no cancel: `cancel` does nothing and the generation runs (and bills) to its end.
Its model list (`GET /models`) is public, so it cannot tell a bad key: the probe reads a
generation no key owns, which a good key gets a 404 for (naming the id) and a bad key a 401."""

from decimal import Decimal

from reelforge.engines.upstream.adapter import (
    BearerAdapter,
    Status,
    Submitted,
    UpstreamInput,
    data_uri,
    probe_unknown,
)
from reelforge.engines.upstream.http import UpstreamHttp

PATH = "/v2/video/generations"
STATES = {"queued": "running", "generating": "running", "completed": "succeeded", "error": "failed"}
PROBE_ID = "reelforge-probe-no-such-generation"


class AimlAdapter(BearerAdapter):
    def submit(self, http: UpstreamHttp, job: UpstreamInput) -> Submitted:
        body = {
            "model": self.model,
            "prompt": job.prompt,
            "aspect_ratio": job.aspect_ratio,
            "resolution": job.resolution.upper(),
            "duration": job.duration,
            "generate_audio": job.audio,
            "person_generation": job.person_generation,
            "seed": job.seed,
        }
        if job.negative_prompt:
            body["negative_prompt"] = job.negative_prompt
        if job.start_image:
            body["image_url"] = data_uri(job.start_image)
        if job.end_image:
            body["last_image_url"] = data_uri(job.end_image)
        return Submitted(http.call("POST", PATH, json=body).json()["id"])

    def poll(self, http: UpstreamHttp, upstream_id: str) -> Status:
        reply = http.call("GET", PATH, params={"generation_id": upstream_id})
        generation = reply.json()
        state = STATES.get(generation.get("status"), "running")
        error = generation.get("error") or {}
        if state == "failed" and error.get("name") == "canceled":
            state = "canceled"
        spent = ((generation.get("meta") or {}).get("usage") or {}).get("usd_spent")
        return Status(
            state,
            video_url=(generation.get("video") or {}).get("url"),
            message=error.get("message"),
            cost_usd=Decimal(str(spent)) if spent is not None else None,
            poll_after=reply.poll_after(),
        )

    def cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        """AI/ML API has no cancel route: nothing to ask."""

    def probe(self, http: UpstreamHttp) -> None:
        probe_unknown(http, PATH, PROBE_ID, params={"generation_id": PROBE_ID})
