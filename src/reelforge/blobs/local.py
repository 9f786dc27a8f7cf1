"""Local-directory blob storage, the embedded default. Keys map to files under one root directory,
and reelforge serves them itself at `<base_url>/media/<key>` (api/media.py); `<base_url>` is the
origin of the request being answered (core/origin.py) or, outside a request, the configured one.

Those URLs carry the same contract as a bucket's presigned URLs: an expiry and a signature,
`<base_url>/media/<key>?expires=<unix time>&signature=<hex HMAC-SHA256>`, signed with the secret
every API node shares (so any node checks a URL another handed out) and valid for `url_ttl`
seconds. The signature covers the key and the expiry, so neither can be changed; not the host, so
a URL stays valid whichever name of the server it was handed out under. Python's own
`hmac` does the signing: the format is ours, and a library's signed-token format would not be it.
"""

import hashlib
import hmac
import os
import shutil
import uuid
from pathlib import Path

from reelforge.core import origin
from reelforge.core.clock import now

_MAX_EXPIRES_DIGITS = 12  # a unix time, seconds, for the next 30,000 years


class LocalBlobs:
    def __init__(self, root: Path, base_url: str, secret: bytes, url_ttl: int):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url
        self._secret = secret
        self.url_ttl = url_ttl

    def local_path(self, key: str) -> Path:
        """The file of a key; refuses keys that would escape the root."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"bad storage key {key!r}")
        return path

    def _target(self, key: str) -> tuple[Path, Path]:
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")

    def put_bytes(self, key: str, data: bytes) -> None:
        path, tmp = self._target(key)
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Move a finished local file into place (a rename when on the same file system)."""
        target, tmp = self._target(key)
        shutil.move(path, tmp)
        os.replace(tmp, target)

    def read_bytes(self, key: str) -> bytes:
        return self.local_path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Remove a whole folder of keys (e.g. every output of one job)."""
        shutil.rmtree(self.local_path(prefix), ignore_errors=True)

    def signature(self, key: str, expires: int) -> str:
        """The signature of the URL of `key` valid until `expires` (unix time). The message cannot
        be read two ways (`expires` has no newline), nor taken for an upload token, which the same
        secret signs (service/uploads.py)."""
        message = f"media\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, key: str) -> str:
        """A fresh signed URL of `key`, valid for `url_ttl` seconds from now."""
        expires = int(now().timestamp()) + self.url_ttl
        base_url = origin.base_url(self.base_url)
        return f"{base_url}/media/{key}?expires={expires}&signature={self.signature(key, expires)}"

    def verify_url(self, key: str, expires: str | None, signature: str | None) -> bool:
        """Whether `expires` and `signature` are those of a URL `url` handed out for `key`, and it
        has not expired yet."""
        if not expires or not signature or not expires.isascii() or not expires.isdigit():
            return False
        if len(expires) > _MAX_EXPIRES_DIGITS or int(expires) <= now().timestamp():
            return False
        expected = self.signature(key, int(expires))
        return hmac.compare_digest(signature.encode(), expected.encode())

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> None:
        return None  # uploads come through reelforge's own /uploads route
