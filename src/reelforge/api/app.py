"""The FastAPI application: every dialect's router, media, uploads, health, and the embedded worker
started and stopped with the app's lifespan."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from reelforge import __version__
from reelforge.api import media
from reelforge.api.bodies import BodyLimit
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects import (
    aimlapi,
    gemini,
    highway,
    leonardo_common,
    leonardo_v1,
    leonardo_v2,
    openai_videos,
    vertex,
)
from reelforge.api.errors import ErrorRenderers, install_error_handlers
from reelforge.config import Settings, get_settings
from reelforge.doctor import check_catalog
from reelforge.runtime import build_runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime = build_runtime(settings)
        runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(title="reelforge", version=__version__, lifespan=lifespan)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    renderers = ErrorRenderers()
    renderers.register(leonardo_common.V1, leonardo_common.render_error)
    renderers.register(leonardo_common.V2, leonardo_common.render_error)
    renderers.register(aimlapi.PREFIX, aimlapi.render_error)
    renderers.register(aimlapi.MODELS_PATH, aimlapi.render_models_error)
    renderers.register(highway.PREFIX, highway.render_error)
    renderers.register(gemini.PREFIX, gemini.render_error)
    for prefix in vertex.PREFIXES:
        renderers.register(prefix, vertex.render_error)
    for prefix in openai_videos.PREFIXES:
        renderers.register(prefix, openai_videos.render_error)
    install_error_handlers(app, renderers)

    app.include_router(leonardo_v1.router)
    app.include_router(leonardo_v2.router)
    app.include_router(aimlapi.router)
    app.include_router(highway.router)
    app.include_router(gemini.router)
    app.include_router(vertex.router)
    app.include_router(openai_videos.router)
    app.include_router(media.router)

    @app.get("/healthz", tags=["reelforge"])
    def health(service: ServiceDep) -> dict:
        return {"status": "ok", "version": __version__, "jobs": service.stats()}

    @app.get("/healthz/engines", tags=["reelforge"])
    def engines_health(service: ServiceDep) -> dict:
        """Whether each catalog model can run here (packages, weights) and which models are loaded."""
        return check_catalog(service.catalog)

    return app
