"""Answers as their clients read them: `wire_of` is the JSON FastAPI sends for a response model, and
`assert_answers` checks a mapping's answer against the response model `/openapi.json` documents."""

import json

from pydantic import BaseModel

BASE = "http://testserver"  # the base URL of the `media` fixture's blob store (tests/conftest.py)


def wire_of(answer: BaseModel) -> dict:
    """The JSON body FastAPI sends for an answer (it serializes by alias, in JSON mode)."""
    return json.loads(json.dumps(answer.model_dump(mode="json", by_alias=True)))


def assert_answers(model: type[BaseModel], body: dict) -> None:
    """`body` is valid for `model`, which keeps exactly its keys and values: a response model must
    keep every key the mapping answers and add none, since FastAPI serializes the answer through it."""
    assert wire_of(model.model_validate(body)) == json.loads(json.dumps(body))
