"""The OpenAI videos shape (`POST /v1/videos`, `GET /v1/videos/{id}`, `/content`, `/cancel`), as
another reelforge serves it natively (api/dialects/openai/videos.py) and other open servers share.
Frames go inline as data URIs (`input_reference`, `last_frame`); the Veo fields OpenAI lacks are
reelforge's extensions: `seed` and `generate_audio` always sent, `negative_prompt` when set.
Cancel is reelforge's `POST /v1/videos/{id}/cancel`; a server without it answers 404, ignored."""

from contextlib import suppress

from reelforge.engines.base import UpstreamRejected
from reelforge.engines.upstream.adapter import BearerAdapter, Status, Submitted, UpstreamInput, data_uri
from reelforge.engines.upstream.http import UpstreamHttp, message_of

STATES = {"queued": "running", "in_progress": "running", "completed": "succeeded", "failed": "failed"}


class OpenAIAdapter(BearerAdapter):
    def submit(self, http: UpstreamHttp, job: UpstreamInput) -> Submitted:
        body = {
            "model": self.model,
            "prompt": job.prompt,
            "seconds": str(job.duration),
            "size": f"{job.width}x{job.height}",
            "seed": job.seed,
            "generate_audio": job.audio,
        }
        if job.negative_prompt:
            body["negative_prompt"] = job.negative_prompt
        if job.start_image:
            body["input_reference"] = data_uri(job.start_image)
        if job.end_image:
            body["last_frame"] = data_uri(job.end_image)
        return Submitted(http.call("POST", "/v1/videos", json=body).json()["id"])

    def poll(self, http: UpstreamHttp, upstream_id: str) -> Status:
        reply = http.call("GET", f"/v1/videos/{upstream_id}")
        video = reply.json()
        state = STATES.get(video.get("status"), "running")
        error = video.get("error") or {}
        if state == "failed" and error.get("code") == "canceled":
            state = "canceled"
        return Status(
            state,
            progress=(video.get("progress") or 0) / 100,
            video_url=f"/v1/videos/{upstream_id}/content",
            authed_download=True,
            message=error.get("message"),
            poll_after=reply.poll_after(),
        )

    def cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        with suppress(UpstreamRejected):  # finished meanwhile (409), or no cancel route (404)
            http.call("POST", f"/v1/videos/{upstream_id}/cancel", retry=False)

    def probe(self, http: UpstreamHttp) -> None:
        reply = http.call("GET", f"/v1/models/{self.model}", retry=False)
        if "id" not in reply.json():
            raise UpstreamRejected(f"openai: unexpected answer to GET /v1/models: {message_of(reply)}")
