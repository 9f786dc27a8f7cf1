"""The Gemini API's Files resource over reelforge's jobs. Every sample of a caller's succeeded job is
a file `files/<job hex>v<sample>` (source GENERATED), whichever API created the job: its metadata,
its MP4 (GET or HEAD), the caller's files a page at a time, and deleting one. Decisions are listed
in gemini.py; the routes join gemini.py's router.
"""

import re
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from reelforge.api.auth import CallerDep
from reelforge.api.deps import ServiceDep
from reelforge.api.dialects.google.wire import GoogleEmpty, GoogleError, Message
from reelforge.api.media import serve_media
from reelforge.api.openapi import error_responses
from reelforge.api.wire import iso_z
from reelforge.core.errors import Forbidden, InvalidRequest, NotFound
from reelforge.core.job import Job, JobStatus, Output
from reelforge.service.jobs import JobService

DEFAULT_PAGE = 10  # Google's default pageSize for files.list
MAX_PAGE = 100  # Google's maximum; a larger pageSize is coerced to it
_SCAN = 100  # jobs read at a time while a page is filled
_FILE_NAME = re.compile(r"([0-9a-f]{32})v(\d{1,2})")

router = APIRouter()


class GeminiFile(Message):
    """A generated video as a Files API resource."""

    name: str = Field(description="`files/{file}`.")
    mimeType: Literal["video/mp4"] = "video/mp4"
    sizeBytes: str = Field(description="The size of the MP4 in bytes, a decimal string (protobuf int64).")
    createTime: str = Field(description="When the video was finished (ISO 8601, UTC).")
    updateTime: str = Field(description="The same as `createTime`: a generated file never changes.")
    uri: str = Field(description="The download URL (`...:download?alt=media`); it needs the key.")
    downloadUri: str = Field(description="The same as `uri`.")
    state: Literal["ACTIVE"] = "ACTIVE"
    source: Literal["GENERATED"] = "GENERATED"


class GeminiFileList(Message):
    """One page of the caller's files, newest job first."""

    files: list[GeminiFile]
    nextPageToken: str | None = Field(
        default=None, description="Pass as `pageToken` for the next page; absent on the last."
    )


def file_name(job: Job, output: Output) -> str:
    return f"{uuid.UUID(job.id).hex}v{output.index}"


def file_uri(base_url: str, job: Job, output: Output) -> str:
    return f"{base_url}/v1beta/files/{file_name(job, output)}:download?alt=media"


def file_resource(base_url: str, name: str, job: Job, output: Output) -> GeminiFile:
    """The metadata of a job's output, under the file name the client asked for."""
    created = iso_z(job.finished_at or job.created_at)
    return GeminiFile(
        name=f"files/{name}",
        sizeBytes=str(output.video_bytes),
        createTime=created,
        updateTime=created,
        uri=file_uri(base_url, job, output),
        downloadUri=file_uri(base_url, job, output),
    )


def _samples(job: Job) -> list[Output]:
    """A job's files: its outputs once it succeeded, none before."""
    return sorted(job.outputs, key=lambda o: o.index) if job.status is JobStatus.SUCCEEDED else []


def caller_file(service: JobService, owner: str, name: str) -> tuple[Job, Output]:
    """The caller's file `name`; NotFound for a name that is no file, another's file or a sample that
    is not rendered yet."""
    found = _FILE_NAME.fullmatch(name)
    if found is None:
        raise NotFound(f"file {name} not found")
    try:
        job = service.get(str(uuid.UUID(found.group(1))), owner)
    except NotFound:
        raise NotFound(f"file {name} not found") from None
    output = next((out for out in _samples(job) if out.index == int(found.group(2))), None)
    if output is None:
        raise NotFound(f"file {name} not found")
    return job, output


def _denied(service: JobService, owner: str, name: str) -> tuple[Job, Output]:
    """`caller_file`, refused as Google refuses files.get and files.delete: 403 PERMISSION_DENIED
    whether the file is missing or another's."""
    try:
        return caller_file(service, owner, name)
    except NotFound:
        raise Forbidden(f"file {name} not found, or not accessible with this key") from None


