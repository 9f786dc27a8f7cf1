"""`AsyncClient`: the native API over an async httpx client (asyncio); the same methods as
`Client`, awaited."""

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, Literal

import httpx
from httpx_sse import aconnect_sse

from reelforge.client.errors import NotFoundError, error_from
from reelforge.client.sync import Variant
from reelforge.client.types import Video, VideoPage
from reelforge.client.wire import (
    TIMEOUT,
    Image,
    base_url_of,
    checked,
    create_request,
    finished,
    headers_of,
    poll_seconds,
    sink,
    unreachable,
)

OnProgress = Callable[[Video], None | Awaitable[None]]


class AsyncClient:
    """A reelforge server's native API, async. `base_url` and `api_key` default to the
    REELFORGE_SERVER and REELFORGE_API_KEY environment variables; use it with `async with`, or
    `await aclose()` it."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = TIMEOUT,
    ):
        self.base_url = base_url_of(base_url)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers_of(api_key), timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return checked(await self._http.request(method, path, **kwargs))
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None

    async def create(
        self,
        prompt: str,
        *,
        model: str | None = None,
        seconds: int | None = None,
        size: str | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        audio: bool | None = None,
        seed: int | None = None,
        negative_prompt: str | None = None,
        image: Image | None = None,
        end_image: Image | None = None,
        idempotency_key: str | None = None,
    ) -> Video:
        """Queue a video. `image` (first frame) and `end_image` (last frame) are paths, bytes or
        binary files (read before sending)."""
        request = create_request(
            prompt,
            image,
            end_image,
            model=model,
            seconds=seconds,
            size=size,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            generate_audio=audio,
            seed=seed,
            negative_prompt=negative_prompt,
        )
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return Video.from_json((await self._request("POST", "/v1/videos", headers=headers, **request)).json())

    async def get(self, video_id: str) -> Video:
        return Video.from_json((await self._request("GET", f"/v1/videos/{video_id}")).json())

    async def list(
        self, limit: int = 20, after: str | None = None, order: Literal["asc", "desc"] = "desc"
    ) -> VideoPage:
        params = {"limit": limit, "order": order, **({"after": after} if after else {})}
        return VideoPage.from_json((await self._request("GET", "/v1/videos", params=params)).json())

    async def iter_videos(
        self, order: Literal["asc", "desc"] = "desc", page_size: int = 100
    ) -> AsyncIterator[Video]:
        """Every video of the key's account, page after page."""
        after = None
        while True:
            page = await self.list(page_size, after, order)
            for video in page.data:
                yield video
            if not page.has_more:
                return
            after = page.last_id

    async def cancel(self, video_id: str) -> Video:
        """Cancel a queued or running video (a running one stops within a step); ConflictError if it
        already finished."""
        return Video.from_json((await self._request("POST", f"/v1/videos/{video_id}/cancel")).json())

    async def delete(self, video_id: str) -> None:
        await self._request("DELETE", f"/v1/videos/{video_id}")

    async def download(self, video_id: str, dest: str | Path | IO[bytes], variant: Variant = "video") -> int:
        """Stream a completed video's content to a path or a binary file; returns the bytes written."""
        written = 0
        try:
            async with self._http.stream(
                "GET", f"/v1/videos/{video_id}/content", params={"variant": variant}, follow_redirects=True
            ) as response:
                if response.is_error:
                    await response.aread()
                    raise error_from(response)
                with sink(dest) as out:
                    async for chunk in response.aiter_bytes():
                        written += out.write(chunk)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None
        return written

    async def events(self, video_id: str) -> AsyncIterator[Video]:
        """The video as it changes, from its event stream: its state now, then each change; the
        stream ends after the completed or failed snapshot."""
        try:
            async with aconnect_sse(self._http, "GET", f"/v1/videos/{video_id}/events") as source:
                if source.response.is_error:
                    await source.response.aread()
                    raise error_from(source.response)
                async for event in source.aiter_sse():
                    if event.data:  # httpx-sse turns each keep-alive after an `id:` into a dataless event
                        yield Video.from_json(event.json())
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None

    async def wait(
        self, video_id: str, on_progress: OnProgress | None = None, timeout: float | None = None
    ) -> Video:
        """Follow the video until it is completed or failed and return it so; `on_progress` (a
        function or a coroutine function) sees every snapshot. Follows the event stream, or polls a
        server without one. TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            return await self._follow(video_id, on_progress)

    async def _follow(self, video_id: str, on_progress: OnProgress | None) -> Video:
        async def report(video: Video) -> None:
            if on_progress is not None and inspect.isawaitable(result := on_progress(video)):
                await result

        while True:
            try:
                async for video in self.events(video_id):
                    await report(video)
                    if video.done:
                        return video
            except NotFoundError:
                await self.get(video_id)  # NotFoundError again for an unknown video
                return await self._poll(video_id, report)  # a server without the stream
            video = await self.get(video_id)  # the stream broke off: the video ended, or reconnect
            if video.done:
                await report(video)
                return video

    async def _poll(self, video_id: str, report: Callable[[Video], Awaitable[None]]) -> Video:
        while True:
            response = await self._request("GET", f"/v1/videos/{video_id}")
            video = Video.from_json(response.json())
            await report(video)
            if video.done:
                return video
            await asyncio.sleep(poll_seconds(response))

    async def generate(
        self, prompt: str, *, on_progress: OnProgress | None = None, timeout: float | None = None, **options
    ) -> Video:
        """`create` (same options) then `wait`: the completed video, or GenerationFailed."""
        video = await self.create(prompt, **options)
        return finished(await self.wait(video.id, on_progress, timeout))
