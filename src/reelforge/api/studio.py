"""The studio: the web app at `/` that makes, watches and manages videos through the native API.

Its files ship in the package (`reelforge/studio/`: one page, one stylesheet, ES modules; no build
step, nothing from a CDN) and are public like `/docs`: they hold no data, and every call the page
makes carries the key the user signs in with. The Content-Security-Policy lets the page load and
call its own origin only (media are fetched with the key and shown from blob: URLs), plus, with
bucket storage, the bucket's origin, where `/content` redirects for the bytes (the bucket's CORS
rules must allow GET from the studio's origin: docs/deployment.md). The files
keep their URLs across versions, so browsers revalidate them (ETag) rather than keep stale ones.
"""

from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from reelforge.config import Settings

DIRECTORY = str(resources.files("reelforge") / "studio")
AWS_S3 = "https://*.amazonaws.com"  # where presigned URLs point without an S3 endpoint setting


def media_origin(settings: Settings) -> str | None:
    """The origin media bytes come from when it is not the server's own: the S3 endpoint's."""
    if not settings.media_location.startswith("s3://"):
        return None
    if not settings.s3_endpoint_url:
        return AWS_S3
    url = urlsplit(settings.s3_endpoint_url)
    return f"{url.scheme}://{url.netloc}"


def headers(settings: Settings) -> dict[str, str]:
    media = " ".join(filter(None, ("'self'", media_origin(settings))))
    policy = (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {media} blob: data:; "
        f"media-src {media} blob:; connect-src {media}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-cache",  # revalidate: the URLs stay the same when the files change
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


class _Files(StaticFiles):
    """The studio's files (conditional requests answered 304 by StaticFiles) with `headers`."""

    def __init__(self, headers: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self._headers = headers

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers.update(self._headers)
        return response


def install(app: FastAPI, settings: Settings) -> None:
    """`GET /` the page, `/studio/<file>` its stylesheet and scripts."""
    studio_headers = headers(settings)
    app.mount("/studio", _Files(studio_headers, directory=DIRECTORY), name="studio")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(
            f"{DIRECTORY}/index.html", media_type="text/html; charset=utf-8", headers=studio_headers
        )
