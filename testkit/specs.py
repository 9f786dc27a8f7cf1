"""The vendors' published OpenAPI documents (copied to tests/specs/ from the specs the project was
given) as response validators: a test hands over the path, method and status of a call and the
JSON body reelforge answered, and gets every schema violation back as text."""

import json
from functools import cache
from pathlib import Path

from openapi_schema_validator import OAS30Validator

SPECS = Path(__file__).resolve().parent.parent / "tests" / "specs"


@cache
def _documents(vendor: str) -> tuple[dict, ...]:
    return tuple(json.loads(path.read_text()) for path in sorted((SPECS / vendor).glob("*.json")))


def response_schemas(vendor: str, path: str, method: str, status: int) -> list[tuple[dict, dict]]:
    """(document, schema) for each of the vendor's documents that defines a JSON body for this
    path template (as the spec writes it, e.g. `/generations/{id}`), method and status."""
    found = []
    for document in _documents(vendor):
        operation = document.get("paths", {}).get(path, {}).get(method.lower())
        response = (operation or {}).get("responses", {}).get(str(status))
        schema = (response or {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            found.append((document, schema))
    return found


def violations(vendor: str, path: str, method: str, status: int, body: object) -> list[str]:
    """What is wrong with `body` under every schema the vendor publishes for this response; an
    operation without a published schema is an error of the test, not a pass."""
    schemas = response_schemas(vendor, path, method, status)
    assert schemas, f"{vendor} publishes no JSON schema for {method.upper()} {path} {status}"
    problems = []
    for document, schema in schemas:
        # the schema's `#/components/...` references point into its document
        validator = OAS30Validator({**schema, "components": document.get("components", {})})
        problems += [
            f"{'/'.join(map(str, error.absolute_path)) or '<body>'}: {error.message}"
            for error in validator.iter_errors(body)
        ]
    return problems
