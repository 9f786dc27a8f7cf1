"""Health endpoints for load balancers and operators. `/healthz` is liveness: the API is up and its
database answers. `/readyz` is readiness: the database, the queue and blob storage answer (each
probe with a short deadline, side by side) and every catalog model can run here or is marked
unavailable (checked once at start). Both need no key and say only ok or not ok; with an admin key
they add what they saw (version and job counts; each check with its problem), which is nobody
else's business. When the database does not answer no key can be checked, so `/readyz` then gives
every caller the plain answer.
"""

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from reelforge import __version__
from reelforge.api.admin import require_admin
from reelforge.api.auth import resolve_caller
from reelforge.api.deps import ServiceDep
from reelforge.api.errors import NativeError
from reelforge.api.openapi import error_responses
from reelforge.core.errors import ReelforgeError
from reelforge.doctor import Check, catalog_report, run_probes

log = logging.getLogger(__name__)
router = APIRouter(tags=["reelforge"], responses=error_responses(NativeError, 500))


class Health(BaseModel):
    status: str = Field(description='"ok", or "unavailable" (with 503) when the database does not answer')
    version: str | None = Field(default=None, description="With an admin key only.")
    jobs: dict[str, int] | None = Field(
        default=None, description="With an admin key only: the number of jobs in each state."
    )


class CheckResult(BaseModel):
    ok: bool
    detail: str = Field(description="what the check saw, or its problem")


class Readiness(BaseModel):
    status: str = Field(description='"ready", or "not ready" (with 503)')
    checks: dict[str, CheckResult] | None = Field(
        default=None,
        description="With an admin key only: database, queue, storage and catalog, each with its problem",
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


@router.get(
    "/readyz",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses={503: {"model": Readiness, "description": "A dependency or a catalog model is not ready"}},
)
def ready(request: Request):
    runtime = request.app.state.runtime
    checks = [*run_probes(runtime.probes()), _catalog_check(runtime.model_problems)]
    ready = all(check.ok for check in checks)
    body: dict = {"status": "ready" if ready else "not ready"}
    database = next(check for check in checks if check.name == "database")
    if database.ok and _admin(request):
        body["checks"] = {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}
    return JSONResponse(body, status_code=200 if ready else 503)


def _catalog_check(problems: dict[str, list[str]]) -> Check:
    if not problems:
        return Check("catalog", True, "every model can run here or is marked unavailable")
    detail = "; ".join(f"{model_id}: {', '.join(found)}" for model_id, found in problems.items())
    return Check("catalog", False, detail)


@router.get(
    "/healthz/engines",
    response_model=EnginesHealth,
    dependencies=[Depends(require_admin)],
    responses=error_responses(NativeError, 401, 403),
)
def engines_health(request: Request) -> dict:
    """Whether each catalog model can run here (packages, weights) and which models are loaded; for
    an admin key (it names the weights' paths)."""
    runtime = request.app.state.runtime
    return catalog_report(runtime.service.catalog, runtime.engines)
