"""The studio: the web app at `/` that makes, watches and manages videos through the native API.

Its files ship in the package (`reelforge/studio/`: one page, one stylesheet, ES modules; no build
step, nothing from a CDN) and are public like `/docs`: they hold no data, and every call the page
makes carries the key the user signs in with. The Content-Security-Policy lets the page load and
call its own origin only (media are fetched with the key and shown from blob: URLs). The files
keep their URLs across versions, so browsers revalidate them (ETag) rather than keep stale ones.
"""

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

DIRECTORY = str(resources.files("reelforge") / "studio")
_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _POLICY,
    "Cache-Control": "no-cache",  # revalidate: the URLs stay the same when the files change
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _Files(StaticFiles):
    """The studio's files (conditional requests answered 304 by StaticFiles) with the headers above."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers.update(_HEADERS)
        return response


def install(app: FastAPI) -> None:
    """`GET /` the page, `/studio/<file>` its stylesheet and scripts."""
    app.mount("/studio", _Files(directory=DIRECTORY), name="studio")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(
            f"{DIRECTORY}/index.html", media_type="text/html; charset=utf-8", headers=_HEADERS
        )
