"""Blob storage: where media bytes live (outputs and uploads), addressed by key
(`outputs/<job>/<attempt>/0.mp4`). The database holds rows; this holds the files they name.

Two implementations share one interface: `LocalBlobs` (a directory, the embedded default; files
served by reelforge itself through signed, expiring URLs) and `S3Blobs` (any S3-compatible bucket;
files served by the bucket through presigned, expiring URLs). `open_blobs` picks one from the
settings.
"""

from pathlib import Path
from typing import Protocol

from reelforge.config import Settings


class BlobStore(Protocol):
    url_ttl: int  # lifetime of the URLs `url` hands out, seconds

    def put_bytes(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, path: Path, content_type: str) -> None: ...
    def read_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def url(self, key: str) -> str: ...

    def verify_url(self, key: str, expires: str | None, signature: str | None) -> bool:
        """Whether the query values of a `<base_url>/media/<key>` URL are those of a URL `url`
        handed out, unexpired; False for stores whose URLs point elsewhere."""

    def local_path(self, key: str) -> Path | None:
        """The file of a key on this machine; None when the bytes live elsewhere (a bucket).
        Refuses (ValueError) keys that would escape the store."""

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> tuple[str, dict] | None:
        """A form upload straight to the store (url, fields); None if the store has none."""


def open_blobs(settings: Settings, secret: bytes) -> BlobStore:
    """The configured store; `secret` (shared by every API node) signs local media URLs."""
    location = settings.media_location
    if location.startswith("s3://"):
        from reelforge.blobs.s3 import S3Blobs

        return S3Blobs.from_settings(location, settings)
    if "://" in location:
        raise ValueError(f"storage_url must be a directory or s3://bucket/prefix, not {location!r}")
    from reelforge.blobs.local import LocalBlobs

    return LocalBlobs(Path(location), settings.base_url, secret, settings.media_url_ttl)
