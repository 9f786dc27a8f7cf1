"""Media serving and the presigned-POST style upload endpoint.

`serve_media` is the one owner of turning a stored key into a response: every route that hands out
media bytes (this one, the OpenAI content route, Gemini's file download) goes through it.
`GET|HEAD /media/{key}?expires=...&signature=...` serves outputs and uploads with Range support
(Starlette's FileResponse) to the URLs the dialects hand out: signed and expiring like a bucket's
presigned URLs, so no API key is sent (blobs/local.py). Unsigned, altered or expired: 403 (an
unknown key is 404 first). With S3 storage the dialects hand out the bucket's own presigned URLs,
so this route has nothing to serve there.

`POST /uploads` is what Leonardo's init-image flow points clients at: a multipart form carrying the
fields reelforge handed out (`key`, `asset_id`, `signature`) and the `file`. No auth header is sent,
as with a presigned S3 POST: the signature is the authorisation. Success is 204, as S3 answers.
The body is capped while it streams (also without a Content-Length), so an oversized upload is
refused with 400 before it fills the disk. This route is the storage stand-in, not a Leonardo API
route, so its errors use reelforge's own shape; clients of a presigned POST only read the status.
"""

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from reelforge.api.bodies import capped_form
from reelforge.api.deps import ServiceDep
from reelforge.api.errors import NativeError
from reelforge.api.openapi import error_responses
from reelforge.core.errors import InvalidRequest
from reelforge.core.request import MAX_IMAGE_BYTES
from reelforge.service.jobs import JobService
from reelforge.service.media import MediaFile

router = APIRouter()

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
_FORM_OVERHEAD = 64 * 1024


def serve_media(service: JobService, key: str, media_type: str | None = None) -> Response:
    """The one way a stored file leaves reelforge to a caller whose key the route checked: see
    `_file_response`. NotFound if there is no such file."""
    return _file_response(service.media.locate(key), media_type)


def _file_response(found: MediaFile, media_type: str | None = None) -> Response:
    """A stored file from disk with Range support and HEAD, or a redirect to the bucket's
    presigned URL."""
    if found.path is None:
        return RedirectResponse(found.url, status_code=307)
    path = found.path
    media_type = (
        media_type
        or CONTENT_TYPES.get(path.suffix)
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=86400"})


BINARY = {"schema": {"type": "string", "format": "binary"}}
MEDIA_RESPONSES = {
    200: {"description": "The file", "content": {t: BINARY for t in sorted(set(CONTENT_TYPES.values()))}},
    206: {"description": "The requested byte range of the file (`Range` request)"},
    416: {"description": "The requested byte range is outside the file"},
    403: {"model": NativeError, "description": "The URL is unsigned, altered or expired"},
    **error_responses(NativeError, 404, 500),
}


MEDIA_ROUTE = dict(tags=["reelforge"], response_class=Response, responses=MEDIA_RESPONSES)


@router.head("/media/{key:path}", operation_id="head_media", summary="A stored file's headers", **MEDIA_ROUTE)
@router.get("/media/{key:path}", operation_id="get_media", summary="A stored output or upload", **MEDIA_ROUTE)
def media(
    key: str,
    service: ServiceDep,
    expires: Annotated[str | None, Query(description="Unix time the URL expires at")] = None,
    signature: Annotated[str | None, Query(description="The URL's signature, as handed out")] = None,
) -> Response:
    return _file_response(service.media.locate_signed(key, expires, signature))


async def _read_capped(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidRequest(f"file is larger than {limit // (1024 * 1024)} MB", "file")
    return data


UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string"},
                        "asset_id": {"type": "string"},
                        "signature": {"type": "string"},
                        "file": {"type": "string", "format": "binary"},
                    },
                    "required": ["asset_id", "signature", "file"],
                }
            }
        },
    }
}


@router.post(
    "/uploads",
    status_code=204,
    tags=["reelforge"],
    response_class=Response,
    responses={
        204: {"description": "Stored"},
        **error_responses(NativeError, 400, 404, 409, 500),
    },
    openapi_extra=UPLOAD_FORM,
    summary="Upload an init image with the fields handed out by Leonardo's POST /init-image",
)
async def upload(request: Request, service: ServiceDep) -> Response:
    too_large = f"file is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB"
    form = await capped_form(request, MAX_IMAGE_BYTES + _FORM_OVERHEAD, too_large, max_files=1, max_fields=20)
    try:
        file = form.get("file")
        asset_id, signature = form.get("asset_id"), form.get("signature")
        if not isinstance(file, UploadFile):
            raise InvalidRequest("multipart field 'file' is required", "file")
        if not isinstance(asset_id, str) or not isinstance(signature, str):
            raise InvalidRequest("the form fields handed out with the upload URL are missing", "fields")
        data = await _read_capped(file, MAX_IMAGE_BYTES)
    finally:
        await form.close()
    await run_in_threadpool(service.uploads.complete, asset_id, signature, data)
    return Response(status_code=204)
