"""The FastAPI application: every dialect's router, media, uploads, health, and the embedded worker
started and stopped with the app's lifespan."""

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.trustedhost import TrustedHostMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from reelforge import __version__
from reelforge.api import admin, docs, health, media, metrics, studio
from reelforge.api.bodies import BodyLimit, JsonBodies
from reelforge.api.dialects import aimlapi, highway
from reelforge.api.dialects.google import gemini, vertex
from reelforge.api.dialects.google import webhooks as gemini_webhooks
from reelforge.api.dialects.google import wire as google
from reelforge.api.dialects.leonardo import svd, v1, v2
from reelforge.api.dialects.leonardo import webhooks as leonardo_webhooks
from reelforge.api.dialects.leonardo import wire as leonardo
from reelforge.api.dialects.openai import account, derived, events, videos
from reelforge.api.dialects.openai import webhooks as native_webhooks
from reelforge.api.dialects.openai import wire as openai
from reelforge.api.errors import ErrorRenderers, install_error_handlers
from reelforge.api.idempotency import IdempotencyKeys, with_idempotency_keys
from reelforge.api.openapi import without_validation_422
from reelforge.api.origin import RequestOrigin
from reelforge.config import Settings, get_settings
from reelforge.core.logs import redact_access_log
from reelforge.runtime import build_runtime
from reelforge.service.media import Media
from reelforge.service.webhooks import Form


def webhook_forms(base_url: str, media: Media) -> dict[str, Form]:
    """The dialects' webhook payload forms, for every process that dispatches webhook events
    (the OpenAI dialect's replaces the engine's native one to show its video ids); `media` is the
    runtime's, which signs their URLs."""
    return {
        native_webhooks.video_form.name: native_webhooks.video_form,
        gemini_webhooks.FORM: gemini_webhooks.gemini_form(base_url),
        leonardo_webhooks.FORM: leonardo_webhooks.leonardo_form(media),
    }


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        redact_access_log()  # after the server configured its logging
        runtime = build_runtime(settings, webhook_forms)
        runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(title="reelforge", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(JsonBodies)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    renderers = ErrorRenderers()
    renderers.register(leonardo.V1, leonardo.render_error, leonardo.STATUSES)
    renderers.register(leonardo.V2, leonardo.render_error, leonardo.STATUSES)
    renderers.register(aimlapi.PREFIX, aimlapi.render_error, aimlapi.STATUSES)
    renderers.register(aimlapi.MODELS_PATH, aimlapi.render_models_error)
    renderers.register(highway.PREFIX, highway.render_error, highway.STATUSES)
    renderers.register(gemini.PREFIX, gemini.render_error, gemini.STATUSES)
    for prefix in gemini_webhooks.PREFIXES:
        renderers.register(prefix, google.render_error, gemini.STATUSES)
    for prefix in vertex.PREFIXES:
        renderers.register(prefix, vertex.render_error, google.STATUSES)
    for prefix in videos.PREFIXES + account.PREFIXES + native_webhooks.PREFIXES:
        renderers.register(prefix, openai.render_error, openai.STATUSES)
    install_error_handlers(app, renderers)
    app.add_middleware(IdempotencyKeys, renderers=renderers, limit=settings.max_body_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts, www_redirect=False)
    # client address and scheme from trusted proxies only (`serve` turns uvicorn's own copy off)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    if settings.public_base_url is None:  # outermost: it must see the peer before the line above
        app.add_middleware(RequestOrigin, proxies=settings.proxy_networks)

    app.include_router(v1.router)
    app.include_router(svd.router)
    app.include_router(v2.router)
    app.include_router(aimlapi.router)
    app.include_router(highway.router)
    app.include_router(gemini.router)
    for router in gemini_webhooks.routers:
        app.include_router(router)
    app.include_router(vertex.router)
    app.include_router(videos.router)
    app.include_router(derived.router)
    app.include_router(events.router)
    app.include_router(account.router)
    app.include_router(native_webhooks.router)
    app.include_router(media.router)
    app.include_router(health.router)
    app.include_router(admin.router)
    docs.install(app)
    studio.install(app, settings)
    metrics.install(app, settings.metrics_public)  # its latency middleware goes outermost

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = with_idempotency_keys(without_validation_422(document))
        return app.openapi_schema

    app.openapi = openapi
    return app
