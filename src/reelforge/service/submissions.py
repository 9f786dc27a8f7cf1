"""The one submission path: a dialect's or the CLI's `Draft` in, a queued job out.

In this order, so that a refused request costs nothing and leaves nothing behind:
1. fill the draft's defaults from the model's catalog entry and build the canonical request,
   with placeholders for frames that are not uploads yet;
2. check it against the catalog once and price it once (a model the catalog marks unavailable
   is refused here, before anything else);
3. resolve the frames and reference images: uploads must be the caller's and ready; image bytes,
   base64 and data URIs are decoded and validated, a frame of one of the caller's finished videos
   is decoded from it (media/frames.py), then stored as assets;
4. record the job, then enqueue it (commit before publish).
Images stored in step 3 are deleted again if anything after them fails.

`submit` is synchronous and takes frames in hand. Image URLs take `submit_async` (what the API's
create routes await; a draft without URLs goes straight to `submit` in a worker thread): steps 1-2
in a worker thread, then the URLs are fetched on the event loop
(SSRF-safely, media/fetch.py), so a slow image host holds no request thread, then `submit` runs in
a worker thread with the fetched bytes. An owner has at most `image_fetches_per_account` fetches in
flight in this process (its creates fetch their frames and reference images one after the other);
one more create with a URL is refused with TooManyRequests before it fetches anything.
"""

import dataclasses
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal

from anyio import to_thread

from reelforge.core.catalog import Catalog, ModelSpec
from reelforge.core.clock import now
from reelforge.core.errors import InvalidRequest, TooManyRequests
from reelforge.core.job import Job, JobExtras, JobStatus
from reelforge.core.metrics import JOBS_SUBMITTED
from reelforge.core.request import (
    Draft,
    FrameInput,
    FrameKind,
    GenerationRequest,
    Orientation,
    OutputFrame,
    build_request,
)
from reelforge.db.repository import Repository
from reelforge.media.fetch import (
    TOTAL_TIMEOUT,
    decode_base64_image,
    decode_image_source,
    fetch_image_url,
    is_image_url,
    validate_image_bytes,
)
from reelforge.media.frames import video_frame
from reelforge.service.uploads import Uploads

_PENDING = "pending"  # the stand-in asset id of a frame that is not stored yet
_FRAMES = ("start_image", "end_image")
FETCHES_RETRY_AFTER = 2  # seconds a client over its image-fetch cap is told to wait: most fetches end sooner


