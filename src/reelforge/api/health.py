"""Health endpoints for load balancers and operators: is the API up, and can the catalog's
engines run here. No key needed; they reveal counts and readiness, not jobs."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from reelforge import __version__
from reelforge.api.deps import ServiceDep
from reelforge.api.errors import NativeError
from reelforge.api.openapi import error_responses
from reelforge.doctor import catalog_report

router = APIRouter(tags=["reelforge"], responses=error_responses(NativeError, 500))


class Health(BaseModel):
    status: str = Field(description='"ok"')
    version: str
    jobs: dict[str, int] = Field(description="number of jobs in each state")


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


@router.get("/healthz", response_model=Health)
def health(service: ServiceDep) -> dict:
    return {"status": "ok", "version": __version__, "jobs": service.stats()}


@router.get("/healthz/engines", response_model=EnginesHealth)
def engines_health(request: Request) -> dict:
    """Whether each catalog model can run here (packages, weights) and which models are loaded."""
    runtime = request.app.state.runtime
    return catalog_report(runtime.service.catalog, runtime.engines)
