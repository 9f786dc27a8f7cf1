"""Google's Gemini API for Veo (`POST /v1beta/models/{model}:predictLongRunning`, `GET
/v1beta/{operation name}`, `:cancel`), as reelforge serves it (api/dialects/google/gemini.py); the
base URL is the host root, e.g. https://generativelanguage.googleapis.com. The key goes in
`x-goog-api-key`. The predict body and the reading of an operation's `done` / `error` are Vertex
AI's too (vertex.py imports them): one instance with the frames inline as base64 PNG, one sample,
`resolution` as "720p" / "1080p". The job id is the operation's name; the finished video is the
sample's `uri` (`/v1beta/files/...:download?alt=media` on the same host), downloaded with the key.
An operation that ends with error 1 (CANCELLED) was canceled. No cost: the operation has no field
for it."""

import base64
from contextlib import suppress

from reelforge.engines.base import UpstreamRejected
from reelforge.engines.upstream.adapter import Status, Submitted, UpstreamInput
from reelforge.engines.upstream.http import Reply, UpstreamHttp, message_of
from reelforge.engines.upstream.options import UpstreamOptions

CANCELLED = 1  # the google.rpc.Code of a canceled operation


def image(png: bytes) -> dict:
    return {"bytesBase64Encoded": base64.b64encode(png).decode(), "mimeType": "image/png"}


def predict_body(job: UpstreamInput) -> dict:
    """The body of predictLongRunning, as the Gemini API and Vertex AI both take it."""
    instance: dict = {"prompt": job.prompt}
    if job.start_image:
        instance["image"] = image(job.start_image)
    if job.end_image:
        instance["lastFrame"] = image(job.end_image)
    parameters = {
        "aspectRatio": job.aspect_ratio,
        "durationSeconds": job.duration,
        "resolution": job.resolution,
        "personGeneration": job.person_generation,
        "seed": job.seed,
        "sampleCount": 1,
        "generateAudio": job.audio,
    }
    if job.negative_prompt:
        parameters["negativePrompt"] = job.negative_prompt
    return {"instances": [instance], "parameters": parameters}


def unfinished(operation: dict, reply: Reply) -> Status | None:
    """The status of an operation still running, failed or canceled; None once it has its response."""
    if not operation.get("done"):
        return Status("running", poll_after=reply.poll_after())
    error = operation.get("error")
    if error:
        state = "canceled" if error.get("code") == CANCELLED else "failed"
        message = error.get("message") or f"the operation ended with code {error.get('code')}"
        return Status(state, message=message)
    return None


def filtered(response: dict) -> str:
    """Why a finished operation has no video, in Google's words (`raiMediaFilteredReasons`)."""
    reasons = response.get("raiMediaFilteredReasons") or []
    return "; ".join(reasons) or "the operation finished without a video"


class GeminiAdapter:
    def __init__(self, options: UpstreamOptions):
        self.model = options.model

    def auth(self, credential: str) -> dict[str, str]:
        return {"x-goog-api-key": credential}

    def submit(self, http: UpstreamHttp, job: UpstreamInput) -> Submitted:
        reply = http.call("POST", f"/v1beta/models/{self.model}:predictLongRunning", json=predict_body(job))
        return Submitted(reply.json()["name"])

    def poll(self, http: UpstreamHttp, upstream_id: str) -> Status:
        reply = http.call("GET", f"/v1beta/{upstream_id}")
        operation = reply.json()
        status = unfinished(operation, reply)
        if status is not None:
            return status
        response = (operation.get("response") or {}).get("generateVideoResponse") or {}
        samples = response.get("generatedSamples") or []
        if not samples:  # every video withheld by the safety filters
            return Status("failed", message=filtered(response))
        return Status("succeeded", video_url=samples[0]["video"]["uri"], authed_download=True)

    def cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        with suppress(UpstreamRejected):  # an operation unknown by now (404)
            http.call("POST", f"/v1beta/{upstream_id}:cancel", retry=False, json={})

    def probe(self, http: UpstreamHttp) -> None:
        reply = http.call("GET", f"/v1beta/models/{self.model}", retry=False)
        if "name" not in reply.json():
            raise UpstreamRejected(f"gemini: unexpected answer to GET /v1beta/models: {message_of(reply)}")
