"""reelforge's Python client: the native API (`/v1/videos`) from Python, sync (`Client`) and async
(`AsyncClient`), with typed results and errors as exceptions. It imports nothing of the server
(only httpx, httpx-sse and the package version), so it works where the server's dependencies are
not installed. docs/client.md shows it in use.
"""

from reelforge.client.aio import AsyncClient
from reelforge.client.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    GenerationFailed,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from reelforge.client.sync import Client
from reelforge.client.types import Video, VideoError, VideoPage

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientError",
    "ConflictError",
    "GenerationFailed",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "Video",
    "VideoError",
    "VideoPage",
]