def files_page(service: JobService, owner: str, page_size: int, page_token: str | None) -> GeminiFileList:
    """One page of the caller's files, newest job first and by sample within a job. The token is
    the name of the first file of the next page; InvalidRequest if it names none of the caller's."""
    size = min(page_size or DEFAULT_PAGE, MAX_PAGE)
    found: list[tuple[Job, Output]] = []
    after = None
    if page_token:
        try:
            job, first = caller_file(service, owner, page_token)
        except NotFound:
            raise InvalidRequest("pageToken: not a page token of this listing", "pageToken") from None
        found = [(job, out) for out in _samples(job) if out.index >= first.index]
        after = job.id
    offset = 0
    while len(found) <= size:  # one file more than the page tells whether another page follows
        jobs = service.list(owner, limit=_SCAN, offset=offset, after=after)
        found += [(job, out) for job in jobs for out in _samples(job)]
        if len(jobs) < _SCAN:
            break
        offset += _SCAN
    page, rest = found[:size], found[size:]
    return GeminiFileList(
        files=[file_resource(service.base_url, file_name(job, out), job, out) for job, out in page],
        nextPageToken=file_name(*rest[0]) if rest else None,
    )


def _name_in(ref: str) -> tuple[str, str]:
    """(file name, method) in `abc:download`, or in the whole `http://host/v1beta/files/abc:download`
    URI that google-genai puts after `files/` when the URI is not https (its query lands in `alt`)."""
    name, _, action = ref.rpartition("files/")[2].partition(":")
    return name, action


# routes ------------------------------------------------------------------------------------------

_MP4 = {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}
_RANGE_ERROR = {"text/plain": {"schema": {"type": "string"}}}
FILE_ANSWERS = {
    200: {
        "description": "`files/{file}`: the file's metadata (JSON); `files/{file}:download` or "
        "`?alt=media`: the MP4 (HEAD: its headers only)",
        "content": _MP4,
    },
    206: {"description": "The byte range of the MP4 a `Range` header asked for", "content": _MP4},
    307: {
        "description": "With bucket storage: a redirect to the MP4's presigned URL",
        "headers": {"Location": {"description": "The presigned URL", "schema": {"type": "string"}}},
    },
    400: {"description": "A malformed `Range` header (plain text)", "content": _RANGE_ERROR},
    416: {"description": "A `Range` outside the MP4 (plain text)", "content": _RANGE_ERROR},
    **error_responses(GoogleError, 403, 404),
}


@router.get("/files", response_model=GeminiFileList, responses=error_responses(GoogleError, 400))
def list_files(
    service: ServiceDep,
    caller: CallerDep,
    pageSize: Annotated[int, Query(ge=0)] = DEFAULT_PAGE,
    pageToken: str | None = None,
) -> GeminiFileList:
    return files_page(service, caller.id, pageSize, pageToken)


FILE_ROUTE = {"response_model": GeminiFile, "responses": FILE_ANSWERS}


@router.head("/files/{ref:path}", operation_id="gemini_head_file", **FILE_ROUTE)
@router.get("/files/{ref:path}", operation_id="gemini_get_file", **FILE_ROUTE)
def get_file(
    ref: str,
    service: ServiceDep,
    caller: CallerDep,
    alt: Annotated[str | None, Query()] = None,
) -> GeminiFile | Response:
    name, action = _name_in(ref)
    if action == "download" or (not action and (alt or "").startswith("media")):
        job, output = caller_file(service, caller.id, name)
        return serve_media(service, output.video_key, "video/mp4")
    if action:
        raise NotFound(f"unknown file method {action!r}")
    job, output = _denied(service, caller.id, name)
    return file_resource(service.base_url, name, job, output)


@router.delete(
    "/files/{ref:path}", response_model=GoogleEmpty, responses=error_responses(GoogleError, 403, 404)
)
def delete_file(ref: str, service: ServiceDep, caller: CallerDep) -> dict:
    """Deleting a file deletes the job it is a sample of, with every sample (gemini.py)."""
    name, action = _name_in(ref)
    if action not in ("", "download"):
        raise NotFound(f"unknown file method {action!r}")
    job, _ = _denied(service, caller.id, name)
    service.delete(job.id, caller.id)
    return {}
