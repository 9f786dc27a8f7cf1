"""The client's exceptions: an error answer of the server as an `APIError` subclass per status,
a server that cannot be reached, and a video that ended without being completed."""

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from reelforge.client.types import Video


class ClientError(Exception):
    """Everything the client raises."""


class APIConnectionError(ClientError):
    """The server could not be reached, or the connection broke."""


class APIError(ClientError):
    """The server answered with an error: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(self, status_code: int, message: str, code: str | None = None, param: str | None = None):
        super().__init__(f"{message} (HTTP {status_code}{f', {code}' if code else ''})")
        self.status_code = status_code
        self.message = message
        self.code = code
        self.param = param


class BadRequestError(APIError):
    """400: the request is invalid (`param` names the field at fault)."""


class AuthenticationError(APIError):
    """401: the API key is missing, unknown or revoked."""


class NotFoundError(APIError):
    """404: no such video for this key."""


class ConflictError(APIError):
    """409: the video is not ready (content) or already finished (cancel)."""


class RateLimitError(APIError):
    """429: over a rate or concurrency limit (`retry_after` seconds, if the server said), or out of
    credits (`code` "insufficient_quota", no `retry_after`)."""

    def __init__(self, *args, retry_after: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx."""


class GenerationFailed(ClientError):
    """`generate` or `wait` saw the video end failed or canceled; `video` is its last state."""

    def __init__(self, video: "Video"):
        reason = f"{video.error.code}: {video.error.message}" if video.error else video.status
        super().__init__(f"video {video.id} {reason}")
        self.video = video


_BY_STATUS = {400: BadRequestError, 401: AuthenticationError, 404: NotFoundError, 409: ConflictError}


def error_from(response: httpx.Response) -> APIError:
    """The exception for an error answer (its body already read)."""
    status = response.status_code
    try:
        body = response.json()["error"]
        message, code, param = body["message"], body.get("code"), body.get("param")
    except (ValueError, KeyError, TypeError):
        message, code, param = response.text.strip()[:200] or response.reason_phrase, None, None
    if status == 429:
        retry = response.headers.get("retry-after")
        retry_after = float(retry) if retry and retry.replace(".", "", 1).isdigit() else None
        return RateLimitError(status, message, code, param, retry_after=retry_after)
    kind = ServerError if status >= 500 else _BY_STATUS.get(status, APIError)
    return kind(status, message, code, param)
