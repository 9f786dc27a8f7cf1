"""Answers as their clients read them: `wire_of` is the JSON FastAPI sends for a response model, and
`assert_answers` checks a mapping's answer against the response model `/openapi.json` documents."""

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel

BASE = "http://testserver"  # the base URL of the `media` fixture's blob store (tests/conftest.py)
MEDIA_SECRET, MEDIA_URL_TTL = b"mapping-tests", 3600  # how that store signs its media URLs


def wire_of(answer: BaseModel) -> dict:
    """The JSON body FastAPI sends for an answer (it serializes by alias, in JSON mode)."""
    return json.loads(json.dumps(answer.model_dump(mode="json", by_alias=True)))


def assert_answers(model: type[BaseModel], body: dict) -> None:
    """`body` is valid for `model`, which keeps exactly its keys and values: a response model must
    keep every key the mapping answers and add none, since FastAPI serializes the answer through it."""
    assert wire_of(model.model_validate(body)) == json.loads(json.dumps(body))


def unsigned(body: Any, blobs) -> Any:
    """`body` with each media URL in it (`BASE/media/<key>?expires=...&signature=...`) checked, signed
    by `blobs` and expiring within their URL lifetime, and replaced by its bare `BASE/media/<key>`, so
    that an answer compares with an expected body whatever the clock says."""
    if isinstance(body, dict):
        return {name: unsigned(value, blobs) for name, value in body.items()}
    if isinstance(body, list):
        return [unsigned(value, blobs) for value in body]
    if isinstance(body, str) and body.startswith(f"{BASE}/media/"):
        bare, _, query = body.partition("?")
        signed = dict(parse_qsl(query))
        assert set(signed) == {"expires", "signature"}, body
        assert blobs.verify_url(
            bare.removeprefix(f"{BASE}/media/"), signed["expires"], signed["signature"]
        ), body
        assert int(signed["expires"]) <= time.time() + blobs.url_ttl + 1, body
        return bare
    return body
