"""What `/openapi.json` says about errors: each route documents the error statuses it really
sends, with its dialect's error body, and nothing else.

FastAPI documents a 422 with its own body on every route that takes parameters; reelforge never
sends one (every validation error is a 400 in the dialect's shape, api/errors.py), so
`without_validation_422` removes it from the document.
"""

from typing import Any

from pydantic import BaseModel

DESCRIPTIONS = {
    400: "Invalid request: a field breaks a documented rule, or the body is not valid JSON",
    401: "Missing or unusable API key",
    402: "Payment required: the account's balance does not cover the job's price",
    403: "Forbidden: not allowed with this API key or URL",
    404: "No such object for this API key",
    409: "The object is not in a state that allows this",
    429: "Too many requests: over the API key's rate limit or the account's concurrency limit; "
    "`Retry-After` gives the seconds to wait",
    500: "Internal error (no details are given)",
}


def error_responses(body: type[BaseModel], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a router or route: these statuses, each with the dialect's error body."""
    return {status: {"model": body, "description": DESCRIPTIONS[status]} for status in statuses}


def json_error_responses(body: type[BaseModel], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """`error_responses` for a route whose own answer is not JSON (an event stream): FastAPI files a
    `model` under the route's media type, so the JSON body is named by reference (other routes
    put it in the components)."""
    schema = {"$ref": f"#/components/schemas/{body.__name__}"}
    content = {"application/json": {"schema": schema}}
    return {status: {"description": DESCRIPTIONS[status], "content": content} for status in statuses}


def without_validation_422(document: dict) -> dict:
    """The OpenAPI document without FastAPI's 422 responses and the schemas only they used."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document
