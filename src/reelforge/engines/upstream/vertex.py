"""Vertex AI's Veo API, as reelforge serves it (api/dialects/google/vertex.py). The catalog's
`base_url` is the location root, e.g.
https://us-central1-aiplatform.googleapis.com/v1/projects/P/locations/us-central1, under which the
model's `publishers/google/models/{model}:predictLongRunning` and `:fetchPredictOperation` live.
The credential is an OAuth access token sent as `Authorization: Bearer` (a deployer refreshes the
variable; the adapter does not mint tokens). The body and the reading of `done` / `error` are the
Gemini API's (gemini.py). Without `storageUri` the videos come back inline (`bytesBase64Encoded`);
a `gcsUri` that is an http(s) URL is downloaded without the token (reelforge's are keyless URLs),
while a `gs://` one cannot be read and fails the job. Vertex AI has no models route reelforge
serves, so the probe GETs operation 0 of the model: a NOT_FOUND naming that operation proves the
token and the location root were accepted (the credential is checked first), a 401/403 (or a 404
of the route itself) is a refusal. It does not prove the model exists."""

import base64
from contextlib import suppress

from reelforge.engines.base import UpstreamRejected
from reelforge.engines.upstream.adapter import BearerAdapter, Status, Submitted, UpstreamInput, probe_unknown
from reelforge.engines.upstream.gemini import filtered, predict_body, unfinished
from reelforge.engines.upstream.http import UpstreamHttp
from reelforge.engines.upstream.options import UpstreamOptions

PROBE_OPERATION = "0"  # no operation has this id


class VertexAdapter(BearerAdapter):
    def __init__(self, options: UpstreamOptions):
        self.model = f"/publishers/google/models/{options.model}"

    def submit(self, http: UpstreamHttp, job: UpstreamInput) -> Submitted:
        reply = http.call("POST", f"{self.model}:predictLongRunning", json=predict_body(job))
        return Submitted(reply.json()["name"])

    def poll(self, http: UpstreamHttp, upstream_id: str) -> Status:
        reply = http.call("POST", f"{self.model}:fetchPredictOperation", json={"operationName": upstream_id})
        operation = reply.json()
        status = unfinished(operation, reply)
        if status is not None:
            return status
        response = operation.get("response") or {}
        videos = response.get("videos") or []
        if not videos:
            return Status("failed", message=filtered(response))
        video = videos[0]
        if video.get("bytesBase64Encoded"):
            return Status("succeeded", video_bytes=base64.b64decode(video["bytesBase64Encoded"]))
        uri = video.get("gcsUri") or ""
        if not uri.startswith(("http://", "https://")):
            return Status("failed", message=f"the video is at {uri or 'no URI'}, which cannot be downloaded")
        return Status("succeeded", video_url=uri)

    def cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        operation_id = upstream_id.rpartition("/operations/")[2]
        with suppress(UpstreamRejected):  # an operation unknown by now (404)
            http.call("POST", f"{self.model}/operations/{operation_id}:cancel", retry=False, json={})

    def probe(self, http: UpstreamHttp) -> None:
        probe_unknown(http, f"{self.model}/operations/{PROBE_OPERATION}", f"/operations/{PROBE_OPERATION} ")