class Submissions:
    def __init__(
        self,
        repo: Repository,
        uploads: Uploads,
        catalog: Catalog,
        enqueue: Callable[[str], None],
        image_fetch_allowlist: str = "",
        image_fetches_per_account: int = 4,
        image_fetch_timeout: float = TOTAL_TIMEOUT,
    ):
        self.repo, self.uploads, self.catalog = repo, uploads, catalog
        self._enqueue = enqueue
        self._allowlist = image_fetch_allowlist
        self._fetch_cap = image_fetches_per_account
        self._fetch_timeout = image_fetch_timeout
        self._fetching: Counter[str] = Counter()  # owner -> fetches in flight; only the event loop touches it

    async def submit_async(self, draft: Draft, owner: str, extras: JobExtras | None = None) -> Job:
        """`submit` for a draft whose frames may be image URLs, without holding a request thread
        while they are fetched (module docstring)."""
        urls = _image_urls(draft)
        if urls:
            await to_thread.run_sync(self.checked, draft, owner)  # a refused create fetches nothing
            draft = _with_images(draft, await self._fetched(urls, owner))
        return await to_thread.run_sync(self.submit, draft, owner, extras)

    def submit(self, draft: Draft, owner: str, extras: JobExtras | None = None) -> Job:
        request, cost = self.checked(draft, owner)
        references = {_reference(index): image for index, image in enumerate(draft.reference_images)}
        frames = {**dict(zip(_FRAMES, (draft.start, draft.end), strict=True)), **references}
        with self._stored_frames(frames, owner) as ids:
            stored = {name: ids[name] for name in _FRAMES if name in ids}
            stored["reference_images"] = tuple(ids[name] for name in references)
            job = Job(
                id=str(uuid.uuid4()),
                owner=owner,
                request=request.model_copy(update=stored),
                seed=request.seed if request.seed is not None else secrets.randbelow(1 << 32),
                status=JobStatus.QUEUED,
                cost_usd=cost,
                created_at=now(),
                extras=extras or JobExtras(),
            )
            self.repo.add_job(job)
        self._enqueue(job.id)
        JOBS_SUBMITTED.labels(job.request.model).inc()
        return job

    def checked(self, draft: Draft, owner: str) -> tuple[GenerationRequest, Decimal]:
        """The draft's canonical request (frames as placeholders) and its price; InvalidRequest if
        the catalog refuses it."""
        spec = self.catalog.get(draft.model) if draft.model is not None else self.catalog.default
        if not spec.available:
            reason = f": {spec.unavailable_reason}" if spec.unavailable_reason else ""
            raise InvalidRequest(
                f"model {draft.model or spec.id!r} is not available on this server{reason}", "model"
            )
        request = self.request(draft, spec, owner)
        return request, spec.price(request)

    async def _fetched(self, urls: dict[str, FrameInput], owner: str) -> dict[str, FrameInput]:
        """The URL images (by `_image_urls` name) fetched into image bytes, one after the other; the
        owner's fetch cap is checked before the first."""
        if self._fetching[owner] >= self._fetch_cap:
            raise TooManyRequests(
                f"this account may fetch {self._fetch_cap} image URLs at once; "
                f"retry in {FETCHES_RETRY_AFTER} s",
                FETCHES_RETRY_AFTER,
            )
        self._fetching[owner] += 1
        fetched: dict[str, FrameInput] = {}
        try:
            for name, frame in urls.items():
                field = frame.field or name
                data = await fetch_image_url(
                    str(frame.value), self._allowlist, field_name=field, total_timeout=self._fetch_timeout
                )
                fetched[name] = FrameInput(FrameKind.BYTES, data, frame.field)
        finally:
            self._fetching[owner] -= 1
            if not self._fetching[owner]:
                del self._fetching[owner]
        return fetched

    def request(self, draft: Draft, spec: ModelSpec, owner: str) -> GenerationRequest:
        """The canonical request with the model's defaults filled in, checked against the catalog;
        frames are placeholders (or upload ids) until they are stored."""
        duration = draft.duration
        if duration is None or (draft.duration_is_hint and len(spec.durations) == 1):
            duration = spec.default_duration
        width, height = self._size(draft, spec, owner)
        request = build_request(
            model=draft.model or spec.id,
            prompt=draft.prompt,
            negative_prompt=draft.negative_prompt,
            duration=duration,
            width=width,
            height=height,
            seed=draft.seed,
            audio=spec.audio if draft.audio is None else draft.audio,
            samples=draft.samples,
            person_generation=draft.person_generation,
            start_image=_PENDING if draft.start else None,
            end_image=_PENDING if draft.end else None,
            reference_images=(_PENDING,) * len(draft.reference_images),
        )
        spec.check(request)
        return request

    def _size(self, draft: Draft, spec: ModelSpec, owner: str) -> tuple[int, int]:
        if draft.orientation is Orientation.START_FRAME:
            width, height = self._frame_size(draft.start, owner)
            try:
                return spec.resolve_size(draft.resolution, portrait=height > width)
            except InvalidRequest:  # the model has no size of that orientation
                return spec.default_size
        portrait = None if draft.orientation is None else draft.orientation is Orientation.PORTRAIT
        return spec.resolve_size(draft.resolution, draft.width, draft.height, portrait)

    def _frame_size(self, frame: FrameInput | None, owner: str) -> tuple[int, int]:
        """The size of an uploaded start frame (what SVD's orientation follows)."""
        if frame is None or frame.kind is not FrameKind.UPLOAD:
            raise InvalidRequest("the size follows the start frame: upload one", "start_image")
        asset = self.uploads.usable(str(frame.value), owner, frame.field or "start_image")
        return asset.width or 0, asset.height or 0

    @contextmanager
    def _stored_frames(self, frames: dict[str, FrameInput | None], owner: str) -> Iterator[dict[str, str]]:
        """Frame (or reference image) name -> asset id; assets stored here are deleted again if the
        block raises."""
        ids: dict[str, str] = {}
        stored: list[str] = []
        try:
            for name, frame in frames.items():
                if frame is None:
                    continue
                field = frame.field or name
                if frame.kind is FrameKind.UPLOAD:
                    ids[name] = self.uploads.usable(str(frame.value), owner, field).id
                else:
                    ids[name] = self.uploads.add_image(owner, self._image_bytes(frame, field, owner)).id
                    stored.append(ids[name])
            yield ids
        except BaseException:
            for asset_id in stored:
                with suppress(Exception):
                    self.uploads.delete(asset_id, owner)
            raise

    def _image_bytes(self, frame: FrameInput, field: str, owner: str) -> bytes:
        if frame.kind is FrameKind.OUTPUT:
            return self._output_frame(frame.value, field, owner)
        if frame.kind is FrameKind.BYTES:
            return validate_image_bytes(bytes(frame.value), field)
        if frame.kind is FrameKind.BASE64:
            return validate_image_bytes(decode_base64_image(str(frame.value), field), field)
        return decode_image_source(str(frame.value), field)

    def _output_frame(self, wanted: OutputFrame, field: str, owner: str) -> bytes:
        """A frame of one of the owner's finished videos; another account's is "not found" too."""
        job = self.repo.get_job(wanted.job_id)
        if job is None or job.owner != owner:
            raise InvalidRequest(f"video {wanted.job_id} not found", field)
        if job.status is not JobStatus.SUCCEEDED or wanted.sample >= len(job.outputs):
            raise InvalidRequest(f"video {wanted.job_id} has no finished output {wanted.sample}", field)
        return video_frame(self.uploads.blobs.read_bytes(job.outputs[wanted.sample].video_key), wanted.frame)


def _reference(index: int) -> str:
    """The canonical name of a reference image, what errors about it name by default."""
    return f"reference_images[{index}]"


def _image_urls(draft: Draft) -> dict[str, FrameInput]:
    """The draft's images given as http(s) URLs, by canonical name (`start_image`, `end_image`,
    `reference_images[0]`, ...)."""
    images = {
        "start_image": draft.start,
        "end_image": draft.end,
        **{_reference(index): image for index, image in enumerate(draft.reference_images)},
    }
    return {
        name: image
        for name, image in images.items()
        if image is not None and image.kind is FrameKind.SOURCE and is_image_url(str(image.value))
    }


def _with_images(draft: Draft, fetched: dict[str, FrameInput]) -> Draft:
    """The draft with the images `_image_urls` named replaced by their fetched bytes."""
    return dataclasses.replace(
        draft,
        start=fetched.get("start_image", draft.start),
        end=fetched.get("end_image", draft.end),
        reference_images=tuple(
            fetched.get(_reference(index), image) for index, image in enumerate(draft.reference_images)
        ),
    )
