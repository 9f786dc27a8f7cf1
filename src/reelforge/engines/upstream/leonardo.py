"""Leonardo.AI's video API, as another reelforge serves it natively (api/dialects/leonardo): v2
`POST /v2/generations` to create, v1 `GET /v1/generations/{id}` to read, as Leonardo's recipe does.
The catalog's `base_url` is the API root, `https://cloud.leonardo.ai/api/rest`: `/v1/...` and
`/v2/...` are appended to it.
- Frames are init images: `POST /v1/init-image` reserves one, its presigned multipart POST (the
  form `fields` plus `file`, without the key: it goes to storage) uploads the PNG, and the
  generation names it as an `UPLOADED` start or end frame guidance. Leonardo has no person setting.
- The create's `cost` is kept when its unit is DOLLARS (reelforge's always is); Leonardo's
  CREDITS are no USD price. The finished video is `generated_images[0].motionMP4URL`, a public
  (signed) CDN URL, downloaded without the key.
- Leonardo has no cancel, only `DELETE /v1/generations/{id}`, which at reelforge also stops a
  running render. A generation that reads as null (deleted, or never this key's) is `failed` with
  that said, not `canceled`: nothing tells a deleted one from one that never was. Leonardo's
  `FAILED` (which covers canceled) carries no reason."""

import json
from contextlib import suppress
from decimal import Decimal

from reelforge.engines.base import UpstreamRejected
from reelforge.engines.upstream.adapter import BearerAdapter, Status, Submitted, UpstreamInput
from reelforge.engines.upstream.http import UpstreamHttp, message_of

STATES = {"PENDING": "running", "COMPLETE": "succeeded", "FAILED": "failed"}
MODES = {"720p": "RESOLUTION_720", "1080p": "RESOLUTION_1080"}


class LeonardoAdapter(BearerAdapter):
    def submit(self, http: UpstreamHttp, job: UpstreamInput) -> Submitted:
        parameters = {
            "prompt": job.prompt,
            "width": job.width,
            "height": job.height,
            "mode": MODES[job.resolution],
            "duration": job.duration,
            "motion_has_audio": job.audio,
            "seed": job.seed,
        }
        if job.negative_prompt:
            parameters["negative_prompt"] = job.negative_prompt
        guidances = {}
        if job.start_image:
            guidances["start_frame"] = [frame(upload_init_image(http, job.start_image))]
        if job.end_image:
            guidances["end_frame"] = [frame(upload_init_image(http, job.end_image))]
        if guidances:
            parameters["guidances"] = guidances
        body = {"model": self.model, "public": False, "parameters": parameters}
        generate = http.call("POST", "/v2/generations", json=body).json()["generate"]
        cost = generate.get("cost") or {}
        usd = Decimal(cost["amount"]) if cost.get("unit") == "DOLLARS" else None
        return Submitted(generate["generationId"], cost_usd=usd)

    def poll(self, http: UpstreamHttp, upstream_id: str) -> Status:
        reply = http.call("GET", f"/v1/generations/{upstream_id}")
        generation = reply.json().get("generations_by_pk")
        if generation is None:
            message = f"generation {upstream_id} not found (deleted, or not this key's)"
            return Status("failed", message=message)
        state = STATES.get(generation.get("status"), "running")
        images = generation.get("generated_images") or []
        return Status(
            state,
            video_url=images[0].get("motionMP4URL") if images else None,
            message="the generation failed" if state == "failed" else None,
            poll_after=reply.poll_after(),
        )

    def cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        with suppress(UpstreamRejected):  # best effort: a deleted generation reads as null, no error
            http.call("DELETE", f"/v1/generations/{upstream_id}", retry=False)

    def probe(self, http: UpstreamHttp) -> None:
        reply = http.call("GET", "/v1/me", retry=False)
        if not reply.json().get("user_details"):
            raise UpstreamRejected(f"leonardo: unexpected answer to GET /v1/me: {message_of(reply)}")


def upload_init_image(http: UpstreamHttp, png: bytes) -> str:
    """Reserve an init image and upload the PNG to its presigned URL; its id."""
    upload = http.call("POST", "/v1/init-image", json={"extension": "png"}).json()["uploadInitImage"]
    fields = json.loads(upload["fields"])
    files = {"file": ("image.png", png, "image/png")}
    http.call("POST", upload["url"], authed=False, data=fields, files=files)
    return upload["id"]


def frame(image_id: str) -> dict:
    return {"image": {"id": image_id, "type": "UPLOADED"}}
