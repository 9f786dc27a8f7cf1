"""The `engine_options` of an `"engine": "upstream"` catalog entry. The credential is named by the
environment variable that holds it, so no secret is ever written in the catalog file."""

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROVIDERS = ("gemini", "vertex", "leonardo", "aimlapi", "highway", "openai")
RETRYABLE = "429, 5xx, timeouts and refused connections"


class UpstreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(description=f"the wire form spoken: one of {', '.join(PROVIDERS)}")
    base_url: str = Field(
        description="the provider's API root, e.g. https://generativelanguage.googleapis.com"
    )
    model: str = Field(min_length=1, description="the model id at the provider")
    credential_env: str = Field(description="the environment variable holding the provider's key")
    poll_interval: float = Field(default=5.0, gt=0, le=300, description="first wait between polls, s")
    max_poll_interval: float = Field(default=30.0, gt=0, le=600, description="longest wait between polls, s")
    timeout: float = Field(default=1800.0, gt=0, description="longest wait for one upstream job, s")
    request_timeout: float = Field(default=30.0, gt=0, le=600, description="deadline of one HTTP call, s")
    retries: int = Field(default=3, ge=0, le=10, description=f"retries of a call that got {RETRYABLE}")

    @field_validator("provider")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PROVIDERS:
            raise ValueError(f"must be one of {', '.join(PROVIDERS)}")
        return value

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/?#@\s]+(/[^?#\s]*)?$", value):
            raise ValueError("must be an http(s) URL without credentials, query or fragment")
        return value.rstrip("/")

    @field_validator("credential_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("must be the name of an environment variable, not the credential itself")
        return value
