"""`Client`: the native API over a blocking httpx client."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Literal

import httpx
from httpx_sse import connect_sse

from reelforge.client.errors import NotFoundError, error_from
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

Variant = Literal["video", "thumbnail", "spritesheet"]


class Client:
    """A reelforge server's native API. `base_url` and `api_key` default to the REELFORGE_SERVER
    and REELFORGE_API_KEY environment variables; use it as a context manager, or `close()` it."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = TIMEOUT,
    ):
        self.base_url = base_url_of(base_url)
        self._http = httpx.Client(base_url=self.base_url, headers=headers_of(api_key), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return checked(self._http.request(method, path, **kwargs))
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None

    def create(
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
        binary files."""
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
        return Video.from_json(self._request("POST", "/v1/videos", headers=headers, **request).json())

    def get(self, video_id: str) -> Video:
        return Video.from_json(self._request("GET", f"/v1/videos/{video_id}").json())

    def list(
        self, limit: int = 20, after: str | None = None, order: Literal["asc", "desc"] = "desc"
    ) -> VideoPage:
        params = {"limit": limit, "order": order, **({"after": after} if after else {})}
        return VideoPage.from_json(self._request("GET", "/v1/videos", params=params).json())

    def iter_videos(self, order: Literal["asc", "desc"] = "desc", page_size: int = 100) -> Iterator[Video]:
        """Every video of the key's account, page after page."""
        after = None
        while True:
            page = self.list(page_size, after, order)
            yield from page.data
            if not page.has_more:
                return
            after = page.last_id

    def cancel(self, video_id: str) -> Video:
        """Cancel a queued or running video (a running one stops within a step); ConflictError if it
        already finished."""
        return Video.from_json(self._request("POST", f"/v1/videos/{video_id}/cancel").json())

    def delete(self, video_id: str) -> None:
        self._request("DELETE", f"/v1/videos/{video_id}")

    def download(self, video_id: str, dest: str | Path | IO[bytes], variant: Variant = "video") -> int:
        """Stream a completed video's content to a path or a binary file; returns the bytes written."""
        written = 0
        try:
            with self._http.stream(
                "GET", f"/v1/videos/{video_id}/content", params={"variant": variant}, follow_redirects=True
            ) as response:
                if response.is_error:
                    response.read()
                    raise error_from(response)
                with sink(dest) as out:
                    for chunk in response.iter_bytes():
                        written += out.write(chunk)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None
        return written

    def events(self, video_id: str, timeout: float | None = None) -> Iterator[Video]:
        """The video as it changes, from its event stream: its state now, then each change; the
        stream ends after the completed or failed snapshot. `timeout` bounds the wait for each."""
        options = {"timeout": httpx.Timeout(timeout or TIMEOUT.read, connect=TIMEOUT.connect)}
        try:
            with connect_sse(self._http, "GET", f"/v1/videos/{video_id}/events", **options) as source:
                if source.response.is_error:
                    source.response.read()
                    raise error_from(source.response)
                for event in source.iter_sse():
                    if event.data:  # httpx-sse turns each keep-alive after an `id:` into a dataless event
                        yield Video.from_json(event.json())
        except httpx.ReadTimeout:
            if timeout is None:
                raise unreachable(self.base_url, httpx.ReadTimeout("no event or keep-alive")) from None
            raise TimeoutError(f"no news of video {video_id} in {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None

    def wait(
        self, video_id: str, on_progress: Callable[[Video], None] | None = None, timeout: float | None = None
    ) -> Video:
        """Follow the video until it is completed or failed and return it so; `on_progress` sees
        every snapshot. Follows the event stream, or polls a server without one. TimeoutError once
        `timeout` seconds have passed, noticed at the next event (the stream sends one per change)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        report = on_progress or (lambda video: None)
        while True:
            try:
                for video in self.events(video_id, _left(deadline)):
                    report(video)
                    if video.done:
                        return video
                    _left(deadline)
            except NotFoundError:
                self.get(video_id)  # NotFoundError again for an unknown video
                return self._poll(video_id, report, deadline)  # a server without the stream
            video = self.get(video_id)  # the stream broke off: the video ended, or reconnect
            if video.done:
                report(video)
                return video

    def _poll(self, video_id: str, report: Callable[[Video], None], deadline: float | None) -> Video:
        while True:
            response = self._request("GET", f"/v1/videos/{video_id}")
            video = Video.from_json(response.json())
            report(video)
            if video.done:
                return video
            time.sleep(min(poll_seconds(response), _left(deadline) or poll_seconds(response)))

    def generate(
        self,
        prompt: str,
        *,
        on_progress: Callable[[Video], None] | None = None,
        timeout: float | None = None,
        **options,
    ) -> Video:
        """`create` (same options) then `wait`: the completed video, or GenerationFailed."""
        video = self.create(prompt, **options)
        return finished(self.wait(video.id, on_progress, timeout))


def _left(deadline: float | None) -> float | None:
    """Seconds left before the deadline (None: no deadline); TimeoutError once it has passed."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the video did not finish in time")
    return left
