"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served without internet access.

FastAPI's own pages load their JavaScript, CSS, favicon and (ReDoc) Google Fonts from CDNs, so they
render blank on a closed network. Here the assets come from the `fastapi-offline` package, which
ships Swagger UI's and ReDoc's dist files, under a path naming that package's version: the files
behind a URL never change, so browsers may keep them for a year. The pages show the schema only,
like `/openapi.json`, and stay public.
"""

from importlib import resources
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

ASSETS = f"/docs-assets/{version('fastapi-offline')}"
_CACHE = "public, max-age=31536000, immutable"
# The pages load nothing from elsewhere, even what the bundles ask for (ReDoc's sidebar logo comes
# from Redocly's CDN, with no option to turn it off; without it the logo is hidden).
_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


class _Assets(StaticFiles):
    """The bundled files, cached for a year (their URL changes with the package's version)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = _CACHE
        return response


def install(app: FastAPI) -> None:
    """Mount the assets and add the two pages (the app is built with docs_url=None, redoc_url=None)."""
    directory = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, _Assets(directory=str(directory)), name="docs-assets")
    favicon = f"{ASSETS}/favicon.png"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _confined(
            get_swagger_ui_html(
                openapi_url=app.openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=favicon,
                oauth2_redirect_url=None,
                swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _confined(
            get_redoc_html(
                openapi_url=app.openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=favicon,
                with_google_fonts=False,
            )
        )


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = _POLICY
    return page
