"""Uploaded input images (assets): reserving an upload slot, taking its bytes, and checking that
an upload is usable as a frame. Inline images (base64, fetched URLs, file parts) become ready
assets too, so every job's frames are asset ids whatever API they arrived through.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from reelforge.blobs import BlobStore
from reelforge.core import origin
from reelforge.core.clock import now
from reelforge.core.errors import Conflict, InvalidRequest, NotFound
from reelforge.core.job import Asset
from reelforge.core.request import MAX_IMAGE_BYTES
from reelforge.db.repository import Repository
from reelforge.media.images import decode_image, sniff_image_format

UPLOAD_EXTENSIONS = ("png", "jpg", "jpeg", "webp")
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class UploadTarget:
    """Where and how a client uploads a reserved image: a multipart POST of `fields` plus `file`."""

    url: str
    fields: dict[str, str]


class Uploads:
    def __init__(self, repo: Repository, blobs: BlobStore, base_url: str, secret: bytes):
        self.repo, self.blobs, self.base_url, self._secret = repo, blobs, base_url, secret

    def create(self, owner: str, extension: str) -> tuple[Asset, UploadTarget]:
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
        post = self.blobs.presigned_post(asset.key, CONTENT_TYPES[extension], MAX_IMAGE_BYTES)
        if post is not None:
            return asset, UploadTarget(*post)
        fields = {"key": asset.key, "asset_id": asset_id, "signature": self.token(asset_id)}
        return asset, UploadTarget(f"{origin.base_url(self.base_url)}/uploads", fields)

    def token(self, asset_id: str) -> str:
        return hmac.new(self._secret, f"upload:{asset_id}".encode(), hashlib.sha256).hexdigest()

    def complete(self, asset_id: str, token: str, data: bytes) -> Asset:
        """Store the bytes of a reserved upload after checking its token and that it is a usable image."""
        if not hmac.compare_digest(token.encode(), self.token(asset_id).encode()):
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
            self.blobs.put_bytes(asset.key, data)
        except Exception:
            self.repo.mark_asset_pending(asset_id)
            raise
        return self.repo.get_asset(asset_id)

    def add_image(self, owner: str, data: bytes) -> Asset:
        """Store image bytes that arrived inline as a ready asset of `owner`."""
        fmt = sniff_image_format(data)
        asset, _ = self.create(owner, "jpg" if fmt == "jpeg" else (fmt or "png"))
        try:
            return self.complete(asset.id, self.token(asset.id), data)
        except Exception:
            self.repo.delete_asset(asset.id)
            raise

    def get(self, asset_id: str, owner: str | None = None) -> Asset:
        asset = self.repo.get_asset(asset_id)
        if asset is None or (owner is not None and asset.owner != owner):
            raise NotFound(f"init image {asset_id} not found")
        return asset

    def delete(self, asset_id: str, owner: str | None = None) -> None:
        asset = self.get(asset_id, owner)
        self.repo.delete_asset(asset_id)
        self.blobs.delete(asset.key)

    def usable(self, asset_id: str, owner: str, field: str) -> Asset:
        """The owner's upload, ready to be a frame; InvalidRequest at `field` otherwise."""
        asset = self.repo.get_asset(asset_id)
        if asset is None or asset.owner != owner:
            raise InvalidRequest(f"image {asset_id} not found", field)
        if asset.ready:
            return asset
        if not self._adopt_direct_upload(asset, field):
            raise InvalidRequest(f"image {asset_id} has not been uploaded yet", field)
        return self.repo.get_asset(asset_id)  # with the size the adoption recorded

    def _adopt_direct_upload(self, asset: Asset, field: str) -> bool:
        """A presigned POST puts bytes in the bucket without reelforge seeing them: validate them
        on first use, and drop them if they are not a usable image."""
        if not self.blobs.exists(asset.key):
            return False
        data = self.blobs.read_bytes(asset.key)
        try:
            image = decode_image(data)
        except InvalidRequest as exc:
            self.blobs.delete(asset.key)
            raise InvalidRequest(f"image {asset.id}: {exc.message}", field) from None
        self.repo.mark_asset_ready(asset.id, image.width, image.height, len(data))
        return True
