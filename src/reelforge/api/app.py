"""The FastAPI application: every dialect's router, media, uploads, health, and the embedded worker
started and stopped with the app's lifespan."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from reelforge import __version__
from reelforge.api import media
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects import leonardo_common, leonardo_v1, leonardo_v2
from reelforge.api.errors import ErrorRenderers, install_error_handlers
from reelforge.config import Settings, get_settings
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
    renderers = ErrorRenderers()
    renderers.register(leonardo_common.V1, leonardo_common.render_error)
    renderers.register(leonardo_common.V2, leonardo_common.render_error)
    install_error_handlers(app, renderers)

    app.include_router(leonardo_v1.router)
    app.include_router(leonardo_v2.router)
    app.include_router(media.router)

    @app.get("/healthz", tags=["reelforge"])
    def health(service: ServiceDep) -> dict:
        return {"status": "ok", "version": __version__, "jobs": service.stats()}

    return app
