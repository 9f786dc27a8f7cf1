"""Settings, read from REELFORGE_* environment variables (CLI flags set the same variables).

Everything has an embedded default: one process, SQLite and local files under the data dir, which
is the platform's user data dir (`~/.local/share/reelforge` on Linux, via platformdirs) so every
command finds the same database whatever the current directory.
`get_settings()` is cached so the app, worker and CLI share one instance; tests clear the cache.
"""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The platform's user data dir for reelforge (XDG_DATA_HOME is honoured on Linux)."""
    return Path(user_data_dir("reelforge", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELFORGE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="where the database and media live")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str | None = Field(
        default=None,
        description="base of media URLs handed to clients; default: each request's origin "
        "(http://host:port outside a request: webhooks)",
    )
    database_url: str | None = Field(default=None, description="default sqlite:///<data_dir>/reelforge.db")
    storage_url: str | None = Field(
        default=None, description="a media directory, or s3://bucket/prefix; default <data_dir>/media"
    )
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (default: AWS)")
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    media_url_ttl: int = Field(
        default=3600, ge=60, le=7 * 24 * 3600, description="lifetime of signed media URLs (local or S3), s"
    )
    catalog_path: Path | None = Field(
        default=None, description="JSON model catalog replacing the built-in one"
    )
    workers: int = Field(default=1, ge=0, le=64, description="jobs rendered at once by the embedded worker")
    resident_models: int = Field(
        default=1, ge=1, le=16, description="diffusers pipelines kept loaded per process (LRU eviction)"
    )
    max_body_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024 * 1024, description="largest request body accepted, bytes"
    )
    queue: Literal["inprocess", "celery"] = Field(default="inprocess", description="how jobs reach workers")
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="Celery broker (Redis, AMQP)")
    queue_name: str = Field(default="reelforge", description="Celery queue the jobs are published to")
    heartbeat_interval: float = Field(default=5.0, gt=0, description="seconds between worker heartbeats")
    worker_lost_after: float = Field(
        default=60.0, gt=0, description="seconds without a heartbeat before a running job is retried"
    )
    max_attempts: int = Field(default=3, ge=1, le=20, description="runs of one job before it fails for good")
    reconcile_interval: float = Field(default=10.0, gt=0, description="seconds between queue reconciliations")
    secret_key: str | None = Field(
        default=None, description="signs upload tokens and media URLs; set the same value on every API node"
    )
    poll_after_ms: int = Field(default=1000, ge=0, description="polling pace suggested to clients")
    auth: Literal["keys", "open"] = Field(
        default="keys",
        description="keys: only issued API keys work; open: any key is its own user (loopback only)",
    )
    create_rpm: int = Field(
        default=600, ge=1, description="creates per minute per key, unless the key sets its own (--rpm)"
    )
    read_rpm: int = Field(default=3000, ge=1, description="reads (polls, downloads) per minute per key")
    retention_days: int | None = Field(
        default=None, ge=1, description="delete jobs and their media older than this many days (off: None)"
    )
    image_fetch_allowlist: str = Field(
        default="",
        description="comma-separated hosts (or .domains) and IPs/CIDRs that image URLs may be fetched "
        "from although they are not public addresses (tests, trusted networks); see media/fetch.py",
    )
    image_fetches_per_account: int = Field(
        default=4,
        ge=1,
        description="image URLs one account may have being fetched at once, per API process; a create "
        "over it is refused with 429",
    )
    image_fetch_timeout: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="total deadline of one image URL fetch (DNS, redirects and body), s",
    )
    webhook_allowlist: str = Field(
        default="",
        description="like image_fetch_allowlist, for webhook receivers: hosts and IPs/CIDRs that are "
        "not public addresses but may receive webhooks (tests, trusted internal receivers)",
    )
    upstream_allowlist: str = Field(
        default="",
        description="like image_fetch_allowlist, for upstream providers (catalog entries with engine "
        "upstream) and the video URLs they answer: hosts and IPs/CIDRs that are not public addresses",
    )
    upstream_concurrency: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="upstream jobs one worker process waits on at once per provider, besides its render "
        "slots; past it, a render slot waits on the next",
    )
    webhook_retry_schedule: str = Field(
        default="5,300,1800,7200,18000,36000",
        pattern=r"^\s*\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*)*$",
        description="seconds before each retry of a failed webhook delivery (jitter added); the last "
        "one repeats until webhook_give_up_after",
    )
    webhook_give_up_after: float = Field(
        default=24 * 3600, gt=0, description="seconds after its event a delivery is retried at most"
    )
    webhook_interval: float = Field(
        default=1.0, gt=0, le=60, description="seconds between passes of the webhook delivery loop"
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, le=60, description="total deadline of one delivery attempt (connect included), s"
    )

    log_format: Literal["text", "json"] = Field(
        default="text", description="text: human-readable lines; json: one JSON object per line"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="the least severe log level written"
    )
    metrics_public: bool = Field(
        default=False, description="serve /metrics without an admin key (a scraper on a private network)"
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="`reelforge worker`: serve Prometheus metrics on this port"
    )
    metrics_host: str = Field(default="127.0.0.1", description="interface of the worker's metrics port")

    allowed_hosts: str = Field(
        default="",
        description="comma-separated host names (`*.example.com` for a domain) the Host header may name; "
        "default: loopback names in open mode on a loopback host (no DNS rebinding), any otherwise",
    )

    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-Proto/-Host/-For and "
        "Forwarded headers are believed (media URLs, client address); empty: none",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: str) -> str:
        for item in _items(v):
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return v

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        return tuple(float(x) for x in self.webhook_retry_schedule.split(","))

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def trusted_hosts(self) -> list[str]:
        """What TrustedHostMiddleware accepts in the Host header (see `allowed_hosts`)."""
        if self.allowed_hosts.strip():
            return [host.strip() for host in self.allowed_hosts.split(",") if host.strip()]
        if self.auth == "open" and is_loopback(self.host):
            return list(LOOPBACK_NAMES)
        return ["*"]

    @property
    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in _items(self.trusted_proxies)]

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'reelforge.db').resolve()}"

    @property
    def media_location(self) -> str:
        return self.storage_url or str((self.data_dir / "media").resolve())


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def is_loopback(host: str) -> bool:
    """Whether the listen address is the loopback interface (a name other than localhost may
    resolve to anything)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """Whether the listen address is every interface (0.0.0.0, ::), which no client can reach as such."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
