"""Where media bytes live: outputs and uploads, addressed by key (`outputs/<job>/<attempt>/0.mp4`).

Two implementations share one small interface: `LocalStorage` (a directory, the embedded default;
media served by reelforge itself) and `S3Storage` (any S3-compatible bucket; media served by the
bucket through presigned, expiring URLs). `open_storage` picks one from the settings.
"""

from pathlib import Path
from typing import Protocol

from reelforge.config import Settings


class Storage(Protocol):
    url_ttl: int | None  # lifetime of the URLs `url` hands out; None: they do not expire

    def put_bytes(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, path: Path, content_type: str) -> None: ...
    def read_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def url(self, key: str) -> str: ...


def open_storage(settings: Settings) -> Storage:
    location = settings.media_location
    if location.startswith("s3://"):
        from reelforge.storage.s3 import S3Storage

        return S3Storage.from_settings(location, settings)
    if "://" in location:
        raise ValueError(f"storage_url must be a directory or s3://bucket/prefix, not {location!r}")
    from reelforge.storage.local import LocalStorage

    return LocalStorage(Path(location), settings.base_url)
