"""The repository: the only code that reads and writes job and asset rows.

State changes are conditional updates (`WHERE status = ...`), so two workers or a worker and a
cancel racing on the same job cannot both win; callers learn from the return value who did.

Credits move in the same transactions: adding a job reserves its price from the owner's balance
(a conditional update that also serialises concurrent creates of one account, on SQLite and on
PostgreSQL), and the transition that ends a job settles the reservation exactly once (`billing`
goes reserved -> charged | released): success adds the price to the account's spending, failure,
cancel or delete gives it back to the balance. Owners without an account (open mode) are not billed.

The same transitions write the webhook outbox (`webhook_events`, see service/webhooks.py): the row
that says "this job ended" commits with the terminal state or not at all, so a process that dies
right after loses no event. A deleted job sends none: its row, and so its payload, is gone.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, case, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from reelforge.core.clock import aware as _aware
from reelforge.core.clock import now
from reelforge.core.errors import InsufficientCredits, TooManyRequests
from reelforge.core.job import Asset, FailureCode, Job, JobExtras, JobStatus, Outcome, Output
from reelforge.core.request import GenerationRequest
from reelforge.db.tables import AccountRow, AssetRow, JobRow, WebhookEventRow

E4 = 10_000  # balances and prices are kept in ten-thousandths of a USD, the precision of list prices
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
RETRY_AFTER_BUSY = 10  # seconds a client is told to wait when its account is at its concurrency limit


def _e4(usd: Decimal) -> int:
    return int((usd * E4).to_integral_value())


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        owner=row.owner,
        # not re-validated: a row is what an accepted request was, and limits may tighten later
        request=GenerationRequest.model_construct(
            **{**row.request, "reference_images": tuple(row.request.get("reference_images", ()))}
        ),
        seed=int(row.seed),
        status=JobStatus(row.status),
        cost_usd=Decimal(row.cost_usd),
        created_at=_aware(row.created_at),
        progress=row.progress,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
        error_code=FailureCode(row.error_code) if row.error_code else None,
        error_message=row.error_message,
        outputs=[Output(**o) for o in row.outputs or []],
        cancel_requested=row.cancel_requested,
        attempts=row.attempts,
        extras=JobExtras.from_dict(row.extra),
        lease_token=row.lease_token,
        upstream=row.upstream or {},
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
    def __init__(self, database: Engine):
        self.database = database  # SQLAlchemy's Engine: the connection pool
        self._session = sessionmaker(database, expire_on_commit=False)

    def close(self) -> None:
        """Close the pooled connections."""
        self.database.dispose()

    def ping(self) -> None:
        """Raises unless the database answers (one trivial query)."""
        with self.database.connect() as conn:
            conn.execute(select(1))

    def _tx(self) -> Session:
        return self._session.begin()

    # jobs ---------------------------------------------------------------------------------------

    def add_job(self, job: Job) -> None:
        """Record a queued job, reserving its price from the owner's balance and holding the
        owner's concurrency limit; InsufficientCredits or TooManyRequests (nothing recorded) if not.
        Owners without an account row (open mode) have neither."""
        with self._tx() as s:
            billing = self._reserve(s, job.owner, _e4(job.cost_usd))
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
                    extra=job.extras.to_dict(),
                    enqueued_at=job.created_at,
                    billing=billing,
                )
            )

    def _reserve(self, s: Session, owner: str, cost_e4: int) -> str:
        """Take `cost_e4` from the owner's balance and check its concurrency, in the caller's
        transaction; returns the billing state the job starts in. The update comes first: it
        locks the account row (PostgreSQL) or the database (SQLite) until the job is recorded."""
        balance = AccountRow.balance_e4
        taken = s.execute(
            update(AccountRow)
            .where(AccountRow.id == owner, or_(balance.is_(None), balance >= cost_e4))
            .values(balance_e4=case((balance.is_(None), None), else_=balance - cost_e4))
        ).rowcount
        account = s.get(AccountRow, owner, populate_existing=True)
        if account is None:
            return "none"
        if not taken:
            raise InsufficientCredits(
                f"the balance (${Decimal(account.balance_e4) / E4:.4f}) does not cover this job "
                f"(${Decimal(cost_e4) / E4:.4f})"
            )
        if account.concurrency is not None:
            active = s.scalar(
                select(func.count())
                .select_from(JobRow)
                .where(JobRow.owner == owner, JobRow.status.in_(ACTIVE))
            )
            if active >= account.concurrency:
                raise TooManyRequests(
                    f"this account may have {account.concurrency} jobs queued or running at once",
                    RETRY_AFTER_BUSY,
                )
        return "reserved"

    def _settle(self, s: Session, job_id: str) -> None:
        """Charge or release the reservation of a job that has just ended (or is being deleted),
        once: only a job still `reserved` moves, and a release credits its price back."""
        row = s.execute(
            select(JobRow.owner, JobRow.status, JobRow.cost_usd).where(JobRow.id == job_id)
        ).first()
        if row is None:
            return
        charged = row.status == JobStatus.SUCCEEDED.value
        moved = s.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.billing == "reserved")
            .values(billing="charged" if charged else "released")
        ).rowcount
        if not moved:
            return
        cost_e4 = _e4(Decimal(row.cost_usd))
        if charged:
            s.execute(
                update(AccountRow)
                .where(AccountRow.id == row.owner)
                .values(spent_e4=AccountRow.spent_e4 + cost_e4)
            )
        else:
            s.execute(
                update(AccountRow)
                .where(AccountRow.id == row.owner, AccountRow.balance_e4.is_not(None))
                .values(balance_e4=AccountRow.balance_e4 + cost_e4)
            )

    def _outbox(self, s: Session, job_id: str) -> None:
        """Record, in the caller's transaction, that a job has just reached its terminal state."""
        row = s.execute(select(JobRow.owner, JobRow.status).where(JobRow.id == job_id)).one()
        s.add(
            WebhookEventRow(
                id=str(uuid.uuid4()), job_id=job_id, account_id=row.owner, status=row.status, created_at=now()
            )
        )

    def get_job(self, job_id: str) -> Job | None:
        # A Core query, not the ORM: this is the status poll every client repeats.
        with self.database.connect() as conn:
            row = conn.execute(select(JobRow.__table__).where(JobRow.__table__.c.id == job_id)).first()
        return _job(row) if row else None

    def list_jobs(
        self,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: Job | None = None,
        ascending: bool = False,
    ) -> list[Job]:
        """Jobs newest first (or oldest first), paged by offset or by keyset after a given job."""
        if ascending:
            order, keyset = (JobRow.created_at, JobRow.id), tuple_(JobRow.created_at, JobRow.id).__gt__
        else:
            order = (JobRow.created_at.desc(), JobRow.id.desc())
            keyset = tuple_(JobRow.created_at, JobRow.id).__lt__
        query = select(JobRow).order_by(*order).limit(limit).offset(offset)
        if owner is not None:
            query = query.where(JobRow.owner == owner)
        if after is not None:
            query = query.where(keyset((after.created_at, after.id)))
        with self._tx() as s:
            return [_job(r) for r in s.scalars(query)]

    def count_jobs(self, status: JobStatus) -> int:
        with self._tx() as s:
            return s.scalar(select(func.count()).select_from(JobRow).where(JobRow.status == status.value))

    def claim(self, token: str, only: str | None = None) -> str | None:
        """Lease the next queued job (or just `only`) to the run identified by `token`: it becomes
        running and only that token may report progress or finish it. Owners take turns: the next
        job is the oldest of the owner with the fewest jobs running and, among those, the owner
        served longest ago, so one owner's burst cannot starve another, with one worker or many.
        Returns the job id, or None if there is nothing to claim or another run won the race for
        `only`."""
        other = aliased(JobRow)
        same_owner = other.owner == JobRow.owner
        owner_running = (
            select(func.count()).where(same_owner, other.status == JobStatus.RUNNING.value).scalar_subquery()
        )
        owner_served = select(func.max(other.started_at)).where(same_owner).scalar_subquery()
        while True:
            with self._tx() as s:
                query = select(JobRow.id).where(JobRow.status == JobStatus.QUEUED.value)
                if only is not None:
                    query = query.where(JobRow.id == only)
                order = (owner_running, owner_served.asc().nulls_first(), JobRow.created_at, JobRow.id)
                job_id = s.scalar(query.order_by(*order).limit(1))
                if job_id is None:
                    return None
                at = now()
                claimed = s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
                    .values(
                        status=JobStatus.RUNNING.value,
                        started_at=at,
                        heartbeat_at=at,
                        lease_token=token,
                        progress=0,
                        attempts=JobRow.attempts + 1,
                    )
                ).rowcount
            if claimed:
                return job_id
            if only is not None:
                return None

    def _leased(self, job_id: str, token: str):
        return (JobRow.id == job_id, JobRow.lease_token == token, JobRow.status == JobStatus.RUNNING.value)

    def set_progress(self, job_id: str, token: str, progress: int) -> bool:
        """Record progress of a leased job and renew its heartbeat; returns False when the run
        should stop (cancel requested, job deleted, or the lease was lost to another run)."""
        with self._tx() as s:
            s.execute(
                update(JobRow)
                .where(*self._leased(job_id, token))
                .values(progress=progress, heartbeat_at=now())
            )
            row = s.execute(
                select(JobRow.status, JobRow.cancel_requested, JobRow.lease_token).where(JobRow.id == job_id)
            ).first()
        return (
            row is not None
            and row.status == JobStatus.RUNNING.value
            and row.lease_token == token
            and not row.cancel_requested
        )

    def heartbeat(self, job_id: str, token: str) -> bool:
        """Renew the lease; False if it is gone (job finished, deleted, or taken over)."""
        with self._tx() as s:
            return bool(
                s.execute(
                    update(JobRow).where(*self._leased(job_id, token)).values(heartbeat_at=now())
                ).rowcount
            )

    def save_upstream(self, job_id: str, token: str, upstream: dict) -> bool:
        """Record what a leased job's upstream engines know (db/tables.py); False if the lease is gone."""
        with self._tx() as s:
            saved = s.execute(update(JobRow).where(*self._leased(job_id, token)).values(upstream=upstream))
            return bool(saved.rowcount)

    def finish(self, job_id: str, token: str, outcome: Outcome) -> bool:
        """Move a leased running job to its outcome; False if the lease is gone."""
        values = dict(
            status=outcome.status.value, finished_at=now(), outputs=[o.to_dict() for o in outcome.outputs]
        )
        if outcome.status is JobStatus.SUCCEEDED:
            values["progress"] = 100
        if outcome.failure:
            values.update(error_code=outcome.failure.value, error_message=outcome.message)
        with self._tx() as s:
            finished = s.execute(update(JobRow).where(*self._leased(job_id, token)).values(**values)).rowcount
            if finished:
                self._settle(s, job_id)
                self._outbox(s, job_id)
            return bool(finished)

    def request_cancel(self, job_id: str) -> JobStatus | None:
        """Cancel a queued job at once; flag a running one so its worker stops. Returns the status after."""
        with self._tx() as s:
            canceled = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
                .values(status=JobStatus.CANCELED.value, finished_at=now())
            ).rowcount
            if canceled:
                self._settle(s, job_id)
                self._outbox(s, job_id)
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
                .values(cancel_requested=True)
            )
            status = s.scalar(select(JobRow.status).where(JobRow.id == job_id))
        return JobStatus(status) if status else None

    def hand_back(self, job_id: str, token: str) -> bool:
        """Put a job this run still holds back in the queue as if it had never been leased (a
        graceful shutdown): queued, lease cleared, progress 0, and the attempt its claim counted
        given back. Not a job whose cancel was requested: that one ends canceled. Returns whether
        the job went back."""
        with self._tx() as s:
            return bool(
                s.execute(
                    update(JobRow)
                    .where(*self._leased(job_id, token), JobRow.cancel_requested.is_(False))
                    .values(
                        status=JobStatus.QUEUED.value,
                        lease_token=None,
                        progress=0,
                        started_at=None,
                        heartbeat_at=None,
                        attempts=JobRow.attempts - 1,
                    )
                ).rowcount
            )

    def recover_running(
        self,
        max_attempts: int,
        silent_since: datetime | None = None,
        gone: Callable[[str], bool] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Take back running jobs whose run is over: all of them when neither `silent_since` nor
        `gone` is given, else those whose heartbeat is older than `silent_since` or whose lease
        token `gone(token)` says belongs to a dead process. A job that has used up `max_attempts`
        fails with `worker_lost`; the others go back to the queue. Each update is fenced by the
        lease token it saw, so a run that just renewed or finished keeps its job.
        Returns (requeued ids, failed ids)."""
        every = silent_since is None and gone is None
        requeued, failed = [], []
        with self._tx() as s:
            rows = s.execute(
                select(JobRow.id, JobRow.attempts, JobRow.lease_token, JobRow.heartbeat_at).where(
                    JobRow.status == JobStatus.RUNNING.value
                )
            ).all()
            for job_id, attempts, token, beat in rows:
                conditions = [JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value]
                if gone is not None and token is not None and gone(token):
                    conditions.append(JobRow.lease_token == token)  # a dead process renews nothing
                elif silent_since is not None and beat is not None and _aware(beat) < silent_since:
                    conditions.append(JobRow.heartbeat_at < silent_since)  # unless it just renewed
                elif not every:
                    continue
                where = update(JobRow).where(*conditions)
                if attempts >= max_attempts:
                    message = f"the worker running this job stopped responding ({attempts} attempts)"
                    values = dict(
                        status=JobStatus.FAILED.value,
                        finished_at=now(),
                        error_code=FailureCode.WORKER_LOST.value,
                        error_message=message,
                        lease_token=None,
                    )
                    target = failed
                else:
                    values = dict(
                        status=JobStatus.QUEUED.value, progress=0, started_at=None, lease_token=None
                    )
                    target = requeued
                if s.execute(where.values(**values)).rowcount:
                    target.append(job_id)
                    if target is failed:
                        self._settle(s, job_id)
                        self._outbox(s, job_id)
        return requeued, failed

    def unpublished(self, published_before: datetime, limit: int = 500) -> list[str]:
        """Queued jobs last handed to the broker before `published_before` (or never)."""
        query = (
            select(JobRow.id)
            .where(JobRow.status == JobStatus.QUEUED.value)
            .where((JobRow.enqueued_at.is_(None)) | (JobRow.enqueued_at < published_before))
            .order_by(JobRow.created_at)
            .limit(limit)
        )
        with self._tx() as s:
            return list(s.scalars(query))

    def mark_published(self, job_id: str) -> None:
        with self._tx() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(enqueued_at=now()))

    def delete_job(self, job_id: str) -> bool:
        """Delete a job's row; a reservation it still holds is released first."""
        with self._tx() as s:
            s.execute(  # a deleted job never succeeds: it settles as a release
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status != JobStatus.SUCCEEDED.value)
                .values(status=JobStatus.CANCELED.value)
            )
            self._settle(s, job_id)
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

    # deleting inputs, retention -------------------------------------------------------------------

    @staticmethod
    def _unused_asset():
        """No job names the asset as a frame or a reference image: a condition correlated with
        `AssetRow`. Jobs only use their owner's assets (service/submissions.py), so the owner index
        narrows the scan. The reference images are a JSON array of asset ids (fixed-length UUIDs),
        matched in its text, which every supported database can read."""
        frames = (JobRow.request["start_image"].as_string(), JobRow.request["end_image"].as_string())
        references = JobRow.request["reference_images"].as_string()
        named = or_(*(frame == AssetRow.id for frame in frames), references.contains(AssetRow.id))
        used = select(JobRow.id).where(JobRow.owner == AssetRow.owner, named)
        return ~used.exists()

    def delete_unused_assets(self, asset_ids: list[str]) -> list[Asset]:
        """Delete those of these assets that no job names as a frame (the check and the delete are
        one statement); returns the deleted ones, whose bytes the caller removes."""
        deleted = []
        with self._tx() as s:
            for asset_id in sorted(set(asset_ids)):
                row = s.get(AssetRow, asset_id)
                gone = delete(AssetRow).where(AssetRow.id == asset_id, self._unused_asset())
                if row is not None and s.execute(gone).rowcount:
                    deleted.append(_asset(row))
        return deleted

    def expired_jobs(self, finished_before: datetime, limit: int = 500) -> list[str]:
        """Ids of jobs that ended before `finished_before`, oldest first; queued and running jobs
        never expire. (A job ends after it was created: the `created_at` bound lets the
        status/created index narrow the scan.)"""
        ended = [status.value for status in JobStatus if status.is_terminal]
        query = (
            select(JobRow.id)
            .where(
                JobRow.status.in_(ended),
                JobRow.created_at < finished_before,
                JobRow.finished_at < finished_before,
            )
            .order_by(JobRow.created_at, JobRow.id)
            .limit(limit)
        )
        with self._tx() as s:
            return list(s.scalars(query))

    def expired_assets(self, created_before: datetime, limit: int = 500) -> list[str]:
        """Ids of assets created before `created_before` that no job names as a frame, oldest first."""
        query = (
            select(AssetRow.id)
            .where(AssetRow.created_at < created_before, self._unused_asset())
            .order_by(AssetRow.created_at, AssetRow.id)
            .limit(limit)
        )
        with self._tx() as s:
            return list(s.scalars(query))
