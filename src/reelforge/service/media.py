"""Access to stored media for the API: URLs to hand out, and where a file can be served from.

URLs are handed out fresh on every read (`url`): signed and expiring, whatever the store. The
`/media` route serves a file only to a URL that `url` handed out and that has not expired
(`locate_signed`); routes that check the caller's key serve it with `locate`.
"""

from dataclasses import dataclass
from pathlib import Path

from reelforge.blobs import BlobStore
from reelforge.core.errors import Forbidden, NotFound
from reelforge.media.spritesheet import build_spritesheet


@dataclass(frozen=True)
class MediaFile:
    """A stored file: on this machine (`path`), or at a URL the client is sent to (`url`)."""

    path: Path | None = None
    url: str | None = None


class Media:
    def __init__(self, blobs: BlobStore):
        self._blobs = blobs

    @property
    def url_ttl(self) -> int:
        """Lifetime of the URLs `url` hands out, in seconds."""
        return self._blobs.url_ttl

    def url(self, key: str) -> str:
        return self._blobs.url(key)

    def locate(self, key: str) -> MediaFile:
        """Where to serve a key from; NotFound if there is no such file (or the key is malformed)."""
        try:
            path = self._blobs.local_path(key)
            if path is None:
                if self._blobs.exists(key):
                    return MediaFile(url=self._blobs.url(key))
            elif path.is_file() and not path.name.startswith("."):
                return MediaFile(path=path)
        except (ValueError, OSError):  # escapes the root, NUL byte, name too long, ...
            pass
        raise NotFound("no such media")

    def locate_signed(self, key: str, expires: str | None, signature: str | None) -> MediaFile:
        """`locate` for a request to a media URL: NotFound if there is no such file (an unknown
        key tells nothing), Forbidden unless the URL's expiry and signature are those `url` handed
        out for this key and it has not expired."""
        found = self.locate(key)
        if not self._blobs.verify_url(key, expires, signature):
            raise Forbidden(
                "this media URL is unsigned, altered or expired: read the job again for a fresh one"
            )
        return found

    def read(self, key: str) -> bytes:
        if not self._blobs.exists(key):
            raise NotFound("no such media")
        return self._blobs.read_bytes(key)

    def spritesheet(self, video_key: str) -> bytes:
        """A JPEG grid of evenly spaced frames of a stored video (media/spritesheet.py)."""
        data = self.read(video_key)
        try:
            return build_spritesheet(data)
        except Exception:  # a damaged file: report it as gone rather than as a server fault
            raise NotFound("the media of this video cannot be read") from None
