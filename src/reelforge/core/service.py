"""JobService: the one entry point dialects, the CLI and tests use to submit, read and cancel jobs
and to take uploads. It validates against the catalog, persists, then enqueues (commit before
publish), and scopes every lookup to the calling owner.
"""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reelforge.catalog import Catalog
from reelforge.core.errors import Conflict, InvalidRequest, NotFound
from reelforge.core.job import Asset, Job, JobStatus
from reelforge.core.request import GenerationRequest
from reelforge.media.images import MAX_IMAGE_BYTES, decode_image, sniff_image_format
from reelforge.storage import Storage
from reelforge.store.repository import Repository, now

UPLOAD_EXTENSIONS = ("png", "jpg", "jpeg", "webp")
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class UploadTarget:
    """Where and how a client uploads a reserved image: a multipart POST of `fields` plus `file`."""

    url: str
    fields: dict[str, str]


class JobService:
    def __init__(
        self,
        repo: Repository,
        storage: Storage,
        catalog: Catalog,
        enqueue: Callable[[str], None],
        base_url: str,
        secret: bytes,
        scratch_dir: Path,
    ):
        self.repo = repo
        self.storage = storage
        self.catalog = catalog
        self._enqueue = enqueue
        self.base_url = base_url
        self._secret = secret
        self.scratch_dir = scratch_dir  # where workers encode before moving files into storage

    # jobs ---------------------------------------------------------------------------------------

    def submit(self, request: GenerationRequest, owner: str, extra: dict | None = None) -> Job:
        spec = self.catalog.get(request.model)
        spec.check(request)
        for field, asset_id in (("start_image", request.start_image), ("end_image", request.end_image)):
            if asset_id:
                self._usable_asset(asset_id, owner, field)
        job = Job(
            id=str(uuid.uuid4()),
            owner=owner,
            request=request,
            seed=request.seed if request.seed is not None else secrets.randbelow(1 << 32),
            status=JobStatus.QUEUED,
            cost_usd=spec.price(request),
            created_at=now(),
            extra=extra or {},
        )
        self.repo.add_job(job)
        self._enqueue(job.id)
        return job

    def get(self, job_id: str, owner: str | None = None) -> Job:
        job = self.repo.get_job(job_id)
        if job is None or (owner is not None and job.owner != owner):
            raise NotFound(f"generation {job_id} not found")
        return job

    def list(
        self,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: str | None = None,
        ascending: bool = False,
    ) -> list[Job]:
        """The owner's jobs, newest first unless `ascending`; `after` is a job id cursor."""
        cursor = self.get(after, owner) if after is not None else None
        return self.repo.list_jobs(owner, limit=limit, offset=offset, after=cursor, ascending=ascending)

    def cancel(self, job_id: str, owner: str | None = None) -> Job:
        self.get(job_id, owner)
        self.repo.request_cancel(job_id)
        return self.get(job_id, owner)

    def delete(self, job_id: str, owner: str | None = None) -> None:
        """Delete a job and its media. A running render notices at its next progress step and
        stops; the worker then finds the row gone and removes anything it wrote."""
        self.get(job_id, owner)
        self.repo.request_cancel(job_id)
        self.repo.delete_job(job_id)
        self.storage.delete_prefix(f"outputs/{job_id}")

    def media_url(self, key: str) -> str:
        return self.storage.url(key)

    # uploads ------------------------------------------------------------------------------------

    def create_upload(self, owner: str, extension: str) -> tuple[Asset, UploadTarget]:
        """Reserve an upload slot. With a bucket, the target is a presigned POST straight to it;
        otherwise reelforge's own /uploads endpoint with a signature over the asset id."""
        extension = extension.lower().lstrip(".")
        if extension not in UPLOAD_EXTENSIONS:
            raise InvalidRequest(f"extension must be one of {', '.join(UPLOAD_EXTENSIONS)}", "extension")
        asset_id = str(uuid.uuid4())
        asset = Asset(
            id=asset_id,
            owner=owner,
            extension=extension,
            key=f"uploads/{asset_id}.{extension}",
            created_at=now(),
        )
        self.repo.add_asset(asset)
        presigned_post = getattr(self.storage, "presigned_post", None)
        if presigned_post is not None:
            url, fields = presigned_post(asset.key, CONTENT_TYPES[extension], MAX_IMAGE_BYTES)
            return asset, UploadTarget(url, fields)
        fields = {"key": asset.key, "asset_id": asset_id, "signature": self.upload_token(asset_id)}
        return asset, UploadTarget(f"{self.base_url}/uploads", fields)

    def upload_token(self, asset_id: str) -> str:
        return hmac.new(self._secret, f"upload:{asset_id}".encode(), hashlib.sha256).hexdigest()

    def complete_upload(self, asset_id: str, token: str, data: bytes) -> Asset:
        """Store the bytes of a reserved upload after checking its token and that it is a usable image."""
        if not hmac.compare_digest(token, self.upload_token(asset_id)):
            raise InvalidRequest("upload signature does not match", "token")
        asset = self.repo.get_asset(asset_id)
        if asset is None:
            raise NotFound(f"init image {asset_id} not found")
        if asset.ready:
            raise Conflict(f"init image {asset_id} was already uploaded")
        image = decode_image(data)  # any JPEG/PNG/WebP is fine whatever extension was reserved
        # The conditional update picks one winner among racing uploads; only the winner writes.
        if not self.repo.mark_asset_ready(asset_id, image.width, image.height, len(data)):
            raise Conflict(f"init image {asset_id} was already uploaded")
        try:
            self.storage.put_bytes(asset.key, data)
        except Exception:
            self.repo.mark_asset_pending(asset_id)
            raise
        return self.repo.get_asset(asset_id)

    def add_image(self, owner: str, data: bytes) -> Asset:
        """Store image bytes that arrived inline (base64, data URI, fetched URL, multipart) as a
        ready asset, so every dialect's frames end up as asset ids like Leonardo's uploads."""
        fmt = sniff_image_format(data)
        asset, _ = self.create_upload(owner, "jpg" if fmt == "jpeg" else (fmt or "png"))
        try:
            return self.complete_upload(asset.id, self.upload_token(asset.id), data)
        except Exception:
            self.repo.delete_asset(asset.id)
            raise

    def get_asset(self, asset_id: str, owner: str | None = None) -> Asset:
        asset = self.repo.get_asset(asset_id)
        if asset is None or (owner is not None and asset.owner != owner):
            raise NotFound(f"init image {asset_id} not found")
        return asset

    def delete_asset(self, asset_id: str, owner: str | None = None) -> None:
        asset = self.get_asset(asset_id, owner)
        self.repo.delete_asset(asset_id)
        self.storage.delete(asset.key)

    def _usable_asset(self, asset_id: str, owner: str, field: str) -> Asset:
        asset = self.repo.get_asset(asset_id)
        if asset is None or asset.owner != owner:
            raise InvalidRequest(f"image {asset_id} not found", field)
        if not asset.ready and not self._adopt_direct_upload(asset, field):
            raise InvalidRequest(f"image {asset_id} has not been uploaded yet", field)
        return asset

    def _adopt_direct_upload(self, asset: Asset, field: str) -> bool:
        """A presigned POST puts bytes in the bucket without reelforge seeing them: validate them
        on first use, and drop them if they are not a usable image."""
        if not self.storage.exists(asset.key):
            return False
        data = self.storage.read_bytes(asset.key)
        try:
            image = decode_image(data)
        except InvalidRequest as exc:
            self.storage.delete(asset.key)
            raise InvalidRequest(f"image {asset.id}: {exc.message}", field) from None
        self.repo.mark_asset_ready(asset.id, image.width, image.height, len(data))
        return True

    def stats(self) -> dict[str, int]:
        return {status.value: self.repo.count_jobs(status) for status in JobStatus}

    @staticmethod
    def timestamp(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None
