"""Typed FastAPI dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Request

from reelforge.config import Settings
from reelforge.service.jobs import JobService
from reelforge.service.ratelimits import RateLimits


async def get_service(request: Request) -> JobService:
    return request.app.state.runtime.service


ServiceDep = Annotated[JobService, Depends(get_service)]


async def get_runtime_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


SettingsDep = Annotated[Settings, Depends(get_runtime_settings)]


async def get_limits(request: Request) -> RateLimits:
    return request.app.state.runtime.limits


LimitsDep = Annotated[RateLimits, Depends(get_limits)]
