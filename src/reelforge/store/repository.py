"""The repository: the only code that reads and writes job and asset rows.

State changes are conditional updates (`WHERE status = ...`), so two workers or a worker and a
cancel racing on the same job cannot both win; callers learn from the return value who did.
"""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from reelforge.core.job import Asset, Job, JobStatus, Output
from reelforge.core.request import GenerationRequest
from reelforge.store.tables import AssetRow, JobRow


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite stores naive timestamps; they are all UTC


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        owner=row.owner,
        request=GenerationRequest.model_validate(row.request),
        seed=int(row.seed),
        status=JobStatus(row.status),
        cost_usd=Decimal(row.cost_usd),
        created_at=_aware(row.created_at),
        progress=row.progress,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
        error_code=row.error_code,
        error_message=row.error_message,
        outputs=[Output(**o) for o in row.outputs or []],
        cancel_requested=row.cancel_requested,
        attempts=row.attempts,
        extra=dict(row.extra or {}),
    )


def _asset(row: AssetRow) -> Asset:
    return Asset(
        id=row.id,
        owner=row.owner,
        extension=row.extension,
        key=row.key,
        created_at=_aware(row.created_at),
        ready=row.ready,
        width=row.width,
        height=row.height,
        size_bytes=row.size_bytes,
    )


class Repository:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    def _tx(self) -> Session:
        return self._session.begin()

    # jobs ---------------------------------------------------------------------------------------

    def add_job(self, job: Job) -> None:
        with self._tx() as s:
            s.add(
                JobRow(
                    id=job.id,
                    owner=job.owner,
                    model=job.request.model,
                    request=job.request.model_dump(mode="json"),
                    seed=job.seed,
                    status=job.status.value,
                    progress=job.progress,
                    cost_usd=str(job.cost_usd),
                    created_at=job.created_at,
                    outputs=[],
                    cancel_requested=False,
                    attempts=0,
                    extra=job.extra,
                )
            )

    def get_job(self, job_id: str) -> Job | None:
        with self._tx() as s:
            row = s.get(JobRow, job_id)
            return _job(row) if row else None

    def list_jobs(self, owner: str | None = None, limit: int = 50, offset: int = 0) -> list[Job]:
        query = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id).limit(limit).offset(offset)
        if owner is not None:
            query = query.where(JobRow.owner == owner)
        with self._tx() as s:
            return [_job(r) for r in s.scalars(query)]

    def count_jobs(self, status: JobStatus) -> int:
        with self._tx() as s:
            return s.scalar(select(func.count()).select_from(JobRow).where(JobRow.status == status.value))

    def claim(self, only: str | None = None) -> str | None:
        """Move the oldest queued job (or just `only`) to running and return its id; None if
        there is nothing to claim or another worker won the race for `only`."""
        while True:
            with self._tx() as s:
                query = select(JobRow.id).where(JobRow.status == JobStatus.QUEUED.value)
                if only is not None:
                    query = query.where(JobRow.id == only)
                job_id = s.scalar(query.order_by(JobRow.created_at, JobRow.id).limit(1))
                if job_id is None:
                    return None
                claimed = s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
                    .values(
                        status=JobStatus.RUNNING.value,
                        started_at=now(),
                        progress=0,
                        attempts=JobRow.attempts + 1,
                    )
                ).rowcount
            if claimed:
                return job_id
            if only is not None:
                return None

    def set_progress(self, job_id: str, progress: int) -> bool:
        """Record progress of a running job; returns False when the job should stop
        (cancel requested, deleted, or no longer running)."""
        with self._tx() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
                .values(progress=progress)
            )
            row = s.execute(select(JobRow.status, JobRow.cancel_requested).where(JobRow.id == job_id)).first()
        return row is not None and row.status == JobStatus.RUNNING.value and not row.cancel_requested

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        outputs: list[Output] = (),
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        """Move a running job to a terminal state; False if it was not running any more."""
        values = dict(status=status.value, finished_at=now(), outputs=[o.to_dict() for o in outputs])
        if status is JobStatus.SUCCEEDED:
            values["progress"] = 100
        if error_code:
            values.update(error_code=error_code, error_message=error_message)
        with self._tx() as s:
            return bool(
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
                    .values(**values)
                ).rowcount
            )

    def request_cancel(self, job_id: str) -> JobStatus | None:
        """Cancel a queued job at once; flag a running one so its worker stops. Returns the status after."""
        with self._tx() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
                .values(status=JobStatus.CANCELED.value, finished_at=now())
            )
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
                .values(cancel_requested=True)
            )
            status = s.scalar(select(JobRow.status).where(JobRow.id == job_id))
        return JobStatus(status) if status else None

    def requeue_running(self) -> int:
        """Put jobs left `running` by a dead process back in the queue (embedded mode start-up)."""
        with self._tx() as s:
            return s.execute(
                update(JobRow)
                .where(JobRow.status == JobStatus.RUNNING.value)
                .values(status=JobStatus.QUEUED.value, progress=0, started_at=None)
            ).rowcount

    def delete_job(self, job_id: str) -> bool:
        with self._tx() as s:
            return bool(s.execute(delete(JobRow).where(JobRow.id == job_id)).rowcount)

    # assets -------------------------------------------------------------------------------------

    def add_asset(self, asset: Asset) -> None:
        with self._tx() as s:
            s.add(
                AssetRow(
                    id=asset.id,
                    owner=asset.owner,
                    extension=asset.extension,
                    key=asset.key,
                    created_at=asset.created_at,
                    ready=asset.ready,
                )
            )

    def get_asset(self, asset_id: str) -> Asset | None:
        with self._tx() as s:
            row = s.get(AssetRow, asset_id)
            return _asset(row) if row else None

    def mark_asset_ready(self, asset_id: str, width: int, height: int, size_bytes: int) -> bool:
        with self._tx() as s:
            return bool(
                s.execute(
                    update(AssetRow)
                    .where(AssetRow.id == asset_id, AssetRow.ready.is_(False))
                    .values(ready=True, width=width, height=height, size_bytes=size_bytes)
                ).rowcount
            )

    def mark_asset_pending(self, asset_id: str) -> None:
        """Undo `mark_asset_ready` when storing the bytes failed, so the upload can be retried."""
        with self._tx() as s:
            s.execute(
                update(AssetRow)
                .where(AssetRow.id == asset_id)
                .values(ready=False, width=None, height=None, size_bytes=None)
            )

    def delete_asset(self, asset_id: str) -> bool:
        with self._tx() as s:
            return bool(s.execute(delete(AssetRow).where(AssetRow.id == asset_id)).rowcount)
