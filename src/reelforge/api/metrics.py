"""`GET /metrics` in Prometheus' text format, and the middleware timing every HTTP request.

Metrics are operator data (job volumes per model, failure codes, queue depth), so the route needs
an admin key, as the admin API does, unless the operator opens it (`REELFORGE_METRICS_PUBLIC`,
for a scraper on a private network). Requests are labelled by route template
(`/v1/videos/{video_id}`), never the raw path, so ids do not multiply the series.
"""

import time

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.api.admin import require_admin
from reelforge.api.errors import NativeError
from reelforge.api.openapi import error_responses
from reelforge.core.job import JobStatus
from reelforge.core.metrics import HTTP_LATENCY, GpuMemory, QueueDepth, registry

UNMATCHED = "unmatched"  # the route label of a request no route answered (404s, refused hosts)


class RequestLatency:
    """Times each HTTP request into reelforge_http_request_duration_seconds."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is answered 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            HTTP_LATENCY.labels(route, scope["method"], f"{status // 100}xx").observe(
                time.perf_counter() - started
            )


def _scraped(request: Request) -> CollectorRegistry:
    """The app's registry, built on first scrape: recorded metrics, the queue depth from the
    database and this process's GPU memory."""
    if getattr(request.app.state, "metrics", None) is None:
        repo = request.app.state.runtime.repo

        def counts() -> dict[str, int]:
            return {status.value: repo.count_jobs(status) for status in (JobStatus.QUEUED, JobStatus.RUNNING)}

        request.app.state.metrics = registry(QueueDepth(counts), GpuMemory())
    return request.app.state.metrics


def install(app: FastAPI, public: bool) -> None:
    """Add the latency middleware (outermost: add it last) and `GET /metrics`."""
    router = APIRouter(tags=["reelforge"], responses=error_responses(NativeError, 500))

    @router.get(
        "/metrics",
        response_class=Response,
        dependencies=[] if public else [Depends(require_admin)],
        responses={
            200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
            **({} if public else error_responses(NativeError, 401, 403, 429)),
        },
    )
    def metrics(request: Request) -> Response:
        """Prometheus metrics (an admin key, unless REELFORGE_METRICS_PUBLIC is set)."""
        return Response(generate_latest(_scraped(request)), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    app.add_middleware(RequestLatency)
