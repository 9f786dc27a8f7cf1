"""Request bodies for table-driven refusal tests: a base body plus one case's changes."""

import json

MISSING = object()  # a case value that removes the key from the base body


def merged(base: dict, changes: dict, **ids: str) -> dict:
    """`base` updated with `changes` (MISSING deletes a key; "{start}"/"{end}" become image ids)."""
    out = dict(base)
    for key, value in changes.items():
        if value is MISSING:
            out.pop(key, None)
        else:
            out[key] = value
    text = json.dumps(out)
    for name, value in ids.items():
        text = text.replace("{" + name + "}", value)
    return json.loads(text)


# one concrete path of every create route of every dialect (api/idempotency.CREATE_ROUTES)
CREATE_PATHS = (
    "/api/rest/v1/generations-text-to-video",
    "/api/rest/v1/generations-image-to-video",
    "/api/rest/v1/generations-motion-svd",
    "/api/rest/v1/init-image",
    "/api/rest/v2/generations",
    "/v2/video/generations",
    "/v3/async/veo-3.1-lite-t2v",
    "/v3/async/veo-3.1-lite-i2v",
    "/v3/async/veo-3.1-lite-firstlastframe",
    "/v1beta/models/veo-3.1-lite:predictLongRunning",
    "/v1/projects/p/locations/us-central1/publishers/google/models/veo-3.1-lite-generate-001:predictLongRunning",
    "/v1beta1/publishers/google/models/veo-3.1-lite-generate-001:predictLongRunning",
    "/v1/videos",
)


def dialect_error(path: str, status: int, body: dict) -> str:
    """The message of an error answer, after checking it is in the error shape of the dialect
    that owns `path` and repeats `status` where the shape does."""
    if path.startswith("/api/rest/"):  # Leonardo
        assert body["extensions"]["status"] == status and body["error"] == body["message"], body
        return body["message"]
    if path.startswith("/v2/video/"):  # AI/ML API
        assert body["statusCode"] == status and body["path"] == path, body
        return body["message"]
    if path.startswith("/v3/async/"):  # HighwayAPI
        assert body["code"] == status and body["reason"], body
        return body["message"]
    if path.startswith(("/v1beta/", "/v1beta1/", "/v1/projects/", "/v1/publishers/")):  # Google
        assert body["error"]["code"] == status and body["error"]["status"], body
        return body["error"]["message"]
    if path.startswith("/v1/videos"):  # OpenAI
        assert body["error"]["type"] in ("invalid_request_error", "server_error"), body
        return body["error"]["message"]
    assert set(body["error"]) == {"code", "message", "param"}, body  # reelforge's own shape
    return body["error"]["message"]
