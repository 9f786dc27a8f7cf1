"""Local-directory blob storage, the embedded default. Keys map to files under one root directory,
and reelforge serves them itself at `<base_url>/media/<key>` (api/media.py)."""

import os
import shutil
import uuid
from pathlib import Path


class LocalBlobs:
    url_ttl = None

    def __init__(self, root: Path, base_url: str):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url

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

    def url(self, key: str) -> str:
        return f"{self.base_url}/media/{key}"

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> None:
        return None  # uploads come through reelforge's own /uploads route
