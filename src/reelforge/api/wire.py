"""Helpers every dialect uses to translate: strict JSON integers, field re-labelling, timestamps.

Dialects name fields the way their vendor does; the service reports errors with canonical names
(`duration`, `size`, `start_image`, ...). `client_fields` puts the client's own name back on an
error, so every dialect points its errors into the body the client sent.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from reelforge.core.errors import InvalidRequest


def _json_number(value: object) -> object:
    if isinstance(value, str | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_number)]
"""An integer that must arrive as a JSON number: no `"8"`, no `true` (an integral 8.0 is fine)."""


@contextmanager
def client_fields(names: Mapping[str, str]) -> Iterator[None]:
    """Re-label an InvalidRequest raised with a canonical field name (`duration`, `size`,
    `start_image`, ...) with the name of the field the client sent, so errors point into its body."""
    try:
        yield
    except InvalidRequest as exc:
        if exc.field not in names:
            raise
        field = names[exc.field]
        message = exc.message
        if message.startswith(f"{exc.field}:"):
            message = field + message[len(exc.field) :]
        raise type(exc)(message, field) from None


def iso_z(value: datetime | None) -> str | None:
    """An ISO 8601 UTC timestamp ending in `Z`."""
    return value.isoformat().replace("+00:00", "Z") if value else None
