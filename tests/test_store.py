"""The store on a real SQLite file: migrations, WAL, atomic claims, crash recovery, cancel races."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text, update

from reelforge.core.clock import now
from reelforge.core.job import FailureCode, Job, JobExtras, JobStatus, Outcome
from reelforge.core.request import MAX_PROMPT, GenerationRequest
from reelforge.db.connect import migrate, open_database
from reelforge.db.repository import Repository
from reelforge.db.tables import JobRow
from testkit.databases import migrated_database


@pytest.fixture(params=["sqlite", "postgresql"])
def repo(request, tmp_path):
    """The same tests on a SQLite file and on the PostgreSQL server on 127.0.0.1:5432."""
    with migrated_database(request.param, tmp_path) as engine:
        yield Repository(engine)


def _job(repo: Repository, n: int = 0) -> Job:
    job = Job(
        id=f"00000000-0000-4000-8000-{n:012d}",
        owner="o",
        request=GenerationRequest(model="veo-3.1-lite", prompt="p"),
        seed=n,
        status=JobStatus.QUEUED,
        cost_usd=Decimal("0.4000"),
        created_at=now(),
    )
    repo.add_job(job)
    return job


def test_migrations_create_schema_in_wal_mode_and_are_idempotent(repo):
    migrate(repo.database)  # a second run is a no-op
    tables = set(inspect(repo.database).get_table_names())
    assert {"jobs", "assets", "alembic_version"} <= tables
    with repo.database.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0006"
        if repo.database.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_migration_0003_keeps_old_rows_readable(tmp_path):
    """Rows written before the typed job fields: `worker_id` becomes `lease_token`, and the
    extras' old camelCase keys are renamed to JobExtras' fields."""
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(database, "0002")
    old = {**_job_row(), "worker_id": "host-1-abc", "status": "running"}
    old["extra"] = '{"dialect": "leonardo", "public": true, "motionStrength": 7, "model": "google/veo"}'
    with database.begin() as conn:
        columns = ", ".join(old)
        conn.execute(text(f"INSERT INTO jobs ({columns}) VALUES ({', '.join(':' + k for k in old)})"), old)
    migrate(database)
    job = Repository(database).get_job(old["id"])
    assert job.lease_token == "host-1-abc" and job.status is JobStatus.RUNNING
    assert job.extras == JobExtras(
        dialect="leonardo", public=True, motion_strength=7, requested_model="google/veo"
    )
    database.dispose()


def _job_row() -> dict:
    return {
        "id": "00000000-0000-4000-8000-000000000009",
        "owner": "o",
        "model": "SVD",
        "request": '{"model": "SVD", "prompt": "SVD motion"}',
        "seed": 1,
        "progress": 0,
        "cost_usd": "0.1000",
        "created_at": "2026-11-30 10:00:00",
        "outputs": "[]",
        "cancel_requested": False,
        "attempts": 1,
    }


def test_round_trip_keeps_every_field(repo):
    job = _job(repo, 4_294_967_295 % 10**12)
    got = repo.get_job(job.id)
    assert got.request == job.request
    assert (got.status, got.cost_usd, got.seed) == (JobStatus.QUEUED, Decimal("0.4000"), job.seed)
    assert got.created_at == job.created_at


def test_rows_stored_before_a_limit_tightened_still_load(repo):
    """A job accepted under older, looser limits stays readable (listing it must not answer 500)."""
    job = _job(repo, 5)
    with repo.database.begin() as conn:
        old = {**job.request.model_dump(mode="json"), "prompt": "p" * (MAX_PROMPT + 1)}
        conn.execute(update(JobRow).where(JobRow.id == job.id).values(request=old))
    assert len(repo.get_job(job.id).request.prompt) == MAX_PROMPT + 1
    assert [j.id for j in repo.list_jobs("o")] == [job.id]


def test_only_one_of_many_racing_workers_claims_a_job(repo):
    _job(repo)
    wins, barrier = [], threading.Barrier(8)

    def worker():
        barrier.wait()
        if repo.claim(f"token-{threading.get_ident()}"):
            wins.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_claims_oldest_first_and_requeue_recovers_running(repo):
    first, second = _job(repo, 1), _job(repo, 2)
    assert repo.claim("a") == first.id
    assert repo.get_job(first.id).attempts == 1
    assert repo.recover_running(max_attempts=3) == ([first.id], [])
    assert repo.get_job(first.id).status is JobStatus.QUEUED
    assert repo.claim("b") == first.id
    assert repo.claim("c") == second.id
    assert repo.claim("d") is None


def test_a_lost_lease_cannot_touch_the_job(repo):
    job = _job(repo)
    assert repo.claim("old") == job.id
    assert repo.recover_running(max_attempts=3) == ([job.id], [])
    assert repo.claim("new") == job.id
    assert repo.set_progress(job.id, "old", 50) is False
    assert repo.heartbeat(job.id, "old") is False
    assert repo.finish(job.id, "old", Outcome(JobStatus.SUCCEEDED)) is False
    assert repo.get_job(job.id).progress == 0
    assert repo.finish(job.id, "new", Outcome(JobStatus.SUCCEEDED))


def test_silent_runs_are_requeued_then_failed_after_max_attempts(repo):
    job = _job(repo)
    for attempt in (1, 2):
        assert repo.claim(f"run{attempt}") == job.id
        assert repo.recover_running(max_attempts=2, silent_since=now() - timedelta(seconds=60)) == ([], [])
        assert repo.recover_running(max_attempts=2, silent_since=now()) == (
            ([job.id], []) if attempt == 1 else ([], [job.id])
        )
    got = repo.get_job(job.id)
    assert got.status is JobStatus.FAILED and got.error_code is FailureCode.WORKER_LOST


def test_unpublished_lists_queued_jobs_not_handed_out_lately(repo):
    job = _job(repo)
    assert repo.unpublished(now() - timedelta(seconds=60)) == []
    assert repo.unpublished(now() + timedelta(seconds=1)) == [job.id]
    repo.mark_published(job.id)
    assert repo.unpublished(now() - timedelta(seconds=1)) == []


def test_cancel_queued_is_immediate_running_is_flagged(repo):
    queued, running = _job(repo, 1), _job(repo, 2)
    assert repo.claim("t", running.id) == running.id
    assert repo.request_cancel(queued.id) is JobStatus.CANCELED
    assert repo.request_cancel(running.id) is JobStatus.RUNNING
    assert repo.set_progress(running.id, "t", 10) is False  # the worker is told to stop
    assert repo.finish(running.id, "t", Outcome(JobStatus.CANCELED))
    assert repo.finish(running.id, "t", Outcome(JobStatus.SUCCEEDED)) is False  # terminal states are final


def test_keyset_paging_in_both_orders(repo):
    jobs = [_job(repo, n) for n in range(5)]  # created in this order
    newest_first = [j.id for j in repo.list_jobs("o", limit=10)]
    assert newest_first == [j.id for j in reversed(jobs)]
    assert [j.id for j in repo.list_jobs("o", limit=2, after=jobs[3])] == [jobs[2].id, jobs[1].id]
    assert [j.id for j in repo.list_jobs("o", limit=2, after=jobs[1], ascending=True)] == [
        jobs[2].id,
        jobs[3].id,
    ]
    assert repo.list_jobs("o", limit=2, after=jobs[4], ascending=True) == []
    assert repo.list_jobs("someone-else", limit=10) == []
