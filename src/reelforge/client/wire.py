"""What the sync and the async client share: where the server is, the headers they send, how a
create request is built (JSON, or multipart when images go with it), how answers are read."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from reelforge import __version__
from reelforge.client.errors import APIConnectionError, GenerationFailed, error_from
from reelforge.client.types import Video

DEFAULT_SERVER = "http://127.0.0.1:8000"  # `reelforge serve`'s default address
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
POLL_SECONDS = 2.0  # between two polls when the server sends no `openai-poll-after-ms`

Image = str | Path | bytes | IO[bytes]


def base_url_of(base_url: str | None) -> str:
    return (base_url or os.environ.get("REELFORGE_SERVER") or DEFAULT_SERVER).rstrip("/")


def headers_of(api_key: str | None) -> dict[str, str]:
    key = api_key or os.environ.get("REELFORGE_API_KEY")
    headers = {"User-Agent": f"reelforge-client/{__version__}"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _image(value: Image) -> tuple[str, bytes]:
    """(file name, bytes) of a path, bytes or a binary file object."""
    if isinstance(value, bytes):
        return "image", value
    if isinstance(value, str | Path):
        path = Path(value)
        try:
            return path.name, path.read_bytes()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read image {str(path)!r}: {exc.strerror}") from None
    return Path(getattr(value, "name", "image")).name, value.read()


def create_request(prompt: str, image: Image | None, end_image: Image | None, **fields: Any) -> dict:
    """httpx request arguments of `POST /v1/videos`: JSON, or a multipart form with the images."""
    body = {"prompt": prompt, **{k: v for k, v in fields.items() if v is not None}}
    if "seconds" in body:
        body["seconds"] = str(body["seconds"])
    if image is None and end_image is None:
        return {"json": body}
    files = {}
    for name, value in (("input_reference", image), ("last_frame", end_image)):
        if value is not None:
            files[name] = _image(value)
    form = {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in body.items()}
    return {"data": form, "files": files}


def checked(response: httpx.Response) -> httpx.Response:
    """The response, or the APIError it carries (its body must have been read)."""
    if response.is_error:
        raise error_from(response)
    return response


def poll_seconds(response: httpx.Response) -> float:
    value = response.headers.get("openai-poll-after-ms", "")
    return int(value) / 1000 if value.isdigit() else POLL_SECONDS


def finished(video: Video) -> Video:
    """The completed video, or GenerationFailed for a failed or canceled one."""
    if video.status != "completed":
        raise GenerationFailed(video)
    return video


def unreachable(base_url: str, exc: httpx.TransportError) -> APIConnectionError:
    return APIConnectionError(f"cannot reach {base_url}: {exc.__class__.__name__} {exc}".strip())


@contextmanager
def sink(dest: str | Path | IO[bytes]) -> Iterator[IO[bytes]]:
    """A file to write a download to: a path is written beside it and renamed once complete (no
    half file left under its name), a file object is written as it is."""
    if not isinstance(dest, str | Path):
        yield dest
        return
    path = Path(dest)
    partial = path.with_name(f".{path.name}.part")
    try:
        with open(partial, "wb") as out:
            yield out
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
