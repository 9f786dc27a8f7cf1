"""The upstream engine: one sample of a job rendered by a provider, through its adapter.

It submits the sample and saves the provider's job id on the reelforge job (`RenderContext.save`)
before it waits, so a run that dies is resumed by the next one (`RenderContext.saved`), polling the
same upstream job instead of submitting a second. It polls as the provider advises
(`openai-poll-after-ms`, `Retry-After`), else with a backoff from `poll_interval` to
`max_poll_interval`, until `timeout`. A cancel is forwarded to the provider; a shutdown is not (the
next run resumes). The finished MP4 is downloaded into the worker's scratch file and stored as
it is (`EncodedVideo`), with the cost the provider reported.
"""

import io
import os
import time
from contextlib import suppress
from decimal import Decimal
from pathlib import Path

from reelforge.engines.base import (
    Canceled,
    EngineUnavailable,
    RenderContext,
    UpstreamRejected,
    UpstreamUnavailable,
)
from reelforge.engines.upstream.adapter import Adapter, Status, UpstreamInput
from reelforge.engines.upstream.http import UpstreamHttp
from reelforge.engines.upstream.options import UpstreamOptions
from reelforge.media.clip import EncodedVideo
from reelforge.media.fetch import Allowlist

_TICK = 1.0  # seconds between two cancel checks while waiting (each may read the job's row)


def adapter_for(options: UpstreamOptions) -> Adapter:
    if options.provider == "gemini":
        from reelforge.engines.upstream.gemini import GeminiAdapter as adapter
    elif options.provider == "vertex":
        from reelforge.engines.upstream.vertex import VertexAdapter as adapter
    elif options.provider == "leonardo":
        from reelforge.engines.upstream.leonardo import LeonardoAdapter as adapter
    elif options.provider == "aimlapi":
        from reelforge.engines.upstream.aimlapi import AimlAdapter as adapter
    elif options.provider == "highway":
        from reelforge.engines.upstream.highway import HighwayAdapter as adapter
    else:
        from reelforge.engines.upstream.openai import OpenAIAdapter as adapter
    return adapter(options)


def credential(options: UpstreamOptions) -> str:
    """The provider's key, from the environment variable the entry names."""
    value = os.environ.get(options.credential_env, "")
    if not value:
        raise EngineUnavailable(f"the upstream credential variable {options.credential_env} is not set")
    return value


def http_for(
    options: UpstreamOptions, adapter: Adapter, allowlist: Allowlist, wait=time.sleep
) -> UpstreamHttp:
    """The provider's HTTP, carrying the key (read now) the way `adapter` sends it."""
    secret = credential(options)
    return UpstreamHttp(
        options.provider,
        options.base_url,
        adapter.auth(secret),
        secret,
        allowlist,
        options.request_timeout,
        options.retries,
        wait,
    )


class UpstreamEngine:
    name = "upstream"

    def __init__(self, model_id: str, options: UpstreamOptions, allowlist: Allowlist):
        self.model_id, self.options, self.allowlist = model_id, options, allowlist
        self.adapter = adapter_for(options)
        credential(options)  # refuse at once when the key is missing

    def generate(self, ctx: RenderContext) -> EncodedVideo:
        http = http_for(self.options, self.adapter, self.allowlist, wait=lambda seconds: _sleep(ctx, seconds))
        saved = ctx.saved if ctx.saved and ctx.saved.get("model") == self.model_id else None
        if saved is None:
            ctx.check_cancel()
            submitted = self.adapter.submit(http, upstream_input(ctx))
            saved = {
                "model": self.model_id,
                "provider": self.options.provider,
                "id": submitted.id,
                "submitted_at": time.time(),
            }
            if submitted.cost_usd is not None:
                saved["cost_usd"] = str(submitted.cost_usd)
            ctx.save(saved)
        status = self._wait(http, ctx, saved["id"], saved["submitted_at"])
        cost = status.cost_usd if status.cost_usd is not None else saved.get("cost_usd")
        return EncodedVideo(
            write_to=lambda path: self._download(http, status, path),
            cost_usd=Decimal(cost) if cost is not None else None,
        )

    def _wait(self, http: UpstreamHttp, ctx: RenderContext, upstream_id: str, submitted_at: float) -> Status:
        provider, interval = self.options.provider, self.options.poll_interval
        while True:
            if ctx.is_canceled():
                if not ctx.shutting_down():  # a restart resumes the upstream job; a cancel ends it
                    self._forward_cancel(http, upstream_id)
                raise Canceled()
            status = self.adapter.poll(http, upstream_id)
            if status.progress is not None:
                ctx.progress(max(0.0, min(0.99, status.progress)))
            if status.state == "succeeded":
                return status
            if status.state == "failed":
                raise UpstreamRejected(http.scrub(f"{provider}: {status.message or 'the job failed'}"))
            if status.state == "canceled":
                raise UpstreamRejected(f"{provider}: the job was canceled at the provider")
            if time.time() - submitted_at > self.options.timeout:
                raise UpstreamUnavailable(f"{provider}: no result within {self.options.timeout:g} s")
            advised = status.poll_after
            _sleep(ctx, min(advised if advised is not None else interval, self.options.max_poll_interval))
            interval = min(interval * 1.5, self.options.max_poll_interval)

    def _forward_cancel(self, http: UpstreamHttp, upstream_id: str) -> None:
        http.wait = time.sleep  # the job is canceled already: the cancel's own retries must wait
        with suppress(UpstreamRejected, UpstreamUnavailable):  # best effort
            self.adapter.cancel(http, upstream_id)

    def _download(self, http: UpstreamHttp, status: Status, path: Path) -> None:
        if status.video_bytes is not None:
            path.write_bytes(status.video_bytes)
        elif status.video_url:
            http.download(status.video_url, path, status.authed_download)
        else:
            raise UpstreamRejected(f"{self.options.provider}: the finished job has no video")


def upstream_input(ctx: RenderContext) -> UpstreamInput:
    req = ctx.request
    return UpstreamInput(
        prompt=req.prompt,
        negative_prompt=req.negative_prompt,
        duration=req.duration,
        width=req.width,
        height=req.height,
        audio=req.audio,
        seed=ctx.seed,
        person_generation=req.person_generation,
        start_image=_png(ctx.start_image),
        end_image=_png(ctx.end_image),
    )


def _png(image) -> bytes | None:
    if image is None:
        return None
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _sleep(ctx: RenderContext, seconds: float) -> None:
    """Wait `seconds`, returning early when the job is canceled or the worker shuts down."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not ctx.is_canceled():
        time.sleep(min(_TICK, left))
