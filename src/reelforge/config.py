"""Settings, read from REELFORGE_* environment variables (CLI flags set the same variables).

Everything has an embedded default: one process, SQLite and local files under the data dir.
`get_settings()` is cached so the app, worker and CLI share one instance; tests clear the cache.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELFORGE_", extra="ignore")

    data_dir: Path = Field(default=Path("reelforge-data"), description="where the database and media live")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str | None = Field(
        default=None, description="base of media URLs handed to clients; default http://host:port"
    )
    database_url: str | None = Field(default=None, description="default sqlite:///<data_dir>/reelforge.db")
    storage_path: Path | None = Field(default=None, description="media directory; default <data_dir>/media")
    catalog_path: Path | None = Field(
        default=None, description="JSON model catalog replacing the built-in one"
    )
    workers: int = Field(default=1, ge=0, le=64, description="jobs rendered at once by the embedded worker")
    poll_after_ms: int = Field(default=1000, ge=0, description="polling pace suggested to clients")

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'reelforge.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return (self.storage_path or self.data_dir / "media").resolve()


@lru_cache
def get_settings() -> Settings:
    return Settings()
