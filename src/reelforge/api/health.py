"""Health endpoints for load balancers and operators: is the API up (its database answers), and
can the catalog's engines run here. `/healthz` needs no key and says only ok or not ok; with an
admin key it adds the version and the job counts, which are nobody else's business."""

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from reelforge import __version__
from reelforge.api.auth import resolve_caller
from reelforge.api.deps import ServiceDep
from reelforge.api.errors import NativeError
from reelforge.api.openapi import error_responses
from reelforge.core.errors import ReelforgeError
from reelforge.doctor import catalog_report

log = logging.getLogger(__name__)
router = APIRouter(tags=["reelforge"], responses=error_responses(NativeError, 500))


class Health(BaseModel):
    status: str = Field(description='"ok", or "unavailable" (with 503) when the database does not answer')
    version: str | None = Field(default=None, description="With an admin key only.")
    jobs: dict[str, int] | None = Field(
        default=None, description="With an admin key only: the number of jobs in each state."
    )


class ModelReadiness(BaseModel):
    id: str
    engine: str
    weights: dict[str, str] = Field(description="modes (text, image, frames) -> where their weights are")
    problems: list[str] = Field(description="what stops the model from running here")
    notes: list[str]
    ok: bool


class EnginesHealth(BaseModel):
    ok: bool = Field(description="every catalog model can run here")
    packages: dict[str, str | None] = Field(description="optional engine packages and their versions")
    models: list[ModelReadiness]
    resident: list[dict] = Field(description="diffusers pipelines loaded in this process")


def _admin(request: Request) -> bool:
    try:
        return resolve_caller(request).admin
    except ReelforgeError:  # no key, or one that is not valid: the plain answer
        return False


@router.get(
    "/healthz",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health, "description": "The database does not answer"}},
)
def health(request: Request, service: ServiceDep):
    try:
        service.ping()
    except Exception:
        log.exception("health check: the database does not answer")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    if not _admin(request):
        return {"status": "ok"}
    return {"status": "ok", "version": __version__, "jobs": service.stats()}


@router.get("/healthz/engines", response_model=EnginesHealth)
def engines_health(request: Request) -> dict:
    """Whether each catalog model can run here (packages, weights) and which models are loaded."""
    runtime = request.app.state.runtime
    return catalog_report(runtime.service.catalog, runtime.engines)
